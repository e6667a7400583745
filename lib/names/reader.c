// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading another process's registry: find its mapping in maps, copy it
 * through /proc/PID/mem under the sequence counter, and parse the copy
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
 * The parts a reader copies, at their offsets: the header, the directory,
 * the name slots and the blocks used so far. Not the unused tails, nor the
 * writer's hash index: the buffer's pages there are never touched.
 */
struct part {
	uint64_t off, len;
};

static size_t used_parts(const struct reg_header *h, struct part p[3])
{
	uint64_t end = 0;

	p[0].off = 0;
	p[0].len = (uint64_t)h->dir_off + (uint64_t)h->nr_dir * 4;
	p[1].off = h->names_off;
	p[1].len = (uint64_t)h->names_hwm * REG_NAME_SLOT_SIZE;
	p[2].off = h->blocks_off;
	p[2].len = (uint64_t)h->blocks_hwm * REG_BLOCK_SIZE;
	for (int i = 0; i < 3; i++)
		if (p[i].off + p[i].len > end)
			end = p[i].off + p[i].len;
	return (size_t)end;
}

/*
 * The name in slot @id, checked, copied once into out->names; returns its
 * offset there or a negative errno.
 */
static long name_offset(const unsigned char *buf, const struct reg_header *h,
			uint32_t id, uint32_t *offs, size_t *names_len)
{
	const unsigned char *s;
	struct reg_name n;

	if (id >= h->names_hwm)
		return -EINVAL;
	if (offs[id] != UINT32_MAX)
		return offs[id];
	memcpy(&n, buf + h->names_off + (size_t)id * REG_NAME_SLOT_SIZE,
	       sizeof(n));
	if (n.refs == 0 || n.len >= ML_NAME_MAX || n.s[n.len] != '\0')
		return -EINVAL;
	s = (const unsigned char *)n.s;
	for (uint32_t i = 0; i < n.len; i++)
		if (!name_char_ok(s[i]))
			return -EINVAL;
	offs[id] = (uint32_t)*names_len;
	*names_len += n.len + 1;
	return offs[id];
}

int ml_names_registry_parse(const void *data, size_t len,
			    struct ml_name_ranges *out)
{
	const unsigned char *buf = data;
	_cleanup_free_ uint32_t *offs = NULL;
	struct reg_header h;
	uint64_t prev_end = 0;
	size_t n = 0, names_len = 0, names_cap;
	int err;

	memset(out, 0, sizeof(*out));
	if (!buf || len < sizeof(h))
		return -EINVAL;
	memcpy(&h, buf, sizeof(h));
	err = check_header(&h, len);
	if (err)
		return err;
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
	memset(offs, 0xff, (size_t)h.names_hwm * sizeof(*offs));

	for (uint32_t k = 0; k < h.nr_dir; k++) {
		uint32_t id;
		struct reg_block b;

		memcpy(&id, buf + h.dir_off + (size_t)k * 4, 4);
		if (id >= h.blocks_hwm)
			goto bad;
		memcpy(&b, buf + h.blocks_off + (size_t)id * REG_BLOCK_SIZE,
		       sizeof(b));
		if (b.nr == 0 || b.nr > REG_BLOCK_RANGES)
			goto bad;
		for (uint32_t i = 0; i < b.nr; i++) {
			const struct reg_range *x = &b.r[i];
			long off;

			if (x->start >= x->end || x->start < prev_end ||
			    (x->start | x->end) & (h.page_size - 1) ||
			    n >= h.nr_ranges)
				goto bad;
			off = name_offset(buf, &h, x->name, offs, &names_len);
			if (off < 0)
				goto bad;
			out->r[n].start = x->start;
			out->r[n].end = x->end;
			/* an offset for now: names may still move */
			out->r[n].name = (const char *)(uintptr_t)off;
			n++;
			prev_end = x->end;
		}
	}
	if (n != h.nr_ranges)
		goto bad;
	/* copy the names, then turn offsets into pointers */
	for (uint32_t id = 0; id < h.names_hwm; id++) {
		const unsigned char *sl = buf + h.names_off +
					  (size_t)id * REG_NAME_SLOT_SIZE;
		uint32_t nlen;

		if (offs[id] == UINT32_MAX)
			continue;
		memcpy(&nlen, sl + offsetof(struct reg_name, len), sizeof(nlen));
		memcpy(out->names + offs[id], sl + offsetof(struct reg_name, s),
		       nlen);
		out->names[offs[id] + nlen] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		out->r[i].name = out->names + (uintptr_t)out->r[i].name;
	out->n = n;
	out->generation = h.generation;
	return 0;
bad:
	ml_name_ranges_free(out);
	return -EINVAL;
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

/*
 * Fault a fresh buffer's pages in with one call, not one fault per page as
 * the copy reaches them (several times dearer under a paravirtualised MMU).
 * A hint: kernels before 5.14 refuse it.
 */
static void prefault(void *addr, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t page = 4096;
	uintptr_t start = ((uintptr_t)addr + page - 1) & ~(page - 1);
	uintptr_t stop = ((uintptr_t)addr + len) & ~(page - 1);

	if (stop > start + 16 * page)
		madvise((void *)start, stop - start, MADV_POPULATE_WRITE);
#else
	(void)addr;
	(void)len;
#endif
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

/* One registry mapping at [addr, addr + size): a consistent copy, parsed. */
static int read_one(int fd, uint64_t addr, uint64_t size,
		    struct ml_name_ranges *out)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t cap = 0;
	int err = -EAGAIN;

	for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
		struct reg_header h;
		struct part parts[3];
		uint64_t seq_after;
		size_t need;

		if (attempt)
			backoff(attempt);
		if (size < REG_HEADER_SIZE)
			return -EINVAL;
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
		need = used_parts(&h, parts);
		if (need > size)
			return -EINVAL;
		if (need > cap) {
			unsigned char *nb = realloc(buf, need);

			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap = need;
		}
		for (int i = 0; i < 3 && !err; i++) {
			if (!parts[i].len)
				continue;
			prefault(buf + parts[i].off, parts[i].len);
			err = pread_full(fd, buf + parts[i].off, parts[i].len,
					 addr + parts[i].off);
		}
		if (err)
			return err;
		err = pread_full(fd, &seq_after, sizeof(seq_after),
				 addr + offsetof(struct reg_header, seq));
		if (err)
			return err;
		if (seq_after != h.seq) {
			err = -EAGAIN;
			continue; /* the writer changed something meanwhile */
		}
		err = ml_names_registry_parse(buf, need, out);
		if (err != -EAGAIN)
			return err;
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
