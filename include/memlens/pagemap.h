/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/pagemap.h - page tables and physical pages: /proc/PID/pagemap,
 * /proc/kpageflags and /proc/kpagecount.
 *
 * pagemap holds one 64-bit entry per virtual page of a process; kpageflags
 * and kpagecount hold one 64-bit word per physical page frame (PFN). All
 * three are arrays of native-endian u64 indexed by page number, so the
 * readers fetch a whole range with one pread() instead of one per page.
 *
 * What the kernel shows depends on who opened the file
 * (Documentation/admin-guide/mm/pagemap.rst, fs/proc/task_mmu.c):
 *  - pagemap: opening needs ptrace read access to the process (-EACCES
 *    otherwise). Without CAP_SYS_ADMIN the PFN field reads 0 for present
 *    pages (since 4.2; 4.0 and 4.1 refused the open with -EPERM), and
 *    current kernels also report swap type and offset as 0. The flag bits
 *    are reported to everyone: presence works unprivileged, PFNs do not.
 *  - kpageflags, kpagecount: mode 0400 root, and CAP_SYS_ADMIN to read.
 *
 * Reading from a proc root other than /proc reads fixture files laid out
 * the same way (<root>/PID/pagemap, <root>/kpageflags, <root>/kpagecount).
 */
#ifndef MEMLENS_PAGEMAP_H
#define MEMLENS_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ml_proc;

/* Every entry of the three files is one u64. */
#define ML_PAGEMAP_ENTRY_BYTES 8

/* ---- pagemap entries ---------------------------------------------------- */

/* Bits 0-54: the page frame number when present (0 when unprivileged). */
#define ML_PME_PFN_BITS 55
#define ML_PME_PFN_MASK ((UINT64_C(1) << ML_PME_PFN_BITS) - 1)
/* When swapped, the same 55 bits hold swap type (0-4) and offset (5-54). */
#define ML_PME_SWAP_TYPE_BITS 5
#define ML_PME_SWAP_TYPE_MASK ((UINT64_C(1) << ML_PME_SWAP_TYPE_BITS) - 1)
#define ML_PME_SWAP_OFFSET_SHIFT ML_PME_SWAP_TYPE_BITS
#define ML_PME_SWAP_OFFSET_MASK (ML_PME_PFN_MASK >> ML_PME_SWAP_OFFSET_SHIFT)

#define ML_PME_SOFT_DIRTY	(UINT64_C(1) << 55) /* pte soft-dirty (3.11+) */
#define ML_PME_EXCLUSIVE	(UINT64_C(1) << 56) /* mapped only here (4.2+) */
#define ML_PME_UFFD_WP		(UINT64_C(1) << 57) /* uffd write-protected (5.13+) */
#define ML_PME_GUARD_REGION	(UINT64_C(1) << 58) /* madvise guard (6.15+) */
/* bits 59-60 are zero */
#define ML_PME_FILE		(UINT64_C(1) << 61) /* file page or shared anon (3.5+) */
#define ML_PME_SWAP		(UINT64_C(1) << 62)
#define ML_PME_PRESENT		(UINT64_C(1) << 63)

static inline bool ml_pme_present(uint64_t pme)
{
	return pme & ML_PME_PRESENT;
}

/*
 * Bit 62. The kernel sets it for every non-present, non-empty pte, so
 * migration entries and the guard and uffd-wp markers carry it too: test
 * ml_pme_guard() first when that matters.
 */
static inline bool ml_pme_swapped(uint64_t pme)
{
	return pme & ML_PME_SWAP;
}

/*
 * The PFN of a present page, 0 when the page is not present. Also 0 for a
 * present page when the reader lacks CAP_SYS_ADMIN: the kernel hides
 * physical addresses (a Rowhammer aid) rather than failing the read.
 */
static inline uint64_t ml_pme_pfn(uint64_t pme)
{
	return ml_pme_present(pme) ? pme & ML_PME_PFN_MASK : 0;
}

/* Swap type (swap device index) of a swapped page, 0 otherwise. */
static inline unsigned int ml_pme_swap_type(uint64_t pme)
{
	if (!ml_pme_swapped(pme))
		return 0;
	return (unsigned int)(pme & ML_PME_SWAP_TYPE_MASK);
}

/* Offset in pages into the swap device of a swapped page, 0 otherwise. */
static inline uint64_t ml_pme_swap_offset(uint64_t pme)
{
	if (!ml_pme_swapped(pme))
		return 0;
	return (pme >> ML_PME_SWAP_OFFSET_SHIFT) & ML_PME_SWAP_OFFSET_MASK;
}

static inline bool ml_pme_soft_dirty(uint64_t pme)
{
	return pme & ML_PME_SOFT_DIRTY;
}

static inline bool ml_pme_exclusive(uint64_t pme)
{
	return pme & ML_PME_EXCLUSIVE;
}

static inline bool ml_pme_uffd_wp(uint64_t pme)
{
	return pme & ML_PME_UFFD_WP;
}

static inline bool ml_pme_guard(uint64_t pme)
{
	return pme & ML_PME_GUARD_REGION;
}

static inline bool ml_pme_file_or_shared(uint64_t pme)
{
	return pme & ML_PME_FILE;
}

/* ---- /proc/PID/pagemap --------------------------------------------------- */

struct ml_pagemap; /* an open pagemap file and the page size */

/*
 * Open <proc_root>/@pid/pagemap. @pid must be a real pid (getpid() for the
 * caller itself): 0 gives -EINVAL. The handle holds its own fd and does not
 * keep @p. Returns 0 and sets *@out, or a negative errno: -ESRCH when the
 * process does not exist, -ENOENT when it does but has no pagemap (kernel
 * without CONFIG_PROC_PAGE_MONITOR), -EACCES without ptrace access.
 */
int ml_pagemap_open(const struct ml_proc *p, pid_t pid,
		    struct ml_pagemap **out);
void ml_pagemap_close(struct ml_pagemap *pm);

/* The page size pagemap is indexed by (sysconf at open time), bytes. */
size_t ml_pagemap_page_size(const struct ml_pagemap *pm);

/*
 * Read @nr_pages entries starting at the page containing @vaddr into
 * @entries, with one pread() (repeated only on short reads and EINTR).
 * Returns the number of entries read, which is less than @nr_pages when
 * the file ends first: past the top of the user address space, for a
 * process that has exited since the open (0), or at the end of a fixture.
 * Entries past the returned count are unspecified. A negative errno on
 * failure (-EINVAL for bad arguments).
 */
ssize_t ml_pagemap_read(struct ml_pagemap *pm, uint64_t vaddr,
			size_t nr_pages, uint64_t *entries);

/* ---- /proc/kpageflags, /proc/kpagecount ---------------------------------- */

/*
 * Stable kpageflags bits (include/uapi/linux/kernel-page-flags.h); test
 * them with ml_kpf_has(). Bits 32 and up are kernel-hacking flags that the
 * kernel documents as subject to change, so they have no names here.
 */
#define ML_KPF_LOCKED		0
#define ML_KPF_ERROR		1 /* set by older kernels only */
#define ML_KPF_REFERENCED	2
#define ML_KPF_UPTODATE		3
#define ML_KPF_DIRTY		4
#define ML_KPF_LRU		5
#define ML_KPF_ACTIVE		6
#define ML_KPF_SLAB		7
#define ML_KPF_WRITEBACK	8
#define ML_KPF_RECLAIM		9
#define ML_KPF_BUDDY		10
#define ML_KPF_MMAP		11
#define ML_KPF_ANON		12
#define ML_KPF_SWAPCACHE	13
#define ML_KPF_SWAPBACKED	14
#define ML_KPF_COMPOUND_HEAD	15
#define ML_KPF_COMPOUND_TAIL	16
#define ML_KPF_HUGE		17
#define ML_KPF_UNEVICTABLE	18
#define ML_KPF_HWPOISON		19
#define ML_KPF_NOPAGE		20 /* no struct page behind the PFN */
#define ML_KPF_KSM		21
#define ML_KPF_THP		22
#define ML_KPF_OFFLINE		23
#define ML_KPF_ZERO_PAGE	24
#define ML_KPF_IDLE		25
#define ML_KPF_PGTABLE		26

static inline bool ml_kpf_has(uint64_t flags, unsigned int bit)
{
	return bit < 64 && (flags >> bit) & 1;
}

struct ml_kpage; /* /proc/kpageflags and /proc/kpagecount */

/*
 * Open <proc_root>/kpageflags and <proc_root>/kpagecount. Either may be
 * unavailable (-EACCES unprivileged, -ENOENT without
 * CONFIG_PROC_PAGE_MONITOR): each read reports its own file's error.
 * Returns 0 and sets *@out when at least one opened, else the kpageflags
 * error.
 */
int ml_kpage_open(const struct ml_proc *p, struct ml_kpage **out);
void ml_kpage_close(struct ml_kpage *k);

/*
 * Read the flags of @nr_pfns frames from @pfn on into @flags. Returns the
 * number read, less than @nr_pfns at the end of physical memory (or of a
 * fixture), or the negative errno of the read or of the file's open.
 * @nr_pfns 0 reads nothing and tells whether the file is readable.
 */
ssize_t ml_kpageflags_read(struct ml_kpage *k, uint64_t pfn, size_t nr_pfns,
			   uint64_t *flags);

/*
 * Same for the number of times each frame is mapped (for a page in a large
 * folio, recent kernels may give the folio's average per page).
 */
ssize_t ml_kpagecount_read(struct ml_kpage *k, uint64_t pfn, size_t nr_pfns,
			   uint64_t *counts);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_PAGEMAP_H */
