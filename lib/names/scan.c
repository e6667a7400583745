// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Memory per name and process: each process's smaps, labelled from the
 * kernel and the registry, summed per name. A process is only read in full
 * when its maps show a name or a registry.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "../proc/internal.h"

void ml_name_table_free(struct ml_name_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->u[i].name);
	free(t->u);
	memset(t, 0, sizeof(*t));
}

/* Whether a maps list shows any name, or a registry to read. */
static bool has_names(const struct ml_vma_list *l)
{
	const char *name;
	size_t len;
	bool shmem;

	for (size_t i = 0; i < l->n; i++) {
		const struct ml_vma *v = &l->v[i];

		if (ml_vma_anon_name(v, &name, &len, &shmem))
			return true;
		if (v->name_len == sizeof(ML_NAMES_REGISTRY_MAPPING) - 1 &&
		    memcmp(v->name, ML_NAMES_REGISTRY_MAPPING, v->name_len) == 0)
			return true;
	}
	return false;
}

struct named {
	const char *name;
	size_t len;
	uint8_t source;
	bool shmem;
	const struct ml_vma *v;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	if (x->shmem != y->shmem)
		return x->shmem ? 1 : -1;
	return x->v < y->v ? -1 : x->v > y->v;
}

/* Rows for one process's labelled VMAs. */
static int add_process(struct ml_name_table *t, const struct ml_proc_mem *pm,
		       const struct ml_vma_list *l,
		       const struct ml_names_labeler *nl)
{
	_cleanup_free_ struct named *nd = malloc((l->n ? l->n : 1) * sizeof(*nd));
	size_t n = 0;
	int err;

	if (!nd)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		struct named *x = &nd[n];

		if (!ml_vma_anon_name(&l->v[i], &x->name, &x->len, &x->shmem))
			continue;
		x->source = (uint8_t)ml_names_source(nl, &l->v[i]);
		x->v = &l->v[i];
		n++;
	}
	if (n == 0)
		return 0;
	qsort(nd, n, sizeof(*nd), cmp_named);
	for (size_t i = 0; i < n;) {
		struct ml_name_usage *u;
		size_t j = i;

		err = grow_array((void **)&t->u, &t->cap, t->n, sizeof(*t->u));
		if (err)
			return err;
		u = &t->u[t->n];
		memset(u, 0, sizeof(*u));
		u->pid = pm->pid;
		memcpy(u->comm, pm->comm, sizeof(u->comm));
		u->name = strndup(nd[i].name, nd[i].len);
		if (!u->name)
			return -ENOMEM;
		u->source = (enum ml_name_source)nd[i].source;
		u->shmem = nd[i].shmem;
		for (; j < n && nd[j].len == nd[i].len &&
		       memcmp(nd[j].name, nd[i].name, nd[i].len) == 0 &&
		       nd[j].source == nd[i].source && nd[j].shmem == nd[i].shmem;
		     j++) {
			const struct ml_vma *v = nd[j].v;

			u->nr_vmas++;
			ml_mem_add(&u->mem, &v->mem);
			/* size from the range: maps-only lists have no counters */
			u->mem.size += ml_vma_size(v) - v->mem.size;
			if (v->perms[2] == 'x')
				u->exec_bytes += ml_vma_size(v);
		}
		t->n++;
		i = j;
	}
	t->nr_named_procs++;
	return 0;
}

int ml_names_scan(struct ml_proc *p, const struct ml_scan_opts *opts,
		  struct ml_name_table *out)
{
	struct ml_proc_table procs;
	int err;

	memset(out, 0, sizeof(*out));
	err = ml_acct_scan(p, opts, &procs);
	if (err)
		return err;
	for (size_t i = 0; i < procs.n && !err; i++) {
		const struct ml_proc_mem *pm = &procs.p[i];
		struct ml_names_labeler *nl = NULL;
		struct ml_vma_list l;

		if (pm->err || pm->no_mm)
			continue;
		/* the cheap look first: maps is an eighth of smaps */
		err = ml_proc_vmas(p, pm->pid, false, &l);
		if (!err) {
			bool named = has_names(&l);

			ml_vma_list_free(&l);
			if (!named) {
				out->nr_procs++;
				continue;
			}
			err = ml_proc_vmas(p, pm->pid, true, &l);
		}
		if (err == -ESRCH) {
			err = 0; /* exited since */
			continue;
		}
		if (err && err != -ENOMEM) {
			out->nr_unreadable++;
			err = 0;
			continue;
		}
		if (err)
			break;
		out->nr_procs++;
		err = ml_names_labeler_new(p, pm->pid, &l, &nl);
		if (!err) {
			struct ml_names_label_stats st;

			ml_names_labeler_stats(nl, &st);
			if (st.registry_err && st.registry_err != -ENOENT) {
				out->nr_registry_unreadable++;
				out->registry_err = st.registry_err;
			}
			err = ml_names_label_list(nl, &l);
			if (!err)
				err = add_process(out, pm, &l, nl);
		}
		if (err == -ESRCH)
			err = 0;
		ml_vma_list_free(&l);
		ml_names_labeler_free(nl);
		nl = NULL;
	}
	out->nr_unreadable += procs.nr_unreadable;
	ml_proc_table_free(&procs);
	if (err)
		ml_name_table_free(out);
	return err;
}
