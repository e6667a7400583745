// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fake_damon_sysfs ROOT [--avail OPS,...]: an active fake of the kernel's
 * DAMON sysfs interface (6.12's layout, mm/damon/sysfs*.c) under
 * ROOT/kernel/mm/damon/admin, for tests that must never touch the real one.
 *
 * Plain files cannot react to writes, so this process watches the tree
 * with inotify and does, on IN_CLOSE_WRITE, what the kernel does in the
 * file's store function:
 *  - nr_kdamonds, nr_contexts, nr_targets, nr_regions (of a target),
 *    nr_schemes, nr_filters, nr_goals: remove every numbered directory and
 *    make 0..N-1 with the kernel's default files. Refused (the old value
 *    restored) where the kernel returns -EBUSY: nr_kdamonds while any
 *    kdamond runs, nr_contexts/nr_targets/nr_regions while their kdamond
 *    runs; and -EINVAL: not a number, nr_contexts above 1.
 *  - state: on (refused unless there is one context with operations from
 *    avail_operations, live pid targets for vaddr/fvaddr and ordered
 *    regions, as damon_sysfs_build_ctx() checks), off, and the commands
 *    update_schemes_stats, update_schemes_tried_regions/_bytes and
 *    clear_schemes_tried_regions; other commands are accepted.
 *  - any other file: its text becomes what the kernel would print (a
 *    trailing newline; Y/N for matching).
 * A write is "settled" when the file reads back as the kernel prints it
 * ("N\n", "on\n"/"off\n"), which the driver waits for: this process
 * rewrites the file last (write to a temporary name, rename). The kernel
 * returns errors from write(); here a refusal shows as the old value.
 *
 * Monitoring results: ROOT/fake-regions holds lines "K T START END
 * NR_ACCESSES AGE" (kdamond, target, region). update_schemes_tried_regions
 * gives each scheme of a running kdamond the regions of its targets that
 * match its access pattern and are not filtered out by a target or addr
 * filter (filtered regions are not "tried", usage.rst), in target then
 * address order as the kernel walks them.
 *
 * Every write it sees is appended to ROOT/fake-journal ("PATH\tTEXT"), so
 * tests can check what a driver wrote and what it did not.
 * It prints "ready" when the tree exists and runs until SIGTERM.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KDAMONDS 64

static char root[PATH_MAX];	/* ROOT */
static char admin[PATH_MAX];	/* ROOT/kernel/mm/damon/admin */
static char avail[256] = "vaddr\nfvaddr\npaddr\n";
static int ino_fd;
static bool running[MAX_KDAMONDS];

struct watch {
	int wd;
	char *path;		/* relative to admin */
};
static struct watch *watches;
static size_t nr_watches, cap_watches;

static void die(const char *what)
{
	fprintf(stderr, "fake_damon_sysfs: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- files --------------------------------------------------------------- */

static void full(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", admin, rel);
}

/* Replace a file's text atomically (a reader never sees it half written). */
static void put(const char *rel, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	char *slash;
	FILE *f;

	full(path, rel);
	snprintf(tmp, sizeof(tmp), "%s", path);
	slash = strrchr(tmp, '/');
	snprintf(slash + 1, sizeof(tmp) - (size_t)(slash + 1 - tmp),
		 ".fake-tmp");
	f = fopen(tmp, "w");
	if (!f)
		return;		/* its directory went away meanwhile */
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

static void putf(const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void putf(const char *rel, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	put(rel, text);
}

static bool get(const char *rel, char *buf, size_t cap)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	full(path, rel);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
	return true;
}

static bool get_num(const char *rel, long long *v)
{
	char buf[64], *end;

	if (!get(rel, buf, sizeof(buf)))
		return false;
	errno = 0;
	*v = strtoll(buf, &end, 0);
	if (end == buf || errno || (*end && strcmp(end, "\n")))
		return false;
	return true;
}

static unsigned long long get_u64(const char *rel)
{
	char buf[64];

	if (!get(rel, buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 0);
}

static void add_watch(const char *rel)
{
	char path[PATH_MAX];
	int wd;

	full(path, rel);
	wd = inotify_add_watch(ino_fd, path, IN_CLOSE_WRITE);
	if (wd < 0)
		die(path);
	if (nr_watches == cap_watches) {
		cap_watches = cap_watches ? cap_watches * 2 : 64;
		watches = realloc(watches, cap_watches * sizeof(*watches));
		if (!watches)
			die("realloc");
	}
	watches[nr_watches].wd = wd;
	watches[nr_watches].path = strdup(rel);
	nr_watches++;
}

static const char *watch_path(int wd)
{
	for (size_t i = 0; i < nr_watches; i++)
		if (watches[i].wd == wd)
			return watches[i].path;
	return NULL;
}

static void drop_watch(int wd)
{
	for (size_t i = 0; i < nr_watches; i++) {
		if (watches[i].wd != wd)
			continue;
		free(watches[i].path);
		watches[i] = watches[--nr_watches];
		return;
	}
}

/* mkdir ADMIN/rel; writable directories are watched, read-only ones not. */
static void mkdirf(bool watch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mkdirf(bool watch, const char *fmt, ...)
{
	char rel[PATH_MAX], path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	full(path, rel);
	if (mkdir(path, 0755) && errno != EEXIST)
		die(path);
	if (watch)
		add_watch(rel);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_numbered(const char *dir)
{
	char path[PATH_MAX], sub[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	full(path, dir);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		nftw(sub, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

static int count_numbered(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	full(path, dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] >= '0' && de->d_name[0] <= '9';
	closedir(d);
	return n;
}

/* ---- the kernel's default directories (6.12) ------------------------------ */

static void new_kdamond(const char *d)
{
	char p[PATH_MAX];

	mkdirf(true, "%s", d);
	snprintf(p, sizeof(p), "%s/state", d); put(p, "off\n");
	snprintf(p, sizeof(p), "%s/pid", d); put(p, "-1\n");
	mkdirf(true, "%s/contexts", d);
	snprintf(p, sizeof(p), "%s/contexts/nr_contexts", d); put(p, "0\n");
}

static void put_in(const char *d, const char *name, const char *val)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", d, name);
	put(p, val);
}

static void new_context(const char *d)
{
	char p[PATH_MAX];

	mkdirf(true, "%s", d);
	put_in(d, "avail_operations", avail);
	put_in(d, "operations", "vaddr\n");
	mkdirf(false, "%s/monitoring_attrs", d);
	snprintf(p, sizeof(p), "%s/monitoring_attrs/intervals", d);
	mkdirf(true, "%s", p);
	put_in(p, "sample_us", "5000\n");
	put_in(p, "aggr_us", "100000\n");
	put_in(p, "update_us", "60000000\n");
	snprintf(p, sizeof(p), "%s/monitoring_attrs/nr_regions", d);
	mkdirf(true, "%s", p);
	put_in(p, "min", "10\n");
	put_in(p, "max", "1000\n");
	snprintf(p, sizeof(p), "%s/targets", d);
	mkdirf(true, "%s", p);
	put_in(p, "nr_targets", "0\n");
	snprintf(p, sizeof(p), "%s/schemes", d);
	mkdirf(true, "%s", p);
	put_in(p, "nr_schemes", "0\n");
}

static void new_target(const char *d)
{
	char p[PATH_MAX];

	mkdirf(true, "%s", d);
	put_in(d, "pid_target", "0\n");
	snprintf(p, sizeof(p), "%s/regions", d);
	mkdirf(true, "%s", p);
	put_in(p, "nr_regions", "0\n");
}

static void new_region(const char *d)
{
	mkdirf(true, "%s", d);
	put_in(d, "start", "0\n");
	put_in(d, "end", "0\n");
}

static void new_scheme(const char *d)
{
	static const char *const ranges[] = { "sz", "nr_accesses", "age" };
	static const char *const stats[] = { "nr_tried", "sz_tried",
		"nr_applied", "sz_applied", "qt_exceeds" };
	char p[PATH_MAX];

	mkdirf(true, "%s", d);
	put_in(d, "action", "stat\n");
	put_in(d, "apply_interval_us", "0\n");
	put_in(d, "target_nid", "-1\n");
	mkdirf(false, "%s/access_pattern", d);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/access_pattern/%s", d, ranges[i]);
		mkdirf(true, "%s", p);
		put_in(p, "min", "0\n");
		put_in(p, "max", "0\n");
	}
	snprintf(p, sizeof(p), "%s/quotas", d);
	mkdirf(true, "%s", p);
	put_in(p, "ms", "0\n");
	put_in(p, "bytes", "0\n");
	put_in(p, "reset_interval_ms", "0\n");
	put_in(p, "effective_bytes", "0\n");
	snprintf(p, sizeof(p), "%s/quotas/weights", d);
	mkdirf(true, "%s", p);
	put_in(p, "sz_permil", "0\n");
	put_in(p, "nr_accesses_permil", "0\n");
	put_in(p, "age_permil", "0\n");
	snprintf(p, sizeof(p), "%s/quotas/goals", d);
	mkdirf(true, "%s", p);
	put_in(p, "nr_goals", "0\n");
	snprintf(p, sizeof(p), "%s/watermarks", d);
	mkdirf(true, "%s", p);
	put_in(p, "metric", "none\n");
	put_in(p, "interval_us", "0\n");
	put_in(p, "high", "0\n");
	put_in(p, "mid", "0\n");
	put_in(p, "low", "0\n");
	snprintf(p, sizeof(p), "%s/filters", d);
	mkdirf(true, "%s", p);
	put_in(p, "nr_filters", "0\n");
	snprintf(p, sizeof(p), "%s/stats", d);
	mkdirf(false, "%s", p);
	for (size_t i = 0; i < 5; i++)
		put_in(p, stats[i], "0\n");
	snprintf(p, sizeof(p), "%s/tried_regions", d);
	mkdirf(false, "%s", p);
	put_in(p, "total_bytes", "0\n");
}

static void new_filter(const char *d)
{
	mkdirf(true, "%s", d);
	put_in(d, "type", "anon\n");
	put_in(d, "matching", "N\n");
	put_in(d, "memcg_path", "\n");
	put_in(d, "addr_start", "0\n");
	put_in(d, "addr_end", "0\n");
	put_in(d, "damon_target_idx", "0\n");
}

static void new_goal(const char *d)
{
	mkdirf(true, "%s", d);
	put_in(d, "target_metric", "user_input\n");
	put_in(d, "target_value", "0\n");
	put_in(d, "current_value", "0\n");
}

/* ---- reactions -------------------------------------------------------------- */

/* The kdamond index of a path "kdamonds/K/...", or -1. */
static int kdamond_of(const char *rel)
{
	int k;

	if (sscanf(rel, "kdamonds/%d/", &k) != 1 || k < 0 || k >= MAX_KDAMONDS)
		return -1;
	return k;
}

static bool any_running(void)
{
	for (int i = 0; i < MAX_KDAMONDS; i++)
		if (running[i])
			return true;
	return false;
}

static void on_nr(const char *dir, const char *file, const char *rel)
{
	void (*mk)(const char *) = NULL;
	int k = kdamond_of(rel), old = count_numbered(dir);
	bool busy = false;
	long long n;
	char sub[PATH_MAX];

	if (!strcmp(file, "nr_kdamonds")) {
		mk = new_kdamond;
		busy = any_running();
	} else if (!strcmp(file, "nr_contexts")) {
		mk = new_context;
		busy = k >= 0 && running[k];
	} else if (!strcmp(file, "nr_targets")) {
		mk = new_target;
		busy = k >= 0 && running[k];
	} else if (!strcmp(file, "nr_regions")) {
		mk = new_region;
		busy = k >= 0 && running[k];
	} else if (!strcmp(file, "nr_schemes")) {
		mk = new_scheme;
	} else if (!strcmp(file, "nr_filters")) {
		mk = new_filter;
	} else if (!strcmp(file, "nr_goals")) {
		mk = new_goal;
	}
	if (!get_num(rel, &n) || n < 0 || n > 4096 || busy ||
	    (mk == new_context && n > 1) || (mk == new_kdamond && n > MAX_KDAMONDS)) {
		putf(rel, "%d\n", old);		/* refused: -EBUSY, -EINVAL */
		return;
	}
	rm_numbered(dir);
	for (long long i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%lld", dir, i);
		mk(sub);
	}
	putf(rel, "%lld\n", n);
}

/* damon_sysfs_build_ctx()'s checks that make "on" fail. */
static bool can_start(int k)
{
	char p[PATH_MAX], ops[64], buf[64];
	long long nt, nr, pid, prev_end, s, e;

	snprintf(p, sizeof(p), "kdamonds/%d/contexts/nr_contexts", k);
	if (get_u64(p) != 1)
		return false;
	snprintf(p, sizeof(p), "kdamonds/%d/contexts/0/operations", k);
	if (!get(p, ops, sizeof(ops)))
		return false;
	snprintf(buf, sizeof(buf), "%s", ops);
	if (!strstr(avail, buf))
		return false;
	snprintf(p, sizeof(p), "kdamonds/%d/contexts/0/targets/nr_targets", k);
	nt = (long long)get_u64(p);
	for (long long t = 0; t < nt; t++) {
		snprintf(p, sizeof(p),
			 "kdamonds/%d/contexts/0/targets/%lld/pid_target", k, t);
		if (strcmp(ops, "paddr\n") &&
		    (!get_num(p, &pid) || pid <= 0 || kill((pid_t)pid, 0)))
			return false;
		snprintf(p, sizeof(p),
			 "kdamonds/%d/contexts/0/targets/%lld/regions/nr_regions",
			 k, t);
		nr = (long long)get_u64(p);
		prev_end = 0;
		for (long long r = 0; r < nr; r++) {
			snprintf(p, sizeof(p), "kdamonds/%d/contexts/0/targets/"
				 "%lld/regions/%lld/start", k, t, r);
			s = (long long)get_u64(p);
			snprintf(p, sizeof(p), "kdamonds/%d/contexts/0/targets/"
				 "%lld/regions/%lld/end", k, t, r);
			e = (long long)get_u64(p);
			if (s > e || prev_end > s)
				return false;
			prev_end = e;
		}
	}
	return true;
}

struct fake_region {
	int target;
	unsigned long long start, end, nr_accesses, age;
};

static size_t load_regions(int k, struct fake_region *out, size_t cap)
{
	char path[PATH_MAX], line[256];
	struct fake_region r;
	size_t n = 0;
	int kk;
	FILE *f;

	snprintf(path, sizeof(path), "%s/fake-regions", root);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < cap && fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %d %llu %llu %llu %llu", &kk, &r.target,
			   &r.start, &r.end, &r.nr_accesses, &r.age) == 6 &&
		    kk == k)
			out[n++] = r;
	fclose(f);
	return n;
}

static bool in_range(const char *sd, const char *what, unsigned long long v)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/access_pattern/%s/min", sd, what);
	if (v < get_u64(p))
		return false;
	snprintf(p, sizeof(p), "%s/access_pattern/%s/max", sd, what);
	return v <= get_u64(p);
}

/* Filtered out by a target or addr filter: such regions are not tried. */
static bool filtered_out(const char *sd, const struct fake_region *r)
{
	char p[PATH_MAX], type[32], m[8];
	int nf;

	snprintf(p, sizeof(p), "%s/filters/nr_filters", sd);
	nf = (int)get_u64(p);
	for (int i = 0; i < nf; i++) {
		bool match;

		snprintf(p, sizeof(p), "%s/filters/%d/type", sd, i);
		if (!get(p, type, sizeof(type)))
			continue;
		snprintf(p, sizeof(p), "%s/filters/%d/matching", sd, i);
		get(p, m, sizeof(m));
		if (!strcmp(type, "target\n")) {
			snprintf(p, sizeof(p), "%s/filters/%d/damon_target_idx",
				 sd, i);
			match = (int)get_u64(p) == r->target;
		} else if (!strcmp(type, "addr\n")) {
			unsigned long long s, e;

			snprintf(p, sizeof(p), "%s/filters/%d/addr_start", sd, i);
			s = get_u64(p);
			snprintf(p, sizeof(p), "%s/filters/%d/addr_end", sd, i);
			e = get_u64(p);
			match = r->start >= s && r->end <= e;
		} else {
			continue;
		}
		/* matching Y filters out what matches, N what does not */
		if (match == (m[0] == 'Y'))
			return true;
	}
	return false;
}

static void tried(int k, bool regions, bool stats)
{
	static struct fake_region regs[4096];
	size_t nr = load_regions(k, regs, 4096);
	char cd[PATH_MAX], sd[PATH_MAX], p[PATH_MAX + 64], act[32];
	/* the kernel names region directories with one counter for all the
	 * schemes of an update (damon_sysfs_schemes_region_idx), so a scheme's
	 * numbers start where the previous scheme's ended */
	unsigned long long idx = 0;
	int ns;

	snprintf(cd, sizeof(cd), "kdamonds/%d/contexts/0", k);
	snprintf(p, sizeof(p), "%s/schemes/nr_schemes", cd);
	ns = (int)get_u64(p);
	for (int s = 0; s < ns; s++) {
		unsigned long long total = 0, n = 0;

		snprintf(sd, sizeof(sd), "%s/schemes/%d", cd, s);
		snprintf(p, sizeof(p), "%s/tried_regions", sd);
		if (regions)
			rm_numbered(p);
		for (size_t i = 0; i < nr; i++) {
			const struct fake_region *r = &regs[i];

			if (!in_range(sd, "sz", r->end - r->start) ||
			    !in_range(sd, "nr_accesses", r->nr_accesses) ||
			    !in_range(sd, "age", r->age) || filtered_out(sd, r))
				continue;
			total += r->end - r->start;
			if (regions) {
				snprintf(p, sizeof(p), "%s/tried_regions/%llu",
					 sd, idx);
				mkdirf(false, "%s", p);
				putf(strcat(p, "/start"), "%llu\n", r->start);
				snprintf(p, sizeof(p), "%s/tried_regions/%llu/end", sd, idx);
				putf(p, "%llu\n", r->end);
				snprintf(p, sizeof(p), "%s/tried_regions/%llu/nr_accesses", sd, idx);
				putf(p, "%llu\n", r->nr_accesses);
				snprintf(p, sizeof(p), "%s/tried_regions/%llu/age", sd, idx);
				putf(p, "%llu\n", r->age);
				idx++;
			}
			n++;
		}
		if (stats) {
			bool stat;

			snprintf(p, sizeof(p), "%s/action", sd);
			get(p, act, sizeof(act));
			/* the stat action applies to nothing */
			stat = !strcmp(act, "stat\n");
			snprintf(p, sizeof(p), "%s/stats/nr_tried", sd);
			putf(p, "%llu\n", n);
			snprintf(p, sizeof(p), "%s/stats/sz_tried", sd);
			putf(p, "%llu\n", total);
			snprintf(p, sizeof(p), "%s/stats/nr_applied", sd);
			putf(p, "%llu\n", stat ? 0 : n);
			snprintf(p, sizeof(p), "%s/stats/sz_applied", sd);
			putf(p, "%llu\n", stat ? 0 : total);
		} else {
			snprintf(p, sizeof(p), "%s/tried_regions/total_bytes", sd);
			putf(p, "%llu\n", total);
		}
	}
}

static void clear_tried(int k)
{
	char p[PATH_MAX];
	int ns;

	snprintf(p, sizeof(p), "kdamonds/%d/contexts/0/schemes/nr_schemes", k);
	ns = (int)get_u64(p);
	for (int s = 0; s < ns; s++) {
		snprintf(p, sizeof(p),
			 "kdamonds/%d/contexts/0/schemes/%d/tried_regions", k, s);
		rm_numbered(p);
	}
}

static void on_state(const char *dir, const char *rel)
{
	char cmd[64], p[PATH_MAX];
	int k = kdamond_of(rel);

	if (k < 0 || !get(rel, cmd, sizeof(cmd)))
		return;
	cmd[strcspn(cmd, "\n")] = 0;
	snprintf(p, sizeof(p), "%s/pid", dir);
	if (!strcmp(cmd, "on")) {
		if (!running[k] && can_start(k)) {
			running[k] = true;
			/* a kernel thread's pid; this process stands in */
			putf(p, "%d\n", (int)getpid());
		}
	} else if (!strcmp(cmd, "off")) {
		if (running[k]) {
			running[k] = false;
			put(p, "-1\n");
		}
	} else if (running[k]) {
		if (!strcmp(cmd, "update_schemes_tried_regions"))
			tried(k, true, false);
		else if (!strcmp(cmd, "update_schemes_tried_bytes"))
			tried(k, false, false);
		else if (!strcmp(cmd, "update_schemes_stats"))
			tried(k, false, true);
		else if (!strcmp(cmd, "clear_schemes_tried_regions"))
			clear_tried(k);
	}
	put(rel, running[k] ? "on\n" : "off\n");
}

/* Any other file: the text as the kernel would print it back. */
static void on_value(const char *file, const char *rel)
{
	char buf[4096];
	size_t n;

	if (!get(rel, buf, sizeof(buf)))
		return;
	n = strlen(buf);
	if (!strcmp(file, "matching") || !strcmp(file, "allow")) {
		bool y = strchr("Yy1", buf[0]) || !strncmp(buf, "on", 2);

		put(rel, y ? "Y\n" : "N\n");
	} else if (!n || buf[n - 1] != '\n' || !strcmp(file, "memcg_path")) {
		/* memcg_path keeps what was written, newline and all */
		putf(rel, "%s\n", buf);
	}
}

static void journal(const char *rel)
{
	char path[PATH_MAX], buf[4096];
	FILE *f;

	if (!get(rel, buf, sizeof(buf)))
		buf[0] = 0;
	snprintf(path, sizeof(path), "%s/fake-journal", root);
	f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "%s\t%s\n", rel, buf);
	fclose(f);
}

static void handle(const char *dir, const char *file)
{
	char rel[PATH_MAX];

	if (!strncmp(file, ".fake", 5))
		return;
	snprintf(rel, sizeof(rel), "%s/%s", dir, file);
	journal(rel);
	if (!strncmp(file, "nr_", 3))
		on_nr(dir, file, rel);
	else if (!strcmp(file, "state"))
		on_state(dir, rel);
	else
		on_value(file, rel);
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	char buf[64 * 1024] __attribute__((aligned(8))), path[PATH_MAX];
	struct sigaction sa = { .sa_handler = on_term };

	if (argc < 2) {
		fprintf(stderr, "usage: fake_damon_sysfs ROOT [--avail OPS,...]\n");
		return 2;
	}
	if (argc >= 4 && !strcmp(argv[2], "--avail")) {
		snprintf(avail, sizeof(avail), "%s\n", argv[3]);
		for (char *p = avail; *p; p++)
			if (*p == ',')
				*p = '\n';
	}
	snprintf(root, sizeof(root), "%s", argv[1]);
	snprintf(admin, sizeof(admin), "%s/kernel/mm/damon/admin", root);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ino_fd = inotify_init1(IN_CLOEXEC);
	if (ino_fd < 0)
		die("inotify_init1");
	snprintf(path, sizeof(path), "%s/kernel", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/kernel/mm", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/kernel/mm/damon", root);
	mkdir(path, 0755);
	if (mkdir(admin, 0755) && errno != EEXIST)
		die(admin);
	mkdirf(true, "kdamonds");
	put("kdamonds/nr_kdamonds", "0\n");
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		ssize_t n = read(ino_fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read inotify");
		}
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			const char *dir = watch_path(ev->wd);

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_IGNORED) {
				drop_watch(ev->wd);
				continue;
			}
			if (ev->mask & IN_Q_OVERFLOW) {
				fprintf(stderr, "fake_damon_sysfs: events lost\n");
				return 1;
			}
			if (dir && ev->len && (ev->mask & IN_CLOSE_WRITE))
				handle(dir, ev->name);
		}
	}
	return 0;
}
