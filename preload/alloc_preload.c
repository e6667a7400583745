// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmemlens-alloc.so: allocation profiling for unmodified programs, the
 * runtime half of seed 003's argument (return addresses looked up at run
 * time, against call-site tags compiled in: include/memlens/alloctag.h).
 *
 *   LD_PRELOAD=/usr/lib/.../libmemlens-alloc.so program ...
 *   MEMLENS_ALLOC_REPORT=FILE   write the report (allocinfo format, sites
 *                               symbolized to file:line and function) to
 *                               FILE at exit ("-": stderr; "%p" in FILE is
 *                               the pid, for programs that fork)
 *   MEMLENS_ALLOC_PROFILING=0   off: every call goes straight through
 *
 * The whole malloc family is interposed. Each allocation is keyed by its
 * return address (the instruction after the call to malloc): one site per
 * address, holding live bytes and live allocations in per-thread counter
 * shards. The sites are tags of the alloctag in-memory format (version 1,
 * flag ML_ALLOC_TAG_ADDR) in runtime tag blocks hung off the exported
 * root "memlens_alloc_root", so `memlens allocinfo PID` reads a running
 * program the same way it reads one built with ml_malloc().
 *
 * Every block we hand out carries a 16-byte header just before it: the
 * requested size and the distance to what the real allocator returned,
 * and the site's counters XOR a magic. The magic has bit 3 set and the
 * counters are 64-byte aligned, so the header's last word can never equal
 * the size word glibc keeps in the same place in its own blocks (a
 * multiple of 16 plus flag bits 0..2): a pointer that is not ours (the
 * bootstrap buffer aside, which is recognised by address) is told apart
 * with one load and given back to the real allocator as it is.
 *
 * Why process-wide state: an LD_PRELOAD interposer of malloc is one per
 * process by nature; everything is in one struct (prof) and the root.
 *
 * Known limit of return-address keying (the seed thread's point): a block
 * that libc allocates on the caller's behalf (strdup, fopen, qsort) is
 * charged to the call inside libc, not to the caller's line.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memlens/alloctag.h>
#include <memlens/symbolize.h>

#include "../lib/alloctag/capture.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS_IE __attribute__((tls_model("initial-exec")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define RA() ((uint64_t)(uintptr_t)__builtin_return_address(0))

/* ---- the block header ----------------------------------------------------- */

#define HDR_SIZE 16
#define HDR_MAGIC 0x5ac3e7f1d2b4a429ull /* low 6 bits 0x29: bit 3 set */
#define HDR_MAGIC_LOW (HDR_MAGIC & 63)
#define SIZE_BITS 40
#define SIZE_MAX_TRACKED ((1ull << SIZE_BITS) - 1)
#define OFF_MAX ((1ull << (64 - SIZE_BITS)) << 4) /* offsets in 16-byte units */

struct hdr {
	uint64_t word; /* size | (offset / 16) << SIZE_BITS */
	uint64_t tag;  /* (uintptr_t)rt ^ HDR_MAGIC; rt may be NULL */
};

static inline struct hdr *hdr_of(void *p)
{
	return (struct hdr *)((char *)p - HDR_SIZE);
}

static inline bool is_ours(const void *p)
{
	return (((const struct hdr *)p - 1)->tag & 63) == HDR_MAGIC_LOW;
}

static inline size_t hdr_size(const struct hdr *h)
{
	return (size_t)(h->word & SIZE_MAX_TRACKED);
}

static inline size_t hdr_offset(const struct hdr *h)
{
	return (size_t)(h->word >> SIZE_BITS) << 4;
}

static inline struct ml_alloc_rt *hdr_rt(const struct hdr *h)
{
	return (struct ml_alloc_rt *)(uintptr_t)(h->tag ^ HDR_MAGIC);
}

/* ---- state ------------------------------------------------------------------ */

#define NR_SITES_MAX (1u << 16) /* hash slots; sites beyond: one overflow site */
#define TAGS_PER_BLOCK 255      /* a block of 64 + 255 * 64 bytes = 16 KiB */
#define SHARED_SHARD (ML_ALLOC_NR_SHARDS - 1)
#define CACHE_SLOTS 32          /* per thread, direct-mapped */
#define BOOT_SIZE (64 * 1024)

struct slot {
	uint64_t key;             /* return address; 0: empty */
	struct ml_alloc_rt *rt;
};

static struct {
	int state;                /* 0 unresolved, 1 resolving, 2 ready */
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	size_t (*usable)(void *);
	pthread_mutex_t lock;     /* site creation */
	struct slot *table;       /* NR_SITES_MAX slots, mmapped */
	uint32_t nr_sites;
	struct ml_alloc_rt *overflow;
	uint32_t shards_used;     /* bit i: shard i owned by a thread */
	pthread_key_t key;
	bool key_ok;
	/* dlsym may allocate while we resolve: served from here, never freed */
	char boot[BOOT_SIZE] __attribute__((aligned(64)));
	size_t boot_used;
} prof = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * The root, exported under ML_ALLOC_ROOT_SYMBOL for readers; the code here
 * uses the hidden name so that no other definition (a program linking
 * libmemlens) can interpose on it.
 */
__attribute__((visibility("hidden"))) struct ml_alloc_root prof_root = {
	ML__ALLOC_ROOT_FIELDS(ML_ALLOC_MODE_RUNTIME),
};
extern struct ml_alloc_root memlens_alloc_root
	__attribute__((alias("prof_root"), visibility("default")));

/* context capture (memlens allocinfo --capture): 128 KiB of .bss, its
 * pages untouched until a site captures */
static struct ml_alloc_ring ring;

/* This object's code, all of it the profiler's (the linker's bounds). */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char etext[] __attribute__((visibility("hidden")));

static bool own_frame(const void *ip)
{
	/* a return address points after the call: ip - 1 is in the caller */
	const char *p = (const char *)ip - 1;

	return p >= __ehdr_start && p < etext;
}

static __thread struct {
	uint32_t busy;            /* inside our own work: do not profile */
	uint64_t key[CACHE_SLOTS];
	struct ml_alloc_rt *rt[CACHE_SLOTS];
} tl TLS_IE;

/* The alloctag header's constructor registers sections; we have none. */
__attribute__((visibility("hidden"))) void
ml__alloc_register(struct ml_alloc_tag *a, struct ml_alloc_tag *b)
{
	(void)a;
	(void)b;
}

__attribute__((visibility("hidden"))) void
ml__alloc_unregister(struct ml_alloc_tag *a, struct ml_alloc_tag *b)
{
	(void)a;
	(void)b;
}

/* ---- bootstrap ------------------------------------------------------------- */

static bool in_boot(const void *p)
{
	return (const char *)p >= prof.boot &&
	       (const char *)p < prof.boot + sizeof(prof.boot);
}

/* Size-prefixed bump allocation, 16-byte aligned. */
static void *boot_alloc(size_t size)
{
	size_t need = (size + 15) / 16 * 16 + 16;
	size_t at = __atomic_fetch_add(&prof.boot_used, need, __ATOMIC_RELAXED);
	char *p;

	if (size > BOOT_SIZE || at + need > BOOT_SIZE)
		return NULL;
	p = prof.boot + at + 16;
	((size_t *)p)[-1] = size;
	return p; /* static storage: already zero */
}

static void setup_env(void)
{
	const char *e = getenv("MEMLENS_ALLOC_PROFILING");

	if (e && strcmp(e, "0") == 0)
		__atomic_store_n(&prof_root.enabled, 0,
				 __ATOMIC_RELAXED);
}

static void release_shard(void *v);

static void resolve(void)
{
	int expected = 0;

	if (!__atomic_compare_exchange_n(&prof.state, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return; /* another thread resolves: it serves from boot */
	prof.malloc = dlsym(RTLD_NEXT, "malloc");
	prof.calloc = dlsym(RTLD_NEXT, "calloc");
	prof.realloc = dlsym(RTLD_NEXT, "realloc");
	prof.free = dlsym(RTLD_NEXT, "free");
	prof.memalign = dlsym(RTLD_NEXT, "memalign");
	prof.usable = dlsym(RTLD_NEXT, "malloc_usable_size");
	if (!prof.malloc || !prof.calloc || !prof.realloc || !prof.free ||
	    !prof.memalign || !prof.usable)
		abort(); /* no allocator after us: nothing can work */
	prof.table = mmap(NULL, NR_SITES_MAX * sizeof(struct slot),
			  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (prof.table == MAP_FAILED) {
		prof.table = NULL;
		prof_root.enabled = 0;
	}
	prof.key_ok = pthread_key_create(&prof.key, release_shard) == 0;
	prof_root.self = (uint64_t)(uintptr_t)&prof_root;
	alloctag_ring_init(&ring);
	prof_root.ring = &ring;
	setup_env();
	__atomic_store_n(&prof.state, 2, __ATOMIC_RELEASE);
}

static inline bool ready(void)
{
	if (likely(__atomic_load_n(&prof.state, __ATOMIC_ACQUIRE) == 2))
		return true;
	resolve();
	return __atomic_load_n(&prof.state, __ATOMIC_ACQUIRE) == 2;
}

/* ---- sites ------------------------------------------------------------------- */

static inline struct ml_alloc_shard *shard(struct ml_alloc_rt *rt, unsigned i)
{
	return (struct ml_alloc_shard *)((char *)rt + ML_ALLOC_RT_HDR_SIZE +
					 (size_t)i * ML_ALLOC_SHARD_STRIDE);
}

/* A new tag in the newest block (a new block when full); under the lock. */
static struct ml_alloc_tag *new_tag(void)
{
	struct ml_alloc_tag_block *b = prof_root.dyn_head;

	if (!b || b->nr_used == b->nr_tags) {
		b = prof.memalign(64, ML_ALLOC_BLOCK_HDR_SIZE +
					      TAGS_PER_BLOCK * ML_ALLOC_TAG_SIZE);
		if (!b)
			return NULL;
		memset(b, 0, ML_ALLOC_BLOCK_HDR_SIZE +
				     TAGS_PER_BLOCK * ML_ALLOC_TAG_SIZE);
		b->magic = ML_ALLOC_BLOCK_MAGIC;
		b->nr_tags = TAGS_PER_BLOCK;
		b->next = prof_root.dyn_head;
		__atomic_store_n(&prof_root.dyn_head, b,
				 __ATOMIC_RELEASE);
	}
	return &b->tags[b->nr_used];
}

static struct ml_alloc_rt *new_site(uint64_t addr)
{
	size_t rt_size = ML_ALLOC_RT_HDR_SIZE +
			 ML_ALLOC_NR_SHARDS * ML_ALLOC_SHARD_STRIDE;
	struct ml_alloc_tag *tag = new_tag();
	struct ml_alloc_rt *rt;

	if (!tag)
		return NULL;
	rt = prof.memalign(64, rt_size);
	if (!rt)
		return NULL;
	memset(rt, 0, rt_size);
	rt->magic = ML_ALLOC_RT_MAGIC;
	rt->nr_shards = ML_ALLOC_NR_SHARDS;
	rt->shard_stride = ML_ALLOC_SHARD_STRIDE;
	rt->tag = tag;
	tag->magic = ML_ALLOC_TAG_MAGIC;
	tag->flags = ML_ALLOC_TAG_ADDR;
	tag->addr = addr;
	tag->rt = rt;
	/* the tag is whole before readers can count it */
	__atomic_store_n(&prof_root.dyn_head->nr_used,
			 prof_root.dyn_head->nr_used + 1,
			 __ATOMIC_RELEASE);
	return rt;
}

static inline size_t slot_of(uint64_t addr)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 48);
}

/* The counters of the site at @addr, made on first use. */
static struct ml_alloc_rt *site_slow(uint64_t addr)
{
	struct ml_alloc_rt *rt = NULL;
	size_t mask = NR_SITES_MAX - 1;

	for (size_t i = slot_of(addr) & mask, n = 0; n < NR_SITES_MAX;
	     i = (i + 1) & mask, n++) {
		uint64_t k = __atomic_load_n(&prof.table[i].key,
					     __ATOMIC_ACQUIRE);

		if (k == addr)
			return prof.table[i].rt;
		if (k == 0)
			break;
	}
	pthread_mutex_lock(&prof.lock);
	for (size_t i = slot_of(addr) & mask, n = 0; n < NR_SITES_MAX;
	     i = (i + 1) & mask, n++) {
		struct slot *s = &prof.table[i];

		if (s->key == addr) {
			rt = s->rt;
			break;
		}
		if (s->key)
			continue;
		/* keep a quarter free: probes stay short */
		if (prof.nr_sites < NR_SITES_MAX / 4 * 3)
			rt = new_site(addr);
		if (rt) {
			s->rt = rt;
			__atomic_store_n(&s->key, addr, __ATOMIC_RELEASE);
			prof.nr_sites++;
		}
		break;
	}
	if (!rt) {
		if (!prof.overflow)
			prof.overflow = new_site(0);
		rt = prof.overflow;
	}
	pthread_mutex_unlock(&prof.lock);
	return rt;
}

static __attribute__((always_inline)) inline struct ml_alloc_rt *
site(uint64_t addr)
{
	unsigned c = (unsigned)(addr >> 2) % CACHE_SLOTS;
	struct ml_alloc_rt *rt;

	if (likely(tl.key[c] == addr))
		return tl.rt[c];
	tl.busy++; /* making a site allocates */
	rt = site_slow(addr);
	tl.busy--;
	tl.key[c] = addr;
	tl.rt[c] = rt;
	return rt;
}

/* ---- counters ---------------------------------------------------------------- */

/*
 * This thread's shard as a byte offset in a site's counters, 0 until its
 * first count: alloctag.h's ml__alloc_count() does the counting, as in
 * libmemlens, with this copy's own variable (hidden, like all here).
 */
__thread uint32_t ml__alloc_shard_off TLS_IE;

static inline uint32_t shard_off(unsigned i)
{
	return ML_ALLOC_RT_HDR_SIZE + i * ML_ALLOC_SHARD_STRIDE;
}

static inline int shard_index(uint32_t off)
{
	return off ? (int)((off - ML_ALLOC_RT_HDR_SIZE) / ML_ALLOC_SHARD_STRIDE) : -1;
}

static void release_shard(void *v)
{
	unsigned i = (unsigned)(uintptr_t)v - 1;

	if (i < SHARED_SHARD)
		__atomic_and_fetch(&prof.shards_used, ~(1u << i),
				   __ATOMIC_RELEASE);
	ml__alloc_shard_off = 0;
}

static unsigned claim_shard(void)
{
	uint32_t used = __atomic_load_n(&prof.shards_used, __ATOMIC_RELAXED);
	const uint32_t all = (1u << SHARED_SHARD) - 1;

	while ((used & all) != all) {
		unsigned i = (unsigned)__builtin_ctz(~used & all);

		if (__atomic_compare_exchange_n(&prof.shards_used, &used,
						used | (1u << i), false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			if (!prof.key_ok ||
			    pthread_setspecific(prof.key,
						(void *)(uintptr_t)(i + 1))) {
				/* cannot give it back at exit: do not own it */
				__atomic_and_fetch(&prof.shards_used, ~(1u << i),
						   __ATOMIC_RELEASE);
				break;
			}
			return i;
		}
	}
	return SHARED_SHARD;
}

/* The slow half of ml__alloc_count(): claim a shard, or share the last. */
void ml__alloc_count_slow(struct ml_alloc_rt *rt, int64_t bytes, int64_t calls)
{
	struct ml_alloc_shard *s;

	if (!ml__alloc_shard_off) {
		unsigned i;

		tl.busy++;
		i = claim_shard();
		tl.busy--;
		ml__alloc_shard_off = shard_off(i);
		if (i != SHARED_SHARD) {
			ml__alloc_count(rt, bytes, calls);
			return;
		}
	}
	s = shard(rt, SHARED_SHARD);
	__atomic_add_fetch(&s->bytes, bytes, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->calls, calls, __ATOMIC_RELAXED);
}

/* (enabled is cleared at start when the site table could not be made) */
static inline bool profiling(void)
{
	return likely(__atomic_load_n(&prof_root.enabled,
				      __ATOMIC_RELAXED)) && !tl.busy;
}

/* (its own allocations, libunwind's included, are not profiled) */
static __attribute__((noinline)) void capture(const struct ml_alloc_tag *tag,
					      size_t size)
{
	tl.busy++;
	alloctag_capture(&ring, tag, size, own_frame);
	tl.busy--;
}

/* Header in front of @p (raw + @off), counters charged to @ra's site. */
static __attribute__((always_inline)) inline void *
finish(char *raw, size_t off, size_t size, uint64_t ra)
{
	struct ml_alloc_rt *rt = NULL;
	struct hdr *h;

	if (!raw)
		return NULL;
	if (profiling() && size <= SIZE_MAX_TRACKED) {
		rt = site(ra);
		if (rt) {
			ml__alloc_count(rt, (int64_t)size, 1);
			if (unlikely(__atomic_load_n(&rt->tag->capture,
						     __ATOMIC_RELAXED)))
				capture(rt->tag, size);
		}
	}
	h = (struct hdr *)(raw + off) - 1;
	h->word = (uint64_t)(size & SIZE_MAX_TRACKED) |
		  (uint64_t)(off >> 4) << SIZE_BITS;
	h->tag = (uint64_t)(uintptr_t)rt ^ HDR_MAGIC;
	return raw + off;
}

/* Take a block's figures off its site; returns what the allocator gave. */
static inline void *unaccount(void *p)
{
	struct hdr *h = hdr_of(p);
	struct ml_alloc_rt *rt = hdr_rt(h);

	if (rt)
		ml__alloc_count(rt, -(int64_t)hdr_size(h), -1);
	return (char *)p - hdr_offset(h);
}

/* ---- the malloc family ------------------------------------------------------- */

static void *do_malloc(size_t size, uint64_t ra)
{
	if (unlikely(!ready()))
		return boot_alloc(size);
	if (size > SIZE_MAX - HDR_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	return finish(prof.malloc(size + HDR_SIZE), HDR_SIZE, size, ra);
}

/* @align a power of two; headers take a whole @align step when > 16. */
static void *do_memalign(size_t align, size_t size, uint64_t ra)
{
	if (unlikely(!ready()))
		return NULL;
	if (align <= 16)
		return do_malloc(size, ra);
	if (align >= OFF_MAX)
		return prof.memalign(align, size); /* untracked, foreign */
	if (size > SIZE_MAX - align) {
		errno = ENOMEM;
		return NULL;
	}
	return finish(prof.memalign(align, size + align), align, size, ra);
}

static void do_free(void *p)
{
	if (!p || in_boot(p))
		return;
	if (unlikely(!ready()))
		return; /* cannot be ours: we have allocated nothing yet */
	if (!is_ours(p)) {
		prof.free(p);
		return;
	}
	prof.free(unaccount(p));
}

static size_t usable(void *p)
{
	if (!p)
		return 0;
	if (in_boot(p))
		return ((size_t *)p)[-1];
	if (!ready())
		return 0;
	if (!is_ours(p))
		return prof.usable(p);
	return prof.usable((char *)p - hdr_offset(hdr_of(p))) -
	       hdr_offset(hdr_of(p));
}

static void *do_realloc(void *p, size_t size, uint64_t ra)
{
	size_t old;
	void *n;

	if (!p)
		return do_malloc(size, ra);
	if (size == 0) {
		do_free(p);
		return NULL; /* glibc's realloc(p, 0) */
	}
	if (unlikely(!ready()) || in_boot(p) || !is_ours(p) ||
	    hdr_offset(hdr_of(p)) != HDR_SIZE) {
		/* boot, foreign or over-aligned blocks: move them */
		n = do_malloc(size, ra);
		if (!n)
			return NULL;
		old = usable(p);
		memcpy(n, p, old < size ? old : size);
		do_free(p);
		return n;
	}
	if (size > SIZE_MAX - HDR_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	{
		struct hdr saved = *hdr_of(p);
		char *raw = (char *)p - HDR_SIZE;

		n = prof.realloc(raw, size + HDR_SIZE);
		if (!n)
			return NULL; /* p unchanged, still accounted */
		/* off the old site, onto the realloc's caller's */
		if (hdr_rt(&saved))
			ml__alloc_count(hdr_rt(&saved), -(int64_t)hdr_size(&saved), -1);
		return finish(n, HDR_SIZE, size, ra);
	}
}

EXPORT void *malloc(size_t size)
{
	return do_malloc(size, RA());
}

EXPORT void free(void *p)
{
	do_free(p);
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total) ||
	    total > SIZE_MAX - HDR_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(!ready()))
		return boot_alloc(total);
	return finish(prof.calloc(1, total + HDR_SIZE), HDR_SIZE, total, RA());
}

EXPORT void *realloc(void *p, size_t size)
{
	return do_realloc(p, size, RA());
}

EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(p, total, RA());
}

static inline bool pow2(size_t x)
{
	return x && !(x & (x - 1));
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;
	int saved = errno;

	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	p = do_memalign(align, size, RA());
	if (!p) {
		int err = errno ? errno : ENOMEM;

		errno = saved;
		return err;
	}
	*out = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return do_memalign(align, size, RA());
}

EXPORT void *memalign(size_t align, size_t size)
{
	/* glibc rounds a non-power-of-two alignment up */
	if (!pow2(align)) {
		size_t a = 1;

		while (a < align && a)
			a <<= 1;
		if (!a) {
			errno = EINVAL;
			return NULL;
		}
		align = a;
	}
	return do_memalign(align, size, RA());
}

EXPORT void *valloc(size_t size)
{
	return do_memalign((size_t)sysconf(_SC_PAGESIZE), size, RA());
}

EXPORT void *pvalloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (size > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	return do_memalign(page, (size + page - 1) / page * page, RA());
}

EXPORT size_t malloc_usable_size(void *p)
{
	return usable(p);
}

/* ---- fork ---------------------------------------------------------------------- */

static void fork_prepare(void)
{
	pthread_mutex_lock(&prof.lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&prof.lock);
}

/* Only this thread lives on in the child: the other shards are free. */
static void fork_child(void)
{
	int i = shard_index(ml__alloc_shard_off);

	pthread_mutex_init(&prof.lock, NULL);
	prof.shards_used = i >= 0 && i != SHARED_SHARD ? 1u << i : 0;
}

/* ---- the report at exit ------------------------------------------------------- */

static int64_t sum(const struct ml_alloc_rt *rt, bool calls)
{
	int64_t v = 0;

	for (unsigned i = 0; i < ML_ALLOC_NR_SHARDS; i++) {
		const struct ml_alloc_shard *s =
			shard((struct ml_alloc_rt *)rt, i);

		v += __atomic_load_n(calls ? &s->calls : &s->bytes,
				     __ATOMIC_RELAXED);
	}
	return v;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* One allocinfo line, as the kernel's lib/alloc_tag.c prints it. */
static void report_line(FILE *f, const struct ml_alloc_tag *t,
			const struct ml_sym *sym, const char *exe)
{
	char site[4096];

	fprintf(f, "%12" PRId64 " %8" PRId64 " ", sum(t->rt, false),
		sum(t->rt, true));
	if (!t->addr) {
		fprintf(f, "(overflow):0 func:(sites-beyond-%u) \n",
			NR_SITES_MAX / 4 * 3);
		return;
	}
	if (sym && sym->file && sym->line)
		fprintf(f, "%s:%" PRIu32, sym->file, sym->line);
	else
		fprintf(f, "%s:0", ml_sym_site(sym, 0, site, sizeof(site)));
	/* the main program is the "core kernel": no [module] */
	if (sym && sym->object[0] && strcmp(sym->object, exe) != 0)
		fprintf(f, " [%s]", base(sym->object));
	fprintf(f, " func:%s \n", sym && sym->func ? sym->func : "?");
}

/* FILE, with "%p" replaced by the pid (a program that forks). */
static FILE *open_report(const char *path)
{
	const char *pct = strstr(path, "%p");
	char buf[4096];

	if (!pct)
		return fopen(path, "we");
	snprintf(buf, sizeof(buf), "%.*s%d%s", (int)(pct - path), path,
		 (int)getpid(), pct + 2);
	return fopen(buf, "we");
}

static void report(void)
{
	const char *path = getenv("MEMLENS_ALLOC_REPORT");
	ML_OPTS(ml_symbolizer_opts, so, .return_addrs = true);
	struct ml_symbolizer *sz = NULL;
	struct ml_alloc_tag_block *b;
	struct ml_proc *proc = NULL;
	struct ml_sym *syms = NULL;
	uint64_t *addrs = NULL;
	char exe[4096] = "";
	size_t n = 0, k = 0;
	ssize_t len;
	FILE *f;

	if (!path || !*path || prof.state != 2)
		return;
	tl.busy++;
	f = strcmp(path, "-") == 0 ? stderr : open_report(path);
	if (!f)
		goto out;
	for (b = prof_root.dyn_head; b; b = b->next)
		n += b->nr_used;
	addrs = calloc(n ? n : 1, sizeof(*addrs));
	syms = calloc(n ? n : 1, sizeof(*syms));
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	if (addrs && syms) {
		for (b = prof_root.dyn_head; b; b = b->next)
			for (uint32_t i = 0; i < b->nr_used; i++)
				addrs[k++] = b->tags[i].addr;
		if (ml_proc_new(NULL, &proc) == 0 &&
		    ml_symbolizer_open(proc, getpid(), &so, &sz) == 0 &&
		    ml_symbolize(sz, addrs, n, syms) == 0)
			k = n;
		else
			k = 0; /* report addresses alone */
	}
	fprintf(f, "allocinfo - version: 1.0\n");
	fprintf(f, "#     <size>  <calls> <tag info>\n");
	n = 0;
	for (b = prof_root.dyn_head; b; b = b->next)
		for (uint32_t i = 0; i < b->nr_used; i++, n++) {
			struct ml_sym none = { .addr = b->tags[i].addr,
					       .object = "" };

			report_line(f, &b->tags[i], n < k ? &syms[n] : &none,
				    exe);
		}
	if (f != stderr)
		fclose(f);
	else
		fflush(f);
out:
	ml_symbolizer_close(sz);
	ml_proc_free(proc);
	free(addrs);
	free(syms);
	tl.busy--;
}

__attribute__((constructor)) static void init(void)
{
	(void)ready();
	setup_env(); /* again: the environment may not have been set before */
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((destructor)) static void fini(void)
{
	report();
}
