// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens maps PID: one process's VMAs with their memory, like pmap -X. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/names.h>

#include "cli.h"

static void maps_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens maps [OPTIONS] PID\n"
		"\n"
		"Every VMA of process PID from /proc/PID/smaps, with totals.\n"
		"The totals are sums of the kernel's per-VMA figures, which it rounds\n"
		"down to a kB each; 'memlens ps' shows the exact per-process PSS.\n"
		"\n"
		"Options:\n"
		"  -s, --sort KEY   order VMAs by pss, uss, rss or swap (default: address)\n"
		"  -b, --bytes      exact byte counts instead of K/M/G\n"
		"  -j, --json       JSON: {pid, comm, vmas: [...], total}, sizes in bytes\n"
		"  -h, --help       show this help\n");
}

struct maps_args {
	bool sorted;
	enum ml_sort_key sort;
	bool bytes, json;
	pid_t pid;
};

static int parse_args(int argc, char **argv, struct maps_args *a)
{
	static const struct option longopts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "s:bjh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (ml_sort_key_parse(optarg, &a->sort))
				return cli_usage_error("maps", "unknown sort key '%s'", optarg);
			a->sorted = true;
			break;
		case 'b': a->bytes = true; break;
		case 'j': a->json = true; break;
		case 'h':
			maps_usage(stdout);
			return -1;
		default:
			maps_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("maps", "a PID is required");
	if (!cli_parse_pid(argv[optind], &a->pid))
		return cli_usage_error("maps", "'%s' is not a pid", argv[optind]);
	if (optind + 1 < argc)
		return cli_usage_error("maps", "unexpected argument '%s'", argv[optind + 1]);
	return 0;
}

/*
 * Where the printers take VMAs from: the list when they must be sorted,
 * else straight from the stream, which never holds more than one record
 * (with 20,000 VMAs, filling and re-reading a 5 MB array cost a quarter of
 * the command's time).
 */
struct vma_source {
	const struct ml_vma_list *list; /* sorted output */
	size_t i;
	struct ml_vma_iter *it;         /* address order */
	struct ml_vma cur;
	size_t n;                       /* VMAs handed out */
	int err;                        /* why the stream stopped early */
	/* anonymous memory names from the registry (memlens names) */
	struct ml_names_labeler *names;
	const struct ml_vma *parts;     /* a VMA split by names, in parts */
	long nr_parts, next_part;
};

static const struct ml_vma *source_next(struct vma_source *s)
{
	int ret;

	if (s->list) {
		if (s->i >= s->list->n)
			return NULL;
		s->n++;
		return &s->list->v[s->i++];
	}
	if (s->next_part < s->nr_parts) {
		s->n++;
		return &s->parts[s->next_part++];
	}
	ret = ml_vma_iter_next(s->it, &s->cur);
	if (ret > 0 && s->names) {
		s->nr_parts = ml_names_labeler_vma(s->names, &s->cur, &s->parts);
		s->next_part = 1;
		if (s->nr_parts < 0)
			ret = (int)s->nr_parts;
		else {
			s->n++;
			return &s->parts[0];
		}
	}
	if (ret <= 0) {
		s->err = ret;
		return NULL;
	}
	s->n++;
	return &s->cur;
}

static void json_vma(struct ml_json *j, const struct ml_vma *v,
		     const struct ml_names_labeler *names)
{
	const char *source = ml_name_source_name(ml_names_source(names, v));

	ml_json_object_begin(j);
	ml_json_kv_u64(j, "start", v->start);
	ml_json_kv_u64(j, "end", v->end);
	ml_json_kv_str(j, "perms", v->perms);
	ml_json_kv_u64(j, "offset", v->offset);
	ml_json_key(j, "dev");
	{
		char dev[24];

		snprintf(dev, sizeof(dev), "%02x:%02x", v->dev_major, v->dev_minor);
		ml_json_string(j, dev);
	}
	ml_json_kv_u64(j, "inode", v->inode);
	ml_json_key(j, "name");
	ml_json_string_len(j, v->name, v->name_len);
	if (source)
		ml_json_kv_str(j, "name_source", source);
	ml_json_kv_u64(j, "size", ml_vma_size(v));
	cli_json_mem(j, &v->mem);
	ml_json_object_end(j);
}

/*
 * The printers add up the totals as they go: one pass over the VMAs, not
 * two (for a large process the array outgrows the caches).
 */
static void print_json(pid_t pid, const char *comm, struct vma_source *src)
{
	struct ml_mem total = { 0 };
	const struct ml_vma *v;
	struct ml_json j;

	ml_json_init(&j, stdout, false);
	ml_json_object_begin(&j);
	ml_json_kv_i64(&j, "pid", pid);
	ml_json_kv_str(&j, "comm", comm);
	ml_json_key(&j, "vmas");
	ml_json_array_begin(&j);
	while ((v = source_next(src))) {
		ml_mem_add(&total, &v->mem);
		json_vma(&j, v, src->names);
	}
	ml_json_array_end(&j);
	if (src->err)
		ml_json_kv_str(&j, "error", strerror(-src->err));
	ml_json_key(&j, "total");
	ml_json_object_begin(&j);
	ml_json_kv_u64(&j, "size", total.size);
	cli_json_mem(&j, &total);
	ml_json_object_end(&j);
	ml_json_object_end(&j);
	ml_json_finish(&j);
}

/*
 * A row is formatted by hand into a buffer and written at once: printf and
 * its format parsing, 20,000 times for a large process, cost a third of
 * what the kernel takes to print the smaps. The row is the same as
 *   printf("%16" PRIx64 " %4s %08" PRIx64 " %5s %8" PRIu64
 *          " %8s %8s %8s %8s %8s  ", start, perms, offset, dev, inode,
 *          size, rss, pss, uss, swap)
 * with dev as "%02x:%02x" and the sizes from cli_size().
 */
static char *put_right(char *o, const char *s, size_t len, size_t width)
{
	for (size_t i = len; i < width; i++)
		*o++ = ' ';
	memcpy(o, s, len);
	return o + len;
}

/* @v in base 10 or 16 (lowercase), zero-padded to @min_digits; no NUL. */
static size_t format_u64(char out[24], uint64_t v, unsigned base,
			 size_t min_digits)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	while (n < min_digits)
		tmp[n++] = '0';
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static char *put_u64_right(char *o, uint64_t v, unsigned base,
			   size_t min_digits, size_t width)
{
	char num[24];
	size_t n = format_u64(num, v, base, min_digits);

	return put_right(o, num, n, width);
}

static char *put_size_right(char *o, uint64_t bytes, bool exact)
{
	char b[32];

	cli_size(b, bytes, exact);
	return put_right(o, b, strlen(b), 8);
}

static void print_row(const struct ml_vma *v, bool exact)
{
	char row[256], dev[48], *o = row;
	size_t n;

	n = format_u64(dev, v->dev_major, 16, 2);
	dev[n++] = ':';
	n += format_u64(dev + n, v->dev_minor, 16, 2);

	o = put_u64_right(o, v->start, 16, 1, 16);
	*o++ = ' ';
	o = put_right(o, v->perms, strlen(v->perms), 4);
	*o++ = ' ';
	o = put_u64_right(o, v->offset, 16, 8, 8);
	*o++ = ' ';
	o = put_right(o, dev, n, 5);
	*o++ = ' ';
	o = put_u64_right(o, v->inode, 10, 1, 8);
	*o++ = ' ';
	o = put_size_right(o, ml_vma_size(v), exact);
	*o++ = ' ';
	o = put_size_right(o, v->mem.rss, exact);
	*o++ = ' ';
	o = put_size_right(o, v->mem.pss, exact);
	*o++ = ' ';
	o = put_size_right(o, ml_mem_uss(&v->mem), exact);
	*o++ = ' ';
	o = put_size_right(o, v->mem.swap, exact);
	*o++ = ' ';
	*o++ = ' ';
	fwrite(row, 1, (size_t)(o - row), stdout);
}

static void print_table(pid_t pid, const char *comm, struct vma_source *src,
			bool exact)
{
	struct ml_mem total = { 0 };
	const struct ml_vma *v;
	int width = cli_term_width();
	char b[6][32];

	printf("%d: %s\n", pid, comm);
	printf("%16s %4s %8s %5s %8s %8s %8s %8s %8s %8s  %s\n", "ADDRESS", "PERM",
	       "OFFSET", "DEV", "INODE", "SIZE", "RSS", "PSS", "USS", "SWAP",
	       "MAPPING");
	while ((v = source_next(src))) {
		ml_mem_add(&total, &v->mem);
		print_row(v, exact);
		cli_print_cut(stdout, v->name, width ? width - 100 : 0);
		putchar('\n');
	}
	printf("%16s %4s %8s %5s %8s %8s %8s %8s %8s %8s  %zu VMAs\n", "total", "",
	       "", "", "", cli_size(b[0], total.size, exact),
	       cli_size(b[1], total.rss, exact), cli_size(b[2], total.pss, exact),
	       cli_size(b[3], ml_mem_uss(&total), exact),
	       cli_size(b[4], total.swap, exact), src->n);
}

static int cmp_vma(const void *a, const void *b, void *ctx)
{
	const struct ml_vma *x = a, *y = b;
	enum ml_sort_key key = *(enum ml_sort_key *)ctx;
	uint64_t vx = ml_mem_sort_value(&x->mem, key);
	uint64_t vy = ml_mem_sort_value(&y->mem, key);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return (x->start > y->start) - (x->start < y->start);
}

static void report(const char *what, int err)
{
	if (err == -ESRCH)
		cli_errorf("%s: no such process", what);
	else if (err == -EINVAL)
		cli_errorf("%s: smaps is malformed", what);
	else
		cli_error(what, err);
}

int cmd_maps(struct cli_ctx *ctx, int argc, char **argv)
{
	struct maps_args a = { 0 };
	struct vma_source src = { 0 };
	struct ml_vma_list l = { 0 };
	char comm[ML_COMM_MAX];
	char what[48];
	int ret, err;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	snprintf(what, sizeof(what), "pid %d", a.pid);
	err = ml_proc_comm(ctx->proc, a.pid, comm, sizeof(comm));
	if (!err && a.sorted) {
		err = ml_proc_vmas(ctx->proc, a.pid, true, &l);
		if (!err)
			err = ml_names_labeler_new(ctx->proc, a.pid, &l, &src.names);
		if (!err)
			err = ml_names_label_list(src.names, &l);
		if (!err)
			qsort_r(l.v, l.n, sizeof(*l.v), cmp_vma, &a.sort);
		src.list = &l;
	} else if (!err) {
		/* names first: the stream keeps the proc buffer to itself */
		err = ml_names_labeler_new(ctx->proc, a.pid, NULL, &src.names);
		if (!err)
			err = ml_vma_iter_open(ctx->proc, a.pid, true, &src.it);
	}
	if (err) {
		report(what, err);
		return 1;
	}
	if (a.json)
		print_json(a.pid, comm, &src);
	else
		print_table(a.pid, comm, &src, a.bytes);
	ml_vma_iter_close(src.it);
	ml_vma_list_free(&l);
	ml_names_labeler_free(src.names);
	/* a stream can fail midway (the process exited, a record was bad):
	 * what was printed is true, and the command says where it stopped */
	if (src.err) {
		report(what, src.err);
		return 1;
	}
	return 0;
}
