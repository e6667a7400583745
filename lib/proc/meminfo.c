// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parser for /proc/meminfo: "Key:   value kB" lines, some without a unit
 * (HugePages_Total). Unknown keys are skipped, as new kernels add them.
 */
#include <string.h>

#include "internal.h"

static const char *const meminfo_names[ML_MI__COUNT] = {
	[ML_MI_MEM_TOTAL] = "MemTotal",
	[ML_MI_MEM_FREE] = "MemFree",
	[ML_MI_MEM_AVAILABLE] = "MemAvailable",
	[ML_MI_BUFFERS] = "Buffers",
	[ML_MI_CACHED] = "Cached",
	[ML_MI_SWAP_CACHED] = "SwapCached",
	[ML_MI_ACTIVE_ANON] = "Active(anon)",
	[ML_MI_INACTIVE_ANON] = "Inactive(anon)",
	[ML_MI_ACTIVE_FILE] = "Active(file)",
	[ML_MI_INACTIVE_FILE] = "Inactive(file)",
	[ML_MI_UNEVICTABLE] = "Unevictable",
	[ML_MI_MLOCKED] = "Mlocked",
	[ML_MI_SWAP_TOTAL] = "SwapTotal",
	[ML_MI_SWAP_FREE] = "SwapFree",
	[ML_MI_ZSWAP] = "Zswap",
	[ML_MI_ZSWAPPED] = "Zswapped",
	[ML_MI_DIRTY] = "Dirty",
	[ML_MI_WRITEBACK] = "Writeback",
	[ML_MI_ANON_PAGES] = "AnonPages",
	[ML_MI_MAPPED] = "Mapped",
	[ML_MI_SHMEM] = "Shmem",
	[ML_MI_KRECLAIMABLE] = "KReclaimable",
	[ML_MI_SLAB] = "Slab",
	[ML_MI_SRECLAIMABLE] = "SReclaimable",
	[ML_MI_SUNRECLAIM] = "SUnreclaim",
	[ML_MI_KERNEL_STACK] = "KernelStack",
	[ML_MI_PAGE_TABLES] = "PageTables",
	[ML_MI_SEC_PAGE_TABLES] = "SecPageTables",
	[ML_MI_VMALLOC_USED] = "VmallocUsed",
	[ML_MI_PERCPU] = "Percpu",
	[ML_MI_ANON_HUGE_PAGES] = "AnonHugePages",
	[ML_MI_SHMEM_HUGE_PAGES] = "ShmemHugePages",
	[ML_MI_FILE_HUGE_PAGES] = "FileHugePages",
	[ML_MI_HUGETLB] = "Hugetlb",
	[ML_MI_HUGEPAGES_TOTAL] = "HugePages_Total",
	[ML_MI_HUGEPAGESIZE] = "Hugepagesize",
};

const char *ml_meminfo_field_name(enum ml_meminfo_field f)
{
	return (unsigned)f < ML_MI__COUNT ? meminfo_names[f] : NULL;
}

static int lookup(const char *key, size_t len)
{
	for (int i = 0; i < ML_MI__COUNT; i++)
		if (strlen(meminfo_names[i]) == len &&
		    memcmp(meminfo_names[i], key, len) == 0)
			return i;
	return -1;
}

/* " 1234 kB" or " 1234": bytes, or a plain count. */
static int parse_value(const char *p, const char *eol, uint64_t *out)
{
	uint64_t v;

	p = skip_blanks(p, eol);
	if (!parse_u64(&p, eol, &v))
		return -EINVAL;
	p = skip_blanks(p, eol);
	if (p == eol) {
		*out = v;
		return 0;
	}
	if (eol - p != 2 || memcmp(p, "kB", 2) != 0)
		return -EINVAL;
	*out = kib_to_bytes(v);
	return 0;
}

int ml_meminfo_parse(const char *text, size_t len, struct ml_meminfo *mi)
{
	const char *s = text, *end = text + len;

	memset(mi, 0, sizeof(*mi));
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *colon;
		int f;

		if (!eol)
			eol = end;
		colon = memchr(s, ':', (size_t)(eol - s));
		if (!colon)
			return -EINVAL;
		f = lookup(s, (size_t)(colon - s));
		if (f >= 0) {
			if (parse_value(colon + 1, eol, &mi->v[f]))
				return -EINVAL;
			mi->present |= 1ULL << f;
		}
		s = eol < end ? eol + 1 : end;
	}
	if (!ml_meminfo_has(mi, ML_MI_MEM_TOTAL) ||
	    !ml_meminfo_has(mi, ML_MI_MEM_FREE))
		return -EINVAL;
	return 0;
}

int ml_proc_meminfo(struct ml_proc *p, struct ml_meminfo *mi)
{
	char *text;
	ssize_t n = ml_proc_read(p, 0, "meminfo", &text);

	if (n < 0)
		return (int)n;
	return ml_meminfo_parse(text, (size_t)n, mi);
}
