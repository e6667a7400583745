#!/bin/sh
# The kernel's allocation profiling: /proc/allocinfo's header and the shape
# of every line ("<bytes> <calls> <file>:<line> [module] func:<name>"), the
# format memlens' own allocinfo for user space follows.
. /tests/lib.sh

kconfig_y MEM_ALLOC_PROFILING || skip "no CONFIG_MEM_ALLOC_PROFILING"
cp /proc/allocinfo allocinfo
head -n 5 allocinfo
check_eq "first line" "$(head -n 1 allocinfo)" "allocinfo - version: 1.0"
check "second line is the column header" \
	sh -c "sed -n 2p allocinfo | grep -q '^# *<size> *<calls> *<tag info>'"
tail -n +3 allocinfo >tags
check "more than 100 call sites" test "$(wc -l <tags)" -gt 100
bad=$(grep -cvE '^ *[0-9]+ +[0-9]+ [^ ]+:[0-9]+ (\[[^ ]+\] )?func:[^ ]+' tags)
check_eq "lines not of the shape '<bytes> <calls> <file>:<line> [module] func:<name>'" "$bad" 0
grep -vE '^ *[0-9]+ +[0-9]+ [^ ]+:[0-9]+ (\[[^ ]+\] )?func:[^ ]+' tags | head -n 5
total=$(awk '{ s += $1 } END { printf "%.0f", s }' tags)
echo "bytes accounted: $total"
check "allocations are being counted (total > 1 MiB)" test "$total" -gt 1048576
finish
