// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the JSON writer with hostile bytes. Byte 0 picks the mode:
 *   bit 0  pretty output
 *   bit 1  raw: the rest is a sequence of writer calls, misuse included
 *          (unbalanced ends, keys in arrays, nesting past the limit); the
 *          writer must not crash, and when it reports no error its output
 *          must be one valid JSON document: misuse is always reported.
 * Otherwise the rest is read as a well-formed document (objects, arrays,
 * keys and strings of hostile bytes, numbers) that must come out as valid
 * JSON by the small RFC 8259 checker below, with every string valid UTF-8;
 * and the whole input, written as one string, must decode back to itself
 * when it is valid UTF-8 (checked here by the table of Unicode 3.9, not by
 * the writer's decoder).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- input cursor -------------------------------------------------------- */

struct in {
	const uint8_t *p, *end;
};

static unsigned next_byte(struct in *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

/* A string: a length byte, then up to that many bytes. */
static size_t next_string(struct in *in, const char **s)
{
	size_t n = next_byte(in), left = (size_t)(in->end - in->p);

	if (n > left)
		n = left;
	*s = (const char *)in->p;
	in->p += n;
	return n;
}

static uint64_t next_u64(struct in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | next_byte(in);
	return v;
}

/* ---- UTF-8, per Unicode Table 3-7 (well-formed byte sequences) ----------- */

static size_t utf8_ok(const uint8_t *s, size_t n)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] <= 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static bool all_utf8(const uint8_t *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if (!(k = utf8_ok(s + i, n - i)))
			return false;
	return true;
}

/* ---- a small JSON checker; strings decoded into @dec when given ------------ */

struct chk {
	const uint8_t *p, *end;
	int depth;
};

static void ws(struct chk *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' ||
				 *c->p == '\t' || *c->p == '\r'))
		c->p++;
}

static int hexv(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(uint8_t **o, uint32_t cp)
{
	uint8_t *d = *o;

	if (cp < 0x80) {
		*d++ = (uint8_t)cp;
	} else if (cp < 0x800) {
		*d++ = (uint8_t)(0xc0 | cp >> 6);
		*d++ = (uint8_t)(0x80 | (cp & 0x3f));
	} else {
		*d++ = (uint8_t)(0xe0 | cp >> 12);
		*d++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		*d++ = (uint8_t)(0x80 | (cp & 0x3f));
	}
	*o = d;
}

static bool string(struct chk *c, uint8_t *dec, size_t *dec_len)
{
	uint8_t *o = dec;

	if (c->p >= c->end || *c->p++ != '"')
		return false;
	for (;;) {
		size_t k;

		if (c->p >= c->end)
			return false;
		if (*c->p == '"')
			break;
		if (*c->p < 0x20)
			return false;
		if (*c->p == '\\') {
			uint32_t cp = 0;

			if (c->end - c->p < 2)
				return false;
			switch (c->p[1]) {
			case '"': case '\\': case '/':
				cp = c->p[1]; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (c->end - c->p < 6)
					return false;
				for (int i = 2; i < 6; i++) {
					int h = hexv(c->p[i]);

					if (h < 0)
						return false;
					cp = cp << 4 | (uint32_t)h;
				}
				/* the writer emits no surrogate pairs */
				if (cp >= 0xd800 && cp <= 0xdfff)
					return false;
				c->p += 4;
				break;
			default:
				return false;
			}
			c->p += 2;
			if (dec)
				put_utf8(&o, cp);
			continue;
		}
		k = utf8_ok(c->p, (size_t)(c->end - c->p));
		if (!k)
			return false;
		if (dec) {
			memcpy(o, c->p, k);
			o += k;
		}
		c->p += k;
	}
	c->p++;
	if (dec_len)
		*dec_len = (size_t)(o - dec);
	return true;
}

static bool value(struct chk *c);

static bool number(struct chk *c)
{
	const uint8_t *s = c->p;

	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		return false;
	if (*c->p == '0' && c->end - c->p > 1 && c->p[1] >= '0' && c->p[1] <= '9')
		return false; /* no leading zeros */
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > s;
}

static bool literal(struct chk *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n))
		return false;
	c->p += n;
	return true;
}

static bool container(struct chk *c, uint8_t open, uint8_t close, bool obj)
{
	bool first = true;

	c->p++; /* open */
	(void)open;
	if (++c->depth > 64)
		return false;
	for (;;) {
		ws(c);
		if (c->p < c->end && *c->p == close && first)
			break;
		if (!first) {
			if (c->p < c->end && *c->p == close)
				break;
			if (c->p >= c->end || *c->p++ != ',')
				return false;
			ws(c);
		}
		first = false;
		if (obj) {
			if (!string(c, NULL, NULL))
				return false;
			ws(c);
			if (c->p >= c->end || *c->p++ != ':')
				return false;
			ws(c);
		}
		if (!value(c))
			return false;
	}
	c->p++; /* close */
	c->depth--;
	return true;
}

static bool value(struct chk *c)
{
	ws(c);
	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{': return container(c, '{', '}', true);
	case '[': return container(c, '[', ']', false);
	case '"': return string(c, NULL, NULL);
	case 't': return literal(c, "true");
	case 'f': return literal(c, "false");
	case 'n': return literal(c, "null");
	default: return number(c);
	}
}

static bool valid_document(const char *buf, size_t len)
{
	struct chk c = { (const uint8_t *)buf, (const uint8_t *)buf + len, 0 };

	if (!value(&c))
		return false;
	ws(&c);
	return c.p == c.end;
}

/* ---- documents ------------------------------------------------------------ */

/* A well-formed value from the input, at most @depth deep. */
static void gen_value(struct ml_json *j, struct in *in, int depth)
{
	unsigned op = next_byte(in);
	const char *s;
	size_t n;

	switch (depth > 0 ? op % 8 : 2 + op % 6) {
	case 0: /* object */
		ml_json_object_begin(j);
		for (unsigned i = 0, m = next_byte(in) % 5; i < m; i++) {
			n = next_string(in, &s);
			/* keys are C strings */
			char key[256];

			memcpy(key, s, n);
			key[n] = '\0';
			ml_json_key(j, key);
			gen_value(j, in, depth - 1);
		}
		ml_json_object_end(j);
		break;
	case 1: /* array */
		ml_json_array_begin(j);
		for (unsigned i = 0, m = next_byte(in) % 5; i < m; i++)
			gen_value(j, in, depth - 1);
		ml_json_array_end(j);
		break;
	case 2:
	case 3:
		n = next_string(in, &s);
		ml_json_string_len(j, s, n);
		break;
	case 4:
		ml_json_u64(j, next_u64(in));
		break;
	case 5:
		ml_json_i64(j, (int64_t)next_u64(in));
		break;
	case 6:
		ml_json_bool(j, op & 0x80);
		break;
	default:
		ml_json_null(j);
		break;
	}
}

/* Writer calls straight from the bytes, misuse and all. */
static void raw_ops(struct ml_json *j, struct in *in)
{
	const char *s;
	size_t n;
	char key[256];

	for (int steps = 0; in->p < in->end && steps < 4096; steps++) {
		switch (next_byte(in) % 10) {
		case 0: ml_json_object_begin(j); break;
		case 1: ml_json_object_end(j); break;
		case 2: ml_json_array_begin(j); break;
		case 3: ml_json_array_end(j); break;
		case 4:
			n = next_string(in, &s);
			memcpy(key, s, n);
			key[n] = '\0';
			ml_json_key(j, key);
			break;
		case 5:
			n = next_string(in, &s);
			ml_json_string_len(j, s, n);
			break;
		case 6: ml_json_u64(j, next_u64(in)); break;
		case 7: ml_json_i64(j, (int64_t)next_u64(in)); break;
		case 8: ml_json_null(j); break;
		default: ml_json_string(j, NULL); break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, data + size };
	unsigned mode = next_byte(&in);
	struct ml_json j;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return 0;
	ml_json_init(&j, f, mode & 1);
	if (mode & 2) {
		raw_ops(&j, &in);
		err = ml_json_finish(&j);
		fclose(f);
		if (err == 0 && !valid_document(buf, len))
			abort();
		free(buf);
	} else {
		gen_value(&j, &in, 6);
		err = ml_json_finish(&j);
		fclose(f);
		if (err != 0 || !valid_document(buf, len))
			abort();
		free(buf);
	}

	/* the whole input as one string: valid JSON; decodes to itself when
	 * the input is valid UTF-8 */
	buf = NULL;
	len = 0;
	f = open_memstream(&buf, &len);
	if (!f)
		return 0;
	ml_json_init(&j, f, false);
	ml_json_string_len(&j, (const char *)data, size);
	if (ml_json_finish(&j) != 0)
		abort();
	fclose(f);
	{
		/* an escape is at most 6 bytes and decodes to at most 3 */
		uint8_t *dec = malloc(3 * size + 1);
		struct chk c = { (const uint8_t *)buf, (const uint8_t *)buf + len, 0 };
		size_t dec_len = 0;

		if (!dec)
			abort();
		if (!string(&c, dec, &dec_len) || c.p + 1 != c.end || *c.p != '\n')
			abort();
		if (!all_utf8(dec, dec_len))
			abort();
		if (all_utf8(data, size) &&
		    (dec_len != size || memcmp(dec, data, size) != 0))
			abort();
		free(dec);
	}
	free(buf);
	return 0;
}
