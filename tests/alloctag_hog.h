/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What tests/alloctag_hog allocates: the test computes its expected
 * counters from these numbers, never from memlens' output.
 */
#ifndef ALLOCTAG_HOG_H
#define ALLOCTAG_HOG_H

#define HOG_KEEP_N 100		/* kept blocks at the "keep" site */
#define HOG_KEEP_SIZE 1000
#define HOG_PART_N 10		/* blocks at the "part" site ... */
#define HOG_PART_SIZE 4096
#define HOG_PART_FREED 4	/* ... of which these are freed */
#define HOG_REALLOC_N 5		/* malloc'd at one site, realloc'd at another */
#define HOG_REALLOC_FROM 100
#define HOG_REALLOC_TO 300
#define HOG_CAPTURE_N 3		/* blocks per "alloc" command at the capture site */
#define HOG_CAPTURE_SIZE 777

#endif
