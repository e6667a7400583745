/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/allocinfo.h - the allocinfo text format, as records.
 *
 * The kernel's memory allocation profiling (Linux 6.10+,
 * CONFIG_MEM_ALLOC_PROFILING) reports one line per allocation call site in
 * /proc/allocinfo (lib/alloc_tag.c, lib/codetag.c):
 *
 *   allocinfo - version: 1.0
 *   #     <size>  <calls> <tag info>
 *      1634304      399 mm/slub.c:2431 func:alloc_slab_page 
 *        12288        3 fs/xfs/xfs_buf.c:123 [xfs] func:xfs_buf_alloc 
 *
 * "%12lli %8llu " then "file:line [module] func:name", then, from 6.14,
 * " accurate:no" for tags whose counts may be off, then " \n". memlens'
 * own dumps for user space (ml_alloctag_dump()) write the same format, so
 * the one parser reads both. Lines this version does not understand are
 * counted (nr_bad), not fatal: the text is untrusted (fuzzed).
 */
#ifndef MEMLENS_ALLOCINFO_H
#define MEMLENS_ALLOCINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memlens/proc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One call site. Strings point into the parsed text (NUL-terminated). */
struct ml_allocinfo_rec {
	int64_t bytes;      /* live bytes (the kernel prints an s64) */
	uint64_t calls;     /* live allocations */
	const char *file;   /* as printed: "mm/slub.c" */
	uint32_t line;
	const char *module; /* "" for the core kernel (no [module]) */
	const char *func;
	bool inaccurate;    /* "accurate:no" (6.14+) */
};

struct ml_allocinfo {
	struct ml_allocinfo_rec *recs; /* in file order */
	size_t n;
	unsigned version_major;        /* from the header: 1.0 */
	unsigned version_minor;
	size_t nr_bad;                 /* lines skipped as malformed */
	int64_t total_bytes;           /* sums over recs (saturating) */
	uint64_t total_calls;
	char *text;                    /* owned: what the strings point into */
};

/*
 * Parse allocinfo text in place (@text is modified: separators become
 * NULs) into *@out; @text stays owned by the caller, who keeps it alive as
 * long as *@out. The first line must be the version header ("allocinfo -
 * version: X.Y"); only major version 1 is understood.
 * Returns 0, -EINVAL (no header, or another major version), -ENOMEM.
 */
int ml_allocinfo_parse(char *text, size_t len, struct ml_allocinfo *out);

/*
 * Read and parse <proc_root>/allocinfo. The text is owned by *@out.
 * Returns 0, -ENOENT (a kernel without allocation profiling), -EACCES
 * (the file is root's: 0400), -EINVAL, -ENOMEM.
 */
int ml_allocinfo_read_kernel(struct ml_proc *p, struct ml_allocinfo *out);

/* Free what *@a holds (the text too when ml_allocinfo_read_kernel made it). */
void ml_allocinfo_free(struct ml_allocinfo *a);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_ALLOCINFO_H */
