/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/names.h - names for anonymous memory, and memory per name.
 *
 * Writing (the calling process): ml_name_anon() names a range of anonymous
 * memory the way prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME) does, with the
 * kernel's validation and error codes, on every kernel. Where the kernel
 * has the prctl (5.17+, CONFIG_ANON_VMA_NAME) it is used; elsewhere, or
 * when the environment has MEMLENS_NAMES=registry, the names go to the
 * process's *registry*: a memfd mapping that /proc/PID/maps lists as
 * ML_NAMES_REGISTRY_MAPPING, holding sorted address ranges and their names
 * under a sequence counter, which other processes read through
 * /proc/PID/mem without stopping or locking the writer.
 *
 * Reading (any process): ml_names_registry_read() takes a consistent
 * snapshot of a process's registry; a labeler (ml_names_labeler_new())
 * gives each anonymous VMA of a maps/smaps list or stream the name the
 * kernel would show, "[anon:NAME]" or "[anon_shmem:NAME]", splitting a VMA
 * whose parts carry different names; and ml_names_scan() sums RSS, PSS,
 * USS and swap per name and process.
 * The reading side keeps no global state.
 *
 * Errors are negative errno values. All sizes are bytes.
 */
#ifndef MEMLENS_NAMES_H
#define MEMLENS_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <memlens/acct.h>
#include <memlens/proc.h>
#include <memlens/vmaq.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- naming memory of the calling process -------------------------------- */

/* The kernel's ANON_VMA_NAME_MAX_LEN: bytes of a name including its NUL. */
#define ML_NAME_MAX 80

/*
 * Name the anonymous memory in [@addr, @addr + @len) @name, or clear its
 * name when @name is NULL. Exactly the contract of
 * prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name):
 *  - @name: at most ML_NAME_MAX bytes including the NUL, printable ASCII
 *    (space included) except [ ] \ $ and backtick; "" is a valid name;
 *  - @addr page-aligned; @len is rounded up to pages; 0 names nothing;
 *  - private or shared anonymous memory only; the memory mapped in the
 *    range is named even when the range has holes.
 * Returns 0, or -EINVAL (bad name, unaligned @addr, @len overflowing the
 * address space), -ENOMEM (part of the range is not mapped: the mapped
 * part is named), -EBADF (the range reaches a file mapping: the memory
 * before it is named), -EAGAIN (no room for more ranges: the kernel's
 * answer at vm.max_map_count). @name must point to readable memory: the
 * kernel answers -EFAULT, this function cannot tell.
 *
 * Thread-safe. fork() keeps the kernel's semantics on both paths: the
 * child inherits the names, after which parent and child name their
 * memory independently.
 */
int ml_name_anon(void *addr, size_t len, const char *name);

/* 0 when the kernel would accept @name (NULL included: it clears), else -EINVAL. */
int ml_name_check(const char *name);

enum ml_names_backend {
	ML_NAMES_UNDECIDED,
	ML_NAMES_KERNEL,   /* prctl(PR_SET_VMA_ANON_NAME) */
	ML_NAMES_REGISTRY, /* the memfd registry */
};

/*
 * The path ml_name_anon() takes in this process, deciding it now if no
 * call has yet (a probe names and unmaps one page of its own). Decided
 * once per process: MEMLENS_NAMES=registry forces the registry,
 * MEMLENS_NAMES=kernel the prctl (whose errors are then returned as is).
 */
enum ml_names_backend ml_names_backend(void);

/* "kernel", "registry" or "undecided". */
const char *ml_names_backend_name(enum ml_names_backend b);

/* ---- reading a process's registry ----------------------------------------- */

/* The memfd's name, and how /proc/PID/maps shows its mapping. */
#define ML_NAMES_MEMFD_NAME "memlens-names"
#define ML_NAMES_REGISTRY_MAPPING "/memfd:memlens-names (deleted)"

struct ml_name_range {
	uint64_t start;
	uint64_t end;
	const char *name; /* NUL-terminated, valid per ml_name_check() */
};

/* A registry snapshot: sorted, non-overlapping ranges. */
struct ml_name_ranges {
	struct ml_name_range *r;
	size_t n;
	char *names;         /* owns the strings the ranges point to */
	uint64_t generation; /* the registry's, for tests */
	/* bytes of @names used: each distinct name once, NUL-terminated */
	size_t names_len;
};

void ml_name_ranges_free(struct ml_name_ranges *r);

/*
 * Parse the bytes of a registry mapping (@len bytes copied from its start)
 * into @out. Never trusts the bytes: every offset, count, range and name is
 * checked, the work is bounded by @len, and a malformed registry gives
 * -EINVAL (-EPROTO: a layout version this library does not know; -ESTALE:
 * a registry retired by its writer; -EAGAIN: caught mid-write).
 */
int ml_names_registry_parse(const void *buf, size_t len,
			    struct ml_name_ranges *out);

/*
 * Read @pid's registry through <proc_root>/PID/mem. @vmas is the process's
 * parsed maps or smaps (where the registry mapping is looked up), or NULL to
 * read maps here. The read is retried while the writer is mid-update, a
 * bounded number of times, then -EAGAIN. Returns 0, -ENOENT when the process
 * has no registry, -EACCES (reading another process's memory needs ptrace
 * access: root, or the same user where ptrace is allowed), -ESRCH, -EINVAL
 * (a corrupt registry) or another negative errno.
 */
int ml_names_registry_read(struct ml_proc *p, pid_t pid,
			   const struct ml_vma_list *vmas,
			   struct ml_name_ranges *out);

/* ---- labelling VMAs --------------------------------------------------------- */

enum ml_name_source {
	ML_NAME_SOURCE_NONE,
	ML_NAME_SOURCE_KERNEL,   /* [anon:x] as the kernel printed it */
	ML_NAME_SOURCE_REGISTRY, /* given by memlens from the registry */
};

/* "kernel", "registry", or NULL for none. */
const char *ml_name_source_name(enum ml_name_source s);

/*
 * One process's registry names, ready to label its VMAs: a VMA gets the
 * name the kernel would show if it had the registry's names. An anonymous
 * VMA without a kernel name ("" for private, "/dev/zero (deleted)" for
 * shared memory) that a registry range covers becomes "[anon:NAME]"
 * ("[anon_shmem:NAME]"); one that ranges cover in part, or with several
 * names, is split at the range boundaries, as the kernel's VMAs would be.
 * Kernel names win, and so do [heap] and [stack] (the kernel shows those
 * even for named memory). Ranges only label anonymous VMAs mapped now: a
 * range that munmap() left behind labels nothing, unless anonymous memory
 * is mapped at that address again.
 *
 * A split VMA's parts share its counters by what pagemap says of their
 * pages (present, exclusive, swapped), scaled to the VMA's smaps figures so
 * that the parts add up to the VMA exactly; when pagemap cannot be read,
 * by size.
 */
struct ml_names_labeler;

/*
 * Read @pid's registry, if it has one, for labelling. @vmas (optional) is
 * the process's maps or smaps, where the registry is looked up; without
 * it the lookup costs a PROCMAP_QUERY ioctl per writable file mapping (or a
 * read of maps on kernels before 6.11). A registry that cannot be read is
 * not an error: the labeler then labels nothing, and
 * ml_names_labeler_stats() says why. Returns 0, or -ENOMEM, -ESRCH.
 */
int ml_names_labeler_new(struct ml_proc *p, pid_t pid,
			 const struct ml_vma_list *vmas,
			 struct ml_names_labeler **out);
/* Free it once no VMA it labelled is used any more (they point into it). */
void ml_names_labeler_free(struct ml_names_labeler *nl);

/*
 * Label one VMA @v of the process (from a list or ml_vma_iter_next()).
 * Sets *@parts to the VMAs it is (@v itself when nothing changes, else the
 * labeler's copy, valid until the next call) and returns how many (1, or
 * more when split), or a negative errno (-ENOMEM).
 */
long ml_names_labeler_vma(struct ml_names_labeler *nl, const struct ml_vma *v,
			  const struct ml_vma **parts);

/* Label a whole list in place (its VMAs in address order). 0 or -ENOMEM. */
int ml_names_label_list(struct ml_names_labeler *nl, struct ml_vma_list *l);

/* Where the name of @v comes from (@nl may be NULL: kernel names only). */
enum ml_name_source ml_names_source(const struct ml_names_labeler *nl,
				    const struct ml_vma *v);

struct ml_names_label_stats {
	/*
	 * 0 when a registry was read, -ENOENT when the process has none, or
	 * why it could not be read (-EACCES, -EAGAIN, -EINVAL): the VMAs then
	 * keep the kernel's names only.
	 */
	int registry_err;
	size_t nr_ranges;   /* in the registry */
	size_t nr_registry; /* VMAs (or parts) named from the registry */
	size_t nr_split;    /* VMAs split because parts have different names */
	size_t nr_by_size;  /* of those, shared out by size (no pagemap) */
};

void ml_names_labeler_stats(const struct ml_names_labeler *nl,
			    struct ml_names_label_stats *st);

/* The registry's view of one address, as ml_names_label_addr() finds it. */
struct ml_name_at {
	/* NUL-terminated, points into the ranges; NULL: an unnamed part */
	const char *name;
	bool shmem;       /* shared anonymous memory: [anon_shmem:NAME] */
	/* the part of the VMA around the address that has one name (or
	 * none): the VMA the kernel would show if it had these names */
	uint64_t start;
	uint64_t end;
};

/*
 * The registry name of the memory at @addr in VMA @v (from ml_vmaq_query()
 * or ml_vmaq_resolve()), for address lookups that do not read every VMA.
 * Only anonymous memory the kernel gives no name of its own is labelled,
 * by the same rule as the labeler's. Returns true and fills @out when @v is
 * such memory (out->name NULL when the registry names no part around
 * @addr), false when the registry has nothing to say about it.
 */
bool ml_names_label_addr(const struct ml_name_ranges *r,
			 const struct ml_vmaq_vma *v, uint64_t addr,
			 struct ml_name_at *out);

/*
 * The NAME of a VMA named "[anon:NAME]" or "[anon_shmem:NAME]": returns
 * true and sets *@name, *@len (not NUL-terminated) and *@shmem.
 */
bool ml_vma_anon_name(const struct ml_vma *v, const char **name, size_t *len,
		      bool *shmem);

/* ---- memory per name ---------------------------------------------------------- */

struct ml_name_usage {
	pid_t pid;
	char comm[ML_COMM_MAX];
	char *name;      /* owned */
	enum ml_name_source source;
	bool shmem;      /* [anon_shmem:NAME] */
	uint32_t nr_vmas;
	uint64_t exec_bytes; /* of which in executable VMAs */
	struct ml_mem mem;   /* summed over the VMAs (size = bytes named) */
};

struct ml_name_table {
	struct ml_name_usage *u; /* one row per (process, name, source) */
	size_t n;
	size_t cap;
	size_t nr_procs;        /* processes whose memory was read */
	size_t nr_named_procs;  /* processes with at least one named VMA */
	size_t nr_unreadable;   /* processes whose smaps could not be read */
	size_t nr_registry_unreadable; /* registries that could not be read */
	int registry_err;       /* the last such error */
};

/*
 * For each process (every process, or opts->pids) and each name, the VMAs
 * with that name and their memory. Processes with no named memory give no
 * rows. Returns 0 or a negative errno for a failure of the whole scan.
 */
int ml_names_scan(struct ml_proc *p, const struct ml_scan_opts *opts,
		  struct ml_name_table *out);
void ml_name_table_free(struct ml_name_table *t);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_NAMES_H */
