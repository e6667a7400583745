// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Per-process accounting from /proc/PID/smaps_rollup, and the system-wide
 * scan built on it. A scan reads three things per process: the owner of
 * /proc/PID (one fstatat, the same source smem uses), comm, and the rollup;
 * that is within a few percent of reading the rollups alone.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <memlens/acct.h>

#include "../proc/internal.h"

static int read_owner(struct ml_proc *p, pid_t pid, uid_t *uid)
{
	char dir[16];
	struct stat st;

	snprintf(dir, sizeof(dir), "%d", (int)pid);
	if (fstatat(ml_proc_dirfd(p), dir, &st, 0) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	*uid = st.st_uid;
	return 0;
}

static int read_rollup(struct ml_proc *p, pid_t pid, struct ml_proc_mem *out)
{
	char *text;
	ssize_t n = ml_proc_read(p, pid, "smaps_rollup", &text);
	uid_t uid;
	int err;

	/*
	 * For a task without an mm (a kernel thread, a zombie) the kernel's
	 * show_smaps_rollup() fails the read with ESRCH although the process
	 * is there: tell that apart from a process that exited by its
	 * directory, which an exited process loses.
	 */
	if (n == -ESRCH && read_owner(p, pid, &uid) == 0) {
		out->no_mm = true;
		return 0;
	}
	if (n < 0)
		return (int)n;
	err = ml_smaps_rollup_parse(text, (size_t)n, &out->mem);
	if (err == -ENODATA) {
		out->no_mm = true;
		return 0;
	}
	return err;
}

/* Fill everything but the owner, which the scan reads first to filter. */
static int measure(struct ml_proc *p, pid_t pid, bool want_cmdline,
		   struct ml_proc_mem *out)
{
	char cmd[4096];
	int err;

	err = ml_proc_comm(p, pid, out->comm, sizeof(out->comm));
	if (err)
		return err;
	if (want_cmdline && ml_proc_cmdline(p, pid, cmd, sizeof(cmd)) == 0) {
		out->cmdline = strdup(cmd);
		if (!out->cmdline)
			return -ENOMEM;
	}
	return read_rollup(p, pid, out);
}

int ml_acct_process(struct ml_proc *p, pid_t pid, bool want_cmdline,
		    struct ml_proc_mem *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	if (pid <= 0)
		return out->err = -EINVAL;
	err = read_owner(p, pid, &out->uid);
	if (!err)
		err = measure(p, pid, want_cmdline, out);
	out->err = err;
	return err;
}

/* ---- scan ------------------------------------------------------------------- */

static bool parse_pid(const char *name, pid_t *pid)
{
	uint64_t v;
	const char *s = name, *end = name + strlen(name);

	if (!parse_u64(&s, end, &v) || s != end || v == 0 || v > INT32_MAX)
		return false;
	*pid = (pid_t)v;
	return true;
}

static bool wanted_pid(const struct ml_scan_opts *o, pid_t pid)
{
	if (!o || !o->pids)
		return true;
	for (size_t i = 0; i < o->nr_pids; i++)
		if (o->pids[i] == pid)
			return true;
	return false;
}

/*
 * Measure @pid into the next slot of @t unless filtered out. A process that
 * vanished is dropped (counted in nr_gone) unless it was asked for by pid.
 */
static int scan_one(struct ml_proc *p, const struct ml_scan_opts *o,
		    pid_t pid, struct ml_proc_table *t)
{
	struct ml_proc_mem *m;
	int err;

	err = grow_array((void **)&t->p, &t->cap, t->n, sizeof(*t->p));
	if (err)
		return err;
	m = &t->p[t->n];
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	err = read_owner(p, pid, &m->uid);
	if (!err && o && o->filter_uid && m->uid != o->uid)
		return 0;
	if (!err)
		err = measure(p, pid, o && o->want_cmdline, m);
	m->err = err;
	if (err == -ESRCH && !(o && o->pids)) {
		free(m->cmdline);
		t->nr_gone++;
		return 0;
	}
	if (err == -ENOMEM)
		return err;
	if (!err && m->no_mm && !(o && o->include_no_mm)) {
		free(m->cmdline);
		return 0;
	}
	if (err)
		t->nr_unreadable++;
	t->n++;
	return 0;
}

static int scan_pids(struct ml_proc *p, const struct ml_scan_opts *o,
		     struct ml_proc_table *t)
{
	for (size_t i = 0; i < o->nr_pids; i++) {
		int err = scan_one(p, o, o->pids[i], t);

		if (err)
			return err;
	}
	return 0;
}

static int scan_all(struct ml_proc *p, const struct ml_scan_opts *o,
		    struct ml_proc_table *t)
{
	struct dirent *de;
	DIR *dir;
	int fd, err = 0;

	fd = openat(ml_proc_dirfd(p), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		err = -errno;
		close(fd);
		return err;
	}
	while ((de = readdir(dir))) {
		pid_t pid;

		if (!parse_pid(de->d_name, &pid) || !wanted_pid(o, pid))
			continue;
		err = scan_one(p, o, pid, t);
		if (err)
			break;
	}
	closedir(dir);
	return err;
}

int ml_acct_scan(struct ml_proc *p, const struct ml_scan_opts *opts,
		 struct ml_proc_table *out)
{
	int err;

	if (!p || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (opts && opts->pids)
		err = scan_pids(p, opts, out);
	else
		err = scan_all(p, opts, out);
	if (err)
		ml_proc_table_free(out);
	return err;
}

void ml_proc_table_free(struct ml_proc_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->p[i].cmdline);
	free(t->p);
	memset(t, 0, sizeof(*t));
}

/* ---- sorting ------------------------------------------------------------------ */

int ml_sort_key_parse(const char *s, enum ml_sort_key *key)
{
	static const char *const names[] = {
		[ML_SORT_PSS] = "pss", [ML_SORT_USS] = "uss",
		[ML_SORT_RSS] = "rss", [ML_SORT_SWAP] = "swap" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (s && strcmp(s, names[i]) == 0) {
			*key = (enum ml_sort_key)i;
			return 0;
		}
	}
	return -EINVAL;
}

uint64_t ml_mem_sort_value(const struct ml_mem *m, enum ml_sort_key key)
{
	switch (key) {
	case ML_SORT_USS:
		return ml_mem_uss(m);
	case ML_SORT_RSS:
		return m->rss;
	case ML_SORT_SWAP:
		return m->swap;
	case ML_SORT_PSS:
	default:
		return m->pss;
	}
}

static int cmp_proc(const void *a, const void *b, void *ctx)
{
	const struct ml_proc_mem *x = a, *y = b;
	enum ml_sort_key sort_key = *(const enum ml_sort_key *)ctx;
	uint64_t vx, vy;

	if (!!x->err != !!y->err)
		return x->err ? 1 : -1;
	vx = ml_mem_sort_value(&x->mem, sort_key);
	vy = ml_mem_sort_value(&y->mem, sort_key);
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

void ml_proc_table_sort(struct ml_proc_table *t, enum ml_sort_key key)
{
	if (t->n < 2)
		return; /* nothing to order; and qsort_r() takes no NULL array */
	qsort_r(t->p, t->n, sizeof(*t->p), cmp_proc, &key);
}
