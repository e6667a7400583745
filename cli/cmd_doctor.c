// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens doctor: which kernel features this machine offers memlens, read
 * live, and what memlens falls back to for each one missing.
 */
#include <getopt.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <memlens/features.h>

#include "cli.h"

static void doctor_usage(FILE *f)
{
	fprintf(f,
		"Usage: memlens doctor [OPTIONS]\n"
		"\n"
		"Which kernel features this machine offers memlens, probed now, and what\n"
		"memlens does instead for each one missing. The probes run with the\n"
		"caller's privileges: run as root to see what root gets.\n"
		"\n"
		"Features: PROCMAP_QUERY, anonymous VMA names, pagemap PFNs, kpageflags,\n"
		"kpagecount, PAGEMAP_SCAN, userfaultfd WP_ASYNC, soft-dirty, page_idle,\n"
		"DAMON sysfs, THP, mTHP (\"inherit\" follows the top-level THP mode),\n"
		"allocation profiling, swap; and the DAMON access sources they allow\n"
		"(damon wp, damon softdirty, damon idle: memlens damon monitor --ops).\n"
		"\n"
		"Status: yes; no (this kernel lacks it); no permission (the kernel has it,\n"
		"this user may not use it); unknown (the probe could not tell: see DETAIL).\n"
		"\n"
		"Files are read through --proc-root and --sys-root. The probes of memlens's\n"
		"own process (PROCMAP_QUERY, pagemap, soft-dirty) need the proc root to be a\n"
		"procfs and are skipped otherwise. They map and unmap a few pages and clear\n"
		"the soft-dirty bits of memlens itself; nothing else is written, and DAMON\n"
		"sysfs is only ever read.\n"
		"\n"
		"Options:\n"
		"  -j, --json   JSON: an array of {feature, available, state, detail,\n"
		"               fallback}; state is yes, no, no_permission or unknown;\n"
		"               fallback is null when the feature is available\n"
		"  -h, --help   show this help\n"
		"\n"
		"The exit status is 0 even when features are missing.\n");
}

static int parse_args(int argc, char **argv, bool *json)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'h':
			doctor_usage(stdout);
			return -1;
		default:
			doctor_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("doctor", "unexpected argument '%s'",
				       argv[optind]);
	return 0;
}

/* For people; JSON carries ml_feature_state_name(). */
static const char *state_label(enum ml_feature_state s)
{
	switch (s) {
	case ML_FEAT_YES:
		return "yes";
	case ML_FEAT_NO:
		return "no";
	case ML_FEAT_NO_PERMISSION:
		return "no permission";
	case ML_FEAT_UNKNOWN:
		break;
	}
	return "unknown";
}

static void print_json(const struct ml_features *f)
{
	struct ml_json j;

	ml_json_init(&j, stdout, false);
	ml_json_array_begin(&j);
	for (int i = 0; i < ML_FEATURE__COUNT; i++) {
		const struct ml_feature *e = &f->f[i];

		ml_json_object_begin(&j);
		ml_json_kv_str(&j, "feature", e->key);
		ml_json_key(&j, "available");
		ml_json_bool(&j, e->state == ML_FEAT_YES);
		ml_json_kv_str(&j, "state", ml_feature_state_name(e->state));
		ml_json_kv_str(&j, "detail", e->detail);
		ml_json_key(&j, "fallback");
		if (e->state == ML_FEAT_YES)
			ml_json_null(&j);
		else
			ml_json_string(&j, e->fallback);
		ml_json_object_end(&j);
	}
	ml_json_array_end(&j);
	ml_json_finish(&j);
}

static void print_table(const struct ml_features *f)
{
	size_t nr_missing = 0;
	struct utsname u;

	/* whose view this is: the kernel probed and the privileges used */
	if (uname(&u) == 0)
		printf("Linux %s %s, probed as uid %u\n\n", u.release, u.machine,
		       (unsigned)geteuid());
	printf("%-16s %-13s %s\n", "FEATURE", "STATUS", "DETAIL");
	for (int i = 0; i < ML_FEATURE__COUNT; i++) {
		const struct ml_feature *e = &f->f[i];

		printf("%-16s %-13s %s\n", e->name, state_label(e->state),
		       e->detail);
		nr_missing += e->state != ML_FEAT_YES;
	}
	if (!nr_missing)
		return;
	printf("\nWhat memlens does without them:\n");
	for (int i = 0; i < ML_FEATURE__COUNT; i++) {
		const struct ml_feature *e = &f->f[i];

		if (e->state != ML_FEAT_YES)
			printf("  %-16s %s\n", e->name, e->fallback);
	}
}

int cmd_doctor(struct cli_ctx *ctx, int argc, char **argv)
{
	struct ml_features f;
	bool json = false;
	int ret, err;

	ret = parse_args(argc, argv, &json);
	if (ret)
		return ret < 0 ? 0 : ret;
	err = ml_features_probe(ctx->proc, &f);
	if (err) {
		cli_error("probing kernel features", err);
		return 1;
	}
	if (json)
		print_json(&f);
	else
		print_table(&f);
	return 0;
}
