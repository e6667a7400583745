// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Batches: n addresses (a stack-trace dump: unsorted, many duplicates) to
 * their VMAs. The addresses are sorted once (radix sort, with their place
 * in the input), then resolved by one of two strategies:
 *
 *   sorted ioctl: one PROCMAP_QUERY with COVERING_OR_NEXT at the lowest
 *     address not yet resolved; the VMA it returns settles every address
 *     below its end (those below its start are in a gap). Cost: one ioctl
 *     per VMA or gap hit, whatever the process's VMA count.
 *   text pass: read and parse all of maps once, then merge it with the
 *     sorted addresses. Cost: proportional to the VMA count.
 *
 * On this kind of machine a text pass costs about as much as 0.17 ioctls per
 * VMA (ANCHORS.md; bench/bench_vmaq measures it), so the ioctl wins unless
 * the batch hits more than about a sixth of the VMAs. The automatic choice
 * counts the VMAs the walk would hit on the last snapshot the handle has
 * (exact unless the process changed since) and takes the cheaper; without a
 * snapshot it walks, and if the walk grows past a budget it reads the text
 * for the rest (learning the VMA count for the next batch). The walk keeps
 * a budget even when predicted, so a stale prediction costs little.
 */
#include <string.h>

#include "internal.h"

/* ---- the cost model, in units of one ioctl with a name ------------------ */

#define COST_TEXT_PER_VMA 0.17  /* ANCHORS.md; bench_vmaq re-measures it */
#define COST_IOCTL_BUILD_ID 1.7 /* an ioctl asking for the build ID too */
#define BUDGET_UNKNOWN 256      /* ioctls before reading the text, no snapshot */

/* ---- sorting ------------------------------------------------------------ */

static void insertion_sort(struct vmaq_pair *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct vmaq_pair x = a[i];
		size_t j = i;

		while (j && a[j - 1].addr > x.addr) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

/*
 * LSD radix sort on the address bytes, skipping the bytes every address
 * shares (the top two of a user address, usually more). Stable. The result
 * ends up in *a (the buffers may be swapped).
 */
static void radix_sort(struct vmaq_pair **a, struct vmaq_pair **tmp, size_t n)
{
	static const size_t R = 256;
	size_t count[8][256];

	if (n < 64) {
		insertion_sort(*a, n);
		return;
	}
	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++) {
		uint64_t x = (*a)[i].addr;

		for (unsigned b = 0; b < 8; b++)
			count[b][(x >> (8 * b)) & 0xff]++;
	}
	for (unsigned b = 0; b < 8; b++) {
		struct vmaq_pair *src = *a, *dst = *tmp;
		size_t sum = 0;
		bool trivial = false;

		for (size_t d = 0; d < R; d++) {
			size_t c = count[b][d];

			if (c == n) {
				trivial = true;
				break;
			}
			count[b][d] = sum;
			sum += c;
		}
		if (trivial)
			continue;
		for (size_t i = 0; i < n; i++)
			dst[count[b][(src[i].addr >> (8 * b)) & 0xff]++] = src[i];
		*a = dst;
		*tmp = src;
	}
}

static int prepare_pairs(struct ml_vmaq *q, const uint64_t *addrs, size_t n)
{
	if (n > q->pairs_cap) {
		struct vmaq_pair *p, *t;

		if (n > SIZE_MAX / sizeof(*p))
			return -ENOMEM;
		p = realloc(q->pairs, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		q->pairs = p;
		t = realloc(q->tmp, n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		q->tmp = t;
		q->pairs_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		q->pairs[i].addr = addrs[i];
		q->pairs[i].idx = i;
	}
	radix_sort(&q->pairs, &q->tmp, n);
	return 0;
}

/* ---- results ------------------------------------------------------------ */

static void set_miss(struct ml_vmaq_result *r, uint64_t addr)
{
	r->addr = addr;
	r->err = -ENOENT;
	r->file_offset = 0;
	r->vma = NULL;
}

/* During the walk, vma holds (index + 1) into q->walk; fixed at the end. */
static void set_hit(struct ml_vmaq_result *r, uint64_t addr,
		    const struct ml_vmaq_vma *v, const struct ml_vmaq_vma *ptr)
{
	r->addr = addr;
	r->err = 0;
	r->file_offset = v->offset + (addr - v->start);
	r->vma = ptr;
}

/* ---- the sorted ioctl walk ---------------------------------------------- */

static int walk_add(struct ml_vmaq *q, const struct ml_vmaq_vma *v, size_t *idx)
{
	struct ml_vmaq_vma *w;

	if (q->walk_n == q->walk_cap) {
		size_t ncap = q->walk_cap ? q->walk_cap * 2 : 64;

		w = realloc(q->walk, ncap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		q->walk = w;
		q->walk_cap = ncap;
	}
	if (q->arena_cap - q->arena_len < (size_t)v->name_len + 1) {
		size_t ncap = q->arena_cap ? q->arena_cap : 4096;
		char *a;

		while (ncap - q->arena_len < (size_t)v->name_len + 1)
			ncap *= 2;
		a = realloc(q->arena, ncap);
		if (!a)
			return -ENOMEM;
		q->arena = a;
		q->arena_cap = ncap;
	}
	w = &q->walk[q->walk_n];
	*w = *v;
	memcpy(q->arena + q->arena_len, v->name, v->name_len);
	q->arena[q->arena_len + v->name_len] = '\0';
	/* an offset until the arena stops moving */
	w->name = (const char *)(uintptr_t)q->arena_len;
	q->arena_len += v->name_len + 1;
	*idx = q->walk_n++;
	return 0;
}

/*
 * Walk the sorted pairs from *@j with ioctls, at most @budget of them.
 * Returns 0 with *@j == n when done, 1 when the budget ran out first
 * (*@j is where to go on), or a negative errno.
 */
static int walk(struct ml_vmaq *q, size_t n, bool bid, size_t budget,
		size_t *j, struct ml_vmaq_result *out)
{
	unsigned flags = ML_VMAQ_COVERING_OR_NEXT | ML_VMAQ_WANT_NAME |
			 (bid ? ML_VMAQ_WANT_BUILD_ID : 0);
	const struct vmaq_pair *p = q->pairs;
	size_t i = *j, used = 0;
	int err = 0;

	while (i < n) {
		struct ml_vmaq_vma v;
		size_t idx;

		if (used == budget) {
			err = 1;
			break;
		}
		used++;
		err = vmaq_ioctl(q, p[i].addr, flags, &v);
		if (err == -ENOENT) {
			/* nothing at or above: the rest are misses */
			for (; i < n; i++)
				set_miss(&out[p[i].idx], p[i].addr);
			err = 0;
			break;
		}
		if (err)
			break;
		err = walk_add(q, &v, &idx);
		if (err)
			break;
		for (; i < n && p[i].addr < v.start; i++)
			set_miss(&out[p[i].idx], p[i].addr);
		for (; i < n && p[i].addr < v.end; i++)
			set_hit(&out[p[i].idx], p[i].addr, &v,
				(const struct ml_vmaq_vma *)(uintptr_t)(idx + 1));
	}
	*j = i;
	return err;
}

/* Turn the walk's indices into pointers, its names into arena pointers:
 * the walk settled the first @j sorted pairs. */
static void walk_fix(struct ml_vmaq *q, size_t j, struct ml_vmaq_result *out)
{
	for (size_t k = 0; k < q->walk_n; k++)
		q->walk[k].name = q->arena + (uintptr_t)q->walk[k].name;
	for (size_t i = 0; i < j; i++) {
		struct ml_vmaq_result *r = &out[q->pairs[i].idx];

		if (r->vma)
			r->vma = &q->walk[(uintptr_t)r->vma - 1];
	}
}

/* ---- the text pass ------------------------------------------------------- */

/* Merge the snapshot with the sorted pairs from @j on. */
static int text_resolve(struct ml_vmaq *q, size_t n, bool bid, size_t j,
			struct ml_vmaq_result *out)
{
	const struct vmaq_snap *s = &q->snap;
	const struct vmaq_pair *p = q->pairs;
	size_t i = 0;
	int err;

	for (; j < n; j++) {
		uint64_t x = p[j].addr;

		while (i < s->n && s->v[i].end <= x)
			i++;
		if (i == s->n || s->v[i].start > x) {
			set_miss(&out[p[j].idx], x);
			continue;
		}
		if (bid && !s->bid_done[i]) {
			err = vmaq_snap_build_id(q, i);
			if (err)
				return err;
		}
		set_hit(&out[p[j].idx], x, &s->v[i], &s->v[i]);
	}
	return 0;
}

/* ---- the automatic choice --------------------------------------------- */

/*
 * How many ioctls the walk would take on the snapshot (and how many of the
 * VMAs it hits have a file), jumping from VMA to VMA with galloping
 * searches, which touch little of a large snapshot: O(hits * log gap).
 */
static size_t gallop_vma(const struct vmaq_snap *s, size_t i, uint64_t x)
{
	size_t step = 1, lo = i, hi;

	/* the first VMA at or after i whose end is above x */
	while (lo + step < s->n && s->v[lo + step].end <= x) {
		lo += step;
		step *= 2;
	}
	hi = lo + step < s->n ? lo + step : s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].end > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static size_t gallop_addr(const struct vmaq_pair *p, size_t n, size_t j,
			  uint64_t end)
{
	size_t step = 1, lo = j, hi;

	/* the first address at or after j that is at or above end */
	while (lo + step < n && p[lo + step].addr < end) {
		lo += step;
		step *= 2;
	}
	hi = lo + step < n ? lo + step : n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p[mid].addr >= end)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static size_t predict_walk(const struct ml_vmaq *q, size_t n, size_t *files)
{
	const struct vmaq_snap *s = &q->snap;
	size_t k = 0, i = 0, j = 0;

	*files = 0;
	while (j < n) {
		k++;
		i = gallop_vma(s, i, q->pairs[j].addr);
		if (i == s->n)
			break;
		*files += s->v[i].file_backed;
		j = gallop_addr(q->pairs, n, j, s->v[i].end);
	}
	return k;
}

/* ---- public -------------------------------------------------------------- */

int ml_vmaq_resolve(struct ml_vmaq *q, const uint64_t *addrs, size_t n,
		    const struct ml_vmaq_resolve_opts *opts,
		    struct ml_vmaq_result *out)
{
	enum ml_vmaq_strategy strategy = ML_VMAQ_AUTO;
	size_t j = 0, budget = SIZE_MAX;
	bool bid = false;
	int err;

	if (!q || (n && (!addrs || !out)))
		return -EINVAL;
	if (opts) {
		if (opts->sz < sizeof(size_t))
			return -EINVAL;
		if (opts->sz >= offsetof(struct ml_vmaq_resolve_opts, build_id) +
				sizeof(opts->build_id))
			bid = opts->build_id;
		if (opts->sz >= offsetof(struct ml_vmaq_resolve_opts, strategy) +
				sizeof(opts->strategy))
			strategy = opts->strategy;
	}
	if (strategy > ML_VMAQ_TEXT_PASS ||
	    (strategy == ML_VMAQ_SORTED_IOCTL && !q->use_ioctl))
		return -EINVAL;
	q->walk_n = 0;
	q->arena_len = 0;
	if (n == 0)
		return 0;
	err = prepare_pairs(q, addrs, n);
	if (err)
		return err;

	if (!q->use_ioctl) {
		/* the fallback: its snapshot, refreshed on request */
		q->last = ML_VMAQ_TEXT_PASS;
		if (!q->snap.valid) {
			err = vmaq_snap_read(q);
			if (err)
				return err;
		}
		err = vmaq_check_alive(q);
		return err ? err : text_resolve(q, n, bid, 0, out);
	}

	if (strategy == ML_VMAQ_AUTO) {
		if (q->snap.valid) {
			size_t files, k = predict_walk(q, n, &files);
			double c_io = bid ? COST_IOCTL_BUILD_ID : 1.0;
			double walk_cost = (double)k * c_io;
			double text_cost = COST_TEXT_PER_VMA * (double)q->snap.n +
					   (bid ? (double)files * c_io : 0);

			strategy = walk_cost <= text_cost ? ML_VMAQ_SORTED_IOCTL :
							    ML_VMAQ_TEXT_PASS;
			budget = 2 * k + 16;
		} else {
			strategy = ML_VMAQ_SORTED_IOCTL;
			budget = BUDGET_UNKNOWN;
		}
	}
	q->last = strategy;

	if (strategy == ML_VMAQ_SORTED_IOCTL) {
		err = walk(q, n, bid, budget, &j, out);
		if (err < 0)
			return err;
		walk_fix(q, j, out);
		if (err == 0)
			return 0;
		/* over budget: the text for the rest */
		q->last = ML_VMAQ_TEXT_PASS;
	}
	err = vmaq_snap_read(q);
	return err ? err : text_resolve(q, n, bid, j, out);
}
