// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench_contig: `memlens contig` on a process with 1 GiB resident, against
 * its anchor and its floor (ANCHORS.md, "Contiguity"):
 *
 *   anchor  mem_hist.py (seed 001, /work/shared/oracle/mem_hist.py or
 *           --oracle PATH), restricted to the child: its module is
 *           imported and its ALL_PIDS_CMD set to print the child's pid, so
 *           it runs its own code on that one process instead of on every
 *           process of the machine. Goal: memlens (either mode) >= 50x
 *           faster, i.e. ratio <= 0.02. Skipped when the script is absent.
 *   floor   one pass of pread()s over the VMA's pagemap range, 64 Ki
 *           entries (512 KiB) a read, the fastest size here. Goal: memlens
 *           within 1.5x, in-process (the library) and exec'd (the command
 *           against the floor exec'd too).
 *
 * For each kind of memory (default: 2 MiB THPs, then 4 KiB pages) a child
 * maps 1 GiB (2 MiB-aligned, MADV_HUGEPAGE or MADV_NOHUGEPAGE), writes every
 * page, and pause()s. Then --rounds rounds (default 21; the anchor runs in
 * --anchor-rounds of them, default 3, as it takes seconds), each running
 * every variant once in a rotating order. The 1.5x goal is judged
 * in-process (the library against the floor): exec'd, both sides carry a
 * process start of about 10 ms on this machine, more than the work.
 * Folio sizes (kpageflags) are
 * measured too and reported without a goal: kpageflags costs about 0.14 us
 * an entry on 6.18, 20x a pagemap entry, which no floor of pagemap reads
 * can absorb; `--no-folios` is the fast path.
 *
 * Run as root (PFNs, kpageflags). The child is killed on exit and signals.
 */
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <memlens/contig.h>
#include <memlens/proc.h>

#include "bench.h"

#define DEFAULT_ORACLE "/work/shared/oracle/mem_hist.py"
#define FLOOR_CHUNK 65536
#define MAX_ROUNDS 256

/* ---- the child -------------------------------------------------------------- */

static volatile pid_t child;

static void kill_child(void)
{
	bench_kill_reap(&child);
}

static void on_signal(int sig)
{
	kill_child();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void child_main(size_t len, bool thp, pid_t parent, int fd)
{
	const size_t align = 2u << 20;
	uintptr_t addr;
	char *m;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	m = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(1);
	addr = ((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1);
	madvise((void *)addr, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += 4096)
		((volatile char *)addr)[off] = 1;
	if (write(fd, &addr, sizeof(addr)) != sizeof(addr))
		_exit(1);
	close(fd);
	for (;;)
		pause();
}

static int spawn_child(size_t len, bool thp, uintptr_t *addr)
{
	pid_t parent = getpid(), pid;
	int fds[2];
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(fds[0]);
		child_main(len, thp, parent, fds[1]);
	}
	child = pid;
	close(fds[1]);
	do
		n = read(fds[0], addr, sizeof(*addr));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	return n == sizeof(*addr) ? 0 : -ECHILD;
}

/* ---- the floor ------------------------------------------------------------------ */

/* One pass of FLOOR_CHUNK-entry preads over [addr, addr + len). */
static int floor_read(pid_t pid, uintptr_t addr, size_t len, uint64_t *buf)
{
	char path[64];
	uint64_t first = addr / 4096, nr = len / 4096;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (uint64_t i = 0; i < nr; i += FLOOR_CHUNK) {
		size_t n = nr - i < FLOOR_CHUNK ? (size_t)(nr - i) : FLOOR_CHUNK;

		if (pread(fd, buf, n * 8, (off_t)((first + i) * 8)) != (ssize_t)(n * 8)) {
			close(fd);
			return -EIO;
		}
	}
	close(fd);
	return 0;
}

/* ---- rounds ------------------------------------------------------------------- */

enum variant {
	V_FLOOR,       /* in-process floor */
	V_LIB_MH,      /* ml_contig_process, histograms only (--mem-hist) */
	V_LIB_RUNS,    /* + physical runs (--no-folios) */
	V_LIB_ALL,     /* + folio sizes (default) */
	V_FLOOR_EXEC,  /* this binary --floor-once */
	V_CLI_MH,      /* memlens contig --mem-hist PID */
	V_CLI_RUNS,    /* memlens contig --no-folios PID */
	V_CLI_ALL,     /* memlens contig PID */
	V_ANCHOR,      /* mem_hist.py on PID */
	V_EXEC,        /* memlens --version: the cost of exec alone */
	V__COUNT
};

struct bench {
	const char *memlens;
	const char *oracle_dir;
	char self[PATH_MAX];
	struct ml_proc *proc;
	uint64_t *buf;
	pid_t pid;
	uintptr_t addr;
	size_t len;
	char pid_str[16], addr_str[32], len_str[32];
	char py[PATH_MAX + 512];
	bool quiet;
	bool skip[V__COUNT];
	uint64_t present; /* from the last library run */
};

static double lib_once(struct bench *b, uint32_t what)
{
	ML_OPTS(ml_contig_opts, o, .what = what);
	struct ml_contig_proc cp;
	struct ml_contig *c;
	double t0 = bench_now_ms(), t1;
	int err;

	err = ml_contig_new(b->proc, &o, &c);
	if (!err)
		err = ml_contig_process(c, b->pid, &cp);
	ml_contig_free(c);
	t1 = bench_now_ms();
	if (err) {
		fprintf(stderr, "bench_contig: ml_contig_process: %s\n", strerror(-err));
		return -1;
	}
	if (cp.notes)
		fprintf(stderr, "bench_contig: notes 0x%x (run as root)\n", cp.notes);
	b->present = cp.total.present_pages;
	ml_contig_proc_fini(&cp);
	return t1 - t0;
}

static double run_once(struct bench *b, enum variant v)
{
	char *const floor_exe[] = { b->self, "--floor-once", b->pid_str,
				    b->addr_str, b->len_str, NULL };
	char *const cli_mh[] = { (char *)b->memlens, "contig", "--mem-hist",
				 b->pid_str, NULL };
	char *const cli_runs[] = { (char *)b->memlens, "contig", "--no-folios",
				   b->pid_str, NULL };
	char *const cli_all[] = { (char *)b->memlens, "contig", b->pid_str, NULL };
	char *const anchor[] = { "python3", "-c", b->py, b->pid_str, NULL };
	char *const version[] = { (char *)b->memlens, "--version", NULL };
	double t0 = bench_now_ms(), t1;
	int ret;

	switch (v) {
	case V_FLOOR:
		ret = floor_read(b->pid, b->addr, b->len, b->buf);
		t1 = bench_now_ms();
		if (ret) {
			fprintf(stderr, "bench_contig: floor: %s\n", strerror(-ret));
			return -1;
		}
		return t1 - t0;
	case V_LIB_MH:
		return lib_once(b, 0);
	case V_LIB_RUNS:
		return lib_once(b, ML_CONTIG_RUNS);
	case V_LIB_ALL:
		return lib_once(b, ML_CONTIG_ALL);
	default:
		ret = bench_run_quiet(v == V_FLOOR_EXEC ? floor_exe :
				      v == V_CLI_MH ? cli_mh :
				      v == V_CLI_RUNS ? cli_runs :
				      v == V_CLI_ALL ? cli_all :
				      v == V_EXEC ? version : anchor, b->quiet);
		t1 = bench_now_ms();
		if (ret != 0) {
			fprintf(stderr, "bench_contig: variant %d exited with %d\n",
				(int)v, ret);
			return -1;
		}
		return t1 - t0;
	}
}

static int bench_kind(struct bench *b, bool thp, int rounds, int anchor_rounds)
{
	static double ms[V__COUNT][MAX_ROUNDS];
	double med[V__COUNT];
	int nr[V__COUNT] = { 0 };
	char input[48];
	int err;

	err = spawn_child(b->len, thp, &b->addr);
	if (err) {
		fprintf(stderr, "bench_contig: child not ready: %s\n", strerror(-err));
		kill_child();
		return err;
	}
	b->pid = child;
	snprintf(b->pid_str, sizeof(b->pid_str), "%d", (int)b->pid);
	snprintf(b->addr_str, sizeof(b->addr_str), "%#lx", (unsigned long)b->addr);
	snprintf(b->len_str, sizeof(b->len_str), "%zu", b->len);

	/* warm-up round, not counted; stderr shown */
	b->quiet = false;
	for (int v = 0; v < V__COUNT && !err; v++)
		if (!b->skip[v] && v != V_ANCHOR && run_once(b, (enum variant)v) < 0)
			err = -EIO;
	b->quiet = true;
	for (int r = 0; r < rounds && !err; r++) {
		for (int k = 0; k < V__COUNT && !err; k++) {
			int v = (k + r) % V__COUNT;
			double t;

			if (b->skip[v] || (v == V_ANCHOR && r >= anchor_rounds))
				continue;
			t = run_once(b, (enum variant)v);
			if (t < 0)
				err = -EIO;
			ms[v][nr[v]++] = t;
		}
	}
	kill_child();
	if (err)
		return err;
	for (int v = 0; v < V__COUNT; v++)
		med[v] = bench_median(ms[v], (size_t)nr[v]);
	snprintf(input, sizeof(input), "1 GiB %s", thp ? "THP" : "4K pages");
	if (!b->skip[V_ANCHOR]) {
		bench_line("contig --mem-hist vs mem_hist.py (that pid)", input,
			   "mem_hist.py", med[V_ANCHOR], "memlens", med[V_CLI_MH], 0.02);
		bench_line("contig --no-folios vs mem_hist.py", input,
			   "mem_hist.py", med[V_ANCHOR], "memlens", med[V_CLI_RUNS], 0.02);
		bench_line("contig (default, folios) vs mem_hist.py", input,
			   "mem_hist.py", med[V_ANCHOR], "memlens", med[V_CLI_ALL], 0.02);
	}
	bench_line("lib, histograms only vs floor (in-process)", input, "floor",
		   med[V_FLOOR], "mem-hist", med[V_LIB_MH], 1.5);
	bench_line("lib, histograms + runs vs floor (in-process)", input, "floor",
		   med[V_FLOOR], "runs", med[V_LIB_RUNS], 1.5);
	bench_line("lib, + folio sizes vs floor (kpageflags)", input, "floor",
		   med[V_FLOOR], "folios", med[V_LIB_ALL], 0);
	bench_line("contig --mem-hist vs floor, both exec'd", input, "floor-exe",
		   med[V_FLOOR_EXEC], "memlens", med[V_CLI_MH], 1.5);
	bench_line("contig --no-folios vs floor, both exec'd", input, "floor-exe",
		   med[V_FLOOR_EXEC], "memlens", med[V_CLI_RUNS], 1.5);
	bench_line("contig (default) vs floor, both exec'd", input, "floor-exe",
		   med[V_FLOOR_EXEC], "memlens", med[V_CLI_ALL], 0);
	bench_line("exec cost: memlens --version vs floor-exe", input, "floor-exe",
		   med[V_FLOOR_EXEC], "version", med[V_EXEC], 0);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bench_contig [-n ROUNDS] [-a ANCHOR_ROUNDS] [-m MEMLENS]\n"
		"                    [--oracle PATH] [--no-anchor] [--thp-only]\n"
		"  -n, --rounds N         interleaved rounds, medians reported (21)\n"
		"  -a, --anchor-rounds N  rounds that also run mem_hist.py (3)\n"
		"  -m, --memlens P        the memlens binary (default: meson's)\n"
		"      --oracle PATH      mem_hist.py (default " DEFAULT_ORACLE ")\n"
		"      --no-anchor        skip mem_hist.py\n"
		"      --thp-only         only the THP-backed child\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rounds", required_argument, NULL, 'n' },
		{ "anchor-rounds", required_argument, NULL, 'a' },
		{ "memlens", required_argument, NULL, 'm' },
		{ "oracle", required_argument, NULL, 'o' },
		{ "no-anchor", no_argument, NULL, 'N' },
		{ "thp-only", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	struct bench b = { .len = 1u << 30 };
	struct sigaction sa = { .sa_handler = on_signal };
	const char *memlens_opt = NULL, *oracle = DEFAULT_ORACLE;
	int rounds = 21, anchor_rounds = 3, c, ret = 0;
	bool thp_only = false;
	char oracle_dir[PATH_MAX], *slash;
	ssize_t n;

	if (argc == 5 && strcmp(argv[1], "--floor-once") == 0) {
		uint64_t *buf = malloc(FLOOR_CHUNK * 8);

		if (!buf)
			return 1;
		return floor_read(atoi(argv[2]), (uintptr_t)strtoull(argv[3], NULL, 0),
				  strtoull(argv[4], NULL, 0), buf) ? 1 : 0;
	}
	n = readlink("/proc/self/exe", b.self, sizeof(b.self) - 1);
	if (n <= 0)
		return 1;
	b.self[n] = '\0';
	while ((c = getopt_long(argc, argv, "n:a:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': rounds = atoi(optarg); break;
		case 'a': anchor_rounds = atoi(optarg); break;
		case 'm': memlens_opt = optarg; break;
		case 'o': oracle = optarg; break;
		case 'N': b.skip[V_ANCHOR] = true; break;
		case 'T': thp_only = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || anchor_rounds < 0)
		return 2;
	if (anchor_rounds == 0)
		b.skip[V_ANCHOR] = true;
	b.memlens = bench_find_memlens(memlens_opt);
	if (!b.memlens) {
		fprintf(stderr, "bench_contig: memlens binary not found (-m PATH)\n");
		return 1;
	}
	if (geteuid() != 0)
		printf("bench_contig: not root: PFNs and kpageflags hidden, figures are "
		       "presence only\n");
	if (!b.skip[V_ANCHOR] && access(oracle, R_OK) != 0) {
		printf("bench_contig: %s not found: mem_hist.py rows skipped\n", oracle);
		b.skip[V_ANCHOR] = true;
	}
	if (!b.skip[V_ANCHOR]) {
		snprintf(oracle_dir, sizeof(oracle_dir), "%s", oracle);
		slash = strrchr(oracle_dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(oracle_dir, sizeof(oracle_dir), ".");
		/* mem_hist.py's own code, its pid list cut down to the child */
		snprintf(b.py, sizeof(b.py),
			 "import sys, argparse; sys.path.insert(0, %s%s%s); "
			 "import mem_hist; mem_hist.ALL_PIDS_CMD = 'echo ' + sys.argv[1]; "
			 "mem_hist.print_hists(argparse.Namespace("
			 "no_unfaulted_vmas=False, omit_file_backed=False))",
			 "'", oracle_dir, "'");
	}
	if (ml_proc_new(NULL, &b.proc)) {
		fprintf(stderr, "bench_contig: /proc\n");
		return 1;
	}
	b.buf = malloc(FLOOR_CHUNK * 8);
	if (!b.buf)
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	bench_header();
	if (bench_kind(&b, true, rounds, anchor_rounds))
		ret = 1;
	if (!thp_only && bench_kind(&b, false, rounds, anchor_rounds))
		ret = 1;
	free(b.buf);
	ml_proc_free(b.proc);
	return ret;
}
