/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/alloctag internals: the snapshot builder shared by the in-process
 * report (alloc.c) and the reader of other processes (reader.c).
 */
#ifndef MEMLENS_ALLOCTAG_INTERNAL_H
#define MEMLENS_ALLOCTAG_INTERNAL_H

#include <memlens/alloctag.h>

#include "../util/util.h"

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
int snap_add(struct ml_alloctag_snapshot *s, const struct snap_in *in);
/* Append a captured record (its site is resolved by snap_finish()). */
int snap_add_ctx(struct ml_alloctag_snapshot *s, const struct ml_alloctag_ctx *c);
/* Turn string offsets into pointers and link records to their sites. */
void snap_finish(struct ml_alloctag_snapshot *s);

/* The module name of an object path: its base name without ".so..." */
void alloctag_module_of(const char *object, char *buf, size_t sz);

#endif
