// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Accounting on the fixture trees: per process (smaps_rollup), per mapping
 * across processes (smaps), the system identity (meminfo), filters, sorting
 * and per-process error isolation. The expected figures are worked out by
 * hand from the fixture text (tests/fixtures/make-fixtures.py lays out the
 * same numbers, with the page arithmetic behind each PSS); the sums are
 * written next to each value. Figures are bytes: KB(x) = x * 1024.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memlens/acct.h>

#include "fixtures.h"
#include "tap.h"

#define KB(x) ((uint64_t)(x) * 1024)
#define BASIC FIXTURES_DIR "/proc-basic"
#define MALFORMED FIXTURES_DIR "/proc-malformed"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

/* ---- helpers ---------------------------------------------------------------- */

/* The owner of the fixture's pid directories: whoever checked them out. */
static uid_t fixture_uid(void)
{
	struct stat st;

	CHECK_EQ(stat(BASIC "/100", &st), 0);
	return st.st_uid;
}

static const struct ml_proc_mem *find_proc(const struct ml_proc_table *t,
					   pid_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->p[i].pid == pid)
			return &t->p[i];
	printf("# pid %d not in the table\n", pid);
	return NULL;
}

static const struct ml_mapping *find_mapping(const struct ml_mapping_table *t,
					     const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->m[i].name, name) == 0)
			return &t->m[i];
	printf("# mapping '%.60s' not in the table\n", name);
	return NULL;
}

/*
 * The three processes of proc-basic, from their smaps_rollup files. Each
 * rollup was itself written as the sum of the process's smaps VMAs:
 *
 * 100 app     Rss 8+16+120+512+48+256+32+156+1024+16+8+8+40+0+4 = 2248
 *             Pss 8+16+120+512+48+128+32+77⅓+510⅔+16+8+8+40+0+½ = 1524½
 *                 -> 1524 (the kernel rounds the exact sum down once)
 *             Private_Clean 8+16+8+8 = 40
 *             Private_Dirty 120+512+48+32+16+40 = 768   USS 40+768 = 808
 *             Swap heap 12 + anon 256 = 268
 * 200 worker  Rss 16+64+200+0+2048+156+1040+12+24+0+4+0 = 3564
 *             Pss 16+64+200+2048+77⅓+526⅔+12+24+½ = 2968½ -> 2968
 *             Private_Clean 16+16 = 32
 *             Private_Dirty 64+200+2048+12+24 = 2348    USS 32+2348 = 2380
 *             Swap anon 56 + libc 4 = 60
 * 300 loader  Rss 64+1024+32+0+16 = 1136
 *             Pss 64+1024+25⅓+0+16 = 1129⅓ -> 1129
 *             Private_Clean 64+20 = 84, Private_Dirty 1024+16 = 1040
 *             USS 84+1040 = 1124; Swap 512
 */
static void check_app(const struct ml_proc_mem *m)
{
	if (!m)
		return;
	CHECK_EQ(m->err, 0);
	CHECK(!m->no_mm);
	CHECK_STR(m->comm, "app");
	CHECK_U64(m->mem.rss, KB(2248));
	CHECK_U64(m->mem.pss, KB(1524));
	CHECK_U64(m->mem.pss_dirty, KB(896)); /* 120+512+48+128+32+16+40 */
	CHECK_U64(m->mem.pss_anon, KB(736));  /* 120+512+48+16+40 */
	CHECK_U64(m->mem.pss_file, KB(628));  /* 8+16+77⅓+510⅔+8+8+½ */
	CHECK_U64(m->mem.pss_shmem, KB(160)); /* 128+32 */
	CHECK_U64(m->mem.shared_clean, KB(1184)); /* 156+1024+4 */
	CHECK_U64(m->mem.shared_dirty, KB(256));
	CHECK_U64(m->mem.private_clean, KB(40));
	CHECK_U64(m->mem.private_dirty, KB(768));
	CHECK_U64(ml_mem_uss(&m->mem), KB(808));
	CHECK_U64(m->mem.anonymous, KB(736));
	CHECK_U64(m->mem.swap, KB(268));
	CHECK_U64(m->mem.swap_pss, KB(268));
	CHECK_U64(m->mem.locked, KB(48));
	CHECK_U64(m->mem.anon_huge, 0);
}

static void check_worker(const struct ml_proc_mem *m)
{
	if (!m)
		return;
	CHECK_EQ(m->err, 0);
	CHECK_STR(m->comm, "worker");
	CHECK_U64(m->mem.rss, KB(3564));
	CHECK_U64(m->mem.pss, KB(2968));
	CHECK_U64(m->mem.pss_anon, KB(2348));
	CHECK_U64(m->mem.pss_file, KB(620)); /* 16+77⅓+526⅔+½ */
	CHECK_U64(m->mem.private_clean, KB(32));
	CHECK_U64(m->mem.private_dirty, KB(2348));
	CHECK_U64(ml_mem_uss(&m->mem), KB(2380));
	CHECK_U64(m->mem.shared_clean, KB(1184)); /* 156+1024+4 */
	CHECK_U64(m->mem.swap, KB(60));
	CHECK_U64(m->mem.anon_huge, KB(2048));
	CHECK_U64(m->mem.locked, 0);
}

static void check_loader(const struct ml_proc_mem *m)
{
	if (!m)
		return;
	CHECK_EQ(m->err, 0);
	CHECK_STR(m->comm, "data loader");
	CHECK_U64(m->mem.rss, KB(1136));
	CHECK_U64(m->mem.pss, KB(1129));
	CHECK_U64(m->mem.pss_file, KB(89)); /* 64+25⅓ */
	CHECK_U64(m->mem.private_clean, KB(84));
	CHECK_U64(m->mem.private_dirty, KB(1040));
	CHECK_U64(ml_mem_uss(&m->mem), KB(1124));
	CHECK_U64(m->mem.shared_clean, KB(12));
	CHECK_U64(m->mem.swap, KB(512));
	CHECK_U64(m->mem.swap_pss, KB(512));
}

/* ---- processes --------------------------------------------------------------- */

static void test_scan_basic(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_proc_table t;
	uid_t uid = fixture_uid();

	if (!p)
		return;
	/* every process; kthreadd (no mm) is left out by default */
	CHECK_EQ(ml_acct_scan(p, NULL, &t), 0);
	CHECK_EQ(t.n, 3);
	CHECK_EQ(t.nr_unreadable, 0);
	CHECK_EQ(t.nr_gone, 0);
	check_app(find_proc(&t, 100));
	check_worker(find_proc(&t, 200));
	check_loader(find_proc(&t, 300));
	for (size_t i = 0; i < t.n; i++) {
		CHECK_EQ(t.p[i].uid, uid);
		CHECK(t.p[i].cmdline == NULL); /* not asked for */
	}
	ml_proc_table_free(&t);
	CHECK_EQ(t.n, 0);

	/* with kernel threads and command lines */
	{
		ML_OPTS(ml_scan_opts, o, .include_no_mm = true, .want_cmdline = true);
		const struct ml_proc_mem *k;

		CHECK_EQ(ml_acct_scan(p, &o, &t), 0);
		CHECK_EQ(t.n, 4);
		k = find_proc(&t, 2);
		if (k) {
			CHECK(k->no_mm);
			CHECK_EQ(k->err, 0);
			CHECK_STR(k->comm, "kthreadd");
			CHECK_STR(k->cmdline, "");
			CHECK_U64(k->mem.rss, 0);
			CHECK_U64(k->mem.pss, 0);
		}
		check_app(find_proc(&t, 100));
		if (find_proc(&t, 100))
			CHECK_STR(find_proc(&t, 100)->cmdline,
				  "/usr/bin/app --config /etc/app conf.toml");
		if (find_proc(&t, 300))
			CHECK_STR(find_proc(&t, 300)->cmdline,
				  "python3 /srv/load.py --tag a?b");
		ml_proc_table_free(&t);
	}
	ml_proc_free(p);
}

static void test_scan_filters(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_proc_table t;
	uid_t uid = fixture_uid();

	if (!p)
		return;
	/* pids: in the order asked; an absent one stays, with -ESRCH; the
	 * kernel thread, asked for by pid, stays too, without memory */
	{
		static const pid_t pids[] = { 300, 2, 424242, 100 };
		ML_OPTS(ml_scan_opts, o, .pids = pids, .nr_pids = 4);

		CHECK_EQ(ml_acct_scan(p, &o, &t), 0);
		CHECK_EQ(t.n, 4);
		CHECK_EQ(t.nr_unreadable, 1);
		CHECK_EQ(t.nr_gone, 0);
		if (t.n == 4) {
			CHECK_EQ(t.p[0].pid, 300);
			check_loader(&t.p[0]);
			CHECK_EQ(t.p[1].pid, 2);
			CHECK(t.p[1].no_mm);
			CHECK_EQ(t.p[1].err, 0);
			CHECK_U64(t.p[1].mem.rss, 0);
			CHECK_EQ(t.p[2].pid, 424242);
			CHECK_EQ(t.p[2].err, -ESRCH);
			CHECK_EQ(t.p[3].pid, 100);
			check_app(&t.p[3]);
		}
		ml_proc_table_free(&t);
	}
	/* the owner of the fixture: all three; nobody's uid: none */
	{
		ML_OPTS(ml_scan_opts, o, .filter_uid = true, .uid = uid);

		CHECK_EQ(ml_acct_scan(p, &o, &t), 0);
		CHECK_EQ(t.n, 3);
		ml_proc_table_free(&t);
		o.uid = uid == 4242421 ? 4242422 : 4242421;
		CHECK_EQ(ml_acct_scan(p, &o, &t), 0);
		CHECK_EQ(t.n, 0);
		CHECK_EQ(t.nr_unreadable, 0);
		ml_proc_table_sort(&t, ML_SORT_PSS); /* empty: a no-op */
		ml_proc_table_free(&t);
	}
	/* pids and uid together */
	{
		static const pid_t pids[] = { 200 };
		ML_OPTS(ml_scan_opts, o, .pids = pids, .nr_pids = 1,
			.filter_uid = true, .uid = uid);

		CHECK_EQ(ml_acct_scan(p, &o, &t), 0);
		CHECK_EQ(t.n, 1);
		if (t.n == 1)
			check_worker(&t.p[0]);
		ml_proc_table_free(&t);
	}
	CHECK_EQ(ml_acct_scan(NULL, NULL, &t), -EINVAL);
	CHECK_EQ(ml_acct_scan(p, NULL, NULL), -EINVAL);
	ml_proc_free(p);
}

static void test_acct_process(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_proc_mem m;

	if (!p)
		return;
	CHECK_EQ(ml_acct_process(p, 100, true, &m), 0);
	check_app(&m);
	CHECK_EQ(m.pid, 100);
	CHECK_EQ(m.uid, fixture_uid());
	CHECK_STR(m.cmdline, "/usr/bin/app --config /etc/app conf.toml");
	free(m.cmdline);

	CHECK_EQ(ml_acct_process(p, 200, false, &m), 0);
	check_worker(&m);
	CHECK(m.cmdline == NULL);

	CHECK_EQ(ml_acct_process(p, 2, false, &m), 0);
	CHECK(m.no_mm);
	CHECK_STR(m.comm, "kthreadd");
	CHECK_U64(m.mem.rss, 0);

	CHECK_EQ(ml_acct_process(p, 999999, false, &m), -ESRCH);
	CHECK_EQ(m.err, -ESRCH);
	CHECK_EQ(m.pid, 999999);
	CHECK_EQ(ml_acct_process(p, 0, false, &m), -EINVAL);
	CHECK_EQ(ml_acct_process(p, -5, false, &m), -EINVAL);
	ml_proc_free(p);

	p = open_root(MALFORMED);
	if (!p)
		return;
	for (pid_t pid = 500; pid <= 503; pid++) {
		CHECK_EQ(ml_acct_process(p, pid, false, &m), -EINVAL);
		CHECK_EQ(m.err, -EINVAL);
	}
	/* the links to proc-basic read the same */
	CHECK_EQ(ml_acct_process(p, 300, false, &m), 0);
	check_loader(&m);
	ml_proc_free(p);
}

/*
 * A real kernel thread, if this /proc shows one: the kernel fails the read
 * of its smaps_rollup with ESRCH although it exists, which must read as
 * "no memory", not "exited".
 */
static pid_t find_kernel_thread(struct ml_proc *p)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		struct ml_status st;

		if (pid <= 0 || ml_proc_status(p, pid, &st) != 0)
			continue;
		/* kthreadd and its children; no Vm lines */
		if (!st.has_mm && (pid == 2 || st.ppid == 2))
			found = pid;
	}
	closedir(d);
	return found;
}

static void test_live_kernel_thread(void)
{
	struct ml_proc *p = NULL;
	struct ml_proc_mem m;
	struct ml_proc_table t;
	pid_t pid;

	CHECK_EQ(ml_proc_new(NULL, &p), 0);
	if (!p)
		return;
	pid = find_kernel_thread(p);
	if (!pid) {
		printf("# no kernel thread visible in /proc (skipped)\n");
		ml_proc_free(p);
		return;
	}
	printf("# kernel thread: pid %d\n", pid);
	CHECK_EQ(ml_acct_process(p, pid, false, &m), 0);
	CHECK(m.no_mm);
	CHECK_EQ(m.err, 0);
	{
		ML_OPTS(ml_scan_opts, o, .pids = &pid, .nr_pids = 1,
			.include_no_mm = true);

		CHECK_EQ(ml_acct_scan(p, &o, &t), 0);
		CHECK_EQ(t.n, 1);
		if (t.n == 1) {
			CHECK(t.p[0].no_mm);
			CHECK_EQ(t.p[0].err, 0);
		}
		ml_proc_table_free(&t);
		/* asked for by pid, it is kept even without include_no_mm */
		o.include_no_mm = false;
		CHECK_EQ(ml_acct_scan(p, &o, &t), 0);
		CHECK_EQ(t.n, 1);
		CHECK_EQ(t.nr_gone, 0);
		ml_proc_table_free(&t);
	}
	ml_proc_free(p);
}

/* ---- sorting ------------------------------------------------------------------- */

static void test_sort(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_proc_table t;
	enum ml_sort_key key;

	CHECK_EQ(ml_sort_key_parse("pss", &key), 0);
	CHECK_EQ(key, ML_SORT_PSS);
	CHECK_EQ(ml_sort_key_parse("uss", &key), 0);
	CHECK_EQ(key, ML_SORT_USS);
	CHECK_EQ(ml_sort_key_parse("rss", &key), 0);
	CHECK_EQ(key, ML_SORT_RSS);
	CHECK_EQ(ml_sort_key_parse("swap", &key), 0);
	CHECK_EQ(key, ML_SORT_SWAP);
	CHECK_EQ(ml_sort_key_parse("PSS", &key), -EINVAL);
	CHECK_EQ(ml_sort_key_parse("", &key), -EINVAL);
	CHECK_EQ(ml_sort_key_parse(NULL, &key), -EINVAL);

	if (!p)
		return;
	ML_OPTS(ml_scan_opts, o, .include_no_mm = true);
	CHECK_EQ(ml_acct_scan(p, &o, &t), 0);
	CHECK_EQ(t.n, 4);
	if (t.n == 4) {
		/* PSS 2968 (200) > 1524 (100) > 1129 (300) > 0 (2) */
		ml_proc_table_sort(&t, ML_SORT_PSS);
		CHECK_EQ(t.p[0].pid, 200);
		CHECK_EQ(t.p[1].pid, 100);
		CHECK_EQ(t.p[2].pid, 300);
		CHECK_EQ(t.p[3].pid, 2);
		/* USS 2380 (200) > 1124 (300) > 808 (100) > 0 */
		ml_proc_table_sort(&t, ML_SORT_USS);
		CHECK_EQ(t.p[0].pid, 200);
		CHECK_EQ(t.p[1].pid, 300);
		CHECK_EQ(t.p[2].pid, 100);
		CHECK_EQ(t.p[3].pid, 2);
		/* RSS 3564 (200) > 2248 (100) > 1136 (300) */
		ml_proc_table_sort(&t, ML_SORT_RSS);
		CHECK_EQ(t.p[0].pid, 200);
		CHECK_EQ(t.p[1].pid, 100);
		CHECK_EQ(t.p[2].pid, 300);
		/* swap 512 (300) > 268 (100) > 60 (200) */
		ml_proc_table_sort(&t, ML_SORT_SWAP);
		CHECK_EQ(t.p[0].pid, 300);
		CHECK_EQ(t.p[1].pid, 100);
		CHECK_EQ(t.p[2].pid, 200);
		CHECK_EQ(t.p[3].pid, 2);
		CHECK_U64(ml_mem_sort_value(&t.p[0].mem, ML_SORT_SWAP), KB(512));
		CHECK_U64(ml_mem_sort_value(&t.p[0].mem, ML_SORT_USS), KB(1124));
	}
	ml_proc_table_free(&t);
	ml_proc_free(p);

	/* ties by pid; unreadable last whatever their figures */
	{
		struct ml_proc_mem rows[4] = {
			{ .pid = 5, .mem.pss = 10 },
			{ .pid = 4, .err = -EACCES, .mem.pss = 999 },
			{ .pid = 3, .mem.pss = 10 },
			{ .pid = 9, .mem.pss = 20 },
		};
		struct ml_proc_table tt = { .p = rows, .n = 4, .cap = 4 };

		ml_proc_table_sort(&tt, ML_SORT_PSS);
		CHECK_EQ(rows[0].pid, 9);
		CHECK_EQ(rows[1].pid, 3);
		CHECK_EQ(rows[2].pid, 5);
		CHECK_EQ(rows[3].pid, 4);
	}
}

/* ---- mappings across processes ------------------------------------------------------ */

struct want_mapping {
	const char *name;
	uint32_t nr_procs, nr_vmas;
	uint64_t size, rss, pss, uss, swap, shared_clean;
};

/*
 * Every mapping of proc-basic (pids 100, 200, 300), summed from smaps by
 * hand. The per-VMA PSS figures are the rounded-down ones the files show.
 */
static const struct want_mapping basic_mappings[] = {
	/* name, procs, vmas, size, rss, pss, uss, swap, shared_clean (kB) */
	{ "/usr/bin/app", 1, 2, 8 + 16, 8 + 16, 8 + 16, 8 + 16, 0, 0 },
	{ "[heap]", 3, 3, 132 + 64 + 1024, 120 + 64 + 1024, 120 + 64 + 1024,
	  120 + 64 + 1024, 12, 0 },
	/* 100: one VMA; 200: three (256 kB, a 4 kB guard, 8 MB THP arena);
	 * 300: one, swapped out */
	{ ML_ANON_NAME, 3, 1 + 3 + 1, 1024 + 256 + 4 + 8192 + 1024,
	  512 + 200 + 0 + 2048 + 0, 512 + 200 + 2048, 512 + 200 + 2048,
	  256 + 56 + 512, 0 },
	{ "[anon:my name]", 1, 1, 64, 48, 48, 48, 0, 0 },
	{ "[anon_shmem:shared]", 1, 1, 256, 256, 128, 0, 0, 0 },
	{ "/memfd:x (deleted)", 1, 1, 32, 32, 32, 32, 0, 0 },
	/* 100: 77 + 510 + 16, 200: 77 + 526 + 12 */
	{ LIBC, 2, 6, 160 + 1376 + 16 + 160 + 1376 + 16,
	  156 + 1024 + 16 + 156 + 1040 + 12, 77 + 510 + 16 + 77 + 526 + 12,
	  16 + (16 + 12), 4, 156 + 1024 + 156 + 1024 },
	{ "/opt/my app/data file.bin", 1, 1, 16, 8, 8, 8, 0, 0 },
	{ "/usr/lib/x (deleted)", 1, 1, 8, 8, 8, 8, 0, 0 },
	{ "[stack]", 3, 3, 3 * 132, 40 + 24 + 16, 40 + 24 + 16, 40 + 24 + 16, 0, 0 },
	{ "[vvar]", 2, 2, 16 + 16, 0, 0, 0, 0, 0 },
	{ "[vdso]", 2, 2, 8 + 8, 4 + 4, 0, 0, 0, 4 + 4 },
	{ "/usr/bin/worker", 1, 1, 16, 16, 16, 16, 0, 0 },
	{ "[vsyscall]", 1, 1, 4, 0, 0, 0, 0, 0 },
	{ "/usr/bin/python3.11", 1, 1, 64, 64, 64, 64, 0, 0 },
	{ NULL /* the long name */, 1, 1, 32, 32, 25, 20, 0, 12 },
};

static void check_mappings(const struct ml_mapping_table *t)
{
	char *lp = long_path();
	uint64_t pss = 0, rss = 0;

	CHECK_EQ(t->n, 16);
	for (size_t i = 0; i < sizeof(basic_mappings) / sizeof(basic_mappings[0]); i++) {
		const struct want_mapping *w = &basic_mappings[i];
		const struct ml_mapping *m = find_mapping(t, w->name ? w->name : lp);

		CHECK(m != NULL);
		if (!m)
			continue;
		CHECK_EQ(m->nr_procs, w->nr_procs);
		CHECK_EQ(m->nr_vmas, w->nr_vmas);
		CHECK_U64(m->mem.size, KB(w->size));
		CHECK_U64(m->mem.rss, KB(w->rss));
		CHECK_U64(m->mem.pss, KB(w->pss));
		CHECK_U64(ml_mem_uss(&m->mem), KB(w->uss));
		CHECK_U64(m->mem.swap, KB(w->swap));
		CHECK_U64(m->mem.shared_clean, KB(w->shared_clean));
	}
	for (size_t i = 0; i < t->n; i++) {
		pss += t->m[i].mem.pss;
		rss += t->m[i].mem.rss;
	}
	/*
	 * PSS over every mapping = the per-VMA sums 1523 + 2967 + 1129 = 5619,
	 * 2 kB under the rollups' 1524 + 2968 + 1129 = 5621; RSS has no
	 * rounding: 2248 + 3564 + 1136 = 6948 either way.
	 */
	CHECK_U64(pss, KB(5619));
	CHECK_U64(rss, KB(6948));
	{
		const struct ml_mapping *a = find_mapping(t, ML_ANON_NAME);

		if (a)
			CHECK_U64(a->mem.anon_huge, KB(2048));
		a = find_mapping(t, "[anon:my name]");
		if (a)
			CHECK_U64(a->mem.locked, KB(48));
		a = find_mapping(t, "[anon_shmem:shared]");
		if (a)
			CHECK_U64(a->mem.shared_dirty, KB(256));
	}
	free(lp);
}

static void test_mappings(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_mapping_table t;
	char *lp = long_path();

	if (!p)
		return;
	CHECK_EQ(ml_acct_mappings(p, NULL, &t), 0);
	CHECK_EQ(t.nr_procs, 3);
	CHECK_EQ(t.nr_unreadable, 0);
	check_mappings(&t);

	/* by PSS, ties by name (strcmp: '/' < '[', "[vd" < "[vs" < "[vv") */
	{
		const char *order[] = {
			ML_ANON_NAME /* 2760 */, LIBC /* 1218 */, "[heap]" /* 1208 */,
			"[anon_shmem:shared]" /* 128 */, "[stack]" /* 80 */,
			"/usr/bin/python3.11" /* 64 */, "[anon:my name]" /* 48 */,
			"/memfd:x (deleted)" /* 32 */, lp /* 25 */,
			"/usr/bin/app" /* 24 */, "/usr/bin/worker" /* 16 */,
			"/opt/my app/data file.bin" /* 8 */, "/usr/lib/x (deleted)" /* 8 */,
			"[vdso]", "[vsyscall]", "[vvar]" /* 0 */,
		};

		ml_mapping_table_sort(&t, ML_SORT_PSS);
		for (size_t i = 0; i < 16 && i < t.n; i++)
			CHECK_STR(t.m[i].name, order[i]);
	}
	/* by swap: 824, 12, 4, then the thirteen without swap by name */
	{
		const char *order[] = {
			ML_ANON_NAME, "[heap]", LIBC, "/memfd:x (deleted)",
			"/opt/my app/data file.bin", lp, "/usr/bin/app",
			"/usr/bin/python3.11", "/usr/bin/worker",
			"/usr/lib/x (deleted)", "[anon:my name]",
			"[anon_shmem:shared]", "[stack]", "[vdso]", "[vsyscall]",
			"[vvar]",
		};

		ml_mapping_table_sort(&t, ML_SORT_SWAP);
		for (size_t i = 0; i < 16 && i < t.n; i++)
			CHECK_STR(t.m[i].name, order[i]);
	}
	/* by USS: 2760, 1208, 80, 64, 48, libc 16+28 = 44, 32, 24, 20 */
	{
		const char *order[] = {
			ML_ANON_NAME, "[heap]", "[stack]", "/usr/bin/python3.11",
			"[anon:my name]", LIBC, "/memfd:x (deleted)", "/usr/bin/app", lp,
		};

		ml_mapping_table_sort(&t, ML_SORT_USS);
		for (size_t i = 0; i < 9 && i < t.n; i++)
			CHECK_STR(t.m[i].name, order[i]);
	}
	/* sorting moves entries: the figures stay with their names */
	check_mappings(&t);
	ml_mapping_table_free(&t);
	CHECK_EQ(t.n, 0);

	/* one process: pid 200 alone */
	{
		static const pid_t pids[] = { 200 };
		ML_OPTS(ml_scan_opts, o, .pids = pids, .nr_pids = 1);
		const struct ml_mapping *m;

		CHECK_EQ(ml_acct_mappings(p, &o, &t), 0);
		CHECK_EQ(t.nr_procs, 1);
		/* worker, [heap], [anon], libc, [stack], [vvar], [vdso], [vsyscall] */
		CHECK_EQ(t.n, 8);
		m = find_mapping(&t, ML_ANON_NAME);
		if (m) {
			CHECK_EQ(m->nr_procs, 1);
			CHECK_EQ(m->nr_vmas, 3);
			CHECK_U64(m->mem.size, KB(256 + 4 + 8192));
			CHECK_U64(m->mem.rss, KB(200 + 0 + 2048));
			CHECK_U64(m->mem.swap, KB(56));
		}
		m = find_mapping(&t, LIBC);
		if (m) {
			CHECK_EQ(m->nr_procs, 1);
			CHECK_EQ(m->nr_vmas, 3);
			CHECK_U64(m->mem.rss, KB(156 + 1040 + 12));
			CHECK_U64(m->mem.pss, KB(77 + 526 + 12));
		}
		ml_mapping_table_free(&t);
	}
	/* nobody's uid: an empty table */
	{
		ML_OPTS(ml_scan_opts, o, .filter_uid = true,
			.uid = fixture_uid() == 4242421 ? 4242422 : 4242421);

		CHECK_EQ(ml_acct_mappings(p, &o, &t), 0);
		CHECK_EQ(t.n, 0);
		CHECK_EQ(t.nr_procs, 0);
		ml_mapping_table_sort(&t, ML_SORT_PSS); /* empty: a no-op */
		CHECK_EQ(t.n, 0);
		ml_mapping_table_free(&t);
	}
	/* kernel threads included in the scan add nothing */
	{
		ML_OPTS(ml_scan_opts, o, .include_no_mm = true);

		CHECK_EQ(ml_acct_mappings(p, &o, &t), 0);
		CHECK_EQ(t.nr_procs, 3);
		check_mappings(&t);
		ml_mapping_table_free(&t);
	}
	free(lp);
	ml_proc_free(p);
}

static void test_mapping_table_add(void)
{
	struct ml_vma v[4] = {
		{ .name = "a", .name_len = 1, .mem.rss = 4096 },
		{ .name = "", .name_len = 0, .mem.rss = 8192 },
		{ .name = "a", .name_len = 1, .mem.rss = 4096, .mem.swap = 1 },
		/* a NUL inside a name (never from the kernel) ends it: "a" */
		{ .name = "a\0zzz", .name_len = 5, .mem.rss = 1 },
	};
	struct ml_vma_list l = { .v = v, .n = 3 };
	struct ml_mapping_table t = { 0 };
	const struct ml_mapping *m;

	/* one process with "a" twice and one unnamed VMA */
	CHECK_EQ(ml_mapping_table_add(&t, &l), 0);
	CHECK_EQ(t.n, 2);
	m = find_mapping(&t, "a");
	if (m) {
		CHECK_EQ(m->nr_procs, 1);
		CHECK_EQ(m->nr_vmas, 2);
		CHECK_U64(m->mem.rss, 8192); /* 4096 + 4096 */
		CHECK_U64(m->mem.swap, 1);
	}
	/* a second process with the same VMAs, and the odd name */
	l.n = 4;
	CHECK_EQ(ml_mapping_table_add(&t, &l), 0);
	CHECK_EQ(t.n, 2);
	m = find_mapping(&t, "a");
	if (m) {
		CHECK_EQ(m->nr_procs, 2);
		CHECK_EQ(m->nr_vmas, 5);          /* 2 + 3 */
		CHECK_U64(m->mem.rss, 16385);     /* 8192 + 8192 + 1 */
	}
	m = find_mapping(&t, ML_ANON_NAME);
	if (m) {
		CHECK_EQ(m->nr_procs, 2);
		CHECK_EQ(m->nr_vmas, 2);
		CHECK_U64(m->mem.rss, 16384); /* 8192 * 2 */
	}
	ml_mapping_table_free(&t);

	/* many names: the index grows, and is rebuilt after a sort */
	{
		enum { N = 3000 };
		struct ml_vma *many = calloc(N, sizeof(*many));
		char (*names)[16] = calloc(N, 16);
		struct ml_vma_list ml = { .v = many, .n = N };
		bool ok = true;

		for (int i = 0; i < N; i++) {
			snprintf(names[i], 16, "lib%d.so", i);
			many[i].name = names[i];
			many[i].name_len = (uint32_t)strlen(names[i]);
			many[i].mem.pss = (uint64_t)i; /* distinct, for the sort */
		}
		CHECK_EQ(ml_mapping_table_add(&t, &ml), 0);
		CHECK_EQ(t.n, N);
		ml_mapping_table_sort(&t, ML_SORT_PSS);
		CHECK_STR(t.m[0].name, "lib2999.so");
		CHECK_EQ(ml_mapping_table_add(&t, &ml), 0);
		CHECK_EQ(t.n, N);
		for (size_t i = 0; i < t.n; i++) {
			if (t.m[i].nr_vmas != 2 || t.m[i].nr_procs != 2)
				ok = false;
		}
		CHECK(ok);
		/* lib2999.so: pss 2999 + 2999 */
		m = find_mapping(&t, "lib2999.so");
		if (m)
			CHECK_U64(m->mem.pss, 5998);
		ml_mapping_table_free(&t);
		free(many);
		free(names);
	}
}

/* ---- system ----------------------------------------------------------------------- */

static void test_system(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_meminfo mi;
	struct ml_proc_table t;
	struct ml_sys_mem s;

	if (!p)
		return;
	CHECK_EQ(ml_proc_meminfo(p, &mi), 0);
	CHECK_EQ(ml_acct_scan(p, NULL, &t), 0);
	CHECK_EQ(ml_acct_system(&mi, &t, &s), 0);
	/* proc-basic/meminfo */
	CHECK_U64(s.total, KB(16302080));
	CHECK_U64(s.free, KB(8123456));
	CHECK_U64(s.available, KB(12000000));
	CHECK_U64(s.anon, KB(2500000));       /* AnonPages */
	CHECK_U64(s.shmem, KB(300000));
	/* file = Cached + Buffers - Shmem = 4096000 + 204800 - 300000 */
	CHECK_U64(s.file, KB(4000800));
	CHECK_U64(s.swap_cached, KB(1024));
	CHECK_U64(s.slab, KB(400000));
	CHECK_U64(s.kernel_stack, KB(20480));
	CHECK_U64(s.page_tables, KB(40960));  /* PageTables 40960 + Sec 0 */
	CHECK_U64(s.percpu, KB(8192));
	CHECK_U64(s.vmalloc, KB(60000));
	/* kernel = 400000 + 20480 + 40960 + 0 + 8192 + 60000 = 529632 */
	CHECK_U64(s.kernel, KB(529632));
	CHECK_U64(s.hugetlb, KB(32768));       /* the Hugetlb line */
	/*
	 * itemised = 8123456 + 2500000 + 4000800 + 300000 + 1024 + 529632
	 *            + 32768 = 15487680; unexplained = 16302080 - 15487680
	 */
	CHECK_EQ(s.unexplained, (int64_t)KB(814400));
	CHECK_U64(s.free + s.anon + s.file + s.shmem + s.swap_cached + s.kernel +
		  s.hugetlb + (uint64_t)s.unexplained, s.total);
	CHECK_U64(s.swap_total, KB(8388604));
	CHECK_U64(s.swap_used, KB(388604));    /* 8388604 - 8000000 */
	/* processes: rollups 1524 + 2968 + 1129, 2248 + 3564 + 1136 */
	CHECK_EQ(s.nr_procs, 3);
	CHECK_U64(s.procs.pss, KB(5621));
	CHECK_U64(s.procs.rss, KB(6948));
	CHECK_U64(s.procs.swap, KB(840));      /* 268 + 60 + 512 */
	CHECK_U64(ml_mem_uss(&s.procs), KB(4312)); /* 808 + 2380 + 1124 */
	CHECK_U64(s.procs.pss_anon, KB(4124)); /* 736 + 2348 + 1040 */
	CHECK_U64(s.procs.pss_file, KB(1337)); /* 628 + 620 + 89 */
	CHECK_U64(s.procs.pss_shmem, KB(160));
	ml_proc_table_free(&t);
	ml_proc_free(p);

	/* no table: meminfo alone */
	CHECK_EQ(ml_acct_system(&mi, NULL, &s), 0);
	CHECK_EQ(s.nr_procs, 0);
	CHECK_U64(s.procs.pss, 0);
	CHECK_EQ(ml_acct_system(NULL, NULL, &s), -EINVAL);
	CHECK_EQ(ml_acct_system(&mi, NULL, NULL), -EINVAL);

	/*
	 * A kernel before 5.16: no Hugetlb line, so 3 pages * 2048 kB = 6144;
	 * Shmem above Cached + Buffers gives file 0 (10 + 0 - 50 < 0);
	 * unexplained = 1000 - (100 + 0 + 0 + 50 + 0 + 0 + 6144) = -5294.
	 */
	{
		static const char text[] =
			"MemTotal:        1000 kB\n"
			"MemFree:          100 kB\n"
			"Cached:            10 kB\n"
			"Shmem:             50 kB\n"
			"HugePages_Total:       3\n"
			"Hugepagesize:    2048 kB\n";

		CHECK_EQ(ml_meminfo_parse(text, strlen(text), &mi), 0);
		CHECK_EQ(ml_acct_system(&mi, NULL, &s), 0);
		CHECK_U64(s.hugetlb, KB(6144));
		CHECK_U64(s.file, 0);
		CHECK_EQ(s.unexplained, -(int64_t)KB(5294));
		CHECK_U64(s.swap_used, 0);
		CHECK_U64(s.kernel, 0);
	}
}

/* ---- malformed processes ------------------------------------------------------------ */

static void test_malformed_isolation(void)
{
	struct ml_proc *p = open_root(MALFORMED);
	struct ml_proc_table t;
	struct ml_mapping_table mt;
	struct ml_meminfo mi;
	struct ml_sys_mem s;

	if (!p)
		return;
	/*
	 * 100, 200, 300 (the proc-basic ones), 500-503 (bad rollups) and 504
	 * (a good rollup: Rss 40, Pss 40, Private_Dirty 40, Swap 4); the
	 * directories abc, 12ab and self-ish are not processes.
	 */
	CHECK_EQ(ml_acct_scan(p, NULL, &t), 0);
	CHECK_EQ(t.n, 8);
	CHECK_EQ(t.nr_unreadable, 4);
	CHECK_EQ(t.nr_gone, 0);
	check_app(find_proc(&t, 100));
	check_worker(find_proc(&t, 200));
	check_loader(find_proc(&t, 300));
	for (pid_t pid = 500; pid <= 503; pid++) {
		const struct ml_proc_mem *m = find_proc(&t, pid);

		if (m) {
			CHECK_EQ(m->err, -EINVAL);
			CHECK(!m->no_mm);
		}
	}
	{
		const struct ml_proc_mem *bad = find_proc(&t, 500);
		const char *comm = bad ? bad->comm : NULL;

		CHECK_STR(comm, "bad-kb");
	}
	if (find_proc(&t, 504)) {
		const struct ml_proc_mem *m = find_proc(&t, 504);

		CHECK_EQ(m->err, 0);
		CHECK_U64(m->mem.rss, KB(40));
		CHECK_U64(m->mem.pss, KB(40));
		CHECK_U64(m->mem.swap, KB(4));
		CHECK_U64(ml_mem_uss(&m->mem), KB(40));
	}
	/* PSS: 2968, 1524, 1129, 40, then the unreadable by pid */
	ml_proc_table_sort(&t, ML_SORT_PSS);
	if (t.n == 8) {
		static const pid_t order[] = { 200, 100, 300, 504, 500, 501, 502, 503 };

		for (size_t i = 0; i < 8; i++)
			CHECK_EQ(t.p[i].pid, order[i]);
	}
	/* the system view counts the readable: 1524 + 2968 + 1129 + 40 */
	CHECK_EQ(ml_proc_meminfo(p, &mi), 0);
	CHECK_EQ(ml_acct_system(&mi, &t, &s), 0);
	CHECK_EQ(s.nr_procs, 4);
	CHECK_U64(s.procs.pss, KB(5661));
	ml_proc_table_free(&t);

	/* mappings: 504's smaps is bad too; the others' figures are exact */
	CHECK_EQ(ml_acct_mappings(p, NULL, &mt), 0);
	CHECK_EQ(mt.nr_procs, 3);
	CHECK_EQ(mt.nr_unreadable, 5); /* 500-503 from the scan, 504's smaps */
	check_mappings(&mt);
	ml_mapping_table_free(&mt);

	/* asked for by pid: the bad one keeps its error */
	{
		static const pid_t pids[] = { 501, 300 };
		ML_OPTS(ml_scan_opts, o, .pids = pids, .nr_pids = 2);

		CHECK_EQ(ml_acct_scan(p, &o, &t), 0);
		CHECK_EQ(t.n, 2);
		if (t.n == 2) {
			CHECK_EQ(t.p[0].err, -EINVAL);
			check_loader(&t.p[1]);
		}
		ml_proc_table_free(&t);
	}
	ml_proc_free(p);
}

TAP_MAIN(TEST(test_scan_basic), TEST(test_scan_filters), TEST(test_acct_process),
	 TEST(test_live_kernel_thread), TEST(test_sort), TEST(test_mappings),
	 TEST(test_mapping_table_add), TEST(test_system),
	 TEST(test_malformed_isolation))
