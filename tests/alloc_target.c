// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An unmodified program for test_alloc_preload: plain malloc-family calls
 * at known lines. It prints its own truth, "expect LINE BYTES CALLS" (live
 * bytes and live allocations at exit of the call sites on line LINE,
 * from its loop counts and sizes; __LINE__ sits on the line of the call),
 * and "child PID" / "child-expect ..." for the child it forks. With
 * --wait it prints "capture-line LINE" (the call site of capture_site())
 * and "ready" at the end, then on each "a" from stdin makes CAPTURE_N
 * blocks of CAPTURE_SIZE bytes there and prints "done", until stdin
 * closes.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NR_THREAD_ALLOCS 1000

#define NR_MANY 40 /* more threads than counter shards (31 owned) */
#define MANY_ALLOCS 50

static void *keep[4096];
static void *many[NR_MANY][MANY_ALLOCS];
static int many_line;
static int nr_keep;
static int thread_line;

#define CAPTURE_N 5
#define CAPTURE_SIZE 77
static int capture_line;

/* A call site of its own, for context capture: its frame then main's. */
__attribute__((noinline)) static void *capture_site(size_t n)
{
	void *p = malloc(n); capture_line = __LINE__;

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return p;
}

static void expect(const char *who, int line, long bytes, long calls)
{
	printf("%s %d %ld %ld\n", who, line, bytes, calls);
}

static void *worker(void *arg)
{
	void **out = arg;

	for (int i = 0; i < NR_THREAD_ALLOCS; i++) {
		out[i] = malloc(16); thread_line = __LINE__;
	}
	return NULL;
}

/* Threads that start and end together: some share the last shard. */
static void *many_worker(void *arg)
{
	void **out = arg;

	for (int i = 0; i < MANY_ALLOCS; i++) {
		out[i] = malloc(8); many_line = __LINE__;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static void *t1[NR_THREAD_ALLOCS], *t2[NR_THREAD_ALLOCS];
	void *b[50], *p, *q;
	pthread_t th[2];
	int line, status;
	pid_t child;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < 100; i++) {
		keep[nr_keep++] = malloc(24); line = __LINE__;
	}
	expect("expect", line, 100 * 24, 100);

	for (int i = 0; i < 50; i++) {
		b[i] = calloc(10, 8); line = __LINE__;
	}
	for (int i = 0; i < 20; i++)
		free(b[i]);
	expect("expect", line, 30 * 80, 30); /* 50 made, 20 freed */

	p = malloc(10); line = __LINE__;
	expect("expect", line, 0, 0); /* moved by the realloc below */
	p = realloc(p, 1000); line = __LINE__;
	expect("expect", line, 1000, 1);
	keep[nr_keep++] = p;

	for (int i = 0; i < 7; i++) {
		int err = posix_memalign(&q, 64, 100); line = __LINE__;
		if (err)
			return 1;
		keep[nr_keep++] = q;
	}
	expect("expect", line, 700, 7);
	for (int i = 0; i < 3; i++) {
		keep[nr_keep++] = aligned_alloc(4096, 4096); line = __LINE__;
	}
	expect("expect", line, 3 * 4096, 3);
	keep[nr_keep++] = memalign(32, 48); line = __LINE__;
	expect("expect", line, 48, 1);
	keep[nr_keep++] = valloc(100); line = __LINE__;
	expect("expect", line, 100, 1);
	/* pvalloc rounds the size up to a page: 4096 bytes are asked for */
	keep[nr_keep++] = pvalloc(100); line = __LINE__;
	expect("expect", line, 4096, 1);
	keep[nr_keep++] = reallocarray(NULL, 5, 12); line = __LINE__;
	expect("expect", line, 60, 1);
	if (malloc_usable_size(keep[0]) < 24)
		printf("error usable size %zu\n", malloc_usable_size(keep[0]));

	for (int i = 0; i < 30; i++) {
		free(malloc(40)); line = __LINE__;
	}
	expect("expect", line, 0, 0);

	pthread_create(&th[0], NULL, worker, t1);
	pthread_create(&th[1], NULL, worker, t2);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	expect("expect", thread_line, 2 * NR_THREAD_ALLOCS * 16,
	       2 * NR_THREAD_ALLOCS);

	{
		pthread_t mt[NR_MANY];

		for (int i = 0; i < NR_MANY; i++)
			pthread_create(&mt[i], NULL, many_worker, many[i]);
		for (int i = 0; i < NR_MANY; i++)
			pthread_join(mt[i], NULL);
		expect("expect", many_line, NR_MANY * MANY_ALLOCS * 8,
		       NR_MANY * MANY_ALLOCS);
	}

	child = fork();
	if (child == 0) {
		for (int i = 0; i < 3; i++) {
			keep[nr_keep++] = malloc(33); line = __LINE__;
		}
		/* the child reports what it inherited, and its own */
		expect("child-expect", line, 99, 3);
		expect("child-expect", thread_line,
		       2 * NR_THREAD_ALLOCS * 16, 2 * NR_THREAD_ALLOCS);
		exit(0);
	}
	printf("child %d\n", (int)child);
	waitpid(child, &status, 0);
	printf("pid %d\n", (int)getpid());
	if (argc > 1 && strcmp(argv[1], "--wait") == 0) {
		char c;

		/* read from outside now (memlens allocinfo PID), then end */
		free(capture_site(1)); /* the site exists before it is asked for */
		printf("capture-line %d\n", capture_line);
		printf("ready\n");
		while (read(0, &c, 1) > 0) {
			if (c != 'a')
				continue;
			for (int i = 0; i < CAPTURE_N && nr_keep < 4096; i++)
				keep[nr_keep++] = capture_site(CAPTURE_SIZE);
			printf("done\n");
		}
	}
	return 0;
}
