// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading another process's registry: find its mapping in maps, read it
 * through /proc/PID/mem under the sequence counter, parsing it as it comes
 * without trusting a byte of it. No global state: everything lives in the
 * caller's struct ml_name_ranges.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../util/util.h"
#include "../proc/internal.h"

/* Tries while the writer is mid-change, then -EAGAIN (about 25 ms in all). */
#define READ_ATTEMPTS 64
#define READ_YIELDS 16
/* Times to look in maps again after the registry moved under us. */
#define RELOCATE_ATTEMPTS 4

void ml_name_ranges_free(struct ml_name_ranges *r)
{
	if (!r)
		return;
	free(r->r);
	free(r->names);
	memset(r, 0, sizeof(*r));
}

/* ---- parsing a copy ------------------------------------------------------------ */

static bool within(uint64_t off, uint64_t count, uint64_t size, size_t len)
{
	/* off + count * size <= len, without overflow (count, size < 2^32) */
	return off <= len && count * size <= len - off;
}

static bool is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int check_header(const struct reg_header *h, size_t len)
{
	if (memcmp(h->magic, REG_MAGIC, sizeof(h->magic)) != 0)
		/* a registry being created is all zeros for a moment */
		return is_zero(h, sizeof(*h)) ? -EAGAIN : -EINVAL;
	if (h->version != REG_VERSION)
		return -EPROTO;
	if (h->seq & 1)
		return -EAGAIN;
	if (h->flags & REG_RETIRED)
		return -ESTALE;
	if (h->header_size != REG_HEADER_SIZE || h->block_size != REG_BLOCK_SIZE ||
	    h->block_ranges != REG_BLOCK_RANGES ||
	    h->name_slot_size != REG_NAME_SLOT_SIZE)
		return -EINVAL;
	if (h->page_size < 4096 || (h->page_size & (h->page_size - 1)) ||
	    h->page_size > (1u << 30))
		return -EINVAL;
	if (h->blocks_cap > REG_MAX_BLOCKS || h->names_cap > REG_MAX_NAMES ||
	    h->nr_dir > h->blocks_cap || h->blocks_hwm > h->blocks_cap ||
	    h->names_hwm > h->names_cap ||
	    h->nr_ranges > REG_MAX_RANGES || h->map_size > REG_MAX_MAP_SIZE)
		return -EINVAL;
	if (!within(h->dir_off, h->nr_dir, 4, len) ||
	    !within(h->names_off, h->names_hwm, REG_NAME_SLOT_SIZE, len) ||
	    !within(h->blocks_off, h->blocks_hwm, REG_BLOCK_SIZE, len) ||
	    h->dir_off < REG_HEADER_SIZE || h->names_off < REG_HEADER_SIZE ||
	    h->blocks_off < REG_HEADER_SIZE)
		return -EINVAL;
	return 0;
}

/*
 * Where the parser gets registry bytes: a copy in memory (fuzzing, tests),
 * or the live mapping through /proc/PID/mem, read through a small window
 * so that a reader touches 64 KiB of fresh memory, not the megabytes a
 * registry of tens of thousands of names takes (page faults dominate the
 * cost of reading it, several times more under a paravirtualised MMU).
 */
#define WINDOW (64u << 10)

struct src {
	size_t size;			/* bytes of registry to read */
	const unsigned char *mem;	/* a copy, or NULL: read @fd */
	int fd;
	uint64_t addr;			/* the mapping's address in the target */
	unsigned char *win;		/* WINDOW bytes */
	uint64_t win_off;
	size_t win_len;
	/* where the parts in use end (header, directory, used name slots and
	 * blocks): the window reads no further, so that the never-used tail
	 * of the target's registry is not faulted in by reading it */
	uint64_t used_end;
	int err;			/* the first read error */
};

static int pread_full(int fd, void *buf, size_t len, uint64_t addr);

/* @len bytes at @off (@len <= WINDOW), or NULL: out of bounds or unread. */
static const unsigned char *src_get(struct src *s, uint64_t off, size_t len)
{
	size_t n;
	int err;

	if (off > s->size || len > s->size - off || len > WINDOW)
		return NULL;
	if (s->mem)
		return s->mem + off;
	if (off >= s->win_off && off + len <= s->win_off + s->win_len)
		return s->win + (off - s->win_off);
	n = s->size - off < WINDOW ? (size_t)(s->size - off) : WINDOW;
	if (s->used_end <= off + len)	/* the header, or the last piece */
		n = len;
	else if (s->used_end - off < n)
		n = (size_t)(s->used_end - off);
	err = pread_full(s->fd, s->win, n, s->addr + off);
	if (err) {
		if (!s->err)
			s->err = err;
		s->win_len = 0;
		return NULL;
	}
	s->win_off = off;
	s->win_len = n;
	return s->win;
}

/* The end of the parts of a registry in use (checked within its size). */
static uint64_t used_end(const struct reg_header *h)
{
	uint64_t end[3] = {
		(uint64_t)h->dir_off + (uint64_t)h->nr_dir * 4,
		(uint64_t)h->names_off + (uint64_t)h->names_hwm * REG_NAME_SLOT_SIZE,
		(uint64_t)h->blocks_off + (uint64_t)h->blocks_hwm * REG_BLOCK_SIZE,
	};
	uint64_t m = REG_HEADER_SIZE;

	for (int i = 0; i < 3; i++)
		if (end[i] > m)
			m = end[i];
	return m;
}

/* A read error of the source, else -EINVAL (the bytes are malformed). */
static int src_fail(const struct src *s)
{
	return s->err ? s->err : -EINVAL;
}

/*
 * Pass 1, the name slots in order: every slot in use (refs > 0) is
 * checked and copied once into out->names, and offs[id] gets its offset
 * there (UINT32_MAX for a free slot, which no range may name).
 */
static int parse_names(struct src *s, const struct reg_header *h,
		       uint32_t *offs, char *names, size_t names_cap,
		       size_t *names_len)
{
	for (uint32_t id = 0; id < h->names_hwm; id++) {
		const unsigned char *sl = src_get(s, h->names_off +
					(uint64_t)id * REG_NAME_SLOT_SIZE,
					REG_NAME_SLOT_SIZE);
		struct reg_name n;

		if (!sl)
			return src_fail(s);
		memcpy(&n.refs, sl + offsetof(struct reg_name, refs), sizeof(n.refs));
		memcpy(&n.len, sl + offsetof(struct reg_name, len), sizeof(n.len));
		offs[id] = UINT32_MAX;
		if (n.refs == 0)
			continue;
		sl += offsetof(struct reg_name, s);
		if (n.len >= ML_NAME_MAX || sl[n.len] != '\0' ||
		    *names_len + n.len + 1 > names_cap)
			return -EINVAL;
		for (uint32_t i = 0; i < n.len; i++)
			if (!name_char_ok(sl[i]))
				return -EINVAL;
		offs[id] = (uint32_t)*names_len;
		memcpy(names + *names_len, sl, n.len);
		names[*names_len + n.len] = '\0';
		*names_len += n.len + 1;
	}
	return 0;
}

/* Pass 2, the blocks in directory order: sorted, aligned, named ranges. */
static int parse_ranges(struct src *s, const struct reg_header *h,
			const uint32_t *offs, struct ml_name_ranges *out)
{
	uint64_t prev_end = 0;
	size_t n = 0;

	for (uint32_t k = 0; k < h->nr_dir; k++) {
		const unsigned char *p = src_get(s, h->dir_off + (uint64_t)k * 4, 4);
		struct reg_block b;
		uint32_t id;

		if (!p)
			return src_fail(s);
		memcpy(&id, p, 4);
		if (id >= h->blocks_hwm)
			return -EINVAL;
		p = src_get(s, h->blocks_off + (uint64_t)id * REG_BLOCK_SIZE,
			    REG_BLOCK_SIZE);
		if (!p)
			return src_fail(s);
		memcpy(&b, p, sizeof(b));
		if (b.nr == 0 || b.nr > REG_BLOCK_RANGES)
			return -EINVAL;
		for (uint32_t i = 0; i < b.nr; i++) {
			const struct reg_range *x = &b.r[i];

			if (x->start >= x->end || x->start < prev_end ||
			    (x->start | x->end) & (h->page_size - 1) ||
			    n >= h->nr_ranges || x->name >= h->names_hwm ||
			    offs[x->name] == UINT32_MAX)
				return -EINVAL;
			out->r[n].start = x->start;
			out->r[n].end = x->end;
			out->r[n].name = out->names + offs[x->name];
			n++;
			prev_end = x->end;
		}
	}
	if (n != h->nr_ranges)
		return -EINVAL;
	out->n = n;
	return 0;
}

static int parse_src(struct src *s, struct ml_name_ranges *out)
{
	_cleanup_free_ uint32_t *offs = NULL;
	const unsigned char *p;
	struct reg_header h;
	size_t names_len = 0, names_cap;
	int err;

	memset(out, 0, sizeof(*out));
	if (s->size < sizeof(h))
		return -EINVAL;
	p = src_get(s, 0, sizeof(h));
	if (!p)
		return src_fail(s);
	memcpy(&h, p, sizeof(h));
	err = check_header(&h, s->size);
	if (err)
		return err;
	s->used_end = used_end(&h);
	if (h.nr_ranges == 0)
		return h.nr_dir == 0 ? 0 : -EINVAL;
	if (h.names_hwm == 0)
		return -EINVAL;

	offs = malloc((size_t)h.names_hwm * sizeof(*offs));
	out->r = malloc((size_t)h.nr_ranges * sizeof(*out->r));
	/* every name at most once: names_hwm slots of up to 80 bytes */
	names_cap = (size_t)(h.nr_ranges < h.names_hwm ? h.nr_ranges : h.names_hwm) *
		    ML_NAME_MAX;
	out->names = malloc(names_cap);
	if (!offs || !out->r || !out->names) {
		ml_name_ranges_free(out);
		return -ENOMEM;
	}
	/* written whole: faulted in at once */
	prefault(offs, (size_t)h.names_hwm * sizeof(*offs));
	prefault(out->r, (size_t)h.nr_ranges * sizeof(*out->r));
	err = parse_names(s, &h, offs, out->names, names_cap, &names_len);
	if (!err)
		err = parse_ranges(s, &h, offs, out);
	if (err) {
		ml_name_ranges_free(out);
		return err;
	}
	out->generation = h.generation;
	out->names_len = names_len;
	return 0;
}

int ml_names_registry_parse(const void *data, size_t len,
			    struct ml_name_ranges *out)
{
	struct src s = { .size = len, .mem = data };

	if (!data) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return parse_src(&s, out);
}

/* ---- reading a live process --------------------------------------------------- */

static void backoff(int attempt)
{
	struct timespec ts = { 0, 0 };

	if (attempt < READ_YIELDS) {
		sched_yield();
		return;
	}
	/* 50 us, doubling to 1 ms */
	ts.tv_nsec = 50000L << (attempt - READ_YIELDS < 5 ? attempt - READ_YIELDS : 4);
	if (ts.tv_nsec > 1000000L)
		ts.tv_nsec = 1000000L;
	nanosleep(&ts, NULL);
}

static int pread_full(int fd, void *buf, size_t len, uint64_t addr)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(addr + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EIO: nothing mapped there (any more) */
			return errno == EIO ? -ESTALE : -errno;
		}
		if (n == 0)
			return -ESRCH; /* the process has no memory any more */
		done += (size_t)n;
	}
	return 0;
}

/*
 * One registry mapping at [addr, addr + size), parsed as it is read, then
 * checked against the sequence counter: a registry that changed meanwhile
 * (or that looked malformed because it did) is read again.
 */
static int read_one(int fd, uint64_t addr, uint64_t size,
		    struct ml_name_ranges *out)
{
	_cleanup_free_ unsigned char *win = malloc(WINDOW);
	int err = -EAGAIN;

	if (!win)
		return -ENOMEM;
	if (size < REG_HEADER_SIZE)
		return -EINVAL;
	for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
		struct src s = { .size = (size_t)size, .fd = fd, .addr = addr,
				 .win = win };
		struct reg_header h;
		uint64_t seq_after;
		int rerr;

		if (attempt)
			backoff(attempt);
		err = pread_full(fd, &h, sizeof(h), addr);
		if (err)
			return err;
		err = check_header(&h, size);
		if (err == -EAGAIN)
			continue;
		if (err)
			return err;
		if (h.self_addr != addr || h.map_size != size)
			return -EINVAL;
		err = parse_src(&s, out);
		if (err == -ENOMEM || err == -ESTALE || err == -ESRCH)
			return err;
		rerr = pread_full(fd, &seq_after, sizeof(seq_after),
				  addr + offsetof(struct reg_header, seq));
		if (rerr) {
			ml_name_ranges_free(out);
			return rerr;
		}
		if (seq_after == h.seq && err != -EAGAIN)
			return err;
		/* the writer changed something meanwhile */
		ml_name_ranges_free(out);
		err = -EAGAIN;
	}
	return err;
}

static bool is_registry(const struct ml_vma *v)
{
	return v->name_len == sizeof(ML_NAMES_REGISTRY_MAPPING) - 1 &&
	       memcmp(v->name, ML_NAMES_REGISTRY_MAPPING, v->name_len) == 0;
}

int ml_names_registry_read(struct ml_proc *p, pid_t pid,
			   const struct ml_vma_list *vmas,
			   struct ml_name_ranges *out)
{
	_cleanup_close_ int fd = -1;
	struct ml_vma_list own = { 0 };
	const struct ml_vma_list *l = vmas;
	int err = -ENOENT;

	memset(out, 0, sizeof(*out));
	for (int round = 0; round < RELOCATE_ATTEMPTS; round++) {
		bool found = false, stale = false, have = false;

		if (!l || round > 0) {
			ml_vma_list_free(&own);
			err = ml_proc_vmas(p, pid, false, &own);
			if (err)
				return err;
			l = &own;
		}
		for (size_t i = 0; i < l->n; i++) {
			struct ml_name_ranges r;
			int ret;

			if (!is_registry(&l->v[i]))
				continue;
			found = true;
			if (fd < 0) {
				fd = proc_open(p, pid, "mem", O_RDONLY);
				if (fd < 0) {
					ml_vma_list_free(&own);
					return fd == -EPERM ? -EACCES : fd;
				}
			}
			ret = read_one(fd, l->v[i].start, ml_vma_size(&l->v[i]),
				       &r);
			if (ret == -ESTALE) {
				stale = true;
				continue;
			}
			if (ret) {
				err = ret;
				continue;
			}
			/* two registries only while one moves: keep the newer */
			if (!have) {
				*out = r;
				have = true;
			} else if (r.generation > out->generation) {
				ml_name_ranges_free(out);
				*out = r;
			} else {
				ml_name_ranges_free(&r);
			}
			err = 0;
		}
		if (!found) {
			err = -ENOENT;
			break;
		}
		if (!stale || err == 0)
			break;
		err = -EAGAIN;
	}
	ml_vma_list_free(&own);
	return err;
}
