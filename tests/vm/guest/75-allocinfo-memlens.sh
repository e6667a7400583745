#!/bin/sh
# memlens reads the kernel's allocation profile: `memlens allocinfo
# --kernel` on a copy of /proc/allocinfo gives the totals an awk sum of the
# same copy gives, reproduces the file byte for byte with --allocinfo, and
# the allocinfo text memlens writes for user space (ml_alloctag_dump, from
# the static helper mlallocdump) has the kernel's shape line for line.
. /tests/lib.sh

kver_ge 6 10 || skip "Linux $KVER: the kernel's allocation profiling (/proc/allocinfo) arrived in 6.10"
kconfig_y MEM_ALLOC_PROFILING || skip "no CONFIG_MEM_ALLOC_PROFILING"

# one copy, read by both sides: the live file changes between two reads
mkdir root
cp /proc/allocinfo root/allocinfo
tail -n +3 root/allocinfo >tags
want_sites=$(wc -l <tags)
want_bytes=$(awk '{ s += $1 } END { printf "%.0f", s }' tags)
want_calls=$(awk '{ s += $2 } END { printf "%.0f", s }' tags)

"$MEMLENS" --proc-root "$PWD/root" allocinfo --kernel --json >j
check "memlens allocinfo --kernel --json exits 0" test $? -eq 0
check_eq "sites" "$(json_num nr_sites <j)" "$want_sites"
check_eq "malformed lines" "$(json_num nr_malformed <j)" 0
check_eq "total bytes (awk sum of the same file)" "$(json_num total_bytes <j)" "$want_bytes"
check_eq "total calls (awk sum of the same file)" "$(json_num total_calls <j)" "$want_calls"

"$MEMLENS" --proc-root "$PWD/root" allocinfo --kernel --allocinfo >again
check "--allocinfo reproduces the kernel's file byte for byte" cmp root/allocinfo again

"$MEMLENS" --proc-root "$PWD/root" allocinfo --kernel --top 5 >human
cat human
check_eq "--top 5: five sites, a header and a total" "$(wc -l <human)" 7
top=$(sort -k1,1nr tags | head -n 1 | awk '{ print $3 }')
check_eq "largest site first" "$(sed -n 2p human | awk '{ print $3 }')" "$top"

# the live file, through the real /proc
"$MEMLENS" allocinfo --kernel --json >live
check "the live /proc/allocinfo parses with no malformed line" \
	test "$(json_num nr_malformed <live)" = 0

# user space: memlens' own allocinfo text in the kernel's shape
mlallocdump >user
cat user
check_eq "user-space header" "$(head -n 2 user)" "$(head -n 2 root/allocinfo)"
tail -n +3 user >utags
shape='^ *-?[0-9]+ +[0-9]+ [^ ]+:[0-9]+ (\[[^ ]+\] )?func:[^ ]+( accurate:no)? $'
check_eq "kernel lines off the shape" "$(grep -cvE "$shape" tags)" 0
check_eq "user-space lines off the shape" "$(grep -cvE "$shape" utags)" 0
# "%12lli %8llu ": the columns end at the same characters in both
cols='length($1) <= 12 && substr($0, 13, 1) != " " { bad++ }
	length($2) <= 8 && substr($0, 22, 1) != " " { bad++ } END { print bad + 0 }'
check_eq "kernel columns at 12 and 8" "$(awk "$cols" tags)" 0
check_eq "user-space columns at 12 and 8" "$(awk "$cols" utags)" 0
# the helper's sites, from its own loop counts: 10 x 100 and 3 x 4096
check_eq "user-space site in main" \
	"$(awk '$4 == "func:main" { print $1, $2 }' utags)" "1000 10"
check_eq "user-space site in grow" \
	"$(awk '$4 == "func:grow" { print $1, $2 }' utags)" "12288 3"
finish
