// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Internal helpers every module uses: growable arrays, and faulting in
 * memory about to be written in one call.
 */
#include <sys/mman.h>

#include "util.h"

int grow_array(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

void prefault(void *addr, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t page = 4096;
	uintptr_t start = ((uintptr_t)addr + page - 1) & ~(page - 1);
	uintptr_t stop = ((uintptr_t)addr + len) & ~(page - 1);

	if (len >= (64u << 10) && stop > start)
		madvise((void *)start, stop - start, MADV_POPULATE_WRITE);
#else
	(void)addr;
	(void)len;
#endif
}
