/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/alloctag.h - allocation profiling for C programs (seed 003):
 * a static tag per allocation call site, live bytes and live allocations
 * per site, context capture for one site, read from inside or outside.
 *
 * Use: call ml_malloc(), ml_calloc(), ml_realloc(), ml_reallocarray(),
 * ml_aligned_alloc(), ml_strdup(), ml_strndup() and ml_free() instead of
 * the libc names. Each call site places a struct ml_alloc_tag in the ELF
 * section "memlens_alloc_tags" (no dot: the linker defines
 * __start_memlens_alloc_tags and __stop_memlens_alloc_tags, and "retain"
 * keeps it through --gc-sections). A function that allocates on behalf of
 * its callers is wrapped with ML_ALLOC_HOOKS() so that its allocations are
 * charged to its caller's site, as the kernel's alloc_hooks() does.
 *
 * Every block carries a header just before the pointer returned (16
 * bytes, or 32 for big and aligned blocks: struct ml_alloc_hdr_short and
 * struct ml_alloc_hdr, below) so that ml_free() and ml_realloc() take off
 * exactly what was added. ml_malloc() and ml_free() do the common case
 * inline at the call site and call into libmemlens for the rest.
 * A pointer without a memlens header (from plain malloc, or allocated
 * while profiling was off) is recognised and freed
 * with free(); while profiling has been on since start-up this is warned
 * about once on stderr, since it is a pointer the counters never saw
 * (until the first tagged block exists, ml_free() is free() unchecked).
 *
 * Kill switch: MEMLENS_ALLOC_PROFILING=0 in the environment at start-up,
 * or ml_alloctag_enable(false) at run time. Off from start-up, ml_malloc()
 * and ml_free() cost one predictable branch each before malloc() and
 * free(); turned off later, ml_free() also loads the 8 bytes before the
 * pointer (blocks made while it was on still carry headers).
 *
 * The in-memory format below (tags, counters, the root object, dynamic
 * tag blocks and the capture ring) is version 1 and stable: memlens
 * allocinfo reads it from outside the process with process_vm_readv, and
 * the runtime profiler (libmemlens-alloc.so) writes the same structures.
 * It is in the writer's byte order, for LP64 targets (x86-64, arm64).
 */
#ifndef MEMLENS_ALLOCTAG_H
#define MEMLENS_ALLOCTAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <memlens/proc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* =========================================================================
 * In-memory format, version 1 (stable: extend at the end, never change)
 * =========================================================================
 *
 * Discovery by a reader outside the process:
 *  1. Static tags: for every ELF object mapped in the process, the section
 *     "memlens_alloc_tags" (from the file's section headers; sh_addr plus
 *     the object's load bias) is an array of struct ml_alloc_tag, each
 *     ML_ALLOC_TAG_SIZE bytes, each starting with ML_ALLOC_TAG_MAGIC.
 *  2. Runtime tags (created at run time, not in any section: sites of a
 *     dlclose'd library that still have live blocks, and the runtime
 *     profiler's sites keyed by return address): the object that defines
 *     the symbol "memlens_alloc_root" (.dynsym, else .symtab) holds a
 *     struct ml_alloc_root; its ->dyn_head is a singly linked list of
 *     struct ml_alloc_tag_block, newest first, each an array of tags.
 *     The root also points at the context capture ring. A program that
 *     links libmemlens statically and is stripped has no .symtab: export
 *     the root (-Wl,--export-dynamic-symbol=memlens_alloc_root) to keep
 *     its runtime tags and capture ring visible.
 *
 * Counters: a tag's ->rt is NULL until its first allocation, then points
 * at a heap struct ml_alloc_rt of ->nr_shards shards, ->shard_stride bytes
 * apart, each { int64 bytes, int64 calls }. The live figures of the site
 * are the sums over the shards (a shard alone can be negative: blocks
 * freed by another thread than the one that allocated them).
 *
 * Why shards per thread: a thread owns one shard (an index 0 ..
 * nr_shards - 2 handed out at its first allocation and returned when it
 * exits) and updates it with plain loads and stores, no locked
 * instruction: the cost of an uncontended counter, on any number of
 * threads, with each shard on its own cache line so that threads never
 * share a line. Threads beyond nr_shards - 1 share the last shard with
 * atomic adds. Readers sum without stopping writers; a sum taken while a
 * block moves between two shards can be off by that block, like the
 * kernel's per-CPU counters. A thread that exits leaves its counts in its
 * shard for the next owner to add to.
 *
 * Everything a reader takes from the target is untrusted: magics, sizes,
 * counts and pointers are checked and lists are followed a bounded number
 * of steps (see ml_alloctag_read()).
 */

#define ML_ALLOC_SECTION	"memlens_alloc_tags"
#define ML_ALLOC_ROOT_SYMBOL	"memlens_alloc_root"

#define ML_ALLOC_TAG_MAGIC	0x47544c4du	/* "MLTG" */
#define ML_ALLOC_RT_MAGIC	0x54524c4du	/* "MLRT" */
#define ML_ALLOC_BLOCK_MAGIC	0x4b42544c4d4c4d00ull /* "\0MLMLTBK" */
#define ML_ALLOC_ROOT_MAGIC	"MLALLOC"	/* 8 bytes with the NUL */
#define ML_ALLOC_RING_MAGIC	0x474e49524c4d4cull /* "MLMRING" */
#define ML_ALLOC_VERSION	1

/* ml_alloc_tag.flags (set by the writer when the tag is made) */
#define ML_ALLOC_TAG_ADDR	(1u << 0) /* a runtime site: ->addr, no file:line */
#define ML_ALLOC_TAG_ORPHAN	(1u << 1) /* copied out of a dlclose'd object */
#define ML_ALLOC_TAG_UNTAGGED	(1u << 2) /* the catch-all of _noprof calls: listed when not 0 */

/*
 * One allocation site: 64 bytes, 64-byte aligned in the section.
 * Strings are NUL-terminated, at most ML_ALLOC_STR_MAX bytes with the NUL
 * (a reader cuts longer ones).
 */
struct ml_alloc_tag {
	uint32_t magic;		/* ML_ALLOC_TAG_MAGIC */
	uint32_t lineno;	/* 0 for ML_ALLOC_TAG_ADDR tags */
	const char *filename;	/* __FILE__; NULL for ML_ALLOC_TAG_ADDR tags */
	const char *function;	/* __func__; NULL when unknown */
	const char *modname;	/* ML_ALLOC_MODNAME, or NULL: the object's name */
	struct ml_alloc_rt *rt;	/* counters; NULL until the first allocation */
	uint64_t addr;		/* ML_ALLOC_TAG_ADDR: the call site's address */
	uint32_t flags;		/* ML_ALLOC_TAG_* */
	/*
	 * Context capture for this site: 0 off, 1 on. Written from outside
	 * by memlens allocinfo --capture through process_vm_writev: one byte,
	 * so the write is atomic whatever way the kernel copies it, and the
	 * allocation path reads it with a relaxed load (the process never
	 * stops; the switch takes effect at the next allocation there).
	 */
	uint8_t capture;
	uint8_t _reserved[11];
} __attribute__((aligned(64)));

#define ML_ALLOC_TAG_SIZE	64
#define ML_ALLOC_STR_MAX	512

/* One thread's (or the shared) counters of one site. */
struct ml_alloc_shard {
	int64_t bytes;	/* live bytes (as requested, headers not counted) */
	int64_t calls;	/* live allocations */
};

#define ML_ALLOC_NR_SHARDS	32	/* 31 owned, the last one shared */
#define ML_ALLOC_SHARD_STRIDE	64	/* one cache line each */

/*
 * The counters of one site, on the heap: ML_ALLOC_RT_HDR_SIZE bytes of
 * header, then the shards, ->shard_stride bytes apart.
 */
struct ml_alloc_rt {
	uint32_t magic;		/* ML_ALLOC_RT_MAGIC */
	uint32_t nr_shards;	/* ML_ALLOC_NR_SHARDS */
	uint32_t shard_stride;	/* ML_ALLOC_SHARD_STRIDE */
	uint32_t _pad;
	struct ml_alloc_tag *tag; /* the site: static, or its copy in a block */
	uint8_t _reserved[40];
	/* shard i at (char *)rt + ML_ALLOC_RT_HDR_SIZE + i * shard_stride */
} __attribute__((aligned(64)));

#define ML_ALLOC_RT_HDR_SIZE	64

/* Runtime tags: an array of ->nr_tags tags, the first ->nr_used in use. */
struct ml_alloc_tag_block {
	uint64_t magic;		/* ML_ALLOC_BLOCK_MAGIC */
	struct ml_alloc_tag_block *next; /* older block, or NULL */
	uint32_t nr_tags;	/* capacity */
	uint32_t nr_used;	/* tags [0, nr_used) are complete (release store) */
	uint8_t _reserved[40];
	struct ml_alloc_tag tags[];	/* at offset 64 */
};

#define ML_ALLOC_BLOCK_HDR_SIZE	64

/*
 * One captured allocation, 512 bytes. ->seq is written last: the record is
 * whole when ->seq equals its ring position + 1 (see ml_alloc_ring).
 */
#define ML_ALLOC_CTX_FRAMES	40
struct ml_alloc_ctx {
	uint64_t seq;		/* ring position + 1, stored last; 0: being written */
	uint64_t tag;		/* address of the site's ml_alloc_tag */
	uint64_t size;		/* bytes requested */
	uint64_t ts_ns;		/* CLOCK_MONOTONIC */
	int32_t pid;
	int32_t tid;
	char comm[16];		/* the thread's name */
	uint32_t nr_frames;	/* valid entries of ->frames */
	uint32_t _pad;
	uint64_t frames[ML_ALLOC_CTX_FRAMES]; /* return addresses, innermost first */
	uint8_t _reserved[512 - 64 - 8 * ML_ALLOC_CTX_FRAMES];
};

/*
 * The bounded capture ring: ->head counts records ever started; record n
 * lives in slot n % nr_slots and is whole when its seq == n + 1. A reader
 * reads the records in [head - nr_slots, head) and drops the others.
 */
#define ML_ALLOC_RING_SLOTS	256
struct ml_alloc_ring {
	uint64_t magic;		/* ML_ALLOC_RING_MAGIC */
	uint32_t nr_slots;	/* ML_ALLOC_RING_SLOTS */
	uint32_t record_size;	/* sizeof(struct ml_alloc_ctx) */
	uint64_t head;		/* records started (atomic fetch-add) */
	uint8_t _reserved[40];
	struct ml_alloc_ctx slots[ML_ALLOC_RING_SLOTS]; /* at offset 64 */
};

/*
 * The root: one per copy of the allocation code in a process (libmemlens,
 * or libmemlens-alloc.so), exported as ML_ALLOC_ROOT_SYMBOL.
 */
struct ml_alloc_root {
	char magic[8];		/* ML_ALLOC_ROOT_MAGIC */
	uint32_t version;	/* ML_ALLOC_VERSION */
	uint32_t size;		/* sizeof(struct ml_alloc_root) */
	uint64_t self;		/* its own address: the reader checks it */
	uint32_t tag_size;	/* ML_ALLOC_TAG_SIZE */
	uint32_t nr_shards;	/* ML_ALLOC_NR_SHARDS */
	uint32_t shard_stride;	/* ML_ALLOC_SHARD_STRIDE */
	uint32_t rt_hdr_size;	/* ML_ALLOC_RT_HDR_SIZE */
	struct ml_alloc_tag_block *dyn_head; /* runtime tags, newest block first */
	struct ml_alloc_ring *ring;	/* context capture */
	uint32_t enabled;	/* profiling on now */
	uint32_t mode;		/* ML_ALLOC_MODE_* */
	uint64_t nr_foreign;	/* pointers freed without a memlens header */
	uint8_t _reserved[56];
};

#define ML_ALLOC_MODE_TAGS	1	/* ml_malloc() call-site tags */
#define ML_ALLOC_MODE_RUNTIME	2	/* libmemlens-alloc.so (LD_PRELOAD) */

/* A writer's root as it starts (not for direct use): its designated
 * fields, for an initializer that may add ->ring. */
#define ML__ALLOC_ROOT_FIELDS(mode_)                                         \
	.magic = ML_ALLOC_ROOT_MAGIC, .version = ML_ALLOC_VERSION,           \
	.size = sizeof(struct ml_alloc_root),                                \
	.tag_size = ML_ALLOC_TAG_SIZE, .nr_shards = ML_ALLOC_NR_SHARDS,      \
	.shard_stride = ML_ALLOC_SHARD_STRIDE,                               \
	.rt_hdr_size = ML_ALLOC_RT_HDR_SIZE, .enabled = 1, .mode = (mode_)

/*
 * The block header, just before every pointer ml_malloc() and friends
 * return, in one of two forms told apart by its last word, the canary at
 * p - 8 (so a pointer is checked with one load):
 *  - short, 16 bytes, canary = ML_ALLOC_HDR_SHORT_MAGIC ^ p: blocks of
 *    fewer than ML_ALLOC_HDR_SHORT_MAX bytes straight from malloc, the
 *    common case; the size and the counters share one word;
 *  - long, 32 bytes (struct ml_alloc_hdr), canary = ML_ALLOC_HDR_MAGIC ^ p:
 *    bigger blocks, aligned ones and ones moved off a page start, with the
 *    distance back to malloc's pointer.
 * Bit 3 of both magics is set and p is 16-byte aligned, so a canary can
 * never equal the size word glibc keeps at p - 8 of its own blocks (a
 * multiple of 16 plus flag bits 0..2): a plain malloc() pointer is never
 * mistaken for ours. Headers are private to this process (readers from
 * outside never see them), not part of the version 1 format.
 */
#define ML_ALLOC_HDR_MAGIC	0x6d6c68647232a5e9ull /* bit 3 set */
struct ml_alloc_hdr {
	uint64_t size;		/* bytes requested */
	struct ml_alloc_rt *rt;	/* counters charged */
	uint32_t offset;	/* p - the pointer malloc returned */
	uint32_t _pad;
	uint64_t canary;	/* ML_ALLOC_HDR_MAGIC ^ (uintptr_t)p */
};

#define ML_ALLOC_HDR_SHORT_MAGIC 0x6d6c6873687274a9ull /* bit 3 set */
#define ML_ALLOC_HDR_SHORT_MAX	(1ull << 17)
#define ML_ALLOC_HDR_RT_BITS	47	/* counters live below 2^47 */
struct ml_alloc_hdr_short {
	uint64_t rt_size;	/* (uintptr_t)rt | size << ML_ALLOC_HDR_RT_BITS */
	uint64_t canary;	/* ML_ALLOC_HDR_SHORT_MAGIC ^ (uintptr_t)p */
};

/* =========================================================================
 * Tagged allocation
 * ========================================================================= */

/* The module name tags carry; -DML_ALLOC_MODNAME='"x"' to set one. */
#ifndef ML_ALLOC_MODNAME
#define ML_ALLOC_MODNAME NULL
#endif

/* Profiling on right now (one load; the allocation macros test it). */
extern int ml_alloc_enabled;
/*
 * A block with a memlens header has been made in this process: until then
 * ml_free() is free() after one predictable branch (profiling off from
 * start-up costs that and nothing else).
 */
extern int ml_alloc_tagged;
/* The site that ML_ALLOC_HOOKS() wrappers charge; NULL outside one. */
extern __thread struct ml_alloc_tag *ml_alloc_current_tag;

/* Turn profiling on or off at run time; returns the previous state. */
bool ml_alloctag_enable(bool on);
bool ml_alloctag_enabled(void);

/* The out-of-line halves of the macros (not for direct use). */
void *ml__malloc(struct ml_alloc_tag *tag, size_t size);
void *ml__calloc(struct ml_alloc_tag *tag, size_t nmemb, size_t size);
void *ml__realloc(struct ml_alloc_tag *tag, void *p, size_t size);
void *ml__reallocarray(struct ml_alloc_tag *tag, void *p, size_t nmemb,
		       size_t size);
void *ml__aligned_alloc(struct ml_alloc_tag *tag, size_t align, size_t size);
char *ml__strdup(struct ml_alloc_tag *tag, const char *s);
char *ml__strndup(struct ml_alloc_tag *tag, const char *s, size_t n);
void ml__free(void *p);
/* Registration of an object's section (the header's constructor does it). */
void ml__alloc_register(struct ml_alloc_tag *start, struct ml_alloc_tag *stop);
void ml__alloc_unregister(struct ml_alloc_tag *start, struct ml_alloc_tag *stop);

/*
 * A runtime tag (not in any section): a copy of @tmpl in the newest block
 * of the root's ->dyn_head list, published to readers before it is
 * returned; its ->rt is made at its first allocation. For the runtime
 * profiler (ML_ALLOC_TAG_ADDR tags keyed by return address). The strings
 * of @tmpl must stay valid as long as the process runs. NULL without memory.
 */
struct ml_alloc_tag *ml_alloctag_dyn_new(const struct ml_alloc_tag *tmpl);

/*
 * Charge (@bytes, @calls) to @tag's counters, making them on first use;
 * negative values take off. The primitive ml_malloc() and ml_free() use,
 * for allocators with their own block layout. Returns the counters (to be
 * kept with the block and passed to ml_alloctag_uncharge()), or NULL when
 * they could not be allocated (nothing was charged).
 */
struct ml_alloc_rt *ml_alloctag_charge(struct ml_alloc_tag *tag, int64_t bytes);
void ml_alloctag_uncharge(struct ml_alloc_rt *rt, int64_t bytes);

/* Bytes a block from ml_malloc() and friends can hold; 0 for NULL. */
size_t ml_alloc_usable_size(void *p);

/*
 * The tag of the call site. Inside an ML_ALLOC_HOOKS() wrapper the
 * out-of-line half charges the wrapper's caller instead (the thread-local
 * current tag is read there, inside libmemlens, where it costs a plain
 * %fs-relative load rather than a __tls_get_addr() call from a library).
 * "retain" (SHF_GNU_RETAIN) keeps the section through --gc-sections.
 */
#if defined(__has_attribute)
#if __has_attribute(retain)
#define ML__RETAIN retain,
#endif
#endif
#ifndef ML__RETAIN
#define ML__RETAIN
#endif
#define ML__ALLOC_TAG()                                                      \
	({                                                                   \
		static struct ml_alloc_tag _ml_tag                           \
		__attribute__((section(ML_ALLOC_SECTION), ML__RETAIN used)) = { \
			.magic = ML_ALLOC_TAG_MAGIC,                         \
			.lineno = __LINE__,                                  \
			.filename = __FILE__,                                \
			.function = __func__,                                \
			.modname = ML_ALLOC_MODNAME,                         \
		};                                                           \
		&_ml_tag;                                                    \
	})

/*
 * The inline fast path of ml_malloc() and ml_free() (not for direct use).
 *
 * Why inline: a call into libmemlens and back, with the registers it
 * saves, was a third of what profiling added to a malloc/free pair. The
 * fast path does the common case at the call site: the site's counters
 * exist, it does not capture, this thread owns a counter shard, and the
 * block has a short header (below 128 KiB, not starting a page). Anything
 * else goes to the out-of-line functions, which do the whole job.
 */
#define ML__HDR_SHORT		16u
#define ML__RT_MASK		((1ull << ML_ALLOC_HDR_RT_BITS) - 1)
#define ML__SHARED_SHARD_OFF	(ML_ALLOC_RT_HDR_SIZE + \
				 (ML_ALLOC_NR_SHARDS - 1) * ML_ALLOC_SHARD_STRIDE)
/*
 * Byte offset of this thread's shard in every struct ml_alloc_rt, 0 until
 * its first count. initial-exec: one %fs-relative load, also from a
 * dlopen'd library (libmemlens's TLS is in the static block: it uses
 * initial-exec itself).
 */
extern __thread uint32_t ml__alloc_shard_off
	__attribute__((tls_model("initial-exec")));
void ml__alloc_count_slow(struct ml_alloc_rt *rt, int64_t bytes, int64_t calls);
void *ml__malloc_placed(struct ml_alloc_tag *tag, void *base, size_t size);

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_HWADDRESS__)
#define ML__ALLOC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(hwaddress_sanitizer)
#define ML__ALLOC_SANITIZED 1
#endif
#endif

/* Add to this thread's shard: its owner is its only writer, no lock. */
static inline __attribute__((always_inline)) void
ml__alloc_count(struct ml_alloc_rt *rt, int64_t bytes, int64_t calls)
{
	uint32_t off = ml__alloc_shard_off;

	if (__builtin_expect(off - 1u < ML__SHARED_SHARD_OFF - 1u, 1)) {
		struct ml_alloc_shard *s =
			(struct ml_alloc_shard *)((char *)rt + off);

		__atomic_store_n(&s->bytes,
				 __atomic_load_n(&s->bytes, __ATOMIC_RELAXED) + bytes,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&s->calls,
				 __atomic_load_n(&s->calls, __ATOMIC_RELAXED) + calls,
				 __ATOMIC_RELAXED);
	} else {
		ml__alloc_count_slow(rt, bytes, calls);
	}
}

static inline __attribute__((always_inline)) void *
ml__malloc_fast(struct ml_alloc_tag *tag, size_t size)
{
	struct ml_alloc_tag *cur = ml_alloc_current_tag;
	struct ml_alloc_hdr_short *h;
	struct ml_alloc_rt *rt;
	char *base;

	if (cur)
		tag = cur;
	rt = __atomic_load_n(&tag->rt, __ATOMIC_ACQUIRE);
	if (__builtin_expect(!rt || size >= ML_ALLOC_HDR_SHORT_MAX ||
			     __atomic_load_n(&tag->capture, __ATOMIC_RELAXED), 0))
		return ml__malloc(tag, size);
	base = (char *)malloc(size + ML__HDR_SHORT);
	if (__builtin_expect(!base || !(((uintptr_t)base + ML__HDR_SHORT) & 4095), 0))
		return ml__malloc_placed(tag, base, size);
	h = (struct ml_alloc_hdr_short *)base;
	h->rt_size = (uintptr_t)rt | (uint64_t)size << ML_ALLOC_HDR_RT_BITS;
	h->canary = ML_ALLOC_HDR_SHORT_MAGIC ^ (uintptr_t)(base + ML__HDR_SHORT);
	ml__alloc_count(rt, (int64_t)size, 1);
	return base + ML__HDR_SHORT;
}

#define ML__ALLOC_CALL(plain, fn, ...)                                       \
	(__builtin_expect(ml_alloc_enabled, 1) ? fn(ML__ALLOC_TAG(), __VA_ARGS__) \
					       : plain)

#define ml_malloc(size) \
	ML__ALLOC_CALL(malloc(size), ml__malloc_fast, (size))
#define ml_calloc(nmemb, size) \
	ML__ALLOC_CALL(calloc((nmemb), (size)), ml__calloc, (nmemb), (size))
#define ml_realloc(p, size) \
	ml__realloc(ML__ALLOC_TAG(), (p), (size))
#define ml_reallocarray(p, nmemb, size) \
	ml__reallocarray(ML__ALLOC_TAG(), (p), (nmemb), (size))
#define ml_aligned_alloc(align, size)                                        \
	ML__ALLOC_CALL(aligned_alloc((align), (size)), ml__aligned_alloc,    \
		       (align), (size))

/*
 * Free a block of any of the above (or of plain malloc: warned once).
 * The canary at p - 8 is read only when it lies on p's own page, which is
 * mapped; it matches only for our blocks, so the rest of the header is
 * read after it. Under AddressSanitizer the word before a foreign block
 * is a redzone: there the whole check is out of line.
 */
static inline __attribute__((always_inline)) void ml_free(void *p)
{
	if (__builtin_expect(!ml_alloc_tagged, 0)) {
		free(p);
		return;
	}
#ifndef ML__ALLOC_SANITIZED
	uintptr_t a = (uintptr_t)p;

	if (__builtin_expect((a & 4095) >= 8, 1)) {
		struct ml_alloc_hdr_short *h =
			(struct ml_alloc_hdr_short *)(a - ML__HDR_SHORT);
		uint64_t canary;

		memcpy(&canary, (const void *)(a - 8), sizeof(canary));
		/* (a short header always holds counters) */
		if (__builtin_expect(canary == (ML_ALLOC_HDR_SHORT_MAGIC ^ a), 1)) {
			uint64_t w = h->rt_size;

			ml__alloc_count((struct ml_alloc_rt *)(uintptr_t)(w & ML__RT_MASK),
					-(int64_t)(w >> ML_ALLOC_HDR_RT_BITS), -1);
			free(h);
			return;
		}
	}
#endif
	ml__free(p);
}

#define ml_strdup(s) ML__ALLOC_CALL(strdup(s), ml__strdup, (s))
#define ml_strndup(s, n) ML__ALLOC_CALL(strndup((s), (n)), ml__strndup, (s), (n))

/*
 * The _noprof names, for the inside of an allocation wrapper: no site of
 * their own; charged to the current ML_ALLOC_HOOKS() site, or outside one
 * to libmemlens's "(untagged)" site.
 */
#define ml_malloc_noprof(size)		ml__malloc(NULL, (size))
#define ml_calloc_noprof(nmemb, size)	ml__calloc(NULL, (nmemb), (size))
#define ml_realloc_noprof(p, size)	ml__realloc(NULL, (p), (size))
#define ml_reallocarray_noprof(p, nmemb, size) \
	ml__reallocarray(NULL, (p), (nmemb), (size))
#define ml_aligned_alloc_noprof(align, size) \
	ml__aligned_alloc(NULL, (align), (size))
#define ml_strdup_noprof(s)		ml__strdup(NULL, (s))
#define ml_strndup_noprof(s, n)		ml__strndup(NULL, (s), (n))

/*
 * ML_ALLOC_HOOKS(expr): evaluate @expr (a call to an allocating wrapper,
 * written with the _noprof names or the ml_ macros) with this call site as
 * the current tag, so that what it allocates is charged here. Nested hooks
 * keep the outermost site, as the kernel's alloc_hooks() would if wrapped
 * twice. Usable on expressions of any type except void.
 *
 *   #define buf_new(n) ML_ALLOC_HOOKS(buf_new_noprof(n))
 */
#define ML_ALLOC_HOOKS(expr)                                                 \
	({                                                                   \
		struct ml_alloc_tag *_ml_old = ml_alloc_current_tag;         \
		if (!_ml_old)                                                \
			ml_alloc_current_tag = ML__ALLOC_TAG();              \
		__typeof__(expr) _ml_ret = (expr);                           \
		ml_alloc_current_tag = _ml_old;                              \
		_ml_ret;                                                     \
	})

/*
 * Each object (program or shared library) that includes this header
 * registers its own section once it is loaded and unregisters it when it is
 * unloaded: the hidden __start_/__stop_ symbols are this object's. An
 * object without a tagged call site has no section: both are NULL.
 */
extern struct ml_alloc_tag __start_memlens_alloc_tags[]
	__attribute__((weak, visibility("hidden")));
extern struct ml_alloc_tag __stop_memlens_alloc_tags[]
	__attribute__((weak, visibility("hidden")));

__attribute__((constructor, used)) static void ml__alloc_ctor(void)
{
	ml__alloc_register(__start_memlens_alloc_tags,
			   __stop_memlens_alloc_tags);
}

__attribute__((destructor, used)) static void ml__alloc_dtor(void)
{
	ml__alloc_unregister(__start_memlens_alloc_tags,
			     __stop_memlens_alloc_tags);
}

/* =========================================================================
 * Reports
 * ========================================================================= */

/* One site with its live figures. */
struct ml_alloctag_site {
	uint64_t tag_addr;	/* where the tag lives in the process: its identity */
	const char *file;	/* "" for runtime (address) sites */
	const char *func;	/* "" when unknown */
	const char *module;	/* the tag's modname, else the object's base name */
	const char *object;	/* path of the object holding the tag, or "" */
	uint32_t line;
	uint32_t flags;		/* ML_ALLOC_TAG_* */
	uint64_t addr;		/* ML_ALLOC_TAG_ADDR sites */
	bool capture;		/* context capture on */
	bool module_is_main;	/* in the main program: no [module] in allocinfo */
	int64_t bytes;		/* live bytes */
	int64_t calls;		/* live allocations */
};

/* One captured allocation, with its site resolved. */
struct ml_alloctag_ctx {
	uint64_t seq;
	uint64_t tag_addr;
	const struct ml_alloctag_site *site; /* NULL: not a known site */
	uint64_t size;
	uint64_t ts_ns;
	pid_t pid;
	pid_t tid;
	char comm[16];
	uint32_t nr_frames;
	uint64_t frames[ML_ALLOC_CTX_FRAMES];
};

struct ml_alloctag_snapshot {
	struct ml_alloctag_site *sites;
	size_t n;
	struct ml_alloctag_ctx *ctx;	/* captured records, oldest first */
	size_t nr_ctx;
	size_t nr_roots;		/* copies of the allocation code found */
	bool enabled;			/* profiling on (from the first root) */
	uint64_t nr_foreign;
	char *strings;			/* owned: the strings sites point into */
	size_t strings_len, strings_cap;
};
void ml_alloctag_snapshot_fini(struct ml_alloctag_snapshot *s);

/*
 * The sites of this process, with their figures. Returns 0 or -ENOMEM.
 * Sites that never allocated are included (with zeros), as in the kernel.
 */
int ml_alloctag_snapshot_self(struct ml_alloctag_snapshot *out);

enum ml_alloctag_format {
	ML_ALLOCTAG_ALLOCINFO = 0, /* /proc/allocinfo, version 1.0 (default) */
	ML_ALLOCTAG_HUMAN,	   /* seed 003: "153MiB 8599 file:line module:x func:y" */
};

struct ml_alloctag_dump_opts {
	size_t sz;		/* sizeof(struct ml_alloctag_dump_opts) */
	bool skip_zero;		/* leave out sites with nothing live */
	bool no_header;		/* allocinfo: without the two header lines */
};
#define ml_alloctag_dump_opts__last_field no_header

/*
 * Write this process's report to @f in @fmt. @opts may be NULL.
 * Returns 0, -ENOMEM, or -EIO when @f fails.
 */
int ml_alloctag_dump(FILE *f, enum ml_alloctag_format fmt,
		     const struct ml_alloctag_dump_opts *opts);
/* The same for a snapshot (of this or another process). */
int ml_alloctag_dump_snapshot(FILE *f, const struct ml_alloctag_snapshot *s,
			      enum ml_alloctag_format fmt,
			      const struct ml_alloctag_dump_opts *opts);

/* "153MiB", "6.08MiB", "734KiB", "12B": the seed's sizes (string_get_size). */
const char *ml_alloctag_size_str(char buf[24], int64_t bytes);

/* =========================================================================
 * Reading another process
 * ========================================================================= */

struct ml_alloctag_read_opts {
	size_t sz;		/* sizeof(struct ml_alloctag_read_opts) */
	bool context;		/* also read the capture ring */
};
#define ml_alloctag_read_opts__last_field context

/*
 * The sites of process @pid, read from outside while it runs: its objects
 * from <proc_root>/PID/maps, their sections and root symbols from the ELF
 * files, the tags and counters with process_vm_readv. Returns 0; -ENOENT
 * when the process has no tags (no section, no root); -ESRCH when it is
 * gone or exits during the read; -EACCES, -EPERM (ptrace access denied),
 * -ENOMEM; -EPROTO when what it holds is not a version we read.
 */
int ml_alloctag_read(struct ml_proc *p, pid_t pid,
		     const struct ml_alloctag_read_opts *opts,
		     struct ml_alloctag_snapshot *out);

/*
 * Switch context capture of every site of @pid at @file:@line on or off
 * (one byte per tag, through process_vm_writev). @file matches the tag's
 * file name whole or its last path components ("x.c" matches "src/x.c").
 * With @file NULL and @on false, every site that captures is switched off.
 * Sets *@nr_sites to how many sites were switched. Returns 0, -ENOENT when
 * no site matches @file:@line, or the errors of ml_alloctag_read().
 */
int ml_alloctag_capture(struct ml_proc *p, pid_t pid, const char *file,
			uint32_t line, bool on, size_t *nr_sites);
/*
 * The same over the sites of @s, read from @pid before: for a caller that
 * gave the runtime profiler's sites (ML_ALLOC_TAG_ADDR) their file:line by
 * symbolizing them, since the tags themselves hold only an address.
 */
int ml_alloctag_capture_sites(pid_t pid, const struct ml_alloctag_snapshot *s,
			      const char *file, uint32_t line, bool on,
			      size_t *nr_sites);

/*
 * Return addresses of @pid (context capture stacks) as text, one per
 * address: "function+0x1f/0x80 (object)" from the ELF symbol tables, or
 * "0xADDR (object+0xOFFSET)" without a symbol, or "0xADDR". Returns 0 or
 * the errors of ml_vmaq_open() and ml_vmaq_resolve().
 */
#define ML_ALLOCTAG_SYM_MAX 256
int ml_alloctag_symbolize(struct ml_proc *p, pid_t pid, const uint64_t *addrs,
			  size_t n, char (*out)[ML_ALLOCTAG_SYM_MAX]);

/* ---- hostile-input parsing (exposed for the fuzz target) --------------- */

/*
 * Reads @len bytes of the target at @addr into @buf: returns 0, or a
 * negative errno (-EFAULT when the range is not readable, -ESRCH).
 */
typedef int (*ml_alloctag_read_fn)(void *ctx, uint64_t addr, void *buf,
				   size_t len);

/*
 * Add to @out the sites of the tag array at [@start, @start + @size) and,
 * when @root is not 0, of the root at @root (runtime tags, capture ring,
 * state), reading target memory only through @read. @object is the path
 * reported for these sites ("" for none), @main whether it is the main
 * program. Every byte read is untrusted: the walk is bounded and checked.
 * Returns 0, -EPROTO (bad magic or version), -EFAULT, -ESRCH, -ENOMEM.
 */
int ml_alloctag_parse(ml_alloctag_read_fn read, void *ctx, uint64_t start,
		      uint64_t size, uint64_t root, const char *object,
		      bool main, bool context, struct ml_alloctag_snapshot *out);
/* After the last ml_alloctag_parse() into @out: makes its strings and
 * record-to-site links usable. */
void ml_alloctag_parse_done(struct ml_alloctag_snapshot *out);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_ALLOCTAG_H */
