// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading a DAMON recording (damon_record.h): open read-only, refuse what
 * is not a recording or is from a newer schema, iterate snapshots in
 * recording order decoding their blobs into one reused array.
 *
 * Everything in the file is untrusted: a truncated or corrupted file gives
 * -EBADMSG from SQLite or from our checks (types, counts, blobs), never a
 * crash (fuzz/fuzz_damon_record.c runs this on arbitrary bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memlens/damon_record.h>

#include "../util/util.h"
#include "rec_internal.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* more than any recorder writes; bounds what a hostile row may ask for */
#define MAX_REGIONS_PER_SNAPSHOT (1u << 24)

struct ml_damon_rec {
	sqlite3 *db;
	sqlite3_stmt *iter;
	uint32_t what;
	struct ml_damon_rec_info info;
	char *strings;		/* the info's strings, one allocation each */
	char *ops, *command, *end_reason, *end_detail, *version;
	struct ml_damon_rec_snapshot cur;
	struct ml_damon_region *regions;
	size_t regions_cap;
	struct ml_damon_range *ranges;
	size_t ranges_cap;
};

const char *ml_damon_rec_strerror(int err)
{
	switch (err) {
	case -EMEDIUMTYPE:
		return "not a memlens recording";
	case -EBADMSG:
		return "corrupted or truncated recording";
	case -EPROTONOSUPPORT:
		return "recorded by a newer memlens (unknown schema version)";
	case -ENODATA:
		return "empty recording: no aggregation in it";
	case -EFBIG:
		return "the recording reached its size bound";
	case -ENOSPC:
		return "no space left on the device";
	case -EBUSY:
		return "being recorded: a recorder holds the file until it ends";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rec_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENODATA :
		rec_errno(rc);
}

static char *dup_col(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s ? strdup((const char *)s) : NULL;
}

/* The columns a reader needs, with their types: nothing else is trusted. */
static bool col_is(sqlite3_stmt *st, int col, int type, bool nullable)
{
	int t = sqlite3_column_type(st, col);

	return t == type || (nullable && t == SQLITE_NULL);
}

static int64_t col_u(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);

	return v < 0 ? -1 : v;
}

static int read_info(struct ml_damon_rec *r)
{
	struct ml_damon_rec_info *in = &r->info;
	sqlite3_stmt *st;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(r->db,
		"SELECT started_us, ops, sample_us, aggr_us, update_us,"
		" min_nr_regions, max_nr_regions, pid, command, max_size_bytes,"
		" memlens_version, ended_us, end_reason, end_detail"
		" FROM recording WHERE id = 1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc == SQLITE_ERROR ? -EBADMSG : rec_errno(rc);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? -EBADMSG : rec_errno(rc);
		goto out;
	}
	for (int c = 2; c <= 6; c++)
		if (!col_is(st, c, SQLITE_INTEGER, false) || col_u(st, c) < 0)
			err = -EBADMSG;
	if (!col_is(st, 0, SQLITE_INTEGER, false) ||
	    !col_is(st, 1, SQLITE_TEXT, false) ||
	    !col_is(st, 7, SQLITE_INTEGER, true) ||
	    !col_is(st, 8, SQLITE_TEXT, true) ||
	    !col_is(st, 9, SQLITE_INTEGER, true) ||
	    !col_is(st, 11, SQLITE_INTEGER, true) ||
	    !col_is(st, 12, SQLITE_TEXT, true))
		err = -EBADMSG;
	if (err)
		goto out;
	in->started_us = sqlite3_column_int64(st, 0);
	r->ops = dup_col(st, 1);
	in->sample_us = (uint64_t)col_u(st, 2);
	in->aggr_us = (uint64_t)col_u(st, 3);
	in->update_us = (uint64_t)col_u(st, 4);
	in->min_nr_regions = (uint32_t)MIN(col_u(st, 5), UINT32_MAX);
	in->max_nr_regions = (uint32_t)MIN(col_u(st, 6), UINT32_MAX);
	in->pid = (pid_t)MIN(MAX(sqlite3_column_int64(st, 7), 0), INT_MAX);
	r->command = dup_col(st, 8);
	in->max_size_bytes = (uint64_t)MAX(sqlite3_column_int64(st, 9), 0);
	r->version = dup_col(st, 10);
	in->ended_us = sqlite3_column_type(st, 11) == SQLITE_NULL ? -1 :
		sqlite3_column_int64(st, 11);
	r->end_reason = dup_col(st, 12);
	r->end_detail = dup_col(st, 13);
	if (!r->ops)
		err = -ENOMEM;
	in->ops = r->ops;
	in->command = r->command;
	in->memlens_version = r->version;
	in->end_reason = in->ended_us < 0 ? NULL : r->end_reason;
	in->end_detail = in->ended_us < 0 ? NULL : r->end_detail;
out:
	sqlite3_finalize(st);
	return err;
}

/* What kind of file is this, and can this memlens read it? */
static int check_file(struct ml_damon_rec *r)
{
	int64_t app_id, version;
	int err;

	err = query_int(r->db, "PRAGMA application_id", &app_id);
	if (err)
		return err == -ENODATA ? -EBADMSG : err;
	if ((uint32_t)app_id != ML_DAMON_REC_APP_ID)
		return -EMEDIUMTYPE;
	err = query_int(r->db, "PRAGMA user_version", &version);
	if (err)
		return err == -ENODATA ? -EBADMSG : err;
	if (version > ML_DAMON_REC_SCHEMA)
		return -EPROTONOSUPPORT;
	if (version < 1)
		return -EBADMSG;
	r->info.schema_version = (uint32_t)version;
	return read_info(r);
}

static int finish_open(struct ml_damon_rec *r, struct ml_damon_rec **out)
{
	int err;

	sqlite3_extended_result_codes(r->db, 1);
	err = check_file(r);
	if (err) {
		ml_damon_rec_close(r);
		return err;
	}
	*out = r;
	return 0;
}

static bool has_wal(const char *path)
{
	char wal[4096];

	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", path) >= sizeof(wal))
		return false;
	return access(wal, F_OK) == 0;
}

/*
 * A finished recording is one file, opened read-only. One the recorder
 * could not end (killed, disk full) still has its -wal and no -shm: the
 * recorder kept its WAL index in its heap. SQLite opens such a file
 * read-only only by creating a -shm, which a full disk or a read-only
 * directory refuses; so it is opened read-write with exclusive locking
 * (our index in our heap too) and no checkpoint on close: only SELECTs
 * run, and the file stays as the recorder left it.
 */
static int open_file(const char *path, bool unended, struct ml_damon_rec **out)
{
	struct ml_damon_rec *r;
	int rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &r->db, unended ? SQLITE_OPEN_READWRITE :
			     SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		ml_damon_rec_close(r);
		return rec_errno(rc);
	}
	if (unended) {
		sqlite3_db_config(r->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
				  NULL);
		sqlite3_exec(r->db, "PRAGMA locking_mode = EXCLUSIVE", NULL,
			     NULL, NULL);
	}
	/*
	 * Read through a mapping: an hour of 1,000 regions is 70,000 pages,
	 * and a pread() each costs more than the decoding (this VM: 5 us).
	 * The risk SQLite documents, SIGBUS when another process truncates
	 * the file under us, is one a recording that is not being written
	 * does not run.
	 */
	sqlite3_exec(r->db, "PRAGMA mmap_size = 4294967296", NULL, NULL, NULL);
	return finish_open(r, out);
}

int ml_damon_rec_open(const char *path, struct ml_damon_rec **out)
{
	struct stat st;
	int fd, rc;

	*out = NULL;
	/* SQLite would create a missing file or call it CANTOPEN: ask first */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = fstat(fd, &st);
	close(fd);
	if (rc < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (st.st_size == 0 && !has_wal(path))
		return -EMEDIUMTYPE;
	if (has_wal(path)) {
		/* unended: read-write only to keep the WAL index in our heap */
		rc = open_file(path, true, out);
		if (rc != -EIO && rc != -ENOENT && rc != -EACCES)
			return rc;
	}
	return open_file(path, false, out);
}

int ml_damon_rec_open_mem(const void *buf, size_t len,
			  struct ml_damon_rec **out)
{
	struct ml_damon_rec *r;
	int rc;

	*out = NULL;
	if (len == 0)
		return -EMEDIUMTYPE;
	if (len > INT32_MAX)
		return -EFBIG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = sqlite3_open_v2(":memory:", &r->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_deserialize(r->db, "main", (unsigned char *)buf,
					 (sqlite3_int64)len, (sqlite3_int64)len,
					 SQLITE_DESERIALIZE_READONLY);
	if (rc != SQLITE_OK) {
		ml_damon_rec_close(r);
		return rec_errno(rc);
	}
	return finish_open(r, out);
}

void ml_damon_rec_close(struct ml_damon_rec *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->iter);
	sqlite3_close(r->db);
	free(r->ops);
	free(r->command);
	free(r->end_reason);
	free(r->end_detail);
	free(r->version);
	free(r->regions);
	free(r->ranges);
	free(r);
}

const struct ml_damon_rec_info *ml_damon_rec_info(const struct ml_damon_rec *r)
{
	return &r->info;
}

int ml_damon_rec_stats(struct ml_damon_rec *r, struct ml_damon_rec_stats *st)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	memset(st, 0, sizeof(*st));
	rc = sqlite3_prepare_v2(r->db,
		"SELECT count(*), min(time_us), max(time_us),"
		" count(DISTINCT target_id), min(target_id), max(target_id)"
		" FROM snapshot",
		-1, &q, NULL);
	if (rc != SQLITE_OK)
		return rc == SQLITE_ERROR ? -EBADMSG : rec_errno(rc);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		st->nr_snapshots = (uint64_t)MAX(sqlite3_column_int64(q, 0), 0);
		st->first_us = (uint64_t)MAX(sqlite3_column_int64(q, 1), 0);
		st->last_us = (uint64_t)MAX(sqlite3_column_int64(q, 2), 0);
		st->nr_targets = (uint32_t)MIN(MAX(sqlite3_column_int64(q, 3),
						   0), UINT32_MAX);
		st->min_target_id = (uint32_t)MIN(MAX(sqlite3_column_int64(q, 4),
						      0), UINT32_MAX);
		st->max_target_id = (uint32_t)MIN(MAX(sqlite3_column_int64(q, 5),
						      0), UINT32_MAX);
	} else {
		err = rec_errno(rc);
	}
	sqlite3_finalize(q);
	return err;
}

/* ---- iteration ------------------------------------------------------------------ */

int ml_damon_rec_iter(struct ml_damon_rec *r,
		      const struct ml_damon_rec_iter_opts *opts)
{
	/* the blob columns are selected only when asked for: see the schema */
	static const char *const sql[4] = {
		[0] = "",
		[ML_DAMON_REC_REGIONS] = ", NULL, r.regions",
		[ML_DAMON_REC_RANGES] = ", s.ranges",
		[ML_DAMON_REC_REGIONS | ML_DAMON_REC_RANGES] =
			", s.ranges, r.regions",
	};
	uint32_t what = OPT(opts, what, (uint32_t)ML_DAMON_REC_REGIONS);
	int target = OPT(opts, target_id, -1);
	uint64_t from = OPT(opts, from_us, 0);
	uint64_t to = OPT(opts, to_us, 0) ? OPT(opts, to_us, 0) : INT64_MAX;
	char q[640];
	int rc;

	what &= ML_DAMON_REC_REGIONS | ML_DAMON_REC_RANGES;
	sqlite3_finalize(r->iter);
	r->iter = NULL;
	/* a missing regions row reads as NULL: corrupted, said below */
	snprintf(q, sizeof(q),
		 "SELECT s.id, s.time_us, s.target_id, s.pid, s.max_nr_accesses,"
		 " s.nr_regions, s.total_bytes, s.wss_bytes, s.nr_ranges%s"
		 " FROM snapshot s%s WHERE (?1 < 0 OR s.target_id = ?1)"
		 " AND s.time_us BETWEEN ?2 AND ?3 ORDER BY s.id", sql[what],
		 what & ML_DAMON_REC_REGIONS ?
		 " LEFT JOIN snapshot_regions r ON r.id = s.id" : "");
	rc = sqlite3_prepare_v2(r->db, q, -1, &r->iter, NULL);
	if (rc != SQLITE_OK)
		return rc == SQLITE_ERROR ? -EBADMSG : rec_errno(rc);
	sqlite3_bind_int64(r->iter, 1, target);
	sqlite3_bind_int64(r->iter, 2, (int64_t)MIN(from, (uint64_t)INT64_MAX));
	sqlite3_bind_int64(r->iter, 3, (int64_t)MIN(to, (uint64_t)INT64_MAX));
	r->what = what;
	return 0;
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	void *p;

	if (*cap >= n)
		return 0;
	p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static int decode_col(struct ml_damon_rec *r, int col, size_t nr, bool regions)
{
	const uint8_t *blob;
	int len, err;

	if (!col_is(r->iter, col, SQLITE_BLOB, false))
		return -EBADMSG;
	blob = sqlite3_column_blob(r->iter, col);
	len = sqlite3_column_bytes(r->iter, col);
	if (!blob || len < 0)
		return -EBADMSG;
	if (regions)
		err = grow((void **)&r->regions, &r->regions_cap, MAX(nr, 1),
			   sizeof(*r->regions));
	else
		err = grow((void **)&r->ranges, &r->ranges_cap, MAX(nr, 1),
			   sizeof(*r->ranges));
	if (err)
		return err;
	return ml_damon_rec_decode(blob, (size_t)len, nr,
				   regions ? r->regions : NULL,
				   regions ? NULL : r->ranges);
}

int ml_damon_rec_next(struct ml_damon_rec *r,
		      const struct ml_damon_rec_snapshot **out)
{
	struct ml_damon_rec_snapshot *c = &r->cur;
	sqlite3_stmt *st = r->iter;
	int64_t v[9];
	int rc, err;

	if (!st)
		return -EINVAL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return rec_errno(rc) ? rec_errno(rc) : -EIO;
	for (int i = 0; i < 9; i++) {
		if (!col_is(st, i, SQLITE_INTEGER, false))
			return -EBADMSG;
		v[i] = sqlite3_column_int64(st, i);
		if (v[i] < 0)
			return -EBADMSG;
	}
	if (v[2] > INT_MAX || v[3] > INT_MAX || v[4] > UINT32_MAX ||
	    v[5] > MAX_REGIONS_PER_SNAPSHOT || v[8] > v[5] ||
	    (v[5] && !v[8]))
		return -EBADMSG;
	memset(c, 0, sizeof(*c));
	c->id = (uint64_t)v[0];
	c->s.time_us = (uint64_t)v[1];
	c->s.target_id = (unsigned int)v[2];
	c->s.pid = (pid_t)v[3];
	c->s.max_nr_accesses = (uint32_t)v[4];
	c->s.nr_regions = (size_t)v[5];
	c->total_bytes = (uint64_t)v[6];
	c->wss_bytes = (uint64_t)v[7];
	if (r->what & ML_DAMON_REC_RANGES) {
		err = decode_col(r, 9, (size_t)v[8], false);
		if (err)
			return err;
		c->ranges = r->ranges;
		c->nr_ranges = (size_t)v[8];
	}
	if (r->what & ML_DAMON_REC_REGIONS) {
		err = decode_col(r, 10, c->s.nr_regions, true);
		if (err)
			return err;
		c->s.regions = r->regions;
	}
	*out = c;
	return 1;
}
