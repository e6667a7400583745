// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The library under `memlens damon record --kernel` on a real kernel:
 * ml_damon_sysfs_start() a vaddr kdamond with a stat scheme on a child
 * that writes a 16 MiB range every few milliseconds, then
 * ml_damon_sysfs_tried_regions() until a snapshot has a region inside that
 * range with accesses, then stop. Expectations: the range is the child's
 * own mmap (known before the kdamond starts), max_nr_accesses is
 * aggr_us / sample_us as configured here, snapshots are sorted and
 * disjoint, and their pid is the child's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memlens/damon_sysfs.h>

#define HOT (16u << 20)

static int nr_fail, nr_check;

static void check(int ok, const char *what)
{
	nr_check++;
	printf("check %s: %s\n", ok ? "ok" : "FAIL", what);
	nr_fail += !ok;
}

struct seen {
	uint64_t hot_start, hot_end;
	pid_t pid;
	int nr_snaps, hot, sorted, pid_ok;
	uint32_t max_nr_accesses;
	size_t nr_regions;
};

static int on_snapshot(const struct ml_damon_snapshot *s, void *arg)
{
	struct seen *w = arg;

	w->nr_snaps++;
	w->max_nr_accesses = s->max_nr_accesses;
	w->nr_regions = s->nr_regions;
	w->pid_ok = s->pid == w->pid;
	w->sorted = 1;
	for (size_t i = 0; i < s->nr_regions; i++) {
		const struct ml_damon_region *r = &s->regions[i];

		if (r->start >= r->end || (i && r->start < s->regions[i - 1].end))
			w->sorted = 0;
		if (r->start >= w->hot_start && r->end <= w->hot_end &&
		    r->nr_accesses > 0)
			w->hot = 1;
	}
	return 0;
}

int main(void)
{
	const char *kconfig = getenv("KCONFIG");
	char line[256], buf[128];
	struct ml_kdamond_ctx c;
	struct ml_kdamond_scheme sc;
	struct ml_kdamond_target t = { 0 };
	struct ml_damon_sysfs *s = NULL;
	struct seen w = { 0 };
	unsigned int idx = 0;
	int have = 0, err, i;
	volatile char *hot;
	pid_t child, kpid = -1;
	FILE *f;

	f = kconfig ? fopen(kconfig, "r") : NULL;
	while (f && fgets(line, sizeof(line), f))
		have += !strcmp(line, "CONFIG_DAMON_SYSFS=y\n") ||
			!strcmp(line, "CONFIG_DAMON_VADDR=y\n");
	if (f)
		fclose(f);
	if (have < 2) {
		printf("MLVM skip no CONFIG_DAMON_SYSFS and CONFIG_DAMON_VADDR\n");
		return 77;
	}
	hot = mmap(NULL, HOT, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hot == MAP_FAILED)
		return 1;
	child = fork();
	if (child == 0) {
		for (;;) {
			for (size_t o = 0; o < HOT; o += 4096)
				hot[o]++;
			usleep(2000);
		}
	}
	w.hot_start = (uintptr_t)hot;
	w.hot_end = (uintptr_t)hot + HOT;
	w.pid = child;

	err = ml_damon_sysfs_open(NULL, &s);
	check(!err, "ml_damon_sysfs_open(/sys)");
	if (err)
		goto out;
	ml_kdamond_ctx_init(&c);
	c.sample_us = 5000;
	c.aggr_us = 100000;
	t.pid = child;
	c.targets = &t;
	c.nr_targets = 1;
	ml_kdamond_scheme_init_stat_all(&sc);
	c.schemes = &sc;
	c.nr_schemes = 1;
	err = ml_damon_sysfs_start(s, &c, NULL, &idx, &kpid);
	snprintf(buf, sizeof(buf), "ml_damon_sysfs_start: %s", strerror(-err));
	check(!err, err ? buf : "ml_damon_sysfs_start");
	if (err)
		goto out;
	check(kpid > 0, "a kdamond pid");
	for (i = 0; i < 60 && !w.hot; i++) {
		sleep(1);
		err = ml_damon_sysfs_tried_regions(s, idx, on_snapshot, &w);
		if (err)
			break;
		printf("after %ds: %d snapshots, last with %zu regions\n", i + 1,
		       w.nr_snaps, w.nr_regions);
	}
	check(!err, "ml_damon_sysfs_tried_regions returns 0");
	check(w.hot, "a snapshot has an accessed region inside the hot range");
	check(w.sorted, "snapshot regions sorted and disjoint");
	check(w.pid_ok, "snapshot pid is the target's");
	check(w.max_nr_accesses == 20, "max_nr_accesses = 100 ms / 5 ms");
	check(ml_damon_sysfs_stop(s, idx, true) == 0, "ml_damon_sysfs_stop");
	check(ml_damon_sysfs_tried_regions(s, idx, on_snapshot, &w) == -ESRCH,
	      "tried regions of a stopped kdamond: -ESRCH");
out:
	ml_damon_sysfs_close(s);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (!nr_check)
		return 1;
	return nr_fail ? 1 : 0;
}
