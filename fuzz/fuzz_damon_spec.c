// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the two DAMON text parsers a user feeds: the scheme spec
 * (--scheme) and the sim script (--ops sim:SCRIPT). The first byte picks
 * the parser; the rest is a NUL-terminated string in a buffer of exactly
 * its size. A script that parses is also run for a few aggregations, so
 * that whatever ranges and phases it describes go through the core.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/damon.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_damon_sim_script *script;
	struct ml_damon_ctx *ctx;
	struct ml_damos s;
	const char *err = NULL;
	char *text;
	int ret;

	if (!size)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1) {
		ret = ml_damos_parse(text, NULL, &s, &err);
		if (ret && (ret != -EINVAL || !err))
			abort();
		if (!ret && s.pattern.min_sz_bytes > s.pattern.max_sz_bytes)
			abort();
	} else {
		script = malloc(sizeof(*script));
		if (script) {
			ret = ml_damon_sim_parse(text, script, &err);
			if (ret && (ret != -EINVAL || !err))
				abort();
			free(script);
		}
		/* run it: sim_init parses again; 0.5 s of virtual time */
		if (!ml_damon_ctx_new(NULL, 1, &ctx)) {
			if (ml_damon_add_target(ctx, &ml_damon_sim_ops, 0,
						*text ? text : "size=1G", NULL) >= 0)
				ml_damon_run_virtual(ctx, 500000);
			ml_damon_ctx_free(ctx);
		}
	}
	free(text);
	return 0;
}
