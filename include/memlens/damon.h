/* SPDX-License-Identifier: LGPL-2.1-or-later */
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
	/*
	 * Optional (NULL: nothing to do). [start, end) is a region that has
	 * shown no access for a while: no sampled access in its last
	 * aggregation, and an age of ML_DAMON_SETTLE_AGE aggregations or
	 * more; called then and again each time its age doubles, until it
	 * is accessed (so writes sampling missed are caught up, at a cost
	 * that fades). It changes nothing the core sees: a source whose
	 * re-arming of a sampled page costs more when the page was not armed
	 * (wp: a TLB flush) may arm the whole range here at once.
	 */
	void (*settle)(void *state, uint64_t start, uint64_t end);
};

/* Aggregations without an access before a region is settled (above). */
#define ML_DAMON_SETTLE_AGE 2

/* ---- monitoring contexts (lib/damon/core.c) ---------------------------- */

/* The smallest region, and the alignment of every region edge (the
 * kernel's DAMON_MIN_REGION, PAGE_SIZE). */
#define ML_DAMON_MIN_REGION 4096u

/* Monitoring attributes; every interval in microseconds (the kernel's
 * struct damon_attrs). ml_damon_attrs_default() fills the kernel's
 * defaults: 5 ms, 100 ms, 60 s, 10..1000 regions. */
struct ml_damon_attrs {
	uint64_t sample_us;
	uint64_t aggr_us;
	uint64_t ops_update_us;
	uint32_t min_nr_regions;
	uint32_t max_nr_regions;
};

void ml_damon_attrs_default(struct ml_damon_attrs *a);
/*
 * NULL when @a is possible, else why not ("min_nr_regions is below 3"):
 * the kernel's damon_set_attrs() rules (min >= 3, min <= max, sample <=
 * aggr) plus nonzero intervals, which user space cannot busy-loop on.
 */
const char *ml_damon_attrs_invalid(const struct ml_damon_attrs *a);

struct ml_damon_ctx;

/*
 * Called once per target per aggregation, after regions are merged and
 * before they are reset and split, as the kernel's after_aggregation.
 * The snapshot is valid during the call only. Nonzero stops monitoring
 * (ml_damon_step() then returns that value).
 */
typedef int (*ml_damon_snapshot_fn)(const struct ml_damon_snapshot *snap,
				    void *arg);

/*
 * A context with @attrs (NULL: defaults) and its own PRNG seeded by @seed:
 * the same seed, targets and sources give the same snapshots. -EINVAL for
 * impossible attributes (ml_damon_attrs_invalid() says which).
 */
int ml_damon_ctx_new(const struct ml_damon_attrs *attrs, uint64_t seed,
		     struct ml_damon_ctx **out);
void ml_damon_ctx_free(struct ml_damon_ctx *ctx);
const struct ml_damon_attrs *ml_damon_ctx_attrs(const struct ml_damon_ctx *ctx);
void ml_damon_set_callback(struct ml_damon_ctx *ctx, ml_damon_snapshot_fn fn,
			   void *arg);

/*
 * Add a target: @ops->init(@pid, @arg), then its initial regions from
 * @ops->ranges() as the kernel's vaddr ops build them. @ops NULL chooses
 * automatically (ml_damon_ops_auto order). On failure *@why (if not NULL)
 * may name the missing kernel option. Returns the target id (>= 0) or a
 * negative errno. Targets are added before the first step.
 */
int ml_damon_add_target(struct ml_damon_ctx *ctx,
			const struct ml_damon_ops *ops, pid_t pid,
			const char *arg, const char **why);
const struct ml_damon_ops *ml_damon_target_ops(const struct ml_damon_ctx *ctx,
					       unsigned int target_id);
/* Current regions of a target (between aggregations: nr_accesses is the
 * count so far in this interval). */
size_t ml_damon_target_regions(const struct ml_damon_ctx *ctx,
			       unsigned int target_id,
			       struct ml_damon_region *buf, size_t cap);

/*
 * Virtual time: advance one sample interval without sleeping (check the
 * samples prepared at the previous step, aggregate, apply schemes, split,
 * update from ops, prepare the next samples). While the watermarks of
 * every scheme keep it inactive, a step only advances time to the next
 * watermark check and nothing is monitored (the kernel's
 * kdamond_wait_activation). Returns 0, the callback's nonzero value,
 * -ESRCH once every target has gone, or a negative errno from a source.
 */
int ml_damon_step(struct ml_damon_ctx *ctx);
/* ml_damon_step() until @duration_us of virtual time has passed. */
int ml_damon_run_virtual(struct ml_damon_ctx *ctx, uint64_t duration_us);
/*
 * Real time: sleep between samples on CLOCK_MONOTONIC until @duration_us
 * more (0: no limit) have passed, every target has gone (returns -ESRCH), the
 * callback returns nonzero, or *@stop becomes nonzero (a signal handler
 * may set it: a volatile sig_atomic_t, an int on Linux; returns 0). Samples a late wake-up missed are skipped, not
 * caught up, so a stalled monitor does not burst.
 */
int ml_damon_run(struct ml_damon_ctx *ctx, uint64_t duration_us,
		 volatile int *stop);
/* Monitoring time so far (virtual or real), microseconds. */
uint64_t ml_damon_now_us(const struct ml_damon_ctx *ctx);

/* ---- access sources registry (lib/damon/ops.c) ------------------------ */

/* The source called @name, or NULL. */
const struct ml_damon_ops *ml_damon_ops_find(const char *name);
/* The @i-th source (NULL past the end), for listings and auto choice. */
const struct ml_damon_ops *ml_damon_ops_at(size_t i);
/* Whether the automatic choice tries this source (sim: never). */
bool ml_damon_ops_in_auto(size_t i);

/* ---- the sim source (lib/damon/sim.c) --------------------------------- */

/*
 * A synthetic address space with a scripted access pattern, answered at
 * the context's (virtual) time. Its arg is a script of whitespace- or
 * ';'-separated items; sizes and offsets take K, M, G, T (binary), times
 * us, ms, s (bare numbers: bytes and microseconds):
 *
 *   base=ADDR          first address of the space (default 0x100000000000)
 *   size=SIZE          size of the space (default 64G)
 *   seed=N             the source's own PRNG seed (default 1)
 *   gap=OFF+LEN[@FROM[-TO]]
 *                      an unmapped hole, present from FROM to TO (default:
 *                      always); mapping changes over time are gaps that
 *                      come and go
 *   @TIME              a new phase starts at TIME; the items after it, up
 *                      to the next @TIME, are its pattern
 *   START-END:P        in this phase a page of [START, END) (offsets) is
 *                      accessed in a sample interval with probability P
 *                      (0..1); later items override earlier ones; pages
 *                      no item covers are never accessed
 *   # ...              a comment to the end of the line
 *
 * Example: "size=64G gap=20G+1G gap=40G+2G @0 0-4G:0.9 4G-16G:0.3
 * @30s 48G-52G:0.9". Items before the first @TIME belong to a phase at 0.
 * A check is an independent draw per sample, so a region's nr_accesses
 * over an aggregation is binomial(max_nr_accesses, P).
 */
extern const struct ml_damon_ops ml_damon_sim_ops;

#define ML_DAMON_SIM_MAX_AREAS 64
#define ML_DAMON_SIM_MAX_PHASES 32
#define ML_DAMON_SIM_MAX_GAPS 32

struct ml_damon_sim_area {
	uint64_t start;			/* offsets from base */
	uint64_t end;
	double prob;
};

struct ml_damon_sim_phase {
	uint64_t from_us;
	size_t nr_areas;
	struct ml_damon_sim_area areas[ML_DAMON_SIM_MAX_AREAS];
};

struct ml_damon_sim_gap {
	uint64_t start;			/* offset from base */
	uint64_t end;
	uint64_t from_us;
	uint64_t to_us;			/* UINT64_MAX: for ever */
};

/* A parsed script: tests compute their ground truth from it. */
struct ml_damon_sim_script {
	uint64_t base;
	uint64_t size;
	uint64_t seed;
	size_t nr_phases;
	struct ml_damon_sim_phase phases[ML_DAMON_SIM_MAX_PHASES];
	size_t nr_gaps;
	struct ml_damon_sim_gap gaps[ML_DAMON_SIM_MAX_GAPS];
};

/*
 * Parse @text into @out. -EINVAL on malformed input, with *@err (if not
 * NULL) pointing at a static description of what is wrong.
 */
int ml_damon_sim_parse(const char *text, struct ml_damon_sim_script *out,
		       const char **err);
/* The access probability of the page at offset @off at @now_us (0 in a
 * gap or outside every area). */
double ml_damon_sim_prob(const struct ml_damon_sim_script *s, uint64_t now_us,
			 uint64_t off);

/* ---- schemes: DAMOS (lib/damon/schemes.c) ----------------------------- */

enum ml_damos_action {
	ML_DAMOS_STAT,
	ML_DAMOS_COLD,		/* MADV_COLD */
	ML_DAMOS_PAGEOUT,	/* MADV_PAGEOUT */
	ML_DAMOS_WILLNEED,	/* MADV_WILLNEED */
	ML_DAMOS_COLLAPSE,	/* MADV_COLLAPSE */
	ML_DAMOS_HUGEPAGE,	/* MADV_HUGEPAGE, the caller only */
	ML_DAMOS_NOHUGEPAGE,	/* MADV_NOHUGEPAGE, the caller only */
	ML_DAMOS__COUNT,
};

const char *ml_damos_action_name(enum ml_damos_action a);
/* -EINVAL for an unknown name. */
int ml_damos_action_parse(const char *name, enum ml_damos_action *a);

/* Which regions a scheme applies to; inclusive ranges as the kernel's
 * struct damos_access_pattern. nr_accesses in samples per aggregation,
 * age in aggregation intervals. */
struct ml_damos_pattern {
	uint64_t min_sz_bytes, max_sz_bytes;
	uint32_t min_nr_accesses, max_nr_accesses;
	uint32_t min_age, max_age;
};

/*
 * Quotas (struct damos_quota): at most @ms of apply time and @sz_bytes per
 * @reset_interval_ms (0: no limit). When a quota limits, regions are
 * chosen by score (the kernel's damon_hot_score/damon_cold_score from
 * access frequency and age with these weights, each 0..): the
 * histogram of scores over matching bytes sets the minimum score that
 * fits the quota. weight_sz is kept for the kernel's interface; as in the
 * kernel, size enters through the histogram being in bytes.
 */
struct ml_damos_quota {
	uint64_t ms;
	uint64_t sz_bytes;
	uint64_t reset_interval_ms;
	uint32_t weight_sz;
	uint32_t weight_nr_accesses;
	uint32_t weight_age;
};

enum ml_damos_wmark_metric {
	ML_DAMOS_WMARK_NONE,
	ML_DAMOS_WMARK_FREE_MEM_RATE,	/* MemFree / MemTotal, per mille */
};

/* Watermarks (struct damos_watermarks): active below @high and above
 * @low; activated again when the metric falls under @mid. */
struct ml_damos_wmarks {
	enum ml_damos_wmark_metric metric;
	uint64_t interval_us;
	uint32_t high, mid, low;	/* per mille */
};

struct ml_damos {
	struct ml_damos_pattern pattern;
	enum ml_damos_action action;
	uint64_t apply_interval_us;	/* 0: the aggregation interval */
	struct ml_damos_quota quota;
	struct ml_damos_wmarks wmarks;
};

/* Per-scheme statistics (struct damos_stat). */
struct ml_damos_stat {
	uint64_t nr_tried;
	uint64_t sz_tried;
	uint64_t nr_applied;
	uint64_t sz_applied;
	uint64_t qt_exceeds;
};

/* A scheme that matches everything and does @action, no quota, no
 * watermarks (what the kernel's sysfs starts a scheme with). */
void ml_damos_init(struct ml_damos *s, enum ml_damos_action action);

/*
 * Parse a scheme spec (memlens damon monitor --scheme):
 *
 *   ACTION[:KEY=VALUE[,KEY=VALUE]...]
 *
 * ACTION is stat, cold, pageout, willneed, collapse, hugepage, nohugepage.
 * Ranges are MIN-MAX, inclusive; "max" is unlimited.
 *   sz=MIN-MAX       region size (K, M, G, T)
 *   nr=MIN-MAX       nr_accesses per aggregation
 *   freq=MIN-MAX     the same in percent of the maximum (0-100)
 *   age=MIN-MAX      aggregation intervals, or times (100ms, 5s)
 *   quota=SIZE[/T]   bytes per reset interval T (default 1s)
 *   quota_ms=MS[/T]  apply time per reset interval
 *   weights=S:F:A    quota weights for size, frequency, age (0:1:1)
 *   wmarks=H:M:L[/T] free memory per mille, checked every T (5s)
 *   apply=T          apply interval (default: the aggregation interval)
 *
 * freq and time-valued age need @attrs (the context's) to convert.
 * -EINVAL with *@err describing what is wrong.
 */
int ml_damos_parse(const char *spec, const struct ml_damon_attrs *attrs,
		   struct ml_damos *out, const char **err);

/* Add a scheme to @ctx (before the first step); its index, or -errno. */
int ml_damon_add_scheme(struct ml_damon_ctx *ctx, const struct ml_damos *s);
size_t ml_damon_nr_schemes(const struct ml_damon_ctx *ctx);
int ml_damon_scheme_stat(const struct ml_damon_ctx *ctx, size_t idx,
			 struct ml_damos_stat *st);
/* Whether the scheme's watermarks let it run now. */
bool ml_damon_scheme_active(const struct ml_damon_ctx *ctx, size_t idx);
/*
 * Where watermark metrics come from: @fn fills *@permille for @metric.
 * Default: /proc/meminfo under @proc_root of ml_damon_set_proc_root()
 * ("/proc"). Tests and sim runs set their own.
 */
typedef int (*ml_damos_metric_fn)(enum ml_damos_wmark_metric metric,
				  uint32_t *permille, void *arg);
void ml_damon_set_metric_fn(struct ml_damon_ctx *ctx, ml_damos_metric_fn fn,
			    void *arg);
int ml_damon_set_proc_root(struct ml_damon_ctx *ctx, const char *proc_root);

/*
 * Apply @action to [@start, @end) of process @pid for sources' apply():
 * process_madvise() through a pidfd for another process (cold, pageout,
 * willneed, collapse), madvise() when @pid is 0 or the caller (every
 * action). *@applied gets the bytes advised. -EOPNOTSUPP for hugepage or
 * nohugepage on another process (no process_madvise for them), 0 and
 * nothing applied for stat.
 */
int ml_damos_madvise(pid_t pid, int action, uint64_t start, uint64_t end,
		     uint64_t *applied);

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
extern const struct ml_damon_ops ml_damon_wp_ops;
extern const struct ml_damon_ops ml_damon_softdirty_ops;
extern const struct ml_damon_ops ml_damon_idle_ops;

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
	uint64_t nr_settled;		/* settle() calls (cold regions armed) */
	uint64_t nr_bytes_settled;	/* what they covered, bytes */
	uint64_t nr_skipped;		/* sampled pages outside registered
					 * mappings: no syscall */
};

/* @state: a wp source's state from its init(). 0 or -EINVAL. */
int ml_damon_wp_stats(const void *state, struct ml_damon_wp_stats *out);

/* ---- the agent: wp inside an unmodified program ------------------------- */

/*
 * libmemlens-damon.so, preloaded into a program (LD_PRELOAD), runs a
 * monitoring context with the wp source on a thread of its own inside the
 * program and publishes each aggregation's snapshot in shared memory that
 * memlens reads through /proc/PID/mem without stopping the program
 * (lib/damon/agent.h has the layout). Its environment:
 *
 *   MEMLENS_DAMON_ATTRS    "SAMPLE_US,AGGR_US,UPDATE_US,MIN,MAX" (default:
 *                          5000,100000,1000000,10,1000: the kernel's, but
 *                          the program's layout is read every second, as
 *                          it maps its memory after the agent starts)
 *   MEMLENS_DAMON_SEED     the context's PRNG seed (default: from the pid)
 *   MEMLENS_DAMON_SCHEMES  scheme specs (ml_damos_parse), one per line
 */
struct ml_proc;

#define ML_DAMON_AGENT_ENV_ATTRS "MEMLENS_DAMON_ATTRS"
#define ML_DAMON_AGENT_ENV_SEED "MEMLENS_DAMON_SEED"
#define ML_DAMON_AGENT_ENV_SCHEMES "MEMLENS_DAMON_SCHEMES"
/* schemes an agent runs and publishes statistics for, at most */
#define ML_DAMON_AGENT_MAX_SCHEMES 16

enum ml_damon_agent_state {
	ML_DAMON_AGENT_STARTING,	/* no snapshot yet */
	ML_DAMON_AGENT_RUNNING,
	ML_DAMON_AGENT_STOPPED,		/* monitoring ended (error says why) */
	ML_DAMON_AGENT_FAILED,		/* could not start (error, why) */
};

/* What an agent published last, as the reader copied it. */
struct ml_damon_agent_snap {
	enum ml_damon_agent_state state;
	int error;			/* negative errno, or 0 */
	char ops[16];
	char why[96];			/* with FAILED */
	struct ml_damon_attrs attrs;
	uint64_t nr_snapshots;		/* aggregations published so far */
	/* the last one; its regions live in this struct's buffer */
	struct ml_damon_snapshot snap;
	struct ml_damon_region *buf;
	size_t buf_cap;
	/* the statistics of the schemes the agent applies, in their order */
	size_t nr_schemes;
	struct ml_damos_stat schemes[ML_DAMON_AGENT_MAX_SCHEMES];
	bool scheme_active[ML_DAMON_AGENT_MAX_SCHEMES];
};

/*
 * Parse a copy of an agent's memory (header, then the regions at the
 * offset the header gives; @len bytes) into @out, as hostile input: every
 * offset, count, bound and order is checked. Returns 0, -EINVAL for
 * anything malformed, -EAGAIN when the copy was taken mid-write (odd
 * seq), -ENOMEM. @out's buffer is reused across calls.
 */
int ml_damon_agent_parse(const void *buf, size_t len,
			 struct ml_damon_agent_snap *out);

/*
 * Read the snapshot the agent in process @pid published last: find its
 * mapping in maps, copy it through /proc/PID/mem under the sequence
 * counter (retrying a bounded number of times), parse it. Returns 0,
 * -ENOENT when @pid runs no agent (or only one inherited across fork),
 * -ESRCH when @pid is gone, -EACCES without ptrace access, -EAGAIN when
 * no consistent copy could be had, -EINVAL for a malformed one.
 */
int ml_damon_agent_read(struct ml_proc *p, pid_t pid,
			struct ml_damon_agent_snap *out);
void ml_damon_agent_snap_free(struct ml_damon_agent_snap *s);

#ifdef __cplusplus
}
#endif

#endif /* MEMLENS_DAMON_H */
