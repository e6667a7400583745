// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Anonymous memory names: ml_name_anon() through the registry (this whole
 * binary runs with MEMLENS_NAMES=registry), checked against the kernel's
 * contract (the prctl's answers on the 6.12 test kernel, ANCHORS.md, and
 * the prctl itself where this kernel has it), split/merge/clear against
 * hand-worked expectations and against a page-by-page model, fork, threads,
 * stale ranges, a corrupted registry, and a live process (namehog) whose
 * regions and touched sizes are known, through `memlens names` and
 * `memlens maps`.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/names.h>

#include "tap.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif

#define KiB 1024LL
#define ARRAY_SIZE_N(a) (sizeof(a) / sizeof((a)[0]))

static size_t PS;

__attribute__((constructor)) static void force_registry(void)
{
	/* before any call: the backend is decided once per process */
	setenv("MEMLENS_NAMES", "registry", 1);
	PS = (size_t)sysconf(_SC_PAGESIZE);
}

static struct ml_proc *proc(void)
{
	static struct ml_proc *p;

	if (!p && ml_proc_new(NULL, &p))
		p = NULL;
	return p;
}

static char *map_anon(size_t pages)
{
	char *a = mmap(NULL, pages * PS, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return a == MAP_FAILED ? NULL : a;
}

/*
 * Our registry's ranges inside [base, base + pages), as "S-E:NAME ..." in
 * pages from base (a range crossing the edges is cut there).
 */
static const char *ranges_str(const char *base, size_t pages)
{
	static char out[8192];
	struct ml_name_ranges r;
	uint64_t lo = (uintptr_t)base, hi = lo + pages * PS;
	size_t o = 0;
	int err;

	out[0] = '\0';
	err = ml_names_registry_read(proc(), getpid(), NULL, &r);
	if (err == -ENOENT)
		return out;
	if (err) {
		snprintf(out, sizeof(out), "error %d", err);
		return out;
	}
	for (size_t i = 0; i < r.n; i++) {
		uint64_t s = r.r[i].start < lo ? lo : r.r[i].start;
		uint64_t e = r.r[i].end > hi ? hi : r.r[i].end;

		if (s >= e)
			continue;
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%llu-%llu:%s",
				      o ? " " : "",
				      (unsigned long long)((s - lo) / PS),
				      (unsigned long long)((e - lo) / PS),
				      r.r[i].name);
		if (o >= sizeof(out))
			break;
	}
	ml_name_ranges_free(&r);
	return out;
}

/* The kernel's answer, when this kernel has the prctl (else 1). */
static int kernel_answer(void *addr, size_t len, const char *name)
{
	static int has = -1;

	if (has < 0) {
		char *pg = map_anon(1);

		has = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, pg, PS, "t") == 0;
		munmap(pg, PS);
	}
	if (!has)
		return 1;
	return prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name) ? -errno : 0;
}

/* ml_name_anon() == @want, and == the kernel's answer where there is one. */
#define CHECK_NAME(addr, len, name, want)                                  \
	do {                                                               \
		int _k = kernel_answer((addr), (len), (name));             \
		CHECK_EQ(ml_name_anon((addr), (len), (name)), (want));     \
		if (_k != 1)                                               \
			CHECK_EQ(_k, (want));                              \
	} while (0)

/* ---- validation: ANCHORS.md "Anonymous VMA naming" and the seed ------------------- */

static void backend_is_registry(void)
{
	CHECK_EQ(ml_names_backend(), ML_NAMES_REGISTRY);
	CHECK_STR(ml_names_backend_name(ML_NAMES_REGISTRY), "registry");
}

static void anchors_table(void)
{
	char *a = map_anon(4), name[128];
	char path[] = "/tmp/memlens-names-XXXXXX";
	int fd = mkstemp(path);
	char *f;

	CHECK(a && fd >= 0);
	unlink(path);
	CHECK_EQ(ftruncate(fd, (off_t)(4 * PS)), 0);
	f = mmap(NULL, 4 * PS, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(f != MAP_FAILED);

	/* name containing [ or $: -EINVAL */
	CHECK_NAME(a, PS, "a[b", -EINVAL);
	CHECK_NAME(a, PS, "a$b", -EINVAL);
	/* 81 bytes with the NUL: -EINVAL; 80: 0 */
	memset(name, 'x', 80);
	name[80] = '\0';
	CHECK_NAME(a, PS, name, -EINVAL);
	name[79] = '\0';
	CHECK_NAME(a, PS, name, 0);
	name[78] = '\0';
	CHECK_NAME(a, PS, name, 0);
	/* start not page-aligned; length overflowing the address space */
	CHECK_NAME(a + 1, PS, "u", -EINVAL);
	CHECK_NAME(a, SIZE_MAX, "o", -EINVAL);
	CHECK_NAME(a, SIZE_MAX - PS + 2, "o", -EINVAL);
	CHECK_NAME(a + PS, (size_t)0 - (uintptr_t)a, "o", -EINVAL);
	/* nothing mapped: -ENOMEM */
	CHECK_EQ(munmap(a + 3 * PS, PS), 0);
	CHECK_NAME(a + 3 * PS, PS, "gone", -ENOMEM);
	/* a private file mapping: -EBADF */
	CHECK_NAME(f, PS, "file", -EBADF);
	/* NULL clears: 0 */
	CHECK_NAME(a, 3 * PS, NULL, 0);
	CHECK_STR(ranges_str(a, 3), "");

	munmap(f, 4 * PS);
	munmap(a, 3 * PS);
	close(fd);
}

static void every_character(void)
{
	static const char forbidden[] = "[]\\$`";
	char *a = map_anon(1), name[2] = { 0, 0 };
	int bad = 0, good = 0;

	CHECK(a);
	for (int c = 1; c < 256; c++) {
		bool ok = c >= 0x20 && c < 0x7f && !strchr(forbidden, c);
		int want = ok ? 0 : -EINVAL;

		name[0] = (char)c;
		if (ml_name_anon(a, PS, name) != want ||
		    ml_name_check(name) != want) {
			printf("# character 0x%02x: expected %d\n", c, want);
			bad++;
		}
		good += ok;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(good, 95 - 5); /* printable ASCII with space, less the five */
	/* a forbidden character anywhere in the name */
	CHECK_EQ(ml_name_anon(a, PS, "abc`"), -EINVAL);
	CHECK_EQ(ml_name_anon(a, PS, "\\abc"), -EINVAL);
	CHECK_EQ(ml_name_anon(a, PS, "ab]c"), -EINVAL);
	CHECK_EQ(ml_name_anon(a, PS, "tab\there"), -EINVAL);
	CHECK_EQ(ml_name_anon(a, PS, "caf\xc3\xa9"), -EINVAL);
	/* what is allowed: spaces, punctuation, the empty name */
	CHECK_EQ(ml_name_anon(a, PS, "a b:c/d-e_f.g(h){i}<j>~!@#%^&*+=|;'\",?"), 0);
	CHECK_EQ(ml_name_anon(a, PS, ""), 0);
	CHECK_STR(ranges_str(a, 1), "0-1:");
	CHECK_EQ(ml_name_check(NULL), 0);
	munmap(a, PS);
}

static void ranges_and_lengths(void)
{
	char *a = map_anon(8);

	CHECK(a);
	/* length 0: nothing, even unmapped; a length is rounded up to pages */
	CHECK_NAME(a, 0, "zero", 0);
	CHECK_NAME((char *)(uintptr_t)PS, 0, "zero", 0);
	CHECK_STR(ranges_str(a, 8), "");
	CHECK_NAME(a, 1, "round", 0);
	CHECK_STR(ranges_str(a, 8), "0-1:round");
	CHECK_NAME(a + PS, PS + 1, "round2", 0);
	CHECK_STR(ranges_str(a, 8), "0-1:round 1-3:round2");
	/* the name is checked before the range */
	CHECK_NAME(a + 1, PS, "bad$", -EINVAL);
	/* holes: the mapped parts are named, -ENOMEM */
	CHECK_EQ(munmap(a + 4 * PS, 2 * PS), 0);
	CHECK_NAME(a + 3 * PS, 4 * PS, "holes", -ENOMEM);
	CHECK_STR(ranges_str(a, 8), "0-1:round 1-3:round2 3-4:holes 6-7:holes");
	CHECK_NAME(a, 8 * PS, NULL, -ENOMEM);
	CHECK_STR(ranges_str(a, 8), "");
	munmap(a, 4 * PS);
	munmap(a + 6 * PS, 2 * PS);
}

static void file_mappings(void)
{
	char path[] = "/tmp/memlens-names-XXXXXX";
	int fd = mkstemp(path), mfd = memfd_create("memlens-test", 0);
	char *a = map_anon(6), *f, *m, *sh;

	CHECK(fd >= 0 && mfd >= 0 && a);
	unlink(path);
	CHECK_EQ(ftruncate(fd, (off_t)(2 * PS)), 0);
	CHECK_EQ(ftruncate(mfd, (off_t)(2 * PS)), 0);
	/* a file mapping in the middle: what lies before it is named */
	f = mmap(a + 2 * PS, 2 * PS, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
	CHECK(f == a + 2 * PS);
	CHECK_NAME(a, 6 * PS, "before", -EBADF);
	CHECK_STR(ranges_str(a, 6), "0-2:before");
	/* shared file and memfd mappings are files too */
	m = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK_NAME(m, PS, "memfd", -EBADF);
	f = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK_NAME(f, PS, "shared", -EBADF);
	/* shared anonymous memory can be named */
	sh = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK_NAME(sh, 2 * PS, "shm", 0);
	CHECK_STR(ranges_str(sh, 2), "0-2:shm");
	/* holes before the file: -EBADF wins over -ENOMEM, as in the kernel */
	CHECK_EQ(munmap(a, PS), 0);
	CHECK_NAME(a, 3 * PS, "x", -EBADF);
	CHECK_STR(ranges_str(a, 6), "1-2:x");
	munmap(a + PS, 5 * PS);
	munmap(m, 2 * PS);
	munmap(f, 2 * PS);
	munmap(sh, 2 * PS);
	close(fd);
	close(mfd);
}

/* ---- split, merge, clear: worked by hand ---------------------------------------- */

static void split_merge_clear(void)
{
	char *a = map_anon(32);

	CHECK(a);
#define STEP(start, end, name, want)                                        \
	do {                                                                \
		CHECK_EQ(ml_name_anon(a + (start) * PS, ((end) - (start)) * PS, \
				      (name)), 0);                          \
		CHECK_STR(ranges_str(a, 32), (want));                       \
	} while (0)
	STEP(0, 16, "A", "0-16:A");
	/* naming a part splits */
	STEP(4, 8, "B", "0-4:A 4-8:B 8-16:A");
	/* the same name again merges both sides */
	STEP(4, 8, "A", "0-16:A");
	/* clearing a part punches a hole */
	STEP(2, 3, NULL, "0-2:A 3-16:A");
	STEP(2, 3, "A", "0-16:A");
	/* adjacent, same name: one range; different: two */
	STEP(16, 20, "A", "0-20:A");
	STEP(20, 24, "C", "0-20:A 20-24:C");
	/* across several ranges */
	STEP(10, 22, "D", "0-10:A 10-22:D 22-24:C");
	STEP(0, 32, "E", "0-32:E");
	STEP(0, 32, NULL, "");
	/* filling a gap between two equal names */
	STEP(0, 4, "A", "0-4:A");
	STEP(8, 12, "A", "0-4:A 8-12:A");
	STEP(4, 8, "A", "0-12:A");
	STEP(0, 4, "A", "0-12:A");
	/* a name across a boundary of two others */
	STEP(12, 16, "B", "0-12:A 12-16:B");
	STEP(10, 14, "C", "0-10:A 10-14:C 14-16:B");
	/* clearing the ends of ranges */
	STEP(8, 15, NULL, "0-8:A 15-16:B");
	STEP(0, 32, NULL, "");
#undef STEP
	munmap(a, 32 * PS);
}

/* ---- thousands of ranges against a page-by-page model ----------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void model_matches(void)
{
	enum { PAGES = 4096, OPS = 3000 };
	static const char *names[] = { NULL, "a", "bb", "ccc", "dddd" };
	static unsigned char model[PAGES];
	static char want[1 << 16];
	char *a = map_anon(PAGES);
	int mismatches = 0;

	CHECK(a);
	memset(model, 0, sizeof(model));
	for (int op = 0; op < OPS && mismatches < 3; op++) {
		size_t s = rnd() % PAGES, len = 1 + rnd() % (op % 10 ? 8 : 300);
		unsigned n = (unsigned)(rnd() % ARRAY_SIZE_N(names));

		if (s + len > PAGES)
			len = PAGES - s;
		CHECK_EQ(ml_name_anon(a + s * PS, len * PS, names[n]), 0);
		memset(model + s, n, len);
		if (op % 50 && op != OPS - 1)
			continue;
		/* the model, compressed into runs */
		size_t o = 0;

		want[0] = '\0';
		for (size_t i = 0; i < PAGES;) {
			size_t j = i;

			while (j < PAGES && model[j] == model[i])
				j++;
			if (model[i])
				o += (size_t)snprintf(want + o, sizeof(want) - o,
						      "%s%zu-%zu:%s", o ? " " : "",
						      i, j, names[model[i]]);
			i = j;
		}
		if (strcmp(ranges_str(a, PAGES), want) != 0) {
			printf("# after op %d:\n#  got  %.200s\n#  want %.200s\n",
			       op, ranges_str(a, PAGES), want);
			mismatches++;
		}
	}
	CHECK_EQ(mismatches, 0);
	CHECK_EQ(ml_name_anon(a, PAGES * PS, NULL), 0);
	munmap(a, PAGES * PS);
}

/* 20,000 ranges in descending address order (as mmap hands them out). */
static void tens_of_thousands(void)
{
	enum { N = 20000 };
	char *a = map_anon(2 * N), name[16];
	struct ml_name_ranges r;
	int fails = 0;

	CHECK(a);
	for (int i = N - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "r%d", i % 1000);
		fails += ml_name_anon(a + (size_t)2 * i * PS, PS, name) != 0;
	}
	CHECK_EQ(fails, 0);
	CHECK_EQ(ml_names_registry_read(proc(), getpid(), NULL, &r), 0);
	size_t mine = 0;

	for (size_t i = 0; i < r.n; i++) {
		uint64_t off = r.r[i].start - (uintptr_t)a;

		if (r.r[i].start < (uintptr_t)a || off >= (uint64_t)2 * N * PS)
			continue;
		snprintf(name, sizeof(name), "r%d", (int)(off / PS / 2) % 1000);
		if (r.r[i].end - r.r[i].start != PS || strcmp(r.r[i].name, name))
			fails++;
		mine++;
	}
	CHECK_EQ(mine, N);
	CHECK_EQ(fails, 0);
	ml_name_ranges_free(&r);
	/* clearing them all in one call */
	CHECK_EQ(ml_name_anon(a, (size_t)2 * N * PS, NULL), 0);
	CHECK_STR(ranges_str(a, 2 * N), "");
	munmap(a, (size_t)2 * N * PS);
}

/* ---- fork: inherited, then independent ---------------------------------------------- */

static void fork_inherits_then_independent(void)
{
	char *a = map_anon(4);
	int to_child[2], to_parent[2];
	char c;
	pid_t pid;
	int status;

	CHECK(a && pipe(to_child) == 0 && pipe(to_parent) == 0);
	CHECK_EQ(ml_name_anon(a, 4 * PS, "parent-1"), 0);
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		/* inherited */
		bad |= strcmp(ranges_str(a, 4), "0-4:parent-1") != 0;
		CHECK_EQ(ml_name_anon(a, 2 * PS, "child"), 0);
		bad |= strcmp(ranges_str(a, 4), "0-2:child 2-4:parent-1") != 0;
		if (write(to_parent[1], "1", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(3);
		/* the parent renamed its copy meanwhile: not ours */
		bad |= strcmp(ranges_str(a, 4), "0-2:child 2-4:parent-1") != 0;
		_exit(bad ? 1 : 0);
	}
	CHECK(pid > 0);
	CHECK(read(to_parent[0], &c, 1) == 1);
	/* the child's rename is not ours */
	CHECK_STR(ranges_str(a, 4), "0-4:parent-1");
	/* and a reader from outside sees the child's */
	{
		struct ml_name_ranges r;
		bool seen = false;

		CHECK_EQ(ml_names_registry_read(proc(), pid, NULL, &r), 0);
		for (size_t i = 0; i < r.n; i++)
			seen |= r.r[i].start == (uintptr_t)a &&
				strcmp(r.r[i].name, "child") == 0;
		CHECK(seen);
		ml_name_ranges_free(&r);
	}
	CHECK_EQ(ml_name_anon(a, 4 * PS, "parent-2"), 0);
	CHECK(write(to_child[1], "1", 1) == 1);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STR(ranges_str(a, 4), "0-4:parent-2");
	CHECK_EQ(ml_name_anon(a, 4 * PS, NULL), 0);
	munmap(a, 4 * PS);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* A child of a child: the registry keeps working two forks deep, and after growth. */
static void fork_grandchild_and_growth(void)
{
	char *a = map_anon(2048);
	pid_t pid;
	int status;

	CHECK(a);
	CHECK_EQ(ml_name_anon(a, PS, "top"), 0);
	pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		int bad = 0;

		if (g == 0) {
			char name[16];

			/* grow well past the parent's registry */
			for (int i = 0; i < 1000; i++) {
				snprintf(name, sizeof(name), "g%d", i);
				bad |= ml_name_anon(a + (size_t)2 * i * PS, PS, name) != 0;
			}
			bad |= strncmp(ranges_str(a, 3), "0-1:g0 2-3:g1", 13) != 0;
			_exit(bad);
		}
		bad |= waitpid(g, &status, 0) != g || !WIFEXITED(status) ||
		       WEXITSTATUS(status);
		bad |= strcmp(ranges_str(a, 2048), "0-1:top") != 0;
		_exit(bad);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STR(ranges_str(a, 2048), "0-1:top");
	CHECK_EQ(ml_name_anon(a, PS, NULL), 0);
	munmap(a, 2048 * PS);
}

/* ---- threads -------------------------------------------------------------------------- */

enum { THREADS = 4, PER_THREAD = 1500 };

struct thread_arg {
	char *base;
	int id;
	int fails;
};

static volatile int readers_stop;

static void *namer(void *p)
{
	struct thread_arg *t = p;
	char name[16];

	snprintf(name, sizeof(name), "t%d", t->id);
	for (int i = 0; i < PER_THREAD; i++) {
		/* interleaved pages: every call splits or merges a neighbour's */
		char *pg = t->base + ((size_t)i * THREADS + (size_t)t->id) * PS;

		t->fails += ml_name_anon(pg, PS, name) != 0;
		if (i % 3 == 0)
			t->fails += ml_name_anon(pg, PS, NULL) != 0 ||
				    ml_name_anon(pg, PS, name) != 0;
	}
	return NULL;
}

static void *reader(void *p)
{
	int *bad = p;

	while (!readers_stop) {
		struct ml_name_ranges r;
		int err = ml_names_registry_read(proc(), getpid(), NULL, &r);

		if (err == 0) {
			for (size_t i = 1; i < r.n; i++)
				*bad += r.r[i].start < r.r[i - 1].end;
			ml_name_ranges_free(&r);
		} else if (err != -EAGAIN && err != -ENOENT) {
			(*bad)++;
		}
	}
	return NULL;
}

static void concurrent_threads(void)
{
	size_t pages = (size_t)THREADS * PER_THREAD;
	struct ml_proc *p = NULL;
	char *a = map_anon(pages);
	struct thread_arg args[THREADS];
	pthread_t th[THREADS], rd;
	struct ml_name_ranges r;
	int bad_reads = 0, wrong = 0;

	CHECK(a);
	CHECK_EQ(ml_proc_new(NULL, &p), 0); /* the reader thread's own */
	readers_stop = 0;
	CHECK_EQ(pthread_create(&rd, NULL, reader, &bad_reads), 0);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){ .base = a, .id = i };
		CHECK_EQ(pthread_create(&th[i], NULL, namer, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].fails, 0);
	}
	readers_stop = 1;
	pthread_join(rd, NULL);
	CHECK_EQ(bad_reads, 0);
	/* every page has its thread's name: one range per page */
	CHECK_EQ(ml_names_registry_read(p, getpid(), NULL, &r), 0);
	size_t mine = 0;

	for (size_t i = 0; i < r.n; i++) {
		uint64_t off = r.r[i].start - (uintptr_t)a;
		char name[16];

		if (r.r[i].start < (uintptr_t)a || off >= pages * PS)
			continue;
		snprintf(name, sizeof(name), "t%d", (int)(off / PS % THREADS));
		wrong += r.r[i].end - r.r[i].start != PS || strcmp(r.r[i].name, name);
		mine++;
	}
	CHECK_EQ(mine, pages);
	CHECK_EQ(wrong, 0);
	ml_name_ranges_free(&r);
	CHECK_EQ(ml_name_anon(a, pages * PS, NULL), 0);
	munmap(a, pages * PS);
	ml_proc_free(p);
}

/* ---- labels: stale ranges never label other memory ----------------------------------- */

/* The name our maps (labelled) give the VMA at @addr, or "" when none there. */
static const char *label_at(const void *addr, enum ml_name_source *src)
{
	static char out[128];
	struct ml_names_label_stats st;
	struct ml_names_labeler *nl;
	struct ml_vma_list l;

	out[0] = '\0';
	*src = ML_NAME_SOURCE_NONE;
	if (ml_proc_vmas(proc(), getpid(), true, &l))
		return "error";
	CHECK_EQ(ml_names_labeler_new(proc(), getpid(), &l, &nl), 0);
	ml_names_labeler_stats(nl, &st);
	CHECK_EQ(st.registry_err, 0);
	CHECK_EQ(ml_names_label_list(nl, &l), 0);
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].start <= (uintptr_t)addr && (uintptr_t)addr < l.v[i].end) {
			snprintf(out, sizeof(out), "%s", l.v[i].name);
			*src = ml_names_source(nl, &l.v[i]);
		}
	}
	ml_vma_list_free(&l);
	ml_names_labeler_free(nl);
	return out;
}

static void unmap_and_remap_like_the_kernel(void)
{
	enum ml_name_source src;
	char *a = map_anon(4), *b, *moved;

	CHECK(a);
	CHECK_EQ(ml_name_anon(a, 4 * PS, "old"), 0);
	CHECK_STR(label_at(a, &src), "[anon:old]");
	CHECK_EQ(src, ML_NAME_SOURCE_REGISTRY);
	/* munmap drops the name (the kernel frees the VMA's) */
	CHECK_EQ(munmap(a + 2 * PS, 2 * PS), 0);
	CHECK_STR(ranges_str(a, 4), "0-2:old");
	CHECK_EQ(munmap(a, 2 * PS), 0);
	CHECK_STR(ranges_str(a, 4), "");
	/* new anonymous memory at the same address is not "old" */
	b = mmap(a, 4 * PS, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(b == a);
	CHECK_STR(label_at(a, &src), "");
	/* mmap(MAP_FIXED) over named memory replaces it, name and all */
	CHECK_EQ(ml_name_anon(b, 4 * PS, "before"), 0);
	CHECK(mmap(b + PS, PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		   -1, 0) == b + PS);
	CHECK_STR(ranges_str(b, 4), "0-1:before 2-4:before");
	munmap(b, 4 * PS);
	/* mremap moves the name with the memory, and growing keeps it */
	b = map_anon(8);
	CHECK_EQ(ml_name_anon(b, 2 * PS, "head"), 0);
	CHECK_EQ(ml_name_anon(b + 2 * PS, 6 * PS, "moving"), 0);
	moved = mremap(b, 8 * PS, 16 * PS, MREMAP_MAYMOVE);
	CHECK(moved != MAP_FAILED);
	if (moved != b) {
		CHECK_STR(ranges_str(b, 8), "");
		CHECK_STR(label_at(b, &src), "");
	}
	CHECK_STR(ranges_str(moved, 16), "0-2:head 2-16:moving");
	CHECK_STR(label_at(moved + 10 * PS, &src), "[anon:moving]");
	/* shrinking in place drops the tail's name */
	CHECK(mremap(moved, 16 * PS, 4 * PS, 0) == moved);
	CHECK_STR(ranges_str(moved, 16), "0-2:head 2-4:moving");
	munmap(moved, 4 * PS);
	CHECK_STR(ranges_str(moved, 16), "");
}

static void stale_ranges_label_nothing(void)
{
	char path[] = "/tmp/memlens-names-XXXXXX";
	int fd = mkstemp(path);
	enum ml_name_source src;
	char *a = map_anon(4), *b;

	CHECK(a && fd >= 0);
	unlink(path);
	CHECK_EQ(ftruncate(fd, (off_t)(4 * PS)), 0);
	CHECK_EQ(ml_name_anon(a, 4 * PS, "old"), 0);
	/* unmapped behind the library's back (a raw system call, as the C
	 * library's own free() does): the range stays, labels nothing */
	CHECK_EQ(syscall(SYS_munmap, a, 4 * PS), 0);
	CHECK_STR(ranges_str(a, 4), "0-4:old");
	CHECK_STR(label_at(a, &src), "");
	/* a file mapped there now: never labelled */
	b = mmap(a, 4 * PS, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
	CHECK(b == a);
	CHECK(strstr(label_at(a, &src), "memlens-names-") != NULL);
	CHECK_EQ(src, ML_NAME_SOURCE_NONE);
	munmap(b, 4 * PS);
	CHECK_STR(ranges_str(a, 4), "");
	close(fd);
}

static void labels_split_vmas_with_exact_counters(void)
{
	char *a = map_anon(16);
	struct ml_names_label_stats st;
	struct ml_names_labeler *nl;
	struct ml_vma_list l;
	size_t found = 0;

	CHECK(a);
	/* one VMA: pages 0-3 "x" (2 touched), 4-7 unnamed (4 touched), 8-15 "y" (8) */
	madvise(a, 16 * PS, MADV_NOHUGEPAGE);
	memset(a, 1, 2 * PS);
	memset(a + 4 * PS, 1, 12 * PS);
	CHECK_EQ(ml_name_anon(a, 4 * PS, "x"), 0);
	CHECK_EQ(ml_name_anon(a + 8 * PS, 8 * PS, "y"), 0);
	CHECK_EQ(ml_proc_vmas(proc(), getpid(), true, &l), 0);
	/* the labeler finds the registry itself here (no list given) */
	CHECK_EQ(ml_names_labeler_new(proc(), getpid(), NULL, &nl), 0);
	CHECK_EQ(ml_names_label_list(nl, &l), 0);
	ml_names_labeler_stats(nl, &st);
	CHECK_EQ(st.registry_err, 0);
	CHECK(st.nr_split >= 1);
	CHECK_EQ(st.nr_by_size, 0);
	for (size_t i = 0; i < l.n; i++) {
		const struct ml_vma *v = &l.v[i];
		uint64_t off = v->start - (uintptr_t)a;

		if (v->start < (uintptr_t)a || v->start >= (uintptr_t)a + 16 * PS)
			continue;
		found++;
		if (off == 0) {
			CHECK_STR(v->name, "[anon:x]");
			CHECK_U64(v->end - v->start, 4 * PS);
			CHECK_U64(v->mem.rss, 2 * PS);
			CHECK_U64(ml_mem_uss(&v->mem), 2 * PS);
			CHECK_U64(v->mem.pss, 2 * PS);
			CHECK_U64(v->mem.size, 4 * PS);
		} else if (off == 4 * PS) {
			CHECK_STR(v->name, "");
			CHECK_U64(v->mem.rss, 4 * PS);
		} else if (off == 8 * PS) {
			CHECK_STR(v->name, "[anon:y]");
			CHECK_U64(v->mem.rss, 8 * PS);
			CHECK_U64(v->mem.anonymous, 8 * PS);
			CHECK_EQ(ml_names_source(nl, v), ML_NAME_SOURCE_REGISTRY);
		}
	}
	CHECK_EQ(found, 3);
	ml_vma_list_free(&l);
	ml_names_labeler_free(nl);
	CHECK_EQ(ml_name_anon(a, 16 * PS, NULL), 0);
	munmap(a, 16 * PS);
}

static void kernel_names_parse(void)
{
	struct ml_vma v = { .name = "[anon:heap x]", .name_len = 13 };
	const char *name;
	size_t len;
	bool shmem;

	CHECK(ml_vma_anon_name(&v, &name, &len, &shmem));
	CHECK_EQ(len, 6);
	CHECK(memcmp(name, "heap x", 6) == 0 && !shmem);
	CHECK_EQ(ml_names_source(NULL, &v), ML_NAME_SOURCE_KERNEL);
	v.name = "[anon_shmem:s]";
	v.name_len = 14;
	CHECK(ml_vma_anon_name(&v, &name, &len, &shmem));
	CHECK(len == 1 && *name == 's' && shmem);
	v.name = "[anon:]";
	v.name_len = 7;
	CHECK(ml_vma_anon_name(&v, &name, &len, &shmem) && len == 0);
	v.name = "[heap]";
	v.name_len = 6;
	CHECK(!ml_vma_anon_name(&v, &name, &len, &shmem));
	v.name = "[anon:x";
	v.name_len = 7;
	CHECK(!ml_vma_anon_name(&v, &name, &len, &shmem));
	CHECK(ml_name_source_name(ML_NAME_SOURCE_NONE) == NULL);
	CHECK_STR(ml_name_source_name(ML_NAME_SOURCE_REGISTRY), "registry");
}

/* ---- a corrupted registry ------------------------------------------------------------- */

static void corrupted_registry_is_refused(void)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		/* in a child: scribble over our own registry, then read it */
		struct ml_vma_list l;
		struct ml_name_ranges r;
		char *a = map_anon(2);
		int bad = 0;

		ml_name_anon(a, PS, "victim");
		if (ml_proc_vmas(proc(), getpid(), false, &l))
			_exit(2);
		for (size_t i = 0; i < l.n; i++) {
			if (strcmp(l.v[i].name, ML_NAMES_REGISTRY_MAPPING) != 0)
				continue;
			unsigned char *reg = (unsigned char *)(uintptr_t)l.v[i].start;

			/* the directory's first block index, far out of range */
			memset(reg + 256, 0xee, 4);
			bad |= ml_names_registry_read(proc(), getpid(), &l, &r) != -EINVAL;
			/* the magic */
			reg[0] ^= 0xff;
			bad |= ml_names_registry_read(proc(), getpid(), &l, &r) != -EINVAL;
			/* stuck mid-write: bounded retries, then -EAGAIN */
			reg[0] ^= 0xff;
			reg[16] |= 1;
			bad |= ml_names_registry_read(proc(), getpid(), &l, &r) != -EAGAIN;
		}
		_exit(bad);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void parse_rejects_garbage(void)
{
	static unsigned char buf[64 * 1024];
	struct ml_name_ranges r;

	CHECK_EQ(ml_names_registry_parse(buf, 10, &r), -EINVAL);
	CHECK_EQ(ml_names_registry_parse(NULL, 0, &r), -EINVAL);
	/* all zeros: a registry being created, retry */
	CHECK_EQ(ml_names_registry_parse(buf, sizeof(buf), &r), -EAGAIN);
	memset(buf, 0xa5, sizeof(buf));
	CHECK_EQ(ml_names_registry_parse(buf, sizeof(buf), &r), -EINVAL);
	for (int i = 0; i < 2000; i++) {
		for (size_t j = 0; j < 512; j++)
			buf[j] = (unsigned char)rnd();
		memcpy(buf, "MLNAMES", 8);
		buf[8] = 1;
		buf[9] = buf[10] = buf[11] = 0;
		int err = ml_names_registry_parse(buf, sizeof(buf), &r);

		CHECK(err != 0 || r.n == 0);
		ml_name_ranges_free(&r);
	}
}

/* ---- live: namehog through memlens names and memlens maps ----------------------------- */

struct hog {
	pid_t pid;
	char out[4096];
};

static bool spawn_hog(struct hog *h, const char *const *regions)
{
	char *argv[32] = { (char *)NAMEHOG_BIN };
	int fds[2], argc = 1;
	size_t len = 0;

	h->out[0] = '\0';
	for (int i = 0; regions[i] && argc < 31; i++)
		argv[argc++] = (char *)regions[i];
	if (pipe(fds))
		return false;
	h->pid = fork();
	if (h->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(NAMEHOG_BIN, argv);
		_exit(127);
	}
	close(fds[1]);
	while (len < sizeof(h->out) - 1 && !strstr(h->out, "ready")) {
		ssize_t n = read(fds[0], h->out + len, sizeof(h->out) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		h->out[len] = '\0';
	}
	/* the whole "ready" line */
	while (len < sizeof(h->out) - 1 && !strchr(strstr(h->out, "ready") ?: "", '\n')) {
		ssize_t n = read(fds[0], h->out + len, sizeof(h->out) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		h->out[len] = '\0';
	}
	close(fds[0]);
	return h->pid > 0 && strstr(h->out, "ready");
}

static void reap(struct hog *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = -1;
}

/* Run a command, its stdout into @buf. */
static int run(char *buf, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int run(char *buf, size_t sz, const char *fmt, ...)
{
	char cmd[512];
	size_t len = 0;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (len < sz - 1) {
		size_t n = fread(buf + len, 1, sz - 1 - len, f);

		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	return pclose(f);
}

/* The number under "key" in the JSON object containing "name":"NAME". */
static long long json_field(const char *json, const char *name, const char *key)
{
	char pat[128], kpat[64];
	const char *o, *end, *k;

	snprintf(pat, sizeof(pat), "\"name\":\"%s\"", name);
	o = strstr(json, pat);
	if (!o)
		return -1;
	while (o > json && *o != '{')
		o--;
	end = strchr(o, '}');
	snprintf(kpat, sizeof(kpat), "\"%s\":", key);
	k = strstr(o, kpat);
	if (!k || !end || k > end)
		return -1;
	return strtoll(k + strlen(kpat), NULL, 10);
}

static void live_names_and_maps(void)
{
	static const char *const regions[] = {
		"heap-a:1M:512K", "heap-b:2M:2M", "-:256K:256K",
		"heap-a:512K:128K", "jit:64K:64K:x", "shm:256K:128K:s", NULL };
	static char out[1 << 16];
	char path[64], line[256];
	struct hog h;
	unsigned long start = 0, end = 0;
	FILE *f;

	setenv("MEMLENS_NAMES", "registry", 1);
	CHECK(spawn_hog(&h, regions));
	CHECK(strstr(h.out, "ready") && strstr(h.out, " registry"));
	for (const char *l = h.out; *l;) {
		const char *nl = strchr(l, '\n');
		int n = nl ? (int)(nl - l) : (int)strlen(l);

		printf("# %.*s\n", n, l);
		l += n + (nl != NULL);
	}

	/* memlens names --json: what namehog touched, name by name */
	CHECK_EQ(run(out, sizeof(out), "%s names --json %d", MEMLENS_BIN, h.pid), 0);
	CHECK_EQ(json_field(out, "heap-a", "rss"), 640 * KiB);
	CHECK_EQ(json_field(out, "heap-a", "pss"), 640 * KiB);
	CHECK_EQ(json_field(out, "heap-a", "uss"), 640 * KiB);
	CHECK_EQ(json_field(out, "heap-a", "swap"), 0);
	CHECK_EQ(json_field(out, "heap-a", "size"), 1536 * KiB);
	CHECK_EQ(json_field(out, "heap-a", "vmas"), 2);
	CHECK_EQ(json_field(out, "heap-a", "pid"), h.pid);
	CHECK_EQ(json_field(out, "heap-b", "rss"), 2048 * KiB);
	CHECK_EQ(json_field(out, "heap-b", "uss"), 2048 * KiB);
	CHECK_EQ(json_field(out, "jit", "rss"), 64 * KiB);
	CHECK_EQ(json_field(out, "shm", "rss"), 128 * KiB);
	CHECK_EQ(json_field(out, "shm", "size"), 256 * KiB);
	CHECK(strstr(out, "\"source\":\"registry\""));
	CHECK(!strstr(out, "\"name\":\"-\""));

	/* memlens maps: the same regions, labelled, from the registry */
	CHECK_EQ(run(out, sizeof(out), "%s maps --json %d", MEMLENS_BIN, h.pid), 0);
	CHECK_EQ(json_field(out, "[anon:heap-b]", "rss"), 2048 * KiB);
	CHECK_EQ(json_field(out, "[anon:jit]", "rss"), 64 * KiB);
	CHECK_EQ(json_field(out, "[anon_shmem:shm]", "rss"), 128 * KiB);
	CHECK(strstr(out, "\"name\":\"[anon:heap-b]\",\"name_source\":\"registry\"") ||
	      strstr(out, "\"name_source\":\"registry\""));
	sscanf(strstr(h.out, "region heap-b") ?: "", "region heap-b %lx %lx", &start, &end);
	CHECK_EQ(json_field(out, "[anon:heap-b]", "start"), (long long)start);
	CHECK_EQ(json_field(out, "[anon:heap-b]", "end"), (long long)end);
	/* the human table too */
	CHECK_EQ(run(out, sizeof(out), "%s maps %d", MEMLENS_BIN, h.pid), 0);
	CHECK(strstr(out, "[anon:heap-a]") && strstr(out, "[anon_shmem:shm]"));
	CHECK_EQ(run(out, sizeof(out), "%s names %d", MEMLENS_BIN, h.pid), 0);
	CHECK(strstr(out, "heap-b") && strstr(out, "registry"));

	/*
	 * memlens vma: an address in a named region answers with the name
	 * and the named part as its range; unnamed anonymous memory keeps
	 * the kernel's (empty) name
	 */
	sscanf(strstr(h.out, "region heap-b") ?: "", "region heap-b %lx %lx", &start, &end);
	CHECK_EQ(run(out, sizeof(out), "%s vma --json %d %lx", MEMLENS_BIN, h.pid,
		     start + 4096), 0);
	CHECK_EQ(json_field(out, "[anon:heap-b]", "start"), (long long)start);
	CHECK_EQ(json_field(out, "[anon:heap-b]", "end"), (long long)end);
	CHECK(strstr(out, "\"name_source\":\"registry\"") != NULL);
	sscanf(strstr(h.out, "region shm") ?: "", "region shm %lx %lx", &start, &end);
	CHECK_EQ(run(out, sizeof(out), "%s vma --json %d %lx", MEMLENS_BIN, h.pid,
		     end - 1), 0);
	CHECK_EQ(json_field(out, "[anon_shmem:shm]", "end"), (long long)end);
	sscanf(strstr(h.out, "region - ") ?: "", "region - %lx %lx", &start, &end);
	CHECK(start != 0);
	CHECK_EQ(run(out, sizeof(out), "%s vma --json %d %lx", MEMLENS_BIN, h.pid,
		     start), 0);
	/* unnamed, but cut out of its VMA as the kernel would */
	CHECK_EQ(json_field(out, "", "start"), (long long)start);
	CHECK_EQ(json_field(out, "", "end"), (long long)end);
	CHECK(strstr(out, "name_source") == NULL);
	sscanf(strstr(h.out, "region jit") ?: "", "region jit %lx %lx", &start, &end);
	CHECK_EQ(run(out, sizeof(out), "%s vma %d %lx", MEMLENS_BIN, h.pid,
		     start), 0);
	CHECK(strstr(out, "[anon:jit]") != NULL);

	/* --perf-map: the executable region, for perf report */
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", h.pid);
	unlink(path);
	CHECK_EQ(run(out, sizeof(out), "%s names --perf-map %d", MEMLENS_BIN, h.pid), 0);
	sscanf(strstr(h.out, "region jit") ?: "", "region jit %lx %lx", &start, &end);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		char want[128];

		snprintf(want, sizeof(want), "%lx %lx jit\n", start, end - start);
		CHECK(fgets(line, sizeof(line), f) != NULL);
		CHECK_STR(line, want);
		CHECK(fgets(line, sizeof(line), f) == NULL);
		fclose(f);
	}
	unlink(path);
	reap(&h);
}

static void live_library_scan(void)
{
	static const char *const regions[] = {
		"one:128K:64K", "two:128K:128K", NULL };
	struct ml_name_table t;
	struct hog h;
	int seen = 0;

	CHECK(spawn_hog(&h, regions));
	ML_OPTS(ml_scan_opts, o, .pids = &h.pid, .nr_pids = 1);
	CHECK_EQ(ml_names_scan(proc(), &o, &t), 0);
	CHECK_EQ(t.nr_named_procs, 1);
	if (t.nr_named_procs != 1)
		printf("# %s: procs %zu unreadable %zu registry %d\n", h.out,
		       t.nr_procs, t.nr_unreadable, t.registry_err);
	for (size_t i = 0; i < t.n; i++) {
		if (strcmp(t.u[i].name, "one") == 0) {
			CHECK_U64(t.u[i].mem.rss, 64 * KiB);
			CHECK_EQ(t.u[i].source, ML_NAME_SOURCE_REGISTRY);
			seen++;
		} else if (strcmp(t.u[i].name, "two") == 0) {
			CHECK_U64(t.u[i].mem.rss, 128 * KiB);
			seen++;
		}
	}
	CHECK_EQ(seen, 2);
	ml_name_table_free(&t);
	reap(&h);
}

/* An unmodified multi-threaded program under libmemlens-autoname.so. */
static void live_autoname(void)
{
	static char out[1 << 16];
	char cmd_out[4096], name[32];
	int fds[2], tids[3], nt = 0;
	size_t len = 0;
	pid_t pid;

	CHECK_EQ(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		setenv("LD_PRELOAD", AUTONAME_SO, 1);
		setenv("MEMLENS_NAMES", "registry", 1);
		execl(AUTONAME_TARGET, AUTONAME_TARGET, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	cmd_out[0] = '\0';
	while (len < sizeof(cmd_out) - 1 && !strstr(cmd_out, "ready")) {
		ssize_t n = read(fds[0], cmd_out + len, sizeof(cmd_out) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		cmd_out[len] = '\0';
	}
	close(fds[0]);
	CHECK(strstr(cmd_out, "ready"));
	for (const char *l = cmd_out; (l = strstr(l, "thread ")) && nt < 3; l++)
		tids[nt++] = atoi(l + 7);
	CHECK_EQ(nt, 3);

	CHECK_EQ(run(out, sizeof(out), "%s names --json %d", MEMLENS_BIN, pid), 0);
	/* each thread's stack, under its TID */
	for (int i = 0; i < nt; i++) {
		snprintf(name, sizeof(name), "stack:%d", tids[i]);
		CHECK(json_field(out, name, "size") >= 16 * 1024);
		CHECK(json_field(out, name, "rss") > 0);
	}
	/* three 1 MiB blocks, all written, each a mapping of its own */
	CHECK(json_field(out, "malloc:mmap", "rss") >= 3 * 1024 * KiB);
	CHECK(json_field(out, "malloc:mmap", "size") < 3 * 1024 * KiB + 3 * 8 * KiB);
	/* the threads' arenas: 64 MiB reservations, a little of each used */
	CHECK(json_field(out, "malloc:arena", "size") >= 64 * 1024 * KiB);
	CHECK(json_field(out, "malloc:arena", "rss") >= 3 * 100 * 200);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TAP_MAIN(TEST(backend_is_registry), TEST(anchors_table), TEST(every_character),
	 TEST(ranges_and_lengths), TEST(file_mappings),
	 TEST(split_merge_clear), TEST(model_matches), TEST(tens_of_thousands),
	 TEST(fork_inherits_then_independent),
	 TEST(fork_grandchild_and_growth), TEST(concurrent_threads),
	 TEST(unmap_and_remap_like_the_kernel), TEST(stale_ranges_label_nothing),
	 TEST(labels_split_vmas_with_exact_counters), TEST(kernel_names_parse),
	 TEST(corrupted_registry_is_refused), TEST(parse_rejects_garbage),
	 TEST(live_names_and_maps), TEST(live_library_scan), TEST(live_autoname))
