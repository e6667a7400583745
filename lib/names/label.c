// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Labelling a process's VMAs with their names: the kernel's where it gave
 * them, the registry's elsewhere, intersected with the anonymous VMAs that
 * are mapped now. A VMA whose parts have different names is split as the
 * kernel would have split it, its counters shared among the parts by what
 * pagemap says of each part's pages.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <memlens/pagemap.h>

#include "internal.h"
#include "../proc/internal.h"
#include "../util/uapi.h"

#define SHMEM_ANON_NAME "/dev/zero (deleted)"

/* ---- names as the kernel prints them --------------------------------------------- */

bool ml_vma_anon_name(const struct ml_vma *v, const char **name, size_t *len,
		      bool *shmem)
{
	static const char anon[] = "[anon:", anon_shmem[] = "[anon_shmem:";
	size_t n = v->name ? v->name_len : 0;
	size_t pre;

	if (n < sizeof(anon) || v->name[n - 1] != ']')
		return false;
	if (memcmp(v->name, anon, sizeof(anon) - 1) == 0)
		pre = sizeof(anon) - 1;
	else if (n >= sizeof(anon_shmem) &&
		 memcmp(v->name, anon_shmem, sizeof(anon_shmem) - 1) == 0)
		pre = sizeof(anon_shmem) - 1;
	else
		return false;
	*name = v->name + pre;
	*len = n - pre - 1;
	*shmem = pre == sizeof(anon_shmem) - 1;
	return true;
}

const char *ml_name_source_name(enum ml_name_source s)
{
	switch (s) {
	case ML_NAME_SOURCE_KERNEL:
		return "kernel";
	case ML_NAME_SOURCE_REGISTRY:
		return "registry";
	default:
		return NULL;
	}
}

/* ---- which VMAs the registry can name ---------------------------------------------- */

enum { NOT_NAMEABLE, NAMEABLE_ANON, NAMEABLE_SHMEM };

/*
 * Anonymous memory the kernel would print a name for: private anonymous
 * memory it has no other name for (not [heap], [stack], [vdso]...), and
 * shared anonymous memory.
 */
static int nameable(const struct ml_vma *v)
{
	if (v->inode == 0)
		return v->name_len == 0 ? NAMEABLE_ANON : NOT_NAMEABLE;
	if (v->perms[3] == 's' && v->dev_major == 0 &&
	    v->name_len == sizeof(SHMEM_ANON_NAME) - 1 &&
	    memcmp(v->name, SHMEM_ANON_NAME, v->name_len) == 0)
		return NAMEABLE_SHMEM;
	return NOT_NAMEABLE;
}

/* The first range ending above @addr. */
static size_t first_range(const struct ml_name_ranges *nr, uint64_t addr)
{
	size_t lo = 0, hi = nr->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (nr->r[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

bool ml_names_label_addr(const struct ml_name_ranges *r,
			 const struct ml_vmaq_vma *v, uint64_t addr,
			 struct ml_name_at *out)
{
	bool shared = v->flags & ML_VMAQ_SHARED;
	size_t i;

	if (!r || addr < v->start || addr >= v->end)
		return false;
	/* nameable(), for the ioctl's view of a VMA */
	if (v->inode == 0) {
		if (v->name_len)
			return false;
	} else if (!shared || v->dev_major != 0 ||
		   v->name_len != sizeof(SHMEM_ANON_NAME) - 1 ||
		   memcmp(v->name, SHMEM_ANON_NAME, v->name_len) != 0) {
		return false;
	}
	out->shmem = v->inode != 0;
	out->start = v->start;
	out->end = v->end;
	out->name = NULL;
	i = first_range(r, addr);
	if (i < r->n && r->r[i].start <= addr) {
		out->name = r->r[i].name;
		out->start = r->r[i].start;
		out->end = r->r[i].end;
	} else {
		/* unnamed: the gap between the ranges around it */
		if (i > 0)
			out->start = r->r[i - 1].end;
		if (i < r->n)
			out->end = r->r[i].start;
	}
	if (out->start < v->start)
		out->start = v->start;
	if (out->end > v->end)
		out->end = v->end;
	return true;
}

struct piece {
	uint64_t start, end;
	const char *name; /* NULL: unnamed */
	size_t range;     /* the range that named it */
};

struct pieces {
	struct piece *p;
	size_t n, cap;
};

static int add_piece(struct pieces *ps, uint64_t start, uint64_t end,
		     const char *name, size_t range)
{
	if (start >= end)
		return 0;
	/* names are interned: one pointer per name */
	if (ps->n && ps->p[ps->n - 1].end == start &&
	    ps->p[ps->n - 1].name == name) {
		ps->p[ps->n - 1].end = end;
		return 0;
	}
	if (ps->n == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 16;
		struct piece *np = realloc(ps->p, ncap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		ps->p = np;
		ps->cap = ncap;
	}
	ps->p[ps->n++] = (struct piece){ start, end, name, range };
	return 0;
}

/* The named and unnamed parts of @v, in order, into @ps. */
static int vma_pieces(const struct ml_vma *v, const struct ml_name_ranges *nr,
		      struct pieces *ps)
{
	uint64_t cur = v->start;
	int err = 0;

	ps->n = 0;
	for (size_t j = first_range(nr, v->start);
	     j < nr->n && nr->r[j].start < v->end && !err; j++) {
		uint64_t s = nr->r[j].start > cur ? nr->r[j].start : cur;
		uint64_t e = nr->r[j].end < v->end ? nr->r[j].end : v->end;

		err = add_piece(ps, cur, s, NULL, 0);
		if (!err)
			err = add_piece(ps, s, e, nr->r[j].name, j);
		cur = e;
	}
	if (!err)
		err = add_piece(ps, cur, v->end, NULL, 0);
	return err;
}

/* ---- counters of split VMAs ------------------------------------------------------- */

struct page_counts {
	uint64_t exclusive, shared, swapped; /* pages */
};

/* Count each piece's pages from pagemap. Returns 0 or a negative errno. */
static int count_pages(struct ml_pagemap *pm, const struct pieces *ps,
		       struct page_counts *c)
{
	size_t page = ml_pagemap_page_size(pm);
	uint64_t entries[256];

	for (size_t k = 0; k < ps->n; k++) {
		uint64_t addr = ps->p[k].start;

		memset(&c[k], 0, sizeof(c[k]));
		while (addr < ps->p[k].end) {
			size_t want = (size_t)((ps->p[k].end - addr) / page);
			ssize_t got;

			if (want > ARRAY_SIZE(entries))
				want = ARRAY_SIZE(entries);
			if (want == 0)
				break;
			got = ml_pagemap_read(pm, addr, want, entries);
			if (got <= 0)
				return got < 0 ? (int)got : -ESRCH;
			for (ssize_t i = 0; i < got; i++) {
				uint64_t e = entries[i];

				if (ml_pme_present(e)) {
					if (ml_pme_exclusive(e))
						c[k].exclusive++;
					else
						c[k].shared++;
				} else if (ml_pme_swapped(e) && !ml_pme_guard(e)) {
					c[k].swapped++;
				}
			}
			addr += (uint64_t)got * page;
		}
	}
	return 0;
}

enum weight { W_PRESENT, W_EXCLUSIVE, W_SHARED, W_SWAPPED };

/* Which pages each smaps field counts. */
static enum weight field_weight(size_t off)
{
	switch (off) {
	case offsetof(struct ml_mem, private_clean):
	case offsetof(struct ml_mem, private_dirty):
		return W_EXCLUSIVE;
	case offsetof(struct ml_mem, shared_clean):
	case offsetof(struct ml_mem, shared_dirty):
		return W_SHARED;
	case offsetof(struct ml_mem, swap):
	case offsetof(struct ml_mem, swap_pss):
		return W_SWAPPED;
	default:
		return W_PRESENT;
	}
}

static uint64_t weight_of(const struct page_counts *c, enum weight w)
{
	switch (w) {
	case W_EXCLUSIVE:
		return c->exclusive;
	case W_SHARED:
		return c->shared;
	case W_SWAPPED:
		return c->swapped;
	default:
		return c->exclusive + c->shared;
	}
}

/*
 * Share @value among the pieces in proportion to @w (by size when every
 * weight is 0), in whole kB as smaps counts, so that the shares add up to
 * @value exactly.
 */
static void share(uint64_t value, const uint64_t *w, const uint64_t *sizes,
		  size_t n, uint64_t *out)
{
	uint64_t total = 0, given = 0, kb = value >> 10;
	size_t biggest = 0;

	for (size_t k = 0; k < n; k++)
		total += w[k];
	if (total == 0) {
		w = sizes;
		for (size_t k = 0; k < n; k++)
			total += w[k];
	}
	for (size_t k = 0; k < n; k++) {
		uint64_t s = total ? (uint64_t)((unsigned __int128)kb * w[k] / total) : 0;

		out[k] = s << 10;
		given += s;
		if (w[k] > w[biggest])
			biggest = k;
	}
	out[biggest] += ((kb - given) << 10) + (value & 1023);
}

/*
 * Give each piece its part of @v's counters: pages present, exclusive,
 * shared and swapped from pagemap (@c, or by size when NULL); PSS is the
 * exclusive pages' full size plus the shared pages' share of the rest.
 */
static void apportion(const struct ml_vma *v, const struct pieces *ps,
		      const struct page_counts *c, struct ml_mem *out,
		      uint64_t *w, uint64_t *sizes, uint64_t *tmp)
{
	const uint64_t *src = (const uint64_t *)&v->mem;
	size_t nf = sizeof(struct ml_mem) / sizeof(uint64_t);
	uint64_t uss = ml_mem_uss(&v->mem);
	uint64_t pss_own = v->mem.pss < uss ? v->mem.pss : uss;

	for (size_t k = 0; k < ps->n; k++)
		sizes[k] = ps->p[k].end - ps->p[k].start;
	memset(out, 0, ps->n * sizeof(*out));
	for (size_t f = 0; f < nf; f++) {
		size_t off = f * sizeof(uint64_t);

		if (off == offsetof(struct ml_mem, size)) {
			for (size_t k = 0; k < ps->n; k++)
				out[k].size = sizes[k];
			continue;
		}
		if (off == offsetof(struct ml_mem, pss)) {
			/* the exclusive pages' part, then the shared pages' */
			for (size_t k = 0; k < ps->n; k++)
				w[k] = c ? c[k].exclusive : sizes[k];
			share(pss_own, w, sizes, ps->n, tmp);
			for (size_t k = 0; k < ps->n; k++)
				out[k].pss = tmp[k];
			for (size_t k = 0; k < ps->n; k++)
				w[k] = c ? c[k].shared : sizes[k];
			share(v->mem.pss - pss_own, w, sizes, ps->n, tmp);
			for (size_t k = 0; k < ps->n; k++)
				out[k].pss += tmp[k];
			continue;
		}
		if (src[f] == 0)
			continue;
		for (size_t k = 0; k < ps->n; k++)
			w[k] = c ? weight_of(&c[k], field_weight(off)) : sizes[k];
		share(src[f], w, sizes, ps->n, tmp);
		for (size_t k = 0; k < ps->n; k++)
			((uint64_t *)&out[k])[f] = tmp[k];
	}
}

/* ---- the labeler -------------------------------------------------------------------- */

struct ml_names_labeler {
	struct ml_proc *p;
	pid_t pid;
	struct ml_name_ranges nr;
	/*
	 * "[anon:NAME]" and "[anon_shmem:NAME]", each made once per name when
	 * first needed, in a buffer sized for all at the start (it never
	 * moves: labelled VMAs point into it). uniq_of[i] is range i's name
	 * number, label_at[shmem][name] its label's offset (UINT32_MAX: none
	 * yet).
	 */
	char *labels;
	size_t labels_len, labels_cap;
	uint32_t *uniq_of;
	uint32_t *label_at[2];
	struct ml_pagemap *pm;
	int pm_err; /* 1: not opened yet */
	struct pieces ps;
	size_t cursor; /* the range found for the last VMA: the next is near */
	struct ml_vma *out; /* the parts of the last VMA labelled */
	size_t out_cap;
	struct page_counts *c;
	struct ml_mem *mem;
	uint64_t *w, *sizes, *tmp;
	size_t scratch_cap;
	struct ml_names_label_stats st;
};

enum ml_name_source ml_names_source(const struct ml_names_labeler *nl,
				    const struct ml_vma *v)
{
	const char *name;
	size_t len;
	bool shmem;

	if (nl && nl->labels && v->name >= nl->labels &&
	    v->name < nl->labels + nl->labels_cap)
		return ML_NAME_SOURCE_REGISTRY;
	if (ml_vma_anon_name(v, &name, &len, &shmem))
		return ML_NAME_SOURCE_KERNEL;
	return ML_NAME_SOURCE_NONE;
}

void ml_names_labeler_stats(const struct ml_names_labeler *nl,
			    struct ml_names_label_stats *st)
{
	*st = nl->st;
}

void ml_names_labeler_free(struct ml_names_labeler *nl)
{
	if (!nl)
		return;
	if (nl->pm)
		ml_pagemap_close(nl->pm);
	ml_name_ranges_free(&nl->nr);
	free(nl->labels);
	free(nl->uniq_of);
	free(nl->label_at[0]);
	free(nl->label_at[1]);
	free(nl->ps.p);
	free(nl->out);
	free(nl->c);
	free(nl->mem);
	free(nl->w);
	free(nl->sizes);
	free(nl->tmp);
	free(nl);
}

static bool is_registry(const char *name, size_t len)
{
	return len == sizeof(ML_NAMES_REGISTRY_MAPPING) - 1 &&
	       memcmp(name, ML_NAMES_REGISTRY_MAPPING, len) == 0;
}

static int add_found(struct ml_vma_list *out, uint64_t start, uint64_t end)
{
	int err = grow_array((void **)&out->v, &out->cap, out->n, sizeof(*out->v));

	if (err)
		return err;
	memset(&out->v[out->n], 0, sizeof(out->v[0]));
	out->v[out->n].start = start;
	out->v[out->n].end = end;
	out->v[out->n].name = ML_NAMES_REGISTRY_MAPPING;
	out->v[out->n].name_len = sizeof(ML_NAMES_REGISTRY_MAPPING) - 1;
	out->n++;
	return 0;
}

/*
 * The registry mappings of @pid from /proc/PID/map_files, which lists the
 * file mappings only (a few dozen in most processes, however many
 * anonymous VMAs there are) in one pass of the kernel's. Following its
 * links needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE): -EPERM without.
 */
static int find_registry_map_files(struct ml_proc *p, pid_t pid,
				   struct ml_vma_list *out)
{
	char dir[32], target[sizeof(ML_NAMES_REGISTRY_MAPPING) + 1];
	struct dirent *de;
	DIR *d;
	int fd, err = 0;

	memset(out, 0, sizeof(*out));
	snprintf(dir, sizeof(dir), "%d/map_files", (int)pid);
	fd = openat(ml_proc_dirfd(p), dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return proc_errno(p, pid, errno);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while (!err && (de = readdir(d))) {
		const char *s = de->d_name, *e = s + strlen(s);
		uint64_t start, end;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		if (!parse_hex_u64(&s, e, &start) || s >= e || *s++ != '-' ||
		    !parse_hex_u64(&s, e, &end) || s != e)
			continue;
		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target));
		if (n < 0) {
			err = errno == EPERM || errno == EACCES ? -EPERM : 0;
			continue;
		}
		if (is_registry(target, (size_t)n))
			err = add_found(out, start, end);
	}
	closedir(d);
	if (err)
		ml_vma_list_free(out);
	return err;
}

/*
 * The same through the PROCMAP_QUERY ioctl, for readers without the
 * capability: a walk over the writable file mappings, in which the kernel
 * steps over every anonymous VMA once. -ENOTTY on kernels without it (and
 * on fixture trees).
 */
static int find_registry(struct ml_proc *p, pid_t pid, struct ml_vma_list *out)
{
	_cleanup_close_ int fd = proc_open(p, pid, "maps", O_RDONLY);
	static const size_t name_max = 4096;
	_cleanup_free_ char *name = NULL;
	uint64_t addr = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return fd;
	name = malloc(name_max);
	if (!name)
		return -ENOMEM;
	for (;;) {
		struct procmap_query q = {
			.size = sizeof(q),
			.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA |
				       PROCMAP_QUERY_FILE_BACKED_VMA |
				       PROCMAP_QUERY_VMA_WRITABLE,
			.query_addr = addr,
			.vma_name_addr = (uint64_t)(uintptr_t)name,
			.vma_name_size = (uint32_t)name_max,
		};

		if (ioctl(fd, PROCMAP_QUERY, &q) < 0) {
			err = -errno;
			if (err == -ENOENT)
				return 0;
			ml_vma_list_free(out);
			return err;
		}
		if (q.vma_end <= addr) {
			ml_vma_list_free(out);
			return -EINVAL;
		}
		addr = q.vma_end;
		if (!q.vma_name_size || !is_registry(name, q.vma_name_size - 1))
			continue;
		err = add_found(out, q.vma_start, q.vma_end);
		if (err) {
			ml_vma_list_free(out);
			return err;
		}
	}
}

/*
 * Number the distinct names: the parser lays each name out once, one
 * after the other, so their offsets in order number them, and a range's
 * number is its name's offset found among them (most often the one after
 * the previous range's, as programs name their regions in order).
 */
static int number_names(struct ml_names_labeler *nl)
{
	const struct ml_name_ranges *nr = &nl->nr;
	_cleanup_free_ size_t *name_at = NULL;
	size_t uniq = 0, prev = 0;

	for (size_t off = 0; off < nr->names_len;
	     off += strlen(nr->names + off) + 1)
		uniq++;
	name_at = malloc((uniq ? uniq : 1) * sizeof(*name_at));
	nl->uniq_of = malloc((nr->n ? nr->n : 1) * sizeof(*nl->uniq_of));
	if (!name_at || !nl->uniq_of)
		return -ENOMEM;
	prefault(name_at, uniq * sizeof(*name_at));
	prefault(nl->uniq_of, nr->n * sizeof(*nl->uniq_of));
	uniq = 0;
	for (size_t off = 0; off < nr->names_len;) {
		size_t len = strlen(nr->names + off);

		name_at[uniq++] = off;
		/* its two labels, at most */
		nl->labels_cap += 2 * len + sizeof("[anon:]") +
				  sizeof("[anon_shmem:]");
		off += len + 1;
	}
	for (size_t i = 0; i < nr->n; i++) {
		size_t off = (size_t)(nr->r[i].name - nr->names), lo = 0, hi = uniq;

		if (prev + 1 < uniq && name_at[prev + 1] == off) {
			prev = nl->uniq_of[i] = (uint32_t)(prev + 1);
			continue;
		}
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (name_at[mid] < off)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == uniq || name_at[lo] != off)
			return -EINVAL; /* not how the parser lays names out */
		prev = nl->uniq_of[i] = (uint32_t)lo;
	}
	nl->labels = malloc(nl->labels_cap ? nl->labels_cap : 1);
	nl->label_at[0] = malloc((uniq ? uniq : 1) * sizeof(uint32_t));
	nl->label_at[1] = malloc((uniq ? uniq : 1) * sizeof(uint32_t));
	if (!nl->labels || !nl->label_at[0] || !nl->label_at[1])
		return -ENOMEM;
	/* most names label a VMA: the labels' room is written about whole */
	prefault(nl->labels, nl->labels_cap / 2);
	prefault(nl->label_at[0], uniq * sizeof(uint32_t));
	prefault(nl->label_at[1], uniq * sizeof(uint32_t));
	memset(nl->label_at[0], 0xff, uniq * sizeof(uint32_t));
	memset(nl->label_at[1], 0xff, uniq * sizeof(uint32_t));
	return 0;
}

int ml_names_labeler_new(struct ml_proc *p, pid_t pid,
			 const struct ml_vma_list *vmas,
			 struct ml_names_labeler **out)
{
	struct ml_names_labeler *nl = calloc(1, sizeof(*nl));
	struct ml_vma_list found = { 0 };
	bool any = false;
	int err;

	*out = NULL;
	if (!nl)
		return -ENOMEM;
	nl->p = p;
	nl->pid = pid;
	nl->pm_err = 1;
	nl->st.registry_err = -ENOENT;
	if (!vmas) {
		err = find_registry_map_files(p, pid, &found);
		if (err && err != -ENOMEM && err != -ESRCH)
			err = find_registry(p, pid, &found);
		if (err == -ENOTTY || err == -EINVAL) {
			/* no PROCMAP_QUERY: the registry is found in the text */
			err = ml_proc_vmas(p, pid, false, &found);
		}
		if (err) {
			ml_vma_list_free(&found);
			if (err == -ENOMEM || err == -ESRCH) {
				free(nl);
				return err;
			}
			nl->st.registry_err = err;
			*out = nl;
			return 0;
		}
		vmas = &found;
	}
	for (size_t i = 0; i < vmas->n && !any; i++)
		any = is_registry(vmas->v[i].name, vmas->v[i].name_len);
	err = any ? ml_names_registry_read(p, pid, vmas, &nl->nr) : -ENOENT;
	ml_vma_list_free(&found);
	nl->st.registry_err = err;
	if (!err) {
		nl->st.nr_ranges = nl->nr.n;
		err = number_names(nl);
	}
	if (err == -ENOMEM) {
		ml_names_labeler_free(nl);
		return err;
	}
	*out = nl;
	return 0;
}

static int scratch(struct ml_names_labeler *nl, size_t n)
{
	if (n <= nl->scratch_cap)
		return 0;
	free(nl->c);
	free(nl->mem);
	free(nl->w);
	free(nl->sizes);
	free(nl->tmp);
	nl->c = malloc(n * sizeof(*nl->c));
	nl->mem = malloc(n * sizeof(*nl->mem));
	nl->w = malloc(n * sizeof(*nl->w));
	nl->sizes = malloc(n * sizeof(*nl->sizes));
	nl->tmp = malloc(n * sizeof(*nl->tmp));
	nl->scratch_cap = 0;
	if (!nl->c || !nl->mem || !nl->w || !nl->sizes || !nl->tmp)
		return -ENOMEM;
	nl->scratch_cap = n;
	return 0;
}

static void set_label(struct ml_names_labeler *nl, struct ml_vma *d,
		      size_t range, int kind)
{
	bool shmem = kind == NAMEABLE_SHMEM;
	uint32_t u = nl->uniq_of[range], *at = &nl->label_at[shmem][u];
	const char *name = nl->nr.r[range].name;

	if (*at == UINT32_MAX) {
		size_t len = strlen(name), o = nl->labels_len;
		const char *prefix = shmem ? "[anon_shmem:" : "[anon:";
		size_t plen = strlen(prefix);

		memcpy(nl->labels + o, prefix, plen);
		memcpy(nl->labels + o + plen, name, len);
		nl->labels[o + plen + len] = ']';
		nl->labels[o + plen + len + 1] = '\0';
		nl->labels_len = o + plen + len + 2;
		*at = (uint32_t)o;
	}
	d->name = nl->labels + *at;
	d->name_len = (uint32_t)(strlen(name) + (shmem ? 13 : 7));
	nl->st.nr_registry++;
}

/* first_range(), trying the last answer and the one after it first. */
static size_t range_near(struct ml_names_labeler *nl, uint64_t addr)
{
	const struct ml_name_ranges *nr = &nl->nr;
	size_t c = nl->cursor;

	for (size_t k = c; k < c + 2 && k < nr->n; k++)
		if (nr->r[k].end > addr && (k == 0 || nr->r[k - 1].end <= addr))
			return nl->cursor = k;
	return nl->cursor = first_range(nr, addr);
}

long ml_names_labeler_vma(struct ml_names_labeler *nl, const struct ml_vma *v,
			  const struct ml_vma **parts)
{
	const struct pieces *ps = &nl->ps;
	const struct page_counts *c = NULL;
	int kind, err;
	size_t j;

	*parts = v;
	if (!nl->nr.n || (kind = nameable(v)) == NOT_NAMEABLE)
		return 1;
	/* the usual cases first: one range names the whole VMA, or none
	 * touches it; VMAs come in address order, so look where the last
	 * one's range was before searching */
	j = range_near(nl, v->start);
	if (j == nl->nr.n || nl->nr.r[j].start >= v->end)
		return 1;
	if (nl->nr.r[j].start <= v->start && nl->nr.r[j].end >= v->end) {
		if (!nl->out_cap) {
			nl->out = malloc(sizeof(*nl->out));
			if (!nl->out)
				return -ENOMEM;
			nl->out_cap = 1;
		}
		nl->out[0] = *v;
		set_label(nl, &nl->out[0], j, kind);
		*parts = nl->out;
		return 1;
	}
	err = vma_pieces(v, &nl->nr, &nl->ps);
	if (err)
		return err;
	if (ps->n == 1 && !ps->p[0].name)
		return 1;
	if (ps->n > nl->out_cap) {
		struct ml_vma *no = realloc(nl->out, ps->n * sizeof(*no));

		if (!no)
			return -ENOMEM;
		nl->out = no;
		nl->out_cap = ps->n;
	}
	if (ps->n == 1) {
		nl->out[0] = *v;
		set_label(nl, &nl->out[0], ps->p[0].range, kind);
		*parts = nl->out;
		return 1;
	}
	err = scratch(nl, ps->n);
	if (err)
		return err;
	if (nl->pm_err == 1)
		nl->pm_err = ml_pagemap_open(nl->p, nl->pid, &nl->pm);
	if (!nl->pm_err && count_pages(nl->pm, ps, nl->c) == 0)
		c = nl->c;
	else
		nl->st.nr_by_size++;
	apportion(v, ps, c, nl->mem, nl->w, nl->sizes, nl->tmp);
	for (size_t k = 0; k < ps->n; k++) {
		struct ml_vma *d = &nl->out[k];

		*d = *v;
		d->start = ps->p[k].start;
		d->end = ps->p[k].end;
		if (v->inode)
			d->offset = v->offset + (ps->p[k].start - v->start);
		d->mem = nl->mem[k];
		if (ps->p[k].name)
			set_label(nl, d, ps->p[k].range, kind);
	}
	nl->st.nr_split++;
	*parts = nl->out;
	return (long)ps->n;
}

int ml_names_label_list(struct ml_names_labeler *nl, struct ml_vma_list *l)
{
	const struct ml_vma *parts;
	struct ml_vma *nv;
	size_t total = 0, o = 0;
	long n;

	if (!nl->nr.n)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		int kind = nameable(&l->v[i]);

		if (kind == NOT_NAMEABLE) {
			total++;
			continue;
		}
		if (vma_pieces(&l->v[i], &nl->nr, &nl->ps))
			return -ENOMEM;
		total += nl->ps.n;
	}
	if (total == l->n) {
		/* nothing splits: relabel in place */
		for (size_t i = 0; i < l->n; i++) {
			n = ml_names_labeler_vma(nl, &l->v[i], &parts);
			if (n < 0)
				return (int)n;
			if (parts != &l->v[i])
				l->v[i] = parts[0];
		}
		return 0;
	}
	nv = malloc(total * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		n = ml_names_labeler_vma(nl, &l->v[i], &parts);
		if (n < 0) {
			free(nv);
			return (int)n;
		}
		memcpy(&nv[o], parts, (size_t)n * sizeof(*nv));
		o += (size_t)n;
	}
	free(l->v);
	l->v = nv;
	l->n = o;
	l->cap = total;
	return 0;
}
