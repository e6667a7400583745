// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The figures of DAMON reports (damon_report.h): heatmap grids, working
 * set and region counts over time, their percentiles. No printing.
 *
 * The heatmap reads the recording twice: first only the small ranges
 * blobs (the union of what was mapped, and the time span), then the
 * regions, each region adding frequency × bytes × time to the cells it
 * overlaps. Per snapshot the regions are first summed into one row of
 * address bins, and that row is added to the one or two time bins the
 * snapshot's interval overlaps: O(regions + bins) per snapshot.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/damon_report.h>

#include "rec_internal.h"

const unsigned int ml_damon_pcts[ML_DAMON_NR_PCTS] = { 0, 25, 50, 75, 90,
						       99, 100 };

/* ---- which target --------------------------------------------------------- */

static int pick_target(struct ml_damon_rec *r, int asked, unsigned *out)
{
	struct ml_damon_rec_stats st;
	int err;

	if (asked >= 0) {
		*out = (unsigned)asked;
		return 0;
	}
	err = ml_damon_rec_stats(r, &st);
	if (err)
		return err;
	if (!st.nr_snapshots)
		return -ENODATA;
	*out = st.min_target_id;
	return 0;
}

/* ---- union of ranges ---------------------------------------------------------- */

struct span_set {
	struct ml_damon_heatmap_range *v;
	size_t n, cap;
	struct ml_damon_heatmap_range *tmp;
	size_t tmp_cap;
};

/* Is every range of @b inside @s already? (the common case: no change) */
static bool covered(const struct span_set *s, const struct ml_damon_range *b,
		    size_t nb)
{
	size_t i = 0;

	for (size_t j = 0; j < nb; j++) {
		while (i < s->n && s->v[i].end < b[j].end)
			i++;
		if (i == s->n || s->v[i].start > b[j].start)
			return false;
	}
	return true;
}

/* s = s ∪ b, both sorted and disjoint; touching ranges join. */
static int span_union(struct span_set *s, const struct ml_damon_range *b,
		      size_t nb)
{
	size_t i = 0, j = 0, n = 0, need = s->n + nb;

	if (covered(s, b, nb))
		return 0;
	if (s->tmp_cap < need) {
		void *p = realloc(s->tmp, need * sizeof(*s->tmp));

		if (!p)
			return -ENOMEM;
		s->tmp = p;
		s->tmp_cap = need;
	}
	while (i < s->n || j < nb) {
		struct ml_damon_heatmap_range next;

		if (j == nb || (i < s->n && s->v[i].start <= b[j].start)) {
			next = s->v[i++];
		} else {
			next = (struct ml_damon_heatmap_range){ b[j].start,
								b[j].end, 0 };
			j++;
		}
		if (next.start >= next.end)
			continue;
		if (n && next.start <= s->tmp[n - 1].end) {
			if (next.end > s->tmp[n - 1].end)
				s->tmp[n - 1].end = next.end;
		} else {
			s->tmp[n++] = next;
		}
	}
	/* swap the buffers */
	{
		struct ml_damon_heatmap_range *v = s->v;
		size_t cap = s->cap;

		s->v = s->tmp;
		s->cap = s->tmp_cap;
		s->n = n;
		s->tmp = v;
		s->tmp_cap = cap;
	}
	return 0;
}

/* ---- heatmap ------------------------------------------------------------------ */

void ml_damon_heatmap_fini(struct ml_damon_heatmap *h)
{
	free(h->ranges);
	free(h->cells);
	memset(h, 0, sizeof(*h));
}

uint64_t ml_damon_heatmap_addr(const struct ml_damon_heatmap *h,
			       uint64_t offset)
{
	size_t lo = 0, hi = h->nr_ranges;

	if (!h->nr_ranges)
		return 0;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (h->ranges[mid].offset <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return h->ranges[lo].start + (offset - h->ranges[lo].offset);
}

/* The interval a snapshot stands for: since the one before it. */
static uint64_t snap_span(uint64_t t, uint64_t prev, bool first,
			  uint64_t aggr_us)
{
	uint64_t d = first ? aggr_us : t - prev;

	if (first && !d)
		d = 1;
	return d < t ? d : t;	/* never before time 0 */
}

/* Pass 1: the union of ranges, the time axis, the count. */
static int heatmap_scan(struct ml_damon_rec *r, struct ml_damon_rec_iter_opts *o,
			uint64_t aggr_us, struct ml_damon_heatmap *h)
{
	const struct ml_damon_rec_snapshot *s;
	struct span_set set = { 0 };
	uint64_t prev = 0;
	int err;

	o->what = ML_DAMON_REC_RANGES;
	err = ml_damon_rec_iter(r, o);
	if (err)
		return err;
	ml_damon_rec_for_each(r, s, err) {
		uint64_t t = s->s.time_us;
		uint64_t from = t - snap_span(t, prev, !h->nr_snapshots, aggr_us);

		if (t < prev) {		/* time went back: not ours */
			err = -EBADMSG;
			break;
		}
		if (!h->nr_snapshots || from < h->t0_us)
			h->t0_us = from;
		h->t1_us = t;
		prev = t;
		h->nr_snapshots++;
		err = span_union(&set, s->ranges, s->nr_ranges);
		if (err)
			break;
	}
	free(set.tmp);
	h->ranges = set.v;
	h->nr_ranges = set.n;
	if (err < 0)
		return err;
	if (!h->nr_snapshots)
		return -ENODATA;
	for (size_t i = 0; i < h->nr_ranges; i++) {
		h->ranges[i].offset = h->space_bytes;
		h->space_bytes += h->ranges[i].end - h->ranges[i].start;
	}
	return 0;
}

/*
 * Sum one snapshot's regions into a row of address bins (sum, weight).
 * Positions are in bins (doubles): a region inside one bin, the common
 * case, costs one add.
 */
static void heatmap_row(const struct ml_damon_heatmap *h,
			const struct ml_damon_snapshot *s, double *sum,
			double *weight)
{
	const uint32_t na = h->nr_addr_bins;
	double per_byte = (double)na / (double)h->space_bytes;
	double bin_bytes = (double)h->space_bytes / na;
	size_t k = 0;

	memset(sum, 0, na * sizeof(*sum));
	memset(weight, 0, na * sizeof(*weight));
	for (size_t i = 0; i < s->nr_regions; i++) {
		const struct ml_damon_region *reg = &s->regions[i];
		double f, lo, hi;
		uint32_t b0, b1;

		/* the range holding the region: regions are sorted */
		while (k < h->nr_ranges && h->ranges[k].end <= reg->start)
			k++;
		if (k == h->nr_ranges || reg->start < h->ranges[k].start ||
		    reg->end > h->ranges[k].end)
			continue;	/* not in the union: cannot happen */
		f = s->max_nr_accesses ?
			(double)reg->nr_accesses / s->max_nr_accesses :
			(reg->nr_accesses ? 1.0 : 0.0);
		if (f > 1)
			f = 1;
		lo = (double)(h->ranges[k].offset + (reg->start -
						     h->ranges[k].start)) *
		     per_byte;
		hi = lo + (double)(reg->end - reg->start) * per_byte;
		b0 = (uint32_t)lo;
		b1 = (uint32_t)hi;
		if (b0 >= na)
			b0 = na - 1;
		if (b1 >= na)
			b1 = na - 1;
		if (b0 == b1) {
			sum[b0] += f * (hi - lo) * bin_bytes;
			weight[b0] += (hi - lo) * bin_bytes;
			continue;
		}
		sum[b0] += f * (b0 + 1 - lo) * bin_bytes;
		weight[b0] += (b0 + 1 - lo) * bin_bytes;
		for (uint32_t b = b0 + 1; b < b1; b++) {
			sum[b] += f * bin_bytes;
			weight[b] += bin_bytes;
		}
		sum[b1] += f * (hi - b1) * bin_bytes;
		weight[b1] += (hi - b1) * bin_bytes;
	}
}

/* Pass 2: every snapshot into the cells of the bins it overlaps. */
static int heatmap_fill(struct ml_damon_rec *r, struct ml_damon_rec_iter_opts *o,
			uint64_t aggr_us, struct ml_damon_heatmap *h,
			double *wsum)
{
	const uint32_t na = h->nr_addr_bins, nt = h->nr_time_bins;
	double span = (double)(h->t1_us - h->t0_us), bin_us = span / nt;
	double *sum, *weight;
	const struct ml_damon_rec_snapshot *s;
	uint64_t prev = 0, n = 0;
	int err;

	sum = calloc(2 * (size_t)na, sizeof(*sum));
	if (!sum)
		return -ENOMEM;
	weight = sum + na;
	o->what = ML_DAMON_REC_REGIONS;
	err = ml_damon_rec_iter(r, o);
	if (err)
		goto out;
	ml_damon_rec_for_each(r, s, err) {
		uint64_t t = s->s.time_us;
		uint64_t from = t - snap_span(t, prev, !n, aggr_us);
		double a = from > h->t0_us ? (double)(from - h->t0_us) : 0;
		double b = t > h->t0_us ? (double)(t - h->t0_us) : 0;
		uint32_t tb;

		prev = t;
		n++;
		heatmap_row(h, &s->s, sum, weight);
		for (tb = (uint32_t)(a / bin_us); tb < nt; tb++) {
			double lo = tb * bin_us, hi = lo + bin_us;
			double ov = (b < hi ? b : hi) - (a > lo ? a : lo);

			if (lo >= b)
				break;
			if (ov <= 0)
				continue;
			for (uint32_t ab = 0; ab < na; ab++) {
				h->cells[(size_t)tb * na + ab] += sum[ab] * ov;
				wsum[(size_t)tb * na + ab] += weight[ab] * ov;
			}
		}
	}
out:
	free(sum);
	return err < 0 ? err : 0;
}

int ml_damon_heatmap(struct ml_damon_rec *r,
		     const struct ml_damon_heatmap_opts *opts,
		     struct ml_damon_heatmap *out)
{
	ML_OPTS(ml_damon_rec_iter_opts, o);
	uint64_t aggr_us = ml_damon_rec_info(r)->aggr_us;
	struct ml_damon_heatmap *h = out;
	size_t nr_cells;
	double *wsum;
	uint64_t last_us;
	unsigned target;
	int err;

	memset(h, 0, sizeof(*h));
	err = pick_target(r, OPT(opts, target_id, -1), &target);
	if (err)
		return err;
	h->target_id = target;
	h->nr_time_bins = OPT(opts, nr_time_bins, 0u) ? opts->nr_time_bins : 80;
	h->nr_addr_bins = OPT(opts, nr_addr_bins, 0u) ? opts->nr_addr_bins : 40;
	if (h->nr_time_bins > 1u << 16 || h->nr_addr_bins > 1u << 16)
		return -EINVAL;
	o.target_id = (int)target;
	o.from_us = OPT(opts, from_us, 0);
	o.to_us = OPT(opts, to_us, 0);
	err = heatmap_scan(r, &o, aggr_us, h);
	if (err)
		return err;
	last_us = h->t1_us;
	if (h->t1_us <= h->t0_us)
		h->t1_us = h->t0_us + 1;
	if (!h->space_bytes)
		return -ENODATA;
	nr_cells = (size_t)h->nr_time_bins * h->nr_addr_bins;
	h->cells = calloc(nr_cells, sizeof(*h->cells));
	wsum = calloc(nr_cells, sizeof(*wsum));
	if (!h->cells || !wsum) {
		free(wsum);
		return -ENOMEM;
	}
	/* the same snapshots as the scan, even if a recorder appends more */
	o.to_us = last_us;
	err = heatmap_fill(r, &o, aggr_us, h, wsum);
	for (size_t i = 0; !err && i < nr_cells; i++) {
		h->cells[i] = wsum[i] > 0 ? h->cells[i] / wsum[i] : -1;
		if (h->cells[i] > h->max_cell)
			h->max_cell = h->cells[i];
	}
	free(wsum);
	return err;
}

/* ---- axes ---------------------------------------------------------------------- */

/* 1, 2, 5 × 10^k: the smallest step that gives at most @max ticks. */
static double nice_step(double span, uint32_t max)
{
	double raw = span / (max ? max : 1), mag = pow(10, floor(log10(raw)));

	if (raw <= mag)
		return mag;
	if (raw <= 2 * mag)
		return 2 * mag;
	if (raw <= 5 * mag)
		return 5 * mag;
	return 10 * mag;
}

static void time_label(char buf[24], double sec, double step)
{
	if (step >= 1)
		snprintf(buf, 24, "%.0f", sec);
	else if (step >= 0.1)
		snprintf(buf, 24, "%.1f", sec);
	else
		snprintf(buf, 24, "%.3f", sec);
}

static bool tick_room(const struct ml_damon_heatmap_axes *ax, size_t n,
		      double pos, uint32_t max)
{
	for (size_t i = 0; i < n; i++)
		if (fabs(ax->y_ticks[i].pos - pos) < 1.0 / (max + 1))
			return false;
	return true;
}

/* Addresses in between, at even steps, rounded down to a MiB in range. */
static size_t more_addr_ticks(const struct ml_damon_heatmap *h, uint32_t max,
			      struct ml_damon_heatmap_axes *ax, size_t n)
{
	double space = (double)h->space_bytes;

	for (uint32_t k = 1; k < max && n < max; k++) {
		uint64_t off = (uint64_t)(space * k / max), addr;
		size_t r;
		double pos;

		addr = ml_damon_heatmap_addr(h, off);
		for (r = 0; r + 1 < h->nr_ranges && h->ranges[r + 1].start <= addr;)
			r++;
		if (addr - (addr & ~0xfffffULL) <= addr - h->ranges[r].start)
			addr &= ~0xfffffULL;
		pos = (h->ranges[r].offset + (addr - h->ranges[r].start)) / space;
		if (!tick_room(ax, n, pos, max))
			continue;
		snprintf(ax->y_labels[n], 24, "0x%" PRIx64, addr);
		ax->y_ticks[n] = (struct ml_plot_tick){ pos, ax->y_labels[n] };
		n++;
	}
	return n;
}

void ml_damon_heatmap_axes(const struct ml_damon_heatmap *h,
			   uint32_t max_x_ticks, uint32_t max_y_ticks,
			   struct ml_damon_heatmap_axes *ax)
{
	struct ml_plot_heatmap *p = &ax->plot;
	double t0 = h->t0_us / 1e6, t1 = h->t1_us / 1e6, step, space;
	size_t n = 0;

	memset(ax, 0, sizeof(*ax));
	if (max_x_ticks > ML_DAMON_AXES_MAX_TICKS)
		max_x_ticks = ML_DAMON_AXES_MAX_TICKS;
	if (max_y_ticks > ML_DAMON_AXES_MAX_TICKS)
		max_y_ticks = ML_DAMON_AXES_MAX_TICKS;
	/* time: round seconds since monitoring started */
	step = t1 > t0 ? nice_step(t1 - t0, max_x_ticks ? max_x_ticks - 1 : 1) :
			 1;
	for (double s = ceil(t0 / step) * step; s <= t1 + step * 1e-9 &&
	     n < max_x_ticks; s += step) {
		ax->x_ticks[n].pos = (s - t0) / (t1 - t0);
		time_label(ax->x_labels[n], s, step);
		ax->x_ticks[n].label = ax->x_labels[n];
		n++;
	}
	p->nr_x_ticks = n;
	/* address: each range's start, the breaks between ranges */
	space = (double)h->space_bytes;
	n = 0;
	for (size_t i = 0; i < h->nr_ranges && n < max_y_ticks; i++) {
		double pos = h->ranges[i].offset / space;

		/* leave out a label that would sit on the previous one */
		if (n && pos - ax->y_ticks[n - 1].pos < 1.0 / (max_y_ticks + 1))
			continue;
		snprintf(ax->y_labels[n], 24, "0x%" PRIx64, h->ranges[i].start);
		ax->y_ticks[n] = (struct ml_plot_tick){ pos, ax->y_labels[n] };
		n++;
	}
	n = more_addr_ticks(h, max_y_ticks, ax, n);
	p->nr_y_ticks = n;
	for (size_t i = 1; i < h->nr_ranges &&
	     p->nr_y_breaks < ML_DAMON_AXES_MAX_TICKS; i++)
		ax->y_breaks[p->nr_y_breaks++] = h->ranges[i].offset / space;
	snprintf(ax->title, sizeof(ax->title),
		 "access frequency, target %u (%" PRIu64 " snapshots)",
		 h->target_id, h->nr_snapshots);
	snprintf(ax->legend, sizeof(ax->legend), "access frequency (%%)");
	p->nr_x = h->nr_time_bins;
	p->nr_y = h->nr_addr_bins;
	p->cells = h->cells;
	p->scale_max = h->max_cell > 0 ? h->max_cell : 1;
	p->legend_max = p->scale_max * 100;
	p->title = ax->title;
	p->x_title = "time (s)";
	p->y_title = "address (gaps collapsed)";
	p->legend_title = ax->legend;
	p->x_ticks = ax->x_ticks;
	p->y_ticks = ax->y_ticks;
	p->y_breaks = ax->y_breaks;
}

/* ---- working set ------------------------------------------------------------------ */

void ml_damon_wss_fini(struct ml_damon_wss *w)
{
	free(w->points);
	memset(w, 0, sizeof(*w));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static size_t pct_index(unsigned p, size_t n)
{
	size_t rank = ((size_t)p * n + 99) / 100;	/* ceil(p n / 100) */

	return rank ? rank - 1 : 0;
}

static int wss_pcts(struct ml_damon_wss *w)
{
	size_t n = w->nr_points;
	uint64_t *v = malloc(n * sizeof(*v));
	uint64_t sum = 0;
	double regions = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i] = w->points[i].wss_bytes;
		sum += v[i];
		regions += w->points[i].nr_regions;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	for (int i = 0; i < ML_DAMON_NR_PCTS; i++)
		w->wss_pct[i] = v[pct_index(ml_damon_pcts[i], n)];
	for (size_t i = 0; i < n; i++)
		v[i] = w->points[i].nr_regions;
	qsort(v, n, sizeof(*v), cmp_u64);
	for (int i = 0; i < ML_DAMON_NR_PCTS; i++)
		w->nr_regions_pct[i] = (uint32_t)v[pct_index(ml_damon_pcts[i], n)];
	w->wss_mean_bytes = sum / n;
	w->nr_regions_mean = regions / (double)n;
	free(v);
	return 0;
}

int ml_damon_wss(struct ml_damon_rec *r, const struct ml_damon_wss_opts *opts,
		 struct ml_damon_wss *out)
{
	uint32_t min_acc = OPT(opts, min_nr_accesses, 0u);
	ML_OPTS(ml_damon_rec_iter_opts, o,
		.what = min_acc > 1 ? ML_DAMON_REC_REGIONS : 0,
		.from_us = OPT(opts, from_us, 0),
		.to_us = OPT(opts, to_us, 0));
	const struct ml_damon_rec_snapshot *s;
	size_t cap = 0;
	unsigned target;
	int err;

	memset(out, 0, sizeof(*out));
	err = pick_target(r, OPT(opts, target_id, -1), &target);
	if (err)
		return err;
	out->target_id = target;
	o.target_id = (int)target;
	err = ml_damon_rec_iter(r, &o);
	if (err)
		return err;
	ml_damon_rec_for_each(r, s, err) {
		struct ml_damon_wss_point *pt;
		uint64_t wss = s->wss_bytes;

		if (out->nr_points == cap) {
			size_t ncap = cap ? 2 * cap : 1024;
			void *p = realloc(out->points, ncap * sizeof(*pt));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			out->points = p;
			cap = ncap;
		}
		if (min_acc > 1) {
			wss = 0;
			for (size_t i = 0; i < s->s.nr_regions; i++)
				if (s->s.regions[i].nr_accesses >= min_acc)
					wss += s->s.regions[i].end -
					       s->s.regions[i].start;
		}
		pt = &out->points[out->nr_points++];
		pt->time_us = s->s.time_us;
		pt->wss_bytes = wss;
		pt->total_bytes = s->total_bytes;
		pt->nr_regions = (uint32_t)s->s.nr_regions;
	}
	if (err < 0)
		return err;
	if (!out->nr_points)
		return -ENODATA;
	return wss_pcts(out);
}

size_t ml_damon_wss_bins(const struct ml_damon_wss *w, size_t nr_bins,
			 struct ml_damon_wss_bin *out)
{
	uint64_t t0, t1;
	double span;
	size_t n = 0;

	if (!w->nr_points || !nr_bins)
		return 0;
	if (nr_bins > w->nr_points)
		nr_bins = w->nr_points;
	t0 = w->points[0].time_us;
	t1 = w->points[w->nr_points - 1].time_us;
	span = (double)(t1 - t0) + 1;
	for (size_t b = 0; b < nr_bins; b++) {
		out[b] = (struct ml_damon_wss_bin){
			.from_us = t0 + (uint64_t)(span * b / nr_bins),
			.to_us = t0 + (uint64_t)(span * (b + 1) / nr_bins),
			.wss_min_bytes = UINT64_MAX,
			.nr_regions_min = UINT32_MAX,
		};
	}
	for (size_t i = 0; i < w->nr_points; i++) {
		const struct ml_damon_wss_point *p = &w->points[i];
		size_t b = (size_t)((double)(p->time_us - t0) * nr_bins / span);
		struct ml_damon_wss_bin *o = &out[b < nr_bins ? b : nr_bins - 1];

		o->nr_points++;
		o->wss_mean_bytes += p->wss_bytes;	/* a sum until below */
		o->nr_regions_mean += p->nr_regions;
		if (p->wss_bytes < o->wss_min_bytes)
			o->wss_min_bytes = p->wss_bytes;
		if (p->wss_bytes > o->wss_max_bytes)
			o->wss_max_bytes = p->wss_bytes;
		if (p->nr_regions < o->nr_regions_min)
			o->nr_regions_min = p->nr_regions;
		if (p->nr_regions > o->nr_regions_max)
			o->nr_regions_max = p->nr_regions;
	}
	for (size_t b = 0; b < nr_bins; b++) {
		if (!out[b].nr_points)
			continue;
		out[b].wss_mean_bytes /= out[b].nr_points;
		out[b].nr_regions_mean /= (double)out[b].nr_points;
		out[n++] = out[b];
	}
	return n;
}
