/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/symbolize.h - code addresses of a live process to function names
 * and source lines.
 *
 * address -> VMA and file offset (memlens/vmaq.h) -> ELF file -> address
 * in the file's own terms (its PT_LOAD headers) -> function (DWARF scopes,
 * inlined functions included, else the symbol table) and file:line (the
 * DWARF line table), through libdw's libdwfl. Debug information comes from
 * the file itself or from a separate file found by build ID or
 * .gnu_debuglink under /usr/lib/debug (Debian's -dbgsym packages).
 *
 * One struct ml_symbolizer serves one process and caches each ELF file it
 * opened (by device and inode) with its parsed DWARF, so a report of
 * thousands of call sites opens and parses each library once. The files
 * are opened as the vmaq module opens them (map_files, else the path
 * under /proc/PID/root when it is still the same inode).
 *
 * Errors are negative errno values.
 */
#ifndef MEMLENS_SYMBOLIZE_H
#define MEMLENS_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <memlens/proc.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ml_symbolizer;

struct ml_symbolizer_opts {
	size_t sz;              /* sizeof(struct ml_symbolizer_opts) */
	/*
	 * The addresses are return addresses (a stack trace, the caller of
	 * malloc): look up addr - 1, the call instruction, so that a call
	 * that ends a line or a function is given its own line.
	 */
	bool return_addrs;
	bool no_lines;          /* function names only (no DWARF line tables) */
	bool no_ioctl;          /* vmaq: the maps text instead of PROCMAP_QUERY */
};
#define ml_symbolizer_opts__last_field no_ioctl

/* One symbolized address. Strings are owned by the symbolizer. */
struct ml_sym {
	uint64_t addr;
	/*
	 * 0: at least the object is known; -ENOENT: no VMA covers addr;
	 * -ENOEXEC: the VMA has no ELF file behind it (anonymous, JIT).
	 */
	int err;
	const char *object;     /* path of the ELF file ("" when err) */
	uint64_t file_offset;   /* of addr in the object */
	uint64_t elf_addr;      /* addr in the object's own terms (addr2line's) */
	const char *func;       /* NULL when no symbol covers it */
	uint64_t func_offset;   /* addr - the function's start (symtab) */
	const char *file;       /* source file, NULL without line info */
	uint32_t line;          /* 0 without line info */
	uint32_t column;
	bool inlined;           /* func is an inlined function's name */
};

/*
 * Open process @pid under @p's proc root for symbolization. @opts may be
 * NULL. @p must outlive the symbolizer. Returns 0 and sets *@out, or the
 * errors of ml_vmaq_open(): -ESRCH, -EACCES, -ENOMEM.
 */
int ml_symbolizer_open(struct ml_proc *p, pid_t pid,
		       const struct ml_symbolizer_opts *opts,
		       struct ml_symbolizer **out);
void ml_symbolizer_close(struct ml_symbolizer *s);

/*
 * Symbolize @n addresses (any order, duplicates allowed) into @out[0..n),
 * in input order. Each file is opened and parsed once per symbolizer;
 * the strings stay valid until ml_symbolizer_close(). The process's
 * mappings are read anew on each call (libraries come and go).
 * Returns 0 (per-address failures are in out[i].err), or a negative errno
 * for the whole batch: -ESRCH (the process is gone), -ENOMEM.
 */
int ml_symbolize(struct ml_symbolizer *s, const uint64_t *addrs, size_t n,
		 struct ml_sym *out);

/*
 * "func at file:line" style helpers for reports: writes "file:line"
 * (the source file's last @components path components; 0: whole) into
 * @buf, or "object+0xoffset" without line info. Returns @buf.
 */
const char *ml_sym_site(const struct ml_sym *sym, unsigned components,
			char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_SYMBOLIZE_H */
