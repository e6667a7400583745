// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Contiguity (lib/contig, memlens contig): mem_hist.py's histogram with its
 * quirks, the corrected histogram, physically contiguous run bins and folio
 * sizes.
 *
 * Where the expected figures come from:
 *  - hand-made layouts whose figures are worked out in the comments beside
 *    them (every quirk, every run bin, every folio kind);
 *  - two reference implementations written here from the definitions, not
 *    from the library: a line-by-line transcription of mem_hist.py's loop
 *    (block by block, page by page) and "the largest aligned fully present
 *    block holding each page", run on random layouts;
 *  - live processes this test builds: a 2 MiB THP (one order-9 block, one
 *    2M run, one 2M folio, AnonHugePages 2048 kB), 4K pages touched with
 *    holes, a file mapping, the zero page, a 64 GiB PROT_NONE reservation
 *    and a sparse 64 GiB mapping, and a reader without privileges.
 *
 * Fixture files are built in a mkdtemp directory: smaps text, and pagemap,
 * kpageflags, kpagecount entries written at their offsets with the bit
 * layout of Documentation/admin-guide/mm/pagemap.rst spelt out as shifts.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memlens/contig.h>
#include <memlens/pagemap.h>
#include <memlens/proc.h>

#include "tap.h"

#define BIT(n) (UINT64_C(1) << (n))
#define PM_PRESENT BIT(63)
#define PAGE 4096u
#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)

/* kpageflags bits (include/uapi/linux/kernel-page-flags.h) */
#define F_LRU BIT(5)
#define F_MMAP BIT(11)
#define F_ANON BIT(12)
#define F_HEAD BIT(15)
#define F_TAIL BIT(16)
#define F_HUGE BIT(17)
#define F_THP BIT(22)
#define F_ZERO BIT(24)

static bool page_size_ok(void)
{
	if (sysconf(_SC_PAGESIZE) == PAGE)
		return true;
	printf("# page size is not 4 KiB: the hand-made layouts assume it\n");
	return false;
}

static void check_hist(const uint64_t *got, const uint64_t *want, const char *what)
{
	for (int o = 0; o < ML_CONTIG_NR_ORDERS; o++)
		if (got[o] != want[o]) {
			printf("# %s: hist[%d] == %llu, expected %llu\n", what, o,
			       (unsigned long long)got[o], (unsigned long long)want[o]);
			tap_failed_checks++;
		}
}

static void check_mem_hist(const int64_t *got, const int64_t *want, const char *what)
{
	for (int o = 0; o < ML_CONTIG_NR_ORDERS; o++)
		if (got[o] != want[o]) {
			printf("# %s: mem_hist[%d] == %lld, expected %lld\n", what, o,
			       (long long)got[o], (long long)want[o]);
			tap_failed_checks++;
		}
}

/* ---- in-memory layouts -------------------------------------------------------------- */

/* A context on the live /proc that never reads it: histograms (and runs). */
static struct ml_contig *mem_ctx(struct ml_proc **p, uint32_t what)
{
	ML_OPTS(ml_contig_opts, o, .what = what);
	struct ml_contig *c = NULL;

	*p = NULL;
	CHECK_EQ(ml_proc_new(NULL, p), 0);
	if (*p)
		CHECK_EQ(ml_contig_new(*p, &o, &c), 0);
	return c;
}

/*
 * Figures of a VMA of @nr pages at page @start_page whose page i is present
 * when @pattern[i] is '#' ('.' absent); PFNs made up (1000 + i).
 */
static void layout_figures(const char *pattern, uint64_t start_page,
			   struct ml_contig_figures *f)
{
	size_t nr = strlen(pattern);
	uint64_t e[4096];
	struct ml_contig *c;
	struct ml_proc *p;
	uint32_t flags = 0;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < nr && i < 4096; i++)
		e[i] = pattern[i] == '#' ? PM_PRESENT | (1000 + i) : 0;
	c = mem_ctx(&p, 0);
	if (c)
		CHECK_EQ(ml_contig_vma_entries(c, start_page * PAGE,
					       (start_page + nr) * PAGE, e, nr,
					       f, &flags, NULL), 0);
	CHECK_EQ(flags, 0);
	ml_contig_free(c);
	ml_proc_free(p);
}

static char *all_present(size_t n)
{
	static char buf[4097];

	memset(buf, '#', n);
	buf[n] = '\0';
	return buf;
}

/*
 * Quirk 1: mem_hist.py starts order n at (start & ~(2^n - 1)) + 2^n, the
 * block after the one holding the start, even when the start is aligned.
 */
static void test_quirk_first_block(void)
{
	struct ml_contig_figures f;

	if (!page_size_ok())
		return;
	/*
	 * 4 pages at page 1024 (aligned to 4), all present.
	 * True: one aligned 4-page block: [0, 0, 1].
	 * mem_hist: order 0 from page 1025: 1025..1027 = 3; order 1 from
	 * 1026: [1026,1028) = 1, so order 0 becomes 3 - 2 = 1; order 2:
	 * order 1 has 1 < 2 blocks, stop. [1, 1, 0]: page 1024 is lost.
	 */
	layout_figures("####", 1024, &f);
	check_hist(f.hist, (uint64_t[10]){ 0, 0, 1 }, "aligned 4");
	check_mem_hist(f.mem_hist, (int64_t[10]){ 1, 1, 0 }, "aligned 4");
	CHECK_U64(f.present_pages, 4);

	/*
	 * 3 pages at page 2049 (odd), all present.
	 * True: 2049 alone (order 0), [2050, 2052) (order 1): [1, 1].
	 * mem_hist: order 0 from 2050: 2 pages; order 1 from
	 * (2049 & ~1) + 2 = 2050 to 2052: 1 block, order 0 becomes 0;
	 * order 2 stops. [0, 1]: page 2049 is lost.
	 */
	layout_figures("###", 2049, &f);
	check_hist(f.hist, (uint64_t[10]){ 1, 1 }, "odd 3");
	check_mem_hist(f.mem_hist, (int64_t[10]){ 0, 1 }, "odd 3");

	/* 1 page: mem_hist never looks at a one-page VMA; it is one block */
	layout_figures("#", 77, &f);
	check_hist(f.hist, (uint64_t[10]){ 1 }, "one page");
	check_mem_hist(f.mem_hist, (int64_t[10]){ 0 }, "one page");
}

/*
 * Quirk 2: each order-n block takes 2 from order n-1. Combined with the
 * skipped first block, a fully present aligned region comes out as a
 * staircase of leftovers instead of its blocks.
 */
static void test_quirk_subtract(void)
{
	struct ml_contig_figures f;

	if (!page_size_ok())
		return;
	/*
	 * 512 pages (2 MiB) at page 2048 (aligned to 512), all present.
	 * mem_hist counts P_n = 512/2^n - 1 blocks at order n (the first is
	 * skipped), and order n keeps P_n - 2 P_(n+1) = 1 for n = 0..8; at
	 * order 9, order 8 has P_8 = 1 < 2 blocks: stop.
	 * True: one 2 MiB block.
	 */
	layout_figures(all_present(512), 2048, &f);
	check_hist(f.hist, (uint64_t[10]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, "2M");
	check_mem_hist(f.mem_hist, (int64_t[10]){ 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, "2M");

	/*
	 * 8 MiB (2048 pages) at page 8192, all present, the case in
	 * ANCHORS.md: P_n = 2048/2^n - 1, orders 0..8 keep 1 each, order 9
	 * keeps P_9 = 3: three order-9 blocks, not four.
	 */
	layout_figures(all_present(2048), 8192, &f);
	check_hist(f.hist, (uint64_t[10]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 4 }, "8M");
	check_mem_hist(f.mem_hist, (int64_t[10]){ 1, 1, 1, 1, 1, 1, 1, 1, 1, 3 }, "8M");
	CHECK_U64(f.present_pages, 2048);
}

/*
 * Quirk 3: the loop stops at order n once order n-1 has fewer than 2
 * blocks. With the skipped first block, a VMA that is one aligned pair has
 * a single order-0 block counted, so order 1 is never looked at.
 */
static void test_quirk_early_stop(void)
{
	struct ml_contig_figures f;

	if (!page_size_ok())
		return;
	/*
	 * 2 pages at page 1024, both present. True: one pair [0, 1].
	 * mem_hist: order 0 from 1025: 1 block; order 1: 1 < 2, stop: [1, 0].
	 */
	layout_figures("##", 1024, &f);
	check_hist(f.hist, (uint64_t[10]){ 0, 1 }, "pair");
	check_mem_hist(f.mem_hist, (int64_t[10]){ 1, 0 }, "pair");

	/*
	 * 8 pages at page 1024, all present. True: [0, 0, 0, 1].
	 * mem_hist: P_0 = 7, P_1 = 3 ([1026..1032)), P_2 = 1 ([1028,1032)):
	 * order 0 keeps 7 - 6 = 1, order 1 keeps 3 - 2 = 1, order 2 keeps
	 * 1, and at order 3 order 2 has 1 < 2: stop. [1, 1, 1, 0].
	 */
	layout_figures(all_present(8), 1024, &f);
	check_hist(f.hist, (uint64_t[10]){ 0, 0, 0, 1 }, "8 pages");
	check_mem_hist(f.mem_hist, (int64_t[10]){ 1, 1, 1, 0 }, "8 pages");
}

/* Holes, worked out block by block. */
static void test_holes(void)
{
	struct ml_contig_figures f;

	if (!page_size_ok())
		return;
	/*
	 * 32 pages at page 4096; present (relative): 0-7, 9, 12-15, 16-23,
	 * 26-27, 31: 24 pages.
	 * True: 0-7 (order 3), 9 (0), 12-15 (2), 16-23 (3), 26-27 (1), 31
	 * (0): [2, 1, 1, 2].
	 * mem_hist: order 0 from 1: 23 pages. Order 1 from 2: pairs 2,4,6,
	 * 12,14,16,18,20,22,26: 10. Order 2 from 4: quads 4,12,16,20: 4.
	 * Order 3 from 8: 16-23: 1. Order 4 from 16: none.
	 * Replay: o0 = 23 - 20 = 3, o1 = 10 - 8 = 2, o2 = 4 - 2 = 2,
	 * o3 = 1, then order 3 has 1 < 2: stop. [3, 2, 2, 1].
	 */
	layout_figures("########.#..############..##...#", 4096, &f);
	check_hist(f.hist, (uint64_t[10]){ 2, 1, 1, 2 }, "holes");
	check_mem_hist(f.mem_hist, (int64_t[10]){ 3, 2, 2, 1 }, "holes");
	CHECK_U64(f.present_pages, 24);
	/* with the start fixed the sum is exact: 2 + 2 + 4 + 16 = 24 */
}

/* ---- reference implementations, from the definitions --------------------------------- */

/* mem_hist.py's Vma.hist, line by line, reading entries page by page. */
static void ref_mem_hist(uint64_t start, uint64_t end, const uint64_t *e,
			 int64_t *hist)
{
	memset(hist, 0, sizeof(int64_t) * ML_CONTIG_NR_ORDERS);
	for (int order = 0; order <= 9; order++) {
		uint64_t mask = ~((UINT64_C(1) << order) - 1);
		uint64_t first, last;

		if (order > 0 && hist[order - 1] < 2)
			break;
		first = (start & mask) + (UINT64_C(1) << order);
		last = end & mask;
		for (uint64_t b = first; b < last; b += UINT64_C(1) << order) {
			bool present = true;

			for (uint64_t pg = b; pg < b + (UINT64_C(1) << order); pg++)
				if (!(e[pg - start] & BIT(63))) {
					present = false;
					break;
				}
			if (present) {
				hist[order]++;
				if (order > 0)
					hist[order - 1] -= 2;
			}
		}
	}
}

/* Each present page in the largest aligned fully present block (<= 9). */
static void ref_true_hist(uint64_t start, uint64_t end, const uint64_t *e,
			  uint64_t *hist)
{
	memset(hist, 0, sizeof(uint64_t) * ML_CONTIG_NR_ORDERS);
	for (uint64_t pg = start; pg < end; pg++) {
		int best = -1;

		if (!(e[pg - start] & BIT(63)))
			continue;
		for (int k = 0; k <= 9; k++) {
			uint64_t b = pg & ~((UINT64_C(1) << k) - 1);
			bool ok = b >= start && b + (UINT64_C(1) << k) <= end;

			for (uint64_t q = b; ok && q < b + (UINT64_C(1) << k); q++)
				ok = e[q - start] & BIT(63);
			if (ok)
				best = k;
		}
		/* count the block once, at its first page */
		if (best >= 0 && pg == (pg & ~((UINT64_C(1) << best) - 1)))
			hist[best]++;
	}
}

/* Maximal runs of consecutive PFNs, page by page. */
static void ref_runs(const uint64_t *e, size_t n, uint64_t *nr)
{
	memset(nr, 0, sizeof(uint64_t) * ML_CONTIG_NR_RUN_BINS);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		int bin = 0;

		if (!(e[i] & BIT(63))) {
			i++;
			continue;
		}
		while (j < n && (e[j] & BIT(63)) &&
		       (e[j] & (BIT(55) - 1)) == (e[j - 1] & (BIT(55) - 1)) + 1)
			j++;
		while (bin < 10 && (UINT64_C(2) << bin) <= j - i)
			bin++;
		nr[bin]++;
		i = j;
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * Random layouts (dense, sparse, fully present stretches, PFN runs that
 * continue or jump): the library agrees with both references. This is also
 * the evidence that, with the start fixed, mem_hist's subtraction and stop
 * are exact: the corrected figures are its arithmetic on fixed ranges.
 */
static void test_random_layouts(void)
{
	static uint64_t e[3000];
	struct ml_contig_figures f;
	uint64_t want[ML_CONTIG_NR_ORDERS], runs[ML_CONTIG_NR_RUN_BINS];
	int64_t want_mh[ML_CONTIG_NR_ORDERS];
	struct ml_contig *c;
	struct ml_proc *p;
	int bad = 0;

	c = mem_ctx(&p, ML_CONTIG_RUNS);
	if (!c)
		goto out;
	for (int t = 0; t < 3000 && bad < 5; t++) {
		uint64_t start = rnd() % 5000, n = 1 + rnd() % 2900;
		unsigned dens = (unsigned)(rnd() % 101), style = (unsigned)(rnd() % 3);
		uint64_t pfn = 1 + rnd() % 100000;
		uint32_t vflags;

		for (uint64_t i = 0; i < n; i++) {
			bool present;

			if (style == 0)
				present = rnd() % 100 < dens;
			else if (style == 1) /* long stretches */
				present = ((i / (1 + dens * 5)) % 3) != 2;
			else
				present = i >= n / 7 && i < n - n / 9;
			if (rnd() % 50 == 0)
				pfn += 1 + rnd() % 7; /* physical jump */
			e[i] = present ? PM_PRESENT | pfn : 0;
			pfn++;
		}
		CHECK_EQ(ml_contig_vma_entries(c, start * PAGE, (start + n) * PAGE,
					       e, n, &f, &vflags, NULL), 0);
		ref_true_hist(start, start + n, e, want);
		ref_mem_hist(start, start + n, e, want_mh);
		ref_runs(e, n, runs);
		if (memcmp(f.hist, want, sizeof(want)) ||
		    memcmp(f.mem_hist, want_mh, sizeof(want_mh)) ||
		    memcmp(f.runs.nr, runs, sizeof(runs))) {
			printf("# layout %d (start %llu, %llu pages, style %u) differs\n",
			       t, (unsigned long long)start, (unsigned long long)n, style);
			check_hist(f.hist, want, "random");
			check_mem_hist(f.mem_hist, want_mh, "random");
			bad++;
			tap_failed_checks++;
		}
	}
out:
	ml_contig_free(c);
	ml_proc_free(p);
}

/* Every run bin, and what breaks a run. */
static void test_run_bins(void)
{
	static const unsigned lens[] = { 1, 2, 3, 4, 7, 8, 16, 31, 32, 64, 128,
					 256, 511, 512, 1024, 1500 };
	static uint64_t e[8192];
	uint64_t want_nr[ML_CONTIG_NR_RUN_BINS] = { 0 }, want_bytes[ML_CONTIG_NR_RUN_BINS] = { 0 };
	struct ml_contig_figures f;
	struct ml_contig *c;
	struct ml_proc *p;
	uint64_t pfn = 0x10000;
	uint32_t flags;
	size_t i = 0;

	if (!page_size_ok())
		return;
	/*
	 * One VMA of 8192 pages; runs of the lengths above, each on fresh
	 * PFNs and followed by an absent page. Bin i holds runs of 2^i to
	 * 2^(i+1) - 1 pages; bin 10 holds 1024 pages and more:
	 *   1 -> 0; 2, 3 -> 1; 4, 7 -> 2; 8 -> 3; 16, 31 -> 4; 32 -> 5;
	 *   64 -> 6; 128 -> 7; 256, 511 -> 8; 512 -> 9; 1024, 1500 -> 10.
	 */
	for (size_t r = 0; r < sizeof(lens) / sizeof(lens[0]); r++) {
		unsigned bin = 0;

		for (unsigned k = 0; k < lens[r]; k++)
			e[i++] = PM_PRESENT | pfn++;
		e[i++] = 0;
		pfn += 7;
		while (bin < 10 && (2u << bin) <= lens[r])
			bin++;
		want_nr[bin]++;
		want_bytes[bin] += (uint64_t)lens[r] * PAGE;
	}
	/* 6 present pages whose PFNs jump after 3: two runs of 3 (bin 1) */
	for (unsigned k = 0; k < 6; k++)
		e[i++] = PM_PRESENT | (pfn + k + (k >= 3 ? 100 : 0));
	e[i++] = 0;
	want_nr[1] += 2;
	want_bytes[1] += 6 * PAGE;
	pfn += 200;
	/* 2 present pages with descending PFNs: two runs of 1 (bin 0) */
	e[i++] = PM_PRESENT | (pfn + 1);
	e[i++] = PM_PRESENT | pfn;
	want_nr[0] += 2;
	want_bytes[0] += 2 * PAGE;
	/* the rest of the 8192 pages stay absent */

	c = mem_ctx(&p, ML_CONTIG_RUNS);
	if (c) {
		CHECK_EQ(ml_contig_vma_entries(c, MiB(64), MiB(64) + 8192 * PAGE, e,
					       8192, &f, &flags, NULL), 0);
		for (int b = 0; b < ML_CONTIG_NR_RUN_BINS; b++) {
			if (f.runs.nr[b] != want_nr[b] || f.runs.bytes[b] != want_bytes[b])
				printf("# bin %d\n", b);
			CHECK_U64(f.runs.nr[b], want_nr[b]);
			CHECK_U64(f.runs.bytes[b], want_bytes[b]);
		}
		CHECK_U64(f.present_pages, 4099 + 8);
	}
	ml_contig_free(c);
	ml_proc_free(p);
}

/* ---- fixture proc trees -------------------------------------------------------------- */

struct fixture {
	char root[64];
};

static bool fx_init(struct fixture *fx)
{
	snprintf(fx->root, sizeof(fx->root), "/tmp/memlens-contig-XXXXXX");
	if (!mkdtemp(fx->root)) {
		printf("# mkdtemp: %s\n", strerror(errno));
		CHECK(false);
		return false;
	}
	return true;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fx_fini(struct fixture *fx)
{
	nftw(fx->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fx_path(const struct fixture *fx, const char *name, char *path,
		    size_t sz)
{
	char dir[200], *slash;

	snprintf(path, sz, "%s/%s", fx->root, name);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
}

static void fx_write(const struct fixture *fx, const char *name,
		     const char *text)
{
	char path[256];
	int fd;

	fx_path(fx, name, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Entries @v[0..n) at word index @index of the binary file @name. */
static void fx_words(const struct fixture *fx, const char *name, uint64_t index,
		     const uint64_t *v, size_t n)
{
	char path[256];
	int fd;

	fx_path(fx, name, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(pwrite(fd, v, n * 8, (off_t)(index * 8)), (ssize_t)(n * 8));
	close(fd);
}

static void fx_word(const struct fixture *fx, const char *name, uint64_t index,
		    uint64_t v)
{
	fx_words(fx, name, index, &v, 1);
}

struct sbuf {
	char s[16384];
	size_t n;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	b->n += (size_t)vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
}

/* One smaps record, with the fields the kernel prints (6.x). */
static void smaps_vma(struct sbuf *b, uint64_t start, uint64_t end,
		      const char *perms, uint64_t inode, const char *name,
		      uint64_t rss_kb, uint64_t anon_huge_kb,
		      uint64_t private_hugetlb_kb)
{
	char head[128];
	int n = snprintf(head, sizeof(head), "%08llx-%08llx %s 00000000 %s %llu",
			 (unsigned long long)start, (unsigned long long)end, perms,
			 inode ? "fe:01" : "00:00", (unsigned long long)inode);

	sb_printf(b, "%s", head);
	if (*name)
		sb_printf(b, "%*s%s", n < 73 ? 73 - n : 1, "", name);
	else
		sb_printf(b, " ");
	sb_printf(b, "\nSize:           %8llu kB\n"
		  "KernelPageSize:        4 kB\nMMUPageSize:           4 kB\n"
		  "Rss:            %8llu kB\nPss:            %8llu kB\n"
		  "Pss_Dirty:             0 kB\nShared_Clean:          0 kB\n"
		  "Shared_Dirty:          0 kB\nPrivate_Clean:         0 kB\n"
		  "Private_Dirty:  %8llu kB\nReferenced:            0 kB\n"
		  "Anonymous:             0 kB\nKSM:                   0 kB\n"
		  "LazyFree:              0 kB\nAnonHugePages:  %8llu kB\n"
		  "ShmemPmdMapped:        0 kB\nFilePmdMapped:         0 kB\n"
		  "Shared_Hugetlb:        0 kB\nPrivate_Hugetlb: %7llu kB\n"
		  "Swap:                  0 kB\nSwapPss:               0 kB\n"
		  "Locked:                0 kB\nTHPeligible:           0\n"
		  "VmFlags: rd wr mr mw me ac \n",
		  (unsigned long long)((end - start) >> 10),
		  (unsigned long long)rss_kb, (unsigned long long)rss_kb,
		  (unsigned long long)rss_kb, (unsigned long long)anon_huge_kb,
		  (unsigned long long)private_hugetlb_kb);
}

/*
 * The main fixture, process 4242 ("fixture prog"), 4 KiB pages:
 *
 *  A 0x40000000 1024 pages rw-p anon: rel 0 PFN 0x1000, rel 2 0x1005,
 *    rel 4-7 0x1010-13 (a 16K anon mTHP), rel 8-15 0x1040-47 (two 16K
 *    mTHPs side by side), rel 16 0x3000 (the zero page), rel 512-1023
 *    0x2000-0x21ff (a 2M THP). AnonHugePages 2048 kB.
 *  B 0x50000000 4 pages r--p /data/file: PFNs 0x1024-27, the second
 *    quarter of a 64K page cache folio at 0x1020 (mapped in part).
 *  C 0x60000000 512 pages rw-s /anon_hugepage (deleted): 0x2200-0x23ff,
 *    a 2M hugetlb page. Rss 0 (hugetlb is not in Rss), Private_Hugetlb
 *    2048 kB.
 *  D 0x70000000 2 pages rw-p anon, Rss 0: both map the zero page, 0x3000
 *    (read, never written).
 *  E 0x80000000 4 pages rw-s /dev/shm/x, Rss 0 but pagemap shows pages:
 *    not read (shared: no zero page there; this is how a Rss-0 VMA is
 *    skipped without PAGEMAP_SCAN).
 *  F 0x100000000 64 GiB ---p: a reservation, Rss 0, not read.
 *
 * kpagecount: 0x1005 is mapped twice, the zero page 100 times, all else once.
 */
#define FX_PID 4242
#define VA 0x40000000ull
#define VB 0x50000000ull
#define VC 0x60000000ull
#define VD 0x70000000ull
#define VE 0x80000000ull
#define VF 0x100000000ull

static void fx_kpage(const struct fixture *fx)
{
	uint64_t pfn;

	fx_word(fx, "kpageflags", 0x1000, F_LRU | F_ANON | F_MMAP);
	fx_word(fx, "kpageflags", 0x1005, F_LRU | F_ANON | F_MMAP);
	fx_word(fx, "kpageflags", 0x1010, F_HEAD | F_THP | F_LRU | F_ANON | F_MMAP);
	for (pfn = 0x1011; pfn < 0x1014; pfn++)
		fx_word(fx, "kpageflags", pfn, F_TAIL | F_THP | F_ANON | F_MMAP);
	fx_word(fx, "kpageflags", 0x1020, F_HEAD | F_THP | F_LRU | F_MMAP);
	for (pfn = 0x1021; pfn < 0x1030; pfn++)
		fx_word(fx, "kpageflags", pfn, F_TAIL | F_THP | F_MMAP);
	for (pfn = 0x1040; pfn < 0x1048; pfn++)
		fx_word(fx, "kpageflags", pfn,
			(pfn % 4 ? F_TAIL : F_HEAD) | F_THP | F_ANON | F_MMAP);
	fx_word(fx, "kpageflags", 0x2000, F_HEAD | F_THP | F_LRU | F_ANON | F_MMAP);
	for (pfn = 0x2001; pfn < 0x2200; pfn++)
		fx_word(fx, "kpageflags", pfn, F_TAIL | F_THP | F_ANON | F_MMAP);
	fx_word(fx, "kpageflags", 0x2200, F_HEAD | F_HUGE);
	for (pfn = 0x2201; pfn < 0x2400; pfn++)
		fx_word(fx, "kpageflags", pfn, F_TAIL | F_HUGE);
	fx_word(fx, "kpageflags", 0x3000, F_ZERO);
	fx_word(fx, "kpageflags", 0x3001, 0); /* the file runs to here */

	for (pfn = 0x1000; pfn < 0x3001; pfn++)
		fx_word(fx, "kpagecount", pfn, pfn == 0x1005 ? 2 : pfn == 0x3000 ? 100 : 1);
}

static void fx_pagemap_range(const struct fixture *fx, const char *file,
			     uint64_t va, uint64_t rel, uint64_t pfn, size_t n)
{
	static uint64_t e[512];

	for (size_t i = 0; i < n; i++)
		e[i] = PM_PRESENT | (pfn ? pfn + i : 0);
	fx_words(fx, file, va / PAGE + rel, e, n);
}

static void fx_main(const struct fixture *fx, bool pfns)
{
	const char *pm = "4242/pagemap";
	uint64_t zero = pfns ? 0x3000 : 0;
	struct sbuf b = { .n = 0 };

	smaps_vma(&b, VA, VA + 1024 * PAGE, "rw-p", 0, "", 2120, 2048, 0);
	smaps_vma(&b, VB, VB + 4 * PAGE, "r--p", 77, "/data/file", 16, 0, 0);
	smaps_vma(&b, VC, VC + 512 * PAGE, "rw-s", 88, "/anon_hugepage (deleted)", 0, 0, 2048);
	smaps_vma(&b, VD, VD + 2 * PAGE, "rw-p", 0, "", 0, 0, 0);
	smaps_vma(&b, VE, VE + 4 * PAGE, "rw-s", 99, "/dev/shm/x", 0, 0, 0);
	smaps_vma(&b, VF, VF + (UINT64_C(64) << 30), "---p", 0, "", 0, 0, 0);
	fx_write(fx, "4242/smaps", b.s);
	fx_write(fx, "4242/comm", "fixture\n");
	fx_write(fx, "4242/status", "Name:\tfixture prog\nUmask:\t0022\nState:\tS (sleeping)\n");

	fx_pagemap_range(fx, pm, VA, 0, pfns ? 0x1000 : 0, 1);
	fx_pagemap_range(fx, pm, VA, 2, pfns ? 0x1005 : 0, 1);
	fx_pagemap_range(fx, pm, VA, 4, pfns ? 0x1010 : 0, 4);
	fx_pagemap_range(fx, pm, VA, 8, pfns ? 0x1040 : 0, 8);
	fx_pagemap_range(fx, pm, VA, 16, zero, 1);
	fx_pagemap_range(fx, pm, VA, 512, pfns ? 0x2000 : 0, 512);
	fx_pagemap_range(fx, pm, VB, 0, pfns ? 0x1024 : 0, 4);
	fx_pagemap_range(fx, pm, VC, 0, pfns ? 0x2200 : 0, 512);
	fx_pagemap_range(fx, pm, VD, 0, zero, 1);
	fx_pagemap_range(fx, pm, VD, 1, zero, 1);
	fx_pagemap_range(fx, pm, VE, 0, pfns ? 0x1000 : 0, 4);
	/* the file ends after E: F is never read, or it would come out short */
}

static struct ml_contig *fx_ctx(const struct fixture *fx, struct ml_proc **p,
				uint32_t what)
{
	ML_OPTS(ml_proc_opts, po, .proc_root = fx->root);
	ML_OPTS(ml_contig_opts, o, .what = what);
	struct ml_contig *c = NULL;

	*p = NULL;
	CHECK_EQ(ml_proc_new(&po, p), 0);
	if (*p)
		CHECK_EQ(ml_contig_new(*p, &o, &c), 0);
	return c;
}

static const struct ml_contig_vma *find_vma(const struct ml_contig_proc *cp,
					    uint64_t start)
{
	for (size_t i = 0; i < cp->nr_vmas; i++)
		if (cp->vmas[i].start == start)
			return &cp->vmas[i];
	printf("# no VMA at %llx\n", (unsigned long long)start);
	tap_failed_checks++;
	return NULL;
}

static void check_fixture_figures(const struct ml_contig_proc *cp, bool folios)
{
	const struct ml_contig_vma *a = find_vma(cp, VA), *b = find_vma(cp, VB),
				   *c = find_vma(cp, VC), *d = find_vma(cp, VD),
				   *e = find_vma(cp, VE), *f = find_vma(cp, VF);
	const struct ml_contig_folios *fo;

	if (!a || !b || !c || !d || !e || !f)
		return;
	CHECK_EQ(cp->nr_vmas, 6);

	/*
	 * A: present 1 + 1 + 4 + 8 + 1 + 512 = 527.
	 * Corrected: rel 0, 2, 16 alone; 4-7 (order 2); 8-15 (order 3);
	 * 512-1023 (order 9): [3, 0, 1, 1, 0, 0, 0, 0, 0, 1].
	 * mem_hist (start aligned, rel 0 skipped): P0 = 526; P1 from rel 2:
	 * 2 (4-7) + 4 (8-15) + 256 = 262; P2 from 4: 1 + 2 + 128 = 131;
	 * P3 from 8: 1 + 64 = 65; P4 from 16: 32; P5 16; P6 8; P7 4;
	 * P8 from 256: 2; P9 from 512: 1. Replay: o0 526 - 524 = 2,
	 * o1 262 - 262 = 0, o2 131 - 130 = 1, o3 65 - 64 = 1, o4..o8 0,
	 * o9 1: [2, 0, 1, 1, 0, 0, 0, 0, 0, 1].
	 * Runs (PFN breaks between every piece): 1, 1, 4, 8, 1, 512 pages:
	 * bin 0: 3, bin 2: 1, bin 3: 1, bin 9: 1.
	 */
	CHECK_U64(a->f.present_pages, 527);
	check_hist(a->f.hist, (uint64_t[10]){ 3, 0, 1, 1, 0, 0, 0, 0, 0, 1 }, "A");
	check_mem_hist(a->f.mem_hist, (int64_t[10]){ 2, 0, 1, 1, 0, 0, 0, 0, 0, 1 }, "A");
	/* B: 4 pages at an aligned start: [0, 0, 1]; mem_hist [1, 1, 0] */
	CHECK_U64(b->f.present_pages, 4);
	check_hist(b->f.hist, (uint64_t[10]){ 0, 0, 1 }, "B");
	check_mem_hist(b->f.mem_hist, (int64_t[10]){ 1, 1 }, "B");
	/* C: hugetlb read although its Rss is 0; the 2M staircase */
	CHECK_U64(c->f.present_pages, 512);
	CHECK(!(c->flags & ML_CONTIG_VMA_SKIPPED));
	CHECK_U64(c->f.hugetlb, MiB(2));
	check_hist(c->f.hist, (uint64_t[10]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, "C");
	check_mem_hist(c->f.mem_hist, (int64_t[10]){ 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, "C");
	/* D: Rss 0, private anon: read, the zero page twice: one pair */
	CHECK_U64(d->f.present_pages, 2);
	check_hist(d->f.hist, (uint64_t[10]){ 0, 1 }, "D");
	check_mem_hist(d->f.mem_hist, (int64_t[10]){ 1, 0 }, "D");
	/* E, F: not read */
	CHECK(e->flags & ML_CONTIG_VMA_SKIPPED);
	CHECK(f->flags & ML_CONTIG_VMA_SKIPPED);
	CHECK_U64(e->f.present_pages, 0);
	CHECK_U64(f->f.present_pages, 0);

	/* the process: sums */
	CHECK_U64(cp->total.present_pages, 527 + 4 + 512 + 2);
	check_hist(cp->total.hist, (uint64_t[10]){ 3, 1, 2, 1, 0, 0, 0, 0, 0, 2 }, "total");
	check_mem_hist(cp->total.mem_hist, (int64_t[10]){ 5, 2, 2, 2, 1, 1, 1, 1, 1, 1 }, "total");
	CHECK_STR(cp->comm, "fixture");
	CHECK_STR(cp->mem_hist_name, "fixture");

	if (!cp->have_runs)
		return;
	CHECK_U64(a->f.runs.nr[0], 3);
	CHECK_U64(a->f.runs.nr[2], 1);
	CHECK_U64(a->f.runs.nr[3], 1);
	CHECK_U64(a->f.runs.nr[9], 1);
	CHECK_U64(a->f.runs.bytes[9], MiB(2));
	CHECK_U64(a->f.runs.bytes[0], 3 * PAGE);
	CHECK_U64(b->f.runs.nr[2], 1);
	CHECK_U64(c->f.runs.nr[9], 1);
	/* D: the same PFN twice is not a run of 2 */
	CHECK_U64(d->f.runs.nr[0], 2);
	CHECK_U64(cp->total.runs.nr[0], 5);
	CHECK_U64(cp->total.runs.nr[9], 2);

	if (!folios)
		return;
	/*
	 * Folios of A: order 0: 0x1000, 0x1005, the zero page: 3 folios,
	 * 12K, shared (kpagecount > 1) 0x1005 and the zero page: 8K.
	 * Order 2: 0x1010, 0x1040, 0x1044: 3 folios, 48K. Order 9: 0x2000,
	 * 2M. THP: 48K + 2M; zero page 4K; and 2M of order 9 THP is what
	 * smaps' AnonHugePages (2048 kB) says.
	 */
	CHECK(cp->have_folios);
	fo = &a->f.folios;
	CHECK_U64(fo->nr[0], 3);
	CHECK_U64(fo->bytes[0], KiB(12));
	CHECK_U64(fo->shared_bytes[0], KiB(8));
	CHECK_U64(fo->nr[2], 3);
	CHECK_U64(fo->bytes[2], KiB(48));
	CHECK_U64(fo->shared_bytes[2], 0);
	CHECK_U64(fo->nr[9], 1);
	CHECK_U64(fo->bytes[9], MiB(2));
	CHECK_U64(fo->thp_bytes, KiB(48) + MiB(2));
	CHECK_U64(fo->zero_bytes, KiB(4));
	CHECK_U64(fo->hugetlb_bytes, 0);
	CHECK_U64(fo->bytes[9], a->f.anon_huge);
	/* B: a quarter of a 64K folio: one order-4 folio, 16K of it mapped */
	fo = &b->f.folios;
	CHECK_U64(fo->nr[4], 1);
	CHECK_U64(fo->bytes[4], KiB(16));
	CHECK_U64(fo->nr[0], 0);
	CHECK_U64(fo->thp_bytes, KiB(16));
	/* C: one 2M hugetlb folio */
	fo = &c->f.folios;
	CHECK_U64(fo->nr[9], 1);
	CHECK_U64(fo->bytes[9], MiB(2));
	CHECK_U64(fo->hugetlb_bytes, MiB(2));
	CHECK_U64(fo->thp_bytes, 0);
	/* D: the zero page twice: one folio, 8K mapped, shared */
	fo = &d->f.folios;
	CHECK_U64(fo->nr[0], 1);
	CHECK_U64(fo->bytes[0], KiB(8));
	CHECK_U64(fo->zero_bytes, KiB(8));
	CHECK_U64(fo->shared_bytes[0], KiB(8));
	/* the process */
	fo = &cp->total.folios;
	CHECK_U64(fo->nr[0], 4);
	CHECK_U64(fo->bytes[0], KiB(20));
	CHECK_U64(fo->nr[2], 3);
	CHECK_U64(fo->nr[4], 1);
	CHECK_U64(fo->nr[9], 2);
	CHECK_U64(fo->bytes[9], MiB(4));
	CHECK_U64(fo->hugetlb_bytes, MiB(2));
	/* every present page is in exactly one folio size */
	{
		uint64_t sum = 0;

		for (int i = 0; i < ML_CONTIG_NR_FOLIO_ORDERS; i++)
			sum += fo->bytes[i];
		CHECK_U64(sum, cp->total.present_pages * PAGE);
	}
}

static void test_fixture_process(void)
{
	struct ml_contig_proc cp;
	struct fixture fx;
	struct ml_contig *c;
	struct ml_proc *p;

	if (!page_size_ok() || !fx_init(&fx))
		return;
	fx_main(&fx, true);
	fx_kpage(&fx);
	c = fx_ctx(&fx, &p, ML_CONTIG_ALL);
	if (c) {
		CHECK_EQ(ml_contig_process(c, FX_PID, &cp), 0);
		CHECK_EQ(cp.err, 0);
		CHECK_EQ(cp.notes, 0);
		CHECK(cp.have_runs);
		CHECK(cp.have_folios);
		CHECK(cp.have_shared);
		check_fixture_figures(&cp, true);
		ml_contig_proc_fini(&cp);
	}
	ml_contig_free(c);
	ml_proc_free(p);

	/* histograms only: the same block figures, no runs, no folios */
	c = fx_ctx(&fx, &p, 0);
	if (c) {
		CHECK_EQ(ml_contig_process(c, FX_PID, &cp), 0);
		CHECK(!cp.have_runs);
		CHECK(!cp.have_folios);
		check_fixture_figures(&cp, false);
		ml_contig_proc_fini(&cp);
	}
	ml_contig_free(c);
	ml_proc_free(p);
	fx_fini(&fx);
}

/* Without root: present, but every PFN reads 0. */
static void test_fixture_pfns_hidden(void)
{
	struct ml_contig_proc cp;
	struct fixture fx;
	struct ml_contig *c;
	struct ml_proc *p;

	if (!page_size_ok() || !fx_init(&fx))
		return;
	fx_main(&fx, false);
	fx_kpage(&fx);
	c = fx_ctx(&fx, &p, ML_CONTIG_ALL);
	if (c) {
		CHECK_EQ(ml_contig_process(c, FX_PID, &cp), 0);
		CHECK(cp.notes & ML_CONTIG_NOTE_PFNS_HIDDEN);
		CHECK(!cp.have_runs);
		CHECK(!cp.have_folios);
		/* the presence figures do not need PFNs */
		check_fixture_figures(&cp, false);
		/* and no physical figure was made up from the zeros */
		CHECK_U64(cp.total.runs.nr[0], 0);
		CHECK_U64(cp.total.folios.bytes[0], 0);
		ml_contig_proc_fini(&cp);
	}
	ml_contig_free(c);
	ml_proc_free(p);
	fx_fini(&fx);
}

/* kpageflags or kpagecount missing: what can still be said is said. */
static void test_fixture_no_kpage(void)
{
	struct ml_contig_proc cp;
	struct fixture fx;
	struct ml_contig *c;
	struct ml_proc *p;
	char path[256];

	if (!page_size_ok() || !fx_init(&fx))
		return;
	fx_main(&fx, true);
	fx_kpage(&fx);

	snprintf(path, sizeof(path), "%s/kpagecount", fx.root);
	CHECK_EQ(unlink(path), 0);
	c = fx_ctx(&fx, &p, ML_CONTIG_ALL);
	if (c) {
		CHECK_EQ(ml_contig_process(c, FX_PID, &cp), 0);
		CHECK(cp.notes & ML_CONTIG_NOTE_NO_KPAGECOUNT);
		CHECK_EQ(cp.note_err, -ENOENT);
		CHECK(cp.have_folios);
		CHECK(!cp.have_shared);
		CHECK_U64(cp.total.folios.nr[9], 2);
		ml_contig_proc_fini(&cp);
	}
	ml_contig_free(c);
	ml_proc_free(p);

	snprintf(path, sizeof(path), "%s/kpageflags", fx.root);
	CHECK_EQ(unlink(path), 0);
	c = fx_ctx(&fx, &p, ML_CONTIG_ALL);
	if (c) {
		CHECK_EQ(ml_contig_process(c, FX_PID, &cp), 0);
		CHECK(cp.notes & ML_CONTIG_NOTE_NO_KPAGEFLAGS);
		CHECK(!cp.have_folios);
		CHECK(cp.have_runs);
		check_fixture_figures(&cp, false);
		ml_contig_proc_fini(&cp);
	}
	ml_contig_free(c);
	ml_proc_free(p);
	fx_fini(&fx);
}

/*
 * Partial input: a pagemap that ends inside a VMA, a kernel thread, a pid
 * that is gone, and the scan of a whole tree in pid order.
 */
static void test_fixture_partial(void)
{
	struct ml_contig_table t;
	struct ml_contig_proc cp;
	struct fixture fx;
	struct ml_contig *c;
	struct ml_proc *p;
	struct sbuf b = { .n = 0 };

	if (!page_size_ok() || !fx_init(&fx))
		return;
	/*
	 * 4300: 64 pages at page 0x100; pagemap has 10 present entries
	 * and ends. Present 0x100-0x109: 0x100-0x107 (order 3, 0x100 is
	 * aligned to 256), 0x108-0x109 (order 1): [0, 1, 0, 1].
	 */
	smaps_vma(&b, 0x100 * PAGE, 0x140 * PAGE, "rw-p", 0, "", 256, 0, 0);
	fx_write(&fx, "4300/smaps", b.s);
	fx_write(&fx, "4300/status", "Name:\tshort\n");
	fx_write(&fx, "4300/comm", "short\n");
	fx_pagemap_range(&fx, "4300/pagemap", 0x100 * PAGE, 0, 0x5000, 10);
	/* 2: a kernel thread, empty smaps */
	fx_write(&fx, "2/smaps", "");
	fx_write(&fx, "2/status", "Name:\tkthreadd\n");
	fx_write(&fx, "2/comm", "kthreadd\n");
	fx_write(&fx, "2/pagemap", "");

	c = fx_ctx(&fx, &p, ML_CONTIG_RUNS);
	if (!c)
		goto out;
	CHECK_EQ(ml_contig_process(c, 4300, &cp), 0);
	CHECK(cp.notes & ML_CONTIG_NOTE_SHORT_READ);
	CHECK(!(cp.notes & ML_CONTIG_NOTE_EXITED));
	CHECK_EQ(cp.nr_vmas, 1);
	if (cp.nr_vmas) {
		CHECK(cp.vmas[0].flags & ML_CONTIG_VMA_SHORT);
		CHECK_U64(cp.vmas[0].f.present_pages, 10);
		check_hist(cp.vmas[0].f.hist, (uint64_t[10]){ 0, 1, 0, 1 }, "short");
		CHECK_U64(cp.vmas[0].f.runs.nr[3], 1); /* 10 pages: the 8K..16K-1 bin is 3 */
	}
	ml_contig_proc_fini(&cp);

	CHECK_EQ(ml_contig_process(c, 2, &cp), 0);
	CHECK(cp.notes & ML_CONTIG_NOTE_NO_MM);
	CHECK_EQ(cp.nr_vmas, 0);
	ml_contig_proc_fini(&cp);

	CHECK_EQ(ml_contig_process(c, 9999, &cp), -ESRCH);
	CHECK_EQ(cp.err, -ESRCH);
	ml_contig_proc_fini(&cp);

	/* every process of the tree, ascending */
	CHECK_EQ(ml_contig_scan(c, NULL, 0, &t), 0);
	CHECK_EQ(t.n, 2);
	if (t.n == 2) {
		CHECK_EQ(t.p[0].pid, 2);
		CHECK_EQ(t.p[1].pid, 4300);
	}
	ml_contig_table_free(&t);
	/* asked-for pids stay, with their error */
	CHECK_EQ(ml_contig_scan(c, (pid_t[]){ 9999, 4300 }, 2, &t), 0);
	CHECK_EQ(t.n, 2);
	if (t.n == 2) {
		CHECK_EQ(t.p[0].err, -ESRCH);
		CHECK_EQ(t.p[1].err, 0);
	}
	ml_contig_table_free(&t);
out:
	ml_contig_free(c);
	ml_proc_free(p);
	fx_fini(&fx);
}

/* ---- mem_hist.py's other habits ------------------------------------------------------ */

static void test_mem_hist_name(void)
{
	char buf[64];
	const char *st;

	st = "Name:\tbash\nUmask:\t0022\n";
	CHECK_EQ(ml_contig_mem_hist_name(st, strlen(st), buf, sizeof(buf)), 4);
	CHECK_STR(buf, "bash");
	/* awk's $2: the first word only */
	st = "Name:\tWeb Content\nState:\tS\n";
	ml_contig_mem_hist_name(st, strlen(st), buf, sizeof(buf));
	CHECK_STR(buf, "Web");
	/* an empty name, and no Name line at all */
	st = "Name:\t\nState:\tS\n";
	CHECK_EQ(ml_contig_mem_hist_name(st, strlen(st), buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	CHECK_EQ(ml_contig_mem_hist_name("", 0, buf, sizeof(buf)), 0);
	/* grep matches "Name:" anywhere: each match is a line of output */
	st = "Name:\ta\nXName: b c\n";
	ml_contig_mem_hist_name(st, strlen(st), buf, sizeof(buf));
	CHECK_STR(buf, "a\nb");
	/* the kernel's escapes stay as printed (awk sees the backslash) */
	st = "Name:\tx\\ny\n";
	ml_contig_mem_hist_name(st, strlen(st), buf, sizeof(buf));
	CHECK_STR(buf, "x\\ny");
	/* no newline at the end; a small buffer truncates */
	st = "Name:\tabcdefgh";
	CHECK_EQ(ml_contig_mem_hist_name(st, strlen(st), buf, 4), 3);
	CHECK_STR(buf, "abc");
}

static void test_mem_hist_file_backed(void)
{
	static const struct {
		const char *name;
		bool file;
	} cases[] = {
		{ "/usr/lib/x86_64-linux-gnu/libc.so.6", true },
		{ "/memfd:crosvm (deleted)", false },
		{ "/memfd:", false },
		{ "/SYSV00000000 (deleted)", true },  /* shm: file-backed to it */
		{ "/dev/zero (deleted)", true },
		{ "/a b", true },
		{ "[heap]", false },
		{ "[anon:x]", false },
		{ "", false },
		{ "/", false },
		{ "//x", false },
		{ "x/y", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = ml_contig_mem_hist_file_backed(cases[i].name,
							  strlen(cases[i].name));

		if (got != cases[i].file)
			printf("# %s\n", cases[i].name);
		CHECK_EQ(got, cases[i].file);
	}
}

static void test_mem_hist_order(void)
{
	int64_t a[10] = { 5, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	int64_t b[10] = { 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
	int64_t c[10] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	/* reversed lists compared: order 9 first, then 8 ... */
	CHECK(ml_contig_mem_hist_cmp(a, b) < 0);
	CHECK(ml_contig_mem_hist_cmp(b, c) < 0);
	CHECK(ml_contig_mem_hist_cmp(c, a) > 0);
	CHECK_EQ(ml_contig_mem_hist_cmp(a, a), 0);
}

/* ---- the command on the fixture -------------------------------------------------------- */

static size_t run_capture(char *const argv[], char *out, size_t sz, int *status)
{
	int fds[2];
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(fds) < 0)
		return 0;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], 1);
		if (null >= 0)
			dup2(null, 2); /* usage and notes: keep the TAP stream clean */
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while (n + 1 < sz && (r = read(fds[0], out + n, sz - n - 1)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	waitpid(pid, status, 0);
	return n;
}

/* One line of mem_hist.py's VMA format: '  {start:016x}-{end:016x} {size:<8} {perms:<4} {hist:<50} {mapped_file:<40}' */
static void mh_line(struct sbuf *b, uint64_t start, uint64_t end,
		    const char *perms, const char *hist, const char *name)
{
	char size[32];

	snprintf(size, sizeof(size), "%llu" "k", (unsigned long long)((end - start) / 1024));
	sb_printf(b, "  %016llx-%016llx %-8s %-4s %-50s %-40s\n",
		  (unsigned long long)start, (unsigned long long)end, size,
		  perms, hist, name);
}

static void test_cli_mem_hist_fixture(void)
{
	static char out[65536];
	struct sbuf want = { .n = 0 };
	struct fixture fx;
	char proot[128];
	int status = -1;

	if (!page_size_ok() || !fx_init(&fx))
		return;
	fx_main(&fx, true);
	fx_kpage(&fx);
	snprintf(proot, sizeof(proot), "--proc-root=%s", fx.root);

	/*
	 * mem_hist.py prints the process, then its VMAs sorted by their
	 * reversed histograms, ascending, ties in maps order: E and F (all
	 * zero), D [1,0..], B [1,1,0..], C (order 8 = 1), A (order 9 = 1).
	 * The name is awk's $2 of "Name:\tfixture prog".
	 */
	sb_printf(&want, "process %-18s %-25s %-50s\n", "4242", "fixture",
		  "[5, 2, 2, 2, 1, 1, 1, 1, 1, 1]");
	mh_line(&want, VE, VE + 4 * PAGE, "rw-s", "[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]", "/dev/shm/x");
	mh_line(&want, VF, VF + (UINT64_C(64) << 30), "---p", "[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]", "");
	mh_line(&want, VD, VD + 2 * PAGE, "rw-p", "[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]", "");
	mh_line(&want, VB, VB + 4 * PAGE, "r--p", "[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]", "/data/file");
	mh_line(&want, VC, VC + 512 * PAGE, "rw-s", "[1, 1, 1, 1, 1, 1, 1, 1, 1, 0]",
		"/anon_hugepage (deleted)");
	mh_line(&want, VA, VA + 1024 * PAGE, "rw-p", "[2, 0, 1, 1, 0, 0, 0, 0, 0, 1]", "");
	{
		char *argv[] = { MEMLENS_BIN, proot, "contig", "--mem-hist", "4242", NULL };

		run_capture(argv, out, sizeof(out), &status);
		CHECK_EQ(status, 0);
		if (strcmp(out, want.s)) {
			printf("# got:\n%s# expected:\n%s", out, want.s);
			CHECK(false);
		}
	}

	/*
	 * --omit-file-backed: B, C (/anon_hugepage is a path to mem_hist) and
	 * E go; --omit-unfaulted-vmas: E and F (all-zero histograms) go.
	 */
	{
		char *argv[] = { MEMLENS_BIN, proot, "contig", "--mem-hist",
				 "--omit-file-backed", "--omit-unfaulted-vmas",
				 "4242", NULL };
		struct sbuf w2 = { .n = 0 };

		sb_printf(&w2, "process %-18s %-25s %-50s\n", "4242", "fixture",
			  "[5, 2, 2, 2, 1, 1, 1, 1, 1, 1]");
		mh_line(&w2, VD, VD + 2 * PAGE, "rw-p", "[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]", "");
		mh_line(&w2, VA, VA + 1024 * PAGE, "rw-p", "[2, 0, 1, 1, 0, 0, 0, 0, 0, 1]", "");
		run_capture(argv, out, sizeof(out), &status);
		CHECK_EQ(status, 0);
		if (strcmp(out, w2.s)) {
			printf("# got:\n%s# expected:\n%s", out, w2.s);
			CHECK(false);
		}
	}

	/* the corrected report and its JSON */
	{
		char *argv[] = { MEMLENS_BIN, proot, "contig", "4242", NULL };

		run_capture(argv, out, sizeof(out), &status);
		CHECK_EQ(status, 0);
		CHECK(strstr(out, "4242 fixture:") != NULL);
		CHECK(strstr(out, "3 1 2 1 0 0 0 0 0 2") != NULL);   /* total blocks */
		CHECK(strstr(out, "4K:5 16K:2 32K:1 2M:2") != NULL); /* total runs */
		CHECK(strstr(out, "4K:4 16K:3 64K:1 2M:2") != NULL); /* total folios */
	}
	{
		char *argv[] = { MEMLENS_BIN, proot, "contig", "--json", "4242", NULL };

		run_capture(argv, out, sizeof(out), &status);
		CHECK_EQ(status, 0);
		CHECK(strstr(out, "\"blocks\":[3,1,2,1,0,0,0,0,0,2]") != NULL);
		CHECK(strstr(out, "\"mem_hist\":[5,2,2,2,1,1,1,1,1,1]") != NULL);
		CHECK(strstr(out, "{\"size\":2097152,\"count\":2,\"bytes\":4194304,\"shared_bytes\":0}") != NULL);
		CHECK(strstr(out, "\"notes\":[]") != NULL);
	}
	{
		char *argv[] = { MEMLENS_BIN, proot, "contig", "--omit-unfaulted-vmas",
				 "--omit-file-backed", "4242", NULL };

		/* corrected: /anon_hugepage is hugetlb, not a file; E is unfaulted */
		run_capture(argv, out, sizeof(out), &status);
		CHECK(strstr(out, "/data/file") == NULL);
		CHECK(strstr(out, "/dev/shm/x") == NULL);
		CHECK(strstr(out, "/anon_hugepage (deleted)") != NULL);
	}
	{
		char *argv[] = { MEMLENS_BIN, proot, "contig", "424242", NULL };

		run_capture(argv, out, sizeof(out), &status);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	}
	{
		char *argv[] = { MEMLENS_BIN, "contig", "--bogus", NULL };

		run_capture(argv, out, sizeof(out), &status);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	}
	fx_fini(&fx);
}

/* ---- live ---------------------------------------------------------------------------- */

/* What the child mapped, sent back through a pipe. */
struct live_layout {
	uint64_t thp;      /* 2 MiB, 2 MiB-aligned, MADV_HUGEPAGE, written */
	uint64_t holes;    /* 32 pages at a 2 MiB boundary, 4K pages, written with holes */
	uint64_t file;     /* 16 pages of a file, shared, read */
	uint64_t zero;     /* 16 pages, 4 read (never written): the zero page */
	uint64_t sparse;   /* 64 GiB rw NORESERVE, 2 pages written */
	uint64_t reserved; /* 64 GiB PROT_NONE */
};

/* The holes pattern of test_holes(), whose figures are worked out there. */
static const char holes_pattern[] = "########.#..############..##...#";

static void live_child(int fd, const char *path)
{
	struct live_layout l = { 0 };
	size_t res_len = MiB(16);
	char *res, *base, *m;
	int ffd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* a PROT_NONE reservation keeps every region its own VMA */
	res = mmap(NULL, res_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		_exit(1);
	base = (char *)(((uintptr_t)res + MiB(2) - 1) & ~(uintptr_t)(MiB(2) - 1));

	m = mmap(base, MiB(2), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m == MAP_FAILED)
		_exit(1);
	madvise(m, MiB(2), MADV_HUGEPAGE);
	for (size_t i = 0; i < MiB(2); i += PAGE)
		m[i] = 1;
	l.thp = (uintptr_t)m;

	m = mmap(base + MiB(4), 32 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m == MAP_FAILED)
		_exit(1);
	madvise(m, 32 * PAGE, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < 32; i++)
		if (holes_pattern[i] == '#')
			m[i * PAGE] = 1;
	l.holes = (uintptr_t)m;

	ffd = open(path, O_RDONLY | O_CLOEXEC);
	if (ffd < 0)
		_exit(1);
	m = mmap(base + MiB(8), 16 * PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, ffd, 0);
	if (m == MAP_FAILED)
		_exit(1);
	for (size_t i = 0; i < 16; i++)
		(void)*(volatile char *)(m + i * PAGE);
	l.file = (uintptr_t)m;

	m = mmap(base + MiB(10), 16 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m == MAP_FAILED)
		_exit(1);
	madvise(m, 16 * PAGE, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < 4; i++)
		(void)*(volatile char *)(m + i * PAGE);
	l.zero = (uintptr_t)m;

	m = mmap(NULL, UINT64_C(64) << 30, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		_exit(1);
	madvise(m, UINT64_C(64) << 30, MADV_NOHUGEPAGE);
	m[0] = 1;
	m[(UINT64_C(32) << 30) + 5 * PAGE] = 1;
	l.sparse = (uintptr_t)m;

	m = mmap(NULL, UINT64_C(64) << 30, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		_exit(1);
	l.reserved = (uintptr_t)m;

	if (write(fd, &l, sizeof(l)) != sizeof(l))
		_exit(1);
	for (;;)
		pause();
}

static pid_t spawn_live(struct live_layout *l, const char *path)
{
	int fds[2];
	pid_t pid;
	ssize_t n;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		live_child(fds[1], path);
	}
	close(fds[1]);
	n = read(fds[0], l, sizeof(*l));
	close(fds[0]);
	if (n != sizeof(*l)) {
		printf("# live child failed to map its memory\n");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* PAGEMAP_SCAN on our own pagemap: ENOTTY before 6.7 */
static bool kernel_has_pagemap_scan(void)
{
	struct {
		uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
		uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
	} arg = { 0 };
	uint64_t region[3];
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return false;
	arg.size = sizeof(arg);
	arg.start = (uintptr_t)region & ~(uint64_t)(PAGE - 1);
	arg.end = arg.start + PAGE;
	arg.vec = (uintptr_t)region;
	arg.vec_len = 1;
	arg.category_mask = arg.return_mask = BIT(3); /* PAGE_IS_PRESENT */
	/* PAGEMAP_SCAN is _IOWR('f', 16, struct pm_scan_arg) */
	n = ioctl(fd, _IOWR('f', 16, typeof(arg)), &arg);
	close(fd);
	return n >= 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_live(const struct ml_contig_proc *cp, const struct live_layout *l,
		       bool pagemap_scan)
{
	const struct ml_contig_vma *thp = find_vma(cp, l->thp), *holes = find_vma(cp, l->holes),
				   *file = find_vma(cp, l->file), *zero = find_vma(cp, l->zero),
				   *sparse = find_vma(cp, l->sparse), *res = find_vma(cp, l->reserved);
	uint64_t sum;

	if (!thp || !holes || !file || !zero || !sparse || !res)
		return;
	/* THP: the kernel's smaps says it is one PMD-mapped 2 MiB THP ... */
	CHECK_U64(thp->end - thp->start, MiB(2));
	CHECK_U64(thp->f.anon_huge, MiB(2));
	/* ... one order-9 block, the 2M staircase in mem_hist, one 2M run, one 2M folio */
	check_hist(thp->f.hist, (uint64_t[10]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, "live THP");
	check_mem_hist(thp->f.mem_hist, (int64_t[10]){ 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, "live THP");
	CHECK_U64(thp->f.runs.nr[9], 1);
	CHECK_U64(thp->f.runs.bytes[9], MiB(2));
	CHECK_U64(thp->f.folios.nr[9], 1);
	CHECK_U64(thp->f.folios.bytes[9], MiB(2));
	CHECK_U64(thp->f.folios.thp_bytes, thp->f.anon_huge);
	CHECK_U64(thp->f.folios.shared_bytes[9], 0);

	/* 4K pages with holes: the figures of test_holes() */
	CHECK_U64(holes->f.present_pages, 24);
	check_hist(holes->f.hist, (uint64_t[10]){ 2, 1, 1, 2 }, "live holes");
	check_mem_hist(holes->f.mem_hist, (int64_t[10]){ 3, 2, 2, 1 }, "live holes");
	CHECK_U64(holes->f.folios.nr[0], 24);
	CHECK_U64(holes->f.folios.bytes[0], 24 * PAGE);
	CHECK_U64(holes->f.folios.shared_bytes[0], 0);
	CHECK_U64(holes->f.rss, 24 * PAGE);
	sum = 0;
	for (int b = 0; b < ML_CONTIG_NR_RUN_BINS; b++)
		sum += holes->f.runs.bytes[b];
	CHECK_U64(sum, 24 * PAGE);

	/* the file: 16 pages read at a 2 MiB boundary: one order-4 block */
	CHECK_U64(file->f.present_pages, 16);
	check_hist(file->f.hist, (uint64_t[10]){ 0, 0, 0, 0, 1 }, "live file");
	check_mem_hist(file->f.mem_hist, (int64_t[10]){ 1, 1, 1, 1, 0 }, "live file");
	sum = 0;
	for (int o = 0; o < ML_CONTIG_NR_FOLIO_ORDERS; o++)
		sum += file->f.folios.bytes[o];
	CHECK_U64(sum, 16 * PAGE); /* page cache folios, whatever their size */
	CHECK_U64(file->f.file_pmd_mapped, 0);
	CHECK_U64(file->f.folios.bytes[9], 0);

	/*
	 * Read, never written: usually Rss 0, yet 4 pages map the zero page.
	 * Some kernels (this test machine's among them) allocate a page on a
	 * read fault instead; then the pages are ordinary ones.
	 */
	CHECK_U64(zero->f.present_pages, 4);
	if (zero->f.rss == 0) {
		CHECK_U64(zero->f.folios.zero_bytes, 4 * PAGE);
	} else {
		printf("# this kernel maps no zero page on a read fault\n");
		CHECK_U64(zero->f.rss, 4 * PAGE);
		CHECK_U64(zero->f.folios.bytes[0], 4 * PAGE);
	}

	/* 64 GiB with 2 pages written, and a 64 GiB reservation */
	CHECK_U64(sparse->f.present_pages, 2);
	CHECK_U64(sparse->f.hist[0], 2);
	/* found with PAGEMAP_SCAN where the kernel has it (6.7+) */
	CHECK_EQ(!!(sparse->flags & ML_CONTIG_VMA_SPARSE), pagemap_scan);
	CHECK(res->flags & (pagemap_scan ? ML_CONTIG_VMA_SPARSE : ML_CONTIG_VMA_SKIPPED));
	CHECK_U64(res->f.present_pages, 0);
}

static void test_live(void)
{
	char dir[] = "/tmp/memlens-contig-live-XXXXXX", path[96];
	static char data[16 * PAGE];
	struct live_layout l;
	struct ml_contig_proc cp;
	struct ml_contig *c;
	struct ml_proc *p;
	double t0, t1;
	pid_t pid;
	int fd;

	if (!page_size_ok() || geteuid() != 0) {
		printf("# not root: the live figures need PFNs and kpageflags\n");
		return;
	}
	if (!mkdtemp(dir)) {
		CHECK(false);
		return;
	}
	snprintf(path, sizeof(path), "%s/file", dir);
	memset(data, 'x', sizeof(data));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
		close(fd);
	}
	pid = spawn_live(&l, path);
	CHECK(pid > 0);
	if (pid <= 0)
		goto out;

	c = mem_ctx(&p, ML_CONTIG_ALL);
	if (c) {
		/* 128 GiB of address space, scanned in well under a second */
		t0 = now_s();
		CHECK_EQ(ml_contig_process(c, pid, &cp), 0);
		t1 = now_s();
		printf("# live scan of %zu VMAs: %.1f ms\n", cp.nr_vmas, (t1 - t0) * 1e3);
		CHECK(t1 - t0 < 0.5);
		CHECK(cp.have_runs);
		CHECK(cp.have_folios);
		CHECK_EQ(cp.notes, 0);
		check_live(&cp, &l, kernel_has_pagemap_scan());
		ml_contig_proc_fini(&cp);

		/* without smaps (the VMAs from maps): the same pages */
		ml_contig_free(c);
		{
			ML_OPTS(ml_contig_opts, o, .what = ML_CONTIG_RUNS | ML_CONTIG_FOLIOS);

			c = NULL;
			CHECK_EQ(ml_contig_new(p, &o, &c), 0);
		}
		if (c) {
			const struct ml_contig_vma *v;

			CHECK_EQ(ml_contig_process(c, pid, &cp), 0);
			CHECK_EQ(cp.have_smaps, !kernel_has_pagemap_scan());
			if ((v = find_vma(&cp, l.thp)))
				CHECK_U64(v->f.folios.bytes[9], MiB(2));
			if ((v = find_vma(&cp, l.holes)))
				check_hist(v->f.hist, (uint64_t[10]){ 2, 1, 1, 2 }, "maps path");
			if ((v = find_vma(&cp, l.sparse)))
				CHECK_U64(v->f.present_pages, 2);
			ml_contig_proc_fini(&cp);
		}

		/* the same with plain pagemap reads only (kernels before 6.7) */
		ml_contig_free(c);
		{
			ML_OPTS(ml_contig_opts, o, .what = ML_CONTIG_ALL,
				.no_pagemap_scan = true);

			c = NULL;
			CHECK_EQ(ml_contig_new(p, &o, &c), 0);
		}
		if (c) {
			CHECK_EQ(ml_contig_process(c, pid, &cp), 0);
			check_live(&cp, &l, false);
			ml_contig_proc_fini(&cp);
		}
	}
	ml_contig_free(c);
	ml_proc_free(p);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out:
	unlink(path);
	rmdir(dir);
}

/* A process that is gone, and a kernel thread. */
static void test_live_gone_and_kthread(void)
{
	struct ml_contig_proc cp;
	struct ml_contig *c;
	struct ml_proc *p;
	char comm[64] = "";
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	c = mem_ctx(&p, ML_CONTIG_ALL);
	if (!c)
		goto out;
	CHECK_EQ(ml_contig_process(c, pid, &cp), -ESRCH);
	ml_contig_proc_fini(&cp);
	/* pid 2 is kthreadd: no memory, an empty pagemap */
	if (ml_proc_comm(p, 2, comm, sizeof(comm)) == 0 && !strcmp(comm, "kthreadd")) {
		CHECK_EQ(ml_contig_process(c, 2, &cp), 0);
		CHECK(cp.notes & ML_CONTIG_NOTE_NO_MM);
		CHECK_EQ(cp.nr_vmas, 0);
		ml_contig_proc_fini(&cp);
	} else {
		printf("# pid 2 is not kthreadd here (%s)\n", comm);
	}
out:
	ml_contig_free(c);
	ml_proc_free(p);
}

/*
 * Without privileges: a target and a reader, both uid 65534. The reader
 * sees presence but PFNs of 0, and kpageflags is refused: it says so.
 */
struct unpriv_result {
	int err;
	uint32_t notes;
	bool have_runs, have_folios;
	uint64_t present;
	uint64_t hist[ML_CONTIG_NR_ORDERS];
};

static void test_live_unprivileged(void)
{
	int ready[2], res[2];
	struct unpriv_result r = { .err = 1 };
	uint64_t addr = 0;
	pid_t target, reader;

	if (geteuid() != 0) {
		printf("# not root: cannot switch to uid 65534\n");
		return;
	}
	if (pipe(ready) < 0 || pipe(res) < 0) {
		CHECK(false);
		return;
	}
	target = fork();
	if (target == 0) {
		char *m;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setgid(65534) || setuid(65534))
			_exit(1);
		prctl(PR_SET_DUMPABLE, 1); /* let the same user read our pagemap */
		m = mmap(NULL, MiB(4), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(1);
		m = (char *)(((uintptr_t)m + MiB(2) - 1) & ~(uintptr_t)(MiB(2) - 1));
		madvise(m, 16 * PAGE, MADV_NOHUGEPAGE);
		for (int i = 0; i < 16; i++)
			m[i * PAGE] = 1;
		addr = (uintptr_t)m;
		if (write(ready[1], &addr, sizeof(addr)) != sizeof(addr))
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &addr, sizeof(addr)) != sizeof(addr)) {
		CHECK(false);
		goto out;
	}
	reader = fork();
	if (reader == 0) {
		struct ml_contig_proc cp;
		struct ml_contig *c = NULL;
		struct ml_proc *p = NULL;
		ML_OPTS(ml_contig_opts, o, .what = ML_CONTIG_ALL);

		if (setgid(65534) || setuid(65534))
			_exit(1);
		if (ml_proc_new(NULL, &p) || ml_contig_new(p, &o, &c))
			_exit(1);
		r.err = ml_contig_process(c, target, &cp);
		r.notes = cp.notes;
		r.have_runs = cp.have_runs;
		r.have_folios = cp.have_folios;
		for (size_t i = 0; i < cp.nr_vmas; i++)
			if (cp.vmas[i].start <= addr && addr < cp.vmas[i].end) {
				r.present = cp.vmas[i].f.present_pages;
				memcpy(r.hist, cp.vmas[i].f.hist, sizeof(r.hist));
			}
		if (write(res[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(res[1]);
	CHECK_EQ(read(res[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	waitpid(reader, NULL, 0);
	CHECK_EQ(r.err, 0);
	CHECK(r.notes & ML_CONTIG_NOTE_PFNS_HIDDEN);
	CHECK(r.notes & ML_CONTIG_NOTE_NO_KPAGEFLAGS);
	CHECK(!r.have_runs);
	CHECK(!r.have_folios);
	/* 16 written pages at a 2 MiB boundary: one order-4 block, by presence */
	CHECK(r.present >= 16);
	CHECK(r.hist[4] >= 1);
out:
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	close(ready[0]);
	close(res[0]);
}

TAP_MAIN(TEST(test_quirk_first_block), TEST(test_quirk_subtract),
	 TEST(test_quirk_early_stop), TEST(test_holes),
	 TEST(test_random_layouts), TEST(test_run_bins),
	 TEST(test_fixture_process), TEST(test_fixture_pfns_hidden),
	 TEST(test_fixture_no_kpage), TEST(test_fixture_partial),
	 TEST(test_mem_hist_name), TEST(test_mem_hist_file_backed),
	 TEST(test_mem_hist_order), TEST(test_cli_mem_hist_fixture),
	 TEST(test_live), TEST(test_live_gone_and_kthread),
	 TEST(test_live_unprivileged))
