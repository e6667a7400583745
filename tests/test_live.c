// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Live accounting tests: children with memory whose size we know by
 * construction, measured through libmemlens and compared with that truth,
 * with an independent reading of the kernel's smaps_rollup, and with smem.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/acct.h>

#include "tap.h"

#define MiB (1024ULL * 1024)

/* ---- children with known memory -------------------------------------------- */

struct child {
	pid_t pid;
	uint64_t addr; /* start of the region the child made */
};

/*
 * Run memhog with @args (see tests/memhog.c) and wait until it has made and
 * touched its region, which it reports on its stdout.
 */
static struct child spawn(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static struct child spawn(const char *fmt, ...)
{
	struct child c = { .pid = -1 };
	char args[256], line[64];
	va_list ap;
	ssize_t n;
	int fds[2];

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	if (pipe(fds))
		return c;
	c.pid = fork();
	if (c.pid == 0) {
		char *argv[8] = { MEMHOG_BIN };
		int argc = 1;

		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		for (char *tok = strtok(args, " "); tok && argc < 7;
		     tok = strtok(NULL, " "))
			argv[argc++] = tok;
		execv(MEMHOG_BIN, argv);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], line, sizeof(line) - 1);
	close(fds[0]);
	if (n <= 0 || c.pid < 0) {
		if (c.pid > 0) {
			kill(c.pid, SIGKILL);
			waitpid(c.pid, NULL, 0);
		}
		c.pid = -1;
		return c;
	}
	line[n] = '\0';
	c.addr = strtoull(line, NULL, 16);
	return c;
}

static void reap(struct child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	c->pid = -1;
}

static struct ml_proc *open_proc(void)
{
	struct ml_proc *p = NULL;

	CHECK_EQ(ml_proc_new(NULL, &p), 0);
	return p;
}

/* The VMA of @pid starting at @addr, from smaps. */
static bool find_vma(struct ml_proc *p, pid_t pid, uint64_t addr,
		     struct ml_vma *out)
{
	struct ml_vma_list l;
	bool found = false;

	if (ml_proc_vmas(p, pid, true, &l))
		return false;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].start == addr) {
			*out = l.v[i];
			out->name = ""; /* points into l.text, freed below */
			found = true;
		}
	}
	ml_vma_list_free(&l);
	return found;
}

/* ---- truth by construction ----------------------------------------------------- */

static void anon_64m_is_64m(void)
{
	struct ml_proc *p = open_proc();
	struct child c = spawn("anon %llu", 64 * MiB);
	struct ml_proc_mem m;
	struct ml_vma v;

	CHECK(c.pid > 0);
	/* the region itself: every page resident and private, exactly */
	CHECK(find_vma(p, c.pid, c.addr, &v));
	CHECK_U64(v.mem.rss, 64 * MiB);
	CHECK_U64(v.mem.pss, 64 * MiB);
	CHECK_U64(ml_mem_uss(&v.mem), 64 * MiB);
	CHECK_U64(v.mem.anonymous, 64 * MiB);
	CHECK_U64(v.mem.private_dirty, 64 * MiB);
	/*
	 * The whole process: 64 MiB plus what a small static program has
	 * (well under 1 MiB); page tables are not in RSS at all.
	 */
	CHECK_EQ(ml_acct_process(p, c.pid, false, &m), 0);
	CHECK(m.mem.rss >= 64 * MiB && m.mem.rss < 65 * MiB);
	CHECK(ml_mem_uss(&m.mem) >= 64 * MiB);
	CHECK(m.mem.pss_anon >= 64 * MiB && m.mem.pss_anon < 65 * MiB);
	CHECK(m.mem.pss >= 64 * MiB && m.mem.pss <= m.mem.rss);
	reap(&c);
	ml_proc_free(p);
}

static void shared_memfd_splits_pss(void)
{
	struct ml_proc *p = open_proc();
	int fd = memfd_create("memlens-test", 0); /* inherited by memhog */
	struct ml_proc_mem m1;
	struct child c1, c2;
	struct ml_vma v1, v2;

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)(16 * MiB)), 0);
	c1 = spawn("shared %d %llu rw", fd, 16 * MiB);
	c2 = spawn("shared %d %llu ro", fd, 16 * MiB);
	CHECK(c1.pid > 0 && c2.pid > 0);

	CHECK(find_vma(p, c1.pid, c1.addr, &v1));
	CHECK(find_vma(p, c2.pid, c2.addr, &v2));
	/* 16 MiB mapped by two processes: each pays half, owns none */
	CHECK_U64(v1.mem.rss, 16 * MiB);
	CHECK_U64(v2.mem.rss, 16 * MiB);
	CHECK_U64(v1.mem.pss, 8 * MiB);
	CHECK_U64(v2.mem.pss, 8 * MiB);
	CHECK_U64(ml_mem_uss(&v1.mem), 0);
	CHECK_U64(ml_mem_uss(&v2.mem), 0);
	CHECK_U64(v1.mem.shared_dirty + v1.mem.shared_clean, 16 * MiB);
	/* the rollup splits PSS by kind; memhog has no other shmem */
	CHECK_EQ(ml_acct_process(p, c1.pid, false, &m1), 0);
	CHECK_U64(m1.mem.pss_shmem, 8 * MiB);

	reap(&c1);
	reap(&c2);
	close(fd);
	ml_proc_free(p);
}

static void file_read_once_is_private_clean(void)
{
	char path[] = BUILD_DIR "/live-file-XXXXXX";
	struct ml_proc *p = open_proc();
	static char block[64 * 1024];
	struct ml_proc_mem m;
	struct child c;
	struct ml_vma v;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	memset(block, 'x', sizeof(block));
	for (size_t off = 0; off < 8 * MiB; off += sizeof(block))
		CHECK(write(fd, block, sizeof(block)) == sizeof(block));
	/* written back, so that the page cache pages are clean */
	CHECK_EQ(fsync(fd), 0);
	c = spawn("file %d %llu", fd, 8 * MiB);
	CHECK(c.pid > 0);
	CHECK(find_vma(p, c.pid, c.addr, &v));
	/* only this process maps the file: all of it is private and clean */
	CHECK_U64(v.mem.rss, 8 * MiB);
	CHECK_U64(v.mem.pss, 8 * MiB);
	CHECK_U64(v.mem.private_clean, 8 * MiB);
	CHECK_U64(v.mem.private_dirty, 0);
	CHECK_U64(v.mem.anonymous, 0);
	CHECK(v.inode != 0);
	CHECK_EQ(ml_acct_process(p, c.pid, false, &m), 0);
	CHECK(m.mem.pss_file >= 8 * MiB);
	reap(&c);
	close(fd);
	ml_proc_free(p);
}

/* ---- cross-checks with the kernel's rollup and with smem ------------------------ */

/*
 * An independent reading of smaps_rollup: sscanf over the lines, no code
 * shared with the library.
 */
static bool rollup_by_sscanf(pid_t pid, uint64_t *rss, uint64_t *pss,
			     uint64_t *uss, uint64_t *swap)
{
	char path[64], line[256];
	unsigned long long v, pc = 0, pd = 0;
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %llu kB", &v) == 1)
			*rss = v * 1024, ok = true;
		else if (sscanf(line, "Pss: %llu kB", &v) == 1)
			*pss = v * 1024;
		else if (sscanf(line, "Private_Clean: %llu kB", &v) == 1)
			pc = v;
		else if (sscanf(line, "Private_Dirty: %llu kB", &v) == 1)
			pd = v;
		else if (sscanf(line, "Swap: %llu kB", &v) == 1)
			*swap = v * 1024;
	}
	fclose(f);
	*uss = (pc + pd) * 1024;
	return ok;
}

static void equals_kernel_rollup(void)
{
	struct ml_proc *p = open_proc();
	struct child c = spawn("anon %llu", 4 * MiB);
	uint64_t rss = 0, pss = 0, uss = 0, swap = 0;
	struct ml_proc_mem m;

	CHECK(c.pid > 0);
	/* memhog is asleep: two readings of the same memory agree */
	CHECK_EQ(ml_acct_process(p, c.pid, false, &m), 0);
	CHECK(rollup_by_sscanf(c.pid, &rss, &pss, &uss, &swap));
	CHECK_U64(m.mem.rss, rss);
	CHECK_U64(m.mem.pss, pss);
	CHECK_U64(ml_mem_uss(&m.mem), uss);
	CHECK_U64(m.mem.swap, swap);
	reap(&c);
	ml_proc_free(p);
}

/* smem's figures (kB summed per VMA) for @pid, from its own output. */
static bool smem_figures(pid_t pid, uint64_t *rss, uint64_t *pss,
			 uint64_t *uss, uint64_t *swap)
{
	char line[512];
	bool found = false;
	FILE *f = popen("smem -H -c 'pid swap uss pss rss' 2>/dev/null", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, c, d;
		int got_pid;

		if (sscanf(line, "%d %llu %llu %llu %llu", &got_pid, &a, &b, &c,
			   &d) == 5 && got_pid == pid) {
			*swap = a * 1024, *uss = b * 1024, *pss = c * 1024;
			*rss = d * 1024;
			found = true;
		}
	}
	pclose(f);
	return found;
}

static void equals_smem(void)
{
	struct ml_proc *p = open_proc();
	struct child c = spawn("anon %llu", 8 * MiB);
	uint64_t rss = 0, pss = 0, uss = 0, swap = 0;
	struct ml_vma_list l;
	struct ml_mem sum = { 0 };
	struct ml_proc_mem m;

	if (system("command -v smem >/dev/null") != 0) {
		printf("# smem is not installed (scripts/install-deps installs it)\n");
		CHECK(!"smem missing");
		goto out;
	}
	CHECK(c.pid > 0);
	CHECK(smem_figures(c.pid, &rss, &pss, &uss, &swap));
	/*
	 * smem adds up smaps' per-VMA kB figures: memlens' per-VMA sum (what
	 * `memlens maps` totals) must match it exactly.
	 */
	CHECK_EQ(ml_proc_vmas(p, c.pid, true, &l), 0);
	for (size_t i = 0; i < l.n; i++)
		ml_mem_add(&sum, &l.v[i].mem);
	CHECK_U64(sum.rss, rss);
	CHECK_U64(sum.pss, pss);
	CHECK_U64(ml_mem_uss(&sum), uss);
	CHECK_U64(sum.swap, swap);
	/*
	 * `memlens ps` reads the rollup, where the kernel sums PSS before
	 * rounding; per-VMA rounding loses nothing here because memhog is
	 * static and alone, so no page it maps is shared: the two agree.
	 * (With shared pages the rollup is higher, by under 1 kB per VMA.)
	 */
	CHECK_EQ(ml_acct_process(p, c.pid, false, &m), 0);
	CHECK_U64(m.mem.rss, rss);
	CHECK_U64(m.mem.pss, pss);
	CHECK_U64(ml_mem_uss(&m.mem), uss);
	CHECK_U64(m.mem.swap, swap);
	ml_vma_list_free(&l);
out:
	reap(&c);
	ml_proc_free(p);
}

/* ---- processes that come and go ------------------------------------------------- */

static void scan_survives_churn(void)
{
	struct ml_proc *p = open_proc();
	pid_t churner = fork();
	int bad = 0, scans = 0;

	if (churner == 0) {
		/* hundreds of short-lived processes, forever */
		for (;;) {
			pid_t k = fork();

			if (k == 0)
				_exit(0);
			if (k > 0)
				waitpid(k, NULL, 0);
		}
	}
	CHECK(churner > 0);
	for (; scans < 200; scans++) {
		struct ml_proc_table t;

		if (ml_acct_scan(p, NULL, &t)) {
			bad++;
			continue;
		}
		/* a vanished process is dropped, never reported as an error */
		for (size_t i = 0; i < t.n; i++)
			if (t.p[i].err == -ESRCH)
				bad++;
		ml_proc_table_free(&t);
	}
	CHECK_EQ(bad, 0);
	/* and the command, as a user would run it, at the same time */
	CHECK_EQ(system(MEMLENS_BIN " ps >/dev/null 2>&1"), 0);
	CHECK_EQ(system(MEMLENS_BIN " libs >/dev/null 2>&1"), 0);
	kill(churner, SIGKILL);
	waitpid(churner, NULL, 0);
	ml_proc_free(p);
}

/* ---- not root -------------------------------------------------------------------- */

static void unprivileged_ps_marks_unreadable(void)
{
	int failed_before = tap_failed_checks;
	char out[65536];
	size_t n;
	FILE *f;
	int status;

	if (geteuid() != 0) {
		printf("# not root: cannot switch to another user (skipped)\n");
		return;
	}
	/* nobody may read its own processes only: ours must be marked */
	f = popen("setpriv --reuid=65534 --regid=65534 --clear-groups "
		  MEMLENS_BIN " ps 2>&1", "r");
	CHECK(f != NULL);
	if (!f)
		return;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	status = pclose(f);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strstr(out, "(Permission denied)") != NULL);
	CHECK(strstr(out, "not readable: permission denied") != NULL);
	if (tap_failed_checks != failed_before)
		for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
			printf("# %s\n", l);
}

TAP_MAIN(TEST(anon_64m_is_64m), TEST(shared_memfd_splits_pss),
	 TEST(file_read_once_is_private_clean), TEST(equals_kernel_rollup),
	 TEST(equals_smem), TEST(scan_survives_churn),
	 TEST(unprivileged_ps_marks_unreadable))
