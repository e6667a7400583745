// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The streaming JSON writer: nesting and commas, compact and pretty layout,
 * escapes, invalid UTF-8 replaced by U+FFFD, misuse and write errors. Each
 * output is compared with a string written out by hand.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/json.h>

#include "tap.h"

/* A writer on a memory stream; out() ends it and returns the text. */
struct mem_out {
	char *buf;
	size_t len;
	FILE *f;
	struct ml_json j;
};

static void mem_open(struct mem_out *m, bool pretty)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	CHECK(m->f != NULL);
	ml_json_init(&m->j, m->f, pretty);
}

/* Finish the document; returns ml_json_finish's result. */
static int mem_close(struct mem_out *m)
{
	int err = ml_json_finish(&m->j);

	fclose(m->f);
	return err;
}

/* One string value as a whole document. */
static void check_string(const char *in, size_t len, const char *want)
{
	struct mem_out m;

	mem_open(&m, false);
	ml_json_string_len(&m.j, in, len);
	CHECK_EQ(mem_close(&m), 0);
	CHECK_STR(m.buf, want);
	free(m.buf);
}

static void test_nesting(void)
{
	struct mem_out m;

	mem_open(&m, false);
	ml_json_object_begin(&m.j);
	ml_json_kv_u64(&m.j, "a", 1);
	ml_json_key(&m.j, "b");
	ml_json_array_begin(&m.j);
	ml_json_u64(&m.j, 1);
	ml_json_u64(&m.j, 2);
	ml_json_object_begin(&m.j);
	ml_json_key(&m.j, "c");
	ml_json_null(&m.j);
	ml_json_object_end(&m.j);
	ml_json_array_begin(&m.j);
	ml_json_array_end(&m.j);
	ml_json_array_end(&m.j);
	ml_json_key(&m.j, "d");
	ml_json_object_begin(&m.j);
	ml_json_object_end(&m.j);
	ml_json_key(&m.j, "e");
	ml_json_bool(&m.j, true);
	ml_json_key(&m.j, "f");
	ml_json_bool(&m.j, false);
	ml_json_kv_i64(&m.j, "g", -5);
	ml_json_kv_str(&m.j, "h", "x");
	ml_json_key(&m.j, "i");
	ml_json_string(&m.j, NULL);
	ml_json_object_end(&m.j);
	CHECK_EQ(mem_close(&m), 0);
	CHECK_STR(m.buf, "{\"a\":1,\"b\":[1,2,{\"c\":null},[]],\"d\":{},"
			 "\"e\":true,\"f\":false,\"g\":-5,\"h\":\"x\",\"i\":null}\n");
	free(m.buf);

	/* top-level array of objects, as `ps --json` writes */
	mem_open(&m, false);
	ml_json_array_begin(&m.j);
	for (int i = 0; i < 3; i++) {
		ml_json_object_begin(&m.j);
		ml_json_kv_i64(&m.j, "pid", i);
		ml_json_object_end(&m.j);
	}
	ml_json_array_end(&m.j);
	CHECK_EQ(mem_close(&m), 0);
	CHECK_STR(m.buf, "[{\"pid\":0},{\"pid\":1},{\"pid\":2}]\n");
	free(m.buf);

	/* an empty top-level array */
	mem_open(&m, false);
	ml_json_array_begin(&m.j);
	ml_json_array_end(&m.j);
	CHECK_EQ(mem_close(&m), 0);
	CHECK_STR(m.buf, "[]\n");
	free(m.buf);
}

static void test_pretty(void)
{
	struct mem_out m;

	mem_open(&m, true);
	ml_json_object_begin(&m.j);
	ml_json_kv_u64(&m.j, "a", 1);
	ml_json_key(&m.j, "b");
	ml_json_array_begin(&m.j);
	ml_json_u64(&m.j, 1);
	ml_json_object_begin(&m.j);
	ml_json_kv_str(&m.j, "c", "d");
	ml_json_object_end(&m.j);
	ml_json_array_end(&m.j);
	ml_json_key(&m.j, "e");
	ml_json_object_begin(&m.j);
	ml_json_object_end(&m.j);
	ml_json_object_end(&m.j);
	CHECK_EQ(mem_close(&m), 0);
	CHECK_STR(m.buf,
		  "{\n"
		  "  \"a\": 1,\n"
		  "  \"b\": [\n"
		  "    1,\n"
		  "    {\n"
		  "      \"c\": \"d\"\n"
		  "    }\n"
		  "  ],\n"
		  "  \"e\": {}\n"
		  "}\n");
	free(m.buf);
}

static void test_numbers(void)
{
	struct mem_out m;

	mem_open(&m, false);
	ml_json_array_begin(&m.j);
	ml_json_u64(&m.j, 0);
	ml_json_u64(&m.j, UINT64_MAX);
	ml_json_i64(&m.j, INT64_MIN);
	ml_json_i64(&m.j, INT64_MAX);
	ml_json_array_end(&m.j);
	CHECK_EQ(mem_close(&m), 0);
	CHECK_STR(m.buf, "[0,18446744073709551615,-9223372036854775808,"
			 "9223372036854775807]\n");
	free(m.buf);
}

static void test_escapes(void)
{
	/* quote, backslash; '/' needs none */
	check_string("q\"b\\s/", 6, "\"q\\\"b\\\\s/\"\n");
	/* control characters as \u00XX, DEL too */
	check_string("\n\t\r\b\f", 5, "\"\\u000a\\u0009\\u000d\\u0008\\u000c\"\n");
	check_string("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"\n");
	/* a NUL inside a counted string */
	check_string("a\0b", 3, "\"a\\u0000b\"\n");
	check_string("", 0, "\"\"\n");
	/* keys are escaped too */
	{
		struct mem_out m;

		mem_open(&m, false);
		ml_json_object_begin(&m.j);
		ml_json_kv_str(&m.j, "k\"\n", "[anon:a\\b]");
		ml_json_object_end(&m.j);
		CHECK_EQ(mem_close(&m), 0);
		CHECK_STR(m.buf, "{\"k\\\"\\u000a\":\"[anon:a\\\\b]\"}\n");
		free(m.buf);
	}
}

static void test_utf8(void)
{
	/* valid sequences of 2, 3 and 4 bytes are kept as they are */
	check_string("\xc3\xa9", 2, "\"\xc3\xa9\"\n");                 /* é */
	check_string("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"\n");         /* € */
	check_string("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"\n"); /* 😀 */
	check_string("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\"\n"); /* U+10FFFF */
	check_string("\xef\xbf\xbd", 3, "\"\xef\xbf\xbd\"\n");         /* U+FFFD */
	check_string("\xc2\x80", 2, "\"\xc2\x80\"\n");                 /* U+0080 */

	/* every byte of an invalid sequence becomes one U+FFFD */
	check_string("\xff", 1, "\"\\ufffd\"\n");
	check_string("\x80", 1, "\"\\ufffd\"\n");              /* lone continuation */
	check_string("a\xc3", 2, "\"a\\ufffd\"\n");            /* cut at the end */
	check_string("\xc3(", 2, "\"\\ufffd(\"\n");            /* bad continuation */
	check_string("\xe2\x82", 2, "\"\\ufffd\\ufffd\"\n");   /* cut 3-byte */
	check_string("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"\n");   /* overlong '/' */
	check_string("\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\"\n");
	check_string("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"\n"); /* U+D800 */
	check_string("\xf4\x90\x80\x80", 4,                    /* past U+10FFFF */
		     "\"\\ufffd\\ufffd\\ufffd\\ufffd\"\n");
	check_string("\xf8\x88\x80\x80\x80", 5,                /* 5-byte form */
		     "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"\n");
	/* a file name of mixed bytes: good, bad, good */
	check_string("/tmp/\xc3\xa9\xff.so", 11, "\"/tmp/\xc3\xa9\\ufffd.so\"\n");
}

static void test_misuse(void)
{
	struct mem_out m;

	/* unbalanced: not closed */
	mem_open(&m, false);
	ml_json_object_begin(&m.j);
	CHECK_EQ(mem_close(&m), -EINVAL);
	free(m.buf);

	/* closed once too often */
	mem_open(&m, false);
	ml_json_array_begin(&m.j);
	ml_json_array_end(&m.j);
	ml_json_array_end(&m.j);
	CHECK_EQ(mem_close(&m), -EINVAL);
	free(m.buf);

	/* deeper than ML_JSON_MAX_DEPTH */
	mem_open(&m, false);
	for (int i = 0; i < ML_JSON_MAX_DEPTH + 2; i++)
		ml_json_array_begin(&m.j);
	CHECK_EQ(m.j.err, -EINVAL);
	for (int i = 0; i < ML_JSON_MAX_DEPTH + 2; i++)
		ml_json_array_end(&m.j);
	CHECK_EQ(mem_close(&m), -EINVAL);
	free(m.buf);

	/* the deepest allowed nesting works: 31 levels */
	mem_open(&m, false);
	for (int i = 0; i < ML_JSON_MAX_DEPTH - 1; i++)
		ml_json_array_begin(&m.j);
	for (int i = 0; i < ML_JSON_MAX_DEPTH - 1; i++)
		ml_json_array_end(&m.j);
	CHECK_EQ(mem_close(&m), 0);
	CHECK_EQ(strlen(m.buf), 2 * (ML_JSON_MAX_DEPTH - 1) + 1);
	free(m.buf);

	/* misuse of structure: each must be reported, never written silently */
	{
		static const char *const cases[] = {
			"key in array", "value without key", "mismatched close",
			"key then close", "two documents", "no document",
		};

		for (int c = 0; c < 6; c++) {
			mem_open(&m, false);
			switch (c) {
			case 0:
				ml_json_array_begin(&m.j);
				ml_json_key(&m.j, "k");
				ml_json_u64(&m.j, 1);
				ml_json_array_end(&m.j);
				break;
			case 1:
				ml_json_object_begin(&m.j);
				ml_json_u64(&m.j, 1);
				ml_json_object_end(&m.j);
				break;
			case 2:
				ml_json_object_begin(&m.j);
				ml_json_array_end(&m.j);
				break;
			case 3:
				ml_json_object_begin(&m.j);
				ml_json_key(&m.j, "k");
				ml_json_object_end(&m.j);
				break;
			case 4:
				ml_json_u64(&m.j, 1);
				ml_json_u64(&m.j, 2);
				break;
			case 5:
				break;
			}
			if (mem_close(&m) != -EINVAL)
				printf("# misuse not reported: %s\n", cases[c]);
			CHECK_EQ(m.j.err, -EINVAL);
			free(m.buf);
		}
	}

	/* a stream that cannot be written */
	{
		FILE *f = fopen("/dev/null", "r");
		struct ml_json j;

		CHECK(f != NULL);
		if (f) {
			setvbuf(f, NULL, _IONBF, 0);
			ml_json_init(&j, f, false);
			ml_json_array_begin(&j);
			ml_json_u64(&j, 1);
			ml_json_array_end(&j);
			CHECK_EQ(ml_json_finish(&j), -EIO);
			fclose(f);
		}
	}
}

TAP_MAIN(TEST(test_nesting), TEST(test_pretty), TEST(test_numbers),
	 TEST(test_escapes), TEST(test_utf8), TEST(test_misuse))
