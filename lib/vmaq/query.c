// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One address -> one VMA, with the kernel's PROCMAP_QUERY semantics
 * (fs/proc/task_mmu.c, query_matching_vma and do_procmap_query):
 *
 *   vma = the first VMA whose end is above addr;
 *   loop: if it passes the filters (FILE_BACKED, READABLE, WRITABLE,
 *         EXECUTABLE, SHARED) and (COVERING_OR_NEXT or start <= addr),
 *         that is the answer; else with COVERING_OR_NEXT try the next VMA,
 *         without it the answer is ENOENT.
 *
 * The ioctl path asks the kernel; the fallback runs the same loop over a
 * snapshot of the maps text. The text differs from the ioctl in three
 * places, undone here: the gate VMA ([vsyscall]) is listed but never found
 * by the ioctl; a newline in a path is printed as "\012"; and the ioctl
 * gives offset, device and inode only for VMAs with a file, as maps does.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/magic.h>

#include "../proc/internal.h"
#include "../util/uapi.h"
#include "internal.h"

#define NAME_BUF_INITIAL 256
#define NAME_BUF_KERNEL_MAX 4096 /* the kernel caps the name at PATH_MAX */
#define TEXT_BUF_INITIAL (64 * 1024)

/* ---- small helpers ------------------------------------------------------ */

void ml_vmaq_perms(uint32_t flags, char perms[5])
{
	perms[0] = flags & ML_VMAQ_READABLE ? 'r' : '-';
	perms[1] = flags & ML_VMAQ_WRITABLE ? 'w' : '-';
	perms[2] = flags & ML_VMAQ_EXECUTABLE ? 'x' : '-';
	perms[3] = flags & ML_VMAQ_SHARED ? 's' : 'p';
	perms[4] = '\0';
}

const char *ml_vmaq_build_id_hex(const struct ml_vmaq_vma *v, char buf[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned len = v->build_id_len;

	if (len > ML_VMAQ_BUILD_ID_MAX)
		len = ML_VMAQ_BUILD_ID_MAX;
	for (unsigned i = 0; i < len; i++) {
		buf[2 * i] = hex[v->build_id[i] >> 4];
		buf[2 * i + 1] = hex[v->build_id[i] & 15];
	}
	buf[2 * len] = '\0';
	return buf;
}

bool ml_vmaq_uses_ioctl(const struct ml_vmaq *q)
{
	return q->use_ioctl;
}

enum ml_vmaq_strategy ml_vmaq_last_strategy(const struct ml_vmaq *q)
{
	return q->last;
}

/*
 * The fallback answers from a snapshot, which outlives the process; the
 * ioctl says ESRCH once it has exited. A pidfd (Linux 5.3+) becomes
 * readable at exit, which keeps both paths saying the same.
 */
int vmaq_check_alive(const struct ml_vmaq *q)
{
	struct pollfd pfd = { .fd = q->pidfd, .events = POLLIN };

	if (q->pidfd < 0)
		return 0;
	return poll(&pfd, 1, 0) > 0 ? -ESRCH : 0;
}

static int open_pidfd(const struct ml_proc *p, pid_t pid)
{
#ifdef SYS_pidfd_open
	struct statfs sfs;
	int fd;

	/* only when the proc root is the kernel's, not a fixture tree */
	if (fstatfs(ml_proc_dirfd(p), &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd >= 0 ? fd : -1;
#else
	(void)p;
	(void)pid;
	return -1;
#endif
}

/* ---- handle ------------------------------------------------------------- */

static bool env_no_ioctl(void)
{
	const char *e = getenv("MEMLENS_NO_PROCMAP_QUERY");

	return e && *e && strcmp(e, "0") != 0;
}

int ml_vmaq_open(struct ml_proc *p, pid_t pid, const struct ml_vmaq_opts *opts,
		 struct ml_vmaq **out)
{
	struct procmap_query probe = { .size = sizeof(probe) };
	bool no_ioctl = env_no_ioctl();
	struct ml_vmaq *q;
	int fd;

	if (!p || !out || pid <= 0)
		return -EINVAL;
	if (opts) {
		if (opts->sz < sizeof(size_t))
			return -EINVAL;
		if (opts->sz >= offsetof(struct ml_vmaq_opts, no_ioctl) +
				sizeof(opts->no_ioctl) && opts->no_ioctl)
			no_ioctl = true;
	}
	fd = proc_open(p, pid, "maps", O_RDONLY);
	if (fd < 0)
		return fd;
	q = calloc(1, sizeof(*q));
	if (!q) {
		close(fd);
		return -ENOMEM;
	}
	q->proc = p;
	q->pid = pid;
	q->fd = fd;
	q->pidfd = -1;
	q->name_cap = NAME_BUF_INITIAL;
	q->name = malloc(q->name_cap);
	if (!q->name) {
		ml_vmaq_close(q);
		return -ENOMEM;
	}
	/*
	 * Detect the ioctl once: a kernel without it says ENOTTY (so does a
	 * regular file in a fixture tree); any other answer, ENOENT or ESRCH
	 * included, comes from the kernel's handler.
	 */
	probe.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
	if (!no_ioctl)
		q->use_ioctl = ioctl(fd, PROCMAP_QUERY, &probe) == 0 ||
			       errno != ENOTTY;
	if (!q->use_ioctl)
		q->pidfd = open_pidfd(p, pid);
	*out = q;
	return 0;
}

static void snap_free(struct vmaq_snap *s)
{
	free(s->v);
	free(s->bid_done);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

void ml_vmaq_close(struct ml_vmaq *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	if (q->pidfd >= 0)
		close(q->pidfd);
	free(q->name);
	snap_free(&q->snap);
	vmaq_bid_cache_clear(&q->bids);
	free(q->bids.e);
	free(q->pairs);
	free(q->tmp);
	free(q->walk);
	free(q->arena);
	free(q);
}

/* ---- the text ----------------------------------------------------------- */

/* Read the whole maps text again through the fd we hold. */
static ssize_t read_text(struct ml_vmaq *q, char **buf, size_t *cap)
{
	size_t len = 0;
	ssize_t n;

	if (lseek(q->fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		if (*cap - len < 4096 + 1) {
			size_t ncap = *cap ? *cap * 2 : TEXT_BUF_INITIAL;
			char *nb;

			if (ncap < *cap)
				return -ENOMEM;
			nb = realloc(*buf, ncap);
			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*cap = ncap;
		}
		n = read(q->fd, *buf + len, *cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ENOENT ? -ESRCH : -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(*buf)[len] = '\0';
	/* no VMA at all: the process exited (a zombie) or is a kernel thread;
	 * the ioctl says ESRCH for both */
	return len ? (ssize_t)len : -ESRCH;
}

/* maps escapes '\n' in paths as "\012" (seq_path); the ioctl does not. */
static uint32_t unescape_name(char *s, uint32_t len)
{
	char *w = s;

	if (!memchr(s, '\\', len))
		return len;
	for (uint32_t i = 0; i < len; i++) {
		if (s[i] == '\\' && len - i >= 4 && s[i + 1] == '0' &&
		    s[i + 2] == '1' && s[i + 3] == '2') {
			*w++ = '\n';
			i += 3;
		} else {
			*w++ = s[i];
		}
	}
	*w = '\0';
	return (uint32_t)(w - s);
}

static void vma_from_text(struct ml_vmaq_vma *o, struct ml_vma *v)
{
	uint32_t f = 0;

	memset(o, 0, sizeof(*o));
	o->start = v->start;
	o->end = v->end;
	o->offset = v->offset;
	o->inode = v->inode;
	o->dev_major = v->dev_major;
	o->dev_minor = v->dev_minor;
	if (v->perms[0] == 'r')
		f |= ML_VMAQ_READABLE;
	if (v->perms[1] == 'w')
		f |= ML_VMAQ_WRITABLE;
	if (v->perms[2] == 'x')
		f |= ML_VMAQ_EXECUTABLE;
	if (v->perms[3] == 's')
		f |= ML_VMAQ_SHARED;
	o->flags = f;
	/* show_map_vma prints dev and inode only for VMAs with a file */
	o->file_backed = v->inode || v->dev_major || v->dev_minor;
	o->name = v->name;
	o->name_len = v->name_len;
	if (o->file_backed && o->name_len)
		o->name_len = unescape_name((char *)v->name, v->name_len);
}

static bool is_gate_vma(const struct ml_vmaq_vma *v)
{
#if defined(__x86_64__) || defined(__i386__)
	return !v->file_backed && strcmp(v->name, "[vsyscall]") == 0;
#elif defined(__arm__)
	return !v->file_backed && strcmp(v->name, "[vectors]") == 0;
#else
	(void)v;
	return false;
#endif
}

static int snap_grow(struct vmaq_snap *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 256;
	struct ml_vmaq_vma *v;
	uint8_t *d;

	if (ncap > SIZE_MAX / sizeof(*v))
		return -ENOMEM;
	v = realloc(s->v, ncap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	d = realloc(s->bid_done, ncap);
	if (!d)
		return -ENOMEM;
	s->bid_done = d;
	s->cap = ncap;
	return 0;
}

/* Parse @len bytes of s->text into s->v. */
static int snap_parse(struct vmaq_snap *s, size_t len)
{
	char *pos = s->text, *end = s->text + len;
	struct ml_vma v;
	int ret;

	s->n = 0;
	while ((ret = ml_maps_next(&pos, end, &v)) == 1) {
		if (s->n == s->cap && snap_grow(s))
			return -ENOMEM;
		vma_from_text(&s->v[s->n], &v);
		/* the text is in address order; anything else is not maps */
		if (s->n && s->v[s->n].start < s->v[s->n - 1].end)
			return -EINVAL;
		s->bid_done[s->n] = 0;
		s->n++;
	}
	if (ret < 0)
		return ret;
	/* the gate VMA comes last */
	if (s->n && is_gate_vma(&s->v[s->n - 1]))
		s->n--;
	return 0;
}

int vmaq_snap_read(struct ml_vmaq *q)
{
	struct vmaq_snap *s = &q->snap;
	ssize_t len;
	int err;

	s->valid = false;
	len = read_text(q, &s->text, &s->text_cap);
	if (len < 0)
		return (int)len;
	err = snap_parse(s, (size_t)len);
	if (err)
		return err;
	s->valid = true;
	return 0;
}

/* ---- build IDs of snapshot VMAs ----------------------------------------- */

int vmaq_snap_build_id(struct ml_vmaq *q, size_t i)
{
	struct ml_vmaq_vma *v = &q->snap.v[i];
	struct ml_vmaq_vma k;
	int err;

	if (q->snap.bid_done[i])
		return 0;
	v->build_id_len = 0;
	if (!v->file_backed) {
		q->snap.bid_done[i] = 1;
		return 0;
	}
	if (q->use_ioctl) {
		/* the kernel's answer for exactly this VMA */
		err = vmaq_ioctl(q, v->start, ML_VMAQ_WANT_BUILD_ID, &k);
		if (err == 0 && k.start == v->start && k.end == v->end) {
			v->build_id_len = k.build_id_len;
			memcpy(v->build_id, k.build_id, sizeof(v->build_id));
			q->snap.bid_done[i] = 1;
			return 0;
		}
		if (err == -ESRCH || err == -ENOMEM)
			return err;
		/* the VMA changed since the text was read: read the file */
	}
	err = vmaq_file_build_id(q, v);
	if (err)
		return err;
	q->snap.bid_done[i] = 1;
	return 0;
}

/* ---- the ioctl ----------------------------------------------------------- */

static int grow_name(struct ml_vmaq *q, size_t cap)
{
	char *n = realloc(q->name, cap);

	if (!n)
		return -ENOMEM;
	q->name = n;
	q->name_cap = cap;
	return 0;
}

/*
 * A path longer than the kernel's PATH_MAX buffer: the ioctl cannot give it
 * (ENAMETOOLONG at any size), maps prints it whole. Take it from the text,
 * into q->name, rather than cut it.
 */
static int name_from_text(struct ml_vmaq *q, struct ml_vmaq_vma *out)
{
	_cleanup_free_ char *text = NULL;
	size_t cap = 0;
	ssize_t len = read_text(q, &text, &cap);
	char *pos, *end;
	struct ml_vma v;
	int ret;

	if (len < 0)
		return (int)len;
	pos = text;
	end = text + len;
	while ((ret = ml_maps_next(&pos, end, &v)) == 1) {
		struct ml_vmaq_vma t;

		if (v.start != out->start)
			continue;
		vma_from_text(&t, &v);
		if (t.name_len + 1 > q->name_cap && grow_name(q, t.name_len + 1))
			return -ENOMEM;
		memcpy(q->name, t.name, t.name_len + 1);
		out->name = q->name;
		out->name_len = t.name_len;
		return 0;
	}
	return ret < 0 ? ret : -ENOENT; /* unmapped in between: say so */
}

/*
 * One PROCMAP_QUERY. Flags: the kernel's query flags plus WANT_NAME (into
 * q->name, grown until it fits) and WANT_BUILD_ID (the kernel's, else the
 * ELF notes of the file when the kernel found none).
 */
int vmaq_ioctl(struct ml_vmaq *q, uint64_t addr, unsigned flags,
	       struct ml_vmaq_vma *out)
{
	uint8_t bid[ML_VMAQ_BUILD_ID_MAX];
	struct procmap_query pq;
	bool want_name = flags & ML_VMAQ_WANT_NAME;
	bool want_bid = flags & ML_VMAQ_WANT_BUILD_ID;
	bool long_name = false;
	int err;

	for (;;) {
		memset(&pq, 0, sizeof(pq));
		pq.size = sizeof(pq);
		pq.query_flags = flags & VMAQ_KERNEL_FLAGS;
		pq.query_addr = addr;
		if (want_name && !long_name) {
			pq.vma_name_addr = (uintptr_t)q->name;
			pq.vma_name_size = (uint32_t)q->name_cap;
		}
		if (want_bid) {
			pq.build_id_addr = (uintptr_t)bid;
			pq.build_id_size = sizeof(bid);
		}
		if (ioctl(q->fd, PROCMAP_QUERY, &pq) == 0)
			break;
		err = errno;
		if (err == EINTR)
			continue;
		if (err != ENAMETOOLONG)
			return -err;
		if (want_name && !long_name && q->name_cap < NAME_BUF_KERNEL_MAX) {
			size_t ncap = q->name_cap * 4;

			if (grow_name(q, ncap > NAME_BUF_KERNEL_MAX ?
					      NAME_BUF_KERNEL_MAX : ncap))
				return -ENOMEM;
		} else if (want_name && !long_name) {
			long_name = true;
		} else if (want_bid) {
			/* a build ID longer than ours: not used (as the fallback) */
			want_bid = false;
		} else {
			return -ENAMETOOLONG;
		}
	}

	memset(out, 0, sizeof(*out));
	out->start = pq.vma_start;
	out->end = pq.vma_end;
	out->flags = (uint32_t)pq.vma_flags & VMAQ_VMA_PERMS;
	out->offset = pq.vma_offset;
	out->inode = pq.inode;
	out->dev_major = pq.dev_major;
	out->dev_minor = pq.dev_minor;
	out->file_backed = pq.inode || pq.dev_major || pq.dev_minor;
	out->name = "";
	if (want_name && !long_name && pq.vma_name_size) {
		/* the size counts the NUL */
		out->name_len = pq.vma_name_size - 1;
		q->name[out->name_len] = '\0';
		out->name = q->name;
	}
	if (long_name) {
		err = name_from_text(q, out);
		if (err)
			return err;
	}
	if (want_bid && pq.build_id_size) {
		out->build_id_len = (uint8_t)pq.build_id_size;
		memcpy(out->build_id, bid, pq.build_id_size);
	} else if ((flags & ML_VMAQ_WANT_BUILD_ID) && out->file_backed) {
		err = vmaq_file_build_id(q, out);
		if (err)
			return err;
	}
	return 0;
}

/* ---- the fallback ---------------------------------------------------------- */

static bool passes(const struct ml_vmaq_vma *v, unsigned flags)
{
	if ((flags & ML_VMAQ_FILE_BACKED) && !v->file_backed)
		return false;
	return (v->flags & flags & VMAQ_VMA_PERMS) == (flags & VMAQ_VMA_PERMS);
}

/* Index of the first VMA whose end is above @addr (find_vma), or n. */
static size_t snap_find(const struct vmaq_snap *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int snap_query(struct ml_vmaq *q, uint64_t addr, unsigned flags,
		      struct ml_vmaq_vma *out)
{
	struct vmaq_snap *s = &q->snap;
	int err;

	if (!s->valid) {
		err = vmaq_snap_read(q);
		if (err)
			return err;
	}
	err = vmaq_check_alive(q);
	if (err)
		return err;
	for (size_t i = snap_find(s, addr); i < s->n; i++) {
		const struct ml_vmaq_vma *v = &s->v[i];

		if (passes(v, flags) &&
		    ((flags & ML_VMAQ_COVERING_OR_NEXT) || v->start <= addr)) {
			if (flags & ML_VMAQ_WANT_BUILD_ID) {
				err = vmaq_snap_build_id(q, i);
				if (err)
					return err;
			}
			*out = *v;
			if (!(flags & ML_VMAQ_WANT_NAME)) {
				out->name = "";
				out->name_len = 0;
			}
			if (!(flags & ML_VMAQ_WANT_BUILD_ID))
				out->build_id_len = 0;
			return 0;
		}
		if (!(flags & ML_VMAQ_COVERING_OR_NEXT))
			break;
	}
	return -ENOENT;
}

/* ---- public ---------------------------------------------------------------- */

int ml_vmaq_query(struct ml_vmaq *q, uint64_t addr, unsigned flags,
		  struct ml_vmaq_vma *out)
{
	if (!q || !out ||
	    (flags & ~(VMAQ_KERNEL_FLAGS | ML_VMAQ_WANT_NAME |
		       ML_VMAQ_WANT_BUILD_ID)))
		return -EINVAL;
	if (q->use_ioctl)
		return vmaq_ioctl(q, addr, flags, out);
	return snap_query(q, addr, flags, out);
}

int ml_vmaq_refresh(struct ml_vmaq *q)
{
	int err;

	if (!q)
		return -EINVAL;
	vmaq_bid_cache_clear(&q->bids);
	q->snap.valid = false;
	if (q->use_ioctl) {
		/* as the fallback would: say whether the process is still there */
		struct procmap_query pq = { .size = sizeof(pq) };

		pq.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
		if (ioctl(q->fd, PROCMAP_QUERY, &pq) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	err = vmaq_check_alive(q);
	return err ? err : vmaq_snap_read(q);
}
