// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The colour scale of heatmaps (terminal, SVG and PNG alike) and the
 * layout the image writers share.
 *
 * The scale is viridis (matplotlib's default): dark blue-violet to yellow,
 * brightness rising evenly, readable by colour-blind readers and in grey.
 * Nine stops, linear in between.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "plot.h"

static const uint8_t stops[9][3] = {
	{ 68, 1, 84 },    { 71, 44, 122 },  { 59, 81, 139 },
	{ 44, 113, 142 }, { 33, 144, 141 }, { 39, 173, 129 },
	{ 92, 200, 99 },  { 170, 220, 50 }, { 253, 231, 37 },
};

void ml_plot_rgb(double v, uint8_t rgb[3])
{
	double pos;
	int i;

	if (!(v > 0))		/* also NaN */
		v = 0;
	if (v > 1)
		v = 1;
	pos = v * 8;
	i = (int)pos;
	if (i >= 8) {
		i = 7;
		pos = 8;
	}
	for (int c = 0; c < 3; c++)
		rgb[c] = (uint8_t)lround(stops[i][c] +
					 (stops[i + 1][c] - stops[i][c]) *
					 (pos - i));
}

/* xterm's 6×6×6 cube levels */
static int cube_index(uint8_t c)
{
	static const uint8_t level[6] = { 0, 95, 135, 175, 215, 255 };
	int best = 0;

	for (int i = 1; i < 6; i++)
		if (abs(c - level[i]) < abs(c - level[best]))
			best = i;
	return best;
}

int ml_plot_xterm256(double v)
{
	uint8_t rgb[3];

	ml_plot_rgb(v, rgb);
	return 16 + 36 * cube_index(rgb[0]) + 6 * cube_index(rgb[1]) +
	       cube_index(rgb[2]);
}

void plot_layout(const struct ml_plot_heatmap *h,
		 const struct ml_plot_opts *opts, struct plot_layout *l)
{
	/* callers built against a shorter struct: its .sz says so */
	bool has_size = opts && opts->sz >= sizeof(*opts);
	int w = has_size && opts->width_px ? (int)opts->width_px : 1000;
	int ht = has_size && opts->height_px ? (int)opts->height_px : 600;

	(void)h;
	if (w < 400)
		w = 400;
	if (ht < 240)
		ht = 240;
	if (w > 20000)
		w = 20000;
	if (ht > 20000)
		ht = 20000;
	l->width = w;
	l->height = ht;
	/* labels of 14 hex digits at 12 px a character, and the axis title */
	l->x0 = 230;
	l->x1 = w - 150;
	l->y0 = 50;
	l->y1 = ht - 70;
	l->legend_x = w - 120;
	l->legend_w = 22;
}
