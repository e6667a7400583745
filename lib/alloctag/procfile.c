// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The allocinfo text format (the kernel's /proc/allocinfo, memlens' own
 * dumps) parsed into records, in place.
 *
 * A line, as the kernel prints it (lib/alloc_tag.c, alloc_tag_to_text(),
 * and lib/codetag.c, codetag_to_text()):
 *
 *   "%12lli %8llu " "%s:%u [%s] func:%s" | "%s:%u func:%s"
 *   [" accurate:no"]  (6.14+)  " " "\n"
 *
 * Tokens are separated by blanks; the file:line token splits at its last
 * colon; extra "key:value" tokens after func: are accepted (new kernels
 * add them) and only accurate:no is understood. Everything else makes the
 * line malformed: it is counted and skipped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/allocinfo.h>

#include "../util/util.h"

#define HEADER "allocinfo - version: "

/* ---- one token at a time ------------------------------------------------ */

/* The next blank-separated token of [*pos, end): NUL-terminated in place. */
static char *next_token(char **pos, char *end)
{
	char *s = (char *)skip_blanks(*pos, end), *t;

	if (s >= end)
		return NULL;
	for (t = s; t < end && *t != ' ' && *t != '\t'; t++)
		;
	*pos = t < end ? t + 1 : t;
	*t = '\0'; /* t == end is the line's own terminator slot */
	return s;
}

static bool parse_s64(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	uint64_t v;
	const char *p = s + neg, *end = p + strlen(p);

	if (!parse_u64(&p, end, &v) || p != end)
		return false;
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool parse_u64_str(const char *s, uint64_t *out)
{
	const char *p = s, *end = s + strlen(s);

	return parse_u64(&p, end, out) && p == end;
}

/* "file:line" -> file (NUL at the last colon) and line. */
static bool parse_site(char *tok, struct ml_allocinfo_rec *r)
{
	char *colon = strrchr(tok, ':');
	uint64_t line;

	if (!colon || colon == tok || !parse_u64_str(colon + 1, &line) ||
	    line > UINT32_MAX)
		return false;
	*colon = '\0';
	r->file = tok;
	r->line = (uint32_t)line;
	return true;
}

/* One line [s, end), *end being a writable terminator slot. */
static bool parse_line(char *s, char *end, struct ml_allocinfo_rec *r)
{
	char *pos = s, *tok;
	size_t len;

	memset(r, 0, sizeof(*r));
	r->module = "";
	if (!(tok = next_token(&pos, end)) || !parse_s64(tok, &r->bytes))
		return false;
	if (!(tok = next_token(&pos, end)) || !parse_u64_str(tok, &r->calls))
		return false;
	if (!(tok = next_token(&pos, end)) || !parse_site(tok, r))
		return false;
	if (!(tok = next_token(&pos, end)))
		return false;
	len = strlen(tok);
	if (tok[0] == '[') {
		if (len < 3 || tok[len - 1] != ']')
			return false;
		tok[len - 1] = '\0';
		r->module = tok + 1;
		if (!(tok = next_token(&pos, end)))
			return false;
	}
	if (strncmp(tok, "func:", 5) != 0 || tok[5] == '\0')
		return false;
	r->func = tok + 5;
	while ((tok = next_token(&pos, end))) {
		if (!strchr(tok, ':'))
			return false;
		if (strcmp(tok, "accurate:no") == 0)
			r->inaccurate = true;
	}
	return true;
}

static bool parse_header(const char *s, const char *end,
			 struct ml_allocinfo *a)
{
	const char *p = s + sizeof(HEADER) - 1;
	uint64_t maj, min;

	if ((size_t)(end - s) < sizeof(HEADER) - 1 ||
	    memcmp(s, HEADER, sizeof(HEADER) - 1) != 0)
		return false;
	if (!parse_u64(&p, end, &maj) || p >= end || *p++ != '.' ||
	    !parse_u64(&p, end, &min) || maj > 1000 || min > 1000)
		return false;
	a->version_major = (unsigned)maj;
	a->version_minor = (unsigned)min;
	return true;
}

static void add_totals(struct ml_allocinfo *a, const struct ml_allocinfo_rec *r)
{
	if (__builtin_add_overflow(a->total_bytes, r->bytes, &a->total_bytes))
		a->total_bytes = r->bytes < 0 ? INT64_MIN : INT64_MAX;
	if (__builtin_add_overflow(a->total_calls, r->calls, &a->total_calls))
		a->total_calls = UINT64_MAX;
}

/* ---- the file ------------------------------------------------------------- */

int ml_allocinfo_parse(char *text, size_t len, struct ml_allocinfo *out)
{
	char *s = text, *end = text + len;
	size_t cap = 0;
	bool first = true;

	memset(out, 0, sizeof(*out));
	while (s < end) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *eol = nl ? nl : end;
		struct ml_allocinfo_rec r;

		if (first) {
			if (!parse_header(s, eol, out) ||
			    out->version_major != 1)
				goto bad_header;
			first = false;
		} else if (skip_blanks(s, eol) == eol ||
			   *skip_blanks(s, eol) == '#') {
			/* the column header, blank lines */
		} else if (!nl && eol == end) {
			/*
			 * A last line without its newline has no slot for the
			 * NUL: the kernel always ends lines, so it was cut.
			 */
			out->nr_bad++;
		} else if (parse_line(s, eol, &r)) {
			if (grow_array((void **)&out->recs, &cap, out->n,
				       sizeof(*out->recs))) {
				ml_allocinfo_free(out);
				return -ENOMEM;
			}
			out->recs[out->n++] = r;
			add_totals(out, &r);
		} else {
			out->nr_bad++;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	if (first)
		goto bad_header;
	return 0;
bad_header:
	free(out->recs);
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

int ml_allocinfo_read_kernel(struct ml_proc *p, struct ml_allocinfo *out)
{
	char *text = NULL;
	ssize_t len;
	int err;

	memset(out, 0, sizeof(*out));
	len = ml_proc_read_owned(p, 0, "allocinfo", &text);
	if (len < 0)
		return (int)len;
	err = ml_allocinfo_parse(text, (size_t)len, out);
	if (err) {
		free(text);
		return err;
	}
	out->text = text;
	return 0;
}

void ml_allocinfo_free(struct ml_allocinfo *a)
{
	if (!a)
		return;
	free(a->recs);
	free(a->text);
	memset(a, 0, sizeof(*a));
}
