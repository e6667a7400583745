// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Symbolization: address -> VMA (ml_vmaq_resolve) -> ELF file and file
 * offset -> the file's own address (PT_LOAD) -> function and file:line
 * (libdwfl).
 *
 * Each file gets a Dwfl of its own holding one module reported at base 0
 * (dwfl_report_elf), so module addresses are the file's p_vaddr addresses
 * for ET_EXEC and ET_DYN alike and no load bias has to be guessed; the
 * address comes from the file offset, which the VMA gives exactly. libdwfl
 * finds separate debug files by build ID or .gnu_debuglink (its standard
 * callbacks). Files are cached by (dev, inode) for the symbolizer's life:
 * the strings handed out point into their symbol and line tables.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <memlens/symbolize.h>

#include "internal.h"

/* One ELF file of the process, opened once. */
struct sym_file {
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	char *path;     /* the VMA's name when first seen */
	Dwfl *dwfl;     /* NULL: not an ELF file we could open */
	Dwfl_Module *mod;
};

struct ml_symbolizer {
	struct ml_vmaq *q;
	struct ml_symbolizer_opts opts;
	struct sym_file *files;
	size_t nr_files, cap_files;
	size_t last;    /* the file of the previous address */
	struct ml_vmaq_result *res;
	size_t res_cap;
	char *debuginfo_path;
	Dwfl_Callbacks cb;
};

/* ---- files --------------------------------------------------------------- */

static int open_file(struct ml_symbolizer *s, const struct ml_vmaq_vma *v,
		     struct sym_file *f)
{
	int fd = vmaq_open_vma_file(s->q, v);

	if (fd == -ENOMEM)
		return fd;
	if (fd < 0)
		return 0; /* unreadable: remembered as without symbols */
	f->dwfl = dwfl_begin(&s->cb);
	if (!f->dwfl) {
		close(fd);
		return -ENOMEM;
	}
	dwfl_report_begin(f->dwfl);
	/* consumes fd on success */
	f->mod = dwfl_report_elf(f->dwfl, f->path, f->path, fd, 0, false);
	if (!f->mod)
		close(fd);
	if (dwfl_report_end(f->dwfl, NULL, NULL) != 0 || !f->mod) {
		dwfl_end(f->dwfl);
		f->dwfl = NULL;
		f->mod = NULL;
	}
	return 0;
}

static int find_file(struct ml_symbolizer *s, const struct ml_vmaq_vma *v,
		     struct sym_file **out)
{
	struct sym_file *f;
	int err;

	if (s->last < s->nr_files) {
		f = &s->files[s->last];
		if (f->inode == v->inode && f->dev_major == v->dev_major &&
		    f->dev_minor == v->dev_minor) {
			*out = f;
			return 0;
		}
	}
	for (size_t i = 0; i < s->nr_files; i++) {
		f = &s->files[i];
		if (f->inode == v->inode && f->dev_major == v->dev_major &&
		    f->dev_minor == v->dev_minor) {
			s->last = i;
			*out = f;
			return 0;
		}
	}
	if (grow_array((void **)&s->files, &s->cap_files, s->nr_files,
		       sizeof(*s->files)))
		return -ENOMEM;
	f = &s->files[s->nr_files];
	memset(f, 0, sizeof(*f));
	f->inode = v->inode;
	f->dev_major = v->dev_major;
	f->dev_minor = v->dev_minor;
	f->path = strndup(v->name, v->name_len);
	if (!f->path)
		return -ENOMEM;
	err = open_file(s, v, f);
	if (err) {
		free(f->path);
		return err;
	}
	s->last = s->nr_files++;
	*out = f;
	return 0;
}

/* The file offset @off as an address of the file (its PT_LOAD headers). */
static bool offset_to_vaddr(Dwfl_Module *mod, uint64_t off, uint64_t *vaddr)
{
	GElf_Addr bias;
	Elf *e = dwfl_module_getelf(mod, &bias);
	size_t nr;

	if (!e || elf_getphdrnum(e, &nr) != 0)
		return false;
	for (size_t i = 0; i < nr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (off >= ph.p_offset && off - ph.p_offset < ph.p_filesz) {
			*vaddr = off - ph.p_offset + ph.p_vaddr + bias;
			return true;
		}
	}
	return false;
}

/* ---- one address ------------------------------------------------------------ */

/* The innermost function (inlined or not) around @a, from the DWARF scopes. */
static const char *dwarf_func(Dwfl_Module *mod, Dwarf_Addr a, bool *inlined)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, a, &bias);
	Dwarf_Die *scopes = NULL;
	const char *name = NULL;
	int n;

	if (!cu)
		return NULL;
	n = dwarf_getscopes(cu, a - bias, &scopes);
	for (int i = 0; i < n && !name; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag != DW_TAG_subprogram &&
		    tag != DW_TAG_inlined_subroutine)
			continue;
		name = dwarf_diename(&scopes[i]);
		if (!name) {
			/* out-of-line copies name their origin */
			Dwarf_Attribute at;
			Dwarf_Die origin;

			if (dwarf_attr_integrate(&scopes[i],
						 DW_AT_abstract_origin, &at) &&
			    dwarf_formref_die(&at, &origin))
				name = dwarf_diename(&origin);
		}
		*inlined = tag == DW_TAG_inlined_subroutine;
	}
	free(scopes);
	return name;
}

static void lookup(struct ml_symbolizer *s, struct sym_file *f,
		   struct ml_sym *out)
{
	uint64_t a, off = out->file_offset;
	GElf_Off sym_off = 0;
	GElf_Sym sym;
	Dwfl_Line *line;
	const char *name;
	int lineno = 0, col = 0;

	if (s->opts.return_addrs && off > 0)
		off--;
	if (!f->mod || !offset_to_vaddr(f->mod, off, &a))
		return;
	out->elf_addr = s->opts.return_addrs ? a + 1 : a;
	name = dwfl_module_addrinfo(f->mod, a, &sym_off, &sym, NULL, NULL,
				    NULL);
	if (name) {
		out->func = name;
		out->func_offset = sym_off + (s->opts.return_addrs ? 1 : 0);
	}
	if (s->opts.no_lines)
		return;
	line = dwfl_module_getsrc(f->mod, a);
	if (line) {
		const char *src = dwfl_lineinfo(line, NULL, &lineno, &col,
						NULL, NULL);

		if (src && lineno > 0) {
			out->file = src;
			out->line = (uint32_t)lineno;
			out->column = col > 0 ? (uint32_t)col : 0;
		}
	}
	name = dwarf_func(f->mod, a, &out->inlined);
	if (name)
		out->func = name;
	else
		out->inlined = false;
}

/* ---- the handle --------------------------------------------------------------- */

int ml_symbolizer_open(struct ml_proc *p, pid_t pid,
		       const struct ml_symbolizer_opts *opts,
		       struct ml_symbolizer **out)
{
	ML_OPTS(ml_vmaq_opts, vo);
	struct ml_symbolizer *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->opts.sz = sizeof(s->opts);
	if (opts)
		memcpy(&s->opts, opts, opts->sz < sizeof(s->opts) ?
		       opts->sz : sizeof(s->opts));
	vo.no_ioctl = s->opts.no_ioctl;
	err = ml_vmaq_open(p, pid, &vo, &s->q);
	if (err) {
		free(s);
		return err;
	}
	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.section_address = dwfl_offline_section_address;
	s->cb.debuginfo_path = &s->debuginfo_path; /* NULL: the default */
	*out = s;
	return 0;
}

void ml_symbolizer_close(struct ml_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_files; i++) {
		if (s->files[i].dwfl)
			dwfl_end(s->files[i].dwfl);
		free(s->files[i].path);
	}
	free(s->files);
	free(s->res);
	ml_vmaq_close(s->q);
	free(s);
}

int ml_symbolize(struct ml_symbolizer *s, const uint64_t *addrs, size_t n,
		 struct ml_sym *out)
{
	int err;

	if (n == 0)
		return 0;
	if (n > s->res_cap) {
		struct ml_vmaq_result *r = realloc(s->res, n * sizeof(*r));

		if (!r)
			return -ENOMEM;
		s->res = r;
		s->res_cap = n;
	}
	err = ml_vmaq_refresh(s->q);
	if (err)
		return err;
	err = ml_vmaq_resolve(s->q, addrs, n, NULL, s->res);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		const struct ml_vmaq_result *r = &s->res[i];
		struct ml_sym *o = &out[i];
		struct sym_file *f;

		memset(o, 0, sizeof(*o));
		o->addr = addrs[i];
		o->object = "";
		if (r->err) {
			o->err = r->err;
			continue;
		}
		if (!r->vma->file_backed || !r->vma->inode ||
		    r->vma->name_len == 0 || r->vma->name[0] != '/') {
			o->err = -ENOEXEC;
			continue;
		}
		err = find_file(s, r->vma, &f);
		if (err)
			return err;
		o->object = f->path;
		o->file_offset = r->file_offset;
		lookup(s, f, o);
	}
	return 0;
}

const char *ml_sym_site(const struct ml_sym *sym, unsigned components,
			char *buf, size_t size)
{
	const char *file = sym->file;

	if (!size)
		return buf;
	if (file && sym->line) {
		if (components) {
			const char *p = file + strlen(file);
			unsigned seen = 0;

			while (p > file) {
				if (p[-1] == '/' && ++seen == components)
					break;
				p--;
			}
			file = p;
		}
		snprintf(buf, size, "%s:%" PRIu32, file, sym->line);
	} else if (sym->object && sym->object[0]) {
		const char *base = strrchr(sym->object, '/');

		snprintf(buf, size, "%s+0x%" PRIx64,
			 base ? base + 1 : sym->object, sym->file_offset);
	} else {
		snprintf(buf, size, "0x%" PRIx64, sym->addr);
	}
	return buf;
}
