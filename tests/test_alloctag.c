// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Allocation tags: counters exact after frees and reallocs, under threads,
 * across fork and dlopen/dlclose; the kill switch; foreign pointers; the
 * reports' formats; the reader of another process (tests/alloctag_hog) and
 * context capture on it; bad input; hostile target memory.
 *
 * Expected figures come from the test's own loop counts and sizes (and
 * alloctag_hog.h for the child), never from memlens' output. Sites are
 * found by file and line, with the line taken by __LINE__ on the line of
 * the allocation.
 *
 * ALLOCTAG_TESTS=name,name runs only those (the TSan build runs the thread
 * tests this way).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/alloctag.h>
#include <memlens/proc.h>

#include "alloctag_hog.h"
#include "tap.h"

/* ---- helpers ------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static const struct ml_alloctag_site *
find(const struct ml_alloctag_snapshot *s, const char *file, int line)
{
	for (size_t i = 0; i < s->n; i++)
		if ((int)s->sites[i].line == line && ends_with(s->sites[i].file, file))
			return &s->sites[i];
	return NULL;
}

/* The live figures of this process's site at @line of this file. */
static void self_site(int line, int64_t *bytes, int64_t *calls)
{
	struct ml_alloctag_snapshot s;
	const struct ml_alloctag_site *t;

	*bytes = *calls = -1;
	if (ml_alloctag_snapshot_self(&s) != 0)
		return;
	t = find(&s, __FILE__, line);
	if (t) {
		*bytes = t->bytes;
		*calls = t->calls;
	}
	ml_alloctag_snapshot_fini(&s);
}

#define CHECK_SITE(line, want_bytes, want_calls)                             \
	do {                                                                 \
		int64_t _sb, _sc;                                            \
		self_site((line), &_sb, &_sc);                               \
		CHECK_EQ(_sb, (want_bytes));                                 \
		CHECK_EQ(_sc, (want_calls));                                 \
	} while (0)

static uint64_t self_foreign(void)
{
	struct ml_alloctag_snapshot s;
	uint64_t n = UINT64_MAX;

	if (ml_alloctag_snapshot_self(&s) == 0) {
		n = s.nr_foreign;
		ml_alloctag_snapshot_fini(&s);
	}
	return n;
}

/* Run a shell command, its stdout and stderr into @out; the exit status. */
/* tests/alloctag_hog, talked to through pipes */
struct hog {
	pid_t pid;
	FILE *in, *out;
	int line_keep, line_part, line_from, line_to, line_capture;
};

static bool hog_start(struct hog *h, const char *arg, bool profiling_off)
{
	int to[2], from[2];
	char line[256];

	memset(h, 0, sizeof(*h));
	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
		return false;
	h->pid = fork();
	if (h->pid < 0)
		return false;
	if (h->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		if (profiling_off)
			setenv("MEMLENS_ALLOC_PROFILING", "0", 1);
		execl(HOG_BIN, HOG_BIN, arg, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	h->in = fdopen(to[1], "w");
	h->out = fdopen(from[0], "r");
	if (!h->in || !h->out || !fgets(line, sizeof(line), h->out))
		return false;
	return sscanf(line, "ready %d %d %d %d %d", &h->line_keep, &h->line_part,
		      &h->line_from, &h->line_to, &h->line_capture) == 5;
}

static bool hog_cmd(struct hog *h, const char *cmd)
{
	char line[64];

	fprintf(h->in, "%s\n", cmd);
	fflush(h->in);
	return fgets(line, sizeof(line), h->out) && strcmp(line, "done\n") == 0;
}

static void hog_stop(struct hog *h)
{
	if (h->in)
		fclose(h->in); /* end of input: it exits */
	if (h->out)
		fclose(h->out);
	if (h->pid > 0)
		waitpid(h->pid, NULL, 0);
}

static struct ml_proc *proc(void)
{
	struct ml_proc *p = NULL;

	CHECK_EQ(ml_proc_new(NULL, &p), 0);
	return p;
}

static bool only(const char *name)
{
	const char *list = getenv("ALLOCTAG_TESTS");
	size_t n = strlen(name);

	if (!list)
		return true;
	for (const char *s = list; (s = strstr(s, name)); s += n)
		if ((s == list || s[-1] == ',') && (s[n] == ',' || !s[n]))
			return true;
	return false;
}

#define SKIP_UNLESS(name)                                                    \
	do {                                                                 \
		if (!only(name)) {                                           \
			printf("# skipped (ALLOCTAG_TESTS)\n");              \
			return;                                              \
		}                                                            \
	} while (0)

/* ---- reports ----------------------------------------------------------------------- */

static void test_formats(void)
{
	/* two sites by hand; spacing from lib/alloc_tag.c (6.12):
	 * "%12lli %8llu " + "file:line [mod] func:f" + " \n" */
	struct ml_alloctag_site sites[] = {
		{ .file = "mm/slub.c", .line = 1826, .func = "alloc_slab_page",
		  .module = "slub", .bytes = 160432128, .calls = 8599 },
		{ .file = "prog.c", .line = 7, .func = "main", .module = "prog",
		  .module_is_main = true, .bytes = 6376390, .calls = 49 },
	};
	struct ml_alloctag_snapshot s = { .sites = sites, .n = 2 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK_EQ(ml_alloctag_dump_snapshot(f, &s, ML_ALLOCTAG_ALLOCINFO, NULL), 0);
	CHECK_EQ(ml_alloctag_dump_snapshot(f, &s, ML_ALLOCTAG_HUMAN, NULL), 0);
	fclose(f);
	/* 160432128 = 153 MiB exactly; 6376390 B = 6.0809... MiB (6.08);
	 * human: "%8s %8lld " as the seed's sort -h output lines up */
	CHECK_STR(buf,
		  "allocinfo - version: 1.0\n"
		  "#     <size>  <calls> <tag info>\n"
		  "   160432128     8599 mm/slub.c:1826 [slub] func:alloc_slab_page \n"
		  "     6376390       49 prog.c:7 func:main \n"
		  "  153MiB     8599 mm/slub.c:1826 module:slub func:alloc_slab_page\n"
		  " 6.08MiB       49 prog.c:7 module:prog func:main\n");
	free(buf);
}

static void test_size_str(void)
{
	char b[24];

	/* string_get_size(): three significant digits, truncated */
	CHECK_STR(ml_alloctag_size_str(b, 0), "0B");
	CHECK_STR(ml_alloctag_size_str(b, 1023), "1023B");
	CHECK_STR(ml_alloctag_size_str(b, 1024), "1.00KiB");
	CHECK_STR(ml_alloctag_size_str(b, 751616), "734KiB"); /* 734 * 1024 */
	CHECK_STR(ml_alloctag_size_str(b, 1048576 + 1048575), "1.99MiB");
	CHECK_STR(ml_alloctag_size_str(b, 10 * 1048576 + 524288), "10.5MiB");
	CHECK_STR(ml_alloctag_size_str(b, -2048), "-2.00KiB");
}

/* ---- in-process counting ---------------------------------------------------------- */

static void test_exact(void)
{
	enum { N = 50 };
	void *p[N];
	char *s1, *s2;
	void *a, *c, *r;
	int l_malloc, l_calloc, l_strdup, l_strndup, l_aligned, l_rarr, l_re;

	SKIP_UNLESS("exact");
	for (int i = 0; i < N; i++) {
		l_malloc = __LINE__; p[i] = ml_malloc((size_t)i + 1);
	}
	/* 1 + 2 + ... + 50 = 1275 bytes in 50 blocks */
	CHECK_SITE(l_malloc, 1275, N);
	for (int i = 0; i < N; i += 2)
		ml_free(p[i]); /* the odd sizes 1, 3, ... 49: 625 bytes, 25 blocks */
	CHECK_SITE(l_malloc, 1275 - 625, N / 2);

	l_calloc = __LINE__; c = ml_calloc(10, 12);
	CHECK_SITE(l_calloc, 120, 1);
	CHECK(((char *)c)[0] == 0 && ((char *)c)[119] == 0);
	l_strdup = __LINE__; s1 = ml_strdup("memlens");
	CHECK_SITE(l_strdup, 8, 1);
	CHECK_STR(s1, "memlens");
	l_strndup = __LINE__; s2 = ml_strndup("allocation", 5);
	CHECK_SITE(l_strndup, 6, 1);
	CHECK_STR(s2, "alloc");
	l_aligned = __LINE__; a = ml_aligned_alloc(256, 1000);
	CHECK(((uintptr_t)a & 255) == 0);
	CHECK_SITE(l_aligned, 1000, 1);
	CHECK(ml_alloc_usable_size(a) >= 1000);
	memset(a, 0xab, 1000);

	/* realloc moves the block to its own site: 40 -> 0, 4000 here */
	l_rarr = __LINE__; r = ml_reallocarray(NULL, 10, 4);
	CHECK_SITE(l_rarr, 40, 1);
	memset(r, 7, 40);
	l_re = __LINE__; r = ml_realloc(r, 4000);
	CHECK_SITE(l_rarr, 0, 0);
	CHECK_SITE(l_re, 4000, 1);
	CHECK(((char *)r)[39] == 7);
	/* overflow: nothing allocated, nothing counted */
	errno = 0;
	CHECK(ml_reallocarray(r, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
	CHECK_SITE(l_re, 4000, 1);
	/* an aligned block reallocated: copied, charged to the realloc site */
	l_re = __LINE__; a = ml_realloc(a, 2000);
	CHECK_SITE(l_aligned, 0, 0);
	CHECK_SITE(l_re, 2000, 1);
	CHECK(((unsigned char *)a)[999] == 0xab);
	/* realloc to 0 frees, as glibc's does */
	CHECK(ml_realloc(c, 0) == NULL);
	CHECK_SITE(l_calloc, 0, 0);

	/* the in-process report, in the kernel's format: 4000 bytes in one
	 * block at the realloc site, the program's own (no [module]) */
	{
		char *buf = NULL, want[256];
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		CHECK_EQ(ml_alloctag_dump(f, ML_ALLOCTAG_ALLOCINFO, NULL), 0);
		fclose(f);
		snprintf(want, sizeof(want), "\n        2000        1 %s:%d func:test_exact \n",
			 __FILE__, l_re);
		CHECK(strncmp(buf, "allocinfo - version: 1.0\n", 25) == 0);
		CHECK(strstr(buf, want) != NULL);
		free(buf);
	}

	for (int i = 1; i < N; i += 2)
		ml_free(p[i]);
	ml_free(s1);
	ml_free(s2);
	ml_free(a);
	ml_free(r);
	CHECK_SITE(l_malloc, 0, 0);
	CHECK_SITE(l_strdup, 0, 0);
	ml_free(NULL);
}

/* A wrapper that allocates on its callers' behalf (the seed's alloc_hooks) */
/*
 * Blocks never start a page (ml_free() would read a page-aligned
 * pointer's header with a system call): glibc puts about one small block
 * in 256 where the pointer would, so among 20,000 some do; each is moved,
 * keeps its contents and its accounting, and frees exactly.
 */
static void test_no_page_start(void)
{
	enum { N = 20000 };
	static char *p[N];
	int64_t want_m = 0, want_c = 0, nr_m = 0, nr_c = 0;
	int l_m = 0, l_c = 0;
	size_t page_starts = 0, bad = 0;

	for (int i = 0; i < N; i++) {
		size_t n = 8 + (size_t)(i % 30) * 8;

		if (i % 3) {
			l_m = __LINE__; p[i] = ml_malloc(n);
			want_m += (int64_t)n;
			nr_m++;
		} else {
			l_c = __LINE__; p[i] = ml_calloc(1, n);
			want_c += (int64_t)n;
			nr_c++;
			bad += !p[i] || p[i][0] || p[i][n - 1];
		}
		if (!p[i])
			return;
		page_starts += !((uintptr_t)p[i] & 4095);
		memset(p[i], i & 0xff, n);
	}
	CHECK_SITE(l_m, want_m, nr_m);
	CHECK_SITE(l_c, want_c, nr_c);
	CHECK_EQ(page_starts, 0);
	CHECK_EQ(bad, 0);
	for (int i = 0; i < N; i++) {
		size_t n = 8 + (size_t)(i % 30) * 8;

		/* grow: realloc's result obeys the same rule */
		p[i] = ml_realloc(p[i], n + 16);
		page_starts += !((uintptr_t)p[i] & 4095);
		bad += (unsigned char)p[i][n - 1] != (i & 0xff);
	}
	CHECK_EQ(page_starts, 0);
	CHECK_EQ(bad, 0);
	for (int i = 0; i < N; i++)
		ml_free(p[i]);
	CHECK_SITE(l_m, 0, 0);
	CHECK_SITE(l_c, 0, 0);
}

static uint64_t nr_foreign(void)
{
	struct ml_alloctag_snapshot s;
	uint64_t n;

	if (ml_alloctag_snapshot_self(&s) != 0)
		return UINT64_MAX;
	n = s.nr_foreign;
	ml_alloctag_snapshot_fini(&s);
	return n;
}

/*
 * Blocks below ML_ALLOC_HDR_SHORT_MAX carry a 16-byte header, bigger ones
 * a 32-byte one: sizes either side of the line, and reallocs that cross
 * it both ways, keep their contents and count exactly.
 */
static void test_header_forms(void)
{
	const size_t lim = ML_ALLOC_HDR_SHORT_MAX;
	const size_t sizes[] = { 1, lim - 1, lim, lim + 1, 3 * lim };
	enum { NR = sizeof(sizes) / sizeof(sizes[0]) };
	unsigned char *p[NR];
	uint64_t foreign0 = nr_foreign();
	int64_t want = 0;
	int l_m = 0, l_r = 0;

	SKIP_UNLESS("header_forms");
	for (int i = 0; i < NR; i++) {
		l_m = __LINE__; p[i] = ml_malloc(sizes[i]);
		if (!p[i])
			return;
		memset(p[i], 0x40 + i, sizes[i]);
		want += (int64_t)sizes[i];
		CHECK(ml_alloc_usable_size(p[i]) >= sizes[i]);
	}
	CHECK_SITE(l_m, want, NR);
	/* short -> long, long -> short, long -> long, short -> short */
	const size_t to[NR] = { 2 * lim, 100, lim + 5000, lim - 3, 1 };
	int64_t want_r = 0;

	for (int i = 0; i < NR; i++) {
		size_t keep = sizes[i] < to[i] ? sizes[i] : to[i];
		unsigned char *q;
		size_t bad = 0;

		l_r = __LINE__; q = ml_realloc(p[i], to[i]);
		if (!q)
			return;
		p[i] = q;
		for (size_t j = 0; j < keep; j++)
			bad += q[j] != 0x40 + i;
		CHECK_EQ(bad, 0);
		CHECK(ml_alloc_usable_size(q) >= to[i]);
		want_r += (int64_t)to[i];
	}
	CHECK_SITE(l_m, 0, 0);
	CHECK_SITE(l_r, want_r, NR);
	for (int i = 0; i < NR; i++)
		ml_free(p[i]);
	CHECK_SITE(l_r, 0, 0);
	/* every block was recognised as ours: no foreign pointer freed */
	CHECK_EQ(nr_foreign(), foreign0);
}

static void *buf_new_noprof(size_t n)
{
	return ml_malloc_noprof(n);
}
#define buf_new(n) ML_ALLOC_HOOKS(buf_new_noprof(n))

static void test_hooks(void)
{
	struct ml_alloctag_snapshot s;
	const struct ml_alloctag_site *u;
	int64_t before = 0;
	void *a, *b, *c;
	int l_a, l_b;

	SKIP_UNLESS("hooks");
	CHECK_EQ(ml_alloctag_snapshot_self(&s), 0);
	u = find(&s, "(untagged)", 0);
	before = u ? u->bytes : 0; /* listed only when it holds something */
	ml_alloctag_snapshot_fini(&s);

	l_a = __LINE__; a = buf_new(100);
	l_b = __LINE__; b = buf_new(200);
	CHECK_SITE(l_a, 100, 1);
	CHECK_SITE(l_b, 200, 1);
	CHECK(ml_alloc_current_tag == NULL);
	/* _noprof outside a hook: the untagged site */
	c = buf_new_noprof(33);
	CHECK_EQ(ml_alloctag_snapshot_self(&s), 0);
	u = find(&s, "(untagged)", 0);
	CHECK(u && u->bytes == before + 33);
	ml_alloctag_snapshot_fini(&s);
	ml_free(a);
	ml_free(b);
	ml_free(c);
	CHECK_SITE(l_a, 0, 0);
}

static void test_foreign(void)
{
	char path[] = "/tmp/memlens-alloctag-XXXXXX";
	uint64_t before = self_foreign();
	int fd = mkstemp(path), saved;
	char buf[1024];
	ssize_t n;
	char *q, *r;
	int l_r, count = 0;

	SKIP_UNLESS("foreign");
	CHECK(fd >= 0);
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	ml_free(malloc(24));
	ml_free(malloc(100000)); /* an mmap'd chunk */
	ml_free(aligned_alloc(4096, 4096)); /* page-aligned: the careful read */
	q = malloc(10);
	strcpy(q, "foreign");
	l_r = __LINE__; r = ml_realloc(q, 20); /* becomes a tagged block */
	CHECK_STR(r, "foreign");
	CHECK_SITE(l_r, 20, 1);
	ml_free(r);
	dup2(saved, 2);
	close(saved);
	CHECK_EQ(self_foreign() - before, 4);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	for (char *s = buf; (s = strstr(s, "not allocated through memlens")); s++)
		count++;
	CHECK_EQ(count, 1); /* warned once */
	close(fd);
}

/* ---- threads ----------------------------------------------------------------------- */

#define NR_THREADS 4
#define ITERS 20000
static int line_thr;

struct thr {
	void *kept[ITERS / 2];
	size_t nr_kept;
};

static void *thr_fn(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < ITERS; i++) {
		size_t sz = 8 + (size_t)(i % 30) * 8; /* 8 .. 240 */
		void *p;

		__atomic_store_n(&line_thr, __LINE__, __ATOMIC_RELAXED); p = ml_malloc(sz);
		if (i % 2)
			ml_free(p);
		else
			t->kept[t->nr_kept++] = p;
	}
	return NULL;
}

static int line_many;
static void *many_fn(void *arg)
{
	void **kept = arg;

	for (int i = 0; i < 10; i++) {
		__atomic_store_n(&line_many, __LINE__, __ATOMIC_RELAXED); kept[i] = ml_malloc(64);
	}
	return NULL;
}

static void test_threads(void)
{
	static struct thr t[NR_THREADS];
	static void *many[40][10];
	pthread_t tid[40];
	int64_t bytes = 0, calls = 0;

	SKIP_UNLESS("threads");
	for (int i = 0; i < NR_THREADS; i++)
		pthread_create(&tid[i], NULL, thr_fn, &t[i]);
	for (int i = 0; i < NR_THREADS; i++)
		pthread_join(tid[i], NULL);
	/* each thread keeps the even iterations: i % 30 for i = 0, 2, ...
	 * 19998; the sum of 8 + 8 * (i % 30) over them, computed here */
	for (int i = 0; i < ITERS; i += 2) {
		bytes += 8 + (i % 30) * 8;
		calls++;
	}
	bytes *= NR_THREADS;
	calls *= NR_THREADS;
	CHECK_SITE(line_thr, bytes, calls);
	/* frees from another thread than the allocator: half of each */
	for (int i = 0; i < NR_THREADS; i++)
		for (size_t k = 0; k < t[i].nr_kept; k += 2) {
			bytes -= 8 + (int64_t)((2 * k) % 30) * 8;
			calls--;
			ml_free(t[i].kept[k]);
		}
	CHECK_SITE(line_thr, bytes, calls);
	for (int i = 0; i < NR_THREADS; i++)
		for (size_t k = 1; k < t[i].nr_kept; k += 2)
			ml_free(t[i].kept[k]);
	CHECK_SITE(line_thr, 0, 0);

	/* more threads at once than there are owned shards: the shared one */
	for (int i = 0; i < 40; i++)
		pthread_create(&tid[i], NULL, many_fn, many[i]);
	for (int i = 0; i < 40; i++)
		pthread_join(tid[i], NULL);
	CHECK_SITE(line_many, 40 * 10 * 64, 40 * 10);
	for (int i = 0; i < 40; i++)
		for (int k = 0; k < 10; k++)
			ml_free(many[i][k]);
	CHECK_SITE(line_many, 0, 0);
}

/* ---- fork ---------------------------------------------------------------------------- */

static int line_fork;
static void *fork_alloc(size_t n)
{
	line_fork = __LINE__; return ml_malloc(n);
}

static void test_fork(void)
{
	void *p[10];
	int st = -1;
	pid_t pid;

	SKIP_UNLESS("fork");
	for (int i = 0; i < 7; i++)
		p[i] = fork_alloc(111);
	pid = fork();
	if (pid == 0) {
		int64_t b, c;
		bool ok;

		/* the child goes on from the parent's 7 * 111 */
		for (int i = 7; i < 10; i++)
			p[i] = fork_alloc(111);
		ml_free(p[0]);
		ml_free(p[1]);
		self_site(line_fork, &b, &c);
		ok = b == 8 * 111 && c == 8;
		for (int i = 2; i < 10; i++)
			ml_free(p[i]);
		self_site(line_fork, &b, &c);
		_exit(ok && b == 0 && c == 0 ? 0 : 1);
	}
	CHECK(pid > 0);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the parent's own figures did not move */
	CHECK_SITE(line_fork, 7 * 111, 7);
	for (int i = 0; i < 7; i++)
		ml_free(p[i]);
}

/* ---- dlopen / dlclose ----------------------------------------------------------------- */

static void test_dlopen(void)
{
	struct ml_alloctag_snapshot s;
	const struct ml_alloctag_site *t;
	void *(*dl_alloc)(size_t);
	struct ml_proc *pr;
	void *h, *p[3];
	int line;

	SKIP_UNLESS("dlopen");
	h = dlopen(DL_SO, RTLD_NOW | RTLD_LOCAL);
	CHECK(h != NULL);
	if (!h)
		return;
	dl_alloc = (void *(*)(size_t))dlsym(h, "dl_alloc");
	for (int i = 0; i < 3; i++)
		p[i] = dl_alloc(50);
	line = *(int *)dlsym(h, "dl_line");
	CHECK_EQ(ml_alloctag_snapshot_self(&s), 0);
	t = find(&s, "alloctag_dl.c", line);
	CHECK(t && t->bytes == 150 && t->calls == 3);
	CHECK(t && strcmp(t->module, "liballoctag_dl") == 0 && !t->module_is_main);
	CHECK(t && ends_with(t->object, "/liballoctag_dl.so"));
	ml_alloctag_snapshot_fini(&s);
	/* from outside: the library's own section */
	pr = proc();
	CHECK_EQ(ml_alloctag_read(pr, getpid(), NULL, &s), 0);
	t = find(&s, "alloctag_dl.c", line);
	CHECK(t && t->bytes == 150 && t->calls == 3 && !(t->flags & ML_ALLOC_TAG_ORPHAN));
	CHECK(t && strcmp(t->module, "liballoctag_dl") == 0 &&
	      ends_with(t->object, "/liballoctag_dl.so"));
	ml_alloctag_snapshot_fini(&s);

	CHECK_EQ(dlclose(h), 0);
	/* the library is gone; its site lives on with its blocks */
	CHECK(dlopen(DL_SO, RTLD_NOW | RTLD_NOLOAD) == NULL);
	CHECK_EQ(ml_alloctag_snapshot_self(&s), 0);
	t = find(&s, "alloctag_dl.c", line);
	CHECK(t && t->bytes == 150 && t->calls == 3 &&
	      (t->flags & ML_ALLOC_TAG_ORPHAN));
	ml_alloctag_snapshot_fini(&s);
	/* and outside readers see it in the runtime tag blocks */
	CHECK_EQ(ml_alloctag_read(pr, getpid(), NULL, &s), 0);
	t = find(&s, "alloctag_dl.c", line);
	CHECK(t && t->bytes == 150 && t->calls == 3 &&
	      strcmp(t->func, "dl_alloc") == 0);
	ml_alloctag_snapshot_fini(&s);
	ml_free(p[0]);
	ml_free(p[1]);
	CHECK_EQ(ml_alloctag_snapshot_self(&s), 0);
	t = find(&s, "alloctag_dl.c", line);
	CHECK(t && t->bytes == 50 && t->calls == 1);
	ml_alloctag_snapshot_fini(&s);
	ml_free(p[2]);
	/* nothing left: no longer listed */
	CHECK_EQ(ml_alloctag_snapshot_self(&s), 0);
	CHECK(find(&s, "alloctag_dl.c", line) == NULL);
	ml_alloctag_snapshot_fini(&s);
	ml_proc_free(pr);
}

/* ---- kill switch ------------------------------------------------------------------------ */

static void test_kill_switch(void)
{
	struct ml_alloctag_snapshot s;
	const struct ml_alloctag_site *t;
	uint64_t foreign = self_foreign();
	struct ml_proc *pr;
	struct hog h;
	void *p, *q;
	int l_off, l_on;

	SKIP_UNLESS("kill_switch");
	CHECK(ml_alloctag_enable(false) == true);
	CHECK(!ml_alloctag_enabled());
	l_off = __LINE__; p = ml_malloc(100);
	CHECK_SITE(l_off, 0, 0);
	ml_free(p); /* header-less, and expected: not a foreign pointer */
	CHECK_EQ(self_foreign(), foreign);
	CHECK(ml_alloctag_enable(true) == false);
	/* a block from while it was on keeps its accounting while off */
	l_on = __LINE__; q = ml_malloc(100);
	ml_alloctag_enable(false);
	q = ml_realloc(q, 200);
	CHECK_SITE(l_on, 200, 1);
	ml_free(q);
	CHECK_SITE(l_on, 0, 0);
	ml_alloctag_enable(true);

	/* MEMLENS_ALLOC_PROFILING=0 at start: nothing counted */
	pr = proc();
	CHECK(hog_start(&h, NULL, true));
	CHECK_EQ(ml_alloctag_read(pr, h.pid, NULL, &s), 0);
	CHECK(!s.enabled);
	t = find(&s, "alloctag_hog.c", h.line_keep);
	CHECK(t && t->bytes == 0 && t->calls == 0);
	ml_alloctag_snapshot_fini(&s);
	hog_stop(&h);
	ml_proc_free(pr);
}

/* ---- another process ---------------------------------------------------------------------- */

static void test_external(void)
{
	struct ml_alloctag_snapshot s;
	const struct ml_alloctag_site *t;
	struct ml_proc *pr = proc();
	char out[16384], want[128], *l;
	long long b = -1, c = -1;
	struct hog h;

	SKIP_UNLESS("external");
	CHECK(hog_start(&h, NULL, false));
	CHECK_EQ(ml_alloctag_read(pr, h.pid, NULL, &s), 0);
	CHECK(s.enabled && s.nr_roots == 1);
	t = find(&s, "alloctag_hog.c", h.line_keep);
	CHECK(t && t->bytes == HOG_KEEP_N * HOG_KEEP_SIZE && t->calls == HOG_KEEP_N);
	CHECK(t && t->module_is_main && strcmp(t->module, "alloctag_hog") == 0 &&
	      strcmp(t->func, "main") == 0 && ends_with(t->object, "/alloctag_hog"));
	t = find(&s, "alloctag_hog.c", h.line_part);
	CHECK(t && t->bytes == (HOG_PART_N - HOG_PART_FREED) * HOG_PART_SIZE &&
	      t->calls == HOG_PART_N - HOG_PART_FREED);
	t = find(&s, "alloctag_hog.c", h.line_from);
	CHECK(t && t->bytes == 0 && t->calls == 0);
	t = find(&s, "alloctag_hog.c", h.line_to);
	CHECK(t && t->bytes == HOG_REALLOC_N * HOG_REALLOC_TO &&
	      t->calls == HOG_REALLOC_N);
	t = find(&s, "alloctag_hog.c", h.line_capture);
	CHECK(t && t->bytes == 0 && t->calls == 0 &&
	      strcmp(t->func, "hog_capture_site") == 0);
	ml_alloctag_snapshot_fini(&s);

	/* the command, in the kernel's format */
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --allocinfo %d", MEMLENS_BIN,
		     (int)h.pid), 0);
	CHECK(strncmp(out, "allocinfo - version: 1.0\n", 25) == 0);
	snprintf(want, sizeof(want), "alloctag_hog.c:%d func:main \n", h.line_keep);
	l = strstr(out, want);
	CHECK(l != NULL);
	if (l) {
		while (l > out && l[-1] != '\n')
			l--;
		CHECK(sscanf(l, "%lld %lld", &b, &c) == 2);
	}
	CHECK_EQ(b, HOG_KEEP_N * HOG_KEEP_SIZE);
	CHECK_EQ(c, HOG_KEEP_N);
	/* human, --top, --sort calls, --module, --json */
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --top 1 %d", MEMLENS_BIN,
		     (int)h.pid), 0);
	snprintf(want, sizeof(want), "alloctag_hog.c:%d module:alloctag_hog func:main\n",
		 h.line_keep);
	CHECK(strstr(out, want) && strchr(out, '\n') == strrchr(out, '\n'));
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo -n 1 --sort calls %d",
		     MEMLENS_BIN, (int)h.pid), 0);
	CHECK(strstr(out, want) != NULL); /* 100 calls beat 6 and 5 */
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --module nosuch %d",
		     MEMLENS_BIN, (int)h.pid), 0);
	CHECK_STR(out, "");
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --module alloctag_hog -n 1 %d",
		     MEMLENS_BIN, (int)h.pid), 0);
	CHECK(strstr(out, want) != NULL);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --json %d", MEMLENS_BIN,
		     (int)h.pid), 0);
	snprintf(want, sizeof(want), "\"line\": %d", h.line_keep);
	CHECK(strstr(out, want) && strstr(out, "\"bytes\": 100000"));

	/* --interval: only the site that grew in between */
	{
		char cmd[256];
		FILE *f;
		size_t n;

		/* the first snapshot takes milliseconds: the allocation
		 * 1.5 s in falls between the two */
		snprintf(cmd, sizeof(cmd), "%s allocinfo --interval 3 -b %d",
			 MEMLENS_BIN, (int)h.pid);
		f = popen(cmd, "r");
		usleep(1500000);
		CHECK(hog_cmd(&h, "alloc"));
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		CHECK_EQ(pclose(f), 0);
		snprintf(want, sizeof(want), "+%-8d %+9d  %8d %8d ",
			 HOG_CAPTURE_N * HOG_CAPTURE_SIZE, HOG_CAPTURE_N,
			 HOG_CAPTURE_N * HOG_CAPTURE_SIZE, HOG_CAPTURE_N);
		CHECK(strstr(out, "grew in 3s (1 site):\n") && strstr(out, want));
		snprintf(want, sizeof(want), "alloctag_hog.c:%d module:alloctag_hog "
			 "func:hog_capture_site\n", h.line_capture);
		CHECK(strstr(out, want) != NULL);
		if (!strstr(out, want))
			printf("# %s", out);
	}
	hog_stop(&h);
	ml_proc_free(pr);
}

static void test_capture(void)
{
	struct ml_alloctag_snapshot s;
	const struct ml_alloctag_site *t;
	ML_OPTS(ml_alloctag_read_opts, ro, .context = true);
	struct ml_proc *pr = proc();
	char out[16384], spec[64];
	char syms[2][ML_ALLOCTAG_SYM_MAX];
	struct hog h;
	size_t n = 0;

	SKIP_UNLESS("capture");
	CHECK(hog_start(&h, NULL, false));
	CHECK_EQ(ml_alloctag_capture(pr, h.pid, "alloctag_hog.c", h.line_capture,
				     true, &n), 0);
	CHECK_EQ(n, 1);
	CHECK(hog_cmd(&h, "alloc"));
	CHECK_EQ(ml_alloctag_read(pr, h.pid, &ro, &s), 0);
	CHECK_EQ(s.nr_ctx, HOG_CAPTURE_N);
	for (size_t i = 0; i < s.nr_ctx; i++) {
		const struct ml_alloctag_ctx *c = &s.ctx[i];

		CHECK_EQ(c->size, HOG_CAPTURE_SIZE);
		CHECK_EQ(c->pid, h.pid);
		CHECK_EQ(c->tid, h.pid);
		CHECK_STR(c->comm, "alloctag_hog");
		CHECK(c->site && (int)c->site->line == h.line_capture &&
		      c->site->capture);
		CHECK(c->nr_frames >= 2);
		if (i == 0 && c->nr_frames >= 2) {
			CHECK_EQ(ml_alloctag_symbolize(pr, h.pid, c->frames, 2, syms), 0);
			/* innermost first: the site's function, then its caller */
			CHECK(strncmp(syms[0], "hog_capture_site+", 17) == 0);
			CHECK(strncmp(syms[1], "main+", 5) == 0);
			printf("# %s | %s\n", syms[0], syms[1]);
		}
		if (i)
			CHECK(c->ts_ns >= c[-1].ts_ns && c->seq == c[-1].seq + 1);
	}
	ml_alloctag_snapshot_fini(&s);
	/* the command prints them symbolized */
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --context %d", MEMLENS_BIN,
		     (int)h.pid), 0);
	CHECK(strstr(out, "    comm: alloctag_hog\n") &&
	      strstr(out, "         hog_capture_site+"));

	/* off (through the command): no new records */
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --capture-off %d",
		     MEMLENS_BIN, (int)h.pid), 0);
	CHECK(strncmp(out, "capture off for 1 site of PID ", 30) == 0);
	CHECK(hog_cmd(&h, "alloc"));
	CHECK_EQ(ml_alloctag_read(pr, h.pid, &ro, &s), 0);
	CHECK_EQ(s.nr_ctx, HOG_CAPTURE_N);
	t = find(&s, "alloctag_hog.c", h.line_capture);
	CHECK(t && !t->capture && t->calls == 2 * HOG_CAPTURE_N);
	ml_alloctag_snapshot_fini(&s);
	/* and on again through the command */
	snprintf(spec, sizeof(spec), "alloctag_hog.c:%d", h.line_capture);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --capture %s %d", MEMLENS_BIN,
		     spec, (int)h.pid), 0);
	CHECK(hog_cmd(&h, "alloc"));
	CHECK_EQ(ml_alloctag_read(pr, h.pid, &ro, &s), 0);
	CHECK_EQ(s.nr_ctx, 2 * HOG_CAPTURE_N);
	ml_alloctag_snapshot_fini(&s);
	hog_stop(&h);
	ml_proc_free(pr);
}

static void test_bad_input(void)
{
	struct ml_alloctag_snapshot s;
	struct ml_proc *pr = proc();
	char out[4096], want[128];
	struct hog h;
	size_t n;
	pid_t pid;

	SKIP_UNLESS("bad_input");
	CHECK(hog_start(&h, NULL, false));
	/* a capture spec that names no site */
	CHECK_EQ(ml_alloctag_capture(pr, h.pid, "alloctag_hog.c", 1, true, &n),
		 -ENOENT);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --capture nosuch.c:12 %d",
		     MEMLENS_BIN, (int)h.pid), 1);
	snprintf(want, sizeof(want), "memlens: allocinfo: nosuch.c:12: no "
		 "allocation site there in PID %d\n", (int)h.pid);
	CHECK_STR(out, want);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --capture nosuch.c %d",
		     MEMLENS_BIN, (int)h.pid), 2);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --sort size %d",
		     MEMLENS_BIN, (int)h.pid), 2);
	hog_stop(&h);

	/* a process without tags */
	pid = fork();
	if (pid == 0) {
		execlp("sleep", "sleep", "10", (char *)NULL);
		_exit(127);
	}
	usleep(100000);
	CHECK_EQ(ml_alloctag_read(pr, pid, NULL, &s), -ENOENT);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo %d", MEMLENS_BIN, (int)pid), 1);
	snprintf(want, sizeof(want), "memlens: allocinfo: no allocation tags in "
		 "PID %d\n", (int)pid);
	CHECK_STR(out, want);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* gone: no such process */
	CHECK_EQ(ml_alloctag_read(pr, pid, NULL, &s), -ESRCH);
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo %d", MEMLENS_BIN, (int)pid), 1);

	/* a process that exits during the read (between two snapshots); it
	 * stays a zombie, which has no memory left to read */
	CHECK(hog_start(&h, "exit-soon", false));
	CHECK_EQ(tap_sh(out, sizeof(out), "%s allocinfo --interval 2 %d", MEMLENS_BIN,
		     (int)h.pid), 1);
	snprintf(want, sizeof(want), "memlens: allocinfo: PID %d exited during "
		 "the read\n", (int)h.pid);
	CHECK_STR(out, want);
	CHECK_EQ(ml_alloctag_read(pr, h.pid, NULL, &s), -ESRCH);
	hog_stop(&h);
	ml_proc_free(pr);
}

/* ---- hostile target memory ---------------------------------------------------------------- */

#define FAKE_BASE 0x100000ull
#define FAKE_SIZE (256 * 1024)
static uint8_t fake[FAKE_SIZE] __attribute__((aligned(64)));

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	if (addr < FAKE_BASE || addr - FAKE_BASE > FAKE_SIZE ||
	    len > FAKE_SIZE - (addr - FAKE_BASE))
		return -EFAULT;
	memcpy(buf, fake + (addr - FAKE_BASE), len);
	return 0;
}

#define AT(off) ((void *)(uintptr_t)(FAKE_BASE + (off)))
#define TAGS 65536 /* the tag section's offset */

static int fake_parse(uint64_t sec, uint64_t size, uint64_t root,
		      struct ml_alloctag_snapshot *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	err = ml_alloctag_parse(fake_read, NULL, sec ? FAKE_BASE + sec : 0, size,
				root ? FAKE_BASE + root : 0, "/x/libfake.so",
				false, true, s);
	if (!err)
		ml_alloctag_parse_done(s);
	return err;
}

static void test_hostile(void)
{
	struct ml_alloc_tag *tags = (void *)(fake + TAGS);
	struct ml_alloc_rt *rt = (void *)(fake + 4096);
	struct ml_alloctag_snapshot s;
	struct ml_alloc_root *root = (void *)(fake + 8192);
	struct ml_alloc_tag_block *blk = (void *)(fake + 12288);
	struct ml_alloc_ring *ring = (void *)(fake + 16384);
	int64_t *sh;

	SKIP_UNLESS("hostile");
	memset(fake, 0, sizeof(fake));
	/* tag 0: good, counters in 4 shards 16 bytes apart */
	strcpy((char *)fake + 2048, "src/a.c");
	strcpy((char *)fake + 2100, "fn");
	tags[0] = (struct ml_alloc_tag){ .magic = ML_ALLOC_TAG_MAGIC, .lineno = 12,
		.filename = AT(2048), .function = AT(2100), .rt = AT(4096) };
	*rt = (struct ml_alloc_rt){ .magic = ML_ALLOC_RT_MAGIC, .nr_shards = 4,
		.shard_stride = 16, .tag = AT(TAGS) };
	sh = (int64_t *)(fake + 4096 + ML_ALLOC_RT_HDR_SIZE);
	sh[0] = 100; sh[1] = 2; sh[2] = 50; sh[3] = 1; sh[4] = -30; sh[5] = -1;
	/* tag 1: bad magic, skipped; tag 2: counters that name tag 0 (not
	 * counted twice), a file name with no NUL before 600 bytes */
	tags[1].magic = 0xdeadbeef;
	memset(fake + 3000, 'x', 600);
	fake[3000 + 5] = '\n';
	tags[2] = (struct ml_alloc_tag){ .magic = ML_ALLOC_TAG_MAGIC, .lineno = 3,
		.filename = AT(3000), .function = AT(FAKE_SIZE + 5000),
		.rt = AT(4096) };
	CHECK_EQ(fake_parse(TAGS, 3 * 64, 0, &s), 0);
	CHECK_EQ(s.n, 2);
	if (s.n == 2) {
		/* 100 + 50 - 30 bytes, 2 + 1 - 1 calls */
		CHECK_EQ(s.sites[0].bytes, 120);
		CHECK_EQ(s.sites[0].calls, 2);
		CHECK_STR(s.sites[0].file, "src/a.c");
		CHECK_STR(s.sites[0].module, "libfake");
		CHECK_EQ(s.sites[1].bytes, 0);
		CHECK_EQ(strlen(s.sites[1].file), ML_ALLOC_STR_MAX - 1);
		CHECK(s.sites[1].file[5] == '?');
		CHECK_STR(s.sites[1].func, "(unreadable)");
	}
	ml_alloctag_snapshot_fini(&s);
	/* a section that is not whole tags, or beyond the readable */
	CHECK_EQ(fake_parse(TAGS, 100, 0, &s), -EPROTO);
	CHECK_EQ(fake_parse(FAKE_SIZE - 64, 128, 0, &s), -EFAULT);
	/* shards that overflow: no figures */
	sh[0] = INT64_MAX;
	CHECK_EQ(fake_parse(TAGS, 64, 0, &s), 0);
	CHECK(s.n == 1 && s.sites[0].bytes == 0);
	ml_alloctag_snapshot_fini(&s);
	sh[0] = 100;
	/* more shards than a reader takes */
	rt->nr_shards = 100000;
	CHECK_EQ(fake_parse(TAGS, 64, 0, &s), 0);
	CHECK(s.n == 1 && s.sites[0].bytes == 0);
	ml_alloctag_snapshot_fini(&s);
	rt->nr_shards = 4;

	/* a root whose block list loops on itself */
	memcpy(root->magic, ML_ALLOC_ROOT_MAGIC, 8);
	root->version = ML_ALLOC_VERSION;
	root->size = sizeof(*root);
	root->self = FAKE_BASE + 8192;
	root->tag_size = ML_ALLOC_TAG_SIZE;
	root->dyn_head = AT(12288);
	blk->magic = ML_ALLOC_BLOCK_MAGIC;
	blk->nr_tags = 4;
	blk->nr_used = 1;
	blk->next = AT(12288);
	blk->tags[0] = tags[0];
	CHECK_EQ(fake_parse(0, 0, 8192, &s), -ELOOP);
	ml_alloctag_snapshot_fini(&s);
	/* more used than there are */
	blk->next = NULL;
	blk->nr_used = 5;
	CHECK_EQ(fake_parse(0, 0, 8192, &s), -EPROTO);
	ml_alloctag_snapshot_fini(&s);
	blk->nr_used = 1;
	/* a root that is not where it says */
	root->self = 1;
	CHECK_EQ(fake_parse(0, 0, 8192, &s), -EPROTO);
	ml_alloctag_snapshot_fini(&s);
	root->self = FAKE_BASE + 8192;
	/* a ring of absurd size, then a sane one with one whole record, one
	 * torn (seq 0) and one from a lap ago */
	root->ring = AT(16384);
	ring->magic = ML_ALLOC_RING_MAGIC;
	ring->nr_slots = 1u << 30;
	ring->record_size = sizeof(struct ml_alloc_ctx);
	CHECK_EQ(fake_parse(0, 0, 8192, &s), -EPROTO);
	ml_alloctag_snapshot_fini(&s);
	ring->nr_slots = 4;
	ring->head = 7; /* records 3..6 are in the ring */
	ring->slots[3].seq = 4; ring->slots[3].size = 1; ring->slots[3].nr_frames = 1;
	ring->slots[0].seq = 0;
	ring->slots[1].seq = 2; /* record 1: overwritten long ago */
	ring->slots[2].seq = 7; ring->slots[2].size = 9; ring->slots[2].nr_frames = 99;
	CHECK_EQ(fake_parse(0, 0, 8192, &s), 0);
	CHECK_EQ(s.nr_ctx, 1);
	CHECK(s.nr_ctx == 1 && s.ctx[0].size == 1);
	CHECK_EQ(s.n, 1); /* the one runtime tag */
	ml_alloctag_snapshot_fini(&s);
}

TAP_MAIN(TEST(test_formats), TEST(test_size_str), TEST(test_exact),
	 TEST(test_no_page_start),
	 TEST(test_header_forms),
	 TEST(test_hooks), TEST(test_foreign), TEST(test_threads),
	 TEST(test_fork), TEST(test_dlopen), TEST(test_kill_switch),
	 TEST(test_external), TEST(test_capture), TEST(test_bad_input),
	 TEST(test_hostile))
