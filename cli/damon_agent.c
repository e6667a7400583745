// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `memlens damon monitor --ops wp` on another process: wp sees only the
 * process it runs in, so the monitoring runs inside the target, in
 * libmemlens-damon.so, and memlens follows what the agent publishes
 * (ml_damon_agent_read()). COMMAND is started with the agent preloaded and
 * the monitoring attributes and schemes in its environment; -p PID needs a
 * process that already runs the agent.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <memlens/features.h>

#include "damon_common.h"

#define AGENT_SO "libmemlens-damon.so"

/*
 * $MEMLENS_DAMON_AGENT, else the build tree's (memlens in <build>/cli,
 * the agent in <build>/preload), else the installed one.
 */
static bool agent_path(char *buf, size_t sz)
{
	const char *env = getenv("MEMLENS_DAMON_AGENT");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(buf, sz, "%s", env);
		return access(buf, R_OK) == 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(buf, sz, "%s/../preload/%s", exe,
				     AGENT_SO) < (int)sz &&
			    access(buf, R_OK) == 0)
				return true;
		}
	}
	snprintf(buf, sz, "%s/%s", MEMLENS_LIBDIR, AGENT_SO);
	return access(buf, R_OK) == 0;
}

static bool source_works(struct ml_proc *p, enum ml_feature_id id)
{
	struct ml_feature f;

	return !ml_features_probe_one(p, id, &f) && f.state == ML_FEAT_YES;
}

int damon_agent_decide(struct damon_cli *d, const struct ml_damon_ops *ops)
{
	bool other = d->command || (d->pid && d->pid != getpid());
	int err;

	if (!other || (ops && ops != &ml_damon_wp_ops))
		return 0;
	err = ml_proc_new(NULL, &d->agent_proc);
	if (err) {
		cli_error("/proc", err);
		return 1;
	}
	/* automatic: the agent only when no source watches from outside */
	if (!ops && (source_works(d->agent_proc, ML_FEATURE_DAMON_OPS_IDLE) ||
		     source_works(d->agent_proc, ML_FEATURE_DAMON_OPS_SOFTDIRTY) ||
		     !source_works(d->agent_proc, ML_FEATURE_DAMON_OPS_WP)))
		return 0;
	if (d->pid) {
		struct ml_damon_agent_snap as = { 0 };

		err = ml_damon_agent_read(d->agent_proc, d->pid, &as);
		ml_damon_agent_snap_free(&as);
		if (err == -ENOENT) {
			if (!ops)
				return 0; /* let the automatic choice say why */
			cli_errorf("wp: process %d runs no libmemlens-damon.so "
				   "(start it with LD_PRELOAD=%s, or use "
				   "'-- COMMAND')", (int)d->pid, AGENT_SO);
			return 1;
		}
		if (err) {
			cli_error("wp: reading the agent", err);
			return 1;
		}
	} else if (!agent_path(d->agent_so, sizeof(d->agent_so))) {
		cli_errorf("wp: %s not found (set MEMLENS_DAMON_AGENT)",
			   AGENT_SO);
		return 1;
	}
	d->agent = true;
	d->ops = &ml_damon_wp_ops;
	return 0;
}

/* In COMMAND's child, before exec: preload the agent, pass what it needs. */
void damon_agent_child_env(const struct damon_cli *d)
{
	const char *old = getenv("LD_PRELOAD");
	char buf[PATH_MAX + 4096];
	size_t len = 0;

	if (old && *old)
		snprintf(buf, sizeof(buf), "%s:%s", d->agent_so, old);
	else
		snprintf(buf, sizeof(buf), "%s", d->agent_so);
	setenv("LD_PRELOAD", buf, 1);
	snprintf(buf, sizeof(buf), "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,%u",
		 d->attrs.sample_us, d->attrs.aggr_us, d->attrs.ops_update_us,
		 d->attrs.min_nr_regions, d->attrs.max_nr_regions);
	setenv(ML_DAMON_AGENT_ENV_ATTRS, buf, 1);
	snprintf(buf, sizeof(buf), "%" PRIu64, d->seed);
	setenv(ML_DAMON_AGENT_ENV_SEED, buf, 1);
	buf[0] = '\0';
	for (size_t i = 0; i < d->nr_schemes; i++)
		len += (size_t)snprintf(buf + len, len < sizeof(buf) ?
					sizeof(buf) - len : 0, "%s\n",
					d->scheme_specs[i]);
	if (d->nr_schemes && len < sizeof(buf))
		setenv(ML_DAMON_AGENT_ENV_SCHEMES, buf, 1);
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000),
			       (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL); /* EINTR: a signal, the loop looks at stop */
}

int damon_agent_run(struct damon_cli *d, ml_damon_snapshot_fn fn, void *arg,
		    volatile int *stop)
{
	struct ml_damon_agent_snap as = { 0 };
	pid_t pid = d->child ? d->child : d->pid;
	uint64_t seen = 0, started = 0, poll_us = d->attrs.aggr_us / 4;
	int err = 0, ret = 0;

	if (poll_us < 1000)
		poll_us = 1000;
	while (!*stop) {
		err = ml_damon_agent_read(d->agent_proc, pid, &as);
		/* COMMAND has not reached the agent's constructor yet */
		if (err == -ENOENT && d->child && !seen)
			err = -EAGAIN;
		if (err && err != -EAGAIN)
			break;
		if (!err && as.state == ML_DAMON_AGENT_FAILED) {
			cli_errorf("wp: %s", as.why[0] ? as.why : strerror(-as.error));
			ret = 1;
			break;
		}
		if (!err && as.nr_snapshots != seen) {
			if (!started)
				started = as.snap.time_us;
			seen = as.nr_snapshots;
			d->agent_snap = &as; /* its schemes' statistics */
			ret = fn(&as.snap, arg);
			d->agent_snap = NULL;
			if (ret) {
				ret = 0;
				break;
			}
			if (d->duration_us &&
			    as.snap.time_us - started >= d->duration_us)
				break;
		}
		if (!err && as.state == ML_DAMON_AGENT_STOPPED)
			break;
		sleep_us(poll_us);
	}
	ml_damon_agent_snap_free(&as);
	/* the target ended: monitoring is done */
	if (err == -ESRCH || err == -ENOENT || ret)
		return ret;
	if (err && err != -EAGAIN) {
		cli_error("wp: reading the agent", err);
		return 1;
	}
	return 0;
}
