/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * damon.h - data-access monitoring (seed 004) in user space.
 *
 * DAMON's algorithm as the kernel runs it (mm/damon/core.c): a target's
 * address space is cut into regions; every sample interval one random page
 * per region is checked for an access and re-armed; every aggregation
 * interval each region's nr_accesses and age are updated, similar
 * neighbours merged and regions split at random points, so that the number
 * of regions stays between min_nr_regions and max_nr_regions and the cost
 * does not grow with the size of the target.
 *
 * Where accesses come from is pluggable (struct ml_damon_ops): a synthetic
 * space (sim), userfaultfd write-protect + PAGEMAP_SCAN on the caller
 * (wp), soft-dirty bits (softdirty) or page_idle (idle) of any process.
 *
 * The types in the first section are the contract between the monitoring
 * core, the access sources, the recorder and the kernel-DAMON front-end:
 * extend them, never change what a field means.
 */
#ifndef MEMLENS_DAMON_H
#define MEMLENS_DAMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results: what one aggregation produced --------------------------- */

/* One region as results report it: [start, end), bytes. */
struct ml_damon_region {
	uint64_t start;
	uint64_t end;
	/* samples of the last aggregation interval that saw an access */
	uint32_t nr_accesses;
	/* aggregation intervals since the region's access pattern last
	 * changed notably (the kernel's damon_region.age) */
	uint32_t age;
};

/*
 * One aggregation of one target, handed to the callback and written by the
 * recorder. The regions are sorted by start and do not overlap; gaps
 * between them are unmapped (or unmonitored) address space.
 */
struct ml_damon_snapshot {
	uint64_t time_us;		/* since monitoring started */
	unsigned int target_id;		/* index of the target in its context */
	pid_t pid;			/* 0 for synthetic or physical targets */
	/* the scale of nr_accesses: aggr_interval / sample_interval */
	uint32_t max_nr_accesses;
	size_t nr_regions;
	const struct ml_damon_region *regions;
};

/* ---- access sources ("ops") ------------------------------------------- */

/* What a source can see: honest about writes-only sources. */
enum ml_damon_sees {
	ML_DAMON_SEES_WRITES = 1u << 0,
	ML_DAMON_SEES_READS = 1u << 1,
};

/* A monitorable address range of a target, [start, end). */
struct ml_damon_range {
	uint64_t start;
	uint64_t end;
};

/*
 * An access source. The core owns regions and sampling addresses; a source
 * only answers "which address ranges exist" and "was this page accessed
 * since it was last re-armed". All callbacks return 0 or a negative errno;
 * @now_us is the context's monitoring time (virtual for sim, so tests and
 * benchmarks run without sleeping).
 */
struct ml_damon_ops {
	const char *name;		/* "sim", "wp", "softdirty", "idle" */
	unsigned int sees;		/* ML_DAMON_SEES_* */
	/*
	 * Set up monitoring of @pid (0: the calling process; ignored by
	 * sim, which reads @arg, its script). -EOPNOTSUPP when the kernel
	 * lacks what the source needs (@why then names the missing
	 * kernel option), -ESRCH when the target is gone.
	 */
	int (*init)(void **state, pid_t pid, const char *arg,
		    const char **why);
	/*
	 * The target's current address ranges, sorted, disjoint, at most
	 * @cap of them into @buf; *@nr gets how many exist (may exceed
	 * @cap: call again with a bigger buffer). The core builds the
	 * initial three regions around the two biggest gaps from these,
	 * as the kernel's vaddr ops do, and follows them as they change.
	 */
	int (*ranges)(void *state, uint64_t now_us, struct ml_damon_range *buf,
		      size_t cap, size_t *nr);
	/* Re-arm access checking of the pages at @addrs (one per region). */
	int (*prepare)(void *state, uint64_t now_us, const uint64_t *addrs,
		       size_t nr);
	/*
	 * Was the page at each of @addrs accessed since prepare()? Sources
	 * may answer with one ranged scan or per page, whichever is cheaper.
	 */
	int (*check)(void *state, uint64_t now_us, const uint64_t *addrs,
		     size_t nr, bool *accessed);
	/*
	 * Apply a scheme action (enum ml_damos_action) to [start, end);
	 * *@applied gets the bytes it was applied to. NULL: no actions.
	 */
	int (*apply)(void *state, int action, uint64_t start, uint64_t end,
		     uint64_t *applied);
	/* false once the target has exited (monitoring of it ends). */
	bool (*alive)(void *state);
	void (*fini)(void *state);
};

/* ---- access sources of real processes (lib/damon/{wp,softdirty,idle}.c) -- */

/*
 * Their init() @arg: NULL, or "proc_root=PATH,sys_root=PATH" (either key
 * may be left out; defaults /proc and /sys) so that tests can run them on
 * fixture trees.
 *
 * wp: writes of the calling process only (@pid 0 or getpid()): userfaultfd
 *	async write-protect of the sampled pages + PAGEMAP_SCAN (6.7+).
 *	Other processes: through the agent, libmemlens-damon.so.
 * softdirty: writes of any process we may ptrace: clear_refs "4" and the
 *	pagemap soft-dirty bit (CONFIG_MEM_SOFT_DIRTY). Clearing is for the
 *	whole process at once, so each sample costs a walk of all its page
 *	tables, and every page it writes afterwards takes a fault: use long
 *	sample intervals on big targets, and never on a process someone
 *	else tracks soft-dirty pages of (CRIU).
 * idle: reads and writes of any process, root only: pagemap PFNs and
 *	/sys/kernel/mm/page_idle/bitmap (CONFIG_IDLE_PAGE_TRACKING), what
 *	the kernel's vaddr ops do with the young bits.
 */
extern const struct ml_damon_ops ml_damon_ops_wp;
extern const struct ml_damon_ops ml_damon_ops_softdirty;
extern const struct ml_damon_ops ml_damon_ops_idle;

/* What the wp source did so far and what its cost model believes. */
struct ml_damon_wp_stats {
	uint64_t nr_page_checks;	/* sampled pages checked one by one */
	uint64_t nr_range_scans;	/* ranged PAGEMAP_SCAN calls */
	uint64_t nr_armed;		/* written pages re-protected */
	uint64_t nr_register_failed;	/* VMAs uffd would not take */
	uint64_t nr_bytes_armed_at_start; /* new VMAs armed whole, bytes */
	uint64_t page_ns;		/* model: one per-page check, ns */
	uint64_t scan_ns_per_mib;	/* model: ranged scan, ns per MiB */
	uint64_t monitored_bytes;	/* what the last ranges() offered */
	bool wp_unpopulated;		/* first writes to new pages seen */
};

/* @state: a wp source's state from its init(). 0 or -EINVAL. */
int ml_damon_wp_stats(const void *state, struct ml_damon_wp_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* MEMLENS_DAMON_H */
