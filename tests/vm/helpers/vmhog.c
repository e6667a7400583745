// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vmhog: a guest process with a known memory layout, for the VM tests.
 * Static, like everything in the guest. Each argument adds one region, in
 * order:
 *
 *   anon:SIZE          private anonymous, every page written (all the
 *                      anonymous kinds but thp are MADV_NOHUGEPAGE)
 *   lazy:SIZE          private anonymous, never touched
 *   half:SIZE          private anonymous, every other page written
 *   guard:SIZE         PROT_NONE reservation
 *   named:NAME:SIZE    anonymous, written, named with PR_SET_VMA_ANON_NAME
 *   thp:SIZE           2 MiB-aligned, MADV_HUGEPAGE, every page written
 *   hot:SIZE           anonymous, every page written again every 10 ms,
 *                      for ever (instead of sleeping)
 *   file:PATH:SIZE     MAP_PRIVATE read-only of PATH (created SIZE long and
 *                      filled when missing), every page read
 *   shared:PATH:SIZE   MAP_SHARED read-write of PATH, every page written
 *
 * SIZE takes a K, M or G suffix. Every region is its own VMA, with an
 * unmapped page on either side so that no neighbour merges with it. For each region
 * it prints
 *
 *   region KIND START END [named=ok|named=ERRNO]
 *
 * (hex addresses, END exclusive), then "ready PID", and sleeps until killed
 * (or, with hot regions, keeps writing them until killed).
 * Exit status 1 (with a message) when a region cannot be made.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define HPAGE (2UL << 20)

static size_t page;

#define MAX_HOT 8
static struct { char *p; size_t len; } hot[MAX_HOT];
static int nr_hot;

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "vmhog: %s %s: %s\n", what, arg, strerror(errno));
	exit(1);
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': v <<= 10; /* fall through */
	case 'M': v <<= 10; /* fall through */
	case 'K': v <<= 10; end++; break;
	}
	if (*end || !v) {
		fprintf(stderr, "vmhog: bad size '%s'\n", s);
		exit(2);
	}
	return (v + page - 1) / page * page;
}

static void touch(volatile char *p, size_t len, size_t step, int write_it)
{
	for (size_t off = 0; off < len; off += step) {
		if (write_it)
			p[off] = (char)(off >> 12 | 1);
		else
			(void)p[off];
	}
}

/*
 * Address space for a region of @len bytes aligned to @align, with an
 * unmapped page on either side so that no neighbour merges with it.
 */
static char *reserve(size_t len, size_t align)
{
	size_t total = len + align + 2 * page;
	char *raw = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	char *p;

	if (raw == MAP_FAILED)
		die("mmap", "reservation");
	p = (char *)(((uintptr_t)raw + page + align - 1) & ~(uintptr_t)(align - 1));
	munmap(raw, (size_t)(p - raw));
	munmap(p + len, (size_t)(raw + total - (p + len)));
	return p;
}

/*
 * Private anonymous memory at @p, over its reservation; base pages only
 * (MADV_NOHUGEPAGE), so that sizes are the same whatever the kernel's THP
 * mode, unless @thp.
 */
static char *anon_at(char *p, size_t len, int prot, int thp)
{
	if (mmap(p, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
	    == MAP_FAILED)
		die("mmap", "anonymous");
	if (madvise(p, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise", thp ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE");
	return p;
}

static int open_file(const char *path, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		die("open", path);
	if ((size_t)lseek(fd, 0, SEEK_END) < len) {
		char buf[4096];

		memset(buf, 'm', sizeof(buf));
		lseek(fd, 0, SEEK_SET);
		for (size_t off = 0; off < len; off += sizeof(buf))
			if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				die("write", path);
	}
	return fd;
}

static char *file_at(char *p, size_t len, const char *path, int shared)
{
	int fd = open_file(path, len);

	if (mmap(p, len, shared ? PROT_READ | PROT_WRITE : PROT_READ,
		 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, fd, 0)
	    == MAP_FAILED)
		die("mmap", path);
	close(fd);
	return p;
}

int main(int argc, char **argv)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	for (int i = 1; i < argc; i++) {
		char *spec = strdup(argv[i]), *kind = spec, *a, *b;
		char extra[64] = "";
		size_t len;
		char *p;

		a = strchr(spec, ':');
		if (!a) {
			fprintf(stderr, "vmhog: bad region '%s'\n", argv[i]);
			return 2;
		}
		*a++ = '\0';
		b = strrchr(a, ':'); /* NAME or PATH may not hold ':' */
		if (b)
			*b++ = '\0';
		len = parse_size(b ? b : a);
		p = reserve(len, !strcmp(kind, "thp") ? HPAGE : page);
		if (!strcmp(kind, "anon")) {
			touch(anon_at(p, len, PROT_READ | PROT_WRITE, 0), len, page, 1);
		} else if (!strcmp(kind, "lazy")) {
			anon_at(p, len, PROT_READ | PROT_WRITE, 0);
		} else if (!strcmp(kind, "half")) {
			touch(anon_at(p, len, PROT_READ | PROT_WRITE, 0), len,
			      2 * page, 1);
		} else if (!strcmp(kind, "guard")) {
			/* the reservation itself */
		} else if (!strcmp(kind, "named") && b) {
			touch(anon_at(p, len, PROT_READ | PROT_WRITE, 0), len, page, 1);
			if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME,
				  (unsigned long)p, len, (unsigned long)a) == 0)
				snprintf(extra, sizeof(extra), " named=ok");
			else
				snprintf(extra, sizeof(extra), " named=%s",
					 errno == EINVAL ? "EINVAL" : strerror(errno));
		} else if (!strcmp(kind, "thp")) {
			touch(anon_at(p, len, PROT_READ | PROT_WRITE, 1), len,
			      page, 1);
		} else if (!strcmp(kind, "hot") && nr_hot < MAX_HOT) {
			touch(anon_at(p, len, PROT_READ | PROT_WRITE, 0), len, page, 1);
			hot[nr_hot].p = p;
			hot[nr_hot++].len = len;
		} else if (!strcmp(kind, "file") && b) {
			touch(file_at(p, len, a, 0), len, page, 0);
		} else if (!strcmp(kind, "shared") && b) {
			touch(file_at(p, len, a, 1), len, page, 1);
		} else {
			fprintf(stderr, "vmhog: bad region '%s'\n", argv[i]);
			return 2;
		}
		printf("region %s %lx %lx%s\n", kind, (unsigned long)p,
		       (unsigned long)(p + len), extra);
		free(spec);
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		if (!nr_hot) {
			pause();
			continue;
		}
		for (int i = 0; i < nr_hot; i++)
			touch(hot[i].p, hot[i].len, page, 1);
		usleep(10000);
	}
}
