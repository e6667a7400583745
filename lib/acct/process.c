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

/* What the scan asks of one process; ml_acct_process() asks everything. */
struct measure_opts {
	bool filter_uid;
	uid_t uid;
	bool want_cmdline;
	bool include_no_mm;
};

static int no_mm(struct ml_proc_mem *out)
{
	out->no_mm = true;
	return 0;
}

/*
 * Read smaps_rollup into out->mem. The owner comes from the open file:
 * every file under /proc/PID carries the task's owner, so an fstat of the
 * fd we need anyway replaces a path lookup. *skip is set when the owner
 * filter rejects the process before its rollup is read.
 */
static int read_rollup(struct ml_proc *p, pid_t pid,
		       const struct measure_opts *o, struct ml_proc_mem *out,
		       bool *skip)
{
	_cleanup_close_ int fd = proc_open(p, pid, "smaps_rollup", O_RDONLY);
	struct stat st;
	ssize_t n;
	int err;

	/*
	 * For a task without an mm (a kernel thread, a zombie) the kernel
	 * fails the open or the read of smaps_rollup with ESRCH although the
	 * process is there: tell that apart from a process that exited by its
	 * directory, which an exited process loses.
	 */
	if (fd < 0) {
		/* not ours to read, or no mm: still say whose it is */
		err = read_owner(p, pid, &out->uid);
		if (err)
			return err;
		*skip = o->filter_uid && out->uid != o->uid;
		return fd == -ESRCH ? no_mm(out) : fd;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	out->uid = st.st_uid;
	if (o->filter_uid && out->uid != o->uid) {
		*skip = true;
		return 0;
	}
	n = read_all(fd, &p->buf, &p->cap);
	if (n == -ESRCH) {
		uid_t uid;

		return read_owner(p, pid, &uid) ? -ESRCH : no_mm(out);
	}
	if (n < 0)
		return (int)n;
	err = ml_smaps_rollup_parse(p->buf, (size_t)n, &out->mem);
	return err == -ENODATA ? no_mm(out) : err;
}

/*
 * Measure @pid into @out; *skip says the caller should drop it (filtered
 * out, or without memory when those are not wanted). Names are read last,
 * and only for processes that are kept.
 */
static int measure(struct ml_proc *p, pid_t pid, const struct measure_opts *o,
		   struct ml_proc_mem *out, bool *skip)
{
	char cmd[4096];
	int err, name_err;

	*skip = false;
	err = read_rollup(p, pid, o, out, skip);
	if (*skip || err == -ESRCH)
		return err;
	if (!err && out->no_mm && !o->include_no_mm) {
		*skip = true;
		return 0;
	}
	/* a row without its name is no use, even when the rollup failed */
	name_err = ml_proc_comm(p, pid, out->comm, sizeof(out->comm));
	if (name_err == -ESRCH)
		return name_err;
	if (o->want_cmdline && ml_proc_cmdline(p, pid, cmd, sizeof(cmd)) == 0) {
		out->cmdline = strdup(cmd);
		if (!out->cmdline)
			return -ENOMEM;
	}
	return err ? err : name_err;
}

int ml_acct_process(struct ml_proc *p, pid_t pid, bool want_cmdline,
		    struct ml_proc_mem *out)
{
	const struct measure_opts o = { .want_cmdline = want_cmdline,
					.include_no_mm = true };
	bool skip;
	int err;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	if (pid <= 0)
		return out->err = -EINVAL;
	err = measure(p, pid, &o, out, &skip);
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
	const struct measure_opts mo = {
		.filter_uid = o && o->filter_uid,
		.uid = o ? o->uid : 0,
		.want_cmdline = o && o->want_cmdline,
		/* a kernel thread asked for by pid is shown, not dropped */
		.include_no_mm = o && (o->include_no_mm || o->pids),
	};
	struct ml_proc_mem *m;
	bool skip;
	int err;

	err = grow_array((void **)&t->p, &t->cap, t->n, sizeof(*t->p));
	if (err)
		return err;
	m = &t->p[t->n];
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	err = measure(p, pid, &mo, m, &skip);
	if (err == -ENOMEM)
		return err;
	if (skip) {
		free(m->cmdline);
		return 0;
	}
	if (err == -ESRCH && !(o && o->pids)) {
		free(m->cmdline);
		t->nr_gone++;
		return 0;
	}
	m->err = err;
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
