/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal pieces of lib/contig: the context, the per-VMA accumulator the
 * pagemap entries stream through (engine.c), the kpageflags/kpagecount
 * probes behind folio sizes (folio.c), and the process scan (scan.c).
 */
#ifndef MEMLENS_CONTIG_INTERNAL_H
#define MEMLENS_CONTIG_INTERNAL_H

#include <memlens/contig.h>
#include <memlens/pagemap.h>

#include "../proc/internal.h"

/* pagemap entries per pread(): 512 KiB, measured fastest here */
#define CONTIG_CHUNK_ENTRIES 65536
/* PAGEMAP_SCAN regions per ioctl */
#define CONTIG_NR_REGIONS 256
/* kpageflags/kpagecount read-ahead window, entries */
#define KCACHE_MAX 512
/* largest folio order probed (ML_CONTIG_NR_FOLIO_ORDERS - 1) */
#define FOLIO_MAX_ORDER (ML_CONTIG_NR_FOLIO_ORDERS - 1)

/*
 * A window of kpageflags or kpagecount. Lookups that walk forward page by
 * page double the window (up to KCACHE_MAX), scattered probes read one
 * entry: a kpageflags entry costs about 0.14 us to produce on 6.18, so
 * reading 512 to learn about 3 would cost more than three syscalls.
 */
struct kcache {
	uint64_t base;  /* PFN of buf[0] */
	uint32_t n;     /* valid entries */
	uint32_t win;   /* size of the next sequential read */
	bool eof;       /* the file ended at base + n */
	uint64_t buf[KCACHE_MAX];
};

struct ml_contig {
	struct ml_proc *p;
	uint32_t what;
	bool no_pagemap_scan;
	bool no_rss_skip;
	int scan_state;  /* PAGEMAP_SCAN: unknown, works, absent (scan.c) */
	uint64_t page_size;

	uint64_t *buf; /* CONTIG_CHUNK_ENTRIES pagemap entries */

	struct ml_kpage *kpage; /* opened on first use */
	bool kpage_tried;
	int kflags_err;  /* kpageflags unreadable: its errno */
	int kcount_err;  /* kpagecount unreadable: its errno */
	int kread_err;   /* first kpageflags/kpagecount read error of this process */
	struct kcache kf;
	struct kcache kc;
};

/* The state of one VMA while its entries stream through. */
struct contig_acc {
	struct ml_contig *c;
	struct ml_contig_figures *f;
	uint32_t *notes;
	uint64_t start_page, end_page;   /* the VMA, in pages */
	uint64_t first[ML_CONTIG_NR_ORDERS], last[ML_CONTIG_NR_ORDERS]; /* mem_hist's ranges */
	uint64_t blocks[ML_CONTIG_NR_ORDERS]; /* mem_hist's present blocks per order */
	uint64_t next;         /* page after the last entry fed */
	bool track_pfns;       /* runs or folios asked for */
	bool folios;           /* folio sizes asked for and still possible */
	bool in_run;
	uint64_t run_start;    /* present run: first page */
	uint64_t phys_len;     /* physical run: pages (0: none open) */
	uint64_t phys_pfn;     /* its first PFN */
	bool phys_excl;        /* every page of it mapped only here (pagemap bit 56) */
	uint64_t hidden_pages; /* present with PFN 0 */
	uint64_t last_head;    /* head PFN of the last folio counted */
};

void acc_init(struct contig_acc *a, struct ml_contig *c, uint64_t start,
	      uint64_t end, struct ml_contig_figures *f, uint32_t *notes);
/* @nr entries from page @page on; a page after the last fed is a gap. */
void acc_feed(struct contig_acc *a, uint64_t page, const uint64_t *e,
	      size_t nr);
void acc_finish(struct contig_acc *a);

/* folio.c */
int contig_kpage(struct ml_contig *c);
void kcache_reset(struct kcache *kc);
/*
 * Account the folios behind the physical run [pfn, pfn + nr); @exclusive:
 * pagemap says each page is mapped once, so kpagecount need not be read.
 */
void folio_account_run(struct contig_acc *a, uint64_t pfn, uint64_t nr,
		       bool exclusive);

static inline unsigned int floor_log2(uint64_t v)
{
	return 63u - (unsigned int)__builtin_clzll(v | 1);
}

#endif
