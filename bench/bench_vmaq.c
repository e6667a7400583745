// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench_vmaq: VMA queries (lib/vmaq) against their anchors, issue 4's goals.
 *
 *  1. ml_vmaq_query() against a bare PROCMAP_QUERY ioctl on the same address
 *     with the same buffers (goal: within 1.2x), with and without build ID.
 *  2. A 4,000-address stack dump resolved against a process with 2,000 and
 *     one with 20,000 VMAs: the sorted-ioctl strategy, the text-pass
 *     strategy, the automatic choice (goal: within 1.2x of the better), and
 *     re-reading and parsing maps for every address, the naive anchor
 *     (goal: auto at least 50x faster, ratio <= 0.02).
 *     The dump: stacks of 8..32 frames, frames drawn from 40 code mappings
 *     (one file mapped 40 times, executable) with Zipf-like weights, one
 *     in 20 an address in one of 3 data VMAs, unsorted, with repeats.
 *     A second batch, "spread", hits 1,000 different VMAs: there the text
 *     pass wins at 2,000 VMAs and the ioctl at 20,000, which is what the
 *     automatic choice has to see.
 *
 * Rounds are interleaved (every variant once per round, rotating order) and
 * medians reported. The re-read anchor is timed on a sample of addresses
 * per round and scaled to the dump's 4,000 (each address costs the same
 * full read). "auto" uses one handle across rounds, as a profiler would; the
 * first call on a fresh handle (open included) is reported for information.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <memlens/vmaq.h>

#include "../lib/util/uapi.h"
#include "bench.h"

#define NR_ADDRS 4000
#define NR_CODE 40
#define NR_SPREAD 1000
#define ANCHOR_SAMPLE 24

/* ---- the child ------------------------------------------------------------- */

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

/*
 * @nr_vmas one-page anonymous VMAs, alternating rw and r (no merging), and
 * NR_CODE executable mappings of our own binary among them.
 */
static void child_main(unsigned nr_vmas, pid_t parent, int ready_fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int exe = open("/proc/self/exe", O_RDONLY);
	char *base;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent || exe < 0)
		_exit(0);
	base = mmap(NULL, nr_vmas * page, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		_exit(1);
	for (unsigned i = 0; i < nr_vmas; i++) {
		bool code = i % (nr_vmas / NR_CODE) == 1;
		char *m = code ? mmap(base + i * page, page, PROT_READ | PROT_EXEC,
				      MAP_PRIVATE | MAP_FIXED, exe, 0) :
				 mmap(base + i * page, page,
				      i % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		if (m == MAP_FAILED)
			_exit(1);
	}
	if (write(ready_fd, "x", 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;)
		pause();
}

static int spawn_child(unsigned nr_vmas)
{
	return bench_spawn_ready(child_main, nr_vmas, &child);
}

/* ---- the batches ------------------------------------------------------------- */

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

struct vmas {
	uint64_t *start, *end;
	bool *code;
	size_t n;
};

static int list_vmas(pid_t pid, struct vmas *v)
{
	struct ml_vma_list l;
	struct ml_proc *p;
	int err = ml_proc_new(NULL, &p);

	if (err)
		return err;
	err = ml_proc_vmas(p, pid, false, &l);
	ml_proc_free(p);
	if (err)
		return err;
	v->start = calloc(l.n, sizeof(*v->start));
	v->end = calloc(l.n, sizeof(*v->end));
	v->code = calloc(l.n, sizeof(*v->code));
	if (!v->start || !v->end || !v->code) {
		ml_vma_list_free(&l);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++) {
		v->start[i] = l.v[i].start;
		v->end[i] = l.v[i].end;
		v->code[i] = l.v[i].perms[2] == 'x' && l.v[i].name[0] == '/';
	}
	v->n = l.n;
	ml_vma_list_free(&l);
	return 0;
}

static uint64_t pick(const struct vmas *v, size_t i)
{
	return v->start[i] + (rnd() % (v->end[i] - v->start[i]) & ~7ull);
}

/* Stacks of 8..32 frames, Zipf-like over the code VMAs. */
static void make_stack_dump(const struct vmas *v, uint64_t *out)
{
	size_t code[512], nr_code = 0, k = 0, data[3];
	uint64_t cum[512], total = 0;

	/* the data a stack points at: a stack, a heap, one more region */
	for (size_t i = 0; i < 3; i++)
		data[i] = rnd() % v->n;
	for (size_t i = 0; i < v->n && nr_code < 512; i++)
		if (v->code[i])
			code[nr_code++] = i;
	/* rank r (0-based) with weight 1/(r+1) */
	for (size_t r = 0; r < nr_code; r++)
		cum[r] = total += 1000000 / (r + 1);
	while (k < NR_ADDRS && nr_code) {
		size_t depth = 8 + rnd() % 25;

		for (size_t f = 0; f < depth && k < NR_ADDRS; f++) {
			uint64_t x = rnd() % total;
			size_t r = 0;

			while (cum[r] <= x)
				r++;
			if (rnd() % 20 == 0)
				out[k++] = pick(v, data[rnd() % 3]);
			else
				out[k++] = pick(v, code[r]);
		}
	}
}

static void make_spread(const struct vmas *v, uint64_t *out)
{
	size_t hot[NR_SPREAD];

	for (size_t i = 0; i < NR_SPREAD; i++)
		hot[i] = rnd() % v->n;
	for (size_t k = 0; k < NR_ADDRS; k++)
		out[k] = pick(v, hot[rnd() % NR_SPREAD]);
}

/* ---- the anchors -------------------------------------------------------------- */

/* Re-read and parse all of maps to find one address (the naive way). */
static int reread_lookup(pid_t pid, uint64_t addr, char **buf, size_t *cap)
{
	char path[64], *pos, *end;
	size_t len = 0;
	struct ml_vma v;
	ssize_t n;
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (*cap - len < 4097) {
			*cap = *cap ? *cap * 2 : 65536;
			*buf = realloc(*buf, *cap);
			if (!*buf) {
				close(fd);
				return -ENOMEM;
			}
		}
		n = read(fd, *buf + len, *cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	(*buf)[len] = '\0';
	pos = *buf;
	end = *buf + len;
	while ((ret = ml_maps_next(&pos, end, &v)) == 1)
		if (v.start <= addr && addr < v.end)
			return 1;
	return 0;
}

static double time_bare_ioctl(int fd, uint64_t addr, bool bid, int reps)
{
	char name[256];
	uint8_t id[20];
	struct procmap_query q;
	double t0 = bench_now_ms();

	for (int i = 0; i < reps; i++) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_addr = addr;
		q.vma_name_addr = (uintptr_t)name;
		q.vma_name_size = sizeof(name);
		if (bid) {
			q.build_id_addr = (uintptr_t)id;
			q.build_id_size = sizeof(id);
		}
		if (ioctl(fd, PROCMAP_QUERY, &q) < 0)
			return -1;
	}
	return (bench_now_ms() - t0) / reps;
}

static double time_query(struct ml_vmaq *q, uint64_t addr, bool bid, int reps)
{
	unsigned flags = ML_VMAQ_WANT_NAME | (bid ? ML_VMAQ_WANT_BUILD_ID : 0);
	struct ml_vmaq_vma v;
	double t0 = bench_now_ms();

	for (int i = 0; i < reps; i++)
		if (ml_vmaq_query(q, addr, flags, &v))
			return -1;
	return (bench_now_ms() - t0) / reps;
}

/* ---- 1. one query --------------------------------------------------------------- */

static int bench_single(int rounds)
{
	uint64_t addr = (uintptr_t)&bench_single;
	double *m[4];
	struct ml_proc *p;
	struct ml_vmaq *q;
	int fd, err;

	err = ml_proc_new(NULL, &p);
	if (err)
		return err;
	err = ml_vmaq_open(p, getpid(), NULL, &q);
	if (err || !ml_vmaq_uses_ioctl(q)) {
		printf("PROCMAP_QUERY not available here: single-query comparison skipped\n");
		ml_vmaq_close(q);
		ml_proc_free(p);
		return 0;
	}
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	for (int k = 0; k < 4; k++)
		m[k] = calloc((size_t)rounds, sizeof(double));
	for (int r = 0; r < rounds; r++) {
		m[0][r] = time_bare_ioctl(fd, addr, false, 2000);
		m[1][r] = time_query(q, addr, false, 2000);
		m[3][r] = time_query(q, addr, true, 2000);
		m[2][r] = time_bare_ioctl(fd, addr, true, 2000);
	}
	bench_line("ml_vmaq_query vs bare ioctl (name)", "1 address",
		   "ioctl", bench_median(m[0], (size_t)rounds) * 1000,
		   "query", bench_median(m[1], (size_t)rounds) * 1000, 1.2);
	bench_line("ml_vmaq_query vs bare ioctl (name+build ID)", "1 address",
		   "ioctl", bench_median(m[2], (size_t)rounds) * 1000,
		   "query", bench_median(m[3], (size_t)rounds) * 1000, 1.2);
	printf("  (times in µs per query, shown in the ms columns)\n");
	for (int k = 0; k < 4; k++)
		free(m[k]);
	close(fd);
	ml_vmaq_close(q);
	ml_proc_free(p);
	return 0;
}

/* ---- 2. batches ------------------------------------------------------------------- */

enum { V_IOCTL, V_TEXT, V_AUTO, V_FRESH, V_ANCHOR, V__COUNT };

static double time_resolve(struct ml_vmaq *q, const uint64_t *addrs,
			   enum ml_vmaq_strategy s, bool bid,
			   struct ml_vmaq_result *out)
{
	ML_OPTS(ml_vmaq_resolve_opts, o, .strategy = s, .build_id = bid);
	double t0 = bench_now_ms();

	if (ml_vmaq_resolve(q, addrs, NR_ADDRS, &o, out))
		return -1;
	return bench_now_ms() - t0;
}

static int bench_batch(struct ml_proc *p, unsigned nr_vmas, const char *kind,
		       const uint64_t *addrs, bool bid, int rounds)
{
	struct ml_vmaq_result *out = calloc(NR_ADDRS, sizeof(*out));
	double *ms[V__COUNT], med[V__COUNT], best;
	struct ml_vmaq *q, *auto_q;
	enum ml_vmaq_strategy chosen = ML_VMAQ_AUTO;
	char *buf = NULL, input[48], what[64];
	size_t cap = 0;
	int err;

	err = ml_vmaq_open(p, child, NULL, &q);
	if (!err)
		err = ml_vmaq_open(p, child, NULL, &auto_q);
	if (err || !out)
		return err ? err : -ENOMEM;
	for (int v = 0; v < V__COUNT; v++)
		ms[v] = calloc((size_t)rounds, sizeof(double));
	for (int r = 0; r < rounds && !err; r++) {
		for (int k = 0; k < V__COUNT; k++) {
			int v = (k + r) % V__COUNT;
			double t0, t;

			switch (v) {
			case V_IOCTL:
				t = time_resolve(q, addrs, ML_VMAQ_SORTED_IOCTL, bid, out);
				break;
			case V_TEXT:
				t = time_resolve(q, addrs, ML_VMAQ_TEXT_PASS, bid, out);
				break;
			case V_AUTO:
				t = time_resolve(auto_q, addrs, ML_VMAQ_AUTO, bid, out);
				chosen = ml_vmaq_last_strategy(auto_q);
				break;
			case V_FRESH: {
				struct ml_vmaq *f;

				t0 = bench_now_ms();
				if (ml_vmaq_open(p, child, NULL, &f)) {
					t = -1;
					break;
				}
				t = time_resolve(f, addrs, ML_VMAQ_AUTO, bid, out);
				ml_vmaq_close(f);
				t = t < 0 ? t : bench_now_ms() - t0;
				break;
			}
			default: /* the anchor, on a sample, scaled */
				t0 = bench_now_ms();
				for (int i = 0; i < ANCHOR_SAMPLE; i++)
					if (reread_lookup(child, addrs[(size_t)(r * ANCHOR_SAMPLE + i) %
								   NR_ADDRS], &buf, &cap) < 0)
						t0 = -1e18;
				t = (bench_now_ms() - t0) * NR_ADDRS / ANCHOR_SAMPLE;
				break;
			}
			if (t < 0)
				err = -EIO;
			ms[v][r] = t;
		}
	}
	if (!err) {
		for (int v = 0; v < V__COUNT; v++)
			med[v] = bench_median(ms[v], (size_t)rounds);
		best = med[V_IOCTL] < med[V_TEXT] ? med[V_IOCTL] : med[V_TEXT];
		snprintf(input, sizeof(input), "%u VMAs", nr_vmas);
		snprintf(what, sizeof(what), "%s%s: text pass vs sorted ioctl", kind,
			 bid ? "+bid" : "");
		bench_line(what, input, "ioctl", med[V_IOCTL], "text", med[V_TEXT], 0);
		snprintf(what, sizeof(what), "%s%s: auto (%s) vs better strategy", kind,
			 bid ? "+bid" : "", chosen == ML_VMAQ_TEXT_PASS ? "text" : "ioctl");
		bench_line(what, input, med[V_IOCTL] <= med[V_TEXT] ? "ioctl" : "text",
			   best, "auto", med[V_AUTO], 1.2);
		snprintf(what, sizeof(what), "%s%s: auto vs re-read maps per address",
			 kind, bid ? "+bid" : "");
		bench_line(what, input, "re-read", med[V_ANCHOR], "auto", med[V_AUTO],
			   0.02);
		printf("  = auto %.0fx faster than re-reading maps per address "
		       "(goal >= 50x)\n", med[V_ANCHOR] / med[V_AUTO]);
		snprintf(what, sizeof(what), "%s%s: fresh handle (open+auto) vs better",
			 kind, bid ? "+bid" : "");
		bench_line(what, input, "best", best, "fresh", med[V_FRESH], 0);
	}
	for (int v = 0; v < V__COUNT; v++)
		free(ms[v]);
	free(buf);
	free(out);
	ml_vmaq_close(q);
	ml_vmaq_close(auto_q);
	return err;
}

/* What a text pass costs in ioctls on this machine (the model says 0.17). */
static void calibrate(struct ml_proc *p, unsigned nr_vmas)
{
	ML_OPTS(ml_vmaq_resolve_opts, o, .strategy = ML_VMAQ_TEXT_PASS);
	struct ml_vmaq_result r;
	struct ml_vmaq_vma v;
	struct ml_vmaq *q;
	double t_text[7], t_io[7];
	uint64_t a = 0;

	if (ml_vmaq_open(p, child, NULL, &q))
		return;
	for (int i = 0; i < 7; i++) {
		double t0 = bench_now_ms();

		ml_vmaq_resolve(q, &a, 1, &o, &r);
		t_text[i] = bench_now_ms() - t0;
		t0 = bench_now_ms();
		for (int k = 0; k < 200; k++)
			ml_vmaq_query(q, a + (uint64_t)k * 4096,
				      ML_VMAQ_COVERING_OR_NEXT | ML_VMAQ_WANT_NAME, &v);
		t_io[i] = (bench_now_ms() - t0) / 200;
	}
	printf("  text pass %.3f ms = %.3f ioctls (%.2f µs each) per VMA "
	       "(model: 0.17)\n", bench_median(t_text, 7),
	       bench_median(t_text, 7) / bench_median(t_io, 7) / nr_vmas,
	       bench_median(t_io, 7) * 1000);
	ml_vmaq_close(q);
}

static int bench_size(unsigned nr_vmas, int rounds)
{
	uint64_t *dump = calloc(NR_ADDRS, sizeof(*dump));
	uint64_t *spread = calloc(NR_ADDRS, sizeof(*spread));
	struct vmas v = { 0 };
	struct ml_proc *p;
	int err;

	err = spawn_child(nr_vmas);
	if (!err)
		err = list_vmas(child, &v);
	if (!err)
		err = ml_proc_new(NULL, &p);
	if (err || !dump || !spread) {
		kill_child();
		return err ? err : -ENOMEM;
	}
	printf("\nprocess with %zu VMAs (pid %d)\n", v.n, (int)child);
	make_stack_dump(&v, dump);
	make_spread(&v, spread);
	calibrate(p, (unsigned)v.n);
	err = bench_batch(p, nr_vmas, "stack dump", dump, false, rounds);
	if (!err)
		err = bench_batch(p, nr_vmas, "stack dump", dump, true, rounds);
	if (!err)
		err = bench_batch(p, nr_vmas, "spread", spread, false, rounds);
	ml_proc_free(p);
	kill_child();
	free(v.start);
	free(v.end);
	free(v.code);
	free(dump);
	free(spread);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bench_vmaq [OPTIONS]\n"
		"  -n, --rounds N    interleaved rounds, medians reported (15)\n"
		"  -s, --sizes LIST  VMA counts, comma-separated (2000,20000)\n"
		"  -h, --help        show this help\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rounds", required_argument, NULL, 'n' },
		{ "sizes", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	unsigned sizes[8] = { 2000, 20000 };
	size_t nr_sizes = 2;
	int rounds = 15, c, ret = 0;

	while ((c = getopt_long(argc, argv, "n:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': rounds = atoi(optarg); break;
		case 's':
			nr_sizes = 0;
			for (char *t = strtok(optarg, ","); t && nr_sizes < 8;
			     t = strtok(NULL, ","))
				sizes[nr_sizes++] = (unsigned)atoi(t);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (rounds < 1 || rounds > 255) {
		usage(stderr);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(kill_child);
	printf("bench_vmaq: %d rounds; ratio = memlens / anchor\n\n", rounds);
	bench_header();
	ret = bench_single(rounds * 4);
	for (size_t i = 0; i < nr_sizes && !ret; i++) {
		if (sizes[i] < 2 * NR_CODE) {
			usage(stderr);
			return 2;
		}
		ret = bench_size(sizes[i], rounds);
		if (ret)
			fprintf(stderr, "bench_vmaq: %u VMAs: %s\n", sizes[i],
				strerror(-ret));
	}
	return ret ? 1 : 0;
}
