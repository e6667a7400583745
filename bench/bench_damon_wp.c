// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The cost of the wp source on a live 1 GiB target at default attributes
 * (5 ms sampling, 100 ms aggregation, 10..1000 regions; ops update 1 s),
 * through libmemlens-damon.so in tests/damon_target, which writes one
 * byte of every page of a 64 MiB hot subrange, sweep after sweep:
 *
 *  1. monitoring CPU: the agent thread's user + system time (its
 *     /proc/PID/task/TID/stat) over wall time, as % of one core; goal <= 5%;
 *  2. the program's slowdown: a fixed amount of work (N sweeps, timed after
 *     a 2 s warm-up that pays the one-time arming of the populated pages)
 *     with and without the agent, interleaved round by round; medians and
 *     their ratio (the seed's figure for the kernel's DAMON: 0.89%);
 *  3. the source's per-sample costs (the cost model's figures and what
 *     each strategy costs on this machine), in-process: per-page checks
 *     against one ranged PAGEMAP_SCAN over 1 GiB, at growing numbers of
 *     sampled pages, to show the crossover.
 *
 *   bench_damon_wp [ROUNDS]     (default 5)
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include <memlens/damon.h>

#include "bench.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static volatile pid_t child;

static void on_signal(int sig)
{
	(void)sig;
	bench_kill_reap(&child);
	_exit(1);
}

/* damon_target with args, the agent preloaded or not; stdout piped. */
static pid_t spawn(const char *const *args, bool agent, FILE **out)
{
	int pfd[2];
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		if (agent)
			setenv("LD_PRELOAD", DAMON_AGENT_SO, 1);
		execv(DAMON_TARGET, (char **)args);
		_exit(127);
	}
	close(pfd[1]);
	*out = fdopen(pfd[0], "r");
	child = pid;
	return pid;
}

/* utime + stime of the thread named memlens-damon, in clock ticks. */
static long agent_ticks(pid_t pid)
{
	char path[300], buf[1024];
	struct dirent *de;
	long ticks = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		unsigned long ut, st;
		char *p;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		if (!strstr(buf, "(memlens-damon)"))
			continue;
		/* after "(comm) ": state, then fields 4..; utime is 14, stime 15 */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
				"%*u %lu %lu", &ut, &st) == 2)
			ticks = (long)(ut + st);
	}
	closedir(d);
	return ticks;
}

static void bench_cpu(int rounds)
{
	const char *args[] = { DAMON_TARGET, "1024", "256", "64", "--seconds",
			       "600", NULL };
	double pct[16], hz = (double)sysconf(_SC_CLK_TCK);
	char line[128];
	FILE *out;
	pid_t pid;
	int n = 0;

	pid = spawn(args, true, &out);
	if (pid < 0 || !fgets(line, sizeof(line), out)) {
		printf("cpu: cannot start damon_target\n");
		return;
	}
	sleep(2); /* the first ops update has registered and armed the GiB */
	for (int r = 0; r < rounds && r < 16; r++) {
		long t0 = agent_ticks(pid), t1;
		double w0 = bench_now_ms(), w1;

		sleep(3);
		t1 = agent_ticks(pid);
		w1 = bench_now_ms();
		if (t0 < 0 || t1 < 0)
			break;
		pct[n++] = (double)(t1 - t0) / hz * 1e3 / (w1 - w0) * 100;
	}
	bench_kill_reap(&child);
	fclose(out);
	printf("%-52s %-13s %-47s %6.2f%%  <= 5%%: %s\n",
	       "wp monitoring CPU, % of one core (3 s windows)", "1 GiB live",
	       "agent thread utime+stime / wall, median", bench_median(pct, n),
	       bench_median(pct, n) <= 5 ? "met" : "MISSED");
}

/* One fixed-work run: N sweeps of the 64 MiB hot range, timed, ms. */
static double fixed_work(bool agent)
{
	const char *args[] = { DAMON_TARGET, "1024", "256", "64", "--sweeps",
			       "2000", "--warmup", "2", NULL };
	unsigned long long ns = 0;
	char line[128];
	FILE *out;

	if (spawn(args, agent, &out) < 0)
		return 0;
	while (fgets(line, sizeof(line), out))
		sscanf(line, "elapsed_ns %llu", &ns);
	fclose(out);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	child = 0;
	return (double)ns / 1e6;
}

static void bench_slowdown(int rounds)
{
	double plain[16], mon[16], a, m;
	int n = 0;

	for (int r = 0; r < rounds && r < 16; r++, n++) {
		plain[n] = fixed_work(false);
		mon[n] = fixed_work(true);
	}
	a = bench_median(plain, n);
	m = bench_median(mon, n);
	bench_line("program slowdown under wp (2000 sweeps of 64 MiB)",
		   "1 GiB live", "unmonitored", a, "monitored", m, 0);
	printf("%-52s %-13s slowdown %.2f%% (the seed's kernel DAMON: 0.89%%)\n",
	       "", "", (m / a - 1) * 100);
}

/* ---- the per-sample strategies, in-process --------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * One wp state over a populated GiB with 1% of its pages written since the
 * arming: time check() for @nr sorted random pages, with the model forced
 * each way by what it learnt (the source picks by its predictions; here
 * both are measured directly through the stats of two states).
 */
static void bench_crossover(void)
{
	static const size_t nrs[] = { 10, 30, 100, 300, 1000, 3000 };
	struct ml_damon_range r[4096];
	char *base;
	void *st = NULL;
	size_t nr;

	base = mmap(NULL, GiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return;
	memset(base, 1, GiB);
	if (ml_damon_wp_ops.init(&st, 0, NULL, NULL) ||
	    ml_damon_wp_ops.ranges(st, 0, r, 4096, &nr)) {
		printf("crossover: wp unavailable\n");
		munmap(base, GiB);
		return;
	}
	for (uint64_t o = 0; o < GiB; o += 100 * 4096)
		base[o]++;
	printf("%-52s %-13s %-22s %-24s\n", "wp check(), sampled pages",
	       "1 GiB, 1% wr", "per page, median", "one ranged scan, median");
	for (size_t k = 0; k < sizeof(nrs) / sizeof(nrs[0]); k++) {
		size_t n = nrs[k];
		uint64_t *addrs = malloc(n * sizeof(*addrs));
		bool *acc = malloc(n * sizeof(*acc));
		double pp[9], rs[9];
		char what[64];

		for (int rep = 0; rep < 9; rep++) {
			struct ml_damon_wp_stats s0, s1;
			double t;

			for (size_t i = 0; i < n; i++)
				addrs[i] = (uintptr_t)base +
					   (uint64_t)rand() % GiB;
			qsort(addrs, n, sizeof(*addrs), cmp_u64);
			/* per page: one address at a time is always per page */
			t = bench_now_ms();
			for (size_t i = 0; i < n; i++)
				ml_damon_wp_ops.check(st, 0, &addrs[i], 1,
						      &acc[i]);
			pp[rep] = bench_now_ms() - t;
			/* ranged: what the model chose for all at once */
			ml_damon_wp_stats(st, &s0);
			t = bench_now_ms();
			ml_damon_wp_ops.check(st, 0, addrs, n, acc);
			rs[rep] = bench_now_ms() - t;
			ml_damon_wp_stats(st, &s1);
			if (s1.nr_range_scans == s0.nr_range_scans)
				rs[rep] = -1; /* the model chose per page */
		}
		snprintf(what, sizeof(what), "  %zu pages", n);
		printf("%-52s %-13s %-22.3f ", what, "", bench_median(pp, 9));
		if (bench_median(rs, 9) < 0)
			printf("(model chose per page)\n");
		else
			printf("%.3f ms\n", bench_median(rs, 9));
		free(addrs);
		free(acc);
	}
	{
		struct ml_damon_wp_stats s;

		ml_damon_wp_stats(st, &s);
		printf("%-52s %-13s %" PRIu64 " ns/page, %" PRIu64
		       " ns/MiB (x1024 = %.2f ms per GiB scan)\n",
		       "  cost model learnt", "", s.page_ns, s.scan_ns_per_mib,
		       (double)s.scan_ns_per_mib * 1024 / 1e6);
	}
	ml_damon_wp_ops.fini(st);
	munmap(base, GiB);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_header();
	bench_crossover();
	bench_cpu(rounds);
	bench_slowdown(rounds);
	return 0;
}
