// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading the sites of another process while it runs: which objects it has
 * mapped (maps), where their tag sections and root objects are (the ELF
 * files' section headers and symbol tables, plus the load bias), then the
 * tags, counters, runtime tag blocks and capture ring themselves through
 * process_vm_readv. Every byte that comes from the target is hostile: the
 * parser below reads only through a callback, checks every magic, size and
 * count, and follows lists a bounded number of steps. fuzz/
 * fuzz_alloctag_reader.c runs it over arbitrary target memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

#define MAX_SECTION_BYTES (16u << 20)	/* 262144 tags */
#define MAX_BLOCKS 4096
#define MAX_BLOCK_TAGS 65536
#define MAX_DYN_TAGS (1u << 20)
#define MAX_SHARDS 1024
#define MAX_RT_BYTES (1u << 20)
#define MAX_RING_SLOTS 4096
#define PAGE 4096u

/* ---- hostile-input parsing ------------------------------------------------------ */

struct parse {
	ml_alloctag_read_fn read;
	void *ctx;
	const char *object;
	bool main;
	struct ml_alloctag_snapshot *out;
};

/* A fatal error ends the whole read; others only lose one thing. */
static bool fatal(int err)
{
	return err == -ESRCH || err == -ENOMEM || err == -EPERM;
}

/*
 * A string of the target at @addr: at most ML_ALLOC_STR_MAX bytes with the
 * NUL, read a page at a time so that one ending before an unmapped page
 * is still read; control bytes become '?'. Unreadable: "(unreadable)".
 */
static int read_str(struct parse *ps, uint64_t addr, char *buf)
{
	size_t len = 0;

	buf[0] = '\0';
	if (!addr)
		return 0;
	while (len < ML_ALLOC_STR_MAX - 1) {
		size_t chunk = PAGE - ((addr + len) % PAGE);
		int err;

		if (chunk > ML_ALLOC_STR_MAX - 1 - len)
			chunk = ML_ALLOC_STR_MAX - 1 - len;
		if (addr + len < addr) /* wraps */
			break;
		err = ps->read(ps->ctx, addr + len, buf + len, chunk);
		if (err) {
			if (fatal(err))
				return err;
			if (len == 0) {
				strcpy(buf, "(unreadable)");
				return 0;
			}
			break;
		}
		if (memchr(buf + len, '\0', chunk)) {
			len += strlen(buf + len);
			break;
		}
		len += chunk;
	}
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	return 0;
}

/*
 * The live figures behind @rt_addr, if they are the counters of the tag at
 * @tag_addr (a counter block that names another tag is not used: it would
 * count twice). Zero when absent or malformed.
 */
static int read_counters(struct parse *ps, uint64_t rt_addr, uint64_t tag_addr,
			 int64_t *bytes, int64_t *calls)
{
	struct ml_alloc_rt rt;
	uint8_t *buf;
	size_t len;
	int64_t b = 0, c = 0;
	int err;

	*bytes = *calls = 0;
	if (!rt_addr)
		return 0;
	err = ps->read(ps->ctx, rt_addr, &rt, sizeof(rt));
	if (err)
		return fatal(err) ? err : 0;
	if (rt.magic != ML_ALLOC_RT_MAGIC || rt.nr_shards == 0 ||
	    rt.nr_shards > MAX_SHARDS || rt.shard_stride < sizeof(struct ml_alloc_shard) ||
	    rt.shard_stride > PAGE || rt.shard_stride % 8 ||
	    (uint64_t)rt.nr_shards * rt.shard_stride > MAX_RT_BYTES ||
	    (uint64_t)(uintptr_t)rt.tag != tag_addr)
		return 0;
	len = (size_t)rt.nr_shards * rt.shard_stride;
	if (rt_addr + ML_ALLOC_RT_HDR_SIZE < rt_addr)
		return 0;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	err = ps->read(ps->ctx, rt_addr + ML_ALLOC_RT_HDR_SIZE, buf, len);
	if (err) {
		free(buf);
		return fatal(err) ? err : 0;
	}
	for (uint32_t i = 0; i < rt.nr_shards; i++) {
		struct ml_alloc_shard s;

		memcpy(&s, buf + (size_t)i * rt.shard_stride, sizeof(s));
		if (__builtin_add_overflow(b, s.bytes, &b) ||
		    __builtin_add_overflow(c, s.calls, &c)) {
			b = c = 0;
			break;
		}
	}
	free(buf);
	*bytes = b;
	*calls = c;
	return 0;
}

/* One tag (already copied out of the target) at @tag_addr. */
static int parse_tag(struct parse *ps, const struct ml_alloc_tag *t,
		     uint64_t tag_addr, bool runtime)
{
	char *file, *func, *mod, module[128];
	struct snap_in in = {
		.tag_addr = tag_addr,
		.line = t->lineno,
		.flags = t->flags,
		.addr = t->addr,
		.capture = t->capture != 0,
		.object = runtime ? "" : ps->object,
	};
	int err = -ENOMEM;

	if (t->magic != ML_ALLOC_TAG_MAGIC)
		return 0;
	file = malloc(3 * ML_ALLOC_STR_MAX);
	if (!file)
		return -ENOMEM;
	func = file + ML_ALLOC_STR_MAX;
	mod = func + ML_ALLOC_STR_MAX;
	if ((err = read_str(ps, (uintptr_t)t->filename, file)) ||
	    (err = read_str(ps, (uintptr_t)t->function, func)) ||
	    (err = read_str(ps, (uintptr_t)t->modname, mod)) ||
	    (err = read_counters(ps, (uintptr_t)t->rt, tag_addr, &in.bytes,
				 &in.calls)))
		goto out;
	/* an orphan is shown while something it made lives, the catch-all
	 * site while it holds something */
	if ((t->flags & ML_ALLOC_TAG_ORPHAN) && in.calls == 0)
		goto out;
	if ((t->flags & ML_ALLOC_TAG_UNTAGGED) && !in.calls && !in.bytes)
		goto out;
	in.file = file;
	in.func = func;
	if (mod[0]) {
		in.module = mod;
	} else {
		alloctag_module_of(in.object, module, sizeof(module));
		in.module = module;
		in.main = ps->main && !runtime;
	}
	err = snap_add(ps->out, &in);
out:
	free(file);
	return err;
}

static int parse_section(struct parse *ps, uint64_t start, uint64_t size)
{
	uint8_t *buf;
	int err = 0;

	if (size == 0)
		return 0;
	if (size > MAX_SECTION_BYTES || size % ML_ALLOC_TAG_SIZE ||
	    start % 8 || start + size < start)
		return -EPROTO;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	err = ps->read(ps->ctx, start, buf, size);
	for (uint64_t off = 0; !err && off < size; off += ML_ALLOC_TAG_SIZE) {
		struct ml_alloc_tag t;

		memcpy(&t, buf + off, sizeof(t));
		err = parse_tag(ps, &t, start + off, false);
	}
	free(buf);
	return err;
}

static int parse_blocks(struct parse *ps, uint64_t head)
{
	uint64_t addr = head, nr_tags = 0;

	for (int steps = 0; addr && steps < MAX_BLOCKS; steps++) {
		struct ml_alloc_tag_block b;
		uint8_t *buf;
		size_t len;
		int err;

		err = ps->read(ps->ctx, addr, &b, sizeof(b));
		if (err)
			return err;
		if (b.magic != ML_ALLOC_BLOCK_MAGIC || b.nr_tags > MAX_BLOCK_TAGS ||
		    b.nr_used > b.nr_tags || addr + ML_ALLOC_BLOCK_HDR_SIZE < addr)
			return -EPROTO;
		nr_tags += b.nr_used;
		if (nr_tags > MAX_DYN_TAGS)
			return -EPROTO;
		len = (size_t)b.nr_used * ML_ALLOC_TAG_SIZE;
		buf = malloc(len ? len : 1);
		if (!buf)
			return -ENOMEM;
		err = ps->read(ps->ctx, addr + ML_ALLOC_BLOCK_HDR_SIZE, buf, len);
		for (uint32_t i = 0; !err && i < b.nr_used; i++) {
			struct ml_alloc_tag t;

			memcpy(&t, buf + (size_t)i * ML_ALLOC_TAG_SIZE, sizeof(t));
			err = parse_tag(ps, &t, addr + ML_ALLOC_BLOCK_HDR_SIZE +
					(uint64_t)i * ML_ALLOC_TAG_SIZE, true);
		}
		free(buf);
		if (err)
			return err;
		addr = (uintptr_t)b.next;
	}
	return addr ? -ELOOP : 0;
}

/*
 * The capture ring, read twice: a record is kept when both copies show the
 * sequence number of its position, so that no writer touched it between.
 */
static int parse_ring(struct parse *ps, uint64_t addr)
{
	struct ml_alloc_ring hdr;
	uint8_t *a = NULL, *b = NULL;
	size_t len;
	uint64_t first;
	int err;

	if (!addr)
		return 0;
	err = ps->read(ps->ctx, addr, &hdr, offsetof(struct ml_alloc_ring, slots));
	if (err)
		return err;
	if (hdr.magic != ML_ALLOC_RING_MAGIC || hdr.nr_slots == 0 ||
	    hdr.nr_slots > MAX_RING_SLOTS ||
	    hdr.record_size != sizeof(struct ml_alloc_ctx) ||
	    addr + offsetof(struct ml_alloc_ring, slots) < addr)
		return -EPROTO;
	len = (size_t)hdr.nr_slots * hdr.record_size;
	a = malloc(len);
	b = malloc(len);
	err = -ENOMEM;
	if (!a || !b)
		goto out;
	addr += offsetof(struct ml_alloc_ring, slots);
	if ((err = ps->read(ps->ctx, addr, a, len)) ||
	    (err = ps->read(ps->ctx, addr, b, len)))
		goto out;
	first = hdr.head > hdr.nr_slots ? hdr.head - hdr.nr_slots : 0;
	for (uint64_t n = first; n < hdr.head; n++) {
		size_t off = (size_t)(n % hdr.nr_slots) * hdr.record_size;
		struct ml_alloc_ctx r, r2;
		struct ml_alloctag_ctx c = { 0 };

		memcpy(&r, a + off, sizeof(r));
		memcpy(&r2, b + off, sizeof(r2));
		if (r.seq != n + 1 || r2.seq != n + 1 ||
		    r.nr_frames > ML_ALLOC_CTX_FRAMES)
			continue;
		c.seq = r.seq;
		c.tag_addr = r.tag;
		c.size = r.size;
		c.ts_ns = r.ts_ns;
		c.pid = r.pid;
		c.tid = r.tid;
		memcpy(c.comm, r.comm, sizeof(c.comm));
		c.comm[sizeof(c.comm) - 1] = '\0';
		for (size_t i = 0; c.comm[i]; i++)
			if ((unsigned char)c.comm[i] < 0x20 || c.comm[i] == 0x7f)
				c.comm[i] = '?';
		c.nr_frames = r.nr_frames;
		memcpy(c.frames, r.frames, sizeof(c.frames));
		err = snap_add_ctx(ps->out, &c);
		if (err)
			goto out;
	}
	err = 0;
out:
	free(a);
	free(b);
	return err;
}

static int parse_root(struct parse *ps, uint64_t addr, bool context)
{
	struct ml_alloc_root r;
	int err;

	err = ps->read(ps->ctx, addr, &r, sizeof(r));
	if (err)
		return err;
	if (memcmp(r.magic, ML_ALLOC_ROOT_MAGIC, 8) != 0 ||
	    r.version != ML_ALLOC_VERSION || r.size < sizeof(r) ||
	    r.self != addr || r.tag_size != ML_ALLOC_TAG_SIZE)
		return -EPROTO;
	if (ps->out->nr_roots++ == 0)
		ps->out->enabled = r.enabled != 0;
	if (__builtin_add_overflow(ps->out->nr_foreign, r.nr_foreign,
				   &ps->out->nr_foreign))
		ps->out->nr_foreign = UINT64_MAX;
	err = parse_blocks(ps, (uintptr_t)r.dyn_head);
	if (!err && context)
		err = parse_ring(ps, (uintptr_t)r.ring);
	return err;
}

int ml_alloctag_parse(ml_alloctag_read_fn read, void *ctx, uint64_t start,
		      uint64_t size, uint64_t root, const char *object,
		      bool main, bool context, struct ml_alloctag_snapshot *out)
{
	struct parse ps = { read, ctx, object ? object : "", main, out };
	int err = parse_section(&ps, start, size);

	if (fatal(err) || err == -EPROTO || !root)
		return err;
	return parse_root(&ps, root, context) ?: err;
}

/* ---- the live process -------------------------------------------------------------- */

static int remote_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	pid_t pid = *(pid_t *)ctx;
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	if (len == 0)
		return 0;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		return -EFAULT;
	return errno == ENOMEM ? -EFAULT : -errno;
}

/* What one ELF file says: the tag section, the root symbol, PT_LOADs. */
struct elf_info {
	uint64_t sec_addr, sec_size;
	uint64_t root;		/* st_value, 0: none */
	bool has_sec, has_root;
	size_t nr_loads;
	struct { uint64_t vaddr, offset, filesz; } loads[16];
};

static bool find_symbol(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh,
			uint64_t *value)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n;

	if (!d || !sh->sh_entsize)
		return false;
	n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(e, sh->sh_link, sym.st_name);
		if (name && strcmp(name, ML_ALLOC_ROOT_SYMBOL) == 0) {
			*value = sym.st_value;
			return true;
		}
	}
	return false;
}

static int elf_inspect(int fd, struct elf_info *info)
{
	Elf_Scn *scn = NULL, *symtab = NULL;
	GElf_Shdr symtab_sh;
	GElf_Ehdr eh;
	size_t shstrndx, nr_ph;
	Elf *e;

	memset(info, 0, sizeof(*info));
	(void)elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return 0;
	if (!gelf_getehdr(e, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    elf_getshdrstrndx(e, &shstrndx) != 0 || elf_getphdrnum(e, &nr_ph) != 0)
		goto out;
	for (size_t i = 0; i < nr_ph && info->nr_loads < 16; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD) {
			info->loads[info->nr_loads].vaddr = ph.p_vaddr;
			info->loads[info->nr_loads].offset = ph.p_offset;
			info->loads[info->nr_loads].filesz = ph.p_filesz;
			info->nr_loads++;
		}
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && sh.sh_type == SHT_PROGBITS &&
		    strcmp(name, ML_ALLOC_SECTION) == 0) {
			info->has_sec = true;
			info->sec_addr = sh.sh_addr;
			info->sec_size = sh.sh_size;
		} else if (sh.sh_type == SHT_DYNSYM && !info->has_root) {
			info->has_root = find_symbol(e, scn, &sh, &info->root);
		} else if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			symtab_sh = sh;
		}
	}
	/* not exported: a static libmemlens inside a program */
	if (!info->has_root && symtab)
		info->has_root = find_symbol(e, symtab, &symtab_sh, &info->root);
out:
	elf_end(e);
	return 0;
}

/* The load bias from one mapping of the file: start - its vaddr. */
static bool load_bias(const struct elf_info *info, uint64_t start,
		      uint64_t offset, uint64_t *bias)
{
	for (size_t i = 0; i < info->nr_loads; i++) {
		uint64_t off = info->loads[i].offset & ~(uint64_t)(PAGE - 1);
		uint64_t va = info->loads[i].vaddr & ~(uint64_t)(PAGE - 1);

		if (offset >= off && offset - off <= info->loads[i].filesz) {
			*bias = start - (va + (offset - off));
			return true;
		}
	}
	return false;
}

static int open_object(struct ml_proc *p, pid_t pid, const struct ml_vma *v)
{
	int dirfd = ml_proc_dirfd(p);
	char link[96];
	char *path;
	struct stat st;
	int fd;

	snprintf(link, sizeof(link), "%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	fd = openat(dirfd, link, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (asprintf(&path, "%d/root%.*s", (int)pid, (int)v->name_len,
			     v->name) < 0)
			return -ENOMEM;
		fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		free(path);
		if (fd < 0)
			return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != v->inode) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/*
 * A zombie (or dead) process has no VMAs left, like a kernel thread: the
 * state in stat tells them apart ("pid (comm) S ...", comm may hold ')').
 */
static bool exited(struct ml_proc *p, pid_t pid)
{
	char *stat, *paren;
	ssize_t n = ml_proc_read(p, pid, "stat", &stat);

	if (n == -ESRCH || n == -ENOENT)
		return true;
	if (n < 0 || !(paren = strrchr(stat, ')')) || paren + 2 >= stat + n)
		return false;
	return paren[2] == 'Z' || paren[2] == 'X';
}

struct seen {
	uint64_t inode;
	uint32_t dev_major, dev_minor;
};

int ml_alloctag_read(struct ml_proc *p, pid_t pid,
		     const struct ml_alloctag_read_opts *opts,
		     struct ml_alloctag_snapshot *out)
{
	bool context = opts && opts->sz > offsetof(struct ml_alloctag_read_opts,
						   context) && opts->context;
	struct ml_vma_list vl = { 0 };
	struct seen *seen = NULL;
	size_t nr_seen = 0;
	char exe[4096], link[64];
	ssize_t n;
	int err, soft = 0;
	bool found = false;

	memset(out, 0, sizeof(*out));
	err = ml_proc_vmas(p, pid, false, &vl);
	if (err)
		return err;
	if (vl.n == 0 && exited(p, pid)) {
		ml_vma_list_free(&vl);
		return -ESRCH;
	}
	snprintf(link, sizeof(link), "%d/exe", (int)pid);
	n = readlinkat(ml_proc_dirfd(p), link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	seen = calloc(vl.n ? vl.n : 1, sizeof(*seen));
	if (!seen) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < vl.n; i++) {
		const struct ml_vma *v = &vl.v[i];
		struct elf_info info;
		uint64_t bias;
		size_t j;
		int fd;
		char *object;

		if (!v->inode || v->name_len == 0 || v->name[0] != '/')
			continue;
		for (j = 0; j < nr_seen; j++)
			if (seen[j].inode == v->inode &&
			    seen[j].dev_major == v->dev_major &&
			    seen[j].dev_minor == v->dev_minor)
				break;
		if (j < nr_seen)
			continue; /* the first mapping of a file gives its bias */
		seen[nr_seen++] = (struct seen){ v->inode, v->dev_major,
						 v->dev_minor };
		fd = open_object(p, pid, v);
		if (fd < 0) {
			if (fd == -ENOMEM) {
				err = fd;
				goto out;
			}
			continue;
		}
		elf_inspect(fd, &info);
		close(fd);
		if ((!info.has_sec && !info.has_root) ||
		    !load_bias(&info, v->start, v->offset, &bias))
			continue;
		object = strndup(v->name, v->name_len);
		if (!object) {
			err = -ENOMEM;
			goto out;
		}
		found = true;
		err = ml_alloctag_parse(remote_read, &pid,
					info.has_sec ? info.sec_addr + bias : 0,
					info.has_sec ? info.sec_size : 0,
					info.has_root ? info.root + bias : 0,
					object, strcmp(object, exe) == 0,
					context, out);
		free(object);
		if (fatal(err))
			goto out;
		if (err && !soft)
			soft = err; /* one object's bad data: go on with the others */
		err = 0;
	}
	if (!found)
		err = -ENOENT;
	else if (out->n == 0 && out->nr_roots == 0)
		err = soft ? soft : -ENOENT;
out:
	free(seen);
	ml_vma_list_free(&vl);
	if (err) {
		ml_alloctag_snapshot_fini(out);
		/* the process went away under us: say so, whatever failed */
		if (err != -ESRCH && kill(pid, 0) < 0 && errno == ESRCH)
			err = -ESRCH;
		return err;
	}
	snap_finish(out);
	return 0;
}

/* ---- capture switch -------------------------------------------------------------- */

static bool file_matches(const char *tag_file, const char *want)
{
	size_t a = strlen(tag_file), b = strlen(want);

	if (a == b)
		return strcmp(tag_file, want) == 0;
	return a > b && tag_file[a - b - 1] == '/' &&
	       strcmp(tag_file + a - b, want) == 0;
}

int ml_alloctag_capture_sites(pid_t pid, const struct ml_alloctag_snapshot *s,
			      const char *file, uint32_t line, bool on,
			      size_t *nr_sites)
{
	uint8_t val = on ? 1 : 0;
	int err = 0;

	*nr_sites = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct ml_alloctag_site *t = &s->sites[i];
		struct iovec local = { &val, 1 };
		struct iovec remote = {
			(void *)(uintptr_t)(t->tag_addr +
					    offsetof(struct ml_alloc_tag, capture)),
			1
		};

		if (file ? !(t->line == line && t->file &&
			     file_matches(t->file, file))
			 : (on || !t->capture))
			continue;
		if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != 1) {
			err = errno == ENOMEM ? -EFAULT : -errno;
			break;
		}
		(*nr_sites)++;
	}
	if (!err && *nr_sites == 0 && file)
		err = -ENOENT;
	return err;
}

int ml_alloctag_capture(struct ml_proc *p, pid_t pid, const char *file,
			uint32_t line, bool on, size_t *nr_sites)
{
	struct ml_alloctag_snapshot s;
	int err;

	*nr_sites = 0;
	err = ml_alloctag_read(p, pid, NULL, &s);
	if (err)
		return err;
	err = ml_alloctag_capture_sites(pid, &s, file, line, on, nr_sites);
	ml_alloctag_snapshot_fini(&s);
	return err;
}
