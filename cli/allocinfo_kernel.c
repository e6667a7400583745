// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens allocinfo --kernel: the kernel's allocation profiling report
 * (/proc/allocinfo, Linux 6.10+ with CONFIG_MEM_ALLOC_PROFILING), sorted,
 * filtered and summed; --json from the same records. The parsing is
 * libmemlens' (lib/alloctag/procfile.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/allocinfo.h>

#include "allocinfo_kernel.h"

static int cmp_bytes(const void *x, const void *y)
{
	const struct ml_allocinfo_rec *a = x, *b = y;

	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return (a->calls < b->calls) - (a->calls > b->calls);
}

static int cmp_calls(const void *x, const void *y)
{
	const struct ml_allocinfo_rec *a = x, *b = y;

	if (a->calls != b->calls)
		return a->calls < b->calls ? 1 : -1;
	return (a->bytes < b->bytes) - (a->bytes > b->bytes);
}

static bool wanted(const struct ml_allocinfo_rec *r, const char *module)
{
	if (!module)
		return true;
	if (strcmp(module, "kernel") == 0)
		return r->module[0] == '\0';
	return strcmp(r->module, module) == 0;
}

/* Keep the records of @module, in place; returns how many. */
static size_t filter(struct ml_allocinfo *a, const char *module)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		if (wanted(&a->recs[i], module))
			a->recs[n++] = a->recs[i];
	return n;
}

static const char *signed_size(char buf[32], int64_t bytes)
{
	char tmp[32];

	if (bytes >= 0)
		return cli_size(buf, (uint64_t)bytes, false);
	snprintf(buf, 32, "-%s", cli_size(tmp, 0 - (uint64_t)bytes, false));
	return buf;
}

static void print_json(const struct ml_allocinfo_rec *r, size_t n,
		       const struct ml_allocinfo *a, size_t nr_sites,
		       int64_t sel_bytes, uint64_t sel_calls)
{
	struct ml_json j;

	ml_json_init(&j, stdout, false);
	ml_json_object_begin(&j);
	ml_json_kv_str(&j, "source", "kernel");
	ml_json_kv_u64(&j, "version_major", a->version_major);
	ml_json_kv_u64(&j, "version_minor", a->version_minor);
	ml_json_kv_u64(&j, "nr_sites", nr_sites);
	ml_json_kv_u64(&j, "nr_malformed", a->nr_bad);
	/* over the sites of --module (all sites without it), before --top */
	ml_json_kv_i64(&j, "total_bytes", sel_bytes);
	ml_json_kv_u64(&j, "total_calls", sel_calls);
	ml_json_key(&j, "sites");
	ml_json_array_begin(&j);
	for (size_t i = 0; i < n; i++) {
		ml_json_object_begin(&j);
		ml_json_kv_i64(&j, "bytes", r[i].bytes);
		ml_json_kv_u64(&j, "calls", r[i].calls);
		ml_json_kv_str(&j, "file", r[i].file);
		ml_json_kv_u64(&j, "line", r[i].line);
		ml_json_kv_str(&j, "module", r[i].module);
		ml_json_kv_str(&j, "func", r[i].func);
		ml_json_key(&j, "accurate");
		ml_json_bool(&j, !r[i].inaccurate);
		ml_json_object_end(&j);
	}
	ml_json_array_end(&j);
	ml_json_object_end(&j);
	ml_json_finish(&j);
	putchar('\n');
}

/* The kernel's own format (lib/alloc_tag.c), so other tools can read it. */
static void print_raw(const struct ml_allocinfo_rec *r, size_t n,
		      const struct ml_allocinfo *a)
{
	printf("allocinfo - version: %u.%u\n", a->version_major,
	       a->version_minor);
	printf("#     <size>  <calls> <tag info>\n");
	for (size_t i = 0; i < n; i++) {
		printf("%12" PRId64 " %8" PRIu64 " %s:%" PRIu32, r[i].bytes,
		       r[i].calls, r[i].file, r[i].line);
		if (r[i].module[0])
			printf(" [%s]", r[i].module);
		printf(" func:%s%s \n", r[i].func,
		       r[i].inaccurate ? " accurate:no" : "");
	}
}

static void print_table(const struct ml_allocinfo_rec *r, size_t n,
			const struct ml_allocinfo *a, size_t nr_sites,
			int64_t sel_bytes, uint64_t sel_calls)
{
	char b[32];

	printf("%9s %9s  %-40s %-12s %s\n", "BYTES", "CALLS", "SITE",
	       "MODULE", "FUNCTION");
	for (size_t i = 0; i < n; i++) {
		char site[512];

		snprintf(site, sizeof(site), "%s:%" PRIu32, r[i].file,
			 r[i].line);
		printf("%9s %9" PRIu64 "  %-40s %-12s %s%s\n",
		       signed_size(b, r[i].bytes), r[i].calls, site,
		       r[i].module[0] ? r[i].module : "-", r[i].func,
		       r[i].inaccurate ? " (inaccurate)" : "");
	}
	printf("%9s %9" PRIu64 "  total of %zu sites shown of %zu (%zu in the file",
	       signed_size(b, sel_bytes), sel_calls, n, nr_sites, a->n);
	if (a->nr_bad)
		printf(", %zu malformed lines skipped", a->nr_bad);
	printf(")\n");
}

int allocinfo_kernel(struct cli_ctx *ctx, const struct allocinfo_kernel_opts *o)
{
	struct ml_allocinfo a;
	int64_t sel_bytes = 0;
	uint64_t sel_calls = 0;
	size_t nr_sites, n;
	int err;

	err = ml_allocinfo_read_kernel(ctx->proc, &a);
	if (err == -ENOENT) {
		cli_errorf("allocinfo: no %s/allocinfo: this kernel has no memory allocation profiling (Linux 6.10+, CONFIG_MEM_ALLOC_PROFILING)",
			   ml_proc_root(ctx->proc));
		return 1;
	}
	if (err) {
		cli_error("allocinfo: reading the kernel's allocinfo", err);
		return 1;
	}
	nr_sites = filter(&a, o->module);
	for (size_t i = 0; i < nr_sites; i++) {
		sel_bytes += a.recs[i].bytes;
		sel_calls += a.recs[i].calls;
	}
	if (o->sort == ALLOCINFO_SORT_BYTES)
		qsort(a.recs, nr_sites, sizeof(*a.recs), cmp_bytes);
	else if (o->sort == ALLOCINFO_SORT_CALLS)
		qsort(a.recs, nr_sites, sizeof(*a.recs), cmp_calls);
	n = o->top && o->top < nr_sites ? o->top : nr_sites;
	if (o->json)
		print_json(a.recs, n, &a, nr_sites, sel_bytes, sel_calls);
	else if (o->raw)
		print_raw(a.recs, n, &a);
	else
		print_table(a.recs, n, &a, nr_sites, sel_bytes, sel_calls);
	ml_allocinfo_free(&a);
	return 0;
}
