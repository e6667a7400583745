// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the status, statm and cmdline parsers with the same bytes, in a
 * buffer of exactly the input's size. statm runs with page sizes 4096, 1
 * and 0; cmdline formatting into buffers of several sizes must leave a
 * NUL-terminated string of at most sz - 1 bytes holding no byte below 0x20.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/proc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 1, 2, 16, 4096 };
	static const uint64_t pages[] = { 4096, 1, 0 };
	char *text = malloc(size ? size : 1);
	struct ml_status st;
	struct ml_statm sm;
	int ret;

	if (!text)
		return 0;
	memcpy(text, data, size);

	ret = ml_status_parse(text, size, &st);
	if (ret != 0 && ret != -EINVAL)
		abort();
	if (memchr(st.name, '\0', sizeof(st.name)) == NULL)
		abort();

	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		ret = ml_statm_parse(text, size, pages[i], &sm);
		if (ret != 0 && ret != -EINVAL)
			abort();
		if (ret == 0 && pages[i] == 0 && (sm.size || sm.resident))
			abort();
	}

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *buf = malloc(sizes[i]);
		size_t n;

		if (!buf)
			break;
		if (ml_cmdline_format(text, size, buf, sizes[i]) != 0)
			abort();
		n = strnlen(buf, sizes[i]);
		if (n >= sizes[i] || n > size)
			abort();
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)buf[k] < 0x20 || buf[k] == 0x7f)
				abort();
		free(buf);
	}
	free(text);
	return 0;
}
