// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The DAMON access sources of real processes: wp, softdirty, idle.
 *
 * Where the expected values come from:
 *  - wp: this test's own writer thread, which writes every page of a known
 *    hot subrange of a 1 GiB mapping and nothing else of it; the sampling
 *    loop here is the test's own (fixed 16 MiB regions), so the source is
 *    judged apart from the monitoring core;
 *  - softdirty and idle: fixture trees built in a mkdtemp directory, with
 *    pagemap entries and page_idle bits set at offsets worked out in the
 *    comments beside them, and "accesses" simulated by changing those
 *    files between prepare() and check() as the kernel would;
 *  - the sources this kernel lacks: the kernel's own answer (doctor's
 *    probe and the /sys file's absence), checked against the error.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memlens/damon.h>
#include <memlens/features.h>
#include <memlens/pagemap.h>
#include <memlens/proc.h>

#include "tap.h"

#define PAGE 4096u
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- wp: in-process, a hot subrange of 1 GiB ---------------------------- */

struct writer {
	volatile char *base;
	uint64_t hot_off, hot_len;
	atomic_bool stop;
	atomic_ulong sweeps;
};

/* Write one byte of every page of the hot subrange, over and over. */
static void *writer_fn(void *arg)
{
	struct writer *w = arg;

	while (!atomic_load(&w->stop)) {
		for (uint64_t o = 0; o < w->hot_len; o += PAGE)
			w->base[w->hot_off + o]++;
		atomic_fetch_add(&w->sweeps, 1);
	}
	return NULL;
}

static bool range_covers(const struct ml_damon_range *r, size_t nr,
			 uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < nr; i++)
		if (r[i].start <= start && end <= r[i].end)
			return true;
	return false;
}

/*
 * 1 GiB in 64 regions of 16 MiB; the hot subrange is [256 MiB, 320 MiB),
 * regions 16 to 19. Each of 20 samples arms one random page per region,
 * waits 5 ms, checks. A hot region's page is written within each sample
 * (the writer sweeps the 64 MiB in well under 5 ms between faults), a cold
 * region's never: the expected count is 20 for regions 16-19 and 0 for the
 * rest. Tolerance: a hot region must be seen in at least 15 of 20 samples
 * (a loaded machine may deschedule the writer for a whole sample), a cold
 * one in none.
 */
#define WP_REGIONS 64
#define WP_SAMPLES 20
#define WP_HOT_FIRST 16
#define WP_HOT_LAST 19

static void test_wp_finds_hot_subrange(void)
{
	struct writer w = { .hot_off = 256 * MiB, .hot_len = 64 * MiB };
	struct ml_damon_range *ranges;
	struct ml_damon_wp_stats st;
	unsigned int count[WP_REGIONS] = { 0 };
	uint64_t addrs[WP_REGIONS], region = GiB / WP_REGIONS;
	bool acc[WP_REGIONS];
	const char *why = NULL;
	void *state = NULL;
	size_t nr = 0;
	pthread_t th;
	char *base;
	int err;

	base = mmap(NULL, GiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(base != MAP_FAILED);
	if (base == MAP_FAILED)
		return;
	/* populate half: the other half is first written under monitoring */
	memset(base, 1, GiB / 2);
	err = ml_damon_wp_ops.init(&state, 0, NULL, &why);
	CHECK_EQ(err, 0);
	if (err) {
		printf("# wp init: %s (%s)\n", strerror(-err), why ? why : "");
		munmap(base, GiB);
		return;
	}
	ranges = calloc(4096, sizeof(*ranges));
	CHECK_EQ(ml_damon_wp_ops.ranges(state, 0, ranges, 4096, &nr), 0);
	CHECK(nr > 0 && nr <= 4096);
	CHECK(range_covers(ranges, nr, (uintptr_t)base, (uintptr_t)base + GiB));

	w.base = base;
	CHECK_EQ(pthread_create(&th, NULL, writer_fn, &w), 0);
	/*
	 * Steady state first: the first sweep after ranges() armed the
	 * populated pages takes one fault per page (~0.1 s for 64 MiB).
	 */
	while (atomic_load(&w.sweeps) < 2)
		sleep_us(1000);
	srand(42);
	for (int s = 0; s < WP_SAMPLES; s++) {
		for (int r = 0; r < WP_REGIONS; r++)
			addrs[r] = (uintptr_t)base + r * region +
				   (uint64_t)(rand() % (int)(region / PAGE)) * PAGE;
		CHECK_EQ(ml_damon_wp_ops.prepare(state, 0, addrs, WP_REGIONS), 0);
		sleep_us(5000);
		CHECK_EQ(ml_damon_wp_ops.check(state, 0, addrs, WP_REGIONS, acc), 0);
		for (int r = 0; r < WP_REGIONS; r++)
			count[r] += acc[r];
	}
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);

	for (int r = 0; r < WP_REGIONS; r++) {
		bool hot = r >= WP_HOT_FIRST && r <= WP_HOT_LAST;

		if (hot ? count[r] < 15 : count[r] != 0)
			printf("# region %d (%s): %u of %d samples\n", r,
			       hot ? "hot" : "cold", count[r], WP_SAMPLES);
		CHECK(hot ? count[r] >= 15 : count[r] == 0);
	}
	CHECK_EQ(ml_damon_wp_stats(state, &st), 0);
	printf("# writer sweeps %lu; page checks %llu, ranged scans %llu, "
	       "re-armed %llu, armed at start %llu MiB; model: %llu ns/page, %llu ns/MiB; "
	       "WP_UNPOPULATED %d\n", atomic_load(&w.sweeps),
	       (unsigned long long)st.nr_page_checks,
	       (unsigned long long)st.nr_range_scans,
	       (unsigned long long)st.nr_armed,
	       (unsigned long long)(st.nr_bytes_armed_at_start >> 20),
	       (unsigned long long)st.page_ns,
	       (unsigned long long)st.scan_ns_per_mib, st.wp_unpopulated);
	ml_damon_wp_ops.fini(state);
	free(ranges);
	munmap(base, GiB);
}

/*
 * The ranged check must answer as the per-page one does: with many close
 * samples the model picks the ranged scan; the pages written are the odd
 * ones, by this test's own loop.
 */
static void test_wp_ranged_equals_per_page(void)
{
	enum { NR = 2048 };
	uint64_t *addrs = calloc(NR, sizeof(*addrs));
	bool *acc = calloc(NR, sizeof(*acc));
	struct ml_damon_range r[64];
	struct ml_damon_wp_stats st;
	size_t nr;
	void *state = NULL;
	char *base;
	int wrong = 0;

	base = mmap(NULL, NR * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(base != MAP_FAILED);
	CHECK_EQ(ml_damon_wp_ops.init(&state, 0, NULL, NULL), 0);
	if (!state || base == MAP_FAILED)
		return;
	CHECK_EQ(ml_damon_wp_ops.ranges(state, 0, r, 64, &nr), 0);
	for (int i = 0; i < NR; i++)
		addrs[i] = (uintptr_t)base + (uint64_t)i * PAGE + 8;
	/* several rounds: the model moves to ranged scans as it learns */
	for (int round = 0; round < 4; round++) {
		CHECK_EQ(ml_damon_wp_ops.prepare(state, 0, addrs, NR), 0);
		for (int i = 1; i < NR; i += 2)
			base[(uint64_t)i * PAGE] = (char)round;
		CHECK_EQ(ml_damon_wp_ops.check(state, 0, addrs, NR, acc), 0);
		for (int i = 0; i < NR; i++)
			wrong += acc[i] != (i & 1);
	}
	CHECK_EQ(wrong, 0);
	CHECK_EQ(ml_damon_wp_stats(state, &st), 0);
	printf("# %llu page checks, %llu ranged scans\n",
	       (unsigned long long)st.nr_page_checks,
	       (unsigned long long)st.nr_range_scans);
	/* 2048 pages of 8 MiB: the scan is far cheaper, it must be used */
	CHECK(st.nr_range_scans > 0);
	ml_damon_wp_ops.fini(state);
	munmap(base, NR * PAGE);
	free(addrs);
	free(acc);
}

/* Unmapped and remapped under the source: errors none, answers honest. */
static void test_wp_unmap_remap(void)
{
	struct ml_damon_range r[256];
	uint64_t addrs[4];
	bool acc[4] = { true, true, true, true };
	void *state = NULL;
	size_t nr;
	char *a;

	a = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_EQ(ml_damon_wp_ops.init(&state, 0, NULL, NULL), 0);
	if (!state)
		return;
	CHECK_EQ(ml_damon_wp_ops.ranges(state, 0, r, 256, &nr), 0);
	CHECK(range_covers(r, nr, (uintptr_t)a, (uintptr_t)a + 4 * MiB));
	for (int i = 0; i < 4; i++)
		addrs[i] = (uintptr_t)a + (uint64_t)i * MiB;
	CHECK_EQ(ml_damon_wp_ops.prepare(state, 0, addrs, 4), 0);
	/* gone: checks answer "not written", without an error */
	munmap(a, 4 * MiB);
	CHECK_EQ(ml_damon_wp_ops.check(state, 0, addrs, 4, acc), 0);
	CHECK(!acc[0] && !acc[1] && !acc[2] && !acc[3]);
	/* back, not registered yet: still not written, still no error */
	a = mmap(a, 4 * MiB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(a != MAP_FAILED);
	CHECK_EQ(ml_damon_wp_ops.prepare(state, 0, addrs, 4), 0);
	a[0] = 1;
	CHECK_EQ(ml_damon_wp_ops.check(state, 0, addrs, 4, acc), 0);
	CHECK(!acc[0]);
	/* ranges() registers it again; then its writes are seen */
	CHECK_EQ(ml_damon_wp_ops.ranges(state, 0, r, 256, &nr), 0);
	CHECK(range_covers(r, nr, (uintptr_t)a, (uintptr_t)a + 4 * MiB));
	CHECK_EQ(ml_damon_wp_ops.prepare(state, 0, addrs, 4), 0);
	a[2 * MiB] = 1;
	CHECK_EQ(ml_damon_wp_ops.check(state, 0, addrs, 4, acc), 0);
	CHECK(!acc[0] && !acc[1] && acc[2] && !acc[3]);
	ml_damon_wp_ops.fini(state);
	munmap(a, 4 * MiB);
}

/* wp is about the caller: another pid is refused with the way out. */
static void test_wp_other_pid(void)
{
	const char *why = NULL;
	void *state = NULL;

	CHECK_EQ(ml_damon_wp_ops.init(&state, 1, NULL, &why), -EINVAL);
	CHECK(why && strstr(why, "libmemlens-damon.so"));
	CHECK_EQ(ml_damon_wp_ops.init(&state, 0, "bogus=1", &why), -EINVAL);
	CHECK(ml_damon_wp_ops.sees == ML_DAMON_SEES_WRITES);
}

/* ---- fixture trees --------------------------------------------------------- */

#define FX_PID 4242

struct fx {
	char root[128];
	char proc[160];
	char sys[160];
	char arg[400];
};

static void fx_write(const struct fx *f, const char *rel, const void *data,
		     size_t len, off_t off)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, data, len, off), (ssize_t)len);
	close(fd);
}

static void fx_read(const struct fx *f, const char *rel, void *data,
		    size_t len, off_t off)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, data, len, off), (ssize_t)len);
	close(fd);
}

static void fx_mkdir(const struct fx *f, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	CHECK_EQ(mkdir(path, 0755), 0);
}

/*
 * The process: three mappings,
 *   0x10000000-0x10010000 rw-p anonymous (16 pages)
 *   0x20000000-0x20004000 r--p a file (4 pages; not writable)
 *   0x30000000-0x30008000 rw-p [heap] (8 pages)
 */
static const char fx_maps[] =
	"10000000-10010000 rw-p 00000000 00:00 0 \n"
	"20000000-20004000 r--p 00000000 08:01 1234 /usr/lib/x.so\n"
	"30000000-30008000 rw-p 00000000 00:00 0 [heap]\n";

static void fx_make(struct fx *f, bool with_idle)
{
	char rel[64];

	snprintf(f->root, sizeof(f->root), "/tmp/memlens-dsrc-XXXXXX");
	CHECK(mkdtemp(f->root) != NULL);
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->root);
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->root);
	snprintf(f->arg, sizeof(f->arg), "proc_root=%s,sys_root=%s", f->proc,
		 f->sys);
	fx_mkdir(f, "proc");
	snprintf(rel, sizeof(rel), "proc/%d", FX_PID);
	fx_mkdir(f, rel);
	snprintf(rel, sizeof(rel), "proc/%d/maps", FX_PID);
	fx_write(f, rel, fx_maps, sizeof(fx_maps) - 1, 0);
	snprintf(rel, sizeof(rel), "proc/%d/stat", FX_PID);
	fx_write(f, rel, "4242 (fx) S 1\n", 14, 0);
	snprintf(rel, sizeof(rel), "proc/%d/clear_refs", FX_PID);
	fx_write(f, rel, "", 0, 0);
	fx_mkdir(f, "sys");
	fx_mkdir(f, "sys/kernel");
	fx_mkdir(f, "sys/kernel/mm");
	if (with_idle) {
		uint64_t zero[64] = { 0 };

		fx_mkdir(f, "sys/kernel/mm/page_idle");
		/* 64 words: PFNs 0 to 4095 */
		fx_write(f, "sys/kernel/mm/page_idle/bitmap", zero,
			 sizeof(zero), 0);
	}
}

/* Entry of page @vaddr in the fixture's pagemap: offset vaddr / 4096 * 8. */
static void fx_pme(const struct fx *f, uint64_t vaddr, uint64_t pme)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "proc/%d/pagemap", FX_PID);
	fx_write(f, rel, &pme, 8, (off_t)(vaddr / PAGE * 8));
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fx_free(struct fx *f)
{
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#define PRESENT (UINT64_C(1) << 63)
#define SWAPPED (UINT64_C(1) << 62)
#define SOFT_DIRTY (UINT64_C(1) << 55)

/*
 * softdirty: the writable mappings are the anonymous one and [heap]; the
 * read-only file mapping is left out (nothing can write it). Pages
 * sampled: 0x10000000 (soft-dirty, present), 0x10005000 (present, clean),
 * 0x30002000 (swapped, soft-dirty kept in the swap entry), 0x30007000
 * (never touched: entry 0). prepare() writes "4" to clear_refs.
 */
static void test_softdirty_fixture(void)
{
	const struct ml_damon_ops *o = &ml_damon_softdirty_ops;
	uint64_t addrs[] = { 0x10000000, 0x10005000, 0x30002000, 0x30007000 };
	bool acc[4], want[4] = { true, false, true, false };
	struct ml_damon_range r[8];
	const char *why = NULL;
	void *state = NULL;
	char rel[64], buf[2] = "";
	size_t nr = 0;
	struct fx f;
	int err;

	fx_make(&f, false);
	fx_pme(&f, 0x30007000, 0); /* the pagemap is 0x30008 entries long */
	err = o->init(&state, FX_PID, f.arg, &why);
	CHECK_EQ(err, 0);
	if (err) {
		printf("# softdirty init: %s (%s)\n", strerror(-err), why);
		fx_free(&f);
		return;
	}
	CHECK_EQ(o->ranges(state, 0, r, 8, &nr), 0);
	CHECK_EQ(nr, 2);
	CHECK_U64(r[0].start, 0x10000000);
	CHECK_U64(r[0].end, 0x10010000);
	CHECK_U64(r[1].start, 0x30000000);
	CHECK_U64(r[1].end, 0x30008000);

	CHECK_EQ(o->prepare(state, 0, addrs, 4), 0);
	snprintf(rel, sizeof(rel), "proc/%d/clear_refs", FX_PID);
	fx_read(&f, rel, buf, 1, 0);
	CHECK(buf[0] == '4');
	/* the "kernel" sets bits on the writes that followed */
	fx_pme(&f, 0x10000000, PRESENT | SOFT_DIRTY | 0x1234);
	fx_pme(&f, 0x10005000, PRESENT | 0x1235);
	fx_pme(&f, 0x30002000, SWAPPED | SOFT_DIRTY | (7 << 5));
	CHECK_EQ(o->check(state, 0, addrs, 4, acc), 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(acc[i], want[i]);
	CHECK(o->alive(state));
	CHECK(o->sees == ML_DAMON_SEES_WRITES);
	o->fini(state);
	fx_free(&f);
}

/*
 * idle: all three mappings are offered. Pages and PFNs (present, bits 0-54):
 *   A 0x10000000 PFN 100 (word 1, bit 36): stays idle -> not accessed
 *   B 0x10001000 PFN 200 (word 3, bit 8): the "kernel" clears its idle bit
 *     (a read or write) -> accessed
 *   C 0x20000000 PFN 300 (word 4, bit 44) at prepare, PFN 400 at check (a
 *     copy-on-write) -> accessed
 *   D 0x30000000 not present at prepare, PFN 500 at check (faulted in)
 *     -> accessed
 *   E 0x30001000 not present at either -> not accessed
 * prepare() writes exactly the words 1 << 36 at offset 8, 1 << 8 at 24 and
 * 1 << 44 at 32.
 */
static void test_idle_fixture(void)
{
	const struct ml_damon_ops *o = &ml_damon_idle_ops;
	uint64_t addrs[] = { 0x10000000, 0x10001000, 0x20000000, 0x30000000,
			     0x30001000 };
	bool acc[5], want[5] = { false, true, true, true, false };
	uint64_t bitmap[64], zero = 0;
	struct ml_damon_range r[8];
	const char *why = NULL;
	void *state = NULL;
	size_t nr = 0;
	struct fx f;
	int err;

	fx_make(&f, true);
	fx_pme(&f, 0x10000000, PRESENT | 100);
	fx_pme(&f, 0x10001000, PRESENT | 200);
	fx_pme(&f, 0x20000000, PRESENT | 300);
	fx_pme(&f, 0x30000000, 0);
	fx_pme(&f, 0x30001000, 0);
	err = o->init(&state, FX_PID, f.arg, &why);
	CHECK_EQ(err, 0);
	if (err) {
		printf("# idle init: %s (%s)\n", strerror(-err), why);
		fx_free(&f);
		return;
	}
	CHECK_EQ(o->ranges(state, 0, r, 8, &nr), 0);
	/* the three mappings; none adjacent */
	CHECK_EQ(nr, 3);
	CHECK_EQ(o->prepare(state, 0, addrs, 5), 0);
	fx_read(&f, "sys/kernel/mm/page_idle/bitmap", bitmap, sizeof(bitmap), 0);
	for (int w = 0; w < 64; w++) {
		uint64_t want_w = w == 1 ? UINT64_C(1) << 36 :
				  w == 3 ? UINT64_C(1) << 8 :
				  w == 4 ? UINT64_C(1) << 44 : 0;

		CHECK_U64(bitmap[w], want_w);
	}
	/* the accesses, as the kernel would show them */
	fx_write(&f, "sys/kernel/mm/page_idle/bitmap", &zero, 8, 24);
	fx_pme(&f, 0x20000000, PRESENT | 400);
	fx_pme(&f, 0x30000000, PRESENT | 500);
	CHECK_EQ(o->check(state, 0, addrs, 5, acc), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(acc[i], want[i]);
	CHECK(o->sees == (ML_DAMON_SEES_READS | ML_DAMON_SEES_WRITES));
	o->fini(state);
	fx_free(&f);
}

/* A fixture without page_idle is a kernel without it. */
static void test_idle_fixture_lacking(void)
{
	const char *why = NULL;
	void *state = NULL;
	struct fx f;

	fx_make(&f, false);
	CHECK_EQ(ml_damon_idle_ops.init(&state, FX_PID, f.arg, &why),
		 -EOPNOTSUPP);
	CHECK_STR(why, "kernel lacks CONFIG_IDLE_PAGE_TRACKING");
	/* a process that is gone */
	CHECK_EQ(ml_damon_softdirty_ops.init(&state, FX_PID + 1, f.arg, &why),
		 -ESRCH);
	fx_free(&f);
}

/* ---- the running kernel ------------------------------------------------------ */

/*
 * What this kernel lacks, the sources say by name. The truth is the
 * kernel's: the probe of soft-dirty (a write after clear_refs 4 sets bit
 * 55 or not) and whether /sys/kernel/mm/page_idle exists.
 */
static void test_live_lacking(void)
{
	ML_OPTS(ml_proc_opts, po);
	struct ml_feature sd;
	struct ml_proc *p = NULL;
	const char *why = NULL;
	void *state = NULL;
	bool have_idle;
	int err;

	CHECK_EQ(ml_proc_new(&po, &p), 0);
	CHECK_EQ(ml_features_probe_one(p, ML_FEATURE_SOFT_DIRTY, &sd), 0);
	err = ml_damon_softdirty_ops.init(&state, getppid(), NULL, &why);
	printf("# softdirty: kernel says %s; source: %d %s\n",
	       ml_feature_state_name(sd.state), err, why ? why : "");
	if (sd.state == ML_FEAT_NO) {
		CHECK_EQ(err, -EOPNOTSUPP);
		CHECK_STR(why, "kernel lacks CONFIG_MEM_SOFT_DIRTY");
	} else if (!err) {
		ml_damon_softdirty_ops.fini(state);
	}
	state = NULL;
	have_idle = access("/sys/kernel/mm/page_idle", F_OK) == 0;
	err = ml_damon_idle_ops.init(&state, getppid(), NULL, &why);
	printf("# idle: page_idle %s; source: %d %s\n",
	       have_idle ? "present" : "absent", err, why ? why : "");
	if (!have_idle) {
		CHECK_EQ(err, -EOPNOTSUPP);
		CHECK_STR(why, "kernel lacks CONFIG_IDLE_PAGE_TRACKING");
	} else if (!err) {
		ml_damon_idle_ops.fini(state);
	}
	ml_proc_free(p);
}

TAP_MAIN(TEST(test_wp_finds_hot_subrange), TEST(test_wp_ranged_equals_per_page),
	 TEST(test_wp_unmap_remap), TEST(test_wp_other_pid),
	 TEST(test_softdirty_fixture), TEST(test_idle_fixture),
	 TEST(test_idle_fixture_lacking), TEST(test_live_lacking))
