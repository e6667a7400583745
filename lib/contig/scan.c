// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Scanning processes: the VMA list, then pagemap, VMA by VMA, into the
 * engine (engine.c).
 *
 * With PAGEMAP_SCAN (6.7+; probed once per context on the first pagemap):
 *  - the VMAs come from maps (smaps only when its counters are asked for:
 *    smaps walks every page table, as much as reading pagemap again);
 *  - a VMA of up to 2 MiB is read in one pread();
 *  - a larger one is first asked for its present ranges, which the kernel
 *    finds skipping empty page tables, and only those are read, ranges
 *    closer than 2 MiB in one read. Exact, and a 64 GiB reservation costs
 *    microseconds.
 * Without it (older kernels, fixture files: ENOTTY):
 *  - the VMAs come from smaps, and a VMA with Rss 0 (and no hugetlb) is
 *    not read unless it is private readable anonymous memory, where the
 *    shared zero page can be present without being in Rss;
 *  - everything else is read in CONTIG_CHUNK_ENTRIES preads.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "internal.h"

/* ---- uapi newer than the build's headers (Debian bookworm has 6.1) ------- */
#ifndef PAGEMAP_SCAN
/* include/uapi/linux/fs.h, 6.7 */
struct page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

struct pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};
_Static_assert(sizeof(struct pm_scan_arg) == 96, "uapi pm_scan_arg");
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_PRESENT (1 << 3)
#endif

enum { SCAN_UNKNOWN, SCAN_YES, SCAN_NO };

/* ---- notes ------------------------------------------------------------------------ */

const char *ml_contig_note_str(uint32_t note)
{
	switch (note) {
	case ML_CONTIG_NOTE_PFNS_HIDDEN:
		return "PFNs hidden: pagemap shows them only to CAP_SYS_ADMIN, so no physical runs or folio sizes";
	case ML_CONTIG_NOTE_NO_PAGEMAP:
		return "pagemap could not be opened: no figures";
	case ML_CONTIG_NOTE_READ_ERROR:
		return "a pagemap read failed: figures cover what was read";
	case ML_CONTIG_NOTE_SHORT_READ:
		return "pagemap ended inside a VMA: figures cover what was read";
	case ML_CONTIG_NOTE_EXITED:
		return "the process exited during the scan: figures are partial";
	case ML_CONTIG_NOTE_NO_KPAGEFLAGS:
		return "kpageflags not readable (root only): no folio sizes";
	case ML_CONTIG_NOTE_NO_KPAGECOUNT:
		return "kpagecount not readable: no shared/private split of folios";
	case ML_CONTIG_NOTE_KPAGE_CHANGED:
		return "kpageflags changed during the scan: some pages were counted as single pages";
	case ML_CONTIG_NOTE_NO_MM:
		return "no memory: kernel thread or zombie";
	default:
		return NULL;
	}
}

/* ---- context ------------------------------------------------------------------------ */

int ml_contig_new(struct ml_proc *p, const struct ml_contig_opts *opts,
		  struct ml_contig **out)
{
	struct ml_contig *c;
	long ps;

	if (!p || !out)
		return -EINVAL;
	if (opts && opts->sz < sizeof(size_t))
		return -EINVAL;
	ps = sysconf(_SC_PAGESIZE);
	if (ps <= 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->p = p;
	c->page_size = (uint64_t)ps;
	if (opts) {
#define OPT_HAS(f) (opts->sz >= offsetof(struct ml_contig_opts, f) + sizeof(opts->f))
		if (OPT_HAS(what))
			c->what = opts->what & ML_CONTIG_ALL;
		if (OPT_HAS(no_pagemap_scan))
			c->no_pagemap_scan = opts->no_pagemap_scan;
		if (OPT_HAS(no_rss_skip))
			c->no_rss_skip = opts->no_rss_skip;
#undef OPT_HAS
	}
	c->buf = malloc(CONTIG_CHUNK_ENTRIES * sizeof(uint64_t));
	if (!c->buf) {
		free(c);
		return -ENOMEM;
	}
	c->scan_state = c->no_pagemap_scan ? SCAN_NO : SCAN_UNKNOWN;
	kcache_reset(&c->kf);
	kcache_reset(&c->kc);
	*out = c;
	return 0;
}

void ml_contig_free(struct ml_contig *c)
{
	if (!c)
		return;
	ml_kpage_close(c->kpage);
	free(c->buf);
	free(c);
}

/* ---- one VMA ----------------------------------------------------------------------- */

struct vma_reader {
	struct ml_contig *c;
	pid_t pid;
	struct ml_pagemap *pm;
	int scan_fd;        /* for PAGEMAP_SCAN, opened on first use */
	uint32_t *notes;
	int *note_err;
	bool stop;          /* the process is gone: read no more */
};

static void note(struct vma_reader *r, uint32_t bit, int err)
{
	if (err && !*r->note_err && !(*r->notes & bit))
		*r->note_err = err;
	*r->notes |= bit;
}

/* Read [page, page + nr) into the engine. False when the read came short. */
static bool read_range(struct vma_reader *r, struct contig_acc *a,
		       struct ml_contig_vma *v, uint64_t page, uint64_t nr)
{
	struct ml_contig *c = r->c;

	while (nr) {
		size_t want = nr < CONTIG_CHUNK_ENTRIES ? (size_t)nr : CONTIG_CHUNK_ENTRIES;
		ssize_t got = ml_pagemap_read(r->pm, page * c->page_size, want,
					      c->buf);

		if (got < 0) {
			note(r, ML_CONTIG_NOTE_READ_ERROR, (int)got);
			v->flags |= ML_CONTIG_VMA_SHORT;
			return false;
		}
		acc_feed(a, page, c->buf, (size_t)got);
		if ((size_t)got < want) {
			note(r, ML_CONTIG_NOTE_SHORT_READ, 0);
			v->flags |= ML_CONTIG_VMA_SHORT;
			return false;
		}
		page += want;
		nr -= want;
	}
	return true;
}

/* Pages between two present ranges read through rather than split. */
#define COALESCE_GAP_PAGES 512

struct window {
	uint64_t start, end; /* pages; empty when end == start */
};

/* Read the window into the engine; false when the read came short. */
static bool flush_window(struct vma_reader *r, struct contig_acc *a,
			 struct ml_contig_vma *v, struct window *w)
{
	bool ok = true;

	if (w->end > w->start)
		ok = read_range(r, a, v, w->start, w->end - w->start);
	w->start = w->end = 0;
	return ok;
}

/*
 * The present ranges of @v from PAGEMAP_SCAN, read into the engine in
 * windows: ranges closer than COALESCE_GAP_PAGES share one read (4 KiB
 * pages with holes would otherwise cost a read per page), a window never
 * grows past CONTIG_CHUNK_ENTRIES. Returns 0, or -ENOTTY when nothing was
 * fed and the whole VMA should be read instead (no PAGEMAP_SCAN, or it
 * failed on the first call).
 */
static int read_sparse(struct vma_reader *r, struct contig_acc *a,
		       struct ml_contig_vma *v)
{
	struct ml_contig *c = r->c;
	struct page_region regions[CONTIG_NR_REGIONS];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = v->start,
		.end = v->end,
		.vec = (uint64_t)(uintptr_t)regions,
		.vec_len = CONTIG_NR_REGIONS,
		.category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};
	struct window w = { 0, 0 };
	uint64_t ps = c->page_size;
	bool first = true;

	if (r->scan_fd < 0)
		return -ENOTTY;
	while (arg.start < arg.end) {
		long n = ioctl(r->scan_fd, PAGEMAP_SCAN, &arg);

		if (n < 0) {
			int err = errno;

			if (first && err == EFAULT)
				return 0; /* above the user address space */
			if (first)
				return -ENOTTY;
			flush_window(r, a, v, &w);
			note(r, err == ESRCH ? ML_CONTIG_NOTE_EXITED :
			     ML_CONTIG_NOTE_READ_ERROR, -err);
			v->flags |= ML_CONTIG_VMA_SHORT;
			return 0;
		}
		first = false;
		v->flags |= ML_CONTIG_VMA_SPARSE;
		for (long i = 0; i < n && i < CONTIG_NR_REGIONS; i++) {
			uint64_t s = regions[i].start / ps, e = regions[i].end / ps;

			if (regions[i].start < v->start || regions[i].end > v->end ||
			    e <= s)
				continue;
			if (w.end > w.start && s >= w.end &&
			    s - w.end <= COALESCE_GAP_PAGES &&
			    e - w.start <= CONTIG_CHUNK_ENTRIES) {
				w.end = e;
				continue;
			}
			if (!flush_window(r, a, v, &w))
				return 0;
			w.start = s;
			w.end = e;
		}
		if (arg.walk_end <= arg.start)
			break; /* no progress: do not spin */
		arg.start = arg.walk_end;
	}
	flush_window(r, a, v, &w);
	return 0;
}

/* Private readable anonymous memory: where the shared zero page can be. */
static bool may_hold_zero_page(const struct ml_contig_vma *v)
{
	if (v->perms[0] != 'r' || v->perms[3] != 'p')
		return false;
	return v->inode == 0 || (v->name_len >= 9 && memcmp(v->name, "/dev/zero", 9) == 0);
}

/* VMAs up to this many pages are read in one go, without asking first. */
#define SMALL_VMA_PAGES 512

static void read_vma(struct vma_reader *r, struct ml_contig_vma *v)
{
	struct ml_contig *c = r->c;
	struct contig_acc a;
	uint64_t pages;

	acc_init(&a, c, v->start, v->end, &v->f, r->notes);
	if (a.end_page <= a.start_page)
		goto out;
	/* pagemap has no entries above the user address space */
	if (v->name_len == 10 && memcmp(v->name, "[vsyscall]", 10) == 0) {
		v->flags |= ML_CONTIG_VMA_SKIPPED;
		goto out;
	}
	pages = a.end_page - a.start_page;
	if (c->scan_state == SCAN_YES) {
		/* exact: the kernel says where the present pages are */
		if (pages <= SMALL_VMA_PAGES || read_sparse(r, &a, v) != 0)
			read_range(r, &a, v, a.start_page, pages);
		goto out;
	}
	/*
	 * No PAGEMAP_SCAN: smaps' Rss tells which VMAs hold pages. Not
	 * counted there, but present in pagemap: the shared zero page, only
	 * in private readable anonymous memory. (hugetlb is resident but not
	 * in Rss: its own counters.)
	 */
	if (!c->no_rss_skip && !(v->f.rss + v->f.hugetlb) && !may_hold_zero_page(v)) {
		v->flags |= ML_CONTIG_VMA_SKIPPED;
		goto out;
	}
	read_range(r, &a, v, a.start_page, pages);
out:
	acc_finish(&a);
	if (v->flags & ML_CONTIG_VMA_SHORT) {
		char dir[16];
		struct stat st;

		/* short because the process is gone? then stop here */
		snprintf(dir, sizeof(dir), "%d", (int)r->pid);
		if (fstatat(ml_proc_dirfd(c->p), dir, &st, 0) < 0) {
			note(r, ML_CONTIG_NOTE_EXITED, 0);
			r->stop = true;
		}
	}
}

/* Whether PAGEMAP_SCAN works on @fd: asked once per context. */
static void probe_pagemap_scan(struct ml_contig *c, int fd)
{
	struct page_region region;
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = 0,
		.end = c->page_size, /* page 0: never mapped, nothing found */
		.vec = (uint64_t)(uintptr_t)&region,
		.vec_len = 1,
		.category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};

	if (c->scan_state != SCAN_UNKNOWN)
		return;
	if (ioctl(fd, PAGEMAP_SCAN, &arg) >= 0)
		c->scan_state = SCAN_YES;
	else if (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP)
		c->scan_state = SCAN_NO; /* before 6.7, or not a procfs file */
	/* anything else (the process went away): ask again next time */
}

/* ---- one process ----------------------------------------------------------------------- */

void ml_contig_proc_fini(struct ml_contig_proc *cp)
{
	if (!cp)
		return;
	free(cp->vmas);
	free(cp->text);
	cp->vmas = NULL;
	cp->text = NULL;
	cp->nr_vmas = 0;
}

static int take_vmas(struct ml_contig_proc *out, struct ml_vma_list *l)
{
	out->vmas = calloc(l->n ? l->n : 1, sizeof(*out->vmas));
	if (!out->vmas)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const struct ml_vma *s = &l->v[i];
		struct ml_contig_vma *d = &out->vmas[i];

		d->start = s->start;
		d->end = s->end;
		memcpy(d->perms, s->perms, sizeof(d->perms));
		d->name = s->name ? s->name : "";
		d->name_len = s->name ? s->name_len : 0;
		d->inode = s->inode;
		d->f.rss = s->mem.rss;
		d->f.anon_huge = s->mem.anon_huge;
		d->f.shmem_pmd_mapped = s->mem.shmem_pmd_mapped;
		d->f.file_pmd_mapped = s->mem.file_pmd_mapped;
		d->f.hugetlb = s->mem.shared_hugetlb + s->mem.private_hugetlb;
	}
	out->nr_vmas = l->n;
	out->text = l->text;
	l->text = NULL;
	return 0;
}

int ml_contig_process(struct ml_contig *c, pid_t pid,
		      struct ml_contig_proc *out)
{
	struct vma_reader r = { .c = c, .pid = pid, .scan_fd = -1 };
	struct ml_vma_list l = { 0 };
	bool smaps;
	char *status;
	ssize_t n;
	int err, pm_err;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	if (!c || pid <= 0)
		return out->err = -EINVAL;
	out->page_size = c->page_size;
	r.notes = &out->notes;
	r.note_err = &out->note_err;

	/* pagemap first: whether PAGEMAP_SCAN works decides maps or smaps */
	pm_err = ml_pagemap_open(c->p, pid, &r.pm);
	if (!pm_err && !c->no_pagemap_scan) {
		r.scan_fd = proc_open(c->p, pid, "pagemap", O_RDONLY);
		if (r.scan_fd >= 0)
			probe_pagemap_scan(c, r.scan_fd);
	}
	smaps = (c->what & ML_CONTIG_SMAPS) || c->scan_state != SCAN_YES;
	err = ml_proc_vmas(c->p, pid, smaps, &l);
	if (!err)
		err = take_vmas(out, &l);
	ml_vma_list_free(&l);
	if (err) {
		out->err = err;
		goto out;
	}
	out->have_smaps = smaps;
	if (ml_proc_comm(c->p, pid, out->comm, sizeof(out->comm)))
		out->comm[0] = '\0';
	n = ml_proc_read(c->p, pid, "status", &status);
	if (n >= 0)
		ml_contig_mem_hist_name(status, (size_t)n, out->mem_hist_name,
					sizeof(out->mem_hist_name));
	if (!out->nr_vmas) {
		out->notes |= ML_CONTIG_NOTE_NO_MM;
		goto out;
	}
	if (pm_err) {
		/* the VMAs stay, with nothing measured, as mem_hist.py shows them */
		if (pm_err == -ESRCH)
			note(&r, ML_CONTIG_NOTE_EXITED, 0);
		else
			note(&r, ML_CONTIG_NOTE_NO_PAGEMAP, pm_err);
		goto out;
	}

	c->kread_err = 0;
	kcache_reset(&c->kf);
	kcache_reset(&c->kc);
	if (c->what & ML_CONTIG_FOLIOS) {
		if (contig_kpage(c))
			note(&r, ML_CONTIG_NOTE_NO_KPAGEFLAGS, c->kflags_err);
		else if (c->kcount_err)
			note(&r, ML_CONTIG_NOTE_NO_KPAGECOUNT, c->kcount_err);
	}
	for (size_t i = 0; i < out->nr_vmas && !r.stop; i++)
		read_vma(&r, &out->vmas[i]);
	if (c->kread_err && !out->note_err)
		out->note_err = c->kread_err;

	for (size_t i = 0; i < out->nr_vmas; i++)
		ml_contig_figures_add(&out->total, &out->vmas[i].f);
	out->have_runs = (c->what & ML_CONTIG_RUNS) &&
			 !(out->notes & ML_CONTIG_NOTE_PFNS_HIDDEN);
	out->have_folios = (c->what & ML_CONTIG_FOLIOS) &&
			   !(out->notes & (ML_CONTIG_NOTE_PFNS_HIDDEN |
					   ML_CONTIG_NOTE_NO_KPAGEFLAGS));
	out->have_shared = out->have_folios &&
			   !(out->notes & ML_CONTIG_NOTE_NO_KPAGECOUNT);
out:
	ml_pagemap_close(r.pm);
	if (r.scan_fd >= 0)
		close(r.scan_fd);
	return out->err;
}

/* ---- many processes ------------------------------------------------------------------------ */

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Every numeric entry of the proc root, ascending (ps -e's order). */
static int list_pids(struct ml_proc *p, pid_t **out, size_t *nr)
{
	int fd = openat(ml_proc_dirfd(p), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir;

	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((d = readdir(dir))) {
		const char *s = d->d_name;
		uint64_t pid;

		if (!parse_u64(&s, s + strlen(s), &pid) || *s || !pid ||
		    pid > INT32_MAX)
			continue;
		if (grow_array((void **)&v, &cap, n, sizeof(*v))) {
			closedir(dir);
			free(v);
			return -ENOMEM;
		}
		v[n++] = (pid_t)pid;
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof(*v), cmp_pid);
	*out = v;
	*nr = n;
	return 0;
}

void ml_contig_table_free(struct ml_contig_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		ml_contig_proc_fini(&t->p[i]);
	free(t->p);
	memset(t, 0, sizeof(*t));
}

int ml_contig_scan(struct ml_contig *c, const pid_t *pids, size_t nr_pids,
		   struct ml_contig_table *out)
{
	pid_t *all = NULL;
	size_t nr = 0;
	int err;

	if (!c || !out || (nr_pids && !pids))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (pids) {
		nr = nr_pids;
	} else {
		err = list_pids(c->p, &all, &nr);
		if (err)
			return err;
		pids = all;
	}
	for (size_t i = 0; i < nr; i++) {
		struct ml_contig_proc *cp;

		if (grow_array((void **)&out->p, &out->cap, out->n, sizeof(*out->p))) {
			free(all);
			ml_contig_table_free(out);
			return -ENOMEM;
		}
		cp = &out->p[out->n];
		err = ml_contig_process(c, pids[i], cp);
		if (err == -ENOMEM) {
			ml_contig_proc_fini(cp);
			free(all);
			ml_contig_table_free(out);
			return err;
		}
		if (err == -ESRCH && all) {
			ml_contig_proc_fini(cp);
			out->nr_gone++;
			continue;
		}
		out->n++;
	}
	free(all);
	return 0;
}
