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
 * Parse the header in [s, eol) into @vma. The name runs from the first
 * non-blank after the inode to the end of the line; *eol is made a NUL.
 */
static int parse_header(char *s, char *eol, struct ml_vma *vma)
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
	*eol = '\0';
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
	err = parse_header(s, eol, vma);
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
static int parse_field(char *s, char *eol, struct ml_vma *vma,
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

			*eol = '\0';
			vma->vm_flags = flags;
		}
		break;
	}
	return err;
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
		char *eol = line_end(s, end);

		err = parse_field(s, eol, vma, mem, &cursor, &saw_rss);
		if (err)
			return err;
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

int ml_proc_vmas(struct ml_proc *p, pid_t pid, bool with_counters,
		 struct ml_vma_list *out)
{
	int (*next)(char **, char *, struct ml_vma *) =
		with_counters ? ml_smaps_next : ml_maps_next;
	char *text, *pos, *end;
	ssize_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	len = ml_proc_read_owned(p, pid, with_counters ? "smaps" : "maps",
				 &text);
	if (len < 0)
		return (int)len;
	out->text = text;
	pos = text;
	end = text + len;
	for (;;) {
		ret = grow_array((void **)&out->v, &out->cap, out->n,
				 sizeof(*out->v));
		if (ret)
			break;
		ret = next(&pos, end, &out->v[out->n]);
		if (ret <= 0)
			break;
		out->n++;
	}
	if (ret < 0)
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
