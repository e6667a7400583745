// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ml_name_anon() on a real kernel: the prctl path where the kernel has
 * CONFIG_ANON_VMA_NAME, the registry where it has not, and the registry
 * forced (MEMLENS_NAMES=registry) on the same kernel:
 *
 *  - which path each takes, from $KCONFIG (never from memlens);
 *  - the validation cases of ANCHORS.md give the same codes on both paths,
 *    and the codes the table says;
 *  - the same program (this one, as "hog") run on each path gives the same
 *    `memlens names --json` report, row for row (pid and source aside), and
 *    `memlens maps` shows the same names, from the kernel or the registry.
 *
 * The normalised report is handed to the host as data, so that it is also
 * compared across kernels.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/names.h>

static int nr_fail, nr_check;

static void check(int ok, const char *fmt, const char *a, const char *b)
{
	nr_check++;
	if (ok) {
		printf("check ok: %s\n", fmt);
	} else {
		nr_fail++;
		printf("check FAIL: %s: got '%s', want '%s'\n", fmt, a, b);
	}
}

static void check_str(const char *what, const char *got, const char *want)
{
	check(strcmp(got, want) == 0, what, got, want);
}

/* ---- the hog: regions of known size, named --------------------------------------- */

static int hog(void)
{
	static const struct {
		const char *name;
		size_t size, touch;
		int flags; /* 1 exec, 2 shared */
	} rs[] = {
		{ "heap-a", 1 << 20, 512 << 10, 0 },
		{ "heap-b", 2 << 20, 2 << 20, 0 },
		{ NULL, 256 << 10, 256 << 10, 0 },
		{ "heap-a", 512 << 10, 128 << 10, 0 },
		{ "jit", 64 << 10, 64 << 10, 1 },
		{ "shm", 256 << 10, 128 << 10, 2 },
	};
	size_t carved = 0;
	char *block;

	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
		if (!rs[i].flags)
			carved += rs[i].size;
	/* one mapping carved into regions: the registry must split it */
	block = mmap(NULL, carved, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (block == MAP_FAILED)
		return 1;
	madvise(block, carved, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		char *p;
		int err = 0;

		if (rs[i].flags) {
			p = mmap(NULL, rs[i].size, PROT_READ | PROT_WRITE |
				 (rs[i].flags & 1 ? PROT_EXEC : 0),
				 (rs[i].flags & 2 ? MAP_SHARED : MAP_PRIVATE) |
				 MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				return 1;
			madvise(p, rs[i].size, MADV_NOHUGEPAGE);
		} else {
			p = block;
			block += rs[i].size;
		}
		if (rs[i].name)
			err = ml_name_anon(p, rs[i].size, rs[i].name);
		memset(p, 0x5a, rs[i].touch);
		if (err) {
			printf("naming %s: %d\n", rs[i].name, err);
			return 1;
		}
	}
	printf("ready %d %s\n", (int)getpid(),
	       ml_names_backend_name(ml_names_backend()));
	fflush(stdout);
	for (;;)
		pause();
}

/* ---- the validation cases ------------------------------------------------------------ */

/* "case=code ..." for each case of ANCHORS.md, on this process's path. */
static int validate(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char *a = mmap(NULL, 4 * (size_t)ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char name[128];
	FILE *f = fopen("/proc/self/exe", "r");
	char *file = f ? mmap(NULL, (size_t)ps, PROT_READ, MAP_PRIVATE, fileno(f), 0)
		       : MAP_FAILED;

	munmap(a + 3 * ps, (size_t)ps);
	printf("bracket=%d ", ml_name_anon(a, (size_t)ps, "a[b"));
	printf("dollar=%d ", ml_name_anon(a, (size_t)ps, "a$b"));
	printf("backtick=%d ", ml_name_anon(a, (size_t)ps, "a`b"));
	memset(name, 'x', 80);
	name[80] = '\0';
	printf("len81=%d ", ml_name_anon(a, (size_t)ps, name));
	name[79] = '\0';
	printf("len80=%d ", ml_name_anon(a, (size_t)ps, name));
	printf("unaligned=%d ", ml_name_anon(a + 1, (size_t)ps, "u"));
	printf("overflow=%d ", ml_name_anon(a, (size_t)-1, "o"));
	printf("unmapped=%d ", ml_name_anon(a + 3 * ps, (size_t)ps, "g"));
	printf("holes=%d ", ml_name_anon(a, 4 * (size_t)ps, "h"));
	printf("file=%d ", file == MAP_FAILED ? 1 : ml_name_anon(file, (size_t)ps, "f"));
	printf("clear=%d ", ml_name_anon(a, 3 * (size_t)ps, NULL));
	printf("empty=%d\n", ml_name_anon(a, (size_t)ps, ""));
	return 0;
}

/* ---- running this program as a child ------------------------------------------------- */

/* Run self with @arg, MEMLENS_NAMES=@env (NULL: unset); first line into @line. */
static pid_t run_self(const char *arg, const char *env, char *line, size_t sz,
		      bool wait_exit)
{
	int fds[2];
	pid_t pid;
	ssize_t n;
	size_t len = 0;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (env)
			setenv("MEMLENS_NAMES", env, 1);
		else
			unsetenv("MEMLENS_NAMES");
		execl("/proc/self/exe", "names-test", arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	line[0] = '\0';
	while (len < sz - 1 && !strchr(line, '\n') &&
	       (n = read(fds[0], line + len, sz - 1 - len)) > 0) {
		len += (size_t)n;
		line[len] = '\0';
	}
	close(fds[0]);
	if (wait_exit)
		waitpid(pid, NULL, 0);
	return pid;
}

static void command(char *out, size_t sz, const char *fmt, pid_t pid)
{
	char cmd[256];
	size_t len = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), fmt, getenv("MEMLENS") ?: "memlens", (int)pid);
	out[0] = '\0';
	f = popen(cmd, "r");
	if (!f)
		return;
	while (len < sz - 1) {
		size_t n = fread(out + len, 1, sz - 1 - len, f);

		if (!n)
			break;
		len += n;
	}
	out[len] = '\0';
	pclose(f);
}

/*
 * The report without what differs between paths: rows reduced to
 * name:vmas:size:rss:pss:uss:swap, sorted by name.
 */
static void normalise(const char *json, char *out, size_t sz)
{
	char rows[16][160];
	int n = 0;
	size_t o = 0;

	for (const char *p = json; (p = strstr(p, "{\"pid\"")) && n < 16; p++) {
		char name[96] = "";
		unsigned long long v[6] = { 0 };
		static const char *keys[] = { "vmas", "size", "rss", "pss", "uss", "swap" };
		const char *end = strchr(p, '}'), *k;

		k = strstr(p, "\"name\":\"");
		if (k && k < end)
			sscanf(k + 8, "%95[^\"]", name);
		for (int i = 0; i < 6; i++) {
			char pat[16];

			snprintf(pat, sizeof(pat), "\"%s\":", keys[i]);
			k = strstr(p, pat);
			if (k && k < end)
				v[i] = strtoull(k + strlen(pat), NULL, 10);
		}
		snprintf(rows[n++], sizeof(rows[0]), "%s:%llu:%llu:%llu:%llu:%llu:%llu",
			 name, v[0], v[1], v[2], v[3], v[4], v[5]);
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(rows[j], rows[i]) < 0) {
				char t[160];

				strcpy(t, rows[i]);
				strcpy(rows[i], rows[j]);
				strcpy(rows[j], t);
			}
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, sz - o, "%s%s", i ? " " : "", rows[i]);
}

static bool kconfig_y(const char *opt)
{
	const char *path = getenv("KCONFIG");
	char line[256], want[128];
	FILE *f = path ? fopen(path, "r") : NULL;
	bool y = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), "CONFIG_%s=y\n", opt);
	while (fgets(line, sizeof(line), f))
		y |= strcmp(line, want) == 0;
	fclose(f);
	return y;
}

int main(int argc, char **argv)
{
	static char json[2][1 << 16], norm[2][4096], maps[1 << 16];
	const char *paths[2] = { NULL, "registry" };
	bool has_prctl = kconfig_y("ANON_VMA_NAME");
	char line[2][512];

	if (argc > 1 && strcmp(argv[1], "hog") == 0)
		return hog();
	if (argc > 1 && strcmp(argv[1], "validate") == 0)
		return validate();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("CONFIG_ANON_VMA_NAME=%s\n", has_prctl ? "y" : "n");

	/* validation: both paths, and the table */
	run_self("validate", NULL, line[0], sizeof(line[0]), true);
	run_self("validate", "registry", line[1], sizeof(line[1]), true);
	printf("default path:  %s", line[0]);
	printf("registry path: %s", line[1]);
	check_str("validation codes: registry path == default path", line[1], line[0]);
	check_str("validation codes: ANCHORS.md", line[1],
		  "bracket=-22 dollar=-22 backtick=-22 len81=-22 len80=0 "
		  "unaligned=-22 overflow=-22 unmapped=-12 holes=-12 file=-9 "
		  "clear=0 empty=0\n");

	/* the same program on both paths, the same report */
	for (int i = 0; i < 2; i++) {
		char backend[32] = "";
		pid_t pid = run_self("hog", paths[i], line[i], sizeof(line[i]), false);

		sscanf(line[i], "ready %*d %31s", backend);
		printf("hog on the %s path: %s", paths[i] ? paths[i] : "default", line[i]);
		check_str(i == 0 ? "default path taken" : "forced path taken", backend,
			  i == 0 && has_prctl ? "kernel" : "registry");
		command(json[i], sizeof(json[i]), "%s names --json %d", pid);
		normalise(json[i], norm[i], sizeof(norm[i]));
		printf("report: %s\n", norm[i]);
		command(maps, sizeof(maps), "%s maps --json %d", pid);
		check(strstr(maps, "\"name\":\"[anon:heap-b]\",\"name_source\":\"") != NULL,
		      "memlens maps names heap-b", "", "");
		check(strstr(maps, i == 0 && has_prctl ?
			      "\"name_source\":\"kernel\"" :
			      "\"name_source\":\"registry\"") != NULL,
		      "memlens maps says where names come from", "", "");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	check_str("memlens names: registry report == default path's", norm[1], norm[0]);
	check_str("memlens names: what the program touched", norm[1],
		  "heap-a:2:1572864:655360:655360:655360:0 "
		  "heap-b:1:2097152:2097152:2097152:2097152:0 "
		  "jit:1:65536:65536:65536:65536:0 "
		  "shm:1:262144:131072:131072:131072:0");
	printf("MLVM data names-report %s\n", norm[1]);
	if (!nr_check)
		nr_fail++;
	return nr_fail ? 1 : 0;
}
