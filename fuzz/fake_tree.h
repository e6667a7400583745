/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A temporary file tree for the fuzz targets whose code under test reads
 * the kernel's files from a root (proc, sys): the input is cut into one
 * file per piece under root, rewritten each run, and the tree is removed
 * at exit. Header-only: each target is its own program.
 */
#ifndef MEMLENS_FUZZ_FAKE_TREE_H
#define MEMLENS_FUZZ_FAKE_TREE_H

#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];
static const char *const *tree_files;

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdirs(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
}

/* Make root (/tmp/NAME-XXXXXX) and the directories of the @nr @files once. */
static bool make_root(const char *name, const char *const *files, size_t nr)
{
	char path[512];

	if (root[0])
		return true;
	snprintf(root, sizeof(root), "/tmp/%s-XXXXXX", name);
	if (!mkdtemp(root)) {
		root[0] = '\0';
		return false;
	}
	atexit(cleanup);
	tree_files = files;
	for (size_t i = 0; i < nr; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		mkdirs(path);
	}
	return true;
}

/* Write @n bytes of @d as file @i; @d NULL: the file is absent. */
static void put(size_t i, const uint8_t *d, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, tree_files[i]);
	if (!d) {
		unlink(path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (n && write(fd, d, n) < 0)
		n = 0;
	close(fd);
}

#endif
