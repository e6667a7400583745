// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the allocation-tag reader over target memory: what process_vm_readv
 * hands memlens allocinfo from a hostile or corrupted process. The input
 * is 32 bytes of where-to-look (u64 section offset, u64 section size, u64
 * root offset, u8 flags: bit 0 read the capture ring), then the target's
 * memory, which appears at FUZZ_BASE; reads outside it fail with -EFAULT
 * as unmapped memory does. Besides not crashing (ASan sees the input in a
 * buffer of exactly its size): what a parse returns is bounded and clean,
 * and a failure is one of the documented errors.
 *
 * The seed corpus (fuzz/corpus/fuzz_alloctag_reader/) holds well-formed
 * images built by scripts/alloctag-corpus.py: tags with counters, runtime
 * tag blocks, a capture ring.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memlens/alloctag.h>

#define FUZZ_BASE 0x10000000ull

struct mem {
	const uint8_t *p;
	size_t len;
};

static int mem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct mem *m = ctx;

	if (addr < FUZZ_BASE || addr - FUZZ_BASE > m->len ||
	    len > m->len - (addr - FUZZ_BASE))
		return -EFAULT;
	memcpy(buf, m->p + (addr - FUZZ_BASE), len);
	return 0;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void check_str(const char *s)
{
	size_t n = strlen(s);

	if (n >= ML_ALLOC_STR_MAX && strcmp(s, "(unreadable)") != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_alloctag_snapshot s;
	struct mem m;
	uint8_t *buf;
	uint64_t sec, sec_size, root;
	int err;

	if (size < 32)
		return 0;
	sec = rd64(data);
	sec_size = rd64(data + 8);
	root = rd64(data + 16);
	buf = malloc(size - 32 ? size - 32 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 32, size - 32);
	m = (struct mem){ buf, size - 32 };
	memset(&s, 0, sizeof(s));
	err = ml_alloctag_parse(mem_read, &m,
				sec == UINT64_MAX ? 0 : FUZZ_BASE + sec, sec_size,
				root == UINT64_MAX ? 0 : FUZZ_BASE + root,
				"/usr/lib/libfuzz.so.1", data[24] & 2,
				data[24] & 1, &s);
	ml_alloctag_parse_done(&s);
	if (err != 0 && err != -EPROTO && err != -EFAULT && err != -ELOOP &&
	    err != -ENOMEM)
		abort();
	if (s.nr_ctx > 4096)
		abort();
	for (size_t i = 0; i < s.n; i++) {
		check_str(s.sites[i].file);
		check_str(s.sites[i].func);
		check_str(s.sites[i].module);
	}
	for (size_t i = 0; i < s.nr_ctx; i++) {
		if (s.ctx[i].nr_frames > ML_ALLOC_CTX_FRAMES ||
		    strlen(s.ctx[i].comm) >= sizeof(s.ctx[i].comm))
			abort();
		check_str(s.ctx[i].comm);
	}
	ml_alloctag_snapshot_fini(&s);
	free(buf);
	return 0;
}
