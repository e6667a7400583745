/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef MEMLENS_PROC_INTERNAL_H
#define MEMLENS_PROC_INTERNAL_H

#include <memlens/proc.h>

#include "../util/util.h"

struct ml_proc {
	int dirfd;
	char *root;
	char *sys_root;
	char *buf; /* reusable read buffer, NUL-terminated after each read */
	size_t cap;
};

/* Open <root>/<pid>/<file> (pid 0: <root>/<file>); -ESRCH when pid is gone. */
int proc_open(const struct ml_proc *p, pid_t pid, const char *file, int flags);

/* Map an open/read errno to the library's per-process error. */
int proc_errno(const struct ml_proc *p, pid_t pid, int err);

/* Read all of @fd into *buf (grown as needed); returns length or -errno. */
ssize_t read_all(int fd, char **buf, size_t *cap);

#endif
