// SPDX-License-Identifier: GPL-2.0-only
/*
 * core.c - the monitoring context: targets, attributes, and the kdamond
 * loop of mm/damon/core.c (kdamond_fn) driven either in virtual time
 * (ml_damon_step: no sleeping, for sim, tests and benchmarks) or in real
 * time (ml_damon_run). The region operations are in regions.c, schemes
 * in schemes.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memlens/proc.h>

#include "internal.h"

/* ---- attributes ----------------------------------------------------------- */

void ml_damon_attrs_default(struct ml_damon_attrs *a)
{
	/* damon_new_ctx() */
	a->sample_us = 5 * 1000;
	a->aggr_us = 100 * 1000;
	a->ops_update_us = 60 * 1000 * 1000;
	a->min_nr_regions = 10;
	a->max_nr_regions = 1000;
}

const char *ml_damon_attrs_invalid(const struct ml_damon_attrs *a)
{
	if (!a->sample_us)
		return "the sampling interval is zero";
	if (!a->aggr_us)
		return "the aggregation interval is zero";
	if (!a->ops_update_us)
		return "the ops update interval is zero";
	if (a->min_nr_regions < 3)
		return "the minimum number of regions is below 3";
	if (a->min_nr_regions > a->max_nr_regions)
		return "the minimum number of regions exceeds the maximum";
	if (a->sample_us > a->aggr_us)
		return "the sampling interval exceeds the aggregation interval";
	/* max_nr_accesses must fit nr_accesses_bp (uint32, x10000) */
	if (a->aggr_us / a->sample_us > 100000)
		return "more than 100000 samples per aggregation";
	return NULL;
}

/* ---- context ------------------------------------------------------------ */

int ml_damon_ctx_new(const struct ml_damon_attrs *attrs, uint64_t seed,
		     struct ml_damon_ctx **out)
{
	struct ml_damon_ctx *ctx;

	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	if (attrs)
		ctx->attrs = *attrs;
	else
		ml_damon_attrs_default(&ctx->attrs);
	if (ml_damon_attrs_invalid(&ctx->attrs)) {
		free(ctx);
		return -EINVAL;
	}
	damon_rng_seed(&ctx->rng, seed);
	*out = ctx;
	return 0;
}

static void target_fini(struct damon_target *t)
{
	if (t->ops && t->ops->fini)
		t->ops->fini(t->state);
	damon_regions_free(&t->regions);
	free(t->addrs);
	free(t->accessed);
	free(t->snap);
	free(t->ranges);
}

void ml_damon_ctx_free(struct ml_damon_ctx *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < ctx->nr_targets; i++)
		target_fini(&ctx->targets[i]);
	free(ctx->targets);
	free(ctx->schemes);
	free(ctx->proc_root);
	if (ctx->proc)
		ml_proc_free(ctx->proc);
	free(ctx);
}

const struct ml_damon_attrs *ml_damon_ctx_attrs(const struct ml_damon_ctx *ctx)
{
	return &ctx->attrs;
}

void ml_damon_set_callback(struct ml_damon_ctx *ctx, ml_damon_snapshot_fn fn,
			   void *arg)
{
	ctx->fn = fn;
	ctx->fn_arg = arg;
}

uint64_t ml_damon_now_us(const struct ml_damon_ctx *ctx)
{
	return ctx->now_us;
}

/* ---- targets ------------------------------------------------------------ */

int damon_target_ranges(struct damon_target *t, uint64_t now_us, size_t *nr)
{
	int err;

	for (;;) {
		err = t->ops->ranges(t->state, now_us, t->ranges,
				     t->ranges_cap, nr);
		if (err)
			return err;
		if (*nr <= t->ranges_cap)
			return 0;
		free(t->ranges);
		t->ranges_cap = *nr + *nr / 4 + 16;
		t->ranges = malloc(t->ranges_cap * sizeof(*t->ranges));
		if (!t->ranges) {
			t->ranges_cap = 0;
			return -ENOMEM;
		}
	}
}

/*
 * The target's layout as the kernel's vaddr ops sees it: the three
 * regions around the two biggest gaps. With fewer than two gaps the
 * kernel gives up (no regions at init, no update); memlens takes the
 * ranges as they are (one or two after joining touching ones), so that a
 * gapless synthetic space or a small process is still monitored.
 */
static int target_layout(struct damon_target *t, uint64_t now_us,
			 struct ml_damon_range out[3], size_t *nr_out)
{
	size_t nr, n = 0;
	int err;

	err = damon_target_ranges(t, now_us, &nr);
	if (err)
		return err;
	if (!damon_three_regions(t->ranges, nr, out)) {
		*nr_out = 3;
		return 0;
	}
	for (size_t i = 0; i < nr; i++) {
		uint64_t start = t->ranges[i].start & ~(uint64_t)(ML_DAMON_MIN_REGION - 1);
		uint64_t end = (t->ranges[i].end + ML_DAMON_MIN_REGION - 1) &
			       ~(uint64_t)(ML_DAMON_MIN_REGION - 1);

		if (start >= end)
			continue;
		if (n && out[n - 1].end >= start) {
			out[n - 1].end = end;
			continue;
		}
		if (n == 3)
			return -EINVAL;	/* unreachable: three_regions found two gaps */
		out[n].start = start;
		out[n++].end = end;
	}
	*nr_out = n;
	return 0;
}

static const struct ml_damon_ops *auto_init(pid_t pid, const char *arg,
					    void **state, const char **why)
{
	const struct ml_damon_ops *ops;
	const char *first_why = NULL;

	for (size_t i = 0; (ops = ml_damon_ops_at(i)); i++) {
		const char *w = NULL;

		if (!ml_damon_ops_in_auto(i))
			continue;
		if (!ops->init(state, pid, arg, &w))
			return ops;
		if (!first_why)
			first_why = w;
	}
	if (why)
		*why = first_why ? first_why :
			"no access source works here (see memlens doctor)";
	return NULL;
}

int ml_damon_add_target(struct ml_damon_ctx *ctx,
			const struct ml_damon_ops *ops, pid_t pid,
			const char *arg, const char **why)
{
	struct ml_damon_range layout[3];
	struct damon_target *t, *targets;
	size_t nr;
	int err;

	if (ctx->started)
		return -EBUSY;
	targets = realloc(ctx->targets, (ctx->nr_targets + 1) * sizeof(*t));
	if (!targets)
		return -ENOMEM;
	ctx->targets = targets;
	t = &targets[ctx->nr_targets];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (ops) {
		err = ops->init(&t->state, pid, arg, why);
		if (err)
			return err;
	} else {
		ops = auto_init(pid, arg, &t->state, why);
		if (!ops)
			return -EOPNOTSUPP;
	}
	t->ops = ops;
	err = target_layout(t, 0, layout, &nr);
	if (!err)
		err = damon_init_regions(&t->regions, layout, nr,
					 ctx->attrs.min_nr_regions);
	if (err) {
		target_fini(t);
		return err;
	}
	return (int)ctx->nr_targets++;
}

const struct ml_damon_ops *ml_damon_target_ops(const struct ml_damon_ctx *ctx,
					       unsigned int target_id)
{
	return target_id < ctx->nr_targets ? ctx->targets[target_id].ops : NULL;
}

size_t ml_damon_target_regions(const struct ml_damon_ctx *ctx,
			       unsigned int target_id,
			       struct ml_damon_region *buf, size_t cap)
{
	const struct damon_regions *rs;

	if (target_id >= ctx->nr_targets)
		return 0;
	rs = &ctx->targets[target_id].regions;
	for (size_t i = 0; i < rs->nr && i < cap; i++) {
		buf[i].start = rs->r[i].start;
		buf[i].end = rs->r[i].end;
		buf[i].nr_accesses = rs->r[i].nr_accesses;
		buf[i].age = rs->r[i].age;
	}
	return rs->nr;
}

/* ---- one sample: prepare, check ----------------------------------------- */

static int target_scratch(struct damon_target *t)
{
	size_t nr = t->regions.nr;

	if (nr <= t->scratch_cap)
		return 0;
	free(t->addrs);
	free(t->accessed);
	t->scratch_cap = nr + nr / 2 + 16;
	t->addrs = malloc(t->scratch_cap * sizeof(*t->addrs));
	t->accessed = malloc(t->scratch_cap * sizeof(*t->accessed));
	if (!t->addrs || !t->accessed) {
		t->scratch_cap = 0;
		return -ENOMEM;
	}
	return 0;
}

static bool target_gone(struct damon_target *t, int err)
{
	if (err == -ESRCH || (t->ops->alive && !t->ops->alive(t->state)))
		t->gone = true;
	return t->gone;
}

/* damon_va_prepare_access_checks(): one random address per region */
static int prepare_checks(struct ml_damon_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_targets; i++) {
		struct damon_target *t = &ctx->targets[i];
		struct damon_regions *rs = &t->regions;
		int err;

		if (t->gone)
			continue;
		err = target_scratch(t);
		if (err)
			return err;
		for (size_t k = 0; k < rs->nr; k++) {
			rs->r[k].sampling_addr = damon_rand(&ctx->rng,
				rs->r[k].start, rs->r[k].end);
			t->addrs[k] = rs->r[k].sampling_addr;
		}
		err = t->ops->prepare ?
			t->ops->prepare(t->state, ctx->now_us, t->addrs,
					rs->nr) : 0;
		if (err && !target_gone(t, err))
			return err;
	}
	return 0;
}

/* damon_update_region_access_rate() */
static void update_access_rate(struct damon_region *r, bool accessed,
			       uint32_t len_window)
{
	r->nr_accesses_bp = r->nr_accesses_bp -
			    r->last_nr_accesses * 10000 / len_window +
			    (accessed ? 10000 : 0);
	if (accessed)
		r->nr_accesses++;
}

/* damon_va_check_accesses(): returns max nr_accesses */
static int check_accesses(struct ml_damon_ctx *ctx, uint32_t *max_nr)
{
	uint32_t len_window = (uint32_t)(ctx->attrs.aggr_us /
					 ctx->attrs.sample_us);

	*max_nr = 0;
	for (size_t i = 0; i < ctx->nr_targets; i++) {
		struct damon_target *t = &ctx->targets[i];
		struct damon_regions *rs = &t->regions;
		int err;

		if (t->gone)
			continue;
		/* addrs[] still holds the sampling addresses: regions do
		 * not change between prepare and check */
		err = t->ops->check(t->state, ctx->now_us, t->addrs, rs->nr,
				    t->accessed);
		if (err) {
			if (!target_gone(t, err))
				return err;
			continue;
		}
		for (size_t k = 0; k < rs->nr; k++) {
			update_access_rate(&rs->r[k], t->accessed[k],
					   len_window);
			if (rs->r[k].nr_accesses > *max_nr)
				*max_nr = rs->r[k].nr_accesses;
		}
	}
	return 0;
}

/* ---- one aggregation ------------------------------------------------------ */

static int deliver_snapshots(struct ml_damon_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_targets && ctx->fn; i++) {
		struct damon_target *t = &ctx->targets[i];
		struct ml_damon_snapshot snap;
		int ret;

		if (t->gone)
			continue;
		if (t->snap_cap < t->regions.nr) {
			free(t->snap);
			t->snap_cap = t->regions.nr + t->regions.nr / 2 + 16;
			t->snap = malloc(t->snap_cap * sizeof(*t->snap));
			if (!t->snap) {
				t->snap_cap = 0;
				return -ENOMEM;
			}
		}
		ml_damon_target_regions(ctx, (unsigned int)i, t->snap,
					t->snap_cap);
		snap = (struct ml_damon_snapshot){
			.time_us = ctx->now_us,
			.target_id = (unsigned int)i,
			.pid = t->pid,
			.max_nr_accesses = (uint32_t)(ctx->attrs.aggr_us /
						      ctx->attrs.sample_us),
			.nr_regions = t->regions.nr,
			.regions = t->snap,
		};
		ret = ctx->fn(&snap, ctx->fn_arg);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Not the kernel's: tell the source which regions have gone quiet (at
 * ML_DAMON_SETTLE_AGE, then each time the age doubles: ops.settle in
 * damon.h). Runs on the aggregated nr_accesses and the age the merge has
 * just updated; results are unchanged by it.
 */
static void settle_regions(struct ml_damon_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_targets; i++) {
		struct damon_target *t = &ctx->targets[i];
		struct damon_regions *rs = &t->regions;

		if (t->gone || !t->ops->settle)
			continue;
		for (size_t k = 0; k < rs->nr; k++) {
			struct damon_region *r = &rs->r[k];

			if (r->nr_accesses) {
				r->settled_age = 0;
			} else if (r->age >= ML_DAMON_SETTLE_AGE &&
				   r->age >= 2 * (uint64_t)r->settled_age) {
				t->ops->settle(t->state, r->start, r->end);
				r->settled_age = r->age;
			}
		}
	}
}

/* kdamond_reset_aggregated() */
static void reset_aggregated(struct ml_damon_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_targets; i++) {
		struct damon_regions *rs = &ctx->targets[i].regions;

		for (size_t k = 0; k < rs->nr; k++) {
			rs->r[k].last_nr_accesses = rs->r[k].nr_accesses;
			rs->r[k].nr_accesses = 0;
		}
	}
}

/* damon_va_update(): fit the regions to the three regions of now */
static int ops_update(struct ml_damon_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_targets; i++) {
		struct damon_target *t = &ctx->targets[i];
		struct ml_damon_range layout[3];
		size_t nr;
		int err;

		if (t->gone)
			continue;
		err = target_layout(t, ctx->now_us, layout, &nr);
		if (err) {
			if (target_gone(t, err))
				continue;
			if (err == -ENOMEM)
				return err;
			continue;	/* as the kernel: keep the regions */
		}
		if (!nr)
			continue;
		err = damon_set_regions(&t->regions, layout, nr);
		if (err == -ENOMEM)
			return err;
	}
	ctx->sz_limit = damon_region_sz_limit(ctx);
	return 0;
}

static bool all_gone(const struct ml_damon_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_targets; i++)
		if (!ctx->targets[i].gone)
			return false;
	return true;
}

/* kdamond_init_intervals_sis() and the part of kdamond_fn before its loop */
static void start(struct ml_damon_ctx *ctx)
{
	uint64_t sample = ctx->attrs.sample_us;

	ctx->passed_sis = 0;
	ctx->next_aggregation_sis = ctx->attrs.aggr_us / sample;
	ctx->next_ops_update_sis = ctx->attrs.ops_update_us / sample;
	damos_init_intervals(ctx);
	ctx->sz_limit = damon_region_sz_limit(ctx);
	ctx->started = true;
}

/*
 * The first half of one kdamond_fn iteration: watermarks, then prepare.
 * Returns 0 with *@wait_us set when every scheme is deactivated and the
 * loop should wait instead of monitoring (kdamond_wait_activation).
 */
static int step_begin(struct ml_damon_ctx *ctx, uint64_t *wait_us)
{
	if (!ctx->started)
		start(ctx);
	if (all_gone(ctx))
		return -ESRCH;
	*wait_us = damos_wmark_wait_us(ctx);
	if (*wait_us)
		return 0;
	return prepare_checks(ctx);
}

/* The second half, after the sampling interval has passed. */
static int step_end(struct ml_damon_ctx *ctx)
{
	uint64_t next_aggregation_sis = ctx->next_aggregation_sis;
	uint64_t next_ops_update_sis = ctx->next_ops_update_sis;
	uint64_t sample = ctx->attrs.sample_us;
	int err;

	ctx->passed_sis++;
	err = check_accesses(ctx, &ctx->max_nr_accesses);
	if (err)
		return err;
	if (ctx->passed_sis >= next_aggregation_sis) {
		damon_ctx_merge(ctx, ctx->max_nr_accesses / 10, ctx->sz_limit);
		err = deliver_snapshots(ctx);
		if (err)
			return err;
	}
	/* after the merge, so that schemes visit fewer regions */
	if (ctx->nr_schemes)
		damos_apply_all(ctx);
	if (ctx->passed_sis >= next_aggregation_sis) {
		ctx->next_aggregation_sis = next_aggregation_sis +
					    ctx->attrs.aggr_us / sample;
		settle_regions(ctx);
		reset_aggregated(ctx);
		err = damon_ctx_split(ctx);
		if (err)
			return err;
	}
	if (ctx->passed_sis >= next_ops_update_sis) {
		ctx->next_ops_update_sis = next_ops_update_sis +
					   ctx->attrs.ops_update_us / sample;
		err = ops_update(ctx);
		if (err)
			return err;
	}
	return all_gone(ctx) ? -ESRCH : 0;
}

/* ---- driving it: virtual and real time ------------------------------------ */

int ml_damon_step(struct ml_damon_ctx *ctx)
{
	uint64_t wait_us;
	int err = step_begin(ctx, &wait_us);

	if (err)
		return err;
	if (wait_us) {
		ctx->now_us += wait_us;
		return 0;
	}
	ctx->now_us += ctx->attrs.sample_us;
	return step_end(ctx);
}

int ml_damon_run_virtual(struct ml_damon_ctx *ctx, uint64_t duration_us)
{
	uint64_t end = ctx->now_us + duration_us;
	int err = 0;

	while (!err && ctx->now_us < end)
		err = ml_damon_step(ctx);
	return err;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Sleep until CLOCK_MONOTONIC reaches @deadline_us or *@stop is set. */
static void sleep_until(uint64_t deadline_us, volatile int *stop)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_us / 1000000),
		.tv_nsec = (long)(deadline_us % 1000000) * 1000,
	};

	/* a signal interrupts the sleep (EINTR): look at the flag again */
	while (!(stop && *stop) &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
		       EINTR)
		;
}

int ml_damon_run(struct ml_damon_ctx *ctx, uint64_t duration_us,
		 volatile int *stop)
{
	uint64_t t0 = mono_us() - ctx->now_us, deadline;
	uint64_t end_us = ctx->now_us + duration_us;
	int err;

	while (!(stop && *stop)) {
		uint64_t wait_us;

		if (duration_us && ctx->now_us >= end_us)
			return 0;
		err = step_begin(ctx, &wait_us);
		if (err)
			return err;
		deadline = t0 + ctx->now_us +
			   (wait_us ? wait_us : ctx->attrs.sample_us);
		sleep_until(deadline, stop);
		if (stop && *stop)
			return 0;
		/* a late wake-up starts the next interval now, no catch-up */
		ctx->now_us = mono_us() - t0;
		if (wait_us)
			continue;
		err = step_end(ctx);
		if (err)
			return err;
	}
	return 0;
}
