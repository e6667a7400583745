// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Anonymous memory names against the speed goals, in one run:
 *
 *  1. naming a range through the registry vs the bare prctl system call
 *     (which fails at once on a kernel without CONFIG_ANON_VMA_NAME, as
 *     here; in the VM it is the real prctl): goal <= 2x, with a small
 *     registry and with 20,000 ranges in it;
 *  2. fork() of a process with 10,000 named VMAs (names of the longest
 *     kind, 79 bytes: the seed's worst case) vs the same process unnamed:
 *     goal <= 1.4x;
 *  3. `memlens maps PID` on a process with 20,000 VMAs, every one named
 *     through the registry (20,000 distinct names), vs the same process
 *     unnamed: goal <= 1.2x; and, for information, with 79-byte names
 *     (the output itself is then 1.7 MB longer).
 *
 * The machine is shared and often busy: the commands of 3 are timed by the
 * CPU time they use (user + system, from wait4), which other load does not
 * inflate; their wall-clock medians are printed too.
 *
 * The processes measured in 2 and 3 are forked before this one names
 * anything, and rounds alternate between anchor and memlens.
 *
 *   bench_names [--memlens PATH] [--rounds N]
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <memlens/names.h>

#include "bench.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif

#define PAGE 4096UL

/* ---- processes to measure ------------------------------------------------------- */

struct worker {
	pid_t pid;
	int cmd, resp; /* pipes: commands in, answers out */
};

/* @nr VMAs: a mapping of @nr pages, every other page read-only. */
static char *make_vmas(size_t nr, bool touch)
{
	char *a = mmap(NULL, nr * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (a == MAP_FAILED)
		return NULL;
	if (touch)
		for (size_t i = 0; i < nr; i++)
			a[i * PAGE] = 1;
	for (size_t i = 1; i < nr; i += 2)
		mprotect(a + i * PAGE, PAGE, PROT_READ);
	return a;
}

/* Run @argv, stdout to /dev/null; its CPU time in ms (user + system). */
static double run_cpu_ms(char *const argv[], double *wall_ms)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	double t0 = bench_now_ms();
	pid_t pid;
	int status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
					 O_WRONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	*wall_ms = bench_now_ms() - t0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int name_vmas(char *a, size_t nr, bool long_names)
{
	char name[ML_NAME_MAX];

	for (size_t i = 0; i < nr; i++) {
		int n = snprintf(name, sizeof(name), "region-%zu", i);

		if (long_names) {
			memset(name + n, 'x', ML_NAME_MAX - 1 - (size_t)n);
			name[ML_NAME_MAX - 1] = '\0';
		}
		if (ml_name_anon(a + i * PAGE, PAGE, name))
			return -1;
	}
	return 0;
}

static double fork_once_ms(void)
{
	double t0 = bench_now_ms();
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -1;
	waitpid(pid, NULL, 0);
	return bench_now_ms() - t0;
}

/*
 * A worker: makes @nr VMAs, names them if @named (2: with 79-byte names),
 * says "r", then answers
 * 'f' with the median of 9 forks (a double) until 'q' or EOF.
 */
static struct worker start_worker(size_t nr, int named, bool touch)
{
	struct worker w = { .pid = -1 };
	int c[2], r[2];

	if (pipe(c) || pipe(r))
		return w;
	w.pid = fork();
	if (w.pid == 0) {
		char *a = make_vmas(nr, touch), cmd;

		close(c[1]);
		close(r[0]);
		if (!a || (named && name_vmas(a, nr, named == 2)))
			_exit(1);
		if (write(r[1], "r", 1) != 1)
			_exit(1);
		while (read(c[0], &cmd, 1) == 1 && cmd == 'f') {
			double t[9], m;

			for (int i = 0; i < 9; i++)
				t[i] = fork_once_ms();
			m = bench_median(t, 9);
			if (write(r[1], &m, sizeof(m)) != sizeof(m))
				break;
		}
		_exit(0);
	}
	close(c[0]);
	close(r[1]);
	w.cmd = c[1];
	w.resp = r[0];
	{
		char ok;

		if (read(w.resp, &ok, 1) != 1) {
			waitpid(w.pid, NULL, 0);
			w.pid = -1;
		}
	}
	return w;
}

static double worker_forks(struct worker *w)
{
	double m = -1;

	if (write(w->cmd, "f", 1) != 1 || read(w->resp, &m, sizeof(m)) != sizeof(m))
		return -1;
	return m;
}

static void stop_worker(struct worker *w)
{
	if (w->pid <= 0)
		return;
	kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	close(w->cmd);
	close(w->resp);
	w->pid = -1;
}

/* ---- 1: naming ------------------------------------------------------------------------ */

#define CALLS 10000

static double time_prctl(char *page)
{
	double t0 = bench_now_ms();

	for (int i = 0; i < CALLS; i++)
		syscall(SYS_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME,
			(unsigned long)page, PAGE, (unsigned long)(i & 1 ? "a" : "b"));
	return bench_now_ms() - t0;
}

static double time_registry(char *page)
{
	double t0 = bench_now_ms();

	for (int i = 0; i < CALLS; i++)
		ml_name_anon(page, PAGE, i & 1 ? "a" : "b");
	return bench_now_ms() - t0;
}

static void bench_naming(int rounds, const char *input, char *page)
{
	double *a = calloc((size_t)rounds, sizeof(double));
	double *m = calloc((size_t)rounds, sizeof(double));

	if (!a || !m)
		exit(1);
	time_registry(page); /* warm: the registry exists, pages are in */
	for (int r = 0; r < rounds; r++) {
		a[r] = time_prctl(page);
		m[r] = time_registry(page);
	}
	bench_line("name one page, alternating names (10,000 calls)", input,
		   "prctl", bench_median(a, (size_t)rounds), "registry",
		   bench_median(m, (size_t)rounds), 2.0);
	free(a);
	free(m);
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *given = NULL, *memlens;
	int rounds = 11;
	struct worker fu, fn, mu, mn, ml;
	double *a, *m, *aw, *mw;
	char pid_s[3][16];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--memlens") == 0 && i + 1 < argc)
			given = argv[++i];
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
	}
	if (rounds < 1)
		rounds = 1;
	setenv("MEMLENS_NAMES", "registry", 1);
	memlens = bench_find_memlens(given);
	a = calloc((size_t)rounds, sizeof(double));
	m = calloc((size_t)rounds, sizeof(double));
	aw = calloc((size_t)rounds, sizeof(double));
	mw = calloc((size_t)rounds, sizeof(double));
	if (!a || !m || !aw || !mw)
		return 1;

	/* the measured processes first, while this one has no registry */
	fu = start_worker(10000, 0, true);
	fn = start_worker(10000, 2, true);
	mu = start_worker(20000, 0, false);
	mn = start_worker(20000, 1, false);
	ml = start_worker(20000, 2, false);
	if (fu.pid < 0 || fn.pid < 0 || mu.pid < 0 || mn.pid < 0 || ml.pid < 0) {
		fprintf(stderr, "bench_names: cannot start the measured processes\n");
		return 1;
	}

	printf("backend: %s (MEMLENS_NAMES=registry); kernel prctl: %s\n",
	       ml_names_backend_name(ml_names_backend()),
	       prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0, 0, 0) == 0 ? "yes" :
	       "no (the anchor fails with EINVAL)");
	bench_header();

	/* 1: naming, with a small registry, then with 20,000 ranges */
	{
		char *page = make_vmas(1, true), *many = make_vmas(40000, false);

		bench_naming(rounds, "1 range", page);
		for (size_t i = 0; i < 20000; i++)
			ml_name_anon(many + 2 * i * PAGE, PAGE, i & 1 ? "odd" : "even");
		bench_naming(rounds, "20,000 ranges", many + 20000 * PAGE);
	}

	/* 2: fork */
	worker_forks(&fu);
	worker_forks(&fn);
	for (int r = 0; r < rounds; r++) {
		a[r] = worker_forks(&fu);
		m[r] = worker_forks(&fn);
	}
	bench_line("fork+exit+wait, 79-byte names on every VMA", "10,000 VMAs",
		   "unnamed", bench_median(a, (size_t)rounds), "named",
		   bench_median(m, (size_t)rounds), 1.4);
	stop_worker(&fu);
	stop_worker(&fn);

	/* 3: memlens maps, by CPU time */
	if (!memlens) {
		printf("memlens maps: no memlens binary (--memlens PATH)\n");
	} else {
		char *cmd_u[] = { (char *)memlens, "maps", pid_s[0], NULL };
		char *cmd_n[] = { (char *)memlens, "maps", pid_s[1], NULL };
		char *cmd_l[] = { (char *)memlens, "maps", pid_s[2], NULL };
		char *const *cmds[2] = { cmd_n, cmd_l };
		static const char *const what[2] = {
			"memlens maps PID, every VMA named: CPU time",
			"  the same, 79-byte names: CPU time" };
		double goal[2] = { 1.2, 0 };

		snprintf(pid_s[0], sizeof(pid_s[0]), "%d", (int)mu.pid);
		snprintf(pid_s[1], sizeof(pid_s[1]), "%d", (int)mn.pid);
		snprintf(pid_s[2], sizeof(pid_s[2]), "%d", (int)ml.pid);
		for (int c = 0; c < 2; c++) {
			double w;

			if (run_cpu_ms(cmd_u, &w) < 0 || run_cpu_ms(cmds[c], &w) < 0) {
				printf("memlens maps failed\n");
				break;
			}
			for (int r = 0; r < rounds; r++) {
				a[r] = run_cpu_ms(cmd_u, &aw[r]);
				m[r] = run_cpu_ms(cmds[c], &mw[r]);
			}
			bench_line(what[c], "20,000 VMAs", "unnamed",
				   bench_median(a, (size_t)rounds), "named",
				   bench_median(m, (size_t)rounds), goal[c]);
			bench_line("  (wall clock, for information)", "20,000 VMAs",
				   "unnamed", bench_median(aw, (size_t)rounds),
				   "named", bench_median(mw, (size_t)rounds), 0);
		}
	}
	stop_worker(&mu);
	stop_worker(&mn);
	stop_worker(&ml);
	free(a);
	free(m);
	free(aw);
	free(mw);
	return 0;
}
