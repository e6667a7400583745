// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmemlens' pagemap and kpageflags readers on the guest kernel, against
 * raw pread()s of the same files: a 2 MiB THP (one compound head, 511
 * tails, every page KPF_THP), never-touched pages, a MAP_SHARED file page
 * (the file bit), the top of the user address space. Also an example of a
 * guest test in C:
 * built static against libmemlens.a, prints "check ok:"/"check FAIL:" lines,
 * exits 1 on any failure (77 to skip).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memlens/pagemap.h>
#include <memlens/proc.h>

#define HPAGE (2UL << 20)

static int nr_fail, nr_check;

#define CHECK(cond, ...) do { \
	nr_check++; \
	printf("check %s: ", (cond) ? "ok" : "FAIL"); \
	printf(__VA_ARGS__); \
	putchar('\n'); \
	if (!(cond)) nr_fail++; \
} while (0)

static uint64_t raw(int fd, uint64_t idx)
{
	uint64_t v = ~0ULL;

	if (pread(fd, &v, 8, (off_t)(idx * 8)) != 8)
		return ~0ULL;
	return v;
}

int main(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = HPAGE / page;
	struct ml_proc *p = NULL;
	struct ml_pagemap *pm = NULL;
	struct ml_kpage *kp = NULL;
	uint64_t *pme = calloc(n, 8), *flags = calloc(n, 8);
	int rawpm = open("/proc/self/pagemap", O_RDONLY);
	int rawkf = open("/proc/kpageflags", O_RDONLY);
	char *raw_area, *thp, *lazy, *shared;
	size_t mismatches = 0, heads = 0, tails = 0, thps = 0;
	int err, fd;

	if (!pme || !flags || rawpm < 0 || rawkf < 0) {
		printf("check FAIL: setup: %s\n", strerror(errno));
		return 1;
	}
	err = ml_proc_new(NULL, &p);
	CHECK(err == 0, "ml_proc_new: %d", err);
	err = ml_pagemap_open(p, getpid(), &pm);
	CHECK(err == 0, "ml_pagemap_open(self): %d", err);
	err = ml_kpage_open(p, &kp);
	CHECK(err == 0, "ml_kpage_open: %d", err);
	if (nr_fail)
		return 1;

	/* a THP: 2 MiB aligned, MADV_HUGEPAGE, written */
	raw_area = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	thp = (char *)(((uintptr_t)raw_area + HPAGE - 1) & ~(HPAGE - 1));
	madvise(thp, HPAGE, MADV_HUGEPAGE);
	memset(thp, 1, HPAGE);
	CHECK(ml_pagemap_read(pm, (uintptr_t)thp, n, pme) == (ssize_t)n,
	      "ml_pagemap_read of %zu entries", n);
	for (size_t i = 0; i < n; i++)
		mismatches += pme[i] != raw(rawpm, (uintptr_t)thp / page + i);
	CHECK(mismatches == 0, "THP: pagemap entries = raw pread (%zu differ)",
	      mismatches);
	CHECK(ml_pme_present(pme[0]) && ml_pme_pfn(pme[0]) % n == 0,
	      "THP: first page present, PFN %#" PRIx64 " 2M-aligned",
	      ml_pme_pfn(pme[0]));
	CHECK(ml_kpageflags_read(kp, ml_pme_pfn(pme[0]), n, flags) == (ssize_t)n,
	      "ml_kpageflags_read of %zu frames", n);
	mismatches = 0;
	for (size_t i = 0; i < n; i++) {
		mismatches += flags[i] != raw(rawkf, ml_pme_pfn(pme[0]) + i);
		heads += flags[i] >> ML_KPF_COMPOUND_HEAD & 1;
		tails += flags[i] >> ML_KPF_COMPOUND_TAIL & 1;
		thps += flags[i] >> ML_KPF_THP & 1;
	}
	CHECK(mismatches == 0, "THP: kpageflags = raw pread (%zu differ)",
	      mismatches);
	CHECK(heads == 1 && tails == n - 1 && thps == n,
	      "THP: %zu head, %zu tails, %zu KPF_THP (want 1, %zu, %zu)", heads,
	      tails, thps, n - 1, n);

	/* never touched: not present, no PFN */
	lazy = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ml_pagemap_read(pm, (uintptr_t)lazy, 16, pme) == 16 &&
	      !ml_pme_present(pme[0]) && !ml_pme_present(pme[15]) &&
	      ml_pme_pfn(pme[0]) == 0,
	      "untouched pages: not present, PFN 0");

	/* a shared file page: present, file bit */
	fd = open("shared", O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(4 * page))) {
		printf("check FAIL: shared file: %s\n", strerror(errno));
		return 1;
	}
	shared = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	memset(shared, 2, 4 * page);
	CHECK(ml_pagemap_read(pm, (uintptr_t)shared, 4, pme) == 4 &&
	      ml_pme_present(pme[3]) && ml_pme_file_or_shared(pme[3]) &&
	      pme[3] == raw(rawpm, (uintptr_t)shared / page + 3),
	      "shared file page: present, file bit, = raw pread");

	/* past the top of the user address space: short read */
	CHECK(ml_pagemap_read(pm, (UINT64_C(1) << 47) - 2 * page, 4, pme) == 1,
	      "read across the top of user space stops there");

	ml_kpage_close(kp);
	ml_pagemap_close(pm);
	ml_proc_free(p);
	printf("%d checks, %d failed\n", nr_check, nr_fail);
	return nr_fail ? 1 : 0;
}
