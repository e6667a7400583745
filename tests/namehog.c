// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * namehog: a process that names its anonymous memory with ml_name_anon()
 * and touches known amounts of it, for the live names tests. Statically
 * linked (with the names module compiled in), like memhog, so that it
 * shares no page with the test runner.
 *
 *   namehog REGION...
 *
 * REGION is NAME:SIZE:TOUCH[:FLAGS]: SIZE bytes named NAME ("-" leaves it
 * unnamed), of which the first TOUCH bytes are written. Sizes take K or M.
 * Regions without flags are carved out of ONE anonymous mapping, in order,
 * so that the kernel sees a single VMA until names split it (the registry
 * has to split it when reporting). FLAGS: x maps the region on its own,
 * executable; s on its own, shared anonymous.
 *
 * Prints "region NAME START END TOUCHED ERR" per region (hex addresses,
 * END exclusive, ERR the ml_name_anon() result), then "ready PID BACKEND",
 * and sleeps until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memlens/names.h>

#define MAX_REGIONS 64

struct region {
	char name[ML_NAME_MAX + 1];
	size_t size, touch;
	bool exec, shared;
	char *addr;
	int err;
};

static size_t parse_size(const char *s)
{
	char *end;
	size_t v = strtoull(s, &end, 0);

	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	return v;
}

static int parse_region(char *arg, struct region *r)
{
	char *name = strtok(arg, ":"), *size = strtok(NULL, ":");
	char *touch = strtok(NULL, ":"), *flags = strtok(NULL, ":");

	if (!name || !size || !touch || strlen(name) > ML_NAME_MAX)
		return -1;
	memset(r, 0, sizeof(*r));
	strcpy(r->name, name);
	r->size = parse_size(size);
	r->touch = parse_size(touch);
	r->exec = flags && strchr(flags, 'x');
	r->shared = flags && strchr(flags, 's');
	return r->size && r->touch <= r->size ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct region rs[MAX_REGIONS];
	size_t nr = 0, carved = 0;
	long page = sysconf(_SC_PAGESIZE);
	char *block = NULL;

	for (int i = 1; i < argc && nr < MAX_REGIONS; i++) {
		if (parse_region(argv[i], &rs[nr])) {
			fprintf(stderr, "namehog: bad region '%s'\n", argv[i]);
			return 2;
		}
		rs[nr].size = (rs[nr].size + (size_t)page - 1) & ~((size_t)page - 1);
		if (!rs[nr].exec && !rs[nr].shared)
			carved += rs[nr].size;
		nr++;
	}
	if (carved) {
		block = mmap(NULL, carved, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (block == MAP_FAILED)
			return 1;
		madvise(block, carved, MADV_NOHUGEPAGE);
	}
	for (size_t i = 0; i < nr; i++) {
		struct region *r = &rs[i];

		if (r->exec || r->shared) {
			r->addr = mmap(NULL, r->size,
				       PROT_READ | PROT_WRITE | (r->exec ? PROT_EXEC : 0),
				       (r->shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS,
				       -1, 0);
			if (r->addr == MAP_FAILED)
				return 1;
		} else {
			r->addr = block;
			block += r->size;
		}
		/* exact sizes: no huge page may fault in more than was touched */
		if (r->exec || r->shared)
			madvise(r->addr, r->size, MADV_NOHUGEPAGE);
		if (strcmp(r->name, "-") != 0)
			r->err = ml_name_anon(r->addr, r->size, r->name);
		memset(r->addr, 0x5a, r->touch);
	}
	for (size_t i = 0; i < nr; i++)
		printf("region %s %lx %lx %zu %d\n", rs[i].name,
		       (unsigned long)rs[i].addr,
		       (unsigned long)(rs[i].addr + rs[i].size), rs[i].touch,
		       rs[i].err);
	printf("ready %d %s\n", (int)getpid(),
	       ml_names_backend_name(ml_names_backend()));
	fflush(stdout);
	for (;;)
		pause();
}
