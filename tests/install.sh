#!/bin/sh
# meson install puts the command, the library (static and shared), the
# headers, memlens.pc and the man page in place, and a program builds
# against the installed copy through pkg-config alone. TAP output.
# usage: install.sh BUILD_DIR
set -u
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
n=0
fail=0
check() { # check DESCRIPTION COMMAND...
	n=$((n + 1))
	d=$1
	shift
	if "$@" >/dev/null 2>&1; then
		echo "ok $n - $d"
	else
		echo "not ok $n - $d"
		fail=1
	fi
}
echo "1..8"
check "meson install" env DESTDIR="$dest" meson install -C "$build" --no-rebuild
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
	'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
root=$dest$prefix
check "command installed" test -x "$root/bin/memlens"
check "man page installed" test -f "$root/share/man/man1/memlens.1"
check "headers installed" test -f "$root/include/memlens/acct.h"
pc=$(find "$root" -name memlens.pc | head -n 1)
check "pkg-config file installed" test -n "$pc"
check "static library installed" sh -c "find '$root' -name libmemlens.a | grep -q ."
cat >"$dest/use.c" <<'C'
#include <memlens/acct.h>
#include <stdio.h>
int main(void)
{
	struct ml_proc *p;
	struct ml_proc_mem m;

	if (ml_proc_new(NULL, &p) || ml_acct_process(p, getpid(), false, &m))
		return 1;
	printf("%llu\n", (unsigned long long)m.mem.rss);
	ml_proc_free(p);
	return m.mem.rss > 0 ? 0 : 1;
}
C
sed -i 's/#include <stdio.h>/#include <stdio.h>\n#include <unistd.h>/' "$dest/use.c"
pcdir=$(dirname "$pc")
# point the .pc's prefix at where DESTDIR put the files
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --define-variable=prefix="$root" \
	--cflags --libs memlens)
# a sanitizer build's library needs its runtime loaded first: build the
# consumer the same way
san=$(meson introspect "$build" --buildoptions | python3 -c \
	'import json,sys; v=next(o["value"] for o in json.load(sys.stdin) if o["name"]=="b_sanitize"); print("" if v=="none" else "-fsanitize="+v)')
check "a program compiles against the installed library" \
	sh -c "cc $san -o '$dest/use' '$dest/use.c' $flags"
libdir=$(dirname "$(find "$root" -name 'libmemlens.so' | head -n 1)")
check "and runs with the shared library" env LD_LIBRARY_PATH="$libdir" "$dest/use"
exit $fail
