// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the pagemap, kpageflags and kpagecount readers and the entry
 * decoders. The input is a 16-byte header of read parameters followed by
 * file contents; a temporary proc root, made once, receives the contents as
 * <root>/4242/pagemap and <root>/kpageflags (and sometimes kpagecount).
 * Besides not crashing, every read must return exactly the entries the
 * file holds at that index, byte for byte.
 *
 * Header (little-endian):
 *   0-7   start: vaddr page index for pagemap, PFN for the kpage files
 *   8-9   nr: entries to read, modulo MAX_NR + 1
 *   10    split: where the body is cut between pagemap and kpageflags
 *   11    mode: bit 0 drop kpagecount, bit 1 count start down from the
 *         top of the range, bit 2 unaligned vaddr inside the page, bit 3
 *         use start unmasked (indexes near the largest off_t)
 *   12-15 unused, but bytes 0-7 and 8-15 are also decoded as entries
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memlens/pagemap.h>
#include <memlens/proc.h>

#define FUZZ_PID 4242
#define HEADER 16
#define MAX_NR 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_root {
	char dir[64];
	char pagemap[128];
	char kpageflags[128];
	char kpagecount[128];
	char pid_dir[96];
	struct ml_proc *proc;
};

static struct fuzz_root root;
static volatile uint64_t sink; /* keeps the decoders' work observable */

static void cleanup(void)
{
	unlink(root.pagemap);
	unlink(root.kpageflags);
	unlink(root.kpagecount);
	rmdir(root.pid_dir);
	rmdir(root.dir);
	ml_proc_free(root.proc);
}

static void setup_once(void)
{
	ML_OPTS(ml_proc_opts, o, .proc_root = root.dir);

	if (root.proc)
		return;
	snprintf(root.dir, sizeof(root.dir), "/tmp/memlens-fuzz-XXXXXX");
	if (!mkdtemp(root.dir))
		abort();
	snprintf(root.pid_dir, sizeof(root.pid_dir), "%s/%d", root.dir,
		 FUZZ_PID);
	snprintf(root.pagemap, sizeof(root.pagemap), "%s/pagemap",
		 root.pid_dir);
	snprintf(root.kpageflags, sizeof(root.kpageflags), "%s/kpageflags",
		 root.dir);
	snprintf(root.kpagecount, sizeof(root.kpagecount), "%s/kpagecount",
		 root.dir);
	if (mkdir(root.pid_dir, 0700) < 0 || ml_proc_new(&o, &root.proc) < 0)
		abort();
	atexit(cleanup);
}

static void put(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len))
		abort();
	close(fd);
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The read returned @n entries from index @idx of a @len-byte file: true? */
static void check_read(ssize_t n, uint64_t idx, size_t nr, const uint8_t *file,
		       size_t len, const uint64_t *got)
{
	size_t whole = len / 8;
	size_t want = idx >= whole ? 0 : whole - (size_t)idx;

	if (want > nr)
		want = nr;
	if (n < 0 || (size_t)n != want)
		abort();
	if (n && memcmp(got, file + idx * 8, (size_t)n * 8) != 0)
		abort();
}

static void decode_all(const uint64_t *e, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		uint64_t pfn = ml_pme_pfn(e[i]);

		if (pfn > ML_PME_PFN_MASK || ml_pme_swap_type(e[i]) > 31 ||
		    ml_pme_swap_offset(e[i]) > ML_PME_SWAP_OFFSET_MASK)
			abort();
		if (!ml_pme_present(e[i]) && pfn)
			abort();
		sink += pfn + ml_pme_swap_offset(e[i]) + ml_pme_swap_type(e[i]);
		sink += ml_pme_swapped(e[i]) + ml_pme_soft_dirty(e[i]) +
			ml_pme_exclusive(e[i]) + ml_pme_uffd_wp(e[i]) +
			ml_pme_guard(e[i]) + ml_pme_file_or_shared(e[i]);
		for (unsigned int b = 0; b <= 64; b += 13)
			sink += ml_kpf_has(e[i], b);
	}
}

/* The index a header asks for: low, near the top, or anywhere. */
static uint64_t pick_index(uint64_t start, uint64_t top, uint8_t mode)
{
	if (mode & 8)
		return start;
	if (mode & 2)
		return top - (start & 0xffff);
	return start & 0xffff;
}

static void fuzz_pagemap(const uint8_t *pm_data, size_t pm_len, uint64_t start,
			 size_t nr, uint8_t mode)
{
	static uint64_t e[MAX_NR];
	struct ml_pagemap *pm = NULL;
	uint64_t ps, vaddr, idx;
	ssize_t n;

	if (ml_pagemap_open(root.proc, FUZZ_PID, &pm) < 0)
		abort();
	ps = ml_pagemap_page_size(pm);
	if (mode & 8) {
		vaddr = start;
		idx = start / ps;
	} else {
		idx = pick_index(start, UINT64_MAX / ps, mode);
		vaddr = idx * ps + ((mode & 4) ? start % ps : 0);
	}
	n = ml_pagemap_read(pm, vaddr, nr, e);
	check_read(n, idx, nr, pm_data, pm_len, e);
	decode_all(e, n);
	ml_pagemap_close(pm);
}

static void fuzz_kpage(const uint8_t *kpf, size_t kpf_len,
		       const uint8_t *kpc, size_t kpc_len, uint64_t start,
		       size_t nr, uint8_t mode)
{
	static uint64_t w[MAX_NR];
	struct ml_kpage *k = NULL;
	uint64_t pfn;
	ssize_t n;

	if (ml_kpage_open(root.proc, &k) < 0)
		abort();
	pfn = pick_index(start, UINT64_MAX, mode);
	n = ml_kpageflags_read(k, pfn, nr, w);
	check_read(n, pfn, nr, kpf, kpf_len, w);
	decode_all(w, n);
	n = ml_kpagecount_read(k, pfn, nr, w);
	if (mode & 1) {
		if (n != -ENOENT || ml_kpagecount_read(k, 0, 0, NULL) != -ENOENT)
			abort();
	} else {
		check_read(n, pfn, nr, kpc, kpc_len, w);
	}
	ml_kpage_close(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body = data + HEADER;
	size_t body_len, split, nr;
	uint64_t start, extra[2];
	uint8_t mode;

	if (size < HEADER)
		return 0;
	setup_once();
	start = get_le(data, 8);
	nr = (size_t)(get_le(data + 8, 2) % (MAX_NR + 1));
	mode = data[11];
	body_len = size - HEADER;
	split = body_len * data[10] / 255;

	put(root.pagemap, body, split);
	put(root.kpageflags, body + split, body_len - split);
	if (mode & 1)
		unlink(root.kpagecount);
	else
		put(root.kpagecount, body, body_len);

	extra[0] = start;
	extra[1] = get_le(data + 8, 8);
	decode_all(extra, 2);
	fuzz_pagemap(body, split, start, nr, mode);
	fuzz_kpage(body + split, body_len - split, body, body_len, start, nr,
		   mode);
	return 0;
}
