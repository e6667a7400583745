// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * System totals: meminfo's itemisation of where memory is, and the share
 * of it that the processes of a scan account for.
 */
#include <errno.h>
#include <string.h>

#include <memlens/acct.h>

static uint64_t mi(const struct ml_meminfo *m, enum ml_meminfo_field f)
{
	return m->v[f];
}

int ml_acct_system(const struct ml_meminfo *m, const struct ml_proc_table *t,
		   struct ml_sys_mem *out)
{
	uint64_t cached, itemised;

	if (!m || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->total = mi(m, ML_MI_MEM_TOTAL);
	out->free = mi(m, ML_MI_MEM_FREE);
	out->available = mi(m, ML_MI_MEM_AVAILABLE);
	out->anon = mi(m, ML_MI_ANON_PAGES);
	out->shmem = mi(m, ML_MI_SHMEM);
	/* Cached holds shmem/tmpfs pages too; file is the rest plus Buffers */
	cached = mi(m, ML_MI_CACHED) + mi(m, ML_MI_BUFFERS);
	out->file = cached > out->shmem ? cached - out->shmem : 0;
	out->swap_cached = mi(m, ML_MI_SWAP_CACHED);
	out->slab = mi(m, ML_MI_SLAB);
	out->kernel_stack = mi(m, ML_MI_KERNEL_STACK);
	out->page_tables = mi(m, ML_MI_PAGE_TABLES) +
			   mi(m, ML_MI_SEC_PAGE_TABLES);
	out->percpu = mi(m, ML_MI_PERCPU);
	out->vmalloc = mi(m, ML_MI_VMALLOC_USED);
	out->kernel = out->slab + out->kernel_stack + out->page_tables +
		      out->percpu + out->vmalloc;
	out->hugetlb = mi(m, ML_MI_HUGETLB);
	/* kernels before 5.16 have no Hugetlb line: pages times page size */
	if (!ml_meminfo_has(m, ML_MI_HUGETLB))
		out->hugetlb = mi(m, ML_MI_HUGEPAGES_TOTAL) *
			       mi(m, ML_MI_HUGEPAGESIZE);
	itemised = out->free + out->anon + out->file + out->shmem +
		   out->swap_cached + out->kernel + out->hugetlb;
	out->unexplained = (int64_t)(out->total - itemised);
	out->swap_total = mi(m, ML_MI_SWAP_TOTAL);
	out->swap_used = out->swap_total > mi(m, ML_MI_SWAP_FREE) ?
				 out->swap_total - mi(m, ML_MI_SWAP_FREE) : 0;

	if (t) {
		for (size_t i = 0; i < t->n; i++) {
			if (t->p[i].err)
				continue;
			ml_mem_add(&out->procs, &t->p[i].mem);
			out->nr_procs++;
		}
	}
	return 0;
}
