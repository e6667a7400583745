/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/alloctag internals: what alloc.c and registry.c share, and the
 * snapshot builder shared by the in-process report (registry.c) and the
 * reader of other processes (reader.c).
 */
#ifndef MEMLENS_ALLOCTAG_INTERNAL_H
#define MEMLENS_ALLOCTAG_INTERNAL_H

#include <memlens/alloctag.h>

#include "../util/util.h"

/* internal: not exported from libmemlens.so */
#define ML_HIDDEN __attribute__((visibility("hidden")))

/* One site as found, strings borrowed (the builder copies them). */
struct snap_in {
	uint64_t tag_addr;
	const char *file, *func, *module, *object;
	uint32_t line, flags;
	uint64_t addr;
	bool capture, main;
	int64_t bytes, calls;
};

/* Append a site; its strings are copied. 0 or -ENOMEM. */
ML_HIDDEN int snap_add(struct ml_alloctag_snapshot *s, const struct snap_in *in);
/* Append a captured record (its site is resolved by snap_finish()). */
ML_HIDDEN int snap_add_ctx(struct ml_alloctag_snapshot *s, const struct ml_alloctag_ctx *c);
/* Turn string offsets into pointers and link records to their sites. */
ML_HIDDEN void snap_finish(struct ml_alloctag_snapshot *s);

/* ---- shared by alloc.c and registry.c ---- */

/* the root object of this copy of the code (exported as memlens_alloc_root) */
extern struct ml_alloc_root alloctag_root ML_HIDDEN;
/* Zeroed memory that is never freed, from mmap'd chunks (not malloc). */
ML_HIDDEN void *alloctag_perm_alloc(size_t size);
ML_HIDDEN char *alloctag_perm_strdup(const char *s);
/* The sum of a site's shards: live bytes, or with @calls live blocks. */
ML_HIDDEN int64_t alloctag_rt_sum(struct ml_alloc_rt *rt, bool calls);
/* registry.c: set-up, and its lock around fork (taken before perm's) */
ML_HIDDEN void alloctag_registry_init(void);
ML_HIDDEN void alloctag_registry_lock(void);
ML_HIDDEN void alloctag_registry_unlock(void);
ML_HIDDEN void alloctag_registry_fork_child(void);

/* The module name of an object path: its base name without ".so..." */
ML_HIDDEN void alloctag_module_of(const char *object, char *buf, size_t sz);

#endif
