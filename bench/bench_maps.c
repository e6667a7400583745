// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench_maps: `memlens maps PID` on a process with many VMAs against the
 * floor, reading its /proc/PID/smaps once into a reused buffer (goal:
 * memlens within 1.3x).
 *
 * For each size (default 2,000 and 20,000) a child maps that many separate
 * one-page anonymous regions side by side, alternating read-write and
 * read-only so that the kernel cannot merge them, writes to every other
 * writable page, and pause()s. Then --rounds rounds (default 11), each
 * running every variant once in a rotating order:
 *
 *   floor: read /proc/CHILD/smaps       ml_proc_vmas(.., true, ..) in-process
 *   the floor as a program of its own   memlens --version (exec cost)
 *   (this binary, --floor-once PATH)    memlens maps CHILD
 *                                       memlens maps CHILD --json
 *
 * and prints medians and ratios: subprocess rows raw, with the exec cost
 * subtracted round by round, and against the exec'd floor (the
 * like-for-like comparison of two programs). The child is killed and reaped after its
 * size, on SIGINT and on SIGTERM, and dies with the benchmark.
 */
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <memlens/proc.h>

#include "bench.h"

/* ---- the child -------------------------------------------------------------- */

static volatile pid_t child;

static void kill_child(void)
{
	bench_kill_reap(&child);
}

static void on_signal(int sig)
{
	bench_kill_running();
	kill_child();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void child_main(unsigned nr_regions, pid_t parent, int ready_fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *base;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* reserve the range, then map each page of it on its own */
	base = mmap(NULL, nr_regions * page, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		_exit(1);
	for (unsigned i = 0; i < nr_regions; i++) {
		int prot = i % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
		char *m = mmap(base + i * page, page, prot,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		if (m == MAP_FAILED)
			_exit(1);
		if (i % 4 == 0) /* every other writable page */
			m[0] = (char)i;
	}
	if (write(ready_fd, "x", 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;)
		pause();
}

static int spawn_child(unsigned nr_regions)
{
	return bench_spawn_ready(child_main, nr_regions, &child);
}

/* ---- rounds ----------------------------------------------------------------- */

enum variant {
	V_FLOOR,
	V_FLOOR_EXEC, /* a program that only reads the smaps once, like cat */
	V_VMAS,
	V_EXEC,
	V_MAPS,
	V_MAPS_JSON,
	V__COUNT,
};

struct bench {
	const char *memlens;
	char self[PATH_MAX]; /* this benchmark, run with --floor-once */
	struct ml_proc *proc;
	char *buf;
	size_t cap;
	pid_t pid;
	char pid_str[16];
	char path[64];
	size_t nr_vmas;     /* from ml_proc_vmas */
	size_t smaps_bytes; /* from the floor */
	bool quiet;         /* stderr of subprocesses to /dev/null */
};

/* Read the whole of path into the reused buffer, growing it once if needed. */
static ssize_t floor_read(struct bench *b)
{
	int fd = open(b->path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (b->cap - len < 4096) {
			char *nb = realloc(b->buf, b->cap * 2);

			if (!nb) {
				close(fd);
				return -ENOMEM;
			}
			b->buf = nb;
			b->cap *= 2;
		}
		n = read(fd, b->buf + len, b->cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return n < 0 ? -errno : (ssize_t)len;
}

static double run_once(struct bench *b, enum variant v)
{
	char *const version[] = { (char *)b->memlens, "--version", NULL };
	char *const floor_once[] = { b->self, "--floor-once", b->path, NULL };
	char *const maps[] = { (char *)b->memlens, "maps", b->pid_str, NULL };
	char *const maps_json[] = { (char *)b->memlens, "maps", b->pid_str,
				    "--json", NULL };
	struct ml_vma_list l;
	double t0 = bench_now_ms(), t1;
	ssize_t n;
	int ret;

	switch (v) {
	case V_FLOOR:
		n = floor_read(b);
		t1 = bench_now_ms();
		if (n < 0) {
			fprintf(stderr, "bench_maps: %s: %s\n", b->path,
				strerror((int)-n));
			return -1;
		}
		b->smaps_bytes = (size_t)n;
		return t1 - t0;
	case V_VMAS:
		ret = ml_proc_vmas(b->proc, b->pid, true, &l);
		t1 = bench_now_ms();
		if (ret < 0) {
			fprintf(stderr, "bench_maps: ml_proc_vmas: %s\n",
				strerror(-ret));
			return -1;
		}
		b->nr_vmas = l.n;
		ml_vma_list_free(&l);
		return t1 - t0;
	default:
		ret = bench_run_quiet(v == V_FLOOR_EXEC ? floor_once :
				      v == V_EXEC ? version :
				      v == V_MAPS ? maps : maps_json, b->quiet);
		t1 = bench_now_ms();
		if (ret != 0) {
			fprintf(stderr, "bench_maps: variant %d exited with %d\n",
				(int)v, ret);
			return -1;
		}
		return t1 - t0;
	}
}

static int bench_size(struct bench *b, unsigned nr_regions, int rounds)
{
	double *ms[V__COUNT], d_maps[256], d_json[256], med[V__COUNT];
	char input[32];
	int err = 0;

	err = spawn_child(nr_regions);
	if (err) {
		fprintf(stderr, "bench_maps: child with %u regions not ready: %s\n",
			nr_regions, strerror(-err));
		kill_child();
		return err;
	}
	b->pid = child;
	snprintf(b->pid_str, sizeof(b->pid_str), "%d", (int)b->pid);
	snprintf(b->path, sizeof(b->path), "/proc/%d/smaps", (int)b->pid);
	for (int v = 0; v < V__COUNT; v++)
		ms[v] = calloc((size_t)rounds, sizeof(double));

	/* warm-up round, not counted: grows the floor's buffer, faults in code */
	b->quiet = false;
	for (int v = 0; v < V__COUNT && !err; v++)
		if (run_once(b, (enum variant)v) < 0)
			err = -EIO;
	b->quiet = true;
	for (int r = 0; r < rounds && !err; r++) {
		for (int k = 0; k < V__COUNT && !err; k++) {
			int v = (k + r) % V__COUNT;
			double t = run_once(b, (enum variant)v);

			if (t < 0)
				err = -EIO;
			ms[v][r] = t;
		}
		d_maps[r] = ms[V_MAPS][r] - ms[V_EXEC][r];
		d_json[r] = ms[V_MAPS_JSON][r] - ms[V_EXEC][r];
	}
	kill_child();
	if (!err) {
		for (int v = 0; v < V__COUNT; v++)
			med[v] = bench_median(ms[v], (size_t)rounds);
		snprintf(input, sizeof(input), "%zu VMAs", b->nr_vmas);
		bench_line("maps: ml_proc_vmas(smaps) vs floor, in-process",
			   input, "floor", med[V_FLOOR], "vmas", med[V_VMAS], 1.3);
		bench_line("maps: `memlens maps` vs floor (raw, with exec)",
			   input, "floor", med[V_FLOOR], "maps", med[V_MAPS], 1.3);
		bench_line("maps: `memlens maps` vs floor program, both exec'd",
			   input, "floor-exe", med[V_FLOOR_EXEC], "maps",
			   med[V_MAPS], 1.3);
		bench_line("maps: `memlens maps` - exec cost vs floor", input,
			   "floor", med[V_FLOOR], "maps-exec",
			   bench_median(d_maps, (size_t)rounds), 1.3);
		bench_line("maps: `memlens maps --json` vs floor (raw)", input,
			   "floor", med[V_FLOOR], "json", med[V_MAPS_JSON], 1.3);
		bench_line("maps: `memlens maps --json` - exec cost vs floor",
			   input, "floor", med[V_FLOOR], "json-exec",
			   bench_median(d_json, (size_t)rounds), 1.3);
		bench_line("exec cost: `memlens --version` vs floor", input,
			   "floor", med[V_FLOOR], "version", med[V_EXEC], 0);
		printf("(smaps of the child: %zu bytes)\n", b->smaps_bytes);
	}
	for (int v = 0; v < V__COUNT; v++)
		free(ms[v]);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bench_maps [-s REGIONS]... [-n ROUNDS] [-m MEMLENS]\n"
		"  -s, --size N      one-page regions in the child; repeat for more\n"
		"                    sizes (default: 2000 and 20000)\n"
		"  -n, --rounds N    interleaved rounds, medians reported (11)\n"
		"  -m, --memlens P   the memlens binary (default: the one meson built)\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "memlens", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	unsigned sizes[16] = { 2000, 20000 };
	size_t nr_sizes = 0;
	struct bench b = { .cap = 1 << 20 };
	struct sigaction sa = { .sa_handler = on_signal };
	const char *memlens_opt = NULL;
	int rounds = 11, c, err, ret = 0;
	ssize_t n;

	if (argc == 3 && strcmp(argv[1], "--floor-once") == 0) {
		/* read the file once through a 64 KiB buffer, as cat would */
		static char buf[64 * 1024];
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return 1;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		close(fd);
		return n < 0;
	}
	n = readlink("/proc/self/exe", b.self, sizeof(b.self) - 1);
	if (n <= 0) {
		fprintf(stderr, "bench_maps: /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	b.self[n] = '\0';

	while ((c = getopt_long(argc, argv, "s:n:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (nr_sizes < 16 && atoi(optarg) > 0)
				sizes[nr_sizes++] = (unsigned)atoi(optarg);
			break;
		case 'n': rounds = atoi(optarg); break;
		case 'm': memlens_opt = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (nr_sizes == 0)
		nr_sizes = 2;
	if (rounds < 1 || rounds > 255) {
		usage(stderr);
		return 2;
	}
	b.memlens = bench_find_memlens(memlens_opt);
	if (!b.memlens) {
		fprintf(stderr, "bench_maps: memlens binary not found (use -m)\n");
		return 1;
	}
	b.buf = malloc(b.cap);
	err = ml_proc_new(NULL, &b.proc);
	if (err || !b.buf) {
		fprintf(stderr, "bench_maps: setup: %s\n", strerror(err ? -err : ENOMEM));
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	printf("bench_maps: %d rounds, memlens %s\n\n", rounds, b.memlens);
	bench_header();
	for (size_t i = 0; i < nr_sizes; i++)
		if (bench_size(&b, sizes[i], rounds))
			ret = 1;
	printf("(ratio = memlens / anchor; the child's VMA count includes its "
	       "own ~20 VMAs of program and libraries)\n");
	ml_proc_free(b.proc);
	free(b.buf);
	return ret;
}
