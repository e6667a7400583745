// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench_ps: `memlens ps` over every process of the machine against its
 * anchors (/work/shared/ANCHORS.md, "Accounting"):
 *
 *   floor  a C loop that opens and reads every /proc/PID/smaps_rollup once
 *          into a reused buffer (goal: memlens within 1.3x)
 *   smem   `smem -t`, and smem with memlens ps's columns (goal: memlens at
 *          least 10x faster, i.e. ratio <= 0.10)
 *
 * First it forks children (each maps and touches a different amount of
 * anonymous memory, then pause()s) until /proc holds --procs processes
 * (default 330). Then --rounds rounds (default 11), each running every
 * variant once in a rotating order:
 *
 *   floor loop (in-process)       ml_acct_scan() (in-process)
 *   floor loop as a program (this binary, --floor-once)
 *   memlens --version (exec cost) memlens ps     memlens ps --json
 *   smem -t                       smem -c "pid user name swap uss pss rss"
 *
 * and prints medians and ratios. The in-process pair is the cleanest
 * comparison; the subprocess rows are shown raw, with the cost of a trivial
 * exec (memlens --version) subtracted round by round, and against the
 * exec'd floor (two programs, like for like).
 * Every child is killed and reaped at the end, on SIGINT and on SIGTERM;
 * children also die with the benchmark (PR_SET_PDEATHSIG).
 */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <memlens/acct.h>

#include "bench.h"

#define MAX_CHILDREN 20000

/* ---- children -------------------------------------------------------------- */

static pid_t children[MAX_CHILDREN];
static volatile sig_atomic_t nr_children;

/* Async-signal-safe: kill, then reap, every child started so far. */
static void reap_children(void)
{
	int n = nr_children;

	for (int i = 0; i < n; i++)
		kill(children[i], SIGKILL);
	for (int i = 0; i < n; i++)
		while (waitpid(children[i], NULL, 0) < 0 && errno == EINTR)
			;
	nr_children = 0;
}

static void on_signal(int sig)
{
	bench_kill_running();
	reap_children();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Map and touch a size that varies with @i, say so on @ready_fd, sleep. */
static void child_main(unsigned i, pid_t parent, int ready_fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = (size_t)(1 + i % 16) * 64 * 1024; /* 64 KiB .. 1 MiB */
	size_t touched = bytes * (1 + i % 3) / 3;        /* a third .. all */
	char *m;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED)
		for (size_t off = 0; off < touched; off += page)
			m[off] = (char)(i + 1);
	if (write(ready_fd, "x", 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;)
		pause();
}

static int count_procs(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			n++;
	closedir(d);
	return n;
}

/* Fork children until /proc has @target processes; wait until all are ready. */
static int spawn_children(int target)
{
	int existing = count_procs(), want, fds[2];
	pid_t parent = getpid();
	char buf[256];
	int got = 0;

	if (existing < 0)
		return existing;
	want = target - existing;
	if (want <= 0)
		return 0;
	if (want > MAX_CHILDREN)
		want = MAX_CHILDREN;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	for (int i = 0; i < want; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "bench_ps: fork: %s (after %d children)\n",
				strerror(errno), i);
			break;
		}
		if (pid == 0) {
			close(fds[0]);
			child_main((unsigned)i, parent, fds[1]);
		}
		children[nr_children] = pid;
		nr_children = nr_children + 1;
	}
	close(fds[1]);
	while (got < nr_children) {
		ssize_t n = read(fds[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (int)n;
	}
	close(fds[0]);
	return got == nr_children ? 0 : -ECHILD;
}

/* ---- the floor -------------------------------------------------------------- */

/*
 * Open and read every /proc/PID/smaps_rollup once into a reused buffer.
 * Returns how many processes there were; *@nr_read says how many opened
 * (kernel threads refuse with ESRCH, a foreign namespace's init EACCES).
 */
static int floor_scan(char *buf, size_t cap, int *nr_read)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[64];
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int fd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		n++;
		snprintf(path, sizeof(path), "%.20s/smaps_rollup", de->d_name);
		fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		while (read(fd, buf, cap) > 0)
			;
		close(fd);
		(*nr_read)++;
	}
	closedir(d);
	return n;
}

/* ---- rounds ----------------------------------------------------------------- */

enum variant {
	V_FLOOR,
	V_FLOOR_EXEC, /* the floor loop as a program of its own */
	V_SCAN,
	V_EXEC,
	V_PS,
	V_PS_JSON,
	V_SMEM_T,
	V_SMEM_COLS,
	V__COUNT,
};

struct bench {
	const char *memlens;
	char self[PATH_MAX]; /* this benchmark, run with --floor-once */
	struct ml_proc *proc;
	char *buf;
	size_t cap;
	bool skip[V__COUNT];
	bool quiet;   /* stderr of subprocesses to /dev/null */
	int nr_procs; /* processes in /proc, from the last floor run */
	int nr_read;  /* rollups the last floor run could read */
	size_t nr_scanned;
};

static int run_cli(struct bench *b, enum variant v)
{
	char *const version[] = { (char *)b->memlens, "--version", NULL };
	char *const floor_once[] = { b->self, "--floor-once", NULL };
	char *const ps[] = { (char *)b->memlens, "ps", NULL };
	char *const ps_json[] = { (char *)b->memlens, "ps", "--json", NULL };
	char *const smem_t[] = { "smem", "-t", NULL };
	char *const smem_cols[] = { "smem", "-t", "-c",
				    "pid user name swap uss pss rss", NULL };
	char *const *argv = v == V_FLOOR_EXEC ? floor_once :
			    v == V_EXEC ? version : v == V_PS ? ps :
			    v == V_PS_JSON ? ps_json : v == V_SMEM_T ? smem_t :
			    smem_cols;

	return bench_run_quiet(argv, b->quiet);
}

/* Run @v once; returns milliseconds, or a negative value on failure. */
static double run_once(struct bench *b, enum variant v)
{
	struct ml_proc_table t;
	double t0 = bench_now_ms(), t1;
	int ret;

	switch (v) {
	case V_FLOOR:
		b->nr_read = 0;
		ret = floor_scan(b->buf, b->cap, &b->nr_read);
		t1 = bench_now_ms();
		if (ret < 0)
			return -1;
		b->nr_procs = ret;
		return t1 - t0;
	case V_SCAN:
		ret = ml_acct_scan(b->proc, NULL, &t);
		t1 = bench_now_ms();
		if (ret < 0) {
			fprintf(stderr, "bench_ps: ml_acct_scan: %s\n", strerror(-ret));
			return -1;
		}
		b->nr_scanned = t.n;
		ml_proc_table_free(&t);
		return t1 - t0;
	default:
		ret = run_cli(b, v);
		t1 = bench_now_ms();
		if (ret != 0) {
			if (ret == -ENOENT && (v == V_SMEM_T || v == V_SMEM_COLS))
				return -2;
			fprintf(stderr, "bench_ps: variant %d exited with %d\n",
				(int)v, ret);
			return -1;
		}
		return t1 - t0;
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bench_ps [-p PROCS] [-n ROUNDS] [-m MEMLENS] [--no-smem]\n"
		"  -p, --procs N     fork children until /proc has N processes (330)\n"
		"  -n, --rounds N    interleaved rounds, medians reported (11)\n"
		"  -m, --memlens P   the memlens binary (default: the one meson built)\n"
		"      --no-smem     skip the smem rows\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "procs", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "memlens", required_argument, NULL, 'm' },
		{ "no-smem", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	struct bench b = { .cap = 64 * 1024 };
	int target = 330, rounds = 11, c, err;
	const char *memlens_opt = NULL;
	double *ms[V__COUNT];
	double med[V__COUNT], d_ps[256], d_json[256];
	struct sigaction sa = { .sa_handler = on_signal };
	char input[32];
	ssize_t n;

	if (argc == 2 && strcmp(argv[1], "--floor-once") == 0) {
		int nr_read = 0;

		b.buf = malloc(b.cap);
		return b.buf && floor_scan(b.buf, b.cap, &nr_read) >= 0 ? 0 : 1;
	}
	n = readlink("/proc/self/exe", b.self, sizeof(b.self) - 1);
	if (n <= 0) {
		fprintf(stderr, "bench_ps: /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	b.self[n] = '\0';

	while ((c = getopt_long(argc, argv, "p:n:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': target = atoi(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		case 'm': memlens_opt = optarg; break;
		case 'S':
			b.skip[V_SMEM_T] = b.skip[V_SMEM_COLS] = true;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (rounds < 1 || rounds > 255 || target < 1) {
		usage(stderr);
		return 2;
	}
	b.memlens = bench_find_memlens(memlens_opt);
	if (!b.memlens) {
		fprintf(stderr, "bench_ps: memlens binary not found (use -m)\n");
		return 1;
	}
	b.buf = malloc(b.cap);
	for (int v = 0; v < V__COUNT; v++)
		ms[v] = calloc((size_t)rounds, sizeof(double));
	err = ml_proc_new(NULL, &b.proc);
	if (err || !b.buf) {
		fprintf(stderr, "bench_ps: setup: %s\n", strerror(err ? -err : ENOMEM));
		return 1;
	}

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = spawn_children(target);
	if (err) {
		fprintf(stderr, "bench_ps: children not ready: %s\n", strerror(-err));
		reap_children();
		return 1;
	}
	printf("bench_ps: %d processes in /proc (%d children started, target %d), "
	       "%d rounds, memlens %s\n", count_procs(), (int)nr_children, target,
	       rounds, b.memlens);

	/* one warm-up round (page cache, smem's .pyc, NSS), not counted */
	for (int v = 0; v < V__COUNT; v++) {
		if (b.skip[v])
			continue;
		double r = run_once(&b, (enum variant)v);

		if (r == -2) {
			printf("bench_ps: smem is not installed (Debian package smem): "
			       "smem rows skipped\n");
			b.skip[V_SMEM_T] = b.skip[V_SMEM_COLS] = true;
		} else if (r < 0) {
			reap_children();
			return 1;
		}
	}

	b.quiet = true;
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < V__COUNT; k++) {
			int v = (k + r) % V__COUNT; /* rotate who goes first */
			double t;

			if (b.skip[v])
				continue;
			t = run_once(&b, (enum variant)v);
			if (t < 0) {
				reap_children();
				return 1;
			}
			ms[v][r] = t;
		}
		d_ps[r] = ms[V_PS][r] - ms[V_EXEC][r];
		d_json[r] = ms[V_PS_JSON][r] - ms[V_EXEC][r];
	}
	for (int v = 0; v < V__COUNT; v++)
		med[v] = bench_median(ms[v], (size_t)rounds);

	snprintf(input, sizeof(input), "%d procs", b.nr_procs);
	printf("\n");
	bench_header();
	bench_line("ps: ml_acct_scan() vs floor, both in-process", input,
		   "floor", med[V_FLOOR], "scan", med[V_SCAN], 1.3);
	bench_line("ps: `memlens ps` vs floor (raw, with exec)", input,
		   "floor", med[V_FLOOR], "ps", med[V_PS], 1.3);
	bench_line("ps: `memlens ps` vs floor program, both exec'd", input,
		   "floor-exe", med[V_FLOOR_EXEC], "ps", med[V_PS], 1.3);
	bench_line("ps: `memlens ps` - exec cost vs floor", input,
		   "floor", med[V_FLOOR], "ps-exec",
		   bench_median(d_ps, (size_t)rounds), 1.3);
	bench_line("ps: `memlens ps --json` vs floor (raw)", input,
		   "floor", med[V_FLOOR], "json", med[V_PS_JSON], 1.3);
	bench_line("ps: `memlens ps --json` - exec cost vs floor", input,
		   "floor", med[V_FLOOR], "json-exec",
		   bench_median(d_json, (size_t)rounds), 1.3);
	if (!b.skip[V_SMEM_T]) {
		bench_line("ps: `memlens ps` vs `smem -t`", input, "smem",
			   med[V_SMEM_T], "ps", med[V_PS], 0.1);
		bench_line("ps: `memlens ps` vs `smem -t -c <ps columns>`", input,
			   "smem", med[V_SMEM_COLS], "ps", med[V_PS], 0.1);
	}
	bench_line("exec cost: `memlens --version` vs floor", "-", "floor",
		   med[V_FLOOR], "version", med[V_EXEC], 0);
	printf("(ratio = memlens / anchor; of %d processes the floor could read "
	       "%d rollups, ml_acct_scan() kept %zu; exec cost subtracted round "
	       "by round)\n", b.nr_procs, b.nr_read, b.nr_scanned);

	reap_children();
	ml_proc_free(b.proc);
	free(b.buf);
	for (int v = 0; v < V__COUNT; v++)
		free(ms[v]);
	return 0;
}
