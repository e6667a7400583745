// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The allocinfo text parser (lib/alloctag/procfile.c) on hand-made files in
 * the kernel's format (lib/alloc_tag.c: "%12lli %8llu file:line [module]
 * func:name \n"). Expected figures are worked out in the comments from the
 * fixture lines, not from the parser; `memlens allocinfo --kernel` on the
 * same fixture gives the file back byte for byte and the same sums.
 */
#include <errno.h>
#include <sys/wait.h>

#include <memlens/allocinfo.h>

#include "fixtures.h"
#include "tap.h"

static void kernel_612(void)
{
	struct ml_proc *p = open_root(FIXTURES_DIR "/allocinfo/kernel");
	struct ml_allocinfo a;

	CHECK_EQ(ml_allocinfo_read_kernel(p, &a), 0);
	CHECK_EQ(a.version_major, 1);
	CHECK_EQ(a.version_minor, 0);
	/* five tag lines, the header and the column line are not records */
	CHECK_EQ(a.n, 5);
	CHECK_EQ(a.nr_bad, 0);
	/* 1634304 + 12288 + 0 - 4096 + 268435456 */
	CHECK_EQ(a.total_bytes, 270077952);
	/* 399 + 3 + 0 + 1 + 65536 */
	CHECK_U64(a.total_calls, 65939);
	if (a.n == 5) {
		CHECK_EQ(a.recs[0].bytes, 1634304);
		CHECK_U64(a.recs[0].calls, 399);
		CHECK_STR(a.recs[0].file, "mm/slub.c");
		CHECK_EQ(a.recs[0].line, 2431);
		CHECK_STR(a.recs[0].module, "");
		CHECK_STR(a.recs[0].func, "alloc_slab_page");
		CHECK(!a.recs[0].inaccurate);
		CHECK_STR(a.recs[1].module, "xfs");
		CHECK_STR(a.recs[1].file, "fs/xfs/xfs_buf.c");
		CHECK_EQ(a.recs[1].line, 123);
		CHECK_STR(a.recs[1].func, "xfs_buf_alloc");
		CHECK_EQ(a.recs[3].bytes, -4096);
		CHECK(a.recs[3].inaccurate);
		CHECK_STR(a.recs[3].func, "negative_after_race");
		CHECK_STR(a.recs[4].func, "__alloc_pages_noprof");
	}
	ml_allocinfo_free(&a);
	ml_proc_free(p);
}

static void malformed(void)
{
	struct ml_proc *p = open_root(FIXTURES_DIR "/allocinfo/malformed");
	struct ml_allocinfo a;

	CHECK_EQ(ml_allocinfo_read_kernel(p, &a), 0);
	/*
	 * good: mm/a.c:1 and drivers/x.c:77 [mod_x]; bad: line "x", unclosed
	 * [xfs, no calls column, fn: for func:, a 20-digit size, a token
	 * without a colon after func:, the last line cut before its newline
	 */
	CHECK_EQ(a.n, 2);
	CHECK_EQ(a.nr_bad, 7);
	CHECK_EQ(a.total_bytes, 4096 + 8192);
	CHECK_U64(a.total_calls, 1 + 2);
	if (a.n == 2) {
		CHECK_STR(a.recs[1].module, "mod_x");
		CHECK_STR(a.recs[1].func, "good_two");
	}
	ml_allocinfo_free(&a);
	ml_proc_free(p);
}

static void headers(void)
{
	char none[] = "     4096 1 mm/a.c:1 func:x \n";
	char v2[] = "allocinfo - version: 2.0\n     4096 1 mm/a.c:1 func:x \n";
	char empty[] = "";
	char only[] = "allocinfo - version: 1.0\n";
	char big[] = "allocinfo - version: 1.0\n"
		     "9223372036854775807 18446744073709551615 a.c:1 func:a \n"
		     "1 1 b.c:2 func:b \n";
	struct ml_allocinfo a;

	CHECK_EQ(ml_allocinfo_parse(none, sizeof(none) - 1, &a), -EINVAL);
	CHECK_EQ(ml_allocinfo_parse(v2, sizeof(v2) - 1, &a), -EINVAL);
	CHECK_EQ(ml_allocinfo_parse(empty, 0, &a), -EINVAL);
	CHECK_EQ(ml_allocinfo_parse(only, sizeof(only) - 1, &a), 0);
	CHECK_EQ(a.n, 0);
	ml_allocinfo_free(&a);
	/* the sums saturate instead of wrapping */
	CHECK_EQ(ml_allocinfo_parse(big, sizeof(big) - 1, &a), 0);
	CHECK_EQ(a.n, 2);
	CHECK_EQ(a.total_bytes, INT64_MAX);
	CHECK_U64(a.total_calls, UINT64_MAX);
	ml_allocinfo_free(&a);
}

static void no_file(void)
{
	struct ml_proc *p = open_root(FIXTURES_DIR "/proc-basic");
	struct ml_allocinfo a;

	/* a kernel without CONFIG_MEM_ALLOC_PROFILING has no such file */
	CHECK_EQ(ml_allocinfo_read_kernel(p, &a), -ENOENT);
	ml_proc_free(p);
}

/* The whole output of a command, or NULL. */
static char *run(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	char *buf = calloc(1, 65536);
	size_t n = 0, got;

	if (!f || !buf) {
		free(buf);
		return NULL;
	}
	while ((got = fread(buf + n, 1, 65535 - n, f)) > 0)
		n += got;
	*status = pclose(f);
	return buf;
}

static void cli_kernel(void)
{
	const char *root = FIXTURES_DIR "/allocinfo/kernel";
	char cmd[1024], *out, *want;
	int status;
	size_t len;
	FILE *f;

	/* --allocinfo gives the file back byte for byte (file order) */
	snprintf(cmd, sizeof(cmd), "%s --proc-root %s allocinfo --kernel --allocinfo",
		 MEMLENS_BIN, root);
	out = run(cmd, &status);
	CHECK_EQ(status, 0);
	want = calloc(1, 65536);
	snprintf(cmd, sizeof(cmd), "%s/allocinfo", root);
	f = fopen(cmd, "r");
	len = f ? fread(want, 1, 65535, f) : 0;
	if (f)
		fclose(f);
	CHECK(len > 0);
	CHECK_STR(out, want);
	free(out);
	free(want);
	/* the sums of the fixture (see kernel_612) and the xfs module alone */
	snprintf(cmd, sizeof(cmd), "%s --proc-root %s allocinfo --kernel --json",
		 MEMLENS_BIN, root);
	out = run(cmd, &status);
	CHECK_EQ(status, 0);
	CHECK(out && strstr(out, "\"total_bytes\":270077952"));
	CHECK(out && strstr(out, "\"total_calls\":65939"));
	CHECK(out && strstr(out, "\"nr_sites\":5"));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s --proc-root %s allocinfo --kernel --module xfs --json",
		 MEMLENS_BIN, root);
	out = run(cmd, &status);
	CHECK(out && strstr(out, "\"total_bytes\":12288"));
	CHECK(out && strstr(out, "\"nr_sites\":1"));
	free(out);
	/* no allocinfo: exit 1 with the reason; usage errors exit 2 */
	snprintf(cmd, sizeof(cmd), "%s --proc-root %s/proc-basic allocinfo --kernel 2>&1",
		 MEMLENS_BIN, FIXTURES_DIR);
	out = run(cmd, &status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(out && strstr(out, "no memory allocation profiling"));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s allocinfo --kernel 1 2>/dev/null", MEMLENS_BIN);
	out = run(cmd, &status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	free(out);
}

TAP_MAIN(TEST(kernel_612), TEST(malformed), TEST(headers), TEST(no_file),
	 TEST(cli_kernel))
