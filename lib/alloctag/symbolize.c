// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Return addresses of another process to "function+0x1f/0x80 (object)":
 * the VMA and file offset from vmaq's address resolution, then the ELF
 * symbol tables of the file (.symtab, else .dynsym). No DWARF: a
 * line-table symbolizer (libdw) can take this place.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memlens/vmaq.h>

#include "internal.h"

/* The function symbol of @e covering @vaddr; false when none does. */
static bool sym_at(Elf *e, uint64_t vaddr, char *buf, size_t sz)
{
	for (int pass = 0; pass < 2; pass++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			Elf_Data *d;
			size_t n;

			if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize ||
			    sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB))
				continue;
			d = elf_getdata(scn, NULL);
			if (!d)
				continue;
			n = sh.sh_size / sh.sh_entsize;
			for (size_t i = 1; i < n; i++) {
				GElf_Sym s;
				const char *name;

				if (!gelf_getsym(d, (int)i, &s) ||
				    GELF_ST_TYPE(s.st_info) != STT_FUNC ||
				    s.st_shndx == SHN_UNDEF || vaddr < s.st_value ||
				    vaddr >= s.st_value + (s.st_size ? s.st_size : 1))
					continue;
				name = elf_strptr(e, sh.sh_link, s.st_name);
				if (!name)
					continue;
				snprintf(buf, sz, "%s+0x%llx/0x%llx", name,
					 (unsigned long long)(vaddr - s.st_value),
					 (unsigned long long)s.st_size);
				return true;
			}
		}
	}
	return false;
}

/* The virtual address of file offset @off from the PT_LOAD holding it. */
static bool off_to_vaddr(Elf *e, uint64_t off, uint64_t *vaddr)
{
	size_t n;

	if (elf_getphdrnum(e, &n) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    off >= ph.p_offset && off < ph.p_offset + ph.p_filesz) {
			*vaddr = ph.p_vaddr + (off - ph.p_offset);
			return true;
		}
	}
	return false;
}

static void one(struct ml_proc *p, pid_t pid, const struct ml_vmaq_result *r,
		char *buf, size_t sz)
{
	const char *base;
	char *path = NULL, sym[200];
	uint64_t vaddr;
	bool named = false;
	int fd;
	Elf *e;

	if (r->err || !r->vma || !r->vma->file_backed || r->vma->name[0] != '/') {
		snprintf(buf, sz, "0x%llx%s%s", (unsigned long long)r->addr,
			 r->vma && r->vma->name[0] ? " " : "",
			 r->vma ? r->vma->name : "");
		return;
	}
	base = strrchr(r->vma->name, '/') + 1;
	if (asprintf(&path, "%d/root%s", (int)pid, r->vma->name) >= 0) {
		fd = openat(ml_proc_dirfd(p), path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (fd >= 0) {
			(void)elf_version(EV_CURRENT);
			e = elf_begin(fd, ELF_C_READ, NULL);
			if (e && off_to_vaddr(e, r->file_offset, &vaddr))
				named = sym_at(e, vaddr, sym, sizeof(sym));
			if (e)
				elf_end(e);
			close(fd);
		}
	}
	if (named)
		snprintf(buf, sz, "%s (%s)", sym, base);
	else
		snprintf(buf, sz, "0x%llx (%s+0x%llx)", (unsigned long long)r->addr,
			 base, (unsigned long long)r->file_offset);
}

int ml_alloctag_symbolize(struct ml_proc *p, pid_t pid, const uint64_t *addrs,
			  size_t n, char (*out)[ML_ALLOCTAG_SYM_MAX])
{
	struct ml_vmaq_result *res;
	struct ml_vmaq *q;
	int err;

	if (n == 0)
		return 0;
	err = ml_vmaq_open(p, pid, NULL, &q);
	if (err)
		return err;
	res = calloc(n, sizeof(*res));
	if (!res) {
		ml_vmaq_close(q);
		return -ENOMEM;
	}
	err = ml_vmaq_resolve(q, addrs, n, NULL, res);
	if (!err)
		for (size_t i = 0; i < n; i++)
			one(p, pid, &res[i], out[i], ML_ALLOCTAG_SYM_MAX);
	free(res);
	ml_vmaq_close(q);
	return err;
}
