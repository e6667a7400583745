// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What mem_hist.py (seed 001) does besides arithmetic, reproduced so that
 * `memlens contig --mem-hist` prints what it prints: how it reads a
 * process name, what it calls file-backed, how it sorts.
 */
#include <string.h>

#include "internal.h"

/* Python's str.strip() whitespace, for ASCII. */
static bool py_space(unsigned char ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r') || (ch >= 0x1c && ch <= 0x1f);
}

/* awk's default field separators. */
static bool awk_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

size_t ml_contig_mem_hist_name(const char *status, size_t len, char *buf,
			       size_t sz)
{
	const char *s = status, *end = status + len;
	size_t n = 0, b = 0, e;

	if (!buf || !sz)
		return 0;
	/* grep Name: | awk '{ print $2 }': field 2 of each matching line */
	while (status && s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *p, *f;

		if (!eol)
			eol = end;
		if (memmem(s, (size_t)(eol - s), "Name:", 5)) {
			p = s;
			while (p < eol && awk_blank(*p))
				p++;
			while (p < eol && !awk_blank(*p))
				p++; /* field 1 */
			while (p < eol && awk_blank(*p))
				p++;
			for (f = p; p < eol && !awk_blank(*p); p++)
				;
			for (; f < p && n + 1 < sz; f++)
				buf[n++] = *f;
			if (n + 1 < sz)
				buf[n++] = '\n';
		}
		s = eol + 1;
	}
	/* .strip() */
	while (b < n && py_space((unsigned char)buf[b]))
		b++;
	e = n;
	while (e > b && py_space((unsigned char)buf[e - 1]))
		e--;
	memmove(buf, buf + b, e - b);
	buf[e - b] = '\0';
	return e - b;
}

bool ml_contig_mem_hist_file_backed(const char *name, size_t len)
{
	/* re.match("(?:/[^/]+)+", name): a slash, then a character that is not */
	if (!name || len < 2 || name[0] != '/' || name[1] == '/')
		return false;
	return !(len >= 7 && memcmp(name, "/memfd:", 7) == 0);
}

int ml_contig_mem_hist_cmp(const int64_t *a, const int64_t *b)
{
	for (int o = ML_CONTIG_NR_ORDERS - 1; o >= 0; o--)
		if (a[o] != b[o])
			return a[o] < b[o] ? -1 : 1;
	return 0;
}
