/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memlens allocinfo --kernel: the kernel's /proc/allocinfo as a report
 * (cli/allocinfo_kernel.c). cmd_allocinfo.c parses the shared options
 * (--top, --sort, --module, --json) and calls allocinfo_kernel().
 */
#ifndef MEMLENS_CLI_ALLOCINFO_KERNEL_H
#define MEMLENS_CLI_ALLOCINFO_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include <memlens/alloctag.h>

#include "cli.h"

enum allocinfo_sort {
	ALLOCINFO_SORT_BYTES = 0, /* largest first, the default */
	ALLOCINFO_SORT_CALLS,
	ALLOCINFO_SORT_NONE,      /* file order */
};

struct allocinfo_kernel_opts {
	size_t top;               /* 0: every site */
	enum allocinfo_sort sort;
	const char *module;       /* only this module ("" or "kernel": core) */
	bool json;
	bool raw;                 /* the kernel's own format, filtered/sorted */
};

/*
 * Read <proc_root>/allocinfo through libmemlens and print it. Returns the
 * exit status: 0, or 1 with "memlens: allocinfo: ..." on stderr (no file:
 * a kernel without CONFIG_MEM_ALLOC_PROFILING; EACCES: root's file).
 */
int allocinfo_kernel(struct cli_ctx *ctx, const struct allocinfo_kernel_opts *o);

/*
 * Give the runtime sites (ML_ALLOC_TAG_ADDR) of @s, read from process @pid,
 * their file:line, function and module (cli/allocinfo_symbolize.c). The
 * strings belong to the returned handle: free it with
 * allocinfo_symbolize_done() after the last use of @s. NULL when there was
 * nothing to do or it failed (the sites keep their addresses).
 */
struct allocinfo_syms;
struct allocinfo_syms *allocinfo_symbolize_sites(struct cli_ctx *ctx,
						 pid_t pid,
						 struct ml_alloctag_snapshot *s);
void allocinfo_symbolize_done(struct allocinfo_syms *h);

#endif
