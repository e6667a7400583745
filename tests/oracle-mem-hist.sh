#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Developer check, not a registered test: `memlens contig --mem-hist` must
# print exactly what mem_hist.py (seed 001) prints for the same quiescent
# processes. The script lives outside this repository (the reconstruction
# at /work/shared/oracle/mem_hist.py), so this skips when it is absent.
#
#   tests/oracle-mem-hist.sh [BUILD_DIR]     (as root; BUILD_DIR default: build)
#   MEM_HIST_ORACLE=/path/to/mem_hist.py tests/oracle-mem-hist.sh
#
# mem_hist.py scans every process of the machine, which are not quiescent
# (it sees itself, ps, and whatever else runs). So its own code is run on a
# chosen pid list: the module is imported and its ALL_PIDS_CMD replaced by
# one that prints the pids. The pids are processes this script starts and
# that do nothing once set up: a helper (built here with cc) holding a
# 2 MiB-aligned THP region, 4 KiB pages with holes, a file mapping, a memfd,
# a PROT_NONE reservation and a region only read; and a sleep.
#
# Exit status: 0 identical, 1 different, 77 skipped.
set -u

build=${1:-build}
oracle=${MEM_HIST_ORACLE:-/work/shared/oracle/mem_hist.py}
memlens=$build/cli/memlens

if [ ! -r "$oracle" ]; then
	echo "SKIP: $oracle not found (set MEM_HIST_ORACLE)"
	exit 77
fi
if [ ! -x "$memlens" ]; then
	echo "SKIP: $memlens not built"
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: run as root (mem_hist.py reads other processes' pagemap)"
	exit 77
fi
command -v cc >/dev/null 2>&1 || { echo "SKIP: no C compiler for the helper"; exit 77; }

tmp=$(mktemp -d /tmp/memlens-oracle-XXXXXX) || exit 1
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat > "$tmp/holder.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MiB (1ul << 20)

int main(int argc, char **argv)
{
	char *res = mmap(NULL, 64 * MiB, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *base = (char *)(((uintptr_t)res + 2 * MiB - 1) & ~(2 * MiB - 1));
	char *m;
	int fd;

	(void)argc;
	/* 8 MiB of THP, 2 MiB-aligned */
	m = mmap(base, 8 * MiB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	madvise(m, 8 * MiB, MADV_HUGEPAGE);
	for (size_t i = 0; i < 8 * MiB; i += 4096)
		m[i] = 1;
	/* 4 KiB pages with holes, at an odd page */
	m = mmap(base + 10 * MiB + 4096, 300 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	madvise(m, 300 * 4096, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < 300; i++)
		if (i % 7 != 3 && i % 31 != 0)
			m[i * 4096] = 1;
	/* a file, read */
	fd = open(argv[1], O_RDONLY);
	m = mmap(base + 12 * MiB, 64 * 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	for (size_t i = 0; i < 64; i += 3)
		(void)*(volatile char *)(m + i * 4096);
	/* a memfd: not file-backed to mem_hist */
	fd = memfd_create("oracle", 0);
	if (ftruncate(fd, 32 * 4096) == 0) {
		m = mmap(base + 14 * MiB, 32 * 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd, 0);
		for (size_t i = 0; i < 32; i++)
			m[i * 4096] = 1;
	}
	/* only read */
	m = mmap(base + 16 * MiB, 16 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	for (size_t i = 0; i < 16; i++)
		(void)*(volatile char *)(m + i * 4096);
	/* a reservation (mem_hist reads all of it page by page: 1 GiB, not 64) */
	mmap(NULL, 1ul << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
EOF
cc -O2 -o "$tmp/holder" "$tmp/holder.c" || { echo "SKIP: helper did not build"; exit 77; }
dd if=/dev/urandom of="$tmp/data" bs=4096 count=64 status=none

mkfifo "$tmp/ready"
"$tmp/holder" "$tmp/data" > "$tmp/ready" &
pids="$pids $!"
holder=$!
read -r line < "$tmp/ready"
[ "$line" = ready ] || { echo "FAIL: helper not ready"; exit 1; }
sleep 1000 &
pids="$pids $!"
sleeper=$!
sleep 1 # let both settle

run_oracle() { # opts pid...
	opts=$1
	shift
	python3 - "$oracle" "$opts" "$@" <<'PY'
import argparse, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[1])))
import mem_hist
opts = sys.argv[2].split()
mem_hist.ALL_PIDS_CMD = "printf '%s\\n' " + " ".join(sys.argv[3:])
mem_hist.print_hists(argparse.Namespace(
    no_unfaulted_vmas="--omit-unfaulted-vmas" in opts,
    omit_file_backed="--omit-file-backed" in opts))
PY
}

fail=0
for opts in "" "--omit-file-backed" "--omit-unfaulted-vmas" \
	    "--omit-file-backed --omit-unfaulted-vmas"; do
	for set in "$holder" "$sleeper" "$holder $sleeper" "$sleeper $holder"; do
		# shellcheck disable=SC2086
		run_oracle "$opts" $set > "$tmp/oracle.out" 2> "$tmp/oracle.err"
		# shellcheck disable=SC2086
		"$memlens" contig --mem-hist $opts $set > "$tmp/memlens.out"
		if cmp -s "$tmp/oracle.out" "$tmp/memlens.out"; then
			echo "ok: contig --mem-hist $opts [$set]: identical ($(wc -c < "$tmp/memlens.out") bytes)"
		else
			echo "FAIL: contig --mem-hist $opts [$set] differs:"
			diff "$tmp/oracle.out" "$tmp/memlens.out" | head -20
			fail=1
		fi
	done
done
exit $fail
