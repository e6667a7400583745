// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Per-mapping accounting across processes (the question Android's librank
 * answers): for every file or named region, the PSS/USS/RSS/swap that all
 * processes mapping it pay for it. Names are gathered in an open-addressing
 * table keyed by the name the kernel prints.
 */
#include <string.h>

#include <memlens/acct.h>

#include "../util/util.h"

#define EMPTY_SLOT UINT32_MAX

static uint64_t hash_name(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int rehash(struct ml_mapping_table *t, size_t ncap)
{
	uint32_t *idx = malloc(ncap * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	memset(idx, 0xff, ncap * sizeof(*idx));
	for (size_t i = 0; i < t->n; i++) {
		const char *name = t->m[i].name;
		size_t slot = hash_name(name, strlen(name)) & (ncap - 1);

		while (idx[slot] != EMPTY_SLOT)
			slot = (slot + 1) & (ncap - 1);
		idx[slot] = (uint32_t)i;
	}
	free(t->index);
	t->index = idx;
	t->index_cap = ncap;
	return 0;
}

/* Find or add the entry for @name; returns its index or a negative errno. */
static long lookup_or_add(struct ml_mapping_table *t, const char *name,
			  size_t len)
{
	struct ml_mapping *m;
	size_t slot;
	int err;

	/* keep the load factor under one half */
	if ((t->n + 1) * 2 > t->index_cap) {
		err = rehash(t, t->index_cap ? t->index_cap * 2 : 256);
		if (err)
			return err;
	}
	slot = hash_name(name, len) & (t->index_cap - 1);
	while (t->index[slot] != EMPTY_SLOT) {
		m = &t->m[t->index[slot]];
		if (strncmp(m->name, name, len) == 0 && m->name[len] == '\0')
			return t->index[slot];
		slot = (slot + 1) & (t->index_cap - 1);
	}
	if (t->n >= UINT32_MAX - 1)
		return -E2BIG;
	err = grow_array((void **)&t->m, &t->cap, t->n, sizeof(*t->m));
	if (err)
		return err;
	m = &t->m[t->n];
	memset(m, 0, sizeof(*m));
	m->name = strndup(name, len);
	if (!m->name)
		return -ENOMEM;
	t->index[slot] = (uint32_t)t->n;
	return (long)t->n++;
}

int ml_mapping_table_add(struct ml_mapping_table *t,
			 const struct ml_vma_list *vmas)
{
	/*
	 * A process counts once per mapping however many VMAs it has there;
	 * remember the last process that touched each entry by index.
	 */
	_cleanup_free_ bool *seen = NULL;
	size_t seen_cap = 0;

	for (size_t i = 0; i < vmas->n; i++) {
		const struct ml_vma *v = &vmas->v[i];
		/*
		 * Entries hold C strings: a NUL inside a name (never from the
		 * kernel, possible in hostile text) ends it, so that hashing,
		 * comparing and strndup() all see the same bytes.
		 */
		size_t len = v->name ? strnlen(v->name, v->name_len) : 0;
		const char *name = len ? v->name : ML_ANON_NAME;
		long idx;

		if (!len)
			len = strlen(ML_ANON_NAME);
		idx = lookup_or_add(t, name, len);

		if (idx < 0)
			return (int)idx;
		if ((size_t)idx >= seen_cap) {
			size_t ncap = t->cap;
			bool *ns = realloc(seen, ncap * sizeof(*ns));

			if (!ns)
				return -ENOMEM;
			memset(ns + seen_cap, 0, (ncap - seen_cap) * sizeof(*ns));
			seen = ns;
			seen_cap = ncap;
		}
		if (!seen[idx]) {
			seen[idx] = true;
			t->m[idx].nr_procs++;
		}
		t->m[idx].nr_vmas++;
		ml_mem_add(&t->m[idx].mem, &v->mem);
	}
	return 0;
}

int ml_acct_mappings(struct ml_proc *p, const struct ml_scan_opts *opts,
		     struct ml_mapping_table *out)
{
	struct ml_proc_table procs;
	int err;

	memset(out, 0, sizeof(*out));
	/* the scan gives us the pid list with the same filters as `ps` */
	err = ml_acct_scan(p, opts, &procs);
	if (err)
		return err;
	for (size_t i = 0; i < procs.n; i++) {
		struct ml_vma_list vmas;

		if (procs.p[i].err || procs.p[i].no_mm)
			continue;
		err = ml_proc_vmas(p, procs.p[i].pid, true, &vmas);
		if (err == -ESRCH) {
			err = 0; /* exited since: not a failure of the scan */
			continue;
		}
		if (err == -ENOMEM)
			break;
		if (err) {
			out->nr_unreadable++;
			err = 0;
			continue;
		}
		err = ml_mapping_table_add(out, &vmas);
		ml_vma_list_free(&vmas);
		if (err)
			break;
		out->nr_procs++;
	}
	out->nr_unreadable += procs.nr_unreadable;
	ml_proc_table_free(&procs);
	if (err)
		ml_mapping_table_free(out);
	return err;
}

static int cmp_mapping(const void *a, const void *b, void *ctx)
{
	const struct ml_mapping *x = a, *y = b;
	enum ml_sort_key key = *(const enum ml_sort_key *)ctx;
	uint64_t vx = ml_mem_sort_value(&x->mem, key);
	uint64_t vy = ml_mem_sort_value(&y->mem, key);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return strcmp(x->name, y->name);
}

void ml_mapping_table_sort(struct ml_mapping_table *t, enum ml_sort_key key)
{
	if (t->n < 2)
		return; /* nothing to order; and qsort_r() takes no NULL array */
	qsort_r(t->m, t->n, sizeof(*t->m), cmp_mapping, &key);
	/* the index refers to positions; rebuild it for later additions */
	if (t->index_cap)
		rehash(t, t->index_cap);
}

void ml_mapping_table_free(struct ml_mapping_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->m[i].name);
	free(t->m);
	free(t->index);
	memset(t, 0, sizeof(*t));
}
