#!/bin/sh
# DAMON's sysfs interface on a guest process's virtual addresses: a kdamond
# with vaddr operations starts, a stat scheme's tried regions find the
# process's hot range, and it stops again. (Only ever inside the guest: the
# host's DAMON is never written.)
. /tests/lib.sh

kconfig_y DAMON_SYSFS || skip "no CONFIG_DAMON_SYSFS"
kconfig_y DAMON_VADDR || skip "no CONFIG_DAMON_VADDR"
d=/sys/kernel/mm/damon/admin/kdamonds
start_hog hot:48M anon:4M
cat "$HOG_OUT"
set -- $(region hot)
hs=$((0x$1)) he=$((0x$2))

echo 1 >$d/nr_kdamonds
echo 1 >$d/0/contexts/nr_contexts
c=$d/0/contexts/0
echo vaddr >$c/operations
echo 1 >$c/targets/nr_targets
echo "$HOG" >$c/targets/0/pid_target
echo 1 >$c/schemes/nr_schemes
echo stat >$c/schemes/0/action
# a new scheme matches nothing until the maxima are set
ap=$c/schemes/0/access_pattern
echo 18446744073709551615 >$ap/sz/max
echo 4294967295 >$ap/nr_accesses/max
echo 4294967295 >$ap/age/max
echo on >$d/0/state
check_eq "kdamond state after 'on'" "$(cat $d/0/state)" on
check "kdamond has a pid" test "$(cat $d/0/pid)" -gt 0

found=0
i=0
while [ $i -lt 60 ] && [ $found -eq 0 ]; do
	sleep 1
	i=$((i + 1))
	echo update_schemes_tried_regions >$d/0/state
	n=0
	for r in $c/schemes/0/tried_regions/[0-9]*; do
		[ -d "$r" ] || continue
		n=$((n + 1))
		rs=$(cat $r/start) re=$(cat $r/end) acc=$(cat $r/nr_accesses)
		# a region inside the hot range, seen accessed
		[ "$rs" -ge "$hs" ] && [ "$re" -le "$he" ] && [ "$acc" -gt 0 ] &&
			found=1
	done
	echo "after ${i}s: $n tried regions"
done
for r in $c/schemes/0/tried_regions/[0-9]*; do
	[ -d "$r" ] && echo "region $(cat $r/start)-$(cat $r/end) nr_accesses=$(cat $r/nr_accesses) age=$(cat $r/age)"
done | head -n 20
check "tried regions hold the hot range, accessed (within 60 s)" test $found -eq 1
echo off >$d/0/state
check_eq "kdamond state after 'off'" "$(cat $d/0/state)" off
echo 0 >$d/nr_kdamonds
kill "$HOG"
finish
