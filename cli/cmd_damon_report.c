// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens damon report FILE heatmap|wss|raw|nr_regions: what a recording
 * (memlens damon record) shows. The figures come from lib/damon/report.c;
 * this file only lays them out: in the terminal (the heatmap in xterm's
 * 256 colours, sized to the window), as SVG or PNG, or as JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <memlens/damon_report.h>

#include "cli.h"

#define CMD "damon report"

static void report_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens damon report FILE [heatmap|wss|raw|nr_regions] [OPTIONS]\n"
		"\n"
		"What a recording made by 'memlens damon record' shows:\n"
		"  heatmap     access frequency over time (across) and address (upwards),\n"
		"              only the address ranges that were monitored, gaps between\n"
		"              them collapsed (marked '~'); in the terminal, or --output\n"
		"  wss         working-set size (bytes of regions accessed at all, or at\n"
		"              least --min-accesses times): percentiles and over time\n"
		"  raw         every snapshot's regions\n"
		"  nr_regions  how the number of regions adapted over time\n"
		"The default is heatmap.\n"
		"\n"
		"Options:\n"
		"  -o, --output FILE     heatmap: write FILE.svg or FILE.png instead\n"
		"  -W, --width N         heatmap: columns (terminal) or pixels (image)\n"
		"  -H, --height N        heatmap: rows or pixels\n"
		"      --color WHEN      heatmap: auto (a terminal), always, never (digits)\n"
		"  -t, --target N        the target id (default: the first)\n"
		"      --min-accesses N  wss: count regions with at least N accesses\n"
		"      --bins N          wss, nr_regions: time rows (default: the window)\n"
		"  -b, --bytes           exact byte counts\n"
		"  -j, --json            JSON\n"
		"  -h, --help            show this help\n");
}

enum { OPT_COLOR = 0x3000, OPT_MIN_ACC, OPT_BINS };

struct report {
	const char *path, *what, *output;
	unsigned long width, height, bins, min_acc;
	int target;
	int color;		/* -1 auto, 0 never, 1 always */
	bool bytes, json;
	struct ml_damon_rec *rec;
};

static int term_rows(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO) ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || ws.ws_row < 8)
		return 0;
	return ws.ws_row;
}

/* ---- the recording's header ---------------------------------------------------- */

static void print_header(const struct report *rp)
{
	const struct ml_damon_rec_info *in = ml_damon_rec_info(rp->rec);
	char when[32];
	time_t t = (time_t)(in->started_us / 1000000);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	printf("%s: %s, started %s, sample %" PRIu64 " us, aggr %" PRIu64
	       " us", rp->path, in->ops, when, in->sample_us, in->aggr_us);
	if (in->pid)
		printf(", pid %d", (int)in->pid);
	if (in->command)
		printf(", '%s'", in->command);
	if (in->ended_us >= 0)
		printf("\nended: %s%s%s\n", in->end_reason ? in->end_reason : "?",
		       in->end_detail ? ": " : "",
		       in->end_detail ? in->end_detail : "");
	else
		printf("\nnot ended: still recording, or the recorder was "
		       "killed (all but its last aggregation are here)\n");
}

/* An error of a report; an empty recording says how it ended. */
static void report_error(const struct report *rp, int err)
{
	const struct ml_damon_rec_info *in = ml_damon_rec_info(rp->rec);

	if (err != -ENODATA) {
		cli_errorf("%s: %s", rp->path, ml_damon_rec_strerror(err));
		return;
	}
	if (in->ended_us < 0)
		cli_errorf("%s: no aggregation%s yet: still recording, or the "
			   "recorder was killed before its first", rp->path,
			   rp->target >= 0 ? " of this target" : "");
	else
		cli_errorf("%s: empty recording: no aggregation%s in it "
			   "(it ended: %s%s%s)", rp->path,
			   rp->target >= 0 ? " of this target" : "",
			   in->end_reason ? in->end_reason : "?",
			   in->end_detail ? ": " : "",
			   in->end_detail ? in->end_detail : "");
}

/* ---- heatmap ------------------------------------------------------------------- */

static int write_image(const struct report *rp,
		       const struct ml_damon_heatmap *h)
{
	struct ml_damon_heatmap_axes ax;
	ML_OPTS(ml_plot_opts, po, .width_px = (uint32_t)rp->width,
		.height_px = (uint32_t)rp->height);
	const char *dot = strrchr(rp->output, '.');
	bool png;
	FILE *f;
	int err;

	if (dot && !strcmp(dot, ".png"))
		png = true;
	else if (dot && !strcmp(dot, ".svg"))
		png = false;
	else
		return cli_usage_error(CMD, "--output takes FILE.svg or FILE.png");
	ml_damon_heatmap_axes(h, 12, 16, &ax);
	f = fopen(rp->output, "wb");
	if (!f) {
		cli_error(rp->output, -errno);
		return 1;
	}
	err = png ? ml_plot_heatmap_png(f, &ax.plot, &po) :
		    ml_plot_heatmap_svg(f, &ax.plot, &po);
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		cli_error(rp->output, err);
		return 1;
	}
	return 0;
}

static void json_heatmap(const struct ml_damon_heatmap *h)
{
	struct ml_json j;

	ml_json_init(&j, stdout, false);
	ml_json_object_begin(&j);
	ml_json_kv_u64(&j, "target", h->target_id);
	ml_json_kv_u64(&j, "nr_snapshots", h->nr_snapshots);
	ml_json_kv_u64(&j, "time_from_us", h->t0_us);
	ml_json_kv_u64(&j, "time_to_us", h->t1_us);
	ml_json_kv_u64(&j, "space_bytes", h->space_bytes);
	ml_json_key(&j, "ranges");
	ml_json_array_begin(&j);
	for (size_t i = 0; i < h->nr_ranges; i++) {
		ml_json_object_begin(&j);
		ml_json_kv_u64(&j, "start", h->ranges[i].start);
		ml_json_kv_u64(&j, "end", h->ranges[i].end);
		ml_json_kv_u64(&j, "offset", h->ranges[i].offset);
		ml_json_object_end(&j);
	}
	ml_json_array_end(&j);
	/* per time bin, per address bin (lowest first); frequency in
	 * millionths, null where nothing was mapped */
	ml_json_key(&j, "frequency_ppm");
	ml_json_array_begin(&j);
	for (uint32_t t = 0; t < h->nr_time_bins; t++) {
		ml_json_array_begin(&j);
		for (uint32_t a = 0; a < h->nr_addr_bins; a++) {
			double v = h->cells[(size_t)t * h->nr_addr_bins + a];

			if (v < 0)
				ml_json_null(&j);
			else
				ml_json_u64(&j, (uint64_t)(v * 1e6 + 0.5));
		}
		ml_json_array_end(&j);
	}
	ml_json_array_end(&j);
	ml_json_object_end(&j);
	ml_json_finish(&j);
	putchar('\n');
}

/*
 * One cell: a coloured blank, or a digit 0-9 of the scale. *@last is the
 * colour in effect (-1: the default, -2: unknown), so that a run of one
 * colour costs one escape sequence.
 */
static void put_cell(double v, double scale, bool color, int *last)
{
	int c;

	if (!color) {
		putchar(v < 0 ? ' ' : '0' + (int)(v / scale * 9 + 0.5));
		return;
	}
	c = v < 0 ? -1 : ml_plot_xterm256(v / scale);
	if (c != *last) {
		if (c < 0)
			fputs("\033[0m", stdout);
		else
			printf("\033[48;5;%dm", c);
		*last = c;
	}
	putchar(' ');
}

static void print_heatmap(const struct report *rp,
			  const struct ml_damon_heatmap *h, bool color)
{
	struct ml_damon_heatmap_axes ax;
	const uint32_t na = h->nr_addr_bins, nt = h->nr_time_bins;
	char *xline;
	int lw = 16;	/* "0x7f0000000000 |" */
	int last;

	ml_damon_heatmap_axes(h, nt / 10 + 1, na / 2 + 1, &ax);
	print_header(rp);
	printf("%s\n", ax.title);
	for (uint32_t row = na; row-- > 0;) {
		const char *label = "";
		bool brk = false;

		/* the tick or break that falls in this row */
		for (size_t i = 0; i < ax.plot.nr_y_ticks; i++)
			if ((uint32_t)(ax.y_ticks[i].pos * na) == row)
				label = ax.y_ticks[i].label;
		for (size_t i = 0; i < ax.plot.nr_y_breaks; i++)
			if ((uint32_t)(ax.y_breaks[i] * na) == row)
				brk = true;
		printf("%*s %c", lw - 2, label, brk ? '~' : '|');
		last = -1;
		for (uint32_t t = 0; t < nt; t++)
			put_cell(h->cells[(size_t)t * na + row],
				 ax.plot.scale_max, color, &last);
		fputs(color ? "\033[0m\n" : "\n", stdout);
	}
	/* the time axis: tick labels at their columns */
	xline = malloc(nt + 32);
	if (xline) {
		memset(xline, ' ', nt + 31);
		xline[nt + 31] = '\0';
		for (size_t i = 0; i < ax.plot.nr_x_ticks; i++) {
			size_t col = (size_t)(ax.x_ticks[i].pos * (nt - 1));
			size_t len = strlen(ax.x_ticks[i].label);

			if (col + len <= nt + 31 && (col == 0 || xline[col - 1] == ' '))
				memcpy(xline + col, ax.x_ticks[i].label, len);
		}
		while (nt + 31 > 0 && xline[strlen(xline) - 1] == ' ')
			xline[strlen(xline) - 1] = '\0';
		printf("%*s  %s\n", lw - 2, "time (s)", xline);
		free(xline);
	}
	printf("%*s  ", lw - 2, "scale");
	last = -1;
	for (int i = 0; i <= 9; i++)
		put_cell(i / 9.0 * ax.plot.scale_max, ax.plot.scale_max, color,
			 &last);
	printf("%s 0%% .. %.1f%% of samples accessed\n", color ? "\033[0m" : "",
	       ax.plot.legend_max);
}

static int do_heatmap(struct report *rp)
{
	ML_OPTS(ml_damon_heatmap_opts, o, .target_id = rp->target);
	struct ml_damon_heatmap h;
	bool color;
	int err, rc = 0, cols, rows;

	if (rp->output) {
		/* image: bins fine enough for the pixels, not more than data */
		o.nr_time_bins = rp->width ? (uint32_t)rp->width / 4 : 200;
		o.nr_addr_bins = rp->height ? (uint32_t)rp->height / 4 : 120;
	} else {
		cols = rp->width ? (int)rp->width : cli_term_width();
		rows = rp->height ? (int)rp->height : term_rows();
		if (cols <= 0)
			cols = 80;
		if (rows <= 0)
			rows = 24;
		/* 16 columns of labels; header, title, axis and scale lines */
		o.nr_time_bins = cols > 26 ? (uint32_t)cols - 18 : 8;
		o.nr_addr_bins = rows > 12 ? (uint32_t)rows - 6 : 6;
	}
	err = ml_damon_heatmap(rp->rec, &o, &h);
	if (err) {
		report_error(rp, err);
		ml_damon_heatmap_fini(&h);
		return 1;
	}
	color = rp->color < 0 ? isatty(STDOUT_FILENO) : rp->color;
	if (rp->output)
		rc = write_image(rp, &h);
	else if (rp->json)
		json_heatmap(&h);
	else
		print_heatmap(rp, &h, color);
	ml_damon_heatmap_fini(&h);
	return rc;
}

/* ---- wss and nr_regions -------------------------------------------------------- */

static size_t nr_bins(const struct report *rp)
{
	int rows = term_rows();

	if (rp->bins)
		return rp->bins;
	return rows > 20 ? (size_t)rows - 14 : 10;
}

static void json_series(const struct ml_damon_wss *w, bool wss)
{
	struct ml_json j;

	ml_json_init(&j, stdout, false);
	ml_json_object_begin(&j);
	ml_json_kv_u64(&j, "target", w->target_id);
	ml_json_kv_u64(&j, "nr_snapshots", w->nr_points);
	ml_json_key(&j, "percentiles");
	ml_json_object_begin(&j);
	for (int i = 0; i < ML_DAMON_NR_PCTS; i++) {
		char key[8];

		snprintf(key, sizeof(key), "%u", ml_damon_pcts[i]);
		ml_json_kv_u64(&j, key, wss ? w->wss_pct[i] : w->nr_regions_pct[i]);
	}
	ml_json_object_end(&j);
	ml_json_key(&j, "snapshots");
	ml_json_array_begin(&j);
	for (size_t i = 0; i < w->nr_points; i++) {
		ml_json_object_begin(&j);
		ml_json_kv_u64(&j, "time_us", w->points[i].time_us);
		if (wss) {
			ml_json_kv_u64(&j, "wss_bytes", w->points[i].wss_bytes);
			ml_json_kv_u64(&j, "total_bytes",
				       w->points[i].total_bytes);
		}
		ml_json_kv_u64(&j, "nr_regions", w->points[i].nr_regions);
		ml_json_object_end(&j);
	}
	ml_json_array_end(&j);
	ml_json_object_end(&j);
	ml_json_finish(&j);
	putchar('\n');
}

/* A bar of @frac (0..1) in @width cells, eighths with block elements. */
static void bar(double frac, int width)
{
	static const char *const eighth[] = { "", "▏", "▎", "▍", "▌", "▋",
					       "▊", "▉" };
	int n = (int)(frac * width * 8 + 0.5);

	for (int i = 0; i < n / 8; i++)
		fputs("█", stdout);
	fputs(eighth[n % 8], stdout);
}

static int do_series(struct report *rp, bool wss)
{
	ML_OPTS(ml_damon_wss_opts, o, .target_id = rp->target,
		.min_nr_accesses = (uint32_t)rp->min_acc);
	struct ml_damon_wss w;
	struct ml_damon_wss_bin *bins;
	size_t n;
	uint64_t top = 0;
	char b1[32], b2[32], b3[32];
	int err, width = cli_term_width();

	err = ml_damon_wss(rp->rec, &o, &w);
	if (err) {
		report_error(rp, err);
		ml_damon_wss_fini(&w);
		return 1;
	}
	if (rp->json) {
		json_series(&w, wss);
		ml_damon_wss_fini(&w);
		return 0;
	}
	print_header(rp);
	printf("target %u, %zu snapshots\n\n", w.target_id, w.nr_points);
	if (wss) {
		printf("working set (regions accessed at least %lu time%s per "
		       "aggregation), distribution over the snapshots:\n",
		       rp->min_acc > 1 ? rp->min_acc : 1,
		       rp->min_acc > 1 ? "s" : "");
		printf("%10s %12s\n", "percentile", "wss");
		for (int i = 0; i < ML_DAMON_NR_PCTS; i++)
			printf("%10u %12s\n", ml_damon_pcts[i],
			       cli_size(b1, w.wss_pct[i], rp->bytes));
		printf("%10s %12s\n", "mean",
		       cli_size(b1, w.wss_mean_bytes, rp->bytes));
	} else {
		printf("regions per snapshot, distribution:\n%10s %10s\n",
		       "percentile", "regions");
		for (int i = 0; i < ML_DAMON_NR_PCTS; i++)
			printf("%10u %10u\n", ml_damon_pcts[i],
			       w.nr_regions_pct[i]);
		printf("%10s %10.1f\n", "mean", w.nr_regions_mean);
	}
	bins = calloc(nr_bins(rp), sizeof(*bins));
	if (!bins) {
		ml_damon_wss_fini(&w);
		cli_error(CMD, -ENOMEM);
		return 1;
	}
	n = ml_damon_wss_bins(&w, nr_bins(rp), bins);
	for (size_t i = 0; i < n; i++)
		top = wss ? (bins[i].wss_max_bytes > top ? bins[i].wss_max_bytes : top) :
			    (bins[i].nr_regions_max > top ? bins[i].nr_regions_max : top);
	printf("\nover time:\n");
	if (wss)
		printf("%9s %9s %9s %9s  %s\n", "from (s)", "mean", "min", "max",
		       "");
	else
		printf("%9s %9s %9s %9s  %s\n", "from (s)", "mean", "min", "max",
		       "");
	for (size_t i = 0; i < n; i++) {
		const struct ml_damon_wss_bin *b = &bins[i];
		double frac;

		if (wss) {
			printf("%9.1f %9s %9s %9s  ", b->from_us / 1e6,
			       cli_size(b1, b->wss_mean_bytes, rp->bytes),
			       cli_size(b2, b->wss_min_bytes, rp->bytes),
			       cli_size(b3, b->wss_max_bytes, rp->bytes));
			frac = top ? (double)b->wss_mean_bytes / top : 0;
		} else {
			printf("%9.1f %9.1f %9u %9u  ", b->from_us / 1e6,
			       b->nr_regions_mean, b->nr_regions_min,
			       b->nr_regions_max);
			frac = top ? b->nr_regions_mean / top : 0;
		}
		bar(frac, (width > 60 ? width : 80) - 52);
		putchar('\n');
	}
	free(bins);
	ml_damon_wss_fini(&w);
	return 0;
}

/* ---- raw ------------------------------------------------------------------------ */

static int do_raw(struct report *rp)
{
	ML_OPTS(ml_damon_rec_iter_opts, o, .what = ML_DAMON_REC_REGIONS,
		.target_id = rp->target);
	const struct ml_damon_rec_snapshot *s;
	struct ml_json j;
	char b1[32];
	int err;

	err = ml_damon_rec_iter(rp->rec, &o);
	if (err)
		goto fail;
	if (rp->json) {
		ml_json_init(&j, stdout, false);
		ml_json_array_begin(&j);
	} else {
		print_header(rp);
	}
	ml_damon_rec_for_each(rp->rec, s, err) {
		if (!rp->json) {
			printf("\ntime %.3f s  target %u  pid %d  regions %zu  "
			       "max_nr_accesses %u\n", s->s.time_us / 1e6,
			       s->s.target_id, (int)s->s.pid, s->s.nr_regions,
			       s->s.max_nr_accesses);
			for (size_t i = 0; i < s->s.nr_regions; i++) {
				const struct ml_damon_region *r = &s->s.regions[i];

				printf("%014" PRIx64 "-%014" PRIx64 " %9s %6u %6u\n",
				       r->start, r->end,
				       cli_size(b1, r->end - r->start, rp->bytes),
				       r->nr_accesses, r->age);
			}
			continue;
		}
		ml_json_object_begin(&j);
		ml_json_kv_u64(&j, "time_us", s->s.time_us);
		ml_json_kv_u64(&j, "target", s->s.target_id);
		ml_json_kv_i64(&j, "pid", s->s.pid);
		ml_json_kv_u64(&j, "max_nr_accesses", s->s.max_nr_accesses);
		ml_json_key(&j, "regions");
		ml_json_array_begin(&j);
		for (size_t i = 0; i < s->s.nr_regions; i++) {
			const struct ml_damon_region *r = &s->s.regions[i];

			ml_json_object_begin(&j);
			ml_json_kv_u64(&j, "start", r->start);
			ml_json_kv_u64(&j, "end", r->end);
			ml_json_kv_u64(&j, "nr_accesses", r->nr_accesses);
			ml_json_kv_u64(&j, "age", r->age);
			ml_json_object_end(&j);
		}
		ml_json_array_end(&j);
		ml_json_object_end(&j);
	}
	if (rp->json) {
		ml_json_array_end(&j);
		ml_json_finish(&j);
		putchar('\n');
	}
	if (err < 0)
		goto fail;
	return 0;
fail:
	fflush(stdout);
	cli_errorf("%s: %s", rp->path, ml_damon_rec_strerror(err));
	return 1;
}

/* ---- arguments -------------------------------------------------------------------- */

static int parse_args(struct report *rp, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "width", required_argument, NULL, 'W' },
		{ "height", required_argument, NULL, 'H' },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "target", required_argument, NULL, 't' },
		{ "min-accesses", required_argument, NULL, OPT_MIN_ACC },
		{ "bins", required_argument, NULL, OPT_BINS },
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	unsigned long v;
	int c;

	rp->target = -1;
	rp->color = -1;
	/* options may come before or after FILE and the report's name */
	while ((c = getopt_long(argc, argv, "o:W:H:t:bjh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'o': rp->output = optarg; break;
		case 'W':
		case 'H':
			if (!cli_parse_uint(optarg, &v) || v < 8 || v > 20000)
				return cli_usage_error(CMD, "bad size '%s'",
						       optarg);
			*(c == 'W' ? &rp->width : &rp->height) = v;
			break;
		case OPT_COLOR:
			if (!strcmp(optarg, "auto"))
				rp->color = -1;
			else if (!strcmp(optarg, "always"))
				rp->color = 1;
			else if (!strcmp(optarg, "never"))
				rp->color = 0;
			else
				return cli_usage_error(CMD, "--color is auto, "
						       "always or never");
			break;
		case 't':
			if (!cli_parse_uint(optarg, &v) || v > INT32_MAX)
				return cli_usage_error(CMD, "bad target '%s'",
						       optarg);
			rp->target = (int)v;
			break;
		case OPT_MIN_ACC:
			if (!cli_parse_uint(optarg, &rp->min_acc) ||
			    rp->min_acc > UINT32_MAX)
				return cli_usage_error(CMD, "bad --min-accesses");
			break;
		case OPT_BINS:
			if (!cli_parse_uint(optarg, &rp->bins) || !rp->bins ||
			    rp->bins > 100000)
				return cli_usage_error(CMD, "bad --bins");
			break;
		case 'b': rp->bytes = true; break;
		case 'j': rp->json = true; break;
		case 'h': report_usage(stdout); return -1;
		default: return cli_usage_error(CMD, "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error(CMD, "FILE is needed");
	rp->path = argv[optind++];
	rp->what = optind < argc ? argv[optind++] : "heatmap";
	if (optind < argc)
		return cli_usage_error(CMD, "unexpected '%s'", argv[optind]);
	if (strcmp(rp->what, "heatmap") && strcmp(rp->what, "wss") &&
	    strcmp(rp->what, "raw") && strcmp(rp->what, "nr_regions"))
		return cli_usage_error(CMD, "unknown report '%s' (heatmap, wss, "
				       "raw, nr_regions)", rp->what);
	if (rp->output && strcmp(rp->what, "heatmap"))
		return cli_usage_error(CMD, "--output is for heatmap");
	return 0;
}

int cmd_damon_report(struct cli_ctx *ctx, int argc, char **argv)
{
	struct report rp = { 0 };
	int rc, err;

	(void)ctx;
	rc = parse_args(&rp, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	err = ml_damon_rec_open(rp.path, &rp.rec);
	if (err) {
		cli_errorf("%s: %s", rp.path, ml_damon_rec_strerror(err));
		return 1;
	}
	if (!strcmp(rp.what, "heatmap"))
		rc = do_heatmap(&rp);
	else if (!strcmp(rp.what, "raw"))
		rc = do_raw(&rp);
	else
		rc = do_series(&rp, !strcmp(rp.what, "wss"));
	ml_damon_rec_close(rp.rec);
	return rc;
}
