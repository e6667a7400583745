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

#endif
