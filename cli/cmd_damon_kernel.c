// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens damon start|status|stop: the kernel's DAMON through its sysfs
 * interface (lib/damon/sysfs.c). status only reads and shows every kdamond,
 * marking the ones memlens did not start; start and stop write, and stop
 * touches only what memlens started unless --force names a kdamond.
 *
 * What memlens started is kept in a state file (default
 * /run/memlens/damon-kernel): one line per kdamond, "ADMIN-PATH INDEX PID
 * START-TIME". A kdamond is memlens's while that line names its index and
 * its current thread pid; a stopped one stays memlens's until stop clears
 * the line, so that its configuration may be replaced without --replace.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <memlens/damon_sysfs.h>

#include "cli.h"

#define DEFAULT_STATE_FILE "/run/memlens/damon-kernel"
#define MAX_SCHEMES 64
#define MAX_FILTERS 16

/* ---- the state file: which kdamonds memlens started ---------------------- */

struct owned {
	char path[512];
	unsigned int index;
	pid_t pid;
	long long started;
};

struct owners {
	struct owned *e;
	size_t nr;
	int fd;		/* locked while a command writes */
};

static int mkdir_parents(const char *file)
{
	char dir[512], *p;

	snprintf(dir, sizeof(dir), "%s", file);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = 0;
	for (p = strchr(dir + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = 0;
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		if (!p)
			return 0;
		*p = '/';
	}
}

/* Read the state file; with @lock, create it and hold an exclusive lock. */
static int owners_load(const char *file, bool lock, struct owners *o)
{
	char line[700];
	FILE *f;
	int err;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (lock) {
		err = mkdir_parents(file);
		if (err)
			return err;
		o->fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (o->fd < 0)
			return -errno;
		if (flock(o->fd, LOCK_EX))
			return -errno;
	}
	f = fopen(file, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		struct owned e = { 0 };
		int pid;
		void *n;

		if (sscanf(line, "%511s %u %d %lld", e.path, &e.index, &pid,
			   &e.started) != 4)
			continue;	/* not ours to judge: skip */
		e.pid = pid;
		n = realloc(o->e, (o->nr + 1) * sizeof(*o->e));
		if (!n) {
			fclose(f);
			return -ENOMEM;
		}
		o->e = n;
		o->e[o->nr++] = e;
	}
	fclose(f);
	return 0;
}

static int owners_save(const char *file, const struct owners *o)
{
	char tmp[600];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	for (size_t i = 0; i < o->nr; i++)
		fprintf(f, "%s %u %d %lld\n", o->e[i].path, o->e[i].index,
			(int)o->e[i].pid, o->e[i].started);
	if (fclose(f) || rename(tmp, file))
		return -errno;
	return 0;
}

static void owners_free(struct owners *o)
{
	if (o->fd >= 0)
		close(o->fd);
	free(o->e);
}

static struct owned *owner_of(struct owners *o, const char *path,
			      unsigned int index)
{
	for (size_t i = 0; i < o->nr; i++)
		if (o->e[i].index == index && !strcmp(o->e[i].path, path))
			return &o->e[i];
	return NULL;
}

static void owner_drop(struct owners *o, const char *path, unsigned int index)
{
	struct owned *e = owner_of(o, path, index);

	if (e)
		*e = o->e[--o->nr];
}

/* memlens's: named in the state file, and still the thread it started */
static bool is_ours(struct owners *o, const char *path,
		    const struct ml_kdamond *k)
{
	struct owned *e = owner_of(o, path, k->index);

	return e && (!k->running || e->pid == k->pid);
}

/* "memlens", "foreign", or "none" for a stopped kdamond without
 * configuration (free for anyone's next start) */
static const char *owner_word(struct owners *o, const char *path,
			      const struct ml_kdamond *k)
{
	if (is_ours(o, path, k))
		return "memlens";
	return k->running || k->nr_contexts ? "foreign" : "none";
}

static int open_sysfs(struct cli_ctx *ctx, struct ml_damon_sysfs **s)
{
	ML_OPTS(ml_damon_sysfs_opts, o, .proc = ctx->proc);
	char path[600];
	int err = ml_damon_sysfs_open(&o, s);

	if (!err)
		return 0;
	snprintf(path, sizeof(path), "%s/kernel/mm/damon/admin",
		 ml_proc_sys_root(ctx->proc));
	if (err == -ENOENT)
		cli_errorf("%s: no DAMON sysfs interface in this kernel "
			   "(CONFIG_DAMON_SYSFS, Linux 5.18+)", path);
	else
		cli_error(path, err);
	return EXIT_FAILURE;
}

/* ---- formatting ---------------------------------------------------------- */

static const char *fmt_us(char buf[32], uint64_t us)
{
	if (us && !(us % 1000000))
		snprintf(buf, 32, "%" PRIu64 "s", us / 1000000);
	else if (us && !(us % 1000))
		snprintf(buf, 32, "%" PRIu64 "ms", us / 1000);
	else
		snprintf(buf, 32, "%" PRIu64 "us", us);
	return buf;
}

static const char *fmt_max(char buf[32], uint64_t v, uint64_t max, bool size)
{
	if (v >= max)
		return "max";
	if (size)
		return cli_size(buf, v, false);
	snprintf(buf, 32, "%" PRIu64, v);
	return buf;
}

static void print_scheme(const struct ml_kdamond_scheme *sc, size_t i)
{
	char a[32], b[32], c[32], d[32], e[32], g[32];

	printf("    scheme %zu: %s  size %s..%s  nr_accesses %s..%s  age %s..%s%s\n",
	       i, sc->action, fmt_max(a, sc->sz.min, UINT64_MAX, true),
	       fmt_max(b, sc->sz.max, UINT64_MAX, true),
	       fmt_max(c, sc->nr_accesses.min, UINT32_MAX, false),
	       fmt_max(d, sc->nr_accesses.max, UINT32_MAX, false),
	       fmt_max(e, sc->age.min, UINT32_MAX, false),
	       fmt_max(g, sc->age.max, UINT32_MAX, false),
	       ml_kdamond_scheme_is_stat_all(sc) ? "  (every region)" : "");
	if (sc->quota_ms || sc->quota_bytes)
		printf("      quota %s, %s per %s; weights size %u, "
		       "nr_accesses %u, age %u (permil)\n",
		       fmt_us(a, sc->quota_ms * 1000),
		       cli_size(b, sc->quota_bytes, false),
		       fmt_us(c, sc->quota_reset_interval_ms * 1000),
		       sc->weight_sz_permil, sc->weight_nr_accesses_permil,
		       sc->weight_age_permil);
	if (sc->wmark_metric[0] && strcmp(sc->wmark_metric, "none"))
		printf("      watermarks %s every %s: high %" PRIu64 " mid %"
		       PRIu64 " low %" PRIu64 "\n", sc->wmark_metric,
		       fmt_us(a, sc->wmark_interval_us), sc->wmark_high,
		       sc->wmark_mid, sc->wmark_low);
	for (size_t j = 0; j < sc->nr_filters; j++) {
		const struct ml_kdamond_filter *f = &sc->filters[j];

		printf("      filter %s/%zu: %s%s", f->set, j, f->matching ?
		       "" : "not ", f->type);
		if (!strcmp(f->type, "memcg"))
			printf(" %s", f->memcg_path);
		else if (!strcmp(f->type, "addr"))
			printf(" 0x%" PRIx64 "-0x%" PRIx64, f->addr_start,
			       f->addr_end);
		else if (!strcmp(f->type, "target"))
			printf(" %d", f->target_idx);
		printf(" -> %s\n", f->allow == 1 ? "allow" : "reject");
	}
	printf("      stats: tried %" PRIu64 " (%s), applied %" PRIu64
	       " (%s), quota exceeded %" PRIu64 "; tried regions %zu (%s)\n",
	       sc->stats.nr_tried, cli_size(a, sc->stats.sz_tried, false),
	       sc->stats.nr_applied, cli_size(b, sc->stats.sz_applied, false),
	       sc->stats.qt_exceeds, sc->nr_tried_regions,
	       cli_size(c, sc->tried_total_bytes, false));
}

static void print_ctx(const struct ml_kdamond_ctx *c, size_t i)
{
	char a[32], b[32], d[32];

	printf("  context %zu: operations %s (available: %s)\n", i,
	       c->operations[0] ? c->operations : "?",
	       c->avail_operations[0] ? c->avail_operations : "none");
	printf("    sampling %s, aggregation %s, update %s, regions %" PRIu64
	       "..%" PRIu64 "\n", fmt_us(a, c->sample_us),
	       fmt_us(b, c->aggr_us), fmt_us(d, c->update_us),
	       c->min_nr_regions, c->max_nr_regions);
	for (size_t t = 0; t < c->nr_targets; t++) {
		const struct ml_kdamond_target *tg = &c->targets[t];

		printf("    target %zu:", t);
		if (strcmp(c->operations, "paddr"))
			printf(" pid %d", (int)tg->pid);
		else
			printf(" physical memory");
		for (size_t r = 0; r < tg->nr_regions; r++)
			printf("%s 0x%" PRIx64 "-0x%" PRIx64 " (%s)",
			       r ? "," : "", tg->regions[r].start,
			       tg->regions[r].end,
			       cli_size(a, tg->regions[r].end -
					   tg->regions[r].start, false));
		printf("\n");
	}
	for (size_t s = 0; s < c->nr_schemes; s++)
		print_scheme(&c->schemes[s], s);
}

static void json_minmax(struct ml_json *j, const char *k,
			struct ml_kdamond_minmax m)
{
	ml_json_key(j, k);
	ml_json_object_begin(j);
	ml_json_kv_u64(j, "min", m.min);
	ml_json_kv_u64(j, "max", m.max);
	ml_json_object_end(j);
}

static void json_scheme(struct ml_json *j, const struct ml_kdamond_scheme *sc)
{
	ml_json_object_begin(j);
	ml_json_kv_str(j, "action", sc->action);
	ml_json_kv_u64(j, "apply_interval_us", sc->apply_interval_us);
	ml_json_kv_i64(j, "target_nid", sc->target_nid);
	json_minmax(j, "sz", sc->sz);
	json_minmax(j, "nr_accesses", sc->nr_accesses);
	json_minmax(j, "age", sc->age);
	ml_json_key(j, "every_region");
	ml_json_bool(j, ml_kdamond_scheme_is_stat_all(sc));
	ml_json_key(j, "quotas");
	ml_json_object_begin(j);
	ml_json_kv_u64(j, "ms", sc->quota_ms);
	ml_json_kv_u64(j, "bytes", sc->quota_bytes);
	ml_json_kv_u64(j, "reset_interval_ms", sc->quota_reset_interval_ms);
	ml_json_kv_u64(j, "effective_bytes", sc->quota_effective_bytes);
	ml_json_kv_u64(j, "sz_permil", sc->weight_sz_permil);
	ml_json_kv_u64(j, "nr_accesses_permil", sc->weight_nr_accesses_permil);
	ml_json_kv_u64(j, "age_permil", sc->weight_age_permil);
	ml_json_object_end(j);
	ml_json_key(j, "watermarks");
	ml_json_object_begin(j);
	ml_json_kv_str(j, "metric", sc->wmark_metric);
	ml_json_kv_u64(j, "interval_us", sc->wmark_interval_us);
	ml_json_kv_u64(j, "high", sc->wmark_high);
	ml_json_kv_u64(j, "mid", sc->wmark_mid);
	ml_json_kv_u64(j, "low", sc->wmark_low);
	ml_json_object_end(j);
	ml_json_key(j, "filters");
	ml_json_array_begin(j);
	for (size_t i = 0; i < sc->nr_filters; i++) {
		const struct ml_kdamond_filter *f = &sc->filters[i];

		ml_json_object_begin(j);
		ml_json_kv_str(j, "set", f->set);
		ml_json_kv_str(j, "type", f->type);
		ml_json_key(j, "matching");
		ml_json_bool(j, f->matching);
		ml_json_key(j, "allow");
		ml_json_bool(j, f->allow == 1);
		ml_json_kv_str(j, "memcg_path", f->memcg_path);
		ml_json_kv_u64(j, "addr_start", f->addr_start);
		ml_json_kv_u64(j, "addr_end", f->addr_end);
		ml_json_kv_i64(j, "target_idx", f->target_idx);
		ml_json_object_end(j);
	}
	ml_json_array_end(j);
	ml_json_key(j, "stats");
	ml_json_object_begin(j);
	ml_json_kv_u64(j, "nr_tried", sc->stats.nr_tried);
	ml_json_kv_u64(j, "sz_tried", sc->stats.sz_tried);
	ml_json_kv_u64(j, "nr_applied", sc->stats.nr_applied);
	ml_json_kv_u64(j, "sz_applied", sc->stats.sz_applied);
	ml_json_kv_u64(j, "qt_exceeds", sc->stats.qt_exceeds);
	ml_json_object_end(j);
	ml_json_kv_u64(j, "tried_total_bytes", sc->tried_total_bytes);
	ml_json_key(j, "tried_regions");
	ml_json_array_begin(j);
	for (size_t i = 0; i < sc->nr_tried_regions; i++) {
		const struct ml_damon_region *r = &sc->tried_regions[i];

		ml_json_object_begin(j);
		ml_json_kv_u64(j, "start", r->start);
		ml_json_kv_u64(j, "end", r->end);
		ml_json_kv_u64(j, "nr_accesses", r->nr_accesses);
		ml_json_kv_u64(j, "age", r->age);
		ml_json_object_end(j);
	}
	ml_json_array_end(j);
	ml_json_object_end(j);
}

static void json_ctx(struct ml_json *j, const struct ml_kdamond_ctx *c)
{
	ml_json_object_begin(j);
	ml_json_kv_str(j, "operations", c->operations);
	ml_json_kv_str(j, "avail_operations", c->avail_operations);
	ml_json_kv_u64(j, "sample_us", c->sample_us);
	ml_json_kv_u64(j, "aggr_us", c->aggr_us);
	ml_json_kv_u64(j, "update_us", c->update_us);
	ml_json_kv_u64(j, "min_nr_regions", c->min_nr_regions);
	ml_json_kv_u64(j, "max_nr_regions", c->max_nr_regions);
	ml_json_key(j, "targets");
	ml_json_array_begin(j);
	for (size_t t = 0; t < c->nr_targets; t++) {
		ml_json_object_begin(j);
		ml_json_kv_i64(j, "pid", c->targets[t].pid);
		ml_json_key(j, "regions");
		ml_json_array_begin(j);
		for (size_t r = 0; r < c->targets[t].nr_regions; r++) {
			ml_json_object_begin(j);
			ml_json_kv_u64(j, "start", c->targets[t].regions[r].start);
			ml_json_kv_u64(j, "end", c->targets[t].regions[r].end);
			ml_json_object_end(j);
		}
		ml_json_array_end(j);
		ml_json_object_end(j);
	}
	ml_json_array_end(j);
	ml_json_key(j, "schemes");
	ml_json_array_begin(j);
	for (size_t s = 0; s < c->nr_schemes; s++)
		json_scheme(j, &c->schemes[s]);
	ml_json_array_end(j);
	ml_json_object_end(j);
}

/* ---- status ------------------------------------------------------------------ */

static void status_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens damon status [OPTIONS]\n"
		"\n"
		"Every kdamond of the kernel's DAMON (sysfs interface), running or not, with\n"
		"its operations, targets, attributes and schemes, and whether memlens started\n"
		"it ('memlens') or not ('foreign'). Only reads: scheme stats and tried\n"
		"regions are as of their last update (memlens damon record --kernel, damo).\n"
		"\n"
		"Options:\n"
		"      --state-file FILE  what memlens started (default " DEFAULT_STATE_FILE ")\n"
		"  -j, --json             JSON, sizes in bytes, times in microseconds\n"
		"  -h, --help             show this help\n");
}

enum { OPT_STATE_FILE = 256, OPT_NO_STAT, OPT_REPLACE, OPT_KDAMOND, OPT_FORCE,
       OPT_KEEP, OPT_MIN_NR, OPT_MAX_NR, OPT_D_ACTION, OPT_D_SZ, OPT_D_NR,
       OPT_D_AGE, OPT_D_APPLY, OPT_D_NID, OPT_D_QUOTAS, OPT_D_WEIGHTS,
       OPT_D_WMARKS, OPT_D_FILTER };

int cmd_damon_status(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	const char *state_file = DEFAULT_STATE_FILE, *path;
	struct ml_damon_sysfs *s;
	struct ml_damon_module mods[8];
	size_t nr_mods = 0;
	struct ml_kdamonds k;
	struct owners own;
	bool json = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE_FILE: state_file = optarg; break;
		case 'j': json = true; break;
		case 'h': status_usage(stdout); return 0;
		default: status_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("damon status", "unexpected argument '%s'",
				       argv[optind]);
	if (open_sysfs(ctx, &s))
		return EXIT_FAILURE;
	path = ml_damon_sysfs_path(s);
	err = ml_damon_sysfs_read(s, &k);
	if (err) {
		cli_errorf("%s/kdamonds: %s%s", path, strerror(-err),
			   err == -EACCES ? " (DAMON's files are root's)" : "");
		ml_damon_sysfs_close(s);
		return EXIT_FAILURE;
	}
	if (owners_load(state_file, false, &own))
		memset(&own, 0, sizeof(own));	/* unknown: all foreign */
	ml_damon_sysfs_modules(s, mods, 8, &nr_mods);
	nr_mods = nr_mods > 8 ? 8 : nr_mods;

	if (json) {
		struct ml_json j;

		ml_json_init(&j, stdout, false);
		ml_json_object_begin(&j);
		ml_json_kv_str(&j, "path", path);
		ml_json_key(&j, "kdamonds");
		ml_json_array_begin(&j);
		for (size_t i = 0; i < k.nr; i++) {
			const struct ml_kdamond *kd = &k.kdamonds[i];

			ml_json_object_begin(&j);
			ml_json_kv_u64(&j, "index", kd->index);
			ml_json_kv_str(&j, "state", kd->running ? "on" : "off");
			ml_json_kv_i64(&j, "pid", kd->pid);
			ml_json_kv_str(&j, "owner", owner_word(&own, path, kd));
			if (kd->err)
				ml_json_kv_str(&j, "error", strerror(-kd->err));
			ml_json_key(&j, "contexts");
			ml_json_array_begin(&j);
			for (size_t c2 = 0; c2 < kd->nr_contexts; c2++)
				json_ctx(&j, &kd->contexts[c2]);
			ml_json_array_end(&j);
			ml_json_object_end(&j);
		}
		ml_json_array_end(&j);
		ml_json_key(&j, "modules");
		ml_json_array_begin(&j);
		for (size_t i = 0; i < nr_mods; i++) {
			ml_json_object_begin(&j);
			ml_json_kv_str(&j, "name", mods[i].name);
			ml_json_key(&j, "enabled");
			ml_json_bool(&j, mods[i].enabled);
			ml_json_kv_i64(&j, "kdamond_pid", mods[i].kdamond_pid);
			ml_json_object_end(&j);
		}
		ml_json_array_end(&j);
		ml_json_object_end(&j);
		ml_json_finish(&j);
	} else {
		printf("DAMON sysfs %s: %zu kdamond%s\n", path, k.nr,
		       k.nr == 1 ? "" : "s");
		for (size_t i = 0; i < k.nr; i++) {
			const struct ml_kdamond *kd = &k.kdamonds[i];
			bool ours = is_ours(&own, path, kd);

			printf("kdamond %u: %s", kd->index,
			       kd->running ? "on" : "off");
			if (kd->running)
				printf(", pid %d", (int)kd->pid);
			printf(", %s\n", ours ? "started by memlens" :
			       kd->running || kd->nr_contexts ?
			       "foreign (not started by memlens)" :
			       "free (no configuration)");
			if (kd->err)
				printf("  (partly unreadable: %s)\n",
				       strerror(-kd->err));
			for (size_t c2 = 0; c2 < kd->nr_contexts; c2++)
				print_ctx(&kd->contexts[c2], c2);
		}
		/* the modules' kdamonds are not in the admin directory */
		for (size_t i = 0; i < nr_mods; i++) {
			printf("module %s: %s", mods[i].name, mods[i].enabled ?
			       "enabled" : "disabled");
			if (mods[i].kdamond_pid > 0)
				printf(", kdamond pid %d", (int)mods[i].kdamond_pid);
			if (mods[i].enabled)
				printf(", foreign (the module's own kdamond, "
				       "not in the admin directory)");
			printf("\n");
		}
	}
	owners_free(&own);
	ml_kdamonds_free(&k);
	ml_damon_sysfs_close(s);
	return 0;
}

/* ---- start: parsing ---------------------------------------------------------- */

static void start_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens damon start [OPTIONS]\n"
		"\n"
		"Start a kdamond of the kernel's DAMON (sysfs interface) on processes (vaddr,\n"
		"fvaddr) or physical memory (paddr), with DAMON-based operation schemes.\n"
		"A kdamond that memlens did not start is never changed: the kernel rebuilds\n"
		"every kdamond when their number changes and refuses that while one runs, so\n"
		"memlens takes a stopped kdamond without configuration, or adds one when\n"
		"none runs, and otherwise says why it cannot.\n"
		"\n"
		"Monitoring:\n"
		"      --ops OPS               vaddr (default), fvaddr or paddr\n"
		"  -p, --pid PID               a target process (repeat for more)\n"
		"  -r, --region START-END     a monitoring region of the last target (hex\n"
		"                              with 0x, or decimal); fvaddr and paddr need\n"
		"                              them (paddr: System RAM in /proc/iomem)\n"
		"      --sample TIME           sampling interval (default 5ms)\n"
		"      --aggr TIME             aggregation interval (default 100ms)\n"
		"      --update TIME           operations update interval (default 60s)\n"
		"      --min-nr-regions N      (default 10)\n"
		"      --max-nr-regions N      (default 1000)\n"
		"Schemes (as damo's; each --damos-action starts one, the rest apply to it):\n"
		"      --damos-action ACTION   willneed cold pageout hugepage nohugepage\n"
		"                              lru_prio lru_deprio migrate_hot migrate_cold stat\n"
		"      --damos-sz-region MIN,MAX    region size (4K, 2M, max)\n"
		"      --damos-access-rate MIN,MAX  accesses per aggregation (count, or N%%\n"
		"                              of sample/aggregation), default 0,max\n"
		"      --damos-age MIN,MAX     aggregations (or a time: 5s), default 0,max\n"
		"      --damos-apply-interval TIME\n"
		"      --damos-target-nid NID  for migrate_hot/migrate_cold\n"
		"      --damos-quotas TIME,SIZE,RESET  time and size quota per RESET\n"
		"      --damos-weights SZ,NR_ACCESSES,AGE  prioritization, permil\n"
		"      --damos-wmarks METRIC,INTERVAL,HIGH,MID,LOW  free_mem_rate in permil\n"
		"      --damos-filter TYPE,matching|nomatching[,ARG...]  anon, young,\n"
		"                              memcg,PATH, addr,START,END, target,INDEX:\n"
		"                              pages that match (or not) are left alone\n"
		"      --no-stat-scheme        do not add the stat scheme(s) that take every\n"
		"                              region (what record --kernel reads)\n"
		"Where:\n"
		"      --kdamond N             use kdamond N (stopped; with --replace even\n"
		"                              when another tool configured it)\n"
		"      --replace               may replace stopped kdamonds' configurations\n"
		"      --state-file FILE       what memlens started (default " DEFAULT_STATE_FILE ")\n"
		"  -j, --json                  print {\"kdamond\":N,\"pid\":PID}\n"
		"  -h, --help                  show this help\n"
		"TIME is a number with us, ms, s or m (no unit: microseconds).\n");
}

static bool parse_num(const char *s, uint64_t *v, const char **end)
{
	char *e;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoull(s, &e, 0);
	*end = e;
	return !errno && e != s;
}

/* 4096, 4K, 2M, 1G, max */
static bool parse_size(const char *s, uint64_t *v)
{
	static const char units[] = "KMGTPE";
	const char *e, *u;

	if (!strcmp(s, "max")) {
		*v = UINT64_MAX;
		return true;
	}
	if (!strcmp(s, "min")) {
		*v = 0;
		return true;
	}
	if (!parse_num(s, v, &e))
		return false;
	if (!*e)
		return true;
	u = strchr(units, e[0]);
	if (!u || !*u || (e[1] && strcmp(e + 1, "B") && strcmp(e + 1, "iB")))
		return false;
	for (int i = 0; i <= u - units; i++) {
		if (*v > UINT64_MAX / 1024)
			return false;
		*v *= 1024;
	}
	return true;
}

/* 5000, 5000us, 5ms, 1s, 2m */
static bool parse_time_us(const char *s, uint64_t *v, bool *had_unit)
{
	const char *e;
	uint64_t mul = 1;

	if (!parse_num(s, v, &e))
		return false;
	if (had_unit)
		*had_unit = *e != 0;
	if (!*e || !strcmp(e, "us"))
		mul = 1;
	else if (!strcmp(e, "ms"))
		mul = 1000;
	else if (!strcmp(e, "s"))
		mul = 1000000;
	else if (!strcmp(e, "m"))
		mul = 60000000;
	else
		return false;
	if (*v > UINT64_MAX / mul)
		return false;
	*v *= mul;
	return true;
}

/* Split "a,b,c" in place into at most @max fields; the count. */
static int split(char *s, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = s;
		s = strchr(s, ',');
		if (!s)
			break;
		*s++ = 0;
	}
	return s ? -1 : n;
}

struct scheme_spec {
	struct ml_kdamond_scheme sc;
	struct ml_kdamond_filter filters[MAX_FILTERS];
	/* resolved once the intervals are known */
	char *nr_arg[2];
	char *age_arg[2];
};

struct start_args {
	struct ml_kdamond_ctx ctx;
	struct ml_kdamond_target targets[64];
	struct ml_damon_range *regions[64];
	size_t nr_regions[64], cap_regions[64];
	struct scheme_spec *specs;
	size_t nr_specs;
	bool no_stat, replace, json;
	int kdamond;
	const char *state_file;
};

static int range_arg(const char *what, char *arg, char **f)
{
	if (split(arg, f, 2) != 2)
		return cli_usage_error("damon start", "%s wants MIN,MAX", what);
	return 0;
}

static int resolve_counts(struct start_args *a, struct scheme_spec *sp)
{
	uint64_t max_nr = a->ctx.sample_us ? a->ctx.aggr_us / a->ctx.sample_us : 0;

	for (int i = 0; i < 2; i++) {
		char *s = sp->nr_arg[i];
		uint64_t *dst = i ? &sp->sc.nr_accesses.max : &sp->sc.nr_accesses.min;
		const char *e;
		uint64_t v;

		if (s) {
			if (!strcmp(s, "max") || !strcmp(s, "min")) {
				*dst = s[1] == 'a' ? UINT32_MAX : 0;
			} else if (parse_num(s, &v, &e) && !strcmp(e, "%") &&
				   v <= 100) {
				*dst = v * max_nr / 100;
			} else if (parse_num(s, &v, &e) && !*e && v <= UINT32_MAX) {
				*dst = v;
			} else {
				return cli_usage_error("damon start",
					"'%s' is not an access rate", s);
			}
		}
		s = sp->age_arg[i];
		dst = i ? &sp->sc.age.max : &sp->sc.age.min;
		if (s) {
			bool unit;

			if (!strcmp(s, "max") || !strcmp(s, "min")) {
				*dst = s[1] == 'a' ? UINT32_MAX : 0;
			} else if (parse_time_us(s, &v, &unit) && v <= UINT32_MAX) {
				/* a time is in aggregation intervals */
				*dst = unit ? v / (a->ctx.aggr_us ? a->ctx.aggr_us : 1) : v;
			} else {
				return cli_usage_error("damon start",
					"'%s' is not an age", s);
			}
		}
	}
	return 0;
}

static int filter_arg(struct scheme_spec *sp, char *arg)
{
	struct ml_kdamond_filter *f;
	char *fl[4] = { NULL };
	int n = split(arg, fl, 4);
	uint64_t v;
	const char *e;

	if (sp->sc.nr_filters >= MAX_FILTERS)
		return cli_usage_error("damon start", "at most %d filters a scheme",
				       MAX_FILTERS);
	f = &sp->filters[sp->sc.nr_filters];
	memset(f, 0, sizeof(*f));
	f->allow = -1;
	if (n < 2 || (strcmp(fl[1], "matching") && strcmp(fl[1], "nomatching")))
		return cli_usage_error("damon start",
			"--damos-filter wants TYPE,matching|nomatching[,ARG...]");
	snprintf(f->type, sizeof(f->type), "%s", fl[0]);
	f->matching = !strcmp(fl[1], "matching");
	if (!strcmp(fl[0], "memcg")) {
		if (n != 3 || strlen(fl[2]) >= sizeof(f->memcg_path))
			return cli_usage_error("damon start",
				"--damos-filter memcg,matching,PATH");
		snprintf(f->memcg_path, sizeof(f->memcg_path), "%s", fl[2]);
	} else if (!strcmp(fl[0], "addr")) {
		if (n != 4 || !parse_num(fl[2], &f->addr_start, &e) || *e ||
		    !parse_num(fl[3], &f->addr_end, &e) || *e)
			return cli_usage_error("damon start",
				"--damos-filter addr,matching,START,END");
	} else if (!strcmp(fl[0], "target")) {
		if (n != 3 || !parse_num(fl[2], &v, &e) || *e || v > INT32_MAX)
			return cli_usage_error("damon start",
				"--damos-filter target,matching,INDEX");
		f->target_idx = (int)v;
	} else if (n != 2) {
		return cli_usage_error("damon start", "filter '%s' takes no argument",
				       fl[0]);
	}
	sp->sc.nr_filters++;
	return 0;
}

static int region_arg(struct start_args *a, const char *arg)
{
	size_t t = a->ctx.nr_targets ? a->ctx.nr_targets - 1 : 0;
	struct ml_damon_range r;
	const char *e;

	if (!parse_num(arg, &r.start, &e) || *e != '-' ||
	    !parse_num(e + 1, &r.end, &e) || *e || r.start >= r.end)
		return cli_usage_error("damon start",
			"'%s' is not a region START-END", arg);
	if (!a->ctx.nr_targets)
		a->ctx.nr_targets = 1;	/* paddr: one target, no pid */
	if (a->nr_regions[t] == a->cap_regions[t]) {
		size_t cap = a->cap_regions[t] ? a->cap_regions[t] * 2 : 8;
		void *n = realloc(a->regions[t], cap * sizeof(r));

		if (!n) {
			cli_error("damon start", -ENOMEM);
			return 1;
		}
		a->regions[t] = n;
		a->cap_regions[t] = cap;
	}
	a->regions[t][a->nr_regions[t]++] = r;
	return 0;
}

static int parse_start(int argc, char **argv, struct start_args *a)
{
	static const struct option longopts[] = {
		{ "ops", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "region", required_argument, NULL, 'r' },
		{ "sample", required_argument, NULL, 's' },
		{ "aggr", required_argument, NULL, 'a' },
		{ "update", required_argument, NULL, 'u' },
		{ "min-nr-regions", required_argument, NULL, OPT_MIN_NR },
		{ "max-nr-regions", required_argument, NULL, OPT_MAX_NR },
		{ "damos-action", required_argument, NULL, OPT_D_ACTION },
		{ "damos-sz-region", required_argument, NULL, OPT_D_SZ },
		{ "damos-access-rate", required_argument, NULL, OPT_D_NR },
		{ "damos-age", required_argument, NULL, OPT_D_AGE },
		{ "damos-apply-interval", required_argument, NULL, OPT_D_APPLY },
		{ "damos-target-nid", required_argument, NULL, OPT_D_NID },
		{ "damos-quotas", required_argument, NULL, OPT_D_QUOTAS },
		{ "damos-weights", required_argument, NULL, OPT_D_WEIGHTS },
		{ "damos-wmarks", required_argument, NULL, OPT_D_WMARKS },
		{ "damos-filter", required_argument, NULL, OPT_D_FILTER },
		{ "no-stat-scheme", no_argument, NULL, OPT_NO_STAT },
		{ "kdamond", required_argument, NULL, OPT_KDAMOND },
		{ "replace", no_argument, NULL, OPT_REPLACE },
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	struct scheme_spec *sp = NULL;
	char *f[5];
	unsigned long ul;
	uint64_t v;
	pid_t pid;
	int c, err;

	ml_kdamond_ctx_init(&a->ctx);
	a->kdamond = -1;
	a->state_file = DEFAULT_STATE_FILE;
	while ((c = getopt_long(argc, argv, "p:r:jh", longopts, NULL)) != -1) {
		if (c >= OPT_D_SZ && c <= OPT_D_FILTER && !sp)
			return cli_usage_error("damon start",
				"--damos-* options follow a --damos-action");
		switch (c) {
		case 'o':
			if (strcmp(optarg, "vaddr") && strcmp(optarg, "fvaddr") &&
			    strcmp(optarg, "paddr"))
				return cli_usage_error("damon start",
					"--ops is vaddr, fvaddr or paddr");
			snprintf(a->ctx.operations, sizeof(a->ctx.operations),
				 "%s", optarg);
			break;
		case 'p':
			if (!cli_parse_pid(optarg, &pid))
				return cli_usage_error("damon start",
					"'%s' is not a pid", optarg);
			if (a->ctx.nr_targets >= 64)
				return cli_usage_error("damon start",
					"at most 64 targets");
			a->targets[a->ctx.nr_targets++].pid = pid;
			break;
		case 'r':
			err = region_arg(a, optarg);
			if (err)
				return err;
			break;
		case 's':
		case 'a':
		case 'u':
			if (!parse_time_us(optarg, &v, NULL) || !v)
				return cli_usage_error("damon start",
					"'%s' is not a time", optarg);
			*(c == 's' ? &a->ctx.sample_us : c == 'a' ?
			  &a->ctx.aggr_us : &a->ctx.update_us) = v;
			break;
		case OPT_MIN_NR:
		case OPT_MAX_NR:
			if (!cli_parse_uint(optarg, &ul))
				return cli_usage_error("damon start",
					"'%s' is not a number", optarg);
			*(c == OPT_MIN_NR ? &a->ctx.min_nr_regions :
			  &a->ctx.max_nr_regions) = ul;
			break;
		case OPT_D_ACTION:
			if (a->nr_specs >= MAX_SCHEMES)
				return cli_usage_error("damon start",
					"at most %d schemes", MAX_SCHEMES);
			sp = &a->specs[a->nr_specs++];
			ml_kdamond_scheme_init_stat_all(&sp->sc);
			snprintf(sp->sc.action, sizeof(sp->sc.action), "%s",
				 optarg);
			break;
		case OPT_D_SZ:
			if (range_arg("--damos-sz-region", optarg, f))
				return EXIT_USAGE;
			if (!parse_size(f[0], &sp->sc.sz.min) ||
			    !parse_size(f[1], &sp->sc.sz.max))
				return cli_usage_error("damon start",
					"--damos-sz-region: not sizes");
			break;
		case OPT_D_NR:
		case OPT_D_AGE:
			if (range_arg(c == OPT_D_NR ? "--damos-access-rate" :
				      "--damos-age", optarg, f))
				return EXIT_USAGE;
			(c == OPT_D_NR ? sp->nr_arg : sp->age_arg)[0] = f[0];
			(c == OPT_D_NR ? sp->nr_arg : sp->age_arg)[1] = f[1];
			break;
		case OPT_D_APPLY:
			if (!parse_time_us(optarg, &sp->sc.apply_interval_us, NULL))
				return cli_usage_error("damon start",
					"'%s' is not a time", optarg);
			break;
		case OPT_D_NID:
			if (!cli_parse_uint(optarg, &ul) || ul > INT32_MAX)
				return cli_usage_error("damon start",
					"'%s' is not a node", optarg);
			sp->sc.target_nid = (int)ul;
			break;
		case OPT_D_QUOTAS:
			if (split(optarg, f, 3) != 3 ||
			    !parse_time_us(f[0], &v, NULL) ||
			    !parse_size(f[1], &sp->sc.quota_bytes) ||
			    !parse_time_us(f[2], &sp->sc.quota_reset_interval_ms,
					   NULL))
				return cli_usage_error("damon start",
					"--damos-quotas wants TIME,SIZE,RESET");
			sp->sc.quota_ms = v / 1000;
			sp->sc.quota_reset_interval_ms /= 1000;
			break;
		case OPT_D_WEIGHTS:
			if (split(optarg, f, 3) != 3)
				return cli_usage_error("damon start",
					"--damos-weights wants SZ,NR_ACCESSES,AGE");
			for (int i = 0; i < 3; i++) {
				if (!cli_parse_uint(f[i], &ul) || ul > UINT32_MAX)
					return cli_usage_error("damon start",
						"'%s' is not a weight", f[i]);
				*(i == 0 ? &sp->sc.weight_sz_permil : i == 1 ?
				  &sp->sc.weight_nr_accesses_permil :
				  &sp->sc.weight_age_permil) = (uint32_t)ul;
			}
			break;
		case OPT_D_WMARKS:
			if (split(optarg, f, 5) != 5 ||
			    (strcmp(f[0], "none") && strcmp(f[0], "free_mem_rate")) ||
			    !parse_time_us(f[1], &sp->sc.wmark_interval_us, NULL) ||
			    !cli_parse_uint(f[2], &ul))
				return cli_usage_error("damon start",
					"--damos-wmarks wants METRIC,INTERVAL,HIGH,MID,LOW");
			snprintf(sp->sc.wmark_metric, sizeof(sp->sc.wmark_metric),
				 "%s", f[0]);
			sp->sc.wmark_high = ul;
			if (!cli_parse_uint(f[3], &ul))
				return cli_usage_error("damon start", "bad MID");
			sp->sc.wmark_mid = ul;
			if (!cli_parse_uint(f[4], &ul))
				return cli_usage_error("damon start", "bad LOW");
			sp->sc.wmark_low = ul;
			break;
		case OPT_D_FILTER:
			err = filter_arg(sp, optarg);
			if (err)
				return err;
			break;
		case OPT_NO_STAT: a->no_stat = true; break;
		case OPT_REPLACE: a->replace = true; break;
		case OPT_KDAMOND:
			if (!cli_parse_uint(optarg, &ul) || ul > 4096)
				return cli_usage_error("damon start",
					"'%s' is not a kdamond index", optarg);
			a->kdamond = (int)ul;
			break;
		case OPT_STATE_FILE: a->state_file = optarg; break;
		case 'j': a->json = true; break;
		case 'h': start_usage(stdout); return -1;
		default: start_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("damon start", "unexpected argument '%s'",
				       argv[optind]);
	if (!a->ctx.nr_targets)
		return cli_usage_error("damon start",
			"no target: -p PID, or -r START-END with --ops paddr");
	if (!strcmp(a->ctx.operations, "paddr")) {
		for (size_t t = 0; t < a->ctx.nr_targets; t++)
			if (a->targets[t].pid)
				return cli_usage_error("damon start",
					"--ops paddr takes regions (-r), not pids");
	} else {
		for (size_t t = 0; t < a->ctx.nr_targets; t++)
			if (!a->targets[t].pid)
				return cli_usage_error("damon start",
					"--ops %s: -r follows the -p it belongs to",
					a->ctx.operations);
	}
	if (strcmp(a->ctx.operations, "vaddr"))
		for (size_t t = 0; t < a->ctx.nr_targets; t++)
			if (!a->nr_regions[t])
				return cli_usage_error("damon start",
					"--ops %s needs a region (-r) per target",
					a->ctx.operations);
	for (size_t i = 0; i < a->nr_specs; i++) {
		err = resolve_counts(a, &a->specs[i]);
		if (err)
			return err;
		a->specs[i].sc.filters = a->specs[i].filters;
	}
	return 0;
}

/* The user's schemes, then the stat-all ones record --kernel reads. */
static int build_schemes(struct start_args *a, bool per_target)
{
	size_t n = a->nr_specs, nr_stat = 0;
	struct ml_kdamond_scheme *sc;

	if (!a->no_stat)
		nr_stat = per_target && a->ctx.nr_targets > 1 ?
			  a->ctx.nr_targets : 1;
	free(a->ctx.schemes);
	sc = calloc(n + nr_stat ? n + nr_stat : 1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		sc[i] = a->specs[i].sc;
	for (size_t i = 0; i < nr_stat; i++) {
		struct scheme_spec *sp = &a->specs[MAX_SCHEMES + i];

		ml_kdamond_scheme_init_stat_all(&sc[n + i]);
		if (nr_stat == 1)
			continue;
		/* keep target i: reject what is not target i */
		memset(&sp->filters[0], 0, sizeof(sp->filters[0]));
		snprintf(sp->filters[0].type, sizeof(sp->filters[0].type),
			 "target");
		sp->filters[0].target_idx = (int)i;
		sp->filters[0].allow = -1;
		sc[n + i].filters = sp->filters;
		sc[n + i].nr_filters = 1;
	}
	a->ctx.schemes = sc;
	a->ctx.nr_schemes = n + nr_stat;
	return 0;
}

static const char *start_error(int err)
{
	switch (err) {
	case -EBUSY:
		return "no free kdamond: every kdamond runs or is configured, "
		       "and the kernel refuses to add one (nr_kdamonds) while "
		       "any runs; see 'memlens damon status'";
	case -ENOTEMPTY:
		return "stopped kdamonds hold configurations that adding one "
		       "would erase (nr_kdamonds rebuilds them all): pass "
		       "--replace, or --kdamond N --replace for one of them";
	case -EOPNOTSUPP:
		return "this kernel does not offer that (operations not in "
		       "avail_operations, or a scheme setting without a file)";
	case -EINVAL:
		return "the kernel refused the configuration (a target gone, "
		       "regions out of order, or a value out of range)";
	case -ETIMEDOUT:
		return "a write to DAMON's files did not take effect in time";
	case -ENOENT:
		return "no such kdamond";
	default:
		return strerror(-err);
	}
}

int cmd_damon_start(struct cli_ctx *ctx, int argc, char **argv)
{
	struct start_args *a;
	struct ml_damon_sysfs *s = NULL;
	struct owners own = { .fd = -1 };
	unsigned int idx = 0;
	pid_t kpid = -1;
	int ret = EXIT_FAILURE, err;

	a = calloc(1, sizeof(*a));
	if (a)
		a->specs = calloc(MAX_SCHEMES + 64, sizeof(*a->specs));
	if (!a || !a->specs) {
		cli_error("damon start", -ENOMEM);
		goto out;
	}
	err = parse_start(argc, argv, a);
	if (err) {
		ret = err < 0 ? 0 : err;
		goto out;
	}
	for (size_t t = 0; t < a->ctx.nr_targets; t++) {
		a->targets[t].regions = a->regions[t];
		a->targets[t].nr_regions = a->nr_regions[t];
	}
	a->ctx.targets = a->targets;
	if (open_sysfs(ctx, &s))
		goto out;
	err = owners_load(a->state_file, true, &own);
	if (err) {
		cli_error(a->state_file, err);
		goto out;
	}
	/* a stopped kdamond of ours may be reconfigured without --replace */
	if (a->kdamond >= 0 && owner_of(&own, ml_damon_sysfs_path(s),
					(unsigned int)a->kdamond))
		a->replace = true;
	err = build_schemes(a, true);
	if (!err) {
		ML_OPTS(ml_damon_sysfs_start_opts, o, .index = a->kdamond,
			.replace = a->replace);
		err = ml_damon_sysfs_start(s, &a->ctx, &o, &idx, &kpid);
		/* before 6.3 there are no filters: one stat scheme for all */
		if (err == -EOPNOTSUPP && a->ctx.nr_targets > 1 && !a->no_stat) {
			err = build_schemes(a, false);
			if (!err)
				err = ml_damon_sysfs_start(s, &a->ctx, &o, &idx,
							   &kpid);
		}
	}
	if (err) {
		cli_errorf("damon start: %s: %s", ml_damon_sysfs_path(s),
			   start_error(err));
		goto out;
	}
	owner_drop(&own, ml_damon_sysfs_path(s), idx);
	{
		struct owned *n = realloc(own.e, (own.nr + 1) * sizeof(*n));

		if (!n) {
			cli_error("damon start", -ENOMEM);
			goto out;
		}
		own.e = n;
		memset(&n[own.nr], 0, sizeof(*n));
		snprintf(n[own.nr].path, sizeof(n[own.nr].path), "%s",
			 ml_damon_sysfs_path(s));
		n[own.nr].index = idx;
		n[own.nr].pid = kpid;
		n[own.nr].started = (long long)time(NULL);
		own.nr++;
	}
	err = owners_save(a->state_file, &own);
	if (err)
		cli_errorf("damon start: %s: %s (kdamond %u runs, but will show "
			   "as foreign)", a->state_file, strerror(-err), idx);
	if (a->json)
		printf("{\"kdamond\":%u,\"pid\":%d}\n", idx, (int)kpid);
	else
		printf("kdamond %u started (pid %d): %s on %zu target%s, %zu "
		       "scheme%s\n", idx, (int)kpid, a->ctx.operations,
		       a->ctx.nr_targets, a->ctx.nr_targets == 1 ? "" : "s",
		       a->ctx.nr_schemes, a->ctx.nr_schemes == 1 ? "" : "s");
	ret = err ? EXIT_FAILURE : 0;
out:
	owners_free(&own);
	ml_damon_sysfs_close(s);
	if (a) {
		for (size_t t = 0; t < 64; t++)
			free(a->regions[t]);
		free(a->ctx.schemes);
		free(a->specs);
	}
	free(a);
	return ret;
}

/* ---- stop ------------------------------------------------------------------------ */

static void stop_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens damon stop [OPTIONS] [INDEX...]\n"
		"\n"
		"Stop the kdamonds memlens started (all of them, or those named), and free\n"
		"them for the next start (their configuration is dropped). A kdamond memlens\n"
		"did not start is stopped only with --force and its index.\n"
		"\n"
		"Options:\n"
		"      --force            stop the named kdamonds even if memlens did not\n"
		"                         start them\n"
		"      --keep             keep the configuration (and the last results)\n"
		"      --state-file FILE  what memlens started (default " DEFAULT_STATE_FILE ")\n"
		"  -h, --help             show this help\n");
}

int cmd_damon_stop(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	const char *state_file = DEFAULT_STATE_FILE, *path;
	bool force = false, keep = false, any = false;
	struct ml_damon_sysfs *s;
	struct ml_kdamonds k;
	struct owners own;
	unsigned long ul;
	int c, err, ret = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORCE: force = true; break;
		case OPT_KEEP: keep = true; break;
		case OPT_STATE_FILE: state_file = optarg; break;
		case 'h': stop_usage(stdout); return 0;
		default: stop_usage(stderr); return EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		if (!cli_parse_uint(argv[i], &ul) || ul > 4096)
			return cli_usage_error("damon stop",
				"'%s' is not a kdamond index", argv[i]);
	if (force && optind == argc)
		return cli_usage_error("damon stop",
			"--force stops only kdamonds named by index");
	if (open_sysfs(ctx, &s))
		return EXIT_FAILURE;
	path = ml_damon_sysfs_path(s);
	err = owners_load(state_file, true, &own);
	if (!err)
		err = ml_damon_sysfs_read(s, &k);
	if (err) {
		cli_error(path, err);
		owners_free(&own);
		ml_damon_sysfs_close(s);
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < k.nr; i++) {
		const struct ml_kdamond *kd = &k.kdamonds[i];
		bool named = optind == argc, ours = is_ours(&own, path, kd);

		for (int j = optind; j < argc; j++)
			named |= strtoul(argv[j], NULL, 10) == kd->index;
		if (!named)
			continue;
		if (!ours && optind == argc)
			continue;	/* all of ours: not this one */
		any = true;
		if (!ours && !force) {
			cli_errorf("damon stop: kdamond %u was not started by "
				   "memlens (--force to stop it anyway)",
				   kd->index);
			ret = EXIT_FAILURE;
			continue;
		}
		err = ml_damon_sysfs_stop(s, kd->index, !keep && ours);
		if (err && err != -EALREADY) {
			cli_errorf("damon stop: kdamond %u: %s", kd->index,
				   strerror(-err));
			ret = EXIT_FAILURE;
			continue;
		}
		printf("kdamond %u %s\n", kd->index,
		       err == -EALREADY ? "was not running" : "stopped");
		if (ours && !keep)
			owner_drop(&own, path, kd->index);
	}
	for (int j = optind; j < argc; j++)
		if (strtoul(argv[j], NULL, 10) >= k.nr) {
			cli_errorf("damon stop: no kdamond %s", argv[j]);
			ret = EXIT_FAILURE;
		}
	if (!any && optind == argc)
		printf("no kdamond started by memlens\n");
	err = owners_save(state_file, &own);
	if (err) {
		cli_error(state_file, err);
		ret = EXIT_FAILURE;
	}
	ml_kdamonds_free(&k);
	owners_free(&own);
	ml_damon_sysfs_close(s);
	return ret;
}
