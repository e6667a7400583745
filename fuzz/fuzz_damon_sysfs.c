// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the kernel DAMON sysfs readers (lib/damon/sysfs.c): the number
 * parsers on the whole input; and, when the input starts with "tree\n",
 * ml_damon_sysfs_read() on a tree under /tmp (made once) whose files get
 * the pieces of the rest of the input, split at "\n%%\n", in the order of
 * piece_files[] below (C is kdamonds/0/contexts/0, S its schemes/0). A
 * missing piece leaves its file absent. Besides not crashing: counts stay
 * within what the files said, words are terminated, and a parsed number
 * prints back as the digits it came from.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memlens/damon_sysfs.h>

#include "fake_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEP "\n%%\n"
#define K "kernel/mm/damon/admin/kdamonds"
#define C K "/0/contexts/0"
#define S C "/schemes/0"

static const char *const piece_files[] = {
	K "/nr_kdamonds",			/* 0 */
	K "/0/state",
	K "/0/pid",
	K "/0/contexts/nr_contexts",
	C "/avail_operations",
	C "/operations",			/* 5 */
	C "/monitoring_attrs/intervals/sample_us",
	C "/targets/nr_targets",
	C "/targets/0/pid_target",
	C "/targets/0/regions/nr_regions",
	C "/targets/0/regions/0/start",		/* 10 */
	C "/schemes/nr_schemes",
	S "/action",
	S "/access_pattern/sz/max",
	S "/filters/nr_filters",
	S "/filters/0/type",			/* 15 */
	S "/filters/0/memcg_path",
	S "/tried_regions/0/start",
	S "/tried_regions/0/nr_accesses",
	S "/ops_filters/nr_filters",
};

#define NR_PIECES (sizeof(piece_files) / sizeof(piece_files[0]))
#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)


static void fuzz_numbers(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	char buf[32];
	uint64_t v;
	int i;

	if (!ml_damon_sysfs_parse_u64(d, size, &v)) {
		/* digits and at most a final newline: they print back,
		 * leading zeros aside */
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
		if (size && d[size - 1] == '\n')
			size--;
		while (size > 1 && d[0] == '0') {
			d++;
			size--;
		}
		ASSERT(strlen(buf) == size && !memcmp(buf, d, size));
	}
	if (!ml_damon_sysfs_parse_int((const char *)data, size, &i))
		ASSERT(size && (data[0] == '-' ||
				(data[0] >= '0' && data[0] <= '9')));
}

static void check(const struct ml_kdamonds *k)
{
	ASSERT(k->nr <= 1024);
	for (size_t i = 0; i < k->nr; i++) {
		const struct ml_kdamond *kd = &k->kdamonds[i];

		ASSERT(kd->index == i);
		ASSERT(kd->err <= 0);
		for (size_t c = 0; c < kd->nr_contexts; c++) {
			const struct ml_kdamond_ctx *x = &kd->contexts[c];

			ASSERT(strnlen(x->operations, sizeof(x->operations)) <
			       sizeof(x->operations));
			ASSERT(strnlen(x->avail_operations,
				       sizeof(x->avail_operations)) <
			       sizeof(x->avail_operations));
			ASSERT(!x->nr_targets || x->targets);
			ASSERT(!x->nr_schemes || x->schemes);
			for (size_t s = 0; s < x->nr_schemes; s++) {
				const struct ml_kdamond_scheme *sc = &x->schemes[s];

				ASSERT(strnlen(sc->action, sizeof(sc->action)) <
				       sizeof(sc->action));
				ASSERT(!sc->nr_filters || sc->filters);
				ASSERT(!sc->nr_tried_regions || sc->tried_regions);
				ml_kdamond_scheme_is_stat_all(sc);
			}
		}
	}
}

static void fuzz_tree(const uint8_t *data, size_t size)
{
	const uint8_t *s = data, *end = data + size;
	struct ml_damon_sysfs *sfs;
	struct ml_kdamonds k;

	if (!make_root("fuzz_damon_sysfs", piece_files, NR_PIECES))
		return;
	for (size_t i = 0; i < NR_PIECES; i++) {
		const uint8_t *sep = s ? memmem(s, (size_t)(end - s), SEP,
						strlen(SEP)) : NULL;

		if (!s) {
			put(i, NULL, 0);
			continue;
		}
		put(i, s, (size_t)((sep ? sep : end) - s));
		s = sep ? sep + strlen(SEP) : NULL;
	}
	ML_OPTS(ml_damon_sysfs_opts, o, .sys_root = root, .settle_ms = 1);
	if (ml_damon_sysfs_open(&o, &sfs))
		return;
	if (!ml_damon_sysfs_read(sfs, &k)) {
		check(&k);
		ml_kdamonds_free(&k);
	}
	ml_damon_sysfs_close(sfs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 5 && !memcmp(data, "tree\n", 5))
		fuzz_tree(data + 5, size - 5);
	else
		fuzz_numbers(data, size);
	return 0;
}
