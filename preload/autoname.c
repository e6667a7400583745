// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmemlens-autoname.so: names the anonymous memory of an unmodified
 * program, through ml_name_anon() (the kernel's prctl or the memlens
 * registry), so that `memlens names` and `memlens maps` can tell it apart:
 *
 *   stack:TID      each thread's stack (pthread_create), named by the
 *                  thread itself as it starts
 *   malloc:arena   the 64 MiB heaps of glibc malloc's thread arenas
 *   malloc:mmap    blocks glibc malloc serves with mmap() (128 KiB and up
 *                  by default); the name goes before the block does
 *
 *   LD_PRELOAD=/usr/lib/.../libmemlens-autoname.so program ...
 *
 * Blocks are recognised from glibc's chunk headers (the size word before
 * each block: IS_MMAPPED, NON_MAIN_ARENA), only when the allocator really
 * is glibc's; under another malloc only stacks are named. The library
 * exports nothing but the functions it wraps (and the munmap family, which
 * drops names as the kernel does); its copy of the names code is hidden.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memlens/names.h>

#define EXPORT __attribute__((visibility("default")))

/* glibc malloc's chunk header: the size word before the block */
#define CHUNK_IS_MMAPPED 0x2
#define CHUNK_NON_MAIN_ARENA 0x4
#define CHUNK_FLAGS 0x7
/* HEAP_MAX_SIZE: 2 * DEFAULT_MMAP_THRESHOLD_MAX, 64 MiB on 64-bit */
#define ARENA_HEAP_MAX (2 * 4 * 1024 * 1024 * sizeof(long))
#define MAX_ARENA_HEAPS 256

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static struct {
	int state; /* 0 unresolved, 1 resolving, 2 ready */
	bool glibc;
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	int (*pthread_create)(pthread_t *, const pthread_attr_t *,
			      void *(*)(void *), void *);
} real;

/* Arena heaps named so far (a heap keeps its address for its life). */
static uintptr_t arena_heaps[MAX_ARENA_HEAPS];
static __thread uintptr_t last_heap;
/* Set while this thread names: the allocations naming makes are not named. */
static __thread bool naming;

static void resolve(void)
{
	if (__atomic_load_n(&real.state, __ATOMIC_ACQUIRE) == 2)
		return;
	real.state = 1;
	real.malloc = dlsym(RTLD_NEXT, "malloc");
	real.calloc = dlsym(RTLD_NEXT, "calloc");
	real.realloc = dlsym(RTLD_NEXT, "realloc");
	real.free = dlsym(RTLD_NEXT, "free");
	real.memalign = dlsym(RTLD_NEXT, "memalign");
	real.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real.pthread_create = dlsym(RTLD_NEXT, "pthread_create");
	if (!real.malloc || !real.calloc || !real.realloc || !real.free ||
	    !real.memalign || !real.posix_memalign || !real.aligned_alloc) {
		real.malloc = __libc_malloc;
		real.calloc = __libc_calloc;
		real.realloc = __libc_realloc;
		real.free = __libc_free;
		real.memalign = __libc_memalign;
	}
	/* glibc's malloc is __libc_malloc under another name */
	real.glibc = real.malloc == __libc_malloc;
	__atomic_store_n(&real.state, 2, __ATOMIC_RELEASE);
}

/* While resolving (dlsym may allocate), glibc's own allocator serves. */
static inline bool ready(void)
{
	if (__builtin_expect(__atomic_load_n(&real.state, __ATOMIC_ACQUIRE) == 2, 1))
		return true;
	if (real.state == 0)
		resolve();
	return real.state == 2;
}

static void name(uintptr_t start, size_t len, const char *what)
{
	if (naming)
		return;
	naming = true;
	(void)ml_name_anon((void *)start, len, what);
	naming = false;
}

static inline size_t chunk_size_word(const void *p)
{
	return ((const size_t *)p)[-1];
}

/* The mapping behind an mmapped chunk: [*start, *start + *len). */
static void mmapped_region(const void *p, uintptr_t *start, size_t *len)
{
	size_t prev = ((const size_t *)p)[-2]; /* offset from the mapping */
	uintptr_t chunk = (uintptr_t)p - 2 * sizeof(size_t);

	*start = chunk - prev;
	*len = prev + (chunk_size_word(p) & ~(size_t)CHUNK_FLAGS);
}

static bool remember_heap(uintptr_t heap)
{
	for (size_t i = 0; i < MAX_ARENA_HEAPS; i++) {
		uintptr_t cur = __atomic_load_n(&arena_heaps[i], __ATOMIC_RELAXED);

		if (cur == heap)
			return false;
		if (cur == 0 &&
		    __atomic_compare_exchange_n(&arena_heaps[i], &cur, heap, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
		if (cur == heap)
			return false;
	}
	return false; /* the set is full: stop naming new heaps */
}

/* A block glibc just handed out: name what it came from, once. */
static void seen_block(void *p)
{
	size_t word;

	if (!p || !real.glibc || naming)
		return;
	word = chunk_size_word(p);
	if (word & CHUNK_IS_MMAPPED) {
		uintptr_t start;
		size_t len;

		mmapped_region(p, &start, &len);
		name(start, len, "malloc:mmap");
	} else if (word & CHUNK_NON_MAIN_ARENA) {
		uintptr_t heap = ((uintptr_t)p - 2 * sizeof(size_t)) &
				 ~(uintptr_t)(ARENA_HEAP_MAX - 1);

		if (heap == last_heap)
			return;
		last_heap = heap;
		if (remember_heap(heap))
			name(heap, ARENA_HEAP_MAX, "malloc:arena");
	}
}

/* A block about to go back: an mmapped one is unmapped inside glibc. */
static void leaving_block(void *p)
{
	uintptr_t start;
	size_t len;

	if (!p || !real.glibc || naming ||
	    !(chunk_size_word(p) & CHUNK_IS_MMAPPED))
		return;
	mmapped_region(p, &start, &len);
	name(start, len, NULL);
}

/* ---- the allocator ------------------------------------------------------------- */

EXPORT void *malloc(size_t n)
{
	void *p;

	if (!ready())
		return __libc_malloc(n);
	p = real.malloc(n);
	seen_block(p);
	return p;
}

EXPORT void *calloc(size_t n, size_t size)
{
	void *p;

	if (!ready())
		return __libc_calloc(n, size);
	p = real.calloc(n, size);
	seen_block(p);
	return p;
}

EXPORT void *realloc(void *old, size_t n)
{
	void *p;

	if (!ready())
		return __libc_realloc(old, n);
	/* glibc may mremap an mmapped block: its old place loses the name */
	leaving_block(old);
	p = real.realloc(old, n);
	seen_block(p ? p : old);
	return p;
}

EXPORT void free(void *p)
{
	if (!ready()) {
		__libc_free(p);
		return;
	}
	leaving_block(p);
	real.free(p);
}

EXPORT void *memalign(size_t align, size_t n)
{
	void *p;

	if (!ready())
		return __libc_memalign(align, n);
	p = real.memalign(align, n);
	seen_block(p);
	return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	int err;

	if (!ready()) {
		*out = __libc_memalign(align, n);
		return *out ? 0 : ENOMEM;
	}
	err = real.posix_memalign(out, align, n);
	if (!err)
		seen_block(*out);
	return err;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	void *p;

	if (!ready())
		return __libc_memalign(align, n);
	p = real.aligned_alloc(align, n);
	seen_block(p);
	return p;
}

/* ---- threads ------------------------------------------------------------------- */

struct start {
	void *(*fn)(void *);
	void *arg;
};

/* The new thread names its own stack, then runs the program's function. */
static void *thread_start(void *p)
{
	struct start s = *(struct start *)p;
	pthread_attr_t attr;
	char what[32];
	void *addr;
	size_t size;

	real.free(p);
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			long page = sysconf(_SC_PAGESIZE);
			uintptr_t lo = ((uintptr_t)addr + (uintptr_t)page - 1) &
				       ~((uintptr_t)page - 1);
			uintptr_t hi = ((uintptr_t)addr + size) & ~((uintptr_t)page - 1);

			snprintf(what, sizeof(what), "stack:%d", (int)gettid());
			if (hi > lo)
				name(lo, hi - lo, what);
		}
		pthread_attr_destroy(&attr);
	}
	return s.fn(s.arg);
}

EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	struct start *s;
	int err;

	if (!ready() || !real.pthread_create)
		return EAGAIN;
	s = real.malloc(sizeof(*s));
	if (!s)
		return real.pthread_create(t, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	err = real.pthread_create(t, attr, thread_start, s);
	if (err)
		real.free(s);
	return err;
}
