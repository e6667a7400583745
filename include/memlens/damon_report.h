/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/damon_report.h - the figures of DAMON reports, computed from a
 * recording (damon_record.h); the command formats them, lib/export draws
 * them (plot.h).
 *
 *   heatmap  access frequency over time (x) and address (y), on the
 *            address space the recording saw: the union of every region
 *            of the target, gaps between its ranges collapsed
 *   wss      working-set size per snapshot (bytes of regions accessed at
 *            least min_nr_accesses times), its percentiles, and the
 *            number of regions per snapshot (how the regions adapted)
 *
 * Frequency is nr_accesses / max_nr_accesses of a snapshot (0..1). A
 * heatmap cell holds the mean frequency over the bytes × time it covers,
 * each region weighted by how much of the cell's address range and time
 * it overlaps; -1 where nothing was mapped in the cell's time.
 */
#ifndef MEMLENS_DAMON_REPORT_H
#define MEMLENS_DAMON_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <memlens/damon_record.h>
#include <memlens/plot.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- heatmap ------------------------------------------------------------- */

struct ml_damon_heatmap_opts {
	size_t sz;		/* sizeof(struct ml_damon_heatmap_opts) */
	int target_id;		/* -1: the lowest target id recorded */
	uint32_t nr_time_bins;	/* 0: 80 */
	uint32_t nr_addr_bins;	/* 0: 40 */
	uint64_t from_us;	/* time window, as ml_damon_rec_iter_opts */
	uint64_t to_us;
};
#define ml_damon_heatmap_opts__last_field to_us

/* A mapped range and where it starts in the collapsed address space. */
struct ml_damon_heatmap_range {
	uint64_t start;
	uint64_t end;
	uint64_t offset;
};

struct ml_damon_heatmap {
	unsigned int target_id;
	uint32_t nr_time_bins;
	uint32_t nr_addr_bins;
	uint64_t t0_us;		/* time axis [t0_us, t1_us): a snapshot at t */
	uint64_t t1_us;		/* covers the interval since the one before */
	uint64_t space_bytes;	/* the collapsed address space */
	struct ml_damon_heatmap_range *ranges;	/* address order */
	size_t nr_ranges;
	/* cells[t * nr_addr_bins + a]; address bin 0 is the lowest */
	double *cells;
	double max_cell;	/* the largest cell (0 when all are 0) */
	uint64_t nr_snapshots;
};

/*
 * Compute the heatmap of one target. Returns 0, -ENODATA when the target
 * has no snapshot in the window, or the reader's errors. Free with
 * ml_damon_heatmap_fini() either way.
 */
int ml_damon_heatmap(struct ml_damon_rec *r,
		     const struct ml_damon_heatmap_opts *opts,
		     struct ml_damon_heatmap *out);
void ml_damon_heatmap_fini(struct ml_damon_heatmap *h);

/* The address at @offset of the collapsed space (offset < space_bytes). */
uint64_t ml_damon_heatmap_addr(const struct ml_damon_heatmap *h,
			       uint64_t offset);

/*
 * Axes and legend of @h for plot.h's writers: time ticks in seconds at
 * round steps, address ticks at the start of each mapped range (and in
 * between when there is room), the collapsed gaps as breaks. @ax points
 * into @h: keep @h until the plot is drawn.
 */
#define ML_DAMON_AXES_MAX_TICKS 24
struct ml_damon_heatmap_axes {
	struct ml_plot_heatmap plot;
	struct ml_plot_tick x_ticks[ML_DAMON_AXES_MAX_TICKS];
	struct ml_plot_tick y_ticks[ML_DAMON_AXES_MAX_TICKS];
	char x_labels[ML_DAMON_AXES_MAX_TICKS][24];
	char y_labels[ML_DAMON_AXES_MAX_TICKS][24];
	double y_breaks[ML_DAMON_AXES_MAX_TICKS];
	char title[96];
	char legend[48];
};
void ml_damon_heatmap_axes(const struct ml_damon_heatmap *h,
			   uint32_t max_x_ticks, uint32_t max_y_ticks,
			   struct ml_damon_heatmap_axes *ax);

/* ---- working set and regions over time --------------------------------- */

/* The percentiles of the distributions, as damo's wss report prints. */
#define ML_DAMON_NR_PCTS 7
extern const unsigned int ml_damon_pcts[ML_DAMON_NR_PCTS]; /* 0 25 50 75 90 99 100 */

struct ml_damon_wss_opts {
	size_t sz;		/* sizeof(struct ml_damon_wss_opts) */
	int target_id;		/* -1: the lowest target id recorded */
	uint32_t min_nr_accesses; /* 0 or 1: any access (no region read) */
	uint64_t from_us;
	uint64_t to_us;
};
#define ml_damon_wss_opts__last_field to_us

struct ml_damon_wss_point {
	uint64_t time_us;
	uint64_t wss_bytes;
	uint64_t total_bytes;	/* monitored bytes */
	uint32_t nr_regions;
};

struct ml_damon_wss {
	unsigned int target_id;
	struct ml_damon_wss_point *points;	/* one per snapshot, in order */
	size_t nr_points;
	/*
	 * Nearest rank over the snapshots: the value at sorted index
	 * ceil(p / 100 * n) - 1 (index 0 for p = 0).
	 */
	uint64_t wss_pct[ML_DAMON_NR_PCTS];
	uint32_t nr_regions_pct[ML_DAMON_NR_PCTS];
	uint64_t wss_mean_bytes;
	double nr_regions_mean;
};

/* Returns 0, -ENODATA (no snapshot of the target), or the reader's errors. */
int ml_damon_wss(struct ml_damon_rec *r, const struct ml_damon_wss_opts *opts,
		 struct ml_damon_wss *out);
void ml_damon_wss_fini(struct ml_damon_wss *w);

/* @w's points averaged over @nr_bins equal time bins (fewer when there
 * are fewer points); bin i goes to out[i]. Returns the bins filled. */
struct ml_damon_wss_bin {
	uint64_t from_us, to_us;
	uint64_t wss_mean_bytes, wss_min_bytes, wss_max_bytes;
	uint32_t nr_regions_min, nr_regions_max;
	double nr_regions_mean;
	uint64_t nr_points;
};
size_t ml_damon_wss_bins(const struct ml_damon_wss *w, size_t nr_bins,
			 struct ml_damon_wss_bin *out);

#ifdef __cplusplus
}
#endif

#endif /* MEMLENS_DAMON_REPORT_H */
