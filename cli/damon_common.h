/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * damon_common.h - what `memlens damon monitor` and `memlens damon record`
 * share: the target and attribute options (-p, -- COMMAND, --ops,
 * --sample, --aggr, --update, --regions, --scheme, --duration, --seed,
 * --virtual), launching COMMAND, and the monitoring loop with a
 * per-snapshot callback that stops cleanly on SIGINT/SIGTERM, leaving the
 * target running.
 *
 * Use: add DAMON_CLI_LONGOPTS to your getopt_long table and
 * DAMON_CLI_SHORTOPTS to the short ones; pass every option to
 * damon_cli_opt(); then damon_cli_args() for "-- COMMAND", then
 * damon_cli_setup(), damon_cli_run(), damon_cli_fini().
 */
#ifndef MEMLENS_CLI_DAMON_COMMON_H
#define MEMLENS_CLI_DAMON_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <memlens/damon.h>

#include "cli.h"

enum {
	DAMON_OPT_OPS = 0x1000,
	DAMON_OPT_SAMPLE,
	DAMON_OPT_AGGR,
	DAMON_OPT_UPDATE,
	DAMON_OPT_REGIONS,
	DAMON_OPT_SCHEME,
	DAMON_OPT_DURATION,
	DAMON_OPT_SEED,
	DAMON_OPT_VIRTUAL,
};

#define DAMON_CLI_SHORTOPTS "p:"
#define DAMON_CLI_LONGOPTS                                                  \
	{ "pid", required_argument, NULL, 'p' },                            \
	{ "ops", required_argument, NULL, DAMON_OPT_OPS },                  \
	{ "sample", required_argument, NULL, DAMON_OPT_SAMPLE },            \
	{ "aggr", required_argument, NULL, DAMON_OPT_AGGR },                \
	{ "update", required_argument, NULL, DAMON_OPT_UPDATE },            \
	{ "regions", required_argument, NULL, DAMON_OPT_REGIONS },          \
	{ "scheme", required_argument, NULL, DAMON_OPT_SCHEME },            \
	{ "duration", required_argument, NULL, DAMON_OPT_DURATION },        \
	{ "seed", required_argument, NULL, DAMON_OPT_SEED },                \
	{ "virtual", no_argument, NULL, DAMON_OPT_VIRTUAL }

struct damon_cli {
	const char *cmd;		/* "damon monitor", for messages */
	pid_t pid;			/* -p */
	char **command;			/* -- COMMAND...; NULL if none */
	const char *ops_name;		/* --ops NAME[:ARG]; NULL: automatic */
	const char *ops_arg;
	char ops_name_buf[32];
	struct ml_damon_attrs attrs;
	const char **scheme_specs;
	size_t nr_schemes;
	uint64_t duration_us;		/* 0: until Ctrl-C or the target ends */
	uint64_t seed;
	bool virtual_time;		/* --virtual: no sleeping (sim) */

	/* after damon_cli_setup() */
	struct ml_damon_ctx *ctx;
	const struct ml_damon_ops *ops;
	pid_t child;			/* COMMAND's pid, 0 if none */
	/* wp on another process: follow libmemlens-damon.so inside it */
	bool agent;
	char agent_so[4096];
	struct ml_proc *agent_proc;
	/* while a snapshot of the agent is delivered: what it published */
	const struct ml_damon_agent_snap *agent_snap;
	bool child_exited;
	int child_status;
};

/* Defaults: the kernel's attributes with ops updates every second
 * (damo's default: mappings change faster than the kernel's 60 s). */
void damon_cli_init(struct damon_cli *d, const char *cmd);
/* 0 when @opt was handled, 1 when it is not one of ours, EXIT_USAGE. */
int damon_cli_opt(struct damon_cli *d, int opt, const char *arg);
/* After getopt: argv[first..] (first: getopt's optind) must be "-- COMMAND..." or empty;
 * exactly one of -p and COMMAND (sim needs neither). 0 or EXIT_USAGE. */
int damon_cli_args(struct damon_cli *d, int argc, char **argv, int first);
/* Help text for the shared options. */
void damon_cli_usage(FILE *f);
/* Context, COMMAND, target, schemes. 0, 1 (runtime error, printed) or
 * EXIT_USAGE (bad attributes or scheme, printed). */
int damon_cli_setup(struct damon_cli *d);
/*
 * Monitor until --duration, Ctrl-C/SIGTERM, the target's end, or @fn
 * returning nonzero. 0 or 1 (error printed). The target is never
 * signalled; COMMAND keeps running if it still does.
 */
int damon_cli_run(struct damon_cli *d, ml_damon_snapshot_fn fn, void *arg);
/* Frees what init, opt and setup allocated; safe after any of them. */
void damon_cli_fini(struct damon_cli *d);

/* ---- the wp agent (damon_agent.c) ---------------------------------------- */

/* Whether to follow the agent (sets d->agent, d->ops): --ops wp, or the
 * automatic choice where wp is the only source, on another process.
 * 0, or 1 (error printed). */
int damon_agent_decide(struct damon_cli *d, const struct ml_damon_ops *ops);
/* In COMMAND's child before exec. */
void damon_agent_child_env(const struct damon_cli *d);
/* Poll the agent's snapshots into @fn until *@stop, the end, --duration. */
int damon_agent_run(struct damon_cli *d, ml_damon_snapshot_fn fn, void *arg,
		    volatile int *stop);

/*
 * The schemes being applied and their statistics as of the snapshot being
 * delivered: memlens' own, or those the agent publishes. @spec is the
 * --scheme text, or NULL for a scheme given to the agent otherwise
 * (MEMLENS_DAMON_SCHEMES in its environment).
 */
size_t damon_cli_nr_schemes(const struct damon_cli *d);
void damon_cli_scheme(const struct damon_cli *d, size_t i,
		      struct ml_damos_stat *st, bool *active, const char **spec);

/* Bytes of regions with nr_accesses > 0: the estimated working set. */
uint64_t damon_snapshot_wss(const struct ml_damon_snapshot *s);
/* The snapshot as one JSON object (no newline): the keys the README lists. */
void damon_json_snapshot(struct ml_json *j, const struct damon_cli *d,
			 const struct ml_damon_snapshot *s);

#endif
