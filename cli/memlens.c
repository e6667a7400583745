// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens: where the memory of a Linux machine goes. Dispatch table and
 * global options; each subcommand lives in cmd_<name>.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cli_cmd commands[] = {
	{ "top", cmd_top, "overview: system summary, top processes and mappings (default)" },
	{ "ps", cmd_ps, "every process: RSS, PSS, USS, swap" },
	{ "maps", cmd_maps, "one process's VMAs, pmap -X style, with totals" },
	{ "libs", cmd_libs, "PSS per mapping (file or name) summed over all processes" },
	{ "doctor", cmd_doctor, "which kernel features memlens can use here, and fallbacks" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens [GLOBAL OPTIONS] [COMMAND [OPTIONS]]\n"
		"\n"
		"Show where the memory of this Linux machine goes.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"Global options:\n"
		"  --proc-root DIR  read processes from DIR instead of /proc\n"
		"  --sys-root DIR   read kernel settings from DIR instead of /sys\n"
		"  -h, --help       show this help\n"
		"  -V, --version    show the version\n"
		"\n"
		"Run 'memlens COMMAND --help' for a command's options.\n"
		"Sizes are bytes in --json output. Exit status: 0 ok, 1 failure, 2 usage.\n");
}

static const struct cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "proc-root", required_argument, NULL, 'P' },
		{ "sys-root", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 } };
	struct cli_ctx ctx = { .prog = "memlens" };
	const struct cli_cmd *cmd;
	int c, err, ret;

	/* '+': stop at the first non-option, the subcommand */
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			ctx.proc_root = optarg;
			break;
		case 'S':
			ctx.sys_root = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("memlens %s\n", MEMLENS_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	cmd = argc > 0 ? find_command(argv[0]) : find_command("top");
	if (!cmd) {
		cli_errorf("unknown command '%s' (see 'memlens --help')", argv[0]);
		return EXIT_USAGE;
	}
	if (argc == 0) {
		/* plain `memlens`: the overview with default options */
		static char *top_argv[] = { "top", NULL };

		argv = top_argv;
		argc = 1;
	}

	ML_OPTS(ml_proc_opts, opts, .proc_root = ctx.proc_root,
		.sys_root = ctx.sys_root);
	err = ml_proc_new(&opts, &ctx.proc);
	if (err) {
		cli_error(ctx.proc_root ? ctx.proc_root : "/proc", err);
		return EXIT_FAILURE;
	}
	optind = 0; /* reset getopt for the subcommand */
	ret = cmd->run(&ctx, argc, argv);
	ml_proc_free(ctx.proc);
	if (fflush(stdout) != 0 && ret == 0) {
		cli_error("standard output", -errno);
		ret = EXIT_FAILURE;
	}
	return ret;
}
