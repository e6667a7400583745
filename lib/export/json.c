// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Streaming JSON writer. Mapping names come from the kernel and from file
 * names, which are bytes, not text: invalid UTF-8 is replaced so that a
 * hostile file name cannot break a consumer's parser.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <memlens/json.h>

void ml_json_init(struct ml_json *j, FILE *out, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty = pretty;
}

static void put(struct ml_json *j, const char *s, size_t n)
{
	/* unlocked: a writer belongs to one thread, and a VMA is ~60 writes */
	if (!j->err && fwrite_unlocked(s, 1, n, j->out) != n)
		j->err = -EIO;
}

static void puts_(struct ml_json *j, const char *s)
{
	put(j, s, strlen(s));
}

static void newline(struct ml_json *j)
{
	if (!j->pretty)
		return;
	put(j, "\n", 1);
	for (int i = 0; i < j->depth; i++)
		put(j, "  ", 2);
}

static void misuse(struct ml_json *j)
{
	if (!j->err)
		j->err = -EINVAL;
}

/* Separator and indentation before a value or a key. */
static void before_item(struct ml_json *j)
{
	if (j->depth > 0) {
		if (j->need_comma[j->depth])
			put(j, ",", 1);
		j->need_comma[j->depth] = true;
		newline(j);
	}
}

/* A value: after its key inside an object, or an item of an array. */
static void before_value(struct ml_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && j->in_object[j->depth])
		misuse(j);
	/* one document per writer: need_comma[0] marks the top value done */
	if (j->depth == 0) {
		if (j->need_comma[0])
			misuse(j);
		j->need_comma[0] = true;
	}
	before_item(j);
}

static void open_(struct ml_json *j, char c)
{
	before_value(j);
	if (j->depth + 1 >= ML_JSON_MAX_DEPTH) {
		misuse(j);
		return;
	}
	put(j, &c, 1);
	j->depth++;
	j->need_comma[j->depth] = false;
	j->in_object[j->depth] = c == '{';
}

static void close_(struct ml_json *j, char c)
{
	bool had_items;

	if (j->depth <= 0 || j->after_key ||
	    j->in_object[j->depth] != (c == '}')) {
		misuse(j);
		return;
	}
	had_items = j->need_comma[j->depth];
	j->depth--;
	if (had_items)
		newline(j);
	put(j, &c, 1);
}

void ml_json_object_begin(struct ml_json *j) { open_(j, '{'); }
void ml_json_object_end(struct ml_json *j) { close_(j, '}'); }
void ml_json_array_begin(struct ml_json *j) { open_(j, '['); }
void ml_json_array_end(struct ml_json *j) { close_(j, ']'); }

/* Length of the valid UTF-8 sequence at s, or 0 when it is not valid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void ml_json_string_len(struct ml_json *j, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];

	before_value(j);
	put(j, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len;

		/* names are mostly plain ASCII: write a run of it at once */
		for (len = 0; i + len < n && s[i + len] >= 0x20 &&
			      s[i + len] < 0x7f && s[i + len] != '"' &&
			      s[i + len] != '\\';
		     len++)
			;
		if (len) {
			put(j, (const char *)s + i, len);
			i += len;
			continue;
		}
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(j, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(j, esc, 6);
			i++;
		} else if ((len = utf8_seq(s + i, n - i)) > 0) {
			put(j, (const char *)s + i, len);
			i += len;
		} else {
			puts_(j, "\\ufffd");
			i++;
		}
	}
	put(j, "\"", 1);
}

void ml_json_string(struct ml_json *j, const char *s)
{
	if (!s) {
		ml_json_null(j);
		return;
	}
	ml_json_string_len(j, s, strlen(s));
}

void ml_json_key(struct ml_json *j, const char *key)
{
	if (j->depth == 0 || !j->in_object[j->depth] || j->after_key || !key) {
		misuse(j);
		return;
	}
	before_item(j);
	j->after_key = true; /* the key string itself is not a value */
	ml_json_string(j, key);
	put(j, j->pretty ? ": " : ":", j->pretty ? 2 : 1);
	j->after_key = true;
}

/* Decimal digits of @v at the end of buf[24]; returns where they start. */
static char *format_u64(char buf[24], uint64_t v)
{
	char *o = buf + 24;

	do {
		*--o = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return o;
}

void ml_json_u64(struct ml_json *j, uint64_t v)
{
	char buf[24], *s = format_u64(buf, v);

	before_value(j);
	put(j, s, (size_t)(buf + 24 - s));
}

void ml_json_i64(struct ml_json *j, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	before_value(j);
	put(j, buf, (size_t)n);
}

void ml_json_bool(struct ml_json *j, bool v)
{
	before_value(j);
	puts_(j, v ? "true" : "false");
}

void ml_json_null(struct ml_json *j)
{
	before_value(j);
	puts_(j, "null");
}

int ml_json_finish(struct ml_json *j)
{
	if (j->depth != 0 || j->after_key || !j->need_comma[0])
		misuse(j);
	put(j, "\n", 1);
	if (!j->err && fflush(j->out) != 0)
		j->err = -EIO;
	return j->err;
}
