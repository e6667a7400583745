// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens ps: every process with RSS, PSS, USS and swap, like smem. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void ps_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens ps [OPTIONS]\n"
		"\n"
		"Every process with its memory, from /proc/PID/smaps_rollup:\n"
		"  RSS   resident pages mapped by the process\n"
		"  PSS   proportional share: each page divided by the processes mapping it\n"
		"  USS   unique: pages only this process maps (private clean + dirty)\n"
		"  SWAP  swapped-out anonymous memory\n"
		"\n"
		"Options:\n"
		"  -s, --sort KEY   pss (default), uss, rss or swap, largest first\n"
		"  -u, --user USER  only processes owned by USER (name or uid)\n"
		"  -p, --pid PID    only this process; repeat for more\n"
		"  -n, --limit N    show the first N processes\n"
		"  -c, --cmdline    show the command line instead of the name\n"
		"  -b, --bytes      exact byte counts instead of K/M/G\n"
		"  -a, --all        include kernel threads and zombies (no memory)\n"
		"  -j, --json       JSON: an array of processes, sizes in bytes\n"
		"  -h, --help       show this help\n");
}

struct ps_args {
	enum ml_sort_key sort;
	bool filter_uid;
	uid_t uid;
	pid_t *pids;
	size_t nr_pids;
	unsigned long limit;
	bool cmdline, bytes, all, json;
};

static int parse_args(int argc, char **argv, struct ps_args *a)
{
	static const struct option longopts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "pid", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'n' },
		{ "cmdline", no_argument, NULL, 'c' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "s:u:p:n:cbajh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (ml_sort_key_parse(optarg, &a->sort))
				return cli_usage_error("ps", "unknown sort key '%s'", optarg);
			break;
		case 'u':
			if (!cli_parse_user(optarg, &a->uid))
				return cli_usage_error("ps", "unknown user '%s'", optarg);
			a->filter_uid = true;
			break;
		case 'p':
			if (!cli_add_pid(&a->pids, &a->nr_pids, optarg))
				return cli_usage_error("ps", "'%s' is not a pid", optarg);
			break;
		case 'n':
			if (!cli_parse_uint(optarg, &a->limit))
				return cli_usage_error("ps", "'%s' is not a count", optarg);
			break;
		case 'c': a->cmdline = true; break;
		case 'b': a->bytes = true; break;
		case 'a': a->all = true; break;
		case 'j': a->json = true; break;
		case 'h':
			ps_usage(stdout);
			return -1;
		default:
			ps_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("ps", "unexpected argument '%s'", argv[optind]);
	return 0;
}

static void print_json(const struct ml_proc_table *t, size_t n)
{
	struct ml_json j;

	ml_json_init(&j, stdout, false);
	ml_json_array_begin(&j);
	for (size_t i = 0; i < n; i++)
		cli_json_proc(&j, &t->p[i]);
	ml_json_array_end(&j);
	ml_json_finish(&j);
}

static void print_table(const struct ml_proc_table *t, size_t n,
			const struct ps_args *a)
{
	int width = cli_term_width();
	struct ml_mem total = { 0 };
	size_t measured = 0;
	char b[4][32];

	printf("%7s %-10s %9s %9s %9s %9s  %s\n", "PID", "USER", "SWAP", "USS",
	       "PSS", "RSS", a->cmdline ? "COMMAND" : "NAME");
	for (size_t i = 0; i < n; i++) {
		const struct ml_proc_mem *p = &t->p[i];
		const char *name = a->cmdline && p->cmdline && *p->cmdline ?
					   p->cmdline : p->comm;

		printf("%7d %-10.10s ", p->pid, cli_user_name(p->uid));
		if (p->err) {
			printf("%9s %9s %9s %9s  ", "-", "-", "-", "-");
			cli_print_cut(stdout, name, width ? width - 60 : 0);
			printf(" (%s)\n", strerror(-p->err));
			continue;
		}
		printf("%9s %9s %9s %9s  ", cli_size(b[0], p->mem.swap, a->bytes),
		       cli_size(b[1], ml_mem_uss(&p->mem), a->bytes),
		       cli_size(b[2], p->mem.pss, a->bytes),
		       cli_size(b[3], p->mem.rss, a->bytes));
		cli_print_cut(stdout, name, width ? width - 60 : 0);
		putchar('\n');
	}
	/* the total is the machine's (every measured process), not the page's */
	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i].err)
			continue;
		ml_mem_add(&total, &t->p[i].mem);
		measured++;
	}
	printf("%7s %-10s %9s %9s %9s %9s  %zu %s\n", "", "total",
	       cli_size(b[0], total.swap, a->bytes),
	       cli_size(b[1], ml_mem_uss(&total), a->bytes),
	       cli_size(b[2], total.pss, a->bytes),
	       cli_size(b[3], total.rss, a->bytes), measured,
	       cli_processes(measured));
}

/* One line, on stderr, for everything that could not be read. */
static void report_unreadable(const struct ml_proc_table *t)
{
	size_t eacces = 0, other = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i].err == -EACCES || t->p[i].err == -EPERM)
			eacces++;
		else if (t->p[i].err)
			other++;
	}
	if (eacces)
		cli_errorf("%zu %s not readable: permission denied "
			   "(their smaps_rollup needs root or the same user)",
			   eacces, cli_processes(eacces));
	if (other)
		cli_errorf("%zu %s could not be measured (see the error "
			   "column)", other, cli_processes(other));
}

int cmd_ps(struct cli_ctx *ctx, int argc, char **argv)
{
	struct ps_args a = { .sort = ML_SORT_PSS };
	struct ml_proc_table t;
	size_t n;
	int ret, err;

	ret = parse_args(argc, argv, &a);
	if (ret) {
		free(a.pids);
		return ret < 0 ? 0 : ret;
	}

	ML_OPTS(ml_scan_opts, opts, .pids = a.pids, .nr_pids = a.nr_pids,
		.filter_uid = a.filter_uid, .uid = a.uid,
		.want_cmdline = a.cmdline, .include_no_mm = a.all);
	err = ml_acct_scan(ctx->proc, &opts, &t);
	if (err) {
		cli_error("scanning processes", err);
		free(a.pids);
		return 1;
	}
	ml_proc_table_sort(&t, a.sort);
	n = a.limit && a.limit < t.n ? a.limit : t.n;
	if (a.json)
		print_json(&t, n);
	else
		print_table(&t, n, &a);
	report_unreadable(&t);

	/* asked for by pid and not there: a failure, like ps -p */
	ret = 0;
	for (size_t i = 0; i < t.n; i++) {
		if (t.p[i].err == -ESRCH) {
			cli_errorf("pid %d: no such process", t.p[i].pid);
			ret = 1;
		}
	}
	ml_proc_table_free(&t);
	free(a.pids);
	return ret;
}
