// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memhog: a process with memory of a known size, for the live tests.
 * Statically linked, so that it shares no pages with the test runner
 * (a forked child would share copy-on-write pages with its parent, and its
 * PSS would move whenever the parent wrote to one).
 *
 *   memhog anon SIZE          private anonymous, every page written
 *   memhog shared FD SIZE rw  MAP_SHARED of inherited fd FD, pages written
 *   memhog shared FD SIZE ro  ... pages only read
 *   memhog file FD SIZE       MAP_PRIVATE read-only of FD, pages read
 *
 * Prints the region's start address in hex and a newline, then sleeps
 * until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void touch(volatile char *p, size_t len, int write_it)
{
	long page = sysconf(_SC_PAGESIZE);

	for (size_t off = 0; off < len; off += (size_t)page) {
		if (write_it)
			p[off] = 1;
		else
			(void)p[off];
	}
}

int main(int argc, char **argv)
{
	size_t len;
	char *p;

	if (argc < 3)
		return 2;
	if (strcmp(argv[1], "anon") == 0) {
		len = strtoull(argv[2], NULL, 0);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		touch(p, len, 1);
	} else if (argc >= 4 && strcmp(argv[1], "shared") == 0) {
		int rw = argc >= 5 && strcmp(argv[4], "rw") == 0;

		len = strtoull(argv[3], NULL, 0);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 atoi(argv[2]), 0);
		if (p == MAP_FAILED)
			return 1;
		touch(p, len, rw);
	} else if (argc >= 4 && strcmp(argv[1], "file") == 0) {
		len = strtoull(argv[3], NULL, 0);
		p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, atoi(argv[2]), 0);
		if (p == MAP_FAILED)
			return 1;
		touch(p, len, 0);
	} else {
		return 2;
	}
	printf("%lx\n", (unsigned long)p);
	fflush(stdout);
	for (;;)
		pause();
}
