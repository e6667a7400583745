// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The `softdirty` access source: writes of any process we may ptrace-read,
 * from the soft-dirty bit of its pagemap entries (bit 55, 3.11+ with
 * CONFIG_MEM_SOFT_DIRTY; Documentation/admin-guide/mm/soft-dirty.rst).
 *
 * Sees WRITES ONLY. prepare() writes "4" to /proc/PID/clear_refs, which
 * clears the bit of every page of the process (the kernel has no per-page
 * clear), and write-protects them so that the next write to each faults
 * once and sets it again; check() reads the sampled pages' entries. So a
 * sample costs a walk of all of the target's page tables plus one fault per
 * page it writes afterwards: on big targets use long sample intervals.
 * clear_refs is process-wide state: do not use this source on a process
 * whose soft-dirty bits someone else tracks (CRIU's pre-dump).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <memlens/features.h>
#include <memlens/pagemap.h>

#include "sources.h"
#include "../util/util.h"

struct sd_state {
	struct src_target t;	/* first: src_target_apply(), _alive() */
	int clear_refs_fd;
};

static void sd_fini(void *state)
{
	struct sd_state *s = state;

	if (!s)
		return;
	if (s->clear_refs_fd >= 0)
		close(s->clear_refs_fd);
	src_target_fini(&s->t);
	free(s);
}

/*
 * On the kernel's procfs, ask the kernel (a probe on our own process);
 * a fixture tree cannot be asked and is taken as it is.
 */
static int sd_supported(struct ml_proc *p, const char **why)
{
	struct ml_feature f;

	if (!src_proc_is_live(p))
		return 0;
	if (ml_features_probe_one(p, ML_FEATURE_SOFT_DIRTY, &f))
		return 0;
	if (f.state == ML_FEAT_NO) {
		*why = "kernel lacks CONFIG_MEM_SOFT_DIRTY";
		return -EOPNOTSUPP;
	}
	return 0;
}

static int sd_open(struct sd_state *s, const char **why)
{
	char path[32];
	int err;

	err = ml_pagemap_open(s->t.proc, s->t.pid, &s->t.pm);
	if (err) {
		*why = err == -ENOENT ? "kernel lacks CONFIG_PROC_PAGE_MONITOR"
				      : "cannot open the target's pagemap";
		return err == -ENOENT ? -EOPNOTSUPP : err;
	}
	snprintf(path, sizeof(path), "%d/clear_refs", (int)s->t.pid);
	s->clear_refs_fd = openat(ml_proc_dirfd(s->t.proc), path,
				  O_WRONLY | O_CLOEXEC);
	if (s->clear_refs_fd < 0) {
		*why = "cannot open the target's clear_refs";
		return errno == ENOENT ? -ESRCH : -errno;
	}
	return sd_supported(s->t.proc, why);
}

static int sd_init(void **state, pid_t pid, const char *arg, const char **why)
{
	const char *unused;
	struct sd_state *s;
	int err;

	if (!why)
		why = &unused;
	*why = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->clear_refs_fd = -1;
	err = src_open(arg, pid, &s->t.proc, &s->t.pid, why);
	if (err)
		goto fail;
	if (!src_pid_alive(s->t.proc, s->t.pid)) {
		*why = "no such process";
		err = -ESRCH;
		goto fail;
	}
	err = sd_open(s, why);
	if (err)
		goto fail;
	*state = s;
	return 0;
fail:
	sd_fini(s);
	return err;
}

/* Every writable mapping: writes are all this source can see. */
static int sd_ranges(void *state, uint64_t now_us, struct ml_damon_range *buf,
		     size_t cap, size_t *nr)
{
	struct sd_state *s = state;
	struct ml_vma_iter *it;
	struct ml_vma v;
	int ret;

	(void)now_us;
	*nr = 0;
	ret = ml_vma_iter_open(s->t.proc, s->t.pid, false, &it);
	if (ret)
		return ret;
	while ((ret = ml_vma_iter_next(it, &v)) == 1)
		if (v.perms[1] == 'w' && (!ml_vma_is_anon(&v) ||
					  src_vma_private_anon_rw(&v)))
			src_range_add(buf, cap, nr, v.start, v.end);
	ml_vma_iter_close(it);
	return ret < 0 ? ret : 0;
}

static int sd_prepare(void *state, uint64_t now_us, const uint64_t *addrs,
		      size_t nr)
{
	struct sd_state *s = state;

	(void)now_us;
	(void)addrs;
	if (!nr)
		return 0;
	/* pwrite: a fixture's clear_refs is a regular file */
	if (pwrite(s->clear_refs_fd, "4", 1, 0) != 1)
		return errno == ESRCH ? -ESRCH : -errno;
	return 0;
}

static int sd_check(void *state, uint64_t now_us, const uint64_t *addrs,
		    size_t nr, bool *accessed)
{
	struct sd_state *s = state;

	(void)now_us;
	for (size_t i = 0; i < nr; i++) {
		uint64_t pme = 0;
		ssize_t n = ml_pagemap_read(s->t.pm, addrs[i], 1, &pme);

		if (n < 0)
			return (int)n;
		/* bit 55 is kept in swap entries too */
		accessed[i] = n == 1 && ml_pme_soft_dirty(pme);
	}
	return 0;
}

const struct ml_damon_ops ml_damon_softdirty_ops = {
	.name = "softdirty",
	.sees = ML_DAMON_SEES_WRITES,
	.init = sd_init,
	.ranges = sd_ranges,
	.prepare = sd_prepare,
	.check = sd_check,
	.apply = src_target_apply,
	.alive = src_target_alive,
	.fini = sd_fini,
};
