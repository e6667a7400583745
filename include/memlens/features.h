/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/features.h - which kernel features this machine offers memlens,
 * read live, and what memlens falls back to for each one missing.
 *
 * File probes (sysfs and procfs files) read through the ml_proc's proc and
 * sys roots, so they run the same on fake trees in tests. Live probes (the
 * ioctls on our own maps and pagemap, prctl, userfaultfd, soft-dirty) test
 * the running kernel on the calling process; those that go through procfs
 * are skipped, state UNKNOWN, when the proc root is not a live procfs.
 *
 * Nothing here ever writes sysfs: a DAMON monitor found running may belong
 * to someone else, and is only read.
 */
#ifndef MEMLENS_FEATURES_H
#define MEMLENS_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memlens/proc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- features ------------------------------------------------------------ */

enum ml_feature_id {
	ML_FEATURE_PROCMAP_QUERY,   /* ioctl on /proc/PID/maps, 6.11+ */
	ML_FEATURE_ANON_VMA_NAME,   /* PR_SET_VMA_ANON_NAME, CONFIG_ANON_VMA_NAME */
	ML_FEATURE_PAGEMAP_PFN,     /* PFNs in pagemap: CAP_SYS_ADMIN */
	ML_FEATURE_KPAGEFLAGS,      /* /proc/kpageflags readable */
	ML_FEATURE_KPAGECOUNT,      /* /proc/kpagecount readable */
	ML_FEATURE_PAGEMAP_SCAN,    /* ioctl on /proc/PID/pagemap, 6.7+ */
	ML_FEATURE_UFFD_WP_ASYNC,   /* userfaultfd UFFD_FEATURE_WP_ASYNC, 6.7+ */
	ML_FEATURE_SOFT_DIRTY,      /* pagemap bit 55, CONFIG_MEM_SOFT_DIRTY */
	ML_FEATURE_PAGE_IDLE,       /* CONFIG_IDLE_PAGE_TRACKING */
	ML_FEATURE_DAMON,           /* DAMON sysfs, 5.18+ */
	ML_FEATURE_THP,             /* transparent huge pages */
	ML_FEATURE_MTHP,            /* multi-size THP, 6.8+ */
	ML_FEATURE_ALLOC_PROFILING, /* /proc/allocinfo, 6.10+ */
	ML_FEATURE_SWAP,            /* swap areas in /proc/swaps */
	/* DAMON access sources (memlens damon --ops), from the above */
	ML_FEATURE_DAMON_OPS_WP,        /* PAGEMAP_SCAN + uffd WP_ASYNC */
	ML_FEATURE_DAMON_OPS_SOFTDIRTY, /* soft-dirty */
	ML_FEATURE_DAMON_OPS_IDLE,      /* page_idle + pagemap PFNs */
	ML_FEATURE__COUNT,
};

enum ml_feature_state {
	ML_FEAT_UNKNOWN,       /* the probe could not tell (see detail) */
	ML_FEAT_YES,
	ML_FEAT_NO,            /* this kernel lacks it */
	ML_FEAT_NO_PERMISSION, /* the kernel has it, this process may not use it */
};

#define ML_FEATURE_DETAIL_MAX 192

struct ml_feature {
	enum ml_feature_id id;
	const char *key;  /* stable identifier: "procmap_query" */
	const char *name; /* for people: "PROCMAP_QUERY" */
	enum ml_feature_state state;
	int err; /* negative errno behind a NO/NO_PERMISSION/UNKNOWN, or 0 */
	/* what was found: "ENOTTY: kernel older than 6.11", a mode, a count */
	char detail[ML_FEATURE_DETAIL_MAX];
	/* what memlens does when the state is not YES; never NULL */
	const char *fallback;
};

/* ---- transparent huge pages ---------------------------------------------- */

enum ml_thp_mode {
	ML_THP_UNKNOWN, /* not read */
	ML_THP_ALWAYS,
	ML_THP_MADVISE,
	ML_THP_NEVER,
	ML_THP_INHERIT, /* mTHP sizes only: follow the top-level setting */
	ML_THP_OTHER,   /* a word this library does not know yet */
};

/* What a size set to @mode does when the top-level setting is @top. */
static inline enum ml_thp_mode ml_thp_effective(enum ml_thp_mode mode,
						enum ml_thp_mode top)
{
	return mode == ML_THP_INHERIT ? top : mode;
}

/* One hugepages-<N>kB directory of transparent_hugepage. */
struct ml_mthp_size {
	uint64_t size_bytes;
	enum ml_thp_mode mode; /* ML_THP_UNKNOWN when its enabled file failed */
};

/* Largest page size (256M with 64K base pages) needs 13; room to spare. */
#define ML_MTHP_MAX 32

/* /proc/swaps, summed. */
struct ml_swaps {
	uint32_t nr_areas;
	uint64_t size_bytes;
	uint64_t used_bytes;
};

/* ---- the probe ----------------------------------------------------------- */

struct ml_features {
	struct ml_feature f[ML_FEATURE__COUNT]; /* indexed by enum ml_feature_id */
	/* what the file probes parsed, for callers that want more than text */
	enum ml_thp_mode thp_mode;
	struct ml_mthp_size mthp[ML_MTHP_MAX]; /* ascending by size */
	uint32_t nr_mthp;
	uint32_t nr_kdamonds;
	uint32_t nr_kdamonds_on;
	struct ml_swaps swaps;
};

/*
 * Probe every feature into @out, one entry per enum ml_feature_id. A feature
 * that cannot be probed is recorded in its entry (state UNKNOWN, err set),
 * never returned.
 *
 * Side effects, all on the calling process: a few private anonymous pages
 * are mapped and unmapped, a userfaultfd is opened and closed, and the
 * soft-dirty bits of the whole process are cleared (by writing "4" to
 * <proc_root>/self/clear_refs), which a caller tracking its own soft-dirty
 * pages must not have in flight. Nothing else is written.
 *
 * Returns 0, or -EINVAL when an argument is NULL.
 */
int ml_features_probe(struct ml_proc *p, struct ml_features *out);

/*
 * Probe one feature (and the few it is derived from) into @out, with the
 * same side effects as ml_features_probe() has for it. Returns 0, -EINVAL
 * for a bad argument, -ENOMEM.
 */
int ml_features_probe_one(struct ml_proc *p, enum ml_feature_id id,
			  struct ml_feature *out);

/* "yes", "no", "no_permission", "unknown". */
const char *ml_feature_state_name(enum ml_feature_state s);

/* ---- parsers (exposed for tests and fuzzing) ----------------------------- */

/*
 * Parse a THP "enabled" file: words separated by blanks, the selected one in
 * brackets ("always [madvise] never\n"). Returns 0 and sets *@mode
 * (ML_THP_OTHER for an unknown word), or -EINVAL unless exactly one word is
 * bracketed.
 */
int ml_thp_mode_parse(const char *text, size_t len, enum ml_thp_mode *mode);

/* "always", "madvise", "never", "inherit", "other" or "unknown". */
const char *ml_thp_mode_name(enum ml_thp_mode mode);

/*
 * The size named by a transparent_hugepage directory, "hugepages-<N>kB",
 * in bytes. Returns 0 or -EINVAL for any other name (or N == 0, overflow).
 */
int ml_mthp_dir_size(const char *name, uint64_t *size_bytes);

/*
 * Parse /proc/swaps: a header line, then one line per area with the
 * filename, type, size (kB), used (kB) and priority. Returns 0, or -EINVAL
 * when the header or a line is malformed.
 */
int ml_swaps_parse(const char *text, size_t len, struct ml_swaps *out);

#ifdef __cplusplus
}
#endif
#endif /* MEMLENS_FEATURES_H */
