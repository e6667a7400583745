/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/acct.h - memory accounting: per process, per mapping across
 * processes (librank-style), and system totals reconciled with meminfo.
 *
 * Per-process totals come from smaps_rollup, whose PSS the kernel sums
 * before rounding; per-VMA figures come from smaps, whose PSS is rounded
 * down to a kB per VMA (so a sum of VMAs can be lower than the rollup).
 */
#ifndef MEMLENS_ACCT_H
#define MEMLENS_ACCT_H

#include <memlens/proc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- processes ---------------------------------------------------------------- */

#define ML_COMM_MAX 64

struct ml_proc_mem {
	pid_t pid;
	uid_t uid;
	/*
	 * 0, or why this process could not be measured: -EACCES (another
	 * user's process, not root), -ESRCH (exited while we read it, only
	 * reported for pids asked for by number), -EINVAL (malformed text).
	 */
	int err;
	bool no_mm; /* kernel thread or zombie: nothing to account */
	char comm[ML_COMM_MAX];
	char *cmdline; /* owned; NULL unless asked for */
	struct ml_mem mem;
};

struct ml_proc_table {
	struct ml_proc_mem *p;
	size_t n;
	size_t cap;
	size_t nr_unreadable; /* entries with err != 0 */
	size_t nr_gone;       /* processes that exited during the scan */
};

struct ml_scan_opts {
	size_t sz;
	const pid_t *pids; /* measure only these (NULL: every process) */
	size_t nr_pids;
	bool filter_uid;   /* only processes whose real uid is .uid */
	uid_t uid;
	bool want_cmdline;
	bool include_no_mm; /* keep kernel threads and zombies (always kept
			     * when asked for in .pids) */
};
#define ml_scan_opts__last_field include_no_mm

/*
 * Measure one process from its smaps_rollup. Returns 0 with @out filled,
 * or a negative errno (@out->err holds the same value).
 */
int ml_acct_process(struct ml_proc *p, pid_t pid, bool want_cmdline,
		    struct ml_proc_mem *out);

/*
 * Measure every process (or opts->pids). Per-process failures do not fail
 * the scan: they are kept in the table with ->err set, except processes
 * that exit mid-scan, which are dropped and counted in ->nr_gone.
 * Returns 0 or a negative errno for a failure of the whole scan.
 */
int ml_acct_scan(struct ml_proc *p, const struct ml_scan_opts *opts,
		 struct ml_proc_table *out);
void ml_proc_table_free(struct ml_proc_table *t);

enum ml_sort_key { ML_SORT_PSS, ML_SORT_USS, ML_SORT_RSS, ML_SORT_SWAP };

/* Parse "pss", "uss", "rss", "swap"; -EINVAL otherwise. */
int ml_sort_key_parse(const char *s, enum ml_sort_key *key);
uint64_t ml_mem_sort_value(const struct ml_mem *m, enum ml_sort_key key);
/* Largest first; unreadable processes last; ties by pid. */
void ml_proc_table_sort(struct ml_proc_table *t, enum ml_sort_key key);

/* ---- mappings across processes ---------------------------------------------- */

/* The name unnamed anonymous VMAs are gathered under. */
#define ML_ANON_NAME "[anon]"

struct ml_mapping {
	char *name;        /* as the kernel prints it, or ML_ANON_NAME */
	uint32_t nr_procs; /* processes that map it */
	uint32_t nr_vmas;
	struct ml_mem mem; /* summed over every VMA of every process */
};

struct ml_mapping_table {
	struct ml_mapping *m;
	size_t n;
	size_t cap;
	size_t nr_procs;      /* processes whose smaps were read */
	size_t nr_unreadable; /* processes that could not be read */
	/* internal index by name */
	uint32_t *index;
	size_t index_cap;
};

/*
 * For each mapping name, sum smaps figures over every VMA of every process
 * that maps it (the question librank answers). Unreadable processes are
 * counted, not fatal.
 */
int ml_acct_mappings(struct ml_proc *p, const struct ml_scan_opts *opts,
		     struct ml_mapping_table *out);
/* Add one process's VMAs to @t (ml_acct_mappings' building block). */
int ml_mapping_table_add(struct ml_mapping_table *t,
			 const struct ml_vma_list *vmas);
void ml_mapping_table_sort(struct ml_mapping_table *t, enum ml_sort_key key);
void ml_mapping_table_free(struct ml_mapping_table *t);

/* ---- system ------------------------------------------------------------------- */

/*
 * Where the machine's memory is, from meminfo, next to what the processes
 * of a scan account for. Identity:
 *   total = free + anon + file + shmem + swap_cached + kernel + hugetlb
 *           + unexplained
 * where file is the page cache without shmem (Cached + Buffers - Shmem) and
 * kernel is Slab + KernelStack + PageTables + SecPageTables + Percpu +
 * VmallocUsed. unexplained is what meminfo does not itemise (pages drivers
 * allocate directly, for instance); it can be negative when VmallocUsed
 * also holds the kernel stacks (CONFIG_VMAP_STACK).
 */
struct ml_sys_mem {
	uint64_t total, free, available;
	uint64_t anon;
	uint64_t file;
	uint64_t shmem;
	uint64_t swap_cached;
	uint64_t kernel;
	uint64_t slab, kernel_stack, page_tables, percpu, vmalloc;
	uint64_t hugetlb;
	int64_t unexplained;
	uint64_t swap_total, swap_used;
	/* sums over the scanned processes */
	size_t nr_procs;
	struct ml_mem procs;
};

int ml_acct_system(const struct ml_meminfo *mi, const struct ml_proc_table *t,
		   struct ml_sys_mem *out);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_ACCT_H */
