// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the registry reader over registry bytes: what /proc/PID/mem hands a
 * reader of a hostile or corrupted process. The input is copied into a
 * buffer of exactly its size so that ASan catches any read past it.
 * Besides not crashing: a parse that succeeds gives sorted, non-overlapping,
 * page-aligned ranges whose names the kernel would accept, and a failure is
 * one of the documented errors.
 *
 * The seed corpus (fuzz/corpus/fuzz_names_registry/) holds real registries
 * copied out of a process: empty, a few ranges, thousands after growth.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/names.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_name_ranges r;
	uint8_t *buf = malloc(size ? size : 1);
	int err;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	err = ml_names_registry_parse(buf, size, &r);
	if (err == 0) {
		for (size_t i = 0; i < r.n; i++) {
			if (r.r[i].start >= r.r[i].end || (r.r[i].start & 4095) ||
			    (i && r.r[i].start < r.r[i - 1].end))
				abort();
			if (ml_name_check(r.r[i].name) != 0 ||
			    strlen(r.r[i].name) >= ML_NAME_MAX)
				abort();
		}
		ml_name_ranges_free(&r);
	} else if (err != -EINVAL && err != -EPROTO && err != -ESTALE &&
		   err != -EAGAIN && err != -ENOMEM) {
		abort();
	}
	free(buf);
	return 0;
}
