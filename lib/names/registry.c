// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The registry's writer: sorted ranges in blocks with kernel-like split,
 * merge and clear, interned names, growth into a new mapping. Operates on
 * the mapping only (no heap, no locks): name.c serialises the calls and
 * owns the one struct reg of the process. Layout: internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

#define INITIAL_BLOCKS 4u
#define INITIAL_NAMES 32u

/* ---- sections ----------------------------------------------------------------- */

static inline uint32_t *dir(const struct reg *r)
{
	return (uint32_t *)(r->base + reg_header(r)->dir_off);
}

static inline struct reg_block *block(const struct reg *r, uint32_t id)
{
	return (struct reg_block *)(r->base + reg_header(r)->blocks_off +
				    (size_t)id * REG_BLOCK_SIZE);
}

static inline struct reg_name *slot(const struct reg *r, uint32_t id)
{
	return (struct reg_name *)(r->base + reg_header(r)->names_off +
				   (size_t)id * REG_NAME_SLOT_SIZE);
}

static inline uint32_t *hash_table(const struct reg *r)
{
	return (uint32_t *)(r->base + reg_header(r)->hash_off);
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

struct layout {
	uint32_t dir_off, names_off, hash_off, blocks_off, hash_cap;
	size_t size;
};

static void compute_layout(uint32_t blocks_cap, uint32_t names_cap,
			   size_t page_size, struct layout *lo)
{
	size_t off = REG_HEADER_SIZE;

	lo->dir_off = (uint32_t)off;
	off = align_up(off + (size_t)blocks_cap * 4, 64);
	lo->names_off = (uint32_t)off;
	off += (size_t)names_cap * REG_NAME_SLOT_SIZE;
	lo->hash_off = (uint32_t)off;
	lo->hash_cap = names_cap * 2;
	off += (size_t)lo->hash_cap * 4;
	lo->blocks_off = (uint32_t)align_up(off, page_size);
	lo->size = lo->blocks_off + (size_t)blocks_cap * REG_BLOCK_SIZE;
}

/* ---- the sequence counter --------------------------------------------------- */

void reg_write_begin(struct reg *r)
{
	struct reg_header *h = reg_header(r);

	__atomic_store_n(&h->seq, h->seq + 1, __ATOMIC_RELAXED);
	/* the odd count is visible before any of the changes */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void reg_write_end(struct reg *r)
{
	struct reg_header *h = reg_header(r);

	/* every change is visible before the even count */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&h->seq, h->seq + 1, __ATOMIC_RELEASE);
}

/* ---- names ------------------------------------------------------------------------ */

#define HASH_EMPTY 0u
#define HASH_TOMB UINT32_MAX

static uint32_t hash_bytes(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static void hash_insert(struct reg *r, uint32_t id)
{
	struct reg_header *h = reg_header(r);
	uint32_t *t = hash_table(r), mask = h->hash_cap - 1;
	struct reg_name *n = slot(r, id);
	uint32_t i = hash_bytes(n->s, n->len) & mask;

	while (t[i] != HASH_EMPTY && t[i] != HASH_TOMB)
		i = (i + 1) & mask;
	if (t[i] == HASH_EMPTY)
		h->hash_used++;
	t[i] = id + 1;
}

/* Rebuild the index from the live slots (after growth, or too many tombstones). */
static void hash_rebuild(struct reg *r)
{
	struct reg_header *h = reg_header(r);

	memset(hash_table(r), 0, (size_t)h->hash_cap * 4);
	h->hash_used = 0;
	for (uint32_t id = 0; id < h->names_cap; id++)
		if (slot(r, id)->refs)
			hash_insert(r, id);
}

/* The hash slot holding @name, or the first free one when absent. */
static uint32_t *hash_find(struct reg *r, const char *name, size_t len,
			   uint32_t *found)
{
	struct reg_header *h = reg_header(r);
	uint32_t *t = hash_table(r), mask = h->hash_cap - 1;
	uint32_t i = hash_bytes(name, len) & mask;
	uint32_t *first_free = NULL;

	for (uint32_t probes = 0; probes < h->hash_cap; probes++) {
		uint32_t e = t[i];

		if (e == HASH_EMPTY)
			break;
		if (e == HASH_TOMB) {
			if (!first_free)
				first_free = &t[i];
		} else {
			struct reg_name *n = slot(r, e - 1);

			if (n->len == len && memcmp(n->s, name, len) == 0) {
				*found = e - 1;
				return &t[i];
			}
		}
		i = (i + 1) & mask;
	}
	*found = REG_NAME_NONE;
	return first_free ? first_free : &t[i];
}

/*
 * A slot is live while ranges use it (refs > 0). A fresh slot has refs 0
 * until the operation that interned it inserts a range; if it ends up
 * unused, reg_name_release_unused() frees it before the operation ends.
 */
uint32_t reg_name_intern(struct reg *r, const char *name, size_t len)
{
	struct reg_header *h = reg_header(r);
	uint32_t found, id, *e;
	struct reg_name *n;

	e = hash_find(r, name, len, &found);
	if (found != REG_NAME_NONE)
		return found;
	/* reg_reserve() guaranteed a free slot */
	id = h->free_name - 1;
	n = slot(r, id);
	h->free_name = n->next_free;
	if (id + 1 > h->names_hwm)
		h->names_hwm = id + 1;
	memset(n, 0, sizeof(*n));
	memcpy(n->s, name, len);
	n->len = (uint32_t)len;
	if (*e == HASH_EMPTY)
		h->hash_used++;
	*e = id + 1;
	h->nr_names++;
	return id;
}

static void name_free(struct reg *r, uint32_t id)
{
	struct reg_header *h = reg_header(r);
	struct reg_name *n = slot(r, id);
	uint32_t found, *e;

	e = hash_find(r, n->s, n->len, &found);
	if (found == id)
		*e = HASH_TOMB;
	memset(n, 0, sizeof(*n));
	n->next_free = h->free_name;
	h->free_name = id + 1;
	h->nr_names--;
}

void reg_name_release_unused(struct reg *r, uint32_t id)
{
	if (id != REG_NAME_NONE && slot(r, id)->refs == 0)
		name_free(r, id);
}

static inline void name_ref(struct reg *r, uint32_t id)
{
	slot(r, id)->refs++;
}

static inline void name_unref(struct reg *r, uint32_t id)
{
	if (--slot(r, id)->refs == 0)
		name_free(r, id);
}

/* ---- blocks ---------------------------------------------------------------------- */

static uint32_t block_alloc(struct reg *r)
{
	struct reg_header *h = reg_header(r);
	uint32_t id = h->free_block - 1;
	struct reg_block *b = block(r, id);

	h->free_block = b->next_free;
	b->nr = 0;
	b->next_free = 0;
	if (id + 1 > h->blocks_hwm)
		h->blocks_hwm = id + 1;
	return id;
}

static void block_free(struct reg *r, uint32_t id)
{
	struct reg_header *h = reg_header(r);
	struct reg_block *b = block(r, id);

	b->nr = 0;
	b->next_free = h->free_block;
	h->free_block = id + 1;
}

static void dir_insert(struct reg *r, uint32_t k, uint32_t id)
{
	struct reg_header *h = reg_header(r);
	uint32_t *d = dir(r);

	memmove(&d[k + 1], &d[k], (size_t)(h->nr_dir - k) * 4);
	d[k] = id;
	h->nr_dir++;
}

static void dir_remove(struct reg *r, uint32_t k)
{
	struct reg_header *h = reg_header(r);
	uint32_t *d = dir(r);

	memmove(&d[k], &d[k + 1], (size_t)(h->nr_dir - k - 1) * 4);
	h->nr_dir--;
}

static inline struct reg_block *dir_block(const struct reg *r, uint32_t k)
{
	return block(r, dir(r)[k]);
}

/* ---- positions in the sorted sequence -------------------------------------------- */

struct pos {
	uint32_t k; /* index in dir; nr_dir: past the end */
	uint32_t i; /* index in that block */
};

/* The first range whose end is above @addr. */
static struct pos lower_bound(const struct reg *r, uint64_t addr)
{
	const struct reg_header *h = reg_header(r);
	uint32_t lo = 0, hi = h->nr_dir;
	struct reg_block *b;
	struct pos p;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		b = dir_block(r, mid);
		if (b->r[b->nr - 1].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	p.k = lo;
	p.i = 0;
	if (lo == h->nr_dir)
		return p;
	b = dir_block(r, lo);
	lo = 0;
	hi = b->nr;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (b->r[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	p.i = lo;
	return p;
}

static inline bool pos_valid(const struct reg *r, struct pos p)
{
	return p.k < reg_header(r)->nr_dir;
}

static inline struct reg_range *at(const struct reg *r, struct pos p)
{
	return &dir_block(r, p.k)->r[p.i];
}

/* The range before @p, or NULL. */
static struct reg_range *before(const struct reg *r, struct pos p)
{
	if (p.i > 0)
		return &dir_block(r, p.k)->r[p.i - 1];
	if (p.k == 0)
		return NULL;
	return &dir_block(r, p.k - 1)->r[dir_block(r, p.k - 1)->nr - 1];
}

/* Insert @v at @p (before the range there, or at the end). */
static void insert_at(struct reg *r, struct pos p, struct reg_range v)
{
	struct reg_header *h = reg_header(r);
	struct reg_block *b, *nb;
	uint32_t half, id;

	if (h->nr_dir == 0) {
		id = block_alloc(r);
		dir_insert(r, 0, id);
		p.k = 0;
		p.i = 0;
	} else if (p.k == h->nr_dir) {
		/* past the end: append to the last block */
		p.k = h->nr_dir - 1;
		p.i = dir_block(r, p.k)->nr;
	} else if (p.i == 0 && p.k > 0 &&
		   dir_block(r, p.k - 1)->nr < REG_BLOCK_RANGES) {
		/* between two blocks: the earlier one has room */
		p.k--;
		p.i = dir_block(r, p.k)->nr;
	}
	b = dir_block(r, p.k);
	if (b->nr == REG_BLOCK_RANGES && (p.i == b->nr || p.i == 0)) {
		/*
		 * A full block and the new range at one of its ends: a new
		 * block of its own, so that ranges named in address order
		 * (ascending, or descending as mmap hands addresses out) fill
		 * their blocks rather than leave them half empty.
		 */
		id = block_alloc(r);
		dir_insert(r, p.i ? p.k + 1 : p.k, id);
		p.k += p.i ? 1 : 0;
		p.i = 0;
		b = block(r, id);
	} else if (b->nr == REG_BLOCK_RANGES) {
		/* split the full block in two halves */
		id = block_alloc(r);
		nb = block(r, id);
		half = REG_BLOCK_RANGES / 2;
		nb->nr = b->nr - half;
		memcpy(nb->r, &b->r[half], (size_t)nb->nr * sizeof(b->r[0]));
		b->nr = half;
		dir_insert(r, p.k + 1, id);
		if (p.i > half) {
			p.k++;
			p.i -= half;
			b = nb;
		}
	}
	memmove(&b->r[p.i + 1], &b->r[p.i],
		(size_t)(b->nr - p.i) * sizeof(b->r[0]));
	b->r[p.i] = v;
	b->nr++;
	h->nr_ranges++;
}

/* Fold block k+1 into block k when both fit in three quarters of one. */
static bool try_merge_blocks(struct reg *r, uint32_t k)
{
	struct reg_header *h = reg_header(r);
	struct reg_block *a, *b;

	if (k + 1 >= h->nr_dir)
		return false;
	a = dir_block(r, k);
	b = dir_block(r, k + 1);
	if (a->nr + b->nr > REG_BLOCK_RANGES * 3 / 4)
		return false;
	memcpy(&a->r[a->nr], b->r, (size_t)b->nr * sizeof(b->r[0]));
	a->nr += b->nr;
	block_free(r, dir(r)[k + 1]);
	dir_remove(r, k + 1);
	return true;
}

/* Remove the range at @p (its name reference is the caller's business). */
static void delete_at(struct reg *r, struct pos p)
{
	struct reg_header *h = reg_header(r);
	struct reg_block *b = dir_block(r, p.k);

	memmove(&b->r[p.i], &b->r[p.i + 1],
		(size_t)(b->nr - p.i - 1) * sizeof(b->r[0]));
	b->nr--;
	h->nr_ranges--;
	if (b->nr == 0) {
		block_free(r, dir(r)[p.k]);
		dir_remove(r, p.k);
	} else if (b->nr < REG_BLOCK_RANGES / 4) {
		if (!try_merge_blocks(r, p.k) && p.k > 0)
			try_merge_blocks(r, p.k - 1);
	}
}

/* ---- the operation ------------------------------------------------------------------ */

/* Remove every part of [start, end) from the ranges, cutting at both ends. */
static void clear(struct reg *r, uint64_t start, uint64_t end)
{
	struct pos p = lower_bound(r, start);
	struct reg_range *x;

	if (!pos_valid(r, p))
		return;
	x = at(r, p);
	if (x->start < start && x->end > end) {
		/* a hole punched inside one range: it splits in two */
		struct reg_range right = { .start = end, .end = x->end,
					   .name = x->name };

		x->end = start;
		name_ref(r, right.name);
		p.i++;
		insert_at(r, p, right);
		return;
	}
	if (x->start < start)
		x->end = start; /* keep the part below start */
	for (;;) {
		p = lower_bound(r, start);
		if (!pos_valid(r, p))
			return;
		x = at(r, p);
		if (x->start >= end)
			return;
		if (x->end > end) {
			x->start = end; /* keep the part above end */
			return;
		}
		uint32_t name = x->name;

		delete_at(r, p);
		name_unref(r, name);
	}
}

size_t reg_lookup(const struct reg *r, uint64_t start, uint64_t end,
		  struct reg_range *out, size_t max)
{
	struct pos p;
	size_t n = 0;

	if (!r->base)
		return 0;
	for (p = lower_bound(r, start); pos_valid(r, p) && n < max;) {
		const struct reg_range *x = at(r, p);

		if (x->start >= end)
			break;
		out[n] = *x;
		if (out[n].start < start)
			out[n].start = start;
		if (out[n].end > end)
			out[n].end = end;
		n++;
		if (++p.i == dir_block(r, p.k)->nr) {
			p.k++;
			p.i = 0;
		}
	}
	return n;
}

void reg_set(struct reg *r, uint64_t start, uint64_t end, uint32_t name)
{
	struct reg_range *prev, *next;
	struct pos p;

	if (start >= end)
		return;
	/* already so: nothing to split or merge (the kernel's fast path too) */
	p = lower_bound(r, start);
	if (name != REG_NAME_NONE && pos_valid(r, p) && at(r, p)->start <= start &&
	    at(r, p)->end >= end && at(r, p)->name == name)
		return;

	clear(r, start, end);
	if (name == REG_NAME_NONE)
		return;

	p = lower_bound(r, start);
	prev = before(r, p);
	next = pos_valid(r, p) ? at(r, p) : NULL;
	if (prev && (prev->end != start || prev->name != name))
		prev = NULL;
	if (next && (next->start != end || next->name != name))
		next = NULL;
	if (prev && next) {
		/* fills the gap between two ranges of this name: one range */
		prev->end = next->end;
		delete_at(r, p);
		name_unref(r, name);
	} else if (prev) {
		prev->end = end;
	} else if (next) {
		next->start = start;
	} else {
		struct reg_range v = { .start = start, .end = end, .name = name };

		name_ref(r, name);
		insert_at(r, p, v);
	}
}

/* ---- the mapping ----------------------------------------------------------------------- */

/*
 * A new registry mapping of @lo->size bytes: a memfd (named so that readers
 * find it in /proc/PID/maps) mapped MAP_PRIVATE. Private, so that fork()
 * gives the child a copy-on-write copy: the child inherits the names and
 * each side's later changes stay its own, at no cost to fork itself. Every
 * page is written once now, turning it into the process's own anonymous
 * page, and the memfd's own pages are then freed: the registry costs its
 * size once, not twice, and no page of it can fault from the file again.
 */
static int map_new(size_t size, unsigned char **out)
{
	void *m;
	int fd, err;

	fd = memfd_create(ML_NAMES_MEMFD_NAME, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	/*
	 * Raw system calls: the interposers of unmap.c stay out of it. Every
	 * argument is a long: syscall() is variadic, and an int literal 0 in
	 * the sixth (stack) slot leaves garbage in the offset's upper half.
	 */
	m = (void *)syscall(SYS_mmap, NULL, (long)size,
			    (long)(PROT_READ | PROT_WRITE), (long)MAP_PRIVATE,
			    (long)fd, 0L);
	if (m == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	memset(m, 0, size);
	/* a hint: without it (old kernels) the file keeps its copy */
	(void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			(off_t)size);
	close(fd);
	*out = m;
	return 0;
}

/*
 * Chain every unused block and name slot, lowest first, so that blocks in
 * use stay low and readers copy little past blocks_hwm.
 */
static void rebuild_free_lists(struct reg *r)
{
	struct reg_header *h = reg_header(r);
	uint8_t used[REG_MAX_BLOCKS / 8] = { 0 };

	for (uint32_t k = 0; k < h->nr_dir; k++)
		used[dir(r)[k] / 8] |= (uint8_t)(1u << (dir(r)[k] % 8));
	h->free_block = 0;
	for (uint32_t id = h->blocks_cap; id-- > 0;) {
		if (used[id / 8] & (1u << (id % 8)))
			continue;
		block(r, id)->nr = 0;
		block(r, id)->next_free = h->free_block;
		h->free_block = id + 1;
	}
	h->free_name = 0;
	for (uint32_t id = h->names_cap; id-- > 0;) {
		if (slot(r, id)->refs)
			continue;
		memset(slot(r, id), 0, sizeof(struct reg_name));
		slot(r, id)->next_free = h->free_name;
		h->free_name = id + 1;
	}
}

/* Copy @old (may be empty) into a new mapping with the given capacities. */
static int grow(struct reg *r, uint32_t blocks_cap, uint32_t names_cap,
		size_t page_size)
{
	struct reg old = *r;
	struct reg_header *oh = old.base ? reg_header(&old) : NULL;
	struct reg_header *h;
	struct layout lo;
	uint32_t old_names = oh ? oh->names_cap : 0;
	unsigned char *m = NULL;
	int err;

	compute_layout(blocks_cap, names_cap, page_size, &lo);
	if (lo.size > REG_MAX_MAP_SIZE)
		return -EAGAIN;
	err = map_new(lo.size, &m);
	if (err)
		return err == -ENOMEM ? -EAGAIN : err;
	r->base = m;
	r->size = lo.size;
	h = reg_header(r);
	/* a reader may find the mapping already: mid-change until done */
	reg_write_begin(r);
	memcpy(h->magic, REG_MAGIC, sizeof(h->magic));
	h->version = REG_VERSION;
	h->header_size = REG_HEADER_SIZE;
	h->self_addr = (uint64_t)(uintptr_t)m;
	h->map_size = lo.size;
	h->page_size = (uint32_t)page_size;
	h->block_size = REG_BLOCK_SIZE;
	h->block_ranges = REG_BLOCK_RANGES;
	h->dir_off = lo.dir_off;
	h->blocks_off = lo.blocks_off;
	h->blocks_cap = blocks_cap;
	h->names_off = lo.names_off;
	h->names_cap = names_cap;
	h->name_slot_size = REG_NAME_SLOT_SIZE;
	h->hash_off = lo.hash_off;
	h->hash_cap = lo.hash_cap;
	if (oh) {
		h->generation = oh->generation + 1;
		h->nr_ranges = oh->nr_ranges;
		h->nr_dir = oh->nr_dir;
		h->blocks_hwm = oh->blocks_hwm;
		h->nr_names = oh->nr_names;
		h->names_hwm = oh->names_hwm;
		memcpy(dir(r), old.base + oh->dir_off, (size_t)oh->nr_dir * 4);
		memcpy(slot(r, 0), old.base + oh->names_off,
		       (size_t)old_names * REG_NAME_SLOT_SIZE);
		memcpy(block(r, 0), old.base + oh->blocks_off,
		       (size_t)oh->blocks_hwm * REG_BLOCK_SIZE);
	}
	rebuild_free_lists(r);
	hash_rebuild(r);
	reg_write_end(r);

	if (oh) {
		/* readers that raced the move look again */
		reg_write_begin(&old);
		oh->flags |= REG_RETIRED;
		reg_write_end(&old);
		syscall(SYS_munmap, old.base, old.size);
	}
	return 0;
}

static uint32_t nr_free_blocks(const struct reg *r, uint32_t want)
{
	uint32_t n = 0, id = reg_header(r)->free_block;

	while (id && n < want) {
		n++;
		id = block(r, id - 1)->next_free;
	}
	return n;
}

int reg_reserve(struct reg *r, size_t page_size, size_t nr_sets)
{
	size_t new_ranges = nr_sets + 1, new_blocks;
	struct reg_header *h;
	uint32_t blocks_cap, names_cap;
	bool need = false;
	int err;

	if (new_ranges > REG_MAX_RANGES)
		return -EAGAIN;
	/*
	 * Ranges go in in address order: a block split leaves at least half a
	 * block of room where the next ones land, so a split every 85.
	 */
	new_blocks = 2 + new_ranges / (REG_BLOCK_RANGES / 2);
	if (!r->base) {
		blocks_cap = INITIAL_BLOCKS;
		while (blocks_cap < new_blocks)
			blocks_cap *= 2;
		if (blocks_cap > REG_MAX_BLOCKS)
			return -EAGAIN;
		return grow(r, blocks_cap, INITIAL_NAMES, page_size);
	}
	h = reg_header(r);
	if (h->nr_ranges + new_ranges > REG_MAX_RANGES)
		return -EAGAIN;
	blocks_cap = h->blocks_cap;
	names_cap = h->names_cap;
	while (nr_free_blocks(r, (uint32_t)new_blocks) +
	       (blocks_cap - h->blocks_cap) < new_blocks) {
		if (blocks_cap * 2 > REG_MAX_BLOCKS)
			return -EAGAIN;
		blocks_cap *= 2;
		need = true;
	}
	if (h->free_name == 0) {
		if (names_cap * 2 > REG_MAX_NAMES)
			return -EAGAIN;
		names_cap *= 2;
		need = true;
	}
	if (need) {
		err = grow(r, blocks_cap, names_cap, page_size);
		if (err)
			return err;
		h = reg_header(r);
	}
	/* too many tombstones in the name index: rebuild it in place */
	if ((h->hash_used + 1) * 4 > h->hash_cap * 3)
		hash_rebuild(r);
	return 0;
}

void reg_destroy(struct reg *r)
{
	if (r->base)
		syscall(SYS_munmap, r->base, r->size);
	r->base = NULL;
	r->size = 0;
}
