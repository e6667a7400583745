/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the fixture-based tests share: opening a fixture proc root, and the
 * fixtures' very long mapping name (tests/fixtures/make-fixtures.py writes
 * it as LONG_PATH; rebuilt here independently of the library).
 */
#ifndef MEMLENS_TEST_FIXTURES_H
#define MEMLENS_TEST_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/proc.h>

#include "tap.h"

static inline struct ml_proc *open_root(const char *root)
{
	ML_OPTS(ml_proc_opts, o, .proc_root = root);
	struct ml_proc *p = NULL;

	CHECK_EQ(ml_proc_new(&o, &p), 0);
	return p;
}

/* The 4218-byte name of the fixtures (make-fixtures.py, LONG_PATH). */
static inline char *long_path(void)
{
	char *s = malloc(8192), *o = s;

	o += sprintf(o, "/srv/deep/");
	for (int i = 0; i < 70; i++) {
		o += sprintf(o, "%slevel%03d-", i ? "/" : "", i);
		memset(o, 'x', 50);
		o += 50;
	}
	strcpy(o, "/blob.bin");
	return s;
}

#endif
