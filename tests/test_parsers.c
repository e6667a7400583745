// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The procfs text parsers (maps, smaps, smaps_rollup, status, statm,
 * meminfo, comm, cmdline) on inline strings and on the fixture tree
 * tests/fixtures/proc-basic. Every expected value is read off the text by
 * hand; the arithmetic is written next to it. Figures are bytes, so a
 * "12 kB" line is expected as KB(12) = 12 * 1024.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memlens/proc.h>

#include "fixtures.h"
#include "tap.h"

#define KB(x) ((uint64_t)(x) * 1024)
#define BASIC FIXTURES_DIR "/proc-basic"
#define MALFORMED FIXTURES_DIR "/proc-malformed"

/* ---- helpers ---------------------------------------------------------------- */

/* A writable, NUL-terminated copy of @s (the parsers write into the text). */
static char *dup_text(const char *s, size_t *len)
{
	*len = strlen(s);
	char *t = malloc(*len + 1);

	memcpy(t, s, *len + 1);
	return t;
}

/* Parse the single maps line @line; returns ml_maps_next's result. */
static int maps_one(const char *line, struct ml_vma *v, char **keep)
{
	size_t len;
	char *t = dup_text(line, &len), *pos = t;
	int ret = ml_maps_next(&pos, t + len, v);

	*keep = t;
	return ret;
}

/* ---- maps -------------------------------------------------------------------- */

static void test_maps_line(void)
{
	struct ml_vma v;
	char *t;

	CHECK_EQ(maps_one("55d0c0a02000-55d0c0a06000 r-xp 00002000 fe:01 1048577"
			  "                    /usr/bin/app\n", &v, &t), 1);
	CHECK_U64(v.start, 0x55d0c0a02000ULL);
	CHECK_U64(v.end, 0x55d0c0a06000ULL);
	CHECK_U64(ml_vma_size(&v), 0x4000); /* 0x...06000 - 0x...02000 */
	CHECK_STR(v.perms, "r-xp");
	CHECK_U64(v.offset, 0x2000);
	CHECK_EQ(v.dev_major, 0xfe); /* "fe" is hex: 254 */
	CHECK_EQ(v.dev_minor, 1);
	CHECK_U64(v.inode, 1048577);
	CHECK_STR(v.name, "/usr/bin/app");
	CHECK_EQ(v.name_len, 12); /* strlen("/usr/bin/app") */
	CHECK(!ml_vma_is_anon(&v));
	/* maps has no counters */
	CHECK_U64(v.mem.rss, 0);
	CHECK_EQ(v.thp_eligible, -1);
	CHECK_STR(v.vm_flags, "");
	free(t);

	/* a block device whose major needs three hex digits: 0x103 = 259 */
	CHECK_EQ(maps_one("7f0000000000-7f0000001000 rw-s 0000000000001000 103:0a 12"
			  "  /dev/shm/x\n", &v, &t), 1);
	CHECK_EQ(v.dev_major, 259);
	CHECK_EQ(v.dev_minor, 10);
	CHECK_U64(v.offset, 0x1000);
	CHECK_STR(v.perms, "rw-s");
	free(t);
}

static void test_maps_names(void)
{
	static const char text[] =
		"55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]\n"
		"7f3a00000000-7f3a00100000 rw-p 00000000 00:00 0 \n"
		"7f3a10000000-7f3a10010000 rw-p 00000000 00:00 0                          [anon:my name]\n"
		"7f3a20000000-7f3a20040000 rw-s 00000000 00:01 2050                       [anon_shmem:shared]\n"
		"7f3a30000000-7f3a30008000 rw-s 00000000 00:01 3074                       /memfd:x (deleted)\n"
		"7f3a50000000-7f3a50004000 r--p 00000000 fe:01 3145730                    /opt/my app/data file.bin\n"
		"7f3a60000000-7f3a60002000 r-xp 00000000 fe:01 4194307                    /usr/lib/x (deleted)\n"
		"7ffc12300000-7ffc12321000 rw-p 00000000 00:00 0                          [stack]\n"
		"7ffc123fc000-7ffc12400000 r--p 00000000 00:00 0                          [vvar]\n"
		"7ffc12400000-7ffc12402000 r-xp 00000000 00:00 0                          [vdso]\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
		/* an unnamed VMA without the trailing blank some tools strip */
		"7f3a70000000-7f3a70001000 ---p 00000000 00:00 0";
	static const struct { const char *name; bool anon; } want[] = {
		{ "[heap]", true },
		{ "", true },
		{ "[anon:my name]", true },
		{ "[anon_shmem:shared]", false }, /* shmem: inode 2050 */
		{ "/memfd:x (deleted)", false },
		{ "/opt/my app/data file.bin", false },
		{ "/usr/lib/x (deleted)", false },
		{ "[stack]", true },
		{ "[vvar]", true },
		{ "[vdso]", true },
		{ "[vsyscall]", true },
		{ "", true },
	};
	struct ml_vma v[16];
	size_t len, n = 0;
	char *t = dup_text(text, &len), *pos = t;
	int ret;

	while (n < 16 && (ret = ml_maps_next(&pos, t + len, &v[n])) == 1)
		n++;
	CHECK_EQ(ret, 0);
	CHECK_EQ(n, 12);
	for (size_t i = 0; i < n && i < 12; i++) {
		CHECK_STR(v[i].name, want[i].name);
		CHECK_EQ(v[i].name_len, strlen(want[i].name));
		CHECK_EQ(ml_vma_is_anon(&v[i]), want[i].anon);
	}
	/* 64-bit addresses: the vsyscall page */
	CHECK_U64(v[10].start, 0xffffffffff600000ULL);
	CHECK_U64(v[10].end, 0xffffffffff601000ULL);
	CHECK_STR(v[10].perms, "--xp");
	CHECK_EQ(v[3].dev_major, 0);
	CHECK_EQ(v[3].dev_minor, 1);
	CHECK_U64(v[3].inode, 2050);
	CHECK_STR(v[11].perms, "---p");
	/* at the end, and again: still the end */
	CHECK_EQ(ml_maps_next(&pos, t + len, &v[0]), 0);
	free(t);
}

static void test_maps_long_name(void)
{
	char *name = long_path();
	char *line = malloc(strlen(name) + 128);
	struct ml_vma v;
	char *t;

	/* 10 + 70 * (9 + 50) + 69 slashes + 9 = 4218 bytes */
	CHECK_EQ(strlen(name), 4218);
	sprintf(line, "7f2200000000-7f2200008000 r--p 00000000 fe:01 5242881"
		"                    %s\n", name);
	CHECK_EQ(maps_one(line, &v, &t), 1);
	CHECK_EQ(v.name_len, 4218);
	CHECK_STR(v.name, name);
	CHECK_U64(ml_vma_size(&v), 0x8000);
	free(t);
	free(line);
	free(name);
}

/* The parsers must not write outside [pos, end): give them exact buffers. */
static void test_maps_exact_buffer(void)
{
	static const char line[] =
		"7f3a00000000-7f3a00100000 rw-p 00000000 00:00 0       [anon:x]";
	size_t len = sizeof(line) - 1;
	char *t = malloc(len), *pos = t; /* no room for a NUL */
	struct ml_vma v;

	memcpy(t, line, len);
	CHECK_EQ(ml_maps_next(&pos, t + len, &v), 1);
	CHECK_EQ(v.name_len, 8); /* "[anon:x]" */
	CHECK(memcmp(v.name, "[anon:x]", 8) == 0);
	CHECK(pos == t + len);
	free(t);
}

static void test_maps_malformed(void)
{
	static const char *const bad[] = {
		"55d0c0a00000-55d0c0a02000 rwzp 00000000 fe:01 1 /x\n", /* perms */
		"55d0c0a00000-55d0c0a02000 r-p 00000000 fe:01 1 /x\n",  /* 3 perms */
		"55d0c0a00000-55d0c0a02000 rwxpp 00000000 fe:01 1 /x\n",
		"55d0c0a00000-55d0c0a02000 R--P 00000000 fe:01 1 /x\n",
		"55d0c0a00000 55d0c0a02000 r--p 00000000 fe:01 1 /x\n", /* no '-' */
		"55d0c0a00000-55d0c0a02000 r--p 00000000 fe01 1 /x\n",  /* no ':' */
		"55d0c0a00000-55d0c0a02000 r--p 00000000 fe:01 1x /x\n", /* inode */
		"55d0c0a00000-55d0c0a02000 r--p 00000000 fe:01 -1 /x\n",
		"55d0c0a00000-55d0c0a02000 r--p 00000000 fe:01\n", /* cut short */
		"55d0c0a00000-55d0c0a02000 r--p 00000000\n",
		"55d0c0a00000-\n",
		"55d0c0a02000-55d0c0a00000 r--p 00000000 fe:01 1 /x\n", /* end<start */
		"100000000000000000-2 r--p 00000000 fe:01 1 /x\n", /* > 64 bits */
		"0-1 r--p 00000000 100000000:01 1 /x\n", /* major > 32 bits */
		"0-1 r--p 00000000 01:100000000 1 /x\n",
		"0-1 r--p 00000000 01:01 99999999999999999999999 /x\n",
		"0x1000-0x2000 r--p 00000000 01:01 1 /x\n",
		" 1000-2000 r--p 00000000 01:01 1 /x\n",
		"Rss:  4 kB\n",
		"\n",
		"garbage",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ml_vma v;
		char *t;
		int ret = maps_one(bad[i], &v, &t);

		if (ret != -EINVAL)
			printf("# bad line %zu: \"%s\" gave %d\n", i, bad[i], ret);
		CHECK_EQ(ret, -EINVAL);
		free(t);
	}
}

static void test_maps_fixture(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_vma_list l;

	if (!p)
		return;
	/* proc-basic/100/maps: 15 lines */
	CHECK_EQ(ml_proc_vmas(p, 100, false, &l), 0);
	CHECK_EQ(l.n, 15);
	if (l.n == 15) {
		CHECK_STR(l.v[0].name, "/usr/bin/app");
		CHECK_U64(l.v[0].start, 0x55d0c0a00000ULL);
		CHECK_U64(l.v[0].end, 0x55d0c0a02000ULL);
		CHECK_STR(l.v[3].name, ""); /* the unnamed anonymous VMA */
		CHECK_U64(ml_vma_size(&l.v[3]), KB(1024)); /* 0x100000 */
		CHECK_STR(l.v[8].name, "/usr/lib/x86_64-linux-gnu/libc.so.6");
		CHECK_U64(l.v[8].offset, 0x28000);
		CHECK_STR(l.v[14].name, "[vdso]");
		CHECK_U64(l.v[14].mem.rss, 0); /* maps: no counters */
	}
	ml_vma_list_free(&l);
	CHECK_EQ(l.n, 0);

	/* a kernel thread: empty maps */
	CHECK_EQ(ml_proc_vmas(p, 2, false, &l), 0);
	CHECK_EQ(l.n, 0);
	ml_vma_list_free(&l);
	/* an absent process */
	CHECK_EQ(ml_proc_vmas(p, 999999, false, &l), -ESRCH);
	ml_proc_free(p);

	/* proc-malformed/501/maps: "rwzp" */
	p = open_root(MALFORMED);
	if (!p)
		return;
	CHECK_EQ(ml_proc_vmas(p, 501, false, &l), -EINVAL);
	CHECK(l.v == NULL && l.text == NULL); /* freed on error */
	ml_proc_free(p);
}

/* ---- smaps -------------------------------------------------------------------- */

static void test_smaps_every_field(void)
{
	/* every field a distinct number of kB, in the kernel's order */
	static const char text[] =
		"7f3a00000000-7f3a00100000 rw-p 00000000 00:00 0 \n"
		"Size:               1024 kB\n"
		"KernelPageSize:        4 kB\n"
		"MMUPageSize:           8 kB\n"
		"Rss:                   3 kB\n"
		"Pss:                   5 kB\n"
		"Pss_Dirty:             6 kB\n"
		"Pss_Anon:              7 kB\n"
		"Pss_File:              9 kB\n"
		"Pss_Shmem:            10 kB\n"
		"Shared_Clean:         11 kB\n"
		"Shared_Dirty:         12 kB\n"
		"Private_Clean:        13 kB\n"
		"Private_Dirty:        14 kB\n"
		"Referenced:           15 kB\n"
		"Anonymous:            16 kB\n"
		"KSM:                  17 kB\n"
		"LazyFree:             18 kB\n"
		"AnonHugePages:        19 kB\n"
		"ShmemPmdMapped:       20 kB\n"
		"FilePmdMapped:        21 kB\n"
		"Shared_Hugetlb:       22 kB\n"
		"Private_Hugetlb:      23 kB\n"
		"Swap:                 24 kB\n"
		"SwapPss:              25 kB\n"
		"Locked:               26 kB\n"
		"FutureCounter:        99 kB\n" /* from a newer kernel: skipped */
		"FutureFlag:    yes please\n"
		"THPeligible:           1\n"
		"ProtectionKey:         3\n"
		"VmFlags: rd wr mr mw me ac sd \n";
	struct ml_vma v;
	size_t len;
	char *t = dup_text(text, &len), *pos = t;

	CHECK_EQ(ml_smaps_next(&pos, t + len, &v), 1);
	CHECK(pos == t + len);
	CHECK_STR(v.name, "");
	CHECK_U64(v.mem.size, KB(1024));
	CHECK_EQ(v.kernel_page_size, 4096); /* 4 kB */
	CHECK_EQ(v.mmu_page_size, 8192);    /* 8 kB */
	CHECK_U64(v.mem.rss, KB(3));
	CHECK_U64(v.mem.pss, KB(5));
	CHECK_U64(v.mem.pss_dirty, KB(6));
	CHECK_U64(v.mem.pss_anon, KB(7));
	CHECK_U64(v.mem.pss_file, KB(9));
	CHECK_U64(v.mem.pss_shmem, KB(10));
	CHECK_U64(v.mem.shared_clean, KB(11));
	CHECK_U64(v.mem.shared_dirty, KB(12));
	CHECK_U64(v.mem.private_clean, KB(13));
	CHECK_U64(v.mem.private_dirty, KB(14));
	CHECK_U64(ml_mem_uss(&v.mem), KB(27)); /* 13 + 14 */
	CHECK_U64(v.mem.referenced, KB(15));
	CHECK_U64(v.mem.anonymous, KB(16));
	CHECK_U64(v.mem.ksm, KB(17));
	CHECK_U64(v.mem.lazyfree, KB(18));
	CHECK_U64(v.mem.anon_huge, KB(19));
	CHECK_U64(v.mem.shmem_pmd_mapped, KB(20));
	CHECK_U64(v.mem.file_pmd_mapped, KB(21));
	CHECK_U64(v.mem.shared_hugetlb, KB(22));
	CHECK_U64(v.mem.private_hugetlb, KB(23));
	CHECK_U64(v.mem.swap, KB(24));
	CHECK_U64(v.mem.swap_pss, KB(25));
	CHECK_U64(v.mem.locked, KB(26));
	CHECK_EQ(v.thp_eligible, 1);
	CHECK_STR(v.vm_flags, "rd wr mr mw me ac sd "); /* the kernel's blank */
	CHECK_EQ(ml_smaps_next(&pos, t + len, &v), 0);
	free(t);
}

static void test_smaps_records(void)
{
	/* fields out of order, no THPeligible, no VmFlags, no final newline */
	static const char text[] =
		"00400000-00401000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n"
		"Rss:                   4 kB\n"
		"Size:                  4 kB\n"
		"Private_Clean:         4 kB\n"
		"THPeligible:    0\n"
		"00601000-00602000 rw-p 00001000 08:02 173521      /usr/bin/dbus-daemon\n"
		"Swap:                  4 kB\n"
		"Rss:                   0 kB";
	struct ml_vma v;
	size_t len;
	char *t = dup_text(text, &len), *pos = t;

	CHECK_EQ(ml_smaps_next(&pos, t + len, &v), 1);
	CHECK_STR(v.name, "/usr/bin/dbus-daemon");
	CHECK_EQ(v.dev_major, 8);
	CHECK_EQ(v.dev_minor, 2);
	CHECK_U64(v.mem.rss, KB(4));
	CHECK_U64(v.mem.size, KB(4));
	CHECK_U64(v.mem.private_clean, KB(4));
	CHECK_EQ(v.thp_eligible, 0);
	CHECK_STR(v.vm_flags, "");
	CHECK_EQ(ml_smaps_next(&pos, t + len, &v), 1);
	CHECK_U64(v.start, 0x601000);
	CHECK_U64(v.offset, 0x1000);
	CHECK_U64(v.mem.swap, KB(4));
	CHECK_U64(v.mem.rss, 0);
	CHECK_EQ(v.thp_eligible, -1); /* not said */
	CHECK_EQ(v.kernel_page_size, 0);
	CHECK_EQ(ml_smaps_next(&pos, t + len, &v), 0);
	free(t);
}

static void test_smaps_malformed(void)
{
	static const char hdr[] =
		"55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0      [heap]\n";
	static const char *const bad_fields[] = {
		/* a record cut after its header: no Rss */
		"",
		"Size:                132 kB\nKernelPageSize:        4 kB\n",
		/* garbage, overflow, no unit, wrong unit, junk after the unit */
		"Rss:                12x4 kB\n",
		"Rss:    99999999999999999999999 kB\n",
		"Rss:                  40\n",
		"Rss:                  40 MB\n",
		"Rss:                  40 kBx\n",
		"Rss:                  40 kB trailing\n",
		"Rss:                 -40 kB\n",
		"Rss:                     kB\n",
		"Rss:\n",
		"Rss 40 kB\n",            /* no colon */
		"Rss:  40 kB\n\nPss:  4 kB\n", /* an empty line */
		": 40 kB\nRss:  4 kB\n",  /* an empty key */
		"Rss:   4 kB\nKernelPageSize:  4194304 kB\n", /* 4 GiB page */
		"Rss:   4 kB\nTHPeligible:   maybe\n",
		"Rss:   4 kB\nTHPeligible:   1 2\n",
		"Rss:   4 kB\nPss:  4 kB\nSwap: 1.5 kB\n",
	};

	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		char *text = malloc(sizeof(hdr) + strlen(bad_fields[i]));
		char *pos = text;
		struct ml_vma v;
		int ret;

		strcpy(text, hdr);
		strcat(text, bad_fields[i]);
		ret = ml_smaps_next(&pos, text + strlen(text), &v);
		if (ret != -EINVAL)
			printf("# bad record %zu gave %d\n", i, ret);
		CHECK_EQ(ret, -EINVAL);
		free(text);
	}

	/* a good record, then a truncated one: 1, then -EINVAL */
	{
		static const char two[] =
			"00400000-00401000 r-xp 00000000 08:02 1 /a\n"
			"Rss:                   4 kB\n"
			"00601000-00602000 rw-p 00001000 08:02 1 /a\n"
			"Size:                  4 kB\n";
		size_t len;
		char *t = dup_text(two, &len), *pos = t;
		struct ml_vma v;

		CHECK_EQ(ml_smaps_next(&pos, t + len, &v), 1);
		CHECK_EQ(ml_smaps_next(&pos, t + len, &v), -EINVAL);
		free(t);
	}
	/* a bad header inside smaps */
	{
		size_t len;
		char *t = dup_text("0-1000 rwzp 00000000 00:00 0\nRss: 4 kB\n", &len);
		char *pos = t;
		struct ml_vma v;

		CHECK_EQ(ml_smaps_next(&pos, t + len, &v), -EINVAL);
		free(t);
	}
}

static void test_smaps_fixture(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_vma_list l;
	uint64_t pss = 0, rss = 0;
	char *name;

	if (!p)
		return;
	CHECK_EQ(ml_proc_vmas(p, 100, true, &l), 0);
	CHECK_EQ(l.n, 15);
	if (l.n == 15) {
		/* [heap]: 132 kB, Rss 120, Swap 12, THPeligible 1 */
		CHECK_STR(l.v[2].name, "[heap]");
		CHECK_U64(l.v[2].mem.size, KB(132));
		CHECK_U64(ml_vma_size(&l.v[2]), KB(132)); /* 0x21000 */
		CHECK_U64(l.v[2].mem.rss, KB(120));
		CHECK_U64(l.v[2].mem.private_dirty, KB(120));
		CHECK_U64(l.v[2].mem.swap, KB(12));
		CHECK_EQ(l.v[2].thp_eligible, 1);
		CHECK_STR(l.v[2].vm_flags, "rd wr mr mw me ac sd ");
		CHECK_EQ(l.v[2].kernel_page_size, 4096);
		CHECK_EQ(l.v[2].mmu_page_size, 4096);
		/* [anon_shmem:shared]: Rss 256, Pss 256 / 2 = 128 */
		CHECK_STR(l.v[5].name, "[anon_shmem:shared]");
		CHECK_U64(l.v[5].mem.rss, KB(256));
		CHECK_U64(l.v[5].mem.pss, KB(128));
		CHECK_U64(l.v[5].mem.shared_dirty, KB(256));
		/* libc r--p: 38 pages / 2 + 1 page / 3 = 77 1/3, printed 77 */
		CHECK_STR(l.v[7].name, "/usr/lib/x86_64-linux-gnu/libc.so.6");
		CHECK_U64(l.v[7].mem.pss, KB(77));
		CHECK_U64(l.v[7].mem.shared_clean, KB(156));
		CHECK_STR(l.v[7].vm_flags, "rd mr mw me sd ");
		CHECK_STR(l.v[10].name, "/opt/my app/data file.bin");
		CHECK_STR(l.v[11].name, "/usr/lib/x (deleted)");
		CHECK_STR(l.v[14].name, "[vdso]");
		CHECK_U64(l.v[14].mem.pss, 0); /* 4 kB / 8 rounded down */
		CHECK_U64(l.v[14].mem.shared_clean, KB(4));
	}
	for (size_t i = 0; i < l.n; i++) {
		pss += l.v[i].mem.pss;
		rss += l.v[i].mem.rss;
	}
	/* per-VMA Pss: 8+16+120+512+48+128+32+77+510+16+8+8+40+0+0 = 1523 */
	CHECK_U64(pss, KB(1523));
	/* Rss: 8+16+120+512+48+256+32+156+1024+16+8+8+40+0+4 = 2248 */
	CHECK_U64(rss, KB(2248));
	ml_vma_list_free(&l);

	/* pid 300: the long name, and a field from a newer kernel in [heap] */
	CHECK_EQ(ml_proc_vmas(p, 300, true, &l), 0);
	CHECK_EQ(l.n, 5);
	name = long_path();
	if (l.n == 5) {
		CHECK_STR(l.v[1].name, "[heap]");
		CHECK_U64(l.v[1].mem.rss, KB(1024));
		CHECK_U64(l.v[1].mem.locked, 0); /* NewCounter did not land here */
		CHECK_EQ(l.v[2].name_len, 4218);
		CHECK_STR(l.v[2].name, name);
		/* 20 kB private + 2 pages / 2 + 1 page / 3 = 25 1/3 -> 25 */
		CHECK_U64(l.v[2].mem.pss, KB(25));
		CHECK_U64(l.v[2].mem.private_clean, KB(20));
		CHECK_U64(l.v[2].mem.shared_clean, KB(12));
		/* fully swapped out */
		CHECK_STR(l.v[3].name, "");
		CHECK_U64(l.v[3].mem.rss, 0);
		CHECK_U64(l.v[3].mem.swap, KB(512));
	}
	free(name);
	ml_vma_list_free(&l);

	/* pid 200: the vsyscall page and a THP-backed arena */
	CHECK_EQ(ml_proc_vmas(p, 200, true, &l), 0);
	CHECK_EQ(l.n, 12);
	if (l.n == 12) {
		CHECK_U64(l.v[4].mem.anon_huge, KB(2048));
		CHECK_U64(l.v[4].mem.size, KB(8192)); /* 0x800000 */
		CHECK_STR(l.v[11].name, "[vsyscall]");
		CHECK_U64(l.v[11].start, 0xffffffffff600000ULL);
		CHECK_STR(l.v[11].vm_flags, "ex ");
	}
	ml_vma_list_free(&l);
	ml_proc_free(p);

	/* every malformed smaps of proc-malformed */
	p = open_root(MALFORMED);
	if (!p)
		return;
	for (pid_t pid = 500; pid <= 504; pid++) {
		if (pid == 503)
			continue; /* only its rollup is cut */
		CHECK_EQ(ml_proc_vmas(p, pid, true, &l), -EINVAL);
		CHECK(l.v == NULL && l.n == 0);
	}
	CHECK_EQ(ml_proc_vmas(p, 503, true, &l), 0);
	CHECK_EQ(l.n, 1);
	ml_vma_list_free(&l);
	ml_proc_free(p);
}

/* ---- smaps_rollup ------------------------------------------------------------------ */

static void test_rollup(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_mem m;
	char *text;
	ssize_t n;

	if (!p)
		return;
	n = ml_proc_read(p, 100, "smaps_rollup", &text);
	CHECK(n > 0);
	if (n > 0) {
		CHECK_EQ(ml_smaps_rollup_parse(text, (size_t)n, &m), 0);
		/* proc-basic/100/smaps_rollup, line by line */
		CHECK_U64(m.rss, KB(2248));
		CHECK_U64(m.pss, KB(1524));
		CHECK_U64(m.pss_dirty, KB(896));
		CHECK_U64(m.pss_anon, KB(736));
		CHECK_U64(m.pss_file, KB(628));
		CHECK_U64(m.pss_shmem, KB(160));
		CHECK_U64(m.shared_clean, KB(1184));
		CHECK_U64(m.shared_dirty, KB(256));
		CHECK_U64(m.private_clean, KB(40));
		CHECK_U64(m.private_dirty, KB(768));
		CHECK_U64(m.referenced, KB(2248));
		CHECK_U64(m.anonymous, KB(736));
		CHECK_U64(m.swap, KB(268));
		CHECK_U64(m.swap_pss, KB(268));
		CHECK_U64(m.locked, KB(48));
		CHECK_U64(m.size, 0); /* the rollup has no Size line */
	}
	/* a kernel thread's rollup is empty */
	n = ml_proc_read(p, 2, "smaps_rollup", &text);
	CHECK_EQ(n, 0);
	if (n == 0)
		CHECK_EQ(ml_smaps_rollup_parse(text, 0, &m), -ENODATA);
	ml_proc_free(p);

	/* inline */
	{
		size_t len;
		char *t = dup_text("", &len);

		CHECK_EQ(ml_smaps_rollup_parse(t, len, &m), -ENODATA);
		free(t);
		t = dup_text("00400000-7ffd0000 ---p 00000000 00:00 0   [rollup]\n",
			     &len);
		CHECK_EQ(ml_smaps_rollup_parse(t, len, &m), -EINVAL); /* no Rss */
		free(t);
		t = dup_text("Rss:   4 kB\n", &len);
		CHECK_EQ(ml_smaps_rollup_parse(t, len, &m), -EINVAL); /* no header */
		free(t);
		t = dup_text("\n", &len);
		CHECK_EQ(ml_smaps_rollup_parse(t, len, &m), -EINVAL);
		free(t);
		t = dup_text("00400000-7ffd0000 ---p 00000000 00:00 0   [rollup]\n"
			     "Rss:    8 kB\nPss:  3 kB\nSwap:  2 kB", &len);
		CHECK_EQ(ml_smaps_rollup_parse(t, len, &m), 0);
		CHECK_U64(m.rss, KB(8));
		CHECK_U64(m.pss, KB(3));
		CHECK_U64(m.swap, KB(2));
		free(t);
	}

	/* proc-malformed: 500 garbage, 501 overflow, 502 no unit, 503 cut */
	p = open_root(MALFORMED);
	if (!p)
		return;
	for (pid_t pid = 500; pid <= 503; pid++) {
		n = ml_proc_read(p, pid, "smaps_rollup", &text);
		CHECK(n > 0);
		if (n > 0)
			CHECK_EQ(ml_smaps_rollup_parse(text, (size_t)n, &m), -EINVAL);
	}
	ml_proc_free(p);
}

/* ---- status, statm --------------------------------------------------------------- */

static void test_status(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_status st;

	if (!p)
		return;
	CHECK_EQ(ml_proc_status(p, 300, &st), 0);
	CHECK_STR(st.name, "data loader");
	CHECK_EQ(st.tgid, 300);
	CHECK_EQ(st.ppid, 1);
	CHECK_EQ(st.uid[0], 1000); /* real, effective, saved, fs */
	CHECK_EQ(st.uid[1], 1001);
	CHECK_EQ(st.uid[2], 1002);
	CHECK_EQ(st.uid[3], 1003);
	CHECK_EQ(st.gid[0], 100);
	CHECK_EQ(st.gid[3], 103);
	CHECK_EQ(st.threads, 1);
	CHECK(st.has_mm);
	CHECK_U64(st.vm_peak, KB(2276));
	CHECK_U64(st.vm_size, KB(2276));
	CHECK_U64(st.vm_rss, KB(1136));
	CHECK_U64(st.rss_anon, KB(1040));
	CHECK_U64(st.rss_file, KB(96));
	CHECK_U64(st.rss_shmem, 0);
	CHECK_U64(st.vm_data, KB(2048));
	CHECK_U64(st.vm_stk, KB(132));
	CHECK_U64(st.vm_exe, KB(64));
	CHECK_U64(st.vm_pte, KB(24));
	CHECK_U64(st.vm_swap, KB(512));

	CHECK_EQ(ml_proc_status(p, 100, &st), 0);
	CHECK_STR(st.name, "app");
	CHECK_EQ(st.threads, 4);
	CHECK_U64(st.vm_lck, KB(48));
	CHECK_U64(st.vm_hwm, KB(2300));
	CHECK_U64(st.vm_lib, KB(1392));
	CHECK_U64(st.rss_shmem, KB(288));

	CHECK_EQ(ml_proc_status(p, 200, &st), 0);
	CHECK_EQ(st.ppid, 100);
	CHECK_EQ(st.threads, 9);

	/* kthreadd: no Vm lines */
	CHECK_EQ(ml_proc_status(p, 2, &st), 0);
	CHECK_STR(st.name, "kthreadd");
	CHECK(!st.has_mm);
	CHECK_U64(st.vm_size, 0);
	CHECK_EQ(st.ppid, 0);
	CHECK_EQ(ml_proc_status(p, 999999, &st), -ESRCH);
	ml_proc_free(p);

	/* inline: a name longer than the field is cut to 63 bytes */
	{
		static const char t[] =
			"Name:\t0123456789012345678901234567890123456789012345678901234567890123456789\n";

		CHECK_EQ(ml_status_parse(t, strlen(t), &st), 0);
		CHECK_EQ(strlen(st.name), 63);
		CHECK(!st.has_mm);
	}
	{
		static const char t[] = "Name:\tx\nVmRSS:\t     12 kB";

		CHECK_EQ(ml_status_parse(t, strlen(t), &st), 0);
		CHECK_U64(st.vm_rss, KB(12));
		CHECK(st.has_mm);
	}

	static const char *const bad[] = {
		"",                                   /* no Name */
		"Tgid:\t1\n",                         /* no Name */
		"Name:\tx\nUid:\tabc\t0\t0\t0\n",
		"Name:\tx\nUid:\t0\t0\t0\n",          /* three ids */
		"Name:\tx\nUid:\t0\t0\t0\t4294967296\n",
		"Name:\tx\nTgid:\t2147483648\n",      /* past INT32_MAX */
		"Name:\tx\nTgid:\t-1\n",
		"Name:\tx\nThreads:\t\n",
		"Name:\tx\nVmRSS:\t   12 MB\n",
		"Name:\tx\nVmRSS:\t   12\n",
		"Name:\tx\nVmRSS:\t   12x kB\n",
		"Name:\tx\nVmSwap:\t99999999999999999999999 kB\n",
		"Name:\tx\nno colon here\n",
		"Name:\tx\n\nTgid:\t1\n",             /* an empty line */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = ml_status_parse(bad[i], strlen(bad[i]), &st);

		if (ret != -EINVAL)
			printf("# bad status %zu gave %d\n", i, ret);
		CHECK_EQ(ret, -EINVAL);
	}
}

static void test_statm(void)
{
	struct ml_proc *p = open_root(BASIC);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct ml_statm sm;

	if (!p)
		return;
	/* proc-basic/100/statm: "816 562 378 4 0 342 0", in pages */
	CHECK_EQ(ml_proc_statm(p, 100, &sm), 0);
	CHECK_U64(sm.size, 816 * page);
	CHECK_U64(sm.resident, 562 * page);
	CHECK_U64(sm.shared, 378 * page);
	CHECK_U64(sm.text, 4 * page);
	CHECK_U64(sm.lib, 0);
	CHECK_U64(sm.data, 342 * page);
	CHECK_U64(sm.dt, 0);
	CHECK_EQ(ml_proc_statm(p, 2, &sm), 0);
	CHECK_U64(sm.size, 0);
	ml_proc_free(p);

	/* with 4 kB pages: 816 pages = 3264 kB = VmSize of the same process */
	CHECK_EQ(ml_statm_parse("816 562 378 4 0 342 0\n", 22, 4096, &sm), 0);
	CHECK_U64(sm.size, KB(3264));
	CHECK_U64(sm.resident, KB(2248)); /* 562 * 4 = VmRSS */
	/* no newline is fine; page size 1 keeps pages */
	CHECK_EQ(ml_statm_parse("1 2 3 4 5 6 7", 13, 1, &sm), 0);
	CHECK_U64(sm.size, 1);
	CHECK_U64(sm.dt, 7);
	CHECK_EQ(ml_statm_parse("18446744073709551615 0 0 0 0 0 0", 32, 1, &sm), 0);
	CHECK_U64(sm.size, UINT64_MAX);

	static const char *const bad[] = {
		"", "1 2 3\n", "1 2 3 4 5 6 7 8\n", "1  2 3 4 5 6 7\n",
		"1 2 3 4 5 6 x\n", "1 2 3 4 5 6 7\n\n", " 1 2 3 4 5 6 7\n",
		"-1 2 3 4 5 6 7\n",
		"4503599627370496 0 0 0 0 0 0\n", /* 2^52 pages * 4096 = 2^64 */
		"99999999999999999999 0 0 0 0 0 0\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = ml_statm_parse(bad[i], strlen(bad[i]), 4096, &sm);

		if (ret != -EINVAL)
			printf("# bad statm %zu gave %d\n", i, ret);
		CHECK_EQ(ret, -EINVAL);
	}
}

/* ---- meminfo ------------------------------------------------------------------------ */

static void test_meminfo(void)
{
	struct ml_proc *p = open_root(BASIC);
	struct ml_meminfo mi;

	if (!p)
		return;
	CHECK_EQ(ml_proc_meminfo(p, &mi), 0);
	ml_proc_free(p);
	/* proc-basic/meminfo, line by line */
	CHECK_U64(mi.v[ML_MI_MEM_TOTAL], KB(16302080));
	CHECK_U64(mi.v[ML_MI_MEM_FREE], KB(8123456));
	CHECK_U64(mi.v[ML_MI_MEM_AVAILABLE], KB(12000000));
	CHECK_U64(mi.v[ML_MI_BUFFERS], KB(204800));
	CHECK_U64(mi.v[ML_MI_CACHED], KB(4096000));
	CHECK_U64(mi.v[ML_MI_SWAP_CACHED], KB(1024));
	CHECK_U64(mi.v[ML_MI_ACTIVE_ANON], KB(1200000));
	CHECK_U64(mi.v[ML_MI_INACTIVE_FILE], KB(1900000));
	CHECK_U64(mi.v[ML_MI_MLOCKED], KB(48));
	CHECK_U64(mi.v[ML_MI_SWAP_TOTAL], KB(8388604));
	CHECK_U64(mi.v[ML_MI_SWAP_FREE], KB(8000000));
	CHECK_U64(mi.v[ML_MI_ANON_PAGES], KB(2500000));
	CHECK_U64(mi.v[ML_MI_SHMEM], KB(300000));
	CHECK_U64(mi.v[ML_MI_SLAB], KB(400000));
	CHECK_U64(mi.v[ML_MI_SRECLAIMABLE], KB(250000));
	CHECK_U64(mi.v[ML_MI_KERNEL_STACK], KB(20480));
	CHECK_U64(mi.v[ML_MI_PAGE_TABLES], KB(40960));
	CHECK_U64(mi.v[ML_MI_SEC_PAGE_TABLES], 0);
	CHECK_U64(mi.v[ML_MI_VMALLOC_USED], KB(60000));
	CHECK_U64(mi.v[ML_MI_PERCPU], KB(8192));
	CHECK_U64(mi.v[ML_MI_ANON_HUGE_PAGES], KB(2048));
	CHECK_U64(mi.v[ML_MI_HUGEPAGES_TOTAL], 16); /* a count: no unit */
	CHECK_U64(mi.v[ML_MI_HUGEPAGESIZE], KB(2048));
	CHECK_U64(mi.v[ML_MI_HUGETLB], KB(32768));
	for (int f = 0; f < ML_MI__COUNT; f++)
		CHECK(ml_meminfo_has(&mi, (enum ml_meminfo_field)f));

	CHECK_STR(ml_meminfo_field_name(ML_MI_MEM_TOTAL), "MemTotal");
	CHECK_STR(ml_meminfo_field_name(ML_MI_ACTIVE_ANON), "Active(anon)");
	CHECK_STR(ml_meminfo_field_name(ML_MI_HUGEPAGES_TOTAL), "HugePages_Total");
	CHECK(ml_meminfo_field_name(ML_MI__COUNT) == NULL);

	/* unknown lines skipped, absent fields not present, no final newline */
	{
		static const char t[] =
			"MemTotal:        1000 kB\n"
			"SomethingNew:    5 kB\n"
			"Weird-Key (x):   7\n"
			"MemFree:          100 kB";

		CHECK_EQ(ml_meminfo_parse(t, strlen(t), &mi), 0);
		CHECK_U64(mi.v[ML_MI_MEM_TOTAL], KB(1000));
		CHECK_U64(mi.v[ML_MI_MEM_FREE], KB(100));
		CHECK(!ml_meminfo_has(&mi, ML_MI_SHMEM));
		CHECK(!ml_meminfo_has(&mi, ML_MI_HUGETLB));
		CHECK_U64(mi.present, (1ULL << ML_MI_MEM_TOTAL) | (1ULL << ML_MI_MEM_FREE));
	}

	static const char *const bad[] = {
		"",
		"MemFree:   100 kB\n",                    /* no MemTotal */
		"MemTotal:  100 kB\n",                    /* no MemFree */
		"MemTotal:  abc kB\nMemFree:  1 kB\n",
		"MemTotal:  100 MB\nMemFree:  1 kB\n",
		"MemTotal:  100 kB x\nMemFree:  1 kB\n",
		"MemTotal:  99999999999999999999999 kB\nMemFree:  1 kB\n",
		"MemTotal:  100 kB\nMemFree:  1 kB\nthis line has no colon\n",
		"MemTotal:  100 kB\n\nMemFree:  1 kB\n",
		"MemTotal:\nMemFree:  1 kB\n",
		"MemTotal:  -5 kB\nMemFree:  1 kB\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = ml_meminfo_parse(bad[i], strlen(bad[i]), &mi);

		if (ret != -EINVAL)
			printf("# bad meminfo %zu gave %d\n", i, ret);
		CHECK_EQ(ret, -EINVAL);
	}
}

/* ---- comm, cmdline, reads ------------------------------------------------------------ */

static void test_cmdline_format(void)
{
	char buf[64];

	{
		static const char raw[] = "/usr/bin/app\0--config\0/etc/app conf.toml";

		/* sizeof includes the final NUL, as the kernel's cmdline does */
		CHECK_EQ(ml_cmdline_format(raw, sizeof(raw), buf, sizeof(buf)), 0);
		CHECK_STR(buf, "/usr/bin/app --config /etc/app conf.toml");
	}
	CHECK_EQ(ml_cmdline_format("", 0, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	/* an empty argument in the middle keeps its separator; trailing NULs go */
	CHECK_EQ(ml_cmdline_format("a\0\0b\0\0\0", 7, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "a  b");
	/* control bytes and DEL become '?'; UTF-8 is kept */
	CHECK_EQ(ml_cmdline_format("a\tb\x01\x7f\xc3\xa9\n", 8, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "a?b?" "?\xc3\xa9?"); /* 8 bytes: a \t b 01 7f c3 a9 \n */
	/* cut to sz - 1 bytes */
	CHECK_EQ(ml_cmdline_format("abcdef", 6, buf, 4), 0);
	CHECK_STR(buf, "abc");
	CHECK_EQ(ml_cmdline_format("abcdef", 6, buf, 1), 0);
	CHECK_STR(buf, "");
	CHECK_EQ(ml_cmdline_format("abc", 3, buf, 0), -EINVAL);
	CHECK_EQ(ml_cmdline_format("abc", 3, NULL, 8), -EINVAL);
	/* a kernel thread writes no byte; NULs only */
	CHECK_EQ(ml_cmdline_format("\0\0", 2, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
}

static void test_proc_reads(void)
{
	struct ml_proc *p = open_root(BASIC);
	char buf[256];
	char *text;

	if (!p)
		return;
	CHECK_STR(ml_proc_root(p), BASIC);
	CHECK_STR(ml_proc_sys_root(p), "/sys");
	CHECK(ml_proc_dirfd(p) >= 0);

	CHECK_EQ(ml_proc_comm(p, 300, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "data loader"); /* the newline dropped */
	CHECK_EQ(ml_proc_comm(p, 100, buf, 3), 0);
	CHECK_STR(buf, "ap"); /* cut to sz - 1 */
	CHECK_EQ(ml_proc_comm(p, 100, buf, 0), -EINVAL);
	CHECK_EQ(ml_proc_cmdline(p, 300, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "python3 /srv/load.py --tag a?b"); /* the tab is '?' */
	CHECK_EQ(ml_proc_cmdline(p, 200, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "worker -j 4");
	CHECK_EQ(ml_proc_cmdline(p, 2, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	CHECK_EQ(ml_proc_comm(p, 2, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "kthreadd");

	/* pid 0 is the root itself; "statm" is 22 bytes: "816 562 378 4 0 342 0\n" */
	CHECK(ml_proc_read(p, 0, "meminfo", &text) > 0);
	CHECK_EQ(ml_proc_read(p, 100, "statm", &text), 22);
	CHECK_STR(text, "816 562 378 4 0 342 0\n");
	/* a process that is not there, a file that is not there */
	CHECK_EQ(ml_proc_read(p, 999999, "statm", &text), -ESRCH);
	CHECK_EQ(ml_proc_read(p, 100, "environ", &text), -ENOENT);
	CHECK_EQ(ml_proc_comm(p, 999999, buf, sizeof(buf)), -ESRCH);
	CHECK_EQ(ml_proc_read(p, -1, "statm", &text), -EINVAL);
	/* owned reads hand the buffer over */
	{
		char *owned = NULL;

		CHECK_EQ(ml_proc_read_owned(p, 100, "statm", &owned), 22);
		CHECK(ml_proc_read(p, 200, "statm", &text) > 0);
		CHECK_STR(owned, "816 562 378 4 0 342 0\n"); /* not overwritten */
		free(owned);
	}
	ml_proc_free(p);

	{
		ML_OPTS(ml_proc_opts, o, .proc_root = FIXTURES_DIR "/no-such-tree");
		struct ml_proc *q = NULL;

		CHECK_EQ(ml_proc_new(&o, &q), -ENOENT);
		CHECK(q == NULL);
		CHECK_EQ(ml_proc_new(&o, NULL), -EINVAL);
	}
}

TAP_MAIN(TEST(test_maps_line), TEST(test_maps_names), TEST(test_maps_long_name),
	 TEST(test_maps_exact_buffer), TEST(test_maps_malformed),
	 TEST(test_maps_fixture), TEST(test_smaps_every_field),
	 TEST(test_smaps_records), TEST(test_smaps_malformed),
	 TEST(test_smaps_fixture), TEST(test_rollup), TEST(test_status),
	 TEST(test_statm), TEST(test_meminfo), TEST(test_cmdline_format),
	 TEST(test_proc_reads))
