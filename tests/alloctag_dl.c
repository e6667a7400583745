// SPDX-License-Identifier: LGPL-2.1-or-later
/* A library for the dlopen/dlclose test: one tagged site at a known line. */
#include <memlens/alloctag.h>

int dl_line;

void *dl_alloc(size_t n);
void *dl_alloc(size_t n)
{
	dl_line = __LINE__; return ml_malloc(n);
}
