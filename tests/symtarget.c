// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The target of test_symbolize: prints, for call sites at known lines,
 * "site FUNC ADDR LINE" where ADDR is the return address of a call made
 * on line LINE of function FUNC (__LINE__ on the same line: the truth),
 * then "ready", and waits until its stdin closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink;

__attribute__((noinline)) static void *where(void)
{
	void *ra = __builtin_return_address(0);

	__asm__ volatile("" ::: "memory");
	return ra;
}

static void site(const char *func, void *ra, int line)
{
	printf("site %s %p %d\n", func, ra, line);
}

void alpha(void);
void beta(int n);
void delta(void);

__attribute__((noinline)) void alpha(void)
{
	void *ra = where(); int line = __LINE__;

	site("alpha", ra, line);
}

__attribute__((noinline)) void beta(int n)
{
	for (int i = 0; i < n; i++) {
		void *ra = where(); int line = __LINE__;

		if (i == n - 1)
			site("beta", ra, line);
	}
}

static inline __attribute__((always_inline)) void gamma_inline(void)
{
	void *ra = where(); int line = __LINE__;

	site("gamma_inline", ra, line);
}

__attribute__((noinline)) void delta(void)
{
	gamma_inline();
	sink = malloc(1);
}

int main(void)
{
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alpha();
	beta(3);
	delta();
	printf("func malloc %p\n", (void *)malloc);
	printf("anon %p\n", sink);
	printf("ready\n");
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
