// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens damon record: monitor a target (the options of damon monitor,
 * cli/damon_common.h) and write every aggregation into an SQLite
 * recording (lib/damon/record.c) for `memlens damon report`. The file is
 * readable at any moment: each aggregation is one transaction, so Ctrl-C,
 * SIGKILL, a full disk or the size bound lose at most the one under way,
 * and the recording stores why it ended.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memlens/damon_record.h>
#include <memlens/damon_sysfs.h>

#include "damon_common.h"

static void record_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens damon record [OPTIONS] -o FILE -p PID | -- COMMAND [ARG...]\n"
		"\n"
		"Record a target's access pattern, every aggregation's regions, into an\n"
		"SQLite database FILE for 'memlens damon report' (or the sqlite3 shell:\n"
		"the README describes the tables). Ctrl-C, the target's exit, --duration\n"
		"or --max-size end the recording; the file says which.\n"
		"\n");
	damon_cli_usage(f);
	fprintf(f,
		"Recording:\n"
		"  -o, --output FILE      the recording (required)\n"
		"  -f, --force            replace FILE if it exists\n"
		"      --max-size SIZE    stop before FILE passes SIZE (K, M, G)\n"
		"      --kernel[=N]       record the kernel's DAMON (kdamond N, default\n"
		"                         0) from its tried regions instead\n"
		"  -q, --quiet            no progress line at the end\n"
		"  -h, --help             show this help\n");
}

enum { OPT_MAX_SIZE = 0x2000, OPT_KERNEL };

struct record {
	struct damon_cli d;
	const char *path;
	bool force, quiet, kernel;
	unsigned int kdamond;
	uint64_t max_size_bytes;
	struct ml_damon_rec_writer *w;
	/* set by on_snapshot when it stops the loop */
	int write_err;
	uint64_t nr_regions;
};

/* "64M", "1G", "4096": binary units */
static bool parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static bool target_gone(const struct record *r)
{
	if (r->d.child)
		return r->d.child_exited;
	return r->d.pid && kill(r->d.pid, 0) < 0 && errno == ESRCH;
}

static int on_snapshot(const struct ml_damon_snapshot *s, void *arg)
{
	struct record *r = arg;
	int err = ml_damon_rec_write(r->w, s, 1);

	if (err) {
		r->write_err = err;
		return 1;	/* stops the loop; the reason is ours */
	}
	r->nr_regions += s->nr_regions;
	/* a source that cannot see the target go (sim) would go on */
	return target_gone(r);
}

/* The command line, for the recording row. */
static char *command_line(char **argv)
{
	size_t len = 1;
	char *s;

	for (char **a = argv; *a; a++)
		len += strlen(*a) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (char **a = argv; *a; a++) {
		if (a != argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

/*
 * Why the loop ended. damon_cli_run() does not say, so: our own stop
 * (write error) first, then the target's end, then the duration; what is
 * left is a signal (Ctrl-C, SIGTERM) or a source with nothing more.
 */
static enum ml_damon_rec_end end_reason(struct record *r, int run_rc,
					char *detail, size_t sz)
{
	uint64_t now = ml_damon_now_us(r->d.ctx);

	detail[0] = '\0';
	switch (r->write_err) {
	case 0:
		break;
	case -EFBIG:
		snprintf(detail, sz, "the next aggregation would pass --max-size "
			 "%" PRIu64 " bytes", r->max_size_bytes);
		return ML_DAMON_REC_END_MAX_SIZE;
	case -ENOSPC:
		snprintf(detail, sz, "no space left on the device");
		return ML_DAMON_REC_END_DISK_FULL;
	default:
		snprintf(detail, sz, "writing: %s",
			 ml_damon_rec_strerror(r->write_err));
		return ML_DAMON_REC_END_ERROR;
	}
	if (run_rc) {
		snprintf(detail, sz, "monitoring failed");
		return ML_DAMON_REC_END_ERROR;
	}
	if (r->d.child && !r->d.child_exited &&
	    waitpid(r->d.child, &r->d.child_status, WNOHANG) == r->d.child)
		r->d.child_exited = true;
	if (target_gone(r)) {
		if (r->d.child && WIFEXITED(r->d.child_status))
			snprintf(detail, sz, "%s exited with status %d",
				 r->d.command[0], WEXITSTATUS(r->d.child_status));
		else if (r->d.child && WIFSIGNALED(r->d.child_status))
			snprintf(detail, sz, "%s was killed by signal %d (%s)",
				 r->d.command[0], WTERMSIG(r->d.child_status),
				 strsignal(WTERMSIG(r->d.child_status)));
		else
			snprintf(detail, sz, "pid %d exited", (int)r->d.pid);
		return ML_DAMON_REC_END_TARGET_EXITED;
	}
	if (r->d.duration_us && now >= r->d.duration_us) {
		snprintf(detail, sz, "%.3f s", (double)r->d.duration_us / 1e6);
		return ML_DAMON_REC_END_DURATION;
	}
	snprintf(detail, sz, "interrupted");
	return ML_DAMON_REC_END_SIGNAL;
}

static int parse_args(struct record *r, int argc, char **argv)
{
	static const struct option longopts[] = {
		DAMON_CLI_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
		{ "kernel", optional_argument, NULL, OPT_KERNEL },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	unsigned long n;
	int c, rc;

	while ((c = getopt_long(argc, argv, "+" DAMON_CLI_SHORTOPTS "o:fqh",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'o': r->path = optarg; continue;
		case 'f': r->force = true; continue;
		case 'q': r->quiet = true; continue;
		case OPT_MAX_SIZE:
			if (!parse_size(optarg, &r->max_size_bytes) ||
			    !r->max_size_bytes)
				return cli_usage_error(r->d.cmd,
					"bad --max-size '%s'", optarg);
			continue;
		case OPT_KERNEL:
			r->kernel = true;
			if (optarg) {
				if (!cli_parse_uint(optarg, &n) || n > 1u << 20)
					return cli_usage_error(r->d.cmd,
						"bad kdamond '%s'", optarg);
				r->kdamond = (unsigned int)n;
			}
			continue;
		case 'h': record_usage(stdout); return -1;
		case '?': return cli_usage_error(r->d.cmd, "bad option");
		}
		rc = damon_cli_opt(&r->d, c, optarg);
		if (rc)
			return rc == 1 ? EXIT_USAGE : rc;
	}
	if (!r->path)
		return cli_usage_error(r->d.cmd, "-o FILE is needed");
	if (r->kernel)
		return 0;
	return damon_cli_args(&r->d, argc, argv, optind);
}

static void summary(const struct record *r, enum ml_damon_rec_end why,
		    const char *detail)
{
	char sz[32];
	uint64_t n = ml_damon_rec_nr_written(r->w);

	fprintf(stderr, "memlens: recorded %" PRIu64 " aggregation%s (%" PRIu64
		" regions, %s) to %s; ended: %s%s%s\n", n, n == 1 ? "" : "s",
		r->nr_regions, cli_size(sz, ml_damon_rec_size_bytes(r->w), false),
		r->path, ml_damon_rec_end_str(why), detail[0] ? ": " : "",
		detail);
}

/* ---- --kernel: the kernel's DAMON ------------------------------------------ */

static volatile sig_atomic_t kernel_stop;

static void on_kernel_signal(int sig)
{
	(void)sig;
	kernel_stop = 1;
}

static uint64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int on_kernel_snapshot(const struct ml_damon_snapshot *s, void *arg)
{
	int stop = on_snapshot(s, arg);

	return stop || kernel_stop;
}

/* The running kdamond @index of @k, or NULL. */
static const struct ml_kdamond *find_kdamond(const struct ml_kdamonds *k,
					     unsigned int index)
{
	for (size_t i = 0; i < k->nr; i++)
		if (k->kdamonds[i].index == index)
			return &k->kdamonds[i];
	return NULL;
}

/*
 * Record kdamond @r->kdamond: one call of ml_damon_sysfs_tried_regions()
 * per aggregation (it waits for the kernel's next one), until --duration,
 * Ctrl-C, the kdamond stopping or a write error. Only reads sysfs, apart
 * from the kdamond's own state commands (update_schemes_tried_regions),
 * which is how the kernel hands out results.
 */
static int record_kernel(struct cli_ctx *ctx, struct record *r)
{
	ML_OPTS(ml_damon_sysfs_opts, sopts, .proc = ctx->proc,
		.sys_root = ctx->sys_root);
	ML_OPTS(ml_damon_rec_opts, wopts, .overwrite = r->force,
		.max_size_bytes = r->max_size_bytes);
	struct sigaction sa = { .sa_handler = on_kernel_signal }, old_int, old_term;
	struct ml_damon_rec_info info = { 0 };
	struct ml_kdamonds k = { 0 };
	const struct ml_kdamond *kd;
	const struct ml_kdamond_ctx *c;
	struct ml_damon_sysfs *s = NULL;
	enum ml_damon_rec_end why = ML_DAMON_REC_END_SIGNAL;
	char ops[48], detail[160] = "";
	uint64_t t0;
	int err, rc = 1;

	err = ml_damon_sysfs_open(&sopts, &s);
	if (!err)
		err = ml_damon_sysfs_read(s, &k);
	if (err) {
		cli_errorf("%s: --kernel: %s%s", r->d.cmd, strerror(-err),
			   err == -ENOENT ? " (no DAMON sysfs: CONFIG_DAMON_SYSFS)" : "");
		goto out;
	}
	kd = find_kdamond(&k, r->kdamond);
	if (!kd || !kd->running || !kd->nr_contexts) {
		cli_errorf("%s: --kernel: kdamond %u is not running (see 'memlens "
			   "damon status'; 'memlens damon start' starts one)",
			   r->d.cmd, r->kdamond);
		goto out;
	}
	c = &kd->contexts[0];
	snprintf(ops, sizeof(ops), "kernel:%s", c->operations);
	info.ops = ops;
	info.sample_us = c->sample_us;
	info.aggr_us = c->aggr_us;
	info.update_us = c->update_us;
	info.min_nr_regions = (uint32_t)c->min_nr_regions;
	info.max_nr_regions = (uint32_t)c->max_nr_regions;
	info.pid = c->nr_targets ? c->targets[0].pid : 0;
	err = ml_damon_rec_create(r->path, &info, &wopts, &r->w);
	if (err) {
		if (err == -EEXIST)
			cli_errorf("%s: exists (--force replaces it)", r->path);
		else
			cli_errorf("%s: %s", r->path, ml_damon_rec_strerror(err));
		goto out;
	}

	kernel_stop = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	t0 = monotonic_us();
	while (!kernel_stop) {
		err = ml_damon_sysfs_tried_regions(s, r->kdamond,
						   on_kernel_snapshot, r);
		if (r->write_err)
			break;
		if (err == -ESRCH) {
			why = ML_DAMON_REC_END_TARGET_EXITED;
			snprintf(detail, sizeof(detail), "kdamond %u stopped",
				 r->kdamond);
			break;
		}
		if (err < 0 && err != -EINTR) {
			why = ML_DAMON_REC_END_ERROR;
			snprintf(detail, sizeof(detail), "reading kdamond %u: %s",
				 r->kdamond, strerror(-err));
			break;
		}
		if (r->d.duration_us && monotonic_us() - t0 >= r->d.duration_us) {
			why = ML_DAMON_REC_END_DURATION;
			snprintf(detail, sizeof(detail), "%.3f s",
				 (double)r->d.duration_us / 1e6);
			break;
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (r->write_err == -EFBIG) {
		why = ML_DAMON_REC_END_MAX_SIZE;
	} else if (r->write_err == -ENOSPC) {
		why = ML_DAMON_REC_END_DISK_FULL;
	} else if (r->write_err) {
		why = ML_DAMON_REC_END_ERROR;
		snprintf(detail, sizeof(detail), "writing: %s",
			 ml_damon_rec_strerror(r->write_err));
	}
	if (why == ML_DAMON_REC_END_SIGNAL)
		snprintf(detail, sizeof(detail), "interrupted");
	err = ml_damon_rec_end(r->w, why, detail);
	if (r->write_err)
		cli_errorf("%s: %s: recording stopped; the %" PRIu64
			   " aggregations written are kept", r->path,
			   ml_damon_rec_strerror(r->write_err),
			   ml_damon_rec_nr_written(r->w));
	if (err)
		cli_errorf("%s: could not store why the recording ended: %s",
			   r->path, ml_damon_rec_strerror(err));
	if (!r->quiet)
		summary(r, why, detail);
	rc = why == ML_DAMON_REC_END_ERROR || why == ML_DAMON_REC_END_DISK_FULL;
out:
	ml_damon_rec_writer_free(r->w);
	r->w = NULL;
	ml_kdamonds_free(&k);
	ml_damon_sysfs_close(s);
	return rc;
}

int cmd_damon_record(struct cli_ctx *ctx, int argc, char **argv)
{
	ML_OPTS(ml_damon_rec_opts, wopts);
	struct ml_damon_rec_info info = { 0 };
	struct record r = { 0 };
	enum ml_damon_rec_end why;
	char detail[160], *cmdline = NULL;
	int rc, err;

	damon_cli_init(&r.d, "damon record");
	rc = parse_args(&r, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (r.kernel) {
		rc = record_kernel(ctx, &r);
		goto out;
	}
	rc = damon_cli_setup(&r.d);
	if (rc)
		goto out;
	info.ops = r.d.ops ? r.d.ops->name : "";
	info.sample_us = r.d.attrs.sample_us;
	info.aggr_us = r.d.attrs.aggr_us;
	info.update_us = r.d.attrs.ops_update_us;
	info.min_nr_regions = r.d.attrs.min_nr_regions;
	info.max_nr_regions = r.d.attrs.max_nr_regions;
	info.pid = r.d.child ? r.d.child : r.d.pid;
	if (r.d.command)
		info.command = cmdline = command_line(r.d.command);
	else if (r.d.ops_arg)
		info.command = r.d.ops_arg;	/* the sim script */
	wopts.overwrite = r.force;
	wopts.max_size_bytes = r.max_size_bytes;
	err = ml_damon_rec_create(r.path, &info, &wopts, &r.w);
	if (err) {
		if (err == -EEXIST)
			cli_errorf("%s: exists (--force replaces it)", r.path);
		else if (err == -EFBIG)
			cli_errorf("%s: --max-size is below what an empty "
				   "recording takes (16K)", r.path);
		else
			cli_errorf("%s: %s", r.path, ml_damon_rec_strerror(err));
		rc = 1;
		goto out;
	}
	rc = damon_cli_run(&r.d, on_snapshot, &r);
	why = end_reason(&r, rc, detail, sizeof(detail));
	err = ml_damon_rec_end(r.w, why, detail);
	if (why == ML_DAMON_REC_END_MAX_SIZE || why == ML_DAMON_REC_END_DISK_FULL)
		cli_errorf("%s: %s: recording stopped; the %" PRIu64
			   " aggregations written are kept", r.path,
			   ml_damon_rec_strerror(r.write_err),
			   ml_damon_rec_nr_written(r.w));
	else if (why == ML_DAMON_REC_END_ERROR && r.write_err)
		cli_errorf("%s: %s", r.path, ml_damon_rec_strerror(r.write_err));
	if (err)
		cli_errorf("%s: could not store why the recording ended: %s",
			   r.path, ml_damon_rec_strerror(err));
	if (!r.quiet)
		summary(&r, why, detail);
	/* the size bound is what was asked for; a full disk or error is not */
	if (why == ML_DAMON_REC_END_DISK_FULL || why == ML_DAMON_REC_END_ERROR)
		rc = 1;
out:
	ml_damon_rec_writer_free(r.w);
	damon_cli_fini(&r.d);
	free(cmdline);
	return rc;
}
