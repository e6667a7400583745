/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/json.h - a small streaming JSON writer for exports.
 *
 * The writer tracks nesting and commas; strings are escaped per RFC 8259,
 * bytes that are not valid UTF-8 become U+FFFD so output always parses.
 * Misuse (a key inside an array, a value without a key inside an object,
 * a close that does not match its open) sets err to -EINVAL.
 */
#ifndef MEMLENS_JSON_H
#define MEMLENS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ML_JSON_MAX_DEPTH 32

struct ml_json {
	FILE *out;
	bool pretty;
	int depth;
	bool need_comma[ML_JSON_MAX_DEPTH];
	bool in_object[ML_JSON_MAX_DEPTH]; /* else an array */
	bool after_key;
	int err; /* first error (-EINVAL on misuse, -EIO on write failure) */
};

void ml_json_init(struct ml_json *j, FILE *out, bool pretty);
void ml_json_object_begin(struct ml_json *j);
void ml_json_object_end(struct ml_json *j);
void ml_json_array_begin(struct ml_json *j);
void ml_json_array_end(struct ml_json *j);
void ml_json_key(struct ml_json *j, const char *key);
void ml_json_string(struct ml_json *j, const char *s);
void ml_json_string_len(struct ml_json *j, const char *s, size_t len);
void ml_json_u64(struct ml_json *j, uint64_t v);
void ml_json_i64(struct ml_json *j, int64_t v);
void ml_json_bool(struct ml_json *j, bool v);
void ml_json_null(struct ml_json *j);
/* Ends the document with a newline; returns j->err. */
int ml_json_finish(struct ml_json *j);

/* key + value shorthands */
static inline void ml_json_kv_u64(struct ml_json *j, const char *k, uint64_t v)
{
	ml_json_key(j, k);
	ml_json_u64(j, v);
}

static inline void ml_json_kv_i64(struct ml_json *j, const char *k, int64_t v)
{
	ml_json_key(j, k);
	ml_json_i64(j, v);
}

static inline void ml_json_kv_str(struct ml_json *j, const char *k,
				  const char *v)
{
	ml_json_key(j, k);
	ml_json_string(j, v);
}

#ifdef __cplusplus
}
#endif
#endif
