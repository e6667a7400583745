// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Snapshots of sites and their reports: the kernel's /proc/allocinfo
 * format and the seed's human form.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- building a snapshot ------------------------------------------------------ */

/* Copy @str into the snapshot's string pool; the offset, or SIZE_MAX. */
static size_t pool_add(struct ml_alloctag_snapshot *s, const char *str)
{
	size_t len = strlen(str) + 1, off = s->strings_len;

	if (s->strings_cap - s->strings_len < len) {
		size_t cap = s->strings_cap ? s->strings_cap : 4096;
		char *n;

		while (cap - s->strings_len < len)
			cap *= 2;
		n = realloc(s->strings, cap);
		if (!n)
			return SIZE_MAX;
		s->strings = n;
		s->strings_cap = cap;
	}
	memcpy(s->strings + off, str, len);
	s->strings_len += len;
	return off;
}

/* Until snap_finish(), string pointers of sites hold pool offsets. */
#define OFF_PTR(off) ((const char *)(uintptr_t)(off))
#define PTR_OFF(p) ((size_t)(uintptr_t)(p))

int snap_add(struct ml_alloctag_snapshot *s, const struct snap_in *in)
{
	struct ml_alloctag_site *site;
	size_t cap = s->n, offs[4];
	const char *strs[4] = { in->file, in->func, in->module, in->object };

	/* the capacity is not kept: 16, then doubled at each power of two */
	if (s->n == 0 || (s->n >= 16 && (s->n & (s->n - 1)) == 0)) {
		struct ml_alloctag_site *n;

		cap = s->n ? s->n * 2 : 16;
		n = realloc(s->sites, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->sites = n;
	}
	for (int i = 0; i < 4; i++) {
		offs[i] = pool_add(s, strs[i] ? strs[i] : "");
		if (offs[i] == SIZE_MAX)
			return -ENOMEM;
	}
	site = &s->sites[s->n++];
	*site = (struct ml_alloctag_site){
		.tag_addr = in->tag_addr,
		.file = OFF_PTR(offs[0]),
		.func = OFF_PTR(offs[1]),
		.module = OFF_PTR(offs[2]),
		.object = OFF_PTR(offs[3]),
		.line = in->line,
		.flags = in->flags,
		.addr = in->addr,
		.capture = in->capture,
		.module_is_main = in->main,
		.bytes = in->bytes,
		.calls = in->calls,
	};
	return 0;
}

int snap_add_ctx(struct ml_alloctag_snapshot *s, const struct ml_alloctag_ctx *c)
{
	if (s->nr_ctx == 0 ||
	    (s->nr_ctx >= 16 && (s->nr_ctx & (s->nr_ctx - 1)) == 0)) {
		size_t cap = s->nr_ctx ? s->nr_ctx * 2 : 16;
		struct ml_alloctag_ctx *n = realloc(s->ctx, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->ctx = n;
	}
	s->ctx[s->nr_ctx++] = *c;
	return 0;
}

void snap_finish(struct ml_alloctag_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct ml_alloctag_site *t = &s->sites[i];

		t->file = s->strings + PTR_OFF(t->file);
		t->func = s->strings + PTR_OFF(t->func);
		t->module = s->strings + PTR_OFF(t->module);
		t->object = s->strings + PTR_OFF(t->object);
	}
	for (size_t i = 0; i < s->nr_ctx; i++) {
		s->ctx[i].site = NULL;
		for (size_t j = 0; j < s->n; j++)
			if (s->sites[j].tag_addr == s->ctx[i].tag_addr) {
				s->ctx[i].site = &s->sites[j];
				break;
			}
	}
}

void ml_alloctag_parse_done(struct ml_alloctag_snapshot *out)
{
	snap_finish(out);
}

void ml_alloctag_snapshot_fini(struct ml_alloctag_snapshot *s)
{
	free(s->sites);
	free(s->ctx);
	free(s->strings);
	memset(s, 0, sizeof(*s));
}

void alloctag_module_of(const char *object, char *buf, size_t sz)
{
	const char *base = object ? strrchr(object, '/') : NULL;
	const char *end;

	base = base ? base + 1 : object ? object : "";
	end = strstr(base, ".so");
	if (!end)
		end = base + strlen(base);
	snprintf(buf, sz, "%.*s", (int)(end - base), base);
}

/* ---- reports ------------------------------------------------------------------- */

const char *ml_alloctag_size_str(char buf[24], int64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					      "PiB", "EiB" };
	uint64_t v = bytes < 0 ? -(uint64_t)bytes : (uint64_t)bytes;
	const char *sign = bytes < 0 ? "-" : "";
	unsigned u = 0;
	uint64_t whole, frac;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && (v >> (10 * (u + 1))))
		u++;
	if (u == 0) {
		snprintf(buf, 24, "%s%" PRIu64 "B", sign, v);
		return buf;
	}
	/* three significant digits, truncated as string_get_size() does */
	whole = v >> (10 * u);
	frac = ((v & ((1ull << (10 * u)) - 1)) * 1000) >> (10 * u);
	if (whole >= 100)
		snprintf(buf, 24, "%s%" PRIu64 "%s", sign, whole, units[u]);
	else if (whole >= 10)
		snprintf(buf, 24, "%s%" PRIu64 ".%01" PRIu64 "%s", sign, whole,
			 frac / 100, units[u]);
	else
		snprintf(buf, 24, "%s%" PRIu64 ".%02" PRIu64 "%s", sign, whole,
			 frac / 10, units[u]);
	return buf;
}

/* file:line, or the address of a runtime site */
static void site_where(FILE *f, const struct ml_alloctag_site *t)
{
	if (t->file[0])
		fprintf(f, "%s:%u", t->file, t->line);
	else
		fprintf(f, "0x%" PRIx64 ":0", t->addr);
}

static void dump_allocinfo(FILE *f, const struct ml_alloctag_site *t)
{
	/* lib/alloc_tag.c: "%12lli %8llu " then codetag_to_text(), " \n" */
	fprintf(f, "%12" PRId64 " %8" PRId64 " ", t->bytes, t->calls);
	site_where(f, t);
	if (!t->module_is_main && t->module[0])
		fprintf(f, " [%s]", t->module);
	fprintf(f, " func:%s \n", t->func);
}

static void dump_human(FILE *f, const struct ml_alloctag_site *t)
{
	char sz[24];

	fprintf(f, "%8s %8" PRId64 " ", ml_alloctag_size_str(sz, t->bytes),
		t->calls);
	site_where(f, t);
	fprintf(f, " module:%s func:%s\n", t->module, t->func);
}

int ml_alloctag_dump_snapshot(FILE *f, const struct ml_alloctag_snapshot *s,
			      enum ml_alloctag_format fmt,
			      const struct ml_alloctag_dump_opts *opts)
{
	bool skip_zero = opts && opts->sz > offsetof(struct ml_alloctag_dump_opts,
						     skip_zero) && opts->skip_zero;
	bool no_header = opts && opts->sz > offsetof(struct ml_alloctag_dump_opts,
						     no_header) && opts->no_header;

	if (fmt != ML_ALLOCTAG_ALLOCINFO && fmt != ML_ALLOCTAG_HUMAN)
		return -EINVAL;
	if (fmt == ML_ALLOCTAG_ALLOCINFO && !no_header)
		fputs("allocinfo - version: 1.0\n"
		      "#     <size>  <calls> <tag info>\n", f);
	for (size_t i = 0; i < s->n; i++) {
		const struct ml_alloctag_site *t = &s->sites[i];

		if (skip_zero && !t->bytes && !t->calls)
			continue;
		if (fmt == ML_ALLOCTAG_ALLOCINFO)
			dump_allocinfo(f, t);
		else
			dump_human(f, t);
	}
	return ferror(f) ? -EIO : 0;
}

int ml_alloctag_dump(FILE *f, enum ml_alloctag_format fmt,
		     const struct ml_alloctag_dump_opts *opts)
{
	struct ml_alloctag_snapshot s;
	int err = ml_alloctag_snapshot_self(&s);

	if (err)
		return err;
	err = ml_alloctag_dump_snapshot(f, &s, fmt, opts);
	ml_alloctag_snapshot_fini(&s);
	return err;
}
