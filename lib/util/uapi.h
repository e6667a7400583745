/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel uapi newer than the build's headers (Debian bookworm ships 6.1's):
 * defined here once, for every module that uses them. Each block is taken
 * from the kernel's include/uapi/ header named above it and is skipped when
 * the system header already has it.
 */
#ifndef MEMLENS_UAPI_H
#define MEMLENS_UAPI_H

#include <linux/fs.h>
#include <linux/types.h>
#include <sys/ioctl.h>

/* ---- PROCMAP_QUERY: include/uapi/linux/fs.h, 6.11 ------------------------- */

#ifndef PROCMAP_QUERY
enum procmap_query_flags {
	PROCMAP_QUERY_VMA_READABLE = 0x01,
	PROCMAP_QUERY_VMA_WRITABLE = 0x02,
	PROCMAP_QUERY_VMA_EXECUTABLE = 0x04,
	PROCMAP_QUERY_VMA_SHARED = 0x08,
	PROCMAP_QUERY_COVERING_OR_NEXT_VMA = 0x10,
	PROCMAP_QUERY_FILE_BACKED_VMA = 0x20,
};

struct procmap_query {
	__u64 size;
	__u64 query_flags;   /* in */
	__u64 query_addr;    /* in */
	__u64 vma_start;     /* out */
	__u64 vma_end;       /* out */
	__u64 vma_flags;     /* out */
	__u64 vma_page_size; /* out */
	__u64 vma_offset;    /* out */
	__u64 inode;         /* out */
	__u32 dev_major;     /* out */
	__u32 dev_minor;     /* out */
	__u32 vma_name_size; /* in/out */
	__u32 build_id_size; /* in/out */
	__u64 vma_name_addr; /* in */
	__u64 build_id_addr; /* in */
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#endif
_Static_assert(sizeof(struct procmap_query) == 104, "uapi procmap_query");

#endif
