// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DAMON recordings and reports: round trips of snapshots the test makes
 * from a pattern it knows, the reports' figures against that pattern
 * (worked out here, never read back from the code under test), a real
 * sim run, and every kind of bad file: truncated, corrupted, newer
 * schema, not a recording, empty, full disk, killed recorder.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/damon_report.h>

#include "tap.h"

#define MiB (1ULL << 20)

static char dir[] = "/tmp/test_damon_record.XXXXXX";

/* A path in the test's directory that stays valid in the calling block. */
#define TMP(var, name) \
	char var[256]; \
	snprintf(var, sizeof(var), "%s/%s", dir, name)

/* The same for a path used at once (a ring of 16: not for keeping). */
static const char *tmp_path(const char *name)
{
	static char buf[16][256];
	static int i;

	i = (i + 1) % 16;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* ---- the pattern ---------------------------------------------------------------- */

/*
 * Three mapped ranges of 64 MiB at A, B, C with gaps of 1 GiB and 2 GiB
 * between them, each cut into four 16 MiB regions: 12 regions, 192 MiB.
 * Snapshot k (k = 0..39) at (k + 1) * 100 ms; max_nr_accesses 20.
 *   region i of snapshot k: nr_accesses = 20 when i == k / 10 * 2 (the hot
 *   region moves from region 0 to 2, 4 and 6 every second), 5 when i is
 *   odd, else 0; and the first (k % 5) even regions other than the hot
 *   one get 1 access, so the working set grows and shrinks with k % 5.
 *   The last region is cut in (k % 3) + 1 equal parts: 12, 13 or 14
 *   regions.
 */
#define A 0x7f0000000000ULL
#define B (A + 64 * MiB + (1ULL << 30))
#define C (B + 64 * MiB + (2ULL << 30))
#define NR_SNAPS 40
#define MAX_ACC 20

static const uint64_t range_start[3] = { A, B, C };

static uint32_t pattern_acc(int k, int i)
{
	int ones = k % 5, seen = 0;

	if (i == k / 10 * 2)
		return 20;
	if (i % 2)
		return 5;
	for (int e = 0; e < 12; e += 2) {
		if (e == k / 10 * 2)
			continue;
		if (seen++ < ones && e == i)
			return 1;
	}
	return 0;
}

/* Build snapshot k into @regs (room for 14); returns nr_regions. */
static size_t pattern_snapshot(int k, struct ml_damon_region *regs)
{
	size_t n = 0;

	for (int i = 0; i < 12; i++) {
		uint64_t start = range_start[i / 4] + (uint64_t)(i % 4) * 16 * MiB;
		int parts = i == 11 ? k % 3 + 1 : 1;
		uint64_t step = 16 * MiB / 4096 / parts * 4096;

		for (int p = 0; p < parts; p++) {
			regs[n].start = start + p * step;
			regs[n].end = p == parts - 1 ? start + 16 * MiB :
						       start + (p + 1) * step;
			regs[n].nr_accesses = pattern_acc(k, i);
			regs[n].age = (uint32_t)k;
			n++;
		}
	}
	return n;
}

static const struct ml_damon_rec_info pattern_info = {
	.ops = "test-pattern", .sample_us = 5000, .aggr_us = 100000,
	.update_us = 1000000, .min_nr_regions = 10, .max_nr_regions = 1000,
	.pid = 4242, .command = "the pattern",
};

static int write_pattern(const char *path, int nr, bool end)
{
	ML_OPTS(ml_damon_rec_opts, o, .overwrite = true);
	struct ml_damon_rec_writer *w;
	struct ml_damon_region regs[14];
	int err;

	err = ml_damon_rec_create(path, &pattern_info, &o, &w);
	if (err)
		return err;
	for (int k = 0; k < nr && !err; k++) {
		struct ml_damon_snapshot s = {
			.time_us = (uint64_t)(k + 1) * 100000, .target_id = 0,
			.pid = 4242, .max_nr_accesses = MAX_ACC,
			.regions = regs,
		};

		s.nr_regions = pattern_snapshot(k, regs);
		err = ml_damon_rec_write(w, &s, 1);
	}
	if (!err && end)
		err = ml_damon_rec_end(w, ML_DAMON_REC_END_DURATION, "4 s");
	ml_damon_rec_writer_free(w);
	return err;
}

/* ---- blobs ------------------------------------------------------------------------ */

static void test_blob_round_trip(void)
{
	struct ml_damon_region in[14], out[14];
	uint8_t buf[ML_DAMON_REC_BLOB_MAX(14)];
	size_t n = pattern_snapshot(7, in);
	ssize_t len = ml_damon_rec_encode(in, NULL, n, buf, sizeof(buf));

	CHECK(len > 2);
	/* 16 MiB regions are 4096 pages: gap, size, nr, age about 7 bytes */
	CHECK(len < 2 + 8 * (ssize_t)n);
	CHECK_EQ(ml_damon_rec_decode(buf, (size_t)len, n, out, NULL), 0);
	CHECK(!memcmp(in, out, n * sizeof(*in)));
	/* one region too few or too many, a byte short, a byte more */
	CHECK_EQ(ml_damon_rec_decode(buf, (size_t)len, n - 1, out, NULL), -EBADMSG);
	CHECK_EQ(ml_damon_rec_decode(buf, (size_t)len, n + 1, out, NULL), -EBADMSG);
	CHECK_EQ(ml_damon_rec_decode(buf, (size_t)len - 1, n, out, NULL), -EBADMSG);
	buf[len] = 0;
	CHECK_EQ(ml_damon_rec_decode(buf, (size_t)len + 1, n, out, NULL), -EBADMSG);
	/* unknown format, shift past 63 */
	buf[0] = 2;
	CHECK_EQ(ml_damon_rec_decode(buf, (size_t)len, n, out, NULL), -EBADMSG);
	buf[0] = 1;
	buf[1] = 64;
	CHECK_EQ(ml_damon_rec_decode(buf, (size_t)len, n, out, NULL), -EBADMSG);
	/* addresses that overflow: gap 2^63, size 2^63 with shift 0 */
	{
		static const uint8_t evil[] = { 1, 0,
			0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
			0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
			0, 0 };
		static const uint8_t long_varint[] = { 1, 0, 0xff, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 0, 0 };

		CHECK_EQ(ml_damon_rec_decode(evil, sizeof(evil), 1, out, NULL),
			 -EBADMSG);
		CHECK_EQ(ml_damon_rec_decode(long_varint, sizeof(long_varint), 1,
					     out, NULL), -EBADMSG);
	}
}

/* ---- round trip and reports --------------------------------------------------------- */

static void test_round_trip(void)
{
	TMP(path, "pattern.db");
	const struct ml_damon_rec_snapshot *s;
	const struct ml_damon_rec_info *in;
	struct ml_damon_rec_stats st;
	struct ml_damon_rec *r;
	struct ml_damon_region regs[14];
	int err, k = 0;

	CHECK_EQ(write_pattern(path, NR_SNAPS, true), 0);
	/* a clean end leaves one file */
	CHECK(access(tmp_path("pattern.db-wal"), F_OK) < 0);
	CHECK_EQ(ml_damon_rec_open(path, &r), 0);
	if (!r)
		return;
	in = ml_damon_rec_info(r);
	CHECK_STR(in->ops, "test-pattern");
	CHECK_STR(in->command, "the pattern");
	CHECK_EQ(in->pid, 4242);
	CHECK_U64(in->aggr_us, 100000);
	CHECK_STR(in->end_reason, "duration");
	CHECK_STR(in->end_detail, "4 s");
	CHECK(in->ended_us >= in->started_us);
	CHECK_EQ(in->schema_version, ML_DAMON_REC_SCHEMA);
	CHECK_EQ(ml_damon_rec_stats(r, &st), 0);
	CHECK_U64(st.nr_snapshots, NR_SNAPS);
	CHECK_U64(st.first_us, 100000);
	CHECK_U64(st.last_us, NR_SNAPS * 100000);
	CHECK_EQ(ml_damon_rec_iter(r, NULL), 0);
	ml_damon_rec_for_each(r, s, err) {
		size_t n = pattern_snapshot(k, regs);
		uint64_t wss = 0;

		for (size_t i = 0; i < n; i++)
			wss += regs[i].nr_accesses ? regs[i].end - regs[i].start : 0;
		CHECK_U64(s->s.time_us, (uint64_t)(k + 1) * 100000);
		CHECK_EQ(s->s.nr_regions, n);
		CHECK_EQ(s->s.max_nr_accesses, MAX_ACC);
		CHECK(!memcmp(s->s.regions, regs, n * sizeof(*regs)));
		CHECK_U64(s->total_bytes, 192 * MiB);
		CHECK_U64(s->wss_bytes, wss);
		k++;
	}
	CHECK_EQ(err, 0);
	CHECK_EQ(k, NR_SNAPS);
	/* ranges: the three 64 MiB ranges, every time */
	{
		ML_OPTS(ml_damon_rec_iter_opts, o, .what = ML_DAMON_REC_RANGES,
			.target_id = -1, .from_us = 1000000, .to_us = 1500000);
		int n = 0;

		CHECK_EQ(ml_damon_rec_iter(r, &o), 0);
		ml_damon_rec_for_each(r, s, err) {
			CHECK_EQ(s->nr_ranges, 3);
			for (int i = 0; i < 3 && s->nr_ranges == 3; i++) {
				CHECK_U64(s->ranges[i].start, range_start[i]);
				CHECK_U64(s->ranges[i].end, range_start[i] + 64 * MiB);
			}
			CHECK(s->s.regions == NULL);
			n++;
		}
		CHECK_EQ(n, 6);	/* 1.0 s .. 1.5 s inclusive */
	}
	ml_damon_rec_close(r);
}

/*
 * Heatmap with 4 time bins (10 snapshots each: the snapshot at (k+1) 100 ms
 * covers (k 100 ms, (k+1) 100 ms], bins are 1 s from 0) and 12 address bins
 * (16 MiB each over the collapsed 192 MiB: one bin per region). So a cell
 * is the mean of nr_accesses / 20 over the bin's 10 snapshots; cut regions
 * weigh by their bytes and have the same count, so they change nothing.
 */
static void test_heatmap(void)
{
	ML_OPTS(ml_damon_heatmap_opts, o, .target_id = -1, .nr_time_bins = 4,
		.nr_addr_bins = 12);
	struct ml_damon_heatmap h;
	struct ml_damon_rec *r;

	CHECK_EQ(ml_damon_rec_open(tmp_path("pattern.db"), &r), 0);
	if (!r)
		return;
	CHECK_EQ(ml_damon_heatmap(r, &o, &h), 0);
	CHECK_U64(h.space_bytes, 192 * MiB);
	CHECK_EQ(h.nr_ranges, 3);
	CHECK_U64(h.t0_us, 0);
	CHECK_U64(h.t1_us, NR_SNAPS * 100000);
	CHECK_U64(h.nr_snapshots, NR_SNAPS);
	for (int t = 0; t < 4 && h.cells; t++) {
		int hottest = 0;

		for (int a = 0; a < 12; a++) {
			double want = 0, got = h.cells[t * 12 + a];

			for (int k = t * 10; k < t * 10 + 10; k++)
				want += pattern_acc(k, a) / 20.0 / 10;
			if (fabs(got - want) > 1e-9)
				printf("# cell t%d a%d: %f, pattern %f\n", t, a,
				       got, want);
			CHECK(fabs(got - want) < 1e-9);
			if (got > h.cells[t * 12 + hottest])
				hottest = a;
		}
		/* the hot region of second t is region 2t */
		CHECK_EQ(hottest, t * 2);
	}
	/* the collapsed space maps back: bin 4 starts at B, bin 8 at C */
	CHECK_U64(ml_damon_heatmap_addr(&h, 64 * MiB), B);
	CHECK_U64(ml_damon_heatmap_addr(&h, 128 * MiB + 5), C + 5);
	ml_damon_heatmap_fini(&h);

	/*
	 * Bins that do not align (7 × 5): overlap weighting must keep the
	 * total, sum(cell × bytes × time) = sum(freq × bytes × time) over the
	 * snapshots; every cell has data (no gap in the collapsed space).
	 */
	o.nr_time_bins = 7;
	o.nr_addr_bins = 5;
	CHECK_EQ(ml_damon_heatmap(r, &o, &h), 0);
	{
		double total = 0, want = 0;
		struct ml_damon_region regs[14];

		for (int i = 0; i < 35 && h.cells; i++) {
			CHECK(h.cells[i] >= 0);
			total += h.cells[i] * (192.0 * MiB / 5) * (4e6 / 7);
		}
		for (int k = 0; k < NR_SNAPS; k++) {
			size_t n = pattern_snapshot(k, regs);

			for (size_t i = 0; i < n; i++)
				want += regs[i].nr_accesses / 20.0 *
					(double)(regs[i].end - regs[i].start) * 1e5;
		}
		CHECK(fabs(total - want) / want < 1e-9);
	}
	ml_damon_heatmap_fini(&h);
	ml_damon_rec_close(r);
}

/*
 * Working set of snapshot k: the hot region, the six odd regions (5
 * accesses) and k % 5 even regions with one access: (7 + k % 5) * 16 MiB.
 * Over 40 snapshots each of 112, 128, 144, 160, 176 MiB occurs 8 times:
 * sorted, ranks 1-8 are 112, 9-16 128, 17-24 144, 25-32 160, 33-40 176.
 * Nearest rank ceil(p * 40 / 100): p0 -> 1 (112), p25 -> 10 (128),
 * p50 -> 20 (144), p75 -> 30 (160), p90 -> 36, p99 -> 40, p100 -> 40 (176).
 * With at least 5 accesses: hot + odd = 7 regions, 112 MiB always.
 * Regions: 12 + k % 3 + 1 - 1 = 12, 13, 14, 12, ... (14 times 12 and 13
 * times each of 13 and 14): ranks 1-14 are 12, 15-27 13, 28-40 14; p25 ->
 * 10 (12), p50 -> 20 (13), p75 -> 30 (14), p0 12, p100 14.
 */
static void test_wss(void)
{
	static const uint64_t want_mib[ML_DAMON_NR_PCTS] = { 112, 128, 144, 160,
							     176, 176, 176 };
	static const uint32_t want_regions[ML_DAMON_NR_PCTS] = { 12, 12, 13, 14,
								 14, 14, 14 };
	ML_OPTS(ml_damon_wss_opts, o, .target_id = -1);
	struct ml_damon_wss_bin bins[4];
	struct ml_damon_wss w;
	struct ml_damon_rec *r;

	CHECK_EQ(ml_damon_rec_open(tmp_path("pattern.db"), &r), 0);
	if (!r)
		return;
	CHECK_EQ(ml_damon_wss(r, &o, &w), 0);
	CHECK_EQ(w.nr_points, NR_SNAPS);
	for (int i = 0; i < ML_DAMON_NR_PCTS; i++) {
		CHECK_U64(w.wss_pct[i], want_mib[i] * MiB);
		CHECK_EQ(w.nr_regions_pct[i], want_regions[i]);
	}
	CHECK_U64(w.wss_mean_bytes, 144 * MiB);
	for (size_t k = 0; k < w.nr_points; k++)
		CHECK_U64(w.points[k].wss_bytes, (7 + k % 5) * 16 * MiB);
	/* four bins of ten snapshots: each holds two of every k % 5 */
	CHECK_EQ(ml_damon_wss_bins(&w, 4, bins), 4);
	for (int b = 0; b < 4; b++) {
		CHECK_U64(bins[b].wss_mean_bytes, 144 * MiB);
		CHECK_U64(bins[b].wss_min_bytes, 112 * MiB);
		CHECK_U64(bins[b].wss_max_bytes, 176 * MiB);
		CHECK_EQ(bins[b].nr_points, 10);
	}
	ml_damon_wss_fini(&w);
	o.min_nr_accesses = 5;
	CHECK_EQ(ml_damon_wss(r, &o, &w), 0);
	for (int i = 0; i < ML_DAMON_NR_PCTS; i++)
		CHECK_U64(w.wss_pct[i], 112 * MiB);
	ml_damon_wss_fini(&w);
	ml_damon_rec_close(r);
}

/* ---- a real monitoring run: the sim source ------------------------------------------- */

/*
 * 1 GiB with a 256 MiB hole at 256 MiB; for 10 s [0, 64M) is accessed in
 * every sample, then for 10 s [512M, 576M) is; nothing else ever is.
 */
#define SIM_SCRIPT "size=1G gap=256M+256M @0 0-64M:1 @10s 512M-576M:1"

struct sim_capture {
	struct ml_damon_rec_writer *w;
	uint64_t wss[256];
	uint32_t nr_regions[256];
	size_t n;
	int err;
};

static int sim_cb(const struct ml_damon_snapshot *s, void *arg)
{
	struct sim_capture *c = arg;

	if (c->n < 256) {
		uint64_t wss = 0;

		for (size_t i = 0; i < s->nr_regions; i++)
			if (s->regions[i].nr_accesses)
				wss += s->regions[i].end - s->regions[i].start;
		c->wss[c->n] = wss;
		c->nr_regions[c->n] = (uint32_t)s->nr_regions;
		c->n++;
	}
	c->err = ml_damon_rec_write(c->w, s, 1);
	return c->err ? 1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void test_sim_recording(void)
{
	ML_OPTS(ml_damon_rec_opts, ro, .overwrite = true);
	ML_OPTS(ml_damon_heatmap_opts, ho, .target_id = 0, .nr_time_bins = 20,
		.nr_addr_bins = 12);
	ML_OPTS(ml_damon_wss_opts, wo, .target_id = 0);
	struct ml_damon_rec_info info = { .ops = "sim", .command = SIM_SCRIPT };
	struct ml_damon_sim_script script;
	struct sim_capture cap = { 0 };
	struct ml_damon_attrs attrs;
	struct ml_damon_ctx *ctx;
	struct ml_damon_heatmap h;
	struct ml_damon_wss w;
	struct ml_damon_rec *r;
	uint64_t sorted[256];
	int err;

	CHECK_EQ(ml_damon_sim_parse(SIM_SCRIPT, &script, NULL), 0);
	ml_damon_attrs_default(&attrs);
	attrs.ops_update_us = 1000000;
	info.sample_us = attrs.sample_us;
	info.aggr_us = attrs.aggr_us;
	info.update_us = attrs.ops_update_us;
	info.min_nr_regions = attrs.min_nr_regions;
	info.max_nr_regions = attrs.max_nr_regions;
	CHECK_EQ(ml_damon_ctx_new(&attrs, 42, &ctx), 0);
	CHECK_EQ(ml_damon_add_target(ctx, &ml_damon_sim_ops, 0, SIM_SCRIPT,
				     NULL), 0);
	CHECK_EQ(ml_damon_rec_create(tmp_path("sim.db"), &info, &ro, &cap.w), 0);
	ml_damon_set_callback(ctx, sim_cb, &cap);
	err = ml_damon_run_virtual(ctx, 20 * 1000000);
	CHECK_EQ(err, 0);
	CHECK_EQ(cap.err, 0);
	CHECK_EQ(ml_damon_rec_end(cap.w, ML_DAMON_REC_END_DURATION, NULL), 0);
	ml_damon_rec_writer_free(cap.w);
	ml_damon_ctx_free(ctx);
	CHECK_EQ(cap.n, 200);	/* 20 s / 100 ms */

	CHECK_EQ(ml_damon_rec_open(tmp_path("sim.db"), &r), 0);
	if (!r)
		return;
	/*
	 * The address space the heatmap covers is the mapped 768 MiB; 12 bins
	 * of 64 MiB: bin 0 is [0, 64M) (hot for 10 s), bins 1-3 the rest
	 * below the hole, bin 4 starts at 512M: [512M, 576M) (hot after
	 * 10 s). 20 time bins of 1 s. DAMON's regions need a few
	 * aggregations to find the edges: the first second and the one after
	 * the phase change are left out.
	 */
	CHECK_EQ(ml_damon_heatmap(r, &ho, &h), 0);
	CHECK_U64(h.space_bytes, 768 * MiB);
	for (uint32_t t = 0; t < 20 && h.cells; t++) {
		uint64_t mid_us = t * 1000000 + 500000;

		if (t == 0 || t == 10)
			continue;
		for (uint32_t a = 0; a < 12; a++) {
			/* the pattern's probability at the bin's pages */
			uint64_t off = a * 64 * MiB + (a >= 4 ? 256 * MiB : 0);
			double p = ml_damon_sim_prob(&script, mid_us, off + 32 * MiB);
			double got = h.cells[t * 12 + a];

			if (p > 0.5 && got < 0.8)
				printf("# hot cell t%u a%u: %f\n", t, a, got);
			if (p == 0 && got > 0.1)
				printf("# cold cell t%u a%u: %f\n", t, a, got);
			CHECK(p > 0.5 ? got >= 0.8 : got <= 0.1);
		}
	}
	ml_damon_heatmap_fini(&h);
	/* wss and regions: percentiles of what the core handed the writer */
	CHECK_EQ(ml_damon_wss(r, &wo, &w), 0);
	CHECK_EQ(w.nr_points, cap.n);
	memcpy(sorted, cap.wss, cap.n * sizeof(*sorted));
	qsort(sorted, cap.n, sizeof(*sorted), cmp_u64);
	for (int i = 0; i < ML_DAMON_NR_PCTS; i++) {
		size_t rank = (ml_damon_pcts[i] * cap.n + 99) / 100;

		CHECK_U64(w.wss_pct[i], sorted[rank ? rank - 1 : 0]);
	}
	/* and from the pattern: 64 MiB is accessed at any time; the median
	 * snapshot has found the edges within a region or two */
	CHECK(w.wss_pct[2] >= 64 * MiB && w.wss_pct[2] <= 80 * MiB);
	/*
	 * Regions: at least one per stretch of equal access in the pattern
	 * (phase 1: [0, 64M), [64M, 256M), [512M, 1G); phase 2 likewise: 3),
	 * at most max_nr_regions. Not min_nr_regions: as the kernel's, the
	 * first split floors (256M and 512M in pieces of at most 768M / 10
	 * make 3 + 6 = 9 regions).
	 */
	for (size_t k = 0; k < cap.n; k++) {
		sorted[k] = cap.nr_regions[k];
		CHECK(cap.nr_regions[k] >= 3 &&
		      cap.nr_regions[k] <= attrs.max_nr_regions);
	}
	qsort(sorted, cap.n, sizeof(*sorted), cmp_u64);
	CHECK_EQ(w.nr_regions_pct[0], sorted[0]);
	CHECK_EQ(w.nr_regions_pct[6], sorted[cap.n - 1]);
	ml_damon_wss_fini(&w);
	ml_damon_rec_close(r);
}

/* ---- bad files ------------------------------------------------------------------------ */

static int copy_file(const char *from, const char *to, off_t len)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;
	off_t done = 0;

	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0)
		return -1;
	while ((len < 0 || done < len) && (n = read(in, buf, sizeof(buf))) > 0) {
		if (len >= 0 && done + n > len)
			n = len - done;
		if (write(out, buf, (size_t)n) != n)
			return -1;
		done += n;
	}
	close(in);
	close(out);
	return 0;
}

/* Read everything a report reads; the first error. */
static int read_all(const char *path)
{
	ML_OPTS(ml_damon_heatmap_opts, ho, .target_id = -1);
	ML_OPTS(ml_damon_wss_opts, wo, .target_id = -1, .min_nr_accesses = 2);
	const struct ml_damon_rec_snapshot *s;
	struct ml_damon_heatmap h = { 0 };
	struct ml_damon_wss w = { 0 };
	struct ml_damon_rec *r;
	int err;

	err = ml_damon_rec_open(path, &r);
	if (err)
		return err;
	err = ml_damon_rec_iter(r, NULL);
	if (!err)
		ml_damon_rec_for_each(r, s, err)
			;
	if (!err)
		err = ml_damon_heatmap(r, &ho, &h);
	ml_damon_heatmap_fini(&h);
	if (!err)
		err = ml_damon_wss(r, &wo, &w);
	ml_damon_wss_fini(&w);
	ml_damon_rec_close(r);
	return err;
}

static void test_truncated(void)
{
	struct stat st;
	TMP(bad, "truncated.db");

	CHECK_EQ(stat(tmp_path("pattern.db"), &st), 0);
	/* half the file, then only the 100-byte header, then 50 bytes */
	CHECK_EQ(copy_file(tmp_path("pattern.db"), bad, st.st_size / 2), 0);
	CHECK_EQ(read_all(bad), -EBADMSG);
	CHECK_EQ(copy_file(tmp_path("pattern.db"), bad, 100), 0);
	CHECK(read_all(bad) == -EBADMSG || read_all(bad) == -EMEDIUMTYPE);
	CHECK_EQ(copy_file(tmp_path("pattern.db"), bad, 50), 0);
	CHECK(read_all(bad) == -EBADMSG || read_all(bad) == -EMEDIUMTYPE);
}

static void test_corrupted(void)
{
	TMP(bad, "corrupt.db");
	struct stat st;
	int fd, errs = 0;

	CHECK_EQ(stat(tmp_path("pattern.db"), &st), 0);
	/* every page in turn gets 64 bytes of 0xa5 in its middle */
	for (off_t page = 0; page < st.st_size; page += 4096) {
		uint8_t junk[64];
		int err;

		memset(junk, 0xa5, sizeof(junk));
		CHECK_EQ(copy_file(tmp_path("pattern.db"), bad, -1), 0);
		fd = open(bad, O_WRONLY);
		CHECK(pwrite(fd, junk, sizeof(junk), page + 2000) == 64);
		close(fd);
		err = read_all(bad);
		/* some pages hold nothing read (free space): fine; the
		 * others must fail as corrupted, never crash */
		CHECK(err == 0 || err == -EBADMSG || err == -EMEDIUMTYPE);
		errs += err != 0;
	}
	CHECK(errs > 0);
}

static void test_newer_schema(void)
{
	TMP(path, "newer.db");
	struct ml_damon_rec *r;
	sqlite3 *db;

	CHECK_EQ(copy_file(tmp_path("pattern.db"), path, -1), 0);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL),
		 SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ(ml_damon_rec_open(path, &r), -EPROTONOSUPPORT);
	CHECK(r == NULL);
}

static void test_not_a_recording(void)
{
	TMP(path, "other.db");
	struct ml_damon_rec *r;
	sqlite3 *db;
	int fd;

	unlink(path);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL),
		 SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ(ml_damon_rec_open(path, &r), -EMEDIUMTYPE);
	fd = open(tmp_path("empty-file"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	close(fd);
	CHECK_EQ(ml_damon_rec_open(tmp_path("empty-file"), &r), -EMEDIUMTYPE);
	fd = open(tmp_path("text"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	CHECK(write(fd, "hello, world\n", 13) == 13);
	close(fd);
	CHECK(ml_damon_rec_open(tmp_path("text"), &r) < 0);
	CHECK_EQ(ml_damon_rec_open(tmp_path("no-such-file"), &r), -ENOENT);
}

static void test_empty_recording(void)
{
	TMP(path, "empty.db");
	const struct ml_damon_rec_snapshot *s;
	struct ml_damon_rec_stats st;
	struct ml_damon_heatmap h;
	struct ml_damon_wss w;
	struct ml_damon_rec *r;
	int err;

	CHECK_EQ(write_pattern(path, 0, true), 0);
	CHECK_EQ(ml_damon_rec_open(path, &r), 0);
	if (!r)
		return;
	CHECK_EQ(ml_damon_rec_stats(r, &st), 0);
	CHECK_U64(st.nr_snapshots, 0);
	CHECK_EQ(ml_damon_rec_iter(r, NULL), 0);
	CHECK_EQ(ml_damon_rec_next(r, &s), 0);
	CHECK_EQ(ml_damon_heatmap(r, NULL, &h), -ENODATA);
	ml_damon_heatmap_fini(&h);
	CHECK_EQ(ml_damon_wss(r, NULL, &w), -ENODATA);
	ml_damon_wss_fini(&w);
	CHECK_STR(ml_damon_rec_info(r)->end_reason, "duration");
	ml_damon_rec_close(r);
	(void)err;
}

static void test_exists_and_bad_input(void)
{
	ML_OPTS(ml_damon_rec_opts, o);
	struct ml_damon_rec_writer *w;
	struct ml_damon_region regs[2] = { { 0x2000, 0x3000, 1, 0 },
					   { 0x1000, 0x2000, 1, 0 } };
	struct ml_damon_snapshot s = { .time_us = 5, .nr_regions = 2,
				       .regions = regs, .max_nr_accesses = 20 };

	CHECK_EQ(ml_damon_rec_create(tmp_path("pattern.db"), &pattern_info, &o,
				     &w), -EEXIST);
	o.overwrite = true;
	CHECK_EQ(ml_damon_rec_create(tmp_path("input.db"), &pattern_info, &o,
				     &w), 0);
	if (!w)
		return;
	CHECK_EQ(ml_damon_rec_write(w, &s, 1), -EINVAL);	/* unsorted */
	regs[1] = (struct ml_damon_region){ 0x3000, 0x3000, 1, 0 };
	CHECK_EQ(ml_damon_rec_write(w, &s, 1), -EINVAL);	/* empty */
	regs[1] = (struct ml_damon_region){ 0x3000, 0x4000, 1, 0 };
	CHECK_EQ(ml_damon_rec_write(w, &s, 1), 0);
	s.time_us = 4;
	CHECK_EQ(ml_damon_rec_write(w, &s, 1), -EINVAL);	/* time went back */
	CHECK_U64(ml_damon_rec_nr_written(w), 1);
	ml_damon_rec_writer_free(w);
}

/* ---- size bound, full disk, killed recorder ------------------------------------------ */

static void test_max_size(void)
{
	ML_OPTS(ml_damon_rec_opts, o, .overwrite = true,
		.max_size_bytes = 96 * 1024);
	TMP(path, "bounded.db");
	struct ml_damon_rec_writer *w;
	struct ml_damon_region regs[1000];
	struct stat st;
	uint64_t written;
	int err = 0, k;

	CHECK_EQ(ml_damon_rec_create(path, &pattern_info, &o, &w), 0);
	if (!w)
		return;
	/* 1,000 regions of varying sizes: a few KB a snapshot */
	for (k = 0; k < 1000 && !err; k++) {
		struct ml_damon_snapshot s = { .time_us = (uint64_t)k,
			.max_nr_accesses = 20, .nr_regions = 1000,
			.regions = regs };
		uint64_t a = A;

		for (int i = 0; i < 1000; i++) {
			regs[i].start = a;
			a += 4096ULL * (1 + (i * 7 + k) % 13);
			regs[i].end = a;
			regs[i].nr_accesses = (uint32_t)(i + k) % 21;
			regs[i].age = (uint32_t)k;
		}
		err = ml_damon_rec_write(w, &s, 1);
	}
	CHECK_EQ(err, -EFBIG);
	written = ml_damon_rec_nr_written(w);
	CHECK(written > 3 && written < 100);
	CHECK(ml_damon_rec_size_bytes(w) <= 96 * 1024);
	CHECK_EQ(ml_damon_rec_end(w, ML_DAMON_REC_END_MAX_SIZE, "test"), 0);
	ml_damon_rec_writer_free(w);
	CHECK_EQ(stat(path, &st), 0);
	CHECK(st.st_size <= 96 * 1024);
	{
		struct ml_damon_rec *r;
		struct ml_damon_rec_stats rs;

		CHECK_EQ(ml_damon_rec_open(path, &r), 0);
		if (r) {
			CHECK_EQ(ml_damon_rec_stats(r, &rs), 0);
			CHECK_U64(rs.nr_snapshots, written);
			CHECK_STR(ml_damon_rec_info(r)->end_reason, "max-size");
			ml_damon_rec_close(r);
		}
		CHECK_EQ(read_all(path), 0);
	}
}

/*
 * A full disk: a 192 KiB tmpfs in a mount namespace of a child process
 * (root only; no one else sees the mount, which goes with the child).
 * tmpfs fails writes with ENOSPC exactly like a full disk; RLIMIT_FSIZE
 * would give EFBIG and SIGXFSZ instead, another path through SQLite.
 * The child records until the disk is full, ends, and reads the file
 * back; its exit status tells what went wrong (0: all as expected).
 */
static int full_disk_record(const char *mnt)
{
	ML_OPTS(ml_damon_rec_opts, o, .overwrite = true);
	struct ml_damon_rec_writer *w;
	struct ml_damon_region regs[1000];
	struct ml_damon_rec_stats rs;
	struct ml_damon_rec *r;
	uint64_t written;
	char path[64];
	int err = 0;

	snprintf(path, sizeof(path), "%s/full.db", mnt);
	if (ml_damon_rec_create(path, &pattern_info, &o, &w))
		return 11;
	for (int k = 0; k < 10000 && !err; k++) {
		struct ml_damon_snapshot s = { .time_us = (uint64_t)k,
			.max_nr_accesses = 20, .nr_regions = 1000,
			.regions = regs };
		uint64_t a = A;

		for (int i = 0; i < 1000; i++) {
			regs[i].start = a;
			a += 4096ULL * (1 + (i * 7 + k) % 13);
			regs[i].end = a;
			regs[i].nr_accesses = (uint32_t)(i + k) % 21;
			regs[i].age = (uint32_t)k;
		}
		err = ml_damon_rec_write(w, &s, 1);
	}
	written = ml_damon_rec_nr_written(w);
	if (err != -ENOSPC)
		return 12;
	if (written < 2)
		return 13;
	/* storing the reason may fail too: the disk is full */
	ml_damon_rec_end(w, ML_DAMON_REC_END_DISK_FULL, NULL);
	ml_damon_rec_writer_free(w);
	err = ml_damon_rec_open(path, &r);
	if (err) {
		printf("# full disk: reopening: %s\n", ml_damon_rec_strerror(err));
		return 14;
	}
	err = ml_damon_rec_stats(r, &rs);
	ml_damon_rec_close(r);
	if (err || rs.nr_snapshots != written)
		return 15;
	return read_all(path) ? 16 : 0;
}

static int full_disk_child(void)
{
	char mnt[] = "/tmp/test_damon_full.XXXXXX";
	int ret;

	if (!mkdtemp(mnt))
		return 10;
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=192k")) {
		rmdir(mnt);
		return 77;	/* skip */
	}
	ret = full_disk_record(mnt);
	umount(mnt);
	rmdir(mnt);
	return ret;
}

static void test_full_disk(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(full_disk_child());
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		printf("# full disk: skipped (no mount namespace: not root)\n");
		return;
	}
	CHECK_EQ(WEXITSTATUS(status), 0);
}

/*
 * SIGKILL mid-run: the child writes aggregations as fast as it can and
 * reports each commit on a pipe; the parent kills it after 50. The file
 * must open and hold every reported aggregation, and at most one more
 * (committed but not yet reported): never fewer, never a broken file.
 */
static void test_killed_recorder(void)
{
	TMP(path, "killed.db");
	struct ml_damon_rec_stats rs;
	struct ml_damon_rec *r;
	uint32_t reported = 0, v;
	int fds[2];
	pid_t pid;

	CHECK_EQ(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		ML_OPTS(ml_damon_rec_opts, o, .overwrite = true);
		struct ml_damon_rec_writer *w;
		struct ml_damon_region regs[14];

		close(fds[0]);
		if (ml_damon_rec_create(path, &pattern_info, &o, &w))
			_exit(1);
		for (uint32_t k = 0;; k++) {
			struct ml_damon_snapshot s = {
				.time_us = (uint64_t)k * 100000,
				.max_nr_accesses = 20, .regions = regs };

			s.nr_regions = pattern_snapshot((int)(k % 40), regs);
			if (ml_damon_rec_write(w, &s, 1))
				_exit(2);
			v = k + 1;
			if (write(fds[1], &v, sizeof(v)) != sizeof(v))
				_exit(3);
		}
	}
	close(fds[1]);
	while (reported < 50 && read(fds[0], &v, sizeof(v)) == sizeof(v))
		reported = v;
	kill(pid, SIGKILL);
	/* what it committed before the kill landed */
	while (read(fds[0], &v, sizeof(v)) == sizeof(v))
		reported = v;
	waitpid(pid, NULL, 0);
	close(fds[0]);
	CHECK(access(tmp_path("killed.db-wal"), F_OK) == 0);
	CHECK_EQ(ml_damon_rec_open(path, &r), 0);
	if (!r)
		return;
	CHECK_EQ(ml_damon_rec_stats(r, &rs), 0);
	CHECK(rs.nr_snapshots >= reported && rs.nr_snapshots <= reported + 1);
	CHECK(ml_damon_rec_info(r)->ended_us < 0);
	CHECK(ml_damon_rec_info(r)->end_reason == NULL);
	ml_damon_rec_close(r);
	CHECK_EQ(read_all(path), 0);
}

/* ---- in memory (the fuzz target's path) ------------------------------------------------- */

static void test_open_mem(void)
{
	struct ml_damon_rec_stats rs;
	struct ml_damon_rec *r;
	static uint8_t buf[1 << 20];
	int fd = open(tmp_path("pattern.db"), O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf));

	close(fd);
	CHECK(n > 0 && n < (ssize_t)sizeof(buf));
	CHECK_EQ(ml_damon_rec_open_mem(buf, (size_t)n, &r), 0);
	if (!r)
		return;
	CHECK_EQ(ml_damon_rec_stats(r, &rs), 0);
	CHECK_U64(rs.nr_snapshots, NR_SNAPS);
	ml_damon_rec_close(r);
	CHECK_EQ(ml_damon_rec_open_mem(buf, 0, &r), -EMEDIUMTYPE);
	CHECK(ml_damon_rec_open_mem(buf, 100, &r) < 0);
}

/* ---- images ------------------------------------------------------------------------------- */

static void test_images(void)
{
	ML_OPTS(ml_damon_heatmap_opts, ho, .target_id = -1, .nr_time_bins = 40,
		.nr_addr_bins = 24);
	struct ml_damon_heatmap_axes ax;
	struct ml_damon_heatmap h;
	struct ml_damon_rec *r;
	uint8_t sig[8];
	FILE *f;

	CHECK_EQ(ml_damon_rec_open(tmp_path("pattern.db"), &r), 0);
	if (!r)
		return;
	CHECK_EQ(ml_damon_heatmap(r, &ho, &h), 0);
	ml_damon_heatmap_axes(&h, 10, 12, &ax);
	/*
	 * 0 to 4 s in at most 10 ticks: steps of 1, 2, 5 x 10^k, the
	 * smallest that fits, 0.5 s (9 ticks); each range's start labelled;
	 * two breaks
	 */
	CHECK_EQ(ax.plot.nr_x_ticks, 9);
	CHECK_STR(ax.x_ticks[0].label, "0.0");
	CHECK_STR(ax.x_ticks[4].label, "2.0");
	CHECK_STR(ax.x_ticks[8].label, "4.0");
	CHECK(fabs(ax.x_ticks[8].pos - 1) < 1e-9);
	CHECK_EQ(ax.plot.nr_y_breaks, 2);
	CHECK_STR(ax.y_ticks[0].label, "0x7f0000000000");
	f = fopen(tmp_path("h.png"), "wb");
	CHECK_EQ(ml_plot_heatmap_png(f, &ax.plot, NULL), 0);
	fclose(f);
	f = fopen(tmp_path("h.png"), "rb");
	CHECK(fread(sig, 1, 8, f) == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8));
	fclose(f);
	f = fopen(tmp_path("h.svg"), "w");
	CHECK_EQ(ml_plot_heatmap_svg(f, &ax.plot, NULL), 0);
	fclose(f);
	ml_damon_heatmap_fini(&h);
	ml_damon_rec_close(r);
}

static void test_colours(void)
{
	uint8_t lo[3], hi[3];

	/* the scale's ends: viridis' dark violet and yellow */
	ml_plot_rgb(0, lo);
	ml_plot_rgb(1, hi);
	CHECK(lo[2] > lo[1] && hi[0] > 200 && hi[1] > 200);
	CHECK(hi[0] + hi[1] + hi[2] > lo[0] + lo[1] + lo[2]);
	/* clamped, NaN as 0 */
	ml_plot_rgb(-5, hi);
	CHECK(!memcmp(lo, hi, 3));
	ml_plot_rgb(NAN, hi);
	CHECK(!memcmp(lo, hi, 3));
	CHECK(ml_plot_xterm256(0) >= 16 && ml_plot_xterm256(1) <= 231);
	CHECK(ml_plot_xterm256(0) != ml_plot_xterm256(1));
}

/* ---- the command ------------------------------------------------------------------------- */

static const char *end_reason_of(const char *path, char *buf, size_t sz)
{
	struct ml_damon_rec *r;

	snprintf(buf, sz, "(unreadable)");
	if (ml_damon_rec_open(path, &r))
		return buf;
	snprintf(buf, sz, "%s: %s", ml_damon_rec_info(r)->end_reason ?
		 ml_damon_rec_info(r)->end_reason : "(none)",
		 ml_damon_rec_info(r)->end_detail ?
		 ml_damon_rec_info(r)->end_detail : "");
	ml_damon_rec_close(r);
	return buf;
}

#define SIM "sim:size=1G gap=256M+256M @0 0-64M:1 @5s 512M-576M:1"
#define RECORD "%s damon record"

static void test_cli(void)
{
	static char out[1 << 16];
	char why[256];
	struct stat st;
	TMP(path, "cli.db");
	TMP(svg, "cli.svg");
	TMP(png, "cli.png");

	CHECK_EQ(tap_sh(out, sizeof(out), RECORD " --ops '%s' --virtual "
		     "--duration 10s --seed 1 -o %s", MEMLENS_BIN, SIM, path), 0);
	CHECK(strstr(out, "recorded 100 aggregations") != NULL);
	CHECK_STR(end_reason_of(path, why, sizeof(why)), "duration: 10.000 s");
	/* exists */
	CHECK_EQ(tap_sh(out, sizeof(out), RECORD " --ops '%s' --virtual "
		     "--duration 1s -o %s", MEMLENS_BIN, SIM, path), 1);
	CHECK(strstr(out, "exists (--force replaces it)") != NULL);
	/* the reports */
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s heatmap --color "
		     "never -W 60 -H 16", MEMLENS_BIN, path), 0);
	CHECK(strstr(out, "ended: duration") != NULL);
	/* [0, 64M) hot from the start (after the first aggregations) */
	CHECK(strstr(out, "0x100000000000 |") != NULL &&
	      strstr(strstr(out, "0x100000000000 |"), "99999") != NULL);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s heatmap --json",
		     MEMLENS_BIN, path), 0);
	CHECK(out[0] == '{' && strstr(out, "\"frequency_ppm\":[[") != NULL);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s -o %s -W 800 -H 500",
		     MEMLENS_BIN, path, svg), 0);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s -o %s", MEMLENS_BIN,
		     path, png), 0);
	CHECK(stat(png, &st) == 0 && st.st_size > 1000);
	if (access("/usr/bin/rsvg-convert", X_OK) == 0)
		CHECK_EQ(tap_sh(out, sizeof(out), "rsvg-convert %s -o %s.png", svg,
			     svg), 0);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s -o x.jpg",
		     MEMLENS_BIN, path), 2);
	/* 64 MiB hot in either phase: every percentile is about that */
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s wss", MEMLENS_BIN,
		     path), 0);
	CHECK(strstr(out, "        50          64M") != NULL);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s nr_regions --json",
		     MEMLENS_BIN, path), 0);
	CHECK(strstr(out, "\"nr_snapshots\":100") != NULL);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s raw --json",
		     MEMLENS_BIN, path), 0);
	CHECK(out[0] == '[' && strstr(out, "\"nr_accesses\":20") != NULL);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s bogus", MEMLENS_BIN,
		     path), 2);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s/none.db",
		     MEMLENS_BIN, dir), 1);
	CHECK(strstr(out, "No such file") != NULL);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s", MEMLENS_BIN,
		     tmp_path("newer.db")), 1);
	CHECK(strstr(out, "newer memlens") != NULL);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s", MEMLENS_BIN,
		     tmp_path("truncated.db")), 1);
	CHECK(strstr(out, "corrupted") || strstr(out, "not a memlens"));
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s wss", MEMLENS_BIN,
		     tmp_path("empty.db")), 1);
	CHECK(strstr(out, "empty recording") != NULL);

	/* the size bound: 1,000 regions (~5 KB) an aggregation into 40 KiB */
	CHECK_EQ(tap_sh(out, sizeof(out), RECORD " --ops '%s' --regions "
		     "1000,1000 --virtual --duration 10s -f --max-size 40K -o %s",
		     MEMLENS_BIN, SIM, path), 0);
	CHECK(strstr(out, "reached its size bound") != NULL);
	CHECK(stat(path, &st) == 0 && st.st_size <= 40 * 1024);
	CHECK_EQ(strncmp(end_reason_of(path, why, sizeof(why)), "max-size", 8), 0);

	/* the target exits: COMMAND ends, the recording ends and says so */
	CHECK_EQ(tap_sh(out, sizeof(out), RECORD " --ops '%s' -f -o %s -- "
		     "sh -c 'sleep 0.5; exit 3'", MEMLENS_BIN, SIM, path), 0);
	CHECK_STR(end_reason_of(path, why, sizeof(why)),
		  "target-exited: sh exited with status 3");

	/* kill -9 in real time: the file opens, says it did not end */
	CHECK_EQ(tap_sh(out, sizeof(out), RECORD " --ops '%s' -f -o %s "
		     "--duration 60s & sleep 1; kill -9 $!; wait", MEMLENS_BIN,
		     SIM, path), 0);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s damon report %s nr_regions",
		     MEMLENS_BIN, path), 0);
	CHECK(strstr(out, "not ended: still recording, or the recorder was "
		      "killed") != NULL);
}

static void setup(void)
{
	CHECK(mkdtemp(dir) != NULL);
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

TAP_MAIN(TEST(setup), TEST(test_blob_round_trip), TEST(test_round_trip),
	 TEST(test_heatmap), TEST(test_wss), TEST(test_sim_recording),
	 TEST(test_truncated), TEST(test_corrupted), TEST(test_newer_schema),
	 TEST(test_not_a_recording), TEST(test_empty_recording),
	 TEST(test_exists_and_bad_input), TEST(test_max_size),
	 TEST(test_full_disk), TEST(test_killed_recorder),
	 TEST(test_open_mem), TEST(test_images), TEST(test_colours),
	 TEST(test_cli),
	 TEST(cleanup))
