// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the contiguity scan on hostile input: smaps text, pagemap entries,
 * kpageflags and kpagecount words written into a temporary proc root (made
 * once) and scanned with ml_contig_process(), as a fixture tree would be;
 * then the same pagemap words through ml_contig_vma_entries(), the
 * system-wide folio pass, and mem_hist's name reader.
 *
 * Besides not crashing, what must hold whatever the input:
 *  - the corrected histogram accounts for every present page exactly once:
 *    sum(hist[n] << n) == present pages, per VMA;
 *  - mem_hist's figures never go negative;
 *  - runs and folios, when the result calls them figures, cover every
 *    present page exactly once.
 *
 * Header (12 bytes, little-endian):
 *   0     mode: bit 0 runs, bit 1 folios, bit 2 drop kpagecount, bit 3 read
 *         Rss-0 VMAs too, bit 4 drop kpageflags, bit 5 system-wide folios
 *   1-2   smaps length     3-4 pagemap length     5-6 kpageflags length
 *   7-10  page index at which the pagemap words are placed
 *   11    unused
 * Body: smaps, pagemap, kpageflags, then kpagecount (the rest).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memlens/contig.h>
#include <memlens/proc.h>

#define FUZZ_PID 4242
#define HEADER 12

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], pid_dir[96];
static struct ml_proc *proc;

static void path_of(char *buf, size_t sz, const char *name)
{
	snprintf(buf, sz, "%s/%s", dir, name);
}

static void cleanup(void)
{
	static const char *const files[] = {
		"4242/smaps", "4242/pagemap", "4242/status", "4242/comm",
		"kpageflags", "kpagecount",
	};
	char path[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path_of(path, sizeof(path), files[i]);
		unlink(path);
	}
	rmdir(pid_dir);
	rmdir(dir);
	ml_proc_free(proc);
}

static void setup_once(void)
{
	if (proc)
		return;
	snprintf(dir, sizeof(dir), "/tmp/memlens-fuzz-contig-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(pid_dir, sizeof(pid_dir), "%s/%d", dir, FUZZ_PID);
	if (mkdir(pid_dir, 0700) < 0)
		abort();
	{
		ML_OPTS(ml_proc_opts, o, .proc_root = dir);

		if (ml_proc_new(&o, &proc) < 0)
			abort();
	}
	atexit(cleanup);
}

/* Write @len bytes at byte offset @off of <root>/@name (NULL data: remove). */
static void put(const char *name, const uint8_t *data, size_t len, off_t off)
{
	char path[160];
	int fd;

	path_of(path, sizeof(path), name);
	unlink(path);
	if (!data)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (len && pwrite(fd, data, len, off) != (ssize_t)len)
		abort();
	close(fd);
}

static uint16_t u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void check_figures(const struct ml_contig_figures *f, uint64_t ps,
			  bool runs, bool folios)
{
	uint64_t pages = 0, bytes = 0;

	for (int o = 0; o < ML_CONTIG_NR_ORDERS; o++) {
		pages += f->hist[o] << o;
		if (f->mem_hist[o] < 0)
			abort();
	}
	if (pages != f->present_pages)
		abort();
	if (runs) {
		for (int b = 0; b < ML_CONTIG_NR_RUN_BINS; b++)
			bytes += f->runs.bytes[b];
		if (bytes != f->present_pages * ps)
			abort();
	}
	if (folios) {
		bytes = 0;
		for (int o = 0; o < ML_CONTIG_NR_FOLIO_ORDERS; o++)
			bytes += f->folios.bytes[o];
		if (bytes != f->present_pages * ps)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body = data + HEADER, *end = data + size;
	size_t smaps_len, pm_len, kpf_len;
	uint32_t at_page, what = 0;
	struct ml_contig *c = NULL;
	struct ml_contig_proc cp;
	uint8_t mode;
	char name[64];

	if (size < HEADER)
		return 0;
	setup_once();
	mode = data[0];
	smaps_len = u16(data + 1);
	pm_len = u16(data + 3);
	kpf_len = u16(data + 5);
	at_page = (uint32_t)data[7] | (uint32_t)data[8] << 8 |
		  (uint32_t)data[9] << 16 | (uint32_t)data[10] << 24;
	if (smaps_len > (size_t)(end - body))
		smaps_len = (size_t)(end - body);
	if (pm_len > (size_t)(end - body - smaps_len))
		pm_len = (size_t)(end - body - smaps_len);
	if (kpf_len > (size_t)(end - body - smaps_len - pm_len))
		kpf_len = (size_t)(end - body - smaps_len - pm_len);

	put("4242/smaps", body, smaps_len, 0);
	put("4242/status", body, smaps_len, 0);
	put("4242/comm", (const uint8_t *)"fuzz\n", 5, 0);
	put("4242/pagemap", body + smaps_len, pm_len, (off_t)at_page * 8);
	put("kpageflags", mode & 16 ? NULL : body + smaps_len + pm_len, kpf_len, 0);
	put("kpagecount", mode & 4 ? NULL : body + smaps_len + pm_len + kpf_len,
	    (size_t)(end - body - smaps_len - pm_len - kpf_len), 0);

	ml_contig_mem_hist_name((const char *)body, smaps_len, name, sizeof(name));
	if (mode & 1)
		what |= ML_CONTIG_RUNS;
	if (mode & 2)
		what |= ML_CONTIG_FOLIOS;
	{
		ML_OPTS(ml_contig_opts, o, .what = what,
			.no_rss_skip = (mode & 8) != 0);

		if (ml_contig_new(proc, &o, &c))
			abort();
	}
	if (ml_contig_process(c, FUZZ_PID, &cp) == 0) {
		for (size_t i = 0; i < cp.nr_vmas; i++) {
			const struct ml_contig_vma *v = &cp.vmas[i];

			ml_contig_mem_hist_file_backed(v->name, v->name_len);
			check_figures(&v->f, cp.page_size, cp.have_runs,
				      cp.have_folios);
		}
		check_figures(&cp.total, cp.page_size, cp.have_runs,
			      cp.have_folios);
	}
	ml_contig_proc_fini(&cp);

	/* the same words straight into the engine, as a VMA at at_page */
	{
		struct ml_contig_figures f;
		uint32_t flags, notes = 0;
		size_t n = pm_len / 8;
		uint64_t *e = malloc(n ? n * 8 : 8);
		uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);

		if (!e)
			abort();
		memcpy(e, body + smaps_len, n * 8);
		if (ml_contig_vma_entries(c, (uint64_t)at_page * ps,
					  ((uint64_t)at_page + n + (mode >> 6)) * ps,
					  e, n, &f, &flags, &notes) == 0)
			check_figures(&f, ps, (what & ML_CONTIG_RUNS) &&
				      !(notes & ML_CONTIG_NOTE_PFNS_HIDDEN), false);
		free(e);
	}
	if (mode & 32) {
		struct ml_contig_system s;

		ml_contig_system_folios(c, &s);
	}
	ml_contig_free(c);
	return 0;
}
