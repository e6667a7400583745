// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Heatmaps as SVG (plot.h): one rect per run of equal colour along x, so
 * a file stays small on a smooth grid; text as text; no script, no
 * external reference.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plot.h"

#define FONT "font-family=\"monospace\" font-size=\"13\""

/* Text is ours (labels, titles), but escape it anyway. */
static void put_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void cell_colour(const struct ml_plot_heatmap *h, double v,
			uint8_t rgb[3])
{
	if (v < 0) {		/* nothing mapped: the background */
		rgb[0] = rgb[1] = rgb[2] = 0xf4;
		return;
	}
	ml_plot_rgb(v / h->scale_max, rgb);
}

static void grid(FILE *f, const struct ml_plot_heatmap *h,
		 const struct plot_layout *l)
{
	for (uint32_t y = 0; y < h->nr_y; y++) {
		int top = plot_cell_y(l, h->nr_y, y + 1);
		int bottom = plot_cell_y(l, h->nr_y, y);
		uint32_t x = 0;

		while (x < h->nr_x) {
			uint8_t rgb[3], next[3];
			uint32_t end = x + 1;

			cell_colour(h, h->cells[(size_t)x * h->nr_y + y], rgb);
			for (; end < h->nr_x; end++) {
				cell_colour(h, h->cells[(size_t)end * h->nr_y + y],
					    next);
				if (memcmp(rgb, next, 3))
					break;
			}
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
				   "height=\"%d\" fill=\"#%02x%02x%02x\"/>\n",
				plot_cell_x(l, h->nr_x, x), top,
				plot_cell_x(l, h->nr_x, end) -
					plot_cell_x(l, h->nr_x, x),
				bottom - top, rgb[0], rgb[1], rgb[2]);
			x = end;
		}
	}
}

static void axes(FILE *f, const struct ml_plot_heatmap *h,
		 const struct plot_layout *l)
{
	int pw = l->x1 - l->x0, ph = l->y1 - l->y0;

	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		   "fill=\"none\" stroke=\"#000\"/>\n", l->x0, l->y0, pw, ph);
	for (size_t i = 0; i < h->nr_y_breaks; i++) {
		int y = l->y1 - (int)(h->y_breaks[i] * ph);

		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			   "stroke=\"#fff\" stroke-dasharray=\"6,4\"/>\n",
			l->x0, y, l->x1, y);
	}
	for (size_t i = 0; i < h->nr_x_ticks; i++) {
		int x = l->x0 + (int)(h->x_ticks[i].pos * pw);

		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			   "stroke=\"#000\"/>\n", x, l->y1, x, l->y1 + 5);
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
			   FONT ">", x, l->y1 + 20);
		put_text(f, h->x_ticks[i].label);
		fputs("</text>\n", f);
	}
	for (size_t i = 0; i < h->nr_y_ticks; i++) {
		int y = l->y1 - (int)(h->y_ticks[i].pos * ph);

		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			   "stroke=\"#000\"/>\n", l->x0 - 5, y, l->x0, y);
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
			   FONT ">", l->x0 - 8, y + 4);
		put_text(f, h->y_ticks[i].label);
		fputs("</text>\n", f);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" " FONT ">",
		l->x0 + pw / 2, l->height - 25);
	put_text(f, h->x_title);
	fputs("</text>\n", f);
	fprintf(f, "<text x=\"60\" y=\"%d\" text-anchor=\"middle\" "
		   "transform=\"rotate(-90 60 %d)\" " FONT ">",
		l->y0 + ph / 2, l->y0 + ph / 2);
	put_text(f, h->y_title);
	fputs("</text>\n", f);
	fprintf(f, "<text x=\"%d\" y=\"30\" text-anchor=\"middle\" "
		   "font-family=\"sans-serif\" font-size=\"16\">",
		l->x0 + pw / 2);
	put_text(f, h->title);
	fputs("</text>\n", f);
}

static void legend(FILE *f, const struct ml_plot_heatmap *h,
		   const struct plot_layout *l)
{
	const int steps = 64;
	int ph = l->y1 - l->y0;

	for (int i = 0; i < steps; i++) {
		uint8_t rgb[3];
		int top = l->y1 - (int)((int64_t)ph * (i + 1) / steps);
		int bottom = l->y1 - (int)((int64_t)ph * i / steps);

		ml_plot_rgb((i + 0.5) / steps, rgb);
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			   "fill=\"#%02x%02x%02x\"/>\n", l->legend_x, top,
			l->legend_w, bottom - top, rgb[0], rgb[1], rgb[2]);
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		   "fill=\"none\" stroke=\"#000\"/>\n", l->legend_x, l->y0,
		l->legend_w, ph);
	for (int i = 0; i <= 4; i++) {
		int y = l->y1 - ph * i / 4;

		fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT ">%.3g</text>\n",
			l->legend_x + l->legend_w + 5, y + 4,
			h->legend_max * i / 4);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
		   "transform=\"rotate(-90 %d %d)\" " FONT ">",
		l->legend_x - 8, l->y0 + ph / 2, l->legend_x - 8,
		l->y0 + ph / 2);
	put_text(f, h->legend_title);
	fputs("</text>\n", f);
}

int ml_plot_heatmap_svg(FILE *f, const struct ml_plot_heatmap *h,
			const struct ml_plot_opts *opts)
{
	struct plot_layout l;

	if (!h->nr_x || !h->nr_y || !h->cells || !(h->scale_max > 0))
		return -EINVAL;
	plot_layout(h, opts, &l);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "shape-rendering=\"crispEdges\">\n"
		   "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
		l.width, l.height, l.width, l.height);
	grid(f, h, &l);
	axes(f, h, &l);
	legend(f, h, &l);
	fputs("</svg>\n", f);
	if (fflush(f) == EOF || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}
