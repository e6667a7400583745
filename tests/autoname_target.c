// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * autoname_target: an ordinary multi-threaded program that knows nothing
 * of memlens, for the libmemlens-autoname.so test. Three threads each
 * allocate small blocks (glibc gives each thread an arena) and one 1 MiB
 * block (served by mmap), write them, and wait. Prints "thread TID BLOCK"
 * per thread (BLOCK: the 1 MiB block's address, hex), then "ready PID", and
 * sleeps until killed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 3

static pthread_barrier_t started;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void *work(void *arg)
{
	char *small[100], *big;

	(void)arg;
	for (int i = 0; i < 100; i++) {
		small[i] = malloc(200);
		memset(small[i], i, 200);
		/* escape: clang elides a malloc whose memory nobody reads */
		__asm__ volatile("" : : "r"(small[i]) : "memory");
	}
	big = malloc(1 << 20);
	memset(big, 1, 1 << 20);
	__asm__ volatile("" : : "r"(big) : "memory");
	pthread_mutex_lock(&print_lock);
	printf("thread %d %lx\n", (int)gettid(), (unsigned long)big);
	pthread_mutex_unlock(&print_lock);
	pthread_barrier_wait(&started);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];

	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_barrier_init(&started, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, work, NULL))
			return 1;
	pthread_barrier_wait(&started);
	printf("ready %d\n", (int)getpid());
	for (;;)
		pause();
}
