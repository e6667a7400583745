// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ops.c - the access sources, one line each. The order is the automatic
 * choice's preference: the first source whose init() succeeds for the
 * target is used (sources that see reads before writes-only ones).
 */
#include <string.h>

#include "internal.h"

static const struct {
	const struct ml_damon_ops *ops;
	bool in_auto;
} ops_table[] = {
	/* all accesses first, then writes only; wp only ever sees the caller */
	{ &ml_damon_idle_ops, true },
	{ &ml_damon_softdirty_ops, true },
	{ &ml_damon_wp_ops, true },
	{ &ml_damon_sim_ops, false },
};

const struct ml_damon_ops *ml_damon_ops_at(size_t i)
{
	return i < sizeof(ops_table) / sizeof(ops_table[0]) ?
		ops_table[i].ops : NULL;
}

bool ml_damon_ops_in_auto(size_t i)
{
	return ml_damon_ops_at(i) && ops_table[i].in_auto;
}

const struct ml_damon_ops *ml_damon_ops_find(const char *name)
{
	const struct ml_damon_ops *ops;

	for (size_t i = 0; (ops = ml_damon_ops_at(i)); i++)
		if (!strcmp(ops->name, name))
			return ops;
	return NULL;
}
