/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the guest tests of the softdirty and idle sources share (included
 * by 82-damon-softdirty.c and 84-damon-idle.c; tests/vm/run builds only
 * NN-name.c files). A child maps 64 MiB, populates it, then writes one byte
 * of every page of [16, 24) MiB and reads one of every page of [40, 48)
 * MiB, sweep after sweep, counting its sweeps in a shared page.
 *
 * Truth, from the child's own loop and the kernel's .config:
 *  - the source is there iff $KCONFIG has its option (else init() must say
 *    -EOPNOTSUPP and name it);
 *  - ops level, 16 regions of 4 MiB (2 MiB aligned, so that no THP
 *    straddles two): in a sample during which the child
 *    completed two sweeps, every page of regions 4-5 was written (and of
 *    10-11 read) after prepare(), so they must be seen (the read ones by
 *    idle only); the rest of the mapping is never touched, so never seen;
 *  - the core on the child for 8 s (TCG: intervals 4x the defaults): the
 *    last snapshots' hot regions cover at least 80% of the written range
 *    and add at most 5% of the 64 MiB elsewhere in the mapping (idle: the
 *    last snapshot, where the read range is hot as well and counts).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memlens/damon.h>

#define MiB (UINT64_C(1) << 20)
#define SIZE (64 * MiB)
#define PAGE 4096u
#define THP (2 * MiB)
#define NR_REGIONS 16
#define REGION (SIZE / NR_REGIONS)

static int nr_fail, nr_check;

#define CHECK(cond, ...) do { \
	nr_check++; \
	printf("check %s: ", (cond) ? "ok" : "FAIL"); \
	printf(__VA_ARGS__); \
	putchar('\n'); \
	if (!(cond)) nr_fail++; \
} while (0)

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* "CONFIG_X=y" in the guest kernel's .config ($KCONFIG). */
static int kconfig_y(const char *opt)
{
	const char *path = getenv("KCONFIG");
	char line[256], want[128];
	int found = 0;
	FILE *f;

	if (!path || !(f = fopen(path, "r")))
		return -1;
	snprintf(want, sizeof(want), "CONFIG_%s=y\n", opt);
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, want))
			found = 1;
	fclose(f);
	return found;
}

struct child {
	pid_t pid;
	uint64_t base;
	volatile unsigned long *sweeps;
};

static void child_main(char *base, volatile unsigned long *sweeps, int pipe_fd)
{
	unsigned long sum = 0;

	memset(base, 1, SIZE);
	if (write(pipe_fd, &base, sizeof(base)) != sizeof(base))
		_exit(1);
	for (;;) {
		for (uint64_t o = 0; o < 8 * MiB; o += PAGE) {
			base[16 * MiB + o]++;
			sum += (unsigned char)((volatile char *)base)[40 * MiB + o];
		}
		__atomic_add_fetch(sweeps, 1 + (sum & 0), __ATOMIC_RELAXED);
	}
}

static int start_child(struct child *c)
{
	int pfd[2];
	char *base;

	c->sweeps = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->sweeps == MAP_FAILED || pipe(pfd))
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		/*
		 * 2 MiB aligned: where THPs back it (Debian's 6.1: THP
		 * always), a huge page's soft-dirty and young bits are one
		 * per PMD, so a THP straddling two regions would make a
		 * write in one look like a write in the other.
		 */
		base = mmap(NULL, SIZE + THP, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED)
			_exit(1);
		base = (char *)(((uintptr_t)base + THP - 1) & ~(uintptr_t)(THP - 1));
		child_main(base, c->sweeps, pfd[1]);
	}
	close(pfd[1]);
	if (read(pfd[0], &base, sizeof(base)) != sizeof(base))
		return -1;
	close(pfd[0]);
	c->base = (uintptr_t)base;
	return 0;
}

static void stop_child(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
}

/* The ops alone, fixed regions: see the file comment. */
static void ops_level(const struct ml_damon_ops *ops, const struct child *c,
		      bool sees_reads)
{
	unsigned int counted = 0, tries = 0, written_missed = 0, read_missed = 0,
		     read_seen = 0, cold_seen = 0;
	uint64_t addrs[NR_REGIONS];
	bool acc[NR_REGIONS];
	const char *why = NULL;
	void *st = NULL;
	int err;

	err = ops->init(&st, c->pid, NULL, &why);
	CHECK(err == 0, "%s: init on the child: %d %s", ops->name, err,
	      why ? why : "");
	if (err)
		return;
	srand(5);
	while (counted < 20 && tries++ < 1000) {
		unsigned long before;

		for (int r = 0; r < NR_REGIONS; r++)
			addrs[r] = c->base + (uint64_t)r * REGION +
				   (uint64_t)(rand() % (int)(REGION / PAGE)) * PAGE;
		before = *c->sweeps;
		err = ops->prepare(st, 0, addrs, NR_REGIONS);
		if (!err) {
			sleep_us(20000);
			err = ops->check(st, 0, addrs, NR_REGIONS, acc);
		}
		if (err) {
			printf("# %s: prepare/check: %d\n", ops->name, err);
			break;
		}
		for (int r = 0; r < NR_REGIONS; r++) {
			bool w = r == 4 || r == 5, rd = r == 10 || r == 11;

			if (!w && !rd)
				cold_seen += acc[r];
		}
		if (*c->sweeps < before + 2)
			continue;
		counted++;
		written_missed += !acc[4] + !acc[5];
		read_missed += !acc[10] + !acc[11];
		read_seen += acc[10] + acc[11];
	}
	printf("# %s: %u samples, %u counted\n", ops->name, tries, counted);
	CHECK(counted == 20, "%s: 20 samples with the child running", ops->name);
	CHECK(written_missed == 0, "%s: written regions seen in every sample "
	      "(missed %u)", ops->name, written_missed);
	if (sees_reads)
		CHECK(read_missed == 0, "%s: read regions seen in every sample "
		      "(missed %u)", ops->name, read_missed);
	else
		CHECK(read_seen == 0, "%s: read regions never seen as written "
		      "(seen %u)", ops->name, read_seen);
	CHECK(cold_seen == 0, "%s: untouched regions never seen (seen %u)",
	      ops->name, cold_seen);
	ops->fini(st);
}

struct core_result {
	uint64_t lo, hi;
	unsigned int snaps, ok_tail;
	uint64_t inside, outside;
};

static int on_snap(const struct ml_damon_snapshot *s, void *arg)
{
	struct core_result *cr = arg;
	uint64_t in = 0, out = 0;

	for (size_t i = 0; i < s->nr_regions; i++) {
		const struct ml_damon_region *r = &s->regions[i];
		uint64_t a = r->start > cr->lo ? r->start : cr->lo;
		uint64_t b = r->end < cr->hi ? r->end : cr->hi;
		uint64_t both = b > a ? b - a : 0;

		if (4 * r->nr_accesses < s->max_nr_accesses)
			continue;
		in += both;
		out += r->end - r->start - both;
	}
	cr->snaps++;
	cr->inside = in;
	cr->outside = out;
	cr->ok_tail = in * 10 >= (cr->hi - cr->lo) * 8 && out * 20 <= SIZE ?
		      cr->ok_tail + 1 : 0;
	return 0;
}

/* The core on the child: the written range is found. */
static void core_level(const struct ml_damon_ops *ops, const struct child *c,
		       bool sees_reads)
{
	struct ml_damon_attrs a;
	struct ml_damon_ctx *ctx = NULL;
	struct core_result cr = { 0 };
	const char *why = NULL;
	int err;

	ml_damon_attrs_default(&a);
	a.sample_us *= 4;
	a.aggr_us *= 4;
	a.ops_update_us = 1000000;
	cr.lo = c->base + 16 * MiB;
	cr.hi = c->base + 24 * MiB;
	if (ml_damon_ctx_new(&a, 3, &ctx))
		return;
	ml_damon_set_callback(ctx, on_snap, &cr);
	err = ml_damon_add_target(ctx, ops, c->pid, NULL, &why);
	CHECK(err >= 0, "%s: core target: %d %s", ops->name, err, why ? why : "");
	if (err >= 0) {
		err = ml_damon_run(ctx, 8000000, NULL);
		if (err)
			printf("# %s core: ml_damon_run: %d\n", ops->name, err);
	}
	printf("# %s core: %u snapshots, last: %llu KiB inside, %llu KiB "
	       "outside; %u good at the end\n", ops->name, cr.snaps,
	       (unsigned long long)(cr.inside >> 10),
	       (unsigned long long)(cr.outside >> 10), cr.ok_tail);
	/* idle: the read range is hot as well, and is the only 'outside' */
	if (sees_reads)
		CHECK(cr.inside * 10 >= 8 * MiB * 8 &&
		      cr.outside <= 8 * MiB + SIZE / 20,
		      "%s core: the written range found, and elsewhere only the "
		      "read one (plus at most 5%% of the mapping)", ops->name);
	else
		CHECK(cr.ok_tail >= 3, "%s core: the written range found in the "
		      "last 3 snapshots", ops->name);
	ml_damon_ctx_free(ctx);
}

/* The whole test for one source and its kernel option. */
static int run_source(const struct ml_damon_ops *ops, const char *option,
		      bool sees_reads)
{
	int have = kconfig_y(option);
	struct child c;
	const char *why = NULL;
	void *st = NULL;
	int err;

	if (have < 0) {
		printf("MLVM skip no $KCONFIG\n");
		return 77;
	}
	if (start_child(&c)) {
		printf("check FAIL: cannot start the child\n");
		return 1;
	}
	if (!have) {
		char want[96];

		err = ops->init(&st, c.pid, NULL, &why);
		snprintf(want, sizeof(want), "kernel lacks CONFIG_%s", option);
		CHECK(err == -EOPNOTSUPP && why && !strcmp(why, want),
		      "%s without CONFIG_%s: %d '%s'", ops->name, option, err,
		      why ? why : "");
		if (!err)
			ops->fini(st);
	} else {
		ops_level(ops, &c, sees_reads);
		core_level(ops, &c, sees_reads);
	}
	stop_child(&c);
	printf("# %d of %d checks failed\n", nr_fail, nr_check);
	return nr_fail ? 1 : 0;
}
