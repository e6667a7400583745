// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parsers for /proc/PID/maps, /proc/PID/smaps and /proc/PID/smaps_rollup.
 *
 * The kernel prints maps lines as (fs/proc/task_mmu.c, show_map_vma)
 *   "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " + padding + name
 * and smaps adds "Key:  value kB" lines after each header. Parsing is done
 * in place: the newline ending a header becomes a NUL so the name needs no
 * copy, which is what keeps `memlens maps` near the cost of the read itself.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* ---- maps header line --------------------------------------------------- */

static char *line_end(char *s, char *end)
{
	char *nl = memchr(s, '\n', (size_t)(end - s));

	return nl ? nl : end;
}

static bool parse_perms(const char **p, const char *end, char perms[5])
{
	static const char allowed[4][2] = {
		{ 'r', '-' }, { 'w', '-' }, { 'x', '-' }, { 'p', 's' } };
	const char *s = *p;

	if (end - s < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		if (s[i] != allowed[i][0] && s[i] != allowed[i][1])
			return false;
		perms[i] = s[i];
	}
	perms[4] = '\0';
	*p = s + 4;
	return true;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

/*
 * End the string that runs up to @eol, unless @eol is the end of the text:
 * the parsers never write outside [*pos, end). Text read by ml_proc_read()
 * has a NUL at its end already.
 */
static void terminate(char *eol, char *end)
{
	if (eol < end)
		*eol = '\0';
}

/*
 * Parse the header in [s, eol) into @vma. The name runs from the first
 * non-blank after the inode to the end of the line; *eol is made a NUL.
 */
static int parse_header(char *s, char *eol, char *end, struct ml_vma *vma)
{
	const char *p = s;
	uint64_t major, minor;

	memset(vma, 0, sizeof(*vma));
	vma->thp_eligible = -1;
	vma->vm_flags = "";
	if (!parse_hex_u64(&p, eol, &vma->start) || !expect(&p, eol, '-') ||
	    !parse_hex_u64(&p, eol, &vma->end) || !expect(&p, eol, ' ') ||
	    !parse_perms(&p, eol, vma->perms) || !expect(&p, eol, ' ') ||
	    !parse_hex_u64(&p, eol, &vma->offset) || !expect(&p, eol, ' ') ||
	    !parse_hex_u64(&p, eol, &major) || !expect(&p, eol, ':') ||
	    !parse_hex_u64(&p, eol, &minor) || !expect(&p, eol, ' ') ||
	    !parse_u64(&p, eol, &vma->inode))
		return -EINVAL;
	if (vma->end < vma->start || major > UINT32_MAX || minor > UINT32_MAX)
		return -EINVAL;
	/* the kernel always pads with at least one space before a name */
	if (p < eol && *p != ' ')
		return -EINVAL;
	vma->dev_major = (uint32_t)major;
	vma->dev_minor = (uint32_t)minor;
	p = skip_blanks(p, eol);
	vma->name = p;
	vma->name_len = (uint32_t)(eol - p);
	terminate(eol, end);
	return 0;
}

/* A header begins with "<hex>-": field lines begin with a capitalised key. */
static bool is_header(const char *s, const char *end)
{
	uint64_t ignored;

	return parse_hex_u64(&s, end, &ignored) && s < end && *s == '-';
}

int ml_maps_next(char **pos, char *end, struct ml_vma *vma)
{
	char *s = *pos, *eol;
	int err;

	if (s >= end)
		return 0;
	eol = line_end(s, end);
	err = parse_header(s, eol, end, vma);
	if (err)
		return err;
	*pos = eol < end ? eol + 1 : end;
	return 1;
}

/* ---- smaps fields ------------------------------------------------------- */

enum field_kind { F_MEM, F_KPAGE, F_MMUPAGE, F_THP, F_VMFLAGS, F_IGNORE };

struct field {
	const char *key;
	uint8_t len;
	uint8_t kind;
	uint16_t off; /* offset in struct ml_mem for F_MEM */
};

#define MEM(k, f) { k, sizeof(k) - 1, F_MEM, offsetof(struct ml_mem, f) }
#define OTHER(k, kind) { k, sizeof(k) - 1, kind, 0 }

/* In the order the kernel prints them, so a cursor usually hits first try. */
static const struct field fields[] = {
	MEM("Size", size),
	OTHER("KernelPageSize", F_KPAGE),
	OTHER("MMUPageSize", F_MMUPAGE),
	MEM("Rss", rss),
	MEM("Pss", pss),
	MEM("Pss_Dirty", pss_dirty),
	MEM("Pss_Anon", pss_anon),
	MEM("Pss_File", pss_file),
	MEM("Pss_Shmem", pss_shmem),
	MEM("Shared_Clean", shared_clean),
	MEM("Shared_Dirty", shared_dirty),
	MEM("Private_Clean", private_clean),
	MEM("Private_Dirty", private_dirty),
	MEM("Referenced", referenced),
	MEM("Anonymous", anonymous),
	MEM("KSM", ksm),
	MEM("LazyFree", lazyfree),
	MEM("AnonHugePages", anon_huge),
	MEM("ShmemPmdMapped", shmem_pmd_mapped),
	MEM("FilePmdMapped", file_pmd_mapped),
	MEM("Shared_Hugetlb", shared_hugetlb),
	MEM("Private_Hugetlb", private_hugetlb),
	MEM("Swap", swap),
	MEM("SwapPss", swap_pss),
	MEM("Locked", locked),
	OTHER("THPeligible", F_THP),
	OTHER("ProtectionKey", F_IGNORE),
	OTHER("VmFlags", F_VMFLAGS),
};

static const struct field *find_field(const char *key, size_t len,
				      unsigned *cursor)
{
	unsigned i = *cursor;

	for (unsigned tries = 0; tries < ARRAY_SIZE(fields); tries++) {
		const struct field *f = &fields[i];

		if (f->len == len && memcmp(f->key, key, len) == 0) {
			*cursor = (i + 1) % ARRAY_SIZE(fields);
			return f;
		}
		i = (i + 1) % ARRAY_SIZE(fields);
	}
	return NULL;
}

/* "   1234 kB" -> bytes */
static int parse_kb(const char *p, const char *eol, uint64_t *bytes)
{
	uint64_t kib;

	p = skip_blanks(p, eol);
	if (!parse_u64(&p, eol, &kib))
		return -EINVAL;
	p = skip_blanks(p, eol);
	if (eol - p != 2 || p[0] != 'k' || p[1] != 'B')
		return -EINVAL;
	*bytes = kib_to_bytes(kib);
	return 0;
}

static int parse_plain(const char *p, const char *eol, uint64_t *v)
{
	p = skip_blanks(p, eol);
	if (!parse_u64(&p, eol, v))
		return -EINVAL;
	return skip_blanks(p, eol) == eol ? 0 : -EINVAL;
}

/*
 * Apply one "Key: value" line to @vma (or only @mem when vma is NULL).
 * @seen collects which memory fields were present.
 */
static int parse_field(char *s, char *eol, char *end, struct ml_vma *vma,
		       struct ml_mem *mem, unsigned *cursor, bool *saw_rss)
{
	const char *colon = memchr(s, ':', (size_t)(eol - s));
	const struct field *f;
	uint64_t v;
	int err = 0;

	if (!colon || colon == s)
		return -EINVAL;
	f = find_field(s, (size_t)(colon - s), cursor);
	if (!f)
		return 0; /* a field from a newer kernel */

	switch (f->kind) {
	case F_MEM:
		err = parse_kb(colon + 1, eol, (uint64_t *)((char *)mem + f->off));
		if (!err && f->off == offsetof(struct ml_mem, rss))
			*saw_rss = true;
		break;
	case F_KPAGE:
	case F_MMUPAGE:
		err = parse_kb(colon + 1, eol, &v);
		if (err || !vma)
			break;
		if (v > UINT32_MAX)
			return -EINVAL;
		if (f->kind == F_KPAGE)
			vma->kernel_page_size = (uint32_t)v;
		else
			vma->mmu_page_size = (uint32_t)v;
		break;
	case F_THP:
		err = parse_plain(colon + 1, eol, &v);
		if (!err && vma)
			vma->thp_eligible = v ? 1 : 0;
		break;
	case F_VMFLAGS:
		if (vma) {
			char *flags = (char *)skip_blanks(colon + 1, eol);

			terminate(eol, end);
			vma->vm_flags = flags;
		}
		break;
	}
	return err;
}

/* memcmp(s, key, len) == 0 for the short keys of smaps, without a call. */
static inline bool key_equal(const char *s, const char *key, size_t len)
{
	uint64_t a, b, c, d;

	if (len < 8)
		return memcmp(s, key, len) == 0;
	memcpy(&a, s, 8);
	memcpy(&b, key, 8);
	memcpy(&c, s + len - 8, 8);
	memcpy(&d, key + len - 8, 8);
	return a == b && c == d;
}

/* skip_blanks(), eight spaces at a time first: the kernel pads values. */
static inline const char *skip_padding(const char *p, const char *end)
{
	static const char spaces[8] = "        ";
	uint64_t w, sp;

	memcpy(&sp, spaces, 8);
	while (end - p >= 8) {
		memcpy(&w, p, 8);
		if (w != sp)
			break;
		p += 8;
	}
	return skip_blanks(p, end);
}

/*
 * The common line in one pass: the memory field the kernel prints next
 * (fields[*cursor]), as "Key:", blanks, a decimal, blanks, "kB", end of line.
 * Returns the end of the line (its newline or @end) with the field applied,
 * or NULL to leave the line to parse_field(), which then finds the same
 * colon, key and newline the long way and gives the same result.
 */
static char *parse_mem_line(char *s, char *end, struct ml_mem *mem,
			    unsigned *cursor, bool *saw_rss)
{
	const struct field *f = &fields[*cursor];
	const char *p;
	uint64_t kib;

	if (f->kind != F_MEM || end - s <= f->len || s[f->len] != ':' ||
	    !key_equal(s, f->key, f->len))
		return NULL;
	p = skip_padding(s + f->len + 1, end);
	if (!parse_u64(&p, end, &kib))
		return NULL;
	p = skip_blanks(p, end);
	if (end - p < 2 || p[0] != 'k' || p[1] != 'B' ||
	    (end - p > 2 && p[2] != '\n'))
		return NULL;
	*(uint64_t *)((char *)mem + f->off) = kib_to_bytes(kib);
	if (f->off == offsetof(struct ml_mem, rss))
		*saw_rss = true;
	*cursor = (*cursor + 1) % ARRAY_SIZE(fields);
	return (char *)p + 2;
}

/* Parse field lines from *pos until the next header or the end. */
static int parse_fields(char **pos, char *end, struct ml_vma *vma,
			struct ml_mem *mem)
{
	unsigned cursor = 0;
	bool saw_rss = false;
	char *s = *pos;
	int err;

	while (s < end && !is_header(s, end)) {
		char *eol = parse_mem_line(s, end, mem, &cursor, &saw_rss);

		if (!eol) {
			eol = line_end(s, end);
			err = parse_field(s, eol, end, vma, mem, &cursor,
					  &saw_rss);
			if (err)
				return err;
		}
		s = eol < end ? eol + 1 : end;
	}
	*pos = s;
	return saw_rss ? 0 : -EINVAL;
}

int ml_smaps_next(char **pos, char *end, struct ml_vma *vma)
{
	int ret = ml_maps_next(pos, end, vma);

	if (ret <= 0)
		return ret;
	ret = parse_fields(pos, end, vma, &vma->mem);
	return ret < 0 ? ret : 1;
}

int ml_smaps_rollup_parse(char *text, size_t len, struct ml_mem *mem)
{
	char *pos = text, *end = text + len;
	struct ml_vma hdr;
	int ret;

	memset(mem, 0, sizeof(*mem));
	ret = ml_maps_next(&pos, end, &hdr);
	if (ret == 0)
		return -ENODATA;
	if (ret < 0)
		return ret;
	return parse_fields(&pos, end, NULL, mem);
}

/* ---- whole files ---------------------------------------------------------- */

void ml_vma_list_free(struct ml_vma_list *l)
{
	if (!l)
		return;
	free(l->v);
	free(l->text);
	memset(l, 0, sizeof(*l));
}

/*
 * ml_proc_vmas() streams the file through the context's read buffer instead
 * of reading it whole: smaps of a process with 20,000 VMAs is 14 MB, and
 * faulting in a fresh buffer that size cost more than the kernel took to
 * print it (bench/bench_maps). Records are parsed in the buffer by
 * ml_maps_next() / ml_smaps_next() as soon as they are complete; the strings
 * a VMA keeps (name, VmFlags) are copied to a small arena, a string repeated
 * from one of the last few VMAs only once, and the arena becomes
 * ml_vma_list.text.
 */

#define STREAM_BUF_MIN (64 * 1024)
#define STREAM_READ_MIN 4096 /* seq_file hands out about a page per read */
#define PREFAULT_VMAS 1024   /* VMAs' worth of array faulted in at a time */
#define RECENT_STRINGS 4

/* Room for out->v[out->n], its pages faulted in ahead in batches. */
static int grow_vmas(struct ml_vma_list *l, size_t *prefaulted)
{
	size_t ncap = l->cap ? l->cap * 2 : 16, batch;
	struct ml_vma *v;

	if (l->n >= l->cap) {
		if (ncap < l->cap || ncap > SIZE_MAX / sizeof(*v))
			return -ENOMEM;
		v = realloc(l->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = ncap;
	}
	if (l->n >= *prefaulted) {
		batch = l->cap - l->n < PREFAULT_VMAS ? l->cap - l->n : PREFAULT_VMAS;
		prefault(&l->v[l->n], batch * sizeof(*l->v));
		*prefaulted = l->n + batch;
	}
	return 0;
}

/* The arena: offset 0 holds "", strings are NUL-terminated copies. */
struct strings {
	char *s;
	size_t len, cap;
	size_t recent_off[RECENT_STRINGS];
	size_t recent_len[RECENT_STRINGS];
	unsigned next_recent;
};

/* The arena moved: point the VMAs kept so far at the new copy. */
static void rebase_strings(struct ml_vma_list *l, uintptr_t old_base,
			   const char *base)
{
	for (size_t i = 0; i < l->n; i++) {
		l->v[i].name = base + ((uintptr_t)l->v[i].name - old_base);
		l->v[i].vm_flags = base + ((uintptr_t)l->v[i].vm_flags - old_base);
	}
}

/* Offset of a copy of @s (@len bytes and a NUL) in @a. */
static int strings_add(struct strings *a, struct ml_vma_list *l,
		       const char *s, size_t len, size_t *off)
{
	uintptr_t old_base;
	size_t ncap;
	char *ns;

	if (len == 0) {
		*off = 0;
		return 0;
	}
	for (unsigned i = 0; i < RECENT_STRINGS; i++) {
		if (a->recent_len[i] == len &&
		    memcmp(a->s + a->recent_off[i], s, len) == 0) {
			*off = a->recent_off[i];
			return 0;
		}
	}
	if (len + 1 > a->cap - a->len) {
		ncap = a->cap;
		while (len + 1 > ncap - a->len) {
			if (ncap > SIZE_MAX / 2)
				return -ENOMEM;
			ncap *= 2;
		}
		old_base = (uintptr_t)a->s;
		ns = realloc(a->s, ncap);
		if (!ns)
			return -ENOMEM;
		if ((uintptr_t)ns != old_base)
			rebase_strings(l, old_base, ns);
		a->s = ns;
		a->cap = ncap;
	}
	memcpy(a->s + a->len, s, len);
	a->s[a->len + len] = '\0';
	*off = a->len;
	a->len += len + 1;
	a->recent_off[a->next_recent] = *off;
	a->recent_len[a->next_recent] = len;
	a->next_recent = (a->next_recent + 1) % RECENT_STRINGS;
	return 0;
}

/* Move the strings of l->v[l->n] out of the read buffer into @a. */
static int keep_strings(struct strings *a, struct ml_vma_list *l)
{
	struct ml_vma *v = &l->v[l->n];
	size_t name_off, flags_off;
	int err;

	err = strings_add(a, l, v->name, v->name_len, &name_off);
	if (!err)
		err = strings_add(a, l, v->vm_flags, strlen(v->vm_flags),
				  &flags_off);
	if (err)
		return err;
	v->name = a->s + name_off;
	v->vm_flags = a->s + flags_off;
	return 0;
}

/*
 * Where the complete records in [buf, end) stop: after the last newline for
 * maps, where every line is a record; at the start of the last complete
 * header line for smaps, whose record may still be missing lines. @buf when
 * there is no complete record yet.
 */
static char *records_end(char *buf, char *end, bool with_counters)
{
	char *eol = memrchr(buf, '\n', (size_t)(end - buf));

	if (!eol)
		return buf;
	if (!with_counters)
		return eol + 1;
	while (eol > buf) {
		char *nl = memrchr(buf, '\n', (size_t)(eol - buf));
		char *s = nl ? nl + 1 : buf;

		if (is_header(s, eol))
			return s;
		if (!nl)
			break;
		eol = nl;
	}
	return buf;
}

/*
 * Read from @fd after the *@len bytes kept in p->buf until less than a read's
 * worth of room is left or the file ends; grow the buffer first when it is
 * that full already. The data is NUL-terminated.
 */
static int fill(struct ml_proc *p, int fd, size_t *len, bool *eof)
{
	ssize_t n;

	if (p->cap < STREAM_BUF_MIN || p->cap - *len <= STREAM_READ_MIN) {
		size_t ncap = p->cap < STREAM_BUF_MIN ? STREAM_BUF_MIN : p->cap * 2;
		char *nb;

		if (ncap < p->cap)
			return -ENOMEM;
		nb = realloc(p->buf, ncap);
		if (!nb)
			return -ENOMEM;
		prefault(nb + p->cap, ncap - p->cap);
		p->buf = nb;
		p->cap = ncap;
	}
	while (!*eof && p->cap - *len > STREAM_READ_MIN) {
		n = read(fd, p->buf + *len, p->cap - *len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ENOENT ? -ESRCH : -errno;
		}
		if (n == 0)
			*eof = true;
		*len += (size_t)n;
	}
	p->buf[*len] = '\0';
	return 0;
}

/* ---- streaming iterator ------------------------------------------------------ */

struct ml_vma_iter {
	struct ml_proc *p; /* whose read buffer holds the text */
	int fd;
	bool with_counters;
	bool eof;
	size_t len; /* bytes in p->buf */
	char *pos;  /* next record */
	char *end;  /* end of the complete records in p->buf */
};

int ml_vma_iter_open(struct ml_proc *p, pid_t pid, bool with_counters,
		     struct ml_vma_iter **out)
{
	struct ml_vma_iter *it;
	int fd;

	if (!p || !out)
		return -EINVAL;
	fd = proc_open(p, pid, with_counters ? "smaps" : "maps", O_RDONLY);
	if (fd < 0)
		return fd;
	it = calloc(1, sizeof(*it));
	if (!it) {
		close(fd);
		return -ENOMEM;
	}
	it->p = p;
	it->fd = fd;
	it->with_counters = with_counters;
	*out = it;
	return 0;
}

/* Keep the incomplete record at it->end, read more, find the new end. */
static int refill(struct ml_vma_iter *it)
{
	struct ml_proc *p = it->p;
	size_t done = it->end ? (size_t)(it->end - p->buf) : 0;
	int err;

	it->len -= done;
	if (it->len) /* p->buf is NULL before the first read */
		memmove(p->buf, p->buf + done, it->len);
	err = fill(p, it->fd, &it->len, &it->eof);
	if (err)
		return err;
	it->pos = p->buf;
	it->end = it->eof ? p->buf + it->len :
			    records_end(p->buf, p->buf + it->len,
					it->with_counters);
	return 0;
}

int ml_vma_iter_next(struct ml_vma_iter *it, struct ml_vma *vma)
{
	int err;

	for (;;) {
		if (it->pos < it->end)
			return it->with_counters ?
				       ml_smaps_next(&it->pos, it->end, vma) :
				       ml_maps_next(&it->pos, it->end, vma);
		if (it->eof)
			return 0;
		err = refill(it);
		if (err)
			return err;
	}
}

void ml_vma_iter_close(struct ml_vma_iter *it)
{
	if (!it)
		return;
	close(it->fd);
	free(it);
}

int ml_proc_vmas(struct ml_proc *p, pid_t pid, bool with_counters,
		 struct ml_vma_list *out)
{
	struct strings str = { .cap = 4096, .len = 1 };
	struct ml_vma_iter *it;
	size_t prefaulted = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = ml_vma_iter_open(p, pid, with_counters, &it);
	if (ret)
		return ret;
	str.s = malloc(str.cap);
	if (!str.s) {
		ml_vma_iter_close(it);
		return -ENOMEM;
	}
	str.s[0] = '\0';
	out->text = str.s;
	for (;;) {
		ret = grow_vmas(out, &prefaulted);
		if (ret)
			break;
		ret = ml_vma_iter_next(it, &out->v[out->n]);
		if (ret <= 0)
			break;
		/* the iterator's text moves on the next read: copy the strings */
		ret = keep_strings(&str, out);
		if (ret)
			break;
		out->text = str.s;
		out->n++;
	}
	ml_vma_iter_close(it);
	if (ret)
		ml_vma_list_free(out);
	return ret;
}

/* ---- small helpers -------------------------------------------------------- */

void ml_mem_add(struct ml_mem *a, const struct ml_mem *b)
{
	uint64_t *x = (uint64_t *)a;
	const uint64_t *y = (const uint64_t *)b;

	for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		x[i] = (x[i] > UINT64_MAX - y[i]) ? UINT64_MAX : x[i] + y[i];
}

bool ml_vma_is_anon(const struct ml_vma *v)
{
	/* file-backed VMAs have an inode; memfd and shmem do too */
	return v->inode == 0;
}
