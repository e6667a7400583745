// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mlallocdump: a program with memlens call-site tags (ml_malloc) that
 * writes its own report in the allocinfo format (ml_alloctag_dump) to
 * stdout, for 75-allocinfo-memlens.sh to compare with the kernel's.
 * Live at the dump: 10 x 100 bytes (main), 3 x 4096 bytes (grow()).
 */
#include <stdio.h>
#include <stdlib.h>

#include <memlens/alloctag.h>

static void *keep[16];

__attribute__((noinline)) static void grow(int i)
{
	keep[10 + i] = ml_malloc(4096);
}

int main(void)
{
	for (int i = 0; i < 10; i++)
		keep[i] = ml_malloc(100);
	for (int i = 0; i < 3; i++)
		grow(i);
	return ml_alloctag_dump(stdout, ML_ALLOCTAG_ALLOCINFO, NULL) ? 1 : 0;
}
