// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pagemap, kpageflags and kpagecount: decoders and batched reads on fixture
 * files built here, whose entries are composed from the bit layout in the
 * kernel's Documentation/admin-guide/mm/pagemap.rst (written as literal
 * shifts, not with the ML_ constants under test); then the live /proc of
 * this process, checked against what the test itself mapped and touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/pagemap.h>
#include <memlens/proc.h>

#include "tap.h"

#define FIXTURE_PID 4242
#define BIT(n) (UINT64_C(1) << (n))

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* 6.15+ */
#endif

/* ---- fixture proc roots ------------------------------------------------- */

struct fixture {
	char root[64];
	char pid_dir[96];
};

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Write <root>/<name> (name may be "4242/pagemap"). */
static void fixture_put(const struct fixture *f, const char *name,
			const void *data, size_t len)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", f->root, name);
	CHECK_EQ(write_file(path, data, len), 0);
}

static bool fixture_init(struct fixture *f)
{
	snprintf(f->root, sizeof(f->root), "/tmp/memlens-pagemap-XXXXXX");
	if (!mkdtemp(f->root)) {
		printf("# mkdtemp: %s\n", strerror(errno));
		CHECK(false);
		return false;
	}
	snprintf(f->pid_dir, sizeof(f->pid_dir), "%s/%d", f->root,
		 FIXTURE_PID);
	CHECK_EQ(mkdir(f->pid_dir, 0700), 0);
	return true;
}

static void fixture_fini(const struct fixture *f)
{
	static const char *const files[] = {
		"4242/pagemap", "kpageflags", "kpagecount",
	};
	char path[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->root, files[i]);
		unlink(path);
	}
	rmdir(f->pid_dir);
	rmdir(f->root);
}

static struct ml_proc *fixture_proc(const struct fixture *f)
{
	ML_OPTS(ml_proc_opts, o, .proc_root = f->root);
	struct ml_proc *p = NULL;

	CHECK_EQ(ml_proc_new(&o, &p), 0);
	return p;
}

/* ---- constants ------------------------------------------------------------ */

/* The bit positions as pagemap.rst and kernel-page-flags.h list them. */
static void test_constants(void)
{
	CHECK_U64(ML_PME_PFN_MASK, BIT(55) - 1);
	CHECK_U64(ML_PME_SWAP_TYPE_MASK, 0x1f);
	CHECK_EQ(ML_PME_SWAP_OFFSET_SHIFT, 5);
	CHECK_U64(ML_PME_SOFT_DIRTY, BIT(55));
	CHECK_U64(ML_PME_EXCLUSIVE, BIT(56));
	CHECK_U64(ML_PME_UFFD_WP, BIT(57));
	CHECK_U64(ML_PME_GUARD_REGION, BIT(58));
	CHECK_U64(ML_PME_FILE, BIT(61));
	CHECK_U64(ML_PME_SWAP, BIT(62));
	CHECK_U64(ML_PME_PRESENT, BIT(63));

	CHECK_EQ(ML_KPF_LOCKED, 0);
	CHECK_EQ(ML_KPF_ERROR, 1);
	CHECK_EQ(ML_KPF_REFERENCED, 2);
	CHECK_EQ(ML_KPF_UPTODATE, 3);
	CHECK_EQ(ML_KPF_DIRTY, 4);
	CHECK_EQ(ML_KPF_LRU, 5);
	CHECK_EQ(ML_KPF_ACTIVE, 6);
	CHECK_EQ(ML_KPF_SLAB, 7);
	CHECK_EQ(ML_KPF_WRITEBACK, 8);
	CHECK_EQ(ML_KPF_RECLAIM, 9);
	CHECK_EQ(ML_KPF_BUDDY, 10);
	CHECK_EQ(ML_KPF_MMAP, 11);
	CHECK_EQ(ML_KPF_ANON, 12);
	CHECK_EQ(ML_KPF_SWAPCACHE, 13);
	CHECK_EQ(ML_KPF_SWAPBACKED, 14);
	CHECK_EQ(ML_KPF_COMPOUND_HEAD, 15);
	CHECK_EQ(ML_KPF_COMPOUND_TAIL, 16);
	CHECK_EQ(ML_KPF_HUGE, 17);
	CHECK_EQ(ML_KPF_UNEVICTABLE, 18);
	CHECK_EQ(ML_KPF_HWPOISON, 19);
	CHECK_EQ(ML_KPF_NOPAGE, 20);
	CHECK_EQ(ML_KPF_KSM, 21);
	CHECK_EQ(ML_KPF_THP, 22);
	CHECK_EQ(ML_KPF_OFFLINE, 23);
	CHECK_EQ(ML_KPF_ZERO_PAGE, 24);
	CHECK_EQ(ML_KPF_IDLE, 25);
	CHECK_EQ(ML_KPF_PGTABLE, 26);
}

/* ---- decoders ------------------------------------------------------------- */

/* One fixture entry and what each decoder must say about it. */
struct pme_case {
	uint64_t raw;
	bool present, swapped, soft_dirty, exclusive, uffd_wp, guard, file;
	uint64_t pfn;
	unsigned int swap_type;
	uint64_t swap_offset;
};

static const struct pme_case pme_cases[] = {
	/* 0: never touched */
	{ .raw = 0 },
	/* 1: present anon page, mapped only here, soft-dirty */
	{ .raw = BIT(63) | BIT(56) | BIT(55) | 0x12345,
	  .present = true, .exclusive = true, .soft_dirty = true,
	  .pfn = 0x12345 },
	/* 2: swapped to device 3 at page 0xabcde, soft-dirty */
	{ .raw = BIT(62) | BIT(55) | (UINT64_C(0xabcde) << 5) | 3,
	  .swapped = true, .soft_dirty = true,
	  .swap_type = 3, .swap_offset = 0xabcde },
	/* 3: present file page with the largest PFN the field holds */
	{ .raw = BIT(63) | BIT(61) | (BIT(55) - 1),
	  .present = true, .file = true, .pfn = BIT(55) - 1 },
	/* 4: a guard marker, which the kernel reports as a swap pte */
	{ .raw = BIT(62) | BIT(58),
	  .swapped = true, .guard = true },
	/* 5: present and uffd write-protected, PFN 1 */
	{ .raw = BIT(63) | BIT(57) | 1,
	  .present = true, .uffd_wp = true, .pfn = 1 },
	/* 6: swap type and offset at their largest: no bleeding */
	{ .raw = BIT(62) | (BIT(55) - 1),
	  .swapped = true, .swap_type = 31, .swap_offset = BIT(50) - 1 },
	/* 7: present, unprivileged reader: PFN hidden as 0 */
	{ .raw = BIT(63) | BIT(56),
	  .present = true, .exclusive = true, .pfn = 0 },
	/* 8: reserved bits 59-60 set: ignored by every decoder */
	{ .raw = BIT(59) | BIT(60) | 0x777 },
	/* 9: every bit: present wins for PFN, swap fields still decode */
	{ .raw = UINT64_MAX,
	  .present = true, .swapped = true, .soft_dirty = true,
	  .exclusive = true, .uffd_wp = true, .guard = true, .file = true,
	  .pfn = BIT(55) - 1, .swap_type = 31, .swap_offset = BIT(50) - 1 },
};

#define NR_PME_CASES (sizeof(pme_cases) / sizeof(pme_cases[0]))

static void check_pme(size_t i, uint64_t e)
{
	const struct pme_case *c = &pme_cases[i];

	if (e != c->raw)
		printf("# entry %zu\n", i);
	CHECK_U64(e, c->raw);
	CHECK_EQ(ml_pme_present(e), c->present);
	CHECK_EQ(ml_pme_swapped(e), c->swapped);
	CHECK_EQ(ml_pme_soft_dirty(e), c->soft_dirty);
	CHECK_EQ(ml_pme_exclusive(e), c->exclusive);
	CHECK_EQ(ml_pme_uffd_wp(e), c->uffd_wp);
	CHECK_EQ(ml_pme_guard(e), c->guard);
	CHECK_EQ(ml_pme_file_or_shared(e), c->file);
	CHECK_U64(ml_pme_pfn(e), c->pfn);
	CHECK_EQ(ml_pme_swap_type(e), c->swap_type);
	CHECK_U64(ml_pme_swap_offset(e), c->swap_offset);
}

static void test_decoders(void)
{
	for (size_t i = 0; i < NR_PME_CASES; i++)
		check_pme(i, pme_cases[i].raw);
}

/* ---- pagemap on a fixture ------------------------------------------------ */

/* A truncated last entry (a fixture cut short) is not an entry. */
static void check_truncated_pagemap(const struct fixture *f, struct ml_proc *p,
				    const uint64_t *raw)
{
	unsigned char buf[2 * 8 + 4];
	struct ml_pagemap *pm = NULL;
	uint64_t got[3], ps;

	memcpy(buf, raw, sizeof(buf));
	fixture_put(f, "4242/pagemap", buf, sizeof(buf));
	CHECK_EQ(ml_pagemap_open(p, FIXTURE_PID, &pm), 0);
	if (!pm)
		return;
	ps = ml_pagemap_page_size(pm);
	CHECK_EQ(ml_pagemap_read(pm, 0, 3, got), 2);
	CHECK_EQ(ml_pagemap_read(pm, ps, 2, got), 1);
	check_pme(1, got[0]);
	CHECK_EQ(ml_pagemap_read(pm, 2 * ps, 1, got), 0);
	ml_pagemap_close(pm);
}

static void test_fixture_pagemap(void)
{
	uint64_t raw[NR_PME_CASES], got[NR_PME_CASES + 8];
	struct ml_pagemap *pm = NULL;
	struct fixture f;
	struct ml_proc *p;
	uint64_t ps;
	ssize_t n;

	if (!fixture_init(&f))
		return;
	for (size_t i = 0; i < NR_PME_CASES; i++)
		raw[i] = pme_cases[i].raw;
	fixture_put(&f, "4242/pagemap", raw, sizeof(raw));
	p = fixture_proc(&f);
	if (!p)
		goto out;
	CHECK_EQ(ml_pagemap_open(p, FIXTURE_PID, &pm), 0);
	if (!pm)
		goto out_proc;
	ps = ml_pagemap_page_size(pm);
	CHECK_U64(ps, (uint64_t)sysconf(_SC_PAGESIZE));

	/* the whole file in one read, every decoder on every entry */
	n = ml_pagemap_read(pm, 0, NR_PME_CASES, got);
	CHECK_EQ(n, NR_PME_CASES);
	for (ssize_t i = 0; i < n; i++)
		check_pme((size_t)i, got[i]);

	/* an address inside page 3 starts at entry 3 */
	memset(got, 0, sizeof(got));
	n = ml_pagemap_read(pm, 3 * ps + 123, 4, got);
	CHECK_EQ(n, 4);
	for (ssize_t i = 0; i < n; i++)
		check_pme((size_t)(3 + i), got[i]);

	/* crossing the end of the file: only what is there */
	n = ml_pagemap_read(pm, 7 * ps, 8, got);
	CHECK_EQ(n, NR_PME_CASES - 7);
	for (ssize_t i = 0; i < n; i++)
		check_pme((size_t)(7 + i), got[i]);

	/* at and past the end, and at the top of the address space */
	CHECK_EQ(ml_pagemap_read(pm, NR_PME_CASES * ps, 1, got), 0);
	CHECK_EQ(ml_pagemap_read(pm, 1000 * ps, 5, got), 0);
	CHECK_EQ(ml_pagemap_read(pm, UINT64_MAX, 1, got), 0);
	CHECK_EQ(ml_pagemap_read(pm, 0, 0, got), 0);

	/* bad arguments */
	CHECK_EQ(ml_pagemap_read(pm, 0, 1, NULL), -EINVAL);
	CHECK_EQ(ml_pagemap_read(pm, 0, SIZE_MAX, got), -EINVAL);
	CHECK_EQ(ml_pagemap_read(NULL, 0, 1, got), -EINVAL);
	ml_pagemap_close(pm);

	check_truncated_pagemap(&f, p, raw);
out_proc:
	ml_proc_free(p);
out:
	fixture_fini(&f);
}

/* ---- kpageflags and kpagecount on a fixture ------------------------------ */

static const uint64_t kpf_fixture[] = {
	/* 0: free page in the buddy allocator */
	BIT(10),
	/* 1: mapped anon page on the active LRU */
	BIT(12) | BIT(11) | BIT(5) | BIT(6) | BIT(14) | BIT(3) | BIT(4),
	/* 2: slab */
	BIT(7),
	/* 3: head of an anon THP */
	BIT(22) | BIT(15) | BIT(12) | BIT(11) | BIT(5),
	/* 4: tail of it */
	BIT(22) | BIT(16) | BIT(12) | BIT(11) | BIT(5),
	/* 5: the zero page */
	BIT(24) | BIT(11),
	/* 6: no struct page */
	BIT(20),
	/* 7: page table, with a kernel-hacking bit (32: reserved) */
	BIT(26) | BIT(32),
};

static const uint64_t kpc_fixture[] = { 0, 1, 0, 3, 3, 57, 0, 0 };

#define NR_KPF (sizeof(kpf_fixture) / sizeof(kpf_fixture[0]))

static void check_kpf(uint64_t pfn, uint64_t flags)
{
	bool anon = pfn == 1 || pfn == 3 || pfn == 4;

	CHECK_U64(flags, kpf_fixture[pfn]);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_ANON), anon);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_MMAP), anon || pfn == 5);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_BUDDY), pfn == 0);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_SLAB), pfn == 2);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_THP), pfn == 3 || pfn == 4);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_COMPOUND_HEAD), pfn == 3);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_COMPOUND_TAIL), pfn == 4);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_ZERO_PAGE), pfn == 5);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_NOPAGE), pfn == 6);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_PGTABLE), pfn == 7);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_ACTIVE), pfn == 1);
	CHECK_EQ(ml_kpf_has(flags, ML_KPF_HWPOISON), false);
	CHECK_EQ(ml_kpf_has(flags, 64), false);
}

/* One file missing: the other still reads, the missing one says why. */
static void check_missing_kpage(const struct fixture *f, struct ml_proc *p)
{
	struct ml_kpage *k = NULL;
	char path[160];
	uint64_t got;

	snprintf(path, sizeof(path), "%s/kpagecount", f->root);
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(ml_kpage_open(p, &k), 0);
	if (k) {
		CHECK_EQ(ml_kpagecount_read(k, 0, 0, NULL), -ENOENT);
		CHECK_EQ(ml_kpagecount_read(k, 0, 1, &got), -ENOENT);
		CHECK_EQ(ml_kpageflags_read(k, 0, 0, NULL), 0);
		CHECK_EQ(ml_kpageflags_read(k, 1, 1, &got), 1);
		check_kpf(1, got);
		ml_kpage_close(k);
	}

	/* both missing: nothing to open */
	snprintf(path, sizeof(path), "%s/kpageflags", f->root);
	CHECK_EQ(unlink(path), 0);
	k = NULL;
	CHECK_EQ(ml_kpage_open(p, &k), -ENOENT);
	CHECK(k == NULL);
}

static void test_fixture_kpage(void)
{
	uint64_t got[NR_KPF + 4];
	struct ml_kpage *k = NULL;
	struct fixture f;
	struct ml_proc *p;
	ssize_t n;

	if (!fixture_init(&f))
		return;
	fixture_put(&f, "kpageflags", kpf_fixture, sizeof(kpf_fixture));
	fixture_put(&f, "kpagecount", kpc_fixture, sizeof(kpc_fixture));
	p = fixture_proc(&f);
	if (!p)
		goto out;
	CHECK_EQ(ml_kpage_open(p, &k), 0);
	if (!k)
		goto out_proc;

	n = ml_kpageflags_read(k, 0, NR_KPF, got);
	CHECK_EQ(n, NR_KPF);
	for (ssize_t i = 0; i < n; i++)
		check_kpf((uint64_t)i, got[i]);

	/* from PFN 2 across the end */
	n = ml_kpageflags_read(k, 2, NR_KPF, got);
	CHECK_EQ(n, NR_KPF - 2);
	for (ssize_t i = 0; i < n; i++)
		check_kpf((uint64_t)(2 + i), got[i]);

	n = ml_kpagecount_read(k, 3, 4, got);
	CHECK_EQ(n, 4);
	CHECK_U64(got[0], 3);
	CHECK_U64(got[1], 3);
	CHECK_U64(got[2], 57);
	CHECK_U64(got[3], 0);
	CHECK_EQ(ml_kpagecount_read(k, 7, 3, got), 1);
	CHECK_EQ(ml_kpagecount_read(k, NR_KPF, 1, got), 0);
	CHECK_EQ(ml_kpageflags_read(k, UINT64_MAX, 2, got), 0);
	CHECK_EQ(ml_kpageflags_read(k, 0, 0, NULL), 0);
	CHECK_EQ(ml_kpagecount_read(k, 0, 0, NULL), 0);
	CHECK_EQ(ml_kpageflags_read(k, 0, 1, NULL), -EINVAL);
	CHECK_EQ(ml_kpageflags_read(NULL, 0, 1, got), -EINVAL);
	ml_kpage_close(k);

	check_missing_kpage(&f, p);
out_proc:
	ml_proc_free(p);
out:
	fixture_fini(&f);
}

/* ---- live: this process's own pagemap ----------------------------------- */

#define LIVE_PAGES 64

/*
 * Map LIVE_PAGES private anonymous pages without THP (a huge or mTHP folio
 * would fault in the untouched neighbours too) and write every other one.
 */
static char *map_every_other(size_t ps)
{
	char *m = mmap(NULL, LIVE_PAGES * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED) {
		printf("# mmap: %s\n", strerror(errno));
		CHECK(false);
		return NULL;
	}
	madvise(m, LIVE_PAGES * ps, MADV_NOHUGEPAGE);
	/* a write, not a read: a read maps the shared zero page */
	for (size_t i = 0; i < LIVE_PAGES; i += 2)
		m[i * ps] = (char)(i + 1);
	return m;
}

static struct ml_pagemap *open_self(struct ml_proc **p)
{
	struct ml_pagemap *pm = NULL;

	*p = NULL;
	CHECK_EQ(ml_proc_new(NULL, p), 0);
	if (!*p)
		return NULL;
	CHECK_EQ(ml_pagemap_open(*p, getpid(), &pm), 0);
	return pm;
}

/* Root: every present page has a PFN, and the PFN is a mapped anon page. */
static void check_live_pfns(struct ml_proc *p, const uint64_t *e)
{
	uint64_t flags, count;
	struct ml_kpage *k = NULL;
	int checked = 0;

	CHECK_EQ(ml_kpage_open(p, &k), 0);
	if (!k)
		return;
	for (size_t i = 0; i < LIVE_PAGES; i += 2) {
		uint64_t pfn = ml_pme_pfn(e[i]);

		CHECK(pfn != 0);
		if (!pfn)
			continue;
		CHECK_EQ(ml_kpageflags_read(k, pfn, 1, &flags), 1);
		CHECK_EQ(ml_kpagecount_read(k, pfn, 1, &count), 1);
		CHECK(ml_kpf_has(flags, ML_KPF_ANON));
		CHECK(ml_kpf_has(flags, ML_KPF_MMAP));
		CHECK(!ml_kpf_has(flags, ML_KPF_ZERO_PAGE));
		CHECK_U64(count, 1);
		for (size_t j = 0; j < i; j += 2)
			CHECK(ml_pme_pfn(e[j]) != pfn);
		checked++;
	}
	CHECK_EQ(checked, LIVE_PAGES / 2);
	ml_kpage_close(k);
}

static void test_live_present(void)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t e[LIVE_PAGES];
	struct ml_pagemap *pm;
	struct ml_proc *p;
	char *m;

	m = map_every_other(ps);
	if (!m)
		return;
	pm = open_self(&p);
	if (!pm)
		goto out;
	CHECK_EQ(ml_pagemap_read(pm, (uintptr_t)m, LIVE_PAGES, e),
		 LIVE_PAGES);
	for (size_t i = 0; i < LIVE_PAGES; i++) {
		bool touched = i % 2 == 0;

		CHECK_EQ(ml_pme_present(e[i]), touched);
		CHECK(!ml_pme_swapped(e[i]));
		CHECK(!ml_pme_file_or_shared(e[i]));
		/* never forked: each written page is mapped only here */
		CHECK_EQ(ml_pme_exclusive(e[i]), touched);
	}
	if (geteuid() == 0) {
		check_live_pfns(p, e);
	} else {
		printf("# not root: PFN checks skipped, PFNs must read 0\n");
		for (size_t i = 0; i < LIVE_PAGES; i++)
			CHECK_U64(ml_pme_pfn(e[i]), 0);
	}
	ml_pagemap_close(pm);
out:
	ml_proc_free(p);
	munmap(m, LIVE_PAGES * ps);
}

/* A hole punched with munmap reads as entries, none of them present. */
static void test_live_unmapped(void)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t e[LIVE_PAGES];
	struct ml_pagemap *pm;
	struct ml_proc *p;
	char *m;

	m = map_every_other(ps);
	if (!m)
		return;
	for (size_t i = 1; i < LIVE_PAGES; i += 2)
		m[i * ps] = 1;
	CHECK_EQ(munmap(m + 16 * ps, 16 * ps), 0);
	pm = open_self(&p);
	if (!pm)
		goto out;
	CHECK_EQ(ml_pagemap_read(pm, (uintptr_t)m, LIVE_PAGES, e),
		 LIVE_PAGES);
	for (size_t i = 0; i < LIVE_PAGES; i++) {
		bool mapped = i < 16 || i >= 32;

		CHECK_EQ(ml_pme_present(e[i]), mapped);
		CHECK(!ml_pme_swapped(e[i]));
	}
	ml_pagemap_close(pm);
out:
	ml_proc_free(p);
	munmap(m, 16 * ps);
	munmap(m + 32 * ps, 32 * ps);
}

/* Guard regions (6.15+) show as bit 58 on exactly the guarded pages. */
static void test_live_guard(void)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t e[16];
	struct ml_pagemap *pm;
	struct ml_proc *p;
	char *m;

	m = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	for (size_t i = 0; i < 16; i += 4) {
		if (madvise(m + i * ps, ps, MADV_GUARD_INSTALL) < 0) {
			printf("# skip: no MADV_GUARD_INSTALL (%s)\n",
			       strerror(errno));
			munmap(m, 16 * ps);
			return;
		}
	}
	pm = open_self(&p);
	if (!pm)
		goto out;
	CHECK_EQ(ml_pagemap_read(pm, (uintptr_t)m, 16, e), 16);
	for (size_t i = 0; i < 16; i++) {
		CHECK_EQ(ml_pme_guard(e[i]), i % 4 == 0);
		CHECK(!ml_pme_present(e[i]));
	}
	ml_pagemap_close(pm);
out:
	ml_proc_free(p);
	munmap(m, 16 * ps);
}

/* A process that exits after the open reads as an empty file. */
static void test_live_exited(void)
{
	struct ml_pagemap *pm = NULL;
	struct ml_proc *p = NULL;
	int pipefd[2], status;
	uint64_t e[4];
	pid_t child;
	char c;

	CHECK_EQ(pipe(pipefd), 0);
	child = fork();
	CHECK(child >= 0);
	if (child < 0)
		return;
	if (child == 0) {
		/* wait until the parent has opened us, then go away */
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pipefd[0]);
	CHECK_EQ(ml_proc_new(NULL, &p), 0);
	if (p)
		CHECK_EQ(ml_pagemap_open(p, child, &pm), 0);
	close(pipefd[1]);
	CHECK_EQ(waitpid(child, &status, 0), child);
	if (pm) {
		CHECK_EQ(ml_pagemap_read(pm, 0x400000, 4, e), 0);
		ml_pagemap_close(pm);
	}
	ml_proc_free(p);
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors(void)
{
	struct ml_pagemap *pm = NULL;
	struct ml_kpage *k = NULL;
	struct ml_proc *p = NULL;
	struct fixture f;

	/* live /proc: pid 0 is not "self"; a pid above pid_max never exists */
	CHECK_EQ(ml_proc_new(NULL, &p), 0);
	if (p) {
		CHECK_EQ(ml_pagemap_open(p, 0, &pm), -EINVAL);
		CHECK_EQ(ml_pagemap_open(p, -1, &pm), -EINVAL);
		CHECK_EQ(ml_pagemap_open(p, INT_MAX, &pm), -ESRCH);
		CHECK_EQ(ml_pagemap_open(p, getpid(), NULL), -EINVAL);
		CHECK(pm == NULL);
		ml_proc_free(p);
	}
	CHECK_EQ(ml_pagemap_open(NULL, getpid(), &pm), -EINVAL);
	CHECK_EQ(ml_kpage_open(NULL, &k), -EINVAL);
	ml_pagemap_close(NULL);
	ml_kpage_close(NULL);

	/* fixture: no pid directory is -ESRCH, no pagemap in it -ENOENT */
	if (!fixture_init(&f))
		return;
	p = fixture_proc(&f);
	if (p) {
		CHECK_EQ(ml_pagemap_open(p, 999, &pm), -ESRCH);
		CHECK_EQ(ml_pagemap_open(p, FIXTURE_PID, &pm), -ENOENT);
		CHECK_EQ(ml_kpage_open(p, &k), -ENOENT);
		CHECK(pm == NULL && k == NULL);
		ml_proc_free(p);
	}
	fixture_fini(&f);
}

TAP_MAIN(TEST(test_constants), TEST(test_decoders),
	 TEST(test_fixture_pagemap), TEST(test_fixture_kpage),
	 TEST(test_live_present), TEST(test_live_unmapped),
	 TEST(test_live_guard), TEST(test_live_exited), TEST(test_errors))
