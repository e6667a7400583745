#!/bin/sh
# A THP-backed region (2 MiB-aligned, MADV_HUGEPAGE, written): the kernel's
# own pagemap and kpageflags say it is one 2M folio on one physically
# contiguous, order-9-aligned run; memlens maps and ps report it as
# AnonHugePages; memlens contig (when built) reports the 2M block, run and
# folio.
. /tests/lib.sh

kconfig_y TRANSPARENT_HUGEPAGE || skip "no CONFIG_TRANSPARENT_HUGEPAGE"
cat /sys/kernel/mm/transparent_hugepage/enabled
start_hog thp:2M anon:256K
cat "$HOG_OUT"
set -- $(region thp)
s=$1 e=$2

# ground truth, straight from the kernel
pw=$(pagewalk "$HOG" "$s" "$e") || fail "pagewalk failed"
echo "pagewalk: $pw"
field() { echo "$pw" | tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }
check_eq "pages present (of 512)" "$(field present)" 512
check_eq "one physically contiguous run" "$(field contiguous)" yes
check_eq "first PFN aligned to order" "$(field pfn_aligned)" 9
check_eq "pages with KPF_THP" "$(field thp)" 512
check_eq "compound heads (folios)" "$(field heads)" 1
check_eq "compound tails" "$(field tails)" 511
ahp=$(awk -v s="$(printf '%x' $((0x$s)))" '
	$1 ~ /^[0-9a-f]+-/ { split($1, r, "-"); inside = (r[1] == s) }
	inside && $1 == "AnonHugePages:" { print $2 * 1024 }' /proc/$HOG/smaps)
check_eq "smaps AnonHugePages of the region" "$ahp" 2097152

# base-page control region: no large folio
set -- $(region anon)
pw=$(pagewalk "$HOG" "$1" "$2")
echo "control: $pw"
check_eq "control region: no THP" "$(field thp)" 0

# memlens maps: the region's VMA has 2M of anon_huge_pages
$MEMLENS maps --json "$HOG" | sed 's/.*"vmas":\[//; s/\],"total".*//' |
	json_objects | grep "\"start\":$((0x$s))," >vma.json
check_eq "memlens maps: anon_huge_pages of the region" \
	"$(json_num anon_huge_pages <vma.json)" 2097152
check_eq "memlens ps: anon_huge_pages = smaps_rollup AnonHugePages" \
	"$($MEMLENS ps --json -p "$HOG" | json_num anon_huge_pages)" \
	"$(smaps_bytes /proc/$HOG/smaps_rollup AnonHugePages)"

# memlens contig (issue 6, when built): the region's VMA is one order-9
# aligned block, one 2M physically contiguous run and one 2M folio
if $MEMLENS contig --help >/dev/null 2>&1; then
	$MEMLENS contig --json "$HOG" >contig.json
	check "memlens contig --json $HOG exits 0" test $? -eq 0
	sed 's/{"start":/\n{"start":/g' contig.json |
		grep "^{\"start\":$((0x$s))," >cvma.json
	cat cvma.json
	check_eq "memlens contig: aligned blocks of order 0..9" \
		"$(grep -o '"blocks":\[[^]]*\]' cvma.json)" '"blocks":[0,0,0,0,0,0,0,0,0,1]'
	check_eq "memlens contig: physically contiguous runs" \
		"$(grep -o '"runs":\[[^]]*\]' cvma.json)" \
		'"runs":[{"size":2097152,"count":1,"bytes":2097152}]'
	check "memlens contig: folios: one of 2M and no other size" \
		grep -q '"folios":{"sizes":\[{"size":2097152,"count":1,"bytes":2097152,[^]]*}\]' cvma.json
else
	echo "memlens has no contig command yet: its figures are not checked"
fi
kill "$HOG"
finish
