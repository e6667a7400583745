// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The packed region and range blobs of a recording (damon_record.h): a
 * format byte, a shift byte, then unsigned LEB128 varints per region. Gaps
 * and sizes instead of addresses make most numbers one or two bytes, and
 * the shift drops the zero low bits every address shares (12 for pages),
 * so 1,000 regions take ~5 KB instead of 24 KB, and decode at ~10 ns each.
 *
 * The decoder reads hostile bytes: every varint is bounded, every sum
 * checked for overflow, and the count must match exactly.
 */
#include <errno.h>
#include <string.h>

#include <memlens/damon_record.h>

#include "../util/util.h"

#define BLOB_FORMAT 1

static inline uint8_t *put_uvarint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* At most 10 bytes, no bits past 64; false on anything else. */
static inline bool get_uvarint(const uint8_t **pp, const uint8_t *end,
			       uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	unsigned shift = 0;

	if (likely(p < end && *p < 0x80)) {	/* most numbers are one byte */
		*out = *p;
		*pp = p + 1;
		return true;
	}
	while (p < end) {
		uint8_t b = *p++;

		if (shift == 63 && b > 1)
			return false;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*out = v;
			return true;
		}
		shift += 7;
		if (shift > 63)
			return false;
	}
	return false;
}

/* The common number of zero low bits of every boundary (0..63). */
static unsigned common_shift(const struct ml_damon_region *regions,
			     const struct ml_damon_range *ranges, size_t nr)
{
	uint64_t bits = 0;

	for (size_t i = 0; i < nr; i++) {
		if (regions)
			bits |= regions[i].start | regions[i].end;
		else
			bits |= ranges[i].start | ranges[i].end;
	}
	return bits ? (unsigned)__builtin_ctzll(bits) : 0;
}

ssize_t ml_damon_rec_encode(const struct ml_damon_region *regions,
			    const struct ml_damon_range *ranges, size_t nr,
			    uint8_t *buf, size_t cap)
{
	unsigned shift = common_shift(regions, ranges, nr);
	uint64_t prev_end = 0;
	uint8_t *p = buf;

	/* a varint is at most 10 bytes: 4 per region, 2 header bytes */
	if (cap < 2 + nr * 40)
		return -ENOBUFS;
	*p++ = BLOB_FORMAT;
	*p++ = (uint8_t)shift;
	for (size_t i = 0; i < nr; i++) {
		uint64_t start = regions ? regions[i].start : ranges[i].start;
		uint64_t end = regions ? regions[i].end : ranges[i].end;

		p = put_uvarint(p, (start - prev_end) >> shift);
		p = put_uvarint(p, (end - start) >> shift);
		if (regions) {
			p = put_uvarint(p, regions[i].nr_accesses);
			p = put_uvarint(p, regions[i].age);
		}
		prev_end = end;
	}
	return p - buf;
}

int ml_damon_rec_decode(const uint8_t *blob, size_t len, size_t nr,
			struct ml_damon_region *regions,
			struct ml_damon_range *ranges)
{
	const uint8_t *p = blob, *end = blob + len;
	uint64_t prev_end = 0, gap, size, nr_acc, age;
	unsigned shift;

	if (len < 2 || p[0] != BLOB_FORMAT || p[1] > 63)
		return -EBADMSG;
	shift = p[1];
	p += 2;
	for (size_t i = 0; i < nr; i++) {
		uint64_t start, stop;

		if (!get_uvarint(&p, end, &gap) || !get_uvarint(&p, end, &size))
			return -EBADMSG;
		/* shifting back must not lose bits; regions are not empty */
		if (size == 0 || gap > (UINT64_MAX >> shift) ||
		    size > (UINT64_MAX >> shift))
			return -EBADMSG;
		gap <<= shift;
		size <<= shift;
		if (__builtin_add_overflow(prev_end, gap, &start) ||
		    __builtin_add_overflow(start, size, &stop))
			return -EBADMSG;
		if (regions) {
			if (!get_uvarint(&p, end, &nr_acc) ||
			    !get_uvarint(&p, end, &age) ||
			    nr_acc > UINT32_MAX || age > UINT32_MAX)
				return -EBADMSG;
			regions[i] = (struct ml_damon_region){
				.start = start, .end = stop,
				.nr_accesses = (uint32_t)nr_acc,
				.age = (uint32_t)age,
			};
		} else {
			ranges[i] = (struct ml_damon_range){ start, stop };
		}
		prev_end = stop;
	}
	return p == end ? 0 : -EBADMSG;
}
