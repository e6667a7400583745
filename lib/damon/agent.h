/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What libmemlens-damon.so (preload/damon_agent.c) publishes and memlens
 * reads (agent_reader.c): the last aggregation's snapshot of the program
 * the agent runs in, in one shared memfd mapping named "memlens-damon"
 * (so that /proc/PID/maps shows "/memfd:memlens-damon (deleted)"), in the
 * writer's byte order, version 1:
 *
 *   offset 0             struct agent_header (AGENT_HEADER_SIZE bytes)
 *   schemes_off          struct agent_scheme[nr_schemes] (the statistics of
 *                        the schemes the agent applies; room for
 *                        AGENT_MAX_SCHEMES, before the regions)
 *   regions_off          struct agent_region[regions_cap]
 *
 * Consistency: seq is a sequence counter, odd while the agent writes. A
 * reader copies the header and the regions through /proc/PID/mem, reads
 * seq again, and keeps the copy when both are equal and even; the agent
 * never waits for readers. The copy is hostile input to the reader: every
 * field is checked against the bytes it came with.
 *
 * When a snapshot outgrows the mapping the agent grows it in place
 * (ftruncate + mremap) under an odd seq; the header's map_size says how
 * big it is now.
 */
#ifndef MEMLENS_DAMON_AGENT_H
#define MEMLENS_DAMON_AGENT_H

#include <stdint.h>

#define AGENT_MEMFD_NAME "memlens-damon"
#define AGENT_MAPS_NAME "/memfd:" AGENT_MEMFD_NAME " (deleted)"
#define AGENT_MAGIC "MLDAMON" /* 8 bytes with its NUL */
#define AGENT_VERSION 1
#define AGENT_HEADER_SIZE 256u

/* bounds the writer keeps and the reader enforces */
#define AGENT_MAX_REGIONS (1u << 20)
#define AGENT_MAX_MAP_SIZE (64u << 20)
#define AGENT_MAX_SCHEMES 16

/* header.state */
enum agent_state {
	AGENT_STARTING = 0,	/* no snapshot yet */
	AGENT_RUNNING = 1,
	AGENT_STOPPED = 2,	/* monitoring ended; error says why */
	AGENT_FAILED = 3,	/* could not start; error and why say why */
};

struct agent_region {
	uint64_t start;
	uint64_t end;
	uint32_t nr_accesses;
	uint32_t age;
};
_Static_assert(sizeof(struct agent_region) == 24, "agent_region layout");

/* One scheme's statistics (struct ml_damos_stat), as of the last snapshot. */
struct agent_scheme {
	uint64_t nr_tried;
	uint64_t sz_tried;
	uint64_t nr_applied;
	uint64_t sz_applied;
	uint64_t qt_exceeds;
	uint32_t active;		/* 1: its watermarks let it run */
	uint32_t _pad;
};
_Static_assert(sizeof(struct agent_scheme) == 48, "agent_scheme layout");
#define AGENT_SCHEMES_SPACE (AGENT_MAX_SCHEMES * sizeof(struct agent_scheme))

struct agent_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t seq;			/* odd while being written */
	uint64_t map_size;		/* bytes of the mapping */
	uint64_t self_addr;		/* where the agent maps it */
	uint32_t state;			/* enum agent_state */
	int32_t error;			/* negative errno, or 0 */
	int32_t pid;			/* the program's */
	uint32_t region_size;		/* sizeof(struct agent_region) */
	uint32_t regions_off;
	uint32_t regions_cap;
	/* the attributes the agent monitors with */
	uint64_t sample_us;
	uint64_t aggr_us;
	uint64_t ops_update_us;
	uint32_t min_nr_regions;
	uint32_t max_nr_regions;
	/* the last snapshot */
	uint64_t nr_snapshots;		/* published so far; 0: none yet */
	uint64_t time_us;
	uint32_t max_nr_accesses;
	uint32_t nr_regions;
	char ops[16];			/* the source, NUL-terminated */
	char why[96];			/* with FAILED: the reason, NUL-terminated */
	/* added in place of padding: 0 from a writer without schemes */
	uint32_t nr_schemes;
	uint32_t scheme_size;		/* sizeof(struct agent_scheme) */
	uint32_t schemes_off;
};
_Static_assert(sizeof(struct agent_header) <= AGENT_HEADER_SIZE,
	       "agent_header fits");

#endif
