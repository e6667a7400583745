// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VMA queries (lib/vmaq) on live processes and on a fixture tree.
 *
 * Expected values come from elsewhere than the code under test: the kernel's
 * own PROCMAP_QUERY answers (the ioctl path) for the fallback; an
 * independent sscanf walk of the maps text for the query semantics; the
 * paths this test created for names; ELF files written here byte by byte,
 * the linker's --build-id=0x..., and `readelf -n` for build IDs.
 *
 * A child made here holds thousands of VMAs: alternating anonymous pages,
 * private and shared file mappings, a deleted file, a memfd, shared
 * anonymous memory, paths longer than 256 bytes and than PATH_MAX, a name
 * with a newline, and hand-made ELF files (64- and 32-bit, ET_REL, no note,
 * an over-long note before a good one, mapped at offset 0 and beyond).
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memlens/vmaq.h>

#include "tap.h"

#define PAGE 4096UL
#define NR_REGION_PAGES 3000
#define ALL_FLAGS (ML_VMAQ_WANT_NAME | ML_VMAQ_WANT_BUILD_ID)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the test's world: a temp dir, files in it, a child that maps them ---- */

static char tmpdir[64];
static char long_path[512];    /* > 256 bytes */
static char longer_path[6000]; /* > PATH_MAX */
static char nl_path[256];      /* with a newline */

struct elf_file {
	const char *file;
	int cls;         /* ELFCLASS32 / 64 */
	int type;        /* ET_DYN, ET_REL */
	int note;        /* 0: none, 1: good, 2: 32-byte ID first, then good */
	unsigned id_len;
	uint8_t id[20];
	char path[128];
	uint8_t expect_len; /* what the kernel's rules give */
};

static struct elf_file elfs[] = {
	{ "elf64.so", ELFCLASS64, ET_DYN, 1, 20, { 0 }, "", 20 },
	{ "elf32.so", ELFCLASS32, ET_DYN, 1, 8, { 0 }, "", 8 },
	{ "rel.o", ELFCLASS64, ET_REL, 1, 20, { 0 }, "", 0 },
	{ "nonote.so", ELFCLASS64, ET_DYN, 0, 0, { 0 }, "", 0 },
	{ "longnote.so", ELFCLASS64, ET_EXEC, 2, 16, { 0 }, "", 16 },
};

static int long_fd = -1, longer_fd = -1; /* made by us, mapped by the child */
static char data_path[128], shared_path[128], deleted_path[128];
static char text_path[128], linked_path[128];
static const uint8_t linked_id[] = { 0xde, 0xad, 0xbe, 0xef, 0x01, 0x23,
				     0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
static bool have_linked;

static void put_note(uint8_t *p, size_t *off, uint32_t namesz,
		     const char *name, uint32_t descsz, uint32_t type,
		     const uint8_t *desc)
{
	memcpy(p + *off, &namesz, 4);
	memcpy(p + *off + 4, &descsz, 4);
	memcpy(p + *off + 8, &type, 4);
	memcpy(p + *off + 12, name, namesz);
	*off += 12 + ((namesz + 3) & ~3u);
	memcpy(p + *off, desc, descsz);
	*off += (descsz + 3) & ~3u;
}

/* An ELF file written byte by byte: header, PT_LOAD, PT_NOTE at 0x200. */
static bool write_elf(const struct elf_file *e)
{
	static uint8_t img[8192];
	uint8_t big[32];
	size_t noff = 0x200, n = 0x200;
	int fd;

	memset(img, 0, sizeof(img));
	memset(big, 0x5a, sizeof(big));
	/* an unrelated note first: the walk must step over it */
	put_note(img, &n, 4, "XYZ", 4, 1, (const uint8_t *)"abcd");
	if (e->note == 2)
		put_note(img, &n, 4, "GNU", 32, NT_GNU_BUILD_ID, big);
	if (e->note)
		put_note(img, &n, 4, "GNU", e->id_len, NT_GNU_BUILD_ID, e->id);
	if (e->cls == ELFCLASS64) {
		Elf64_Ehdr *h = (Elf64_Ehdr *)img;
		Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*h));

		memcpy(h->e_ident, ELFMAG, SELFMAG);
		h->e_ident[EI_CLASS] = ELFCLASS64;
		h->e_ident[EI_DATA] = ELFDATA2LSB;
		h->e_ident[EI_VERSION] = EV_CURRENT;
		h->e_type = (uint16_t)e->type;
		h->e_machine = EM_X86_64;
		h->e_version = EV_CURRENT;
		h->e_phoff = sizeof(*h);
		h->e_ehsize = sizeof(*h);
		h->e_phentsize = sizeof(*ph);
		h->e_phnum = 2;
		ph[0].p_type = PT_LOAD;
		ph[0].p_filesz = ph[0].p_memsz = sizeof(img);
		ph[0].p_align = PAGE;
		ph[1].p_type = PT_NOTE;
		ph[1].p_offset = noff;
		ph[1].p_filesz = ph[1].p_memsz = n - noff;
		ph[1].p_align = 4;
	} else {
		Elf32_Ehdr *h = (Elf32_Ehdr *)img;
		Elf32_Phdr *ph = (Elf32_Phdr *)(img + sizeof(*h));

		memcpy(h->e_ident, ELFMAG, SELFMAG);
		h->e_ident[EI_CLASS] = ELFCLASS32;
		h->e_ident[EI_DATA] = ELFDATA2LSB;
		h->e_ident[EI_VERSION] = EV_CURRENT;
		h->e_type = (uint16_t)e->type;
		h->e_machine = EM_386;
		h->e_version = EV_CURRENT;
		h->e_phoff = sizeof(*h);
		h->e_ehsize = sizeof(*h);
		h->e_phentsize = sizeof(*ph);
		h->e_phnum = 2;
		ph[0].p_type = PT_LOAD;
		ph[0].p_filesz = ph[0].p_memsz = sizeof(img);
		ph[1].p_type = PT_NOTE;
		ph[1].p_offset = (uint32_t)noff;
		ph[1].p_filesz = ph[1].p_memsz = (uint32_t)(n - noff);
		ph[1].p_align = 4;
	}
	fd = open(e->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return false;
	if (write(fd, img, sizeof(img)) != (ssize_t)sizeof(img)) {
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

static bool write_file(const char *path, size_t size, int fill)
{
	char buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return false;
	memset(buf, fill, sizeof(buf));
	for (size_t off = 0; off < size; off += sizeof(buf))
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return false;
		}
	close(fd);
	return true;
}

/* A chain of directories whose full path passes @total bytes; the file at
 * its end is opened and returned (-1 on failure), its path in @path. */
static int make_deep_file(char *path, size_t cap, size_t total,
			  size_t component)
{
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	size_t len = strlen(tmpdir);
	char name[256];

	if (component >= sizeof(name))
		return -1;
	memcpy(path, tmpdir, len + 1);
	memset(name, 'd', component);
	name[component] = '\0';
	while (dfd >= 0 && len + component + 16 < total) {
		int next;

		if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
			break;
		next = openat(dfd, name, O_RDONLY | O_DIRECTORY);
		close(dfd);
		dfd = next;
		if (len + 1 + component + 1 > cap)
			return -1;
		path[len++] = '/';
		memcpy(path + len, name, component + 1);
		len += component;
	}
	if (dfd < 0 || len + 16 > cap)
		return -1;
	memcpy(path + len, "/deep file.bin", 15);
	{
		int fd = openat(dfd, "deep file.bin", O_RDWR | O_CREAT, 0644);

		close(dfd);
		if (fd >= 0 && ftruncate(fd, 2 * PAGE) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
}

/* rm -rf by fds: works below PATH_MAX too. */
static void remove_tree(int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		{
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

			if (sub >= 0)
				remove_tree(sub);
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
		}
	}
	closedir(d);
}

static bool make_files(void)
{
	if (tmpdir[0])
		return true;
	strcpy(tmpdir, "/tmp/memlens-vmaq-XXXXXX");
	if (!mkdtemp(tmpdir))
		return false;
	chmod(tmpdir, 0755);
	for (size_t i = 0; i < ARRAY_LEN(elfs); i++) {
		struct elf_file *e = &elfs[i];

		for (unsigned b = 0; b < e->id_len; b++)
			e->id[b] = (uint8_t)(0x10 * (i + 1) + b * 7);
		snprintf(e->path, sizeof(e->path), "%s/%s", tmpdir, e->file);
		if (!write_elf(e))
			return false;
	}
	snprintf(data_path, sizeof(data_path), "%s/data.bin", tmpdir);
	snprintf(shared_path, sizeof(shared_path), "%s/shared.bin", tmpdir);
	snprintf(deleted_path, sizeof(deleted_path), "%s/deleted.bin", tmpdir);
	snprintf(text_path, sizeof(text_path), "%s/plain.txt", tmpdir);
	snprintf(nl_path, sizeof(nl_path), "%s/new\nline.bin", tmpdir);
	if (!write_file(data_path, 16 * PAGE, 'd') ||
	    !write_file(shared_path, 16 * PAGE, 's') ||
	    !write_file(deleted_path, PAGE, 'x') ||
	    !write_file(text_path, PAGE, 't') || !write_file(nl_path, PAGE, 'n'))
		return false;
	long_fd = make_deep_file(long_path, sizeof(long_path), 300, 60);
	longer_fd = make_deep_file(longer_path, sizeof(longer_path), 5000, 200);
	if (long_fd < 0 || longer_fd < 0)
		return false;
	/* the linker's own build ID, when a compiler is here */
	snprintf(linked_path, sizeof(linked_path), "%s/linked.so", tmpdir);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd),
			 "echo 'int f(void){return 1;}' | cc -x c -shared -fPIC "
			 "-o '%s' - -Wl,--build-id=0xdeadbeef0123456789abcdef "
			 ">/dev/null 2>&1", linked_path);
		have_linked = system(cmd) == 0;
	}
	return true;
}

static void *map_file(const char *path, size_t len, int prot, int flags,
		      off_t off)
{
	int fd = open(path, (prot & PROT_WRITE) && (flags & MAP_SHARED) ?
				    O_RDWR : O_RDONLY);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, len, prot, flags, fd, off);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* Map everything listed in the header comment into the calling process. */
static bool map_world(void)
{
	int fd;
	char *region;

	region = mmap(NULL, NR_REGION_PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return false;
	for (size_t i = 0; i < NR_REGION_PAGES; i++) {
		char *at = region + i * PAGE;
		off_t off = (off_t)(((i / 4) % 16) * PAGE);
		int dfd;

		switch (i % 4) {
		case 0:
			dfd = open(data_path, O_RDONLY);
			if (dfd < 0 || mmap(at, PAGE, i % 8 ? PROT_READ :
					    PROT_READ | PROT_EXEC,
					    MAP_PRIVATE | MAP_FIXED, dfd, off) ==
					       MAP_FAILED)
				return false;
			close(dfd);
			break;
		case 1:
			at[0] = 1;
			break;
		case 2:
			dfd = open(shared_path, O_RDWR);
			if (dfd < 0 || mmap(at, PAGE, PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_FIXED, dfd, off) ==
					       MAP_FAILED)
				return false;
			close(dfd);
			break;
		case 3:
			if (mprotect(at, PAGE, PROT_READ))
				return false;
			break;
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(elfs); i++) {
		if (!map_file(elfs[i].path, 2 * PAGE, PROT_READ, MAP_PRIVATE, 0) ||
		    !map_file(elfs[i].path, PAGE, PROT_READ | PROT_EXEC,
			      MAP_PRIVATE, PAGE))
			return false;
	}
	if (have_linked && !map_file(linked_path, PAGE, PROT_READ, MAP_PRIVATE, 0))
		return false;
	if (!map_file(text_path, PAGE, PROT_READ, MAP_PRIVATE, 0) ||
	    !map_file(nl_path, PAGE, PROT_READ, MAP_PRIVATE, 0) ||
	    !map_file(deleted_path, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, 0))
		return false;
	unlink(deleted_path);
	fd = memfd_create("vmaq test", 0);
	if (fd < 0 || ftruncate(fd, 4 * PAGE) ||
	    mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
		    MAP_FAILED)
		return false;
	close(fd);
	if (mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
		return false;
	if (mmap(NULL, PAGE, PROT_READ, MAP_SHARED, long_fd, 0) == MAP_FAILED ||
	    mmap(NULL, PAGE, PROT_READ, MAP_SHARED, longer_fd, 0) == MAP_FAILED)
		return false;
	return true;
}

/* The child: maps the world, says so, and lives until our pipe closes. */
static pid_t world_pid = -1;
static int world_pipe = -1;

static pid_t spawn_world(void)
{
	int ready[2], hold[2];
	char c;

	if (world_pid > 0)
		return world_pid;
	if (!make_files() || pipe(ready) || pipe(hold))
		return -1;
	world_pid = fork();
	if (world_pid == 0) {
		close(ready[0]);
		close(hold[1]);
		c = map_world() ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	world_pipe = hold[1];
	if (world_pid < 0 || read(ready[0], &c, 1) != 1 || c != 'y') {
		printf("# could not make the test process\n");
		world_pid = -1;
	}
	close(ready[0]);
	return world_pid;
}

/* ---- an independent reading of maps ----------------------------------- */

struct tvma {
	uint64_t start, end, offset, inode;
	unsigned maj, min;
	char perms[5];
	char name[8192];
};

static size_t read_maps(pid_t pid, struct tvma **out)
{
	char path[64], *line = NULL;
	size_t cap = 0, n = 0, ncap = 0;
	struct tvma *v = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		struct tvma t = { 0 };
		int name_at = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &t.start, &t.end, t.perms, &t.offset, &t.maj, &t.min,
			   &t.inode, &name_at) < 7)
			continue;
		snprintf(t.name, sizeof(t.name), "%s", line + name_at);
		t.name[strcspn(t.name, "\n")] = '\0';
		if (n == ncap) {
			ncap = ncap ? 2 * ncap : 256;
			v = realloc(v, ncap * sizeof(*v));
		}
		v[n++] = t;
	}
	free(line);
	fclose(f);
	/* the gate VMA is not in the VMA tree: the ioctl never finds it */
	if (n && !strcmp(v[n - 1].name, "[vsyscall]"))
		n--;
	*out = v;
	return n;
}

static uint32_t tflags(const struct tvma *t)
{
	return (t->perms[0] == 'r' ? ML_VMAQ_READABLE : 0) |
	       (t->perms[1] == 'w' ? ML_VMAQ_WRITABLE : 0) |
	       (t->perms[2] == 'x' ? ML_VMAQ_EXECUTABLE : 0) |
	       (t->perms[3] == 's' ? ML_VMAQ_SHARED : 0);
}

/* The kernel's query_matching_vma(), on the independent list. */
static const struct tvma *expect_query(const struct tvma *v, size_t n,
				       uint64_t addr, unsigned flags)
{
	for (size_t i = 0; i < n; i++) {
		const struct tvma *t = &v[i];
		bool file = t->inode || t->maj || t->min;
		unsigned want = flags & 0xf;

		if (t->end <= addr)
			continue;
		if ((!(flags & ML_VMAQ_FILE_BACKED) || file) &&
		    (tflags(t) & want) == want &&
		    ((flags & ML_VMAQ_COVERING_OR_NEXT) || t->start <= addr))
			return t;
		if (!(flags & ML_VMAQ_COVERING_OR_NEXT))
			return NULL;
	}
	return NULL;
}

/* ---- comparing answers -------------------------------------------------- */

static bool same_vma(const struct ml_vmaq_vma *a, const struct ml_vmaq_vma *b,
		     bool print)
{
	bool ok = a->start == b->start && a->end == b->end &&
		  a->flags == b->flags && a->offset == b->offset &&
		  a->inode == b->inode && a->dev_major == b->dev_major &&
		  a->dev_minor == b->dev_minor &&
		  a->file_backed == b->file_backed &&
		  a->name_len == b->name_len &&
		  !memcmp(a->name, b->name, a->name_len) &&
		  a->build_id_len == b->build_id_len &&
		  !memcmp(a->build_id, b->build_id, a->build_id_len);

	if (!ok && print) {
		char h1[41], h2[41];

		printf("# %" PRIx64 "-%" PRIx64 " f%x o%" PRIx64 " i%" PRIu64
		       " %u:%u '%.*s' %s\n# vs %" PRIx64 "-%" PRIx64 " f%x o%"
		       PRIx64 " i%" PRIu64 " %u:%u '%.*s' %s\n",
		       a->start, a->end, a->flags, a->offset, a->inode,
		       a->dev_major, a->dev_minor, (int)a->name_len, a->name,
		       ml_vmaq_build_id_hex(a, h1), b->start, b->end, b->flags,
		       b->offset, b->inode, b->dev_major, b->dev_minor,
		       (int)b->name_len, b->name, ml_vmaq_build_id_hex(b, h2));
	}
	return ok;
}

static const unsigned flag_sets[] = {
	0,
	ML_VMAQ_COVERING_OR_NEXT,
	ML_VMAQ_FILE_BACKED,
	ML_VMAQ_FILE_BACKED | ML_VMAQ_COVERING_OR_NEXT,
	ML_VMAQ_READABLE | ML_VMAQ_COVERING_OR_NEXT,
	ML_VMAQ_WRITABLE,
	ML_VMAQ_WRITABLE | ML_VMAQ_COVERING_OR_NEXT,
	ML_VMAQ_EXECUTABLE | ML_VMAQ_COVERING_OR_NEXT,
	ML_VMAQ_SHARED | ML_VMAQ_COVERING_OR_NEXT,
	ML_VMAQ_READABLE | ML_VMAQ_WRITABLE | ML_VMAQ_SHARED |
		ML_VMAQ_FILE_BACKED | ML_VMAQ_COVERING_OR_NEXT,
};

static struct ml_proc *proc(void)
{
	static struct ml_proc *p;

	if (!p && ml_proc_new(NULL, &p))
		p = NULL;
	return p;
}

static int open_pair(pid_t pid, struct ml_vmaq **io, struct ml_vmaq **fb)
{
	ML_OPTS(ml_vmaq_opts, o, .no_ioctl = true);
	int err = ml_vmaq_open(proc(), pid, NULL, io);

	if (err)
		return err;
	err = ml_vmaq_open(proc(), pid, &o, fb);
	if (err) {
		ml_vmaq_close(*io);
		return err;
	}
	return 0;
}

/*
 * Every VMA of @pid: its start, middle, last byte and end, under every flag
 * set, with names and build IDs: the ioctl and the fallback must agree, and
 * both must agree with the independent walk. @stable: the process does not
 * change while we look (the child; not ourselves, where a retry after a
 * refresh absorbs our own allocations).
 */
static void check_every_vma(pid_t pid, bool stable, size_t *nr_checked)
{
	struct ml_vmaq *io, *fb;
	struct tvma *v = NULL;
	size_t n, bad = 0;

	*nr_checked = 0;
	if (open_pair(pid, &io, &fb)) {
		printf("# pid %d: cannot open\n", (int)pid);
		CHECK(!"open");
		return;
	}
	if (!ml_vmaq_uses_ioctl(io)) {
		printf("# no PROCMAP_QUERY here: the fallback alone\n");
	}
	CHECK(!ml_vmaq_uses_ioctl(fb));
	CHECK_EQ(ml_vmaq_refresh(fb), 0);
	n = read_maps(pid, &v);
	CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t addrs[] = { v[i].start, v[i].start + (v[i].end - v[i].start) / 2,
				     v[i].end - 1, v[i].end };

		for (size_t a = 0; a < ARRAY_LEN(addrs); a++) {
			for (size_t f = 0; f < ARRAY_LEN(flag_sets); f++) {
				unsigned flags = flag_sets[f] | ALL_FLAGS;
				struct ml_vmaq_vma x, y;
				const struct tvma *t;
				int ex, ey;

				ex = ml_vmaq_query(io, addrs[a], flags, &x);
				ey = ml_vmaq_query(fb, addrs[a], flags, &y);
				if (!stable && (ex != ey || (!ex && !same_vma(&x, &y, false)))) {
					ml_vmaq_refresh(fb);
					ex = ml_vmaq_query(io, addrs[a], flags, &x);
					ey = ml_vmaq_query(fb, addrs[a], flags, &y);
				}
				(*nr_checked)++;
				if (ex != ey || (!ex && !same_vma(&x, &y, bad < 5))) {
					if (bad++ < 5)
						printf("# pid %d addr %" PRIx64 " flags %#x: %d vs %d\n",
						       (int)pid, addrs[a], flags, ex, ey);
					continue;
				}
				if (!stable)
					continue;
				t = expect_query(v, n, addrs[a], flags);
				if ((t == NULL) != (ex == -ENOENT) ||
				    (t && (t->start != x.start || t->end != x.end ||
					   tflags(t) != x.flags || t->offset != x.offset ||
					   t->inode != x.inode || t->maj != x.dev_major ||
					   t->min != x.dev_minor ||
					   (!strchr(t->name, '\\') &&
					    strcmp(t->name, x.name))))) {
					if (bad++ < 5)
						printf("# pid %d addr %" PRIx64 " flags %#x: "
						       "independent walk says %" PRIx64 "\n",
						       (int)pid, addrs[a], flags,
						       t ? t->start : 0);
				}
			}
		}
	}
	CHECK_EQ(bad, 0);
	free(v);
	ml_vmaq_close(io);
	ml_vmaq_close(fb);
}

static void test_paths_agree_on_every_vma_of_the_child(void)
{
	pid_t pid = spawn_world();
	size_t n;

	if (pid < 0) {
		CHECK(!"child");
		return;
	}
	check_every_vma(pid, true, &n);
	printf("# %zu queries on each path\n", n);
	CHECK(n > NR_REGION_PAGES * 4 * 8);
}

static void test_paths_agree_on_every_vma_of_self(void)
{
	size_t n;

	check_every_vma(getpid(), false, &n);
	CHECK(n > 100);
}

static void test_paths_agree_on_other_processes(void)
{
	pid_t sleeper = fork();
	size_t n;

	if (sleeper == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	/* settled once it runs sleep and its maps stop changing (ld.so) */
	{
		static char before[65536], now[65536];
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/maps", (int)sleeper);
		before[0] = '\0';
		for (int i = 0; i < 200; i++) {
			FILE *f = fopen(path, "r");
			size_t len = f ? fread(now, 1, sizeof(now) - 1, f) : 0;

			if (f)
				fclose(f);
			now[len] = '\0';
			if (strstr(now, "sleep") && !strcmp(now, before))
				break;
			memcpy(before, now, len + 1);
			usleep(20000);
		}
	}
	check_every_vma(sleeper, true, &n);
	CHECK(n > 0);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
	/* and up to three processes that are not ours, where we may read them */
	{
		DIR *d = opendir("/proc");
		struct dirent *de;
		int done = 0;

		while (d && done < 3 && (de = readdir(d))) {
			pid_t pid = (pid_t)atoi(de->d_name);
			struct ml_vmaq_vma x;
			struct ml_vmaq *q;
			int err;

			if (pid <= 0 || pid == getpid() || pid == world_pid ||
			    ml_vmaq_open(proc(), pid, NULL, &q))
				continue;
			/* kernel threads have no VMAs: ESRCH on both paths */
			err = ml_vmaq_query(q, 0, ML_VMAQ_COVERING_OR_NEXT, &x);
			ml_vmaq_close(q);
			if (err)
				continue;
			check_every_vma(pid, false, &n);
			if (n) {
				printf("# pid %d: %zu queries on each path\n", (int)pid, n);
				done++;
			}
		}
		if (d)
			closedir(d);
	}
}

/* ---- names -------------------------------------------------------------- */

static bool find_name(pid_t pid, const char *name, uint64_t *start)
{
	struct tvma *v = NULL;
	size_t n = read_maps(pid, &v);
	char esc[8192];
	size_t w = 0;

	/* maps prints '\n' as "\012" */
	for (const char *s = name; *s && w + 5 < sizeof(esc); s++) {
		if (*s == '\n') {
			memcpy(esc + w, "\\012", 4);
			w += 4;
		} else {
			esc[w++] = *s;
		}
	}
	esc[w] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].name, esc) ||
		    (strlen(esc) >= sizeof(v[i].name) - 1 &&
		     !strncmp(v[i].name, esc, sizeof(v[i].name) - 1))) {
			*start = v[i].start;
			free(v);
			return true;
		}
	}
	free(v);
	return false;
}

static void check_name(struct ml_vmaq *q, uint64_t addr, const char *want)
{
	struct ml_vmaq_vma x;

	CHECK_EQ(ml_vmaq_query(q, addr, ML_VMAQ_WANT_NAME, &x), 0);
	CHECK_EQ(x.name_len, strlen(want));
	CHECK_STR(x.name, want);
}

static void test_names_long_deleted_memfd_newline(void)
{
	pid_t pid = spawn_world();
	struct ml_vmaq *io, *fb;
	char deleted[160];
	const char *names[6];
	uint64_t at;

	if (pid < 0 || open_pair(pid, &io, &fb)) {
		CHECK(!"child");
		return;
	}
	snprintf(deleted, sizeof(deleted), "%s (deleted)", deleted_path);
	names[0] = long_path;
	names[1] = longer_path;
	names[2] = deleted;
	names[3] = "/memfd:vmaq test (deleted)";
	names[4] = nl_path;
	names[5] = "/dev/zero (deleted)";
	CHECK(strlen(long_path) > 256);
	CHECK(strlen(longer_path) > 4096);
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		if (!find_name(pid, names[i], &at)) {
			printf("# not in maps: %.60s\n", names[i]);
			CHECK(!"mapping found");
			continue;
		}
		check_name(io, at + 1, names[i]);
		check_name(fb, at + 1, names[i]);
	}
	ml_vmaq_close(io);
	ml_vmaq_close(fb);
}

/* ---- build IDs ---------------------------------------------------------- */

static void check_build_id(struct ml_vmaq *q, uint64_t addr, const uint8_t *id,
			   unsigned len, const char *what)
{
	struct ml_vmaq_vma x;

	CHECK_EQ(ml_vmaq_query(q, addr, ALL_FLAGS, &x), 0);
	if (x.build_id_len != len || (len && memcmp(x.build_id, id, len))) {
		char h[41];

		printf("# %s (%s): got '%s', %u bytes expected\n", what,
		       ml_vmaq_uses_ioctl(q) ? "ioctl" : "fallback",
		       ml_vmaq_build_id_hex(&x, h), len);
		CHECK(!"build ID");
	}
}

/* "Build ID: 93ac..." from readelf -n, as bytes. */
static unsigned readelf_build_id(const char *path, uint8_t id[20])
{
	char cmd[600], line[512];
	unsigned len = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "Build ID: ");

		if (!p || len)
			continue;
		p += 10;
		while (len < 20 && sscanf(p, "%2hhx", &id[len]) == 1) {
			len++;
			p += 2;
		}
	}
	pclose(f);
	return len;
}

static void test_build_ids_against_independent_sources(void)
{
	pid_t pid = spawn_world();
	struct ml_vmaq *io, *fb, *qs[2];
	uint64_t at;

	if (pid < 0 || open_pair(pid, &io, &fb)) {
		CHECK(!"child");
		return;
	}
	qs[0] = io;
	qs[1] = fb;
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < ARRAY_LEN(elfs); i++) {
			const struct elf_file *e = &elfs[i];
			struct tvma *v = NULL;
			size_t n = read_maps(pid, &v), hits = 0;

			/* both mappings: offset 0 and offset 4096 */
			for (size_t j = 0; j < n; j++) {
				if (strcmp(v[j].name, e->path))
					continue;
				hits++;
				check_build_id(qs[k], v[j].start, e->id,
					       e->expect_len, e->file);
			}
			CHECK_EQ(hits, 2);
			free(v);
		}
		if (have_linked && find_name(pid, linked_path, &at))
			check_build_id(qs[k], at, linked_id, sizeof(linked_id),
				       "cc -Wl,--build-id=0x...");
		CHECK(find_name(pid, text_path, &at));
		check_build_id(qs[k], at, NULL, 0, "plain text file");
		CHECK(find_name(pid, data_path, &at));
		check_build_id(qs[k], at, NULL, 0, "data file");
		CHECK(find_name(pid, "/memfd:vmaq test (deleted)", &at));
		check_build_id(qs[k], at, NULL, 0, "memfd");
	}
	if (!have_linked)
		printf("# no cc: the linker-made build ID is not checked\n");
	ml_vmaq_close(io);
	ml_vmaq_close(fb);

	/* ourselves and libc, against readelf */
	if (open_pair(getpid(), &io, &fb) == 0) {
		struct tvma *v = NULL;
		size_t n = read_maps(getpid(), &v), checked = 0;

		for (size_t j = 0; j < n; j++) {
			uint8_t id[20];
			unsigned len;

			if (v[j].name[0] != '/' || strstr(v[j].name, "(deleted)") ||
			    strstr(v[j].name, tmpdir) || v[j].offset)
				continue;
			len = readelf_build_id(v[j].name, id);
			if (!len)
				continue;
			check_build_id(io, v[j].start, id, len, v[j].name);
			check_build_id(fb, v[j].start, id, len, v[j].name);
			checked++;
		}
		printf("# %zu files of ours checked against readelf -n\n", checked);
		CHECK(checked >= 2);
		free(v);
		ml_vmaq_close(io);
		ml_vmaq_close(fb);
	}
}

/* ---- faults and edges ------------------------------------------------------ */

static void test_addresses_zero_max_and_gate(void)
{
	struct ml_vmaq *io, *fb, *qs[2];
	struct tvma *v = NULL;
	size_t n = read_maps(getpid(), &v);

	if (open_pair(getpid(), &io, &fb)) {
		CHECK(!"open");
		return;
	}
	qs[0] = io;
	qs[1] = fb;
	for (int k = 0; k < 2; k++) {
		struct ml_vmaq_vma x;

		CHECK_EQ(ml_vmaq_query(qs[k], 0, ALL_FLAGS, &x), -ENOENT);
		CHECK_EQ(ml_vmaq_query(qs[k], 0, ML_VMAQ_COVERING_OR_NEXT, &x), 0);
		CHECK_U64(x.start, v[0].start);
		CHECK_EQ(ml_vmaq_query(qs[k], UINT64_MAX, ALL_FLAGS, &x), -ENOENT);
		CHECK_EQ(ml_vmaq_query(qs[k], UINT64_MAX,
				       ML_VMAQ_COVERING_OR_NEXT, &x), -ENOENT);
		/* the [vsyscall] page is listed in maps, never found */
		CHECK_EQ(ml_vmaq_query(qs[k], 0xffffffffff600000ull,
				       ML_VMAQ_COVERING_OR_NEXT, &x), -ENOENT);
		/* after the last VMA: nothing */
		CHECK_EQ(ml_vmaq_query(qs[k], v[n - 1].end,
				       ML_VMAQ_COVERING_OR_NEXT, &x), -ENOENT);
		CHECK_EQ(ml_vmaq_query(qs[k], 0, 0x40000, &x), -EINVAL);
	}
	free(v);
	ml_vmaq_close(io);
	ml_vmaq_close(fb);
}

static void test_exited_process_is_esrch(void)
{
	struct ml_vmaq *io, *fb;
	struct ml_vmaq_vma x;
	uint64_t addr = (uintptr_t)&test_exited_process_is_esrch;
	struct ml_vmaq_result r;
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	CHECK_EQ(open_pair(pid, &io, &fb), 0);
	CHECK_EQ(ml_vmaq_query(io, addr, 0, &x), 0);
	CHECK_EQ(ml_vmaq_query(fb, addr, 0, &x), 0);
	kill(pid, SIGKILL);
	/* a zombie first: its memory is gone already */
	usleep(20000);
	CHECK_EQ(ml_vmaq_query(io, addr, 0, &x), -ESRCH);
	CHECK_EQ(ml_vmaq_query(fb, addr, 0, &x), -ESRCH);
	waitpid(pid, NULL, 0);
	CHECK_EQ(ml_vmaq_query(io, addr, 0, &x), -ESRCH);
	CHECK_EQ(ml_vmaq_query(fb, addr, 0, &x), -ESRCH);
	CHECK_EQ(ml_vmaq_refresh(io), -ESRCH);
	CHECK_EQ(ml_vmaq_refresh(fb), -ESRCH);
	CHECK_EQ(ml_vmaq_resolve(io, &addr, 1, NULL, &r), -ESRCH);
	CHECK_EQ(ml_vmaq_resolve(fb, &addr, 1, NULL, &r), -ESRCH);
	ml_vmaq_close(io);
	ml_vmaq_close(fb);
	CHECK_EQ(ml_vmaq_open(proc(), pid, NULL, &io), -ESRCH);
	CHECK_EQ(ml_vmaq_open(proc(), 0, NULL, &io), -EINVAL);
}

static void test_unreadable_process_is_eacces(void)
{
	pid_t target = getpid(), child;
	int status = -1;

	if (getuid() != 0) {
		struct ml_vmaq *q;

		/* as ourselves: pid 1 is root's */
		CHECK_EQ(ml_vmaq_open(proc(), 1, NULL, &q), -EACCES);
		return;
	}
	child = fork();
	if (child == 0) {
		struct ml_proc *p;
		struct ml_vmaq *q;
		int err;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (ml_proc_new(NULL, &p))
			_exit(11);
		err = ml_vmaq_open(p, target, NULL, &q);
		_exit(err == -EACCES ? 0 : 12);
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

static void test_env_forces_the_fallback(void)
{
	struct ml_vmaq *q;

	setenv("MEMLENS_NO_PROCMAP_QUERY", "1", 1);
	CHECK_EQ(ml_vmaq_open(proc(), getpid(), NULL, &q), 0);
	CHECK(!ml_vmaq_uses_ioctl(q));
	ml_vmaq_close(q);
	unsetenv("MEMLENS_NO_PROCMAP_QUERY");
	CHECK_EQ(ml_vmaq_open(proc(), getpid(), NULL, &q), 0);
	printf("# PROCMAP_QUERY on this kernel: %s\n",
	       ml_vmaq_uses_ioctl(q) ? "yes" : "no");
	ml_vmaq_close(q);
}

/* ---- the fallback on a fixture tree (a regular file: ENOTTY) ------------ */

static void test_fallback_on_fixture(void)
{
	ML_OPTS(ml_proc_opts, po, .proc_root = FIXTURES_DIR "/proc-basic");
	struct ml_proc *p;
	struct ml_vmaq *q;
	struct ml_vmaq_vma x;
	char perms[5];

	CHECK_EQ(ml_proc_new(&po, &p), 0);
	CHECK_EQ(ml_vmaq_open(p, 100, NULL, &q), 0);
	CHECK(!ml_vmaq_uses_ioctl(q));
	/* 55d0c0a02000-55d0c0a06000 r-xp 00002000 fe:01 1048577 /usr/bin/app */
	CHECK_EQ(ml_vmaq_query(q, 0x55d0c0a02005, ML_VMAQ_WANT_NAME, &x), 0);
	CHECK_U64(x.start, 0x55d0c0a02000);
	CHECK_U64(x.end, 0x55d0c0a06000);
	CHECK_U64(x.offset, 0x2000);
	CHECK_U64(x.inode, 1048577);
	CHECK_EQ(x.dev_major, 0xfe);
	CHECK_EQ(x.dev_minor, 1);
	ml_vmaq_perms(x.flags, perms);
	CHECK_STR(perms, "r-xp");
	CHECK_STR(x.name, "/usr/bin/app");
	CHECK(x.file_backed);
	/* the gap after [heap] (ends 55d0c1021000): nothing, or the next */
	CHECK_EQ(ml_vmaq_query(q, 0x55d0c1021000, 0, &x), -ENOENT);
	CHECK_EQ(ml_vmaq_query(q, 0x55d0c1021000, ML_VMAQ_COVERING_OR_NEXT, &x), 0);
	CHECK_U64(x.start, 0x7f3a00000000);
	/* next file-backed VMA after the heap: [anon_shmem:shared] has a file */
	CHECK_EQ(ml_vmaq_query(q, 0x55d0c1000000, ML_VMAQ_FILE_BACKED |
			       ML_VMAQ_COVERING_OR_NEXT | ML_VMAQ_WANT_NAME, &x), 0);
	CHECK_STR(x.name, "[anon_shmem:shared]");
	/* covering VMA that fails a filter: ENOENT without NEXT */
	CHECK_EQ(ml_vmaq_query(q, 0x55d0c1000000, ML_VMAQ_EXECUTABLE, &x), -ENOENT);
	/* next executable after the heap: libc's text */
	CHECK_EQ(ml_vmaq_query(q, 0x55d0c1000000, ML_VMAQ_EXECUTABLE |
			       ML_VMAQ_COVERING_OR_NEXT, &x), 0);
	CHECK_U64(x.start, 0x7f3a40028000);
	CHECK_EQ(ml_vmaq_query(q, 0x7f3a30000000, ML_VMAQ_SHARED | ML_VMAQ_WANT_NAME, &x), 0);
	CHECK_STR(x.name, "/memfd:x (deleted)");
	/* anonymous: no offset, no file */
	CHECK_EQ(ml_vmaq_query(q, 0x7f3a10000000, ML_VMAQ_WANT_NAME, &x), 0);
	CHECK_STR(x.name, "[anon:my name]");
	CHECK(!x.file_backed);
	CHECK_EQ(ml_vmaq_query(q, 0x7ffc12401000, ALL_FLAGS, &x), 0);
	CHECK_STR(x.name, "[vdso]");
	CHECK_EQ(x.build_id_len, 0);
	/* not in a process's tree: build IDs of missing files are none */
	CHECK_EQ(ml_vmaq_query(q, 0x7f3a40028000, ALL_FLAGS, &x), 0);
	CHECK_EQ(x.build_id_len, 0);
	CHECK_EQ(ml_vmaq_query(q, 0x7ffc12402000, ML_VMAQ_COVERING_OR_NEXT, &x),
		 -ENOENT);
	ml_vmaq_close(q);
	CHECK_EQ(ml_vmaq_open(p, 4242, NULL, &q), -ESRCH);
	ml_proc_free(p);
}

/* ---- batches ---------------------------------------------------------------- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A dump: addresses in @nr_hot VMAs, repeated, plus gaps, 0 and ~0. */
static size_t make_batch(const struct tvma *v, size_t n, size_t nr_hot,
			 uint64_t *out, size_t count)
{
	size_t k = 0;

	while (k < count) {
		const struct tvma *t = &v[(rnd() % nr_hot) * (n / nr_hot)];
		uint64_t a = t->start + rnd() % (t->end - t->start);

		switch (rnd() % 16) {
		case 0: a = t->end; break;          /* maybe a gap */
		case 1: a = t->start - 1; break;
		case 2: if (k) a = out[rnd() % k]; break; /* a duplicate */
		}
		out[k++] = a;
	}
	out[0] = 0;
	out[1] = UINT64_MAX;
	return k;
}

static bool same_results(const struct ml_vmaq_result *a,
			 const struct ml_vmaq_result *b, size_t n,
			 const char *what)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		bool ok = a[i].addr == b[i].addr && a[i].err == b[i].err &&
			  a[i].file_offset == b[i].file_offset &&
			  (!a[i].vma) == (!b[i].vma) &&
			  (!a[i].vma || same_vma(a[i].vma, b[i].vma, bad < 3));

		if (!ok && bad++ < 3)
			printf("# %s: address %zu (%" PRIx64 "): %d vs %d\n", what,
			       i, a[i].addr, a[i].err, b[i].err);
	}
	return bad == 0;
}

static void check_batch(struct ml_vmaq *io, struct ml_vmaq *fb,
			const uint64_t *addrs, size_t n, bool bid)
{
	static const enum ml_vmaq_strategy strategies[] = {
		ML_VMAQ_SORTED_IOCTL, ML_VMAQ_TEXT_PASS, ML_VMAQ_AUTO };
	struct ml_vmaq_result *ref = calloc(n, sizeof(*ref));
	struct ml_vmaq_result *got = calloc(n, sizeof(*got));
	struct ml_vmaq_vma *one = calloc(n, sizeof(*one));

	/* the reference: one query per address, names kept */
	for (size_t i = 0; i < n; i++) {
		ref[i].addr = addrs[i];
		ref[i].err = ml_vmaq_query(io, addrs[i], ML_VMAQ_WANT_NAME |
					   (bid ? ML_VMAQ_WANT_BUILD_ID : 0), &one[i]);
		if (!ref[i].err) {
			one[i].name = strdup(one[i].name);
			ref[i].vma = &one[i];
			ref[i].file_offset = one[i].offset + (addrs[i] - one[i].start);
		}
	}
	for (size_t s = 0; s < ARRAY_LEN(strategies); s++) {
		ML_OPTS(ml_vmaq_resolve_opts, o, .build_id = bid,
			.strategy = strategies[s]);
		char what[64];

		snprintf(what, sizeof(what), "strategy %d%s", strategies[s],
			 bid ? " with build IDs" : "");
		CHECK_EQ(ml_vmaq_resolve(io, addrs, n, &o, got), 0);
		CHECK(same_results(ref, got, n, what));
		if (strategies[s] != ML_VMAQ_AUTO)
			CHECK_EQ(ml_vmaq_last_strategy(io), strategies[s]);
	}
	{
		ML_OPTS(ml_vmaq_resolve_opts, o, .build_id = bid);

		CHECK_EQ(ml_vmaq_refresh(fb), 0);
		CHECK_EQ(ml_vmaq_resolve(fb, addrs, n, &o, got), 0);
		CHECK(same_results(ref, got, n, "fallback"));
		o.strategy = ML_VMAQ_SORTED_IOCTL;
		CHECK_EQ(ml_vmaq_resolve(fb, addrs, n, &o, got), -EINVAL);
	}
	for (size_t i = 0; i < n; i++)
		if (!ref[i].err)
			free((char *)one[i].name);
	free(ref);
	free(got);
	free(one);
}

static void test_resolve_strategies_agree(void)
{
	pid_t pid = spawn_world();
	struct ml_vmaq *io, *fb;
	struct tvma *v = NULL;
	uint64_t *addrs = calloc(4000, sizeof(*addrs));
	size_t n;

	if (pid < 0 || open_pair(pid, &io, &fb) || !ml_vmaq_uses_ioctl(io)) {
		printf("# needs the child and the ioctl\n");
		free(addrs);
		return;
	}
	n = read_maps(pid, &v);
	/* a stack dump: 4,000 addresses over 40 VMAs */
	make_batch(v, n, 40, addrs, 4000);
	check_batch(io, fb, addrs, 4000, false);
	check_batch(io, fb, addrs, 4000, true);
	/* spread: over every VMA */
	make_batch(v, n, n, addrs, 4000);
	check_batch(io, fb, addrs, 4000, true);
	/* small and empty batches */
	check_batch(io, fb, addrs, 3, true);
	CHECK_EQ(ml_vmaq_resolve(io, addrs, 0, NULL, NULL), 0);
	free(v);
	free(addrs);
	ml_vmaq_close(io);
	ml_vmaq_close(fb);
}

static void test_resolve_auto_choice(void)
{
	pid_t pid = spawn_world();
	struct ml_vmaq *io, *fb;
	struct ml_vmaq_result *r = calloc(4000, sizeof(*r));
	uint64_t *addrs = calloc(4000, sizeof(*addrs));
	struct tvma *v = NULL;
	size_t n;

	if (pid < 0 || open_pair(pid, &io, &fb) || !ml_vmaq_uses_ioctl(io)) {
		free(r);
		free(addrs);
		return;
	}
	n = read_maps(pid, &v);
	/* no snapshot yet: a stack dump is walked */
	make_batch(v, n, 20, addrs, 4000);
	CHECK_EQ(ml_vmaq_resolve(io, addrs, 4000, NULL, r), 0);
	CHECK_EQ(ml_vmaq_last_strategy(io), ML_VMAQ_SORTED_IOCTL);
	/* a batch over every VMA outgrows the walk's budget: text */
	make_batch(v, n, n, addrs, 4000);
	CHECK_EQ(ml_vmaq_resolve(io, addrs, 4000, NULL, r), 0);
	CHECK_EQ(ml_vmaq_last_strategy(io), ML_VMAQ_TEXT_PASS);
	/* now the VMA count is known: predicted, both ways */
	CHECK_EQ(ml_vmaq_resolve(io, addrs, 4000, NULL, r), 0);
	CHECK_EQ(ml_vmaq_last_strategy(io), ML_VMAQ_TEXT_PASS);
	make_batch(v, n, 20, addrs, 4000);
	CHECK_EQ(ml_vmaq_resolve(io, addrs, 4000, NULL, r), 0);
	CHECK_EQ(ml_vmaq_last_strategy(io), ML_VMAQ_SORTED_IOCTL);
	/* the fallback only has text */
	CHECK_EQ(ml_vmaq_resolve(fb, addrs, 4000, NULL, r), 0);
	CHECK_EQ(ml_vmaq_last_strategy(fb), ML_VMAQ_TEXT_PASS);
	free(v);
	free(r);
	free(addrs);
	ml_vmaq_close(io);
	ml_vmaq_close(fb);
}

/* ---- the command ------------------------------------------------------------ */

static int run(const char *cmd, char *out, size_t cap)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;
	int status;

	out[0] = '\0';
	if (!f)
		return -1;
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_cli(void)
{
	pid_t pid = spawn_world();
	static char out[65536];
	char cmd[1024], libc_hex[32] = "";
	struct tvma *v = NULL;
	size_t n = read_maps(pid, &v);

	if (pid < 0 || !n) {
		CHECK(!"child");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (strstr(v[i].name, "libc.so") && !libc_hex[0])
			snprintf(libc_hex, sizeof(libc_hex), "%" PRIx64,
				 v[i].start + 16);
	/* stdin: two malformed lines, reported by number; the rest resolved */
	snprintf(cmd, sizeof(cmd),
		 "printf '0x%s\\nnot-an-address\\n\\n  %s  \\n12345678901234567\\n0\\n' | "
		 MEMLENS_BIN " vma %d --stdin 2>&1", libc_hex, libc_hex, (int)pid);
	CHECK_EQ(run(cmd, out, sizeof(out)), 1);
	CHECK(strstr(out, "stdin line 2: 'not-an-address'") != NULL);
	CHECK(strstr(out, "stdin line 5:") != NULL);
	CHECK(strstr(out, "stdin line 3") == NULL);
	CHECK(strstr(out, "libc.so") != NULL);
	CHECK(strstr(out, "not mapped") != NULL);
	/* JSON: one object per address; the uncovered one has error */
	snprintf(cmd, sizeof(cmd), MEMLENS_BIN " vma --json %d %s 0 2>&1",
		 (int)pid, libc_hex);
	CHECK_EQ(run(cmd, out, sizeof(out)), 0);
	CHECK(out[0] == '[');
	CHECK(strstr(out, "\"perms\":\"r--p\"") != NULL);
	CHECK(strstr(out, "\"build_id\":\"") != NULL);
	CHECK(strstr(out, "{\"addr\":0,\"error\":\"not mapped\"}") != NULL);
	snprintf(cmd, sizeof(cmd), MEMLENS_BIN " vma --json --no-build-id %d %s",
		 (int)pid, libc_hex);
	CHECK_EQ(run(cmd, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"build_id\":null") != NULL);
	/* the fallback prints the same */
	{
		static char out2[65536];

		snprintf(cmd, sizeof(cmd), MEMLENS_BIN " vma --json %d %s 0 1 ffffffffffffffff",
			 (int)pid, libc_hex);
		CHECK_EQ(run(cmd, out, sizeof(out)), 0);
		snprintf(cmd, sizeof(cmd), "MEMLENS_NO_PROCMAP_QUERY=1 " MEMLENS_BIN
			 " vma --json %d %s 0 1 ffffffffffffffff", (int)pid, libc_hex);
		CHECK_EQ(run(cmd, out2, sizeof(out2)), 0);
		CHECK_STR(out, out2);
	}
	/* exit codes */
	CHECK_EQ(run(MEMLENS_BIN " vma 2>/dev/null", out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), MEMLENS_BIN " vma %d 2>/dev/null", (int)pid);
	CHECK_EQ(run(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), MEMLENS_BIN " vma %d xyz 2>/dev/null", (int)pid);
	CHECK_EQ(run(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), MEMLENS_BIN " vma %d 1 --stdin </dev/null 2>/dev/null",
		 (int)pid);
	CHECK_EQ(run(cmd, out, sizeof(out)), 2);
	CHECK_EQ(run(MEMLENS_BIN " vma 999999999 0 2>&1", out, sizeof(out)), 1);
	CHECK(strstr(out, "no such process") != NULL);
	CHECK_EQ(run(MEMLENS_BIN " vma --help", out, sizeof(out)), 0);
	for (const char *const *o = (const char *const[]){ "--stdin", "--json",
				"--no-build-id", "--help", NULL }; *o; o++)
		CHECK(strstr(out, *o) != NULL);
	free(v);
}

/* ---- teardown --------------------------------------------------------------- */

static void test_cleanup(void)
{
	if (world_pid > 0) {
		close(world_pipe);
		waitpid(world_pid, NULL, 0);
		world_pid = -1;
	}
	if (long_fd >= 0)
		close(long_fd);
	if (longer_fd >= 0)
		close(longer_fd);
	if (tmpdir[0]) {
		int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);

		if (dfd >= 0)
			remove_tree(dfd);
		CHECK_EQ(rmdir(tmpdir), 0);
	}
	ml_proc_free(proc());
}

TAP_MAIN(TEST(test_env_forces_the_fallback),
	 TEST(test_fallback_on_fixture),
	 TEST(test_paths_agree_on_every_vma_of_the_child),
	 TEST(test_paths_agree_on_every_vma_of_self),
	 TEST(test_paths_agree_on_other_processes),
	 TEST(test_names_long_deleted_memfd_newline),
	 TEST(test_build_ids_against_independent_sources),
	 TEST(test_addresses_zero_max_and_gate),
	 TEST(test_exited_process_is_esrch),
	 TEST(test_unreadable_process_is_eacces),
	 TEST(test_resolve_strategies_agree),
	 TEST(test_resolve_auto_choice),
	 TEST(test_cli),
	 TEST(test_cleanup))
