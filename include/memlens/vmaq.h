/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/vmaq.h - address -> VMA queries on a live process.
 *
 * A struct ml_vmaq holds one process's <proc_root>/PID/maps open and answers
 * "which VMA covers (or follows) this address" with the semantics of the
 * kernel's PROCMAP_QUERY ioctl (Linux 6.11+): through the ioctl where the
 * kernel has it, else from one parsed snapshot of the maps text, refreshed
 * on request. Both paths give the same answers, field for field, including
 * the VMA's name and the GNU build ID of the file behind it.
 *
 * ml_vmaq_resolve() maps a batch of addresses (a stack-trace dump: unsorted,
 * with duplicates) to VMAs and file offsets, choosing between one ioctl per
 * VMA hit and one text pass from the batch and the process's VMA count.
 *
 * Errors are negative errno values: -ENOENT (nothing matches), -ESRCH (the
 * process is gone), -EACCES (not ours to read), -EINVAL, -ENOMEM.
 */
#ifndef MEMLENS_VMAQ_H
#define MEMLENS_VMAQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <memlens/proc.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ml_vmaq; /* one process: its maps file, caches, the text snapshot */

/* ---- query flags -------------------------------------------------------- */

/* Filters and modifiers, with the kernel's values (uapi linux/fs.h). */
#define ML_VMAQ_READABLE 0x01         /* only VMAs with these permissions */
#define ML_VMAQ_WRITABLE 0x02
#define ML_VMAQ_EXECUTABLE 0x04
#define ML_VMAQ_SHARED 0x08           /* VM_MAYSHARE: 's' in maps */
#define ML_VMAQ_COVERING_OR_NEXT 0x10 /* else the first match above addr */
#define ML_VMAQ_FILE_BACKED 0x20      /* only VMAs with a file behind them */
/* What to fetch besides the range (each costs a little): */
#define ML_VMAQ_WANT_NAME 0x100
#define ML_VMAQ_WANT_BUILD_ID 0x200

/* The kernel's BUILD_ID_SIZE_MAX: longer build-ID notes are not used. */
#define ML_VMAQ_BUILD_ID_MAX 20

/* ---- the answer --------------------------------------------------------- */

struct ml_vmaq_vma {
	uint64_t start;
	uint64_t end;
	uint64_t offset;     /* file offset of start, bytes; 0 when anonymous */
	uint64_t inode;      /* 0 when anonymous */
	uint32_t dev_major;  /* device of the file's superblock */
	uint32_t dev_minor;
	uint32_t flags;      /* ML_VMAQ_READABLE | WRITABLE | EXECUTABLE | SHARED */
	bool file_backed;    /* a file (or shmem) is behind the VMA */
	/*
	 * The name as the kernel gives it: a path (with " (deleted)"), [heap],
	 * [stack], [vdso], [anon:x], [anon_shmem:x]; "" for none or when not
	 * asked for. NUL-terminated; name_len excludes the NUL. Valid until the
	 * next call on the handle (single queries) or the next resolve,
	 * refresh or close (resolve results).
	 */
	const char *name;
	uint32_t name_len;
	uint8_t build_id_len; /* 0: none (not ELF, no note, or not asked) */
	uint8_t build_id[ML_VMAQ_BUILD_ID_MAX];
};

/* "r-xp" from flags: the maps perms column. */
void ml_vmaq_perms(uint32_t flags, char perms[5]);

/* Lowercase hex of the build ID into @buf (2 * 20 + 1 bytes); "" if none. */
const char *ml_vmaq_build_id_hex(const struct ml_vmaq_vma *v, char buf[41]);

/* ---- handle ------------------------------------------------------------- */

struct ml_vmaq_opts {
	size_t sz;     /* sizeof(struct ml_vmaq_opts) */
	bool no_ioctl; /* use the text fallback even where the ioctl exists */
};
#define ml_vmaq_opts__last_field no_ioctl

/*
 * Open process @pid under @p's proc root: keeps <proc_root>/PID/maps open
 * (access is checked once, here, as the kernel does) and finds out whether
 * the kernel answers PROCMAP_QUERY on it. The environment variable
 * MEMLENS_NO_PROCMAP_QUERY=1 forces the fallback, as does opts->no_ioctl.
 * @opts may be NULL. @p must outlive the handle.
 * Returns 0 and sets *@out, or -ESRCH (no such process), -EACCES, -ENOMEM.
 */
int ml_vmaq_open(struct ml_proc *p, pid_t pid, const struct ml_vmaq_opts *opts,
		 struct ml_vmaq **out);
void ml_vmaq_close(struct ml_vmaq *q);

/* True when answers come from the kernel's ioctl, false for the fallback. */
bool ml_vmaq_uses_ioctl(const struct ml_vmaq *q);

/*
 * The VMA that covers @addr and passes the filters in @flags; with
 * ML_VMAQ_COVERING_OR_NEXT, the first one at or above @addr that does.
 * Returns 0 and fills *@out, -ENOENT when nothing matches, -ESRCH once the
 * process has exited (both paths), -EINVAL on unknown flags.
 * The fallback answers from its snapshot (taken on first use).
 */
int ml_vmaq_query(struct ml_vmaq *q, uint64_t addr, unsigned flags,
		  struct ml_vmaq_vma *out);

/*
 * Drop what the handle remembers (build IDs per file, VMA count) and, for
 * the fallback, re-read the maps text. -ESRCH when the process is gone.
 */
int ml_vmaq_refresh(struct ml_vmaq *q);

/* ---- batches -------------------------------------------------------------- */

enum ml_vmaq_strategy {
	ML_VMAQ_AUTO = 0,       /* choose from the batch and the VMA count */
	ML_VMAQ_SORTED_IOCTL,   /* one COVERING_OR_NEXT ioctl per VMA/gap hit */
	ML_VMAQ_TEXT_PASS,      /* one read of the maps text */
};

struct ml_vmaq_resolve_opts {
	size_t sz;                     /* sizeof(struct ml_vmaq_resolve_opts) */
	bool build_id;                 /* fetch build IDs of the VMAs hit */
	enum ml_vmaq_strategy strategy; /* force one (tests, benchmarks) */
};
#define ml_vmaq_resolve_opts__last_field strategy

struct ml_vmaq_result {
	uint64_t addr;
	int err;                       /* 0, or -ENOENT: no VMA covers addr */
	uint64_t file_offset;          /* vma->offset + (addr - vma->start) */
	const struct ml_vmaq_vma *vma; /* NULL on error; owned by the handle */
};

/*
 * Resolve @n addresses (any order, duplicates allowed) into @out[0..n), in
 * input order; each result's VMA carries its name, and its build ID when
 * opts->build_id. VMAs are owned by the handle and stay valid until the
 * next resolve, refresh or close. @opts may be NULL (auto, no build IDs).
 * Returns 0 (per-address misses are in out[i].err), or a negative errno for
 * the whole batch (-ESRCH, -ENOMEM, -EINVAL for a strategy this handle
 * cannot use: SORTED_IOCTL without the ioctl).
 */
int ml_vmaq_resolve(struct ml_vmaq *q, const uint64_t *addrs, size_t n,
		    const struct ml_vmaq_resolve_opts *opts,
		    struct ml_vmaq_result *out);

/* The strategy the last resolve used (AUTO before any; TEXT_PASS after a
 * switch in mid-batch), for tests and benchmarks. */
enum ml_vmaq_strategy ml_vmaq_last_strategy(const struct ml_vmaq *q);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_VMAQ_H */
