// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writing a DAMON recording (damon_record.h): the schema, one transaction
 * per aggregation, the size bound, and a clean end.
 *
 * Journal mode: WAL, synchronous=NORMAL. A commit is then one sequential
 * append of the changed pages to the -wal file with no fsync (a rollback
 * journal writes each page twice and creates and deletes the journal
 * every transaction, ten times per second here). A committed transaction
 * is in the kernel's page cache once write() returns, so a killed recorder
 * loses nothing committed; only a power cut can take the last few
 * aggregations (never the file's consistency). At the end the WAL is
 * checkpointed and the file returns to journal_mode=DELETE: one
 * self-contained file to copy or mail.
 *
 * locking_mode=EXCLUSIVE: the recorder takes the file for itself, so a
 * commit needs no file locks and no shared-memory index (six fcntl() and
 * a third of a commit's cost); the price is that a report waits for the
 * recording to end (-EBUSY meanwhile). After a SIGKILL the next opener
 * rebuilds the index from the -wal file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <memlens/damon_record.h>

#include "../util/util.h"
#include "rec_internal.h"

#define PAGE_SIZE_BYTES 4096
/* the WAL is checkpointed every 1000 pages by default; keep it near that */
#define WAL_LIMIT_BYTES (4u << 20)

struct ml_damon_rec_writer {
	sqlite3 *db;
	sqlite3_stmt *insert, *insert_regions;
	sqlite3_stmt *begin, *commit;
	sqlite3_stmt *page_count;
	uint64_t max_size_bytes;
	uint64_t nr_written;
	uint64_t last_time_us;
	bool ended;
	uint8_t *regions_buf, *ranges_buf;
	size_t regions_cap, ranges_cap;
	struct ml_damon_range *ranges;
	size_t ranges_arr_cap;
};

static const char *const end_words[ML_DAMON_REC_END__NR] = {
	[ML_DAMON_REC_END_DURATION] = "duration",
	[ML_DAMON_REC_END_TARGET_EXITED] = "target-exited",
	[ML_DAMON_REC_END_MAX_SIZE] = "max-size",
	[ML_DAMON_REC_END_SIGNAL] = "signal",
	[ML_DAMON_REC_END_SOURCE_DONE] = "source-done",
	[ML_DAMON_REC_END_DISK_FULL] = "disk-full",
	[ML_DAMON_REC_END_ERROR] = "error",
};

const char *ml_damon_rec_end_str(enum ml_damon_rec_end end)
{
	return (unsigned)end < ML_DAMON_REC_END__NR ? end_words[end] : NULL;
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
	return rec_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* A stale -wal beside a new database would be replayed into it. */
static int remove_old(const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm", "-journal", "" };
	char name[4096];

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path,
				     suffixes[i]) >= sizeof(name))
			return -ENAMETOOLONG;
		if (unlink(name) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

static int insert_info(sqlite3 *db, const struct ml_damon_rec_info *info,
		       uint64_t max_size_bytes)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db,
		"INSERT INTO recording (id, started_us, ops, sample_us, aggr_us,"
		" update_us, min_nr_regions, max_nr_regions, pid, command,"
		" max_size_bytes, memlens_version)"
		" VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rec_errno(rc);
	sqlite3_bind_int64(st, 1, wall_us());
	sqlite3_bind_text(st, 2, info->ops ? info->ops : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)info->sample_us);
	sqlite3_bind_int64(st, 4, (int64_t)info->aggr_us);
	sqlite3_bind_int64(st, 5, (int64_t)info->update_us);
	sqlite3_bind_int64(st, 6, info->min_nr_regions);
	sqlite3_bind_int64(st, 7, info->max_nr_regions);
	if (info->pid > 0)
		sqlite3_bind_int64(st, 8, info->pid);
	if (info->command)
		sqlite3_bind_text(st, 9, info->command, -1, SQLITE_STATIC);
	if (max_size_bytes)
		sqlite3_bind_int64(st, 10, (int64_t)max_size_bytes);
	sqlite3_bind_text(st, 11, MEMLENS_VERSION, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rec_errno(rc);
}

static int setup(struct ml_damon_rec_writer *w,
		 const struct ml_damon_rec_info *info)
{
	char sql[256];
	int err;

	snprintf(sql, sizeof(sql),
		 "PRAGMA page_size = %d;"
		 "PRAGMA application_id = %d;"
		 "PRAGMA user_version = %d;"
		 /* before WAL: then the WAL index lives in our heap */
		 "PRAGMA locking_mode = EXCLUSIVE;"
		 "PRAGMA journal_mode = WAL;"
		 "PRAGMA synchronous = NORMAL;"
		 "PRAGMA journal_size_limit = %u;",
		 PAGE_SIZE_BYTES, ML_DAMON_REC_APP_ID, ML_DAMON_REC_SCHEMA,
		 WAL_LIMIT_BYTES);
	err = exec_sql(w->db, sql);
	if (err)
		return err;
	if (w->max_size_bytes) {
		/* the backstop; write() checks before each aggregation */
		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %llu;",
			 (unsigned long long)(w->max_size_bytes /
					      PAGE_SIZE_BYTES));
		err = exec_sql(w->db, sql);
		if (err)
			return err;
	}
	err = exec_sql(w->db, "BEGIN;" REC_SCHEMA_SQL);
	if (!err)
		err = insert_info(w->db, info, w->max_size_bytes);
	if (!err)
		err = exec_sql(w->db, "COMMIT");
	if (err) {
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	if (sqlite3_prepare_v2(w->db,
		"INSERT INTO snapshot (time_us, target_id, pid, max_nr_accesses,"
		" nr_regions, total_bytes, wss_bytes, nr_ranges, ranges)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &w->insert,
		NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "INSERT INTO snapshot_regions (id, regions)"
			       " VALUES (last_insert_rowid(), ?)", -1,
			       &w->insert_regions, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "BEGIN", -1, &w->begin, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "COMMIT", -1, &w->commit, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "PRAGMA page_count", -1, &w->page_count,
			       NULL) != SQLITE_OK)
		return rec_errno(sqlite3_errcode(w->db));
	return 0;
}

int ml_damon_rec_create(const char *path, const struct ml_damon_rec_info *info,
			const struct ml_damon_rec_opts *opts,
			struct ml_damon_rec_writer **out)
{
	struct ml_damon_rec_writer *w;
	struct stat st;
	int err, fd;

	*out = NULL;
	if (!path || !info)
		return -EINVAL;
	if (OPT(opts, overwrite, false)) {
		err = remove_old(path);
		if (err)
			return err;
	} else if (stat(path, &st) == 0) {
		return -EEXIST;
	}
	/* create it ourselves: the errno is the real one, and O_EXCL */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->max_size_bytes = OPT(opts, max_size_bytes, 0);
	if (w->max_size_bytes && w->max_size_bytes < 4 * PAGE_SIZE_BYTES) {
		err = -EFBIG;	/* not even the schema fits */
		goto fail;
	}
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		err = w->db ? rec_errno(sqlite3_errcode(w->db)) : -ENOMEM;
		goto fail;
	}
	sqlite3_extended_result_codes(w->db, 1);
	err = setup(w, info);
	if (err)
		goto fail;
	*out = w;
	return 0;
fail:
	ml_damon_rec_writer_free(w);
	unlink(path);
	return err;
}

/* ---- one aggregation ------------------------------------------------------ */

static int check_snapshot(const struct ml_damon_snapshot *s)
{
	if (s->nr_regions && !s->regions)
		return -EINVAL;
	for (size_t i = 0; i < s->nr_regions; i++) {
		const struct ml_damon_region *r = &s->regions[i];

		if (r->start >= r->end)
			return -EINVAL;
		if (i && r->start < s->regions[i - 1].end)
			return -EINVAL;
	}
	return 0;
}

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (*cap >= need)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/* Join touching regions into ranges: what was mapped, for the heatmap. */
static int make_ranges(struct ml_damon_rec_writer *w,
		       const struct ml_damon_snapshot *s, size_t *nr)
{
	size_t n = 0;

	if (w->ranges_arr_cap < s->nr_regions) {
		struct ml_damon_range *p;

		p = realloc(w->ranges, s->nr_regions * sizeof(*p));
		if (!p)
			return -ENOMEM;
		w->ranges = p;
		w->ranges_arr_cap = s->nr_regions;
	}
	for (size_t i = 0; i < s->nr_regions; i++) {
		const struct ml_damon_region *r = &s->regions[i];

		if (n && w->ranges[n - 1].end == r->start)
			w->ranges[n - 1].end = r->end;
		else
			w->ranges[n++] = (struct ml_damon_range){ r->start,
								  r->end };
	}
	*nr = n;
	return 0;
}

static int insert_snapshot(struct ml_damon_rec_writer *w,
			   const struct ml_damon_snapshot *s, size_t *bytes)
{
	uint64_t total = 0, wss = 0;
	ssize_t regions_len, ranges_len;
	size_t nr_ranges;
	sqlite3_stmt *st = w->insert;
	int err, rc;

	for (size_t i = 0; i < s->nr_regions; i++) {
		uint64_t sz = s->regions[i].end - s->regions[i].start;

		total += sz;
		if (s->regions[i].nr_accesses)
			wss += sz;
	}
	err = make_ranges(w, s, &nr_ranges);
	if (!err)
		err = reserve(&w->regions_buf, &w->regions_cap,
			      ML_DAMON_REC_BLOB_MAX(s->nr_regions));
	if (!err)
		err = reserve(&w->ranges_buf, &w->ranges_cap,
			      ML_DAMON_REC_BLOB_MAX(nr_ranges));
	if (err)
		return err;
	regions_len = ml_damon_rec_encode(s->regions, NULL, s->nr_regions,
					  w->regions_buf, w->regions_cap);
	ranges_len = ml_damon_rec_encode(NULL, w->ranges, nr_ranges,
					 w->ranges_buf, w->ranges_cap);
	if (regions_len < 0 || ranges_len < 0)
		return -ENOBUFS;
	*bytes += (size_t)(regions_len + ranges_len) + 64;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, (int64_t)s->time_us);
	sqlite3_bind_int64(st, 2, s->target_id);
	sqlite3_bind_int64(st, 3, s->pid);
	sqlite3_bind_int64(st, 4, s->max_nr_accesses);
	sqlite3_bind_int64(st, 5, (int64_t)s->nr_regions);
	sqlite3_bind_int64(st, 6, (int64_t)total);
	sqlite3_bind_int64(st, 7, (int64_t)wss);
	sqlite3_bind_int64(st, 8, (int64_t)nr_ranges);
	sqlite3_bind_blob(st, 9, w->ranges_buf, (int)ranges_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return rec_errno(rc);
	st = w->insert_regions;
	sqlite3_bind_blob(st, 1, w->regions_buf, (int)regions_len,
			  SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : rec_errno(rc);
}

static uint64_t db_pages(struct ml_damon_rec_writer *w)
{
	uint64_t n = 0;

	sqlite3_reset(w->page_count);
	if (sqlite3_step(w->page_count) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(w->page_count, 0);
	sqlite3_reset(w->page_count);
	return n;
}

uint64_t ml_damon_rec_size_bytes(const struct ml_damon_rec_writer *w)
{
	return db_pages((struct ml_damon_rec_writer *)w) * PAGE_SIZE_BYTES;
}

uint64_t ml_damon_rec_nr_written(const struct ml_damon_rec_writer *w)
{
	return w->nr_written;
}

/*
 * Past the bound? Inside a transaction page_count includes its pages, so
 * this is exact after the inserts; after a rollback, @payload bytes to
 * come take about one page per (page - overhead) bytes, two more when a
 * b-tree page splits.
 */
static bool past_bound(struct ml_damon_rec_writer *w, size_t payload)
{
	uint64_t pages = payload ? payload / (PAGE_SIZE_BYTES - 64) + 2 : 0;

	return (db_pages(w) + pages) * PAGE_SIZE_BYTES > w->max_size_bytes;
}

static int step_once(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc;
}

int ml_damon_rec_write(struct ml_damon_rec_writer *w,
		       const struct ml_damon_snapshot *snaps, size_t nr)
{
	size_t bytes = 0;
	int err, rc;

	if (w->ended)
		return -EINVAL;
	for (size_t i = 0; i < nr; i++) {
		err = check_snapshot(&snaps[i]);
		if (err)
			return err;
		if (snaps[i].time_us < (i ? snaps[i - 1].time_us :
					   w->last_time_us))
			return -EINVAL;
	}
	rc = step_once(w->begin);
	if (rc != SQLITE_DONE)
		return rec_errno(rc);
	for (size_t i = 0; i < nr; i++) {
		err = insert_snapshot(w, &snaps[i], &bytes);
		if (err)
			goto rollback;
	}
	if (w->max_size_bytes && past_bound(w, 0)) {
		err = -EFBIG;
		goto rollback;
	}
	rc = step_once(w->commit);
	if (rc != SQLITE_DONE) {
		err = rec_errno(rc);
		goto rollback;
	}
	w->nr_written++;
	if (nr)
		w->last_time_us = snaps[nr - 1].time_us;
	return 0;
rollback:
	sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
	/* SQLITE_FULL is a full disk, or max_page_count (the backstop) */
	if (err == -ENOSPC && w->max_size_bytes && past_bound(w, bytes))
		err = -EFBIG;
	return err;
}

/* ---- the end ---------------------------------------------------------------- */

int ml_damon_rec_end(struct ml_damon_rec_writer *w, enum ml_damon_rec_end why,
		     const char *detail)
{
	sqlite3_stmt *st;
	int rc, err;

	if (w->ended)
		return -EINVAL;
	if (!ml_damon_rec_end_str(why))
		return -EINVAL;
	rc = sqlite3_prepare_v2(w->db,
		"UPDATE recording SET ended_us = ?, end_reason = ?,"
		" end_detail = ? WHERE id = 1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rec_errno(rc);
	sqlite3_bind_int64(st, 1, wall_us());
	sqlite3_bind_text(st, 2, ml_damon_rec_end_str(why), -1, SQLITE_STATIC);
	if (detail)
		sqlite3_bind_text(st, 3, detail, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	err = rc == SQLITE_DONE ? 0 : rec_errno(rc);
	w->ended = true;
	/*
	 * Back to one file. On a full disk the checkpoint cannot grow the
	 * database: the WAL stays beside it, and readers still see it all.
	 */
	if (exec_sql(w->db, "PRAGMA wal_checkpoint(TRUNCATE)") == 0)
		exec_sql(w->db, "PRAGMA journal_mode = DELETE");
	return err;
}

void ml_damon_rec_writer_free(struct ml_damon_rec_writer *w)
{
	if (!w)
		return;
	sqlite3_finalize(w->insert);
	sqlite3_finalize(w->insert_regions);
	sqlite3_finalize(w->begin);
	sqlite3_finalize(w->commit);
	sqlite3_finalize(w->page_count);
	sqlite3_close(w->db);
	free(w->regions_buf);
	free(w->ranges_buf);
	free(w->ranges);
	free(w);
}
