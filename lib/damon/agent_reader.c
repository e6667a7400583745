// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading what libmemlens-damon.so publishes (layout: agent.h): find the
 * agent's memfd mapping in /proc/PID/maps, copy it through /proc/PID/mem
 * under its sequence counter, and parse the copy as hostile input. The
 * program is never stopped: a copy taken while the agent wrote is retried.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <memlens/damon.h>
#include <memlens/proc.h>

#include "agent.h"
#include "../util/util.h"

/* attempts at a consistent copy; the agent writes for microseconds */
#define READ_TRIES 64

/* ---- parsing ----------------------------------------------------------- */

static bool nul_terminated(const char *s, size_t sz)
{
	return memchr(s, '\0', sz) != NULL;
}

static int check_header(const struct agent_header *h, size_t len)
{
	uint64_t regions_end;

	if (memcmp(h->magic, AGENT_MAGIC, sizeof(h->magic)) ||
	    h->version != AGENT_VERSION)
		return -EINVAL;
	if (h->header_size < sizeof(*h) || h->header_size > len ||
	    h->region_size != sizeof(struct agent_region))
		return -EINVAL;
	if (h->state > AGENT_FAILED || h->error > 0 || h->pid < 0)
		return -EINVAL;
	if (!nul_terminated(h->ops, sizeof(h->ops)) ||
	    !nul_terminated(h->why, sizeof(h->why)))
		return -EINVAL;
	if (h->map_size > AGENT_MAX_MAP_SIZE ||
	    h->regions_cap > AGENT_MAX_REGIONS ||
	    h->nr_regions > h->regions_cap)
		return -EINVAL;
	if (h->regions_off < h->header_size || h->regions_off % 8)
		return -EINVAL;
	regions_end = (uint64_t)h->regions_off +
		      (uint64_t)h->regions_cap * sizeof(struct agent_region);
	if (regions_end > h->map_size)
		return -EINVAL;
	/* the copy must hold the regions in use */
	if ((uint64_t)h->regions_off +
	    (uint64_t)h->nr_regions * sizeof(struct agent_region) > len)
		return -EINVAL;
	/* the scheme statistics, when there are any: whole, before the
	 * regions, inside the copy */
	if (h->nr_schemes &&
	    (h->nr_schemes > AGENT_MAX_SCHEMES ||
	     h->scheme_size != sizeof(struct agent_scheme) ||
	     h->schemes_off < h->header_size || h->schemes_off % 8 ||
	     (uint64_t)h->schemes_off +
			     (uint64_t)h->nr_schemes * sizeof(struct agent_scheme) >
		     h->regions_off))
		return -EINVAL;
	if (h->state == AGENT_RUNNING && !h->nr_snapshots)
		return -EINVAL;
	if (h->nr_snapshots &&
	    (!h->sample_us || h->aggr_us < h->sample_us ||
	     h->min_nr_regions > h->max_nr_regions))
		return -EINVAL;
	return 0;
}

/* Sorted, non-empty, disjoint, counts within the scale. */
static int copy_regions(const struct agent_header *h,
			const struct agent_region *in,
			struct ml_damon_region *out)
{
	uint64_t prev_end = 0;

	for (uint32_t i = 0; i < h->nr_regions; i++) {
		struct agent_region r;

		memcpy(&r, &in[i], sizeof(r)); /* no alignment assumed */
		if (r.start >= r.end || r.start < prev_end ||
		    r.nr_accesses > h->max_nr_accesses)
			return -EINVAL;
		prev_end = r.end;
		out[i].start = r.start;
		out[i].end = r.end;
		out[i].nr_accesses = r.nr_accesses;
		out[i].age = r.age;
	}
	return 0;
}

/* (check_header() has bounded them) */
static void copy_schemes(const struct agent_header *h, const void *in,
			 struct ml_damon_agent_snap *out)
{
	_Static_assert(AGENT_MAX_SCHEMES == ML_DAMON_AGENT_MAX_SCHEMES,
		       "one bound for writer and reader");
	out->nr_schemes = h->nr_schemes;
	for (uint32_t i = 0; i < h->nr_schemes; i++) {
		struct agent_scheme a;

		memcpy(&a, (const char *)in + i * sizeof(a), sizeof(a));
		out->schemes[i] = (struct ml_damos_stat){
			.nr_tried = a.nr_tried,
			.sz_tried = a.sz_tried,
			.nr_applied = a.nr_applied,
			.sz_applied = a.sz_applied,
			.qt_exceeds = a.qt_exceeds,
		};
		out->scheme_active[i] = a.active != 0;
	}
}

int ml_damon_agent_parse(const void *buf, size_t len,
			 struct ml_damon_agent_snap *out)
{
	struct agent_header h;
	int err;

	if (!buf || !out)
		return -EINVAL;
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, buf, sizeof(h));
	if (h.seq & 1)
		return -EAGAIN;
	err = check_header(&h, len);
	if (err)
		return err;
	if (h.nr_regions > out->buf_cap) {
		struct ml_damon_region *r = realloc(out->buf,
						    h.nr_regions * sizeof(*r));

		if (!r)
			return -ENOMEM;
		out->buf = r;
		out->buf_cap = h.nr_regions;
	}
	err = copy_regions(&h, (const void *)((const char *)buf +
					      h.regions_off), out->buf);
	if (err)
		return err;

	out->state = (enum ml_damon_agent_state)h.state;
	out->error = h.error;
	memcpy(out->ops, h.ops, sizeof(out->ops));
	memcpy(out->why, h.why, sizeof(out->why));
	out->attrs.sample_us = h.sample_us;
	out->attrs.aggr_us = h.aggr_us;
	out->attrs.ops_update_us = h.ops_update_us;
	out->attrs.min_nr_regions = h.min_nr_regions;
	out->attrs.max_nr_regions = h.max_nr_regions;
	out->nr_snapshots = h.nr_snapshots;
	out->snap.time_us = h.time_us;
	out->snap.target_id = 0;
	out->snap.pid = h.pid;
	out->snap.max_nr_accesses = h.max_nr_accesses;
	out->snap.nr_regions = h.nr_regions;
	out->snap.regions = out->buf;
	copy_schemes(&h, (const char *)buf + h.schemes_off, out);
	return 0;
}

void ml_damon_agent_snap_free(struct ml_damon_agent_snap *s)
{
	if (!s)
		return;
	free(s->buf);
	s->buf = NULL;
	s->buf_cap = 0;
}

/* ---- reading a live process ------------------------------------------- */

/* The agent's mapping in @pid's maps: [*start, *end). */
static int find_mapping(struct ml_proc *p, pid_t pid, uint64_t *start,
			uint64_t *end)
{
	struct ml_vma_iter *it;
	struct ml_vma v;
	int ret, found = -ENOENT;

	ret = ml_vma_iter_open(p, pid, false, &it);
	if (ret)
		return ret == -ENOENT ? -ESRCH : ret;
	while ((ret = ml_vma_iter_next(it, &v)) == 1) {
		if (v.name_len != sizeof(AGENT_MAPS_NAME) - 1 ||
		    memcmp(v.name, AGENT_MAPS_NAME, v.name_len))
			continue;
		*start = v.start;
		*end = v.end;
		found = 0;
		break;
	}
	ml_vma_iter_close(it);
	return ret < 0 ? ret : found;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* unmapped under us: the agent moved */
		done += (size_t)n;
	}
	return 0;
}

/*
 * One attempt: header, then header + regions in one buffer, then seq.
 * -EAGAIN when the agent was writing or the mapping moved.
 */
static int copy_once(int memfd, uint64_t start, uint64_t size, char **buf,
		     size_t *cap, size_t *len)
{
	struct agent_header h;
	uint64_t seq2, need;
	int err;

	if (size < AGENT_HEADER_SIZE)
		return -EINVAL;
	err = pread_all(memfd, &h, sizeof(h), start);
	if (err)
		return err == -EIO ? -EAGAIN : err;
	if (h.seq & 1)
		return -EAGAIN;
	if (h.regions_off > size || h.nr_regions > AGENT_MAX_REGIONS)
		return -EINVAL;
	need = (uint64_t)h.regions_off +
	       (uint64_t)h.nr_regions * sizeof(struct agent_region);
	if (need > size)
		return -EAGAIN; /* grown since maps was read: look again */
	if (need > *cap) {
		char *b = realloc(*buf, need);

		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = need;
	}
	err = pread_all(memfd, *buf, need, start);
	if (!err)
		err = pread_all(memfd, &seq2, sizeof(seq2),
				start + offsetof(struct agent_header, seq));
	if (err)
		return err == -EIO ? -EAGAIN : err;
	if (seq2 != h.seq)
		return -EAGAIN;
	*len = need;
	return 0;
}

int ml_damon_agent_read(struct ml_proc *p, pid_t pid,
			struct ml_damon_agent_snap *out)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int memfd = -1;
	size_t cap = 0, len = 0;
	uint64_t start, end;
	char path[32];
	int err = -EAGAIN;

	if (!p || pid <= 0 || !out)
		return -EINVAL;
	snprintf(path, sizeof(path), "%d/mem", (int)pid);
	memfd = openat(ml_proc_dirfd(p), path, O_RDONLY | O_CLOEXEC);
	if (memfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	for (int i = 0; i < READ_TRIES && err == -EAGAIN; i++) {
		if (i) {
			struct timespec ts = { 0, 200000 };

			nanosleep(&ts, NULL);
		}
		err = find_mapping(p, pid, &start, &end);
		if (err)
			return err;
		err = copy_once(memfd, start, end - start, &buf, &cap, &len);
		if (!err)
			err = ml_damon_agent_parse(buf, len, out);
	}
	if (err)
		return err;
	/* a copy inherited across fork() names its writer's pid */
	if (out->snap.pid != pid)
		return -ENOENT;
	return 0;
}
