// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel DAMON sysfs driver (lib/damon/sysfs.c) against the active fake
 * tree (tests/fake_damon_sysfs.c, which does what mm/damon/sysfs*.c do on
 * writes), and the reader against hand-written trees. Never /sys.
 *
 * Where the expected values come from:
 *  - the files a start must leave: written out below by hand from
 *    usage.rst's hierarchy and the configuration each test passes;
 *  - the kernel's rules (nr_kdamonds rebuilds every kdamond and is refused
 *    while one runs): the fake's journal of writes shows what the driver
 *    did and did not write;
 *  - monitoring results: the regions each test puts in fake-regions.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/damon_record.h>
#include <memlens/damon_sysfs.h>

#include "tap.h"

#define U64_MAX_STR "18446744073709551615"
#define U32_MAX_STR "4294967295"

struct fake {
	char root[64];
	char admin[128];
	pid_t pid;
};

static void putf(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void putf(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	if (!f) {
		printf("# cannot write %s\n", path);
		tap_failed_checks++;
		return;
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int rm_one(const char *p, const struct stat *st, int fl, struct FTW *f)
{
	(void)st, (void)fl, (void)f;
	return remove(p);
}

static void fake_start(struct fake *fk, const char *avail)
{
	char line[16] = "";
	int pipefd[2];

	snprintf(fk->root, sizeof(fk->root), "/tmp/ml-damon-XXXXXX");
	if (!mkdtemp(fk->root) || pipe(pipefd))
		abort();
	snprintf(fk->admin, sizeof(fk->admin), "%s/kernel/mm/damon/admin",
		 fk->root);
	fk->pid = fork();
	if (fk->pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		if (avail)
			execl(FAKE_BIN, FAKE_BIN, fk->root, "--avail", avail,
			      (char *)NULL);
		else
			execl(FAKE_BIN, FAKE_BIN, fk->root, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	if (read(pipefd[0], line, sizeof(line) - 1) <= 0 ||
	    strncmp(line, "ready", 5)) {
		printf("# the fake tree did not start\n");
		abort();
	}
	close(pipefd[0]);
}

static void fake_stop(struct fake *fk)
{
	kill(fk->pid, SIGTERM);
	waitpid(fk->pid, NULL, 0);
	nftw(fk->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct ml_damon_sysfs *open_fake(const struct fake *fk)
{
	ML_OPTS(ml_damon_sysfs_opts, o, .sys_root = fk->root);
	struct ml_damon_sysfs *s = NULL;

	CHECK_EQ(ml_damon_sysfs_open(&o, &s), 0);
	return s;
}

/* The text of ADMIN/rel, or "(missing)". */
static const char *at(const struct fake *fk, const char *rel)
{
	char path[512];
	const char *t;

	snprintf(path, sizeof(path), "%s/%s", fk->admin, rel);
	t = slurp(path);
	return t ? t : "(missing)";
}

/* How often the driver wrote ADMIN/rel (the fake's journal). */
static int nr_writes(const struct fake *fk, const char *rel)
{
	char path[512], line[4096];
	size_t len = strlen(rel);
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/fake-journal", fk->root);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, rel, len) && line[len] == '\t';
	fclose(f);
	return n;
}

/* ---- configurations ------------------------------------------------------ */

static struct ml_kdamond_target target_self = { 0 };

/* vaddr on this process, a stat-all scheme and a pageout scheme with every
 * knob set to a value that is not the default. */
static struct ml_kdamond_ctx full_config(struct ml_kdamond_scheme sc[2],
					 struct ml_kdamond_filter f[2])
{
	struct ml_kdamond_ctx c;

	ml_kdamond_ctx_init(&c);
	c.sample_us = 1000;
	c.aggr_us = 20000;
	c.update_us = 500000;
	c.min_nr_regions = 3;
	c.max_nr_regions = 77;
	target_self.pid = getpid();
	c.targets = &target_self;
	c.nr_targets = 1;
	ml_kdamond_scheme_init_stat_all(&sc[0]);
	ml_kdamond_scheme_init_stat_all(&sc[1]);
	snprintf(sc[1].action, sizeof(sc[1].action), "pageout");
	sc[1].sz = (struct ml_kdamond_minmax){ 4096, 8192 };
	sc[1].nr_accesses = (struct ml_kdamond_minmax){ 0, 5 };
	sc[1].age = (struct ml_kdamond_minmax){ 10, 20 };
	sc[1].quota_ms = 10;
	sc[1].quota_bytes = 1 << 30;
	sc[1].quota_reset_interval_ms = 1000;
	sc[1].weight_age_permil = 1000;
	snprintf(sc[1].wmark_metric, sizeof(sc[1].wmark_metric),
		 "free_mem_rate");
	sc[1].wmark_interval_us = 5000000;
	sc[1].wmark_high = 600;
	sc[1].wmark_mid = 500;
	sc[1].wmark_low = 300;
	memset(f, 0, 2 * sizeof(*f));
	snprintf(f[0].type, sizeof(f[0].type), "anon");
	f[0].matching = true;
	f[0].allow = -1;
	snprintf(f[1].type, sizeof(f[1].type), "memcg");
	snprintf(f[1].memcg_path, sizeof(f[1].memcg_path), "/having_care_already");
	f[1].matching = true;
	f[1].allow = -1;
	sc[1].filters = f;
	sc[1].nr_filters = 2;
	c.schemes = sc;
	c.nr_schemes = 2;
	return c;
}

static struct ml_kdamond_ctx stat_config(struct ml_kdamond_scheme *sc)
{
	struct ml_kdamond_ctx c;

	ml_kdamond_ctx_init(&c);
	target_self.pid = getpid();
	c.targets = &target_self;
	c.nr_targets = 1;
	ml_kdamond_scheme_init_stat_all(sc);
	c.schemes = sc;
	c.nr_schemes = 1;
	return c;
}

/* ---- start, status, stop ------------------------------------------------- */

static void test_empty_tree(void)
{
	struct fake fk;
	struct ml_damon_sysfs *s;
	struct ml_kdamonds k;

	fake_start(&fk, NULL);
	s = open_fake(&fk);
	CHECK_EQ(ml_damon_sysfs_read(s, &k), 0);
	CHECK_EQ(k.nr, 0);
	ml_kdamonds_free(&k);
	ml_damon_sysfs_close(s);
	fake_stop(&fk);
}

static void test_start_writes_documented_tree(void)
{
	struct ml_kdamond_scheme sc[2];
	struct ml_kdamond_filter f[2];
	struct ml_kdamond_ctx c = full_config(sc, f);
	struct ml_damon_sysfs *s;
	unsigned int idx = 99;
	pid_t kpid = 0;
	char pid_s[32];
	struct fake fk;

	fake_start(&fk, NULL);
	s = open_fake(&fk);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, &idx, &kpid), 0);
	CHECK_EQ(idx, 0);
	/* the fake stands in for the kdamond thread with its own pid */
	CHECK_EQ(kpid, fk.pid);

	/* usage.rst's hierarchy, by hand, for this configuration */
	snprintf(pid_s, sizeof(pid_s), "%d\n", (int)getpid());
	static const struct { const char *rel, *want; } files[] = {
		{ "kdamonds/nr_kdamonds", "1\n" },
		{ "kdamonds/0/state", "on\n" },
		{ "kdamonds/0/contexts/nr_contexts", "1\n" },
		{ "kdamonds/0/contexts/0/operations", "vaddr\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/intervals/sample_us", "1000\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/intervals/aggr_us", "20000\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/intervals/update_us", "500000\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/nr_regions/min", "3\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/nr_regions/max", "77\n" },
		{ "kdamonds/0/contexts/0/targets/nr_targets", "1\n" },
		{ "kdamonds/0/contexts/0/targets/0/regions/nr_regions", "0\n" },
		{ "kdamonds/0/contexts/0/schemes/nr_schemes", "2\n" },
		{ "kdamonds/0/contexts/0/schemes/0/action", "stat\n" },
		{ "kdamonds/0/contexts/0/schemes/0/access_pattern/sz/min", "0\n" },
		{ "kdamonds/0/contexts/0/schemes/0/access_pattern/sz/max", U64_MAX_STR "\n" },
		{ "kdamonds/0/contexts/0/schemes/0/access_pattern/nr_accesses/max", U32_MAX_STR "\n" },
		{ "kdamonds/0/contexts/0/schemes/0/access_pattern/age/max", U32_MAX_STR "\n" },
		{ "kdamonds/0/contexts/0/schemes/0/watermarks/metric", "none\n" },
		{ "kdamonds/0/contexts/0/schemes/0/filters/nr_filters", "0\n" },
		/* usage.rst's example scheme, value for value */
		{ "kdamonds/0/contexts/0/schemes/1/action", "pageout\n" },
		{ "kdamonds/0/contexts/0/schemes/1/access_pattern/sz/min", "4096\n" },
		{ "kdamonds/0/contexts/0/schemes/1/access_pattern/sz/max", "8192\n" },
		{ "kdamonds/0/contexts/0/schemes/1/access_pattern/nr_accesses/min", "0\n" },
		{ "kdamonds/0/contexts/0/schemes/1/access_pattern/nr_accesses/max", "5\n" },
		{ "kdamonds/0/contexts/0/schemes/1/access_pattern/age/min", "10\n" },
		{ "kdamonds/0/contexts/0/schemes/1/access_pattern/age/max", "20\n" },
		{ "kdamonds/0/contexts/0/schemes/1/quotas/ms", "10\n" },
		{ "kdamonds/0/contexts/0/schemes/1/quotas/bytes", "1073741824\n" },
		{ "kdamonds/0/contexts/0/schemes/1/quotas/reset_interval_ms", "1000\n" },
		{ "kdamonds/0/contexts/0/schemes/1/quotas/weights/age_permil", "1000\n" },
		{ "kdamonds/0/contexts/0/schemes/1/quotas/weights/sz_permil", "0\n" },
		{ "kdamonds/0/contexts/0/schemes/1/watermarks/metric", "free_mem_rate\n" },
		{ "kdamonds/0/contexts/0/schemes/1/watermarks/interval_us", "5000000\n" },
		{ "kdamonds/0/contexts/0/schemes/1/watermarks/high", "600\n" },
		{ "kdamonds/0/contexts/0/schemes/1/watermarks/mid", "500\n" },
		{ "kdamonds/0/contexts/0/schemes/1/watermarks/low", "300\n" },
		/* usage.rst's filter example */
		{ "kdamonds/0/contexts/0/schemes/1/filters/nr_filters", "2\n" },
		{ "kdamonds/0/contexts/0/schemes/1/filters/0/type", "anon\n" },
		{ "kdamonds/0/contexts/0/schemes/1/filters/0/matching", "Y\n" },
		{ "kdamonds/0/contexts/0/schemes/1/filters/1/type", "memcg\n" },
		{ "kdamonds/0/contexts/0/schemes/1/filters/1/memcg_path", "/having_care_already\n" },
		{ "kdamonds/0/contexts/0/schemes/1/filters/1/matching", "Y\n" },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *got = at(&fk, files[i].rel);

		if (strcmp(got, files[i].want)) {
			printf("# %s: \"%s\", expected \"%s\"\n", files[i].rel,
			       got, files[i].want);
			tap_failed_checks++;
		}
	}
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/targets/0/pid_target"), pid_s);
	/* nothing written twice, no state but "on" */
	CHECK_EQ(nr_writes(&fk, "kdamonds/nr_kdamonds"), 1);
	CHECK_EQ(nr_writes(&fk, "kdamonds/0/state"), 1);
	ml_damon_sysfs_close(s);
	fake_stop(&fk);
}

static void test_read_back(void)
{
	struct ml_kdamond_scheme sc[2];
	struct ml_kdamond_filter f[2];
	struct ml_kdamond_ctx c = full_config(sc, f);
	struct ml_damon_sysfs *s;
	struct ml_kdamonds k = { 0 };
	struct fake fk;

	fake_start(&fk, NULL);
	s = open_fake(&fk);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, NULL, NULL), 0);
	CHECK_EQ(ml_damon_sysfs_read(s, &k), 0);
	CHECK_EQ(k.nr, 1);
	if (k.nr == 1 && k.kdamonds[0].nr_contexts == 1) {
		const struct ml_kdamond *kd = &k.kdamonds[0];
		const struct ml_kdamond_ctx *r = &kd->contexts[0];

		CHECK_EQ(kd->err, 0);
		CHECK(kd->running);
		CHECK_EQ(kd->pid, fk.pid);
		CHECK_STR(r->operations, "vaddr");
		CHECK_STR(r->avail_operations, "vaddr fvaddr paddr");
		CHECK_U64(r->sample_us, 1000);
		CHECK_U64(r->aggr_us, 20000);
		CHECK_U64(r->update_us, 500000);
		CHECK_U64(r->min_nr_regions, 3);
		CHECK_U64(r->max_nr_regions, 77);
		CHECK_EQ(r->nr_targets, 1);
		CHECK_EQ(r->targets[0].pid, getpid());
		CHECK_EQ(r->nr_schemes, 2);
		CHECK(ml_kdamond_scheme_is_stat_all(&r->schemes[0]));
		CHECK(!ml_kdamond_scheme_is_stat_all(&r->schemes[1]));
		CHECK_STR(r->schemes[1].action, "pageout");
		CHECK_U64(r->schemes[1].sz.max, 8192);
		CHECK_U64(r->schemes[1].age.min, 10);
		CHECK_U64(r->schemes[1].quota_bytes, 1 << 30);
		CHECK_EQ(r->schemes[1].weight_age_permil, 1000);
		CHECK_STR(r->schemes[1].wmark_metric, "free_mem_rate");
		CHECK_U64(r->schemes[1].wmark_low, 300);
		CHECK_EQ(r->schemes[1].target_nid, -1);
		CHECK_EQ(r->schemes[1].nr_filters, 2);
		if (r->schemes[1].nr_filters == 2) {
			CHECK_STR(r->schemes[1].filters[1].type, "memcg");
			CHECK_STR(r->schemes[1].filters[1].set, "filters");
			CHECK_STR(r->schemes[1].filters[1].memcg_path,
				  "/having_care_already");
			CHECK(r->schemes[1].filters[1].matching);
			CHECK_EQ(r->schemes[1].filters[1].allow, -1);
		}
	}
	ml_kdamonds_free(&k);
	ml_damon_sysfs_close(s);
	fake_stop(&fk);
}

/* A running kdamond someone else started: nr_kdamonds must not be touched. */
static void test_foreign_running_refuses(void)
{
	struct ml_kdamond_scheme sc;
	struct ml_kdamond_ctx c = stat_config(&sc);
	struct ml_damon_sysfs *s;
	struct fake fk;

	fake_start(&fk, NULL);
	s = open_fake(&fk);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, NULL, NULL), 0);
	CHECK_EQ(nr_writes(&fk, "kdamonds/nr_kdamonds"), 1);
	/* kdamond 0 runs: no free kdamond, and nr_kdamonds cannot change */
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, NULL, NULL), -EBUSY);
	CHECK_EQ(nr_writes(&fk, "kdamonds/nr_kdamonds"), 1);
	CHECK_STR(at(&fk, "kdamonds/nr_kdamonds"), "1\n");
	CHECK_STR(at(&fk, "kdamonds/0/state"), "on\n");
	/* nor may it be taken by index */
	ML_OPTS(ml_damon_sysfs_start_opts, o, .index = 0, .replace = true);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, &o, NULL, NULL), -EBUSY);
	CHECK_EQ(nr_writes(&fk, "kdamonds/0/contexts/nr_contexts"), 1);
	/* the fake refuses like the kernel: written by hand, it stays 1 */
	putf(strcat(strcpy((char[256]){ 0 }, fk.admin), "/kdamonds/nr_kdamonds"),
	     "2");
	usleep(100000);
	CHECK_STR(at(&fk, "kdamonds/nr_kdamonds"), "1\n");
	ml_damon_sysfs_close(s);
	fake_stop(&fk);
}

/* A free kdamond (off, no contexts) is used while another one runs. */
static void test_free_slot_used(void)
{
	struct ml_kdamond_scheme sc;
	struct ml_kdamond_ctx c = stat_config(&sc);
	struct ml_damon_sysfs *s;
	unsigned int idx = 99;
	char path[256];
	struct fake fk;

	fake_start(&fk, NULL);
	snprintf(path, sizeof(path), "%s/kdamonds/nr_kdamonds", fk.admin);
	putf(path, "3");	/* another tool made three, none configured */
	usleep(100000);
	CHECK_STR(at(&fk, "kdamonds/nr_kdamonds"), "3\n");
	s = open_fake(&fk);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, &idx, NULL), 0);
	CHECK_EQ(idx, 0);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, &idx, NULL), 0);
	CHECK_EQ(idx, 1);
	CHECK_EQ(nr_writes(&fk, "kdamonds/nr_kdamonds"), 1);	/* ours: none */
	CHECK_STR(at(&fk, "kdamonds/0/state"), "on\n");
	CHECK_STR(at(&fk, "kdamonds/1/state"), "on\n");
	CHECK_STR(at(&fk, "kdamonds/2/state"), "off\n");
	ml_damon_sysfs_close(s);
	fake_stop(&fk);
}

/* Stopped kdamonds with configurations are not erased unless asked. */
static void test_stopped_configured(void)
{
	struct ml_kdamond_scheme sc;
	struct ml_kdamond_ctx c = stat_config(&sc);
	struct ml_damon_sysfs *s;
	unsigned int idx = 99;
	struct fake fk;

	fake_start(&fk, NULL);
	s = open_fake(&fk);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, &idx, NULL), 0);
	/* off, configuration kept */
	CHECK_EQ(ml_damon_sysfs_stop(s, idx, false), 0);
	CHECK_STR(at(&fk, "kdamonds/0/state"), "off\n");
	CHECK_STR(at(&fk, "kdamonds/0/pid"), "-1\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/nr_contexts"), "1\n");
	CHECK_EQ(ml_damon_sysfs_stop(s, idx, false), -EALREADY);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, NULL, NULL), -ENOTEMPTY);
	CHECK_EQ(nr_writes(&fk, "kdamonds/nr_kdamonds"), 1);
	ML_OPTS(ml_damon_sysfs_start_opts, o, .index = 0);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, &o, NULL, NULL), -ENOTEMPTY);
	o.replace = true;
	CHECK_EQ(ml_damon_sysfs_start(s, &c, &o, &idx, NULL), 0);
	CHECK_EQ(idx, 0);
	CHECK_EQ(nr_writes(&fk, "kdamonds/nr_kdamonds"), 1);
	/* stop and release: the kdamond is free for the next start */
	CHECK_EQ(ml_damon_sysfs_stop(s, 0, true), 0);
	CHECK_STR(at(&fk, "kdamonds/0/contexts/nr_contexts"), "0\n");
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, &idx, NULL), 0);
	CHECK_EQ(idx, 0);
	CHECK_EQ(nr_writes(&fk, "kdamonds/nr_kdamonds"), 1);
	ml_damon_sysfs_close(s);
	fake_stop(&fk);
}

static void test_refused_start(void)
{
	struct ml_kdamond_scheme sc;
	struct ml_kdamond_ctx c = stat_config(&sc);
	struct ml_kdamond_target gone = { .pid = 0 };
	struct ml_damon_range bad[2] = { { 0x2000, 0x3000 }, { 0x1000, 0x1800 } };
	struct ml_damon_sysfs *s;
	struct fake fk;
	pid_t child;

	/* a pid that has just exited */
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	gone.pid = child;
	c.targets = &gone;
	fake_start(&fk, NULL);
	s = open_fake(&fk);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, NULL, NULL), -EINVAL);
	/* left stopped and released */
	CHECK_STR(at(&fk, "kdamonds/0/state"), "off\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/nr_contexts"), "0\n");
	/* regions out of order: the kernel refuses "on" */
	gone.pid = getpid();
	gone.regions = bad;
	gone.nr_regions = 2;
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, NULL, NULL), -EINVAL);
	ml_damon_sysfs_close(s);
	fake_stop(&fk);

	/* operations this kernel does not have */
	fake_start(&fk, "paddr");
	s = open_fake(&fk);
	c = stat_config(&sc);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, NULL, NULL), -EOPNOTSUPP);
	CHECK_STR(at(&fk, "kdamonds/0/contexts/nr_contexts"), "0\n");
	CHECK_EQ(nr_writes(&fk, "kdamonds/0/contexts/0/operations"), 0);
	ml_damon_sysfs_close(s);
	fake_stop(&fk);
}

/* ---- tried regions as snapshots ------------------------------------------ */

struct got {
	int nr_snaps;
	unsigned int target[4];
	pid_t pid[4];
	size_t nr[4];
	struct ml_damon_region r[4][8];
	uint32_t max_nr_accesses;
	uint64_t time_us;
};

static int collect(const struct ml_damon_snapshot *snap, void *arg)
{
	struct got *g = arg;
	int i = g->nr_snaps++;

	if (i >= 4)
		return -E2BIG;
	g->target[i] = snap->target_id;
	g->pid[i] = snap->pid;
	g->nr[i] = snap->nr_regions;
	g->max_nr_accesses = snap->max_nr_accesses;
	g->time_us = snap->time_us;
	for (size_t j = 0; j < snap->nr_regions && j < 8; j++)
		g->r[i][j] = snap->regions[j];
	return 0;
}

#define REG(s, e, n, a) ((struct ml_damon_region){ s, e, n, a })

static bool reg_eq(struct ml_damon_region a, struct ml_damon_region b)
{
	return a.start == b.start && a.end == b.end &&
	       a.nr_accesses == b.nr_accesses && a.age == b.age;
}

/*
 * Two targets; fake-regions holds the kernel's regions. Target 0 (this
 * process): [4096,8192) 3 accesses age 1, [8192,20480) 0 accesses age 7.
 * Target 1 (the fake): [0x1000,0x3000) 20 accesses age 2. The second
 * target's addresses start below the first's end, so one unfiltered scheme
 * splits where they go down; per-target schemes with target filters give
 * each target its own regions; a pageout scheme for cold regions
 * (nr_accesses 0..0) is not a stat-all scheme and is not read.
 */
static void test_tried_regions(void)
{
	struct ml_kdamond_target t[2];
	struct ml_kdamond_scheme sc[3];
	struct ml_kdamond_filter f[2];
	struct ml_kdamond_ctx c;
	struct ml_damon_sysfs *s;
	struct got g = { 0 };
	unsigned int idx;
	char path[256];
	struct fake fk;

	fake_start(&fk, NULL);
	snprintf(path, sizeof(path), "%s/fake-regions", fk.root);
	putf(path, "0 0 4096 8192 3 1\n0 0 8192 20480 0 7\n"
		   "0 1 4096 12288 20 2\n");
	s = open_fake(&fk);

	ml_kdamond_ctx_init(&c);	/* 5 ms / 100 ms: 20 samples */
	memset(t, 0, sizeof(t));
	t[0].pid = getpid();
	t[1].pid = fk.pid;
	c.targets = t;
	c.nr_targets = 2;
	ml_kdamond_scheme_init_stat_all(&sc[0]);
	c.schemes = sc;
	c.nr_schemes = 1;
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, &idx, NULL), 0);
	CHECK_EQ(ml_damon_sysfs_tried_regions(s, idx, collect, &g), 0);
	CHECK_EQ(g.nr_snaps, 2);
	CHECK_EQ(g.max_nr_accesses, 20);
	/* since the "kdamond" (the fake, started by this test) started:
	 * more than nothing, less than this test's timeout */
	CHECK(g.time_us > 0 && g.time_us < 300ULL * 1000000);
	CHECK_EQ(g.target[0], 0);
	CHECK_EQ(g.pid[0], getpid());
	CHECK_EQ(g.nr[0], 2);
	CHECK(reg_eq(g.r[0][0], REG(4096, 8192, 3, 1)));
	CHECK(reg_eq(g.r[0][1], REG(8192, 20480, 0, 7)));
	CHECK_EQ(g.target[1], 1);
	CHECK_EQ(g.pid[1], fk.pid);
	CHECK_EQ(g.nr[1], 1);
	CHECK(reg_eq(g.r[1][0], REG(4096, 12288, 20, 2)));
	CHECK_EQ(ml_damon_sysfs_stop(s, idx, true), 0);
	CHECK_EQ(ml_damon_sysfs_tried_regions(s, idx, collect, &g), -ESRCH);

	/* one stat-all scheme per target, then a cold pageout scheme */
	for (int i = 0; i < 2; i++) {
		ml_kdamond_scheme_init_stat_all(&sc[i]);
		memset(&f[i], 0, sizeof(f[i]));
		snprintf(f[i].type, sizeof(f[i].type), "target");
		f[i].target_idx = 1 - i;	/* reversed on purpose */
		f[i].allow = -1;
		sc[i].filters = &f[i];
		sc[i].nr_filters = 1;
	}
	ml_kdamond_scheme_init_stat_all(&sc[2]);
	snprintf(sc[2].action, sizeof(sc[2].action), "pageout");
	sc[2].nr_accesses.max = 0;
	c.nr_schemes = 3;
	memset(&g, 0, sizeof(g));
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, &idx, NULL), 0);
	CHECK_EQ(ml_damon_sysfs_tried_regions(s, idx, collect, &g), 0);
	CHECK_EQ(g.nr_snaps, 2);
	CHECK_EQ(g.target[0], 1);
	CHECK_EQ(g.nr[0], 1);
	CHECK(reg_eq(g.r[0][0], REG(4096, 12288, 20, 2)));
	CHECK_EQ(g.target[1], 0);
	CHECK_EQ(g.nr[1], 2);
	CHECK(reg_eq(g.r[1][1], REG(8192, 20480, 0, 7)));
	/* the pageout scheme tried the one cold region (the fake's model) */
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/2/tried_regions/total_bytes"),
		  "12288\n");

	/* the callback's answer stops the walk and comes back */
	memset(&g, 0, sizeof(g));
	g.nr_snaps = 4;
	CHECK_EQ(ml_damon_sysfs_tried_regions(s, idx, collect, &g), -E2BIG);

	/* stats on request */
	CHECK_EQ(ml_damon_sysfs_command(s, idx, "update_schemes_stats"), 0);
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/2/stats/nr_tried"), "1\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/2/stats/sz_applied"),
		  "12288\n");
	CHECK_EQ(ml_damon_sysfs_command(s, idx, "no_such_command"), -EINVAL);
	CHECK_EQ(ml_damon_sysfs_command(s, idx, "clear_schemes_tried_regions"), 0);
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/0/tried_regions/0/start"),
		  "(missing)");
	ml_damon_sysfs_close(s);
	fake_stop(&fk);
}

/* ---- hand-written trees: other kernels and malformed files ---------------- */

static void mkfile(const char *root, const char *rel, const char *text)
{
	char path[512], *p;

	snprintf(path, sizeof(path), "%s/kernel/mm/damon/admin/%s", root, rel);
	for (p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		mkdir(path, 0755);
		*p = '/';
	}
	putf(path, "%s", text);
}

/* The layout of 6.18 (this test machine's host): core_filters,
 * ops_filters with "allow", refresh_ms, addr_unit, intervals_goal. */
static void test_read_newer_kernel_tree(void)
{
	char root[] = "/tmp/ml-damon-618-XXXXXX";
	static const char *const tree[][2] = {
		{ "kdamonds/nr_kdamonds", "1\n" },
		{ "kdamonds/0/state", "on\n" },
		{ "kdamonds/0/pid", "77\n" },
		{ "kdamonds/0/refresh_ms", "0\n" },
		{ "kdamonds/0/contexts/nr_contexts", "1\n" },
		{ "kdamonds/0/contexts/0/addr_unit", "1\n" },
		{ "kdamonds/0/contexts/0/avail_operations", "paddr\n" },
		{ "kdamonds/0/contexts/0/operations", "paddr\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/intervals/sample_us", "500000\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/intervals/aggr_us", "5000000\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/intervals/update_us", "60000000\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/intervals/intervals_goal/aggrs", "0\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/nr_regions/min", "1024\n" },
		{ "kdamonds/0/contexts/0/monitoring_attrs/nr_regions/max", "8192\n" },
		{ "kdamonds/0/contexts/0/targets/nr_targets", "1\n" },
		{ "kdamonds/0/contexts/0/targets/0/pid_target", "0\n" },
		{ "kdamonds/0/contexts/0/targets/0/regions/nr_regions", "1\n" },
		{ "kdamonds/0/contexts/0/targets/0/regions/0/start", "4294967296\n" },
		{ "kdamonds/0/contexts/0/targets/0/regions/0/end", "9797894144\n" },
		{ "kdamonds/0/contexts/0/schemes/nr_schemes", "1\n" },
		{ "kdamonds/0/contexts/0/schemes/0/action", "pageout\n" },
		{ "kdamonds/0/contexts/0/schemes/0/access_pattern/age/min", "12\n" },
		{ "kdamonds/0/contexts/0/schemes/0/access_pattern/age/max", U32_MAX_STR "\n" },
		{ "kdamonds/0/contexts/0/schemes/0/quotas/ms", "50\n" },
		{ "kdamonds/0/contexts/0/schemes/0/quotas/bytes", "134217728\n" },
		{ "kdamonds/0/contexts/0/schemes/0/filters/nr_filters", "0\n" },
		{ "kdamonds/0/contexts/0/schemes/0/core_filters/nr_filters", "0\n" },
		{ "kdamonds/0/contexts/0/schemes/0/ops_filters/nr_filters", "2\n" },
		{ "kdamonds/0/contexts/0/schemes/0/ops_filters/0/type", "anon\n" },
		{ "kdamonds/0/contexts/0/schemes/0/ops_filters/0/matching", "Y\n" },
		{ "kdamonds/0/contexts/0/schemes/0/ops_filters/0/allow", "N\n" },
		{ "kdamonds/0/contexts/0/schemes/0/ops_filters/1/type", "unmapped\n" },
		{ "kdamonds/0/contexts/0/schemes/0/ops_filters/1/matching", "Y\n" },
		{ "kdamonds/0/contexts/0/schemes/0/ops_filters/1/allow", "Y\n" },
		{ "kdamonds/0/contexts/0/schemes/0/stats/sz_ops_filter_passed", "0\n" },
		{ "kdamonds/0/contexts/0/schemes/0/tried_regions/total_bytes", "12288\n" },
		/* numbered from 5, as the kernel's counter may leave them, with
		 * a gap: read in number order */
		{ "kdamonds/0/contexts/0/schemes/0/tried_regions/5/start", "4096\n" },
		{ "kdamonds/0/contexts/0/schemes/0/tried_regions/5/end", "8192\n" },
		{ "kdamonds/0/contexts/0/schemes/0/tried_regions/5/nr_accesses", "1\n" },
		{ "kdamonds/0/contexts/0/schemes/0/tried_regions/5/age", "2\n" },
		{ "kdamonds/0/contexts/0/schemes/0/tried_regions/12/start", "16384\n" },
		{ "kdamonds/0/contexts/0/schemes/0/tried_regions/12/end", "24576\n" },
		{ "kdamonds/0/contexts/0/schemes/0/tried_regions/12/nr_accesses", "3\n" },
		{ "kdamonds/0/contexts/0/schemes/0/tried_regions/12/age", "4\n" },
	};
	ML_OPTS(ml_damon_sysfs_opts, o, .sys_root = root);
	struct ml_damon_sysfs *s = NULL;
	struct ml_kdamonds k = { 0 };

	if (!mkdtemp(root))
		abort();
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		mkfile(root, tree[i][0], tree[i][1]);
	CHECK_EQ(ml_damon_sysfs_open(&o, &s), 0);
	CHECK_EQ(ml_damon_sysfs_read(s, &k), 0);
	CHECK_EQ(k.nr, 1);
	if (k.nr == 1 && k.kdamonds[0].nr_contexts == 1) {
		const struct ml_kdamond_ctx *c = &k.kdamonds[0].contexts[0];
		const struct ml_kdamond_scheme *sc = &c->schemes[0];

		CHECK_EQ(k.kdamonds[0].err, 0);
		CHECK(k.kdamonds[0].running);
		CHECK_EQ(k.kdamonds[0].pid, 77);
		CHECK_STR(c->operations, "paddr");
		CHECK_U64(c->aggr_us, 5000000);
		CHECK_U64(c->targets[0].regions[0].start, 4294967296ULL);
		CHECK_U64(c->targets[0].regions[0].end, 9797894144ULL);
		CHECK_STR(sc->action, "pageout");
		CHECK_U64(sc->age.min, 12);
		CHECK_U64(sc->quota_ms, 50);
		/* files this tree lacks read as zero, not as errors */
		CHECK_U64(sc->wmark_high, 0);
		CHECK_EQ(sc->nr_filters, 2);
		if (sc->nr_filters == 2) {
			CHECK_STR(sc->filters[0].set, "ops_filters");
			CHECK_EQ(sc->filters[0].allow, 0);
			CHECK_STR(sc->filters[1].type, "unmapped");
			CHECK_EQ(sc->filters[1].allow, 1);
		}
		CHECK_EQ(sc->nr_tried_regions, 2);
		if (sc->nr_tried_regions == 2) {
			CHECK_U64(sc->tried_regions[0].start, 4096);
			CHECK_U64(sc->tried_regions[0].age, 2);
			CHECK_U64(sc->tried_regions[1].start, 16384);
			CHECK_U64(sc->tried_regions[1].end, 24576);
			CHECK_U64(sc->tried_regions[1].nr_accesses, 3);
		}
	}
	ml_kdamonds_free(&k);
	ml_damon_sysfs_close(s);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_malformed_tree(void)
{
	char root[] = "/tmp/ml-damon-bad-XXXXXX";
	ML_OPTS(ml_damon_sysfs_opts, o, .sys_root = root);
	struct ml_damon_sysfs *s = NULL;
	struct ml_kdamonds k = { 0 };

	if (!mkdtemp(root))
		abort();
	/* no DAMON sysfs at all */
	CHECK_EQ(ml_damon_sysfs_open(&o, &s), -ENOENT);
	mkfile(root, "kdamonds/nr_kdamonds", "two\n");
	CHECK_EQ(ml_damon_sysfs_open(&o, &s), 0);
	CHECK_EQ(ml_damon_sysfs_read(s, &k), -EINVAL);
	mkfile(root, "kdamonds/nr_kdamonds", "99999999999999999999999\n");
	CHECK_EQ(ml_damon_sysfs_read(s, &k), -ERANGE);
	mkfile(root, "kdamonds/nr_kdamonds", "100000\n");
	CHECK_EQ(ml_damon_sysfs_read(s, &k), -EINVAL);
	/* two kdamonds: one whose files are garbage, one that vanished */
	mkfile(root, "kdamonds/nr_kdamonds", "2\n");
	mkfile(root, "kdamonds/0/state", "maybe\n");
	mkfile(root, "kdamonds/0/pid", "12x\n");
	mkfile(root, "kdamonds/0/contexts/nr_contexts", "1\n");
	mkfile(root, "kdamonds/0/contexts/0/operations", "vaddr\nvaddr\n");
	mkfile(root, "kdamonds/0/contexts/0/targets/nr_targets", "1\n");
	mkfile(root, "kdamonds/0/contexts/0/targets/0/pid_target", "-99999999999\n");
	mkfile(root, "kdamonds/0/contexts/0/schemes/nr_schemes", "4097\n");
	CHECK_EQ(ml_damon_sysfs_read(s, &k), 0);
	CHECK_EQ(k.nr, 2);
	if (k.nr == 2) {
		CHECK_EQ(k.kdamonds[0].err, -EINVAL);
		CHECK(!k.kdamonds[0].running);
		CHECK_EQ(k.kdamonds[0].nr_contexts, 1);
		CHECK_EQ(k.kdamonds[0].contexts[0].nr_schemes, 0);
		CHECK_EQ(k.kdamonds[1].err, -ENOENT);
	}
	ml_kdamonds_free(&k);
	/* nothing running here: stop reports it, tried regions too */
	CHECK_EQ(ml_damon_sysfs_tried_regions(s, 1, collect, &(struct got){ 0 }),
		 -ENOENT);
	ml_damon_sysfs_close(s);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* DAMON_RECLAIM and DAMON_LRU_SORT's kdamonds: module parameters. */
static void test_modules(void)
{
	char root[] = "/tmp/ml-damon-mod-XXXXXX", path[256];
	ML_OPTS(ml_damon_sysfs_opts, o, .sys_root = root);
	struct ml_damon_module m[4];
	struct ml_damon_sysfs *s = NULL;
	size_t nr = 99;

	if (!mkdtemp(root))
		abort();
	mkfile(root, "kdamonds/nr_kdamonds", "0\n");
	CHECK_EQ(ml_damon_sysfs_open(&o, &s), 0);
	CHECK_EQ(ml_damon_sysfs_modules(s, m, 4, &nr), 0);
	CHECK_EQ(nr, 0);
	/* reclaim.rst: enabled Y/N, kdamond_pid -1 when not running */
	snprintf(path, sizeof(path), "%s/module/damon_reclaim/parameters/x", root);
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		mkdir(path, 0755);
		*p = '/';
	}
	snprintf(path, sizeof(path), "%s/module/damon_lru_sort", root);
	mkdir(path, 0755);
	strcat(path, "/parameters");
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/module/damon_reclaim/parameters/enabled", root);
	putf(path, "Y\n");
	snprintf(path, sizeof(path), "%s/module/damon_reclaim/parameters/kdamond_pid", root);
	putf(path, "1234\n");
	snprintf(path, sizeof(path), "%s/module/damon_lru_sort/parameters/enabled", root);
	putf(path, "N\n");
	snprintf(path, sizeof(path), "%s/module/damon_lru_sort/parameters/kdamond_pid", root);
	putf(path, "-1\n");
	CHECK_EQ(ml_damon_sysfs_modules(s, m, 4, &nr), 0);
	CHECK_EQ(nr, 2);
	if (nr == 2) {
		CHECK_STR(m[0].name, "damon_reclaim");
		CHECK(m[0].enabled);
		CHECK_EQ(m[0].kdamond_pid, 1234);
		CHECK_STR(m[1].name, "damon_lru_sort");
		CHECK(!m[1].enabled);
		CHECK_EQ(m[1].kdamond_pid, -1);
	}
	/* more than fit: counted, not written */
	CHECK_EQ(ml_damon_sysfs_modules(s, m, 1, &nr), 0);
	CHECK_EQ(nr, 2);
	ml_damon_sysfs_close(s);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_parsers(void)
{
	uint64_t v = 7;
	int i = 7;

	CHECK_EQ(ml_damon_sysfs_parse_u64("123\n", 4, &v), 0);
	CHECK_U64(v, 123);
	CHECK_EQ(ml_damon_sysfs_parse_u64("123", 3, &v), 0);
	CHECK_EQ(ml_damon_sysfs_parse_u64(U64_MAX_STR "\n", 21, &v), 0);
	CHECK_U64(v, UINT64_MAX);
	CHECK_EQ(ml_damon_sysfs_parse_u64("18446744073709551616", 20, &v), -ERANGE);
	CHECK_EQ(ml_damon_sysfs_parse_u64("", 0, &v), -EINVAL);
	CHECK_EQ(ml_damon_sysfs_parse_u64("\n", 1, &v), -EINVAL);
	CHECK_EQ(ml_damon_sysfs_parse_u64("1 \n", 3, &v), -EINVAL);
	CHECK_EQ(ml_damon_sysfs_parse_u64("1\n\n", 3, &v), -EINVAL);
	CHECK_EQ(ml_damon_sysfs_parse_u64("-1\n", 3, &v), -EINVAL);
	CHECK_EQ(ml_damon_sysfs_parse_int("-1\n", 3, &i), 0);
	CHECK_EQ(i, -1);
	CHECK_EQ(ml_damon_sysfs_parse_int("2147483647", 10, &i), 0);
	CHECK_EQ(i, 2147483647);
	CHECK_EQ(ml_damon_sysfs_parse_int("-2147483648", 11, &i), 0);
	CHECK_EQ(i, -2147483647 - 1);
	CHECK_EQ(ml_damon_sysfs_parse_int("2147483648", 10, &i), -ERANGE);
	CHECK_EQ(ml_damon_sysfs_parse_int("-", 1, &i), -EINVAL);
	CHECK_EQ(ml_damon_sysfs_parse_int("--1", 3, &i), -EINVAL);
}

/* ---- the command, on the fake tree --------------------------------------- */

/* Run memlens --sys-root ROOT damon ARGS; its stdout in @out, exit status. */
static int memlens(const struct fake *fk, char *out, size_t cap,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int memlens(const struct fake *fk, char *out, size_t cap,
		   const char *fmt, ...)
{
	char args[1024], cmd[2048];
	va_list ap;
	size_t n = 0;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* every run points at the fake tree and its own state file */
	snprintf(cmd, sizeof(cmd), "%s --sys-root %s damon %s "
		 "--state-file %s/memlens-state 2>&1", MEMLENS_BIN, fk->root,
		 args, fk->root);
	p = popen(cmd, "r");
	if (!p)
		abort();
	n = fread(out, 1, cap - 1, p);
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli_cycle(void)
{
	static char out[65536];
	struct fake fk;
	pid_t self = getpid();

	fake_start(&fk, NULL);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "status"), 0);
	CHECK(strstr(out, ": 0 kdamonds") != NULL);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "start -p %d --aggr 50ms "
			 "--damos-action pageout --damos-access-rate 0,0 "
			 "--damos-age 5s,max --damos-quotas 10ms,1G,1s "
			 "--damos-wmarks free_mem_rate,5s,600,500,300 "
			 "--damos-filter memcg,nomatching,/a/b", (int)self), 0);
	CHECK(strstr(out, "kdamond 0 started") != NULL);
	/* 5 s of age at 50 ms aggregations is 100 aggregations; the
	 * quota's 10 ms and 1 s are ms files; a stat scheme follows */
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/monitoring_attrs/intervals/aggr_us"), "50000\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/0/access_pattern/age/min"), "100\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/0/access_pattern/nr_accesses/max"), "0\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/0/quotas/ms"), "10\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/0/quotas/bytes"), "1073741824\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/0/quotas/reset_interval_ms"), "1000\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/0/watermarks/interval_us"), "5000000\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/0/filters/0/type"), "memcg\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/0/filters/0/matching"), "N\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/0/schemes/1/action"), "stat\n");
	CHECK_EQ(memlens(&fk, out, sizeof(out), "status --json"), 0);
	CHECK(strstr(out, "\"state\":\"on\"") != NULL);
	CHECK(strstr(out, "\"owner\":\"memlens\"") != NULL);
	/* a second start: kdamond 0 runs, no free one, nothing written */
	CHECK_EQ(memlens(&fk, out, sizeof(out), "start -p %d", (int)self), 1);
	CHECK(strstr(out, "no free kdamond") != NULL);
	CHECK_EQ(nr_writes(&fk, "kdamonds/nr_kdamonds"), 1);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "stop"), 0);
	CHECK(strstr(out, "kdamond 0 stopped") != NULL);
	CHECK_STR(at(&fk, "kdamonds/0/state"), "off\n");
	CHECK_STR(at(&fk, "kdamonds/0/contexts/nr_contexts"), "0\n");
	CHECK_EQ(memlens(&fk, out, sizeof(out), "status --json"), 0);
	CHECK(strstr(out, "\"owner\":\"none\"") != NULL);
	/* usage errors */
	CHECK_EQ(memlens(&fk, out, sizeof(out), "start"), 2);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "start --ops paddr -p 1"), 2);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "start -p 1 --damos-age 1,2"), 2);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "start --ops fvaddr -p 1"), 2);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "stop --force"), 2);
	fake_stop(&fk);
}

/*
 * memlens damon record --kernel: a kdamond's tried regions, aggregation
 * by aggregation, into a recording that holds exactly the regions the
 * (fake) kernel gave; then the kdamond stops and recording refuses.
 */
static void test_cli_record_kernel(void)
{
	static char out[65536];
	char path[PATH_MAX], db[PATH_MAX], cmd[PATH_MAX * 3];
	const struct ml_damon_rec_snapshot *snap;
	struct ml_damon_rec *rec = NULL;
	size_t nr_snaps = 0, nr_good = 0;
	struct fake fk;
	FILE *p;
	int err, st;

	fake_start(&fk, NULL);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "start -p %d", (int)getpid()), 0);
	/* the kernel's regions: 64 KiB seen in 5 of 20 samples, then 384 KiB
	 * not seen for 7 aggregations */
	snprintf(path, sizeof(path), "%s/fake-regions", fk.root);
	putf(path, "0 0 65536 131072 5 2\n0 0 131072 524288 0 7\n");
	snprintf(db, sizeof(db), "%s/rec.db", fk.root);
	snprintf(cmd, sizeof(cmd), "%s --sys-root %s damon record --kernel "
		 "--duration 300ms -q -o %s 2>&1", MEMLENS_BIN, fk.root, db);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	if (p) {
		out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
		st = pclose(p);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		if (out[0])
			printf("# %s", out);
	}
	CHECK_EQ(ml_damon_rec_open(db, &rec), 0);
	if (rec) {
		CHECK_STR(ml_damon_rec_info(rec)->ops, "kernel:vaddr");
		CHECK_STR(ml_damon_rec_info(rec)->end_reason, "duration");
		CHECK_EQ(ml_damon_rec_iter(rec, NULL), 0);
		ml_damon_rec_for_each(rec, snap, err) {
			const struct ml_damon_region *r = snap->s.regions;

			nr_snaps++;
			nr_good += snap->s.nr_regions == 2 &&
				   snap->s.max_nr_accesses == 20 &&
				   r[0].start == 65536 && r[0].end == 131072 &&
				   r[0].nr_accesses == 5 && r[0].age == 2 &&
				   r[1].start == 131072 && r[1].end == 524288 &&
				   r[1].nr_accesses == 0 && r[1].age == 7;
		}
		CHECK_EQ(err, 0);
		CHECK(nr_snaps > 0);
		CHECK_EQ(nr_good, nr_snaps);
		ml_damon_rec_close(rec);
	}
	CHECK_EQ(memlens(&fk, out, sizeof(out), "stop"), 0);
	snprintf(cmd, sizeof(cmd), "%s --sys-root %s damon record --kernel "
		 "-f -o %s 2>&1", MEMLENS_BIN, fk.root, db);
	p = popen(cmd, "r");
	if (p) {
		out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
		st = pclose(p);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
		CHECK(strstr(out, "kdamond 0 is not running") != NULL);
	}
	fake_stop(&fk);
}

/* A kdamond another tool started is shown as foreign and left alone. */
static void test_cli_foreign(void)
{
	static char out[65536];
	struct ml_kdamond_scheme sc;
	struct ml_kdamond_ctx c = stat_config(&sc);
	struct ml_damon_sysfs *s;
	struct fake fk;

	fake_start(&fk, NULL);
	s = open_fake(&fk);
	CHECK_EQ(ml_damon_sysfs_start(s, &c, NULL, NULL, NULL), 0);
	ml_damon_sysfs_close(s);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "status"), 0);
	CHECK(strstr(out, "kdamond 0: on") != NULL);
	CHECK(strstr(out, "foreign (not started by memlens)") != NULL);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "stop"), 0);
	CHECK(strstr(out, "no kdamond started by memlens") != NULL);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "stop 0"), 1);
	CHECK(strstr(out, "not started by memlens") != NULL);
	CHECK_STR(at(&fk, "kdamonds/0/state"), "on\n");
	CHECK_EQ(nr_writes(&fk, "kdamonds/0/state"), 1);
	CHECK_EQ(memlens(&fk, out, sizeof(out), "stop --force 0"), 0);
	CHECK_STR(at(&fk, "kdamonds/0/state"), "off\n");
	/* forced, not ours: its configuration stays for its owner */
	CHECK_STR(at(&fk, "kdamonds/0/contexts/nr_contexts"), "1\n");
	fake_stop(&fk);
}

TAP_MAIN(
	TEST(test_parsers),
	TEST(test_empty_tree),
	TEST(test_start_writes_documented_tree),
	TEST(test_read_back),
	TEST(test_foreign_running_refuses),
	TEST(test_free_slot_used),
	TEST(test_stopped_configured),
	TEST(test_refused_start),
	TEST(test_tried_regions),
	TEST(test_read_newer_kernel_tree),
	TEST(test_malformed_tree),
	TEST(test_modules),
	TEST(test_cli_cycle),
	TEST(test_cli_foreign),
	TEST(test_cli_record_kernel),
)
