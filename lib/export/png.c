// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Heatmaps as PNG (plot.h) through libpng: the same layout as the SVG,
 * drawn into an RGB buffer. libpng has no text, so labels use the 5×7
 * bitmap font below (drawn for memlens: lower case, digits and the
 * punctuation labels use; upper case is drawn lower case), scaled ×2.
 */
#include <ctype.h>
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

/* ---- font ------------------------------------------------------------------- */

/* 7 rows above the baseline, 2 below for descenders (NULL: blank) */
struct glyph {
	char c;
	const char *rows[9];
};

static const struct glyph font[] = {
	{ '0', { ".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###." } },
	{ '1', { "..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###." } },
	{ '2', { ".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####" } },
	{ '3', { "#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###." } },
	{ '4', { "...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#." } },
	{ '5', { "#####", "#....", "####.", "....#", "....#", "#...#", ".###." } },
	{ '6', { "..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###." } },
	{ '7', { "#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..." } },
	{ '8', { ".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###." } },
	{ '9', { ".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.." } },
	{ 'a', { ".....", ".....", ".###.", "....#", ".####", "#...#", ".####" } },
	{ 'b', { "#....", "#....", "#.##.", "##..#", "#...#", "#...#", "####." } },
	{ 'c', { ".....", ".....", ".###.", "#....", "#....", "#...#", ".###." } },
	{ 'd', { "....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####" } },
	{ 'e', { ".....", ".....", ".###.", "#...#", "#####", "#....", ".###." } },
	{ 'f', { "..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..." } },
	{ 'g', { ".....", ".....", ".####", "#...#", "#...#", "#...#", ".####", "....#", ".###." } },
	{ 'h', { "#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#" } },
	{ 'i', { "..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###." } },
	{ 'j', { "...#.", ".....", "..##.", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.." } },
	{ 'k', { "#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#." } },
	{ 'l', { ".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###." } },
	{ 'm', { ".....", ".....", "##.#.", "#.#.#", "#.#.#", "#...#", "#...#" } },
	{ 'n', { ".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#" } },
	{ 'o', { ".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###." } },
	{ 'p', { ".....", ".....", "####.", "#...#", "#...#", "#...#", "####.", "#....", "#...." } },
	{ 'q', { ".....", ".....", ".####", "#...#", "#...#", "#...#", ".####", "....#", "....#" } },
	{ 'r', { ".....", ".....", "#.##.", "##..#", "#....", "#....", "#...." } },
	{ 's', { ".....", ".....", ".####", "#....", ".###.", "....#", "####." } },
	{ 't', { ".#...", ".#...", "###..", ".#...", ".#...", ".#..#", "..##." } },
	{ 'u', { ".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#" } },
	{ 'v', { ".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.." } },
	{ 'w', { ".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#." } },
	{ 'x', { ".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#" } },
	{ 'y', { ".....", ".....", "#...#", "#...#", "#...#", "#...#", ".####", "....#", ".###." } },
	{ 'z', { ".....", ".....", "#####", "...#.", "..#..", ".#...", "#####" } },
	{ ' ', { ".....", ".....", ".....", ".....", ".....", ".....", "....." } },
	{ '.', { ".....", ".....", ".....", ".....", ".....", ".##..", ".##.." } },
	{ ',', { ".....", ".....", ".....", ".....", ".##..", "..#..", ".#..." } },
	{ ':', { ".....", ".##..", ".##..", ".....", ".##..", ".##..", "....." } },
	{ '(', { "...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#." } },
	{ ')', { ".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..." } },
	{ '%', { "##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##" } },
	{ '-', { ".....", ".....", ".....", "#####", ".....", ".....", "....." } },
	{ '+', { ".....", "..#..", "..#..", "#####", "..#..", "..#..", "....." } },
	{ '/', { ".....", "....#", "...#.", "..#..", ".#...", "#....", "....." } },
	{ '_', { ".....", ".....", ".....", ".....", ".....", ".....", "#####" } },
	{ '=', { ".....", ".....", "#####", ".....", "#####", ".....", "....." } },
	{ '?', { ".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.." } },
};

#define SCALE 2
#define GLYPH_W ((5 + 1) * SCALE)	/* advance, with one column of space */
#define GLYPH_H (7 * SCALE)	/* above the baseline: what centring uses */

static const struct glyph *find_glyph(char c)
{
	c = (char)tolower((unsigned char)c);
	for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
		if (font[i].c == c)
			return &font[i];
	return find_glyph('?');
}

/* ---- canvas ------------------------------------------------------------------ */

struct canvas {
	int w, h;
	uint8_t *px;	/* RGB rows */
};

static void put_px(struct canvas *c, int x, int y, const uint8_t rgb[3])
{
	if (x < 0 || y < 0 || x >= c->w || y >= c->h)
		return;
	memcpy(&c->px[((size_t)y * c->w + x) * 3], rgb, 3);
}

static void fill(struct canvas *c, int x0, int y0, int x1, int y1,
		 const uint8_t rgb[3])
{
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			put_px(c, x, y, rgb);
}

static const uint8_t black[3] = { 0, 0, 0 }, white[3] = { 255, 255, 255 };

static int text_width(const char *s)
{
	return s ? (int)strlen(s) * GLYPH_W : 0;
}

/*
 * Draw @s with its top-left corner at (x, y); @vertical: rotated a quarter
 * turn anticlockwise (reading upwards), (x, y) then its bottom-left.
 */
static void text(struct canvas *c, int x, int y, const char *s, bool vertical)
{
	for (; s && *s; s++) {
		const struct glyph *g = find_glyph(*s);

		for (int r = 0; r < 9; r++)
			for (int col = 0; col < 5; col++) {
				if (!g->rows[r] || g->rows[r][col] != '#')
					continue;
				for (int d = 0; d < SCALE * SCALE; d++) {
					int gx = col * SCALE + d % SCALE;
					int gy = r * SCALE + d / SCALE;

					if (vertical)
						put_px(c, x + gy, y - gx, black);
					else
						put_px(c, x + gx, y + gy, black);
				}
			}
		if (vertical)
			y -= GLYPH_W;
		else
			x += GLYPH_W;
	}
}

/* ---- the plot ------------------------------------------------------------------ */

static void draw(struct canvas *c, const struct ml_plot_heatmap *h,
		 const struct plot_layout *l)
{
	int pw = l->x1 - l->x0, ph = l->y1 - l->y0;
	static const uint8_t bg[3] = { 0xf4, 0xf4, 0xf4 };
	char num[32];

	fill(c, 0, 0, c->w, c->h, white);
	for (uint32_t x = 0; x < h->nr_x; x++)
		for (uint32_t y = 0; y < h->nr_y; y++) {
			double v = h->cells[(size_t)x * h->nr_y + y];
			uint8_t rgb[3];

			if (v < 0)
				memcpy(rgb, bg, 3);
			else
				ml_plot_rgb(v / h->scale_max, rgb);
			fill(c, plot_cell_x(l, h->nr_x, x),
			     plot_cell_y(l, h->nr_y, y + 1),
			     plot_cell_x(l, h->nr_x, x + 1),
			     plot_cell_y(l, h->nr_y, y), rgb);
		}
	for (size_t i = 0; i < h->nr_y_breaks; i++) {
		int y = l->y1 - (int)(h->y_breaks[i] * ph);

		for (int x = l->x0; x < l->x1; x++)
			if ((x - l->x0) % 10 < 6)
				put_px(c, x, y, white);
	}
	/* frame */
	fill(c, l->x0 - 1, l->y0 - 1, l->x1 + 1, l->y0, black);
	fill(c, l->x0 - 1, l->y1, l->x1 + 1, l->y1 + 1, black);
	fill(c, l->x0 - 1, l->y0, l->x0, l->y1, black);
	fill(c, l->x1, l->y0, l->x1 + 1, l->y1, black);
	for (size_t i = 0; i < h->nr_x_ticks; i++) {
		int x = l->x0 + (int)(h->x_ticks[i].pos * pw);

		fill(c, x, l->y1, x + 1, l->y1 + 6, black);
		text(c, x - text_width(h->x_ticks[i].label) / 2, l->y1 + 10,
		     h->x_ticks[i].label, false);
	}
	for (size_t i = 0; i < h->nr_y_ticks; i++) {
		int y = l->y1 - (int)(h->y_ticks[i].pos * ph);

		fill(c, l->x0 - 6, y, l->x0, y + 1, black);
		text(c, l->x0 - 10 - text_width(h->y_ticks[i].label),
		     y - GLYPH_H / 2, h->y_ticks[i].label, false);
	}
	text(c, l->x0 + pw / 2 - text_width(h->x_title) / 2, l->height - 35,
	     h->x_title, false);
	text(c, 8, l->y0 + ph / 2 + text_width(h->y_title) / 2, h->y_title,
	     true);
	text(c, l->x0 + pw / 2 - text_width(h->title) / 2, 16, h->title,
	     false);
	/* legend */
	for (int y = l->y0; y < l->y1; y++) {
		uint8_t rgb[3];

		ml_plot_rgb((double)(l->y1 - y) / ph, rgb);
		fill(c, l->legend_x, y, l->legend_x + l->legend_w, y + 1, rgb);
	}
	for (int i = 0; i <= 4; i++) {
		int y = l->y1 - ph * i / 4;

		snprintf(num, sizeof(num), "%.3g", h->legend_max * i / 4);
		fill(c, l->legend_x + l->legend_w, y,
		     l->legend_x + l->legend_w + 4, y + 1, black);
		text(c, l->legend_x + l->legend_w + 6, y - GLYPH_H / 2, num,
		     false);
	}
	text(c, l->legend_x - 9 * SCALE - 6,
	     l->y0 + ph / 2 + text_width(h->legend_title) / 2,
	     h->legend_title, true);
}

static int write_png(FILE *f, const struct canvas *c)
{
	png_structp png;
	png_infop info;
	volatile int err = 0;	/* set after setjmp() */

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png)
		return -ENOMEM;
	info = png_create_info_struct(png);
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return -ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		err = -EIO;
		goto out;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8,
		     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < c->h; y++)
		png_write_row(png, &c->px[(size_t)y * c->w * 3]);
	png_write_end(png, NULL);
out:
	png_destroy_write_struct(&png, &info);
	if (!err && (fflush(f) == EOF || ferror(f)))
		err = -EIO;
	return err;
}

int ml_plot_heatmap_png(FILE *f, const struct ml_plot_heatmap *h,
			const struct ml_plot_opts *opts)
{
	struct plot_layout l;
	struct canvas c;
	int err;

	if (!h->nr_x || !h->nr_y || !h->cells || !(h->scale_max > 0))
		return -EINVAL;
	plot_layout(h, opts, &l);
	c.w = l.width;
	c.h = l.height;
	c.px = malloc((size_t)c.w * c.h * 3);
	if (!c.px)
		return -ENOMEM;
	draw(&c, h, &l);
	err = write_png(f, &c);
	free(c.px);
	return err;
}
