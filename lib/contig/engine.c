// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The per-VMA engine: pagemap entries stream through it in address order
 * and come out as the two block histograms, physically contiguous run bins
 * and (through folio.c) folio sizes.
 *
 * Everything is computed from maximal present runs, never page by page:
 * the inner loops only look for where a run of present pages (or of
 * consecutive PFNs) ends, which is what keeps a scan at the cost of the
 * pagemap reads themselves.
 *
 *  - mem_hist counts, for each order n, the aligned 2^n-page blocks inside
 *    its range [first_n, last_n) that are wholly present. A block wholly
 *    present lies inside one present run, so the count over a run [x, y)
 *    is the number of aligned blocks in [max(x, first_n), min(y, last_n)).
 *    Its subtract-and-stop arithmetic is then replayed on those counts in
 *    the script's order, which gives its figures exactly.
 *  - the corrected histogram splits each present run greedily into the
 *    largest naturally aligned blocks that fit (at most order 9): the
 *    maximal aligned blocks of the present pages.
 */
#include <string.h>

#include "internal.h"

#define PFN_KEY (ML_PME_PRESENT | ML_PME_PFN_MASK)

void acc_init(struct contig_acc *a, struct ml_contig *c, uint64_t start,
	      uint64_t end, struct ml_contig_figures *f, uint32_t *notes)
{
	uint64_t ps = c->page_size;

	memset(a, 0, sizeof(*a));
	a->c = c;
	a->f = f;
	a->notes = notes;
	a->start_page = start / ps;
	a->end_page = end / ps;
	a->next = a->start_page;
	a->track_pfns = c->what & (ML_CONTIG_RUNS | ML_CONTIG_FOLIOS);
	a->folios = (c->what & ML_CONTIG_FOLIOS) && c->kpage && !c->kflags_err &&
		    !(*notes & ML_CONTIG_NOTE_NO_KPAGEFLAGS);
	a->last_head = UINT64_MAX;
	for (unsigned o = 0; o < ML_CONTIG_NR_ORDERS; o++) {
		uint64_t mask = ~((UINT64_C(1) << o) - 1);

		/*
		 * mem_hist.py: (start & bitmask(64, order)) + 2**order, the
		 * block after the one holding the start even when the start
		 * is aligned; and end & bitmask(64, order).
		 */
		a->first[o] = (a->start_page & mask) + (UINT64_C(1) << o);
		a->last[o] = a->end_page & mask;
	}
}

/* ---- present runs: the histograms ------------------------------------------------ */

static void close_run(struct contig_acc *a, uint64_t end)
{
	uint64_t x = a->run_start, y = end;

	a->in_run = false;
	if (y <= x)
		return;
	a->f->present_pages += y - x;

	/* mem_hist: aligned blocks of each order within its range */
	for (unsigned o = 0; o < ML_CONTIG_NR_ORDERS; o++) {
		uint64_t size = UINT64_C(1) << o;
		uint64_t lo = x > a->first[o] ? x : a->first[o];
		uint64_t hi = y < a->last[o] ? y : a->last[o];

		lo = (lo + size - 1) & ~(size - 1);
		hi &= ~(size - 1);
		if (hi > lo)
			a->blocks[o] += (hi - lo) >> o;
	}

	/* corrected: the largest aligned block at x that fits, repeatedly */
	while (x < y) {
		unsigned int k = x ? (unsigned int)__builtin_ctzll(x) : 63;
		unsigned int fit = floor_log2(y - x);

		if (k > ML_CONTIG_NR_ORDERS - 1)
			k = ML_CONTIG_NR_ORDERS - 1;
		if (k > fit)
			k = fit;
		a->f->hist[k]++;
		x += UINT64_C(1) << k;
	}
}

/* ---- physical runs --------------------------------------------------------------- */

static void close_phys(struct contig_acc *a)
{
	uint64_t len = a->phys_len;
	unsigned int bin;

	if (!len)
		return;
	a->phys_len = 0;
	bin = floor_log2(len);
	if (bin > ML_CONTIG_NR_RUN_BINS - 1)
		bin = ML_CONTIG_NR_RUN_BINS - 1;
	a->f->runs.nr[bin]++;
	a->f->runs.bytes[bin] += len * a->c->page_size;
	if (a->folios)
		folio_account_run(a, a->phys_pfn, len, a->phys_excl);
}

/* ---- the stream --------------------------------------------------------------------- */

void acc_feed(struct contig_acc *a, uint64_t page, const uint64_t *e,
	      size_t nr)
{
	size_t i = 0, j;

	/* entries never cross the VMA's end, nor go back over what was fed */
	if (page >= a->end_page)
		return;
	if (page < a->next) {
		if (a->next - page >= nr)
			return;
		e += a->next - page;
		nr -= (size_t)(a->next - page);
		page = a->next;
	}
	if (nr > a->end_page - page)
		nr = (size_t)(a->end_page - page);
	if (page != a->next) {
		/* a gap: nothing present in between */
		if (a->in_run)
			close_run(a, a->next);
		close_phys(a);
	}
	a->next = page + nr;

	while (i < nr) {
		uint64_t pfn, want, bits;

		if (!(e[i] & ML_PME_PRESENT)) {
			if (a->in_run)
				close_run(a, page + i);
			close_phys(a);
			for (i++; i < nr && !(e[i] & ML_PME_PRESENT); i++)
				;
			continue;
		}
		if (!a->in_run) {
			a->in_run = true;
			a->run_start = page + i;
		}
		if (!a->track_pfns) {
			for (i++; i < nr && (e[i] & ML_PME_PRESENT); i++)
				;
			continue;
		}
		pfn = e[i] & ML_PME_PFN_MASK;
		if (!pfn) {
			/* present without a PFN: the reader is not root */
			close_phys(a);
			for (j = i + 1; j < nr && (e[j] & PFN_KEY) == ML_PME_PRESENT; j++)
				;
			a->hidden_pages += j - i;
			i = j;
			continue;
		}
		if (!a->phys_len || pfn != a->phys_pfn + a->phys_len) {
			close_phys(a);
			a->phys_pfn = pfn;
			a->phys_excl = true;
		}
		/* the hot loop: present, and each PFN one more than the last */
		want = ML_PME_PRESENT | (pfn + 1);
		bits = e[i];
		for (j = i + 1; j < nr && (e[j] & PFN_KEY) == want; j++) {
			bits &= e[j];
			want++;
		}
		a->phys_excl = a->phys_excl && (bits & ML_PME_EXCLUSIVE);
		a->phys_len += j - i;
		i = j;
	}
}

void acc_finish(struct contig_acc *a)
{
	int64_t *h = a->f->mem_hist;

	if (a->in_run)
		close_run(a, a->next);
	close_phys(a);
	if (a->hidden_pages)
		*a->notes |= ML_CONTIG_NOTE_PFNS_HIDDEN;

	/*
	 * mem_hist.py's loop, replayed on the block counts: at each order,
	 * stop when the previous order has fewer than 2 blocks, count this
	 * order's blocks, and take 2 from the previous order for each one.
	 */
	memset(h, 0, sizeof(a->f->mem_hist));
	for (unsigned o = 0; o < ML_CONTIG_NR_ORDERS; o++) {
		if (o > 0 && h[o - 1] < 2)
			break;
		h[o] = (int64_t)a->blocks[o];
		if (o > 0)
			h[o - 1] -= 2 * (int64_t)a->blocks[o];
	}
}

int ml_contig_vma_entries(struct ml_contig *c, uint64_t start, uint64_t end,
			  const uint64_t *entries, size_t nr_entries,
			  struct ml_contig_figures *out, uint32_t *flags,
			  uint32_t *notes)
{
	struct contig_acc a;
	uint64_t pages;
	uint32_t dummy_notes = 0;

	if (!c || !out || !flags || (nr_entries && !entries))
		return -EINVAL;
	if (!notes)
		notes = &dummy_notes;
	memset(out, 0, sizeof(*out));
	*flags = 0;
	if (end <= start)
		return 0;
	if ((c->what & ML_CONTIG_FOLIOS) && !c->kpage_tried) {
		int err = contig_kpage(c);

		if (err)
			*notes |= ML_CONTIG_NOTE_NO_KPAGEFLAGS;
	}
	kcache_reset(&c->kf);
	kcache_reset(&c->kc);
	acc_init(&a, c, start, end, out, notes);
	pages = a.end_page - a.start_page;
	if (nr_entries < pages) {
		*flags |= ML_CONTIG_VMA_SHORT;
		*notes |= ML_CONTIG_NOTE_SHORT_READ;
	}
	acc_feed(&a, a.start_page, entries, nr_entries);
	acc_finish(&a);
	return 0;
}

void ml_contig_figures_add(struct ml_contig_figures *a,
			   const struct ml_contig_figures *b)
{
	a->present_pages += b->present_pages;
	for (unsigned o = 0; o < ML_CONTIG_NR_ORDERS; o++) {
		a->mem_hist[o] += b->mem_hist[o];
		a->hist[o] += b->hist[o];
	}
	for (unsigned i = 0; i < ML_CONTIG_NR_RUN_BINS; i++) {
		a->runs.nr[i] += b->runs.nr[i];
		a->runs.bytes[i] += b->runs.bytes[i];
	}
	for (unsigned i = 0; i < ML_CONTIG_NR_FOLIO_ORDERS; i++) {
		a->folios.nr[i] += b->folios.nr[i];
		a->folios.bytes[i] += b->folios.bytes[i];
		a->folios.shared_bytes[i] += b->folios.shared_bytes[i];
	}
	a->folios.thp_bytes += b->folios.thp_bytes;
	a->folios.hugetlb_bytes += b->folios.hugetlb_bytes;
	a->folios.zero_bytes += b->folios.zero_bytes;
	a->rss += b->rss;
	a->anon_huge += b->anon_huge;
	a->shmem_pmd_mapped += b->shmem_pmd_mapped;
	a->file_pmd_mapped += b->file_pmd_mapped;
	a->hugetlb += b->hugetlb;
}
