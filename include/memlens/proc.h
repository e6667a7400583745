/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/proc.h - procfs readers and parsers.
 *
 * Every reader works against a proc root (default "/proc") held by a
 * struct ml_proc, so tests and fuzzers run the same code on fixture trees.
 * Parsers take bytes and produce typed records; they never allocate per
 * field and never trust the input: malformed text gives -EINVAL.
 *
 * All sizes are bytes unless a name says pages.
 */
#ifndef MEMLENS_PROC_H
#define MEMLENS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- context ---------------------------------------------------------- */

struct ml_proc; /* a proc root, a sys root and a reusable read buffer */

struct ml_proc_opts {
	size_t sz;             /* sizeof(struct ml_proc_opts) */
	const char *proc_root; /* default "/proc" */
	const char *sys_root;  /* default "/sys" */
};
#define ml_proc_opts__last_field sys_root

/* Fill .sz for the caller: ML_OPTS(ml_proc_opts, o, .proc_root = "x"); */
#define ML_OPTS(type, name, ...) \
	struct type name = { .sz = sizeof(struct type), __VA_ARGS__ }

/*
 * Open a proc root. @opts may be NULL. Returns 0 and sets *@out, or a
 * negative errno (-ENOENT when the root does not exist).
 */
int ml_proc_new(const struct ml_proc_opts *opts, struct ml_proc **out);
void ml_proc_free(struct ml_proc *p);
const char *ml_proc_root(const struct ml_proc *p);
const char *ml_proc_sys_root(const struct ml_proc *p);
/* An O_DIRECTORY fd of the proc root, owned by @p. */
int ml_proc_dirfd(const struct ml_proc *p);

/*
 * Read the whole of <proc_root>/<pid>/<file> (pid 0 means <proc_root>/<file>)
 * into @p's buffer. On success returns the length and points *@data at a
 * NUL-terminated copy valid until the next read through @p.
 * Errors: -ESRCH (the process is gone), -EACCES, -ENOENT, -ENOMEM.
 */
ssize_t ml_proc_read(struct ml_proc *p, pid_t pid, const char *file,
		     char **data);

/*
 * Same, but hand the buffer over to the caller, who frees it with free().
 * Used where records keep pointers into the text (ml_vma.name).
 */
ssize_t ml_proc_read_owned(struct ml_proc *p, pid_t pid, const char *file,
			   char **data);

/* ---- memory counters: smaps, smaps_rollup ------------------------------- */

/* The kB fields of smaps / smaps_rollup, converted to bytes. */
struct ml_mem {
	uint64_t size;
	uint64_t rss;
	uint64_t pss;
	uint64_t pss_dirty;
	uint64_t pss_anon;
	uint64_t pss_file;
	uint64_t pss_shmem;
	uint64_t shared_clean;
	uint64_t shared_dirty;
	uint64_t private_clean;
	uint64_t private_dirty;
	uint64_t referenced;
	uint64_t anonymous;
	uint64_t ksm;
	uint64_t lazyfree;
	uint64_t anon_huge;
	uint64_t shmem_pmd_mapped;
	uint64_t file_pmd_mapped;
	uint64_t shared_hugetlb;
	uint64_t private_hugetlb;
	uint64_t swap;
	uint64_t swap_pss;
	uint64_t locked;
};

/* Unique set size: memory only this process maps. */
static inline uint64_t ml_mem_uss(const struct ml_mem *m)
{
	return m->private_clean + m->private_dirty;
}

/* a += b, field by field. */
void ml_mem_add(struct ml_mem *a, const struct ml_mem *b);

/* ---- VMAs: maps, smaps -------------------------------------------------- */

struct ml_vma {
	uint64_t start;
	uint64_t end;
	uint64_t offset; /* file offset of start, bytes */
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	char perms[5]; /* "rwxp", NUL-terminated */
	/*
	 * The name exactly as the kernel prints it ("" when anonymous), with
	 * spaces, " (deleted)", [heap], [anon:x], /memfd:x (deleted) kept.
	 * Points into the text the VMA was parsed from.
	 */
	const char *name;
	uint32_t name_len;
	/* smaps only (zero from maps): */
	struct ml_mem mem;
	uint32_t kernel_page_size;
	uint32_t mmu_page_size;
	int8_t thp_eligible;  /* -1 when the kernel did not say */
	const char *vm_flags; /* "rd wr mr ...", "" when absent */
};

static inline uint64_t ml_vma_size(const struct ml_vma *v)
{
	return v->end - v->start;
}

/* An anonymous VMA: no file behind it (heap, stack, [anon:x] included). */
bool ml_vma_is_anon(const struct ml_vma *v);

/*
 * Parse one maps line at *@pos (up to @end) into @vma and advance *@pos past
 * it. The line's newline is replaced by NUL so that vma->name is a C string:
 * the text must be writable and outlive @vma. The parser never writes at or
 * past @end, so when the last line has no newline, name (and vm_flags) end
 * at @end and are C strings only if *@end is a NUL, as ml_proc_read()
 * leaves it; vma->name_len is right either way.
 * Returns 1 when a VMA was parsed, 0 at the end, -EINVAL on a malformed line.
 */
int ml_maps_next(char **pos, char *end, struct ml_vma *vma);

/*
 * Parse one smaps record (header line plus its fields). Same contract as
 * ml_maps_next(). Unknown fields are skipped (new kernels add fields);
 * a record with no Rss line is malformed.
 */
int ml_smaps_next(char **pos, char *end, struct ml_vma *vma);

/*
 * Parse a whole smaps_rollup file. Returns 0, -ENODATA for an empty file
 * (a process without memory: kernel thread or zombie), or -EINVAL.
 */
int ml_smaps_rollup_parse(char *text, size_t len, struct ml_mem *mem);

/*
 * Stream the VMAs of /proc/PID/maps or smaps one at a time, without keeping
 * them: the cheapest way through a process with tens of thousands of VMAs.
 * The iterator reads through @p's buffer, so use one iterator at a time per
 * struct ml_proc, and no other read through @p until it is closed.
 * ml_vma_iter_next() returns 1 with @vma filled (its name and vm_flags stay
 * valid until the next call), 0 at the end, or a negative errno (-EINVAL on
 * a malformed record; the iterator cannot go on after an error).
 */
struct ml_vma_iter;

int ml_vma_iter_open(struct ml_proc *p, pid_t pid, bool with_counters,
		     struct ml_vma_iter **out);
int ml_vma_iter_next(struct ml_vma_iter *it, struct ml_vma *vma);
void ml_vma_iter_close(struct ml_vma_iter *it);

/* A parsed maps or smaps file: owns its text and its VMA array. */
struct ml_vma_list {
	struct ml_vma *v;
	size_t n;
	size_t cap;
	char *text;
};

void ml_vma_list_free(struct ml_vma_list *l);

/*
 * Read and parse /proc/PID/maps (with_counters false) or /proc/PID/smaps
 * (true) into @out, which the caller frees with ml_vma_list_free().
 */
int ml_proc_vmas(struct ml_proc *p, pid_t pid, bool with_counters,
		 struct ml_vma_list *out);

/* ---- status, statm, comm, cmdline -------------------------------------- */

struct ml_status {
	char name[64]; /* as status prints it (escaped) */
	pid_t tgid;
	pid_t ppid;
	uid_t uid[4]; /* real, effective, saved, fs */
	gid_t gid[4];
	uint32_t threads;
	uint64_t vm_peak, vm_size, vm_lck, vm_pin, vm_hwm, vm_rss;
	uint64_t rss_anon, rss_file, rss_shmem;
	uint64_t vm_data, vm_stk, vm_exe, vm_lib, vm_pte, vm_swap;
	bool has_mm; /* the Vm* lines were present */
};

int ml_status_parse(const char *text, size_t len, struct ml_status *st);
int ml_proc_status(struct ml_proc *p, pid_t pid, struct ml_status *st);

/* /proc/PID/statm, converted from pages to bytes. */
struct ml_statm {
	uint64_t size, resident, shared, text, lib, data, dt;
};

int ml_statm_parse(const char *text, size_t len, uint64_t page_size,
		   struct ml_statm *sm);
int ml_proc_statm(struct ml_proc *p, pid_t pid, struct ml_statm *sm);

/* /proc/PID/comm without its newline; at most @sz - 1 bytes. */
int ml_proc_comm(struct ml_proc *p, pid_t pid, char *buf, size_t sz);

/*
 * /proc/PID/cmdline with NULs turned into spaces and non-printable bytes
 * into '?', at most @sz - 1 bytes. Empty for kernel threads.
 */
int ml_cmdline_format(const char *raw, size_t len, char *buf, size_t sz);
int ml_proc_cmdline(struct ml_proc *p, pid_t pid, char *buf, size_t sz);

/* ---- /proc/meminfo ------------------------------------------------------ */

enum ml_meminfo_field {
	ML_MI_MEM_TOTAL,
	ML_MI_MEM_FREE,
	ML_MI_MEM_AVAILABLE,
	ML_MI_BUFFERS,
	ML_MI_CACHED,
	ML_MI_SWAP_CACHED,
	ML_MI_ACTIVE_ANON,
	ML_MI_INACTIVE_ANON,
	ML_MI_ACTIVE_FILE,
	ML_MI_INACTIVE_FILE,
	ML_MI_UNEVICTABLE,
	ML_MI_MLOCKED,
	ML_MI_SWAP_TOTAL,
	ML_MI_SWAP_FREE,
	ML_MI_ZSWAP,
	ML_MI_ZSWAPPED,
	ML_MI_DIRTY,
	ML_MI_WRITEBACK,
	ML_MI_ANON_PAGES,
	ML_MI_MAPPED,
	ML_MI_SHMEM,
	ML_MI_KRECLAIMABLE,
	ML_MI_SLAB,
	ML_MI_SRECLAIMABLE,
	ML_MI_SUNRECLAIM,
	ML_MI_KERNEL_STACK,
	ML_MI_PAGE_TABLES,
	ML_MI_SEC_PAGE_TABLES,
	ML_MI_VMALLOC_USED,
	ML_MI_PERCPU,
	ML_MI_ANON_HUGE_PAGES,
	ML_MI_SHMEM_HUGE_PAGES,
	ML_MI_FILE_HUGE_PAGES,
	ML_MI_HUGETLB,
	ML_MI_HUGEPAGES_TOTAL, /* a count, not bytes */
	ML_MI_HUGEPAGESIZE,
	ML_MI__COUNT,
};

struct ml_meminfo {
	uint64_t v[ML_MI__COUNT];  /* bytes (counts where the kernel prints no unit) */
	uint64_t present;          /* bit i set when field i was in the file */
};

static inline bool ml_meminfo_has(const struct ml_meminfo *mi,
				  enum ml_meminfo_field f)
{
	return mi->present & (1ULL << f);
}

/* The kernel's spelling of a field ("MemTotal"). */
const char *ml_meminfo_field_name(enum ml_meminfo_field f);

/* Unknown lines are skipped; MemTotal and MemFree must be present. */
int ml_meminfo_parse(const char *text, size_t len, struct ml_meminfo *mi);
int ml_proc_meminfo(struct ml_proc *p, struct ml_meminfo *mi);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_PROC_H */
