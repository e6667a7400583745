// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Seed 003's micro-benchmark in user space: allocate and free, sizes
 * growing from 8 to 240 bytes, pinned to one CPU (and a 2-thread variant,
 * one CPU each), against glibc malloc without memlens, in one run:
 *
 *   glibc         malloc/free: the anchor
 *   tags off      ml_malloc/ml_free, MEMLENS_ALLOC_PROFILING=0  (goal +2%)
 *   tags on       ml_malloc/ml_free                       (goal +15% / +20%)
 *   runtime       malloc/free under libmemlens-alloc.so       (goal +50%)
 *   jemalloc, jemalloc prof:true, tcmalloc, tcmalloc HEAPPROFILE,
 *   heaptrack     what users would pick instead (no goal)
 *
 * Each column runs in a child process (this binary again, "--work"): the
 * profilers need their LD_PRELOAD or environment from the start. The child
 * times only its loop, in each thread's CPU time, and prints nanoseconds
 * per allocate+free pair (with 2 threads, the mean of the two).
 * Rounds interleave the columns; medians are reported, and the overhead is
 * the median of the per-round ratios to the anchor (the same round's glibc
 * run). Nothing here fails on a time: the machine is shared.
 *
 *   bench_alloc [--rounds N] [--iters N] [--threads 1|2|both]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/alloctag.h>

#include "bench.h"

#define BATCH 16
#define MIN_SIZE 8
#define MAX_SIZE 240
#define STEP 8
#define NR_SIZES ((MAX_SIZE - MIN_SIZE) / STEP + 1)

/* ---- the worker (child) --------------------------------------------------- */

struct work {
	bool tagged;
	unsigned long iters;
	int cpu;
	double ns;
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

/*
 * The loop: for each size 8, 16, ... 240, BATCH allocations then their
 * frees. The pointers go through a volatile sink so that the compiler
 * cannot drop the pairs (it may remove malloc/free pairs it can see).
 */
static __thread void *volatile sink; /* per thread: no shared line */

__attribute__((noinline)) static void loop_plain(unsigned long iters)
{
	void *p[BATCH];

	for (unsigned long it = 0; it < iters; it++)
		for (size_t sz = MIN_SIZE; sz <= MAX_SIZE; sz += STEP) {
			for (int i = 0; i < BATCH; i++) {
				p[i] = malloc(sz);
				sink = p[i];
			}
			for (int i = 0; i < BATCH; i++)
				free(p[i]);
		}
}

__attribute__((noinline)) static void loop_tagged(unsigned long iters)
{
	void *p[BATCH];

	for (unsigned long it = 0; it < iters; it++)
		for (size_t sz = MIN_SIZE; sz <= MAX_SIZE; sz += STEP) {
			for (int i = 0; i < BATCH; i++) {
				p[i] = ml_malloc(sz);
				sink = p[i];
			}
			for (int i = 0; i < BATCH; i++)
				ml_free(p[i]);
		}
}

/*
 * The thread's own CPU time: on a machine shared with other jobs, time
 * spent preempted is not the allocator's (wall time made the 2-thread
 * figures swing by 2x from run to run).
 */
static double thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *worker(void *arg)
{
	struct work *w = arg;
	double t0;

	pin(w->cpu);
	/* one warm-up pass: the arena's first pages, the sites' counters */
	if (w->tagged)
		loop_tagged(w->iters / 10 + 1);
	else
		loop_plain(w->iters / 10 + 1);
	t0 = thread_cpu_ns();
	if (w->tagged)
		loop_tagged(w->iters);
	else
		loop_plain(w->iters);
	w->ns = (thread_cpu_ns() - t0) / ((double)w->iters * NR_SIZES * BATCH);
	return NULL;
}

static int work_main(bool tagged, int nr_threads, unsigned long iters)
{
	struct work w[2] = { { tagged, iters, 0, 0 }, { tagged, iters, 1, 0 } };
	pthread_t th[2];

	if (nr_threads == 1) {
		worker(&w[0]);
		printf("%.3f\n", w[0].ns);
		return 0;
	}
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, worker, &w[i]))
			return 1;
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	/* both threads ran at once, each on its CPU: the mean cost of a pair */
	printf("%.3f\n", (w[0].ns + w[1].ns) / 2);
	return 0;
}

/* ---- the columns ------------------------------------------------------------ */

#define LIBDIR "/usr/lib/x86_64-linux-gnu"

struct column {
	const char *name;
	bool tagged;
	const char *preload;    /* LD_PRELOAD, or NULL */
	const char *env[3];     /* more environment */
	bool heaptrack;         /* run under the heaptrack command */
	unsigned iters_div;     /* slow profilers: fewer pairs (ns per pair
				 * stays comparable), so that a run ends */
	double goal_1, goal_2;  /* max ratio, 0: none */
	bool ok;                /* it ran */
	double ns[64];
};

static char alloc_so[4096];
static char tmpdir[64];

static struct column columns[] = {
	{ .name = "glibc malloc (anchor)" },
	{ .name = "memlens tags, compiled in, off", .tagged = true,
	  .env = { "MEMLENS_ALLOC_PROFILING=0" }, .goal_1 = 1.02,
	  .goal_2 = 1.02 },
	{ .name = "memlens tags, on", .tagged = true, .goal_1 = 1.15,
	  .goal_2 = 1.20 },
	{ .name = "memlens runtime (libmemlens-alloc.so)", .preload = alloc_so,
	  .goal_1 = 1.50, .goal_2 = 1.50 },
	{ .name = "jemalloc", .preload = LIBDIR "/libjemalloc.so.2" },
	{ .name = "jemalloc prof:true", .preload = LIBDIR "/libjemalloc.so.2",
	  .env = { "MALLOC_CONF=prof:true" } },
	{ .name = "tcmalloc", .preload = LIBDIR "/libtcmalloc.so.4" },
	{ .name = "tcmalloc HEAPPROFILE", .preload = LIBDIR "/libtcmalloc.so.4",
	  .env = { "HEAPPROFILE=@TMP@/tcmalloc" }, .iters_div = 1000 },
	{ .name = "heaptrack", .heaptrack = true, .iters_div = 20 },
};
#define NR_COLUMNS (sizeof(columns) / sizeof(columns[0]))

/* Run one column once; returns ns per pair, or < 0 when it failed. */
static double run_column(const struct column *c, const char *self,
			 int nr_threads, unsigned long iters)
{
	char threads[8], it[32], pre[4200], extra[3][256], out_path[128];
	char *argv[16], *envp[512];
	size_t a = 0, e = 0;
	double ns = -1;
	int fd, status;
	pid_t pid;
	FILE *f;

	snprintf(threads, sizeof(threads), "%d", nr_threads);
	if (c->iters_div > 1)
		iters = iters / c->iters_div ? iters / c->iters_div : 1;
	snprintf(it, sizeof(it), "%lu", iters);
	if (c->heaptrack) {
		argv[a++] = "heaptrack";
		argv[a++] = "-o";
		argv[a++] = out_path;
		snprintf(out_path, sizeof(out_path), "%s/heaptrack", tmpdir);
	}
	argv[a++] = (char *)self;
	argv[a++] = "--work";
	argv[a++] = c->tagged ? "tagged" : "plain";
	argv[a++] = threads;
	argv[a++] = it;
	argv[a] = NULL;
	for (char **v = environ; *v && e < 500; v++)
		if (strncmp(*v, "LD_PRELOAD=", 11) &&
		    strncmp(*v, "MEMLENS_ALLOC", 13) &&
		    strncmp(*v, "MALLOC_CONF=", 12) &&
		    strncmp(*v, "HEAPPROFILE=", 12))
			envp[e++] = *v;
	if (c->preload) {
		snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", c->preload);
		envp[e++] = pre;
	}
	for (int i = 0; i < 3 && c->env[i]; i++) {
		const char *at = strstr(c->env[i], "@TMP@");

		if (at)
			snprintf(extra[i], sizeof(extra[i]), "%.*s%s%s",
				 (int)(at - c->env[i]), c->env[i], tmpdir,
				 at + 5);
		else
			snprintf(extra[i], sizeof(extra[i]), "%s", c->env[i]);
		envp[e++] = extra[i];
	}
	envp[e] = NULL;

	{
		char res[128];
		int pfd[2];

		snprintf(res, sizeof(res), "%s/out", tmpdir);
		if (pipe(pfd))
			return -1;
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			dup2(pfd[1], 1);
			close(pfd[0]);
			close(pfd[1]);
			fd = open("/dev/null", O_WRONLY);
			if (fd >= 0)
				dup2(fd, 2);
			execvpe(argv[0], argv, envp);
			_exit(127);
		}
		close(pfd[1]);
		f = fdopen(pfd[0], "r");
		/* heaptrack prints its own lines on stdout: the number is last */
		while (f && fgets(res, sizeof(res), f)) {
			char *end;
			double v = strtod(res, &end);

			if (end != res && (*end == '\n' || *end == '\0'))
				ns = v;
		}
		if (f)
			fclose(f);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return -1;
	}
	return ns;
}

static void cleanup_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		return;
}

static void find_alloc_so(const char *self)
{
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 64);
	char *slash;

	(void)self;
#ifdef ALLOC_SO
	if (access(ALLOC_SO, R_OK) == 0) {
		snprintf(alloc_so, sizeof(alloc_so), "%s", ALLOC_SO);
		return;
	}
#endif
	if (n > 0) {
		path[n] = '\0';
		slash = strrchr(path, '/');
		if (slash) {
			strcpy(slash, "/../preload/libmemlens-alloc.so");
			snprintf(alloc_so, sizeof(alloc_so), "%s", path);
		}
	}
}

/*
 * The median over rounds of the column's time over the anchor's in the
 * same round: the machine's load drifts between rounds, and a ratio taken
 * within a round cancels most of it.
 */
static double round_ratio(const struct column *col, unsigned rounds)
{
	double r[64];

	for (unsigned i = 0; i < rounds; i++)
		r[i] = columns[0].ns[i] > 0 ? col->ns[i] / columns[0].ns[i] : 0;
	return bench_median(r, rounds);
}

static void run_variant(const char *self, int nr_threads, unsigned rounds,
			unsigned long iters)
{
	char input[64], what[96];
	double anchor;

	for (size_t c = 0; c < NR_COLUMNS; c++)
		columns[c].ok = true;
	for (unsigned r = 0; r < rounds; r++)
		for (size_t c = 0; c < NR_COLUMNS; c++) {
			double ns;

			if (!columns[c].ok)
				continue;
			ns = run_column(&columns[c], self, nr_threads, iters);
			if (ns <= 0) {
				columns[c].ok = false;
				fprintf(stderr, "bench_alloc: %s did not run (not installed?)\n",
					columns[c].name);
				continue;
			}
			columns[c].ns[r] = ns;
		}
	snprintf(input, sizeof(input), "%dT %lux%dx%d", nr_threads, iters,
		 NR_SIZES, BATCH);
	anchor = bench_median(columns[0].ns, rounds);
	printf("\n%d thread%s, %u rounds, ns per malloc+free pair (median)\n",
	       nr_threads, nr_threads > 1 ? "s, one CPU each" : ", pinned",
	       rounds);
	printf("%-40s %9s %9s  %s\n", "column", "ns/pair", "overhead", "goal");
	/* ns/pair: median; overhead: median of per-round ratios to glibc */
	for (size_t c = 0; c < NR_COLUMNS; c++) {
		const struct column *col = &columns[c];
		double goal = nr_threads == 1 ? col->goal_1 : col->goal_2;
		double m, ratio;

		if (!col->ok) {
			printf("%-40s %9s %9s  %s\n", col->name, "-", "-",
			       "not run");
			continue;
		}
		m = bench_median(col->ns, rounds);
		ratio = round_ratio(col, rounds);
		printf("%-40s %9.2f %+8.1f%%  ", col->name, m,
		       (ratio - 1) * 100);
		if (goal > 0)
			printf("<= %+.0f%%: %s\n", (goal - 1) * 100,
			       ratio <= goal ? "yes" : "NO");
		else
			printf("-\n");
	}
	/* the STYLE.md lines: what, input, anchor median, memlens median, ratio */
	printf("%-50s %-14s %-16s %-18s %7s  %s\n", "what", "input",
	       "anchor median", "memlens median", "ratio", "goal");
	for (size_t c = 1; c < 4; c++) {
		double goal = nr_threads == 1 ? columns[c].goal_1 :
						columns[c].goal_2;
		double m = bench_median(columns[c].ns, rounds);
		char a[32], b[32];

		if (!columns[c].ok)
			continue;
		snprintf(what, sizeof(what), "alloc+free: %s", columns[c].name);
		snprintf(a, sizeof(a), "glibc %.2f ns", anchor);
		snprintf(b, sizeof(b), "memlens %.2f ns", m);
		printf("%-50s %-14s %-16s %-18s %6.3fx  <= %.2f: %s\n", what,
		       input, a, b, round_ratio(&columns[c], rounds), goal,
		       round_ratio(&columns[c], rounds) <= goal ? "met" :
								  "MISSED");
	}
}

int main(int argc, char **argv)
{
	unsigned rounds = 7;
	unsigned long iters = 20000;
	const char *threads = "both";
	static char self[4096];
	static const struct option longopts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "iters", required_argument, NULL, 'i' },
		{ "threads", required_argument, NULL, 't' },
		{ 0 } };
	int c;

	if (argc == 5 && strcmp(argv[1], "--work") == 0)
		return work_main(strcmp(argv[2], "tagged") == 0, atoi(argv[3]),
				 strtoul(argv[4], NULL, 10));
	while ((c = getopt_long(argc, argv, "r:i:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': rounds = (unsigned)atoi(optarg); break;
		case 'i': iters = strtoul(optarg, NULL, 10); break;
		case 't': threads = optarg; break;
		default:
			fprintf(stderr, "usage: bench_alloc [--rounds N] [--iters N] [--threads 1|2|both]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > 64 || iters < 1)
		return 2;
	strcpy(tmpdir, "/tmp/bench-alloc-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	find_alloc_so(argv[0]);
	{
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n <= 0)
			return 1;
		self[n] = '\0';
	}
	printf("seed 003's benchmark in user space: sizes %d..%d bytes step %d, %d allocations then %d frees per size\n",
	       MIN_SIZE, MAX_SIZE, STEP, BATCH, BATCH);
	if (strcmp(threads, "2") != 0)
		run_variant(self, 1, rounds, iters);
	if (strcmp(threads, "1") != 0)
		run_variant(self, 2, rounds, iters);
	cleanup_tmp();
	return 0;
}
