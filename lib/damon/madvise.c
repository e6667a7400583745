// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Scheme actions as madvise advice: madvise() on the caller itself,
 * process_madvise() (5.10+) through a pidfd (5.3+) on another process.
 * process_madvise takes only the advice the kernel allows on another mm
 * (MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED, MADV_COLLAPSE); the others
 * give -EINVAL, which is passed on.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "sources.h"
#include "../util/util.h"

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif

int src_action_advice(int action)
{
	/* filled in against enum ml_damos_action (damon.h) */
	(void)action;
	return -1;
}

int src_pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

static int advise(int pidfd, int advice, uint64_t start, uint64_t len,
		  uint64_t *done)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)start,
			     .iov_len = (size_t)len };
	long n;

	if (pidfd < 0) {
		if (madvise(iov.iov_base, iov.iov_len, advice) < 0)
			return -errno;
		*done = len;
		return 0;
	}
	n = syscall(SYS_process_madvise, pidfd, &iov, 1, advice, 0);
	if (n < 0)
		return -errno;
	*done = (uint64_t)n;
	return 0;
}

int src_madvise(int pidfd, int action, uint64_t start, uint64_t end,
		uint64_t *applied)
{
	int advice = src_action_advice(action);
	uint64_t done = 0, total = 0;
	int err = 0;

	if (applied)
		*applied = 0;
	if (advice < 0)
		return -EOPNOTSUPP;
	if (start >= end)
		return -EINVAL;
	/* process_madvise does at most MAX_RW_COUNT per call: loop */
	while (start < end) {
		err = advise(pidfd, advice, start, end - start, &done);
		if (err || !done)
			break;
		total += done;
		start += done;
	}
	if (applied)
		*applied = total;
	/* ENOMEM: part of the range is unmapped; what was done counts */
	return err == -ENOMEM && total ? 0 : err;
}
