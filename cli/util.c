// SPDX-License-Identifier: GPL-2.0-or-later
/* Formatting and argument helpers shared by the subcommands. */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

void cli_error(const char *what, int err)
{
	fflush(stdout); /* keep the order the user would read */
	fprintf(stderr, "memlens: %s: %s\n", what, strerror(err < 0 ? -err : err));
}

void cli_errorf(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("memlens: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "memlens %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'memlens %s --help'.\n", cmd);
	return EXIT_USAGE;
}

bool cli_parse_uint(const char *s, unsigned long *v)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0';
}

bool cli_parse_pid(const char *s, pid_t *pid)
{
	unsigned long v;

	if (!cli_parse_uint(s, &v) || v == 0 || v > INT32_MAX)
		return false;
	*pid = (pid_t)v;
	return true;
}

bool cli_add_pid(pid_t **pids, size_t *nr, const char *arg)
{
	pid_t pid, *np;

	if (!cli_parse_pid(arg, &pid))
		return false;
	np = realloc(*pids, (*nr + 1) * sizeof(*np));
	if (!np) {
		cli_error("arguments", -ENOMEM);
		exit(EXIT_FAILURE);
	}
	np[(*nr)++] = pid;
	*pids = np;
	return true;
}

bool cli_parse_user(const char *s, uid_t *uid)
{
	struct passwd *pw = getpwnam(s);
	unsigned long v;

	if (pw) {
		*uid = pw->pw_uid;
		return true;
	}
	if (cli_parse_uint(s, &v) && v < UINT32_MAX) {
		*uid = (uid_t)v;
		return true;
	}
	return false;
}

/* @v in decimal at @out, no NUL; returns the end. */
static char *put_u64(char *out, uint64_t v)
{
	char digits[20];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*out++ = digits[--n];
	return out;
}

static const char *cli_size_float(char buf[32], uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	/* three significant digits, like ls -h */
	if (v < 10)
		snprintf(buf, 32, "%.1f%c", v, units[u]);
	else
		snprintf(buf, 32, "%.0f%c", v, units[u]);
	return buf;
}

/*
 * Below 2^53 bytes, bytes / 1024^k is exact as a double, so the "%.1f" and
 * "%.0f" of cli_size_float() are an integer division rounded half to even,
 * done here without printf (`memlens maps` prints five sizes a VMA). Checked
 * against cli_size_float() on every value below 2^24, both sides of every
 * rounding tie at every unit, and 20 million random values.
 */
const char *cli_size(char buf[32], uint64_t bytes, bool exact)
{
	static const char units[] = "KMGTPE";
	unsigned shift = 10;
	uint64_t q, rest, half;
	bool one_decimal;
	char *o = buf;

	if (exact || bytes < 1024) {
		*put_u64(buf, bytes) = '\0';
		return buf;
	}
	if (bytes >> 53)
		return cli_size_float(buf, bytes);
	while (bytes >> (shift + 10))
		shift += 10;
	one_decimal = bytes < (UINT64_C(10) << shift); /* v < 10 */
	if (one_decimal)
		bytes *= 10;
	q = bytes >> shift;
	rest = bytes & ((UINT64_C(1) << shift) - 1);
	half = UINT64_C(1) << (shift - 1);
	if (rest > half || (rest == half && (q & 1)))
		q++;
	if (one_decimal) {
		o = put_u64(o, q / 10);
		*o++ = '.';
		*o++ = (char)('0' + q % 10);
	} else {
		o = put_u64(o, q);
	}
	*o++ = units[shift / 10 - 1];
	*o = '\0';
	return buf;
}

int cli_term_width(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

void cli_print_cut(FILE *f, const char *s, int width)
{
	int len = (int)strlen(s);

	if (width <= 0 || len <= width) {
		fputs(s, f);
		return;
	}
	if (width > 1)
		fwrite(s, 1, (size_t)width - 1, f);
	fputs("…", f);
}

const char *cli_user_name(uid_t uid)
{
	/* a handful of users own every process: a tiny cache is enough */
	static struct { uid_t uid; char name[33]; } cache[64];
	static unsigned n;
	struct passwd *pw;
	unsigned slot;

	for (unsigned i = 0; i < n && i < 64; i++)
		if (cache[i].uid == uid)
			return cache[i].name;
	slot = n++ % 64;
	cache[slot].uid = uid;
	pw = getpwuid(uid);
	if (pw)
		snprintf(cache[slot].name, sizeof(cache[slot].name), "%s", pw->pw_name);
	else
		snprintf(cache[slot].name, sizeof(cache[slot].name), "%u", (unsigned)uid);
	return cache[slot].name;
}

void cli_json_mem(struct ml_json *j, const struct ml_mem *m)
{
	ml_json_kv_u64(j, "rss", m->rss);
	ml_json_kv_u64(j, "pss", m->pss);
	ml_json_kv_u64(j, "uss", ml_mem_uss(m));
	ml_json_kv_u64(j, "swap", m->swap);
	ml_json_kv_u64(j, "swap_pss", m->swap_pss);
	ml_json_kv_u64(j, "pss_anon", m->pss_anon);
	ml_json_kv_u64(j, "pss_file", m->pss_file);
	ml_json_kv_u64(j, "pss_shmem", m->pss_shmem);
	ml_json_kv_u64(j, "shared_clean", m->shared_clean);
	ml_json_kv_u64(j, "shared_dirty", m->shared_dirty);
	ml_json_kv_u64(j, "private_clean", m->private_clean);
	ml_json_kv_u64(j, "private_dirty", m->private_dirty);
	ml_json_kv_u64(j, "locked", m->locked);
	ml_json_kv_u64(j, "anon_huge_pages", m->anon_huge);
}

void cli_json_proc(struct ml_json *j, const struct ml_proc_mem *p)
{
	ml_json_object_begin(j);
	ml_json_kv_i64(j, "pid", p->pid);
	ml_json_kv_str(j, "comm", p->comm);
	ml_json_kv_i64(j, "uid", p->uid);
	ml_json_kv_str(j, "user", cli_user_name(p->uid));
	if (p->cmdline)
		ml_json_kv_str(j, "cmdline", p->cmdline);
	if (p->err) {
		/* the keys stay, so consumers need no special case */
		static const char *const keys[] = { "rss", "pss", "uss", "swap" };

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			ml_json_key(j, keys[i]);
			ml_json_null(j);
		}
		ml_json_kv_str(j, "error", strerror(-p->err));
	} else {
		cli_json_mem(j, &p->mem);
	}
	ml_json_object_end(j);
}
