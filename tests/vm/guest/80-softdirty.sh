#!/bin/sh
# Soft-dirty (CONFIG_MEM_SOFT_DIRTY): after clear_refs 4, only the pages a
# process writes again carry pagemap bit 55: its hot range does, a range
# written once before the clear does not. Kernel truth for the access
# sources that use it.
. /tests/lib.sh

kconfig_y MEM_SOFT_DIRTY || skip "no CONFIG_MEM_SOFT_DIRTY"
start_hog hot:1M anon:1M
set -- $(region hot)
hot="$1 $2"
set -- $(region anon)
cold="$1 $2"
echo 4 >/proc/$HOG/clear_refs
sleep 1
pwh=$(pagewalk "$HOG" $hot)
pwc=$(pagewalk "$HOG" $cold)
echo "hot: $pwh"
echo "cold: $pwc"
field() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
check_eq "hot range: soft-dirty pages after clear_refs 4 (of 256)" "$(field "$pwh" soft_dirty)" 256
check_eq "cold range: soft-dirty pages after clear_refs 4" "$(field "$pwc" soft_dirty)" 0
kill "$HOG"
finish
