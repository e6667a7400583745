// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel's DAMON sysfs interface (usage.rst, mm/damon/sysfs*.c): read
 * every kdamond, start and stop one, and read tried regions as snapshots.
 * See memlens/damon_sysfs.h for how the kernel behaves and why the driver
 * does what it does (no nr_kdamonds write while a kdamond runs; writes
 * settle when a file reads back as the kernel prints it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <memlens/damon_sysfs.h>

#include "../util/util.h"

#define ADMIN_DIR "kernel/mm/damon/admin"
#define TEXT_MAX 4096			/* a sysfs attribute is one page */
#define NR_KDAMONDS_MAX 1024u		/* bounds for hostile trees */
#define NR_TARGETS_MAX 65536u
#define NR_SCHEMES_MAX 4096u
#define NR_FILTERS_MAX 4096u
#define NR_REGIONS_MAX (1u << 20)
#define DEFAULT_SETTLE_MS 2000u
#define BUSY_RETRIES 200		/* state/pid reads return -EBUSY under
					 * contention (mutex_trylock) */

struct ml_damon_sysfs {
	int admin_fd;
	char *path;
	char *sys_root;
	char *proc_root;
	unsigned int settle_ms;
	struct timespec opened;		/* CLOCK_MONOTONIC */
};

/* ---- small I/O ---------------------------------------------------------- */

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int vpath(char *buf, size_t cap, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int vpath(char *buf, size_t cap, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, cap, fmt, ap);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int pathf(char buf[PATH_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int pathf(char buf[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	return err;
}

/* Read a whole attribute into @buf (NUL-terminated); the length or -errno. */
static ssize_t read_text(const struct ml_damon_sysfs *s, const char *rel,
			 char *buf, size_t cap)
{
	int tries = 0;

	for (;;) {
		_cleanup_close_ int fd = openat(s->admin_fd, rel,
						O_RDONLY | O_CLOEXEC);
		size_t len = 0;
		ssize_t n = 0;

		if (fd < 0)
			return -errno;
		while (len + 1 < cap) {
			n = read(fd, buf + len, cap - 1 - len);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (n == 0)
				break;
			len += (size_t)n;
		}
		if (len + 1 >= cap) {
			buf[len] = 0;
			return -EFBIG;
		}
		if (n >= 0) {
			buf[len] = 0;
			return (ssize_t)len;
		}
		if (errno != EBUSY || ++tries > BUSY_RETRIES)
			return -errno;
		sleep_ms(1);
	}
}

int ml_damon_sysfs_parse_u64(const char *text, size_t len, uint64_t *out)
{
	const char *p = text, *end = text + len;

	if (len && end[-1] == '\n')
		end--;
	if (p == end)
		return -EINVAL;
	if (!parse_u64(&p, end, out))
		return is_digit(*p) ? -ERANGE : -EINVAL;
	return p == end ? 0 : -EINVAL;
}

int ml_damon_sysfs_parse_int(const char *text, size_t len, int *out)
{
	bool neg = len && text[0] == '-';
	uint64_t v;
	int err;

	err = ml_damon_sysfs_parse_u64(text + neg, len - neg, &v);
	if (err)
		return err;
	if (v > (uint64_t)INT32_MAX + neg)
		return -ERANGE;
	*out = neg ? (int)-(int64_t)v : (int)v;
	return 0;
}

static int read_u64(const struct ml_damon_sysfs *s, const char *rel,
		    uint64_t *out)
{
	char buf[64];
	ssize_t n = read_text(s, rel, buf, sizeof(buf));

	if (n < 0)
		return n == -EFBIG ? -EINVAL : (int)n;
	return ml_damon_sysfs_parse_u64(buf, (size_t)n, out);
}

static int read_int(const struct ml_damon_sysfs *s, const char *rel, int *out)
{
	char buf[64];
	ssize_t n = read_text(s, rel, buf, sizeof(buf));

	if (n < 0)
		return n == -EFBIG ? -EINVAL : (int)n;
	return ml_damon_sysfs_parse_int(buf, (size_t)n, out);
}

/* A one-line word ("vaddr\n") into @out; -EINVAL when it is not one. */
static int read_word(const struct ml_damon_sysfs *s, const char *rel,
		     char *out, size_t cap)
{
	char buf[TEXT_MAX];
	ssize_t n = read_text(s, rel, buf, sizeof(buf));

	if (n < 0)
		return n == -EFBIG ? -EINVAL : (int)n;
	if (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	if ((size_t)n >= cap || memchr(buf, '\n', (size_t)n))
		return -EINVAL;
	memcpy(out, buf, (size_t)n + 1);
	return 0;
}

static bool exists(const struct ml_damon_sysfs *s, const char *rel)
{
	return faccessat(s->admin_fd, rel, F_OK, 0) == 0;
}

/* One write() of @text, no newline: how sysfs stores want it. */
static int write_text(const struct ml_damon_sysfs *s, const char *rel,
		      const char *text)
{
	_cleanup_close_ int fd = openat(s->admin_fd, rel,
					O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = write(fd, text, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int write_u64(const struct ml_damon_sysfs *s, const char *rel,
		     uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return write_text(s, rel, buf);
}

/*
 * Write N to an nr_* file and wait until it reads back "N\n": the kernel
 * has then made directories 0..N-1 (at once; the fake tree a moment
 * later). Reading back another number means the write was refused.
 */
static int write_nr(const struct ml_damon_sysfs *s, const char *rel,
		    uint64_t nr)
{
	char want[32], buf[64];
	unsigned int waited = 0;
	int err;

	err = write_u64(s, rel, nr);
	if (err)
		return err;
	snprintf(want, sizeof(want), "%" PRIu64 "\n", nr);
	for (;;) {
		ssize_t n = read_text(s, rel, buf, sizeof(buf));

		if (n < 0)
			return (int)n;
		if (!strcmp(buf, want))
			return 0;
		if (n && buf[n - 1] == '\n')
			return -EBUSY;	/* settled on another value */
		if (waited++ >= s->settle_ms)
			return -ETIMEDOUT;
		sleep_ms(1);
	}
}

/* state reads "on\n" or "off\n" once a command is handled. */
static int read_state(const struct ml_damon_sysfs *s, unsigned int idx,
		      bool wait, bool *on)
{
	char rel[PATH_MAX], buf[64];
	unsigned int waited = 0;
	int err;

	err = pathf(rel, "kdamonds/%u/state", idx);
	if (err)
		return err;
	for (;;) {
		ssize_t n = read_text(s, rel, buf, sizeof(buf));

		if (n < 0)
			return (int)n;
		if (!strcmp(buf, "on\n") || !strcmp(buf, "off\n")) {
			*on = buf[1] == 'n';
			return 0;
		}
		if (!wait)
			return -EINVAL;
		if (waited++ >= s->settle_ms)
			return -ETIMEDOUT;
		sleep_ms(1);
	}
}

static const char *const state_cmds[] = {
	"on", "off", "commit", "commit_schemes_quota_goals",
	"update_schemes_stats", "update_schemes_tried_bytes",
	"update_schemes_tried_regions", "clear_schemes_tried_regions",
	"update_schemes_effective_quotas",
};

static int state_cmd(const struct ml_damon_sysfs *s, unsigned int idx,
		     const char *cmd, bool *on)
{
	char rel[PATH_MAX];
	bool known = false;
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(state_cmds); i++)
		known |= !strcmp(cmd, state_cmds[i]);
	if (!known)
		return -EINVAL;
	err = pathf(rel, "kdamonds/%u/state", idx);
	if (!err)
		err = write_text(s, rel, cmd);
	if (!err)
		err = read_state(s, idx, true, on);
	return err;
}

/* ---- context --------------------------------------------------------------- */

int ml_damon_sysfs_open(const struct ml_damon_sysfs_opts *opts,
			struct ml_damon_sysfs **out)
{
	const char *sys_root = "/sys", *proc_root = "/proc";
	unsigned int settle_ms = DEFAULT_SETTLE_MS;
	char path[PATH_MAX];
	struct ml_damon_sysfs *s;
	int err;

	if (!out)
		return -EINVAL;
	if (opts) {
		if (opts->sz < sizeof(size_t))
			return -EINVAL;
#define HAS(f) (opts->sz >= offsetof(struct ml_damon_sysfs_opts, f) + \
		sizeof(opts->f))
		if (HAS(proc) && opts->proc) {
			sys_root = ml_proc_sys_root(opts->proc);
			proc_root = ml_proc_root(opts->proc);
		}
		if (HAS(sys_root) && opts->sys_root)
			sys_root = opts->sys_root;
		if (HAS(settle_ms) && opts->settle_ms)
			settle_ms = opts->settle_ms;
#undef HAS
	}
	err = pathf(path, "%s/%s", sys_root, ADMIN_DIR);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->settle_ms = settle_ms;
	clock_gettime(CLOCK_MONOTONIC, &s->opened);
	s->admin_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->admin_fd < 0) {
		err = -errno;
		free(s);
		return err;
	}
	s->path = strdup(path);
	s->sys_root = strdup(sys_root);
	s->proc_root = strdup(proc_root);
	if (!s->path || !s->sys_root || !s->proc_root) {
		ml_damon_sysfs_close(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void ml_damon_sysfs_close(struct ml_damon_sysfs *s)
{
	if (!s)
		return;
	if (s->admin_fd >= 0)
		close(s->admin_fd);
	free(s->path);
	free(s->sys_root);
	free(s->proc_root);
	free(s);
}

const char *ml_damon_sysfs_path(const struct ml_damon_sysfs *s)
{
	return s->path;
}

/* ---- defaults and freeing ------------------------------------------------- */

static void copy_word(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

void ml_kdamond_ctx_init(struct ml_kdamond_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	copy_word(ctx->operations, sizeof(ctx->operations), "vaddr");
	ctx->sample_us = 5000;
	ctx->aggr_us = 100000;
	ctx->update_us = 60000000;
	ctx->min_nr_regions = 10;
	ctx->max_nr_regions = 1000;
}

/* What the kernel stores for "everything": ULONG_MAX, and UINT_MAX for the
 * fields damos_access_pattern keeps in unsigned int. */
#define SZ_ALL UINT64_MAX
#define COUNT_ALL UINT32_MAX

void ml_kdamond_scheme_init_stat_all(struct ml_kdamond_scheme *s)
{
	memset(s, 0, sizeof(*s));
	copy_word(s->action, sizeof(s->action), "stat");
	s->target_nid = -1;
	s->sz.max = SZ_ALL;
	s->nr_accesses.max = COUNT_ALL;
	s->age.max = COUNT_ALL;
	copy_word(s->wmark_metric, sizeof(s->wmark_metric), "none");
}

bool ml_kdamond_scheme_is_stat_all(const struct ml_kdamond_scheme *s)
{
	size_t i;

	if (strcmp(s->action, "stat") || s->sz.min || s->nr_accesses.min ||
	    s->age.min || s->sz.max < SZ_ALL ||
	    s->nr_accesses.max < COUNT_ALL || s->age.max < COUNT_ALL)
		return false;
	if (s->quota_ms || s->quota_bytes)
		return false;
	if (s->wmark_metric[0] && strcmp(s->wmark_metric, "none"))
		return false;
	/* only target filters: they pick a target, not pages */
	for (i = 0; i < s->nr_filters; i++)
		if (strcmp(s->filters[i].type, "target"))
			return false;
	return true;
}

static void scheme_release(struct ml_kdamond_scheme *s)
{
	free(s->filters);
	free(s->tried_regions);
}

void ml_kdamond_ctx_release(struct ml_kdamond_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nr_targets; i++)
		free(ctx->targets[i].regions);
	free(ctx->targets);
	for (i = 0; i < ctx->nr_schemes; i++)
		scheme_release(&ctx->schemes[i]);
	free(ctx->schemes);
	ctx->targets = NULL;
	ctx->schemes = NULL;
	ctx->nr_targets = ctx->nr_schemes = 0;
}

void ml_kdamonds_free(struct ml_kdamonds *k)
{
	size_t i, j;

	if (!k)
		return;
	for (i = 0; i < k->nr; i++) {
		for (j = 0; j < k->kdamonds[i].nr_contexts; j++)
			ml_kdamond_ctx_release(&k->kdamonds[i].contexts[j]);
		free(k->kdamonds[i].contexts);
	}
	free(k->kdamonds);
	k->kdamonds = NULL;
	k->nr = 0;
}

/* ---- reading ---------------------------------------------------------------- */

/*
 * Readers fill what exists. A file that is missing is left at its zero
 * (older or newer kernels lack some); any other error is kept in *@err
 * (the first one) and reading goes on.
 */
struct rd {
	const struct ml_damon_sysfs *s;
	int err;
};

static void note(struct rd *r, int err)
{
	if (err && err != -ENOENT && !r->err)
		r->err = err;
}

static void rd_u64(struct rd *r, uint64_t *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rd_u64(struct rd *r, uint64_t *out, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (!err)
		err = read_u64(r->s, rel, out);
	note(r, err);
}

static void rd_u32(struct rd *r, uint32_t *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rd_u32(struct rd *r, uint32_t *out, const char *fmt, ...)
{
	char rel[PATH_MAX];
	uint64_t v = 0;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (!err)
		err = read_u64(r->s, rel, &v);
	if (!err && v > UINT32_MAX)
		err = -ERANGE;
	if (!err)
		*out = (uint32_t)v;
	note(r, err);
}

static void rd_int(struct rd *r, int *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rd_int(struct rd *r, int *out, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (!err)
		err = read_int(r->s, rel, out);
	note(r, err);
}

static void rd_word(struct rd *r, char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void rd_word(struct rd *r, char *out, size_t cap, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (!err)
		err = read_word(r->s, rel, out, cap);
	note(r, err);
}

/* An nr_* file, bounded; missing is 0. */
static size_t rd_nr(struct rd *r, uint64_t max, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static size_t rd_nr(struct rd *r, uint64_t max, const char *fmt, ...)
{
	char rel[PATH_MAX];
	uint64_t v = 0;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (!err)
		err = read_u64(r->s, rel, &v);
	if (!err && v > max)
		err = -E2BIG;
	note(r, err);
	return err ? 0 : (size_t)v;
}

static void read_filter(struct rd *r, const char *dir,
			struct ml_kdamond_filter *f)
{
	char m[8] = "", allow[8] = "";

	rd_word(r, f->type, sizeof(f->type), "%s/type", dir);
	rd_word(r, m, sizeof(m), "%s/matching", dir);
	f->matching = m[0] == 'Y';
	f->allow = -1;
	rd_word(r, allow, sizeof(allow), "%s/allow", dir);
	if (allow[0])
		f->allow = allow[0] == 'Y';
	rd_word(r, f->memcg_path, sizeof(f->memcg_path), "%s/memcg_path", dir);
	rd_u64(r, &f->addr_start, "%s/addr_start", dir);
	rd_u64(r, &f->addr_end, "%s/addr_end", dir);
	rd_int(r, &f->target_idx, "%s/damon_target_idx", dir);
}

/* filters/ (6.3+), then core_filters/ and ops_filters/ (6.15+). */
static void read_filters(struct rd *r, const char *dir,
			 struct ml_kdamond_scheme *sc)
{
	static const char *const sets[] = { "filters", "core_filters",
					    "ops_filters" };
	size_t nr[ARRAY_SIZE(sets)], total = 0, k = 0;

	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		nr[i] = rd_nr(r, NR_FILTERS_MAX, "%s/%s/nr_filters", dir,
			      sets[i]);
		total += nr[i];
	}
	if (!total)
		return;
	sc->filters = calloc(total, sizeof(*sc->filters));
	if (!sc->filters) {
		note(r, -ENOMEM);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		for (size_t j = 0; j < nr[i]; j++, k++) {
			char fdir[PATH_MAX];

			copy_word(sc->filters[k].set, sizeof(sc->filters[k].set),
				  sets[i]);
			if (pathf(fdir, "%s/%s/%zu", dir, sets[i], j))
				continue;
			read_filter(r, fdir, &sc->filters[k]);
		}
	}
	sc->nr_filters = total;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

/*
 * The numbered directories under <dir>/tried_regions, sorted. Listed, not
 * counted up from 0: the kernel names them with one counter for all the
 * schemes of an update (damon_sysfs_schemes_region_idx in
 * mm/damon/sysfs-schemes.c), so a scheme's numbers start where the
 * previous scheme's ended. *@idx: NULL when there are none.
 */
static int tried_indices(struct rd *r, const char *dir, unsigned int **idx,
			 size_t *nr)
{
	char rel[PATH_MAX];
	size_t cap = 0, n = 0;
	struct dirent *de;
	DIR *d;
	int fd, err = 0;

	*idx = NULL;
	*nr = 0;
	if (pathf(rel, "%s/tried_regions", dir))
		return -ENAMETOOLONG;
	fd = openat(r->s->admin_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while (!err && n < NR_REGIONS_MAX && (de = readdir(d))) {
		unsigned long v;
		char *end;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		errno = 0;
		v = strtoul(de->d_name, &end, 10);
		if (errno || *end || v > UINT32_MAX)
			continue;
		err = grow_array((void **)idx, &cap, n, sizeof(**idx));
		if (!err)
			(*idx)[n++] = (unsigned int)v;
	}
	closedir(d);
	if (err) {
		free(*idx);
		*idx = NULL;
		return err;
	}
	if (n)
		qsort(*idx, n, sizeof(**idx), cmp_uint);
	*nr = n;
	return 0;
}

static void read_tried(struct rd *r, const char *dir,
		       struct ml_kdamond_scheme *sc)
{
	unsigned int *idx;
	size_t nr, n = 0;
	int err;

	rd_u64(r, &sc->tried_total_bytes, "%s/tried_regions/total_bytes", dir);
	err = tried_indices(r, dir, &idx, &nr);
	if (err) {
		note(r, err);
		return;
	}
	if (nr) {
		sc->tried_regions = calloc(nr, sizeof(*sc->tried_regions));
		if (!sc->tried_regions) {
			note(r, -ENOMEM);
			nr = 0;
		}
	}
	for (size_t i = 0; i < nr; i++) {
		struct ml_damon_region *reg = &sc->tried_regions[n];
		char rdir[PATH_MAX];

		if (pathf(rdir, "%s/tried_regions/%u", dir, idx[i]))
			continue;
		/* a region the kernel removed meanwhile is left out */
		if (!exists(r->s, rdir))
			continue;
		rd_u64(r, &reg->start, "%s/start", rdir);
		rd_u64(r, &reg->end, "%s/end", rdir);
		rd_u32(r, &reg->nr_accesses, "%s/nr_accesses", rdir);
		rd_u32(r, &reg->age, "%s/age", rdir);
		n++;
	}
	free(idx);
	sc->nr_tried_regions = n;
}

static void read_scheme(struct rd *r, const char *dir,
			struct ml_kdamond_scheme *sc)
{
	rd_word(r, sc->action, sizeof(sc->action), "%s/action", dir);
	rd_u64(r, &sc->apply_interval_us, "%s/apply_interval_us", dir);
	sc->target_nid = -1;
	rd_int(r, &sc->target_nid, "%s/target_nid", dir);
	rd_u64(r, &sc->sz.min, "%s/access_pattern/sz/min", dir);
	rd_u64(r, &sc->sz.max, "%s/access_pattern/sz/max", dir);
	rd_u64(r, &sc->nr_accesses.min, "%s/access_pattern/nr_accesses/min", dir);
	rd_u64(r, &sc->nr_accesses.max, "%s/access_pattern/nr_accesses/max", dir);
	rd_u64(r, &sc->age.min, "%s/access_pattern/age/min", dir);
	rd_u64(r, &sc->age.max, "%s/access_pattern/age/max", dir);
	rd_u64(r, &sc->quota_ms, "%s/quotas/ms", dir);
	rd_u64(r, &sc->quota_bytes, "%s/quotas/bytes", dir);
	rd_u64(r, &sc->quota_reset_interval_ms, "%s/quotas/reset_interval_ms", dir);
	rd_u64(r, &sc->quota_effective_bytes, "%s/quotas/effective_bytes", dir);
	rd_u32(r, &sc->weight_sz_permil, "%s/quotas/weights/sz_permil", dir);
	rd_u32(r, &sc->weight_nr_accesses_permil,
	       "%s/quotas/weights/nr_accesses_permil", dir);
	rd_u32(r, &sc->weight_age_permil, "%s/quotas/weights/age_permil", dir);
	rd_word(r, sc->wmark_metric, sizeof(sc->wmark_metric),
		"%s/watermarks/metric", dir);
	rd_u64(r, &sc->wmark_interval_us, "%s/watermarks/interval_us", dir);
	rd_u64(r, &sc->wmark_high, "%s/watermarks/high", dir);
	rd_u64(r, &sc->wmark_mid, "%s/watermarks/mid", dir);
	rd_u64(r, &sc->wmark_low, "%s/watermarks/low", dir);
	read_filters(r, dir, sc);
	rd_u64(r, &sc->stats.nr_tried, "%s/stats/nr_tried", dir);
	rd_u64(r, &sc->stats.sz_tried, "%s/stats/sz_tried", dir);
	rd_u64(r, &sc->stats.nr_applied, "%s/stats/nr_applied", dir);
	rd_u64(r, &sc->stats.sz_applied, "%s/stats/sz_applied", dir);
	rd_u64(r, &sc->stats.qt_exceeds, "%s/stats/qt_exceeds", dir);
	read_tried(r, dir, sc);
}

static void read_target(struct rd *r, const char *dir,
			struct ml_kdamond_target *t)
{
	int pid = 0;
	size_t n;

	rd_int(r, &pid, "%s/pid_target", dir);
	t->pid = pid;
	n = rd_nr(r, NR_REGIONS_MAX, "%s/regions/nr_regions", dir);
	if (!n)
		return;
	t->regions = calloc(n, sizeof(*t->regions));
	if (!t->regions) {
		note(r, -ENOMEM);
		return;
	}
	t->nr_regions = n;
	for (size_t i = 0; i < n; i++) {
		rd_u64(r, &t->regions[i].start, "%s/regions/%zu/start", dir, i);
		rd_u64(r, &t->regions[i].end, "%s/regions/%zu/end", dir, i);
	}
}

/* avail_operations: one word a line, into "w1 w2 w3". */
static void read_avail_ops(struct rd *r, const char *dir,
			   struct ml_kdamond_ctx *c)
{
	char rel[PATH_MAX], buf[TEXT_MAX];
	ssize_t n;

	if (pathf(rel, "%s/avail_operations", dir))
		return;
	n = read_text(r->s, rel, buf, sizeof(buf));
	if (n < 0) {
		note(r, n == -EFBIG ? -EINVAL : (int)n);
		return;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	if ((size_t)n >= sizeof(c->avail_operations)) {
		note(r, -EINVAL);
		return;
	}
	memcpy(c->avail_operations, buf, (size_t)n + 1);
}

static void read_ctx(struct rd *r, const char *dir, struct ml_kdamond_ctx *c)
{
	const char *a = "monitoring_attrs";
	size_t n;

	read_avail_ops(r, dir, c);
	rd_word(r, c->operations, sizeof(c->operations), "%s/operations", dir);
	rd_u64(r, &c->sample_us, "%s/%s/intervals/sample_us", dir, a);
	rd_u64(r, &c->aggr_us, "%s/%s/intervals/aggr_us", dir, a);
	rd_u64(r, &c->update_us, "%s/%s/intervals/update_us", dir, a);
	rd_u64(r, &c->min_nr_regions, "%s/%s/nr_regions/min", dir, a);
	rd_u64(r, &c->max_nr_regions, "%s/%s/nr_regions/max", dir, a);

	n = rd_nr(r, NR_TARGETS_MAX, "%s/targets/nr_targets", dir);
	if (n) {
		c->targets = calloc(n, sizeof(*c->targets));
		if (!c->targets) {
			note(r, -ENOMEM);
			return;
		}
		c->nr_targets = n;
		for (size_t i = 0; i < n; i++) {
			char tdir[PATH_MAX];

			if (!pathf(tdir, "%s/targets/%zu", dir, i))
				read_target(r, tdir, &c->targets[i]);
		}
	}
	n = rd_nr(r, NR_SCHEMES_MAX, "%s/schemes/nr_schemes", dir);
	if (n) {
		c->schemes = calloc(n, sizeof(*c->schemes));
		if (!c->schemes) {
			note(r, -ENOMEM);
			return;
		}
		c->nr_schemes = n;
		for (size_t i = 0; i < n; i++) {
			char sdir[PATH_MAX];

			if (!pathf(sdir, "%s/schemes/%zu", dir, i))
				read_scheme(r, sdir, &c->schemes[i]);
		}
	}
}

static void read_kdamond(const struct ml_damon_sysfs *s, unsigned int idx,
			 struct ml_kdamond *k)
{
	struct rd r = { .s = s };
	int pid = -1, err;
	size_t n;

	k->index = idx;
	k->pid = -1;
	err = read_state(s, idx, false, &k->running);
	if (err == -ENOENT) {
		k->err = -ENOENT;	/* the directory vanished */
		return;
	}
	note(&r, err);
	rd_int(&r, &pid, "kdamonds/%u/pid", idx);
	k->pid = pid;
	n = rd_nr(&r, 1u << 10, "kdamonds/%u/contexts/nr_contexts", idx);
	if (n) {
		k->contexts = calloc(n, sizeof(*k->contexts));
		if (!k->contexts) {
			k->err = -ENOMEM;
			return;
		}
		k->nr_contexts = n;
		for (size_t i = 0; i < n; i++) {
			char dir[PATH_MAX];

			if (!pathf(dir, "kdamonds/%u/contexts/%zu", idx, i))
				read_ctx(&r, dir, &k->contexts[i]);
		}
	}
	k->err = r.err;
}

int ml_damon_sysfs_read(struct ml_damon_sysfs *s, struct ml_kdamonds *out)
{
	uint64_t nr;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_u64(s, "kdamonds/nr_kdamonds", &nr);
	if (err)
		return err;
	if (nr > NR_KDAMONDS_MAX)
		return -EINVAL;
	if (!nr)
		return 0;
	out->kdamonds = calloc(nr, sizeof(*out->kdamonds));
	if (!out->kdamonds)
		return -ENOMEM;
	out->nr = nr;
	for (unsigned int i = 0; i < nr; i++)
		read_kdamond(s, i, &out->kdamonds[i]);
	return 0;
}

/* ---- writing a configuration ------------------------------------------------- */

/* Write @v to @dir/@name; a missing file is fine when @v is the default. */
static int wr_u64(const struct ml_damon_sysfs *s, const char *dir,
		  const char *name, uint64_t v, uint64_t dflt)
{
	char rel[PATH_MAX];
	int err = pathf(rel, "%s/%s", dir, name);

	if (err)
		return err;
	err = write_u64(s, rel, v);
	if (err == -ENOENT)
		return v == dflt ? 0 : -EOPNOTSUPP;
	return err;
}

static int wr_text(const struct ml_damon_sysfs *s, const char *dir,
		   const char *name, const char *v, bool optional)
{
	char rel[PATH_MAX];
	int err = pathf(rel, "%s/%s", dir, name);

	if (err)
		return err;
	err = write_text(s, rel, v);
	if (err == -ENOENT)
		return optional ? 0 : -EOPNOTSUPP;
	return err;
}

static int wr_nr(const struct ml_damon_sysfs *s, const char *dir,
		 const char *name, size_t nr)
{
	char rel[PATH_MAX];
	int err = pathf(rel, "%s/%s", dir, name);

	if (err)
		return err;
	if (!nr && !exists(s, rel))
		return 0;	/* a kernel without this directory */
	err = write_nr(s, rel, nr);
	return err == -ENOENT ? -EOPNOTSUPP : err;
}

static int write_filter(const struct ml_damon_sysfs *s, const char *dir,
			const struct ml_kdamond_filter *f)
{
	char buf[24];
	int err;

	err = wr_text(s, dir, "type", f->type, false);
	if (!err)
		err = wr_text(s, dir, "matching", f->matching ? "Y" : "N",
			      false);
	if (!err && f->allow >= 0)
		err = wr_text(s, dir, "allow", f->allow ? "Y" : "N",
			      f->allow == 0);
	if (!err && !strcmp(f->type, "memcg"))
		err = wr_text(s, dir, "memcg_path", f->memcg_path, false);
	if (!err && !strcmp(f->type, "addr")) {
		err = wr_u64(s, dir, "addr_start", f->addr_start, 1);
		if (!err)
			err = wr_u64(s, dir, "addr_end", f->addr_end, 1);
	}
	if (!err && !strcmp(f->type, "target")) {
		snprintf(buf, sizeof(buf), "%d", f->target_idx);
		err = wr_text(s, dir, "damon_target_idx", buf, false);
	}
	return err;
}

static int write_scheme(const struct ml_damon_sysfs *s, const char *dir,
			const struct ml_kdamond_scheme *sc)
{
	char sub[PATH_MAX], buf[24];
	int err;

	err = wr_text(s, dir, "action", sc->action, false);
	if (!err)
		err = wr_u64(s, dir, "apply_interval_us", sc->apply_interval_us, 0);
	if (!err && sc->target_nid != -1) {
		snprintf(buf, sizeof(buf), "%d", sc->target_nid);
		err = wr_text(s, dir, "target_nid", buf, false);
	}
#define PAIR(name, mm)							\
	do {								\
		if (!err)						\
			err = pathf(sub, "%s/access_pattern/%s", dir, name); \
		if (!err)						\
			err = wr_u64(s, sub, "min", (mm).min, 1);	\
		if (!err)						\
			err = wr_u64(s, sub, "max", (mm).max, 1);	\
	} while (0)
	PAIR("sz", sc->sz);
	PAIR("nr_accesses", sc->nr_accesses);
	PAIR("age", sc->age);
#undef PAIR
	if (!err)
		err = pathf(sub, "%s/quotas", dir);
	if (!err)
		err = wr_u64(s, sub, "ms", sc->quota_ms, 1);
	if (!err)
		err = wr_u64(s, sub, "bytes", sc->quota_bytes, 1);
	if (!err)
		err = wr_u64(s, sub, "reset_interval_ms",
			     sc->quota_reset_interval_ms, 1);
	if (!err)
		err = pathf(sub, "%s/quotas/weights", dir);
	if (!err)
		err = wr_u64(s, sub, "sz_permil", sc->weight_sz_permil, 1);
	if (!err)
		err = wr_u64(s, sub, "nr_accesses_permil",
			     sc->weight_nr_accesses_permil, 1);
	if (!err)
		err = wr_u64(s, sub, "age_permil", sc->weight_age_permil, 1);
	if (!err)
		err = pathf(sub, "%s/watermarks", dir);
	if (!err)
		err = wr_text(s, sub, "metric",
			      sc->wmark_metric[0] ? sc->wmark_metric : "none",
			      false);
	if (!err)
		err = wr_u64(s, sub, "interval_us", sc->wmark_interval_us, 1);
	if (!err)
		err = wr_u64(s, sub, "high", sc->wmark_high, 1);
	if (!err)
		err = wr_u64(s, sub, "mid", sc->wmark_mid, 1);
	if (!err)
		err = wr_u64(s, sub, "low", sc->wmark_low, 1);
	if (err)
		return err;
	err = wr_nr(s, dir, "filters/nr_filters", sc->nr_filters);
	for (size_t i = 0; !err && i < sc->nr_filters; i++) {
		err = pathf(sub, "%s/filters/%zu", dir, i);
		if (!err)
			err = write_filter(s, sub, &sc->filters[i]);
	}
	return err;
}

static int write_target(const struct ml_damon_sysfs *s, const char *dir,
			const struct ml_kdamond_target *t)
{
	char sub[PATH_MAX], buf[24];
	int err;

	snprintf(buf, sizeof(buf), "%d", (int)t->pid);
	err = wr_text(s, dir, "pid_target", buf, false);
	if (!err)
		err = wr_nr(s, dir, "regions/nr_regions", t->nr_regions);
	for (size_t i = 0; !err && i < t->nr_regions; i++) {
		err = pathf(sub, "%s/regions/%zu", dir, i);
		if (!err)
			err = wr_u64(s, sub, "start", t->regions[i].start, 1);
		if (!err)
			err = wr_u64(s, sub, "end", t->regions[i].end, 1);
	}
	return err;
}

static bool ops_available(const char *avail, const char *ops)
{
	size_t len = strlen(ops);

	for (const char *p = avail; *p;) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == len && !memcmp(p, ops, len))
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

static int write_ctx(const struct ml_damon_sysfs *s, unsigned int idx,
		     const struct ml_kdamond_ctx *c)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	struct ml_kdamond_ctx avail = { 0 };
	struct rd r = { .s = s };
	int err;

	err = pathf(dir, "kdamonds/%u/contexts", idx);
	if (!err)
		err = wr_nr(s, dir, "nr_contexts", 1);
	if (!err)
		err = pathf(dir, "kdamonds/%u/contexts/0", idx);
	if (err)
		return err;
	read_avail_ops(&r, dir, &avail);
	if (r.err)
		return r.err;
	if (!ops_available(avail.avail_operations, c->operations))
		return -EOPNOTSUPP;
	err = wr_text(s, dir, "operations", c->operations, false);
	if (!err)
		err = pathf(sub, "%s/monitoring_attrs/intervals", dir);
	if (!err)
		err = wr_u64(s, sub, "sample_us", c->sample_us, 1);
	if (!err)
		err = wr_u64(s, sub, "aggr_us", c->aggr_us, 1);
	if (!err)
		err = wr_u64(s, sub, "update_us", c->update_us, 1);
	if (!err)
		err = pathf(sub, "%s/monitoring_attrs/nr_regions", dir);
	if (!err)
		err = wr_u64(s, sub, "min", c->min_nr_regions, 1);
	if (!err)
		err = wr_u64(s, sub, "max", c->max_nr_regions, 1);
	if (!err)
		err = wr_nr(s, dir, "targets/nr_targets", c->nr_targets);
	for (size_t i = 0; !err && i < c->nr_targets; i++) {
		err = pathf(sub, "%s/targets/%zu", dir, i);
		if (!err)
			err = write_target(s, sub, &c->targets[i]);
	}
	if (!err)
		err = wr_nr(s, dir, "schemes/nr_schemes", c->nr_schemes);
	for (size_t i = 0; !err && i < c->nr_schemes; i++) {
		err = pathf(sub, "%s/schemes/%zu", dir, i);
		if (!err)
			err = write_scheme(s, sub, &c->schemes[i]);
	}
	return err;
}

/* ---- choosing a kdamond, starting, stopping ---------------------------------- */

struct slot {
	bool running;
	bool configured;	/* nr_contexts > 0 */
};

static int read_slots(const struct ml_damon_sysfs *s, struct slot **out,
		      unsigned int *nr)
{
	char rel[PATH_MAX];
	uint64_t n, nc;
	struct slot *sl;
	int err;

	err = read_u64(s, "kdamonds/nr_kdamonds", &n);
	if (err)
		return err;
	if (n > NR_KDAMONDS_MAX)
		return -EINVAL;
	sl = calloc(n ? n : 1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		err = read_state(s, i, false, &sl[i].running);
		if (!err)
			err = pathf(rel, "kdamonds/%u/contexts/nr_contexts", i);
		if (!err)
			err = read_u64(s, rel, &nc);
		if (err) {
			free(sl);
			return err;
		}
		sl[i].configured = nc > 0;
	}
	*out = sl;
	*nr = (unsigned int)n;
	return 0;
}

static int pick_slot(const struct ml_damon_sysfs *s, int want, bool replace,
		     unsigned int *idx)
{
	_cleanup_free_ struct slot *sl = NULL;
	bool any_running = false, any_configured = false;
	unsigned int nr, i;
	int err;

	err = read_slots(s, &sl, &nr);
	if (err)
		return err;
	if (want >= 0) {
		if ((unsigned int)want >= nr)
			return -ENOENT;
		if (sl[want].running)
			return -EBUSY;
		if (sl[want].configured && !replace)
			return -ENOTEMPTY;
		*idx = (unsigned int)want;
		return 0;
	}
	for (i = 0; i < nr; i++) {
		if (!sl[i].running && !sl[i].configured) {
			*idx = i;
			return 0;
		}
		any_running |= sl[i].running;
		any_configured |= sl[i].configured;
	}
	/*
	 * A new kdamond means writing nr_kdamonds, which rebuilds every
	 * kdamond directory: the kernel refuses while one runs, and it
	 * would erase stopped kdamonds' configurations.
	 */
	if (any_running)
		return -EBUSY;
	if (any_configured && !replace)
		return -ENOTEMPTY;
	if (nr >= NR_KDAMONDS_MAX)
		return -ENOSPC;
	err = write_nr(s, "kdamonds/nr_kdamonds", nr + 1);
	if (err)
		return err;
	*idx = nr;
	return 0;
}

static int release_ctx(const struct ml_damon_sysfs *s, unsigned int idx)
{
	char rel[PATH_MAX];
	int err = pathf(rel, "kdamonds/%u/contexts/nr_contexts", idx);

	return err ? err : write_nr(s, rel, 0);
}

int ml_damon_sysfs_start(struct ml_damon_sysfs *s,
			 const struct ml_kdamond_ctx *ctx,
			 const struct ml_damon_sysfs_start_opts *opts,
			 unsigned int *index, pid_t *pid)
{
	int want = -1, kpid = -1, err;
	bool replace = false, on = false;
	char rel[PATH_MAX];
	unsigned int idx;

	if (!s || !ctx)
		return -EINVAL;
	if (opts && opts->sz >= offsetof(struct ml_damon_sysfs_start_opts,
					 replace) + sizeof(opts->replace)) {
		want = opts->index;
		replace = opts->replace;
	}
	err = pick_slot(s, want, replace, &idx);
	if (err)
		return err;
	err = write_ctx(s, idx, ctx);
	if (!err)
		err = state_cmd(s, idx, "on", &on);
	if (!err && !on)
		err = -EINVAL;	/* settled "off": the start was refused */
	if (err) {
		release_ctx(s, idx);
		return err;
	}
	err = pathf(rel, "kdamonds/%u/pid", idx);
	if (!err)
		err = read_int(s, rel, &kpid);
	if (err)
		return err;
	if (index)
		*index = idx;
	if (pid)
		*pid = kpid;
	return 0;
}

int ml_damon_sysfs_stop(struct ml_damon_sysfs *s, unsigned int index,
			bool release)
{
	bool on = false;
	int err, ret = 0;

	err = read_state(s, index, false, &on);
	if (err)
		return err;
	if (on) {
		err = state_cmd(s, index, "off", &on);
		if (err)
			return err;
		if (on)
			return -EBUSY;
	} else {
		ret = -EALREADY;
	}
	if (release) {
		err = release_ctx(s, index);
		if (err)
			return err;
	}
	return ret;
}

int ml_damon_sysfs_command(struct ml_damon_sysfs *s, unsigned int index,
			   const char *cmd)
{
	bool on;

	return state_cmd(s, index, cmd, &on);
}

/* ---- the DAMON modules' kdamonds ---------------------------------------------- */

/* A small file under the sys root (not the admin directory). */
static ssize_t read_sys(const struct ml_damon_sysfs *s, const char *rel,
			char *buf, size_t cap)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, err;

	err = pathf(path, "%s/%s", s->sys_root, rel);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	err = -errno;
	close(fd);
	if (n < 0)
		return err;
	buf[n] = 0;
	return n;
}

int ml_damon_sysfs_modules(struct ml_damon_sysfs *s,
			   struct ml_damon_module *out, size_t cap,
			   size_t *nr)
{
	static const char *const names[] = { "damon_reclaim",
					     "damon_lru_sort", "damon_stat" };
	char rel[PATH_MAX], buf[64];

	*nr = 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct ml_damon_module m = { .kdamond_pid = -1 };
		ssize_t n;
		int pid;

		if (pathf(rel, "module/%s/parameters/enabled", names[i]))
			continue;
		n = read_sys(s, rel, buf, sizeof(buf));
		if (n < 1 || (buf[0] != 'Y' && buf[0] != 'N'))
			continue;	/* not built in, or not readable */
		m.enabled = buf[0] == 'Y';
		copy_word(m.name, sizeof(m.name), names[i]);
		if (!pathf(rel, "module/%s/parameters/kdamond_pid", names[i]) &&
		    (n = read_sys(s, rel, buf, sizeof(buf))) > 0 &&
		    !ml_damon_sysfs_parse_int(buf, (size_t)n, &pid))
			m.kdamond_pid = pid;
		if (*nr < cap)
			out[*nr] = m;
		(*nr)++;
	}
	return 0;
}

/* ---- tried regions as snapshots ------------------------------------------------ */

/* Microseconds since kdamond thread @pid started (its /proc stat), or -1. */
static int64_t kdamond_age_us(const struct ml_damon_sysfs *s, pid_t pid)
{
	char path[PATH_MAX], buf[1024], *p;
	unsigned long long start_ticks;
	struct timespec now;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd, field;

	if (pid <= 0 || hz <= 0 ||
	    pathf(path, "%s/%d/stat", s->proc_root, (int)pid))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* after "comm)": state is field 3, starttime field 22 */
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start_ticks) != 1)
		return -1;
	if (clock_gettime(CLOCK_BOOTTIME, &now))
		return -1;
	return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 -
	       (int64_t)(start_ticks * 1000000ULL / (unsigned long long)hz);
}

static uint64_t since_open_us(const struct ml_damon_sysfs *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - s->opened.tv_sec) * 1000000 +
	       (uint64_t)((now.tv_nsec - s->opened.tv_nsec) / 1000);
}

/* The target a stat-all scheme keeps: its one rejecting target filter. */
static int scheme_target(const struct ml_kdamond_scheme *sc)
{
	if (sc->nr_filters != 1 || strcmp(sc->filters[0].type, "target") ||
	    sc->filters[0].matching || sc->filters[0].allow == 1)
		return -1;
	return sc->filters[0].target_idx;
}

static int emit(struct ml_damon_snapshot *snap, const struct ml_kdamond_ctx *c,
		unsigned int target, const struct ml_damon_region *regs,
		size_t nr, ml_damon_sysfs_snapshot_fn fn, void *arg)
{
	snap->target_id = target;
	snap->pid = target < c->nr_targets ? c->targets[target].pid : 0;
	snap->regions = regs;
	snap->nr_regions = nr;
	return fn(snap, arg);
}

int ml_damon_sysfs_tried_regions(struct ml_damon_sysfs *s, unsigned int index,
				 ml_damon_sysfs_snapshot_fn fn, void *arg)
{
	struct ml_damon_snapshot snap = { 0 };
	struct ml_kdamonds all = { 0 };
	struct ml_kdamond_ctx *c;
	struct ml_kdamond *k;
	bool on = false, found = false;
	int64_t age;
	int err;

	if (!fn)
		return -EINVAL;
	/* the kernel answers -EINVAL for a stopped kdamond: say which */
	err = read_state(s, index, false, &on);
	if (!err && !on)
		err = -ESRCH;
	if (!err)
		err = state_cmd(s, index, "update_schemes_tried_regions", &on);
	if (!err && !on)
		err = -ESRCH;
	if (err)
		return err;
	/* read only this kdamond: a cut-down snapshot */
	all.kdamonds = calloc(1, sizeof(*all.kdamonds));
	if (!all.kdamonds)
		return -ENOMEM;
	all.nr = 1;
	k = &all.kdamonds[0];
	read_kdamond(s, index, k);
	if (k->err && !k->nr_contexts) {
		err = k->err;
		goto out;
	}
	if (k->nr_contexts != 1) {
		err = -ENOENT;
		goto out;
	}
	c = &k->contexts[0];
	age = kdamond_age_us(s, k->pid);
	snap.time_us = age >= 0 ? (uint64_t)age : since_open_us(s);
	snap.max_nr_accesses = c->sample_us ?
		(uint32_t)(c->aggr_us / c->sample_us) : 0;
	/* one stat-all scheme per target (what memlens damon start makes) */
	for (size_t i = 0; !err && i < c->nr_schemes; i++) {
		const struct ml_kdamond_scheme *sc = &c->schemes[i];
		int t = scheme_target(sc);

		if (t < 0 || !ml_kdamond_scheme_is_stat_all(sc))
			continue;
		found = true;
		err = emit(&snap, c, (unsigned int)t, sc->tried_regions,
			   sc->nr_tried_regions, fn, arg);
	}
	/* else one stat-all scheme without filters covers every target */
	for (size_t i = 0; !err && !found && i < c->nr_schemes; i++) {
		const struct ml_kdamond_scheme *sc = &c->schemes[i];
		size_t nr = sc->nr_tried_regions, from = 0, j;
		unsigned int tid = 0;

		if (sc->nr_filters || !ml_kdamond_scheme_is_stat_all(sc))
			continue;
		found = true;
		/* a new target where the addresses go down */
		for (j = 1; !err && j <= nr; j++) {
			if (j < nr && (c->nr_targets <= 1 ||
				       sc->tried_regions[j].start >=
				       sc->tried_regions[j - 1].end))
				continue;
			err = emit(&snap, c, tid++, sc->tried_regions + from,
				   j - from, fn, arg);
			from = j;
		}
		if (!nr)
			err = emit(&snap, c, 0, NULL, 0, fn, arg);
	}
	if (!err && !found)
		err = -ENOENT;
out:
	ml_kdamonds_free(&all);
	return err;
}
