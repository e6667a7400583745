/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal helpers shared by the library's modules: cleanup attributes,
 * bounded number parsing, growable arrays. Nothing here is public.
 */
#ifndef MEMLENS_UTIL_H
#define MEMLENS_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Parse an unsigned decimal at *p (no sign, no space), stopping at @end or
 * the first non-digit. Returns false when there is no digit or on overflow.
 */
static inline bool parse_u64(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || !is_digit(*s))
		return false;
	for (; s < end && is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

/* Same for hexadecimal (no 0x prefix). */
static inline bool parse_hex_u64(const char **p, const char *end,
				 uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int d;

	if (s >= end || hex_value(*s) < 0)
		return false;
	for (; s < end && (d = hex_value(*s)) >= 0; s++) {
		if (v >> 60)
			return false;
		v = (v << 4) | (unsigned)d;
	}
	*p = s;
	*out = v;
	return true;
}

static inline const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* kB value to bytes, saturating instead of wrapping on hostile input. */
static inline uint64_t kib_to_bytes(uint64_t kib)
{
	return kib > (UINT64_MAX >> 10) ? UINT64_MAX : kib << 10;
}

/*
 * Make room for one more element in a growable array of @elem bytes.
 * Returns 0 or -ENOMEM; *arr and *cap are updated on growth.
 */
int grow_array(void **arr, size_t *cap, size_t n, size_t elem);

/*
 * Fault in the whole pages of [addr, addr + len) that the caller is about
 * to write, with one call rather than one page fault per page, which costs
 * several times more (12 µs a page under a paravirtualised MMU). Only for
 * 64 KiB and more; a hint: kernels before 5.14 refuse it.
 */
void prefault(void *addr, size_t len);

#endif
