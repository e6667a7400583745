/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * internal.h - the monitoring context's insides, shared by core.c,
 * regions.c and schemes.c (and by tests/test_damon.c, which checks the
 * region operations against hand-worked expectations).
 */
#ifndef MEMLENS_DAMON_INTERNAL_H
#define MEMLENS_DAMON_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <memlens/damon.h>

/* Nothing here is part of libmemlens' ABI: keep it out of the .so's
 * dynamic symbols (tests link the static library). */
#pragma GCC visibility push(hidden)

/* The kernel's DAMOS_MAX_SCORE and the score helpers' constants. */
#define DAMOS_MAX_SCORE 99
#define DAMON_MAX_SUBSCORE 100
#define DAMON_MAX_AGE_IN_LOG 32

/* A region as the core keeps it (struct damon_region). */
struct damon_region {
	uint64_t start;
	uint64_t end;
	uint64_t sampling_addr;
	uint32_t nr_accesses;
	/* moving sum of accesses over the last aggregation, in basis points
	 * of one access (the kernel's nr_accesses_bp); schemes read it */
	uint32_t nr_accesses_bp;
	uint32_t last_nr_accesses;
	uint32_t age;
	/* the age at the source's last settle() of the whole region since
	 * its last access, 0 if none (ops.settle in damon.h) */
	uint32_t settled_age;
};

/* A growable sorted array of regions: the kernel's list, as an array. */
struct damon_regions {
	struct damon_region *r;
	size_t nr;
	size_t cap;
};

struct damon_target {
	const struct ml_damon_ops *ops;
	void *state;
	pid_t pid;
	bool gone;
	struct damon_regions regions;
	/* per-sample scratch, one slot per region */
	uint64_t *addrs;
	bool *accessed;
	size_t scratch_cap;
	struct ml_damon_region *snap;
	size_t snap_cap;
	struct ml_damon_range *ranges;
	size_t ranges_cap;
};

/* The PRNG: xoshiro256**, per context, seeded through splitmix64. */
struct damon_rng {
	uint64_t s[4];
};

void damon_rng_seed(struct damon_rng *rng, uint64_t seed);
uint64_t damon_rng_next(struct damon_rng *rng);
/* The kernel's damon_rand(l, r): uniform in [l, r). */
uint64_t damon_rand(struct damon_rng *rng, uint64_t l, uint64_t r);

struct damos_state {
	struct ml_damos s;
	struct ml_damos_stat stat;
	/* quota charging (struct damos_quota's private part) */
	uint64_t esz;
	uint64_t charged_sz;
	uint64_t total_charged_sz;
	uint64_t total_charged_ns;
	uint64_t charged_from_us;
	bool charging;
	int charge_target_from;		/* -1: none */
	uint64_t charge_addr_from;
	unsigned int min_score;
	uint64_t next_apply_sis;
	/* watermarks */
	bool activated;
	uint64_t next_wmark_check_us;
};

struct ml_proc;

struct ml_damon_ctx {
	struct ml_damon_attrs attrs;
	struct damon_rng rng;
	struct damon_target *targets;
	size_t nr_targets;
	struct damos_state *schemes;
	size_t nr_schemes;
	ml_damon_snapshot_fn fn;
	void *fn_arg;
	ml_damos_metric_fn metric_fn;
	void *metric_arg;
	char *proc_root;
	struct ml_proc *proc;

	bool started;
	uint64_t now_us;
	uint64_t passed_sis;
	uint64_t next_aggregation_sis;
	uint64_t next_ops_update_sis;
	uint32_t max_nr_accesses;	/* of the last check */
	uint64_t sz_limit;
	/* kdamond_split_regions()'s static last_nr_regions, per context */
	size_t last_nr_regions;
	uint64_t score_hist[DAMOS_MAX_SCORE + 1];
};

/* ---- regions.c: the kernel's region operations -------------------------- */

int damon_regions_reserve(struct damon_regions *rs, size_t nr);
void damon_regions_free(struct damon_regions *rs);
/* Insert @r at index @i. */
int damon_regions_insert(struct damon_regions *rs, size_t i,
			 const struct damon_region *r);
/* damon_split_region_at(): region @i keeps its first @sz_r bytes. */
int damon_split_region_at(struct damon_regions *rs, size_t i, uint64_t sz_r);
/*
 * The kernel's __damon_va_three_regions(): the three regions around the
 * two biggest gaps of @ranges (sorted, disjoint). -EINVAL when there are
 * fewer than two gaps (the kernel then sets no regions; see
 * damon_init_regions for what memlens does).
 */
int damon_three_regions(const struct ml_damon_range *ranges, size_t nr,
			struct ml_damon_range out[3]);
/* __damon_va_init_regions(): @three (or @nr of them) split evenly so that
 * the regions number about @min_nr_regions. */
int damon_init_regions(struct damon_regions *rs,
		       const struct ml_damon_range *three, size_t nr,
		       uint32_t min_nr_regions);
/* damon_set_regions(): fit the regions to @ranges. */
int damon_set_regions(struct damon_regions *rs,
		      const struct ml_damon_range *ranges, size_t nr);
/* damon_merge_regions_of(); count_age updates ages first. */
void damon_merge_regions_of(struct damon_regions *rs, uint32_t thres,
			    uint64_t sz_limit, bool count_age);
/* damon_split_regions_of(): every region into up to @nr_subs pieces. */
int damon_split_regions_of(struct damon_regions *rs, int nr_subs,
			   struct damon_rng *rng);
/* kdamond_merge_regions() and kdamond_split_regions() over a context. */
void damon_ctx_merge(struct ml_damon_ctx *ctx, uint32_t threshold,
		     uint64_t sz_limit);
int damon_ctx_split(struct ml_damon_ctx *ctx);
uint64_t damon_region_sz_limit(const struct ml_damon_ctx *ctx);
/* The ranges a target's ops gives now, into t->ranges. */
int damon_target_ranges(struct damon_target *t, uint64_t now_us, size_t *nr);

/* ---- schemes.c ---------------------------------------------------------- */

int damon_hot_score(const struct ml_damon_ctx *ctx,
		    const struct damon_region *r, const struct ml_damos *s);
int damon_cold_score(const struct ml_damon_ctx *ctx,
		     const struct damon_region *r, const struct ml_damos *s);
/* kdamond_wait_activation(): 0 when some scheme (or none exists) is
 * active, else how long to wait before the next check. */
uint64_t damos_wmark_wait_us(struct ml_damon_ctx *ctx);
void damos_apply_all(struct ml_damon_ctx *ctx);
void damos_init_intervals(struct ml_damon_ctx *ctx);

/* ---- sim.c: number parsers shared with the scheme parser ---------------- */

/* NUMBER[K|M|G|T] (binary units; decimal or 0x hex); advances *@pp. */
bool damon_parse_size(const char **pp, uint64_t *out);
/* NUMBER[us|ms|s|min], bare numbers are microseconds. */
bool damon_parse_time(const char **pp, uint64_t *out_us);

/* ---- ops.c -------------------------------------------------------------- */

/*
 * Each source defines its struct ml_damon_ops (sim's, ml_damon_sim_ops, is
 * public in damon.h for tests); declare the others here, one line each,
 * and add them to ops.c's table.
 */

#pragma GCC visibility pop

#endif
