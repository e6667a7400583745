// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A live target for the allocinfo tests: allocations at known sites and
 * sizes (alloctag_hog.h), then commands on stdin:
 *   alloc  HOG_CAPTURE_N blocks at the capture site; answers "done"
 *   exit   (or end of input) exits
 * The first line it prints is "ready KEEP PART FROM TO CAPTURE": the line
 * numbers of its sites, from the compiler. With the argument "exit-soon"
 * it exits a second after "ready".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <memlens/alloctag.h>

#include "alloctag_hog.h"

static int line_capture;

/* not inlined: the captured stacks must show this function's name */
void *hog_capture_site(size_t n);
static void *volatile last;
__attribute__((noinline)) void *hog_capture_site(size_t n)
{
	void *p;

	line_capture = __LINE__; p = ml_malloc(n);
	last = p; /* work after the call: not a tail call, the frame stays */
	return p;
}

int main(int argc, char **argv)
{
	static void *keep[HOG_KEEP_N], *part[HOG_PART_N], *re[HOG_REALLOC_N];
	void *caught[1024];
	size_t nr_caught = 0;
	int line_keep, line_part, line_from, line_to;
	char cmd[64];

	prctl(PR_SET_NAME, "alloctag_hog", 0, 0, 0);
	for (int i = 0; i < HOG_KEEP_N; i++) {
		line_keep = __LINE__; keep[i] = ml_malloc(HOG_KEEP_SIZE);
	}
	for (int i = 0; i < HOG_PART_N; i++) {
		line_part = __LINE__; part[i] = ml_calloc(1, HOG_PART_SIZE);
	}
	for (int i = 0; i < HOG_PART_FREED; i++)
		ml_free(part[i]);
	for (int i = 0; i < HOG_REALLOC_N; i++) {
		line_from = __LINE__; re[i] = ml_malloc(HOG_REALLOC_FROM);
	}
	for (int i = 0; i < HOG_REALLOC_N; i++) {
		line_to = __LINE__; re[i] = ml_realloc(re[i], HOG_REALLOC_TO);
	}
	ml_free(hog_capture_site(1)); /* learns the site's line */
	printf("ready %d %d %d %d %d\n", line_keep, line_part, line_from,
	       line_to, line_capture);
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "exit-soon") == 0) {
		sleep(1);
		return 0;
	}
	while (fgets(cmd, sizeof(cmd), stdin)) {
		if (strcmp(cmd, "alloc\n") == 0) {
			for (int i = 0; i < HOG_CAPTURE_N && nr_caught < 1024; i++)
				caught[nr_caught++] = hog_capture_site(HOG_CAPTURE_SIZE);
			printf("done\n");
			fflush(stdout);
		} else if (strcmp(cmd, "exit\n") == 0) {
			break;
		}
	}
	/* the kept blocks live until exit, on purpose */
	(void)keep;
	(void)caught;
	return 0;
}
