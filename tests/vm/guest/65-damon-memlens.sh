#!/bin/sh
# memlens damon start|status|stop on the guest's DAMON sysfs interface: a
# kdamond with vaddr operations on a test process starts, the kernel's own
# files show what was asked (state, pid, operations, target, attributes and
# scheme), status shows it as memlens's, the stat scheme's tried regions
# find the process's hot range, and stop stops it and frees it. Then a
# kdamond started by hand (a "foreign" one) is shown as foreign, left
# alone by stop, and a second start refuses rather than touch nr_kdamonds.
# (Only ever inside the guest: the host's DAMON is never written.)
. /tests/lib.sh

kconfig_y DAMON_SYSFS || skip "no CONFIG_DAMON_SYSFS (CONFIG_DAMON=$(kconfig DAMON))"
kconfig_y DAMON_VADDR || skip "no CONFIG_DAMON_VADDR"
d=/sys/kernel/mm/damon/admin/kdamonds
st=$PWD/memlens-state
start_hog hot:48M anon:4M
set -- $(region hot)
hs=$((0x$1)) he=$((0x$2))

out=$($MEMLENS damon start --state-file "$st" -p "$HOG" --sample 5ms \
	--aggr 100ms --min-nr-regions 10 --max-nr-regions 500 \
	--damos-action pageout --damos-access-rate 0,0 --damos-age 10s,max \
	--damos-quotas 10ms,64M,1s --json)
check "memlens damon start exits 0" test $? -eq 0
echo "$out"
idx=$(echo "$out" | json_num kdamond)
kpid=$(echo "$out" | json_num pid)
c=$d/$idx/contexts/0
check_eq "kernel: state" "$(cat $d/$idx/state)" on
check_eq "kernel: pid is the one start printed" "$(cat $d/$idx/pid)" "$kpid"
check "kernel: the kdamond thread exists" test -d "/proc/$kpid"
check "kernel: the thread is a kdamond" grep -q "^kdamond\." "/proc/$kpid/comm"
check_eq "kernel: operations" "$(cat $c/operations)" vaddr
check_eq "kernel: pid_target" "$(cat $c/targets/0/pid_target)" "$HOG"
check_eq "kernel: aggr_us" "$(cat $c/monitoring_attrs/intervals/aggr_us)" 100000
check_eq "kernel: max nr_regions" "$(cat $c/monitoring_attrs/nr_regions/max)" 500
check_eq "kernel: schemes (pageout + stat)" "$(cat $c/schemes/nr_schemes)" 2
check_eq "kernel: scheme 0 action" "$(cat $c/schemes/0/action)" pageout
# 10 s of age at 100 ms aggregations: 100 aggregations
check_eq "kernel: scheme 0 age min" "$(cat $c/schemes/0/access_pattern/age/min)" 100
check_eq "kernel: scheme 0 quota bytes" "$(cat $c/schemes/0/quotas/bytes)" $((64 << 20))
check_eq "kernel: scheme 1 action" "$(cat $c/schemes/1/action)" stat

s=$($MEMLENS damon status --state-file "$st" --json)
check "status --json exits 0" test $? -eq 0
check_eq "status: owner" "$(echo "$s" | json_str owner)" memlens
check_eq "status: pid" "$(echo "$s" | json_num pid)" "$kpid"
$MEMLENS damon status --state-file "$st"

found=0
i=0
while [ $i -lt 60 ] && [ $found -eq 0 ]; do
	sleep 1
	i=$((i + 1))
	echo update_schemes_tried_regions >$d/$idx/state
	for r in $c/schemes/1/tried_regions/[0-9]*; do
		[ -d "$r" ] || continue
		rs=$(cat $r/start) re=$(cat $r/end) acc=$(cat $r/nr_accesses)
		[ "$rs" -ge "$hs" ] && [ "$re" -le "$he" ] && [ "$acc" -gt 0 ] &&
			found=1
	done
done
check "stat scheme's tried regions hold the hot range, accessed (${i}s)" \
	test $found -eq 1
# status shows the tried regions the kernel now has
# (the kernel may still be filling them in from the last request: compare
# when sysfs shows the same count before and after status read it)
# (every scheme's: status shows them all; the kernel numbers them with one
# counter across the schemes, so scheme 1's need not start at 0)
for try in 1 2 3 4 5; do
	n=$(ls -d $c/schemes/*/tried_regions/[0-9]* | wc -l)
	s=$($MEMLENS damon status --state-file "$st" --json)
	[ "$(ls -d $c/schemes/*/tried_regions/[0-9]* | wc -l)" = "$n" ] && break
	sleep 1
done
check_eq "status: tried regions as in sysfs" \
	"$(echo "$s" | grep -o '"nr_accesses":[0-9]*,"age"' | wc -l)" "$n"

# record --kernel: a few aggregations of the kdamond's tried regions; the
# recording's regions hold the hot range, accessed
$MEMLENS damon record --kernel="$idx" --duration 3s -q -o rec.db
check "record --kernel exits 0" test $? -eq 0
$MEMLENS damon report rec.db raw --json >raw.json
check "report raw of the kernel recording exits 0" test $? -eq 0
# (accessed regions only: few processes under TCG)
sed 's/{"start"/\n{"start"/g' raw.json | grep '^{"start"' |
	grep -v '"nr_accesses":0,' >accessed
echo "recording: $(grep -c time_us raw.json) lines, $(grep -o time_us raw.json | wc -l) aggregations, $(wc -l <accessed) accessed regions; hot $hs-$he"
head -n 5 accessed
hot=$(while read -r o; do
		rs=$(echo "$o" | json_num start) re=$(echo "$o" | json_num end)
		[ "$rs" -ge "$hs" ] && [ "$re" -le "$he" ] && echo y
	done <accessed | head -n 1)
check_eq "recorded regions hold the hot range, accessed" "$hot" y

$MEMLENS damon stop --state-file "$st"
check "stop exits 0" test $? -eq 0
check_eq "kernel: state after stop" "$(cat $d/$idx/state)" off
check_eq "kernel: stop freed the kdamond" "$(cat $d/$idx/contexts/nr_contexts)" 0

# a foreign kdamond, started by hand, in the same kdamond
echo 1 >$d/$idx/contexts/nr_contexts
echo vaddr >$c/operations
echo 1 >$c/targets/nr_targets
echo "$HOG" >$c/targets/0/pid_target
echo on >$d/$idx/state
check_eq "foreign kdamond runs" "$(cat $d/$idx/state)" on
s=$($MEMLENS damon status --state-file "$st" --json)
check_eq "status: foreign" "$(echo "$s" | json_str owner)" foreign
nr=$(cat $d/nr_kdamonds)
$MEMLENS damon start --state-file "$st" -p "$HOG"
check "a second start fails while the foreign one runs" test $? -eq 1
check_eq "nr_kdamonds unchanged" "$(cat $d/nr_kdamonds)" "$nr"
check_eq "foreign kdamond still runs" "$(cat $d/$idx/state)" on
$MEMLENS damon stop --state-file "$st" "$idx"
check "stop of a foreign kdamond without --force fails" test $? -eq 1
check_eq "foreign kdamond still runs after stop" "$(cat $d/$idx/state)" on
echo off >$d/$idx/state
echo 0 >$d/nr_kdamonds

# DAMON_RECLAIM's kdamond is not in the admin directory: status shows it
if kconfig_y DAMON_RECLAIM; then
	p=/sys/module/damon_reclaim/parameters
	echo Y >$p/enabled
	i=0
	while [ "$(cat $p/kdamond_pid)" -le 0 ] && [ $i -lt 50 ]; do
		usleep 100000
		i=$((i + 1))
	done
	rpid=$(cat $p/kdamond_pid)
	s=$($MEMLENS damon status --state-file "$st" --json)
	ok=0
	echo "$s" | grep -q "\"name\":\"damon_reclaim\",\"enabled\":true,\"kdamond_pid\":$rpid" && ok=1
	check "status lists damon_reclaim, enabled, kdamond pid $rpid" \
		test "$rpid" -gt 0 -a $ok -eq 1
	$MEMLENS damon status --state-file "$st" | grep module
	echo N >$p/enabled
fi
kill "$HOG"
finish
