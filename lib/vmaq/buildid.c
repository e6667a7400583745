// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Build IDs from the ELF notes of a mapped file, for kernels whose
 * PROCMAP_QUERY cannot give them (or that lack the ioctl).
 *
 * The rules are the kernel's (lib/buildid.c, __build_id_parse), so that
 * both paths agree on every file, hostile ones included:
 *   - the ELF header's magic, e_type ET_EXEC or ET_DYN, class 32 or 64;
 *     fields read in the machine's byte order (the kernel never swaps, so
 *     an image of the other order never passes its e_type check);
 *   - at most the first 256 program headers, at e_phoff + i * sizeof(Phdr)
 *     whatever e_phentsize says; a header past the end of the file ends
 *     the search;
 *   - in each PT_NOTE segment, in order, notes with 4-aligned name and
 *     descriptor, the segment's end computed in 32 bits (a segment whose
 *     end does not fit is skipped), the walk going on while more than
 *     12 + 4 bytes remain; a note that runs past its segment ends the
 *     segment, one that runs past the file skips to the next segment;
 *   - the first note named "GNU" (n_namesz 4) of type NT_GNU_BUILD_ID with
 *     1..20 descriptor bytes is the build ID.
 * libelf reads the file: header, class and bounded raw chunks.
 *
 * The file is opened through <proc_root>/PID/map_files/<start>-<end>, which
 * reaches deleted and replaced files too; opening those links needs
 * CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE), so without it the path in the
 * VMA's name is tried under /proc/PID/root, and used only if its inode is
 * the VMA's. Only regular files are opened (never a device).
 */
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../proc/internal.h"
#include "internal.h"

#define MAX_PHDR_CNT 256
#define NOTE_NAME "GNU"
#define NOTE_NAME_SZ 4 /* with its NUL */
#define NOTE_HDR_SZ 12
#define NT_BUILD_ID 3

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif

/* ---- the kernel's note walk --------------------------------------------- */

/* ALIGN(x, 4) on a u32, wrapping as the kernel's macro does. */
static inline uint32_t align4(uint32_t x)
{
	return (uint32_t)(x + 3u) & ~3u;
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * The kernel's parse_build_id() over the segment [off, off + size), of
 * which the first @avail bytes (at @data) are inside the file.
 * Returns 1 with the ID, 0 when the segment has none.
 */
static int parse_notes(const uint8_t *data, uint64_t avail, uint64_t off,
		       uint64_t size, uint8_t id[ML_VMAQ_BUILD_ID_MAX],
		       uint8_t *len)
{
	uint64_t base = off;
	uint32_t note_off, note_end;

	/* check_add_overflow(loff_t, u32, u32 *) */
	if (off > UINT32_MAX || size > UINT32_MAX - off)
		return 0;
	note_off = (uint32_t)off;
	note_end = (uint32_t)(off + size);
	while ((uint64_t)note_end - note_off > NOTE_HDR_SZ + NOTE_NAME_SZ) {
		uint64_t rel = note_off - base;
		uint32_t name_sz, desc_sz, type, new_off;
		const uint8_t *nhdr;

		/* the header and the 4 name bytes must be in the file */
		if (rel + NOTE_HDR_SZ + NOTE_NAME_SZ > avail)
			return 0;
		nhdr = data + rel;
		name_sz = rd32(nhdr);
		desc_sz = rd32(nhdr + 4);
		type = rd32(nhdr + 8);
		new_off = note_off + NOTE_HDR_SZ;
		if (__builtin_add_overflow(new_off, align4(name_sz), &new_off) ||
		    __builtin_add_overflow(new_off, align4(desc_sz), &new_off) ||
		    new_off > note_end)
			break;
		if (type == NT_BUILD_ID && name_sz == NOTE_NAME_SZ &&
		    memcmp(nhdr + NOTE_HDR_SZ, NOTE_NAME, NOTE_NAME_SZ) == 0 &&
		    desc_sz > 0 && desc_sz <= ML_VMAQ_BUILD_ID_MAX) {
			uint64_t desc = rel + NOTE_HDR_SZ + align4(NOTE_NAME_SZ);

			if (desc + desc_sz > avail)
				return 0;
			memcpy(id, data + desc, desc_sz);
			*len = (uint8_t)desc_sz;
			return 1;
		}
		note_off = new_off;
	}
	return 0;
}

/* ---- program headers, through libelf ----------------------------------- */

/* [off, off + size) clamped to the file; NULL when nothing of it is there. */
static const uint8_t *chunk(Elf *e, uint64_t file_size, uint64_t off,
			    uint64_t size, uint64_t *avail)
{
	Elf_Data *d;

	if (off >= file_size || size == 0)
		return NULL;
	if (size > file_size - off)
		size = file_size - off;
	d = elf_getdata_rawchunk(e, (int64_t)off, (size_t)size, ELF_T_BYTE);
	if (!d || !d->d_buf)
		return NULL;
	*avail = d->d_size;
	return d->d_buf;
}

static int build_id_elf(Elf *e, uint64_t file_size,
			uint8_t id[ML_VMAQ_BUILD_ID_MAX], uint8_t *len)
{
	const bool is64 = gelf_getclass(e) == ELFCLASS64;
	const size_t phsz = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	const char *ident;
	const uint8_t *tab;
	GElf_Ehdr eh;
	uint64_t phoff, avail = 0, nr_read;
	uint32_t phnum;

	*len = 0;
	if (elf_kind(e) != ELF_K_ELF)
		return 0;
	ident = elf_getident(e, NULL);
	if (!ident || (gelf_getclass(e) != ELFCLASS32 && !is64) ||
	    (unsigned char)ident[EI_DATA] != NATIVE_DATA)
		return 0;
	if (!gelf_getehdr(e, &eh))
		return 0;
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return 0;
	phnum = eh.e_phnum > MAX_PHDR_CNT ? MAX_PHDR_CNT : eh.e_phnum;
	phoff = eh.e_phoff;
	if (phoff + (uint64_t)phnum * phsz < phoff)
		return 0;
	/* the headers inside the file; the kernel stops at the first outside */
	tab = chunk(e, file_size, phoff, (uint64_t)phnum * phsz, &avail);
	nr_read = tab ? avail / phsz : 0;
	for (uint64_t i = 0; i < nr_read; i++) {
		uint64_t off, size, seg_avail = 0;
		const uint8_t *seg;
		uint32_t type;

		if (is64) {
			Elf64_Phdr ph;

			memcpy(&ph, tab + i * phsz, sizeof(ph));
			type = ph.p_type;
			off = ph.p_offset;
			size = ph.p_filesz;
		} else {
			Elf32_Phdr ph;

			memcpy(&ph, tab + i * phsz, sizeof(ph));
			type = ph.p_type;
			off = ph.p_offset;
			size = ph.p_filesz;
		}
		/* the kernel takes p_filesz as an Elf32_Word */
		size = (uint32_t)size;
		if (type != PT_NOTE)
			continue;
		seg = chunk(e, file_size, off, size, &seg_avail);
		if (seg && parse_notes(seg, seg_avail, off, size, id, len))
			return 0;
	}
	return 0;
}

static void libelf_init(void)
{
	/* sets libelf's version once; repeated calls only return it */
	(void)elf_version(EV_CURRENT);
}

int vmaq_elf_build_id_fd(int fd, uint8_t id[ML_VMAQ_BUILD_ID_MAX],
			 uint8_t *len)
{
	struct stat st;
	Elf *e;
	int ret;

	*len = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return 0;
	libelf_init();
	/* ELF_C_READ: pread what is asked for, no mapping of the file */
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return 0; /* not an ELF file libelf can read */
	ret = build_id_elf(e, (uint64_t)st.st_size, id, len);
	elf_end(e);
	return ret;
}

int vmaq_elf_build_id_mem(const void *buf, size_t size,
			  uint8_t id[ML_VMAQ_BUILD_ID_MAX], uint8_t *len)
{
	Elf *e;
	int ret;

	*len = 0;
	if (!buf || size == 0)
		return 0;
	libelf_init();
	/* libelf only reads the image (ELF_C_READ); the cast is its API's */
	e = elf_memory((char *)(uintptr_t)buf, size);
	if (!e)
		return 0;
	ret = build_id_elf(e, size, id, len);
	elf_end(e);
	return ret;
}

/* ---- the file behind a VMA ----------------------------------------------- */

static int open_regular(int dirfd, const char *path, uint64_t inode)
{
	struct stat st;
	int fd;

	/* stat first: opening a device can have effects; its data is not ELF */
	if (fstatat(dirfd, path, &st, 0) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (inode && st.st_ino != inode))
		return -ENOENT;
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (inode && st.st_ino != inode)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

int vmaq_open_vma_file(struct ml_vmaq *q, const struct ml_vmaq_vma *v)
{
	int dirfd = ml_proc_dirfd(q->proc);
	_cleanup_free_ char *path = NULL;
	char link[96];
	int fd;

	snprintf(link, sizeof(link), "%d/map_files/%llx-%llx", (int)q->pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	fd = open_regular(dirfd, link, 0);
	if (fd >= 0 || fd == -ENOMEM)
		return fd;
	/* without the capability: the path, if it is still the same file */
	if (v->name_len == 0 || v->name[0] != '/' ||
	    ends_with(v->name, v->name_len, " (deleted)"))
		return fd;
	if (asprintf(&path, "%d/root%s", (int)q->pid, v->name) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	return open_regular(dirfd, path, v->inode);
}

/* ---- the cache, by (dev, inode) ------------------------------------------- */

static size_t bid_hash(uint64_t inode, uint32_t maj, uint32_t min)
{
	uint64_t h = inode * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)maj << 32 | min) * 0xc2b2ae3d27d4eb4full;
	return (size_t)(h ^ (h >> 29));
}

static struct vmaq_bid_entry *bid_slot(struct vmaq_bid_cache *c,
				       const struct ml_vmaq_vma *v)
{
	size_t mask = c->cap - 1;

	for (size_t i = bid_hash(v->inode, v->dev_major, v->dev_minor) & mask;;
	     i = (i + 1) & mask) {
		struct vmaq_bid_entry *e = &c->e[i];

		if (!e->inode || (e->inode == v->inode &&
				  e->dev_major == v->dev_major &&
				  e->dev_minor == v->dev_minor))
			return e;
	}
}

static int bid_grow(struct vmaq_bid_cache *c)
{
	struct vmaq_bid_cache n = { .cap = c->cap ? c->cap * 2 : 64 };

	n.e = calloc(n.cap, sizeof(*n.e));
	if (!n.e)
		return -ENOMEM;
	for (size_t i = 0; i < c->cap; i++) {
		struct ml_vmaq_vma k = { .inode = c->e[i].inode,
					 .dev_major = c->e[i].dev_major,
					 .dev_minor = c->e[i].dev_minor };

		if (c->e[i].inode)
			*bid_slot(&n, &k) = c->e[i];
	}
	n.n = c->n;
	free(c->e);
	*c = n;
	return 0;
}

void vmaq_bid_cache_clear(struct vmaq_bid_cache *c)
{
	if (c->e)
		memset(c->e, 0, c->cap * sizeof(*c->e));
	c->n = 0;
}

int vmaq_file_build_id(struct ml_vmaq *q, struct ml_vmaq_vma *v)
{
	struct vmaq_bid_cache *c = &q->bids;
	struct vmaq_bid_entry *e = NULL;
	int fd, err;

	v->build_id_len = 0;
	if (!v->file_backed)
		return 0;
	if (v->inode) {
		if ((c->n + 1) * 2 > c->cap && bid_grow(c))
			return -ENOMEM;
		e = bid_slot(c, v);
		if (e->inode) {
			v->build_id_len = e->len;
			memcpy(v->build_id, e->id, e->len);
			return 0;
		}
	}
	fd = vmaq_open_vma_file(q, v);
	if (fd == -ENOMEM)
		return fd;
	if (fd >= 0) {
		err = vmaq_elf_build_id_fd(fd, v->build_id, &v->build_id_len);
		close(fd);
		if (err)
			return err;
	}
	/* unreadable files count as without a build ID: remember that too */
	if (e) {
		e->inode = v->inode;
		e->dev_major = v->dev_major;
		e->dev_minor = v->dev_minor;
		e->len = v->build_id_len;
		memcpy(e->id, v->build_id, v->build_id_len);
		c->n++;
	}
	return 0;
}
