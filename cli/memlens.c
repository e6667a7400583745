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
	{ "vma", cmd_vma, "address -> VMA, file offset, build ID (PROCMAP_QUERY)" },
	{ "contig", cmd_contig, "aligned blocks, contiguous runs, folio sizes (mem_hist)" },
	{ "names", cmd_names, "memory per anonymous-memory name ([anon:NAME]), per process" },
	{ "damon", cmd_damon, "data-access monitoring: monitor, record, report, kernel DAMON" },
	{ "allocinfo", cmd_allocinfo, "live bytes per allocation call site of a running program" },
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
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
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

/*
 * Global options come before the command. Anything else that starts with
 * '-' belongs to the default command, so `memlens -n 5` is `memlens top -n 5`.
 * Returns the index of the first argument that is not a global option, or
 * -1 after printing help or version, or -2 on a usage error.
 */
static int parse_global(int argc, char **argv, struct cli_ctx *ctx)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return -1;
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("memlens %s\n", MEMLENS_VERSION);
			return -1;
		}
		if (strncmp(a, "--proc-root", 11) == 0)
			dst = &ctx->proc_root;
		else if (strncmp(a, "--sys-root", 10) == 0)
			dst = &ctx->sys_root;
		else
			break;
		/* --opt=value or --opt value */
		a = strchr(a, '=');
		if (a) {
			*dst = a + 1;
		} else if (i + 1 < argc) {
			*dst = argv[++i];
		} else {
			cli_errorf("option '%s' needs a directory", argv[i]);
			return -2;
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	static char top_name[] = "top";
	char prog[32];
	struct cli_ctx ctx = { .prog = "memlens" };
	const struct cli_cmd *cmd;
	char **cmd_argv;
	int first, cmd_argc, err, ret;

	first = parse_global(argc, argv, &ctx);
	if (first == -1)
		return 0;
	if (first < 0)
		return EXIT_USAGE;

	if (first >= argc || argv[first][0] == '-') {
		/* plain `memlens [OPTIONS]`: the overview; argv[first-1] becomes
		 * the command name slot that getopt skips */
		cmd = find_command("top");
		first--;
		argv[first] = top_name;
	} else {
		cmd = find_command(argv[first]);
		if (!cmd) {
			cli_errorf("unknown command '%s' (see 'memlens --help')",
				   argv[first]);
			return EXIT_USAGE;
		}
	}
	cmd_argv = argv + first;
	cmd_argc = argc - first;
	/* getopt names the program by argv[0]: make its messages read
	 * "memlens ps: unrecognized option" */
	snprintf(prog, sizeof(prog), "memlens %s", cmd->name);
	cmd_argv[0] = prog;

	ML_OPTS(ml_proc_opts, opts, .proc_root = ctx.proc_root,
		.sys_root = ctx.sys_root);
	err = ml_proc_new(&opts, &ctx.proc);
	if (err) {
		cli_error(ctx.proc_root ? ctx.proc_root : "/proc", err);
		return EXIT_FAILURE;
	}
	optind = 0; /* a fresh getopt for the subcommand */
	ret = cmd->run(&ctx, cmd_argc, cmd_argv);
	ml_proc_free(ctx.proc);
	if (fflush(stdout) != 0 && ret == 0) {
		cli_error("standard output", -errno);
		ret = EXIT_FAILURE;
	}
	return ret;
}
