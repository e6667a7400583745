// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Context capture: one allocation's pid, tid, comm, size, time and call
 * stack into the bounded ring of the alloctag format (alloctag.h). Shared
 * by the tagged allocation code (alloc.c) and the runtime profiler
 * (preload/alloc_preload.c), each with its own ring.
 *
 * It runs inside an allocation, so it allocates nothing: libunwind's
 * local unwinder keeps its caches in its own mmap'd pools.
 */
#include <sys/prctl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "capture.h"

/*
 * In the section of alloc.c's allocation path, whose bounds are how
 * libmemlens tells its own frames (the preload tells them by object).
 */
__attribute__((section("memlens_alloc_text"))) void
alloctag_capture(struct ml_alloc_ring *ring, const struct ml_alloc_tag *tag,
		 size_t size, bool (*own_frame)(const void *ip))
{
	uint64_t n = __atomic_fetch_add(&ring->head, 1, __ATOMIC_RELAXED);
	struct ml_alloc_ctx *c = &ring->slots[n % ML_ALLOC_RING_SLOTS];
	void *frames[ML_ALLOC_CTX_FRAMES + 8];
	struct timespec ts;
	int nr, skip;

	/* seq 0 first: a reader copying this slot now sees it torn */
	__atomic_store_n(&c->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->tag = (uintptr_t)tag;
	c->size = size;
	c->ts_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	c->pid = getpid();
	c->tid = gettid();
	memset(c->comm, 0, sizeof(c->comm));
	prctl(PR_GET_NAME, c->comm, 0, 0, 0);
	/* the record starts at the program's call into the allocator: drop
	 * the profiler's own frames, told by address (counting frames would
	 * miss inlining and tail calls) */
	nr = unw_backtrace(frames, ML_ALLOC_CTX_FRAMES + 8);
	for (skip = 0; skip < nr && own_frame(frames[skip]); skip++)
		;
	nr -= skip;
	if (nr > ML_ALLOC_CTX_FRAMES)
		nr = ML_ALLOC_CTX_FRAMES;
	for (int i = 0; i < nr; i++)
		c->frames[i] = (uintptr_t)frames[i + skip];
	c->nr_frames = (uint32_t)nr;
	__atomic_store_n(&c->seq, n + 1, __ATOMIC_RELEASE);
}

void alloctag_ring_init(struct ml_alloc_ring *ring)
{
	ring->magic = ML_ALLOC_RING_MAGIC;
	ring->nr_slots = ML_ALLOC_RING_SLOTS;
	ring->record_size = sizeof(struct ml_alloc_ctx);
}
