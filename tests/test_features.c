// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The feature probe: its parsers on hand-written inputs; the file probes on
 * fake proc and sys trees built here, whose expected results are read off
 * the files written; then the live probes on this kernel, each checked
 * against evidence gathered another way (the kernel version, the test's
 * own capabilities, VmFlags in smaps, meminfo, directory listings).
 *
 * The live DAMON check only reads /sys/kernel/mm/damon: a monitor that is
 * not ours may be running there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <memlens/features.h>
#include <memlens/proc.h>

#include "tap.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif

#define CAP_SYS_ADMIN_BIT 21

/* ---- fake trees ---------------------------------------------------------- */

struct tree {
	char root[128];
	char proc[160];
	char sys[160];
};

/* mkdir -p of the directory part of @path. */
static void mkdirs(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
}

/* Write @len bytes to <root>/<rel>, creating its directories. */
static void put_bin(const struct tree *t, const char *rel, const char *data,
		    size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	mkdirs(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put(const struct tree *t, const char *rel, const char *text)
{
	put_bin(t, rel, text, strlen(text));
}

static bool tree_init(struct tree *t)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(t->root, sizeof(t->root), "%s/memlens-features-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(t->root)) {
		CHECK(!"mkdtemp");
		return false;
	}
	snprintf(t->proc, sizeof(t->proc), "%s/proc", t->root);
	snprintf(t->sys, sizeof(t->sys), "%s/sys", t->root);
	CHECK_EQ(mkdir(t->proc, 0755), 0);
	CHECK_EQ(mkdir(t->sys, 0755), 0);
	return true;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void tree_free(struct tree *t)
{
	CHECK_EQ(nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static int probe_tree(const struct tree *t, struct ml_features *out)
{
	struct ml_proc *p;
	int err;

	ML_OPTS(ml_proc_opts, o, .proc_root = t->proc, .sys_root = t->sys);
	err = ml_proc_new(&o, &p);
	CHECK_EQ(err, 0);
	if (err)
		return err;
	err = ml_features_probe(p, out);
	ml_proc_free(p);
	return err;
}

static int probe_live(struct ml_features *out)
{
	struct ml_proc *p;
	int err = ml_proc_new(NULL, &p);

	CHECK_EQ(err, 0);
	if (err)
		return err;
	err = ml_features_probe(p, out);
	ml_proc_free(p);
	return err;
}

/* ---- parsers ------------------------------------------------------------- */

static int thp(const char *s, enum ml_thp_mode *m)
{
	return ml_thp_mode_parse(s, strlen(s), m);
}

static void test_thp_mode_parse(void)
{
	enum ml_thp_mode m = ML_THP_UNKNOWN;

	CHECK_EQ(thp("always [madvise] never\n", &m), 0);
	CHECK_EQ(m, ML_THP_MADVISE);
	CHECK_EQ(thp("[always] madvise never\n", &m), 0);
	CHECK_EQ(m, ML_THP_ALWAYS);
	CHECK_EQ(thp("always inherit madvise [never]\n", &m), 0);
	CHECK_EQ(m, ML_THP_NEVER);
	CHECK_EQ(thp("always [inherit] madvise never", &m), 0);
	CHECK_EQ(m, ML_THP_INHERIT);
	/* shmem's words are well-formed but not anon modes */
	CHECK_EQ(thp("always [within_size] advise never deny force\n", &m), 0);
	CHECK_EQ(m, ML_THP_OTHER);

	m = ML_THP_UNKNOWN;
	CHECK_EQ(thp("", &m), -EINVAL);
	CHECK_EQ(thp("\n", &m), -EINVAL);
	CHECK_EQ(thp("always madvise never\n", &m), -EINVAL);
	CHECK_EQ(thp("[always] [never]\n", &m), -EINVAL);
	CHECK_EQ(thp("always [madvise never\n", &m), -EINVAL);
	CHECK_EQ(thp("always [] never\n", &m), -EINVAL);
	CHECK_EQ(thp("always [madvise]never\n", &m), -EINVAL);
	CHECK_EQ(thp("always [mad[vise] never\n", &m), -EINVAL);
	CHECK_EQ(thp("alw]ays [madvise] never\n", &m), -EINVAL);
	CHECK_EQ(m, ML_THP_UNKNOWN); /* untouched on error */
	/* the length bounds the text, not a NUL */
	CHECK_EQ(ml_thp_mode_parse("[never] [always]", 7, &m), 0);
	CHECK_EQ(m, ML_THP_NEVER);
	CHECK_EQ(ml_thp_mode_parse("[never]", 6, &m), -EINVAL);

	CHECK_STR(ml_thp_mode_name(ML_THP_INHERIT), "inherit");
	CHECK_STR(ml_thp_mode_name(ML_THP_MADVISE), "madvise");
	CHECK_EQ(ml_thp_effective(ML_THP_INHERIT, ML_THP_NEVER), ML_THP_NEVER);
	CHECK_EQ(ml_thp_effective(ML_THP_ALWAYS, ML_THP_NEVER), ML_THP_ALWAYS);
}

static void test_mthp_dir_size(void)
{
	uint64_t sz = 0;

	CHECK_EQ(ml_mthp_dir_size("hugepages-64kB", &sz), 0);
	CHECK_U64(sz, 64 * 1024);
	CHECK_EQ(ml_mthp_dir_size("hugepages-2048kB", &sz), 0);
	CHECK_U64(sz, 2 * 1024 * 1024);
	CHECK_EQ(ml_mthp_dir_size("hugepages-16kB", &sz), 0);
	CHECK_U64(sz, 16384);

	sz = 7;
	CHECK_EQ(ml_mthp_dir_size("enabled", &sz), -EINVAL);
	CHECK_EQ(ml_mthp_dir_size("hugepages-", &sz), -EINVAL);
	CHECK_EQ(ml_mthp_dir_size("hugepages-kB", &sz), -EINVAL);
	CHECK_EQ(ml_mthp_dir_size("hugepages-64", &sz), -EINVAL);
	CHECK_EQ(ml_mthp_dir_size("hugepages-64kBx", &sz), -EINVAL);
	CHECK_EQ(ml_mthp_dir_size("hugepages-64MB", &sz), -EINVAL);
	CHECK_EQ(ml_mthp_dir_size("hugepages--64kB", &sz), -EINVAL);
	CHECK_EQ(ml_mthp_dir_size("hugepages-0kB", &sz), -EINVAL);
	/* 2^54 kB does not fit in bytes; 2^64 does not parse */
	CHECK_EQ(ml_mthp_dir_size("hugepages-18014398509481984kB", &sz), -EINVAL);
	CHECK_EQ(ml_mthp_dir_size("hugepages-18446744073709551616kB", &sz), -EINVAL);
	CHECK_U64(sz, 7);
}

static void test_swaps_parse(void)
{
	static const char two[] =
		"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
		"/dev/zram0                              partition\t4194300\t\t1024\t\t100\n"
		"/swap\\040file                           file\t\t1048572\t\t0\t\t-2\n";
	static const char none[] =
		"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
	struct ml_swaps s;

	CHECK_EQ(ml_swaps_parse(two, strlen(two), &s), 0);
	CHECK_EQ(s.nr_areas, 2);
	CHECK_U64(s.size_bytes, (4194300ULL + 1048572ULL) * 1024);
	CHECK_U64(s.used_bytes, 1024ULL * 1024);

	CHECK_EQ(ml_swaps_parse(none, strlen(none), &s), 0);
	CHECK_EQ(s.nr_areas, 0);
	CHECK_U64(s.size_bytes, 0);

	/* the last line without its newline still counts */
	CHECK_EQ(ml_swaps_parse(two, strlen(two) - 1, &s), 0);
	CHECK_EQ(s.nr_areas, 2);

	CHECK_EQ(ml_swaps_parse("", 0, &s), -EINVAL);
	CHECK_EQ(ml_swaps_parse("/dev/sda2 partition 1 0 -2\n", 27, &s), -EINVAL);
	CHECK_EQ(ml_swaps_parse("Filename\n/dev/sda2 partition x 0 -2\n", 36, &s),
		 -EINVAL);
	CHECK_EQ(ml_swaps_parse("Filename\n/dev/sda2 partition 1 0\n", 33, &s),
		 -EINVAL);
	CHECK_EQ(ml_swaps_parse("Filename\n/dev/sda2 partition 1 0 -2 x\n", 38, &s),
		 -EINVAL);
}

/* ---- fake trees ---------------------------------------------------------- */

#define SKIPPED "skipped: proc root is not a procfs"

/* Every feature has its own key, a name and a fallback. */
static void check_table(const struct ml_features *f)
{
	for (int i = 0; i < ML_FEATURE__COUNT; i++) {
		CHECK_EQ(f->f[i].id, i);
		CHECK(f->f[i].key && *f->f[i].key);
		CHECK(f->f[i].name && *f->f[i].name);
		CHECK(f->f[i].fallback && *f->f[i].fallback);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(f->f[i].key, f->f[j].key) != 0);
	}
}

static void build_full_tree(const struct tree *t)
{
	put(t, "sys/kernel/mm/transparent_hugepage/enabled",
	    "always [madvise] never\n");
	put(t, "sys/kernel/mm/transparent_hugepage/defrag",
	    "always defer defer+madvise [madvise] never\n");
	put(t, "sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled",
	    "always [inherit] madvise never\n");
	put(t, "sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled",
	    "always inherit madvise [never]\n");
	put(t, "sys/kernel/mm/transparent_hugepage/khugepaged/defrag", "1\n");

	put(t, "sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds", "2\n");
	put(t, "sys/kernel/mm/damon/admin/kdamonds/0/state", "on\n");
	put(t, "sys/kernel/mm/damon/admin/kdamonds/0/contexts/nr_contexts", "1\n");
	put(t, "sys/kernel/mm/damon/admin/kdamonds/0/contexts/0/operations",
	    "paddr\n");
	put(t, "sys/kernel/mm/damon/admin/kdamonds/0/contexts/0/avail_operations",
	    "vaddr\nfvaddr\npaddr\n");
	put(t, "sys/kernel/mm/damon/admin/kdamonds/1/state", "off\n");
	put(t, "sys/kernel/mm/damon/admin/kdamonds/1/contexts/nr_contexts", "1\n");
	put(t, "sys/kernel/mm/damon/admin/kdamonds/1/contexts/0/operations",
	    "vaddr\n");

	put(t, "sys/kernel/mm/page_idle/bitmap", "\xff\xff\xff\xff\xff\xff\xff\xff");

	put(t, "proc/allocinfo", "allocinfo - version: 1.0\n"
	    "#     <size>  <calls> <tag info>\n"
	    "        4096        1 mm/memory.c:1 func:do_fault\n");
	put(t, "proc/sys/vm/mem_profiling", "1\n");
	put(t, "proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
	    "/dev/zram0                              partition\t4194300\t\t1024\t\t100\n");
	put_bin(t, "proc/kpageflags", "\0\0\0\0\0\0\0\x01", 8);
	put_bin(t, "proc/kpagecount", "\x01\0\0\0\0\0\0\0", 8);
}

static void test_fake_tree_full(void)
{
	struct ml_features f;
	const struct ml_feature *e;
	struct tree t;

	if (!tree_init(&t))
		return;
	build_full_tree(&t);
	CHECK_EQ(probe_tree(&t, &f), 0);
	check_table(&f);

	e = &f.f[ML_FEATURE_THP];
	CHECK_EQ(e->state, ML_FEAT_YES);
	CHECK_STR(e->detail, "enabled: always [madvise] never");
	CHECK_EQ(f.thp_mode, ML_THP_MADVISE);

	e = &f.f[ML_FEATURE_MTHP];
	CHECK_EQ(e->state, ML_FEAT_YES);
	CHECK_EQ(f.nr_mthp, 2);
	CHECK_U64(f.mthp[0].size_bytes, 64 * 1024);
	CHECK_EQ(f.mthp[0].mode, ML_THP_INHERIT);
	CHECK_U64(f.mthp[1].size_bytes, 2048 * 1024);
	CHECK_EQ(f.mthp[1].mode, ML_THP_NEVER);
	CHECK_STR(e->detail,
		  "64kB: inherit (= top-level madvise); 1 other size never");

	e = &f.f[ML_FEATURE_DAMON];
	CHECK_EQ(e->state, ML_FEAT_YES);
	CHECK_EQ(f.nr_kdamonds, 2);
	CHECK_EQ(f.nr_kdamonds_on, 1);
	CHECK_STR(e->detail, "2 kdamonds, 1 running; ops in use: paddr, vaddr; "
			     "available: vaddr, fvaddr, paddr");

	CHECK_EQ(f.f[ML_FEATURE_PAGE_IDLE].state, ML_FEAT_YES);
	CHECK_STR(f.f[ML_FEATURE_PAGE_IDLE].detail, "bitmap opens for reading");

	e = &f.f[ML_FEATURE_ALLOC_PROFILING];
	CHECK_EQ(e->state, ML_FEAT_YES);
	CHECK_STR(e->detail, "allocinfo readable, vm.mem_profiling = 1");

	e = &f.f[ML_FEATURE_SWAP];
	CHECK_EQ(e->state, ML_FEAT_YES);
	CHECK_EQ(f.swaps.nr_areas, 1);
	CHECK_U64(f.swaps.size_bytes, 4194300ULL * 1024);
	CHECK_U64(f.swaps.used_bytes, 1024ULL * 1024);
	CHECK_STR(e->detail, "1 area, 4194300 kB, 1024 kB used");

	CHECK_EQ(f.f[ML_FEATURE_KPAGEFLAGS].state, ML_FEAT_YES);
	CHECK_EQ(f.f[ML_FEATURE_KPAGECOUNT].state, ML_FEAT_YES);

	/* a fake proc root is not our process: the live pagemap probes say so */
	CHECK_EQ(f.f[ML_FEATURE_PROCMAP_QUERY].state, ML_FEAT_UNKNOWN);
	CHECK_STR(f.f[ML_FEATURE_PROCMAP_QUERY].detail, SKIPPED);
	CHECK_EQ(f.f[ML_FEATURE_PAGEMAP_PFN].state, ML_FEAT_UNKNOWN);
	CHECK_STR(f.f[ML_FEATURE_PAGEMAP_PFN].detail, SKIPPED);
	CHECK_EQ(f.f[ML_FEATURE_PAGEMAP_SCAN].state, ML_FEAT_UNKNOWN);
	CHECK_STR(f.f[ML_FEATURE_PAGEMAP_SCAN].detail, SKIPPED);
	CHECK_EQ(f.f[ML_FEATURE_SOFT_DIRTY].state, ML_FEAT_UNKNOWN);
	CHECK_STR(f.f[ML_FEATURE_SOFT_DIRTY].detail, SKIPPED);
	tree_free(&t);
}

/* The fallbacks the design's table promises (DESIGN.md). */
static void test_fake_tree_empty(void)
{
	struct ml_features f;
	const struct ml_feature *e;
	struct tree t;

	if (!tree_init(&t))
		return;
	CHECK_EQ(probe_tree(&t, &f), 0);
	check_table(&f);

	e = &f.f[ML_FEATURE_THP];
	CHECK_EQ(e->state, ML_FEAT_NO);
	CHECK_EQ(e->err, -ENOENT);
	CHECK_STR(e->detail, "no transparent_hugepage: kernel without "
			     "CONFIG_TRANSPARENT_HUGEPAGE");
	CHECK_EQ(f.thp_mode, ML_THP_UNKNOWN);
	CHECK_EQ(f.f[ML_FEATURE_MTHP].state, ML_FEAT_NO);
	CHECK_EQ(f.nr_mthp, 0);

	e = &f.f[ML_FEATURE_DAMON];
	CHECK_EQ(e->state, ML_FEAT_NO);
	CHECK_STR(e->detail, "no DAMON sysfs: kernel older than 5.18 or "
			     "without CONFIG_DAMON_SYSFS");
	CHECK(strstr(e->fallback, "memlens damon") != NULL);
	CHECK_EQ(f.nr_kdamonds, 0);

	e = &f.f[ML_FEATURE_PAGE_IDLE];
	CHECK_EQ(e->state, ML_FEAT_NO);
	CHECK_STR(e->detail, "no page_idle: kernel without "
			     "CONFIG_IDLE_PAGE_TRACKING");
	CHECK(strstr(e->fallback, "other access sources") != NULL);

	e = &f.f[ML_FEATURE_ALLOC_PROFILING];
	CHECK_EQ(e->state, ML_FEAT_NO);
	CHECK_STR(e->detail, "no allocinfo: kernel older than 6.10 or without "
			     "CONFIG_MEM_ALLOC_PROFILING");
	CHECK_STR(e->fallback, "memlens alloctag for user space");

	e = &f.f[ML_FEATURE_SWAP];
	CHECK_EQ(e->state, ML_FEAT_NO);
	CHECK_STR(e->detail, "no swaps: kernel without CONFIG_SWAP");

	for (int i = ML_FEATURE_KPAGEFLAGS; i <= ML_FEATURE_KPAGECOUNT; i++) {
		CHECK_EQ(f.f[i].state, ML_FEAT_NO);
		CHECK_STR(f.f[i].detail, "ENOENT: kernel without "
					 "CONFIG_PROC_PAGE_MONITOR");
	}
	CHECK_STR(f.f[ML_FEATURE_PROCMAP_QUERY].fallback,
		  "one text pass over /proc/PID/maps");
	CHECK_STR(f.f[ML_FEATURE_ANON_VMA_NAME].fallback, "memlens name registry");
	CHECK(strstr(f.f[ML_FEATURE_PAGEMAP_PFN].fallback, "presence only") != NULL);
	tree_free(&t);
}

/* Odd but possible trees: THP off with an inheriting size, damaged files. */
static void test_fake_tree_odd(void)
{
	struct ml_features f;
	struct tree t;

	if (!tree_init(&t))
		return;
	put(&t, "sys/kernel/mm/transparent_hugepage/enabled",
	    "always madvise [never]\n");
	put(&t, "sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled",
	    "always [inherit] madvise never\n");
	put(&t, "sys/kernel/mm/transparent_hugepage/hugepages-16kB/enabled",
	    "[always] inherit madvise never\n");
	put(&t, "sys/kernel/mm/transparent_hugepage/hugepages-32kB/enabled",
	    "garbage\n");
	put(&t, "sys/kernel/mm/transparent_hugepage/hugepages-xkB/enabled",
	    "[always]\n");
	/* as 6.18 has it: order 1 is a shmem size only */
	put(&t, "sys/kernel/mm/transparent_hugepage/hugepages-8kB/shmem_enabled",
	    "always inherit within_size advise [never] deny force\n");
	put(&t, "sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds", "two\n");
	put(&t, "proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
	put(&t, "proc/allocinfo", "");
	put(&t, "proc/kpageflags", "abc");
	CHECK_EQ(probe_tree(&t, &f), 0);

	CHECK_EQ(f.f[ML_FEATURE_THP].state, ML_FEAT_YES);
	CHECK_STR(f.f[ML_FEATURE_THP].detail, "enabled: always madvise [never] (off)");
	CHECK_EQ(f.f[ML_FEATURE_MTHP].state, ML_FEAT_YES);
	/* hugepages-xkB is not a size, hugepages-8kB not an anon one */
	CHECK_EQ(f.nr_mthp, 3);
	CHECK_U64(f.mthp[0].size_bytes, 16 * 1024);
	CHECK_EQ(f.mthp[0].mode, ML_THP_ALWAYS);
	CHECK_U64(f.mthp[1].size_bytes, 32 * 1024);
	CHECK_EQ(f.mthp[1].mode, ML_THP_UNKNOWN);
	CHECK_U64(f.mthp[2].size_bytes, 2048 * 1024);
	CHECK_EQ(f.mthp[2].mode, ML_THP_INHERIT);
	CHECK_STR(f.f[ML_FEATURE_MTHP].detail, "16kB: always, 32kB: unknown, "
		  "2048kB: inherit (= top-level never)");

	CHECK_EQ(f.f[ML_FEATURE_DAMON].state, ML_FEAT_UNKNOWN);
	CHECK_EQ(f.f[ML_FEATURE_DAMON].err, -EINVAL);
	CHECK_EQ(f.f[ML_FEATURE_SWAP].state, ML_FEAT_NO);
	CHECK_STR(f.f[ML_FEATURE_SWAP].detail, "no swap areas");
	CHECK_EQ(f.f[ML_FEATURE_ALLOC_PROFILING].state, ML_FEAT_YES);
	CHECK_STR(f.f[ML_FEATURE_ALLOC_PROFILING].detail, "allocinfo readable");
	CHECK_EQ(f.f[ML_FEATURE_KPAGEFLAGS].state, ML_FEAT_UNKNOWN);
	CHECK_STR(f.f[ML_FEATURE_KPAGEFLAGS].detail, "short read: 3 bytes");
	tree_free(&t);
}

/* ---- live: evidence gathered another way --------------------------------- */

/* The running kernel's major * 1000 + minor, from uname. */
static int kernel_version(void)
{
	struct utsname u;
	char *end;
	long major, minor;

	if (uname(&u) < 0)
		return 0;
	major = strtol(u.release, &end, 10);
	if (*end != '.')
		return 0;
	minor = strtol(end + 1, NULL, 10);
	return (int)(major * 1000 + minor);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* CapEff from /proc/self/status. */
static bool has_cap(int bit)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	bool ret = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0)
			ret = (strtoull(line + 7, NULL, 16) >> bit) & 1;
	fclose(f);
	return ret;
}

static void test_live_procmap_query(void)
{
	struct ml_features f;
	const struct ml_feature *e = &f.f[ML_FEATURE_PROCMAP_QUERY];

	CHECK_EQ(probe_live(&f), 0);
	printf("# kernel %d, PROCMAP_QUERY: %s (%s)\n", kernel_version(),
	       ml_feature_state_name(e->state), e->detail);
	if (kernel_version() >= 6011)
		CHECK_EQ(e->state, ML_FEAT_YES);
	else
		/* distributions backport it: only an absent one must say ENOTTY */
		CHECK(e->state == ML_FEAT_YES ||
		      (e->state == ML_FEAT_NO && e->err == -ENOTTY));
}

static void test_live_pagemap_scan(void)
{
	struct ml_features f;
	const struct ml_feature *e = &f.f[ML_FEATURE_PAGEMAP_SCAN];

	CHECK_EQ(probe_live(&f), 0);
	if (!exists("/proc/self/pagemap")) {
		CHECK_EQ(e->state, ML_FEAT_NO);
		return;
	}
	if (kernel_version() >= 6007)
		CHECK_EQ(e->state, ML_FEAT_YES);
	else
		CHECK(e->state == ML_FEAT_YES ||
		      (e->state == ML_FEAT_NO && e->err == -ENOTTY));
}

static void test_live_uffd_wp_async(void)
{
	struct ml_features f;
	const struct ml_feature *e = &f.f[ML_FEATURE_UFFD_WP_ASYNC];
	struct utsname u;

	CHECK_EQ(probe_live(&f), 0);
	printf("# uffd WP_ASYNC: %s (%s)\n", ml_feature_state_name(e->state),
	       e->detail);
	/* the sysctl exists exactly when CONFIG_USERFAULTFD does */
	if (!exists("/proc/sys/vm/unprivileged_userfaultfd")) {
		CHECK_EQ(e->state, ML_FEAT_NO);
		return;
	}
	/* x86_64 has had uffd-wp since 5.7, and WP_ASYNC came in 6.7 */
	CHECK_EQ(uname(&u), 0);
	if (kernel_version() >= 6007 && strcmp(u.machine, "x86_64") == 0)
		CHECK(e->state == ML_FEAT_YES || e->state == ML_FEAT_NO_PERMISSION);
	if (e->state == ML_FEAT_NO_PERMISSION)
		CHECK_EQ(e->err, -EPERM);
}

/* Does the test's own maps show "[anon:memlens-test]" for @addr? */
static bool maps_shows_name(void *addr)
{
	char line[512], want[32];
	FILE *f = fopen("/proc/self/maps", "re");
	bool found = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, want, strlen(want)) == 0 &&
		    strstr(line, "[anon:memlens-test]"))
			found = true;
	fclose(f);
	return found;
}

static void test_live_anon_vma_name(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	struct ml_features f;
	const struct ml_feature *e = &f.f[ML_FEATURE_ANON_VMA_NAME];
	void *page;
	int ret;

	CHECK_EQ(probe_live(&f), 0);
	/* PROT_READ only: not merged into a neighbour, so maps starts at page */
	page = mmap(NULL, (size_t)ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED);
	if (page == MAP_FAILED)
		return;
	ret = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)page,
		    (unsigned long)ps, (unsigned long)"memlens-test");
	/* the verdict must match what the kernel shows in maps */
	if (e->state == ML_FEAT_YES) {
		CHECK_EQ(ret, 0);
		CHECK(maps_shows_name(page));
	} else {
		CHECK_EQ(e->state, ML_FEAT_NO);
		CHECK_EQ(e->err, -EINVAL);
		CHECK_EQ(ret, -1);
		CHECK(!maps_shows_name(page));
	}
	munmap(page, (size_t)ps);
}

static void test_live_pfn_kpage(void)
{
	struct ml_features f;
	bool admin = has_cap(CAP_SYS_ADMIN_BIT);

	CHECK_EQ(probe_live(&f), 0);
	if (!exists("/proc/self/pagemap")) {
		CHECK_EQ(f.f[ML_FEATURE_PAGEMAP_PFN].state, ML_FEAT_NO);
		return;
	}
	CHECK_EQ(f.f[ML_FEATURE_PAGEMAP_PFN].state,
		 admin ? ML_FEAT_YES : ML_FEAT_NO_PERMISSION);
	/* both files are mode 0400 root */
	for (int i = ML_FEATURE_KPAGEFLAGS; i <= ML_FEATURE_KPAGECOUNT; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%s", f.f[i].name);
		if (!exists(path))
			CHECK_EQ(f.f[i].state, ML_FEAT_NO);
		else
			CHECK_EQ(f.f[i].state, geteuid() == 0 ?
				 ML_FEAT_YES : ML_FEAT_NO_PERMISSION);
	}
}

/*
 * With CONFIG_MEM_SOFT_DIRTY every new VMA carries VM_SOFTDIRTY, which
 * smaps prints as "sd" in VmFlags; without it no VMA ever does.
 */
static int new_vma_is_soft_dirty(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char line[512], want[32];
	bool in_vma = false;
	int ret = -1;
	void *page;
	FILE *f;

	page = mmap(NULL, (size_t)ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return -1;
	f = fopen("/proc/self/smaps", "re");
	if (!f) {
		munmap(page, (size_t)ps);
		return -1;
	}
	snprintf(want, sizeof(want), "%lx-", (unsigned long)page);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)) == 0)
			in_vma = true;
		else if (in_vma && strncmp(line, "VmFlags:", 8) == 0) {
			ret = strstr(line, " sd") != NULL;
			break;
		}
	}
	fclose(f);
	munmap(page, (size_t)ps);
	return ret;
}

static void test_live_soft_dirty(void)
{
	struct ml_features f;
	int sd;

	CHECK_EQ(probe_live(&f), 0);
	sd = new_vma_is_soft_dirty();
	CHECK(sd >= 0);
	printf("# VmFlags sd on a new VMA: %d; soft-dirty: %s (%s)\n", sd,
	       ml_feature_state_name(f.f[ML_FEATURE_SOFT_DIRTY].state),
	       f.f[ML_FEATURE_SOFT_DIRTY].detail);
	if (sd >= 0)
		CHECK_EQ(f.f[ML_FEATURE_SOFT_DIRTY].state,
			 sd ? ML_FEAT_YES : ML_FEAT_NO);
}

static uint64_t meminfo_kb(const char *key)
{
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");
	uint64_t v = UINT64_MAX;
	size_t n = strlen(key);

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Entries of @dir whose names start with a digit. */
static int count_numeric(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] >= '0' && de->d_name[0] <= '9';
	closedir(d);
	return n;
}

/* The anon mTHP sizes: hugepages-* directories with an enabled file. */
static int count_mthp(const char *dir)
{
	char path[512];
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "hugepages-", 10) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/enabled", dir, de->d_name);
		n += exists(path);
	}
	closedir(d);
	return n;
}

static void test_live_files(void)
{
	static const char kdamonds[] = "/sys/kernel/mm/damon/admin/kdamonds";
	static const char thp_dir[] = "/sys/kernel/mm/transparent_hugepage";
	struct ml_features f;
	uint64_t swap_kb = meminfo_kb("SwapTotal");

	CHECK_EQ(probe_live(&f), 0);

	/* /proc/swaps and meminfo count the same usable pages */
	CHECK(swap_kb != UINT64_MAX);
	CHECK_EQ(f.f[ML_FEATURE_SWAP].state, swap_kb ? ML_FEAT_YES : ML_FEAT_NO);
	CHECK_U64(f.swaps.size_bytes, swap_kb * 1024);

	if (!exists("/sys/kernel/mm/page_idle"))
		CHECK_EQ(f.f[ML_FEATURE_PAGE_IDLE].state, ML_FEAT_NO);
	else if (geteuid() == 0)
		CHECK_EQ(f.f[ML_FEATURE_PAGE_IDLE].state, ML_FEAT_YES);

	if (!exists("/proc/allocinfo"))
		CHECK_EQ(f.f[ML_FEATURE_ALLOC_PROFILING].state, ML_FEAT_NO);
	else if (geteuid() == 0)
		CHECK_EQ(f.f[ML_FEATURE_ALLOC_PROFILING].state, ML_FEAT_YES);

	if (!exists(thp_dir)) {
		CHECK_EQ(f.f[ML_FEATURE_THP].state, ML_FEAT_NO);
	} else {
		CHECK_EQ(f.f[ML_FEATURE_THP].state, ML_FEAT_YES);
		CHECK_EQ(f.nr_mthp, count_mthp(thp_dir));
		for (uint32_t i = 1; i < f.nr_mthp; i++)
			CHECK(f.mthp[i - 1].size_bytes < f.mthp[i].size_bytes);
	}

	/* read-only: the listing against the nr_kdamonds file */
	if (!exists(kdamonds)) {
		CHECK_EQ(f.f[ML_FEATURE_DAMON].state, ML_FEAT_NO);
	} else if (geteuid() == 0) {
		CHECK_EQ(f.f[ML_FEATURE_DAMON].state, ML_FEAT_YES);
		CHECK_EQ(f.nr_kdamonds, count_numeric(kdamonds));
		CHECK(f.nr_kdamonds_on <= f.nr_kdamonds);
	}
}

TAP_MAIN(TEST(test_thp_mode_parse), TEST(test_mthp_dir_size),
	 TEST(test_swaps_parse), TEST(test_fake_tree_full),
	 TEST(test_fake_tree_empty), TEST(test_fake_tree_odd),
	 TEST(test_live_procmap_query), TEST(test_live_pagemap_scan),
	 TEST(test_live_uffd_wp_async), TEST(test_live_anon_vma_name),
	 TEST(test_live_pfn_kpage), TEST(test_live_soft_dirty),
	 TEST(test_live_files))
