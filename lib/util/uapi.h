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

/* ---- PAGEMAP_SCAN: include/uapi/linux/fs.h, 6.7 ---------------------------- */

#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

#define PM_SCAN_WP_MATCHING	(1 << 0)
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif
_Static_assert(sizeof(struct pm_scan_arg) == 96, "uapi pm_scan_arg");

/* ---- userfaultfd: include/uapi/linux/userfaultfd.h, 6.7 ----------------- */

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13) /* 6.4 */
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15) /* 6.7 */
#endif

#endif
