// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ml_name_anon(): name anonymous memory of the calling process, through
 * the kernel's prctl where it has one, else through the registry.
 *
 * This file holds the only per-process state of the names module, `self`
 * below; everything that reads names (reader.c, label.c, scan.c) is free of
 * global state.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "../proc/internal.h"
#include "../util/uapi.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif

/* ---- the process's state ------------------------------------------------------ */

/*
 * The naming state of this process, all of it:
 *
 *  backend   which path ml_name_anon() takes; decided on first use (an
 *            atomic, read without the lock)
 *  lock      serialises every change to the registry and to the fields
 *            below; readers in other processes never take it (they use the
 *            registry's sequence counter)
 *  reg       the registry mapping, NULL until the first name is set
 *  maps_fd   /proc/self/maps, held open for the PROCMAP_QUERY ioctl that
 *            tells which VMAs a range covers (the kernel binds the file to
 *            the process that opened it: the child of a fork re-opens it)
 *  no_query  the kernel lacks PROCMAP_QUERY (before 6.11): read the maps
 *            text instead
 *
 * munmap(), mremap() and mmap(MAP_FIXED) drop and move names as the kernel
 * does (unmap.c interposes them); names_busy keeps them from re-entering
 * while this thread holds the lock (the registry's own mappings, a signal
 * handler).
 *
 * fork(): the registry is a MAP_PRIVATE mapping, so the child gets a
 * copy-on-write copy of it, names included, and later changes on either
 * side stay there, as with the kernel's names. pthread_atfork() handlers
 * hold the lock across fork() so that the child never inherits a registry
 * in the middle of a change, and drop the child's maps_fd. (A raw clone()
 * that bypasses the handlers while another thread names memory can leave
 * the child a registry that stays mid-change: readers then get -EAGAIN.)
 */
static struct {
	int backend; /* enum ml_names_backend */
	pthread_mutex_t lock;
	bool atfork_registered;
	struct reg reg;
	int maps_fd;
	dev_t maps_dev;
	ino_t maps_ino;
	bool no_query;
	size_t page_size;
	bool active; /* a registry exists: the interposers have work */
} self = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.maps_fd = -1,
};

static __thread bool names_busy;

static void lock(void)
{
	pthread_mutex_lock(&self.lock);
	names_busy = true;
}

static void unlock(void)
{
	names_busy = false;
	pthread_mutex_unlock(&self.lock);
}

static void atfork_prepare(void)
{
	lock();
}

static void atfork_parent(void)
{
	unlock();
}

static void atfork_child(void)
{
	/* the fd reads the parent's maps: open our own when next needed */
	if (self.maps_fd >= 0)
		close(self.maps_fd);
	self.maps_fd = -1;
	unlock();
}

/* ---- validation: kernel/sys.c prctl_set_vma, mm/madvise.c ------------------------ */

int ml_name_check(const char *name)
{
	size_t i;

	if (!name)
		return 0;
	/* strndup_user(name, 80): the NUL must be within 80 bytes */
	for (i = 0; i < ML_NAME_MAX && name[i]; i++)
		if (!name_char_ok((unsigned char)name[i]))
			return -EINVAL;
	return i < ML_NAME_MAX ? 0 : -EINVAL;
}

static size_t page_size(void)
{
	size_t ps = __atomic_load_n(&self.page_size, __ATOMIC_RELAXED);

	if (!ps) {
		long v = sysconf(_SC_PAGESIZE);

		ps = v > 0 ? (size_t)v : 4096;
		__atomic_store_n(&self.page_size, ps, __ATOMIC_RELAXED);
	}
	return ps;
}

/*
 * madvise_set_anon_name(): start page-aligned, len rounded up to pages and
 * not wrapping. Sets *end; returns 0 or -EINVAL.
 */
static int check_range(uintptr_t start, size_t len_in, uintptr_t *end)
{
	size_t ps = page_size();
	size_t len;

	if (start & (ps - 1))
		return -EINVAL;
	len = (len_in + ps - 1) & ~(ps - 1);
	if (len_in && !len)
		return -EINVAL;
	*end = start + len;
	if (*end < start)
		return -EINVAL;
	return 0;
}

/* ---- which VMAs a range covers -------------------------------------------------- */

enum vma_kind { VMA_ANON, VMA_ANON_SHMEM, VMA_FILE };

struct vma_info {
	uint64_t start, end;
	enum vma_kind kind;
};

#define SHMEM_ANON_NAME "/dev/zero (deleted)"

/*
 * What the kernel calls anonymous for naming (madvise_vma_anon_name): no
 * file, or shared anonymous memory (shmem's "dev/zero" file, which maps
 * print as "/dev/zero (deleted)" on the shmem device, major 0).
 */
static enum vma_kind classify(uint64_t inode, uint32_t dev_major, bool shared,
			      const char *name, size_t name_len)
{
	if (inode == 0)
		return VMA_ANON;
	if (shared && dev_major == 0 && name_len == strlen(SHMEM_ANON_NAME) &&
	    memcmp(name, SHMEM_ANON_NAME, name_len) == 0)
		return VMA_ANON_SHMEM;
	return VMA_FILE;
}

static int open_maps(void)
{
	struct stat st;
	int fd;

	if (self.maps_fd >= 0)
		return 0;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -EIO;
	}
	self.maps_fd = fd;
	self.maps_dev = st.st_dev;
	self.maps_ino = st.st_ino;
	return 0;
}

/* The program may have closed our fd (and another file may use its number). */
static bool maps_fd_is_ours(void)
{
	struct stat st;

	return self.maps_fd >= 0 && fstat(self.maps_fd, &st) == 0 &&
	       st.st_dev == self.maps_dev && st.st_ino == self.maps_ino;
}

/*
 * The VMA covering @addr or the first above it, through PROCMAP_QUERY.
 * Returns 0, -ENOENT when there is none, -ENOTTY when the kernel lacks the
 * ioctl.
 */
static int query_vma(uint64_t addr, struct vma_info *v)
{
	char name[sizeof(SHMEM_ANON_NAME) + 1];
	struct procmap_query q;
	int err;

	for (int attempt = 0; attempt < 2; attempt++) {
		err = open_maps();
		if (err)
			return err;
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
		q.query_addr = addr;
		if (ioctl(self.maps_fd, PROCMAP_QUERY, &q) == 0)
			break;
		err = -errno;
		if (err == -ENOENT)
			return err;
		if (attempt == 0 && !maps_fd_is_ours()) {
			/* not our file any more: leave that fd alone, reopen */
			self.maps_fd = -1;
			continue;
		}
		return err;
	}
	v->start = q.vma_start;
	v->end = q.vma_end;
	if (q.inode == 0) {
		v->kind = VMA_ANON;
		return 0;
	}
	/* a file: is it shared anonymous memory? (asks for the name) */
	if (!(q.vma_flags & PROCMAP_QUERY_VMA_SHARED) || q.dev_major != 0) {
		v->kind = VMA_FILE;
		return 0;
	}
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_addr = v->start;
	q.vma_name_addr = (uint64_t)(uintptr_t)name;
	q.vma_name_size = sizeof(name);
	if (ioctl(self.maps_fd, PROCMAP_QUERY, &q) < 0) {
		/* a name too long for the buffer is not /dev/zero's */
		v->kind = VMA_FILE;
		return errno == ENAMETOOLONG ? 0 : -errno;
	}
	v->kind = classify(q.inode, q.dev_major, true, name,
			   q.vma_name_size ? q.vma_name_size - 1 : 0);
	return 0;
}

/* A list of VMAs overlapping a range, for the walk. */
struct vma_set {
	struct vma_info *v;
	size_t n, cap;
};

static int vma_set_add(struct vma_set *s, const struct vma_info *v)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct vma_info *nv = realloc(s->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = *v;
	return 0;
}

/*
 * Without PROCMAP_QUERY: one pass over /proc/self/maps, keeping the VMAs
 * that overlap [start, end) and stopping at the first above it.
 */
static int read_maps_text(uint64_t start, uint64_t end, struct vma_set *out)
{
	_cleanup_close_ int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t cap = 64 * 1024, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	bool eof = false;
	int err = 0;

	if (fd < 0)
		return -errno;
	if (!buf)
		return -ENOMEM;
	while (!eof && !err) {
		char *pos = buf, *stop;
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			eof = true;
		len += (size_t)n;
		buf[len] = '\0';
		stop = eof ? buf + len : memrchr(buf, '\n', len);
		if (!stop)
			stop = buf; /* no complete line yet */
		else if (!eof)
			stop++;
		while (pos < stop) {
			struct ml_vma vma;
			struct vma_info v;
			int ret = ml_maps_next(&pos, stop, &vma);

			if (ret <= 0) {
				err = ret;
				break;
			}
			if (vma.start >= end)
				return 0;
			if (vma.end <= start ||
			    strcmp(vma.name, "[vsyscall]") == 0)
				continue;
			v.start = vma.start;
			v.end = vma.end;
			v.kind = classify(vma.inode, vma.dev_major,
					  vma.perms[3] == 's', vma.name,
					  vma.name_len);
			err = vma_set_add(out, &v);
			if (err)
				break;
		}
		len -= (size_t)(stop - buf);
		memmove(buf, stop, len);
		if (len == cap) {
			/* one line longer than the buffer: not from the kernel */
			return -EINVAL;
		}
	}
	return err;
}

/*
 * The VMAs overlapping [start, end), in order, into @out: through the
 * ioctl (one call per VMA) or the text. The walk stops at the first file
 * VMA, like the kernel's.
 */
static int find_vmas(uint64_t start, uint64_t end, struct vma_set *out)
{
	struct vma_info v;
	uint64_t cur = start;
	int err;

	if (!self.no_query) {
		while (cur < end) {
			err = query_vma(cur, &v);
			if (err == -ENOENT)
				return 0;
			if (err == -ENOTTY) {
				/* a kernel without PROCMAP_QUERY (before 6.11) */
				self.no_query = true;
				out->n = 0;
				break;
			}
			if (err)
				return err;
			if (v.start >= end)
				return 0;
			err = vma_set_add(out, &v);
			if (err || v.kind == VMA_FILE)
				return err;
			cur = v.end;
		}
		if (!self.no_query)
			return 0;
	}
	return read_maps_text(start, end, out);
}

/* ---- the registry path ------------------------------------------------------------- */

/*
 * madvise_walk_vmas() with the registry as the store: the anonymous memory
 * in [start, end) takes @name, the holes lose any name left there, and the
 * walk stops at a file VMA (-EBADF) with the memory before it named.
 */
static int registry_name(uint64_t start, uint64_t end, const char *name)
{
	struct vma_set vs = { 0 };
	uint64_t stop = end, cur;
	int err, unmapped = 0, ret = 0;
	uint32_t slot = REG_NAME_NONE;

	err = find_vmas(start, end, &vs);
	if (err)
		goto out;
	cur = start;
	for (size_t i = 0; i < vs.n; i++) {
		if (vs.v[i].start > cur)
			unmapped = -ENOMEM;
		if (vs.v[i].kind == VMA_FILE) {
			stop = vs.v[i].start > start ? vs.v[i].start : start;
			ret = -EBADF;
			vs.n = i;
			break;
		}
		cur = vs.v[i].end;
	}
	if (!ret && cur < end)
		unmapped = -ENOMEM;

	/* room for every piece: interning must not be followed by growth */
	err = reg_reserve(&self.reg, page_size(), vs.n + 1);
	if (err)
		goto out;
	if (name)
		slot = reg_name_intern(&self.reg, name, strlen(name));
	reg_write_begin(&self.reg);
	/* holes (stale names of unmapped memory) lose their names too */
	reg_set(&self.reg, start, stop, REG_NAME_NONE);
	for (size_t i = 0; name && i < vs.n; i++) {
		uint64_t s = vs.v[i].start > start ? vs.v[i].start : start;
		uint64_t e = vs.v[i].end < stop ? vs.v[i].end : stop;

		reg_set(&self.reg, s, e, slot);
	}
	reg_write_end(&self.reg);
	if (name)
		reg_name_release_unused(&self.reg, slot);
out:
	free(vs.v);
	if (err)
		return err;
	return ret ? ret : unmapped;
}

/* ---- the backend ---------------------------------------------------------------------- */

static int kernel_name(uintptr_t addr, size_t len, const char *name)
{
	if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name) == 0)
		return 0;
	return -errno;
}

/* The kernel has no anon VMA names: prctl refused a call that was valid. */
static bool kernel_lacks_names(int err)
{
	return err == -EINVAL || err == -ENOSYS || err == -EPERM;
}

static int env_backend(void)
{
	const char *env = getenv("MEMLENS_NAMES");

	if (env && strcmp(env, "registry") == 0)
		return ML_NAMES_REGISTRY;
	if (env && strcmp(env, "kernel") == 0)
		return ML_NAMES_KERNEL;
	return ML_NAMES_UNDECIDED;
}

static void set_backend(int b)
{
	__atomic_store_n(&self.backend, b, __ATOMIC_RELEASE);
}

enum ml_names_backend ml_names_backend(void)
{
	int b = __atomic_load_n(&self.backend, __ATOMIC_ACQUIRE);
	size_t ps = page_size();
	void *page;
	int err;

	if (b != ML_NAMES_UNDECIDED)
		return (enum ml_names_backend)b;
	b = env_backend();
	if (b == ML_NAMES_UNDECIDED) {
		page = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED)
			return ML_NAMES_UNDECIDED;
		err = kernel_name((uintptr_t)page, ps, "memlens-probe");
		munmap(page, ps);
		b = kernel_lacks_names(err) ? ML_NAMES_REGISTRY : ML_NAMES_KERNEL;
	}
	set_backend(b);
	return (enum ml_names_backend)b;
}

const char *ml_names_backend_name(enum ml_names_backend b)
{
	switch (b) {
	case ML_NAMES_KERNEL:
		return "kernel";
	case ML_NAMES_REGISTRY:
		return "registry";
	default:
		return "undecided";
	}
}

int ml_name_anon(void *addr, size_t len, const char *name)
{
	int b = __atomic_load_n(&self.backend, __ATOMIC_ACQUIRE);
	uintptr_t start = (uintptr_t)addr, end;
	int err;

	/* the kernel's checks, in its order: the name, then the range */
	err = ml_name_check(name);
	if (!err)
		err = check_range(start, len, &end);
	if (err)
		return err;

	if (b == ML_NAMES_UNDECIDED) {
		b = env_backend();
		if (b == ML_NAMES_UNDECIDED) {
			/* the call itself is the probe */
			err = kernel_name(start, len, name);
			if (!kernel_lacks_names(err)) {
				set_backend(ML_NAMES_KERNEL);
				return err;
			}
			b = ML_NAMES_REGISTRY;
		}
		set_backend(b);
	}
	if (b == ML_NAMES_KERNEL)
		return kernel_name(start, len, name);

	if (end == start)
		return 0;
	if (names_busy)
		return -EDEADLK; /* from a signal handler that interrupted us */
	lock();
	if (!self.atfork_registered) {
		names_interposers();
		if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child)) {
			unlock();
			return -ENOMEM;
		}
		self.atfork_registered = true;
	}
	err = registry_name(start, end, name);
	if (!err && self.reg.base)
		__atomic_store_n(&self.active, true, __ATOMIC_RELEASE);
	unlock();
	return err;
}

/* ---- munmap, mremap, mmap(MAP_FIXED): the kernel drops or moves names -------------- */

bool names_active(void)
{
	return __atomic_load_n(&self.active, __ATOMIC_ACQUIRE) && !names_busy;
}

void names_forget(uint64_t start, uint64_t end)
{
	if (!names_active() || start >= end)
		return;
	lock();
	if (reg_header(&self.reg)->nr_ranges &&
	    reg_reserve(&self.reg, page_size(), 1) == 0) {
		reg_write_begin(&self.reg);
		reg_set(&self.reg, start, end, REG_NAME_NONE);
		reg_write_end(&self.reg);
	}
	unlock();
}

/*
 * mremap(): the VMA and its name move (or grow in place: the kernel's VMA
 * keeps its one name over the new part, so the part gets the name of the
 * old end). MREMAP_DONTUNMAP leaves the old VMA, with its name.
 */
void names_moved(uint64_t old, uint64_t old_len, uint64_t new_addr,
		 uint64_t new_len, bool keep_old)
{
	struct reg_range *rs = NULL;
	uint64_t keep = old_len < new_len ? old_len : new_len;
	size_t n;

	if (!names_active())
		return;
	lock();
	n = reg_header(&self.reg)->nr_ranges;
	if (!n)
		goto out;
	rs = malloc(n * sizeof(*rs));
	if (!rs)
		goto out;
	n = reg_lookup(&self.reg, old, old + old_len, rs, n);
	if (reg_reserve(&self.reg, page_size(), n + 2))
		goto out;
	reg_write_begin(&self.reg);
	if (new_addr == old) {
		/* in place: the tail goes, or the end's name grows over the new part */
		if (new_len < old_len)
			reg_set(&self.reg, old + new_len, old + old_len, REG_NAME_NONE);
		else if (n && rs[n - 1].end == old + old_len)
			reg_set(&self.reg, old + old_len, old + new_len, rs[n - 1].name);
	} else {
		/* whatever the new place held was replaced */
		reg_set(&self.reg, new_addr, new_addr + new_len, REG_NAME_NONE);
		/* the names move (set before the old ones go: they hold the slots) */
		for (size_t i = 0; i < n; i++) {
			uint64_t s = rs[i].start - old, e = rs[i].end - old;

			if (s >= keep)
				continue;
			if (e > keep || (e == old_len && new_len > old_len))
				e = new_len;
			reg_set(&self.reg, new_addr + s, new_addr + e, rs[i].name);
		}
		if (!keep_old)
			reg_set(&self.reg, old, old + old_len, REG_NAME_NONE);
	}
	reg_write_end(&self.reg);
out:
	free(rs);
	unlock();
}
