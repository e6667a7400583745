// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Tagged allocation: the out-of-line halves of ml_malloc() and friends,
 * the block header, the per-thread counter shards, context capture and the
 * switch. (registry.c keeps the sections and the runtime tags.)
 *
 * This file holds the module's process-wide state, which cannot be per
 * context: the allocation macros are called from anywhere in the program
 * without a handle, and an outside reader must find the state from one
 * exported symbol (memlens_alloc_root). It is one root object, one capture
 * ring, one bitmap of shard owners and the chunks counters are cut from.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "internal.h"

#define LONG_HDR ((uint32_t)sizeof(struct ml_alloc_hdr))
#define SHORT_HDR ((uint32_t)sizeof(struct ml_alloc_hdr_short))
#define SHARED_SHARD (ML_ALLOC_NR_SHARDS - 1)
#define RT_SIZE (ML_ALLOC_RT_HDR_SIZE + ML_ALLOC_NR_SHARDS * ML_ALLOC_SHARD_STRIDE)
/* the largest alignment ml_aligned_alloc() takes (offset is 32 bits) */
#define MAX_ALIGN (1u << 20)

_Static_assert(sizeof(struct ml_alloc_tag) == ML_ALLOC_TAG_SIZE, "tag size");
_Static_assert(sizeof(struct ml_alloc_hdr) == 32, "header size");
_Static_assert(sizeof(struct ml_alloc_hdr_short) == ML__HDR_SHORT, "short header");
_Static_assert(sizeof(struct ml_alloc_rt) == ML_ALLOC_RT_HDR_SIZE, "rt size");
_Static_assert(sizeof(struct ml_alloc_ctx) == 512, "record size");
_Static_assert(offsetof(struct ml_alloc_ring, slots) == 64, "ring header");
_Static_assert(offsetof(struct ml_alloc_tag_block, tags) ==
	       ML_ALLOC_BLOCK_HDR_SIZE, "block header");
_Static_assert(sizeof(struct ml_alloc_root) == 128, "root size");

/* ---- state --------------------------------------------------------------- */

/*
 * Process-wide by nature, the one place in libmemlens with global state (as
 * the names writer's registry): a process has one malloc, every call
 * site's macro must reach the switch and its counters without a context
 * argument, and memlens allocinfo finds them from outside through
 * memlens_alloc_root.
 */
int ml_alloc_enabled = 1;
int ml_alloc_tagged;
__thread struct ml_alloc_tag *ml_alloc_current_tag
	__attribute__((tls_model("initial-exec")));

/* this thread's shard, as a byte offset in ml_alloc_rt: 0 until its first
 * count (the header's inline fast path reads it) */
__thread uint32_t ml__alloc_shard_off __attribute__((tls_model("initial-exec")));
/* bit i set: shard i is owned by a live thread */
static uint32_t shard_owners;
static pthread_key_t shard_key;
static pthread_once_t shard_once = PTHREAD_ONCE_INIT;

/* profiling has been on since start-up: a header-less free is a foreign
 * pointer, not a block from a time profiling was off */
static int never_off = 1;
static int foreign_warned;

/* 128 KiB in .bss: its pages cost nothing until capture writes them;
 * its header is filled in by alloc_init() */
static struct ml_alloc_ring ring;

/*
 * The root, exported as memlens_alloc_root for outside readers (with
 * default visibility even in a copy of this file built hidden, as in an
 * LD_PRELOAD library), but used here through a local name: a process with
 * two copies (libmemlens and a preloaded profiler) then has two roots, each
 * copy writing its own, instead of both binding to the first one loaded.
 */
struct ml_alloc_root alloctag_root = {
	ML__ALLOC_ROOT_FIELDS(ML_ALLOC_MODE_TAGS),
	.ring = &ring,
};
extern struct ml_alloc_root memlens_alloc_root
	__attribute__((alias("alloctag_root"), visibility("default")));

/* what _noprof allocations outside an ML_ALLOC_HOOKS() site are charged to */
static struct ml_alloc_tag untagged
	__attribute__((section(ML_ALLOC_SECTION), ML__RETAIN used)) = {
	.magic = ML_ALLOC_TAG_MAGIC,
	.filename = "(untagged)",
	.function = "",
	.flags = ML_ALLOC_TAG_UNTAGGED,
};

/* ---- memory of the profiler itself ------------------------------------------ */

/*
 * Counters, runtime tag blocks and the strings of orphaned tags live as
 * long as the process and are never freed: they come from mmap'd chunks,
 * not malloc, so that they neither show in the program's heap nor recurse
 * into an interposed malloc (the runtime profiler, libmemlens-alloc.so,
 * makes tags from inside malloc).
 */
#define PERM_CHUNK (256u << 10)
static pthread_mutex_t perm_lock = PTHREAD_MUTEX_INITIALIZER;
static char *perm_next, *perm_end;

void *alloctag_perm_alloc(size_t size)
{
	void *p = NULL;

	size = (size + 63) & ~(size_t)63;
	if (size > PERM_CHUNK)
		return NULL;
	pthread_mutex_lock(&perm_lock);
	if ((size_t)(perm_end - perm_next) < size) {
		char *c = mmap(NULL, PERM_CHUNK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (c == MAP_FAILED)
			goto out;
		/* short block headers keep counters in 47 bits; mmap without a
		 * hint stays below that (x86-64 and arm64 alike) */
		if ((uintptr_t)c + PERM_CHUNK > (1ull << ML_ALLOC_HDR_RT_BITS)) {
			munmap(c, PERM_CHUNK);
			goto out;
		}
		perm_next = c;
		perm_end = c + PERM_CHUNK;
	}
	p = perm_next; /* zeroed: fresh anonymous memory, used once */
	perm_next += size;
out:
	pthread_mutex_unlock(&perm_lock);
	return p;
}

char *alloctag_perm_strdup(const char *s)
{
	size_t n = s ? strlen(s) + 1 : 0;
	char *p = n ? alloctag_perm_alloc(n) : NULL;

	if (p)
		memcpy(p, s, n);
	return p;
}

/* ---- counters ---------------------------------------------------------------- */

static inline uint32_t shard_off(int i)
{
	return ML_ALLOC_RT_HDR_SIZE + (uint32_t)i * ML_ALLOC_SHARD_STRIDE;
}

static inline struct ml_alloc_shard *shard_at(struct ml_alloc_rt *rt, int i)
{
	return (struct ml_alloc_shard *)((char *)rt + shard_off(i));
}

static void shard_release(void *arg)
{
	int i = (int)(uintptr_t)arg - 1;

	/* later allocations of this exiting thread use the shared shard */
	ml__alloc_shard_off = ML__SHARED_SHARD_OFF;
	if (i >= 0 && i < SHARED_SHARD)
		__atomic_fetch_and(&shard_owners, ~(1u << i), __ATOMIC_RELEASE);
}

static void shard_key_init(void)
{
	if (pthread_key_create(&shard_key, shard_release) != 0)
		shard_key = (pthread_key_t)-1;
}

/*
 * Claim the lowest free shard for this thread; the acquire pairs with the
 * release of its previous owner, so its plain stores are seen here.
 */
static __attribute__((noinline)) int shard_claim(void)
{
	uint32_t owners = __atomic_load_n(&shard_owners, __ATOMIC_RELAXED);
	int i;

	pthread_once(&shard_once, shard_key_init);
	for (;;) {
		uint32_t free_bits = ~owners & ((1u << SHARED_SHARD) - 1);

		if (!free_bits || shard_key == (pthread_key_t)-1) {
			ml__alloc_shard_off = ML__SHARED_SHARD_OFF;
			return SHARED_SHARD;
		}
		i = __builtin_ctz(free_bits);
		if (__atomic_compare_exchange_n(&shard_owners, &owners,
						owners | (1u << i), false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
	}
	if (pthread_setspecific(shard_key, (void *)(uintptr_t)(i + 1)) != 0) {
		__atomic_fetch_and(&shard_owners, ~(1u << i), __ATOMIC_RELEASE);
		i = SHARED_SHARD;
	}
	ml__alloc_shard_off = shard_off(i);
	return i;
}

int64_t alloctag_rt_sum(struct ml_alloc_rt *rt, bool calls)
{
	int64_t v = 0;

	if (!rt)
		return 0;
	for (int i = 0; i < ML_ALLOC_NR_SHARDS; i++) {
		struct ml_alloc_shard *s = shard_at(rt, i);

		v += __atomic_load_n(calls ? &s->calls : &s->bytes,
				     __ATOMIC_RELAXED);
	}
	return v;
}

/*
 * The slow half of ml__alloc_count() (alloctag.h): this thread has no
 * shard yet, or shares the last one with atomic adds.
 */
void ml__alloc_count_slow(struct ml_alloc_rt *rt, int64_t bytes, int64_t calls)
{
	struct ml_alloc_shard *s;

	if (ml__alloc_shard_off == 0 && shard_claim() != SHARED_SHARD) {
		ml__alloc_count(rt, bytes, calls);
		return;
	}
	s = shard_at(rt, SHARED_SHARD);
	__atomic_fetch_add(&s->bytes, bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->calls, calls, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) struct ml_alloc_rt *
rt_create(struct ml_alloc_tag *tag)
{
	struct ml_alloc_rt *rt = alloctag_perm_alloc(RT_SIZE), *old = NULL;

	if (!rt)
		return NULL;
	rt->magic = ML_ALLOC_RT_MAGIC;
	rt->nr_shards = ML_ALLOC_NR_SHARDS;
	rt->shard_stride = ML_ALLOC_SHARD_STRIDE;
	rt->tag = tag;
	/* the inline ml_malloc() makes blocks once a site has counters:
	 * from then on ml_free() must check headers */
	__atomic_store_n(&ml_alloc_tagged, 1, __ATOMIC_RELAXED);
	if (__atomic_compare_exchange_n(&tag->rt, &old, rt, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return rt;
	/* another thread made them first: these few bytes stay unused */
	return old;
}

/*
 * Where a block goes when its site's counters could not be made (no
 * memory): counted, but in counters no tag points at, so no report shows
 * them. Headers then always hold counters, and ml_free() never tests.
 */
static struct {
	struct ml_alloc_rt hdr;
	struct ml_alloc_shard shards[ML_ALLOC_NR_SHARDS][ML_ALLOC_SHARD_STRIDE /
							  sizeof(struct ml_alloc_shard)];
} lost_rt __attribute__((aligned(64)));
_Static_assert(sizeof(lost_rt) == RT_SIZE, "lost_rt is a whole ml_alloc_rt");

static inline struct ml_alloc_rt *rt_get(struct ml_alloc_tag *tag)
{
	struct ml_alloc_rt *rt = __atomic_load_n(&tag->rt, __ATOMIC_ACQUIRE);

	return likely(rt) ? rt : rt_create(tag);
}

struct ml_alloc_rt *ml_alloctag_charge(struct ml_alloc_tag *tag, int64_t bytes)
{
	struct ml_alloc_rt *rt = rt_get(tag);

	if (rt)
		ml__alloc_count(rt, bytes, 1);
	return rt;
}

void ml_alloctag_uncharge(struct ml_alloc_rt *rt, int64_t bytes)
{
	if (rt)
		ml__alloc_count(rt, -bytes, -1);
}

/* ---- context capture ------------------------------------------------------------ */

/*
 * The allocation path (ml__*(), finish(), capture()) is placed in the
 * section memlens_alloc_text, so that a captured stack can drop exactly
 * its frames: the linker's __start_/__stop_ symbols bound it.
 */
#define ALLOC_TEXT __attribute__((section("memlens_alloc_text")))
extern const char __start_memlens_alloc_text[] __attribute__((visibility("hidden")));
extern const char __stop_memlens_alloc_text[] __attribute__((visibility("hidden")));

static bool in_alloc_text(const void *ip)
{
	/* a return address points after the call: ip - 1 is in the caller */
	const char *p = (const char *)ip - 1;

	return p >= __start_memlens_alloc_text && p < __stop_memlens_alloc_text;
}

static ALLOC_TEXT __attribute__((noinline)) void capture(struct ml_alloc_tag *tag,
							 size_t size)
{
	alloctag_capture(&ring, tag, size, in_alloc_text);
}

/* ---- the block header ---------------------------------------------------------- */

/* What a block's header says. */
struct blk {
	struct ml_alloc_rt *rt;	/* counters charged, or NULL */
	size_t size;		/* bytes requested */
	uint32_t off;		/* p - the pointer malloc returned */
};

/* The header a block of @size gets straight from malloc. */
static inline uint32_t hdr_for(size_t size)
{
	return size < ML_ALLOC_HDR_SHORT_MAX ? SHORT_HDR : LONG_HDR;
}

/* The short form exactly when @off is SHORT_HDR (see alloctag.h). */
static inline void write_hdr(char *p, uint32_t off, struct ml_alloc_rt *rt,
			     size_t size)
{
	if (off == SHORT_HDR) {
		struct ml_alloc_hdr_short *h = (void *)(p - SHORT_HDR);

		h->rt_size = (uintptr_t)rt | (uint64_t)size << ML_ALLOC_HDR_RT_BITS;
		h->canary = ML_ALLOC_HDR_SHORT_MAGIC ^ (uintptr_t)p;
	} else {
		struct ml_alloc_hdr *h = (void *)(p - LONG_HDR);

		h->size = size;
		h->rt = rt;
		h->offset = off;
		h->canary = ML_ALLOC_HDR_MAGIC ^ (uintptr_t)p;
	}
}

/*
 * Whether @p carries our header. The canary sits at p - 8, which for any
 * glibc block is its chunk's size word, inside glibc's own chunk: readable.
 * A page-aligned pointer from another allocator may have nothing mapped
 * before it, so there the word is fetched with process_vm_readv on
 * ourselves, which fails instead of faulting. (The load reads allocator
 * memory outside the block: under ASan it is a function of its own that
 * ASan leaves alone, elsewhere it is inlined.)
 */
#if defined(__SANITIZE_ADDRESS__)
#define ML_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ML_ASAN 1
#endif
#endif
#ifdef ML_ASAN
#define CANARY_LOAD __attribute__((noinline, no_sanitize_address))
#else
#define CANARY_LOAD __attribute__((always_inline)) inline
#endif

static CANARY_LOAD uint64_t canary_load(const uint64_t *w)
{
	return *(const volatile uint64_t *)w;
}

static __attribute__((noinline)) uint64_t canary_load_careful(const uint64_t *w)
{
	struct iovec local, remote = { (void *)w, sizeof(uint64_t) };
	uint64_t canary;

	local = (struct iovec){ &canary, sizeof(canary) };
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) ==
	    (ssize_t)sizeof(canary))
		return canary;
	/* unreadable: not ours. Refused (a seccomp filter): read it, our
	 * own page-aligned blocks must not leak */
	return errno == EFAULT ? 0 : canary_load(w);
}

/* Whether @p carries our header; if so, *@b is what it says. */
static __attribute__((always_inline)) inline bool read_hdr(void *p,
							  struct blk *b)
{
	uintptr_t a = (uintptr_t)p;
	const uint64_t *cw = (const uint64_t *)(a - 8);
	uint64_t canary;

	if (unlikely(a & 15))
		return false;
	canary = likely(a & 4095) ? canary_load(cw) : canary_load_careful(cw);
	if (likely(canary == (ML_ALLOC_HDR_SHORT_MAGIC ^ a))) {
		uint64_t w = ((const struct ml_alloc_hdr_short *)(a - SHORT_HDR))->rt_size;

		b->rt = (struct ml_alloc_rt *)(uintptr_t)(w & ML__RT_MASK);
		b->size = w >> ML_ALLOC_HDR_RT_BITS;
		b->off = SHORT_HDR;
		return true;
	}
	if (canary == (ML_ALLOC_HDR_MAGIC ^ a)) {
		const struct ml_alloc_hdr *h = (const void *)(a - LONG_HDR);

		/* the offset back to malloc's pointer must be one we write */
		if (h->offset < LONG_HDR || h->offset > MAX_ALIGN)
			return false;
		b->rt = h->rt;
		b->size = h->size;
		b->off = h->offset;
		return true;
	}
	return false;
}

static void foreign(void *p)
{
	static const char msg[] =
		"memlens: ml_free/ml_realloc of a pointer not allocated through "
		"memlens (freed with free(); warned once)\n";

	(void)p;
	__atomic_fetch_add(&alloctag_root.nr_foreign, 1, __ATOMIC_RELAXED);
	/* the one print of the library: the program asked for profiling and
	 * a block escaped it; there is no caller to return an error to */
	if (__atomic_load_n(&never_off, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&foreign_warned, 1, __ATOMIC_RELAXED))
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
}

/* The site an allocation is charged to. */
static inline struct ml_alloc_tag *site(struct ml_alloc_tag *tag)
{
	struct ml_alloc_tag *cur = ml_alloc_current_tag;

	if (cur)
		return cur;
	return tag ? tag : &untagged;
}

/* Write the header of a fresh block and charge its site. */
static ALLOC_TEXT __attribute__((always_inline)) inline void *finish(void *base, uint32_t off,
					      struct ml_alloc_tag *tag,
					      size_t size)
{
	char *p = (char *)base + off;
	struct ml_alloc_rt *rt = rt_get(tag);

	if (unlikely(!rt))
		rt = &lost_rt.hdr;
	write_hdr(p, off, rt, size);
	/* from here ml_free() checks headers; the pointer reaches another
	 * thread's ml_free() only through synchronization of the program's
	 * own, which orders this store before that thread's load */
	if (unlikely(!__atomic_load_n(&ml_alloc_tagged, __ATOMIC_RELAXED)))
		__atomic_store_n(&ml_alloc_tagged, 1, __ATOMIC_RELAXED);
	ml__alloc_count(rt, (int64_t)size, 1);
	if (unlikely(__atomic_load_n(&tag->capture, __ATOMIC_RELAXED)))
		capture(tag, size);
	return p;
}

/* ---- the allocation functions --------------------------------------------------- */

/*
 * Our blocks do not start a page (alignments up to 16): ml_free() reads
 * the header of a page-aligned pointer with a system call, since the
 * header of a foreign one may lie on an unmapped page. glibc hands out
 * a block whose pointer would start a page about once in 256; that block
 * moves to a new one with a long header, where the pointer is 32 or 48
 * bytes in, whichever does not start a page. Out of memory: the block
 * stays where it is.
 */
static inline bool starts_page(const void *base, uint32_t off)
{
	return !(((uintptr_t)base + off) & 4095);
}

static __attribute__((noinline)) void *move_off_page(void *base, uint32_t old_off,
						      size_t size, uint32_t *off)
{
	char *b = malloc(size + LONG_HDR + 16);

	*off = old_off;
	if (!b)
		return base;
	*off = starts_page(b, LONG_HDR) ? LONG_HDR + 16 : LONG_HDR;
	memcpy(b + *off, (char *)base + old_off, size);
	free(base);
	return b;
}

/* in the allocation text: a captured stack drops its frame too */
static ALLOC_TEXT __attribute__((noinline)) void *
finish_off_page(void *base, uint32_t old_off, struct ml_alloc_tag *tag,
		size_t size)
{
	uint32_t off;

	base = move_off_page(base, old_off, size, &off);
	return finish(base, off, site(tag), size);
}

/*
 * Every entry point reaches finish() directly (this is inlined into each),
 * so that a captured stack always starts 3 frames below capture().
 */
static __attribute__((always_inline)) inline void *
do_malloc(struct ml_alloc_tag *tag, size_t size)
{
	uint32_t hdr = hdr_for(size);
	void *base;

	if (unlikely(size > SIZE_MAX / 2)) {
		errno = ENOMEM;
		return NULL;
	}
	base = malloc(size + hdr);
	if (unlikely(!base))
		return NULL;
	if (unlikely(starts_page(base, hdr)))
		return finish_off_page(base, hdr, tag, size);
	return finish(base, hdr, site(tag), size);
}

ALLOC_TEXT void *ml__malloc(struct ml_alloc_tag *tag, size_t size)
{
	return do_malloc(tag, size);
}

/* The inline ml_malloc()'s way out: malloc failed, or its block would
 * start a page. */
ALLOC_TEXT void *ml__malloc_placed(struct ml_alloc_tag *tag, void *base,
				   size_t size)
{
	if (!base)
		return NULL;
	return finish_off_page(base, SHORT_HDR, tag, size);
}

ALLOC_TEXT void *ml__calloc(struct ml_alloc_tag *tag, size_t nmemb, size_t size)
{
	uint32_t hdr;
	size_t total;
	void *base;

	if (__builtin_mul_overflow(nmemb, size, &total) || total > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	hdr = hdr_for(total);
	base = calloc(1, total + hdr);
	if (!base)
		return NULL;
	if (unlikely(starts_page(base, hdr)))
		return finish_off_page(base, hdr, tag, total); /* copies the zeros */
	return finish(base, hdr, site(tag), total);
}

ALLOC_TEXT void *ml__aligned_alloc(struct ml_alloc_tag *tag, size_t align, size_t size)
{
	uint32_t off;
	void *base;

	if (!align || (align & (align - 1)) || align > MAX_ALIGN) {
		errno = EINVAL;
		return NULL;
	}
	if (align <= 16)
		return do_malloc(tag, size);
	if (size > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	/* the pointer is @align past the start: room for the header, and
	 * still aligned */
	off = align < LONG_HDR ? LONG_HDR : (uint32_t)align;
	/* posix_memalign: C11's aligned_alloc wants a multiple of align */
	if (posix_memalign(&base, align, off + size) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	return finish(base, off, site(tag), size);
}

static __attribute__((always_inline)) inline char *
do_strndup(struct ml_alloc_tag *tag, const char *s, size_t n)
{
	size_t len = n == SIZE_MAX ? strlen(s) : strnlen(s, n);
	char *p = do_malloc(tag, len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

ALLOC_TEXT char *ml__strdup(struct ml_alloc_tag *tag, const char *s)
{
	return do_strndup(tag, s, SIZE_MAX);
}

ALLOC_TEXT char *ml__strndup(struct ml_alloc_tag *tag, const char *s, size_t n)
{
	return do_strndup(tag, s, n);
}

void ml__free(void *p)
{
	struct blk b;

	if (!p)
		return;
	if (unlikely(!read_hdr(p, &b))) {
		if (ml_alloc_enabled)
			foreign(p);
		free(p);
		return;
	}
	if (likely(b.rt))
		ml__alloc_count(b.rt, -(int64_t)b.size, -1);
	free((char *)p - b.off);
}

ALLOC_TEXT void *ml__realloc(struct ml_alloc_tag *tag, void *p, size_t size)
{
	struct ml_alloc_tag *t;
	char *base, *q;
	struct blk old;
	uint32_t hdr;

	if (!p)
		return ml_alloc_enabled ? do_malloc(tag, size) : malloc(size);
	if (size == 0) { /* glibc's realloc(p, 0): free, NULL */
		ml__free(p);
		return NULL;
	}
	if (!read_hdr(p, &old)) {
		size_t have;

		if (!ml_alloc_enabled)
			return realloc(p, size);
		/* make it ours: a tagged copy */
		foreign(p);
		q = do_malloc(tag, size);
		if (!q)
			return NULL;
		have = malloc_usable_size(p);
		memcpy(q, p, have < size ? have : size);
		free(p);
		return q;
	}
	/* the new size is charged to this call site; while profiling is off,
	 * to the block's own site, so that its free takes off what it added */
	t = ml_alloc_enabled ? site(tag) : old.rt ? old.rt->tag : &untagged;
	if (size > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	hdr = hdr_for(size);
	if (old.off != hdr) {
		/* aligned block (realloc keeps no alignment beyond malloc's),
		 * one moved off a page start, or one that changes header form */
		q = do_malloc(t, size);
		if (!q)
			return NULL;
		memcpy(q, p, old.size < size ? old.size : size);
		ml__free(p);
		return q;
	}
	base = realloc((char *)p - hdr, size + hdr);
	if (!base)
		return NULL; /* p is untouched, and so are the counters */
	if (old.rt)
		ml__alloc_count(old.rt, -(int64_t)old.size, -1);
	if (unlikely(starts_page(base, hdr))) {
		uint32_t off;

		base = move_off_page(base, hdr, size, &off);
		return finish(base, off, t, size);
	}
	return finish(base, hdr, t, size);
}

ALLOC_TEXT void *ml__reallocarray(struct ml_alloc_tag *tag, void *p, size_t nmemb,
		       size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return ml__realloc(tag, p, total);
}

size_t ml_alloc_usable_size(void *p)
{
	struct blk b;

	if (!p)
		return 0;
	if (!read_hdr(p, &b))
		return malloc_usable_size(p);
	return malloc_usable_size((char *)p - b.off) - b.off;
}

/* ---- the switch ------------------------------------------------------------------ */

bool ml_alloctag_enable(bool on)
{
	int old = __atomic_exchange_n(&ml_alloc_enabled, on ? 1 : 0,
				      __ATOMIC_RELAXED);

	if (!on)
		__atomic_store_n(&never_off, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&alloctag_root.enabled, on ? 1u : 0u,
			 __ATOMIC_RELAXED);
	return old != 0;
}

bool ml_alloctag_enabled(void)
{
	return __atomic_load_n(&ml_alloc_enabled, __ATOMIC_RELAXED) != 0;
}

/* Fork with the registry and the chunk allocator quiet, not halfway. */
static void atfork_prepare(void)
{
	alloctag_registry_lock(); /* the registry takes perm_lock inside it */
	pthread_mutex_lock(&perm_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&perm_lock);
	alloctag_registry_unlock();
}

/* The child of fork() has one thread: the shards of the others are free. */
static void atfork_child(void)
{
	uint32_t off = ml__alloc_shard_off;
	int i = off ? (int)((off - ML_ALLOC_RT_HDR_SIZE) / ML_ALLOC_SHARD_STRIDE) : -1;

	shard_owners = (i >= 0 && i < SHARED_SHARD) ? 1u << i : 0;
	alloctag_registry_fork_child();
	pthread_mutex_init(&perm_lock, NULL);
}

__attribute__((constructor(101))) static void alloc_init(void)
{
	const char *env = getenv("MEMLENS_ALLOC_PROFILING");

	alloctag_ring_init(&ring);
	lost_rt.hdr = (struct ml_alloc_rt){
		.magic = ML_ALLOC_RT_MAGIC,
		.nr_shards = ML_ALLOC_NR_SHARDS,
		.shard_stride = ML_ALLOC_SHARD_STRIDE,
		.tag = &untagged, /* a realloc while off charges it there */
	};
	alloctag_root.self = (uintptr_t)&alloctag_root;
	if (env && strcmp(env, "0") == 0)
		ml_alloctag_enable(false);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	alloctag_registry_init();
}

