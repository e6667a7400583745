// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pieces every real-process access source needs: its init() argument (the
 * proc and sys roots, so that tests run the sources on fixture trees), the
 * ranges it offers, and whether its target still lives.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "sources.h"
#include "../util/util.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

/* ---- arguments ------------------------------------------------------------ */

static int copy_value(char *dst, size_t sz, const char *s, size_t len)
{
	if (!len || len >= sz)
		return -EINVAL;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static int parse_addr(struct src_args *out, const char *s, const char *end)
{
	char buf[24], *e;
	size_t len = (size_t)(end - s);

	if (!len || len >= sizeof(buf) || out->nr_exclude >= SRC_MAX_EXCLUDE)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	out->exclude[out->nr_exclude] = strtoull(buf, &e, 0);
	if (errno || *e || buf[0] == '-')
		return -EINVAL;
	out->nr_exclude++;
	return 0;
}

int src_args_parse(const char *arg, struct src_args *out)
{
	const char *s = arg;

	if (!out)
		return -EINVAL;
	out->nr_exclude = 0;
	snprintf(out->proc_root, sizeof(out->proc_root), "/proc");
	snprintf(out->sys_root, sizeof(out->sys_root), "/sys");
	while (s && *s) {
		const char *end = strchrnul(s, ',');
		const char *eq = memchr(s, '=', (size_t)(end - s));
		size_t klen;
		int err;

		if (!eq)
			return -EINVAL;
		klen = (size_t)(eq - s);
		eq++;
		if (klen == 9 && !memcmp(s, "proc_root", 9))
			err = copy_value(out->proc_root, sizeof(out->proc_root),
					 eq, (size_t)(end - eq));
		else if (klen == 8 && !memcmp(s, "sys_root", 8))
			err = copy_value(out->sys_root, sizeof(out->sys_root),
					 eq, (size_t)(end - eq));
		else if (klen == 7 && !memcmp(s, "exclude", 7))
			err = parse_addr(out, eq, end);
		else
			err = -EINVAL;
		if (err)
			return err;
		s = *end ? end + 1 : end;
	}
	return 0;
}

int src_proc_new(const struct src_args *a, struct ml_proc **out)
{
	ML_OPTS(ml_proc_opts, o, .proc_root = a->proc_root,
		.sys_root = a->sys_root);

	return ml_proc_new(&o, out);
}

int src_open(const char *arg, pid_t pid, struct ml_proc **proc,
	     pid_t *target, const char **why)
{
	struct src_args a;
	int err;

	*why = NULL;
	*target = pid ? pid : getpid();
	err = src_args_parse(arg, &a);
	if (err) {
		*why = "bad source argument";
		return err;
	}
	err = src_proc_new(&a, proc);
	if (err)
		*why = "cannot open the proc root";
	return err;
}

bool src_proc_is_live(const struct ml_proc *p)
{
	struct statfs sfs;

	return fstatfs(ml_proc_dirfd(p), &sfs) == 0 &&
	       sfs.f_type == PROC_SUPER_MAGIC;
}

/* ---- ranges ----------------------------------------------------------------- */

void src_range_add(struct ml_damon_range *buf, size_t cap, size_t *nr,
		   uint64_t start, uint64_t end)
{
	if (start >= end)
		return;
	if (*nr && *nr <= cap && buf[*nr - 1].end == start) {
		buf[*nr - 1].end = end;
		return;
	}
	if (*nr < cap) {
		buf[*nr].start = start;
		buf[*nr].end = end;
	}
	(*nr)++;
}

static bool name_is(const struct ml_vma *v, const char *prefix)
{
	size_t n = strlen(prefix);

	return v->name_len >= n && !memcmp(v->name, prefix, n);
}

bool src_vma_private_anon_rw(const struct ml_vma *v)
{
	if (v->perms[1] != 'w' || v->perms[3] != 'p' || !ml_vma_is_anon(v))
		return false;
	/*
	 * The stack grows and shrinks under the program, and [vvar], [vdso]
	 * and friends are the kernel's: none is the program's data.
	 */
	return !name_is(v, "[stack") && !name_is(v, "[vvar") &&
	       !name_is(v, "[vdso") && !name_is(v, "[vsyscall");
}

void src_target_fini(struct src_target *t)
{
	ml_pagemap_close(t->pm);
	ml_proc_free(t->proc);
}

int src_target_apply(void *state, int action, uint64_t start, uint64_t end,
		     uint64_t *applied)
{
	const struct src_target *t = state;

	return ml_damos_madvise(t->pid, action, start, end, applied);
}

bool src_target_alive(void *state)
{
	struct src_target *t = state;

	return src_pid_alive(t->proc, t->pid);
}

bool src_pid_alive(struct ml_proc *p, pid_t pid)
{
	char *text;
	ssize_t n;
	const char *st;

	n = ml_proc_read(p, pid, "stat", &text);
	if (n == -ENOENT || n == -ESRCH)
		return false;
	if (n < 0)
		return true; /* cannot tell: let the next read say */
	/* "pid (comm) S ...": the state follows the last ')' */
	st = strrchr(text, ')');
	return !(st && st[1] == ' ' && (st[2] == 'Z' || st[2] == 'X'));
}
