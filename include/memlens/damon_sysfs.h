/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/damon_sysfs.h - the kernel's DAMON through its sysfs interface
 * (<sys>/kernel/mm/damon/admin, Documentation/admin-guide/mm/damon/usage.rst).
 *
 * Three things: a snapshot of every kdamond, ours or not (read only);
 * starting and stopping a kdamond from a configuration; and the tried
 * regions of a running kdamond's schemes as struct ml_damon_snapshot, so
 * that the recorder records the kernel's monitoring results like its own.
 *
 * How the kernel behaves, and what the driver does about it:
 *  - Writing kdamonds/nr_kdamonds removes every kdamond directory and makes
 *    new, empty ones, and the kernel refuses it (-EBUSY) while any kdamond
 *    runs. So the driver never writes nr_kdamonds while one runs, nor when
 *    that would erase a stopped kdamond's configuration that the caller did
 *    not hand over; it uses a stopped kdamond without configuration
 *    (nr_contexts 0) when there is one, and otherwise refuses with -EBUSY
 *    (a kdamond runs) or -ENOTEMPTY (stopped ones hold configurations).
 *  - Files are written without a newline, and a write that the kernel acts
 *    on (nr_*, state) is settled when the file reads back as the kernel
 *    prints it: "N\n", or "on\n"/"off\n" for state. The kernel is settled
 *    at once; the test suite's active fake tree (tests/fake_damon_sysfs.c)
 *    after it has made the directories. The driver waits up to settle_ms.
 *  - Kernels differ: 6.1 has no filters or apply_interval_us, 6.14+ add
 *    "allow" to filters, 6.15+ core_filters/ops_filters, refresh_ms, ...
 *    Readers take what exists; writers skip files that do not exist when
 *    the value is the kernel's default, and fail with -EOPNOTSUPP when a
 *    value the caller asked for has no file to go to.
 *
 * Every path is under the sysfs root given in the options: tests and the
 * fuzzer point it at trees under /tmp. Sizes are bytes, times as named.
 */
#ifndef MEMLENS_DAMON_SYSFS_H
#define MEMLENS_DAMON_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <memlens/damon.h>
#include <memlens/proc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- what a kdamond is (configuration and what it reports) ----------- */

/* A closed interval, as access_pattern/<x>/{min,max} are. */
struct ml_kdamond_minmax {
	uint64_t min;
	uint64_t max;
};

#define ML_KDAMOND_WORD_MAX 24
#define ML_KDAMOND_MEMCG_MAX 256

struct ml_kdamond_filter {
	/* "anon", "memcg", "young", "addr", "target" (and newer ones) */
	char type[ML_KDAMOND_WORD_MAX];
	/* the directory it is in: "filters" ("core_filters", "ops_filters"
	 * on 6.15+; reading only) */
	char set[ML_KDAMOND_WORD_MAX];
	bool matching;
	/* 1 allow, 0 reject; -1 when the kernel has no "allow" file (before
	 * 6.14 every filter rejects) */
	int allow;
	char memcg_path[ML_KDAMOND_MEMCG_MAX];
	uint64_t addr_start;		/* addr: [addr_start, addr_end) */
	uint64_t addr_end;
	int target_idx;			/* target: damon_target_idx */
};

struct ml_kdamond_stats {
	uint64_t nr_tried;
	uint64_t sz_tried;		/* bytes */
	uint64_t nr_applied;
	uint64_t sz_applied;		/* bytes */
	uint64_t qt_exceeds;
};

struct ml_kdamond_scheme {
	/* willneed cold pageout hugepage nohugepage lru_prio lru_deprio
	 * migrate_hot migrate_cold stat */
	char action[ML_KDAMOND_WORD_MAX];
	uint64_t apply_interval_us;	/* 0: the aggregation interval */
	int target_nid;			/* migrate_*: -1 none */
	/* access pattern, closed intervals */
	struct ml_kdamond_minmax sz;		/* region size, bytes */
	struct ml_kdamond_minmax nr_accesses;	/* per aggregation */
	struct ml_kdamond_minmax age;		/* aggregation intervals */
	/* quotas: 0 is no limit */
	uint64_t quota_ms;
	uint64_t quota_bytes;
	uint64_t quota_reset_interval_ms;
	uint64_t quota_effective_bytes;	/* reading only */
	uint32_t weight_sz_permil;
	uint32_t weight_nr_accesses_permil;
	uint32_t weight_age_permil;
	/* watermarks: metric "none" or "free_mem_rate" (per thousand) */
	char wmark_metric[ML_KDAMOND_WORD_MAX];
	uint64_t wmark_interval_us;
	uint64_t wmark_high;
	uint64_t wmark_mid;
	uint64_t wmark_low;
	size_t nr_filters;
	struct ml_kdamond_filter *filters;
	/* reading only: as of the last update_schemes_stats and
	 * update_schemes_tried_regions (the kernel does not update these
	 * files by itself) */
	struct ml_kdamond_stats stats;
	uint64_t tried_total_bytes;
	size_t nr_tried_regions;
	struct ml_damon_region *tried_regions;
};

struct ml_kdamond_target {
	pid_t pid;			/* pid_target; 0 for paddr */
	/* initial monitoring regions (needed by fvaddr and paddr) */
	size_t nr_regions;
	struct ml_damon_range *regions;
};

struct ml_kdamond_ctx {
	char operations[ML_KDAMOND_WORD_MAX];	/* vaddr, fvaddr, paddr */
	/* reading only: what this kernel offers, one word each, "" ended */
	char avail_operations[64];
	uint64_t sample_us;
	uint64_t aggr_us;
	uint64_t update_us;
	uint64_t min_nr_regions;
	uint64_t max_nr_regions;
	size_t nr_targets;
	struct ml_kdamond_target *targets;
	size_t nr_schemes;
	struct ml_kdamond_scheme *schemes;
};

struct ml_kdamond {
	unsigned int index;		/* kdamonds/<index> */
	bool running;			/* state reads "on" */
	pid_t pid;			/* the kdamond thread; -1 when off */
	/* 0, or why part of this kdamond could not be read (-EACCES,
	 * -EINVAL for malformed text, -ENOENT when it vanished) */
	int err;
	size_t nr_contexts;
	struct ml_kdamond_ctx *contexts;
};

/* Every kdamond at one moment. */
struct ml_kdamonds {
	size_t nr;
	struct ml_kdamond *kdamonds;
};

/* The kernel's defaults for a new context (sysfs.c): vaddr, 5 ms sampling,
 * 100 ms aggregation, 60 s update, 10..1000 regions, no target. */
void ml_kdamond_ctx_init(struct ml_kdamond_ctx *ctx);
/*
 * A "stat" scheme whose access pattern takes every region (the kernel's
 * default pattern, 0..0, takes none): its tried regions are the monitoring
 * results. No quota, no watermark, no filter.
 */
void ml_kdamond_scheme_init_stat_all(struct ml_kdamond_scheme *s);
/* True for such a scheme (what ml_damon_sysfs_tried_regions() reads). */
bool ml_kdamond_scheme_is_stat_all(const struct ml_kdamond_scheme *s);
/* Free what a context owns (targets, regions, schemes, filters...). */
void ml_kdamond_ctx_release(struct ml_kdamond_ctx *ctx);
void ml_kdamonds_free(struct ml_kdamonds *k);

/* ---- the driver ------------------------------------------------------- */

struct ml_damon_sysfs;

struct ml_damon_sysfs_opts {
	size_t sz;			/* sizeof(struct ml_damon_sysfs_opts) */
	/* the sysfs root and proc root; default: @proc's, else /sys, /proc */
	struct ml_proc *proc;
	const char *sys_root;
	/* how long to wait for a write to settle; default 2000 ms */
	unsigned int settle_ms;
};
#define ml_damon_sysfs_opts__last_field settle_ms

/*
 * Open <sys_root>/kernel/mm/damon/admin. -ENOENT when the kernel has no
 * DAMON sysfs interface (CONFIG_DAMON_SYSFS), -EACCES without permission.
 */
int ml_damon_sysfs_open(const struct ml_damon_sysfs_opts *opts,
			struct ml_damon_sysfs **out);
void ml_damon_sysfs_close(struct ml_damon_sysfs *s);
/* The admin directory's path, for messages. */
const char *ml_damon_sysfs_path(const struct ml_damon_sysfs *s);

/*
 * Read every kdamond, configuration, stats and tried regions as the files
 * show them now; writes nothing. A kdamond that cannot be read fully is
 * kept with ->err set. Returns 0 (free *@out with ml_kdamonds_free()), or
 * -EACCES / -ENOENT / -EINVAL when kdamonds/nr_kdamonds cannot be read.
 */
int ml_damon_sysfs_read(struct ml_damon_sysfs *s, struct ml_kdamonds *out);

struct ml_damon_sysfs_start_opts {
	size_t sz;
	/* the kdamond to use, or -1 (default when sz is 0): a stopped one
	 * without configuration, else a new one if none runs */
	int index;
	/* with an explicit @index: that stopped kdamond's configuration may
	 * be replaced; with -1: stopped kdamonds' configurations may be
	 * erased to add one (nr_kdamonds rebuilds them all) */
	bool replace;
};
#define ml_damon_sysfs_start_opts__last_field replace

/*
 * Write @ctx into a kdamond and turn it on. *@index gets the kdamond used,
 * *@pid its thread (either may be NULL). Errors: -EBUSY (no stopped
 * kdamond without configuration and one runs, so nr_kdamonds cannot
 * change; or @opts->index runs), -ENOTEMPTY (stopped kdamonds hold
 * configurations and @opts->replace is false), -EOPNOTSUPP (operations
 * not in avail_operations, or a setting this kernel has no file for),
 * -EINVAL (the kernel refused the configuration), -ETIMEDOUT (a write
 * did not settle). On failure after the kdamond was written, it is left
 * stopped with nr_contexts 0.
 */
int ml_damon_sysfs_start(struct ml_damon_sysfs *s,
			 const struct ml_kdamond_ctx *ctx,
			 const struct ml_damon_sysfs_start_opts *opts,
			 unsigned int *index, pid_t *pid);

/*
 * Turn kdamond @index off. With @release, also drop its configuration
 * (nr_contexts 0) so that the kdamond is free for the next start.
 * -EALREADY when it was not running (and @release still applies).
 */
int ml_damon_sysfs_stop(struct ml_damon_sysfs *s, unsigned int index,
			bool release);

/*
 * Write a command to kdamonds/<index>/state ("update_schemes_stats",
 * "commit", ...) and wait until it settles. -EINVAL for an unknown
 * command; the kernel's error otherwise.
 */
int ml_damon_sysfs_command(struct ml_damon_sysfs *s, unsigned int index,
			   const char *cmd);

/*
 * kdamonds the admin directory does not show: those of the kernel's DAMON
 * modules (DAMON_RECLAIM, DAMON_LRU_SORT, DAMON_STAT), from
 * <sys>/module/<name>/parameters/{enabled,kdamond_pid}.
 */
struct ml_damon_module {
	char name[ML_KDAMOND_WORD_MAX];	/* "damon_reclaim" ... */
	bool enabled;
	pid_t kdamond_pid;		/* -1: not running, or not told */
};

/*
 * The modules this kernel has, at most @cap into @out; *@nr gets how many.
 * Reads only. Returns 0 or -ENOMEM-like errors (a module that cannot be
 * read is left out).
 */
int ml_damon_sysfs_modules(struct ml_damon_sysfs *s,
			   struct ml_damon_module *out, size_t cap,
			   size_t *nr);

/* ---- monitoring results: tried regions as snapshots ------------------- */

/* Return 0 to go on, anything else to stop (it is returned). */
typedef int (*ml_damon_sysfs_snapshot_fn)(const struct ml_damon_snapshot *snap,
				    void *arg);

/*
 * One aggregation of kdamond @index's monitoring results, one snapshot per
 * target: writes update_schemes_tried_regions to its state (the kernel
 * answers after each scheme has had one apply interval, the aggregation
 * interval by default), reads the tried regions of its stat-all schemes
 * (ml_kdamond_scheme_is_stat_all) and calls @fn per target.
 *
 * Which target a region belongs to: a stat-all scheme with one filter
 * "target" that rejects the other targets (matching N) gives its
 * damon_target_idx; with one target, target 0; otherwise the kernel lists
 * targets in order, each sorted by address, and a new target starts where
 * the addresses go down (exact unless a later target's regions all lie
 * above an earlier one's: use one stat-all scheme per target, as memlens
 * damon start does).
 *
 * snapshot.time_us is the time since the kdamond started, from its
 * thread's start time in <proc>/PID/stat, else since @s was opened;
 * max_nr_accesses is aggr_us / sample_us; pid is the target's pid_target.
 *
 * Returns 0, what @fn returned, -ESRCH when the kdamond is not running,
 * -ENOENT when it has no stat-all scheme, or a read error.
 */
int ml_damon_sysfs_tried_regions(struct ml_damon_sysfs *s, unsigned int index,
				 ml_damon_sysfs_snapshot_fn fn, void *arg);

/* ---- parsers (also fuzzed) --------------------------------------------- */

/*
 * Parse the text of a numeric sysfs file as the kernel prints it ("123\n";
 * the int form also "-1\n"): digits, an optional trailing newline and
 * nothing else. -EINVAL otherwise (-ERANGE when it does not fit).
 */
int ml_damon_sysfs_parse_u64(const char *text, size_t len, uint64_t *out);
int ml_damon_sysfs_parse_int(const char *text, size_t len, int *out);

#ifdef __cplusplus
}
#endif

#endif /* MEMLENS_DAMON_SYSFS_H */
