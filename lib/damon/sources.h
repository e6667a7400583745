/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the access sources of real processes (wp.c, softdirty.c, idle.c)
 * share: the arguments they take, the ranges they offer, process_madvise.
 * Internal to lib/damon.
 */
#ifndef MEMLENS_DAMON_SOURCES_H
#define MEMLENS_DAMON_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <memlens/damon.h>
#include <memlens/pagemap.h>
#include <memlens/proc.h>

/* ---- arguments ------------------------------------------------------------ */

/*
 * The @arg of a real-process source's init(): NULL, "", or comma-separated
 * key=value pairs. Keys: proc_root, sys_root (paths without commas; tests
 * point them at fixture trees); exclude=ADDR (hex or decimal, up to
 * SRC_MAX_EXCLUDE times): leave out the mapping holding ADDR (the agent's
 * own stack and heap). Unknown keys give -EINVAL.
 */
#define SRC_MAX_EXCLUDE 8

struct src_args {
	char proc_root[256];
	char sys_root[256];
	uint64_t exclude[SRC_MAX_EXCLUDE];
	size_t nr_exclude;
};

int src_args_parse(const char *arg, struct src_args *out);
/* An ml_proc for the parsed roots. */
int src_proc_new(const struct src_args *a, struct ml_proc **out);
/*
 * The start of every real-process source's init(): parse @arg, open its
 * proc root into *@proc, and the target's pid into *@target (@pid, or the
 * caller for 0). On failure *@why says what failed (never NULL after).
 */
int src_open(const char *arg, pid_t pid, struct ml_proc **proc,
	     pid_t *target, const char **why);
/* The proc root is the kernel's procfs (so live probes mean something). */
bool src_proc_is_live(const struct ml_proc *p);

/* ---- ranges ----------------------------------------------------------------- */

/*
 * Put @r into @buf (at most @cap entries, *@nr counting all), merging it
 * with the previous entry when adjacent. Ranges come in address order.
 */
void src_range_add(struct ml_damon_range *buf, size_t cap, size_t *nr,
		   uint64_t start, uint64_t end);

/* Private anonymous writable memory other than the stack and the vdso. */
bool src_vma_private_anon_rw(const struct ml_vma *v);

/* Still there: <proc_root>/<pid> exists and is not a zombie. */
bool src_pid_alive(struct ml_proc *p, pid_t pid);

/* ---- another process, read through its pagemap ---------------------------- */

/*
 * What softdirty and idle keep of their target. Their state starts with
 * it, so that one apply() and one alive() serve both.
 */
struct src_target {
	struct ml_proc *proc;
	struct ml_pagemap *pm;
	pid_t pid;
};

/* Closes what the target holds (safe on a zeroed one). */
void src_target_fini(struct src_target *t);
/* ops.apply and ops.alive for a state that starts with a struct src_target */
int src_target_apply(void *state, int action, uint64_t start, uint64_t end,
		     uint64_t *applied);
bool src_target_alive(void *state);

#endif
