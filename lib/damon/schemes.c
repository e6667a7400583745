// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * schemes.c - DAMOS as mm/damon/core.c runs it: access patterns, actions
 * through the source's apply(), quotas charged per reset interval with
 * the histogram-based minimum score, watermarks on free memory, and
 * per-scheme statistics. Also the scheme spec parser and the madvise /
 * process_madvise helper that sources use in apply().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <memlens/proc.h>

#include "internal.h"

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif

#define MIN_REGION ((uint64_t)ML_DAMON_MIN_REGION)

static const char *const action_names[ML_DAMOS__COUNT] = {
	[ML_DAMOS_STAT] = "stat",
	[ML_DAMOS_COLD] = "cold",
	[ML_DAMOS_PAGEOUT] = "pageout",
	[ML_DAMOS_WILLNEED] = "willneed",
	[ML_DAMOS_COLLAPSE] = "collapse",
	[ML_DAMOS_HUGEPAGE] = "hugepage",
	[ML_DAMOS_NOHUGEPAGE] = "nohugepage",
};

const char *ml_damos_action_name(enum ml_damos_action a)
{
	return (unsigned int)a < ML_DAMOS__COUNT ? action_names[a] : "?";
}

int ml_damos_action_parse(const char *name, enum ml_damos_action *a)
{
	for (int i = 0; i < ML_DAMOS__COUNT; i++) {
		if (!strcmp(name, action_names[i])) {
			*a = (enum ml_damos_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

void ml_damos_init(struct ml_damos *s, enum ml_damos_action action)
{
	memset(s, 0, sizeof(*s));
	s->pattern.max_sz_bytes = UINT64_MAX;
	s->pattern.max_nr_accesses = UINT32_MAX;
	s->pattern.max_age = UINT32_MAX;
	s->action = action;
	s->quota.reset_interval_ms = 1000;
	s->quota.weight_nr_accesses = 1;
	s->quota.weight_age = 1;
	s->wmarks.metric = ML_DAMOS_WMARK_NONE;
	s->wmarks.interval_us = 5 * 1000 * 1000;
}

/* ---- adding and reading schemes -------------------------------------------- */

int ml_damon_add_scheme(struct ml_damon_ctx *ctx, const struct ml_damos *s)
{
	struct damos_state *arr;

	if (ctx->started)
		return -EBUSY;
	if ((unsigned int)s->action >= ML_DAMOS__COUNT)
		return -EINVAL;
	if (s->wmarks.metric != ML_DAMOS_WMARK_NONE &&
	    (s->wmarks.metric != ML_DAMOS_WMARK_FREE_MEM_RATE ||
	     s->wmarks.high < s->wmarks.mid || s->wmarks.mid < s->wmarks.low))
		return -EINVAL;
	arr = realloc(ctx->schemes, (ctx->nr_schemes + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	ctx->schemes = arr;
	memset(&arr[ctx->nr_schemes], 0, sizeof(*arr));
	arr[ctx->nr_schemes].s = *s;
	arr[ctx->nr_schemes].charge_target_from = -1;
	/* damon_new_scheme(): watermarks start activated */
	arr[ctx->nr_schemes].activated = true;
	return (int)ctx->nr_schemes++;
}

size_t ml_damon_nr_schemes(const struct ml_damon_ctx *ctx)
{
	return ctx->nr_schemes;
}

int ml_damon_scheme_stat(const struct ml_damon_ctx *ctx, size_t idx,
			 struct ml_damos_stat *st)
{
	if (idx >= ctx->nr_schemes)
		return -EINVAL;
	*st = ctx->schemes[idx].stat;
	return 0;
}

bool ml_damon_scheme_active(const struct ml_damon_ctx *ctx, size_t idx)
{
	return idx < ctx->nr_schemes && ctx->schemes[idx].activated;
}

void ml_damon_set_metric_fn(struct ml_damon_ctx *ctx, ml_damos_metric_fn fn,
			    void *arg)
{
	ctx->metric_fn = fn;
	ctx->metric_arg = arg;
}

int ml_damon_set_proc_root(struct ml_damon_ctx *ctx, const char *proc_root)
{
	char *dup = strdup(proc_root);

	if (!dup)
		return -ENOMEM;
	free(ctx->proc_root);
	ctx->proc_root = dup;
	if (ctx->proc) {
		ml_proc_free(ctx->proc);
		ctx->proc = NULL;
	}
	return 0;
}

void damos_init_intervals(struct ml_damon_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_schemes; i++) {
		struct damos_state *s = &ctx->schemes[i];
		uint64_t apply = s->s.apply_interval_us ?
			s->s.apply_interval_us : ctx->attrs.aggr_us;

		s->next_apply_sis = apply / ctx->attrs.sample_us;
	}
}

/* ---- watermarks ------------------------------------------------------------ */

/* damos_get_wmark_metric_value(): free memory per mille from meminfo */
static int metric_value(struct ml_damon_ctx *ctx,
			enum ml_damos_wmark_metric metric, uint32_t *permille)
{
	struct ml_meminfo mi;
	int err;

	if (ctx->metric_fn)
		return ctx->metric_fn(metric, permille, ctx->metric_arg);
	if (metric != ML_DAMOS_WMARK_FREE_MEM_RATE)
		return -EINVAL;
	if (!ctx->proc) {
		ML_OPTS(ml_proc_opts, o, .proc_root = ctx->proc_root);
		err = ml_proc_new(&o, &ctx->proc);
		if (err)
			return err;
	}
	err = ml_proc_meminfo(ctx->proc, &mi);
	if (err)
		return err;
	if (!mi.v[ML_MI_MEM_TOTAL])
		return -EINVAL;
	*permille = (uint32_t)(mi.v[ML_MI_MEM_FREE] * 1000 /
			       mi.v[ML_MI_MEM_TOTAL]);
	return 0;
}

/*
 * The kernel's damos_wmark_wait_us(). The kernel reads its counters every
 * loop; memlens reads /proc/meminfo only once per wmarks.interval_us and
 * keeps the decision in between.
 */
static uint64_t wmark_wait_us(struct ml_damon_ctx *ctx, struct damos_state *s)
{
	const struct ml_damos_wmarks *w = &s->s.wmarks;
	uint64_t interval = w->interval_us ? w->interval_us : ctx->attrs.aggr_us;
	uint32_t metric;

	if (w->metric == ML_DAMOS_WMARK_NONE)
		return 0;
	if (ctx->now_us < s->next_wmark_check_us)
		return s->activated ? 0 : s->next_wmark_check_us - ctx->now_us;
	s->next_wmark_check_us = ctx->now_us + interval;
	if (metric_value(ctx, w->metric, &metric))
		return 0;
	/* higher than high or lower than low: deactivate */
	if (metric > w->high || w->low > metric) {
		s->activated = false;
		return interval;
	}
	/* inactive and between mid and high: stay inactive */
	if (w->high >= metric && metric >= w->mid && !s->activated)
		return interval;
	s->activated = true;
	return 0;
}

uint64_t damos_wmark_wait_us(struct ml_damon_ctx *ctx)
{
	uint64_t min_wait = 0;

	for (size_t i = 0; i < ctx->nr_schemes; i++) {
		uint64_t w = wmark_wait_us(ctx, &ctx->schemes[i]);

		if (i == 0 || w < min_wait)
			min_wait = w;
	}
	return min_wait;
}

/* ---- scores (ops-common.c) --------------------------------------------------- */

int damon_hot_score(const struct ml_damon_ctx *ctx,
		    const struct damon_region *r, const struct ml_damos *s)
{
	uint32_t max_nr = (uint32_t)(ctx->attrs.aggr_us / ctx->attrs.sample_us);
	unsigned int freq_weight = s->quota.weight_nr_accesses;
	unsigned int age_weight = s->quota.weight_age;
	int freq_subscore, age_in_log, age_subscore;
	uint64_t age_in_sec;
	int64_t hotness;

	freq_subscore = (int)((uint64_t)(r->nr_accesses_bp / 10000) *
			      DAMON_MAX_SUBSCORE / max_nr);
	age_in_sec = (uint64_t)r->age * ctx->attrs.aggr_us / 1000000;
	for (age_in_log = 0; age_in_log < DAMON_MAX_AGE_IN_LOG && age_in_sec;
	     age_in_log++, age_in_sec >>= 1)
		;
	/* if frequency is 0, higher age means it's colder */
	if (freq_subscore == 0)
		age_in_log *= -1;
	/* [-MAX_AGE_IN_LOG, MAX_AGE_IN_LOG] scaled to [0, 100] */
	age_in_log += DAMON_MAX_AGE_IN_LOG;
	age_subscore = age_in_log * DAMON_MAX_SUBSCORE / DAMON_MAX_AGE_IN_LOG / 2;

	hotness = (int64_t)freq_weight * freq_subscore +
		  (int64_t)age_weight * age_subscore;
	if (freq_weight + age_weight)
		hotness /= freq_weight + age_weight;
	hotness = hotness * DAMOS_MAX_SCORE / DAMON_MAX_SUBSCORE;
	if (hotness > DAMOS_MAX_SCORE)
		hotness = DAMOS_MAX_SCORE;
	return hotness < 0 ? 0 : (int)hotness;
}

int damon_cold_score(const struct ml_damon_ctx *ctx,
		     const struct damon_region *r, const struct ml_damos *s)
{
	return DAMOS_MAX_SCORE - damon_hot_score(ctx, r, s);
}

/*
 * The ops' get_scheme_score(): reclaiming actions prefer cold regions,
 * promoting ones hot regions (as paddr's pageout/lru_deprio and
 * lru_prio); the rest score the maximum, so a quota takes regions in
 * address order (as vaddr does for everything but pageout).
 */
static int scheme_score(const struct ml_damon_ctx *ctx,
			const struct damon_region *r, const struct ml_damos *s)
{
	switch (s->action) {
	case ML_DAMOS_COLD:
	case ML_DAMOS_PAGEOUT:
		return damon_cold_score(ctx, r, s);
	case ML_DAMOS_WILLNEED:
	case ML_DAMOS_COLLAPSE:
	case ML_DAMOS_HUGEPAGE:
		return damon_hot_score(ctx, r, s);
	default:
		return DAMOS_MAX_SCORE;
	}
}

/* ---- applying (core.c's DAMOS part) ------------------------------------------ */

static inline uint64_t sz_region(const struct damon_region *r)
{
	return r->end - r->start;
}

static bool pattern_matches(const struct damon_region *r,
			    const struct ml_damos_pattern *p)
{
	uint64_t sz = sz_region(r);
	uint32_t nr_accesses = r->nr_accesses_bp / 10000;

	return p->min_sz_bytes <= sz && sz <= p->max_sz_bytes &&
	       p->min_nr_accesses <= nr_accesses &&
	       nr_accesses <= p->max_nr_accesses &&
	       p->min_age <= r->age && r->age <= p->max_age;
}

static bool valid_target(const struct ml_damon_ctx *ctx,
			 const struct damon_region *r,
			 const struct damos_state *s)
{
	if (!pattern_matches(r, &s->s.pattern) || !s->esz)
		return pattern_matches(r, &s->s.pattern);
	return scheme_score(ctx, r, &s->s) >= (int)s->min_score;
}

/* damos_set_effective_quota() without goals */
static void set_effective_quota(struct damos_state *s)
{
	const struct ml_damos_quota *q = &s->s.quota;
	uint64_t throughput, esz;

	if (!q->ms) {
		s->esz = q->sz_bytes;
		return;
	}
	/* bytes per ms; before any charge, the kernel's guess of 4 MiB */
	if (s->total_charged_ns)
		throughput = s->total_charged_sz * 1000000 /
			     s->total_charged_ns;
	else
		throughput = 4096 * 1024;
	esz = throughput * q->ms;
	if (esz < MIN_REGION)
		esz = MIN_REGION;
	if (q->sz_bytes && q->sz_bytes < esz)
		esz = q->sz_bytes;
	s->esz = esz;
}

/* damos_adjust_quota() */
static void adjust_quota(struct ml_damon_ctx *ctx, struct damos_state *s)
{
	const struct ml_damos_quota *q = &s->s.quota;
	uint64_t cumulated_sz;
	int score, max_score = 0;

	if (!s->esz && !q->ms && !q->sz_bytes)
		return;
	/*
	 * First charge window. The kernel leaves esz at 0 here, which
	 * makes its first window unlimited; memlens limits it too.
	 */
	if (!s->charging) {
		s->charging = true;
		s->charged_from_us = ctx->now_us;
		set_effective_quota(s);
	}
	/* a new charge window starts */
	if (!(s->charged_from_us <= ctx->now_us &&
	      ctx->now_us < s->charged_from_us + q->reset_interval_ms * 1000)) {
		if (s->esz && s->charged_sz >= s->esz)
			s->stat.qt_exceeds++;
		s->total_charged_sz += s->charged_sz;
		s->charged_from_us = ctx->now_us;
		s->charged_sz = 0;
		set_effective_quota(s);
	}

	/* the histogram of scores over matching bytes */
	memset(ctx->score_hist, 0, sizeof(ctx->score_hist));
	for (size_t ti = 0; ti < ctx->nr_targets; ti++) {
		const struct damon_regions *rs = &ctx->targets[ti].regions;

		for (size_t i = 0; i < rs->nr; i++) {
			if (!pattern_matches(&rs->r[i], &s->s.pattern))
				continue;
			score = scheme_score(ctx, &rs->r[i], &s->s);
			ctx->score_hist[score] += sz_region(&rs->r[i]);
			if (score > max_score)
				max_score = score;
		}
	}
	/* the lowest score whose bytes and those above fit the quota */
	for (cumulated_sz = 0, score = max_score;; score--) {
		cumulated_sz += ctx->score_hist[score];
		if (cumulated_sz >= s->esz || !score)
			break;
	}
	s->min_score = (unsigned int)score;
}

/* damos_skip_charged_region(): resume where the last window stopped */
static bool skip_charged(struct damon_target *t, size_t ti, size_t i,
			 struct damos_state *s)
{
	struct damon_regions *rs = &t->regions;
	uint64_t sz_to_skip;
	bool skip = false;

	if (s->charge_target_from >= 0) {
		if ((size_t)s->charge_target_from != ti)
			return true;
		if (s->charge_addr_from && rs->r[i].end <= s->charge_addr_from) {
			skip = true;
			goto out;
		}
		if (s->charge_addr_from && rs->r[i].start < s->charge_addr_from) {
			sz_to_skip = (s->charge_addr_from - rs->r[i].start) &
				     ~(MIN_REGION - 1);
			if (!sz_to_skip) {
				if (sz_region(&rs->r[i]) <= MIN_REGION) {
					skip = true;
					goto out;
				}
				sz_to_skip = MIN_REGION;
			}
			damon_split_region_at(rs, i, sz_to_skip);
			skip = true;
		}
	}
out:
	if (i == rs->nr - 1) {
		s->charge_target_from = -1;
		s->charge_addr_from = 0;
	}
	return skip;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* damos_apply_scheme() */
static void apply_scheme(struct damon_target *t, size_t ti, size_t i,
			 struct damos_state *s)
{
	struct damon_regions *rs = &t->regions;
	uint64_t sz = sz_region(&rs->r[i]), sz_applied = 0, begin;

	if (t->ops->apply) {
		if (s->esz && s->charged_sz + sz > s->esz) {
			sz = (s->esz - s->charged_sz) & ~(MIN_REGION - 1);
			if (!sz)
				goto update_stat;
			if (damon_split_region_at(rs, i, sz))
				goto update_stat;
		}
		sz = sz_region(&rs->r[i]);
		begin = mono_ns();
		if (t->ops->apply(t->state, s->s.action, rs->r[i].start,
				  rs->r[i].end, &sz_applied))
			sz_applied = 0;
		s->total_charged_ns += mono_ns() - begin;
		s->charged_sz += sz;
		if (s->esz && s->charged_sz >= s->esz) {
			s->charge_target_from = (int)ti;
			s->charge_addr_from = rs->r[i].end;
		}
	}
	if (s->s.action != ML_DAMOS_STAT)
		rs->r[i].age = 0;
update_stat:
	s->stat.nr_tried++;
	s->stat.sz_tried += sz;
	if (sz_applied)
		s->stat.nr_applied++;
	s->stat.sz_applied += sz_applied;
}

/* damon_do_apply_schemes() */
static void apply_to_region(struct ml_damon_ctx *ctx, size_t ti, size_t i)
{
	struct damon_target *t = &ctx->targets[ti];

	for (size_t k = 0; k < ctx->nr_schemes; k++) {
		struct damos_state *s = &ctx->schemes[k];

		if (ctx->passed_sis < s->next_apply_sis || !s->activated)
			continue;
		if (s->esz && s->charged_sz >= s->esz)
			continue;
		if (skip_charged(t, ti, i, s))
			continue;
		if (!valid_target(ctx, &t->regions.r[i], s))
			continue;
		apply_scheme(t, ti, i, s);
	}
}

/* kdamond_apply_schemes() */
void damos_apply_all(struct ml_damon_ctx *ctx)
{
	bool has_schemes_to_apply = false;

	for (size_t k = 0; k < ctx->nr_schemes; k++) {
		struct damos_state *s = &ctx->schemes[k];

		if (ctx->passed_sis < s->next_apply_sis || !s->activated)
			continue;
		has_schemes_to_apply = true;
		adjust_quota(ctx, s);
	}
	if (!has_schemes_to_apply)
		return;
	for (size_t ti = 0; ti < ctx->nr_targets; ti++) {
		if (ctx->targets[ti].gone)
			continue;
		/* regions split on the way are visited too, as in the
		 * kernel's damon_for_each_region() */
		for (size_t i = 0; i < ctx->targets[ti].regions.nr; i++)
			apply_to_region(ctx, ti, i);
	}
	for (size_t k = 0; k < ctx->nr_schemes; k++) {
		struct damos_state *s = &ctx->schemes[k];
		uint64_t apply = s->s.apply_interval_us ?
			s->s.apply_interval_us : ctx->attrs.aggr_us;

		if (ctx->passed_sis < s->next_apply_sis)
			continue;
		s->next_apply_sis = ctx->passed_sis + apply / ctx->attrs.sample_us;
	}
}

/* ---- madvise for sources ---------------------------------------------------- */

static int advice_of(int action)
{
	switch (action) {
	case ML_DAMOS_COLD: return MADV_COLD;
	case ML_DAMOS_PAGEOUT: return MADV_PAGEOUT;
	case ML_DAMOS_WILLNEED: return MADV_WILLNEED;
	case ML_DAMOS_COLLAPSE: return MADV_COLLAPSE;
	case ML_DAMOS_HUGEPAGE: return MADV_HUGEPAGE;
	case ML_DAMOS_NOHUGEPAGE: return MADV_NOHUGEPAGE;
	default: return -1;
	}
}

int ml_damos_madvise(pid_t pid, int action, uint64_t start, uint64_t end,
		     uint64_t *applied)
{
	struct iovec iov;
	int advice, pidfd;
	ssize_t n;

	*applied = 0;
	if (action == ML_DAMOS_STAT)
		return 0;
	advice = advice_of(action);
	if (advice < 0 || end <= start)
		return -EINVAL;
	if (pid == 0 || pid == getpid()) {
		if (madvise((void *)(uintptr_t)start, end - start, advice))
			return -errno;
		*applied = end - start;
		return 0;
	}
	/* process_madvise() takes only these for another process */
	if (action == ML_DAMOS_HUGEPAGE || action == ML_DAMOS_NOHUGEPAGE)
		return -EOPNOTSUPP;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	iov.iov_base = (void *)(uintptr_t)start;
	iov.iov_len = end - start;
	n = syscall(SYS_process_madvise, pidfd, &iov, 1, advice, 0);
	if (n < 0) {
		int err = -errno;

		close(pidfd);
		return err;
	}
	close(pidfd);
	*applied = (uint64_t)n;
	return 0;
}

/* ---- the scheme spec parser ------------------------------------------------- */

struct spec {
	const char *p;
	const char *err;
	const struct ml_damon_attrs *attrs;
};

static int bad(struct spec *sp, const char *why)
{
	sp->err = why;
	return -EINVAL;
}

static bool at(struct spec *sp, const char *k)
{
	size_t n = strlen(k);

	if (strncmp(sp->p, k, n))
		return false;
	sp->p += n;
	return true;
}

static bool eat(struct spec *sp, char c)
{
	if (*sp->p != c)
		return false;
	sp->p++;
	return true;
}

/* MIN-MAX where each end is parsed by @one; "max" is @maxval */
static bool parse_range(struct spec *sp,
			bool (*one)(struct spec *, uint64_t *),
			uint64_t maxval, uint64_t *lo, uint64_t *hi)
{
	if (!one(sp, lo) || !eat(sp, '-'))
		return false;
	if (at(sp, "max"))
		*hi = maxval;
	else if (!one(sp, hi))
		return false;
	return *lo <= *hi;
}

static bool one_size(struct spec *sp, uint64_t *v)
{
	return damon_parse_size(&sp->p, v);
}

static bool one_plain(struct spec *sp, uint64_t *v)
{
	const char *p = sp->p;

	if (*p < '0' || *p > '9')
		return false;
	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*v > 100000000)
			return false;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	sp->p = p;
	return true;
}

/* an age: aggregation intervals, or a time converted by aggr_us */
static bool one_age(struct spec *sp, uint64_t *v)
{
	const char *p = sp->p;
	uint64_t us;

	if (!one_plain(sp, v))
		return false;
	if (*sp->p == 's' || *sp->p == 'm' || *sp->p == 'u') {
		sp->p = p;
		if (!damon_parse_time(&sp->p, &us))
			return false;
		*v = us / sp->attrs->aggr_us;
	}
	return true;
}

static bool one_pct(struct spec *sp, uint64_t *v)
{
	uint32_t max_nr = (uint32_t)(sp->attrs->aggr_us / sp->attrs->sample_us);

	if (!one_plain(sp, v) || *v > 100)
		return false;
	/* percent of max_nr_accesses, rounded to the nearest count */
	*v = (*v * max_nr + 50) / 100;
	return true;
}

static bool parse_per(struct spec *sp, uint64_t *interval_ms)
{
	uint64_t us;

	if (!eat(sp, '/'))
		return true;
	if (!damon_parse_time(&sp->p, &us) || us < 1000)
		return false;
	*interval_ms = us / 1000;
	return true;
}

static bool parse_u32_colon3(struct spec *sp, uint32_t v[3])
{
	for (int i = 0; i < 3; i++) {
		uint64_t x;

		if ((i && !eat(sp, ':')) || !one_plain(sp, &x) || x > 1000000)
			return false;
		v[i] = (uint32_t)x;
	}
	return true;
}

static int parse_key(struct spec *sp, struct ml_damos *s)
{
	uint64_t lo, hi;
	uint32_t v[3];

	if (at(sp, "sz=")) {
		if (!parse_range(sp, one_size, UINT64_MAX, &lo, &hi))
			return bad(sp, "sz=MIN-MAX (sizes, or max)");
		s->pattern.min_sz_bytes = lo;
		s->pattern.max_sz_bytes = hi;
	} else if (at(sp, "nr=")) {
		if (!parse_range(sp, one_plain, UINT32_MAX, &lo, &hi))
			return bad(sp, "nr=MIN-MAX (accesses per aggregation)");
		s->pattern.min_nr_accesses = (uint32_t)lo;
		s->pattern.max_nr_accesses = (uint32_t)(hi > UINT32_MAX ? UINT32_MAX : hi);
	} else if (at(sp, "freq=")) {
		if (!parse_range(sp, one_pct, UINT32_MAX, &lo, &hi))
			return bad(sp, "freq=MIN-MAX (percent, 0-100)");
		s->pattern.min_nr_accesses = (uint32_t)lo;
		s->pattern.max_nr_accesses = (uint32_t)(hi > UINT32_MAX ? UINT32_MAX : hi);
	} else if (at(sp, "age=")) {
		if (!parse_range(sp, one_age, UINT32_MAX, &lo, &hi))
			return bad(sp, "age=MIN-MAX (aggregations or times)");
		s->pattern.min_age = (uint32_t)(lo > UINT32_MAX ? UINT32_MAX : lo);
		s->pattern.max_age = (uint32_t)(hi > UINT32_MAX ? UINT32_MAX : hi);
	} else if (at(sp, "quota_ms=")) {
		if (!one_plain(sp, &s->quota.ms) || !s->quota.ms ||
		    !parse_per(sp, &s->quota.reset_interval_ms))
			return bad(sp, "quota_ms=MS[/INTERVAL]");
	} else if (at(sp, "quota=")) {
		if (!damon_parse_size(&sp->p, &s->quota.sz_bytes) ||
		    !s->quota.sz_bytes ||
		    !parse_per(sp, &s->quota.reset_interval_ms))
			return bad(sp, "quota=SIZE[/INTERVAL]");
	} else if (at(sp, "weights=")) {
		if (!parse_u32_colon3(sp, v))
			return bad(sp, "weights=SIZE:FREQ:AGE");
		s->quota.weight_sz = v[0];
		s->quota.weight_nr_accesses = v[1];
		s->quota.weight_age = v[2];
	} else if (at(sp, "wmarks=")) {
		if (!parse_u32_colon3(sp, v) || v[0] < v[1] || v[1] < v[2] ||
		    v[0] > 1000)
			return bad(sp, "wmarks=HIGH:MID:LOW (per mille, high >= mid >= low)");
		s->wmarks.metric = ML_DAMOS_WMARK_FREE_MEM_RATE;
		s->wmarks.high = v[0];
		s->wmarks.mid = v[1];
		s->wmarks.low = v[2];
		if (eat(sp, '/') &&
		    (!damon_parse_time(&sp->p, &s->wmarks.interval_us) ||
		     !s->wmarks.interval_us))
			return bad(sp, "wmarks=H:M:L/INTERVAL");
	} else if (at(sp, "apply=")) {
		if (!damon_parse_time(&sp->p, &s->apply_interval_us) ||
		    !s->apply_interval_us)
			return bad(sp, "apply=INTERVAL");
	} else {
		return bad(sp, "unknown key (sz, nr, freq, age, quota, quota_ms, weights, wmarks, apply)");
	}
	if (*sp->p && *sp->p != ',')
		return bad(sp, "junk after a value");
	return 0;
}

int ml_damos_parse(const char *spec, const struct ml_damon_attrs *attrs,
		   struct ml_damos *out, const char **err)
{
	struct ml_damon_attrs def;
	struct spec sp = { .p = spec };
	enum ml_damos_action action;
	char name[16];
	size_t n;
	int rc = 0;

	if (!attrs) {
		ml_damon_attrs_default(&def);
		attrs = &def;
	}
	sp.attrs = attrs;
	n = strcspn(spec, ":");
	if (n >= sizeof(name)) {
		rc = bad(&sp, "unknown action");
		goto out;
	}
	memcpy(name, spec, n);
	name[n] = '\0';
	if (ml_damos_action_parse(name, &action)) {
		rc = bad(&sp, "unknown action (stat, cold, pageout, willneed, collapse, hugepage, nohugepage)");
		goto out;
	}
	ml_damos_init(out, action);
	sp.p = spec + n;
	if (!*sp.p)
		goto out;
	sp.p++;
	do {
		rc = parse_key(&sp, out);
	} while (!rc && eat(&sp, ','));
out:
	if (rc && err)
		*err = sp.err;
	return rc;
}
