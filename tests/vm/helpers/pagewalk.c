// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pagewalk PID START END: the kernel's own view of a range of a process's
 * pages, read straight from /proc/PID/pagemap and /proc/kpageflags (root),
 * as ground truth for the VM tests. START and END are hex, END exclusive.
 * Prints one line of key=value:
 *
 *   pages        pages in the range
 *   present      pages present in RAM
 *   pfn_first    PFN of the first page (hex; 0 when not present)
 *   contiguous   yes when every page is present and PFNs run consecutively
 *   pfn_aligned  largest order (0..9) the first PFN is aligned to
 *   thp          pages with KPF_THP
 *   heads        pages with KPF_COMPOUND_HEAD (one per large folio)
 *   tails        pages with KPF_COMPOUND_TAIL
 *   soft_dirty   pages with pagemap bit 55
 *
 * Exit status 1 with a message when a file cannot be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PM_PRESENT (1ULL << 63)
#define PM_SOFT_DIRTY (1ULL << 55)
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define KPF_COMPOUND_HEAD 15
#define KPF_COMPOUND_TAIL 16
#define KPF_THP 22

static int read_u64(int fd, uint64_t idx, uint64_t *v, const char *what)
{
	if (pread(fd, v, 8, (off_t)(idx * 8)) != 8) {
		fprintf(stderr, "pagewalk: %s entry %" PRIu64 ": %s\n", what,
			idx, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start, end, pages, present = 0, thp = 0, heads = 0, tails = 0;
	uint64_t sd = 0, first = 0, prev = 0;
	int contiguous = 1, order = 0, pm, kf;
	char path[64];

	if (argc != 4) {
		fprintf(stderr, "usage: pagewalk PID START END\n");
		return 2;
	}
	start = strtoull(argv[2], NULL, 16);
	end = strtoull(argv[3], NULL, 16);
	if (end <= start || start % page) {
		fprintf(stderr, "pagewalk: bad range\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/pagemap", argv[1]);
	pm = open(path, O_RDONLY);
	kf = open("/proc/kpageflags", O_RDONLY);
	if (pm < 0 || kf < 0) {
		fprintf(stderr, "pagewalk: open %s: %s\n",
			pm < 0 ? path : "/proc/kpageflags", strerror(errno));
		return 1;
	}
	pages = (end - start + page - 1) / page;
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t e, pfn, flags;

		if (read_u64(pm, start / page + i, &e, "pagemap"))
			return 1;
		if (e & PM_SOFT_DIRTY)
			sd++;
		if (!(e & PM_PRESENT)) {
			contiguous = 0;
			continue;
		}
		present++;
		pfn = e & PM_PFN_MASK;
		if (i == 0)
			first = pfn;
		else if (pfn != prev + 1)
			contiguous = 0;
		prev = pfn;
		if (!pfn) /* no CAP_SYS_ADMIN: PFNs read as 0 */
			continue;
		if (read_u64(kf, pfn, &flags, "kpageflags"))
			return 1;
		thp += flags >> KPF_THP & 1;
		heads += flags >> KPF_COMPOUND_HEAD & 1;
		tails += flags >> KPF_COMPOUND_TAIL & 1;
	}
	while (first && order < 9 && !(first & ((2ULL << order) - 1)))
		order++;
	printf("pages=%" PRIu64 " present=%" PRIu64 " pfn_first=%" PRIx64
	       " contiguous=%s pfn_aligned=%d thp=%" PRIu64 " heads=%" PRIu64
	       " tails=%" PRIu64 " soft_dirty=%" PRIu64 "\n", pages, present,
	       first, contiguous && present == pages ? "yes" : "no", order, thp,
	       heads, tails, sd);
	return 0;
}
