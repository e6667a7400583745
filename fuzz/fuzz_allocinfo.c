// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the allocinfo text parser (the kernel's /proc/allocinfo, memlens'
 * own dumps). The input sits in a buffer of exactly its size. A parse that
 * succeeds has version 1, records whose strings lie inside the buffer
 * (they point into it) and non-empty file and function names.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/allocinfo.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void in_text(const char *s, const char *text, size_t size)
{
	if (s < text || s >= text + size || !memchr(s, '\0', size - (size_t)(s - text)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	struct ml_allocinfo a;
	int ret;

	if (!text)
		return 0;
	memcpy(text, data, size);
	ret = ml_allocinfo_parse(text, size, &a);
	if (ret != 0 && ret != -EINVAL)
		abort();
	if (ret == 0) {
		if (a.version_major != 1)
			abort();
		for (size_t i = 0; i < a.n; i++) {
			const struct ml_allocinfo_rec *r = &a.recs[i];

			in_text(r->file, text, size);
			in_text(r->func, text, size);
			if (r->module[0])
				in_text(r->module, text, size);
			if (!r->file[0] || !r->func[0])
				abort();
		}
		ml_allocinfo_free(&a);
	}
	free(text);
	return 0;
}
