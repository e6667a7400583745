// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The proc context: a root directory held open and one read buffer reused
 * across a whole scan, so that a system-wide scan does one allocation, not
 * one per file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define INITIAL_READ_BUF (64 * 1024)

int ml_proc_new(const struct ml_proc_opts *opts, struct ml_proc **out)
{
	const char *root = "/proc", *sys_root = "/sys";
	struct ml_proc *p;
	int err;

	if (!out)
		return -EINVAL;
	if (opts) {
		if (opts->sz < sizeof(size_t))
			return -EINVAL;
		if (opts->sz >= offsetof(struct ml_proc_opts, proc_root) +
					sizeof(opts->proc_root) && opts->proc_root)
			root = opts->proc_root;
		if (opts->sz >= offsetof(struct ml_proc_opts, sys_root) +
					sizeof(opts->sys_root) && opts->sys_root)
			sys_root = opts->sys_root;
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		err = -errno;
		free(p);
		return err;
	}
	p->root = strdup(root);
	p->sys_root = strdup(sys_root);
	if (!p->root || !p->sys_root) {
		ml_proc_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void ml_proc_free(struct ml_proc *p)
{
	if (!p)
		return;
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->root);
	free(p->sys_root);
	free(p->buf);
	free(p);
}

const char *ml_proc_root(const struct ml_proc *p)
{
	return p->root;
}

const char *ml_proc_sys_root(const struct ml_proc *p)
{
	return p->sys_root;
}

int ml_proc_dirfd(const struct ml_proc *p)
{
	return p->dirfd;
}

int proc_errno(const struct ml_proc *p, pid_t pid, int err)
{
	char dir[16];
	struct stat st;

	/*
	 * A file missing under a pid directory that is itself gone means the
	 * process exited: report that, not a missing file.
	 */
	if (err == ENOENT && pid > 0) {
		snprintf(dir, sizeof(dir), "%d", (int)pid);
		if (fstatat(p->dirfd, dir, &st, 0) < 0)
			return -ESRCH;
	}
	return -err;
}

int proc_open(const struct ml_proc *p, pid_t pid, const char *file, int flags)
{
	char path[64];
	int fd;

	if (pid < 0 || !file || strlen(file) > 40)
		return -EINVAL;
	if (pid > 0)
		snprintf(path, sizeof(path), "%d/%s", (int)pid, file);
	else
		snprintf(path, sizeof(path), "%s", file);
	fd = openat(p->dirfd, path, flags | O_CLOEXEC);
	if (fd < 0)
		return proc_errno(p, pid, errno);
	return fd;
}

ssize_t read_all(int fd, char **buf, size_t *cap)
{
	size_t len = 0;
	ssize_t n;

	for (;;) {
		/* keep one byte for the terminating NUL */
		if (*cap - len < 2) {
			size_t ncap = *cap ? *cap * 2 : INITIAL_READ_BUF;
			char *nb = realloc(*buf, ncap);

			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*cap = ncap;
		}
		n = read(fd, *buf + len, *cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(*buf)[len] = '\0';
	return (ssize_t)len;
}

ssize_t ml_proc_read(struct ml_proc *p, pid_t pid, const char *file,
		     char **data)
{
	_cleanup_close_ int fd = proc_open(p, pid, file, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read_all(fd, &p->buf, &p->cap);
	if (n < 0)
		return n == -ENOENT ? -ESRCH : n;
	*data = p->buf;
	return n;
}

ssize_t ml_proc_read_owned(struct ml_proc *p, pid_t pid, const char *file,
			   char **data)
{
	ssize_t n = ml_proc_read(p, pid, file, data);

	if (n < 0)
		return n;
	/* hand over the buffer; the next read allocates a fresh one */
	p->buf = NULL;
	p->cap = 0;
	return n;
}
