// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The idle DAMON source (page_idle bitmap + pagemap PFNs) on a child with a
 * known written range, read range and untouched rest; reads and writes.
 * Expected from $KCONFIG: CONFIG_IDLE_PAGE_TRACKING (6.12 has it, Debian's
 * 6.1 cloud kernel not: there the source must say so). See
 * damon_sources_guest.h.
 */
#include "damon_sources_guest.h"

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_source(&ml_damon_idle_ops, "IDLE_PAGE_TRACKING", true);
}
