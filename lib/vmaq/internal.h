/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/vmaq internals: the handle, the text snapshot, the build-ID cache,
 * and the ELF note reader (shared with fuzz/fuzz_elf_buildid.c).
 */
#ifndef MEMLENS_VMAQ_INTERNAL_H
#define MEMLENS_VMAQ_INTERNAL_H

#include <memlens/vmaq.h>

#include "../util/util.h"

/* The query flags the kernel knows (PROCMAP_QUERY_*). */
#define VMAQ_KERNEL_FLAGS 0x3fu
#define VMAQ_VMA_PERMS 0x0fu

/*
 * One parsed copy of the maps text: VMAs in address order, names pointing
 * into @text. The gate VMA ([vsyscall]) is left out: it is not in the
 * process's VMA tree, and the ioctl never returns it.
 */
struct vmaq_snap {
	struct ml_vmaq_vma *v;
	uint8_t *bid_done; /* per VMA: build ID looked up already */
	size_t n, cap;
	char *text;
	size_t text_cap;
	bool valid;
};

/* Build IDs per file (dev, inode), looked up once per handle. */
struct vmaq_bid_entry {
	uint64_t inode; /* 0: empty slot */
	uint32_t dev_major, dev_minor;
	uint8_t len;
	uint8_t id[ML_VMAQ_BUILD_ID_MAX];
};

struct vmaq_bid_cache {
	struct vmaq_bid_entry *e;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/* An address of a batch, sorted with its place in the input. */
struct vmaq_pair {
	uint64_t addr;
	size_t idx;
};

struct ml_vmaq {
	struct ml_proc *proc;
	pid_t pid;
	int fd;    /* <proc_root>/PID/maps, held open */
	int pidfd; /* tells the fallback that the process exited; -1: none */
	bool use_ioctl;
	char *name; /* the ioctl's name buffer, grown on ENAMETOOLONG */
	size_t name_cap;
	struct vmaq_snap snap;
	struct vmaq_bid_cache bids;
	enum ml_vmaq_strategy last;
	/* batch state, reused across resolves */
	struct vmaq_pair *pairs, *tmp;
	size_t pairs_cap;
	struct ml_vmaq_vma *walk; /* VMAs found by the ioctl walk */
	size_t walk_n, walk_cap;
	char *arena; /* their names */
	size_t arena_len, arena_cap;
};

/* query.c */
int vmaq_ioctl(struct ml_vmaq *q, uint64_t addr, unsigned flags,
	       struct ml_vmaq_vma *out);
int vmaq_snap_read(struct ml_vmaq *q);
int vmaq_snap_build_id(struct ml_vmaq *q, size_t i);
int vmaq_check_alive(const struct ml_vmaq *q);

/* buildid.c */
/*
 * The GNU build ID of the ELF image on @fd or in [@buf, @buf + @size), by
 * the kernel's rules (lib/buildid.c): ET_EXEC or ET_DYN of the machine's
 * byte order, the first 256 program headers, PT_NOTE segments in order,
 * notes 4-aligned, the first "GNU" note of type 3 with 1..20 bytes.
 * Returns 0 with *@len set (0: none: not ELF, no such note, unreadable
 * parts), or -ENOMEM. Hostile input is expected.
 */
int vmaq_elf_build_id_fd(int fd, uint8_t id[ML_VMAQ_BUILD_ID_MAX],
			 uint8_t *len);
int vmaq_elf_build_id_mem(const void *buf, size_t size,
			  uint8_t id[ML_VMAQ_BUILD_ID_MAX], uint8_t *len);
/*
 * The build ID of the file behind @v, from the cache or read through
 * <proc_root>/PID/map_files/<start>-<end> (or /proc/PID/root/<path> when
 * map_files needs privileges we lack); fills v->build_id{,_len}.
 */
int vmaq_file_build_id(struct ml_vmaq *q, struct ml_vmaq_vma *v);
void vmaq_bid_cache_clear(struct vmaq_bid_cache *c);
/*
 * Open the regular file behind @v read-only: map_files, else its path under
 * /proc/PID/root if that is still the VMA's inode (symbolize.c uses it too).
 * Returns the fd, -ENOENT (not the same file, not regular), -EACCES, -ENOMEM.
 */
int vmaq_open_vma_file(struct ml_vmaq *q, const struct ml_vmaq_vma *v);

#endif
