// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the smaps record parser, the smaps_rollup parser and the
 * per-mapping accounting fed by them. The input is copied into a buffer of
 * exactly its size (no NUL after it: the parsers must not touch *end), once
 * for the smaps loop and once for the rollup. The VMAs parsed are added to
 * a mapping table twice (two "processes"), which is then sorted and added
 * to again: every entry must end with nr_procs 3 and nr_vmas three times
 * the VMAs of its name, as counted here.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/acct.h>
#include <memlens/proc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VMAS 256

static char *copy(const uint8_t *data, size_t size)
{
	char *t = malloc(size ? size : 1);

	if (t)
		memcpy(t, data, size);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ml_vma v[MAX_VMAS];
	struct ml_vma_list l = { .v = v };
	struct ml_mapping_table t = { 0 };
	struct ml_mem mem;
	char *text = copy(data, size), *pos, *end;
	uint64_t vmas_total = 0;
	int ret;

	if (!text)
		return 0;
	pos = text;
	end = text + size;
	while (l.n < MAX_VMAS && (ret = ml_smaps_next(&pos, end, &v[l.n])) == 1) {
		const struct ml_vma *x = &v[l.n];

		if (x->name < text || x->name + x->name_len > end || pos > end)
			abort();
		if (x->thp_eligible < -1 || x->thp_eligible > 1)
			abort();
		l.n++;
	}
	if (l.n < MAX_VMAS && ret != 0 && ret != -EINVAL)
		abort();

	/* two processes with the same VMAs, a sort, a third */
	if (ml_mapping_table_add(&t, &l) == 0 &&
	    ml_mapping_table_add(&t, &l) == 0) {
		ml_mapping_table_sort(&t, (enum ml_sort_key)(size % 4));
		if (ml_mapping_table_add(&t, &l) == 0) {
			for (size_t i = 0; i < t.n; i++) {
				if (t.m[i].nr_procs != 3 || t.m[i].nr_vmas % 3)
					abort();
				vmas_total += t.m[i].nr_vmas;
				for (size_t k = 0; k < i; k++)
					if (!strcmp(t.m[k].name, t.m[i].name))
						abort(); /* one entry per name */
			}
			if (vmas_total != 3 * l.n)
				abort();
		}
	}
	ml_mapping_table_free(&t);
	free(text);

	text = copy(data, size);
	if (!text)
		return 0;
	ret = ml_smaps_rollup_parse(text, size, &mem);
	if (ret != 0 && ret != -EINVAL && ret != -ENODATA)
		abort();
	if (ret == -ENODATA && size != 0)
		abort();
	free(text);
	return 0;
}
