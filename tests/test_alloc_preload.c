// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The runtime mode (preload/alloc_preload.c, libmemlens-alloc.so) on an
 * unmodified program, tests/alloc_target: its report at exit, symbolized
 * to file:line, must hold the live bytes and live allocations the target
 * computes from its own loop counts ("expect LINE BYTES CALLS"), after
 * frees and reallocs, across 2 threads and 40 (more than the counter
 * shards), and in a forked child (its own
 * report, with what it inherited). With MEMLENS_ALLOC_PROFILING=0 nothing
 * is counted; `memlens allocinfo --allocinfo PID` reads the same figures
 * from outside while the target runs. Reports are read with libmemlens'
 * allocinfo parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/allocinfo.h>
#include <memlens/alloctag.h>

#include "tap.h"

extern char **environ;

#define MAX_EXPECT 32
/* tests/alloc_target.c's capture rounds */
#define CAPTURE_N 5
#define CAPTURE_SIZE 77

struct want {
	int line;
	long bytes, calls;
};

struct run {
	struct want parent[MAX_EXPECT], child[MAX_EXPECT];
	size_t nr_parent, nr_child;
	int pid, child_pid;
	char dir[64];
};

/* Reads one "expect"-style line into @r; true when it was one. */
static bool take_line(struct run *r, const char *line)
{
	struct want w;

	if (sscanf(line, "expect %d %ld %ld", &w.line, &w.bytes,
		   &w.calls) == 3 && r->nr_parent < MAX_EXPECT)
		r->parent[r->nr_parent++] = w;
	else if (sscanf(line, "child-expect %d %ld %ld", &w.line, &w.bytes,
			&w.calls) == 3 && r->nr_child < MAX_EXPECT)
		r->child[r->nr_child++] = w;
	else if (sscanf(line, "child %d", &r->child_pid) == 1)
		;
	else if (sscanf(line, "pid %d", &r->pid) == 1)
		;
	else
		return false;
	return true;
}

static bool run_target_wait(struct run *r, const char *memlens_out);

static bool run_target(struct run *r, bool off)
{
	char env_pre[512], env_rep[256], *env[4];
	char *argv[] = { ALLOC_TARGET_BIN, NULL };
	posix_spawn_file_actions_t fa;
	char line[256];
	int out[2], status;
	pid_t pid;
	FILE *f;
	size_t k = 0;

	memset(r, 0, sizeof(*r));
	strcpy(r->dir, "/tmp/ml-alloc-XXXXXX");
	if (!mkdtemp(r->dir) || pipe(out))
		return false;
	snprintf(env_pre, sizeof(env_pre), "LD_PRELOAD=%s", ALLOC_SO);
	snprintf(env_rep, sizeof(env_rep), "MEMLENS_ALLOC_REPORT=%s/report.%%p",
		 r->dir);
	env[k++] = env_pre;
	env[k++] = env_rep;
	if (off)
		env[k++] = "MEMLENS_ALLOC_PROFILING=0";
	env[k] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, env))
		return false;
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	f = fdopen(out[0], "r");
	while (f && fgets(line, sizeof(line), f))
		if (!take_line(r, line))
			printf("# target: %s", line);
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && r->pid > 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static bool is_target_file(const char *file)
{
	const char *s = strrchr(file, '/');

	return strcmp(s ? s + 1 : file, "alloc_target.c") == 0;
}

/* The report of @pid, summed per line of alloc_target.c, against @w. */
static void check_report(const struct run *r, int pid, const struct want *w,
			 size_t nr_want, bool off)
{
	char path[128], *text;
	struct ml_allocinfo a;
	size_t len = 0, nr_target = 0;

	snprintf(path, sizeof(path), "%s/report.%d", r->dir, pid);
	text = slurp(path, &len);
	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_EQ(ml_allocinfo_parse(text, len, &a), 0);
	CHECK_EQ(a.nr_bad, 0);
	for (size_t i = 0; i < a.n; i++)
		if (is_target_file(a.recs[i].file))
			nr_target++;
	if (off) {
		CHECK_EQ(nr_target, 0);
	} else {
		CHECK(nr_target > 0);
		for (size_t i = 0; i < nr_want; i++) {
			long bytes = 0, calls = 0;

			for (size_t j = 0; j < a.n; j++) {
				if (!is_target_file(a.recs[j].file) ||
				    (int)a.recs[j].line != w[i].line)
					continue;
				bytes += a.recs[j].bytes;
				calls += (long)a.recs[j].calls;
			}
			printf("# pid %d line %d: %ld bytes %ld calls (want %ld %ld)\n",
			       pid, w[i].line, bytes, calls, w[i].bytes,
			       w[i].calls);
			CHECK_EQ(bytes, w[i].bytes);
			CHECK_EQ(calls, w[i].calls);
		}
	}
	ml_allocinfo_free(&a);
	free(text);
	unlink(path);
}

static void cleanup(struct run *r)
{
	rmdir(r->dir);
}

static void counts_and_lines(void)
{
	struct run r;

	CHECK(run_target(&r, false));
	CHECK_EQ(r.nr_parent, 13); /* the expect() calls of alloc_target.c */
	check_report(&r, r.pid, r.parent, r.nr_parent, false);
	cleanup(&r);
}

static void forked_child(void)
{
	struct run r;

	CHECK(run_target(&r, false));
	CHECK_EQ(r.nr_child, 2);
	CHECK(r.child_pid > 0);
	check_report(&r, r.child_pid, r.child, r.nr_child, false);
	check_report(&r, r.pid, r.parent, r.nr_parent, false);
	cleanup(&r);
}

static void kill_switch(void)
{
	struct run r;

	CHECK(run_target(&r, true));
	check_report(&r, r.pid, r.parent, r.nr_parent, true);
	check_report(&r, r.child_pid, r.child, r.nr_child, true);
	cleanup(&r);
}

/* The target under the preload, waiting at its end for commands. */
struct live {
	pid_t pid;
	int in;			/* its stdin */
	FILE *out;		/* its stdout */
	int capture_line;
};

static bool live_start(struct live *l, struct run *r)
{
	char env_pre[512], *env[2] = { env_pre, NULL }, line[256];
	char *argv[] = { ALLOC_TARGET_BIN, "--wait", NULL };
	posix_spawn_file_actions_t fa;
	int in[2], out[2];

	memset(r, 0, sizeof(*r));
	memset(l, 0, sizeof(*l));
	if (pipe(in) || pipe(out))
		return false;
	snprintf(env_pre, sizeof(env_pre), "LD_PRELOAD=%s", ALLOC_SO);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	if (posix_spawn(&l->pid, argv[0], &fa, NULL, argv, env))
		return false;
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	l->in = in[1];
	l->out = fdopen(out[0], "r");
	while (l->out && fgets(line, sizeof(line), l->out)) {
		if (strcmp(line, "ready\n") == 0)
			return true;
		if (sscanf(line, "capture-line %d", &l->capture_line) != 1)
			take_line(r, line);
	}
	return false;
}

/* One round of allocations at the target's capture site. */
static bool live_alloc(struct live *l)
{
	char line[256];

	if (write(l->in, "a\n", 2) != 2)
		return false;
	while (fgets(line, sizeof(line), l->out))
		if (strcmp(line, "done\n") == 0)
			return true;
	return false;
}

static bool live_stop(struct live *l)
{
	int status;

	close(l->in);
	if (l->out)
		fclose(l->out);
	return waitpid(l->pid, &status, 0) == l->pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/*
 * `memlens allocinfo --allocinfo PID` writes the waiting target's report,
 * read from outside, into @memlens_out.
 */
static bool run_target_wait(struct run *r, const char *memlens_out)
{
	struct live l;
	char cmd[512];
	bool ok;

	ok = live_start(&l, r);
	if (ok) {
		snprintf(cmd, sizeof(cmd), "%s allocinfo --allocinfo %d >%s",
			 MEMLENS_BIN, (int)l.pid, memlens_out);
		ok = system(cmd) == 0;
	}
	return live_stop(&l) && ok;
}

/* Context records of the target's capture site, read from outside. */
static size_t nr_records(pid_t pid, struct ml_alloctag_snapshot *s)
{
	ML_OPTS(ml_alloctag_read_opts, ro, .context = true);
	struct ml_proc *pr = NULL;

	memset(s, 0, sizeof(*s));
	if (ml_proc_new(NULL, &pr) != 0 || ml_alloctag_read(pr, pid, &ro, s) != 0) {
		ml_proc_free(pr);
		return SIZE_MAX;
	}
	ml_proc_free(pr);
	return s->nr_ctx;
}

/*
 * Context capture in the runtime mode: FILE:LINE names a site the tags
 * know only by address, found by symbolizing them as the report does.
 * Each record holds the size, pid, comm and a stack whose innermost frame
 * is the site's function and the next its caller; off, nothing new.
 */
static void capture_runtime(void)
{
	char out[16384], syms[2][ML_ALLOCTAG_SYM_MAX];
	struct ml_alloctag_snapshot s;
	struct ml_proc *pr;
	struct live l;
	struct run r;

	CHECK(live_start(&l, &r));
	CHECK(l.capture_line > 0);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --capture alloc_target.c:%d %d",
		     MEMLENS_BIN, l.capture_line, (int)l.pid), 0);
	CHECK(strncmp(out, "capture on for 1 site of PID ", 29) == 0);
	CHECK(live_alloc(&l));
	CHECK_EQ(nr_records(l.pid, &s), CAPTURE_N);
	for (size_t i = 0; i < s.nr_ctx; i++) {
		const struct ml_alloctag_ctx *c = &s.ctx[i];

		CHECK_EQ(c->size, CAPTURE_SIZE);
		CHECK_EQ(c->pid, l.pid);
		CHECK_STR(c->comm, "alloc_target");
		CHECK(c->site && c->site->capture);
		CHECK(c->nr_frames >= 2);
		if (i == 0 && c->nr_frames >= 2 && ml_proc_new(NULL, &pr) == 0) {
			CHECK_EQ(ml_alloctag_symbolize(pr, l.pid, c->frames, 2, syms), 0);
			CHECK(strncmp(syms[0], "capture_site+", 13) == 0);
			CHECK(strncmp(syms[1], "main+", 5) == 0);
			printf("# %s | %s\n", syms[0], syms[1]);
			ml_proc_free(pr);
		}
	}
	ml_alloctag_snapshot_fini(&s);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --context %d", MEMLENS_BIN,
		     (int)l.pid), 0);
	CHECK(strstr(out, "    comm: alloc_target\n") &&
	      strstr(out, "capture_site+"));
	/* off: the next round adds no record */
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --capture-off %d",
		     MEMLENS_BIN, (int)l.pid), 0);
	CHECK(live_alloc(&l));
	CHECK_EQ(nr_records(l.pid, &s), CAPTURE_N);
	ml_alloctag_snapshot_fini(&s);
	/* a line with no allocation there */
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --capture alloc_target.c:1 %d",
		     MEMLENS_BIN, (int)l.pid), 1);
	CHECK(strstr(out, "no allocation site there") != NULL);
	CHECK(live_stop(&l));
}

static void external_reader(void)
{
	struct run r;
	char path[128];

	snprintf(path, sizeof(path), "/tmp/ml-alloc-ext-%d", (int)getpid());
	CHECK(run_target_wait(&r, path));
	CHECK_EQ(r.nr_parent, 13);
	/* check_report reads DIR/report.PID: give it the path in that shape */
	snprintf(r.dir, sizeof(r.dir), "/tmp");
	{
		char want[160];

		snprintf(want, sizeof(want), "/tmp/report.%d", r.pid);
		CHECK_EQ(rename(path, want), 0);
	}
	check_report(&r, r.pid, r.parent, r.nr_parent, false);
}

TAP_MAIN(TEST(counts_and_lines), TEST(forked_child), TEST(kill_switch),
	 TEST(external_reader), TEST(capture_runtime))
