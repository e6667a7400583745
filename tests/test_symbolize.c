// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The symbolizer (lib/vmaq/symbolize.c) on a live process: tests/symtarget
 * prints the return addresses of calls it makes at known lines (__LINE__
 * on the line of the call: the truth comes from the compiler, not from
 * the symbolizer) and the function each lies in; this test symbolizes
 * them from outside and compares. Also: a libc function by name, a heap
 * address (no file: -ENOEXEC), an unmapped one (-ENOENT), and the same
 * answers through the maps-text fallback, for a batch with repeats, and
 * for a stripped copy whose DWARF is in a separate file (.gnu_debuglink).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/symbolize.h>

#include "tap.h"

extern char **environ;

#define MAX_SITES 8

struct target {
	pid_t pid;
	int in_fd; /* its stdin: closing it ends the target */
	size_t nr_sites;
	char func[MAX_SITES][32];
	uint64_t ra[MAX_SITES];
	uint32_t line[MAX_SITES];
	uint64_t malloc_addr, heap_addr;
};

static bool start_target_at(struct target *t, const char *path)
{
	int in[2], out[2];
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)path, NULL };
	char buf[256];
	FILE *f;

	memset(t, 0, sizeof(*t));
	if (pipe(in) || pipe(out))
		return false;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	if (posix_spawn(&t->pid, argv[0], &fa, NULL, argv, environ))
		return false;
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	t->in_fd = in[1];
	f = fdopen(out[0], "r");
	while (f && fgets(buf, sizeof(buf), f)) {
		char name[32];
		unsigned long long a;
		unsigned line;

		if (strcmp(buf, "ready\n") == 0) {
			fclose(f);
			return true;
		}
		if (sscanf(buf, "site %31s %llx %u", name, &a, &line) == 3 &&
		    t->nr_sites < MAX_SITES) {
			strcpy(t->func[t->nr_sites], name);
			t->ra[t->nr_sites] = a;
			t->line[t->nr_sites++] = line;
		} else if (sscanf(buf, "func malloc %llx", &a) == 1) {
			t->malloc_addr = a;
		} else if (sscanf(buf, "anon %llx", &a) == 1) {
			t->heap_addr = a;
		}
	}
	if (f)
		fclose(f);
	return false;
}

static bool start_target(struct target *t)
{
	return start_target_at(t, SYMTARGET_BIN);
}

static void stop_target(struct target *t)
{
	close(t->in_fd);
	waitpid(t->pid, NULL, 0);
}

static const char *base(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path;
}

static void check_sites_of(bool no_ioctl, const char *path)
{
	ML_OPTS(ml_symbolizer_opts, o, .return_addrs = true,
		.no_ioctl = no_ioctl);
	struct ml_symbolizer *s = NULL;
	struct ml_proc *p = NULL;
	struct target t;
	struct ml_sym sym[MAX_SITES * 2];
	uint64_t addrs[MAX_SITES * 2];

	CHECK(start_target_at(&t, path));
	CHECK_EQ(t.nr_sites, 3);
	CHECK_EQ(ml_proc_new(NULL, &p), 0);
	CHECK_EQ(ml_symbolizer_open(p, t.pid, &o, &s), 0);
	/* each site twice, second half in reverse: a batch with repeats */
	for (size_t i = 0; i < t.nr_sites; i++) {
		addrs[i] = t.ra[i];
		addrs[2 * t.nr_sites - 1 - i] = t.ra[i];
	}
	CHECK_EQ(ml_symbolize(s, addrs, 2 * t.nr_sites, sym), 0);
	for (size_t k = 0; k < 2 * t.nr_sites; k++) {
		size_t i = k < t.nr_sites ? k : 2 * t.nr_sites - 1 - k;

		printf("# %s: %s at %s:%u (want %s line %u)\n", t.func[i],
		       sym[k].func ? sym[k].func : "?",
		       sym[k].file ? base(sym[k].file) : "?", sym[k].line,
		       t.func[i], t.line[i]);
		CHECK_EQ(sym[k].err, 0);
		CHECK_STR(sym[k].object, path);
		CHECK_STR(sym[k].func, t.func[i]);
		CHECK_STR(base(sym[k].file), "symtarget.c");
		CHECK_EQ(sym[k].line, t.line[i]);
		CHECK_EQ(sym[k].inlined, strcmp(t.func[i], "gamma_inline") == 0);
	}
	ml_symbolizer_close(s);
	ml_proc_free(p);
	stop_target(&t);
}

static void check_sites(bool no_ioctl)
{
	check_sites_of(no_ioctl, SYMTARGET_BIN);
}

/*
 * A stripped copy whose DWARF lives in a separate file named by its
 * .gnu_debuglink (as Debian's -dbgsym packages do, by build ID): the same
 * answers, from the debug file.
 */
static void sites_separate_debuginfo(void)
{
	char dir[] = "/tmp/ml-sym-XXXXXX", cmd[1024], exe[128];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(exe, sizeof(exe), "%s/symtarget", dir);
	snprintf(cmd, sizeof(cmd),
		 "cp %s %s && cd %s && "
		 "objcopy --only-keep-debug symtarget symtarget.debug && "
		 "objcopy --strip-debug --add-gnu-debuglink=symtarget.debug symtarget",
		 SYMTARGET_BIN, exe, dir);
	if (system(cmd) != 0) {
		printf("# objcopy failed (binutils missing?)\n");
		CHECK(0);
		return;
	}
	/* the copy has no line table of its own any more */
	snprintf(cmd, sizeof(cmd), "readelf -S %s | grep -q debug_line", exe);
	CHECK(system(cmd) != 0);
	check_sites_of(false, exe);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
}

static void sites_ioctl(void)
{
	check_sites(false);
}

static void sites_text(void)
{
	check_sites(true);
}

static void libc_and_misses(void)
{
	struct ml_symbolizer *s = NULL;
	struct ml_proc *p = NULL;
	struct target t;
	struct ml_sym sym[3];
	uint64_t addrs[3];
	char buf[256];

	CHECK(start_target(&t));
	addrs[0] = t.malloc_addr; /* a function's entry: no -1 */
	addrs[1] = t.heap_addr;
	addrs[2] = 4096; /* never mapped (mmap_min_addr) */
	CHECK_EQ(ml_proc_new(NULL, &p), 0);
	CHECK_EQ(ml_symbolizer_open(p, t.pid, NULL, &s), 0);
	CHECK_EQ(ml_symbolize(s, addrs, 3, sym), 0);
	CHECK_EQ(sym[0].err, 0);
	CHECK(strstr(base(sym[0].object), "libc") != NULL);
	/* glibc's malloc is also __libc_malloc: either name will do */
	CHECK(sym[0].func && strstr(sym[0].func, "malloc"));
	CHECK_U64(sym[0].func_offset, 0);
	printf("# malloc: %s in %s, %s\n", sym[0].func ? sym[0].func : "?",
	       sym[0].object, ml_sym_site(&sym[0], 1, buf, sizeof(buf)));
	CHECK_EQ(sym[1].err, -ENOEXEC);
	CHECK_EQ(sym[2].err, -ENOENT);
	ml_symbolizer_close(s);
	stop_target(&t);
	/* a pid that is gone */
	CHECK_EQ(ml_symbolizer_open(p, t.pid, NULL, &s), -ESRCH);
	ml_proc_free(p);
}

TAP_MAIN(TEST(sites_ioctl), TEST(sites_text), TEST(sites_separate_debuginfo),
	 TEST(libc_and_misses))
