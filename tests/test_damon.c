// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DAMON core: region operations against hand-worked expectations, the sim
 * source's ground truth (computed here from the script, not from the
 * monitor), determinism, attributes, schemes, quotas and watermarks.
 */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memlens/proc.h>

#include "tap.h"
#include "../lib/damon/internal.h"

int tap_failed_checks;

#define K 4096ULL
#define GiB (1ULL << 30)

/* ---- attributes ------------------------------------------------------------ */

static void test_attrs(void)
{
	struct ml_damon_attrs a;
	struct ml_damon_ctx *ctx;

	ml_damon_attrs_default(&a);
	/* the kernel's damon_new_ctx() values */
	CHECK_U64(a.sample_us, 5000);
	CHECK_U64(a.aggr_us, 100000);
	CHECK_U64(a.ops_update_us, 60000000);
	CHECK_EQ(a.min_nr_regions, 10);
	CHECK_EQ(a.max_nr_regions, 1000);
	CHECK(ml_damon_attrs_invalid(&a) == NULL);

	a.min_nr_regions = 2;
	CHECK(ml_damon_attrs_invalid(&a) != NULL);
	CHECK_EQ(ml_damon_ctx_new(&a, 1, &ctx), -EINVAL);
	CHECK(ctx == NULL);
	ml_damon_attrs_default(&a);
	a.min_nr_regions = 20;
	a.max_nr_regions = 10;
	CHECK(ml_damon_attrs_invalid(&a) != NULL);
	ml_damon_attrs_default(&a);
	a.sample_us = 0;
	CHECK(ml_damon_attrs_invalid(&a) != NULL);
	ml_damon_attrs_default(&a);
	a.aggr_us = 0;
	CHECK(ml_damon_attrs_invalid(&a) != NULL);
	ml_damon_attrs_default(&a);
	a.sample_us = 200000;	/* above aggr */
	CHECK(ml_damon_attrs_invalid(&a) != NULL);
	CHECK_EQ(ml_damon_ctx_new(&a, 1, &ctx), -EINVAL);
	ml_damon_attrs_default(&a);
	a.min_nr_regions = 3;
	a.max_nr_regions = 3;	/* min == max, both 3: allowed */
	CHECK(ml_damon_attrs_invalid(&a) == NULL);
}

/* ---- initial regions -------------------------------------------------------- */

static void test_three_regions(void)
{
	struct ml_damon_range out[3];
	/*
	 * gaps: 0x3000-0x5000 (0x2000), 0x6000-0x10000 (0xa000),
	 * 0x11000-0x30000 (0x1f000): the two biggest are the last two,
	 * so the regions are [0x1000,0x6000) [0x10000,0x11000)
	 * [0x30000,0x31000).
	 */
	const struct ml_damon_range r1[] = {
		{ 0x1000, 0x3000 }, { 0x5000, 0x6000 },
		{ 0x10000, 0x11000 }, { 0x30000, 0x31000 },
	};
	/* equal gaps of 0x1000: the first two by address win */
	const struct ml_damon_range r2[] = {
		{ 0x0, 0x1000 }, { 0x2000, 0x3000 }, { 0x4000, 0x5000 },
		{ 0x6000, 0x7000 },
	};
	/* one gap only: the kernel gives up */
	const struct ml_damon_range r3[] = { { 0, 0x1000 }, { 0x2000, 0x3000 } };
	/* unaligned ends are aligned up, as vaddr's ALIGN() */
	const struct ml_damon_range r4[] = {
		{ 0x1001, 0x2001 }, { 0x8000, 0x9000 }, { 0x20000, 0x20010 },
	};

	CHECK_EQ(damon_three_regions(r1, 4, out), 0);
	CHECK_U64(out[0].start, 0x1000); CHECK_U64(out[0].end, 0x6000);
	CHECK_U64(out[1].start, 0x10000); CHECK_U64(out[1].end, 0x11000);
	CHECK_U64(out[2].start, 0x30000); CHECK_U64(out[2].end, 0x31000);

	CHECK_EQ(damon_three_regions(r2, 4, out), 0);
	CHECK_U64(out[0].start, 0x0); CHECK_U64(out[0].end, 0x1000);
	CHECK_U64(out[1].start, 0x2000); CHECK_U64(out[1].end, 0x3000);
	CHECK_U64(out[2].start, 0x4000); CHECK_U64(out[2].end, 0x7000);

	CHECK_EQ(damon_three_regions(r3, 2, out), -EINVAL);

	CHECK_EQ(damon_three_regions(r4, 3, out), 0);
	CHECK_U64(out[0].start, 0x2000); CHECK_U64(out[0].end, 0x3000);
	CHECK_U64(out[1].start, 0x8000); CHECK_U64(out[1].end, 0x9000);
	CHECK_U64(out[2].start, 0x20000); CHECK_U64(out[2].end, 0x21000);
}

static void test_init_regions(void)
{
	struct damon_regions rs = { 0 };
	/*
	 * 28K + 4K + 20K = 52K; / 10 regions = 5324 bytes per piece.
	 * 28K: 28672/5324 = 5 pieces of ALIGN_DOWN(28672/5 = 5734) = 4K,
	 * the last one taking the rest: 0,4K,8K,12K,16K-28K.
	 * 4K: 4096/5324 = 0 pieces: left whole.
	 * 20K: 20480/5324 = 3 pieces of ALIGN_DOWN(6826) = 4K: 0x20000,
	 * 0x21000, 0x22000-0x25000.
	 */
	const struct ml_damon_range three[3] = {
		{ 0, 0x7000 }, { 0x10000, 0x11000 }, { 0x20000, 0x25000 },
	};
	const uint64_t want[][2] = {
		{ 0, 0x1000 }, { 0x1000, 0x2000 }, { 0x2000, 0x3000 },
		{ 0x3000, 0x4000 }, { 0x4000, 0x7000 }, { 0x10000, 0x11000 },
		{ 0x20000, 0x21000 }, { 0x21000, 0x22000 }, { 0x22000, 0x25000 },
	};

	CHECK_EQ(damon_init_regions(&rs, three, 3, 10), 0);
	CHECK_EQ(rs.nr, 9);
	for (size_t i = 0; i < 9 && i < rs.nr; i++) {
		CHECK_U64(rs.r[i].start, want[i][0]);
		CHECK_U64(rs.r[i].end, want[i][1]);
	}
	damon_regions_free(&rs);
}

/* ---- following mappings ----------------------------------------------------- */

static void set(struct damon_regions *rs, const uint64_t (*r)[2], size_t n)
{
	rs->nr = 0;
	damon_regions_reserve(rs, n);
	for (size_t i = 0; i < n; i++) {
		rs->r[i] = (struct damon_region){ .start = r[i][0],
						  .end = r[i][1],
						  .nr_accesses = (uint32_t)i + 1,
						  .age = 7 };
	}
	rs->nr = n;
}

static void check_regions(const struct damon_regions *rs,
			  const uint64_t (*want)[2], size_t n)
{
	CHECK_EQ(rs->nr, n);
	for (size_t i = 0; i < n && i < rs->nr; i++) {
		CHECK_U64(rs->r[i].start, want[i][0]);
		CHECK_U64(rs->r[i].end, want[i][1]);
	}
}

static void test_set_regions(void)
{
	struct damon_regions rs = { 0 };
	const uint64_t before[][2] = { { 0, 4 * K }, { 4 * K, 8 * K },
				       { 8 * K, 12 * K }, { 20 * K, 24 * K } };

	/*
	 * New ranges [4K,12K) [16K,28K): [0,4K) touches neither and goes;
	 * [4K,8K) [8K,12K) fit the first; [20K,24K) is stretched to the
	 * second.
	 */
	{
		const struct ml_damon_range nr[] = { { 4 * K, 12 * K },
						     { 16 * K, 28 * K } };
		const uint64_t want[][2] = { { 4 * K, 8 * K }, { 8 * K, 12 * K },
					     { 16 * K, 28 * K } };

		set(&rs, before, 4);
		CHECK_EQ(damon_set_regions(&rs, nr, 2), 0);
		check_regions(&rs, want, 3);
		/* kept regions keep what they learnt */
		CHECK_EQ(rs.r[0].nr_accesses, 2);
		CHECK_EQ(rs.r[2].nr_accesses, 4);
		CHECK_EQ(rs.r[2].age, 7);
	}
	/* a range no region touches gets a new region, at the end too */
	{
		const struct ml_damon_range nr[] = { { 4 * K, 12 * K },
						     { 40 * K, 48 * K } };
		const uint64_t want[][2] = { { 4 * K, 8 * K }, { 8 * K, 12 * K },
					     { 40 * K, 48 * K } };

		set(&rs, before, 4);
		CHECK_EQ(damon_set_regions(&rs, nr, 2), 0);
		check_regions(&rs, want, 3);
		CHECK_EQ(rs.r[2].nr_accesses, 0);
	}
	/* holes inside a range are filled; a range before all regions */
	{
		const uint64_t b2[][2] = { { 0, 4 * K }, { 8 * K, 12 * K },
					   { 40 * K, 44 * K } };
		const struct ml_damon_range nr[] = { { 0, 16 * K },
						     { 20 * K, 24 * K },
						     { 40 * K, 44 * K } };
		const uint64_t want[][2] = { { 0, 4 * K }, { 4 * K, 8 * K },
					     { 8 * K, 16 * K },
					     { 20 * K, 24 * K },
					     { 40 * K, 44 * K } };

		set(&rs, b2, 3);
		CHECK_EQ(damon_set_regions(&rs, nr, 3), 0);
		check_regions(&rs, want, 5);
	}
	/* overlapping or empty ranges are refused */
	{
		const struct ml_damon_range bad[] = { { 0, 8 * K },
						      { 4 * K, 12 * K } };

		CHECK_EQ(damon_set_regions(&rs, bad, 2), -EINVAL);
	}
	damon_regions_free(&rs);
}

/* ---- merge and split ---------------------------------------------------------- */

static void test_merge(void)
{
	struct damon_regions rs = { 0 };
	const uint32_t nr[] = { 10, 11, 20, 20, 0 };
	const uint32_t last[] = { 10, 0, 20, 20, 0 };

	damon_regions_reserve(&rs, 5);
	for (int i = 0; i < 5; i++)
		rs.r[i] = (struct damon_region){
			.start = (uint64_t)i * 4 * K,
			.end = (uint64_t)(i + 1) * 4 * K,
			.nr_accesses = nr[i], .last_nr_accesses = last[i],
			.age = 5 };
	rs.nr = 5;
	/*
	 * thres 2. Ages first: |10-10| <= 2 -> 6; |11-0| > 2 -> 0; the
	 * others 6. Then r0+r1 (|10-11| = 1): nr (10*4K + 11*4K)/8K = 10
	 * (floor), age (6+0)/2 = 3; r2 (|10-20| > 2) starts anew, r3
	 * joins it: nr 20, age 6; r4 (|20-0|) stays: nr 0, age 6.
	 */
	damon_merge_regions_of(&rs, 2, UINT64_MAX, true);
	CHECK_EQ(rs.nr, 3);
	CHECK_U64(rs.r[0].end, 8 * K);
	CHECK_EQ(rs.r[0].nr_accesses, 10);
	CHECK_EQ(rs.r[0].nr_accesses_bp, 100000);
	CHECK_EQ(rs.r[0].age, 3);
	CHECK_U64(rs.r[1].start, 8 * K);
	CHECK_U64(rs.r[1].end, 16 * K);
	CHECK_EQ(rs.r[1].nr_accesses, 20);
	CHECK_EQ(rs.r[1].age, 6);
	CHECK_EQ(rs.r[2].nr_accesses, 0);
	CHECK_EQ(rs.r[2].age, 6);

	/* the size limit stops merges: 8K + 8K > 12K */
	damon_merge_regions_of(&rs, 100, 12 * K, false);
	CHECK_EQ(rs.nr, 2);	/* only 8K region + 4K region fit: r1+r2 */
	CHECK_U64(rs.r[1].start, 8 * K);
	CHECK_U64(rs.r[1].end, 20 * K);
	/* (20*8K + 0*4K)/12K = 13 */
	CHECK_EQ(rs.r[1].nr_accesses, 13);

	/* regions that are not adjacent never merge */
	rs.r[1].start += 4 * K;
	damon_merge_regions_of(&rs, 100, UINT64_MAX, false);
	CHECK_EQ(rs.nr, 2);
	damon_regions_free(&rs);
}

static void test_split(void)
{
	struct ml_damon_attrs a;
	struct ml_damon_ctx *ctx;
	struct damon_target t = { 0 };
	const uint64_t sz = 400 * K;	/* 10% steps are whole pages */

	ml_damon_attrs_default(&a);
	CHECK_EQ(ml_damon_ctx_new(&a, 7, &ctx), 0);
	/* a bare context with one hand-made target */
	ctx->targets = &t;
	ctx->nr_targets = 1;
	damon_regions_reserve(&t.regions, 10);
	for (int i = 0; i < 10; i++)
		t.regions.r[i] = (struct damon_region){
			.start = (uint64_t)i * sz, .end = (uint64_t)(i + 1) * sz,
			.nr_accesses = 3, .age = 4 };
	/* and one region too small to split (<= 2 pages) */
	t.regions.r[10 - 1].end = 9 * sz + 2 * K;
	t.regions.nr = 10;

	/* first call: nr 10 differs from last (0): two pieces each */
	CHECK_EQ(damon_ctx_split(ctx), 0);
	CHECK_EQ(t.regions.nr, 9 * 2 + 1);
	CHECK_EQ(ctx->last_nr_regions, 10);
	for (size_t i = 0; i + 1 < t.regions.nr; i += 2) {
		uint64_t left = t.regions.r[i].end - t.regions.r[i].start;

		/* left piece 10%..90%, a multiple of 10% here */
		CHECK(left >= sz / 10 && left <= sz * 9 / 10);
		CHECK_EQ(left % (sz / 10), 0);
		CHECK_U64(t.regions.r[i + 1].end, t.regions.r[i].start + sz);
		/* pieces inherit the region's counters */
		CHECK_EQ(t.regions.r[i + 1].age, 4);
		CHECK_EQ(t.regions.r[i + 1].nr_accesses, 3);
	}
	/* second call with the same count (19 == last? no: 19 != 10) -> 2;
	 * make the count repeat to get three pieces */
	t.regions.nr = 10;
	for (int i = 0; i < 10; i++)
		t.regions.r[i] = (struct damon_region){
			.start = (uint64_t)i * sz, .end = (uint64_t)(i + 1) * sz };
	CHECK_EQ(damon_ctx_split(ctx), 0);
	/* 10 == last_nr_regions and 10 < 1000/3: three pieces each, or
	 * fewer when a draw gives a piece the size of its region */
	CHECK(t.regions.nr > 20 && t.regions.nr <= 30);
	for (size_t i = 1; i < t.regions.nr; i++)
		CHECK_U64(t.regions.r[i].start, t.regions.r[i - 1].end);
	CHECK_U64(t.regions.r[t.regions.nr - 1].end, 10 * sz);

	/* above max/2 regions: no split */
	ctx->attrs.max_nr_regions = 20;
	{
		size_t before = t.regions.nr;

		CHECK_EQ(damon_ctx_split(ctx), 0);
		CHECK_EQ(t.regions.nr, before);
	}
	damon_regions_free(&t.regions);
	ctx->targets = NULL;
	ctx->nr_targets = 0;
	ml_damon_ctx_free(ctx);
}

/* ---- sim: parser ---------------------------------------------------------------- */

static void test_sim_parse(void)
{
	struct ml_damon_sim_script s;
	const char *err = NULL;

	CHECK_EQ(ml_damon_sim_parse("size=1G gap=100M+4K@1s-2s @0 0-512M:0.5 "
				    "# comment\n@3s 1M-2M:1 seed=9", &s, &err), 0);
	CHECK_U64(s.size, GiB);
	CHECK_U64(s.seed, 9);
	CHECK_EQ(s.nr_gaps, 1);
	CHECK_U64(s.gaps[0].start, 100ULL << 20);
	CHECK_U64(s.gaps[0].end, (100ULL << 20) + 4096);
	CHECK_U64(s.gaps[0].from_us, 1000000);
	CHECK_U64(s.gaps[0].to_us, 2000000);
	CHECK_EQ(s.nr_phases, 2);
	CHECK_U64(s.phases[1].from_us, 3000000);
	CHECK(fabs(ml_damon_sim_prob(&s, 0, 1000) - 0.5) < 1e-9);
	CHECK(ml_damon_sim_prob(&s, 0, 600ULL << 20) == 0);
	/* in the gap only while it exists */
	CHECK(ml_damon_sim_prob(&s, 1500000, 100ULL << 20) == 0);
	CHECK(ml_damon_sim_prob(&s, 2500000, 100ULL << 20) == 0.5);
	CHECK(ml_damon_sim_prob(&s, 3000000, 1ULL << 20) == 1.0);
	CHECK(ml_damon_sim_prob(&s, 3000000, 0) == 0);

	CHECK_EQ(ml_damon_sim_parse("0-1G:1.5", &s, &err), -EINVAL);
	CHECK_EQ(ml_damon_sim_parse("1G-0:0.5", &s, &err), -EINVAL);
	CHECK_EQ(ml_damon_sim_parse("@2s @1s", &s, &err), -EINVAL);
	CHECK_EQ(ml_damon_sim_parse("size=1G gap=2G+1G", &s, &err), -EINVAL);
	CHECK_EQ(ml_damon_sim_parse("bogus", &s, &err), -EINVAL);
	CHECK_EQ(ml_damon_sim_parse("0-1G:", &s, &err), -EINVAL);
	CHECK_EQ(ml_damon_sim_parse("size=99999999999999999999", &s, &err),
		 -EINVAL);
	CHECK(err != NULL);
}

/* ---- sim: accuracy against the script's truth ----------------------------------- */

/* hot 4-8G (0.9), warm 24-36G (0.4), cold: the rest (never accessed) */
static const char accuracy_script[] =
	"size=64G gap=20G+1G gap=44G+2G seed=3 "
	"@0 4G-8G:0.9 24G-36G:0.4";

struct collect {
	uint64_t base;
	size_t nr_snaps;
	size_t first_nr_regions;
	size_t min_regions, max_regions;
	/* accumulated over the measured snapshots */
	double freq_sum[3], freq_bytes[3];
	double boundary_err_max;
	double wss_sum;
	double wrong_bytes;
	size_t measured;
	uint64_t hash;
};

static uint64_t overlap(uint64_t a, uint64_t b, uint64_t s, uint64_t e)
{
	uint64_t lo = a > s ? a : s, hi = b < e ? b : e;

	return hi > lo ? hi - lo : 0;
}

static int level_of(double freq)
{
	/* midpoints between the true levels 0.9, 0.4 and 0 */
	return freq > 0.65 ? 2 : freq > 0.2 ? 1 : 0;
}

static int collect_cb(const struct ml_damon_snapshot *s, void *arg)
{
	struct collect *c = arg;
	/* the true area boundaries (offsets) and the levels around them */
	const uint64_t bounds[] = { 4 * GiB, 8 * GiB, 24 * GiB, 36 * GiB };
	const struct { uint64_t start, end; int level; } areas[] = {
		{ 4 * GiB, 8 * GiB, 2 }, { 24 * GiB, 36 * GiB, 1 },
		{ 0, 4 * GiB, 0 }, { 46 * GiB, 64 * GiB, 0 },
	};
	const double prob[3] = { 0, 0.4, 0.9 };
	uint64_t wss = 0;

	if (!c->nr_snaps++) {
		c->first_nr_regions = s->nr_regions;
		return 0;
	}
	if (s->nr_regions < c->min_regions)
		c->min_regions = s->nr_regions;
	if (s->nr_regions > c->max_regions)
		c->max_regions = s->nr_regions;
	for (size_t i = 0; i < s->nr_regions; i++) {
		c->hash = (c->hash ^ s->regions[i].start) * 0x100000001b3ULL;
		c->hash = (c->hash ^ s->regions[i].nr_accesses) * 0x100000001b3ULL;
	}
	/* measure after 10 s, once the regions have adapted */
	if (s->time_us < 10000000)
		return 0;
	c->measured++;
	for (size_t i = 0; i < s->nr_regions; i++) {
		const struct ml_damon_region *r = &s->regions[i];
		uint64_t a = r->start - c->base, b = r->end - c->base;
		double f = (double)r->nr_accesses / s->max_nr_accesses;

		if (r->nr_accesses)
			wss += r->end - r->start;
		/* bytes whose true level differs from the region's: the
		 * overlap with hot and warm areas, the rest being cold */
		{
			int lv = level_of(f);
			uint64_t in_hot = overlap(a, b, 4 * GiB, 8 * GiB);
			uint64_t in_warm = overlap(a, b, 24 * GiB, 36 * GiB);
			uint64_t in_cold = (b - a) - in_hot - in_warm;

			c->wrong_bytes += (double)((lv != 2 ? in_hot : 0) +
						   (lv != 1 ? in_warm : 0) +
						   (lv != 0 ? in_cold : 0));
		}
		for (size_t k = 0; k < 4; k++) {
			int lv = areas[k].level;

			if (a >= areas[k].start && b <= areas[k].end) {
				c->freq_sum[lv] += f * (double)(b - a);
				c->freq_bytes[lv] += (double)(b - a);
			}
		}
		(void)prob;
	}
	c->wss_sum += (double)wss;
	/* each true boundary: the nearest region edge where the level
	 * changes */
	for (size_t k = 0; k < 4; k++) {
		double best = 1e30;

		for (size_t i = 1; i < s->nr_regions; i++) {
			const struct ml_damon_region *l = &s->regions[i - 1],
						     *r = &s->regions[i];

			if (level_of((double)l->nr_accesses / s->max_nr_accesses) ==
			    level_of((double)r->nr_accesses / s->max_nr_accesses))
				continue;
			double d = fabs((double)(r->start - c->base) -
					(double)bounds[k]);
			if (d < best)
				best = d;
		}
		if (best > c->boundary_err_max)
			c->boundary_err_max = best;
	}
	return 0;
}

static struct ml_damon_ctx *sim_ctx(const char *script, uint64_t seed,
				    const struct ml_damon_attrs *a)
{
	struct ml_damon_ctx *ctx = NULL;
	const char *why = NULL;

	if (ml_damon_ctx_new(a, seed, &ctx))
		return NULL;
	if (ml_damon_add_target(ctx, &ml_damon_sim_ops, 0, script, &why) < 0) {
		printf("# sim: %s\n", why ? why : "?");
		ml_damon_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

static void test_sim_accuracy(void)
{
	struct collect c = { .base = 0x100000000000ULL, .min_regions = SIZE_MAX };
	struct ml_damon_ctx *ctx = sim_ctx(accuracy_script, 11, NULL);
	const double space = 64.0 * GiB, truth_wss = 16.0 * GiB;
	double f;

	CHECK(ctx != NULL);
	if (!ctx)
		return;
	ml_damon_set_callback(ctx, collect_cb, &c);
	CHECK_EQ(ml_damon_run_virtual(ctx, 30000000), 0);
	/* 30 s of 100 ms aggregations */
	CHECK_EQ(c.nr_snaps, 300);
	CHECK(c.measured > 150);
	/*
	 * The first aggregation has the initial regions: 20G, 23G and 18G
	 * (64G less the two gaps) split into pieces of 61G/10 = 6.1G,
	 * floor(20/6.1) + floor(23/6.1) + floor(18/6.1) = 3 + 3 + 2 = 8,
	 * fewer than min_nr_regions, as the kernel builds them; from the
	 * first split on, the count stays within [min, max].
	 */
	CHECK_EQ(c.first_nr_regions, 8);
	CHECK(c.min_regions >= 10);
	CHECK(c.max_regions <= 1000);
	printf("# regions %zu..%zu, worst boundary error %.2f%% of the space\n",
	       c.min_regions, c.max_regions, 100 * c.boundary_err_max / space);
	CHECK(c.boundary_err_max <= 0.05 * space);
	/* and on average, bytes put in the wrong level: under 5% too */
	printf("# misclassified %.2f%% of the space on average\n",
	       100 * c.wrong_bytes / (double)c.measured / space);
	CHECK(c.wrong_bytes / (double)c.measured <= 0.05 * space);
	for (int lv = 0; lv < 3; lv++) {
		const double truth[3] = { 0, 0.4, 0.9 };

		CHECK(c.freq_bytes[lv] > 0);
		f = c.freq_sum[lv] / c.freq_bytes[lv];
		printf("# level %d: frequency %.3f, truth %.1f\n", lv, f,
		       truth[lv]);
		CHECK(fabs(f - truth[lv]) <= 0.10);
	}
	f = c.wss_sum / (double)c.measured;
	printf("# working set %.2f GiB, truth %.2f GiB\n", f / GiB,
	       truth_wss / GiB);
	CHECK(fabs(f - truth_wss) <= 0.10 * truth_wss);
	ml_damon_ctx_free(ctx);
}

/* ---- settle(): quiet regions told to the source ---------------------- */

#define SETTLE_BASE (UINT64_C(1) << 30)
#define SETTLE_LEN (UINT64_C(64) << 20)
#define SETTLE_HOT (UINT64_C(16) << 20)	/* [BASE, BASE + HOT) always written */

static struct {
	size_t nr;
	struct ml_damon_range r[4096];
} settles;

static int settle_init(void **state, pid_t pid, const char *arg,
		       const char **why)
{
	(void)pid, (void)arg, (void)why;
	*state = &settles;
	return 0;
}

static int settle_ranges(void *state, uint64_t now_us,
			 struct ml_damon_range *buf, size_t cap, size_t *nr)
{
	(void)state, (void)now_us;
	*nr = 1;
	if (cap)
		buf[0] = (struct ml_damon_range){ SETTLE_BASE,
						  SETTLE_BASE + SETTLE_LEN };
	return 0;
}

static int settle_check(void *state, uint64_t now_us, const uint64_t *addrs,
			size_t nr, bool *accessed)
{
	(void)state, (void)now_us;
	for (size_t i = 0; i < nr; i++)
		accessed[i] = addrs[i] < SETTLE_BASE + SETTLE_HOT;
	return 0;
}

static void settle_record(void *state, uint64_t start, uint64_t end)
{
	(void)state;
	if (settles.nr < 4096)
		settles.r[settles.nr++] = (struct ml_damon_range){ start, end };
}

/*
 * The core settles a region once it has been quiet ML_DAMON_SETTLE_AGE
 * aggregations, again as its age doubles, and never one that is written:
 * 10 s in virtual time of a 64 MiB target whose first 16 MiB are written
 * at every sample.
 */
static void test_settle(void)
{
	const struct ml_damon_ops ops = {
		.name = "settle", .sees = ML_DAMON_SEES_WRITES,
		.init = settle_init, .ranges = settle_ranges,
		.check = settle_check, .settle = settle_record,
	};
	uint64_t covered = 0, hot_only = 0;
	struct ml_damon_ctx *ctx;

	settles.nr = 0;
	CHECK_EQ(ml_damon_ctx_new(NULL, 7, &ctx), 0);
	CHECK_EQ(ml_damon_add_target(ctx, &ops, 0, NULL, NULL), 0);
	/* one aggregation: nothing is old enough yet */
	CHECK_EQ(ml_damon_run_virtual(ctx, 150000), 0);
	CHECK_EQ(settles.nr, 0);
	CHECK_EQ(ml_damon_run_virtual(ctx, 9850000), 0);
	/* the cold 48 MiB are covered, a 1 MiB grain at a time */
	for (uint64_t a = SETTLE_BASE + SETTLE_HOT; a < SETTLE_BASE + SETTLE_LEN;
	     a += 1 << 20) {
		for (size_t i = 0; i < settles.nr; i++) {
			if (settles.r[i].start <= a && a < settles.r[i].end) {
				covered += 1 << 20;
				break;
			}
		}
	}
	for (size_t i = 0; i < settles.nr; i++)
		if (settles.r[i].end <= SETTLE_BASE + SETTLE_HOT)
			hot_only++;
	printf("# %zu settle() calls, %" PRIu64 " MiB of the cold 48 covered\n",
	       settles.nr, covered >> 20);
	CHECK(settles.nr > 0);
	CHECK(covered >= (SETTLE_LEN - SETTLE_HOT) * 9 / 10);
	CHECK_EQ(hot_only, 0);
	/* doubling ages: a handful per region over 100 aggregations, not
	 * one per region per aggregation */
	CHECK(settles.nr < 100 * 10 / 4);
	ml_damon_ctx_free(ctx);
}

static void test_region_bounds(void)
{
	/* 64 alternating 256M areas: more edges than regions allowed */
	char script[4096];
	struct ml_damon_attrs a;
	struct collect c = { .base = 0x100000000000ULL, .min_regions = SIZE_MAX };
	struct ml_damon_ctx *ctx;
	int n = snprintf(script, sizeof(script), "size=16G gap=1G+1M gap=9G+1M @0");

	for (int i = 0; i < 64; i += 2)
		n += snprintf(script + n, sizeof(script) - (size_t)n,
			      " %dM-%dM:0.%d", i * 256, (i + 1) * 256, 1 + i % 9);
	ml_damon_attrs_default(&a);
	a.min_nr_regions = 5;
	a.max_nr_regions = 40;
	ctx = sim_ctx(script, 5, &a);
	CHECK(ctx != NULL);
	if (!ctx)
		return;
	ml_damon_set_callback(ctx, collect_cb, &c);
	CHECK_EQ(ml_damon_run_virtual(ctx, 20000000), 0);
	printf("# regions %zu..%zu of [5, 40]\n", c.min_regions, c.max_regions);
	CHECK(c.min_regions >= 5);
	CHECK(c.max_regions <= 40);
	ml_damon_ctx_free(ctx);
}

static uint64_t run_hash(uint64_t seed)
{
	struct collect c = { .base = 0x100000000000ULL, .min_regions = SIZE_MAX };
	struct ml_damon_ctx *ctx = sim_ctx(accuracy_script, seed, NULL);

	if (!ctx)
		return 0;
	ml_damon_set_callback(ctx, collect_cb, &c);
	ml_damon_run_virtual(ctx, 5000000);
	ml_damon_ctx_free(ctx);
	return c.hash;
}

static void test_determinism(void)
{
	uint64_t a = run_hash(99), b = run_hash(99), d = run_hash(100);

	CHECK(a != 0);
	CHECK_U64(a, b);
	CHECK(a != d);
}

static int count_cb(const struct ml_damon_snapshot *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

/* The real-time loop: durations are relative to each call, a stop flag
 * that is already set returns at once. */
static void test_run_real_time(void)
{
	struct ml_damon_ctx *ctx = sim_ctx("size=1G gap=1M+1M gap=9M+1M @0 0-1G:0.5", 1, NULL);
	volatile int stop = 0;
	struct timespec t0, t1;
	int n = 0;
	double ms;

	CHECK(ctx != NULL);
	if (!ctx)
		return;
	ml_damon_set_callback(ctx, count_cb, &n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(ml_damon_run(ctx, 350000, &stop), 0);
	CHECK_EQ(ml_damon_run(ctx, 350000, &stop), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("# 2 x 350 ms took %.0f ms, %d aggregations\n", ms, n);
	CHECK(ms >= 700);
	CHECK(ml_damon_now_us(ctx) >= 700000);
	/* 100 ms aggregations: up to 7 (fewer when wake-ups are late) */
	CHECK(n >= 3 && n <= 7);
	stop = 1;
	n = 0;
	CHECK_EQ(ml_damon_run(ctx, 0, &stop), 0);
	CHECK_EQ(n, 0);
	ml_damon_ctx_free(ctx);
}

/* ---- mapping changes --------------------------------------------------------------- */

static void test_mapping_changes(void)
{
	/*
	 * Always-there gaps 10G+8G and 40G+6G make the regions [0,10G)
	 * [18G,40G) [46G,64G). From 2 s a 10G gap at 20G-30G is the
	 * biggest, so after the next update (1 s interval) the regions are
	 * [0,10G) [18G,20G) [30G,64G): the 40G+6G gap is now only the
	 * third biggest and is monitored as part of the last region.
	 */
	const char *script = "size=64G gap=10G+8G gap=40G+6G gap=20G+10G@2s "
			     "@0 0-64G:0.5";
	const uint64_t base = 0x100000000000ULL;
	struct ml_damon_region buf[2000];
	struct ml_damon_attrs a;
	struct ml_damon_ctx *ctx;
	size_t n;
	uint64_t covered;

	ml_damon_attrs_default(&a);
	a.ops_update_us = 1000000;
	ctx = sim_ctx(script, 1, &a);
	CHECK(ctx != NULL);
	if (!ctx)
		return;
	CHECK_EQ(ml_damon_run_virtual(ctx, 1500000), 0);
	n = ml_damon_target_regions(ctx, 0, buf, 2000);
	covered = 0;
	for (size_t i = 0; i < n; i++) {
		covered += buf[i].end - buf[i].start;
		CHECK(!(buf[i].start < base + 18 * GiB &&
			buf[i].end > base + 10 * GiB));
	}
	CHECK_U64(covered, (10 + 22 + 18) * GiB);

	CHECK_EQ(ml_damon_run_virtual(ctx, 2000000), 0);	/* to 3.5 s */
	n = ml_damon_target_regions(ctx, 0, buf, 2000);
	covered = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t s = buf[i].start - base, e = buf[i].end - base;

		covered += e - s;
		/* nothing in the new gap nor the old first gap */
		CHECK(!(s < 30 * GiB && e > 20 * GiB));
		CHECK(!(s < 18 * GiB && e > 10 * GiB));
		if (i)
			CHECK(buf[i].start >= buf[i - 1].end);
	}
	CHECK_U64(covered, (10 + 2 + 34) * GiB);
	ml_damon_ctx_free(ctx);
}

/* ---- schemes ------------------------------------------------------------------------ */

static void test_scheme_parse(void)
{
	struct ml_damon_attrs a;
	struct ml_damos s;
	const char *err = NULL;

	ml_damon_attrs_default(&a);
	CHECK_EQ(ml_damos_parse("pageout:sz=2M-max,freq=0-10,age=5s-max,"
				"quota=64M/2s,quota_ms=10,weights=0:3:7,"
				"wmarks=500:400:100/1s,apply=1s", &a, &s, &err), 0);
	CHECK_EQ(s.action, ML_DAMOS_PAGEOUT);
	CHECK_U64(s.pattern.min_sz_bytes, 2ULL << 20);
	CHECK_U64(s.pattern.max_sz_bytes, UINT64_MAX);
	/* 10% of 20 samples = 2 */
	CHECK_EQ(s.pattern.min_nr_accesses, 0);
	CHECK_EQ(s.pattern.max_nr_accesses, 2);
	/* 5 s / 100 ms = 50 aggregations */
	CHECK_EQ(s.pattern.min_age, 50);
	CHECK_EQ(s.pattern.max_age, UINT32_MAX);
	CHECK_U64(s.quota.sz_bytes, 64ULL << 20);
	CHECK_U64(s.quota.reset_interval_ms, 2000);
	CHECK_U64(s.quota.ms, 10);
	CHECK_EQ(s.quota.weight_nr_accesses, 3);
	CHECK_EQ(s.quota.weight_age, 7);
	CHECK_EQ(s.wmarks.metric, ML_DAMOS_WMARK_FREE_MEM_RATE);
	CHECK_EQ(s.wmarks.high, 500);
	CHECK_EQ(s.wmarks.low, 100);
	CHECK_U64(s.wmarks.interval_us, 1000000);
	CHECK_U64(s.apply_interval_us, 1000000);

	CHECK_EQ(ml_damos_parse("stat", &a, &s, &err), 0);
	CHECK_EQ(s.action, ML_DAMOS_STAT);
	CHECK_EQ(ml_damos_parse("nr=3-5,age=2-4", &a, &s, &err), -EINVAL);
	CHECK_EQ(ml_damos_parse("cold:nr=3-5,age=2-4", &a, &s, &err), 0);
	CHECK_EQ(s.pattern.min_nr_accesses, 3);
	CHECK_EQ(s.pattern.max_age, 4);
	CHECK_EQ(ml_damos_parse("reclaim", &a, &s, &err), -EINVAL);
	CHECK_EQ(ml_damos_parse("cold:nr=5-3", &a, &s, &err), -EINVAL);
	CHECK_EQ(ml_damos_parse("cold:freq=0-101", &a, &s, &err), -EINVAL);
	CHECK_EQ(ml_damos_parse("cold:wmarks=1:2:3", &a, &s, &err), -EINVAL);
	CHECK_EQ(ml_damos_parse("cold:bogus=1", &a, &s, &err), -EINVAL);
	CHECK_EQ(ml_damos_parse("cold:sz=1M-2Mx", &a, &s, &err), -EINVAL);
	CHECK_EQ(ml_damos_parse("cold:", &a, &s, &err), -EINVAL);
	CHECK(err != NULL);
}

/* A source wrapping sim that records what apply() was given. */
#define MAX_APPLIED 100000
static struct {
	struct ml_damon_sim_script script;
	uint64_t base;
	size_t nr;
	uint64_t start[MAX_APPLIED], end[MAX_APPLIED];
	uint64_t hot_bytes;	/* applied bytes whose truth is not cold */
} rec;

static int rec_apply(void *state, int action, uint64_t start, uint64_t end,
		     uint64_t *applied)
{
	(void)state;
	(void)action;
	if (rec.nr < MAX_APPLIED) {
		rec.start[rec.nr] = start;
		rec.end[rec.nr++] = end;
	}
	/* truth: probe every 4M of the range */
	for (uint64_t a = start; a < end; a += 4ULL << 20)
		if (ml_damon_sim_prob(&rec.script, 0, a - rec.base) > 0)
			rec.hot_bytes += 4ULL << 20;
	*applied = end - start;
	return 0;
}

static struct ml_damon_ops rec_ops;

static struct ml_damon_ctx *rec_ctx(const char *script)
{
	struct ml_damon_ctx *ctx = NULL;

	rec_ops = ml_damon_sim_ops;
	rec_ops.name = "rec";
	rec_ops.apply = rec_apply;
	memset(&rec.nr, 0, sizeof(rec.nr));
	rec.nr = 0;
	rec.hot_bytes = 0;
	ml_damon_sim_parse(script, &rec.script, NULL);
	rec.base = rec.script.base;
	if (ml_damon_ctx_new(NULL, 4, &ctx))
		return NULL;
	if (ml_damon_add_target(ctx, &rec_ops, 0, script, NULL) < 0) {
		ml_damon_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

static void test_scheme_matching(void)
{
	/* hot 0-4G, cold (never accessed) 4G-64G */
	const char *script = "size=64G gap=30G+1G gap=50G+1G @0 0-4G:0.9";
	struct ml_damon_ctx *ctx = rec_ctx(script);
	struct ml_damos s;
	struct ml_damos_stat st;

	CHECK(ctx != NULL);
	if (!ctx)
		return;
	/* cold for at least 1 s: nr_accesses 0, age >= 10 */
	CHECK_EQ(ml_damos_parse("pageout:nr=0-0,age=10-max", NULL, &s, NULL), 0);
	CHECK_EQ(ml_damon_add_scheme(ctx, &s), 0);
	CHECK_EQ(ml_damon_run_virtual(ctx, 5000000), 0);
	CHECK_EQ(ml_damon_scheme_stat(ctx, 0, &st), 0);
	printf("# tried %" PRIu64 " regions %" PRIu64 " bytes, applied %"
	       PRIu64 " %" PRIu64 "\n", st.nr_tried, st.sz_tried,
	       st.nr_applied, st.sz_applied);
	CHECK(st.nr_applied > 0);
	CHECK_U64(st.nr_tried, rec.nr);
	CHECK_U64(st.nr_applied, rec.nr);
	CHECK_U64(st.sz_applied, st.sz_tried);
	/*
	 * Nothing hot was paged out but for what a region edge near the
	 * hot area's boundary takes along: the boundary is found within
	 * 1% of the space here (a region with a sliver of hot pages can
	 * show no access for a second).
	 */
	printf("# hot bytes paged out: %" PRIu64 "\n", rec.hot_bytes);
	CHECK(rec.hot_bytes <= 64 * GiB / 100);
	/* nothing applied before the region aged 1 s: the first apply is
	 * at 1.1 s at the earliest, so 4 s of applies at most */
	CHECK(st.sz_applied <= 40ULL * 60 * GiB);
	CHECK_EQ(st.qt_exceeds, 0);
	ml_damon_ctx_free(ctx);
}

static void test_scheme_quota(void)
{
	/* hot 0-4G; everything else cold; a pageout of everything with a
	 * 1 GiB/s quota must choose cold bytes (cold score) and stay under
	 * the quota in every window */
	const char *script = "size=64G gap=30G+1G gap=50G+1G @0 0-4G:0.9";
	struct ml_damon_ctx *ctx = rec_ctx(script);
	struct ml_damos s;
	struct ml_damos_stat st;

	CHECK(ctx != NULL);
	if (!ctx)
		return;
	CHECK_EQ(ml_damos_parse("pageout:quota=1G/1s", NULL, &s, NULL), 0);
	CHECK_EQ(ml_damon_add_scheme(ctx, &s), 0);
	CHECK_EQ(ml_damon_run_virtual(ctx, 5000000), 0);
	CHECK_EQ(ml_damon_scheme_stat(ctx, 0, &st), 0);
	printf("# quota: applied %" PRIu64 " bytes in %" PRIu64
	       " regions, %" PRIu64 " windows exceeded\n", st.sz_applied,
	       st.nr_applied, st.qt_exceeds);
	/* windows start at 0.1 s, 1.1 s ... 4.1 s: at most 5 full quotas */
	CHECK(st.sz_applied <= 5 * GiB);
	CHECK(st.sz_applied >= 4 * GiB);
	CHECK(st.qt_exceeds >= 3);
	/* prioritised: the cold score put the hot area last */
	CHECK_U64(rec.hot_bytes, 0);
	ml_damon_ctx_free(ctx);

	/*
	 * A time quota: before anything was charged, the kernel assumes
	 * 4 MiB (PAGE_SIZE * 1024) per ms, so 1 ms per window is 4 MiB in
	 * the first window (0.1 s to 1.1 s).
	 */
	ctx = rec_ctx(script);
	CHECK(ctx != NULL);
	if (!ctx)
		return;
	CHECK_EQ(ml_damos_parse("pageout:quota_ms=1/1s", NULL, &s, NULL), 0);
	CHECK_EQ(ml_damon_add_scheme(ctx, &s), 0);
	CHECK_EQ(ml_damon_run_virtual(ctx, 1000000), 0);
	CHECK_EQ(ml_damon_scheme_stat(ctx, 0, &st), 0);
	CHECK_U64(st.sz_applied, 4 << 20);
	CHECK_EQ(st.nr_applied, 1);
	ml_damon_ctx_free(ctx);
}

static uint32_t fake_free_permille;

static int fake_metric(enum ml_damos_wmark_metric m, uint32_t *v, void *arg)
{
	(void)m;
	(void)arg;
	*v = fake_free_permille;
	return 0;
}

static void test_scheme_wmarks(void)
{
	const char *script = "size=64G gap=30G+1G gap=50G+1G @0 0-4G:0.9";
	struct ml_damon_ctx *ctx = rec_ctx(script);
	struct ml_damos s;
	struct ml_damos_stat st;

	CHECK(ctx != NULL);
	if (!ctx)
		return;
	CHECK_EQ(ml_damos_parse("stat:wmarks=500:300:100/1s", NULL, &s, NULL), 0);
	CHECK_EQ(ml_damon_add_scheme(ctx, &s), 0);
	ml_damon_set_metric_fn(ctx, fake_metric, NULL);
	/* 60% free: above high, inactive, nothing tried */
	fake_free_permille = 600;
	CHECK_EQ(ml_damon_run_virtual(ctx, 3000000), 0);
	CHECK(!ml_damon_scheme_active(ctx, 0));
	ml_damon_scheme_stat(ctx, 0, &st);
	CHECK_U64(st.nr_tried, 0);
	/* 40% free: between mid and high while inactive: still inactive */
	fake_free_permille = 400;
	CHECK_EQ(ml_damon_run_virtual(ctx, 2000000), 0);
	CHECK(!ml_damon_scheme_active(ctx, 0));
	/* 20% free: below mid, activated; stat tries, applies nothing */
	fake_free_permille = 200;
	CHECK_EQ(ml_damon_run_virtual(ctx, 2000000), 0);
	CHECK(ml_damon_scheme_active(ctx, 0));
	ml_damon_scheme_stat(ctx, 0, &st);
	CHECK(st.nr_tried > 0);
	/* 5% free: below low, deactivated */
	fake_free_permille = 50;
	CHECK_EQ(ml_damon_run_virtual(ctx, 2000000), 0);
	CHECK(!ml_damon_scheme_active(ctx, 0));
	ml_damon_ctx_free(ctx);
}

static void test_scores(void)
{
	struct ml_damon_ctx *ctx;
	struct ml_damos s;
	struct damon_region hot = { .nr_accesses_bp = 200000, .age = 0 };
	struct damon_region cold = { .nr_accesses_bp = 0, .age = 100 };

	ml_damon_ctx_new(NULL, 1, &ctx);
	ml_damos_init(&s, ML_DAMOS_PAGEOUT);
	/*
	 * hot: freq 20/20 -> subscore 100; age 0 s -> log 0 -> (0+32)*100
	 * /32/2 = 50; weights 1:1 -> 75 -> 75*99/100 = 74.
	 * cold: freq 0; age 10 s -> log 4 (10,5,2,1) -> -4 -> 28*100/64 =
	 * 43; (0 + 43)/2 = 21 -> 21*99/100 = 20; cold score 99-20 = 79.
	 */
	CHECK_EQ(damon_hot_score(ctx, &hot, &s), 74);
	CHECK_EQ(damon_cold_score(ctx, &cold, &s), 79);
	ml_damon_ctx_free(ctx);
}


/* ---- sources that fail, end, or lack the kernel ---------------------------------- */

static int nokernel_init(void **state, pid_t pid, const char *arg,
			 const char **why)
{
	(void)state; (void)pid; (void)arg;
	*why = "CONFIG_MEM_SOFT_DIRTY is not set";
	return -EOPNOTSUPP;
}

static bool fake_alive = true;
static int fake_check_err;

static bool fake_alive_fn(void *state)
{
	(void)state;
	return fake_alive;
}

static int fake_check(void *state, uint64_t now_us, const uint64_t *addrs,
		      size_t nr, bool *accessed)
{
	if (fake_check_err)
		return fake_check_err;
	return ml_damon_sim_ops.check(state, now_us, addrs, nr, accessed);
}

static void test_sources_fail(void)
{
	struct ml_damon_ops nokernel = ml_damon_sim_ops, ending = ml_damon_sim_ops;
	struct ml_damon_ctx *ctx;
	const char *why = NULL;

	nokernel.init = nokernel_init;
	CHECK_EQ(ml_damon_ctx_new(NULL, 1, &ctx), 0);
	/* the source's reason comes through untouched */
	CHECK_EQ(ml_damon_add_target(ctx, &nokernel, 1, NULL, &why), -EOPNOTSUPP);
	CHECK_STR(why, "CONFIG_MEM_SOFT_DIRTY is not set");
	/* the automatic choice never takes sim: with no other source in
	 * the table it says so */
	why = NULL;
	if (!ml_damon_ops_in_auto(1) && !ml_damon_ops_at(1)) {
		CHECK_EQ(ml_damon_add_target(ctx, NULL, 1, NULL, &why),
			 -EOPNOTSUPP);
		CHECK(why != NULL);
	}
	/* a target that ends: -ESRCH from the step after */
	ending.alive = fake_alive_fn;
	ending.check = fake_check;
	fake_alive = true;
	fake_check_err = 0;
	CHECK_EQ(ml_damon_add_target(ctx, &ending, 1, "size=1G gap=1M+1M gap=9M+1M", NULL), 0);
	CHECK_EQ(ml_damon_run_virtual(ctx, 1000000), 0);
	fake_alive = false;
	fake_check_err = -ESRCH;
	CHECK_EQ(ml_damon_step(ctx), -ESRCH);
	CHECK_EQ(ml_damon_step(ctx), -ESRCH);
	ml_damon_ctx_free(ctx);

	/* a source error that is not the target's end comes back */
	CHECK_EQ(ml_damon_ctx_new(NULL, 1, &ctx), 0);
	fake_alive = true;
	fake_check_err = 0;
	CHECK_EQ(ml_damon_add_target(ctx, &ending, 1, "size=1G", NULL), 0);
	CHECK_EQ(ml_damon_step(ctx), 0);
	fake_check_err = -EIO;
	CHECK_EQ(ml_damon_step(ctx), -EIO);
	fake_check_err = 0;
	ml_damon_ctx_free(ctx);
}

/* ---- madvise and process_madvise ---------------------------------------------------- */

/* Resident pages of [addr, addr + len) in this process (mincore). */
static size_t resident_pages(void *addr, size_t len)
{
	unsigned char vec[1024];
	size_t n = 0;

	if (len / 4096 > sizeof(vec) || mincore(addr, len, vec))
		return SIZE_MAX;
	for (size_t i = 0; i < len / 4096; i++)
		n += vec[i] & 1;
	return n;
}

static void test_madvise(void)
{
	const size_t len = 4 << 20;	/* 1024 pages */
	char path[] = "/tmp/test_damon_XXXXXX";
	uint64_t applied = 0;
	int fd = mkstemp(path), st;
	char *p;
	pid_t child;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	unlink(path);
	CHECK_EQ(ftruncate(fd, (off_t)len), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED);
	if (p == MAP_FAILED) {
		close(fd);
		return;
	}
	/* read faults map the page cache pages (file-backed, clean) */
	for (size_t i = 0; i < len; i += 4096)
		(void)*(volatile char *)(p + i);
	CHECK_EQ(resident_pages(p, len), 1024);

	/* stat applies nothing; hugepage on another process is refused */
	CHECK_EQ(ml_damos_madvise(0, ML_DAMOS_STAT, (uintptr_t)p,
				  (uintptr_t)p + len, &applied), 0);
	CHECK_U64(applied, 0);
	CHECK_EQ(ml_damos_madvise(1, ML_DAMOS_HUGEPAGE, (uintptr_t)p,
				  (uintptr_t)p + len, &applied), -EOPNOTSUPP);

	/* another process: a child shares the mapping's address; paging
	 * it out there leaves the page cache to this process's mapping,
	 * so what we check is the advice's byte count */
	child = geteuid() == 0 ? fork() : -1;	/* CAP_SYS_NICE needed */
	if (child == 0) {
		for (size_t i = 0; i < len; i += 4096)
			(void)*(volatile char *)(p + i);
		pause();
		_exit(0);
	}
	if (child < 0)
		goto self;
	usleep(100000);
	applied = 0;
	CHECK_EQ(ml_damos_madvise(child, ML_DAMOS_COLD, (uintptr_t)p,
				  (uintptr_t)p + len, &applied), 0);
	CHECK_U64(applied, len);
	applied = 0;
	CHECK_EQ(ml_damos_madvise(child, ML_DAMOS_PAGEOUT, (uintptr_t)p,
				  (uintptr_t)p + len, &applied), 0);
	CHECK_U64(applied, len);
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	/* a process that is gone */
	CHECK_EQ(ml_damos_madvise(child, ML_DAMOS_COLD, (uintptr_t)p,
				  (uintptr_t)p + len, &applied), -ESRCH);

self:
	/* the caller: pageout of a clean file mapping drops its pages */
	applied = 0;
	CHECK_EQ(ml_damos_madvise(0, ML_DAMOS_PAGEOUT, (uintptr_t)p,
				  (uintptr_t)p + len, &applied), 0);
	CHECK_U64(applied, len);
	printf("# resident after pageout: %zu of 1024 pages\n",
	       resident_pages(p, len));
	CHECK(resident_pages(p, len) < 1024 / 10);
	munmap(p, len);
	close(fd);
}

/* ---- a scheme on a live child: pageout of its cold file pages ---------------- */

/*
 * A test source over a child's file mapping: the child reads the whole
 * mapping once, then only its first quarter for ever; the source answers
 * checks from that truth and applies actions with ml_damos_madvise().
 */
struct child_src {
	pid_t pid;
	uint64_t start, hot_end, end;
};

static struct child_src child_src;

static int child_init(void **state, pid_t pid, const char *arg,
		      const char **why)
{
	(void)pid; (void)arg; (void)why;
	*state = &child_src;
	return 0;
}

static int child_ranges(void *state, uint64_t now_us,
			struct ml_damon_range *buf, size_t cap, size_t *nr)
{
	struct child_src *c = state;

	(void)now_us;
	if (cap >= 1) {
		buf[0].start = c->start;
		buf[0].end = c->end;
	}
	*nr = 1;
	return 0;
}

static int child_check(void *state, uint64_t now_us, const uint64_t *addrs,
		       size_t nr, bool *accessed)
{
	struct child_src *c = state;

	(void)now_us;
	for (size_t i = 0; i < nr; i++)
		accessed[i] = addrs[i] < c->hot_end;
	return 0;
}

static int child_apply(void *state, int action, uint64_t start, uint64_t end,
		       uint64_t *applied)
{
	return ml_damos_madvise(((struct child_src *)state)->pid, action,
				start, end, applied);
}

/* The kernel's Rss of the VMA of @pid that starts at @start (smaps). */
static uint64_t rss_of(pid_t pid, uint64_t start)
{
	char path[64], *text = malloc(1 << 20), *pos, *end;
	struct ml_vma vma;
	uint64_t rss = 0;
	ssize_t n = 0, r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || !text) {
		free(text);
		return 0;
	}
	while ((r = read(fd, text + n, (1 << 20) - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	pos = text;
	end = text + n;
	while (ml_smaps_next(&pos, end, &vma) > 0)
		if (vma.start == start)
			rss = vma.mem.rss;
	free(text);
	return rss;
}

static void test_scheme_live_pageout(void)
{
	const size_t len = 64 << 20, hot = 16 << 20;
	const struct ml_damon_ops ops = {
		.name = "child", .sees = ML_DAMON_SEES_READS,
		.init = child_init, .ranges = child_ranges,
		.check = child_check, .apply = child_apply,
	};
	char path[] = "/var/tmp/test_damon_pageout_XXXXXX", *buf, *p;
	uint64_t rss0, rss1, rss2;
	struct ml_damon_ctx *ctx;
	struct ml_damos_stat st;
	struct ml_damos s;
	int fd, ready[2], st_child;
	pid_t pid;
	char c;

	if (geteuid() != 0) {
		printf("# skipped: process_madvise() on another process needs CAP_SYS_NICE\n");
		return;
	}
	/* a file on a disk file system (/var/tmp, not a tmpfs /tmp), with
	 * real data (no holes) */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	unlink(path);
	buf = malloc(1 << 20);
	memset(buf, 0x5a, 1 << 20);
	for (size_t i = 0; i < len; i += 1 << 20)
		CHECK_EQ(write(fd, buf, 1 << 20), 1 << 20);
	free(buf);
	fsync(fd);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK_EQ(pipe(ready), 0);
	pid = fork();
	if (pid == 0) {
		/* volatile reads: touch the pages, keep nothing */
		for (size_t i = 0; i < len; i += 4096)
			(void)*(volatile const char *)&p[i];
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		for (;;) {
			for (size_t i = 0; i < hot; i += 4096)
				(void)*(volatile const char *)&p[i];
			usleep(1000);
		}
	}
	/* only the child maps the pages: MADV_PAGEOUT skips shared ones */
	munmap(p, len);
	CHECK_EQ(read(ready[0], &c, 1), 1);
	rss0 = rss_of(pid, (uintptr_t)p);
	printf("# child rss of the mapping %" PRIu64 " KiB\n", rss0 >> 10);
	CHECK_U64(rss0, len);

	child_src = (struct child_src){ .pid = pid, .start = (uintptr_t)p,
					.hot_end = (uintptr_t)p + hot,
					.end = (uintptr_t)p + len };
	CHECK_EQ(ml_damon_ctx_new(NULL, 1, &ctx), 0);
	CHECK_EQ(ml_damon_add_target(ctx, &ops, pid, NULL, NULL), 0);
	/* cold for 0.5 s, at most 16 MiB per second */
	CHECK_EQ(ml_damos_parse("pageout:nr=0-0,age=5-max,quota=16M/1s", NULL,
				&s, NULL), 0);
	CHECK_EQ(ml_damon_add_scheme(ctx, &s), 0);

	/*
	 * 1.5 s: the first charge window opens at the first apply (0.1 s),
	 * the second at 1.1 s; cold regions are 5 aggregations old from
	 * 0.6 s, so each window pages out its full quota: 2 x 16 MiB.
	 */
	CHECK_EQ(ml_damon_run_virtual(ctx, 1500000), 0);
	ml_damon_scheme_stat(ctx, 0, &st);
	rss1 = rss_of(pid, (uintptr_t)p);
	printf("# after two windows: applied %" PRIu64 " KiB, rss %" PRIu64
	       " KiB\n", st.sz_applied >> 10, rss1 >> 10);
	CHECK_U64(st.sz_applied, 32 << 20);
	/*
	 * The kernel's own figure fell by what was paged out, or a little
	 * more: a large page-cache folio that a region edge cuts is
	 * reclaimed whole (at most one 2 MiB folio per edge).
	 */
	CHECK(rss0 - rss1 >= st.sz_applied);
	CHECK(rss0 - rss1 <= st.sz_applied + (4 << 20));

	/*
	 * 4 s more: the whole cold 48 MiB, never the hot 16 MiB. (Regions
	 * that stay cold are paged out again as they age again: applied
	 * bytes count them each time, as the kernel's sz_applied does.)
	 */
	CHECK_EQ(ml_damon_run_virtual(ctx, 4000000), 0);
	ml_damon_scheme_stat(ctx, 0, &st);
	rss2 = rss_of(pid, (uintptr_t)p);
	printf("# later: applied %" PRIu64 " KiB, rss %" PRIu64 " KiB, "
	       "quota exceeded %" PRIu64 "\n", st.sz_applied >> 10,
	       rss2 >> 10, st.qt_exceeds);
	CHECK_U64(rss0 - rss2, len - hot);
	CHECK(st.qt_exceeds >= 2);
	ml_damon_ctx_free(ctx);
	kill(pid, SIGKILL);
	waitpid(pid, &st_child, 0);
	close(ready[0]);
	close(ready[1]);
	close(fd);
}

/* ---- the command ------------------------------------------------------------------ */

static int run_status(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void)
{
	char cmd[1024], line[65536];
	FILE *f;
	int n = 0;

	/* impossible attributes and bad specs: usage errors */
	snprintf(cmd, sizeof(cmd), "%s damon monitor --ops sim --regions 2,10 2>/dev/null", MEMLENS_BIN);
	CHECK_EQ(run_status(cmd), 2);
	snprintf(cmd, sizeof(cmd), "%s damon monitor --ops sim --sample 200ms 2>/dev/null", MEMLENS_BIN);
	CHECK_EQ(run_status(cmd), 2);
	snprintf(cmd, sizeof(cmd), "%s damon monitor --ops sim --scheme 'cold:nr=5-3' 2>/dev/null", MEMLENS_BIN);
	CHECK_EQ(run_status(cmd), 2);
	snprintf(cmd, sizeof(cmd), "%s damon monitor 2>/dev/null", MEMLENS_BIN);
	CHECK_EQ(run_status(cmd), 2);
	/* a bad script is the source's runtime error */
	snprintf(cmd, sizeof(cmd), "%s damon monitor --ops 'sim:0-1G:7' 2>/dev/null", MEMLENS_BIN);
	CHECK_EQ(run_status(cmd), 1);

	/* --json: 5 aggregations of 100 ms in 0.5 s of virtual time */
	snprintf(cmd, sizeof(cmd), "%s damon monitor --ops 'sim:size=1G gap=300M+16M gap=700M+32M @0 0-64M:0.9' --virtual --duration 500ms --seed 3 --json",
		 MEMLENS_BIN);
	f = popen(cmd, "r");
	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		n++;
		CHECK(strstr(line, "\"regions\":[{\"start\":") != NULL);
		CHECK(strstr(line, "\"nr_accesses\":") != NULL);
		CHECK(strstr(line, "\"age\":") != NULL);
		CHECK(line[strlen(line) - 1] == '\n');
	}
	CHECK_EQ(f ? pclose(f) : -1, 0);
	CHECK_EQ(n, 5);
}

/* Ctrl-C: the real-time loop stops between samples, exit 0 */
static void test_cli_sigint(void)
{
	int fds[2], st = 0;
	char buf[4096];
	ssize_t got = 0, r;
	pid_t pid;

	CHECK_EQ(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(MEMLENS_BIN, MEMLENS_BIN, "damon", "monitor", "--ops",
		      "sim", "--json", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	usleep(400000);
	kill(pid, SIGINT);
	while ((r = read(fds[0], buf, sizeof(buf))) > 0)
		got += r;
	close(fds[0]);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* at least one aggregation (100 ms) came out in 400 ms */
	CHECK(got > 0);
}

/*
 * Ctrl-C at a terminal signals the whole foreground process group: the
 * monitor stops, COMMAND (in its own group) keeps running untouched.
 */
static void test_cli_sigint_command(void)
{
	char path[64], buf[64] = "";
	pid_t pid, target = 0;
	int st = 0;
	FILE *f;

	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		setpgid(0, 0);
		dup2(null, 1);
		execl(MEMLENS_BIN, MEMLENS_BIN, "damon", "monitor", "--ops",
		      "sim", "--", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	usleep(400000);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			target = (pid_t)atoi(buf);
		fclose(f);
	}
	CHECK(target > 0);
	kill(-pid, SIGINT);	/* what the terminal does */
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (target > 0) {
		CHECK_EQ(kill(target, 0), 0);	/* still running */
		kill(target, SIGKILL);
	}
}

int main(void)
{
	static const struct tap_test tests[] = {
		TEST(test_attrs),
		TEST(test_three_regions),
		TEST(test_init_regions),
		TEST(test_set_regions),
		TEST(test_merge),
		TEST(test_split),
		TEST(test_sim_parse),
		TEST(test_sim_accuracy),
		TEST(test_region_bounds),
		TEST(test_settle),
		TEST(test_determinism),
		TEST(test_run_real_time),
		TEST(test_mapping_changes),
		TEST(test_scheme_parse),
		TEST(test_scheme_matching),
		TEST(test_scheme_quota),
		TEST(test_scheme_wmarks),
		TEST(test_scores),
		TEST(test_sources_fail),
		TEST(test_madvise),
		TEST(test_scheme_live_pageout),
		TEST(test_cli),
		TEST(test_cli_sigint),
		TEST(test_cli_sigint_command),
	};

	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
