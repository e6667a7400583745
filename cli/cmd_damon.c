// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens damon SUBCOMMAND: data-access monitoring (seed 004). Each
 * subcommand lives in its own file (cmd_damon_<name>.c); this file only
 * dispatches, as the top-level table in memlens.c does.
 */
#include <string.h>

#include "cli.h"

static const struct cli_cmd damon_cmds[] = {
	{ "monitor", cmd_damon_monitor, "live view of regions, access frequency, working set" },
	{ "record", cmd_damon_record, "record every aggregation into an SQLite file" },
	{ "report", cmd_damon_report, "heatmap, working set, regions of a recording" },
	{ "start", cmd_damon_start, "start a kdamond of the kernel's DAMON (sysfs)" },
	{ "status", cmd_damon_status, "every kdamond, ours and foreign (only reads)" },
	{ "stop", cmd_damon_stop, "stop the kdamonds memlens started" },
	{ NULL, NULL, NULL },
};

static void damon_usage(FILE *f)
{
	const struct cli_cmd *c;

	fprintf(f, "Usage: memlens damon SUBCOMMAND [OPTIONS]\n\n"
		   "Data-access monitoring: which memory is accessed how often.\n\n"
		   "Subcommands:\n");
	for (c = damon_cmds; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f, "\n'memlens damon SUBCOMMAND --help' for its options.\n");
}

int cmd_damon(struct cli_ctx *ctx, int argc, char **argv)
{
	static char prog[48];
	const struct cli_cmd *c;

	if (argc < 2) {
		damon_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		damon_usage(stdout);
		return 0;
	}
	for (c = damon_cmds; c->name; c++) {
		if (strcmp(c->name, argv[1]))
			continue;
		/* getopt messages read "memlens damon record: ..." */
		snprintf(prog, sizeof(prog), "memlens damon %s", c->name);
		argv[1] = prog;
		return c->run(ctx, argc - 1, argv + 1);
	}
	cli_errorf("unknown damon subcommand '%s' (see 'memlens damon --help')",
		   argv[1]);
	return EXIT_USAGE;
}
