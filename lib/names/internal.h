/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The registry's layout, version 1: what the writer (registry.c, name.c)
 * and the readers (reader.c) share. Everything lives in one memfd mapping,
 * MAP_PRIVATE, in the writer's own byte order (a reader on the same machine
 * reads it through /proc/PID/mem):
 *
 *   offset 0          struct reg_header (REG_HEADER_SIZE bytes)
 *   dir_off           u32 dir[blocks_cap]: the blocks in address order
 *   names_off         struct reg_name names[names_cap]: interned names
 *   hash_off          u32 hash[hash_cap]: name -> slot, the writer's index
 *   blocks_off        struct reg_block blocks[blocks_cap], one page each
 *
 * The ranges are a sorted sequence cut into blocks of up to
 * REG_BLOCK_RANGES ranges: dir[0..nr_dir) lists the blocks in use in
 * address order, and every range of dir[k] lies below every range of
 * dir[k+1]. Naming a range touches one or two blocks (a memmove of at most
 * a page) and the directory only when a block splits or empties, so tens of
 * thousands of ranges cost the same per call as ten.
 *
 * Consistency: header.seq is a sequence counter, odd while the writer
 * changes anything. A reader reads the header, the name slots and blocks
 * used so far and the directory, then reads seq again; equal and even means
 * what it read is consistent (the unused tails of the name and block areas,
 * and the writer's hash index, are not read). The writer never waits for
 * readers.
 *
 * A registry that outgrows its mapping is copied to a new, larger one
 * (generation + 1), and the old one is retired (flags REG_RETIRED) before
 * it is unmapped, so a reader that raced the move knows to look again.
 */
#ifndef MEMLENS_NAMES_INTERNAL_H
#define MEMLENS_NAMES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memlens/names.h>

#define REG_MAGIC "MLNAMES" /* 8 bytes with its NUL */
#define REG_VERSION 1
#define REG_HEADER_SIZE 256

#define REG_RETIRED 0x1u

#define REG_BLOCK_SIZE 4096u
#define REG_BLOCK_RANGES 170u /* (4096 - 16) / 24 */
#define REG_NAME_SLOT_SIZE 96u
#define REG_NAME_NONE UINT32_MAX /* a range's name when clearing */

/* Bounds the writer keeps and the reader enforces. */
#define REG_MAX_RANGES (1u << 18)        /* 4x the default vm.max_map_count */
#define REG_MAX_BLOCKS (1u << 14)
#define REG_MAX_NAMES (1u << 18)
#define REG_MAX_MAP_SIZE (128u << 20)

struct reg_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t seq;        /* odd while being written */
	uint64_t self_addr;  /* where the writer maps this registry */
	uint64_t map_size;   /* bytes of the mapping */
	uint64_t generation; /* + 1 each time the registry moves */
	uint32_t flags;
	uint32_t page_size;
	uint32_t nr_ranges;
	uint32_t block_size;
	uint32_t block_ranges;
	uint32_t dir_off;
	uint32_t blocks_off;
	uint32_t blocks_cap;
	uint32_t blocks_hwm; /* blocks [0, hwm) have ever been used */
	uint32_t nr_dir;
	uint32_t names_off;
	uint32_t names_cap;
	uint32_t name_slot_size;
	uint32_t nr_names;
	uint32_t hash_off;
	uint32_t hash_cap;   /* a power of two */
	uint32_t hash_used;  /* live entries and tombstones */
	uint32_t free_block; /* free list heads: index + 1, 0 for empty */
	uint32_t free_name;
	uint32_t names_hwm;  /* slots [0, hwm) have ever been used */
};
_Static_assert(sizeof(struct reg_header) <= REG_HEADER_SIZE, "header");

struct reg_range {
	uint64_t start;
	uint64_t end;
	uint32_t name; /* slot index */
	uint32_t reserved;
};
_Static_assert(sizeof(struct reg_range) == 24, "range");

struct reg_block {
	uint32_t nr;
	uint32_t next_free; /* free list link when free: index + 1 */
	uint64_t reserved;
	struct reg_range r[REG_BLOCK_RANGES];
};
_Static_assert(sizeof(struct reg_block) == REG_BLOCK_SIZE, "block");

struct reg_name {
	uint32_t refs; /* ranges using this name; 0: a free slot */
	uint32_t len;  /* strlen(s) */
	uint32_t next_free;
	char s[ML_NAME_MAX]; /* NUL-terminated */
	uint32_t reserved;
};
_Static_assert(sizeof(struct reg_name) == REG_NAME_SLOT_SIZE, "name slot");

/* ---- the writer (registry.c) ---------------------------------------------- */

/* A registry mapping as its writer sees it. */
struct reg {
	unsigned char *base; /* NULL: no registry yet */
	size_t size;
};

/*
 * Make sure the next reg_set() calls fit: the first can add two ranges (a
 * clear that splits a range, then the name), each further one a range;
 * @nr_sets calls in all, and one new name. Grows the registry (a new
 * mapping; the old one is retired) when needed, or creates it the first
 * time. Returns 0, -EAGAIN past REG_MAX_RANGES, or an errno from
 * memfd_create/mmap.
 */
int reg_reserve(struct reg *r, size_t page_size, size_t nr_sets);

/* Start and end a change: readers retry while a change is under way. */
void reg_write_begin(struct reg *r);
void reg_write_end(struct reg *r);

/* The slot of @name (interned, refs 0 if new); reg_reserve() first. */
uint32_t reg_name_intern(struct reg *r, const char *name, size_t len);
/* Free the slot if no range uses it (after an operation that interned it). */
void reg_name_release_unused(struct reg *r, uint32_t slot);

/*
 * Set [start, end) to @name (a slot from reg_name_intern()), or clear it
 * (REG_NAME_NONE): ranges that overlap are cut at start and end, adjacent
 * ranges with the same name merge. Between reg_write_begin/end, after
 * reg_reserve(); at most two new ranges per call.
 */
void reg_set(struct reg *r, uint64_t start, uint64_t end, uint32_t name);

/*
 * Copy the ranges overlapping [start, end), cut to it, into @out (at most
 * @max); returns how many.
 */
size_t reg_lookup(const struct reg *r, uint64_t start, uint64_t end,
		  struct reg_range *out, size_t max);

/* Unmap (the registry of a process that exec'd is gone anyway). */
void reg_destroy(struct reg *r);

/* ---- name.c, for the interposers of unmap.c ---------------------------------- */

/* unmap.c: referenced by name.c so that static links include the interposers. */
void names_interposers(void);
/* Whether this process has named anything in its registry (a quick look). */
bool names_active(void);
/* The memory in [start, end) is unmapped, or replaced by a new mapping. */
void names_forget(uint64_t start, uint64_t end);
/* mremap() moved or resized [old, old + old_len) to [new, new + new_len). */
void names_moved(uint64_t old, uint64_t old_len, uint64_t new_addr,
		 uint64_t new_len, bool keep_old);

/* ---- shared helpers --------------------------------------------------------- */

static inline struct reg_header *reg_header(const struct reg *r)
{
	return (struct reg_header *)r->base;
}

/* A byte the kernel accepts in a name (kernel/sys.c is_valid_name_char). */
static inline int name_char_ok(unsigned char c)
{
	return c > 0x1f && c < 0x7f && c != '\\' && c != '`' && c != '$' &&
	       c != '[' && c != ']';
}

#endif
