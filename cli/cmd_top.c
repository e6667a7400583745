// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens top (and plain `memlens`): where this machine's memory is, the
 * processes that use the most, and the mappings that cost the most.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static void top_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens [top] [OPTIONS]\n"
		"\n"
		"Overview of this machine: memory by kind from /proc/meminfo next to\n"
		"what the processes account for, then the top processes by PSS and the\n"
		"top mappings by PSS summed over all processes.\n"
		"\n"
		"Options:\n"
		"  -n, --limit N    rows per table (default 10)\n"
		"  -b, --bytes      exact byte counts instead of K/M/G\n"
		"  -j, --json       JSON: {system, processes, mappings}, sizes in bytes\n"
		"  -h, --help       show this help\n");
}

struct top_args {
	unsigned long limit;
	bool bytes, json;
};

static int parse_args(int argc, char **argv, struct top_args *a)
{
	static const struct option longopts[] = {
		{ "limit", required_argument, NULL, 'n' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "n:bjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!cli_parse_uint(optarg, &a->limit) || a->limit == 0)
				return cli_usage_error("top", "'%s' is not a count", optarg);
			break;
		case 'b': a->bytes = true; break;
		case 'j': a->json = true; break;
		case 'h':
			top_usage(stdout);
			return -1;
		default:
			top_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("top", "unexpected argument '%s'", argv[optind]);
	return 0;
}

static void row(const char *what, uint64_t v, uint64_t total, bool exact,
		const char *note)
{
	char b[32];

	printf("  %-22s %9s %5.1f%%  %s\n", what, cli_size(b, v, exact),
	       total ? 100.0 * (double)v / (double)total : 0.0, note ? note : "");
}

static void print_system(const struct ml_sys_mem *s, bool exact)
{
	char b[3][32], note[128];

	printf("System memory (from /proc/meminfo; processes: %zu measured)\n",
	       s->nr_procs);
	row("total", s->total, s->total, exact, NULL);
	row("free", s->free, s->total, exact, NULL);
	snprintf(note, sizeof(note), "processes' anon PSS %s",
		 cli_size(b[0], s->procs.pss_anon, exact));
	row("anonymous", s->anon, s->total, exact, note);
	snprintf(note, sizeof(note), "mapped by processes: file PSS %s",
		 cli_size(b[0], s->procs.pss_file, exact));
	row("page cache", s->file, s->total, exact, note);
	snprintf(note, sizeof(note), "mapped by processes: shmem PSS %s",
		 cli_size(b[0], s->procs.pss_shmem, exact));
	row("shmem/tmpfs", s->shmem, s->total, exact, note);
	if (s->swap_cached)
		row("swap cache", s->swap_cached, s->total, exact, NULL);
	snprintf(note, sizeof(note), "slab %s, page tables %s, stacks %s",
		 cli_size(b[0], s->slab, exact), cli_size(b[1], s->page_tables, exact),
		 cli_size(b[2], s->kernel_stack, exact));
	row("kernel", s->kernel, s->total, exact, note);
	if (s->hugetlb)
		row("hugetlb", s->hugetlb, s->total, exact, NULL);
	if (s->unexplained >= 0)
		row("other (not itemised)", (uint64_t)s->unexplained, s->total,
		    exact, "allocated outside the counters above");
	else
		printf("  %-22s %9s         counters overlap (e.g. vmalloc'd stacks)\n",
		       "other (not itemised)", "-");
	printf("  %-22s %9s         of %s swap in use\n", "swap used",
	       cli_size(b[0], s->swap_used, exact),
	       cli_size(b[1], s->swap_total, exact));
	printf("  %-22s %9s\n", "available", cli_size(b[0], s->available, exact));
}

static void print_procs(const struct ml_proc_table *t, size_t n, bool exact)
{
	char b[4][32];

	printf("%7s %-10s %9s %9s %9s %9s  %s\n", "PID", "USER", "SWAP", "USS",
	       "PSS", "RSS", "NAME");
	for (size_t i = 0; i < n && !t->p[i].err; i++) {
		const struct ml_proc_mem *p = &t->p[i];

		printf("%7d %-10.10s %9s %9s %9s %9s  %s\n", p->pid,
		       cli_user_name(p->uid), cli_size(b[0], p->mem.swap, exact),
		       cli_size(b[1], ml_mem_uss(&p->mem), exact),
		       cli_size(b[2], p->mem.pss, exact),
		       cli_size(b[3], p->mem.rss, exact), p->comm);
	}
}

static void json_system(struct ml_json *j, const struct ml_sys_mem *s)
{
	ml_json_object_begin(j);
	ml_json_kv_u64(j, "total", s->total);
	ml_json_kv_u64(j, "free", s->free);
	ml_json_kv_u64(j, "available", s->available);
	ml_json_kv_u64(j, "anon", s->anon);
	ml_json_kv_u64(j, "file", s->file);
	ml_json_kv_u64(j, "shmem", s->shmem);
	ml_json_kv_u64(j, "swap_cached", s->swap_cached);
	ml_json_kv_u64(j, "kernel", s->kernel);
	ml_json_kv_u64(j, "slab", s->slab);
	ml_json_kv_u64(j, "kernel_stack", s->kernel_stack);
	ml_json_kv_u64(j, "page_tables", s->page_tables);
	ml_json_kv_u64(j, "percpu", s->percpu);
	ml_json_kv_u64(j, "vmalloc", s->vmalloc);
	ml_json_kv_u64(j, "hugetlb", s->hugetlb);
	ml_json_kv_i64(j, "unexplained", s->unexplained);
	ml_json_kv_u64(j, "swap_total", s->swap_total);
	ml_json_kv_u64(j, "swap_used", s->swap_used);
	ml_json_kv_u64(j, "nr_procs", s->nr_procs);
	ml_json_key(j, "procs");
	ml_json_object_begin(j);
	cli_json_mem(j, &s->procs);
	ml_json_object_end(j);
	ml_json_object_end(j);
}

static void print_json(const struct ml_sys_mem *s, const struct ml_proc_table *t,
		       size_t np, const struct ml_mapping_table *m, size_t nm)
{
	struct ml_json j;

	ml_json_init(&j, stdout, false);
	ml_json_object_begin(&j);
	ml_json_key(&j, "system");
	json_system(&j, s);
	ml_json_key(&j, "processes");
	ml_json_array_begin(&j);
	for (size_t i = 0; i < np; i++)
		cli_json_proc(&j, &t->p[i]);
	ml_json_array_end(&j);
	ml_json_key(&j, "mappings");
	ml_json_array_begin(&j);
	for (size_t i = 0; i < nm; i++)
		cli_json_mapping(&j, &m->m[i]);
	ml_json_array_end(&j);
	ml_json_object_end(&j);
	ml_json_finish(&j);
}

int cmd_top(struct cli_ctx *ctx, int argc, char **argv)
{
	struct top_args a = { .limit = 10 };
	struct ml_proc_table procs;
	struct ml_mapping_table maps;
	struct ml_meminfo mi;
	struct ml_sys_mem sys;
	size_t np, nm;
	int ret, err;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	err = ml_proc_meminfo(ctx->proc, &mi);
	if (err) {
		cli_error("meminfo", err);
		return 1;
	}
	err = ml_acct_scan(ctx->proc, NULL, &procs);
	if (err) {
		cli_error("scanning processes", err);
		return 1;
	}
	err = ml_acct_mappings(ctx->proc, NULL, &maps);
	if (err) {
		cli_error("reading mappings", err);
		ml_proc_table_free(&procs);
		return 1;
	}
	ml_acct_system(&mi, &procs, &sys);
	ml_proc_table_sort(&procs, ML_SORT_PSS);
	ml_mapping_table_sort(&maps, ML_SORT_PSS);
	np = a.limit < procs.n ? a.limit : procs.n;
	nm = a.limit < maps.n ? a.limit : maps.n;

	if (a.json) {
		print_json(&sys, &procs, np, &maps, nm);
	} else {
		print_system(&sys, a.bytes);
		printf("\nTop processes by PSS\n");
		print_procs(&procs, np, a.bytes);
		printf("\nTop mappings by PSS (summed over processes)\n");
		cli_print_mappings(&maps, nm, a.bytes);
	}
	if (procs.nr_unreadable)
		cli_errorf("%zu %s not readable (permission denied): "
			   "run as root to count them", procs.nr_unreadable,
			   cli_processes(procs.nr_unreadable));
	ml_mapping_table_free(&maps);
	ml_proc_table_free(&procs);
	return 0;
}
