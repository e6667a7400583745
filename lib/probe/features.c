// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which kernel features this machine offers memlens: one small probe per
 * feature, each filling one struct ml_feature. File probes read through
 * the proc and sys roots, so tests run them on fake trees; live probes ask
 * the running kernel about the calling process and are kept apart, so that
 * a fake tree never makes them lie (they are skipped instead).
 *
 * Nothing under the sys root is ever opened for writing: a DAMON monitor
 * found running may belong to someone else.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/userfaultfd.h>

#include <memlens/features.h>

#include "../util/uapi.h"
#include "../util/util.h"

/* ---- uapi newer than the build's headers (Debian bookworm has 6.1) ------- */
/* PROCMAP_QUERY, PAGEMAP_SCAN and userfaultfd's are in ../util/uapi.h,
 * shared with lib/vmaq and lib/damon. */

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

/* pagemap entry bits, Documentation/admin-guide/mm/pagemap.rst */
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_SOFT_DIRTY (1ULL << 55)
#define PM_PRESENT (1ULL << 63)

#define THP_DIR "kernel/mm/transparent_hugepage"
#define DAMON_DIR "kernel/mm/damon/admin/kdamonds"
/* bounds against a hostile fake tree; DAMON sysfs has one context today */
#define DAMON_MAX_KDAMONDS 64
#define DAMON_MAX_CONTEXTS 8

/* ---- names and fallbacks ------------------------------------------------- */

static const struct {
	const char *key;
	const char *name;
	const char *fallback;
} feature_info[ML_FEATURE__COUNT] = {
	[ML_FEATURE_PROCMAP_QUERY] = { "procmap_query", "PROCMAP_QUERY",
		"one text pass over /proc/PID/maps" },
	[ML_FEATURE_ANON_VMA_NAME] = { "anon_vma_name", "anon VMA names",
		"memlens name registry" },
	[ML_FEATURE_PAGEMAP_PFN] = { "pagemap_pfn", "pagemap PFNs",
		"presence only: no physical addresses, so no contiguity runs" },
	[ML_FEATURE_KPAGEFLAGS] = { "kpageflags", "kpageflags",
		"no per-page flags: folio sizes from smaps only" },
	[ML_FEATURE_KPAGECOUNT] = { "kpagecount", "kpagecount",
		"no per-page map counts: sharing from smaps PSS only" },
	[ML_FEATURE_PAGEMAP_SCAN] = { "pagemap_scan", "PAGEMAP_SCAN",
		"read pagemap, one 8-byte entry per page" },
	[ML_FEATURE_UFFD_WP_ASYNC] = { "uffd_wp_async", "uffd WP_ASYNC",
		"written pages from soft-dirty where present, else not tracked" },
	[ML_FEATURE_SOFT_DIRTY] = { "soft_dirty", "soft-dirty",
		"written pages from PAGEMAP_SCAN with uffd WP_ASYNC" },
	[ML_FEATURE_PAGE_IDLE] = { "page_idle", "page_idle",
		"other access sources: DAMON, PAGEMAP_SCAN, soft-dirty" },
	[ML_FEATURE_DAMON] = { "damon_sysfs", "DAMON sysfs",
		"user-space region sampling (memlens damon)" },
	[ML_FEATURE_THP] = { "thp", "THP",
		"none needed: every folio is a base page" },
	[ML_FEATURE_MTHP] = { "mthp", "mTHP",
		"none needed: folios are base pages or PMD-size THP" },
	[ML_FEATURE_ALLOC_PROFILING] = { "alloc_profiling", "alloc profiling",
		"memlens alloctag for user space" },
	[ML_FEATURE_SWAP] = { "swap", "swap",
		"none needed: swap figures read 0" },
	[ML_FEATURE_DAMON_OPS_WP] = { "damon_ops_wp", "damon wp",
		"softdirty or idle where present; the sim source" },
	[ML_FEATURE_DAMON_OPS_SOFTDIRTY] = { "damon_ops_softdirty",
		"damon softdirty",
		"wp, in the target through libmemlens-damon.so" },
	[ML_FEATURE_DAMON_OPS_IDLE] = { "damon_ops_idle", "damon idle",
		"writes only: softdirty, or wp through libmemlens-damon.so" },
};

const char *ml_feature_state_name(enum ml_feature_state s)
{
	switch (s) {
	case ML_FEAT_YES:
		return "yes";
	case ML_FEAT_NO:
		return "no";
	case ML_FEAT_NO_PERMISSION:
		return "no_permission";
	case ML_FEAT_UNKNOWN:
		break;
	}
	return "unknown";
}

/* ---- recording a result -------------------------------------------------- */

static void vappend(char *buf, size_t sz, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void vappend(char *buf, size_t sz, const char *fmt, va_list ap)
{
	size_t len = strnlen(buf, sz);

	if (len + 1 < sz)
		vsnprintf(buf + len, sz - len, fmt, ap);
}

static void append(char *buf, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(buf, sz, fmt, ap);
	va_end(ap);
}

static void set(struct ml_feature *f, enum ml_feature_state state, int err,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set(struct ml_feature *f, enum ml_feature_state state, int err,
		const char *fmt, ...)
{
	va_list ap;

	f->state = state;
	f->err = err;
	f->detail[0] = '\0';
	va_start(ap, fmt);
	vappend(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

/* The errno names people search for; the numbers for the rest. */
static const char *errno_name(int err, char buf[16])
{
	static const struct { int err; const char *name; } names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" },
		{ ENXIO, "ENXIO" }, { EBADF, "EBADF" }, { EAGAIN, "EAGAIN" },
		{ ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" },
		{ EBUSY, "EBUSY" }, { ENODEV, "ENODEV" }, { ENOTDIR, "ENOTDIR" },
		{ EISDIR, "EISDIR" }, { EINVAL, "EINVAL" }, { ENOTTY, "ENOTTY" },
		{ ENOSPC, "ENOSPC" }, { EROFS, "EROFS" }, { ENOSYS, "ENOSYS" },
		{ ENAMETOOLONG, "ENAMETOOLONG" }, { ELOOP, "ELOOP" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { E2BIG, "E2BIG" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(buf, 16, "errno %d", err);
	return buf;
}

/* What an errno alone says about a feature. @err is positive. */
static enum ml_feature_state state_of(int err)
{
	if (err == EACCES || err == EPERM)
		return ML_FEAT_NO_PERMISSION;
	if (err == ENOENT)
		return ML_FEAT_NO;
	return ML_FEAT_UNKNOWN;
}

/* "<ERRNO>: <why>", with the state the errno implies. @err is positive. */
static void set_errno(struct ml_feature *f, int err, const char *why)
{
	char nb[16];

	set(f, state_of(err), -err, "%s: %s", errno_name(err, nb), why);
}

/* ---- reading small files ------------------------------------------------- */

struct probe {
	struct ml_proc *p;
	int procfd;           /* the proc root, owned by p */
	int sysfd;            /* the sys root, ours; a negative errno if absent */
	const char *not_live; /* why live procfs probes are skipped, or NULL */
	size_t page_size;
};

/*
 * Read at most @sz - 1 bytes of @path under @dirfd into @buf, NUL-terminated.
 * Sysfs and procfs values are a line or a few and come in one read; a longer
 * file is cut, not trusted. O_NONBLOCK: a FIFO in a fake tree must not hang.
 */
static ssize_t read_small(int dirfd, const char *path, char *buf, size_t sz)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (dirfd < 0)
		return dirfd;
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sz - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Cut the trailing newline and blanks of a value read by read_small(). */
static char *trim(char *s)
{
	size_t n = strlen(s);

	while (n && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* A file holding one decimal number, like nr_kdamonds. */
static int read_u32(int dirfd, const char *path, uint32_t *v)
{
	char buf[32];
	const char *s = buf;
	uint64_t val;
	ssize_t n = read_small(dirfd, path, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	trim(buf);
	if (!parse_u64(&s, buf + strlen(buf), &val) || *s || val > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)val;
	return 0;
}

static int stat_at(int dirfd, const char *path)
{
	struct stat st;

	if (dirfd < 0)
		return dirfd;
	return fstatat(dirfd, path, &st, 0) < 0 ? -errno : 0;
}

/*
 * Live probes read our own process through <proc_root>/self: that is only
 * the calling process when the root is a procfs in which we are visible.
 */
static const char *live_procfs(int procfd)
{
	struct statfs sfs;

	if (fstatfs(procfd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
		return "proc root is not a procfs";
	if (faccessat(procfd, "self", F_OK, 0) < 0)
		return "proc root has no self (another pid namespace)";
	return NULL;
}

/* ---- live probes: our own process ---------------------------------------- */

/* One private anonymous page, written so that it is present. */
static void *map_page(size_t page_size)
{
	void *page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED)
		return NULL;
	*(volatile char *)page = 1;
	return page;
}

static int open_self(const struct probe *pr, const char *file, int flags)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "self/%s", file);
	fd = openat(pr->procfd, path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int pagemap_entry(int fd, const void *addr, size_t page_size,
			 uint64_t *ent)
{
	off_t off = (off_t)((uintptr_t)addr / page_size * sizeof(*ent));
	ssize_t n = pread(fd, ent, sizeof(*ent), off);

	if (n < 0)
		return -errno;
	return n == sizeof(*ent) ? 0 : -EIO;
}

static void probe_procmap_query(const struct probe *pr, struct ml_feature *f)
{
	struct procmap_query q = { .size = sizeof(q) };
	_cleanup_close_ int fd = -1;
	char nb[16];

	if (pr->not_live) {
		set(f, ML_FEAT_UNKNOWN, 0, "skipped: %s", pr->not_live);
		return;
	}
	fd = open_self(pr, "maps", O_RDONLY);
	if (fd < 0) {
		set_errno(f, -fd, "cannot open self/maps");
		return;
	}
	/* an address of our own text: a VMA the kernel must find */
	q.query_addr = (uintptr_t)&probe_procmap_query;
	if (ioctl(fd, PROCMAP_QUERY, &q) < 0) {
		if (errno == ENOTTY)
			set(f, ML_FEAT_NO, -ENOTTY, "ENOTTY: kernel older than 6.11");
		else
			set(f, ML_FEAT_UNKNOWN, -errno, "%s: query of own text failed",
			    errno_name(errno, nb));
		return;
	}
	if (q.query_addr < q.vma_start || q.query_addr >= q.vma_end ||
	    !(q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE)) {
		set(f, ML_FEAT_UNKNOWN, -EIO, "answer does not hold own text");
		return;
	}
	set(f, ML_FEAT_YES, 0, "found the VMA of own text");
}

static void probe_anon_vma_name(const struct probe *pr, struct ml_feature *f)
{
	void *page = map_page(pr->page_size);
	int ret, err;

	if (!page) {
		set_errno(f, errno, "cannot map a probe page");
		return;
	}
	ret = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)page,
		    pr->page_size, (unsigned long)"memlens-probe");
	err = ret < 0 ? errno : 0;
	munmap(page, pr->page_size);
	if (!err)
		set(f, ML_FEAT_YES, 0, "prctl named a probe mapping");
	else if (err == EINVAL)
		set(f, ML_FEAT_NO, -EINVAL, "EINVAL: kernel without "
		    "CONFIG_ANON_VMA_NAME or older than 5.17");
	else
		set_errno(f, err, "prctl(PR_SET_VMA_ANON_NAME) failed");
}

static void probe_pagemap_pfn(const struct probe *pr, struct ml_feature *f)
{
	_cleanup_close_ int fd = -1;
	void *page = NULL;
	uint64_t ent;
	int err;

	if (pr->not_live) {
		set(f, ML_FEAT_UNKNOWN, 0, "skipped: %s", pr->not_live);
		return;
	}
	fd = open_self(pr, "pagemap", O_RDONLY);
	if (fd < 0) {
		if (fd == -ENOENT)
			set(f, ML_FEAT_NO, fd, "ENOENT: kernel without "
			    "CONFIG_PROC_PAGE_MONITOR");
		else
			set_errno(f, -fd, "cannot open self/pagemap");
		return;
	}
	page = map_page(pr->page_size);
	if (!page) {
		set_errno(f, errno, "cannot map a probe page");
		return;
	}
	err = pagemap_entry(fd, page, pr->page_size, &ent);
	munmap(page, pr->page_size);
	if (err)
		set_errno(f, -err, "cannot read own pagemap entry");
	else if (!(ent & PM_PRESENT))
		set(f, ML_FEAT_UNKNOWN, 0, "a written page reads as not present");
	else if (ent & PM_PFN_MASK)
		set(f, ML_FEAT_YES, 0, "PFNs visible (CAP_SYS_ADMIN)");
	else
		/* since 4.2 the kernel zeroes PFNs for readers without the cap */
		set(f, ML_FEAT_NO_PERMISSION, -EPERM,
		    "PFNs read as 0 without CAP_SYS_ADMIN: presence only");
}

static void probe_pagemap_scan(const struct probe *pr, struct ml_feature *f)
{
	struct page_region r = { 0 };
	struct pm_scan_arg a = { .size = sizeof(a) };
	_cleanup_close_ int fd = -1;
	void *page;
	char nb[16];
	int n, err;

	if (pr->not_live) {
		set(f, ML_FEAT_UNKNOWN, 0, "skipped: %s", pr->not_live);
		return;
	}
	fd = open_self(pr, "pagemap", O_RDONLY);
	if (fd < 0) {
		set_errno(f, -fd, "cannot open self/pagemap");
		return;
	}
	page = map_page(pr->page_size);
	if (!page) {
		set_errno(f, errno, "cannot map a probe page");
		return;
	}
	/* one present page: the answer is one region with PAGE_IS_PRESENT */
	a.start = (uintptr_t)page;
	a.end = a.start + pr->page_size;
	a.vec = (uintptr_t)&r;
	a.vec_len = 1;
	a.category_mask = PAGE_IS_PRESENT;
	a.return_mask = PAGE_IS_PRESENT;
	n = ioctl(fd, PAGEMAP_SCAN, &a);
	err = n < 0 ? errno : 0;
	munmap(page, pr->page_size);
	if (err == ENOTTY)
		set(f, ML_FEAT_NO, -ENOTTY, "ENOTTY: kernel older than 6.7");
	else if (err)
		set(f, ML_FEAT_UNKNOWN, -err, "%s: scan of a probe page failed",
		    errno_name(err, nb));
	else if (n != 1 || r.start != a.start || !(r.categories & PAGE_IS_PRESENT))
		set(f, ML_FEAT_UNKNOWN, -EIO, "scan of a present page found %d "
		    "regions", n);
	else
		set(f, ML_FEAT_YES, 0, "scan found a written page present");
}

/* For the EPERM detail: the sysctl that usually explains it. */
static void uffd_eperm(const struct probe *pr, struct ml_feature *f)
{
	char val[16];

	if (read_small(pr->procfd, "sys/vm/unprivileged_userfaultfd", val,
		       sizeof(val)) >= 0)
		set(f, ML_FEAT_NO_PERMISSION, -EPERM, "EPERM: denied "
		    "(vm.unprivileged_userfaultfd = %s, or an LSM)", trim(val));
	else
		set(f, ML_FEAT_NO_PERMISSION, -EPERM, "EPERM: denied "
		    "(vm.unprivileged_userfaultfd, or an LSM)");
}

static void probe_uffd_wp_async(const struct probe *pr, struct ml_feature *f)
{
#ifdef SYS_userfaultfd
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC,
	};
	_cleanup_close_ int fd = -1;
	char nb[16];

	/* user-mode-only faults are allowed without privilege since 5.11 */
	fd = (int)syscall(SYS_userfaultfd,
			  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0) {
		if (errno == ENOSYS)
			set(f, ML_FEAT_NO, -ENOSYS, "ENOSYS: kernel without "
			    "CONFIG_USERFAULTFD");
		else if (errno == EPERM)
			uffd_eperm(pr, f);
		else if (errno == EINVAL)
			set(f, ML_FEAT_NO, -EINVAL, "EINVAL: no "
			    "UFFD_USER_MODE_ONLY, kernel older than 5.11");
		else
			set_errno(f, errno, "userfaultfd() failed");
		return;
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		if (errno == EINVAL)
			set(f, ML_FEAT_NO, -EINVAL, "EINVAL: no WP_ASYNC "
			    "(kernel older than 6.7, or no uffd-wp on this arch)");
		else
			set(f, state_of(errno), -errno, "%s: UFFDIO_API failed",
			    errno_name(errno, nb));
		return;
	}
	set(f, ML_FEAT_YES, 0, "UFFDIO_API accepted UFFD_FEATURE_WP_ASYNC");
#else
	(void)pr;
	set(f, ML_FEAT_NO, -ENOSYS, "ENOSYS: no userfaultfd on this architecture");
#endif
}

/* Clear our soft-dirty bits, write a page, see whether pagemap noticed. */
static void probe_soft_dirty(const struct probe *pr, struct ml_feature *f)
{
	_cleanup_close_ int pm = -1, cr = -1;
	void *page;
	uint64_t before = 0, after = 0;
	int err = 0;

	if (pr->not_live) {
		set(f, ML_FEAT_UNKNOWN, 0, "skipped: %s", pr->not_live);
		return;
	}
	pm = open_self(pr, "pagemap", O_RDONLY);
	if (pm < 0) {
		set_errno(f, -pm, "cannot open self/pagemap");
		return;
	}
	/* only ever our own process: clear_refs of another would disturb it */
	cr = open_self(pr, "clear_refs", O_WRONLY);
	if (cr < 0) {
		set_errno(f, -cr, "cannot open self/clear_refs");
		return;
	}
	page = map_page(pr->page_size);
	if (!page) {
		set_errno(f, errno, "cannot map a probe page");
		return;
	}
	if (write(cr, "4", 1) != 1)
		err = -errno;
	if (!err)
		err = pagemap_entry(pm, page, pr->page_size, &before);
	if (!err) {
		*(volatile char *)page = 2;
		err = pagemap_entry(pm, page, pr->page_size, &after);
	}
	munmap(page, pr->page_size);
	if (err)
		set_errno(f, -err, "clear_refs or pagemap failed");
	else if (before & PM_SOFT_DIRTY)
		set(f, ML_FEAT_UNKNOWN, 0, "bit 55 still set after clear_refs 4");
	else if (after & PM_SOFT_DIRTY)
		set(f, ML_FEAT_YES, 0, "a write after clear_refs 4 set bit 55");
	else
		set(f, ML_FEAT_NO, 0, "a write after clear_refs 4 left bit 55 "
		    "clear: kernel without CONFIG_MEM_SOFT_DIRTY");
}

/* ---- file probes: procfs ------------------------------------------------- */

/* kpageflags, kpagecount: 8 bytes per PFN, root only. */
static void probe_kpage(const struct probe *pr, struct ml_feature *f,
			const char *file)
{
	_cleanup_close_ int fd = -1;
	uint64_t v;
	ssize_t n;

	fd = openat(pr->procfd, file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			set(f, ML_FEAT_NO, -ENOENT, "ENOENT: kernel without "
			    "CONFIG_PROC_PAGE_MONITOR");
		else if (errno == EACCES || errno == EPERM)
			set(f, ML_FEAT_NO_PERMISSION, -errno, "%s: root only",
			    errno == EACCES ? "EACCES" : "EPERM");
		else
			set_errno(f, errno, "cannot open");
		return;
	}
	n = pread(fd, &v, sizeof(v), 0);
	if (n < 0)
		set_errno(f, errno, "cannot read the first entry");
	else if (n != sizeof(v))
		set(f, ML_FEAT_UNKNOWN, -EIO, "short read: %zd bytes", n);
	else
		set(f, ML_FEAT_YES, 0, "readable");
}

static void probe_alloc_profiling(const struct probe *pr, struct ml_feature *f)
{
	_cleanup_close_ int fd = -1;
	char val[32];
	int err;

	err = stat_at(pr->procfd, "allocinfo");
	if (err == -ENOENT) {
		set(f, ML_FEAT_NO, err, "no allocinfo: kernel older than 6.10 "
		    "or without CONFIG_MEM_ALLOC_PROFILING");
		return;
	}
	if (err) {
		set_errno(f, -err, "cannot stat allocinfo");
		return;
	}
	fd = openat(pr->procfd, "allocinfo", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		set_errno(f, errno, "allocinfo present, not readable here");
		return;
	}
	/* 0 means compiled in but not counting: still usable, say so */
	if (read_small(pr->procfd, "sys/vm/mem_profiling", val, sizeof(val)) >= 0)
		set(f, ML_FEAT_YES, 0, "allocinfo readable, vm.mem_profiling = %s",
		    trim(val));
	else
		set(f, ML_FEAT_YES, 0, "allocinfo readable");
}

static void probe_swap(const struct probe *pr, struct ml_features *out)
{
	struct ml_feature *f = &out->f[ML_FEATURE_SWAP];
	char *text;
	ssize_t n;

	n = ml_proc_read(pr->p, 0, "swaps", &text);
	if (n == -ENOENT) {
		set(f, ML_FEAT_NO, -ENOENT, "no swaps: kernel without CONFIG_SWAP");
		return;
	}
	if (n < 0) {
		set_errno(f, (int)-n, "cannot read swaps");
		return;
	}
	if (ml_swaps_parse(text, (size_t)n, &out->swaps)) {
		set(f, ML_FEAT_UNKNOWN, -EINVAL, "swaps: malformed");
		return;
	}
	if (!out->swaps.nr_areas) {
		set(f, ML_FEAT_NO, 0, "no swap areas");
		return;
	}
	set(f, ML_FEAT_YES, 0, "%u area%s, %llu kB, %llu kB used",
	    out->swaps.nr_areas, out->swaps.nr_areas == 1 ? "" : "s",
	    (unsigned long long)(out->swaps.size_bytes >> 10),
	    (unsigned long long)(out->swaps.used_bytes >> 10));
}

/* ---- file probes: sysfs -------------------------------------------------- */

static void probe_page_idle(const struct probe *pr, struct ml_feature *f)
{
	_cleanup_close_ int fd = -1;

	if (pr->sysfd < 0) {
		set_errno(f, -pr->sysfd, "no sys root");
		return;
	}
	fd = openat(pr->sysfd, "kernel/mm/page_idle/bitmap",
		    O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		set(f, ML_FEAT_YES, 0, "bitmap opens for reading");
	else if (errno == ENOENT)
		set(f, ML_FEAT_NO, -ENOENT, "no page_idle: kernel without "
		    "CONFIG_IDLE_PAGE_TRACKING");
	else
		set_errno(f, errno, "cannot open page_idle/bitmap");
}

static void probe_thp(const struct probe *pr, struct ml_features *out)
{
	struct ml_feature *f = &out->f[ML_FEATURE_THP];
	enum ml_thp_mode mode;
	char buf[256];
	ssize_t n;

	n = read_small(pr->sysfd, THP_DIR "/enabled", buf, sizeof(buf));
	if (n == -ENOENT) {
		set(f, ML_FEAT_NO, -ENOENT, "no transparent_hugepage: kernel "
		    "without CONFIG_TRANSPARENT_HUGEPAGE");
		return;
	}
	if (n < 0) {
		set_errno(f, (int)-n, "cannot read transparent_hugepage/enabled");
		return;
	}
	if (ml_thp_mode_parse(buf, (size_t)n, &mode)) {
		set(f, ML_FEAT_UNKNOWN, -EINVAL, "enabled unparsable: %s", trim(buf));
		return;
	}
	out->thp_mode = mode;
	set(f, ML_FEAT_YES, 0, "enabled: %s%s", trim(buf),
	    mode == ML_THP_NEVER ? " (off)" : "");
}

static int cmp_mthp(const void *a, const void *b)
{
	const struct ml_mthp_size *x = a, *y = b;

	return x->size_bytes < y->size_bytes ? -1 : x->size_bytes > y->size_bytes;
}

/* Read every hugepages-<N>kB/enabled into out->mthp. */
static int read_mthp_sizes(const struct probe *pr, struct ml_features *out)
{
	struct dirent *de;
	char path[300], buf[256];
	DIR *dir;
	int dfd;

	if (pr->sysfd < 0)
		return pr->sysfd;
	dfd = openat(pr->sysfd, THP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -ENOMEM;
	}
	while (out->nr_mthp < ML_MTHP_MAX && (de = readdir(dir))) {
		struct ml_mthp_size *m = &out->mthp[out->nr_mthp];
		ssize_t n;

		if (ml_mthp_dir_size(de->d_name, &m->size_bytes))
			continue;
		m->mode = ML_THP_UNKNOWN;
		snprintf(path, sizeof(path), "%s/enabled", de->d_name);
		n = read_small(dfd, path, buf, sizeof(buf));
		/* a shmem-only size (8kB: order 1) has shmem_enabled alone */
		if (n == -ENOENT)
			continue;
		if (n >= 0 && ml_thp_mode_parse(buf, (size_t)n, &m->mode))
			m->mode = ML_THP_UNKNOWN;
		out->nr_mthp++;
	}
	closedir(dir);
	qsort(out->mthp, out->nr_mthp, sizeof(out->mthp[0]), cmp_mthp);
	return 0;
}

/*
 * "64kB: inherit (= top-level madvise); 6 other sizes never": the sizes
 * not set to never, then how many are.
 */
static void describe_mthp(const struct ml_features *out, char *buf, size_t sz)
{
	uint32_t nr_never = 0, nr_listed = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < out->nr_mthp; i++) {
		const struct ml_mthp_size *m = &out->mthp[i];

		if (m->mode == ML_THP_NEVER) {
			nr_never++;
			continue;
		}
		append(buf, sz, "%s%llukB: %s", nr_listed++ ? ", " : "",
		       (unsigned long long)(m->size_bytes >> 10),
		       ml_thp_mode_name(m->mode));
		if (m->mode == ML_THP_INHERIT)
			append(buf, sz, " (= top-level %s)",
			       ml_thp_mode_name(out->thp_mode));
	}
	if (!nr_listed)
		append(buf, sz, "all %u sizes never", nr_never);
	else if (nr_never)
		append(buf, sz, "; %u other size%s never", nr_never,
		       nr_never == 1 ? "" : "s");
}

static void probe_mthp(const struct probe *pr, struct ml_features *out)
{
	struct ml_feature *f = &out->f[ML_FEATURE_MTHP];
	int err = read_mthp_sizes(pr, out);

	if (err == -ENOENT) {
		set(f, ML_FEAT_NO, err, "no transparent_hugepage: kernel "
		    "without CONFIG_TRANSPARENT_HUGEPAGE");
		return;
	}
	if (err) {
		set_errno(f, -err, "cannot list transparent_hugepage");
		return;
	}
	if (!out->nr_mthp) {
		set(f, ML_FEAT_NO, -ENOENT, "no hugepages-<N>kB: kernel older "
		    "than 6.8, PMD-size THP only");
		return;
	}
	f->state = ML_FEAT_YES;
	describe_mthp(out, f->detail, sizeof(f->detail));
}

/* A few short words (DAMON operations sets), each kept once. */
struct word_set {
	char w[8][24];
	unsigned n;
};

static void add_words(struct word_set *ws, char *text)
{
	char *save = NULL, *w;

	for (w = strtok_r(text, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save)) {
		unsigned i;

		for (i = 0; i < ws->n; i++)
			if (strncmp(ws->w[i], w, sizeof(ws->w[i]) - 1) == 0)
				break;
		if (i == ws->n && ws->n < ARRAY_SIZE(ws->w))
			snprintf(ws->w[ws->n++], sizeof(ws->w[0]), "%s", w);
	}
}

static void append_words(char *buf, size_t sz, const char *label,
			 const struct word_set *ws)
{
	if (!ws->n)
		return;
	append(buf, sz, "; %s: ", label);
	for (unsigned i = 0; i < ws->n; i++)
		append(buf, sz, "%s%s", i ? ", " : "", ws->w[i]);
}

/* Read-only, always: the kdamonds found may be someone else's. */
static void read_kdamond(const struct probe *pr, struct ml_features *out,
			 uint32_t i, struct word_set *used,
			 struct word_set *avail)
{
	char path[128], buf[256];
	uint32_t nr_contexts;

	snprintf(path, sizeof(path), DAMON_DIR "/%u/state", i);
	if (read_small(pr->sysfd, path, buf, sizeof(buf)) >= 0 &&
	    strcmp(trim(buf), "on") == 0)
		out->nr_kdamonds_on++;
	snprintf(path, sizeof(path), DAMON_DIR "/%u/contexts/nr_contexts", i);
	if (read_u32(pr->sysfd, path, &nr_contexts))
		return;
	for (uint32_t c = 0; c < nr_contexts && c < DAMON_MAX_CONTEXTS; c++) {
		snprintf(path, sizeof(path),
			 DAMON_DIR "/%u/contexts/%u/operations", i, c);
		if (read_small(pr->sysfd, path, buf, sizeof(buf)) >= 0)
			add_words(used, buf);
		snprintf(path, sizeof(path),
			 DAMON_DIR "/%u/contexts/%u/avail_operations", i, c);
		if (read_small(pr->sysfd, path, buf, sizeof(buf)) >= 0)
			add_words(avail, buf);
	}
}

static void probe_damon(const struct probe *pr, struct ml_features *out)
{
	struct ml_feature *f = &out->f[ML_FEATURE_DAMON];
	struct word_set used = { .n = 0 }, avail = { .n = 0 };
	uint32_t nr;
	int err;

	err = stat_at(pr->sysfd, DAMON_DIR);
	if (err == -ENOENT) {
		set(f, ML_FEAT_NO, err, "no DAMON sysfs: kernel older than 5.18 "
		    "or without CONFIG_DAMON_SYSFS");
		return;
	}
	if (err) {
		set_errno(f, -err, "cannot stat damon/admin/kdamonds");
		return;
	}
	err = read_u32(pr->sysfd, DAMON_DIR "/nr_kdamonds", &nr);
	if (err == -EINVAL) {
		set(f, ML_FEAT_UNKNOWN, err, "nr_kdamonds unparsable");
		return;
	}
	if (err) {
		set_errno(f, -err, "DAMON sysfs present, readable by root only");
		return;
	}
	out->nr_kdamonds = nr;
	for (uint32_t i = 0; i < nr && i < DAMON_MAX_KDAMONDS; i++)
		read_kdamond(pr, out, i, &used, &avail);
	set(f, ML_FEAT_YES, 0, "%u kdamond%s, %u running", nr,
	    nr == 1 ? "" : "s", out->nr_kdamonds_on);
	append_words(f->detail, sizeof(f->detail), "ops in use", &used);
	append_words(f->detail, sizeof(f->detail), "available", &avail);
}

/* ---- the probe ----------------------------------------------------------- */

/* Details quote files of a possibly hostile tree: keep them printable. */
static void make_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void probe_init(struct probe *pr, struct ml_proc *p)
{
	long page_size = sysconf(_SC_PAGESIZE);

	pr->p = p;
	pr->page_size = page_size > 0 ? (size_t)page_size : 4096;
	pr->procfd = ml_proc_dirfd(p);
	pr->sysfd = open(ml_proc_sys_root(p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pr->sysfd < 0)
		pr->sysfd = -errno;
	pr->not_live = live_procfs(pr->procfd);
}

static void entry_init(struct ml_feature *f, enum ml_feature_id id)
{
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->key = feature_info[id].key;
	f->name = feature_info[id].name;
	f->fallback = feature_info[id].fallback;
}

/*
 * The DAMON access sources, from the features they stand on (which must
 * have been probed into @out already).
 */
static void probe_damon_ops_wp(struct ml_features *out)
{
	struct ml_feature *f = &out->f[ML_FEATURE_DAMON_OPS_WP];
	const struct ml_feature *scan = &out->f[ML_FEATURE_PAGEMAP_SCAN];
	const struct ml_feature *uffd = &out->f[ML_FEATURE_UFFD_WP_ASYNC];

	if (scan->state != ML_FEAT_YES) {
		set(f, scan->state, scan->err, "PAGEMAP_SCAN: %s", scan->detail);
		return;
	}
	if (uffd->state != ML_FEAT_YES) {
		set(f, uffd->state, uffd->err, "uffd WP_ASYNC: %s", uffd->detail);
		return;
	}
	set(f, ML_FEAT_YES, 0, "writes only; of memlens itself or of a "
	    "program run with libmemlens-damon.so");
}

static void probe_damon_ops_softdirty(struct ml_features *out)
{
	struct ml_feature *f = &out->f[ML_FEATURE_DAMON_OPS_SOFTDIRTY];
	const struct ml_feature *sd = &out->f[ML_FEATURE_SOFT_DIRTY];

	if (sd->state == ML_FEAT_YES)
		set(f, ML_FEAT_YES, 0, "writes only; of any process this user "
		    "may ptrace");
	else if (sd->state == ML_FEAT_NO)
		set(f, ML_FEAT_NO, sd->err ? sd->err : -EOPNOTSUPP,
		    "kernel lacks CONFIG_MEM_SOFT_DIRTY");
	else
		set(f, sd->state, sd->err, "soft-dirty: %s", sd->detail);
}

static void probe_damon_ops_idle(struct ml_features *out)
{
	struct ml_feature *f = &out->f[ML_FEATURE_DAMON_OPS_IDLE];
	const struct ml_feature *idle = &out->f[ML_FEATURE_PAGE_IDLE];
	const struct ml_feature *pfn = &out->f[ML_FEATURE_PAGEMAP_PFN];

	if (idle->state == ML_FEAT_NO)
		set(f, ML_FEAT_NO, -EOPNOTSUPP,
		    "kernel lacks CONFIG_IDLE_PAGE_TRACKING");
	else if (idle->state != ML_FEAT_YES)
		set(f, idle->state, idle->err, "page_idle: %s", idle->detail);
	else if (pfn->state == ML_FEAT_NO_PERMISSION)
		set(f, ML_FEAT_NO_PERMISSION, pfn->err,
		    "pagemap PFNs need CAP_SYS_ADMIN");
	else
		set(f, ML_FEAT_YES, 0, "reads and writes; of any process (root)");
}

static void run_probe(const struct probe *pr, struct ml_features *out,
		      enum ml_feature_id id)
{
	struct ml_feature *f = &out->f[id];

	switch (id) {
	case ML_FEATURE_PROCMAP_QUERY:
		probe_procmap_query(pr, f);
		break;
	case ML_FEATURE_ANON_VMA_NAME:
		probe_anon_vma_name(pr, f);
		break;
	case ML_FEATURE_PAGEMAP_PFN:
		probe_pagemap_pfn(pr, f);
		break;
	case ML_FEATURE_KPAGEFLAGS:
		probe_kpage(pr, f, "kpageflags");
		break;
	case ML_FEATURE_KPAGECOUNT:
		probe_kpage(pr, f, "kpagecount");
		break;
	case ML_FEATURE_PAGEMAP_SCAN:
		probe_pagemap_scan(pr, f);
		break;
	case ML_FEATURE_UFFD_WP_ASYNC:
		probe_uffd_wp_async(pr, f);
		break;
	case ML_FEATURE_SOFT_DIRTY:
		probe_soft_dirty(pr, f);
		break;
	case ML_FEATURE_PAGE_IDLE:
		probe_page_idle(pr, f);
		break;
	case ML_FEATURE_DAMON:
		probe_damon(pr, out);
		break;
	case ML_FEATURE_THP:
		probe_thp(pr, out);
		break;
	case ML_FEATURE_MTHP:
		probe_mthp(pr, out); /* after THP: "inherit" names its mode */
		break;
	case ML_FEATURE_ALLOC_PROFILING:
		probe_alloc_profiling(pr, f);
		break;
	case ML_FEATURE_SWAP:
		probe_swap(pr, out);
		break;
	case ML_FEATURE_DAMON_OPS_WP:
		probe_damon_ops_wp(out);
		break;
	case ML_FEATURE_DAMON_OPS_SOFTDIRTY:
		probe_damon_ops_softdirty(out);
		break;
	case ML_FEATURE_DAMON_OPS_IDLE:
		probe_damon_ops_idle(out);
		break;
	case ML_FEATURE__COUNT:
		break;
	}
}

int ml_features_probe(struct ml_proc *p, struct ml_features *out)
{
	struct probe pr;

	if (!p || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < ML_FEATURE__COUNT; i++)
		entry_init(&out->f[i], (enum ml_feature_id)i);
	probe_init(&pr, p);
	/* in enum order: each probe's dependencies come before it */
	for (int i = 0; i < ML_FEATURE__COUNT; i++)
		run_probe(&pr, out, (enum ml_feature_id)i);
	for (int i = 0; i < ML_FEATURE__COUNT; i++)
		make_printable(out->f[i].detail);
	if (pr.sysfd >= 0)
		close(pr.sysfd);
	return 0;
}

/* What each probe reads from the others' results. */
static bool depends_on(enum ml_feature_id id, enum ml_feature_id dep)
{
	switch (id) {
	case ML_FEATURE_MTHP:
		return dep == ML_FEATURE_THP;
	case ML_FEATURE_DAMON_OPS_WP:
		return dep == ML_FEATURE_PAGEMAP_SCAN ||
		       dep == ML_FEATURE_UFFD_WP_ASYNC;
	case ML_FEATURE_DAMON_OPS_SOFTDIRTY:
		return dep == ML_FEATURE_SOFT_DIRTY;
	case ML_FEATURE_DAMON_OPS_IDLE:
		return dep == ML_FEATURE_PAGE_IDLE ||
		       dep == ML_FEATURE_PAGEMAP_PFN;
	default:
		return false;
	}
}

int ml_features_probe_one(struct ml_proc *p, enum ml_feature_id id,
			  struct ml_feature *out)
{
	struct ml_features *all;
	struct probe pr;

	if (!p || !out || (unsigned)id >= ML_FEATURE__COUNT)
		return -EINVAL;
	all = calloc(1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (int i = 0; i < ML_FEATURE__COUNT; i++)
		entry_init(&all->f[i], (enum ml_feature_id)i);
	probe_init(&pr, p);
	for (int i = 0; i < ML_FEATURE__COUNT; i++)
		if (depends_on(id, (enum ml_feature_id)i))
			run_probe(&pr, all, (enum ml_feature_id)i);
	run_probe(&pr, all, id);
	make_printable(all->f[id].detail);
	*out = all->f[id];
	if (pr.sysfd >= 0)
		close(pr.sysfd);
	free(all);
	return 0;
}

/* ---- parsers ------------------------------------------------------------- */

const char *ml_thp_mode_name(enum ml_thp_mode mode)
{
	switch (mode) {
	case ML_THP_ALWAYS:
		return "always";
	case ML_THP_MADVISE:
		return "madvise";
	case ML_THP_NEVER:
		return "never";
	case ML_THP_INHERIT:
		return "inherit";
	case ML_THP_OTHER:
		return "other";
	case ML_THP_UNKNOWN:
		break;
	}
	return "unknown";
}

static enum ml_thp_mode thp_word(const char *w, size_t len)
{
	static const struct { const char *word; enum ml_thp_mode mode; } words[] = {
		{ "always", ML_THP_ALWAYS },
		{ "madvise", ML_THP_MADVISE },
		{ "never", ML_THP_NEVER },
		{ "inherit", ML_THP_INHERIT },
	};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strlen(words[i].word) == len && memcmp(words[i].word, w, len) == 0)
			return words[i].mode;
	return ML_THP_OTHER;
}

int ml_thp_mode_parse(const char *text, size_t len, enum ml_thp_mode *mode)
{
	const char *s = text, *end = text + len, *sel = NULL, *w;
	size_t sel_len = 0;

	if (!text || !mode)
		return -EINVAL;
	while (s < end) {
		while (s < end && is_blank(*s))
			s++;
		if (s >= end)
			break;
		if (*s != '[') {
			/* an unselected word: no brackets inside it */
			for (; s < end && !is_blank(*s); s++)
				if (*s == '[' || *s == ']')
					return -EINVAL;
			continue;
		}
		w = ++s;
		while (s < end && *s != ']' && *s != '[' && !is_blank(*s))
			s++;
		if (s >= end || *s != ']' || s == w || sel)
			return -EINVAL;
		sel = w;
		sel_len = (size_t)(s - w);
		if (++s < end && !is_blank(*s))
			return -EINVAL;
	}
	if (!sel)
		return -EINVAL;
	*mode = thp_word(sel, sel_len);
	return 0;
}

int ml_mthp_dir_size(const char *name, uint64_t *size_bytes)
{
	static const char prefix[] = "hugepages-";
	const char *s, *end;
	uint64_t kib;

	if (!name || !size_bytes || strncmp(name, prefix, sizeof(prefix) - 1))
		return -EINVAL;
	s = name + sizeof(prefix) - 1;
	end = s + strlen(s);
	if (!parse_u64(&s, end, &kib) || strcmp(s, "kB") != 0)
		return -EINVAL;
	if (kib == 0 || kib > (UINT64_MAX >> 10))
		return -EINVAL;
	*size_bytes = kib << 10;
	return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* Skip one field of a swaps line; false when the line has ended. */
static bool swaps_field(const char **s, const char *eol)
{
	const char *p = skip_blanks(*s, eol);

	if (p >= eol)
		return false;
	while (p < eol && *p != ' ' && *p != '\t')
		p++;
	*s = p;
	return true;
}

static int swaps_line(const char *s, const char *eol, struct ml_swaps *out)
{
	uint64_t size_kib, used_kib, prio;

	/* filename (the kernel escapes its blanks as \040), then type */
	if (!swaps_field(&s, eol) || !swaps_field(&s, eol))
		return -EINVAL;
	s = skip_blanks(s, eol);
	if (!parse_u64(&s, eol, &size_kib))
		return -EINVAL;
	s = skip_blanks(s, eol);
	if (!parse_u64(&s, eol, &used_kib))
		return -EINVAL;
	s = skip_blanks(s, eol);
	if (s < eol && *s == '-')
		s++;
	if (!parse_u64(&s, eol, &prio))
		return -EINVAL;
	if (skip_blanks(s, eol) != eol)
		return -EINVAL;
	if (out->nr_areas < UINT32_MAX)
		out->nr_areas++;
	out->size_bytes = add_sat(out->size_bytes, kib_to_bytes(size_kib));
	out->used_bytes = add_sat(out->used_bytes, kib_to_bytes(used_kib));
	return 0;
}

int ml_swaps_parse(const char *text, size_t len, struct ml_swaps *out)
{
	static const char header[] = "Filename";
	const char *s = text, *end = text + len, *eol;

	if (!text || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (len < sizeof(header) - 1 || memcmp(text, header, sizeof(header) - 1))
		return -EINVAL;
	eol = memchr(s, '\n', len);
	s = eol ? eol + 1 : end;
	while (s < end) {
		int err;

		eol = memchr(s, '\n', (size_t)(end - s));
		if (!eol)
			eol = end;
		if (skip_blanks(s, eol) != eol) {
			err = swaps_line(s, eol, out);
			if (err)
				return err;
		}
		s = eol + 1;
	}
	return 0;
}
