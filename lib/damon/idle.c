// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The `idle` access source: reads and writes of any process, from the
 * page_idle bitmap (CONFIG_IDLE_PAGE_TRACKING, 4.3+;
 * Documentation/admin-guide/mm/idle_page_tracking.rst) and the PFNs of
 * pagemap, both root only.
 *
 * What the kernel's vaddr ops do with the accessed ("young") bits of page
 * tables, done through the bitmap: prepare() looks up the PFN of each
 * sampled page and sets its idle bit, which also clears the young bits of
 * every pte mapping it; check() reads the PFN again and the bit: a bit
 * still set means no access since. A page that was not present at
 * prepare() and is now, or whose PFN changed (copy-on-write, a fault after
 * reclaim), was accessed. A page that is not present was not.
 *
 * The bitmap is an array of u64 words, one bit per PFN; the kernel takes
 * only whole, aligned words and sets idle for the 1 bits of a written word
 * (0 bits change nothing), so a sample writes one word per page. The
 * kernel counts a word as done at its bit 63, so the last, partial word of
 * physical memory writes (its bits are set) and reads as 0 bytes: pages
 * there read as not accessed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <memlens/features.h>
#include <memlens/pagemap.h>

#include "sources.h"
#include "../util/util.h"

#define IDLE_BITMAP "kernel/mm/page_idle/bitmap"

struct idle_state {
	struct src_target t;	/* first: src_target_apply(), _alive() */
	int bitmap_fd;
	/* what prepare() saw: the sampled pages and their PFNs (0: none) */
	uint64_t *addrs;
	uint64_t *pfns;
	size_t nr;
	size_t cap;
};

static void idle_fini(void *state)
{
	struct idle_state *s = state;

	if (!s)
		return;
	if (s->bitmap_fd >= 0)
		close(s->bitmap_fd);
	src_target_fini(&s->t);
	free(s->addrs);
	free(s->pfns);
	free(s);
}

static int open_bitmap(struct idle_state *s, const char **why)
{
	int dfd = open(ml_proc_sys_root(s->t.proc),
		       O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0) {
		*why = "cannot open the sys root";
		return -errno;
	}
	s->bitmap_fd = openat(dfd, IDLE_BITMAP, O_RDWR | O_CLOEXEC);
	close(dfd);
	if (s->bitmap_fd >= 0)
		return 0;
	if (errno == ENOENT) {
		*why = "kernel lacks CONFIG_IDLE_PAGE_TRACKING";
		return -EOPNOTSUPP;
	}
	if (errno == EACCES || errno == EPERM) {
		*why = "page_idle/bitmap is root only";
		return -EACCES;
	}
	*why = "cannot open page_idle/bitmap";
	return -errno;
}

/* Without CAP_SYS_ADMIN pagemap reads PFNs as 0: nothing to mark. */
static int pfns_visible(struct idle_state *s, const char **why)
{
	struct ml_feature f;

	if (!src_proc_is_live(s->t.proc) ||
	    ml_features_probe_one(s->t.proc, ML_FEATURE_PAGEMAP_PFN, &f))
		return 0;
	if (f.state == ML_FEAT_NO_PERMISSION) {
		*why = "pagemap PFNs need CAP_SYS_ADMIN";
		return -EACCES;
	}
	return 0;
}

static int idle_init(void **state, pid_t pid, const char *arg,
		     const char **why)
{
	const char *unused;
	struct idle_state *s;
	int err;

	if (!why)
		why = &unused;
	*why = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->bitmap_fd = -1;
	err = src_open(arg, pid, &s->t.proc, &s->t.pid, why);
	if (err)
		goto fail;
	/* the kernel's lack first: it is the answer wherever we run */
	err = open_bitmap(s, why);
	if (err)
		goto fail;
	if (!src_pid_alive(s->t.proc, s->t.pid)) {
		*why = "no such process";
		err = -ESRCH;
		goto fail;
	}
	err = ml_pagemap_open(s->t.proc, s->t.pid, &s->t.pm);
	if (err) {
		*why = "cannot open the target's pagemap";
		goto fail;
	}
	err = pfns_visible(s, why);
	if (err)
		goto fail;
	*state = s;
	return 0;
fail:
	idle_fini(s);
	return err;
}

/* Every mapping but the kernel's own ([vvar], [vdso]). */
static int idle_ranges(void *state, uint64_t now_us,
		       struct ml_damon_range *buf, size_t cap, size_t *nr)
{
	struct idle_state *s = state;
	struct ml_vma_iter *it;
	struct ml_vma v;
	int ret;

	(void)now_us;
	*nr = 0;
	ret = ml_vma_iter_open(s->t.proc, s->t.pid, false, &it);
	if (ret)
		return ret;
	while ((ret = ml_vma_iter_next(it, &v)) == 1) {
		if (v.name_len >= 2 && !memcmp(v.name, "[v", 2))
			continue;
		src_range_add(buf, cap, nr, v.start, v.end);
	}
	ml_vma_iter_close(it);
	return ret < 0 ? ret : 0;
}

static int pfn_of(struct idle_state *s, uint64_t addr, uint64_t *pfn)
{
	uint64_t pme = 0;
	ssize_t n = ml_pagemap_read(s->t.pm, addr, 1, &pme);

	if (n < 0)
		return (int)n;
	*pfn = n == 1 ? ml_pme_pfn(pme) : 0;
	return 0;
}

static int grow(struct idle_state *s, size_t nr)
{
	uint64_t *a, *p;

	if (nr <= s->cap)
		return 0;
	a = realloc(s->addrs, nr * sizeof(*a));
	if (!a)
		return -ENOMEM;
	s->addrs = a;
	p = realloc(s->pfns, nr * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->pfns = p;
	s->cap = nr;
	return 0;
}

static int idle_prepare(void *state, uint64_t now_us, const uint64_t *addrs,
			size_t nr)
{
	struct idle_state *s = state;
	int err;

	(void)now_us;
	s->nr = 0;
	err = grow(s, nr);
	if (err)
		return err;
	for (size_t i = 0; i < nr; i++) {
		uint64_t pfn = 0, word;

		err = pfn_of(s, addrs[i], &pfn);
		if (err)
			return err;
		s->addrs[i] = addrs[i];
		s->pfns[i] = pfn;
		if (!pfn)
			continue;
		word = UINT64_C(1) << (pfn % 64);
		/*
		 * 0 bytes: the word holds max_pfn, and the kernel counts a
		 * word only once its bit 63 is done, though it set our bit
		 */
		if (pwrite(s->bitmap_fd, &word, sizeof(word),
			   (off_t)(pfn / 64 * sizeof(word))) < 0)
			return -errno;
	}
	s->nr = nr;
	return 0;
}

static int idle_check(void *state, uint64_t now_us, const uint64_t *addrs,
		      size_t nr, bool *accessed)
{
	struct idle_state *s = state;

	(void)now_us;
	for (size_t i = 0; i < nr; i++) {
		uint64_t pfn = 0, then, word = 0;
		int err = pfn_of(s, addrs[i], &pfn);
		ssize_t n;

		if (err)
			return err;
		/* prepare() saw this page in the same place of its list */
		then = i < s->nr && s->addrs[i] == addrs[i] ? s->pfns[i] : 0;
		if (!pfn) {
			accessed[i] = false;
			continue;
		}
		if (pfn != then) {
			accessed[i] = true; /* faulted in, or a new copy */
			continue;
		}
		n = pread(s->bitmap_fd, &word, sizeof(word),
			  (off_t)(pfn / 64 * sizeof(word)));
		if (n < 0)
			return -errno;
		/* 0 bytes: the last, partial word of memory cannot be read */
		accessed[i] = n == sizeof(word) && !(word >> (pfn % 64) & 1);
	}
	return 0;
}

const struct ml_damon_ops ml_damon_idle_ops = {
	.name = "idle",
	.sees = ML_DAMON_SEES_READS | ML_DAMON_SEES_WRITES,
	.init = idle_init,
	.ranges = idle_ranges,
	.prepare = idle_prepare,
	.check = idle_check,
	.apply = src_target_apply,
	.alive = src_target_alive,
	.fini = idle_fini,
};
