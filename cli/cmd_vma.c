// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens vma PID ADDR...: which VMA each address is in, its file offset
 * there, the file's build ID and name: what a symbolizer needs from a
 * stack trace. Addresses come from the command line or from stdin.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/names.h>
#include <memlens/vmaq.h>

#include "cli.h"

static void vma_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens vma [OPTIONS] PID ADDR...\n"
		"       memlens vma [OPTIONS] PID --stdin\n"
		"\n"
		"For each address of process PID: the VMA that covers it (range, perms),\n"
		"the file offset the address maps, the GNU build ID of the file and its\n"
		"name. Addresses are hexadecimal, with or without 0x. Uses the kernel's\n"
		"PROCMAP_QUERY ioctl (Linux 6.11+) or, without it, one read of\n"
		"/proc/PID/maps; MEMLENS_NO_PROCMAP_QUERY=1 forces the latter.\n"
		"Anonymous memory named through the memlens registry (on kernels without\n"
		"PR_SET_VMA_ANON_NAME) shows as [anon:NAME], its range the named part,\n"
		"as the kernel would split it.\n"
		"\n"
		"Options:\n"
		"      --stdin        read addresses from standard input, one per line;\n"
		"                     blank lines are skipped, malformed lines reported\n"
		"                     with their line number and the rest resolved\n"
		"  -j, --json         JSON: one object per address with keys addr, start,\n"
		"                     end, perms, offset (of the address in the file),\n"
		"                     build_id (hex or null), name, and name_source\n"
		"                     (kernel or registry) for named anonymous memory;\n"
		"                     an address no VMA covers has addr and error instead\n"
		"      --no-build-id  do not look up build IDs (faster)\n"
		"  -h, --help         show this help\n"
		"\n"
		"Exit status: 0 when every address was read (mapped or not), 1 when the\n"
		"process could not be read or a --stdin line was malformed, 2 usage.\n");
}

struct vma_args {
	bool json, from_stdin, no_build_id;
	pid_t pid;
	int first_addr; /* argv index */
};

static int parse_args(int argc, char **argv, struct vma_args *a)
{
	enum { OPT_STDIN = 256, OPT_NO_BUILD_ID };
	static const struct option longopts[] = {
		{ "stdin", no_argument, NULL, OPT_STDIN },
		{ "json", no_argument, NULL, 'j' },
		{ "no-build-id", no_argument, NULL, OPT_NO_BUILD_ID },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STDIN: a->from_stdin = true; break;
		case OPT_NO_BUILD_ID: a->no_build_id = true; break;
		case 'j': a->json = true; break;
		case 'h':
			vma_usage(stdout);
			return -1;
		default:
			vma_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("vma", "a PID is required");
	if (!cli_parse_pid(argv[optind], &a->pid))
		return cli_usage_error("vma", "'%s' is not a pid", argv[optind]);
	a->first_addr = optind + 1;
	if (a->from_stdin && a->first_addr < argc)
		return cli_usage_error("vma", "addresses come from stdin or the "
					      "command line, not both");
	if (!a->from_stdin && a->first_addr >= argc)
		return cli_usage_error("vma", "an address (or --stdin) is required");
	return 0;
}

/* "7f3a40028000" or "0x7f3a40028000", nothing else around it. */
static bool parse_addr(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		i = 2;
	if (i == len || len - i > 16)
		return false;
	for (; i < len; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return false;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return true;
}

struct addr_list {
	uint64_t *v;
	size_t n, cap;
};

static int list_add(struct addr_list *l, uint64_t a)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		uint64_t *v = realloc(l->v, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = ncap;
	}
	l->v[l->n++] = a;
	return 0;
}

/* Read stdin; malformed lines are reported and counted, not fatal. */
static int read_stdin(struct addr_list *l, size_t *bad)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int err = 0;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		const char *s = line;
		size_t n = (size_t)len;
		uint64_t a;

		lineno++;
		while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
			     s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		if (n == 0)
			continue;
		if (!parse_addr(s, n, &a)) {
			cli_errorf("stdin line %zu: '%.*s' is not a hex address",
				   lineno, (int)(n > 64 ? 64 : n), s);
			(*bad)++;
			continue;
		}
		err = list_add(l, a);
		if (err)
			break;
	}
	free(line);
	if (!err && ferror(stdin))
		err = -EIO;
	return err;
}

/*
 * What each result shows: the kernel's VMA, or the part of it the
 * registry names, with that name.
 */
struct vma_shown {
	uint64_t start, end;
	const char *name;
	size_t name_len;
	const char *source; /* "kernel", "registry", NULL: not a named anon */
	char buf[96];       /* "[anon_shmem:" + 79 + "]" */
};

/* Memory the registry may name: anonymous, without a kernel name. */
static bool maybe_registry_named(const struct ml_vmaq_vma *v)
{
	return v && (!v->name_len || !strcmp(v->name, "/dev/zero (deleted)"));
}

static bool kernel_named(const struct ml_vmaq_vma *v)
{
	struct ml_vma kv = { .name = v->name, .name_len = v->name_len };
	const char *name;
	size_t len;
	bool shmem;

	return ml_vma_anon_name(&kv, &name, &len, &shmem);
}

/*
 * Registry names for the results: read only when some address is in
 * anonymous memory the kernel did not name. A registry that cannot be read
 * (none, or no ptrace access) leaves the kernel's view.
 */
static void label_results(struct cli_ctx *ctx, pid_t pid,
			  const struct ml_vmaq_result *r, size_t n,
			  struct vma_shown *shown)
{
	struct ml_name_ranges ranges = { 0 };
	bool want = false, have = false;

	for (size_t i = 0; i < n; i++)
		want |= maybe_registry_named(r[i].vma);
	if (want)
		have = ml_names_registry_read(ctx->proc, pid, NULL, &ranges) == 0;
	for (size_t i = 0; i < n; i++) {
		const struct ml_vmaq_vma *v = r[i].vma;
		struct vma_shown *s = &shown[i];
		struct ml_name_at at;

		if (!v)
			continue;
		s->start = v->start;
		s->end = v->end;
		s->name = v->name;
		s->name_len = v->name_len;
		if (kernel_named(v))
			s->source = "kernel";
		if (!have || !ml_names_label_addr(&ranges, v, r[i].addr, &at))
			continue;
		s->start = at.start;
		s->end = at.end;
		if (!at.name)
			continue;
		s->name_len = (size_t)snprintf(s->buf, sizeof(s->buf), "[%s:%s]",
					       at.shmem ? "anon_shmem" : "anon",
					       at.name);
		s->name = s->buf;
		s->source = "registry";
	}
	ml_name_ranges_free(&ranges);
}

static void print_json(const struct ml_vmaq_result *r,
		       const struct vma_shown *shown, size_t n)
{
	struct ml_json j;
	char perms[5], hex[41];

	ml_json_init(&j, stdout, false);
	ml_json_array_begin(&j);
	for (size_t i = 0; i < n; i++) {
		const struct ml_vmaq_vma *v = r[i].vma;

		ml_json_object_begin(&j);
		ml_json_kv_u64(&j, "addr", r[i].addr);
		if (!v) {
			ml_json_kv_str(&j, "error", "not mapped");
			ml_json_object_end(&j);
			continue;
		}
		ml_vmaq_perms(v->flags, perms);
		ml_json_kv_u64(&j, "start", shown[i].start);
		ml_json_kv_u64(&j, "end", shown[i].end);
		ml_json_kv_str(&j, "perms", perms);
		ml_json_kv_u64(&j, "offset", r[i].file_offset);
		ml_json_key(&j, "build_id");
		if (v->build_id_len)
			ml_json_string(&j, ml_vmaq_build_id_hex(v, hex));
		else
			ml_json_null(&j);
		ml_json_key(&j, "name");
		ml_json_string_len(&j, shown[i].name, shown[i].name_len);
		if (shown[i].source)
			ml_json_kv_str(&j, "name_source", shown[i].source);
		ml_json_object_end(&j);
	}
	ml_json_array_end(&j);
	ml_json_finish(&j);
}

static void print_table(const struct ml_vmaq_result *r,
			const struct vma_shown *shown, size_t n, bool bid)
{
	int width = cli_term_width();
	char perms[5], hex[41];

	printf("%16s %-33s %4s %10s  %-*s  %s\n", "ADDRESS", "VMA", "PERM",
	       "OFFSET", bid ? 40 : 8, "BUILD ID", "NAME");
	for (size_t i = 0; i < n; i++) {
		const struct ml_vmaq_vma *v = r[i].vma;
		char range[40];

		if (!v) {
			printf("%16" PRIx64 " %s\n", r[i].addr, "not mapped");
			continue;
		}
		snprintf(range, sizeof(range), "%" PRIx64 "-%" PRIx64,
			 shown[i].start, shown[i].end);
		ml_vmaq_perms(v->flags, perms);
		printf("%16" PRIx64 " %-33s %4s %10" PRIx64 "  %-*s  ", r[i].addr,
		       range, perms, r[i].file_offset, bid ? 40 : 8,
		       v->build_id_len ? ml_vmaq_build_id_hex(v, hex) : "-");
		cli_print_cut(stdout, shown[i].name,
			      width ? width - (bid ? 112 : 80) : 0);
		putchar('\n');
	}
}

int cmd_vma(struct cli_ctx *ctx, int argc, char **argv)
{
	struct vma_args a = { 0 };
	struct addr_list l = { 0 };
	struct ml_vmaq_result *res = NULL;
	struct vma_shown *shown = NULL;
	struct ml_vmaq *q = NULL;
	size_t bad = 0;
	char what[48];
	int ret, err;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	for (int i = a.first_addr; i < argc; i++) {
		uint64_t addr;

		if (!parse_addr(argv[i], strlen(argv[i]), &addr)) {
			free(l.v);
			return cli_usage_error("vma", "'%s' is not a hex address",
					       argv[i]);
		}
		if (list_add(&l, addr)) {
			free(l.v);
			cli_error("addresses", -ENOMEM);
			return 1;
		}
	}
	snprintf(what, sizeof(what), "pid %d", a.pid);
	err = ml_vmaq_open(ctx->proc, a.pid, NULL, &q);
	if (!err && a.from_stdin)
		err = read_stdin(&l, &bad);
	if (!err && l.n) {
		ML_OPTS(ml_vmaq_resolve_opts, o, .build_id = !a.no_build_id);

		res = calloc(l.n, sizeof(*res));
		err = res ? ml_vmaq_resolve(q, l.v, l.n, &o, res) : -ENOMEM;
	}
	if (err) {
		if (err == -ESRCH)
			cli_errorf("%s: no such process", what);
		else if (err == -EINVAL)
			cli_errorf("%s: maps is malformed", what);
		else
			cli_error(what, err);
		ret = 1;
	} else if (l.n && !(shown = calloc(l.n, sizeof(*shown)))) {
		cli_error("addresses", -ENOMEM);
		ret = 1;
	} else {
		label_results(ctx, a.pid, res, l.n, shown);
		if (a.json)
			print_json(res, shown, l.n);
		else
			print_table(res, shown, l.n, !a.no_build_id);
		ret = bad ? 1 : 0;
	}
	free(shown);
	free(res);
	free(l.v);
	ml_vmaq_close(q);
	return ret;
}
