// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens libs: memory per mapping (file, [heap], [anon:name], ...) summed
 * over every process that maps it, like Android's librank.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"

static void libs_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens libs [OPTIONS]\n"
		"\n"
		"Memory per mapping name, summed over every process that maps it\n"
		"(from each process's smaps). Unnamed anonymous memory is '" ML_ANON_NAME "'.\n"
		"\n"
		"Options:\n"
		"  -s, --sort KEY   pss (default), uss, rss or swap, largest first\n"
		"  -u, --user USER  only processes owned by USER (name or uid)\n"
		"  -p, --pid PID    only this process; repeat for more\n"
		"  -n, --limit N    show the first N mappings\n"
		"  -b, --bytes      exact byte counts instead of K/M/G\n"
		"  -j, --json       JSON: an array of mappings, sizes in bytes\n"
		"  -h, --help       show this help\n");
}

struct libs_args {
	enum ml_sort_key sort;
	unsigned long limit;
	bool bytes, json, filter_uid;
	uid_t uid;
	pid_t *pids;
	size_t nr_pids;
};

static int parse_args(int argc, char **argv, struct libs_args *a)
{
	static const struct option longopts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "pid", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'n' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "s:u:p:n:bjh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (ml_sort_key_parse(optarg, &a->sort))
				return cli_usage_error("libs", "unknown sort key '%s'", optarg);
			break;
		case 'u':
			if (!cli_parse_user(optarg, &a->uid))
				return cli_usage_error("libs", "unknown user '%s'", optarg);
			a->filter_uid = true;
			break;
		case 'p':
			if (!cli_add_pid(&a->pids, &a->nr_pids, optarg))
				return cli_usage_error("libs", "'%s' is not a pid", optarg);
			break;
		case 'n':
			if (!cli_parse_uint(optarg, &a->limit))
				return cli_usage_error("libs", "'%s' is not a count", optarg);
			break;
		case 'b': a->bytes = true; break;
		case 'j': a->json = true; break;
		case 'h':
			libs_usage(stdout);
			return -1;
		default:
			libs_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("libs", "unexpected argument '%s'", argv[optind]);
	return 0;
}

void cli_print_mappings(const struct ml_mapping_table *t, size_t n, bool exact)
{
	int width = cli_term_width();
	char b[4][32];

	printf("%9s %9s %9s %9s %6s %6s  %s\n", "PSS", "USS", "RSS", "SWAP",
	       "PROCS", "VMAS", "MAPPING");
	for (size_t i = 0; i < n; i++) {
		const struct ml_mapping *m = &t->m[i];

		printf("%9s %9s %9s %9s %6u %6u  ", cli_size(b[0], m->mem.pss, exact),
		       cli_size(b[1], ml_mem_uss(&m->mem), exact),
		       cli_size(b[2], m->mem.rss, exact),
		       cli_size(b[3], m->mem.swap, exact), m->nr_procs, m->nr_vmas);
		cli_print_cut(stdout, m->name, width ? width - 56 : 0);
		putchar('\n');
	}
}

void cli_json_mapping(struct ml_json *j, const struct ml_mapping *m)
{
	ml_json_object_begin(j);
	ml_json_kv_str(j, "name", m->name);
	ml_json_kv_u64(j, "nr_procs", m->nr_procs);
	ml_json_kv_u64(j, "nr_vmas", m->nr_vmas);
	cli_json_mem(j, &m->mem);
	ml_json_object_end(j);
}

int cmd_libs(struct cli_ctx *ctx, int argc, char **argv)
{
	struct libs_args a = { .sort = ML_SORT_PSS };
	struct ml_mapping_table t;
	size_t n;
	int ret, err;

	ret = parse_args(argc, argv, &a);
	if (ret) {
		free(a.pids);
		return ret < 0 ? 0 : ret;
	}
	ML_OPTS(ml_scan_opts, opts, .pids = a.pids, .nr_pids = a.nr_pids,
		.filter_uid = a.filter_uid, .uid = a.uid);
	err = ml_acct_mappings(ctx->proc, &opts, &t);
	free(a.pids);
	if (err) {
		cli_error("reading mappings", err);
		return 1;
	}
	ml_mapping_table_sort(&t, a.sort);
	n = a.limit && a.limit < t.n ? a.limit : t.n;
	if (a.json) {
		struct ml_json j;

		ml_json_init(&j, stdout, false);
		ml_json_array_begin(&j);
		for (size_t i = 0; i < n; i++)
			cli_json_mapping(&j, &t.m[i]);
		ml_json_array_end(&j);
		ml_json_finish(&j);
	} else {
		cli_print_mappings(&t, n, a.bytes);
	}
	if (t.nr_unreadable)
		cli_errorf("%zu %s not readable (permission denied or "
			   "malformed); their mappings are not counted",
			   t.nr_unreadable, cli_processes(t.nr_unreadable));
	ml_mapping_table_free(&t);
	return 0;
}
