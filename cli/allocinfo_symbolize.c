// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The runtime mode's sites (libmemlens-alloc.so: tags keyed by return
 * address, ML_ALLOC_TAG_ADDR, without file:line) symbolized for memlens
 * allocinfo PID: file:line and function from DWARF (lib/vmaq/symbolize.c),
 * the object as the module, none for the main program (as the kernel
 * prints no [module] for the core kernel).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memlens/symbolize.h>

#include "allocinfo_kernel.h"

struct allocinfo_syms {
	struct ml_symbolizer *sz;
	struct ml_sym *syms;
};

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

struct allocinfo_syms *allocinfo_symbolize_sites(struct cli_ctx *ctx,
						 pid_t pid,
						 struct ml_alloctag_snapshot *s)
{
	ML_OPTS(ml_symbolizer_opts, so, .return_addrs = true);
	struct allocinfo_syms *h;
	char link[64], exe[PATH_MAX];
	uint64_t *addrs;
	size_t n = 0, k = 0;
	ssize_t len;

	for (size_t i = 0; i < s->n; i++)
		if ((s->sites[i].flags & ML_ALLOC_TAG_ADDR) && s->sites[i].addr)
			n++;
	if (!n)
		return NULL;
	h = calloc(1, sizeof(*h));
	addrs = calloc(n, sizeof(*addrs));
	if (h)
		h->syms = calloc(n, sizeof(*h->syms));
	if (!h || !addrs || !h->syms ||
	    ml_symbolizer_open(ctx->proc, pid, &so, &h->sz) != 0)
		goto fail;
	for (size_t i = 0; i < s->n; i++)
		if ((s->sites[i].flags & ML_ALLOC_TAG_ADDR) && s->sites[i].addr)
			addrs[k++] = s->sites[i].addr;
	if (ml_symbolize(h->sz, addrs, n, h->syms) != 0)
		goto fail;
	snprintf(link, sizeof(link), "%d/exe", (int)pid);
	len = readlinkat(ml_proc_dirfd(ctx->proc), link, exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	k = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct ml_alloctag_site *t = &s->sites[i];
		const struct ml_sym *y;

		if (!(t->flags & ML_ALLOC_TAG_ADDR) || !t->addr)
			continue;
		y = &h->syms[k++];
		if (y->err)
			continue;
		if (y->file && y->line) {
			t->file = y->file;
			t->line = y->line;
		}
		if (y->func)
			t->func = y->func;
		t->object = y->object;
		t->module_is_main = strcmp(y->object, exe) == 0;
		t->module = t->module_is_main ? "" : base(y->object);
	}
	free(addrs);
	return h;
fail:
	free(addrs);
	allocinfo_symbolize_done(h);
	return NULL;
}

void allocinfo_symbolize_done(struct allocinfo_syms *h)
{
	if (!h)
		return;
	ml_symbolizer_close(h->sz);
	free(h->syms);
	free(h);
}
