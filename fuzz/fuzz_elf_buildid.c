// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the ELF build-ID reader of lib/vmaq (the fallback for kernels whose
 * PROCMAP_QUERY cannot give build IDs) with hostile images: truncated
 * headers, program header tables past the end, note segments whose sizes
 * overflow, notes with huge or misaligned name and descriptor sizes.
 * The image is read twice, from memory and from a memfd (the pread path a
 * mapped file takes), in a buffer of exactly its size so that ASan sees any
 * read outside it. Besides not crashing: both readings agree, a build ID
 * has 1..20 bytes, and those bytes are in the image.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/vmaq/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[ML_VMAQ_BUILD_ID_MAX], id2[ML_VMAQ_BUILD_ID_MAX];
	uint8_t len = 0xff, len2 = 0xff;
	uint8_t *img = malloc(size ? size : 1);
	int fd;

	if (!img)
		return 0;
	memcpy(img, data, size);
	if (vmaq_elf_build_id_mem(img, size, id, &len))
		abort();
	if (len > ML_VMAQ_BUILD_ID_MAX)
		abort();
	if (len && !memmem(img, size, id, len))
		abort();

	fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd >= 0) {
		if (size && write(fd, img, size) == (ssize_t)size) {
			if (vmaq_elf_build_id_fd(fd, id2, &len2))
				abort();
			if (len2 != len || memcmp(id, id2, len))
				abort();
		}
		close(fd);
	}
	free(img);
	return 0;
}
