// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * munmap(), mremap() and mmap() with MAP_FIXED, interposed so that the
 * registry forgets and moves names as the kernel does with its own: the
 * kernel drops a VMA's name when it is unmapped or replaced, and carries it
 * along when it moves. Without this a range left behind in the registry
 * would label whatever anonymous memory is mapped at that address later.
 *
 * These definitions take the place of the C library's (weak in glibc) for
 * every caller in the process that links libmemlens: the program and its
 * libraries. They do nothing more than the system call until the process
 * has named memory through the registry. Calls made inside the C library
 * itself (free() of a large block, a thread's stack cache) do not come
 * here: libmemlens-autoname.so clears the names it gives such memory.
 */
/* define mmap and mmap64 both, each under its own name */
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* name.c calls this so that a static link always brings the interposers in. */
void names_interposers(void)
{
}

/* Interposers are exported even from a library built with hidden symbols. */
#define INTERPOSE __attribute__((visibility("default")))

/* A range the kernel would accept: page-aligned start, a length. */
static bool plausible(uintptr_t addr, size_t len)
{
	return len && !(addr & 4095) && addr + len > addr;
}

INTERPOSE int munmap(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	long ret;

	/* forget first: a reader never sees a name on memory that is gone */
	if (names_active() && plausible(a, len))
		names_forget(a, (a + len + 4095) & ~(uintptr_t)4095);
	ret = syscall(SYS_munmap, addr, len);
	return ret ? -1 : 0;
}

INTERPOSE void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL, *ret;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	/* syscall() is variadic: pass longs, not ints */
	ret = (void *)syscall(SYS_mremap, old, old_len, new_len, (long)flags,
			      new_addr);
	if (ret != MAP_FAILED && names_active())
		names_moved((uintptr_t)old, (old_len + 4095) & ~(size_t)4095,
			    (uintptr_t)ret, (new_len + 4095) & ~(size_t)4095,
			    flags & MREMAP_DONTUNMAP);
	return ret;
}

INTERPOSE void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *ret;

	if (off & 4095) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	ret = (void *)syscall(SYS_mmap, addr, len, (long)prot, (long)flags,
			      (long)fd, (long)off);
	/* MAP_FIXED replaced whatever was there, names included */
	if (ret != MAP_FAILED && (flags & MAP_FIXED) && names_active())
		names_forget((uintptr_t)ret,
			     ((uintptr_t)ret + len + 4095) & ~(uintptr_t)4095);
	return ret;
}

/* The same under its large-file name (off_t is 64 bits on 64-bit systems). */
INTERPOSE void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
		       off64_t off)
{
	return mmap(addr, len, prot, flags, fd, (off_t)off);
}
