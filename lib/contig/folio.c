// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Folio sizes from /proc/kpageflags and /proc/kpagecount.
 *
 * A folio of order o is 2^o frames whose first has KPF_COMPOUND_HEAD and
 * the others KPF_COMPOUND_TAIL, its head aligned to 2^o frames. kpageflags
 * costs about 0.14 us per entry to produce (6.18 snapshots each page), 20
 * times what a pagemap entry costs, so the order of a folio is found by
 * probing a few of its frames rather than reading them all:
 *
 *   With h a head aligned to 2^k, frame h + 2^(k-1) is a tail exactly when
 *   the folio has order >= k (a tail there cannot belong to any other
 *   folio: that folio's head would have to be aligned and lie strictly
 *   between h and h + 2^(k-1), leaving it no room to reach so far).
 *
 * That predicate is monotone in k, so a guess (order 9, or what the run
 * length allows) and its neighbour usually settle it: three reads for a
 * 2 MiB THP instead of 512. A tail at the start of a run (a folio mapped
 * in part) finds its head the same way, at h = pfn rounded down to 2^k for
 * growing k. Frames walked one by one (runs of small folios) are read
 * ahead: 16 entries, then growing windows.
 *
 * Sharing: kpagecount (how many times a frame is mapped) is read once per
 * folio piece, and not at all for runs whose pagemap entries all carry the
 * exclusive bit (mapped once): that halves the reads for private memory.
 */
#include <string.h>

#include "internal.h"

#define KPF(bit) (UINT64_C(1) << ML_KPF_##bit)

int contig_kpage(struct ml_contig *c)
{
	ssize_t r;
	int err;

	if (c->kpage_tried)
		return c->kflags_err;
	c->kpage_tried = true;
	err = ml_kpage_open(c->p, &c->kpage);
	if (err) {
		c->kpage = NULL;
		c->kflags_err = c->kcount_err = err;
		return err;
	}
	r = ml_kpageflags_read(c->kpage, 0, 0, NULL);
	c->kflags_err = r < 0 ? (int)r : 0;
	r = ml_kpagecount_read(c->kpage, 0, 0, NULL);
	c->kcount_err = r < 0 ? (int)r : 0;
	return c->kflags_err;
}

void kcache_reset(struct kcache *kc)
{
	kc->base = 0;
	kc->n = 0;
	kc->win = 1;
	kc->eof = false;
}

/*
 * The entry for @pfn: 1 and *@v, 0 when the file ends before it, or a
 * negative errno. @ahead: how many entries from @pfn on could be useful;
 * 0 for a probe, which reads just the one. A read costs about a null
 * syscall plus 0.14 us an entry, so a walk starts with KCACHE_FIRST
 * entries (a whole run of small folios, usually) and doubles from there.
 */
#define KCACHE_FIRST 16

static int kcache_get(struct ml_contig *c, struct kcache *kc, bool flags,
		      uint64_t pfn, uint64_t ahead, uint64_t *v)
{
	uint32_t win = ahead ? KCACHE_FIRST : 1;
	ssize_t r;

	if (pfn >= kc->base && pfn - kc->base < kc->n) {
		*v = kc->buf[pfn - kc->base];
		return 1;
	}
	if (kc->eof && pfn >= kc->base + kc->n)
		return 0;
	/* the entry right after the window: a walk, read further ahead */
	if (ahead && kc->n && pfn == kc->base + kc->n && kc->win * 2 > win)
		win = kc->win * 2 > KCACHE_MAX ? KCACHE_MAX : kc->win * 2;
	if (ahead && win > ahead)
		win = (uint32_t)ahead;
	r = flags ? ml_kpageflags_read(c->kpage, pfn, win, kc->buf)
		  : ml_kpagecount_read(c->kpage, pfn, win, kc->buf);
	if (r < 0) {
		kcache_reset(kc);
		return (int)r;
	}
	kc->base = pfn;
	kc->n = (uint32_t)r;
	kc->win = win;
	kc->eof = (size_t)r < win;
	if (r == 0)
		return 0;
	*v = kc->buf[0];
	return 1;
}

/* ---- one process's folios ----------------------------------------------------------- */

struct probe {
	struct contig_acc *a;
	int err; /* first read error */
};

static bool flags_at(struct probe *pr, uint64_t pfn, uint64_t ahead,
		     uint64_t *v)
{
	int r = kcache_get(pr->a->c, &pr->a->c->kf, true, pfn, ahead, v);

	if (r < 0) {
		if (!pr->err)
			pr->err = r;
		*v = 0;
		return false;
	}
	if (r == 0)
		*v = 0; /* past the end of the file: no page there */
	return true;
}

/* T(k): h + 2^(k-1) is a tail, i.e. the folio at h has order >= k. */
static bool order_at_least(struct probe *pr, uint64_t h, unsigned int k)
{
	uint64_t f = 0;

	if (!flags_at(pr, h + (UINT64_C(1) << (k - 1)), 0, &f))
		return false;
	return f & KPF(COMPOUND_TAIL);
}

/*
 * The order of the folio whose head is @h, @ahead frames of the run from
 * @h on. 0 when the flags make no sense (a head without tails).
 */
static unsigned int folio_order(struct probe *pr, uint64_t h, uint64_t ahead)
{
	unsigned int k_max = h ? (unsigned int)__builtin_ctzll(h) : FOLIO_MAX_ORDER;
	unsigned int lo = 0, hi, g;

	if (k_max > FOLIO_MAX_ORDER)
		k_max = FOLIO_MAX_ORDER;
	if (!k_max)
		return 0;
	hi = k_max + 1;
	/* guess: the PMD order, or what is left of the run */
	g = floor_log2(ahead ? ahead : 1);
	if (g > 9)
		g = 9;
	if (g > k_max)
		g = k_max;
	if (!g)
		g = 1;
	if (order_at_least(pr, h, g)) {
		lo = g;
		if (g + 1 <= k_max) {
			if (order_at_least(pr, h, g + 1))
				lo = g + 1;
			else
				hi = g + 1;
		}
	} else {
		hi = g;
	}
	while (hi - lo > 1 && !pr->err) {
		unsigned int mid = (lo + hi) / 2;

		if (order_at_least(pr, h, mid))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The head of the folio whose tail is @pfn; false when there is none. */
static bool find_head(struct probe *pr, uint64_t pfn, uint64_t *head,
		      uint64_t *head_flags)
{
	for (unsigned int k = 1; k <= FOLIO_MAX_ORDER && !pr->err; k++) {
		uint64_t cand = pfn & ~((UINT64_C(1) << k) - 1), f = 0;

		if (cand == pfn)
			continue;
		if (!flags_at(pr, cand, 0, &f))
			return false;
		if (f & KPF(COMPOUND_HEAD)) {
			*head = cand;
			*head_flags = f;
			return true;
		}
		if (!(f & KPF(COMPOUND_TAIL)))
			return false;
	}
	return false;
}

static void stop_folios(struct contig_acc *a, uint32_t note, int err)
{
	a->folios = false;
	if (!a->c->kread_err)
		a->c->kread_err = err;
	*a->notes |= note;
}

void folio_account_run(struct contig_acc *a, uint64_t pfn, uint64_t nr,
		       bool exclusive)
{
	struct ml_contig *c = a->c;
	struct ml_contig_folios *fo = &a->f->folios;
	uint64_t ps = c->page_size, q = pfn, end = pfn + nr;
	struct probe pr = { .a = a };

	while (q < end) {
		uint64_t f = 0, h = q, hf, count = 0, piece, bytes;
		unsigned int o = 0, idx;

		if (!flags_at(&pr, q, end - q, &f))
			break;
		hf = f;
		if (f & (KPF(COMPOUND_HEAD) | KPF(COMPOUND_TAIL))) {
			bool ok = true;

			if (!(f & KPF(COMPOUND_HEAD)))
				ok = find_head(&pr, q, &h, &hf);
			if (pr.err)
				break;
			if (ok)
				o = folio_order(&pr, h, end - h);
			if (pr.err)
				break;
			if (!ok || !o || q - h >= (UINT64_C(1) << o)) {
				/* changed under us, or nonsense: one page */
				*a->notes |= ML_CONTIG_NOTE_KPAGE_CHANGED;
				h = q;
				hf = f;
				o = 0;
			}
		}
		piece = (UINT64_C(1) << o) - (q - h);
		if (piece > end - q)
			piece = end - q;
		bytes = piece * ps;
		idx = o < ML_CONTIG_NR_FOLIO_ORDERS ? o : ML_CONTIG_NR_FOLIO_ORDERS - 1;
		fo->bytes[idx] += bytes;
		if (h != a->last_head)
			fo->nr[idx]++;
		a->last_head = h;
		if (hf & KPF(HUGE))
			fo->hugetlb_bytes += bytes;
		else if (hf & KPF(THP))
			fo->thp_bytes += bytes;
		if (hf & KPF(ZERO_PAGE))
			fo->zero_bytes += bytes;

		/* mapped once (pagemap's exclusive bit): not shared, no read */
		if (!exclusive && !c->kcount_err &&
		    !(*a->notes & ML_CONTIG_NOTE_NO_KPAGECOUNT)) {
			int r = kcache_get(c, &c->kc, false, q, end - q, &count);

			if (r < 0) {
				if (!c->kread_err)
					c->kread_err = r;
				*a->notes |= ML_CONTIG_NOTE_NO_KPAGECOUNT;
			}
			else if (r > 0 && count > 1)
				fo->shared_bytes[idx] += bytes;
		}
		q += piece;
	}
	if (pr.err)
		stop_folios(a, ML_CONTIG_NOTE_NO_KPAGEFLAGS, pr.err);
}

/* ---- the whole machine ------------------------------------------------------------- */

#define USER_FLAGS (KPF(LRU) | KPF(ANON) | KPF(MMAP) | KPF(THP) | KPF(HUGE))
#define KERNEL_FLAGS (KPF(BUDDY) | KPF(SLAB) | KPF(NOPAGE) | KPF(OFFLINE) | \
		      KPF(PGTABLE))

static void system_account(struct ml_contig_system *s, uint64_t flags,
			   uint64_t nr_pages)
{
	unsigned int o = floor_log2(nr_pages), idx;
	uint64_t bytes = nr_pages * s->page_size;

	if (!(flags & USER_FLAGS) || (flags & KERNEL_FLAGS))
		return;
	if (nr_pages != UINT64_C(1) << o)
		s->notes |= ML_CONTIG_NOTE_KPAGE_CHANGED;
	idx = o < ML_CONTIG_NR_FOLIO_ORDERS ? o : ML_CONTIG_NR_FOLIO_ORDERS - 1;
	s->nr[idx]++;
	s->bytes[idx] += bytes;
	if (flags & KPF(HUGE))
		s->hugetlb_bytes[idx] += bytes;
	else if (flags & KPF(ANON))
		s->anon_bytes[idx] += bytes;
	else
		s->file_bytes[idx] += bytes;
	if (flags & KPF(MMAP))
		s->mapped_bytes[idx] += bytes;
}

int ml_contig_system_folios(struct ml_contig *c, struct ml_contig_system *out)
{
	uint64_t pfn = 0, head_flags = 0, nr_in = 0;
	int err;

	if (!c || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->page_size = c->page_size;
	err = contig_kpage(c);
	if (err)
		return err;
	for (;;) {
		ssize_t n = ml_kpageflags_read(c->kpage, pfn, CONTIG_CHUNK_ENTRIES,
					       c->buf);

		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			uint64_t f = c->buf[i];

			if (nr_in && (f & KPF(COMPOUND_TAIL)) &&
			    !(f & KPF(COMPOUND_HEAD))) {
				nr_in++;
				continue;
			}
			if (nr_in)
				system_account(out, head_flags, nr_in);
			nr_in = 0;
			if (f & KPF(COMPOUND_HEAD)) {
				head_flags = f;
				nr_in = 1;
			} else if (f & KPF(COMPOUND_TAIL)) {
				/* a tail without its head: split under us */
				out->notes |= ML_CONTIG_NOTE_KPAGE_CHANGED;
			} else {
				system_account(out, f, 1);
			}
		}
		pfn += (uint64_t)n;
		out->nr_pfns += (uint64_t)n;
		if ((size_t)n < CONTIG_CHUNK_ENTRIES)
			break;
	}
	if (nr_in)
		system_account(out, head_flags, nr_in);
	return 0;
}
