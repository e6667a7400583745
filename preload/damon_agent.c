// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmemlens-damon.so: data-access monitoring of an unmodified program
 * with the wp source, which can only watch the process it runs in.
 *
 *   LD_PRELOAD=/usr/lib/.../libmemlens-damon.so program ...
 *   memlens damon monitor --ops wp -p PID   (or: ... --ops wp -- program)
 *
 * A constructor starts one thread, "memlens-damon", that runs a monitoring
 * context with the wp source on the program itself at the attributes of
 * MEMLENS_DAMON_ATTRS (damon.h), and publishes every aggregation's
 * snapshot to a shared memfd mapping (layout: lib/damon/agent.h) that
 * memlens reads through /proc/PID/mem without stopping the program.
 *
 * The agent is a process-wide singleton by nature (one program, one
 * monitor thread, one published mapping): its state is the one static
 * struct below. It blocks every signal on its thread, so signals reach
 * the program's own threads as before; the mapping is MADV_DONTFORK, so a
 * fork()ed child does not inherit a stale copy. The library's code is
 * linked in hidden: the agent exports nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <memlens/damon.h>

#include "../lib/damon/agent.h"


static struct {
	pthread_t thread;
	bool started;
	volatile int stop;
	struct ml_damon_attrs attrs;
	uint64_t seed;
	struct agent_header *h;	/* the published mapping */
	int memfd;
	uint64_t map_size;
} agent = { .memfd = -1 };

/* ---- publishing ------------------------------------------------------ */

static void begin_write(struct agent_header *h)
{
	__atomic_store_n(&h->seq, h->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void end_write(struct agent_header *h)
{
	__atomic_store_n(&h->seq, h->seq + 1, __ATOMIC_RELEASE);
}

/* header, scheme statistics, regions */
#define REGIONS_OFF (AGENT_HEADER_SIZE + AGENT_SCHEMES_SPACE)

static uint64_t map_size_for(uint32_t nr_regions)
{
	uint64_t sz = REGIONS_OFF +
		      (uint64_t)nr_regions * sizeof(struct agent_region);
	long page = sysconf(_SC_PAGESIZE);

	return (sz + (uint64_t)page - 1) & ~((uint64_t)page - 1);
}

static uint32_t regions_cap_of(uint64_t map_size)
{
	return (uint32_t)((map_size - REGIONS_OFF) /
			  sizeof(struct agent_region));
}

static int publish_init(void)
{
	struct agent_header *h;
	uint64_t sz = map_size_for(agent.attrs.max_nr_regions + 16);

	agent.memfd = memfd_create(AGENT_MEMFD_NAME, MFD_CLOEXEC);
	if (agent.memfd < 0)
		return -errno;
	if (ftruncate(agent.memfd, (off_t)sz) < 0)
		return -errno;
	h = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, agent.memfd, 0);
	if (h == MAP_FAILED)
		return -errno;
	madvise(h, sz, MADV_DONTFORK);
	memcpy(h->magic, AGENT_MAGIC, sizeof(h->magic));
	h->version = AGENT_VERSION;
	h->header_size = AGENT_HEADER_SIZE;
	h->map_size = sz;
	h->self_addr = (uintptr_t)h;
	h->pid = getpid();
	h->region_size = sizeof(struct agent_region);
	h->scheme_size = sizeof(struct agent_scheme);
	h->schemes_off = AGENT_HEADER_SIZE;
	h->regions_off = REGIONS_OFF;
	h->regions_cap = regions_cap_of(sz);
	h->state = AGENT_STARTING;
	h->sample_us = agent.attrs.sample_us;
	h->aggr_us = agent.attrs.aggr_us;
	h->ops_update_us = agent.attrs.ops_update_us;
	h->min_nr_regions = agent.attrs.min_nr_regions;
	h->max_nr_regions = agent.attrs.max_nr_regions;
	snprintf(h->ops, sizeof(h->ops), "%s", ml_damon_wp_ops.name);
	agent.h = h;
	agent.map_size = sz;
	return 0;
}

/* More regions than the mapping holds: grow it, under an odd seq. */
static int grow(uint32_t nr_regions)
{
	uint64_t sz = map_size_for(nr_regions + nr_regions / 2);
	void *m;

	if (sz > AGENT_MAX_MAP_SIZE)
		return -E2BIG;
	if (ftruncate(agent.memfd, (off_t)sz) < 0)
		return -errno;
	m = mremap(agent.h, agent.map_size, sz, MREMAP_MAYMOVE);
	if (m == MAP_FAILED)
		return -errno;
	agent.h = m;
	agent.map_size = sz;
	agent.h->map_size = sz;
	agent.h->self_addr = (uintptr_t)m;
	agent.h->regions_cap = regions_cap_of(sz);
	return 0;
}

/* The schemes' statistics, so that memlens shows them as for its own. */
static void publish_schemes(struct agent_header *h,
			    const struct ml_damon_ctx *ctx)
{
	struct agent_scheme *out =
		(struct agent_scheme *)((char *)h + h->schemes_off);
	size_t n = ml_damon_nr_schemes(ctx);

	if (n > AGENT_MAX_SCHEMES)
		n = AGENT_MAX_SCHEMES;
	for (size_t i = 0; i < n; i++) {
		struct ml_damos_stat st;

		ml_damon_scheme_stat(ctx, i, &st);
		out[i] = (struct agent_scheme){
			.nr_tried = st.nr_tried,
			.sz_tried = st.sz_tried,
			.nr_applied = st.nr_applied,
			.sz_applied = st.sz_applied,
			.qt_exceeds = st.qt_exceeds,
			.active = ml_damon_scheme_active(ctx, i),
		};
	}
	h->nr_schemes = (uint32_t)n;
}

/* @arg: the context, for its schemes' statistics */
static int publish(const struct ml_damon_snapshot *snap, void *arg)
{
	struct agent_header *h = agent.h;
	struct agent_region *out;

	begin_write(h);
	/* cannot grow: publish what fits rather than nothing */
	if (snap->nr_regions > h->regions_cap)
		grow((uint32_t)snap->nr_regions);
	h = agent.h;
	out = (struct agent_region *)((char *)h + h->regions_off);
	h->nr_regions = (uint32_t)(snap->nr_regions < h->regions_cap ?
				   snap->nr_regions : h->regions_cap);
	for (uint32_t i = 0; i < h->nr_regions; i++) {
		out[i].start = snap->regions[i].start;
		out[i].end = snap->regions[i].end;
		out[i].nr_accesses = snap->regions[i].nr_accesses;
		out[i].age = snap->regions[i].age;
	}
	publish_schemes(h, arg);
	h->time_us = snap->time_us;
	h->max_nr_accesses = snap->max_nr_accesses;
	h->nr_snapshots++;
	h->state = AGENT_RUNNING;
	end_write(h);
	return agent.stop ? 1 : 0;
}

static void publish_end(enum agent_state state, int error, const char *why)
{
	struct agent_header *h = agent.h;

	if (!h)
		return;
	begin_write(h);
	h->state = state;
	h->error = error < 0 ? error : 0;
	snprintf(h->why, sizeof(h->why), "%s", why ? why : "");
	end_write(h);
}

/* ---- configuration ------------------------------------------------------ */

/*
 * The kernel's defaults but a 1 s ops update interval (not 60 s): the
 * agent starts before main(), when the program has mapped nothing yet.
 */
static void agent_default_attrs(struct ml_damon_attrs *a)
{
	ml_damon_attrs_default(a);
	a->ops_update_us = 1000000;
}

/* "SAMPLE_US,AGGR_US,UPDATE_US,MIN,MAX"; fields left empty keep defaults */
static int parse_attrs(const char *s, struct ml_damon_attrs *a)
{
	unsigned long long v[5] = { a->sample_us, a->aggr_us,
				    a->ops_update_us, a->min_nr_regions,
				    a->max_nr_regions };

	for (int i = 0; i < 5 && s && *s; i++) {
		char *end;

		if (*s != ',') {
			errno = 0;
			v[i] = strtoull(s, &end, 10);
			if (errno || end == s)
				return -EINVAL;
			s = end;
		}
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	if (v[3] > UINT32_MAX || v[4] > UINT32_MAX)
		return -EINVAL;
	a->sample_us = v[0];
	a->aggr_us = v[1];
	a->ops_update_us = v[2];
	a->min_nr_regions = (uint32_t)v[3];
	a->max_nr_regions = (uint32_t)v[4];
	return ml_damon_attrs_invalid(a) ? -EINVAL : 0;
}

/* One scheme per line of MEMLENS_DAMON_SCHEMES. */
static int add_schemes(struct ml_damon_ctx *ctx, const char **why)
{
	const char *env = getenv(ML_DAMON_AGENT_ENV_SCHEMES);
	size_t nr = 0;
	char line[512];

	while (env && *env) {
		const char *nl = strchrnul(env, '\n');
		size_t len = (size_t)(nl - env);
		struct ml_damos s;
		int err;

		if (len >= sizeof(line))
			return -EINVAL;
		memcpy(line, env, len);
		line[len] = '\0';
		env = *nl ? nl + 1 : nl;
		if (!len)
			continue;
		if (++nr > AGENT_MAX_SCHEMES) {
			*why = "more schemes than the agent publishes (16)";
			return -E2BIG;
		}
		err = ml_damos_parse(line, &agent.attrs, &s, why);
		if (!err)
			err = ml_damon_add_scheme(ctx, &s);
		if (err < 0)
			return err;
	}
	return 0;
}

/* ---- the monitor thread --------------------------------------------------- */

static void *monitor(void *arg)
{
	struct ml_damon_ctx *ctx = NULL;
	const char *why = NULL;
	char src_arg[96];
	void *heap;
	int err;

	(void)arg;
	/*
	 * Leave the agent's own memory out: this thread's stack and its
	 * malloc arena (the first allocation of a thread makes it), whose
	 * writes would be monitored as the program's.
	 */
	heap = malloc(64);
	snprintf(src_arg, sizeof(src_arg), "exclude=%#lx,exclude=%#lx",
		 (unsigned long)(uintptr_t)&ctx, (unsigned long)(uintptr_t)heap);
	err = ml_damon_ctx_new(&agent.attrs, agent.seed, &ctx);
	if (err) {
		publish_end(AGENT_FAILED, err, "bad attributes");
		return NULL;
	}
	ml_damon_set_callback(ctx, publish, ctx);
	err = ml_damon_add_target(ctx, &ml_damon_wp_ops, 0, src_arg, &why);
	if (err < 0) {
		publish_end(AGENT_FAILED, err, why ? why : strerror(-err));
		ml_damon_ctx_free(ctx);
		return NULL;
	}
	err = add_schemes(ctx, &why);
	if (err < 0) {
		publish_end(AGENT_FAILED, err, why ? why : "bad scheme");
		ml_damon_ctx_free(ctx);
		return NULL;
	}
	err = ml_damon_run(ctx, 0, &agent.stop);
	publish_end(AGENT_STOPPED, err > 0 ? 0 : err, NULL);
	/* closes the userfaultfd: every uffd-wp bit of the program goes */
	ml_damon_ctx_free(ctx);
	free(heap);
	return NULL;
}

__attribute__((constructor)) static void agent_start(void)
{
	const char *env;
	sigset_t all, old;
	int err;

	agent_default_attrs(&agent.attrs);
	env = getenv(ML_DAMON_AGENT_ENV_ATTRS);
	if (env && parse_attrs(env, &agent.attrs)) {
		fprintf(stderr, "libmemlens-damon: bad %s '%s', using "
			"defaults\n", ML_DAMON_AGENT_ENV_ATTRS, env);
		agent_default_attrs(&agent.attrs);
	}
	env = getenv(ML_DAMON_AGENT_ENV_SEED);
	agent.seed = env ? strtoull(env, NULL, 0) : (uint64_t)getpid();
	err = publish_init();
	if (err) {
		fprintf(stderr, "libmemlens-damon: cannot publish: %s\n",
			strerror(-err));
		return;
	}
	/* the thread inherits this mask: no signal of the program lands there */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&agent.thread, NULL, monitor, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		publish_end(AGENT_FAILED, -err, "cannot start the monitor thread");
		return;
	}
	pthread_setname_np(agent.thread, "memlens-damon");
	agent.started = true;
}

/* exit(): stop within a sample interval, so the program leaves as it was */
__attribute__((destructor)) static void agent_stop(void)
{
	struct timespec deadline;

	if (!agent.started)
		return;
	agent.stop = 1;
	/*
	 * Bounded: if the program exits while one of its threads holds a
	 * lock the monitor waits on (malloc's), leave the thread behind.
	 */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	pthread_timedjoin_np(agent.thread, NULL, &deadline);
	agent.started = false;
}
