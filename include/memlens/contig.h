/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/contig.h - contiguity: how much of a process's memory sits in
 * large, naturally aligned, contiguous pieces, and which folio sizes it got.
 *
 * Four views of the same pages, per VMA and per process (seed 001):
 *
 *  1. mem_hist: Yu Zhao's mem_hist.py histogram reproduced exactly, quirks
 *     included. For order n = 0..9 it counts the 2^n-page blocks, aligned
 *     to 2^n pages, whose pages are all present in pagemap, then subtracts
 *     2 from order n-1 for each order-n block, and stops at an order once
 *     the previous one has fewer than 2 blocks. Its ranges start one block
 *     after the block holding the VMA's start, even when the start is
 *     already aligned, so the first page (order 0), the first aligned pair
 *     (order 1) ... of every VMA are never counted.
 *  2. hist (corrected): the same histogram with the start fixed, which is
 *     the exact decomposition of the present pages into maximal naturally
 *     aligned blocks (capped at order 9): each present page is counted in
 *     exactly one block, sum(hist[n] << n) == present pages. With the start
 *     fixed, the subtraction and the early stop are exact (every order-n
 *     block is made of two counted order n-1 blocks, and fewer than two
 *     order n-1 blocks leave no room for an order-n one), so they need no
 *     change of their own.
 *  3. runs: maximal runs of pages that are contiguous both virtually and
 *     physically (consecutive PFNs), binned by size: bin i (i < 10) holds
 *     runs of 2^i to 2^(i+1)-1 pages (4K, 8K, ... 2M with 4 KiB pages), bin
 *     10 runs of 1024 pages (4M) and more. Needs PFNs, which the kernel
 *     shows only to CAP_SYS_ADMIN; without them the result says so
 *     (ML_CONTIG_NOTE_PFNS_HIDDEN) and the bins are not figures.
 *  4. folios: mapped memory by the size of the folio each page belongs to,
 *     from /proc/kpageflags (compound head/tail, THP, hugetlb, zero page)
 *     and /proc/kpagecount (how often each page is mapped). Also root only.
 *
 * Reading: pagemap is read with large pread()s, never page by page. Where
 * the kernel has PAGEMAP_SCAN (6.7+), VMAs come from maps and every VMA
 * larger than 2 MiB is first asked for its present ranges, which the
 * kernel finds skipping empty page tables: only those are read, so a
 * 64 GiB PROT_NONE reservation costs a few microseconds and nothing is
 * guessed. Without it, VMAs come from smaps and one whose Rss (and
 * hugetlb) is 0 is not read unless it is private readable anonymous memory,
 * where the shared zero page (present, but not in Rss) can be.
 *
 * Processes change while they are read: a process that exits, a pagemap
 * that ends early, kpageflags that cannot be read give partial figures and
 * a note (ML_CONTIG_NOTE_*), never a failure of the whole scan.
 *
 * Sizes are bytes, counts are counts; names say pages where they are pages.
 */
#ifndef MEMLENS_CONTIG_H
#define MEMLENS_CONTIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <memlens/proc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Orders of the block histograms: 0..9, mem_hist's MAX_ORDER (2 MiB / 4 KiB). */
#define ML_CONTIG_NR_ORDERS 10
/* Physical run bins: 2^0 .. 2^9 pages, then 2^10 pages and more. */
#define ML_CONTIG_NR_RUN_BINS 11
/* Folio orders 0..19 (1 GiB hugetlb is 18 with 4 KiB pages), 20: larger. */
#define ML_CONTIG_NR_FOLIO_ORDERS 21

/* ---- figures ----------------------------------------------------------------- */

struct ml_contig_runs {
	uint64_t nr[ML_CONTIG_NR_RUN_BINS];    /* runs */
	uint64_t bytes[ML_CONTIG_NR_RUN_BINS]; /* memory in them */
};

struct ml_contig_folios {
	/* folios with a page mapped here (a folio seen in two VMAs counts in each) */
	uint64_t nr[ML_CONTIG_NR_FOLIO_ORDERS];
	/* bytes mapped from folios of each order (less than nr << order when
	 * folios are mapped in part) */
	uint64_t bytes[ML_CONTIG_NR_FOLIO_ORDERS];
	/* of those, bytes of pages mapped more than once (kpagecount > 1) */
	uint64_t shared_bytes[ML_CONTIG_NR_FOLIO_ORDERS];
	uint64_t thp_bytes;     /* KPF_THP: anon THP, mTHP, large page cache folios */
	uint64_t hugetlb_bytes; /* KPF_HUGE */
	uint64_t zero_bytes;    /* the shared zero page or the huge zero folio */
};

/* What one VMA, or a whole process, adds up to. */
struct ml_contig_figures {
	uint64_t present_pages;                  /* pagemap bit 63 */
	int64_t mem_hist[ML_CONTIG_NR_ORDERS];   /* mem_hist.py's figures */
	uint64_t hist[ML_CONTIG_NR_ORDERS];      /* corrected */
	struct ml_contig_runs runs;              /* when ml_contig_proc.have_runs */
	struct ml_contig_folios folios;          /* when ml_contig_proc.have_folios */
	/* from smaps (when ml_contig_proc.have_smaps), for cross-checks:
	 * PMD-mapped THP must show as folios */
	uint64_t rss;
	uint64_t anon_huge;
	uint64_t shmem_pmd_mapped;
	uint64_t file_pmd_mapped;
	uint64_t hugetlb; /* Shared_Hugetlb + Private_Hugetlb: hugetlb is not in Rss */
};

/* ml_contig_vma.flags */
#define ML_CONTIG_VMA_SKIPPED	(1u << 0) /* not read: Rss 0 and no room for uncounted pages */
#define ML_CONTIG_VMA_SPARSE	(1u << 1) /* present ranges found with PAGEMAP_SCAN */
#define ML_CONTIG_VMA_SHORT	(1u << 2) /* pagemap ended inside it: figures cover the start */

struct ml_contig_vma {
	uint64_t start;
	uint64_t end;
	char perms[5];
	uint32_t flags;    /* ML_CONTIG_VMA_* */
	const char *name;  /* as in maps ("" when anonymous); owned by the proc */
	uint32_t name_len;
	uint64_t inode;
	struct ml_contig_figures f;
};

/* ml_contig_proc.notes: why figures are partial or missing. */
#define ML_CONTIG_NOTE_PFNS_HIDDEN	(1u << 0) /* PFNs read as 0: not root */
#define ML_CONTIG_NOTE_NO_PAGEMAP	(1u << 1) /* pagemap could not be opened */
#define ML_CONTIG_NOTE_READ_ERROR	(1u << 2) /* a pagemap read failed */
#define ML_CONTIG_NOTE_SHORT_READ	(1u << 3) /* pagemap ended inside a VMA */
#define ML_CONTIG_NOTE_EXITED		(1u << 4) /* the process exited mid-scan */
#define ML_CONTIG_NOTE_NO_KPAGEFLAGS	(1u << 5) /* kpageflags unreadable: no folios */
#define ML_CONTIG_NOTE_NO_KPAGECOUNT	(1u << 6) /* kpagecount unreadable: no shared split */
#define ML_CONTIG_NOTE_KPAGE_CHANGED	(1u << 7) /* kpageflags inconsistent (changed under us) */
#define ML_CONTIG_NOTE_NO_MM		(1u << 8) /* no VMAs: kernel thread or zombie */
#define ML_CONTIG_NOTE__LAST		ML_CONTIG_NOTE_NO_MM

struct ml_contig_proc {
	pid_t pid;
	/*
	 * 0, or why nothing was measured: -ESRCH (gone), -EACCES (another
	 * user's process, not root), -EINVAL (malformed smaps).
	 */
	int err;
	uint32_t notes;  /* ML_CONTIG_NOTE_* */
	int note_err;    /* the errno behind the first NO_PAGEMAP, READ_ERROR,
			    NO_KPAGEFLAGS or NO_KPAGECOUNT note */
	char comm[64];
	/* the name mem_hist.py prints: see ml_contig_mem_hist_name() */
	char mem_hist_name[64];
	uint64_t page_size;
	bool have_runs;   /* runs are figures (asked for, PFNs visible) */
	bool have_folios; /* folios are figures (asked for, kpageflags read) */
	bool have_shared; /* folios.shared_bytes are figures (kpagecount read) */
	bool have_smaps;  /* rss, anon_huge, ... were read from smaps */
	struct ml_contig_vma *vmas; /* in address order */
	size_t nr_vmas;
	struct ml_contig_figures total; /* sum over the VMAs */
	char *text;       /* owned: the smaps text the VMA names point into */
};

/* A one-line description of one note bit ("PFNs hidden: ..."), or NULL. */
const char *ml_contig_note_str(uint32_t note);

/* ---- context ---------------------------------------------------------------- */

/* What to compute; the block histograms (both modes) always are. */
#define ML_CONTIG_RUNS   (1u << 0) /* physical runs: free once PFNs are read */
#define ML_CONTIG_FOLIOS (1u << 1) /* folio sizes: kpageflags reads, costly */
#define ML_CONTIG_SMAPS  (1u << 2) /* smaps counters per VMA: a page-table walk */
#define ML_CONTIG_ALL    (ML_CONTIG_RUNS | ML_CONTIG_FOLIOS | ML_CONTIG_SMAPS)

struct ml_contig_opts {
	size_t sz;            /* sizeof(struct ml_contig_opts) */
	uint32_t what;        /* ML_CONTIG_RUNS | _FOLIOS | _SMAPS; 0 = histograms only */
	bool no_pagemap_scan; /* never use PAGEMAP_SCAN: as on kernels before 6.7 */
	bool no_rss_skip;     /* without PAGEMAP_SCAN, read Rss-0 VMAs too */
};
#define ml_contig_opts__last_field no_rss_skip

struct ml_contig; /* buffers and open kpageflags/kpagecount, reused per process */

/*
 * A context reading through @p (not owned; must outlive it). @opts may be
 * NULL: histograms only. Returns 0 or a negative errno.
 */
int ml_contig_new(struct ml_proc *p, const struct ml_contig_opts *opts,
		  struct ml_contig **out);
void ml_contig_free(struct ml_contig *c);

/* ---- per process ------------------------------------------------------------ */

/*
 * Measure one process. Returns 0 with @out filled (possibly with notes), or
 * a negative errno that is also in @out->err (-ESRCH, -EACCES, -EINVAL,
 * -ENOMEM). Free @out with ml_contig_proc_fini() either way.
 */
int ml_contig_process(struct ml_contig *c, pid_t pid,
		      struct ml_contig_proc *out);
void ml_contig_proc_fini(struct ml_contig_proc *cp);

struct ml_contig_table {
	struct ml_contig_proc *p;
	size_t n;
	size_t cap;
	size_t nr_gone; /* processes that exited before they could be read */
};

/*
 * Measure @pids (in that order), or with @pids NULL every process of the
 * proc root in ascending pid order (kernel threads included, with
 * ML_CONTIG_NOTE_NO_MM). Asked-for pids stay in the table with their error;
 * unasked ones that vanish are counted in ->nr_gone. Returns 0 or a
 * negative errno for a failure of the whole scan.
 */
int ml_contig_scan(struct ml_contig *c, const pid_t *pids, size_t nr_pids,
		   struct ml_contig_table *out);
void ml_contig_table_free(struct ml_contig_table *t);

/*
 * The figures of one VMA [@start, @end) from pagemap entries already in
 * memory: @entries[i] is the entry of the page at @start + i * page size,
 * @nr_entries of them (fewer than the VMA's pages: the rest is absent and
 * ML_CONTIG_VMA_SHORT is set in *@flags). Folios use @c's kpageflags and
 * kpagecount. @notes collects ML_CONTIG_NOTE_* bits. This is the engine
 * ml_contig_process() runs on each chunk it reads.
 */
int ml_contig_vma_entries(struct ml_contig *c, uint64_t start, uint64_t end,
			  const uint64_t *entries, size_t nr_entries,
			  struct ml_contig_figures *out, uint32_t *flags,
			  uint32_t *notes);

/* a += b, field by field */
void ml_contig_figures_add(struct ml_contig_figures *a,
			   const struct ml_contig_figures *b);

/* ---- system-wide folios --------------------------------------------------------- */

/*
 * Every in-use folio of user memory (anonymous, page cache and shmem,
 * hugetlb: the head has one of LRU, ANON, MMAP, THP, HUGE) by order, from
 * one sequential read of kpageflags. Free pages and kernel allocations
 * (slab, page tables, vmalloc) are left out.
 */
struct ml_contig_system {
	uint64_t nr[ML_CONTIG_NR_FOLIO_ORDERS];
	uint64_t bytes[ML_CONTIG_NR_FOLIO_ORDERS];
	uint64_t anon_bytes[ML_CONTIG_NR_FOLIO_ORDERS];
	uint64_t file_bytes[ML_CONTIG_NR_FOLIO_ORDERS];    /* page cache, shmem */
	uint64_t hugetlb_bytes[ML_CONTIG_NR_FOLIO_ORDERS];
	uint64_t mapped_bytes[ML_CONTIG_NR_FOLIO_ORDERS];  /* head has KPF_MMAP */
	uint64_t nr_pfns;   /* frames read */
	uint32_t notes;     /* ML_CONTIG_NOTE_KPAGE_CHANGED when tails had no head */
	uint64_t page_size;
};

/* Returns 0, or the kpageflags error (-EACCES unprivileged, -ENOENT). */
int ml_contig_system_folios(struct ml_contig *c, struct ml_contig_system *out);

/* ---- mem_hist.py compatibility --------------------------------------------------- */

/*
 * The process name as mem_hist.py reads it, `grep Name: /proc/PID/status |
 * awk '{ print $2 }'` stripped: the second blank-separated field of every
 * status line containing "Name:", joined by newlines, with surrounding
 * whitespace removed ("Web Content" gives "Web"). Writes at most @sz - 1
 * bytes and a NUL; returns the length.
 */
size_t ml_contig_mem_hist_name(const char *status, size_t len, char *buf,
			       size_t sz);

/*
 * mem_hist.py's file-backed test: the name matches "(?:/[^/]+)+" at its
 * start and does not start with "/memfd:". So "/SYSV0 (deleted)" and
 * "/dev/zero" are file-backed, "[heap]" and "" are not.
 */
bool ml_contig_mem_hist_file_backed(const char *name, size_t len);

/*
 * mem_hist.py's sort key: histograms compared reversed (order 9 first),
 * lexicographically. Negative, 0 or positive like strcmp.
 */
int ml_contig_mem_hist_cmp(const int64_t *a, const int64_t *b);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_CONTIG_H */
