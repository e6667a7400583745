/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The memlens command: shared pieces of the subcommands. Subcommands live
 * in cmd_<name>.c, read through libmemlens only, and format here.
 */
#ifndef MEMLENS_CLI_H
#define MEMLENS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <memlens/acct.h>
#include <memlens/json.h>
#include <memlens/proc.h>

#define EXIT_USAGE 2

/* Options every subcommand shares, parsed before the subcommand name. */
struct cli_ctx {
	const char *prog;
	const char *proc_root;
	const char *sys_root;
	struct ml_proc *proc;
};

struct cli_cmd {
	const char *name;
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
	const char *summary;
};

int cmd_top(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ps(struct cli_ctx *ctx, int argc, char **argv);
int cmd_maps(struct cli_ctx *ctx, int argc, char **argv);
int cmd_libs(struct cli_ctx *ctx, int argc, char **argv);
int cmd_doctor(struct cli_ctx *ctx, int argc, char **argv);
int cmd_vma(struct cli_ctx *ctx, int argc, char **argv);
int cmd_contig(struct cli_ctx *ctx, int argc, char **argv);
int cmd_names(struct cli_ctx *ctx, int argc, char **argv);
int cmd_damon(struct cli_ctx *ctx, int argc, char **argv);
/* memlens damon SUBCOMMAND, one file each (cmd_damon_<name>.c) */
int cmd_damon_monitor(struct cli_ctx *ctx, int argc, char **argv);
int cmd_damon_record(struct cli_ctx *ctx, int argc, char **argv);
int cmd_damon_report(struct cli_ctx *ctx, int argc, char **argv);
int cmd_damon_start(struct cli_ctx *ctx, int argc, char **argv);
int cmd_damon_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_damon_stop(struct cli_ctx *ctx, int argc, char **argv);
int cmd_allocinfo(struct cli_ctx *ctx, int argc, char **argv);

/* "memlens: <what>: <reason>" on stderr. */
void cli_error(const char *what, int err);
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error: message, hint to --help, returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parse a pid argument ("1234"); false when it is not a positive pid. */
bool cli_parse_pid(const char *s, pid_t *pid);
bool cli_parse_uint(const char *s, unsigned long *v);
/*
 * Parse @arg as a pid and append it to the growing array *@pids; false
 * when it is not a pid. Out of memory is fatal here: an argument list.
 */
bool cli_add_pid(pid_t **pids, size_t *nr, const char *arg);
/* A user name or a numeric uid. */
bool cli_parse_user(const char *s, uid_t *uid);

/* ---- human output ------------------------------------------------------------- */

/* Size with a binary unit ("1.5G", "640K", "0"), or exact bytes. */
const char *cli_size(char buf[32], uint64_t bytes, bool exact);
/* Columns of the terminal when stdout is one, else 0 (no limit). */
int cli_term_width(void);
/* Print @s, cutting it to @width columns with a trailing '…' (0: no cut). */
void cli_print_cut(FILE *f, const char *s, int width);
static inline const char *cli_processes(size_t n)
{
	return n == 1 ? "process" : "processes";
}

/* The user name for @uid (cached), or the number. */
const char *cli_user_name(uid_t uid);

/* JSON objects shared by commands: the keys the README documents. */
void cli_json_mem(struct ml_json *j, const struct ml_mem *m);
void cli_json_proc(struct ml_json *j, const struct ml_proc_mem *p);
void cli_json_mapping(struct ml_json *j, const struct ml_mapping *m);
/* The libs table, shared with the overview. */
void cli_print_mappings(const struct ml_mapping_table *t, size_t n, bool exact);

#endif
