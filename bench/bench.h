/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared pieces of the benchmarks: a monotonic clock, medians, running a
 * command with its output thrown away, finding the memlens binary, and the
 * one-line report STYLE.md asks for (what, input size, anchor median,
 * memlens median, ratio).
 *
 * The machine these run on is shared and noisy: every benchmark interleaves
 * the anchor and memlens round by round, reports medians, and never fails
 * on a time. The ratio is always memlens / anchor, so lower is better and a
 * goal reads "ratio <= X".
 */
#ifndef MEMLENS_BENCH_H
#define MEMLENS_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- time and medians ---------------------------------------------------- */

static inline double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of @n samples (sorts a copy; @v is left alone). */
static inline double bench_median(const double *v, size_t n)
{
	double *tmp, m;

	if (n == 0 || !(tmp = malloc(n * sizeof(*v))))
		return 0;
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), bench_cmp_double);
	m = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
	free(tmp);
	return m;
}

/* ---- subprocesses ---------------------------------------------------------- */

/* The command bench_run_quiet() is waiting for, for signal handlers. */
static volatile pid_t bench_running;

/* Async-signal-safe: kill and reap the process in *slot, if any. */
static inline void bench_kill_reap(volatile pid_t *slot)
{
	pid_t pid = *slot;

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	*slot = 0;
}

/*
 * Fork a child running @child_main(@arg, parent pid, ready fd), which writes
 * one byte to the fd once its memory is in place and then waits to be
 * killed; its pid goes to *@slot (for bench_kill_reap()). Returns 0 once the
 * child is ready, or a negative errno (-ECHILD: it died first).
 */
static inline int bench_spawn_ready(void (*child_main)(unsigned, pid_t, int),
				    unsigned arg, volatile pid_t *slot)
{
	pid_t parent = getpid(), pid;
	int fds[2];
	char c;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(fds[0]);
		child_main(arg, parent, fds[1]);
		_exit(0);
	}
	*slot = pid;
	close(fds[1]);
	do
		n = read(fds[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	return n == 1 ? 0 : -ECHILD;
}

/* Async-signal-safe: kill and reap the command under way, if any. */
static inline void bench_kill_running(void)
{
	bench_kill_reap(&bench_running);
}

/*
 * Run @argv (searched in PATH) with stdout on /dev/null, and stderr too when
 * @no_stderr (the timed rounds; the warm-up round keeps it so that problems
 * show), and wait for it. Returns its exit status (0..255), 128 + signal,
 * or a negative errno when it could not be started (-ENOENT: not installed).
 */
static inline int bench_run_quiet(char *const argv[], bool no_stderr)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err, status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
					 O_WRONLY, 0);
	if (no_stderr)
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
						 O_WRONLY, 0);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -err;
	bench_running = pid;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			bench_running = 0;
			return -errno;
		}
	}
	bench_running = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * The memlens binary: @given (a command-line option) if set, else the path
 * meson compiled in (MEMLENS_EXE), else ../cli/memlens next to this
 * benchmark in the build tree.
 */
static inline const char *bench_find_memlens(const char *given)
{
	static char path[PATH_MAX];
	ssize_t n;
	char *slash;

	if (given)
		return given;
#ifdef MEMLENS_EXE
	if (access(MEMLENS_EXE, X_OK) == 0)
		return MEMLENS_EXE;
#endif
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n > 0) {
		path[n] = '\0';
		slash = strrchr(path, '/');
		if (slash) {
			strcpy(slash, "/../cli/memlens");
			if (access(path, X_OK) == 0)
				return path;
		}
	}
	return NULL;
}

/* ---- report ------------------------------------------------------------------ */

static inline void bench_header(void)
{
	printf("%-52s %-13s %-22s %-24s %7s  %s\n", "what", "input",
	       "anchor median", "memlens median", "ratio", "goal");
}

/*
 * One comparison. @goal_max <= 0: no goal, only information. Never an
 * assertion: the verdict is printed, the exit status does not change.
 */
static inline void bench_line(const char *what, const char *input,
			      const char *anchor_name, double anchor_ms,
			      const char *ml_name, double ml_ms,
			      double goal_max)
{
	char a[64], m[64], g[48] = "";
	double ratio = anchor_ms > 0 ? ml_ms / anchor_ms : 0;

	snprintf(a, sizeof(a), "%s %.2f ms", anchor_name, anchor_ms);
	snprintf(m, sizeof(m), "%s %.2f ms", ml_name, ml_ms);
	if (goal_max > 0)
		snprintf(g, sizeof(g), "<= %.2f: %s", goal_max,
			 ratio <= goal_max ? "met" : "MISSED");
	printf("%-52s %-13s %-22s %-24s %6.3fx  %s\n", what, input, a, m, ratio,
	       g);
	fflush(stdout);
}

#endif
