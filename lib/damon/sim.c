// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sim.c - the synthetic access source: an address space with gaps and a
 * scripted access pattern over time (the script format is in damon.h).
 * It answers check() from the pattern at the context's time with its own
 * seeded PRNG, so runs are reproducible and tests know the truth.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SIM_DEFAULT_BASE 0x100000000000ULL
#define SIM_DEFAULT_SIZE (64ULL << 30)

/* ---- the script parser ----------------------------------------------------- */

struct cursor {
	const char *p;
	const char *err;
};

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';' ||
	       c == ',';
}

static bool parse_num(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		int d, n = 0;

		for (p += 2;; p++, n++) {
			char c = *p;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			if (v >> 60)
				return false;
			v = v * 16 + (uint64_t)d;
		}
		if (!n)
			return false;
	} else {
		if (*p < '0' || *p > '9')
			return false;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (v > (UINT64_MAX - 9) / 10)
				return false;
			v = v * 10 + (uint64_t)(*p - '0');
		}
	}
	*pp = p;
	*out = v;
	return true;
}

static bool mul_ok(uint64_t *v, uint64_t m)
{
	if (m && *v > UINT64_MAX / m)
		return false;
	*v *= m;
	return true;
}

/* A size: NUMBER[K|M|G|T] (binary units, optional "iB"/"B"). */
bool damon_parse_size(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v, m = 1;

	if (!parse_num(&p, &v))
		return false;
	switch (*p) {
	case 'k': case 'K': m = 1ULL << 10; p++; break;
	case 'm': case 'M': m = 1ULL << 20; p++; break;
	case 'g': case 'G': m = 1ULL << 30; p++; break;
	case 't': case 'T': m = 1ULL << 40; p++; break;
	}
	if (m > 1 && p[0] == 'i' && p[1] == 'B')
		p += 2;
	else if (m > 1 && p[0] == 'B')
		p++;
	if (!mul_ok(&v, m))
		return false;
	*pp = p;
	*out = v;
	return true;
}

/* A time: NUMBER[us|ms|s|m], bare numbers are microseconds. */
bool damon_parse_time(const char **pp, uint64_t *out_us)
{
	const char *p = *pp;
	uint64_t v, m = 1;

	if (!parse_num(&p, &v))
		return false;
	if (p[0] == 'u' && p[1] == 's') {
		p += 2;
	} else if (p[0] == 'm' && p[1] == 's') {
		m = 1000;
		p += 2;
	} else if (p[0] == 's') {
		m = 1000000;
		p++;
	} else if (p[0] == 'm' && p[1] == 'i' && p[2] == 'n') {
		m = 60000000;
		p += 3;
	}
	if (!mul_ok(&v, m))
		return false;
	*pp = p;
	*out_us = v;
	return true;
}

/* A probability in [0, 1]: "1", "0.25", ".5" */
static bool parse_prob(const char **pp, double *out)
{
	const char *p = *pp;
	double v = 0, scale = 1;
	bool digits = false;

	for (; *p >= '0' && *p <= '9'; p++, digits = true)
		v = v * 10 + (*p - '0');
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true) {
			scale /= 10;
			v += (*p - '0') * scale;
		}
	}
	if (!digits || v > 1.0)
		return false;
	*pp = p;
	*out = v;
	return true;
}

static bool at_end_of_item(const char *p)
{
	return !*p || is_sep(*p) || *p == '#';
}

/* Consume @ch if it is next (never steps over the terminating NUL). */
static bool eat(struct cursor *c, char ch)
{
	if (*c->p != ch)
		return false;
	c->p++;
	return true;
}

static int fail(struct cursor *c, const char *why)
{
	c->err = why;
	return -EINVAL;
}

static int parse_gap(struct cursor *c, struct ml_damon_sim_script *s)
{
	struct ml_damon_sim_gap g = { .to_us = UINT64_MAX };
	uint64_t len;

	if (s->nr_gaps == ML_DAMON_SIM_MAX_GAPS)
		return fail(c, "too many gaps");
	if (!damon_parse_size(&c->p, &g.start) || !eat(c, '+') ||
	    !damon_parse_size(&c->p, &len) || !len)
		return fail(c, "a gap is gap=OFFSET+LENGTH[@FROM[-TO]]");
	if (g.start + len < g.start)
		return fail(c, "a gap overflows");
	g.end = g.start + len;
	if (*c->p == '@') {
		c->p++;
		if (!damon_parse_time(&c->p, &g.from_us))
			return fail(c, "a gap's time is @FROM[-TO]");
		if (*c->p == '-') {
			c->p++;
			if (!damon_parse_time(&c->p, &g.to_us) ||
			    g.to_us <= g.from_us)
				return fail(c, "a gap's TO must follow FROM");
		}
	}
	s->gaps[s->nr_gaps++] = g;
	return 0;
}

static int parse_area(struct cursor *c, struct ml_damon_sim_script *s)
{
	struct ml_damon_sim_phase *ph;
	struct ml_damon_sim_area a;

	if (!s->nr_phases) {
		/* items before the first @TIME belong to a phase at 0 */
		memset(&s->phases[0], 0, sizeof(s->phases[0]));
		s->nr_phases = 1;
	}
	ph = &s->phases[s->nr_phases - 1];
	if (ph->nr_areas == ML_DAMON_SIM_MAX_AREAS)
		return fail(c, "too many areas in a phase");
	if (!damon_parse_size(&c->p, &a.start) || !eat(c, '-') ||
	    !damon_parse_size(&c->p, &a.end) || !eat(c, ':') ||
	    !parse_prob(&c->p, &a.prob))
		return fail(c, "an area is START-END:PROBABILITY (0..1)");
	if (a.end <= a.start)
		return fail(c, "an area's END must exceed its START");
	ph->areas[ph->nr_areas++] = a;
	return 0;
}

static int parse_phase(struct cursor *c, struct ml_damon_sim_script *s)
{
	uint64_t from;

	c->p++;
	if (!damon_parse_time(&c->p, &from))
		return fail(c, "a phase starts with @TIME");
	if (s->nr_phases && from < s->phases[s->nr_phases - 1].from_us)
		return fail(c, "phases must be in time order");
	if (s->nr_phases && from == s->phases[s->nr_phases - 1].from_us &&
	    !s->phases[s->nr_phases - 1].nr_areas)
		return 0;	/* "@0" after implicit phase 0: the same */
	if (s->nr_phases == ML_DAMON_SIM_MAX_PHASES)
		return fail(c, "too many phases");
	memset(&s->phases[s->nr_phases], 0, sizeof(s->phases[0]));
	s->phases[s->nr_phases++].from_us = from;
	return 0;
}

static bool key(struct cursor *c, const char *k)
{
	size_t n = strlen(k);

	if (strncmp(c->p, k, n))
		return false;
	c->p += n;
	return true;
}

int ml_damon_sim_parse(const char *text, struct ml_damon_sim_script *s,
		       const char **err)
{
	struct cursor c = { .p = text ? text : "" };
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->base = SIM_DEFAULT_BASE;
	s->size = SIM_DEFAULT_SIZE;
	s->seed = 1;
	while (!rc) {
		while (is_sep(*c.p))
			c.p++;
		if (!*c.p)
			break;
		if (*c.p == '#') {
			while (*c.p && *c.p != '\n')
				c.p++;
			continue;
		}
		if (key(&c, "base=")) {
			if (!damon_parse_size(&c.p, &s->base))
				rc = fail(&c, "base=ADDRESS");
		} else if (key(&c, "size=")) {
			if (!damon_parse_size(&c.p, &s->size) ||
			    s->size < ML_DAMON_MIN_REGION)
				rc = fail(&c, "size=SIZE, at least a page");
		} else if (key(&c, "seed=")) {
			if (!parse_num(&c.p, &s->seed))
				rc = fail(&c, "seed=NUMBER");
		} else if (key(&c, "gap=")) {
			rc = parse_gap(&c, s);
		} else if (*c.p == '@') {
			rc = parse_phase(&c, s);
		} else if (*c.p >= '0' && *c.p <= '9') {
			rc = parse_area(&c, s);
		} else {
			rc = fail(&c, "unknown item (base=, size=, seed=, gap=, @TIME, START-END:P)");
		}
		if (!rc && !at_end_of_item(c.p))
			rc = fail(&c, "junk after an item");
	}
	if (!rc && s->base + s->size < s->base)
		rc = fail(&c, "base + size overflows");
	for (size_t i = 0; !rc && i < s->nr_gaps; i++)
		if (s->gaps[i].end > s->size)
			rc = fail(&c, "a gap ends beyond the space");
	if (rc && err)
		*err = c.err;
	return rc;
}

/* ---- the pattern ----------------------------------------------------------- */

static bool gap_active(const struct ml_damon_sim_gap *g, uint64_t now_us)
{
	return g->from_us <= now_us && now_us < g->to_us;
}

double ml_damon_sim_prob(const struct ml_damon_sim_script *s, uint64_t now_us,
			 uint64_t off)
{
	const struct ml_damon_sim_phase *ph = NULL;

	if (off >= s->size)
		return 0;
	for (size_t i = 0; i < s->nr_gaps; i++)
		if (gap_active(&s->gaps[i], now_us) &&
		    s->gaps[i].start <= off && off < s->gaps[i].end)
			return 0;
	for (size_t i = 0; i < s->nr_phases; i++)
		if (s->phases[i].from_us <= now_us)
			ph = &s->phases[i];
	if (!ph)
		return 0;
	/* later areas override earlier ones */
	for (size_t i = ph->nr_areas; i-- > 0;)
		if (ph->areas[i].start <= off && off < ph->areas[i].end)
			return ph->areas[i].prob;
	return 0;
}

/* ---- the source ------------------------------------------------------------ */

struct sim_state {
	struct ml_damon_sim_script script;
	struct damon_rng rng;
};

static const char sim_default_script[] =
	"size=64G gap=16G+1G gap=40G+2G "
	"@0 0-2G:0.9 8G-16G:0.2 "
	"@30s 0-2G:0.9 44G-46G:0.9";

static int sim_init(void **state, pid_t pid, const char *arg,
		    const char **why)
{
	struct sim_state *st;
	int err;

	(void)pid;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	err = ml_damon_sim_parse(arg && *arg ? arg : sim_default_script,
				 &st->script, why);
	if (err) {
		free(st);
		return err;
	}
	damon_rng_seed(&st->rng, st->script.seed);
	*state = st;
	return 0;
}

static int cmp_gap(const void *a, const void *b)
{
	const struct ml_damon_sim_gap *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

static int sim_ranges(void *state, uint64_t now_us, struct ml_damon_range *buf,
		      size_t cap, size_t *nr)
{
	const struct ml_damon_sim_script *s = &((struct sim_state *)state)->script;
	struct ml_damon_sim_gap gaps[ML_DAMON_SIM_MAX_GAPS];
	size_t nr_gaps = 0, n = 0;
	uint64_t pos = 0;

	for (size_t i = 0; i < s->nr_gaps; i++)
		if (gap_active(&s->gaps[i], now_us))
			gaps[nr_gaps++] = s->gaps[i];
	qsort(gaps, nr_gaps, sizeof(gaps[0]), cmp_gap);
	/* the space minus the (possibly overlapping) gaps */
	for (size_t i = 0; i <= nr_gaps; i++) {
		uint64_t end = i < nr_gaps ? gaps[i].start : s->size;

		if (end > pos) {
			if (n < cap) {
				buf[n].start = s->base + pos;
				buf[n].end = s->base + end;
			}
			n++;
		}
		if (i < nr_gaps && gaps[i].end > pos)
			pos = gaps[i].end;
	}
	*nr = n;
	return 0;
}

static int sim_check(void *state, uint64_t now_us, const uint64_t *addrs,
		     size_t nr, bool *accessed)
{
	struct sim_state *st = state;

	for (size_t i = 0; i < nr; i++) {
		double p = addrs[i] < st->script.base ? 0 :
			ml_damon_sim_prob(&st->script, now_us,
					  addrs[i] - st->script.base);
		/* 53 random bits as a double in [0, 1) */
		double u = (double)(damon_rng_next(&st->rng) >> 11) *
			   0x1.0p-53;

		accessed[i] = u < p;
	}
	return 0;
}

static int sim_apply(void *state, int action, uint64_t start, uint64_t end,
		     uint64_t *applied)
{
	(void)state;
	/* nothing to act on: every action "applies" to its whole range,
	 * except stat, which never applies anything (as the kernel) */
	*applied = action == ML_DAMOS_STAT ? 0 : end - start;
	return 0;
}

static void sim_fini(void *state)
{
	free(state);
}

const struct ml_damon_ops ml_damon_sim_ops = {
	.name = "sim",
	.sees = ML_DAMON_SEES_READS | ML_DAMON_SEES_WRITES,
	.init = sim_init,
	.ranges = sim_ranges,
	.check = sim_check,
	.apply = sim_apply,
	.fini = sim_fini,
};
