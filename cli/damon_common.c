// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * damon_common.c - the part of `memlens damon monitor` that `damon record`
 * reuses: options, launching COMMAND, the loop and Ctrl-C.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "damon_common.h"

/* Set by SIGINT/SIGTERM; the loop looks at it between samples. The one
 * process-wide variable here: a signal handler can reach nothing else. */
static volatile int damon_stop;

static void on_signal(int sig)
{
	(void)sig;
	damon_stop = 1;
}

void damon_cli_init(struct damon_cli *d, const char *cmd)
{
	memset(d, 0, sizeof(*d));
	d->cmd = cmd;
	ml_damon_attrs_default(&d->attrs);
	d->attrs.ops_update_us = 1000 * 1000;
	d->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

/* "5ms", "1s", "200us", "2min"; a bare number is milliseconds here */
static bool parse_duration(const char *s, uint64_t *us)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	if (!strcmp(end, "us"))
		*us = v;
	else if (!strcmp(end, "ms") || !*end)
		*us = v * 1000;
	else if (!strcmp(end, "s"))
		*us = v * 1000000;
	else if (!strcmp(end, "min"))
		*us = v * 60000000;
	else
		return false;
	return v < (1ULL << 40);
}

int damon_cli_opt(struct damon_cli *d, int opt, const char *arg)
{
	unsigned long lo, hi;
	const char **specs;
	char *end;

	switch (opt) {
	case 'p':
		if (!cli_parse_pid(arg, &d->pid))
			return cli_usage_error(d->cmd, "bad pid '%s'", arg);
		return 0;
	case DAMON_OPT_OPS: {
		const char *colon = strchr(arg, ':');

		if (colon) {
			size_t n = (size_t)(colon - arg);

			if (n >= sizeof(d->ops_name_buf))
				return cli_usage_error(d->cmd, "unknown --ops '%s'",
						       arg);
			memcpy(d->ops_name_buf, arg, n);
			d->ops_name_buf[n] = '\0';
			d->ops_name = d->ops_name_buf;
			d->ops_arg = colon + 1;
		} else {
			d->ops_name = arg;
		}
		if (strcmp(d->ops_name, "auto") && !ml_damon_ops_find(d->ops_name))
			return cli_usage_error(d->cmd, "unknown --ops '%s'",
					       d->ops_name);
		if (!strcmp(d->ops_name, "auto"))
			d->ops_name = NULL;
		return 0;
	}
	case DAMON_OPT_SAMPLE:
		if (!parse_duration(arg, &d->attrs.sample_us))
			return cli_usage_error(d->cmd, "bad --sample '%s'", arg);
		return 0;
	case DAMON_OPT_AGGR:
		if (!parse_duration(arg, &d->attrs.aggr_us))
			return cli_usage_error(d->cmd, "bad --aggr '%s'", arg);
		return 0;
	case DAMON_OPT_UPDATE:
		if (!parse_duration(arg, &d->attrs.ops_update_us))
			return cli_usage_error(d->cmd, "bad --update '%s'", arg);
		return 0;
	case DAMON_OPT_REGIONS:
		errno = 0;
		lo = strtoul(arg, &end, 10);
		if (errno || *end != ',' || end == arg)
			return cli_usage_error(d->cmd,
				"--regions takes MIN,MAX, not '%s'", arg);
		hi = strtoul(end + 1, &end, 10);
		if (errno || *end || lo > UINT32_MAX || hi > UINT32_MAX)
			return cli_usage_error(d->cmd,
				"--regions takes MIN,MAX, not '%s'", arg);
		d->attrs.min_nr_regions = (uint32_t)lo;
		d->attrs.max_nr_regions = (uint32_t)hi;
		return 0;
	case DAMON_OPT_SCHEME:
		specs = realloc(d->scheme_specs,
				(d->nr_schemes + 1) * sizeof(*specs));
		if (!specs)
			return cli_usage_error(d->cmd, "out of memory");
		specs[d->nr_schemes++] = arg;
		d->scheme_specs = specs;
		return 0;
	case DAMON_OPT_DURATION:
		if (!parse_duration(arg, &d->duration_us) || !d->duration_us)
			return cli_usage_error(d->cmd, "bad --duration '%s'", arg);
		return 0;
	case DAMON_OPT_SEED:
		errno = 0;
		d->seed = strtoull(arg, &end, 0);
		if (errno || *end || end == arg)
			return cli_usage_error(d->cmd, "bad --seed '%s'", arg);
		return 0;
	case DAMON_OPT_VIRTUAL:
		d->virtual_time = true;
		return 0;
	}
	return 1;
}

int damon_cli_args(struct damon_cli *d, int argc, char **argv, int first)
{
	bool sim = d->ops_name && !strcmp(d->ops_name, "sim");

	if (first < argc)
		d->command = &argv[first];
	if (d->pid && d->command)
		return cli_usage_error(d->cmd, "-p and COMMAND exclude each other");
	if (!d->pid && !d->command && !sim)
		return cli_usage_error(d->cmd, "-p PID or -- COMMAND is needed");
	if (d->virtual_time && !sim)
		return cli_usage_error(d->cmd, "--virtual is for --ops sim only");
	if (d->virtual_time && !d->duration_us)
		return cli_usage_error(d->cmd, "--virtual needs --duration");
	return 0;
}

void damon_cli_usage(FILE *f)
{
	const struct ml_damon_ops *ops;

	fprintf(f,
		"Target (one of):\n"
		"  -p, --pid PID          monitor a running process (left running)\n"
		"  -- COMMAND [ARG...]    start COMMAND and monitor it\n"
		"Monitoring:\n"
		"      --ops NAME[:ARG]   access source (default: auto, the first that\n"
		"                         works here):");
	for (size_t i = 0; (ops = ml_damon_ops_at(i)); i++)
		fprintf(f, " %s", ops->name);
	fprintf(f, "\n"
		"                         sim:SCRIPT needs no target; SCRIPT is e.g.\n"
		"                         'size=64G gap=20G+1G @0 0-4G:0.9 @30s 8G-9G:1'\n"
		"                         (offsets, access probability per sample;\n"
		"                         memlens/damon.h has the whole syntax)\n"
		"      --sample T         sampling interval (5ms)\n"
		"      --aggr T           aggregation interval (100ms)\n"
		"      --update T         mapping update interval (1s, as damo;\n"
		"                         the kernel's is 60s)\n"
		"      --regions MIN,MAX  number of regions (10,1000; MIN >= 3)\n"
		"      --scheme SPEC      DAMOS scheme, repeatable:\n"
		"                         ACTION[:KEY=VALUE,...], ACTION one of stat,\n"
		"                         cold, pageout, willneed, collapse, hugepage,\n"
		"                         nohugepage; KEYs sz=MIN-MAX, nr=MIN-MAX,\n"
		"                         freq=MIN-MAX (%%), age=MIN-MAX (aggregations\n"
		"                         or times), quota=SIZE[/T], quota_ms=MS[/T],\n"
		"                         weights=SZ:FREQ:AGE, wmarks=HIGH:MID:LOW[/T]\n"
		"                         (free memory per mille), apply=T; e.g.\n"
		"                         pageout:freq=0-0,age=5s-max,quota=64M/1s\n"
		"      --duration T       stop after T (default: Ctrl-C or target exit)\n"
		"      --seed N           the sampling PRNG's seed (default: random)\n"
		"      --virtual          sim only: virtual time, no sleeping\n"
		"Times take us, ms, s, min (a bare number is ms).\n");
}

/* ---- COMMAND ------------------------------------------------------------- */

/*
 * fork + exec with a close-on-exec pipe: EOF on it means the exec
 * happened, so the target's first ranges are the program's, not ours.
 * The child gets its own process group so that Ctrl-C at the terminal
 * stops the monitor only.
 */
static int launch(struct damon_cli *d)
{
	int fds[2], err = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (pid == 0) {
		close(fds[0]);
		setpgid(0, 0);
		if (d->agent)
			damon_agent_child_env(d);
		execvp(d->command[0], d->command);
		err = errno;
		if (write(fds[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	do
		n = read(fds[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n == sizeof(err)) {
		waitpid(pid, NULL, 0);
		return -err;
	}
	d->child = pid;
	return 0;
}

int damon_cli_setup(struct damon_cli *d)
{
	const char *why = NULL, *bad;
	const struct ml_damon_ops *ops = NULL;
	pid_t target;
	int err;

	bad = ml_damon_attrs_invalid(&d->attrs);
	if (bad)
		return cli_usage_error(d->cmd, "impossible attributes: %s", bad);
	err = ml_damon_ctx_new(&d->attrs, d->seed, &d->ctx);
	if (err) {
		cli_error("monitoring context", err);
		return 1;
	}
	if (d->ops_name)
		ops = ml_damon_ops_find(d->ops_name);
	err = damon_agent_decide(d, ops);
	if (err)
		return err;
	if (d->agent && d->nr_schemes && !d->command)
		return cli_usage_error(d->cmd, "--scheme: the wp agent of a running "
				       "program takes its schemes when it starts "
				       "(%s, one spec per line); use '-- COMMAND'",
				       ML_DAMON_AGENT_ENV_SCHEMES);
	if (d->agent && d->nr_schemes > ML_DAMON_AGENT_MAX_SCHEMES)
		return cli_usage_error(d->cmd, "--scheme: at most %d with the wp agent",
				       ML_DAMON_AGENT_MAX_SCHEMES);
	for (size_t i = 0; i < d->nr_schemes; i++) {
		struct ml_damos s;
		const char *e = "invalid";

		if (ml_damos_parse(d->scheme_specs[i], &d->attrs, &s, &e))
			return cli_usage_error(d->cmd, "--scheme '%s': %s",
					       d->scheme_specs[i], e);
		/* with the agent, schemes run inside the target */
		err = d->agent ? 0 : ml_damon_add_scheme(d->ctx, &s);
		if (err < 0) {
			cli_error("scheme", err);
			return 1;
		}
	}
	if (d->command) {
		err = launch(d);
		if (err) {
			cli_errorf("%s: %s", d->command[0], strerror(-err));
			return 1;
		}
	}
	if (d->agent)
		return 0;
	target = d->child ? d->child : d->pid;
	err = ml_damon_add_target(d->ctx, ops, target, d->ops_arg, &why);
	if (err < 0) {
		if (!ops)	/* the automatic choice found none */
			cli_errorf("no access source can watch pid %d here "
				   "(the first one tried: %s); 'memlens doctor' "
				   "lists them, and 'memlens damon monitor -- "
				   "COMMAND' watches the writes of a program it "
				   "starts", (int)target,
				   why ? why : strerror(-err));
		else if (why)
			cli_errorf("%s: %s", ops->name, why);
		else
			cli_error(ops->name, err);
		/* COMMAND was started for nothing: it is ours to end */
		if (d->child) {
			kill(d->child, SIGKILL);
			waitpid(d->child, NULL, 0);
			d->child = 0;
		}
		return 1;
	}
	d->ops = ml_damon_target_ops(d->ctx, 0);
	return 0;
}

/* ---- the loop ------------------------------------------------------------ */

struct run_arg {
	struct damon_cli *d;
	ml_damon_snapshot_fn fn;
	void *arg;
};

static int on_snapshot(const struct ml_damon_snapshot *s, void *p)
{
	struct run_arg *ra = p;
	struct damon_cli *d = ra->d;
	int ret = ra->fn(s, ra->arg);

	/* reap COMMAND once it ends, so that sources see it gone */
	if (d->child && !d->child_exited &&
	    waitpid(d->child, &d->child_status, WNOHANG) == d->child)
		d->child_exited = true;
	/* COMMAND has ended: so has monitoring (whatever the source says) */
	return ret ? ret : d->child_exited;
}

int damon_cli_run(struct damon_cli *d, ml_damon_snapshot_fn fn, void *arg)
{
	struct run_arg ra = { .d = d, .fn = fn, .arg = arg };
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	int err;

	/* no SA_RESTART: the sleep returns EINTR and the loop stops */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	damon_stop = 0;
	ml_damon_set_callback(d->ctx, on_snapshot, &ra);
	if (d->agent) {
		int rc = damon_agent_run(d, on_snapshot, &ra, &damon_stop);

		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		return rc;
	}
	if (d->virtual_time)
		err = ml_damon_run_virtual(d->ctx, d->duration_us);
	else
		err = ml_damon_run(d->ctx, d->duration_us, &damon_stop);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (err == -ESRCH || d->child_exited)
		return 0;	/* the target ended: monitoring is done */
	if (err < 0) {
		cli_error("monitoring", err);
		return 1;
	}
	return 0;
}

void damon_cli_fini(struct damon_cli *d)
{
	ml_damon_ctx_free(d->ctx);
	ml_proc_free(d->agent_proc);
	d->agent_proc = NULL;
	free(d->scheme_specs);
	d->ctx = NULL;
	d->scheme_specs = NULL;
}

/* ---- shared formatting ------------------------------------------------------ */

size_t damon_cli_nr_schemes(const struct damon_cli *d)
{
	if (d->agent)
		return d->agent_snap ? d->agent_snap->nr_schemes : 0;
	return ml_damon_nr_schemes(d->ctx);
}

void damon_cli_scheme(const struct damon_cli *d, size_t i,
		      struct ml_damos_stat *st, bool *active, const char **spec)
{
	/* the agent's schemes are ours when we started it with them */
	*spec = i < d->nr_schemes && (!d->agent || d->command) ?
			d->scheme_specs[i] : NULL;
	if (d->agent) {
		*st = d->agent_snap->schemes[i];
		*active = d->agent_snap->scheme_active[i];
		return;
	}
	ml_damon_scheme_stat(d->ctx, i, st);
	*active = ml_damon_scheme_active(d->ctx, i);
}

uint64_t damon_snapshot_wss(const struct ml_damon_snapshot *s)
{
	uint64_t wss = 0;

	for (size_t i = 0; i < s->nr_regions; i++)
		if (s->regions[i].nr_accesses)
			wss += s->regions[i].end - s->regions[i].start;
	return wss;
}

void damon_json_snapshot(struct ml_json *j, const struct damon_cli *d,
			 const struct ml_damon_snapshot *s)
{
	ml_json_object_begin(j);
	ml_json_kv_u64(j, "time_us", s->time_us);
	ml_json_kv_u64(j, "target", s->target_id);
	ml_json_kv_i64(j, "pid", s->pid);
	ml_json_kv_str(j, "ops", d->ops ? d->ops->name : "");
	ml_json_kv_u64(j, "max_nr_accesses", s->max_nr_accesses);
	ml_json_kv_u64(j, "nr_regions", s->nr_regions);
	ml_json_kv_u64(j, "working_set_bytes", damon_snapshot_wss(s));
	ml_json_key(j, "regions");
	ml_json_array_begin(j);
	for (size_t i = 0; i < s->nr_regions; i++) {
		ml_json_object_begin(j);
		ml_json_kv_u64(j, "start", s->regions[i].start);
		ml_json_kv_u64(j, "end", s->regions[i].end);
		ml_json_kv_u64(j, "nr_accesses", s->regions[i].nr_accesses);
		ml_json_kv_u64(j, "age", s->regions[i].age);
		ml_json_object_end(j);
	}
	ml_json_array_end(j);
	if (damon_cli_nr_schemes(d)) {
		ml_json_key(j, "schemes");
		ml_json_array_begin(j);
		for (size_t i = 0; i < damon_cli_nr_schemes(d); i++) {
			struct ml_damos_stat st;
			const char *spec;
			bool active;

			damon_cli_scheme(d, i, &st, &active, &spec);
			ml_json_object_begin(j);
			ml_json_kv_str(j, "spec", spec ? spec : "");
			ml_json_key(j, "active");
			ml_json_bool(j, active);
			ml_json_kv_u64(j, "nr_tried", st.nr_tried);
			ml_json_kv_u64(j, "sz_tried", st.sz_tried);
			ml_json_kv_u64(j, "nr_applied", st.nr_applied);
			ml_json_kv_u64(j, "sz_applied", st.sz_applied);
			ml_json_kv_u64(j, "qt_exceeds", st.qt_exceeds);
			ml_json_object_end(j);
		}
		ml_json_array_end(j);
	}
	ml_json_object_end(j);
}
