// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens contig [PID...]: how much memory sits in large aligned blocks,
 * in physically contiguous runs, and in folios of each size; or, with
 * --mem-hist, exactly what mem_hist.py (seed 001) prints.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/contig.h>

#include "cli.h"

static void contig_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens contig [OPTIONS] [PID...]\n"
		"\n"
		"How much of each process's memory (default: every process) is in large,\n"
		"contiguous pieces, per VMA and per process:\n"
		"  BLOCKS  naturally aligned blocks of 4K, 8K ... 2M whose pages are all\n"
		"          present, each present page counted in the largest one it is in\n"
		"          (mem_hist.py's histogram without its quirks)\n"
		"  RUNS    maximal runs of pages contiguous both virtually and physically,\n"
		"          by size: 4K:3 is three runs of 4K to 8K-1; 4M+ is 4M and more\n"
		"  FOLIOS  mapped memory by folio size (THP, mTHP, large page cache folios,\n"
		"          hugetlb), as SIZE:COUNT\n"
		"RUNS and FOLIOS need PFNs and /proc/kpageflags, which only root may read;\n"
		"without them they show '-' and one line says so.\n"
		"\n"
		"Options:\n"
		"      --mem-hist             print what mem_hist.py prints, byte for byte:\n"
		"                             its histograms (quirks included), its line\n"
		"                             format, its sort order and process names\n"
		"      --omit-file-backed     leave out VMAs of mapped files (memfd is not a\n"
		"                             file; except with --mem-hist, neither are SysV\n"
		"                             shm, /dev/zero and MAP_HUGETLB memory)\n"
		"      --omit-unfaulted-vmas  leave out VMAs with no present page (with\n"
		"                             --mem-hist: whose histogram is all zero)\n"
		"      --no-folios            skip folio sizes (no kpageflags reads: faster)\n"
		"      --system               folios of all user memory by size, system-wide\n"
		"                             (one read of all of /proc/kpageflags)\n"
		"  -b, --bytes                exact byte counts instead of K/M/G\n"
		"  -j, --json                 JSON, sizes in bytes\n"
		"  -h, --help                 show this help\n");
}

struct contig_args {
	bool mem_hist, omit_file, omit_unfaulted, no_folios, system;
	bool bytes, json;
	pid_t *pids;
	size_t nr_pids;
};

enum { OPT_MEM_HIST = 256, OPT_OMIT_FILE, OPT_OMIT_UNFAULTED, OPT_NO_FOLIOS,
       OPT_SYSTEM };

static int parse_args(int argc, char **argv, struct contig_args *a)
{
	static const struct option longopts[] = {
		{ "mem-hist", no_argument, NULL, OPT_MEM_HIST },
		{ "omit-file-backed", no_argument, NULL, OPT_OMIT_FILE },
		{ "omit-unfaulted-vmas", no_argument, NULL, OPT_OMIT_UNFAULTED },
		{ "no-folios", no_argument, NULL, OPT_NO_FOLIOS },
		{ "system", no_argument, NULL, OPT_SYSTEM },
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "bjh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MEM_HIST: a->mem_hist = true; break;
		case OPT_OMIT_FILE: a->omit_file = true; break;
		case OPT_OMIT_UNFAULTED: a->omit_unfaulted = true; break;
		case OPT_NO_FOLIOS: a->no_folios = true; break;
		case OPT_SYSTEM: a->system = true; break;
		case 'b': a->bytes = true; break;
		case 'j': a->json = true; break;
		case 'h':
			contig_usage(stdout);
			return -1;
		default:
			contig_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (a->system && (a->mem_hist || optind < argc))
		return cli_usage_error("contig", "--system takes no PID and no --mem-hist");
	if (optind < argc) {
		a->pids = calloc((size_t)(argc - optind), sizeof(*a->pids));
		if (!a->pids) {
			cli_error("contig", -ENOMEM);
			return 1;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!cli_parse_pid(argv[i], &a->pids[a->nr_pids]))
			return cli_usage_error("contig", "'%s' is not a pid", argv[i]);
		a->nr_pids++;
	}
	return 0;
}

/* ---- shared helpers ----------------------------------------------------------- */

/* Characters as Python counts them (UTF-8 code points) for its padding. */
static size_t display_len(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* @s then spaces up to @width, like Python's '{:<width}'. */
static void put_padded(const char *s, size_t len, size_t width)
{
	size_t n = display_len(s, len);

	fwrite(s, 1, len, stdout);
	for (; n < width; n++)
		putchar(' ');
}

/* Power-of-two sizes as "4K", "2M", "1G". */
static const char *pow2_label(char buf[32], uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	int u = -1;

	while (bytes >= 1024 && !(bytes % 1024) && u < 5) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, 32, "%" PRIu64 "B", bytes);
	else
		snprintf(buf, 32, "%" PRIu64 "%c", bytes, units[u]);
	return buf;
}

static bool corrected_file_backed(const struct ml_contig_vma *v)
{
	/* shmem and hugetlb without a file of their own */
	static const char *const not_files[] = { "/memfd:", "/SYSV", "/dev/zero",
						 "/anon_hugepage" };

	if (v->name_len < 2 || v->name[0] != '/')
		return false;
	for (size_t i = 0; i < sizeof(not_files) / sizeof(not_files[0]); i++)
		if (strncmp(v->name, not_files[i], strlen(not_files[i])) == 0)
			return false;
	return true;
}

static const char *const note_keys[] = {
	"pfns_hidden", "no_pagemap", "read_error", "short_read", "exited",
	"no_kpageflags", "no_kpagecount", "kpage_changed", "no_mm",
};

/* Said once for all processes, not per process. */
#define NOTES_ONCE (ML_CONTIG_NOTE_PFNS_HIDDEN | ML_CONTIG_NOTE_NO_KPAGEFLAGS | \
		    ML_CONTIG_NOTE_NO_KPAGECOUNT | ML_CONTIG_NOTE_NO_MM)

/* The per-process notes, on stderr. */
static void print_notes(const struct ml_contig_proc *cp)
{
	for (uint32_t bit = 1; bit && bit <= ML_CONTIG_NOTE__LAST; bit <<= 1) {
		if (!(cp->notes & bit) || (bit & NOTES_ONCE))
			continue;
		fflush(stdout);
		if (cp->note_err && (bit == ML_CONTIG_NOTE_NO_PAGEMAP ||
				     bit == ML_CONTIG_NOTE_READ_ERROR ||
				     bit == ML_CONTIG_NOTE_NO_KPAGEFLAGS ||
				     bit == ML_CONTIG_NOTE_NO_KPAGECOUNT))
			fprintf(stderr, "memlens: pid %d: %s (%s)\n", cp->pid,
				ml_contig_note_str(bit), strerror(-cp->note_err));
		else
			fprintf(stderr, "memlens: pid %d: %s\n", cp->pid,
				ml_contig_note_str(bit));
	}
}

/* ---- --mem-hist ------------------------------------------------------------------- */

struct order_item {
	size_t idx;
	const int64_t *hist;
};

static int cmp_items(const void *x, const void *y)
{
	const struct order_item *a = x, *b = y;
	int c = ml_contig_mem_hist_cmp(a->hist, b->hist);

	if (c)
		return c;
	/* Python's sort is stable */
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* "[1, 0, 2, ...]" as Python prints a list */
static size_t hist_str(char *buf, size_t sz, const int64_t *h)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sz - n, "[");
	for (int o = 0; o < ML_CONTIG_NR_ORDERS && n < sz; o++)
		n += (size_t)snprintf(buf + n, sz - n, "%s%" PRId64,
				      o ? ", " : "", h[o]);
	if (n < sz)
		n += (size_t)snprintf(buf + n, sz - n, "]");
	return n < sz ? n : sz - 1;
}

static bool mem_hist_shown(const struct contig_args *a,
			   const struct ml_contig_vma *v)
{
	static const int64_t blank[ML_CONTIG_NR_ORDERS];

	if (a->omit_unfaulted && !memcmp(v->f.mem_hist, blank, sizeof(blank)))
		return false;
	if (a->omit_file && ml_contig_mem_hist_file_backed(v->name, v->name_len))
		return false;
	return true;
}

static struct order_item *mem_hist_order_vmas(const struct ml_contig_proc *cp)
{
	struct order_item *it = calloc(cp->nr_vmas ? cp->nr_vmas : 1, sizeof(*it));

	if (!it)
		return NULL;
	for (size_t i = 0; i < cp->nr_vmas; i++)
		it[i] = (struct order_item){ i, cp->vmas[i].f.mem_hist };
	qsort(it, cp->nr_vmas, sizeof(*it), cmp_items);
	return it;
}

static void mem_hist_text_proc(const struct contig_args *a,
			       const struct ml_contig_proc *cp,
			       const struct order_item *vo)
{
	char buf[512], pid[24];
	size_t n;

	/* "process {pid:<18} {name:<25} {hist:<50}" */
	fputs("process ", stdout);
	n = (size_t)snprintf(pid, sizeof(pid), "%d", cp->pid);
	put_padded(pid, n, 18);
	putchar(' ');
	put_padded(cp->mem_hist_name, strlen(cp->mem_hist_name), 25);
	putchar(' ');
	n = hist_str(buf, sizeof(buf), cp->total.mem_hist);
	put_padded(buf, n, 50);
	putchar('\n');
	for (size_t k = 0; k < cp->nr_vmas; k++) {
		const struct ml_contig_vma *v = &cp->vmas[vo[k].idx];

		if (!mem_hist_shown(a, v))
			continue;
		/* "  {start:016x}-{end:016x} {size:<8} {perms:<4} {hist:<50} {mapped_file:<40}" */
		printf("  %016" PRIx64 "-%016" PRIx64 " ", v->start, v->end);
		n = (size_t)snprintf(buf, sizeof(buf), "%" PRIu64 "k",
				     (v->end - v->start) / 1024);
		put_padded(buf, n, 8);
		putchar(' ');
		put_padded(v->perms, strlen(v->perms), 4);
		putchar(' ');
		n = hist_str(buf, sizeof(buf), v->f.mem_hist);
		put_padded(buf, n, 50);
		putchar(' ');
		put_padded(v->name, v->name_len, 40);
		putchar('\n');
	}
}

static void json_hist(struct ml_json *j, const char *key, const int64_t *h)
{
	ml_json_key(j, key);
	ml_json_array_begin(j);
	for (int o = 0; o < ML_CONTIG_NR_ORDERS; o++)
		ml_json_i64(j, h[o]);
	ml_json_array_end(j);
}

static void mem_hist_json_proc(struct ml_json *j, const struct contig_args *a,
			       const struct ml_contig_proc *cp,
			       const struct order_item *vo)
{
	ml_json_object_begin(j);
	ml_json_kv_i64(j, "pid", cp->pid);
	ml_json_kv_str(j, "name", cp->mem_hist_name);
	json_hist(j, "hist", cp->total.mem_hist);
	ml_json_key(j, "vmas");
	ml_json_array_begin(j);
	for (size_t k = 0; k < cp->nr_vmas; k++) {
		const struct ml_contig_vma *v = &cp->vmas[vo[k].idx];

		if (!mem_hist_shown(a, v))
			continue;
		ml_json_object_begin(j);
		ml_json_kv_u64(j, "start", v->start);
		ml_json_kv_u64(j, "end", v->end);
		ml_json_kv_str(j, "perms", v->perms);
		ml_json_key(j, "name");
		ml_json_string_len(j, v->name, v->name_len);
		ml_json_key(j, "file_backed");
		ml_json_bool(j, ml_contig_mem_hist_file_backed(v->name, v->name_len));
		json_hist(j, "hist", v->f.mem_hist);
		ml_json_object_end(j);
	}
	ml_json_array_end(j);
	ml_json_object_end(j);
}

static int print_mem_hist(const struct contig_args *a,
			  const struct ml_contig_table *t)
{
	struct order_item *po = calloc(t->n ? t->n : 1, sizeof(*po));
	struct ml_json j;
	size_t np = 0;

	if (!po)
		return -ENOMEM;
	/* mem_hist.py skips processes without VMAs (kernel threads, unreadable) */
	for (size_t i = 0; i < t->n; i++)
		if (!t->p[i].err && t->p[i].nr_vmas)
			po[np++] = (struct order_item){ i, t->p[i].total.mem_hist };
	qsort(po, np, sizeof(*po), cmp_items);
	if (a->json) {
		ml_json_init(&j, stdout, false);
		ml_json_array_begin(&j);
	}
	for (size_t k = 0; k < np; k++) {
		const struct ml_contig_proc *cp = &t->p[po[k].idx];
		struct order_item *vo = mem_hist_order_vmas(cp);

		if (!vo) {
			free(po);
			return -ENOMEM;
		}
		if (a->json)
			mem_hist_json_proc(&j, a, cp, vo);
		else
			mem_hist_text_proc(a, cp, vo);
		free(vo);
	}
	if (a->json) {
		ml_json_array_end(&j);
		ml_json_finish(&j);
	}
	free(po);
	return 0;
}

/* ---- the corrected report ---------------------------------------------------------- */

static bool vma_shown(const struct contig_args *a, const struct ml_contig_vma *v)
{
	if (a->omit_unfaulted && !v->f.present_pages)
		return false;
	if (a->omit_file && corrected_file_backed(v))
		return false;
	return true;
}

static size_t blocks_str(char *buf, size_t sz, const uint64_t *h)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int o = 0; o < ML_CONTIG_NR_ORDERS && n < sz; o++)
		n += (size_t)snprintf(buf + n, sz - n, "%s%" PRIu64, o ? " " : "", h[o]);
	return n < sz ? n : sz - 1;
}

/*
 * "4K:3 2M:1 ..." for the non-empty bins of @nr (bin i holds pages of
 * page_size << i; the last bin is that size and larger), "0" when all are
 * empty, "-" when the figures are not known (@have false).
 */
static size_t bins_str(char *buf, size_t sz, bool have, uint64_t page_size,
		       const uint64_t *nr, int nr_bins)
{
	size_t n = 0;
	char l[32];

	if (!have)
		return (size_t)snprintf(buf, sz, "-");
	buf[0] = '\0';
	for (int i = 0; i < nr_bins && n < sz; i++) {
		if (!nr[i])
			continue;
		pow2_label(l, page_size << i);
		n += (size_t)snprintf(buf + n, sz - n, "%s%s%s:%" PRIu64,
				      n ? " " : "", l,
				      i == nr_bins - 1 ? "+" : "", nr[i]);
	}
	if (!n)
		n = (size_t)snprintf(buf, sz, "0");
	return n < sz ? n : sz - 1;
}

static size_t runs_str(char *buf, size_t sz, const struct ml_contig_proc *cp,
		       const struct ml_contig_runs *r)
{
	return bins_str(buf, sz, cp->have_runs, cp->page_size, r->nr,
			ML_CONTIG_NR_RUN_BINS);
}

static size_t folios_str(char *buf, size_t sz, const struct ml_contig_proc *cp,
			 const struct ml_contig_folios *fo)
{
	return bins_str(buf, sz, cp->have_folios, cp->page_size, fo->nr,
			ML_CONTIG_NR_FOLIO_ORDERS);
}

static void text_row(const struct ml_contig_proc *cp, const char *addr,
		     const char *perms, uint64_t size,
		     const struct ml_contig_figures *f, const char *name,
		     bool exact)
{
	char b[2][32], blocks[256], runs[512], folios[512];

	blocks_str(blocks, sizeof(blocks), f->hist);
	runs_str(runs, sizeof(runs), cp, &f->runs);
	folios_str(folios, sizeof(folios), cp, &f->folios);
	printf("%16s %4s %8s %8s  %-24s %-16s %-16s  %s\n", addr, perms,
	       cli_size(b[0], size, exact),
	       cli_size(b[1], f->present_pages * cp->page_size, exact),
	       blocks, runs, folios, name);
}

static void text_proc(const struct contig_args *a, const struct ml_contig_proc *cp)
{
	size_t shown = 0, faulted = 0;
	uint64_t size = 0;
	char b[32];

	for (size_t i = 0; i < cp->nr_vmas; i++) {
		size += cp->vmas[i].end - cp->vmas[i].start;
		faulted += cp->vmas[i].f.present_pages != 0;
	}
	printf("%d %s: %s present in %zu of %zu VMAs\n", cp->pid, cp->comm,
	       cli_size(b, cp->total.present_pages * cp->page_size, a->bytes),
	       faulted, cp->nr_vmas);
	printf("%16s %4s %8s %8s  %-24s %-16s %-16s  %s\n", "ADDRESS", "PERM",
	       "SIZE", "PRESENT", "BLOCKS 4K..2M", "RUNS", "FOLIOS", "MAPPING");
	for (size_t i = 0; i < cp->nr_vmas; i++) {
		const struct ml_contig_vma *v = &cp->vmas[i];
		char addr[24];

		if (!vma_shown(a, v))
			continue;
		snprintf(addr, sizeof(addr), "%" PRIx64, v->start);
		text_row(cp, addr, v->perms, v->end - v->start, &v->f, v->name,
			 a->bytes);
		shown++;
	}
	text_row(cp, "total", "", size, &cp->total, "", a->bytes);
	putchar('\n');
}

static void json_figures(struct ml_json *j, const struct ml_contig_proc *cp,
			 const struct ml_contig_figures *f)
{
	uint64_t ps = cp->page_size;

	ml_json_kv_u64(j, "present", f->present_pages * ps);
	/* the kernel's own counters, to check folio sizes against */
	ml_json_key(j, "smaps");
	if (!cp->have_smaps) {
		ml_json_null(j);
	} else {
		ml_json_object_begin(j);
		ml_json_kv_u64(j, "rss", f->rss);
		ml_json_kv_u64(j, "anon_huge_pages", f->anon_huge);
		ml_json_kv_u64(j, "shmem_pmd_mapped", f->shmem_pmd_mapped);
		ml_json_kv_u64(j, "file_pmd_mapped", f->file_pmd_mapped);
		ml_json_kv_u64(j, "hugetlb", f->hugetlb);
		ml_json_object_end(j);
	}
	ml_json_key(j, "blocks");
	ml_json_array_begin(j);
	for (int o = 0; o < ML_CONTIG_NR_ORDERS; o++)
		ml_json_u64(j, f->hist[o]);
	ml_json_array_end(j);
	json_hist(j, "mem_hist", f->mem_hist);

	ml_json_key(j, "runs");
	if (!cp->have_runs) {
		ml_json_null(j);
	} else {
		ml_json_array_begin(j);
		for (int i = 0; i < ML_CONTIG_NR_RUN_BINS; i++) {
			if (!f->runs.nr[i])
				continue;
			ml_json_object_begin(j);
			ml_json_kv_u64(j, "size", ps << i);
			if (i == ML_CONTIG_NR_RUN_BINS - 1)
				ml_json_kv_str(j, "and", "larger");
			ml_json_kv_u64(j, "count", f->runs.nr[i]);
			ml_json_kv_u64(j, "bytes", f->runs.bytes[i]);
			ml_json_object_end(j);
		}
		ml_json_array_end(j);
	}

	ml_json_key(j, "folios");
	if (!cp->have_folios) {
		ml_json_null(j);
	} else {
		ml_json_object_begin(j);
		ml_json_key(j, "sizes");
		ml_json_array_begin(j);
		for (int i = 0; i < ML_CONTIG_NR_FOLIO_ORDERS; i++) {
			if (!f->folios.nr[i])
				continue;
			ml_json_object_begin(j);
			ml_json_kv_u64(j, "size", ps << i);
			ml_json_kv_u64(j, "count", f->folios.nr[i]);
			ml_json_kv_u64(j, "bytes", f->folios.bytes[i]);
			ml_json_key(j, "shared_bytes");
			if (cp->have_shared)
				ml_json_u64(j, f->folios.shared_bytes[i]);
			else
				ml_json_null(j);
			ml_json_object_end(j);
		}
		ml_json_array_end(j);
		ml_json_kv_u64(j, "thp_bytes", f->folios.thp_bytes);
		ml_json_kv_u64(j, "hugetlb_bytes", f->folios.hugetlb_bytes);
		ml_json_kv_u64(j, "zero_page_bytes", f->folios.zero_bytes);
		ml_json_object_end(j);
	}
}

static void json_proc(struct ml_json *j, const struct contig_args *a,
		      const struct ml_contig_proc *cp)
{
	uint64_t size = 0;

	for (size_t i = 0; i < cp->nr_vmas; i++)
		size += cp->vmas[i].end - cp->vmas[i].start;
	ml_json_object_begin(j);
	ml_json_kv_i64(j, "pid", cp->pid);
	ml_json_kv_str(j, "comm", cp->comm);
	if (cp->err) {
		ml_json_kv_str(j, "error", strerror(-cp->err));
		ml_json_object_end(j);
		return;
	}
	ml_json_kv_u64(j, "page_size", cp->page_size);
	ml_json_key(j, "notes");
	ml_json_array_begin(j);
	for (unsigned i = 0; i < sizeof(note_keys) / sizeof(note_keys[0]); i++)
		if (cp->notes & (1u << i))
			ml_json_string(j, note_keys[i]);
	ml_json_array_end(j);
	ml_json_key(j, "total");
	ml_json_object_begin(j);
	ml_json_kv_u64(j, "size", size);
	json_figures(j, cp, &cp->total);
	ml_json_object_end(j);
	ml_json_key(j, "vmas");
	ml_json_array_begin(j);
	for (size_t i = 0; i < cp->nr_vmas; i++) {
		const struct ml_contig_vma *v = &cp->vmas[i];

		if (!vma_shown(a, v))
			continue;
		ml_json_object_begin(j);
		ml_json_kv_u64(j, "start", v->start);
		ml_json_kv_u64(j, "end", v->end);
		ml_json_kv_str(j, "perms", v->perms);
		ml_json_key(j, "name");
		ml_json_string_len(j, v->name, v->name_len);
		ml_json_kv_u64(j, "size", v->end - v->start);
		ml_json_key(j, "read");
		ml_json_bool(j, !(v->flags & ML_CONTIG_VMA_SKIPPED));
		json_figures(j, cp, &v->f);
		ml_json_object_end(j);
	}
	ml_json_array_end(j);
	ml_json_object_end(j);
}

static void print_report(const struct contig_args *a,
			 const struct ml_contig_table *t)
{
	struct ml_json j;

	if (a->json) {
		ml_json_init(&j, stdout, false);
		ml_json_array_begin(&j);
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct ml_contig_proc *cp = &t->p[i];

		/* kernel threads and unreadable processes only when asked for */
		if (!a->pids && (cp->err || !cp->nr_vmas))
			continue;
		if (a->json) {
			json_proc(&j, a, cp);
		} else if (!cp->err) {
			text_proc(a, cp);
		}
	}
	if (a->json) {
		ml_json_array_end(&j);
		ml_json_finish(&j);
	}
}

/* ---- --system ---------------------------------------------------------------------- */

static int print_system(const struct contig_args *a, struct ml_contig *c)
{
	struct ml_contig_system s;
	struct ml_json j;
	char l[32], b[5][32];
	int err = ml_contig_system_folios(c, &s);

	if (err) {
		if (err == -EACCES || err == -EPERM)
			cli_errorf("/proc/kpageflags: %s (root only)", strerror(-err));
		else
			cli_error("/proc/kpageflags", err);
		return 1;
	}
	if (a->json) {
		ml_json_init(&j, stdout, false);
		ml_json_object_begin(&j);
		ml_json_kv_u64(&j, "page_size", s.page_size);
		ml_json_kv_u64(&j, "frames", s.nr_pfns);
		ml_json_key(&j, "sizes");
		ml_json_array_begin(&j);
		for (int i = 0; i < ML_CONTIG_NR_FOLIO_ORDERS; i++) {
			if (!s.nr[i])
				continue;
			ml_json_object_begin(&j);
			ml_json_kv_u64(&j, "size", s.page_size << i);
			ml_json_kv_u64(&j, "count", s.nr[i]);
			ml_json_kv_u64(&j, "bytes", s.bytes[i]);
			ml_json_kv_u64(&j, "anon_bytes", s.anon_bytes[i]);
			ml_json_kv_u64(&j, "file_bytes", s.file_bytes[i]);
			ml_json_kv_u64(&j, "hugetlb_bytes", s.hugetlb_bytes[i]);
			ml_json_kv_u64(&j, "mapped_bytes", s.mapped_bytes[i]);
			ml_json_object_end(&j);
		}
		ml_json_array_end(&j);
		ml_json_object_end(&j);
		return ml_json_finish(&j) ? 1 : 0;
	}
	printf("Folios of user memory by size (anonymous, page cache and shmem, hugetlb;\n"
	       "from /proc/kpageflags, %" PRIu64 " frames)\n", s.nr_pfns);
	printf("%8s %10s %8s %8s %8s %8s %8s\n", "SIZE", "FOLIOS", "MEMORY",
	       "ANON", "FILE", "HUGETLB", "MAPPED");
	for (int i = 0; i < ML_CONTIG_NR_FOLIO_ORDERS; i++) {
		if (!s.nr[i])
			continue;
		printf("%8s %10" PRIu64 " %8s %8s %8s %8s %8s\n",
		       pow2_label(l, s.page_size << i), s.nr[i],
		       cli_size(b[0], s.bytes[i], a->bytes),
		       cli_size(b[1], s.anon_bytes[i], a->bytes),
		       cli_size(b[2], s.file_bytes[i], a->bytes),
		       cli_size(b[3], s.hugetlb_bytes[i], a->bytes),
		       cli_size(b[4], s.mapped_bytes[i], a->bytes));
	}
	if (s.notes & ML_CONTIG_NOTE_KPAGE_CHANGED)
		cli_errorf("%s", ml_contig_note_str(ML_CONTIG_NOTE_KPAGE_CHANGED));
	fflush(stdout);
	fprintf(stderr, "memlens: mTHP sizes enabled on this machine: see 'memlens doctor'\n");
	return 0;
}

/* ---- the command ------------------------------------------------------------------------ */

int cmd_contig(struct cli_ctx *ctx, int argc, char **argv)
{
	struct contig_args a = { 0 };
	struct ml_contig_table t;
	struct ml_contig *c = NULL;
	size_t nr_hidden = 0, nr_unreadable = 0, nr_nokpage = 0;
	int ret, err, kpage_err = 0;

	ret = parse_args(argc, argv, &a);
	if (ret) {
		free(a.pids);
		return ret < 0 ? 0 : ret;
	}
	/* folio sizes come with smaps' counters to check them against */
	ML_OPTS(ml_contig_opts, o,
		.what = a.mem_hist ? 0 :
			a.no_folios ? ML_CONTIG_RUNS : ML_CONTIG_ALL);
	err = ml_contig_new(ctx->proc, &o, &c);
	if (err) {
		cli_error("contig", err);
		free(a.pids);
		return 1;
	}
	if (a.system) {
		ret = print_system(&a, c);
		ml_contig_free(c);
		return ret;
	}
	err = ml_contig_scan(c, a.pids, a.nr_pids, &t);
	if (err) {
		cli_error("contig", err);
		ml_contig_free(c);
		free(a.pids);
		return 1;
	}

	if (a.mem_hist)
		err = print_mem_hist(&a, &t);
	else
		print_report(&a, &t);
	if (err)
		cli_error("contig", err);

	for (size_t i = 0; i < t.n; i++) {
		const struct ml_contig_proc *cp = &t.p[i];

		if (cp->err) {
			if (a.pids) {
				if (cp->err == -ESRCH)
					cli_errorf("pid %d: no such process", cp->pid);
				else
					cli_errorf("pid %d: %s", cp->pid, strerror(-cp->err));
				ret = 1;
			} else {
				nr_unreadable++;
			}
			continue;
		}
		if (cp->notes & ML_CONTIG_NOTE_PFNS_HIDDEN)
			nr_hidden++;
		else if (cp->notes & (ML_CONTIG_NOTE_NO_KPAGEFLAGS |
				      ML_CONTIG_NOTE_NO_KPAGECOUNT)) {
			nr_nokpage++;
			if (!kpage_err)
				kpage_err = cp->note_err;
		}
		print_notes(cp);
	}
	if (nr_hidden && !a.mem_hist)
		cli_errorf("PFNs hidden for %zu %s: physical runs and folio sizes need root "
			   "(CAP_SYS_ADMIN)", nr_hidden, cli_processes(nr_hidden));
	if (nr_nokpage && !a.mem_hist)
		cli_errorf("/proc/kpageflags or kpagecount not readable (%s): folio sizes "
			   "incomplete for %zu %s", strerror(kpage_err ? -kpage_err : EIO),
			   nr_nokpage, cli_processes(nr_nokpage));
	if (nr_unreadable)
		cli_errorf("%zu %s not readable: run as root to see them",
			   nr_unreadable, cli_processes(nr_unreadable));
	ml_contig_table_free(&t);
	ml_contig_free(c);
	free(a.pids);
	return err ? 1 : ret;
}
