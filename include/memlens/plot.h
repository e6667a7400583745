/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/plot.h - heatmaps as SVG and PNG (lib/export/svg.c, png.c), and
 * the colour scale the terminal uses too, so that all three agree.
 *
 * A plot is a grid of values in [0, 1] (negative: no data, drawn as
 * background), x across, y upwards, with ticks along both axes, breaks on
 * the y axis (drawn as a dashed line: address space collapsed there), axis
 * titles and a legend of the colour scale from 0 to legend_max.
 */
#ifndef MEMLENS_PLOT_H
#define MEMLENS_PLOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ml_plot_tick {
	double pos;		/* 0..1 along the axis (y: 0 at the bottom) */
	const char *label;
};

struct ml_plot_heatmap {
	uint32_t nr_x, nr_y;
	const double *cells;	/* cells[x * nr_y + y] */
	double scale_max;	/* a cell of this value gets the top colour */
	const char *title;
	const char *x_title;
	const char *y_title;
	const char *legend_title;	/* e.g. "access frequency (%)" */
	double legend_max;		/* the number at the legend's top */
	const struct ml_plot_tick *x_ticks;
	size_t nr_x_ticks;
	const struct ml_plot_tick *y_ticks;
	size_t nr_y_ticks;
	const double *y_breaks;
	size_t nr_y_breaks;
};

struct ml_plot_opts {
	size_t sz;		/* sizeof(struct ml_plot_opts) */
	uint32_t width_px;	/* whole image; 0: 1000 */
	uint32_t height_px;	/* 0: 600 */
};
#define ml_plot_opts__last_field height_px

/* The colour of @v in [0, 1] (clamped): a perceptual dark-to-bright scale. */
void ml_plot_rgb(double v, uint8_t rgb[3]);
/* The same as the nearest of xterm's 256 colours (16..255). */
int ml_plot_xterm256(double v);

/* Write @h as SVG / PNG to @f. Returns 0 or a negative errno. */
int ml_plot_heatmap_svg(FILE *f, const struct ml_plot_heatmap *h,
			const struct ml_plot_opts *opts);
int ml_plot_heatmap_png(FILE *f, const struct ml_plot_heatmap *h,
			const struct ml_plot_opts *opts);

#ifdef __cplusplus
}
#endif

#endif /* MEMLENS_PLOT_H */
