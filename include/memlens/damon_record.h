/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlens/damon_record.h - DAMON recordings: every aggregation's regions in
 * an SQLite database, and the reader that iterates them in time order.
 *
 * The file (schema version ML_DAMON_REC_SCHEMA, PRAGMA user_version;
 * PRAGMA application_id ML_DAMON_REC_APP_ID) has three tables:
 *
 *   recording         one row: when and how the recording was made
 *                     (access source, intervals, region bounds, target pid
 *                     and command) and how it ended (NULL while recording,
 *                     or when the recorder was killed)
 *   snapshot          one row per aggregation and target: time, target,
 *                     pid, max_nr_accesses, nr_regions, total_bytes and
 *                     wss_bytes (derived, for plain SQL), the mapped
 *                     ranges as a packed blob
 *   snapshot_regions  the regions of each snapshot as a packed blob
 *
 * Regions are a blob per snapshot, not a row each: a one-hour recording at
 * 100 ms with 1,000 regions is 36 million regions, which SQLite steps
 * through at ~150 ns a row (5 s) but which decode from blobs at ~10 ns;
 * and inserting a thousand rows costs ten times one blob. The blob format
 * is in the README: format byte (1), shift byte s, then per region the
 * unsigned LEB128 varints (start - previous end) >> s, (end - start) >> s,
 * nr_accesses, age; ranges the same without the last two.
 *
 * Writing: each aggregation (all its targets' snapshots) is one
 * transaction in WAL mode with synchronous=NORMAL, so a recorder killed at
 * any point leaves a file with every aggregation but the one under way; a
 * clean end checkpoints and returns to one self-contained file
 * (journal_mode=DELETE). The writer holds the file (exclusive locking)
 * until it is freed: readers get -EBUSY meanwhile.
 *
 * Errors are negative errno values; these mean something specific here
 * (ml_damon_rec_strerror() words them):
 *   -EMEDIUMTYPE      not a memlens recording (another SQLite file, empty)
 *   -EBADMSG          corrupted or truncated
 *   -EPROTONOSUPPORT  written by a newer memlens (a newer schema)
 *   -ENODATA          the recording has no aggregation (reports)
 *   -EFBIG            writing would pass the size bound: nothing written
 *   -ENOSPC           the disk is full: this aggregation was not written
 *   -EEXIST           the output exists and overwrite was not asked
 *   -EBUSY            a recorder is writing the file (it holds it)
 */
#ifndef MEMLENS_DAMON_RECORD_H
#define MEMLENS_DAMON_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <memlens/damon.h>
#include <memlens/proc.h> /* ML_OPTS */

#ifdef __cplusplus
extern "C" {
#endif

#define ML_DAMON_REC_SCHEMA 1
#define ML_DAMON_REC_APP_ID 0x4d4c4452 /* "MLDR" */

/* Why a recording ended, stored as the keyword in recording.end_reason. */
enum ml_damon_rec_end {
	ML_DAMON_REC_END_DURATION,	/* "duration": the asked duration passed */
	ML_DAMON_REC_END_TARGET_EXITED,	/* "target-exited" */
	ML_DAMON_REC_END_MAX_SIZE,	/* "max-size": the next one would not fit */
	ML_DAMON_REC_END_SIGNAL,	/* "signal": interrupted (SIGINT, SIGTERM) */
	ML_DAMON_REC_END_SOURCE_DONE,	/* "source-done": nothing more to monitor */
	ML_DAMON_REC_END_DISK_FULL,	/* "disk-full" */
	ML_DAMON_REC_END_ERROR,		/* "error": see end_detail */
	ML_DAMON_REC_END__NR,
};

/* The keyword of @end ("duration", ...), or NULL. */
const char *ml_damon_rec_end_str(enum ml_damon_rec_end end);

/* The recording row: how it was made, and how it ended. */
struct ml_damon_rec_info {
	const char *ops;		/* access source: "sim", "kernel:vaddr" ... */
	uint64_t sample_us;
	uint64_t aggr_us;
	uint64_t update_us;		/* ops update interval */
	uint32_t min_nr_regions;
	uint32_t max_nr_regions;
	pid_t pid;			/* 0: none (synthetic, physical) */
	const char *command;		/* NULL: none */
	uint64_t max_size_bytes;	/* 0: unbounded */
	/* filled by the writer and read back, not taken from callers */
	int64_t started_us;		/* wall clock, Unix epoch */
	int64_t ended_us;		/* -1: not ended (recording, or killed) */
	const char *end_reason;		/* keyword, NULL when not ended */
	const char *end_detail;		/* words, may be NULL */
	const char *memlens_version;
	uint32_t schema_version;
};

/* ---- writing ----------------------------------------------------------- */

struct ml_damon_rec_writer;

struct ml_damon_rec_opts {
	size_t sz;		/* sizeof(struct ml_damon_rec_opts) */
	bool overwrite;		/* replace an existing file (else -EEXIST) */
	/* the database never grows past this (0: unbounded); the WAL may add
	 * up to 4 MiB while recording, none once ended */
	uint64_t max_size_bytes;
};
#define ml_damon_rec_opts__last_field max_size_bytes

/*
 * Create the recording @path described by @info (ops, intervals, pid,
 * command; the rest is filled here). Returns 0 and *@out, or a negative
 * errno (-EEXIST, -EACCES, -ENOSPC ...).
 */
int ml_damon_rec_create(const char *path, const struct ml_damon_rec_info *info,
			const struct ml_damon_rec_opts *opts,
			struct ml_damon_rec_writer **out);

/*
 * Write one aggregation: its @nr snapshots (one per target) in one
 * transaction. Snapshots must have sorted, disjoint, non-empty regions,
 * and time must not go back (-EINVAL). Returns 0; -EFBIG when it would
 * pass max_size_bytes, -ENOSPC when the disk is full (nothing of it is
 * written either way, everything before stays); -EIO.
 */
int ml_damon_rec_write(struct ml_damon_rec_writer *w,
		       const struct ml_damon_snapshot *snaps, size_t nr);

/* Aggregations written, and the database's size in bytes now. */
uint64_t ml_damon_rec_nr_written(const struct ml_damon_rec_writer *w);
uint64_t ml_damon_rec_size_bytes(const struct ml_damon_rec_writer *w);

/*
 * Store why the recording ended (@detail: words for people, may be NULL)
 * and make the file self-contained (checkpoint, journal_mode=DELETE).
 * Returns 0, or a negative errno when the reason could not be stored
 * (-ENOSPC): the aggregations written stay readable either way.
 */
int ml_damon_rec_end(struct ml_damon_rec_writer *w, enum ml_damon_rec_end why,
		     const char *detail);

/* Close (without ml_damon_rec_end(): as a killed recorder leaves it). */
void ml_damon_rec_writer_free(struct ml_damon_rec_writer *w);

/* ---- reading ----------------------------------------------------------- */

struct ml_damon_rec;

/* Open @path read-only. Errors as in the file comment, and -ENOENT. */
int ml_damon_rec_open(const char *path, struct ml_damon_rec **out);
/* The same on a database image in memory (not copied; must outlive it). */
int ml_damon_rec_open_mem(const void *buf, size_t len,
			  struct ml_damon_rec **out);
void ml_damon_rec_close(struct ml_damon_rec *r);

const struct ml_damon_rec_info *ml_damon_rec_info(const struct ml_damon_rec *r);

/* What the whole recording holds (one query). */
struct ml_damon_rec_stats {
	uint64_t nr_snapshots;
	uint64_t first_us;	/* time_us of the first and the last */
	uint64_t last_us;
	uint32_t nr_targets;	/* distinct target_id */
	uint32_t min_target_id;
	uint32_t max_target_id;
};
int ml_damon_rec_stats(struct ml_damon_rec *r, struct ml_damon_rec_stats *st);

/* A snapshot as read back: the contract's struct, and derived figures. */
struct ml_damon_rec_snapshot {
	struct ml_damon_snapshot s;	/* regions: NULL unless asked for */
	uint64_t id;			/* 1, 2, ... in recording order */
	uint64_t total_bytes;		/* sum of region sizes */
	uint64_t wss_bytes;		/* bytes of regions with nr_accesses > 0 */
	/* the mapped ranges (adjacent regions joined), when asked for */
	const struct ml_damon_range *ranges;
	size_t nr_ranges;
};

/* What to read per snapshot, besides the figures (always read). */
#define ML_DAMON_REC_REGIONS	(1u << 0)
#define ML_DAMON_REC_RANGES	(1u << 1)

struct ml_damon_rec_iter_opts {
	size_t sz;		/* sizeof(struct ml_damon_rec_iter_opts) */
	uint32_t what;		/* ML_DAMON_REC_REGIONS | _RANGES */
	int target_id;		/* -1 or an id: only that target */
	uint64_t from_us;	/* time_us window, inclusive; to_us 0: no end */
	uint64_t to_us;
};
#define ml_damon_rec_iter_opts__last_field to_us

/*
 * Start iterating over the snapshots in recording (= time) order; @opts
 * NULL: every snapshot with its regions. One iteration at a time per
 * reader: starting another ends the previous one.
 */
int ml_damon_rec_iter(struct ml_damon_rec *r,
		      const struct ml_damon_rec_iter_opts *opts);
/*
 * The next snapshot: 1 and *@out (valid until the next call), 0 at the
 * end, or a negative errno (-EBADMSG: a blob or row fails validation).
 */
int ml_damon_rec_next(struct ml_damon_rec *r,
		      const struct ml_damon_rec_snapshot **out);

#define ml_damon_rec_for_each(r, snap, err) \
	while (((err) = ml_damon_rec_next((r), &(snap))) > 0)

/* Words for the codes above and for any errno. */
const char *ml_damon_rec_strerror(int err);

/* ---- the packed blobs (exposed for tests and fuzzing) ------------------- */

/*
 * Encode @nr regions (or, with @regions NULL, @nr @ranges) into @buf of
 * @cap bytes. Returns the length, or -ENOBUFS (ML_DAMON_REC_BLOB_MAX(nr)
 * bytes always suffice).
 */
#define ML_DAMON_REC_BLOB_MAX(nr) (2 + (size_t)(nr) * 40)
ssize_t ml_damon_rec_encode(const struct ml_damon_region *regions,
			    const struct ml_damon_range *ranges, size_t nr,
			    uint8_t *buf, size_t cap);
/*
 * Decode a blob of exactly @nr regions (or ranges, with @regions NULL)
 * into the caller's array. -EBADMSG when the bytes are not such a blob.
 */
int ml_damon_rec_decode(const uint8_t *blob, size_t len, size_t nr,
			struct ml_damon_region *regions,
			struct ml_damon_range *ranges);

#ifdef __cplusplus
}
#endif

#endif /* MEMLENS_DAMON_RECORD_H */
