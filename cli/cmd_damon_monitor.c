// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens damon monitor: a live view of a target's access pattern, one
 * refresh per aggregation: regions (range, size, access frequency, age)
 * and the estimated working set; --json streams one object per line.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "damon_common.h"

static void monitor_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens damon monitor [OPTIONS] -p PID | -- COMMAND [ARG...]\n"
		"\n"
		"Which memory of a process is accessed how often, refreshed every\n"
		"aggregation interval: DAMON's regions (range, size, access frequency as a\n"
		"percentage of the samples, age: how long the region's frequency has been\n"
		"about the same) and the working set (bytes of regions accessed at all).\n"
		"Ctrl-C stops monitoring; the target keeps running.\n"
		"\n");
	damon_cli_usage(f);
	fprintf(f,
		"Output:\n"
		"  -j, --json             one JSON object per line per aggregation\n"
		"  -b, --bytes            exact byte counts\n"
		"  -h, --help             show this help\n");
}

struct monitor {
	struct damon_cli d;
	bool json, bytes, tty;
	struct ml_json j;
};

static int term_rows(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row)
		return 0;
	return ws.ws_row;
}

static void print_age(char buf[32], uint64_t us)
{
	if (us < 1000000)
		snprintf(buf, 32, "%" PRIu64 "ms", us / 1000);
	else if (us < 600ULL * 1000000)
		snprintf(buf, 32, "%.1fs", (double)us / 1e6);
	else
		snprintf(buf, 32, "%" PRIu64 "m", us / 60000000);
}

static void print_human(struct monitor *m, const struct ml_damon_snapshot *s)
{
	const struct ml_damon_attrs *a = ml_damon_ctx_attrs(m->d.ctx);
	char b1[32], b2[32], age[32];
	uint64_t total = 0;
	size_t rows = s->nr_regions, limit = SIZE_MAX;
	int trows;

	for (size_t i = 0; i < s->nr_regions; i++)
		total += s->regions[i].end - s->regions[i].start;
	if (m->tty) {
		fputs("\033[H\033[2J", stdout);
		trows = term_rows();
		if (trows > 6)
			limit = (size_t)trows - 5;
	}
	printf("time %.1fs  ", (double)s->time_us / 1e6);
	if (s->pid)
		printf("%s %d (%s)", m->d.child ? "command" : "pid",
		       (int)s->pid, m->d.ops ? m->d.ops->name : "?");
	else
		printf("%s", m->d.ops ? m->d.ops->name : "?");
	printf("  regions %zu  working set %s of %s\n", s->nr_regions,
	       cli_size(b1, damon_snapshot_wss(s), m->bytes),
	       cli_size(b2, total, m->bytes));
	for (size_t i = 0; i < damon_cli_nr_schemes(&m->d); i++) {
		struct ml_damos_stat st;
		const char *spec;
		char name[48];
		bool active;

		damon_cli_scheme(&m->d, i, &st, &active, &spec);
		snprintf(name, sizeof(name), "%zu (the agent's)", i);
		printf("scheme %s%s: tried %" PRIu64 " (%s) applied %" PRIu64
		       " (%s) quota exceeded %" PRIu64 "\n",
		       spec ? spec : name, active ? "" : " [inactive]",
		       st.nr_tried, cli_size(b1, st.sz_tried, m->bytes),
		       st.nr_applied, cli_size(b2, st.sz_applied, m->bytes),
		       st.qt_exceeds);
		if (limit != SIZE_MAX && limit > 2)
			limit--;
	}
	printf("%-14s %-14s %8s %6s %8s\n", "START", "END", "SIZE", "ACCESS",
	       "AGE");
	if (rows > limit)
		rows = limit - 1;
	for (size_t i = 0; i < rows; i++) {
		const struct ml_damon_region *r = &s->regions[i];

		print_age(age, (uint64_t)r->age * a->aggr_us);
		printf("%014" PRIx64 " %014" PRIx64 " %8s %5u%% %8s\n",
		       r->start, r->end, cli_size(b1, r->end - r->start, m->bytes),
		       s->max_nr_accesses ?
			       r->nr_accesses * 100 / s->max_nr_accesses : 0,
		       age);
	}
	if (rows < s->nr_regions)
		printf("... %zu more regions (a taller terminal, or --json)\n",
		       s->nr_regions - rows);
	fflush(stdout);
}

static int on_snapshot(const struct ml_damon_snapshot *s, void *arg)
{
	struct monitor *m = arg;

	if (m->json) {
		ml_json_init(&m->j, stdout, false);
		damon_json_snapshot(&m->j, &m->d, s);
		/* a closed pipe (| head) ends monitoring */
		return ml_json_finish(&m->j) ? 1 : 0;
	}
	print_human(m, s);
	return 0;
}

int cmd_damon_monitor(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		DAMON_CLI_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	struct monitor m = { 0 };
	int c, rc;

	(void)ctx;
	damon_cli_init(&m.d, "damon monitor");
	/* '+': stop at the first non-option, COMMAND's own options follow */
	while ((c = getopt_long(argc, argv, "+" DAMON_CLI_SHORTOPTS "jbh",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'j': m.json = true; continue;
		case 'b': m.bytes = true; continue;
		case 'h': monitor_usage(stdout); rc = 0; goto out;
		case '?': rc = cli_usage_error(m.d.cmd, "bad option"); goto out;
		}
		rc = damon_cli_opt(&m.d, c, optarg);
		if (rc) {
			rc = rc == 1 ? EXIT_USAGE : rc;
			goto out;
		}
	}
	rc = damon_cli_args(&m.d, argc, argv, optind);
	if (rc)
		goto out;
	m.tty = !m.json && isatty(STDOUT_FILENO);
	rc = damon_cli_setup(&m.d);
	if (!rc)
		rc = damon_cli_run(&m.d, on_snapshot, &m);
out:
	damon_cli_fini(&m.d);
	return rc;
}
