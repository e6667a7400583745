// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the DAMON recording reader and the reports on hostile database
 * bytes: the input is an SQLite file image, opened in memory
 * (sqlite3_deserialize, read-only) and read the way `memlens damon
 * report` reads it: info, stats, every snapshot with regions and ranges,
 * the heatmap (small and odd bin counts), wss with and without a
 * threshold, and the blob decoder directly on the raw bytes.
 *
 * Besides not crashing, what must hold whatever the input:
 *  - a snapshot handed out has sorted, non-empty, non-overlapping regions
 *    and exactly nr_regions of them;
 *  - heatmap cells are -1 (no data) or within [0, 1];
 *  - wss percentiles never decrease.
 * Seeds (fuzz/corpus/fuzz_damon_record/): small recordings made by
 * tests/test_damon_record's pattern and by a sim run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/damon_report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_snapshot(const struct ml_damon_rec_snapshot *s)
{
	for (size_t i = 0; s->s.regions && i < s->s.nr_regions; i++) {
		if (s->s.regions[i].start >= s->s.regions[i].end)
			abort();
		if (i && s->s.regions[i].start < s->s.regions[i - 1].end)
			abort();
	}
}

static void reports(struct ml_damon_rec *r)
{
	static const uint32_t bins[][2] = { { 80, 40 }, { 7, 3 }, { 1, 1 } };
	ML_OPTS(ml_damon_wss_opts, wo, .target_id = -1);
	struct ml_damon_heatmap h;
	struct ml_damon_wss w;

	for (size_t b = 0; b < sizeof(bins) / sizeof(bins[0]); b++) {
		ML_OPTS(ml_damon_heatmap_opts, ho, .target_id = -1,
			.nr_time_bins = bins[b][0], .nr_addr_bins = bins[b][1]);

		if (!ml_damon_heatmap(r, &ho, &h)) {
			struct ml_damon_heatmap_axes ax;

			for (size_t i = 0; i < (size_t)h.nr_time_bins * h.nr_addr_bins; i++)
				if (!(h.cells[i] == -1 ||
				      (h.cells[i] >= 0 && h.cells[i] <= 1 + 1e-9)))
					abort();
			ml_damon_heatmap_axes(&h, 12, 16, &ax);
		}
		ml_damon_heatmap_fini(&h);
	}
	for (uint32_t t = 0; t <= 3; t += 3) {
		wo.min_nr_accesses = t;
		if (!ml_damon_wss(r, &wo, &w)) {
			struct ml_damon_wss_bin wb[8];

			for (int i = 1; i < ML_DAMON_NR_PCTS; i++)
				if (w.wss_pct[i] < w.wss_pct[i - 1])
					abort();
			ml_damon_wss_bins(&w, 8, wb);
		}
		ml_damon_wss_fini(&w);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ML_OPTS(ml_damon_rec_iter_opts, o, .target_id = -1,
		.what = ML_DAMON_REC_REGIONS | ML_DAMON_REC_RANGES);
	const struct ml_damon_rec_snapshot *s;
	struct ml_damon_rec_stats st;
	struct ml_damon_region regs[64];
	struct ml_damon_rec *r;
	int err;

	/* the decoder alone, on the raw bytes as a blob */
	for (size_t nr = 0; nr <= 64 && nr <= size; nr += 7)
		ml_damon_rec_decode(data, size, nr, regs, NULL);
	if (ml_damon_rec_open_mem(data, size, &r))
		return 0;
	ml_damon_rec_info(r);
	ml_damon_rec_stats(r, &st);
	if (!ml_damon_rec_iter(r, &o)) {
		ml_damon_rec_for_each(r, s, err)
			check_snapshot(s);
	}
	reports(r);
	ml_damon_rec_close(r);
	return 0;
}
