/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny TAP test harness: each test is a function; CHECK* record a failure
 * with its location and go on, so one run shows every broken expectation.
 * meson runs the binaries with protocol 'tap'.
 */
#ifndef MEMLENS_TAP_H
#define MEMLENS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct tap_test {
	const char *name;
	void (*fn)(void);
};

extern int tap_failed_checks;

#define TEST(fn) { #fn, fn }

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__,    \
			       __LINE__, #cond);                           \
			tap_failed_checks++;                               \
		}                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                     \
	do {                                                               \
		long long _a = (long long)(a), _b = (long long)(b);        \
		if (_a != _b) {                                            \
			printf("# %s:%d: %s == %lld, expected %s == %lld\n", \
			       __FILE__, __LINE__, #a, _a, #b, _b);        \
			tap_failed_checks++;                               \
		}                                                          \
	} while (0)

#define CHECK_U64(a, b)                                                    \
	do {                                                               \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);           \
		if (_a != _b) {                                            \
			printf("# %s:%d: %s == %" PRIu64 ", expected %"    \
			       PRIu64 "\n", __FILE__, __LINE__, #a, _a, _b); \
			tap_failed_checks++;                               \
		}                                                          \
	} while (0)

#define CHECK_STR(a, b)                                                    \
	do {                                                               \
		const char *_a = (a), *_b = (b);                           \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                   \
			printf("# %s:%d: %s == \"%s\", expected \"%s\"\n", \
			       __FILE__, __LINE__, #a, _a ? _a : "(null)", \
			       _b ? _b : "(null)");                        \
			tap_failed_checks++;                               \
		}                                                          \
	} while (0)

/* Run every test, print TAP, return the exit status for main(). */
static inline int tap_run(const struct tap_test *tests, size_t n)
{
	int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		int before = tap_failed_checks;

		tests[i].fn();
		if (tap_failed_checks != before) {
			failed++;
			printf("not ok %zu - %s\n", i + 1, tests[i].name);
		} else {
			printf("ok %zu - %s\n", i + 1, tests[i].name);
		}
	}
	return failed ? 1 : 0;
}

#define TAP_MAIN(...)                                                      \
	int tap_failed_checks;                                             \
	int main(void)                                                     \
	{                                                                  \
		static const struct tap_test tests[] = { __VA_ARGS__ };    \
		return tap_run(tests, sizeof(tests) / sizeof(tests[0]));   \
	}

/*
 * Run a shell command made from @fmt, with its stdout and stderr into
 * @out (cut at @sz - 1 bytes, the rest drained). Returns its exit status,
 * or -1 when it could not run or was killed.
 */
static inline __attribute__((format(printf, 3, 4))) int
tap_sh(char *out, size_t sz, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	size_t len = 0, n;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (len + 1 < sz && (n = fread(out + len, 1, sz - 1 - len, f)) > 0)
		len += n;
	out[len] = '\0';
	while (fread(cmd, 1, sizeof(cmd), f) > 0)
		;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
