// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * damon_target: a program with a known access pattern, for the DAMON
 * source tests and bench/bench_damon_wp.c. It maps SIZE MiB of private
 * anonymous memory, populates it, and writes one byte of every page of
 * [HOT_OFF, HOT_OFF + HOT_LEN) MiB, sweep after sweep, and nothing else.
 *
 *   damon_target SIZE HOT_OFF HOT_LEN [options]
 *     --seconds S     stop after S seconds (default 3600)
 *     --sweeps N      stop after N sweeps, print "elapsed_ns NS" (fixed work)
 *     --warmup S      with --sweeps: sweep untimed for S seconds first
 *     --unmap-at S    unmap the whole mapping at S seconds, go on idle
 *     --remap-at S    at S seconds map a new one elsewhere (at least 1 GiB
 *                     away), unmap the old, and write the new one's hot range
 *     --file PATH     map PATH (SIZE MiB, created) MAP_SHARED instead; it is
 *                     written back once populated (msync), so that the
 *                     pages never written again are clean
 *
 * Signals do the same when the caller decides the time: SIGUSR1 remaps,
 * SIGUSR2 unmaps, SIGTERM ends the program normally (exit status 0, so
 * that a preloaded agent's destructor runs).
 *
 * Prints "ready BASE" (hex) once populated, "remapped BASE" after a remap,
 * "unmapped" after an unmap; stdout is flushed at each line.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define PAGE 4096u

static volatile sig_atomic_t want_remap, want_unmap, want_exit;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_remap = 1;
	else if (sig == SIGUSR2)
		want_unmap = 1;
	else
		want_exit = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *map_area(uint64_t size, int fd, void *hint)
{
	char *m;

	if (fd >= 0)
		m = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	else
		m = mmap(hint, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("damon_target: mmap");
		exit(1);
	}
	memset(m, 1, size);
	if (fd >= 0)
		msync(m, size, MS_SYNC);
	return m;
}

int main(int argc, char **argv)
{
	double seconds = 3600, unmap_at = -1, remap_at = -1, warmup = 0;
	uint64_t size, hot_off, hot_len, sweeps = 0, done = 0, t0;
	volatile char *base;
	const char *file = NULL;
	int fd = -1;

	if (argc < 4) {
		fprintf(stderr, "usage: damon_target SIZE HOT_OFF HOT_LEN "
			"[--seconds S] [--sweeps N] [--unmap-at S] "
			"[--remap-at S] [--file PATH]\n");
		return 2;
	}
	size = strtoull(argv[1], NULL, 0) * MiB;
	hot_off = strtoull(argv[2], NULL, 0) * MiB;
	hot_len = strtoull(argv[3], NULL, 0) * MiB;
	for (int i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--sweeps"))
			sweeps = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--unmap-at"))
			unmap_at = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--remap-at"))
			remap_at = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--warmup"))
			warmup = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--file"))
			file = argv[i + 1];
	}
	if (hot_off + hot_len > size)
		return 2;
	if (file) {
		fd = open(file, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
			perror("damon_target: file");
			return 1;
		}
	}
	signal(SIGUSR1, on_signal);
	signal(SIGUSR2, on_signal);
	signal(SIGTERM, on_signal);
	base = map_area(size, fd, NULL);
	printf("ready %p\n", (void *)base);
	fflush(stdout);

	/* untimed: the monitor arms what it arms once, faults are paid */
	for (t0 = now_ns(); sweeps && now_ns() - t0 < warmup * 1e9;)
		for (uint64_t o = 0; o < hot_len; o += PAGE)
			base[hot_off + o]++;
	t0 = now_ns();
	for (;;) {
		double t = (double)(now_ns() - t0) / 1e9;

		if (t >= seconds || (sweeps && done >= sweeps) || want_exit)
			break;
		if (want_unmap || (unmap_at >= 0 && t >= unmap_at)) {
			want_unmap = 0;
			if (base)
				munmap((void *)base, size);
			base = NULL;
			unmap_at = -1;
			printf("unmapped\n");
			fflush(stdout);
		}
		if ((want_remap || (remap_at >= 0 && t >= remap_at)) && base) {
			want_remap = 0;
			/* well away from the old one: a new layout */
			char *hint = (char *)base + size + 1024 * MiB;
			volatile char *nb = map_area(size, fd, hint);

			munmap((void *)base, size);
			base = nb;
			remap_at = -1;
			printf("remapped %p\n", (void *)base);
			fflush(stdout);
		}
		if (!base) {
			usleep(1000);
			continue;
		}
		for (uint64_t o = 0; o < hot_len; o += PAGE)
			base[hot_off + o]++;
		done++;
	}
	if (sweeps)
		printf("elapsed_ns %llu\n", (unsigned long long)(now_ns() - t0));
	printf("done %llu\n", (unsigned long long)done);
	fflush(stdout);
	return 0;
}
