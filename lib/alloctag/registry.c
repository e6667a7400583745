// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The registry of tag sections (each object registers its own from the
 * constructor alloctag.h gives it), runtime tags (blocks hung off the
 * root: the tags of dlclose'd objects with live blocks, the runtime
 * profiler's), and the in-process snapshot over both.
 *
 * Process-wide like alloc.c, for the same reason: one list of the loaded
 * objects' sections, guarded by one mutex.
 */
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define BLOCK_TAGS 63 /* a block is 4 KiB */

struct section {
	struct ml_alloc_tag *start, *stop;
};
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct section *sections;
static size_t nr_sections, sections_cap;

/* exit() has begun: destructors that follow are not dlclose */
static int exiting;

static void mark_exiting(void)
{
	__atomic_store_n(&exiting, 1, __ATOMIC_RELAXED);
}

void alloctag_registry_init(void)
{
	/* runs before the objects' destructors (_dl_fini was registered
	 * first, so it runs last) */
	atexit(mark_exiting);
}

void alloctag_registry_lock(void)
{
	pthread_mutex_lock(&reg_lock);
}

void alloctag_registry_unlock(void)
{
	pthread_mutex_unlock(&reg_lock);
}

void alloctag_registry_fork_child(void)
{
	pthread_mutex_init(&reg_lock, NULL);
}

/* ---- sections and runtime tags -------------------------------------------------- */

void ml__alloc_register(struct ml_alloc_tag *start, struct ml_alloc_tag *stop)
{
	if (!start || stop <= start)
		return;
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < nr_sections; i++)
		if (sections[i].start == start)
			goto out;
	if (nr_sections == sections_cap) {
		size_t cap = sections_cap ? sections_cap * 2 : 16;
		struct section *n = realloc(sections, cap * sizeof(*n));

		if (!n)
			goto out; /* unreported, still counted */
		sections = n;
		sections_cap = cap;
	}
	sections[nr_sections++] = (struct section){ start, stop };
out:
	pthread_mutex_unlock(&reg_lock);
}

static struct ml_alloc_tag *dyn_new_locked(const struct ml_alloc_tag *tmpl)
{
	struct ml_alloc_tag_block *b = alloctag_root.dyn_head;
	struct ml_alloc_tag *t;

	if (!b || b->nr_used == b->nr_tags) {
		size_t sz = ML_ALLOC_BLOCK_HDR_SIZE +
			    BLOCK_TAGS * sizeof(struct ml_alloc_tag);

		b = alloctag_perm_alloc(sz);
		if (!b)
			return NULL;
		b->magic = ML_ALLOC_BLOCK_MAGIC;
		b->nr_tags = BLOCK_TAGS;
		b->next = alloctag_root.dyn_head;
		__atomic_store_n(&alloctag_root.dyn_head, b,
				 __ATOMIC_RELEASE);
	}
	t = &b->tags[b->nr_used];
	*t = *tmpl;
	t->magic = ML_ALLOC_TAG_MAGIC;
	__atomic_store_n(&b->nr_used, b->nr_used + 1, __ATOMIC_RELEASE);
	return t;
}

struct ml_alloc_tag *ml_alloctag_dyn_new(const struct ml_alloc_tag *tmpl)
{
	struct ml_alloc_tag *t;

	pthread_mutex_lock(&reg_lock);
	t = dyn_new_locked(tmpl);
	pthread_mutex_unlock(&reg_lock);
	return t;
}

/*
 * An object is going away (dlclose). Its tags with live blocks are copied
 * into runtime blocks with their strings, and their counters pointed at
 * the copy, so that the blocks' frees still land and readers still see
 * the sites, as the kernel keeps an unloaded module's tags.
 */
void ml__alloc_unregister(struct ml_alloc_tag *start, struct ml_alloc_tag *stop)
{
	size_t i;

	/* at exit nothing is unloaded: copying tags out would be wasted */
	if (!start || stop <= start || __atomic_load_n(&exiting, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&reg_lock);
	for (i = 0; i < nr_sections; i++)
		if (sections[i].start == start)
			break;
	if (i == nr_sections)
		goto out;
	sections[i] = sections[--nr_sections];
	for (struct ml_alloc_tag *t = start; t < stop; t++) {
		struct ml_alloc_rt *rt = __atomic_load_n(&t->rt, __ATOMIC_ACQUIRE);
		struct ml_alloc_tag tmpl, *copy;

		if (t->magic != ML_ALLOC_TAG_MAGIC || !rt || alloctag_rt_sum(rt, true) == 0)
			continue;
		tmpl = *t;
		tmpl.filename = alloctag_perm_strdup(t->filename);
		tmpl.function = alloctag_perm_strdup(t->function);
		tmpl.modname = alloctag_perm_strdup(t->modname);
		tmpl.flags |= ML_ALLOC_TAG_ORPHAN;
		copy = dyn_new_locked(&tmpl);
		if (copy)
			__atomic_store_n(&rt->tag, copy, __ATOMIC_RELEASE);
	}
out:
	pthread_mutex_unlock(&reg_lock);
}

/* ---- the in-process snapshot ----------------------------------------------------- */

struct obj_find {
	uintptr_t addr;
	const char *name;
	bool main, found;
};

static int obj_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct obj_find *f = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || f->addr < lo ||
		    f->addr >= lo + ph->p_memsz)
			continue;
		f->found = true;
		f->name = info->dlpi_name;
		/* the main program comes first, with an empty name */
		f->main = !info->dlpi_name || !info->dlpi_name[0];
		return 1;
	}
	return 0;
}

static void object_of(const void *addr, char *path, size_t sz, bool *main)
{
	struct obj_find f = { .addr = (uintptr_t)addr };

	path[0] = '\0';
	*main = false;
	dl_iterate_phdr(obj_cb, &f);
	if (!f.found)
		return;
	*main = f.main;
	if (f.main) {
		ssize_t n = readlink("/proc/self/exe", path, sz - 1);

		path[n > 0 ? n : 0] = '\0';
	} else {
		snprintf(path, sz, "%s", f.name);
	}
}

static int add_tag(struct ml_alloctag_snapshot *s, struct ml_alloc_tag *t,
		   const char *object, bool main)
{
	struct ml_alloc_rt *rt = __atomic_load_n(&t->rt, __ATOMIC_ACQUIRE);
	char module[128];
	struct snap_in in = {
		.tag_addr = (uintptr_t)t,
		.file = t->filename ? t->filename : "",
		.func = t->function ? t->function : "",
		.object = object,
		.line = t->lineno,
		.flags = t->flags,
		.addr = t->addr,
		.capture = __atomic_load_n(&t->capture, __ATOMIC_RELAXED) != 0,
		.main = main && !t->modname,
		.bytes = alloctag_rt_sum(rt, false),
		.calls = alloctag_rt_sum(rt, true),
	};

	if (t->modname) {
		in.module = t->modname;
	} else {
		alloctag_module_of(object, module, sizeof(module));
		in.module = module;
	}
	return snap_add(s, &in);
}

int ml_alloctag_snapshot_self(struct ml_alloctag_snapshot *out)
{
	char path[4096];
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->nr_roots = 1;
	out->enabled = ml_alloctag_enabled();
	out->nr_foreign = __atomic_load_n(&alloctag_root.nr_foreign,
					  __ATOMIC_RELAXED);
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < nr_sections && !err; i++) {
		bool main;

		object_of(sections[i].start, path, sizeof(path), &main);
		for (struct ml_alloc_tag *t = sections[i].start;
		     t < sections[i].stop && !err; t++)
			if (t->magic == ML_ALLOC_TAG_MAGIC &&
			    (!(t->flags & ML_ALLOC_TAG_UNTAGGED) ||
			     alloctag_rt_sum(t->rt, true) || alloctag_rt_sum(t->rt, false)))
				err = add_tag(out, t, path, main);
	}
	for (struct ml_alloc_tag_block *b = alloctag_root.dyn_head;
	     b && !err; b = b->next) {
		for (uint32_t i = 0; i < b->nr_used && !err; i++) {
			struct ml_alloc_tag *t = &b->tags[i];

			/* orphans are shown while something they made lives */
			if ((t->flags & ML_ALLOC_TAG_ORPHAN) &&
			    alloctag_rt_sum(t->rt, true) == 0)
				continue;
			err = add_tag(out, t, "", false);
		}
	}
	pthread_mutex_unlock(&reg_lock);
	if (err) {
		ml_alloctag_snapshot_fini(out);
		return err;
	}
	snap_finish(out);
	return 0;
}
