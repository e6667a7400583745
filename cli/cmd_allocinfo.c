// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens allocinfo PID: live bytes and allocations per call site of a
 * running program built with memlens' tagged allocation (ml_malloc() ...)
 * or running under libmemlens-alloc.so, read from outside without
 * stopping it; growth between two snapshots; context capture for one site.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memlens/alloctag.h>

#include "allocinfo_kernel.h"
#include "cli.h"

static void allocinfo_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens allocinfo [OPTIONS] PID\n"
		"       memlens allocinfo --kernel [--top N] [--sort ...] [--module M]\n"
		"                         [--allocinfo] [--json]\n"
		"\n"
		"Live bytes and live allocations per allocation call site of process PID,\n"
		"read while it runs (process_vm_readv: same user, or root). The program\n"
		"allocates with ml_malloc() and friends (memlens/alloctag.h) or runs under\n"
		"libmemlens-alloc.so. One line per site, largest first:\n"
		"  SIZE CALLS FILE:LINE module:MODULE func:FUNCTION\n"
		"\n"
		"Options:\n"
		"  -n, --top N             the N largest sites only\n"
		"  -s, --sort bytes|calls  order by live bytes (default) or allocations\n"
		"  -m, --module M          sites of module M only (library or program name)\n"
		"  -i, --interval S        two snapshots S seconds apart: the sites that grew\n"
		"                          (leak suspects), by growth\n"
		"      --allocinfo         the kernel's /proc/allocinfo format, every site\n"
		"      --capture FILE:LINE record pid, tid, comm, size, time and call stack of\n"
		"                          each allocation at FILE:LINE from now on\n"
		"      --capture-off[=FILE:LINE]  stop recording (all sites without one)\n"
		"      --context           print the recorded allocations, symbolized\n"
		"  -k, --kernel            the kernel's own profile (/proc/allocinfo, Linux\n"
		"                          6.10+ with CONFIG_MEM_ALLOC_PROFILING), no PID;\n"
		"                          --module kernel: the core kernel's sites\n"
		"  -b, --bytes             exact byte counts\n"
		"  -j, --json              JSON, sizes in bytes\n"
		"  -h, --help              show this help\n");
}

enum { OPT_ALLOCINFO = 256, OPT_CAPTURE, OPT_CAPTURE_OFF, OPT_CONTEXT };
/* (the kernel's report: -k, --kernel, cli/allocinfo_kernel.c) */

struct args {
	pid_t pid;
	unsigned long top, interval;
	bool by_calls, allocinfo, context, bytes, json, kernel;
	const char *module;
	const char *capture;	/* FILE:LINE */
	bool capture_off;
	const char *capture_off_spec;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "top", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "interval", required_argument, NULL, 'i' },
		{ "allocinfo", no_argument, NULL, OPT_ALLOCINFO },
		{ "capture", required_argument, NULL, OPT_CAPTURE },
		{ "capture-off", optional_argument, NULL, OPT_CAPTURE_OFF },
		{ "context", no_argument, NULL, OPT_CONTEXT },
		{ "kernel", no_argument, NULL, 'k' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "n:s:m:i:kbjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!cli_parse_uint(optarg, &a->top) || !a->top)
				return cli_usage_error("allocinfo", "--top needs a positive number, not '%s'", optarg);
			break;
		case 's':
			if (strcmp(optarg, "bytes") == 0)
				a->by_calls = false;
			else if (strcmp(optarg, "calls") == 0)
				a->by_calls = true;
			else
				return cli_usage_error("allocinfo", "--sort is bytes or calls, not '%s'", optarg);
			break;
		case 'm': a->module = optarg; break;
		case 'i':
			if (!cli_parse_uint(optarg, &a->interval) || !a->interval ||
			    a->interval > 86400)
				return cli_usage_error("allocinfo", "--interval needs seconds (1..86400), not '%s'", optarg);
			break;
		case OPT_ALLOCINFO: a->allocinfo = true; break;
		case OPT_CAPTURE: a->capture = optarg; break;
		case OPT_CAPTURE_OFF:
			a->capture_off = true;
			a->capture_off_spec = optarg;
			break;
		case OPT_CONTEXT: a->context = true; break;
		case 'k': a->kernel = true; break;
		case 'b': a->bytes = true; break;
		case 'j': a->json = true; break;
		case 'h':
			allocinfo_usage(stdout);
			return -1;
		default:
			allocinfo_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (a->kernel) {
		if (optind != argc || a->interval || a->capture ||
		    a->capture_off || a->context)
			return cli_usage_error("allocinfo", "--kernel takes no PID, --interval, --capture or --context");
		return 0;
	}
	if (optind + 1 != argc)
		return cli_usage_error("allocinfo", "one PID, please");
	if (!cli_parse_pid(argv[optind], &a->pid))
		return cli_usage_error("allocinfo", "'%s' is not a pid", argv[optind]);
	if (a->capture && a->capture_off)
		return cli_usage_error("allocinfo", "--capture or --capture-off, not both");
	if (a->interval && (a->context || a->allocinfo))
		return cli_usage_error("allocinfo", "--interval goes without --context and --allocinfo");
	return 0;
}

/* FILE:LINE, the line after the last colon. */
static bool parse_site(const char *spec, char **file, uint32_t *line)
{
	const char *colon = strrchr(spec, ':');
	unsigned long v;

	if (!colon || colon == spec || !cli_parse_uint(colon + 1, &v) || !v ||
	    v > UINT32_MAX)
		return false;
	*file = strndup(spec, (size_t)(colon - spec));
	*line = (uint32_t)v;
	return *file != NULL;
}

static int read_error(pid_t pid, int err, bool started)
{
	if (err == -ENOENT)
		cli_errorf("allocinfo: no allocation tags in PID %d", (int)pid);
	else if (err == -ESRCH && started)
		cli_errorf("allocinfo: PID %d exited during the read", (int)pid);
	else if (err == -ESRCH)
		cli_errorf("allocinfo: PID %d: no such process", (int)pid);
	else if (err == -EPERM || err == -EACCES)
		cli_errorf("allocinfo: PID %d: %s (reading another process needs "
			   "the same user and ptrace access, or root)",
			   (int)pid, strerror(-err));
	else if (err == -EPROTO)
		cli_errorf("allocinfo: PID %d: allocation tags of an unknown "
			   "format or damaged", (int)pid);
	else
		cli_errorf("allocinfo: PID %d: %s", (int)pid, strerror(-err));
	return EXIT_FAILURE;
}

static int capture_switch(struct cli_ctx *ctx, const struct args *a)
{
	const char *spec = a->capture ? a->capture : a->capture_off_spec;
	struct ml_alloctag_snapshot s;
	struct allocinfo_syms *syms;
	char *file = NULL;
	uint32_t line = 0;
	size_t n;
	int err;

	if (spec && !parse_site(spec, &file, &line))
		return cli_usage_error("allocinfo", "'%s' is not FILE:LINE", spec);
	err = ml_alloctag_read(ctx->proc, a->pid, NULL, &s);
	if (err) {
		free(file);
		return read_error(a->pid, err, false);
	}
	/* the runtime profiler's sites are addresses: FILE:LINE is theirs
	 * once symbolized, as the report shows them */
	syms = allocinfo_symbolize_sites(ctx, a->pid, &s);
	err = ml_alloctag_capture_sites(a->pid, &s, file, line,
					a->capture != NULL, &n);
	allocinfo_symbolize_done(syms);
	ml_alloctag_snapshot_fini(&s);
	free(file);
	if (err == -ENOENT && spec) {
		cli_errorf("allocinfo: %s: no allocation site there in PID %d",
			   spec, (int)a->pid);
		return EXIT_FAILURE;
	}
	if (err)
		return read_error(a->pid, err, false);
	if (a->json) {
		struct ml_json j;

		ml_json_init(&j, stdout, true);
		ml_json_object_begin(&j);
		ml_json_kv_i64(&j, "pid", a->pid);
		ml_json_key(&j, "capture");
		ml_json_bool(&j, a->capture != NULL);
		ml_json_kv_u64(&j, "sites", n);
		ml_json_object_end(&j);
		return ml_json_finish(&j) ? EXIT_FAILURE : 0;
	}
	printf("capture %s for %zu site%s of PID %d\n", a->capture ? "on" : "off",
	       n, n == 1 ? "" : "s", (int)a->pid);
	return 0;
}

/* ---- sorting and filtering ------------------------------------------------------ */

struct row {
	const struct ml_alloctag_site *s;
	int64_t d_bytes, d_calls; /* growth with --interval */
};

static bool by_calls;

static int cmp_row(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	int64_t x = by_calls ? a->s->calls : a->s->bytes;
	int64_t y = by_calls ? b->s->calls : b->s->bytes;

	if (a->d_bytes != b->d_bytes)
		return a->d_bytes < b->d_bytes ? 1 : -1;
	if (x != y)
		return x < y ? 1 : -1;
	return a->s->tag_addr < b->s->tag_addr ? -1 : a->s->tag_addr > b->s->tag_addr;
}

static const struct ml_alloctag_site *find_site(const struct ml_alloctag_snapshot *s,
						uint64_t tag_addr)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->sites[i].tag_addr == tag_addr)
			return &s->sites[i];
	return NULL;
}

/* The rows to show: filtered, with growth against @before, sorted, cut. */
static struct row *select_rows(const struct args *a,
			       const struct ml_alloctag_snapshot *s,
			       const struct ml_alloctag_snapshot *before,
			       size_t *nr)
{
	struct row *rows = calloc(s->n ? s->n : 1, sizeof(*rows));
	size_t n = 0;

	if (!rows)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct ml_alloctag_site *t = &s->sites[i];
		struct row r = { .s = t };

		if (a->module && strcmp(t->module, a->module) != 0)
			continue;
		if (before) {
			const struct ml_alloctag_site *o = find_site(before, t->tag_addr);

			r.d_bytes = t->bytes - (o ? o->bytes : 0);
			r.d_calls = t->calls - (o ? o->calls : 0);
			if (r.d_bytes <= 0 && r.d_calls <= 0)
				continue;
		}
		rows[n++] = r;
	}
	by_calls = a->by_calls;
	if (!a->allocinfo)
		qsort(rows, n, sizeof(*rows), cmp_row);
	if (a->top && n > a->top)
		n = a->top;
	*nr = n;
	return rows;
}

/* ---- output ---------------------------------------------------------------------- */

static void print_where(const struct ml_alloctag_site *t)
{
	if (t->file[0])
		printf("%s:%u", t->file, t->line);
	else
		printf("0x%" PRIx64, t->addr);
}

static const char *size_of(char buf[32], int64_t v, bool exact)
{
	char tmp[24];

	if (exact) {
		snprintf(buf, 32, "%" PRId64, v);
		return buf;
	}
	snprintf(buf, 32, "%s", ml_alloctag_size_str(tmp, v));
	return buf;
}

static void print_rows(const struct args *a, const struct row *rows, size_t n,
		       bool growth)
{
	char b1[32], b2[32];

	for (size_t i = 0; i < n; i++) {
		const struct ml_alloctag_site *t = rows[i].s;

		if (growth)
			printf("+%-8s %+9" PRId64 "  ", size_of(b1, rows[i].d_bytes, a->bytes),
			       rows[i].d_calls);
		printf("%8s %8" PRId64 " ", size_of(b2, t->bytes, a->bytes), t->calls);
		print_where(t);
		printf(" module:%s func:%s%s\n", t->module, t->func,
		       t->capture ? " [capture]" : "");
	}
}

static void json_rows(struct ml_json *j, const struct row *rows, size_t n,
		      bool growth)
{
	ml_json_key(j, "sites");
	ml_json_array_begin(j);
	for (size_t i = 0; i < n; i++) {
		const struct ml_alloctag_site *t = rows[i].s;

		ml_json_object_begin(j);
		ml_json_kv_i64(j, "bytes", t->bytes);
		ml_json_kv_i64(j, "calls", t->calls);
		if (growth) {
			ml_json_kv_i64(j, "growth_bytes", rows[i].d_bytes);
			ml_json_kv_i64(j, "growth_calls", rows[i].d_calls);
		}
		ml_json_kv_str(j, "file", t->file);
		ml_json_kv_u64(j, "line", t->line);
		ml_json_kv_str(j, "func", t->func);
		ml_json_kv_str(j, "module", t->module);
		ml_json_kv_str(j, "object", t->object);
		if (t->flags & ML_ALLOC_TAG_ADDR)
			ml_json_kv_u64(j, "addr", t->addr);
		ml_json_key(j, "capture");
		ml_json_bool(j, t->capture);
		ml_json_kv_u64(j, "tag", t->tag_addr);
		ml_json_object_end(j);
	}
	ml_json_array_end(j);
}

/* The symbolized frames of every record, one batch. */
static char (*symbolize_ctx(struct cli_ctx *ctx, pid_t pid,
			    const struct ml_alloctag_snapshot *s))[ML_ALLOCTAG_SYM_MAX]
{
	size_t n = 0, k = 0;
	uint64_t *addrs;
	char (*syms)[ML_ALLOCTAG_SYM_MAX];

	for (size_t i = 0; i < s->nr_ctx; i++)
		n += s->ctx[i].nr_frames;
	addrs = calloc(n ? n : 1, sizeof(*addrs));
	syms = calloc(n ? n : 1, sizeof(*syms));
	if (!addrs || !syms) {
		free(addrs);
		free(syms);
		return NULL;
	}
	for (size_t i = 0; i < s->nr_ctx; i++)
		for (uint32_t f = 0; f < s->ctx[i].nr_frames; f++)
			addrs[k++] = s->ctx[i].frames[f];
	if (ml_alloctag_symbolize(ctx->proc, pid, addrs, n, syms) != 0)
		for (size_t i = 0; i < n; i++) /* gone meanwhile: addresses */
			snprintf(syms[i], sizeof(syms[i]), "0x%" PRIx64, addrs[i]);
	free(addrs);
	return syms;
}

static void print_context(const struct args *a, const struct ml_alloctag_snapshot *s,
			  char (*syms)[ML_ALLOCTAG_SYM_MAX], struct ml_json *j)
{
	char b[32];
	size_t k = 0;

	if (j) {
		ml_json_key(j, "context");
		ml_json_array_begin(j);
	} else if (!s->nr_ctx) {
		printf("no captured allocations (switch capture on with --capture FILE:LINE)\n");
	}
	for (size_t i = 0; i < s->nr_ctx; i++) {
		const struct ml_alloctag_ctx *c = &s->ctx[i];
		const struct ml_alloctag_site *t = c->site;

		if (j) {
			ml_json_object_begin(j);
			if (t) {
				ml_json_kv_str(j, "file", t->file);
				ml_json_kv_u64(j, "line", t->line);
				ml_json_kv_str(j, "func", t->func);
				ml_json_kv_str(j, "module", t->module);
			}
			ml_json_kv_u64(j, "size", c->size);
			ml_json_kv_i64(j, "pid", c->pid);
			ml_json_kv_i64(j, "tid", c->tid);
			ml_json_kv_str(j, "comm", c->comm);
			ml_json_kv_u64(j, "ts_ns", c->ts_ns);
			ml_json_key(j, "stack");
			ml_json_array_begin(j);
			for (uint32_t f = 0; f < c->nr_frames; f++)
				ml_json_string(j, syms[k++]);
			ml_json_array_end(j);
			ml_json_object_end(j);
			continue;
		}
		/* the seed's allocations.ctx layout: the site, its records */
		if (i && c->tag_addr == s->ctx[i - 1].tag_addr) {
			/* same site as the record before */
		} else if (t) {
			printf("%8s %8" PRId64 " ", size_of(b, t->bytes, a->bytes), t->calls);
			print_where(t);
			printf(" module:%s func:%s\n", t->module, t->func);
		} else {
			printf("(site 0x%" PRIx64 ")\n", c->tag_addr);
		}
		printf("    size: %" PRIu64 "\n    pid: %d\n    tid: %d\n"
		       "    comm: %s\n    ts: %" PRIu64 "\n    call stack:\n",
		       c->size, (int)c->pid, (int)c->tid, c->comm, c->ts_ns);
		for (uint32_t f = 0; f < c->nr_frames; f++)
			printf("         %s\n", syms[k++]);
	}
	if (j)
		ml_json_array_end(j);
}

static int report(struct cli_ctx *ctx, const struct args *a)
{
	ML_OPTS(ml_alloctag_read_opts, ro, .context = a->context);
	struct ml_alloctag_snapshot s, before;
	bool have_before = false;
	char (*syms)[ML_ALLOCTAG_SYM_MAX] = NULL;
	struct allocinfo_syms *site_syms = NULL;
	struct row *rows;
	size_t n;
	int err;

	err = ml_alloctag_read(ctx->proc, a->pid, &ro, &s);
	if (err)
		return read_error(a->pid, err, false);
	if (a->interval) {
		before = s;
		have_before = true;
		sleep((unsigned)a->interval);
		err = ml_alloctag_read(ctx->proc, a->pid, &ro, &s);
		if (err) {
			ml_alloctag_snapshot_fini(&before);
			return read_error(a->pid, err, true);
		}
	}
	/* runtime-mode sites: file:line and function from DWARF */
	site_syms = allocinfo_symbolize_sites(ctx, a->pid, &s);
	rows = select_rows(a, &s, have_before ? &before : NULL, &n);
	if (a->context)
		syms = symbolize_ctx(ctx, a->pid, &s);
	if (!rows || (a->context && !syms)) {
		err = -ENOMEM;
		cli_error("allocinfo", err);
		goto out;
	}
	if (a->json) {
		struct ml_json j;

		ml_json_init(&j, stdout, true);
		ml_json_object_begin(&j);
		ml_json_kv_i64(&j, "pid", a->pid);
		ml_json_key(&j, "enabled");
		ml_json_bool(&j, s.enabled);
		ml_json_kv_u64(&j, "foreign_frees", s.nr_foreign);
		if (a->interval)
			ml_json_kv_u64(&j, "interval_s", a->interval);
		json_rows(&j, rows, n, have_before);
		if (a->context)
			print_context(a, &s, syms, &j);
		ml_json_object_end(&j);
		err = ml_json_finish(&j);
	} else if (a->context) {
		print_context(a, &s, syms, NULL);
	} else if (a->allocinfo) {
		struct ml_alloctag_site *v = calloc(n ? n : 1, sizeof(*v));
		struct ml_alloctag_snapshot view = { .sites = v, .n = n };

		if (!v) {
			err = -ENOMEM;
			cli_error("allocinfo", err);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			v[i] = *rows[i].s;
		err = ml_alloctag_dump_snapshot(stdout, &view, ML_ALLOCTAG_ALLOCINFO, NULL);
		free(v);
	} else {
		if (have_before)
			printf("grew in %lus (%zu site%s):\n", a->interval, n,
			       n == 1 ? "" : "s");
		print_rows(a, rows, n, have_before);
		if (!s.enabled)
			printf("(profiling is off in PID %d: counters stand still)\n",
			       (int)a->pid);
	}
out:
	free(rows);
	free(syms);
	allocinfo_symbolize_done(site_syms);
	ml_alloctag_snapshot_fini(&s);
	if (have_before)
		ml_alloctag_snapshot_fini(&before);
	return err ? EXIT_FAILURE : 0;
}

int cmd_allocinfo(struct cli_ctx *ctx, int argc, char **argv)
{
	struct args a = { 0 };
	int ret = parse_args(argc, argv, &a);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (a.kernel) {
		struct allocinfo_kernel_opts ko = {
			.top = a.top,
			.sort = a.by_calls ? ALLOCINFO_SORT_CALLS :
			       a.allocinfo ? ALLOCINFO_SORT_NONE :
					     ALLOCINFO_SORT_BYTES,
			.module = a.module,
			.json = a.json,
			.raw = a.allocinfo,
		};

		return allocinfo_kernel(ctx, &ko);
	}
	if (a.capture || a.capture_off)
		return capture_switch(ctx, &a);
	return report(ctx, &a);
}
