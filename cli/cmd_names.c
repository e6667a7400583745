// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens names [PID...]: memory per anonymous-memory name ([anon:NAME],
 * from the kernel's prctl or from the memlens registry), summed over all
 * processes and per process; --perf-map writes perf's symbol map of the
 * named executable regions.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memlens/names.h>

#include "cli.h"

static void names_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens names [OPTIONS] [PID...]\n"
		"\n"
		"Memory per name of anonymous memory ([anon:NAME]), summed over every\n"
		"process (or the PIDs given) and per process. Names come from the kernel\n"
		"(prctl PR_SET_VMA_ANON_NAME) or from the memlens registry of processes\n"
		"that name memory with ml_name_anon() on kernels without the prctl.\n"
		"\n"
		"Options:\n"
		"  -s, --sort KEY   pss (default), uss, rss or swap, largest first\n"
		"  -u, --user USER  only processes owned by USER (name or uid)\n"
		"  -n, --limit N    show the first N rows of each table\n"
		"  -b, --bytes      exact byte counts instead of K/M/G\n"
		"  -j, --json       JSON: rows {pid, comm, name, source, vmas, size, rss,\n"
		"                   pss, uss, swap}, one per process and name, in bytes\n"
		"      --by-name    with --json: rows per name over all processes\n"
		"                   {name, procs, vmas, size, rss, pss, uss, swap}\n"
		"  -P, --perf-map   write /tmp/perf-PID.map for each PID: one entry per\n"
		"                   named executable region, for perf report (JITs)\n"
		"  -h, --help       show this help\n");
}

struct names_args {
	enum ml_sort_key sort;
	unsigned long limit;
	bool bytes, json, by_name, perf_map, filter_uid;
	uid_t uid;
	pid_t *pids;
	size_t nr_pids;
};

static int parse_args(int argc, char **argv, struct names_args *a)
{
	enum { OPT_BY_NAME = 256 };
	static const struct option longopts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "limit", required_argument, NULL, 'n' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "by-name", no_argument, NULL, OPT_BY_NAME },
		{ "perf-map", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "s:u:n:bjPh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (ml_sort_key_parse(optarg, &a->sort))
				return cli_usage_error("names", "unknown sort key '%s'", optarg);
			break;
		case 'u':
			if (!cli_parse_user(optarg, &a->uid))
				return cli_usage_error("names", "unknown user '%s'", optarg);
			a->filter_uid = true;
			break;
		case 'n':
			if (!cli_parse_uint(optarg, &a->limit))
				return cli_usage_error("names", "'%s' is not a count", optarg);
			break;
		case 'b': a->bytes = true; break;
		case 'j': a->json = true; break;
		case OPT_BY_NAME: a->by_name = true; break;
		case 'P': a->perf_map = true; break;
		case 'h':
			names_usage(stdout);
			return -1;
		default:
			names_usage(stderr);
			return EXIT_USAGE;
		}
	}
	for (; optind < argc; optind++)
		if (!cli_add_pid(&a->pids, &a->nr_pids, argv[optind]))
			return cli_usage_error("names", "'%s' is not a pid", argv[optind]);
	if (a->perf_map && !a->nr_pids)
		return cli_usage_error("names", "--perf-map needs the PIDs to write maps for");
	return 0;
}

/* ---- per name, over processes ------------------------------------------------- */

struct by_name {
	const char *name;
	uint32_t procs, vmas;
	struct ml_mem mem;
};

static int cmp_usage_name(const void *a, const void *b)
{
	const struct ml_name_usage *x = *(const struct ml_name_usage *const *)a;
	const struct ml_name_usage *y = *(const struct ml_name_usage *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

/* Sum the rows of @t per name into *@out (names point into @t). */
static int group_by_name(const struct ml_name_table *t, struct by_name **out,
			 size_t *nr)
{
	const struct ml_name_usage **idx = malloc((t->n ? t->n : 1) * sizeof(*idx));
	struct by_name *g = malloc((t->n ? t->n : 1) * sizeof(*g));
	size_t n = 0;

	if (!idx || !g) {
		free(idx);
		free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n; i++)
		idx[i] = &t->u[i];
	qsort(idx, t->n, sizeof(*idx), cmp_usage_name);
	for (size_t i = 0; i < t->n; i++) {
		if (!n || strcmp(g[n - 1].name, idx[i]->name) != 0) {
			memset(&g[n], 0, sizeof(g[n]));
			g[n++].name = idx[i]->name;
		}
		/* one process counts once per name, whatever the source */
		if (i == 0 || idx[i - 1]->pid != idx[i]->pid ||
		    strcmp(idx[i - 1]->name, idx[i]->name) != 0)
			g[n - 1].procs++;
		g[n - 1].vmas += idx[i]->nr_vmas;
		ml_mem_add(&g[n - 1].mem, &idx[i]->mem);
	}
	free(idx);
	*out = g;
	*nr = n;
	return 0;
}

static enum ml_sort_key sort_key;

static int cmp_by_name(const void *a, const void *b)
{
	const struct by_name *x = a, *y = b;
	uint64_t vx = ml_mem_sort_value(&x->mem, sort_key);
	uint64_t vy = ml_mem_sort_value(&y->mem, sort_key);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_usage(const void *a, const void *b)
{
	const struct ml_name_usage *x = a, *y = b;
	uint64_t vx = ml_mem_sort_value(&x->mem, sort_key);
	uint64_t vy = ml_mem_sort_value(&y->mem, sort_key);
	int c;

	if (vx != vy)
		return vx > vy ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	c = strcmp(x->name, y->name);
	return c ? c : (int)x->source - (int)y->source;
}

/* ---- output ------------------------------------------------------------------------- */

static void print_tables(const struct ml_name_table *t, const struct by_name *g,
			 size_t ng, const struct names_args *a)
{
	size_t n = a->limit && a->limit < ng ? a->limit : ng;
	int width = cli_term_width();
	char b[4][32];

	printf("Memory per name, all processes (%zu %s with names, %zu read)\n",
	       t->nr_named_procs, cli_processes(t->nr_named_procs), t->nr_procs);
	printf("%9s %9s %9s %9s %6s %6s  %s\n", "PSS", "USS", "RSS", "SWAP",
	       "PROCS", "VMAS", "NAME");
	for (size_t i = 0; i < n; i++) {
		printf("%9s %9s %9s %9s %6u %6u  ",
		       cli_size(b[0], g[i].mem.pss, a->bytes),
		       cli_size(b[1], ml_mem_uss(&g[i].mem), a->bytes),
		       cli_size(b[2], g[i].mem.rss, a->bytes),
		       cli_size(b[3], g[i].mem.swap, a->bytes), g[i].procs,
		       g[i].vmas);
		cli_print_cut(stdout, g[i].name, width ? width - 56 : 0);
		putchar('\n');
	}
	n = a->limit && a->limit < t->n ? a->limit : t->n;
	printf("\nPer process\n");
	printf("%7s %-15s %9s %9s %9s %9s %6s  %-8s  %s\n", "PID", "COMM", "PSS",
	       "USS", "RSS", "SWAP", "VMAS", "SOURCE", "NAME");
	for (size_t i = 0; i < n; i++) {
		const struct ml_name_usage *u = &t->u[i];

		printf("%7d %-15.15s %9s %9s %9s %9s %6u  %-8s  ", (int)u->pid,
		       u->comm, cli_size(b[0], u->mem.pss, a->bytes),
		       cli_size(b[1], ml_mem_uss(&u->mem), a->bytes),
		       cli_size(b[2], u->mem.rss, a->bytes),
		       cli_size(b[3], u->mem.swap, a->bytes), u->nr_vmas,
		       ml_name_source_name(u->source));
		cli_print_cut(stdout, u->name, width ? width - 95 : 0);
		putchar('\n');
	}
}

static void json_sizes(struct ml_json *j, const struct ml_mem *m)
{
	ml_json_kv_u64(j, "size", m->size);
	ml_json_kv_u64(j, "rss", m->rss);
	ml_json_kv_u64(j, "pss", m->pss);
	ml_json_kv_u64(j, "uss", ml_mem_uss(m));
	ml_json_kv_u64(j, "swap", m->swap);
}

static void print_json(const struct ml_name_table *t, const struct by_name *g,
		       size_t ng, const struct names_args *a)
{
	struct ml_json j;
	size_t n;

	ml_json_init(&j, stdout, false);
	ml_json_array_begin(&j);
	if (a->by_name) {
		n = a->limit && a->limit < ng ? a->limit : ng;
		for (size_t i = 0; i < n; i++) {
			ml_json_object_begin(&j);
			ml_json_kv_str(&j, "name", g[i].name);
			ml_json_kv_u64(&j, "procs", g[i].procs);
			ml_json_kv_u64(&j, "vmas", g[i].vmas);
			json_sizes(&j, &g[i].mem);
			ml_json_object_end(&j);
		}
	} else {
		n = a->limit && a->limit < t->n ? a->limit : t->n;
		for (size_t i = 0; i < n; i++) {
			const struct ml_name_usage *u = &t->u[i];

			ml_json_object_begin(&j);
			ml_json_kv_i64(&j, "pid", u->pid);
			ml_json_kv_str(&j, "comm", u->comm);
			ml_json_kv_str(&j, "name", u->name);
			ml_json_kv_str(&j, "source", ml_name_source_name(u->source));
			ml_json_key(&j, "shmem");
			ml_json_bool(&j, u->shmem);
			ml_json_kv_u64(&j, "vmas", u->nr_vmas);
			json_sizes(&j, &u->mem);
			ml_json_object_end(&j);
		}
	}
	ml_json_array_end(&j);
	ml_json_finish(&j);
}

/* ---- perf map ------------------------------------------------------------------------- */

/*
 * /tmp/perf-PID.map lines "START SIZE NAME" (hex) for the named executable
 * regions of @pid. Appended to a map the process (its JIT) wrote itself.
 */
static int write_perf_map(struct cli_ctx *ctx, pid_t pid, size_t *nr)
{
	struct ml_names_labeler *nl = NULL;
	struct ml_vma_list l;
	char path[64], dir[16];
	struct stat st;
	FILE *f = NULL;
	int fd, err;

	*nr = 0;
	err = ml_proc_vmas(ctx->proc, pid, false, &l);
	if (err)
		return err;
	err = ml_names_labeler_new(ctx->proc, pid, &l, &nl);
	if (!err)
		err = ml_names_label_list(nl, &l);
	for (size_t i = 0; i < l.n && !err; i++) {
		const struct ml_vma *v = &l.v[i];
		const char *name;
		size_t len;
		bool shmem;

		if (v->perms[2] != 'x' || !ml_vma_anon_name(v, &name, &len, &shmem))
			continue;
		if (!f) {
			snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
			fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW |
				  O_CLOEXEC, 0644);
			if (fd < 0) {
				err = -errno;
				break;
			}
			/* perf reads the map as the process's owner: theirs */
			snprintf(dir, sizeof(dir), "%d", (int)pid);
			if (geteuid() == 0 &&
			    fstatat(ml_proc_dirfd(ctx->proc), dir, &st, 0) == 0)
				(void)!fchown(fd, st.st_uid, st.st_gid);
			f = fdopen(fd, "a");
			if (!f) {
				err = -errno;
				close(fd);
				break;
			}
		}
		fprintf(f, "%llx %llx %.*s\n", (unsigned long long)v->start,
			(unsigned long long)ml_vma_size(v), (int)len, name);
		(*nr)++;
	}
	if (f && fclose(f) != 0 && !err)
		err = -errno;
	ml_vma_list_free(&l);
	ml_names_labeler_free(nl);
	return err;
}

static int perf_maps(struct cli_ctx *ctx, const struct names_args *a)
{
	int ret = 0;

	for (size_t i = 0; i < a->nr_pids; i++) {
		char what[48];
		size_t nr;
		int err = write_perf_map(ctx, a->pids[i], &nr);

		snprintf(what, sizeof(what), "perf map of process %d", (int)a->pids[i]);
		if (err) {
			cli_error(what, err);
			ret = 1;
		} else if (nr) {
			printf("/tmp/perf-%d.map: %zu named executable %s\n",
			       (int)a->pids[i], nr, nr == 1 ? "region" : "regions");
		} else {
			printf("process %d: no named executable region\n",
			       (int)a->pids[i]);
		}
	}
	return ret;
}

/* ---- the command ------------------------------------------------------------------------ */

static void report_unreadable(const struct ml_name_table *t)
{
	if (t->nr_unreadable)
		cli_errorf("%zu %s not readable (permission denied): run as root to count them",
			   t->nr_unreadable, cli_processes(t->nr_unreadable));
	if (t->nr_registry_unreadable) {
		char what[96];

		snprintf(what, sizeof(what), "%zu name %s not readable",
			 t->nr_registry_unreadable,
			 t->nr_registry_unreadable == 1 ? "registry" : "registries");
		cli_error(what, t->registry_err);
	}
}

int cmd_names(struct cli_ctx *ctx, int argc, char **argv)
{
	struct names_args a = { .sort = ML_SORT_PSS };
	struct ml_name_table t;
	struct by_name *g = NULL;
	size_t ng = 0;
	int ret, err;

	ret = parse_args(argc, argv, &a);
	if (ret) {
		free(a.pids);
		return ret < 0 ? 0 : ret;
	}
	if (a.perf_map) {
		ret = perf_maps(ctx, &a);
		free(a.pids);
		return ret;
	}
	ML_OPTS(ml_scan_opts, opts, .pids = a.pids, .nr_pids = a.nr_pids,
		.filter_uid = a.filter_uid, .uid = a.uid);
	err = ml_names_scan(ctx->proc, &opts, &t);
	free(a.pids);
	if (err) {
		cli_error("reading names", err);
		return 1;
	}
	sort_key = a.sort;
	if (t.n > 1)
		qsort(t.u, t.n, sizeof(*t.u), cmp_usage);
	err = group_by_name(&t, &g, &ng);
	if (err) {
		cli_error("reading names", err);
		ml_name_table_free(&t);
		return 1;
	}
	if (ng > 1)
		qsort(g, ng, sizeof(*g), cmp_by_name);
	if (a.json)
		print_json(&t, g, ng, &a);
	else
		print_tables(&t, g, ng, &a);
	report_unreadable(&t);
	free(g);
	ml_name_table_free(&t);
	return 0;
}
