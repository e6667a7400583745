// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench_damon_record: the two speed goals of DAMON recordings (issue 9).
 *
 *  (a) Writing one aggregation of 1,000 regions against the monitoring of
 *      that aggregation (goal: <= 10%). The monitoring is the core with
 *      the sim source at the kernel's intervals, 5 ms / 100 ms: 20 samples
 *      of 1,000 regions (min_nr_regions = max_nr_regions = 1000), timed
 *      per aggregation from one callback to the next in virtual time (no
 *      sleeping: the CPU cost only). The write is ml_damon_rec_write() of
 *      that aggregation's snapshot, timed inside the same callback, to a
 *      file in --dir (default /tmp). sim's check is a table look-up, the
 *      cheapest source there is; real sources (page tables, pagemap) cost
 *      more per check, so the ratio here is the worst case.
 *  (b) A report of a one-hour recording at the default aggregation
 *      interval, 36,000 aggregations, renders in under two seconds: open,
 *      heatmap (200 × 120 bins, what --output uses) and wss, from a warm
 *      page cache. Regions per aggregation: 300 (what adaptive regions of
 *      a real process settle at with the default 10..1000) and 1,000 (the
 *      default maximum, the worst case). The recording is made here from
 *      synthetic regions: sizes of 1 to 64 pages, gaps of 0 to 3, random
 *      nr_accesses and ages.
 *
 * Medians over --rounds (default 5 for (b), 200 aggregations for (a)),
 * in wall time and in CPU time (user + system of the thread): on a shared
 * machine the wall time also counts the other tenants' turns.
 */
#include <getopt.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <memlens/damon_report.h>

#include "bench.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* CPU time of this thread (user and system), ms: the machine is shared,
 * and wall time there counts the other tenants too. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- (a) write vs monitor --------------------------------------------------------- */

struct write_bench {
	struct ml_damon_rec_writer *w;
	double *monitor_ms, *write_ms;
	double *monitor_cpu, *write_cpu, last_cpu;
	size_t n, cap;
	double last;
	size_t regions;
	int err;
};

static int on_snapshot(const struct ml_damon_snapshot *s, void *arg)
{
	struct write_bench *b = arg;
	double t0 = bench_now_ms(), c0 = cpu_ms(), t1, c1;

	b->err = ml_damon_rec_write(b->w, s, 1);
	t1 = bench_now_ms();
	c1 = cpu_ms();
	if (b->n < b->cap && b->last > 0) {
		/* from the end of the last write to the start of this one */
		b->monitor_ms[b->n] = t0 - b->last;
		b->write_ms[b->n] = t1 - t0;
		b->monitor_cpu[b->n] = c0 - b->last_cpu;
		b->write_cpu[b->n] = c1 - c0;
		b->regions += s->nr_regions;
		b->n++;
	}
	b->last = bench_now_ms();
	b->last_cpu = cpu_ms();
	return b->err ? 1 : 0;
}

/*
 * What a source that reads page state per check pays at the least (the
 * soft-dirty and idle-page sources of the monitoring core issue): one
 * 8-byte pread() of /proc/self/pagemap per region per sample, at random
 * pages of a 64 MiB mapping. Median of 9 rounds of @nr_checks, in ms.
 */
static double pagemap_checks_ms(int nr_checks)
{
	size_t len = 64u << 20, pages = len / 4096;
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	double ms[9];
	uint64_t e;

	if (mem == MAP_FAILED || fd < 0)
		return -1;
	memset(mem, 1, len);
	for (int r = 0; r < 9; r++) {
		double t0 = bench_now_ms();

		for (int i = 0; i < nr_checks; i++) {
			uintptr_t page = (uintptr_t)mem / 4096 + rng() % pages;

			if (pread(fd, &e, 8, (off_t)(page * 8)) != 8)
				return -1;
		}
		ms[r] = bench_now_ms() - t0;
	}
	close(fd);
	munmap(mem, len);
	return bench_median(ms, 9);
}

static int bench_write(const char *dir, size_t nr_aggr)
{
	static const char script[] = "size=64G gap=20G+1G gap=40G+2G @0 "
		"0-4G:0.9 4G-16G:0.3 30G-31G:0.05 50G-52G:0.6 @10s 48G-52G:0.9";
	ML_OPTS(ml_damon_rec_opts, ro, .overwrite = true);
	struct ml_damon_rec_info info = { .ops = "sim", .command = script };
	struct write_bench b = { .cap = nr_aggr };
	struct ml_damon_attrs attrs;
	struct ml_damon_ctx *ctx;
	char path[4096], input[64];
	double pagemap;
	int err;

	ml_damon_attrs_default(&attrs);
	attrs.min_nr_regions = attrs.max_nr_regions = 1000;
	info.sample_us = attrs.sample_us;
	info.aggr_us = attrs.aggr_us;
	info.update_us = attrs.ops_update_us;
	info.min_nr_regions = info.max_nr_regions = 1000;
	snprintf(path, sizeof(path), "%s/bench_damon_write.db", dir);
	b.monitor_ms = calloc(nr_aggr, sizeof(double));
	b.write_ms = calloc(nr_aggr, sizeof(double));
	b.monitor_cpu = calloc(nr_aggr, sizeof(double));
	b.write_cpu = calloc(nr_aggr, sizeof(double));
	if (!b.monitor_ms || !b.write_ms || !b.monitor_cpu || !b.write_cpu)
		return -ENOMEM;
	err = ml_damon_ctx_new(&attrs, 1, &ctx);
	if (!err)
		err = ml_damon_add_target(ctx, &ml_damon_sim_ops, 0, script, NULL) < 0;
	if (!err)
		err = ml_damon_rec_create(path, &info, &ro, &b.w);
	if (err) {
		fprintf(stderr, "bench_damon_record: setup: %s\n",
			strerror(err < 0 ? -err : EINVAL));
		return 1;
	}
	ml_damon_set_callback(ctx, on_snapshot, &b);
	err = ml_damon_run_virtual(ctx, (nr_aggr + 1) * attrs.aggr_us);
	ml_damon_rec_end(b.w, ML_DAMON_REC_END_DURATION, NULL);
	ml_damon_rec_writer_free(b.w);
	ml_damon_ctx_free(ctx);
	unlink(path);
	if (err || b.err || !b.n) {
		fprintf(stderr, "bench_damon_record: run: %d %d\n", err, b.err);
		return 1;
	}
	snprintf(input, sizeof(input), "%zu x %.0f reg", b.n,
		 (double)b.regions / b.n);
	bench_line("(a) write 1 aggregation vs monitoring it (sim)", input,
		   "monitor", bench_median(b.monitor_ms, b.n),
		   "write", bench_median(b.write_ms, b.n), 0.10);
	bench_line("(a) the same in CPU time (user + system)", input,
		   "monitor", bench_median(b.monitor_cpu, b.n),
		   "write", bench_median(b.write_cpu, b.n), 0.10);
	pagemap = pagemap_checks_ms(20 * 1000);
	if (pagemap > 0)
		bench_line("(a') write vs 20,000 pagemap reads (real-source floor)",
			   input, "pagemap", pagemap, "write",
			   bench_median(b.write_ms, b.n), 0.10);
	free(b.monitor_ms);
	free(b.write_ms);
	free(b.monitor_cpu);
	free(b.write_cpu);
	return 0;
}

/* ---- (b) report of one hour --------------------------------------------------------- */

static int make_hour(const char *path, size_t nr_regions)
{
	ML_OPTS(ml_damon_rec_opts, ro, .overwrite = true);
	struct ml_damon_rec_info info = { .ops = "synthetic", .sample_us = 5000,
		.aggr_us = 100000, .update_us = 1000000, .min_nr_regions = 10,
		.max_nr_regions = 1000 };
	struct ml_damon_rec_writer *w;
	struct ml_damon_region *regs = calloc(nr_regions, sizeof(*regs));
	int err;

	if (!regs)
		return -ENOMEM;
	err = ml_damon_rec_create(path, &info, &ro, &w);
	for (uint32_t k = 0; !err && k < 36000; k++) {
		struct ml_damon_snapshot s = { .time_us = (k + 1) * 100000ULL,
			.max_nr_accesses = 20, .nr_regions = nr_regions,
			.regions = regs };
		uint64_t a = 0x7f0000000000ULL;

		for (size_t i = 0; i < nr_regions; i++) {
			a += 4096 * (rng() % 4);
			regs[i].start = a;
			a += 4096 * (1 + rng() % 64);
			regs[i].end = a;
			regs[i].nr_accesses = (uint32_t)(rng() % 21);
			regs[i].age = (uint32_t)(rng() % 1000);
		}
		err = ml_damon_rec_write(w, &s, 1);
	}
	if (!err)
		err = ml_damon_rec_end(w, ML_DAMON_REC_END_DURATION, NULL);
	ml_damon_rec_writer_free(w);
	free(regs);
	return err;
}

static int report_once(const char *path, double *ms, double *cpu)
{
	ML_OPTS(ml_damon_heatmap_opts, ho, .target_id = -1, .nr_time_bins = 200,
		.nr_addr_bins = 120);
	ML_OPTS(ml_damon_wss_opts, wo, .target_id = -1);
	struct ml_damon_heatmap h;
	struct ml_damon_wss w;
	struct ml_damon_rec *r;
	double t0 = bench_now_ms(), c0 = cpu_ms();
	int err;

	err = ml_damon_rec_open(path, &r);
	if (err)
		return err;
	err = ml_damon_heatmap(r, &ho, &h);
	ml_damon_heatmap_fini(&h);
	if (!err)
		err = ml_damon_wss(r, &wo, &w);
	ml_damon_wss_fini(&w);
	ml_damon_rec_close(r);
	*ms = bench_now_ms() - t0;
	*cpu = cpu_ms() - c0;
	return err;
}

static int bench_report(const char *dir, size_t nr_regions, int rounds)
{
	char path[4096], input[64];
	double ms[64], cpu[64], mk;
	struct stat st;
	int err;

	snprintf(path, sizeof(path), "%s/bench_damon_hour_%zu.db", dir,
		 nr_regions);
	mk = bench_now_ms();
	err = make_hour(path, nr_regions);
	mk = bench_now_ms() - mk;
	if (err || stat(path, &st)) {
		fprintf(stderr, "bench_damon_record: making %s: %s\n", path,
			ml_damon_rec_strerror(err));
		return 1;
	}
	printf("# one hour, %zu regions: %.0f MB written in %.1f s "
	       "(%.3f ms an aggregation)\n", nr_regions, st.st_size / 1e6,
	       mk / 1e3, mk / 36000);
	for (int i = 0; i < rounds; i++) {
		err = report_once(path, &ms[i], &cpu[i]);
		if (err) {
			fprintf(stderr, "bench_damon_record: report: %s\n",
				ml_damon_rec_strerror(err));
			return 1;
		}
	}
	snprintf(input, sizeof(input), "36000 x %zu", nr_regions);
	bench_line("(b) heatmap + wss of a one-hour recording", input,
		   "budget", 2000, "report", bench_median(ms, (size_t)rounds),
		   1.0);
	bench_line("(b) the same in CPU time (user + system)", input,
		   "budget", 2000, "report", bench_median(cpu, (size_t)rounds),
		   1.0);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	const char *dir = "/tmp";
	int rounds = 5, c, ret = 0;
	bool quick = false;

	while ((c = getopt_long(argc, argv, "d:n:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': rounds = atoi(optarg); break;
		case 'q': quick = true; break;
		default:
			printf("Usage: bench_damon_record [--dir DIR] [--rounds N] "
			       "[--quick: (a) only]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (rounds < 1 || rounds > 64)
		rounds = 5;
	bench_header();
	ret |= bench_write(dir, 200);
	if (!quick) {
		ret |= bench_report(dir, 300, rounds);
		ret |= bench_report(dir, 1000, rounds);
	}
	return ret;
}
