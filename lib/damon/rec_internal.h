/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the recording's writer (record.c) and reader (record_read.c):
 * the schema and SQLite result codes as errno values.
 */
#ifndef MEMLENS_DAMON_REC_INTERNAL_H
#define MEMLENS_DAMON_REC_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <sqlite3.h>

/*
 * Field @f of an options struct, or @def when @o is NULL or was built by
 * a caller that knew an older, shorter struct (its .sz ends before @f).
 */
#define OPT(o, f, def)							\
	((o) && (o)->sz >= offsetof(__typeof__(*(o)), f) + sizeof((o)->f) ? \
	 (o)->f : (def))

/*
 * The regions blobs (~5 KB per 1,000 regions) have a table of their own:
 * in the snapshot row, SQLite would keep a kilobyte of each in the b-tree
 * page, three rows a page, and a scan of the figures (wss over time,
 * nr_regions) would read 50 MB for an hour instead of 2 MB.
 */
#define REC_SCHEMA_SQL							\
	"CREATE TABLE recording ("					\
	" id INTEGER PRIMARY KEY CHECK (id = 1),"			\
	" started_us INTEGER NOT NULL,"					\
	" ops TEXT NOT NULL,"						\
	" sample_us INTEGER NOT NULL,"					\
	" aggr_us INTEGER NOT NULL,"					\
	" update_us INTEGER NOT NULL,"					\
	" min_nr_regions INTEGER NOT NULL,"				\
	" max_nr_regions INTEGER NOT NULL,"				\
	" pid INTEGER,"							\
	" command TEXT,"						\
	" max_size_bytes INTEGER,"					\
	" memlens_version TEXT NOT NULL,"				\
	" ended_us INTEGER,"						\
	" end_reason TEXT,"						\
	" end_detail TEXT);"						\
	"CREATE TABLE snapshot ("					\
	" id INTEGER PRIMARY KEY,"					\
	" time_us INTEGER NOT NULL,"					\
	" target_id INTEGER NOT NULL,"					\
	" pid INTEGER NOT NULL,"					\
	" max_nr_accesses INTEGER NOT NULL,"				\
	" nr_regions INTEGER NOT NULL,"					\
	" total_bytes INTEGER NOT NULL,"				\
	" wss_bytes INTEGER NOT NULL,"					\
	" nr_ranges INTEGER NOT NULL,"					\
	" ranges BLOB NOT NULL);"					\
	"CREATE TABLE snapshot_regions ("				\
	" id INTEGER PRIMARY KEY REFERENCES snapshot (id),"		\
	" regions BLOB NOT NULL);"

/* An SQLite result code as a negative errno. */
static inline int rec_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
		return -EBADMSG;
	case SQLITE_NOTADB:
		return -EMEDIUMTYPE;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_READONLY:
		return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_MISMATCH:
	case SQLITE_CONSTRAINT:
	case SQLITE_RANGE:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

#endif
