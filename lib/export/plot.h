/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal to lib/export: the geometry both heatmap writers share, so that
 * the SVG and the PNG of one heatmap look the same.
 */
#ifndef MEMLENS_EXPORT_PLOT_H
#define MEMLENS_EXPORT_PLOT_H

#include <memlens/plot.h>

struct plot_layout {
	int width, height;
	int x0, y0, x1, y1;	/* the grid: [x0, x1) × [y0, y1), y0 on top */
	int legend_x, legend_w;	/* the colour bar, from y0 to y1 */
};

void plot_layout(const struct ml_plot_heatmap *h,
		 const struct ml_plot_opts *opts, struct plot_layout *l);

/* Pixel column/row of cell @x's left edge and cell @y's top edge. */
static inline int plot_cell_x(const struct plot_layout *l, uint32_t nr_x,
			      uint32_t x)
{
	return l->x0 + (int)((int64_t)(l->x1 - l->x0) * x / nr_x);
}

/* y counts upwards from the bottom of the grid */
static inline int plot_cell_y(const struct plot_layout *l, uint32_t nr_y,
			      uint32_t y)
{
	return l->y1 - (int)((int64_t)(l->y1 - l->y0) * y / nr_y);
}

#endif
