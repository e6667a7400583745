// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the text the feature probe reads: the THP/mTHP "enabled" mode
 * parser, the hugepages-<N>kB name parser and the /proc/swaps parser on the
 * whole input; and, when the input starts with "tree\n", the probe itself
 * on a fake sys and proc tree (made once) whose files receive the pieces of
 * the rest of the input, split at "\n%%\n", in this order:
 *
 *   0 transparent_hugepage/enabled     5 kdamonds/0/contexts/nr_contexts
 *   1 hugepages-64kB/enabled           6 kdamonds/0/contexts/0/operations
 *   2 hugepages-2048kB/enabled         7 .../contexts/0/avail_operations
 *   3 kdamonds/nr_kdamonds             8 proc/swaps
 *   4 kdamonds/0/state                 9 proc/sys/vm/mem_profiling
 *
 * A missing piece leaves its file absent. Besides not crashing, parsed
 * values must agree with the input and every detail must be a printable,
 * terminated string.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memlens/features.h>
#include <memlens/proc.h>

#include "fake_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEP "\n%%\n"
#define THP "sys/kernel/mm/transparent_hugepage"
#define KD "sys/kernel/mm/damon/admin/kdamonds"

static const char *const piece_files[] = {
	THP "/enabled",
	THP "/hugepages-64kB/enabled",
	THP "/hugepages-2048kB/enabled",
	KD "/nr_kdamonds",
	KD "/0/state",
	KD "/0/contexts/nr_contexts",
	KD "/0/contexts/0/operations",
	KD "/0/contexts/0/avail_operations",
	"proc/swaps",
	"proc/sys/vm/mem_profiling",
};

#define NR_PIECES (sizeof(piece_files) / sizeof(piece_files[0]))


#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

/* ---- parsers ------------------------------------------------------------- */

static size_t count_byte(const uint8_t *d, size_t n, uint8_t c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += d[i] == c;
	return k;
}

static void fuzz_thp_mode(const uint8_t *data, size_t size)
{
	enum ml_thp_mode mode = ML_THP_UNKNOWN;
	char want[16];

	if (ml_thp_mode_parse((const char *)data, size, &mode))
		return;
	/* one word selected, and it is the word the mode names */
	ASSERT(count_byte(data, size, '[') == 1 && count_byte(data, size, ']') == 1);
	ASSERT(mode >= ML_THP_ALWAYS && mode <= ML_THP_OTHER);
	if (mode != ML_THP_OTHER) {
		snprintf(want, sizeof(want), "[%s]", ml_thp_mode_name(mode));
		ASSERT(memmem(data, size, want, strlen(want)) != NULL);
	}
}

static void fuzz_mthp_name(const uint8_t *data, size_t size)
{
	char name[300];
	uint64_t sz = 0;

	if (size >= sizeof(name))
		return;
	memcpy(name, data, size);
	name[size] = '\0';
	if (ml_mthp_dir_size(name, &sz))
		return;
	ASSERT(sz && sz % 1024 == 0);
	ASSERT(strtoull(name + strlen("hugepages-"), NULL, 10) == sz / 1024);
}

static void fuzz_swaps(const uint8_t *data, size_t size)
{
	struct ml_swaps s;

	if (ml_swaps_parse((const char *)data, size, &s))
		return;
	/* one area per line after the header */
	ASSERT(s.nr_areas <= count_byte(data, size, '\n'));
	ASSERT(s.nr_areas || (!s.size_bytes && !s.used_bytes));
}

/* ---- the probe on a fake tree -------------------------------------------- */

static void check_features(const struct ml_features *f)
{
	for (int i = 0; i < ML_FEATURE__COUNT; i++) {
		const struct ml_feature *e = &f->f[i];
		size_t len = strnlen(e->detail, sizeof(e->detail));

		ASSERT(len < sizeof(e->detail));
		for (size_t k = 0; k < len; k++)
			ASSERT(e->detail[k] >= 0x20 && e->detail[k] < 0x7f);
		ASSERT(e->state <= ML_FEAT_NO_PERMISSION);
		ASSERT(e->fallback && e->key && e->name);
	}
	ASSERT(f->nr_mthp <= 2);
	ASSERT(f->nr_kdamonds_on <= 1);
	for (uint32_t i = 1; i < f->nr_mthp; i++)
		ASSERT(f->mthp[i - 1].size_bytes < f->mthp[i].size_bytes);
}

static void fuzz_tree(const uint8_t *data, size_t size)
{
	const uint8_t *s = data, *end = data + size;
	char proc[96], sys[96];
	struct ml_features f;
	struct ml_proc *p;

	if (!make_root("fuzz_features", piece_files, NR_PIECES))
		return;
	for (size_t i = 0; i < NR_PIECES; i++) {
		const uint8_t *sep = s ? memmem(s, (size_t)(end - s), SEP,
						strlen(SEP)) : NULL;
		const uint8_t *stop = sep ? sep : end;

		put(i, s, s ? (size_t)(stop - s) : 0);
		s = sep ? sep + strlen(SEP) : NULL;
	}
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(sys, sizeof(sys), "%s/sys", root);
	ML_OPTS(ml_proc_opts, o, .proc_root = proc, .sys_root = sys);
	if (ml_proc_new(&o, &p))
		return;
	ASSERT(ml_features_probe(p, &f) == 0);
	check_features(&f);
	ml_proc_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_thp_mode(data, size);
	fuzz_mthp_name(data, size);
	fuzz_swaps(data, size);
	if (size >= 5 && memcmp(data, "tree\n", 5) == 0)
		fuzz_tree(data + 5, size - 5);
	return 0;
}
