// SPDX-License-Identifier: GPL-2.0-only
/*
 * regions.c - DAMON's region operations, as mm/damon/core.c and vaddr.c
 * do them: the initial three regions, fitting regions to new mappings,
 * merging similar neighbours and splitting at random points. The kernel
 * keeps a linked list; memlens keeps a sorted array (a region is 48 bytes
 * and the number of regions is bounded by max_nr_regions).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MIN_REGION ((uint64_t)ML_DAMON_MIN_REGION)

static inline uint64_t align_down(uint64_t x)
{
	return x & ~(MIN_REGION - 1);
}

static inline uint64_t align_up(uint64_t x)
{
	return (x + MIN_REGION - 1) & ~(MIN_REGION - 1);
}

static inline uint64_t sz_region(const struct damon_region *r)
{
	return r->end - r->start;
}

/* ---- the PRNG ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void damon_rng_seed(struct damon_rng *rng, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t damon_rng_next(struct damon_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t damon_rand(struct damon_rng *rng, uint64_t l, uint64_t r)
{
	uint64_t n = r - l;

	if (r <= l)
		return l;
	/* multiply-shift: unbiased enough for n far below 2^64 */
	return l + (uint64_t)(((unsigned __int128)damon_rng_next(rng) * n) >> 64);
}

/* ---- the array ---------------------------------------------------------- */

int damon_regions_reserve(struct damon_regions *rs, size_t nr)
{
	struct damon_region *r;
	size_t cap;

	if (nr <= rs->cap)
		return 0;
	cap = rs->cap ? rs->cap : 16;
	while (cap < nr)
		cap *= 2;
	r = realloc(rs->r, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	rs->r = r;
	rs->cap = cap;
	return 0;
}

void damon_regions_free(struct damon_regions *rs)
{
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

int damon_regions_insert(struct damon_regions *rs, size_t i,
			 const struct damon_region *r)
{
	int err = damon_regions_reserve(rs, rs->nr + 1);

	if (err)
		return err;
	memmove(&rs->r[i + 1], &rs->r[i], (rs->nr - i) * sizeof(*r));
	rs->r[i] = *r;
	rs->nr++;
	return 0;
}

static struct damon_region new_region(uint64_t start, uint64_t end)
{
	return (struct damon_region){ .start = start, .end = end };
}

int damon_split_region_at(struct damon_regions *rs, size_t i, uint64_t sz_r)
{
	struct damon_region n = rs->r[i];	/* age, accesses carried over */
	int err;

	n.start = rs->r[i].start + sz_r;
	err = damon_regions_insert(rs, i + 1, &n);
	if (err)
		return err;
	rs->r[i].end = n.start;
	return 0;
}

/* ---- initial regions (vaddr.c) ----------------------------------------- */

int damon_three_regions(const struct ml_damon_range *ranges, size_t nr,
			struct ml_damon_range out[3])
{
	struct ml_damon_range first_gap = { 0 }, second_gap = { 0 }, tmp;
	uint64_t start;

	if (!nr)
		return -EINVAL;
	start = ranges[0].start;
	/* the two biggest gaps, first_gap > second_gap > others; ties go
	 * to the lower address as in the kernel's strict comparisons */
	for (size_t i = 1; i < nr; i++) {
		uint64_t gap = ranges[i].start - ranges[i - 1].end;

		if (gap > first_gap.end - first_gap.start) {
			second_gap = first_gap;
			first_gap.start = ranges[i - 1].end;
			first_gap.end = ranges[i].start;
		} else if (gap > second_gap.end - second_gap.start) {
			second_gap.start = ranges[i - 1].end;
			second_gap.end = ranges[i].start;
		}
	}
	if (second_gap.end == second_gap.start ||
	    first_gap.end == first_gap.start)
		return -EINVAL;
	if (first_gap.start > second_gap.start) {
		tmp = first_gap;
		first_gap = second_gap;
		second_gap = tmp;
	}
	out[0].start = align_up(start);
	out[0].end = align_up(first_gap.start);
	out[1].start = align_up(first_gap.end);
	out[1].end = align_up(second_gap.start);
	out[2].start = align_up(second_gap.end);
	out[2].end = align_up(ranges[nr - 1].end);
	return 0;
}

/* damon_va_evenly_split_region() of the region just appended */
static int evenly_split_last(struct damon_regions *rs, uint64_t nr_pieces)
{
	struct damon_region *r = &rs->r[rs->nr - 1];
	uint64_t orig_end = r->end, sz_piece, start;
	int err;

	if (!nr_pieces)
		return -EINVAL;
	sz_piece = align_down((r->end - r->start) / nr_pieces);
	if (!sz_piece)
		return -EINVAL;
	err = damon_regions_reserve(rs, rs->nr + nr_pieces - 1);
	if (err)
		return err;
	r = &rs->r[rs->nr - 1];
	r->end = r->start + sz_piece;
	for (start = r->end; nr_pieces > 1; start += sz_piece, nr_pieces--)
		rs->r[rs->nr++] = new_region(start, start + sz_piece);
	/* the last piece takes the rounding error */
	rs->r[rs->nr - 1].end = orig_end;
	return 0;
}

int damon_init_regions(struct damon_regions *rs,
		       const struct ml_damon_range *three, size_t nr,
		       uint32_t min_nr_regions)
{
	uint64_t sz = 0;
	int err;

	rs->nr = 0;
	for (size_t i = 0; i < nr; i++)
		sz += three[i].end - three[i].start;
	if (min_nr_regions)
		sz /= min_nr_regions;
	if (sz < MIN_REGION)
		sz = MIN_REGION;
	for (size_t i = 0; i < nr; i++) {
		if (three[i].end <= three[i].start)
			continue;
		err = damon_regions_reserve(rs, rs->nr + 1);
		if (err)
			return err;
		rs->r[rs->nr++] = new_region(three[i].start, three[i].end);
		/* as the kernel: a piece count of 0 leaves the region whole */
		err = evenly_split_last(rs, (three[i].end - three[i].start) / sz);
		if (err == -ENOMEM)
			return err;
	}
	return 0;
}

/* ---- following mappings: damon_set_regions() ----------------------------- */

static bool intersect(const struct damon_region *r,
		      const struct ml_damon_range *re)
{
	return !(r->end <= re->start || re->end <= r->start);
}

int damon_set_regions(struct damon_regions *rs,
		      const struct ml_damon_range *ranges, size_t nr)
{
	uint64_t last_end = 0;
	size_t i, j, ri;
	int err;

	for (i = 0; i < nr; i++) {
		uint64_t start = align_down(ranges[i].start);
		uint64_t end = align_up(ranges[i].end);

		if (start >= end || (i > 0 && last_end > start))
			return -EINVAL;
		last_end = end;
	}
	err = damon_regions_reserve(rs, rs->nr + 2 * nr + 1);
	if (err)
		return err;

	/* remove the regions in none of the new ranges */
	for (i = 0, j = 0; i < rs->nr; i++) {
		size_t k;

		for (k = 0; k < nr; k++)
			if (intersect(&rs->r[i], &ranges[k]))
				break;
		if (k < nr)
			rs->r[j++] = rs->r[i];
	}
	rs->nr = j;

	/* add new regions or resize existing ones to fit the ranges */
	ri = 0;
	for (i = 0; i < nr; i++) {
		const struct ml_damon_range *range = &ranges[i];
		size_t first = SIZE_MAX, last = 0;

		for (; ri < rs->nr; ri++) {
			if (intersect(&rs->r[ri], range)) {
				if (first == SIZE_MAX)
					first = ri;
				last = ri;
			}
			if (rs->r[ri].start >= range->end)
				break;
		}
		if (first == SIZE_MAX) {
			struct damon_region n = new_region(
				align_down(range->start), align_up(range->end));

			/*
			 * The kernel inserts before the region the walk
			 * stopped at (the list head when it ran off the
			 * end), which keeps the list sorted.
			 */
			err = damon_regions_insert(rs, ri, &n);
			if (err)
				return err;
			ri++;
			continue;
		}
		/* grown over new memory: that part is not settled */
		if (rs->r[first].start != align_down(range->start))
			rs->r[first].settled_age = 0;
		if (rs->r[last].end != align_up(range->end))
			rs->r[last].settled_age = 0;
		rs->r[first].start = align_down(range->start);
		rs->r[last].end = align_up(range->end);
		/* fill the holes between first and last */
		for (size_t k = first; k < last; k++) {
			if (rs->r[k].end != rs->r[k + 1].start) {
				struct damon_region n = new_region(
					rs->r[k].end, rs->r[k + 1].start);

				err = damon_regions_insert(rs, k + 1, &n);
				if (err)
					return err;
				last++;
				k++;
				/* the walk's stop moved right with it */
				ri++;
			}
		}
	}
	return 0;
}

/* ---- merge -------------------------------------------------------------- */

static uint32_t abs_diff(uint32_t a, uint32_t b)
{
	return a > b ? a - b : b - a;
}

/* damon_merge_two_regions(): @l absorbs @r, size-weighted averages */
static void merge_two(struct damon_region *l, const struct damon_region *r)
{
	uint64_t sz_l = sz_region(l), sz_r = sz_region(r);

	l->nr_accesses = (uint32_t)(((uint64_t)l->nr_accesses * sz_l +
				     (uint64_t)r->nr_accesses * sz_r) /
				    (sz_l + sz_r));
	l->nr_accesses_bp = l->nr_accesses * 10000;
	l->age = (uint32_t)(((uint64_t)l->age * sz_l + (uint64_t)r->age * sz_r) /
			    (sz_l + sz_r));
	l->end = r->end;
	/* the less settled part decides: settled again sooner */
	if (r->settled_age < l->settled_age)
		l->settled_age = r->settled_age;
}

void damon_merge_regions_of(struct damon_regions *rs, uint32_t thres,
			    uint64_t sz_limit, bool count_age)
{
	struct damon_region *prev = NULL;
	size_t j = 0;

	for (size_t i = 0; i < rs->nr; i++) {
		struct damon_region r = rs->r[i];

		if (count_age) {
			if (abs_diff(r.nr_accesses, r.last_nr_accesses) > thres)
				r.age = 0;
			else
				r.age++;
		}
		if (prev && prev->end == r.start &&
		    abs_diff(prev->nr_accesses, r.nr_accesses) <= thres &&
		    sz_region(prev) + sz_region(&r) <= sz_limit) {
			merge_two(prev, &r);
		} else {
			rs->r[j] = r;
			prev = &rs->r[j++];
		}
	}
	rs->nr = j;
}

void damon_ctx_merge(struct ml_damon_ctx *ctx, uint32_t threshold,
		     uint64_t sz_limit)
{
	uint32_t max_thres = (uint32_t)(ctx->attrs.aggr_us /
					ctx->attrs.sample_us);
	bool count_age = true;
	size_t nr_regions;

	for (;;) {
		nr_regions = 0;
		for (size_t i = 0; i < ctx->nr_targets; i++) {
			damon_merge_regions_of(&ctx->targets[i].regions,
					       threshold, sz_limit, count_age);
			nr_regions += ctx->targets[i].regions.nr;
		}
		count_age = false;
		if (nr_regions <= ctx->attrs.max_nr_regions ||
		    max_thres <= threshold)
			break;
		if (threshold < max_thres / 2)
			threshold = threshold * 2 > 1 ? threshold * 2 : 1;
		else
			threshold = max_thres;
	}
}

/* ---- split -------------------------------------------------------------- */

int damon_split_regions_of(struct damon_regions *rs, int nr_subs,
			   struct damon_rng *rng)
{
	size_t nr = rs->nr;
	int err = damon_regions_reserve(rs, nr * (size_t)nr_subs);

	if (err)
		return err;
	/*
	 * Visit regions last to first, so that inserted pieces do not shift
	 * the regions yet to be visited and are not split again in this
	 * pass; the kernel walks first to last, which changes only which
	 * random number goes to which region.
	 */
	for (size_t i = nr; i-- > 0;) {
		uint64_t sz = sz_region(&rs->r[i]), sz_sub;

		for (int k = 0; k < nr_subs - 1 && sz > 2 * MIN_REGION; k++) {
			/* the left piece is 10% to 90% of the region */
			sz_sub = align_down(damon_rand(rng, 1, 10) * sz / 10);
			if (sz_sub == 0 || sz_sub >= sz)
				continue;
			err = damon_split_region_at(rs, i, sz_sub);
			if (err)
				return err;
			sz = sz_sub;
		}
	}
	return 0;
}

int damon_ctx_split(struct ml_damon_ctx *ctx)
{
	size_t nr_regions = 0;
	int nr_subregions = 2;
	int err;

	for (size_t i = 0; i < ctx->nr_targets; i++)
		nr_regions += ctx->targets[i].regions.nr;
	if (nr_regions > ctx->attrs.max_nr_regions / 2)
		return 0;
	/* maybe the middle of the region has a different access frequency */
	if (ctx->last_nr_regions == nr_regions &&
	    nr_regions < ctx->attrs.max_nr_regions / 3)
		nr_subregions = 3;
	for (size_t i = 0; i < ctx->nr_targets; i++) {
		err = damon_split_regions_of(&ctx->targets[i].regions,
					     nr_subregions, &ctx->rng);
		if (err)
			return err;
	}
	ctx->last_nr_regions = nr_regions;
	return 0;
}

uint64_t damon_region_sz_limit(const struct ml_damon_ctx *ctx)
{
	uint64_t sz = 0;

	for (size_t i = 0; i < ctx->nr_targets; i++) {
		const struct damon_regions *rs = &ctx->targets[i].regions;

		for (size_t k = 0; k < rs->nr; k++)
			sz += sz_region(&rs->r[k]);
	}
	if (ctx->attrs.min_nr_regions)
		sz /= ctx->attrs.min_nr_regions;
	return sz < MIN_REGION ? MIN_REGION : sz;
}
