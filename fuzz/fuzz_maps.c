// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the maps line parser. The input is copied into a buffer of exactly
 * its size, without a terminating NUL, so that ASan catches any read or
 * write outside [pos, end) (the parser writes NULs into the text it parses).
 * Besides not crashing: every parsed VMA's name lies inside the text, its
 * end is not below its start, its perms are one of the kernel's letters,
 * and each call advances.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/proc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char perms_ok[4][3] = { "r-", "w-", "x-", "ps" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	char *pos = text, *end;
	struct ml_vma v;
	int ret;

	if (!text)
		return 0;
	memcpy(text, data, size);
	end = text + size;
	while ((ret = ml_maps_next(&pos, end, &v)) == 1) {
		unsigned sum = 0;

		if (v.name < text || v.name + v.name_len > end)
			abort();
		/* read every byte of the name: ASan checks it is ours */
		for (uint32_t i = 0; i < v.name_len; i++)
			sum += (unsigned char)v.name[i];
		if (v.name_len && sum == 0 && v.name[0] != '\0')
			abort();
		if (v.end < v.start || ml_vma_size(&v) != v.end - v.start)
			abort();
		for (int i = 0; i < 4; i++)
			if (!memchr(perms_ok[i], v.perms[i], 2))
				abort();
		if (v.perms[4] != '\0' || v.mem.rss || v.thp_eligible != -1)
			abort();
		(void)ml_vma_is_anon(&v);
		if (pos > end)
			abort();
	}
	if (ret != 0 && ret != -EINVAL)
		abort();
	free(text);
	return 0;
}
