// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The `wp` access source: writes of the calling process, from userfaultfd
 * write-protect in async mode and the PAGEMAP_SCAN ioctl (6.7+).
 *
 * Sees WRITES ONLY: a read of an armed page does not fault, so a region
 * that is only read looks idle.
 *
 * How: every writable VMA (private anonymous, and file mappings, which
 * async mode allows) is registered with a
 * userfaultfd in UFFDIO_REGISTER_MODE_WP with UFFD_FEATURE_WP_ASYNC (and
 * WP_UNPOPULATED where the kernel has it, 6.4+, so that a first write to a
 * page never touched is seen too). In async mode a write to a
 * write-protected page never blocks: the kernel resolves the fault itself
 * and drops the page's uffd-wp bit, which PAGEMAP_SCAN then reports as
 * PAGE_IS_WRITTEN. So:
 *  - prepare() arms only the sampled pages, one PAGEMAP_SCAN each with
 *    PM_SCAN_WP_MATCHING over the page (it re-protects the page when it
 *    was written, and is a walk of one pte otherwise);
 *  - check() reads PAGE_IS_WRITTEN of the sampled pages, per page or with
 *    one scan over the span of all of them, whichever its cost model
 *    predicts cheaper (below).
 *  - settle() arms the written pages of a region the core found quiet
 *    (one ranged scan), so that sampling there later costs no TLB flush.
 * Nothing else is armed: the whole of memory is never write-protected
 * (~25 ms per GiB here, and every later first write to a page would fault),
 * so the monitored program pays one async fault (~7 µs here) per sampled
 * page it writes, at most one per region per sample interval, plus one per
 * page of a quiet region it writes again after settle().
 *
 * Costs measured on this machine (6.18, 2 vCPUs; bench/bench_damon_wp.c):
 * a one-page PAGEMAP_SCAN ~1.9 µs (an armed page) to ~6.7 µs (re-arming a
 * written one, which flushes its TLB entry); a read-only scan of a whole
 * GiB ~0.3 ms clean, ~0.75 ms with 1% of its pages written. The crossover
 * is therefore a few hundred sampled pages per GiB spanned, which is above
 * the region counts DAMON usually keeps (tens): the per-page check wins
 * at default attributes and the ranged scan takes over when regions are
 * many and close. The model starts from those figures and learns this
 * machine's from every call (an EWMA of measured times).
 *
 * Side effects on the program: a write-protected page inside a
 * PMD-mapped THP makes the kernel split that mapping; userfaultfd-registered
 * VMAs stay registered until fini() closes the userfaultfd (which clears
 * every uffd-wp bit); a fork()ed child's memory is not registered.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <linux/userfaultfd.h>

#include "sources.h"
#include "../util/uapi.h"
#include "../util/util.h"

/* regions per ranged PAGEMAP_SCAN call: 12 KiB on the stack of the state */
#define WP_VEC 512
/* starting points of the cost model, this machine (see above) */
#define WP_PAGE_NS_INIT 1900
#define WP_SCAN_NS_PER_MIB_INIT 700
/* EWMA weight of the newest measurement: 1/8 */
#define WP_EWMA_SHIFT 3

struct wp_state {
	struct ml_proc *proc;
	pid_t pid;
	int uffd;
	int pagemap_fd;
	uint64_t page_size;
	uint64_t features;
	/* what ranges() offered last: the ranged scan's cost scales with it */
	uint64_t monitored_bytes;
	/* the VMAs registered by the last ranges(), to arm only new ones */
	struct ml_damon_range *known;
	size_t nr_known;
	size_t cap_known;
	/* the cost model, nanoseconds */
	uint64_t page_ns;
	uint64_t scan_ns_per_mib;
	struct ml_damon_wp_stats stats;
	/* mappings left out: whoever holds these addresses (the agent's) */
	uint64_t exclude[SRC_MAX_EXCLUDE];
	size_t nr_exclude;
	struct page_region vec[WP_VEC];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t ewma(uint64_t avg, uint64_t sample)
{
	return avg - (avg >> WP_EWMA_SHIFT) + (sample >> WP_EWMA_SHIFT);
}

/* ---- setting up --------------------------------------------------------- */

static int uffd_open(void)
{
#ifdef SYS_userfaultfd
	int fd;

	/* user-mode-only faults need no privilege (5.11+) */
	fd = (int)syscall(SYS_userfaultfd,
			  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
#else
	return -ENOSYS;
#endif
}

/*
 * A userfaultfd with async write-protect. UFFDIO_API can be called once per
 * fd, so one fd asks what the kernel offers and a second is set up.
 */
static int uffd_setup(struct wp_state *s, const char **why)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = uffd_open();

	if (fd == -ENOSYS) {
		*why = "kernel lacks CONFIG_USERFAULTFD";
		return -EOPNOTSUPP;
	}
	if (fd == -EPERM) {
		*why = "userfaultfd denied (vm.unprivileged_userfaultfd, or an LSM)";
		return fd;
	}
	if (fd < 0) {
		*why = "userfaultfd() failed";
		return fd;
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		*why = "UFFDIO_API failed";
		return -errno;
	}
	close(fd);
	if (!(api.features & UFFD_FEATURE_WP_ASYNC)) {
		*why = "kernel lacks UFFD_FEATURE_WP_ASYNC (6.7+)";
		return -EOPNOTSUPP;
	}
	s->features = UFFD_FEATURE_WP_ASYNC |
		      (api.features & UFFD_FEATURE_WP_UNPOPULATED);

	fd = uffd_open();
	if (fd < 0) {
		*why = "userfaultfd() failed";
		return fd;
	}
	api.api = UFFD_API;
	api.features = s->features;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		*why = "UFFDIO_API refused WP_ASYNC";
		return -errno;
	}
	s->uffd = fd;
	return 0;
}

/* PAGEMAP_SCAN on our pagemap: an empty scan is ENOTTY before 6.7. */
static int pagemap_setup(struct wp_state *s, const char **why)
{
	struct pm_scan_arg a = { .size = sizeof(a) };
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "%d/pagemap", (int)s->pid);
	fd = openat(ml_proc_dirfd(s->proc), path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = errno == ENOENT ? "kernel lacks CONFIG_PROC_PAGE_MONITOR"
				       : "cannot open own pagemap";
		return errno == ENOENT ? -EOPNOTSUPP : -errno;
	}
	a.start = a.end = (uintptr_t)s & ~(s->page_size - 1);
	if (ioctl(fd, PAGEMAP_SCAN, &a) < 0 && errno == ENOTTY) {
		close(fd);
		*why = "kernel lacks PAGEMAP_SCAN (6.7+)";
		return -EOPNOTSUPP;
	}
	s->pagemap_fd = fd;
	return 0;
}

static void wp_fini(void *state)
{
	struct wp_state *s = state;

	if (!s)
		return;
	/* closing the userfaultfd unregisters it and clears every uffd-wp bit */
	if (s->uffd >= 0)
		close(s->uffd);
	if (s->pagemap_fd >= 0)
		close(s->pagemap_fd);
	ml_proc_free(s->proc);
	free(s->known);
	free(s);
}

static int wp_init(void **state, pid_t pid, const char *arg, const char **why)
{
	const char *unused;
	struct src_args a;
	struct wp_state *s;
	int err;

	if (!why)
		why = &unused;
	*why = NULL;
	if (pid && pid != getpid()) {
		*why = "wp sees only the calling process: run the target "
		       "with libmemlens-damon.so (LD_PRELOAD)";
		return -EINVAL;
	}
	err = src_args_parse(arg, &a);
	if (err) {
		*why = "bad source argument";
		return err;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->uffd = -1;
	s->pagemap_fd = -1;
	s->pid = getpid();
	s->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	s->page_ns = WP_PAGE_NS_INIT;
	s->scan_ns_per_mib = WP_SCAN_NS_PER_MIB_INIT;
	memcpy(s->exclude, a.exclude, sizeof(a.exclude));
	s->nr_exclude = a.nr_exclude;
	err = src_proc_new(&a, &s->proc);
	if (err) {
		*why = "cannot open the proc root";
		goto fail;
	}
	err = uffd_setup(s, why);
	if (!err)
		err = pagemap_setup(s, why);
	if (err)
		goto fail;
	*state = s;
	return 0;
fail:
	wp_fini(s);
	return err;
}

/* ---- ranges ------------------------------------------------------------- */

/*
 * Writable memory of the program: private anonymous, and file mappings
 * (private or shared) too, which uffd-wp takes in async mode (6.7+). Not
 * the stack, the kernel's [vvar]/[vdso], the agent's own publication, nor
 * the mappings the caller excluded (the monitor's own stack and heap: its
 * writes there would be seen, and re-arming them costs it TLB flushes).
 */
static bool wp_eligible(const struct wp_state *s, const struct ml_vma *v)
{
	static const char agent_name[] = "/memfd:memlens-damon (deleted)";

	if (v->perms[1] != 'w')
		return false;
	for (size_t i = 0; i < s->nr_exclude; i++)
		if (v->start <= s->exclude[i] && s->exclude[i] < v->end)
			return false;
	if (v->name_len == sizeof(agent_name) - 1 &&
	    !memcmp(v->name, agent_name, v->name_len))
		return false;
	return !ml_vma_is_anon(v) || src_vma_private_anon_rw(v);
}

/* Register [start, end) for async write-protect; 0 or a negative errno. */
static int wp_register(struct wp_state *s, uint64_t start, uint64_t end)
{
	struct uffdio_register r = {
		.range = { .start = start, .len = end - start },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	/* registering again with the same userfaultfd is a no-op */
	return ioctl(s->uffd, UFFDIO_REGISTER, &r) < 0 ? -errno : 0;
}

/* [start, end) lies within one range of the last ranges() (sorted). */
static bool known(const struct wp_state *s, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = s->nr_known;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->known[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nr_known && s->known[lo].start <= start &&
	       end <= s->known[lo].end;
}

/*
 * Arm every present page of a newly registered VMA, once: then a cold page
 * is already armed when it is sampled, and arming it costs a one-pte walk
 * instead of a re-protect and TLB flush (1.9 against 6.7 µs here). Pages
 * not present are left alone: arming them would fill page tables with
 * markers (a sparse 64 GiB reservation would cost its page tables), and a
 * first write to them shows as written anyway. ~25 ms per populated GiB
 * here; the program then takes one fault per page it writes afterwards.
 */
static void arm_present(struct wp_state *s, uint64_t start, uint64_t end)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = start,
		.end = end,
		.category_mask = PAGE_IS_PRESENT | PAGE_IS_WRITTEN,
	};

	/* no vector: nothing is returned, every matching page is armed */
	if (ioctl(s->pagemap_fd, PAGEMAP_SCAN, &a) == 0)
		s->stats.nr_bytes_armed_at_start += end - start;
}

static int remember(struct wp_state *s, const struct ml_damon_range *r,
		    size_t nr)
{
	if (nr > s->cap_known) {
		struct ml_damon_range *k = realloc(s->known, nr * sizeof(*k));

		if (!k)
			return -ENOMEM;
		s->known = k;
		s->cap_known = nr;
	}
	if (nr)
		memcpy(s->known, r, nr * sizeof(*r));
	s->nr_known = nr;
	return 0;
}

static int wp_ranges(void *state, uint64_t now_us, struct ml_damon_range *buf,
		     size_t cap, size_t *nr)
{
	struct wp_state *s = state;
	struct ml_vma_iter *it;
	struct ml_vma v;
	uint64_t bytes = 0;
	int ret;

	(void)now_us;
	*nr = 0;
	ret = ml_vma_iter_open(s->proc, s->pid, false, &it);
	if (ret)
		return ret;
	while ((ret = ml_vma_iter_next(it, &v)) == 1) {
		if (!wp_eligible(s, &v))
			continue;
		/*
		 * Registered by someone else (EBUSY), or of a kind uffd-wp
		 * cannot take (EINVAL): not monitorable, left out.
		 */
		if (wp_register(s, v.start, v.end)) {
			s->stats.nr_register_failed++;
			continue;
		}
		if (!known(s, v.start, v.end))
			arm_present(s, v.start, v.end);
		src_range_add(buf, cap, nr, v.start, v.end);
		bytes += v.end - v.start;
	}
	ml_vma_iter_close(it);
	if (ret < 0)
		return ret;
	s->monitored_bytes = bytes;
	/* a short buffer: the caller asks again, arming nothing twice */
	return remember(s, buf, *nr < cap ? *nr : cap);
}

/* ---- arming and checking ------------------------------------------------ */

static uint64_t page_of(const struct wp_state *s, uint64_t addr)
{
	return addr & ~(s->page_size - 1);
}

/*
 * One PAGEMAP_SCAN over [start, end) for written, registered pages;
 * @wp re-protects those it finds. Returns the number of regions in s->vec,
 * and *@walk_end how far the kernel got.
 */
static int wp_scan(struct wp_state *s, uint64_t start, uint64_t end, bool wp,
		   uint64_t *walk_end)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = start,
		.end = end,
		.vec = (uintptr_t)s->vec,
		/*
		 * One page has one region at most: a vector of one keeps the
		 * kernel's bounce buffer a small kmalloc, not the 12 KiB of
		 * WP_VEC entries (a page allocation per call).
		 */
		.vec_len = end - start <= s->page_size ? 1 : WP_VEC,
		/*
		 * Written, in a registered VMA, and not the zero page: a read
		 * of a never-touched page maps the zero page without a uffd-wp
		 * bit, which PAGE_IS_WRITTEN alone would count as a write.
		 */
		.category_mask = PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED |
				 PAGE_IS_PFNZERO,
		.category_inverted = PAGE_IS_PFNZERO,
		.return_mask = PAGE_IS_WRITTEN,
	};
	int n;

	if (wp)
		a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	n = ioctl(s->pagemap_fd, PAGEMAP_SCAN, &a);
	if (n < 0)
		return -errno;
	*walk_end = a.walk_end;
	return n;
}

static int wp_prepare(void *state, uint64_t now_us, const uint64_t *addrs,
		      size_t nr)
{
	struct wp_state *s = state;
	uint64_t walk_end;

	(void)now_us;
	for (size_t i = 0; i < nr; i++) {
		uint64_t pg = page_of(s, addrs[i]);
		int n;

		/* a gap, or a mapping not registered: nothing to arm */
		if (!known(s, pg, pg + s->page_size)) {
			s->stats.nr_skipped++;
			continue;
		}
		n = wp_scan(s, pg, pg + s->page_size, true, &walk_end);

		/*
		 * EPERM: the page's VMA is not registered (mapped since the
		 * last ranges()); ENOMEM, EFAULT: gone. It reads as not
		 * written until ranges() registers it: nothing to arm.
		 */
		if (n < 0 && n != -EPERM && n != -ENOMEM && n != -EFAULT)
			return n;
		s->stats.nr_armed += n > 0;
	}
	return 0;
}

static int check_per_page(struct wp_state *s, const uint64_t *addrs, size_t nr,
			  bool *accessed)
{
	uint64_t walk_end;

	for (size_t i = 0; i < nr; i++) {
		uint64_t pg = page_of(s, addrs[i]);
		int n;

		/* not monitored: reads as not written, without a syscall */
		if (!known(s, pg, pg + s->page_size)) {
			accessed[i] = false;
			s->stats.nr_skipped++;
			continue;
		}
		n = wp_scan(s, pg, pg + s->page_size, false, &walk_end);
		if (n < 0 && n != -ENOMEM && n != -EFAULT)
			return n;
		accessed[i] = n > 0;
	}
	s->stats.nr_page_checks += nr;
	return 0;
}

/*
 * Scan from the first sampled page to the last in as few calls as the
 * written regions allow, skipping the stretch up to the next sampled page
 * whenever a call ends early (its vector full).
 */
static int check_ranged(struct wp_state *s, const uint64_t *addrs, size_t nr,
			bool *accessed)
{
	uint64_t end = page_of(s, addrs[nr - 1]) + s->page_size;
	size_t i = 0;

	while (i < nr) {
		uint64_t start = page_of(s, addrs[i]), walk_end = end;
		size_t j = 0;
		int n = wp_scan(s, start, end, false, &walk_end);

		if (n < 0)
			return n;
		s->stats.nr_range_scans++;
		if (walk_end <= start)
			walk_end = end; /* no progress: never loop on it */
		for (; i < nr && addrs[i] < walk_end; i++) {
			while (j < (size_t)n && s->vec[j].end <= addrs[i])
				j++;
			accessed[i] = j < (size_t)n && s->vec[j].start <= addrs[i];
		}
	}
	return 0;
}

/*
 * Monitored bytes between the first and the last sampled page: what a
 * ranged scan walks (holes and other mappings cost next to nothing).
 */
static uint64_t span_bytes(const struct wp_state *s, uint64_t lo, uint64_t hi)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < s->nr_known; i++) {
		uint64_t a = s->known[i].start > lo ? s->known[i].start : lo;
		uint64_t b = s->known[i].end < hi ? s->known[i].end : hi;

		if (b > a)
			bytes += b - a;
	}
	return bytes;
}

static bool sorted(const uint64_t *addrs, size_t nr)
{
	for (size_t i = 1; i < nr; i++)
		if (addrs[i] <= addrs[i - 1])
			return false;
	return true;
}

static int wp_check(void *state, uint64_t now_us, const uint64_t *addrs,
		    size_t nr, bool *accessed)
{
	struct wp_state *s = state;
	uint64_t page_cost, scan_cost, mib, t0, dt;
	bool ranged;
	int err;

	(void)now_us;
	if (!nr)
		return 0;
	/* the ranged scan walks the monitored memory between the pages */
	ranged = nr > 1 && sorted(addrs, nr);
	mib = ranged ? (span_bytes(s, addrs[0], addrs[nr - 1] + 1) >> 20) + 1
		     : 1;
	page_cost = s->page_ns * nr;
	scan_cost = s->scan_ns_per_mib * mib;
	ranged = ranged && scan_cost < page_cost;

	t0 = mono_ns();
	err = ranged ? check_ranged(s, addrs, nr, accessed)
		     : check_per_page(s, addrs, nr, accessed);
	dt = mono_ns() - t0;
	if (err)
		return err;
	if (ranged)
		s->scan_ns_per_mib = ewma(s->scan_ns_per_mib, dt / mib);
	else
		s->page_ns = ewma(s->page_ns, dt / nr);
	return 0;
}

/*
 * A region that has gone quiet: arm every written present page of it at
 * once, where it lies in registered mappings. Sampling any of its pages
 * later is then a one-pte walk instead of a re-protect and a TLB flush.
 * This is what keeps a cold area cheap when its pages were written after
 * its mapping was first armed (populated later, or hot before): without
 * it each sampled page there costs one flush until sampling has armed
 * them all. The scan flushes once per 2 MiB that had written pages
 * (pagemap_scan_pmd_entry), once; a range already armed costs its walk.
 */
static void wp_settle(void *state, uint64_t start, uint64_t end)
{
	struct wp_state *s = state;

	for (size_t i = 0; i < s->nr_known; i++) {
		uint64_t a = s->known[i].start > start ? s->known[i].start : start;
		uint64_t b = s->known[i].end < end ? s->known[i].end : end;
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			.start = a,
			.end = b,
			.category_mask = PAGE_IS_PRESENT | PAGE_IS_WRITTEN,
		};

		if (s->known[i].start >= end)
			break;
		if (b <= a)
			continue;
		/* errors (unmapped since ranges()) leave the pages as they are */
		if (ioctl(s->pagemap_fd, PAGEMAP_SCAN, &arg) == 0)
			s->stats.nr_bytes_settled += b - a;
	}
	s->stats.nr_settled++;
}

/* ---- the rest ------------------------------------------------------------ */

static int wp_apply(void *state, int action, uint64_t start, uint64_t end,
		    uint64_t *applied)
{
	(void)state;
	return ml_damos_madvise(0, action, start, end, applied);
}

static bool wp_alive(void *state)
{
	(void)state;
	return true; /* ourselves */
}

int ml_damon_wp_stats(const void *state, struct ml_damon_wp_stats *out)
{
	const struct wp_state *s = state;

	if (!s || !out)
		return -EINVAL;
	*out = s->stats;
	out->page_ns = s->page_ns;
	out->scan_ns_per_mib = s->scan_ns_per_mib;
	out->monitored_bytes = s->monitored_bytes;
	out->wp_unpopulated = s->features & UFFD_FEATURE_WP_UNPOPULATED;
	return 0;
}

const struct ml_damon_ops ml_damon_wp_ops = {
	.name = "wp",
	.sees = ML_DAMON_SEES_WRITES,
	.init = wp_init,
	.ranges = wp_ranges,
	.prepare = wp_prepare,
	.check = wp_check,
	.apply = wp_apply,
	.alive = wp_alive,
	.fini = wp_fini,
	.settle = wp_settle,
};
