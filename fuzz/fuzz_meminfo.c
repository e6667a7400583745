// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the meminfo parser and the system accounting built on it. The
 * input sits in a buffer of exactly its size. A parse that succeeds has
 * MemTotal and MemFree; the system view's identity must add up (in the
 * modular arithmetic of its unsigned terms) whatever the numbers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/acct.h>
#include <memlens/proc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	struct ml_meminfo mi;
	struct ml_sys_mem s;
	int ret;

	if (!text)
		return 0;
	memcpy(text, data, size);
	ret = ml_meminfo_parse(text, size, &mi);
	if (ret != 0 && ret != -EINVAL)
		abort();
	if (ret == 0) {
		if (!ml_meminfo_has(&mi, ML_MI_MEM_TOTAL) ||
		    !ml_meminfo_has(&mi, ML_MI_MEM_FREE))
			abort();
		if (mi.present >> ML_MI__COUNT)
			abort();
		if (ml_acct_system(&mi, NULL, &s) != 0)
			abort();
		if (s.free + s.anon + s.file + s.shmem + s.swap_cached +
		    s.kernel + s.hugetlb + (uint64_t)s.unexplained != s.total)
			abort();
		if (s.swap_used > s.swap_total)
			abort();
	}
	free(text);
	return 0;
}
