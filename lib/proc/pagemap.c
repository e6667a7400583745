// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Batched readers of /proc/PID/pagemap, /proc/kpageflags and
 * /proc/kpagecount. The three files are arrays of u64 indexed by page
 * number; a range is one pread() straight into the caller's array, since a
 * read per page costs a syscall and, for pagemap, a page-table walk each.
 */
#include <fcntl.h>
#include <limits.h>

#include <memlens/pagemap.h>

#include "internal.h"

struct ml_pagemap {
	int fd;
	size_t page_size;
};

struct ml_kpage {
	/* an open fd, or the negative errno its open failed with */
	int flags_fd;
	int count_fd;
};

/* ---- the shared read ---------------------------------------------------- */

/*
 * Read up to @nr words from word index @index of @fd into @words; returns
 * the number of whole words read or -errno. The kernel's files return
 * -EINVAL unless offset and length are multiples of 8: both are here, and
 * stay so across short reads because the kernel's reads end on a word.
 */
static ssize_t pread_words(int fd, uint64_t index, size_t nr, uint64_t *words)
{
	const uint64_t off_max = INT64_MAX;
	uint64_t off, len, done = 0;
	ssize_t n;

	if (nr > SSIZE_MAX / ML_PAGEMAP_ENTRY_BYTES || (nr && !words))
		return -EINVAL;
	/* no file holds data past the largest off_t: that is its end */
	if (index > off_max / ML_PAGEMAP_ENTRY_BYTES)
		return 0;
	off = index * ML_PAGEMAP_ENTRY_BYTES;
	len = (uint64_t)nr * ML_PAGEMAP_ENTRY_BYTES;
	/* and pread() refuses a range whose end overflows off_t */
	if (len > off_max - off)
		len = (off_max - off) & ~(uint64_t)(ML_PAGEMAP_ENTRY_BYTES - 1);

	while (done < len) {
		n = pread(fd, (char *)words + done, (size_t)(len - done),
			  (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (uint64_t)n;
	}
	return (ssize_t)(done / ML_PAGEMAP_ENTRY_BYTES);
}

/* ---- pagemap ------------------------------------------------------------ */

int ml_pagemap_open(const struct ml_proc *p, pid_t pid,
		    struct ml_pagemap **out)
{
	struct ml_pagemap *pm;
	long page_size;
	int fd;

	/* pid 0 would open <root>/pagemap, which is no process's */
	if (!p || !out || pid <= 0)
		return -EINVAL;
	page_size = sysconf(_SC_PAGESIZE);
	if (page_size <= 0)
		return -EINVAL;

	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	fd = proc_open(p, pid, "pagemap", O_RDONLY);
	if (fd < 0) {
		free(pm);
		return fd;
	}
	pm->fd = fd;
	pm->page_size = (size_t)page_size;
	*out = pm;
	return 0;
}

void ml_pagemap_close(struct ml_pagemap *pm)
{
	if (!pm)
		return;
	close(pm->fd);
	free(pm);
}

size_t ml_pagemap_page_size(const struct ml_pagemap *pm)
{
	return pm->page_size;
}

ssize_t ml_pagemap_read(struct ml_pagemap *pm, uint64_t vaddr,
			size_t nr_pages, uint64_t *entries)
{
	if (!pm)
		return -EINVAL;
	return pread_words(pm->fd, vaddr / pm->page_size, nr_pages, entries);
}

/* ---- kpageflags, kpagecount --------------------------------------------- */

int ml_kpage_open(const struct ml_proc *p, struct ml_kpage **out)
{
	struct ml_kpage *k;
	int err;

	if (!p || !out)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->flags_fd = proc_open(p, 0, "kpageflags", O_RDONLY);
	k->count_fd = proc_open(p, 0, "kpagecount", O_RDONLY);
	if (k->flags_fd < 0 && k->count_fd < 0) {
		err = k->flags_fd;
		free(k);
		return err;
	}
	*out = k;
	return 0;
}

void ml_kpage_close(struct ml_kpage *k)
{
	if (!k)
		return;
	if (k->flags_fd >= 0)
		close(k->flags_fd);
	if (k->count_fd >= 0)
		close(k->count_fd);
	free(k);
}

static ssize_t kpage_read(int fd, uint64_t pfn, size_t nr, uint64_t *words)
{
	/* a file that failed to open reports why on every read */
	if (fd < 0)
		return fd;
	return pread_words(fd, pfn, nr, words);
}

ssize_t ml_kpageflags_read(struct ml_kpage *k, uint64_t pfn, size_t nr_pfns,
			   uint64_t *flags)
{
	if (!k)
		return -EINVAL;
	return kpage_read(k->flags_fd, pfn, nr_pfns, flags);
}

ssize_t ml_kpagecount_read(struct ml_kpage *k, uint64_t pfn, size_t nr_pfns,
			   uint64_t *counts)
{
	if (!k)
		return -EINVAL;
	return kpage_read(k->count_fd, pfn, nr_pfns, counts);
}
