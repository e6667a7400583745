// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parsers for /proc/PID/status, statm, comm and cmdline.
 */
#include <fcntl.h>
#include <string.h>

#include "internal.h"

/* ---- status ---------------------------------------------------------------- */

enum status_kind { S_NAME, S_PID, S_IDS, S_COUNT, S_KB };

struct status_field {
	const char *key;
	uint8_t len;
	uint8_t kind;
	uint16_t off;
};

#define SF(k, kind, f) { k, sizeof(k) - 1, kind, offsetof(struct ml_status, f) }

static const struct status_field status_fields[] = {
	SF("Name", S_NAME, name),
	SF("Tgid", S_PID, tgid),
	SF("PPid", S_PID, ppid),
	SF("Uid", S_IDS, uid),
	SF("Gid", S_IDS, gid),
	SF("VmPeak", S_KB, vm_peak),
	SF("VmSize", S_KB, vm_size),
	SF("VmLck", S_KB, vm_lck),
	SF("VmPin", S_KB, vm_pin),
	SF("VmHWM", S_KB, vm_hwm),
	SF("VmRSS", S_KB, vm_rss),
	SF("RssAnon", S_KB, rss_anon),
	SF("RssFile", S_KB, rss_file),
	SF("RssShmem", S_KB, rss_shmem),
	SF("VmData", S_KB, vm_data),
	SF("VmStk", S_KB, vm_stk),
	SF("VmExe", S_KB, vm_exe),
	SF("VmLib", S_KB, vm_lib),
	SF("VmPTE", S_KB, vm_pte),
	SF("VmSwap", S_KB, vm_swap),
	SF("Threads", S_COUNT, threads),
};

static int parse_ids(const char *p, const char *eol, uint32_t ids[4])
{
	for (int i = 0; i < 4; i++) {
		uint64_t v;

		p = skip_blanks(p, eol);
		if (!parse_u64(&p, eol, &v) || v > UINT32_MAX)
			return -EINVAL;
		ids[i] = (uint32_t)v;
	}
	return 0;
}

static int parse_kb_value(const char *p, const char *eol, uint64_t *out)
{
	uint64_t v;

	p = skip_blanks(p, eol);
	if (!parse_u64(&p, eol, &v))
		return -EINVAL;
	p = skip_blanks(p, eol);
	if (eol - p != 2 || memcmp(p, "kB", 2) != 0)
		return -EINVAL;
	*out = kib_to_bytes(v);
	return 0;
}

static int apply_status_field(const struct status_field *f, const char *p,
			      const char *eol, struct ml_status *st)
{
	void *dst = (char *)st + f->off;
	uint64_t v;
	size_t n;

	switch (f->kind) {
	case S_NAME:
		/* comm is escaped by the kernel, so it holds no newline */
		p = skip_blanks(p, eol);
		n = (size_t)(eol - p);
		if (n >= sizeof(st->name))
			n = sizeof(st->name) - 1;
		memcpy(st->name, p, n);
		st->name[n] = '\0';
		return 0;
	case S_PID:
	case S_COUNT:
		p = skip_blanks(p, eol);
		if (!parse_u64(&p, eol, &v) || v > INT32_MAX)
			return -EINVAL;
		if (f->kind == S_PID)
			*(pid_t *)dst = (pid_t)v;
		else
			*(uint32_t *)dst = (uint32_t)v;
		return 0;
	case S_IDS:
		return parse_ids(p, eol, dst);
	case S_KB:
		st->has_mm = true;
		return parse_kb_value(p, eol, dst);
	}
	return 0;
}

int ml_status_parse(const char *text, size_t len, struct ml_status *st)
{
	const char *s = text, *end = text + len;
	bool saw_name = false;

	memset(st, 0, sizeof(*st));
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *colon;

		if (!eol)
			eol = end;
		colon = memchr(s, ':', (size_t)(eol - s));
		if (!colon)
			return -EINVAL;
		for (size_t i = 0; i < ARRAY_SIZE(status_fields); i++) {
			const struct status_field *f = &status_fields[i];

			if (f->len != colon - s || memcmp(f->key, s, f->len))
				continue;
			if (apply_status_field(f, colon + 1, eol, st))
				return -EINVAL;
			if (f->kind == S_NAME)
				saw_name = true;
			break;
		}
		s = eol < end ? eol + 1 : end;
	}
	return saw_name ? 0 : -EINVAL;
}

int ml_proc_status(struct ml_proc *p, pid_t pid, struct ml_status *st)
{
	char *text;
	ssize_t n = ml_proc_read(p, pid, "status", &text);

	if (n < 0)
		return (int)n;
	return ml_status_parse(text, (size_t)n, st);
}

/* ---- statm ----------------------------------------------------------------- */

int ml_statm_parse(const char *text, size_t len, uint64_t page_size,
		   struct ml_statm *sm)
{
	uint64_t *out[] = { &sm->size, &sm->resident, &sm->shared, &sm->text,
			    &sm->lib,  &sm->data,     &sm->dt };
	const char *p = text, *end = text + len;

	memset(sm, 0, sizeof(*sm));
	for (size_t i = 0; i < ARRAY_SIZE(out); i++) {
		uint64_t pages;

		if (i > 0 && !(p < end && *p++ == ' '))
			return -EINVAL;
		if (!parse_u64(&p, end, &pages))
			return -EINVAL;
		if (page_size && pages > UINT64_MAX / page_size)
			return -EINVAL;
		*out[i] = pages * page_size;
	}
	if (p < end && *p == '\n')
		p++;
	return p == end ? 0 : -EINVAL;
}

int ml_proc_statm(struct ml_proc *p, pid_t pid, struct ml_statm *sm)
{
	char *text;
	ssize_t n = ml_proc_read(p, pid, "statm", &text);

	if (n < 0)
		return (int)n;
	return ml_statm_parse(text, (size_t)n, (uint64_t)sysconf(_SC_PAGESIZE),
			      sm);
}

/* ---- comm, cmdline ------------------------------------------------------------ */

/*
 * Read a small file straight into the caller's buffer, no shared buffer.
 * With @until_newline, a read ending in a newline is taken as the whole
 * file: comm is one line written in one go, and the read that would only
 * confirm the end is a syscall per process in a scan.
 */
static ssize_t read_small(struct ml_proc *p, pid_t pid, const char *file,
			  char *buf, size_t sz, bool until_newline)
{
	_cleanup_close_ int fd = proc_open(p, pid, file, O_RDONLY);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	while (len < sz) {
		n = read(fd, buf + len, sz - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return proc_errno(p, pid, errno);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (until_newline && buf[len - 1] == '\n')
			break;
	}
	return (ssize_t)len;
}

int ml_proc_comm(struct ml_proc *p, pid_t pid, char *buf, size_t sz)
{
	ssize_t n;

	if (!buf || sz == 0)
		return -EINVAL;
	n = read_small(p, pid, "comm", buf, sz - 1, true);
	if (n < 0)
		return (int)n;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

int ml_cmdline_format(const char *raw, size_t len, char *buf, size_t sz)
{
	size_t o = 0;

	if (!buf || sz == 0)
		return -EINVAL;
	/* the final NUL ends the last argument; it is not a separator */
	while (len > 0 && raw[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len && o + 1 < sz; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '\0')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return 0;
}

int ml_proc_cmdline(struct ml_proc *p, pid_t pid, char *buf, size_t sz)
{
	char raw[4096];
	ssize_t n;

	if (!buf || sz == 0)
		return -EINVAL;
	n = read_small(p, pid, "cmdline", raw,
		       sz < sizeof(raw) ? sz : sizeof(raw), false);
	if (n < 0)
		return (int)n;
	return ml_cmdline_format(raw, (size_t)n, buf, sz);
}
