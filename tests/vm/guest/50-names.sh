#!/bin/sh
# Anonymous VMA names: with CONFIG_ANON_VMA_NAME, PR_SET_VMA_ANON_NAME names
# a region "[anon:NAME]" in maps, and memlens maps and libs carry the name;
# without it, the prctl fails with EINVAL and the region stays unnamed.
. /tests/lib.sh

start_hog named:memlens-vm-test:1M anon:64K
cat "$HOG_OUT"
set -- $(region named)
s=$((0x$1))
result=$(awk '$2 == "named" { print $5 }' "$HOG_OUT")
maps_name=$(awk -v a="$1" '$1 ~ "^" a "-" { print $6 }' /proc/$HOG/maps)
$MEMLENS maps --json "$HOG" | sed 's/.*"vmas":\[//; s/\],"total".*//' |
	json_objects | grep "\"start\":$s," >vma.json
if kconfig_y ANON_VMA_NAME; then
	check_eq "prctl(PR_SET_VMA_ANON_NAME)" "$result" named=ok
	check_eq "name in /proc/PID/maps" "$maps_name" "[anon:memlens-vm-test]"
	check_eq "memlens maps: name" "$(json_str name <vma.json)" "[anon:memlens-vm-test]"
	$MEMLENS libs --json -p "$HOG" | json_objects |
		grep '"name":"\[anon:memlens-vm-test\]"' >libs.json
	check_eq "memlens libs: the name's rss" "$(json_num rss <libs.json)" 1048576
	check_eq "memlens libs: the name's VMA count" "$(json_num nr_vmas <libs.json)" 1
	$MEMLENS vma --json "$HOG" "$1" >vmaq.json
	check_eq "memlens vma: name" "$(json_str name <vmaq.json)" "[anon:memlens-vm-test]"
	check_eq "memlens vma: name source" "$(json_str name_source <vmaq.json)" kernel
else
	check_eq "prctl(PR_SET_VMA_ANON_NAME) without CONFIG_ANON_VMA_NAME" "$result" named=EINVAL
	check_eq "no name in /proc/PID/maps" "${maps_name:-none}" none
	check_eq "memlens maps: no name" "$(json_str name <vma.json)" ""
fi
check_eq "memlens maps: the region's rss" "$(json_num rss <vma.json)" 1048576
kill "$HOG"
finish
