// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The softdirty DAMON source (clear_refs 4 + pagemap bit 55) on a child
 * with a known written range, read range and untouched rest; writes only.
 * Expected from $KCONFIG: CONFIG_MEM_SOFT_DIRTY (6.12 and Debian's 6.1 have
 * it). See damon_sources_guest.h.
 */
#include "damon_sources_guest.h"

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_source(&ml_damon_softdirty_ops, "MEM_SOFT_DIRTY", false);
}
