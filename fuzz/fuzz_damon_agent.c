// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the reader of what libmemlens-damon.so publishes: the bytes a
 * hostile or corrupted process hands memlens through /proc/PID/mem. The
 * input is copied into a buffer of exactly its size so that ASan catches
 * any read past it. Besides not crashing: a parse that succeeds gives
 * sorted, disjoint, non-empty regions whose counts are within the scale,
 * and a failure is one of the documented errors.
 *
 * The seed corpus (fuzz/corpus/fuzz_damon_agent/) holds real publications
 * copied out of damon_target running the agent (a few regions, many, two
 * schemes with their statistics), one taken mid-write, and a failed
 * agent's.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/damon.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_damon_agent_snap s = { 0 };
	uint8_t *buf = malloc(size ? size : 1);
	int err;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* twice: the second parse reuses the first's buffer */
	for (int round = 0; round < 2; round++) {
		err = ml_damon_agent_parse(buf, size, &s);
		if (err && err != -EINVAL && err != -EAGAIN && err != -ENOMEM)
			abort();
		if (err)
			continue;
		for (size_t i = 0; i < s.snap.nr_regions; i++) {
			const struct ml_damon_region *r = &s.snap.regions[i];

			if (r->start >= r->end ||
			    (i && r->start < s.snap.regions[i - 1].end) ||
			    r->nr_accesses > s.snap.max_nr_accesses)
				abort();
		}
		if (s.nr_schemes > ML_DAMON_AGENT_MAX_SCHEMES)
			abort();
		if (!memchr(s.ops, '\0', sizeof(s.ops)) ||
		    !memchr(s.why, '\0', sizeof(s.why)))
			abort();
	}
	ml_damon_agent_snap_free(&s);
	free(buf);
	return 0;
}
