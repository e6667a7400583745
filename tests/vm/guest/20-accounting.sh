#!/bin/sh
# memlens ps --json and memlens maps PID --json in the guest against the
# guest kernel's own smaps_rollup and smaps, for a process with memory of
# known size: anonymous (written, half-written, untouched), a private file
# mapping read, a shared file mapping written, a PROT_NONE reservation.
. /tests/lib.sh

start_hog anon:8M half:4M lazy:16M file:/tmp/f1:2M shared:/tmp/f2:1M guard:8M
cat "$HOG_OUT"
cp /proc/$HOG/smaps_rollup rollup
cp /proc/$HOG/smaps smaps
$MEMLENS ps --json -p "$HOG" >ps.json || fail "memlens ps exited $?"
$MEMLENS maps --json "$HOG" >maps.json || fail "memlens maps exited $?"
cat rollup

# the process is idle: nothing may have moved between the reads
cmp -s rollup /proc/$HOG/smaps_rollup || fail "smaps_rollup moved (test not quiescent)"

# ps: every field, exactly the kernel's figure
for pair in rss:Rss pss:Pss pss_anon:Pss_Anon pss_file:Pss_File \
	pss_shmem:Pss_Shmem shared_clean:Shared_Clean \
	shared_dirty:Shared_Dirty private_clean:Private_Clean \
	private_dirty:Private_Dirty swap:Swap swap_pss:SwapPss \
	locked:Locked anon_huge_pages:AnonHugePages; do
	key=${pair%%:*}
	field=${pair#*:}
	check_eq "ps $key = smaps_rollup $field" "$(json_num "$key" <ps.json)" \
		"$(smaps_bytes rollup "$field")"
done
check_eq "ps uss = Private_Clean + Private_Dirty" "$(json_num uss <ps.json)" \
	"$(($(smaps_bytes rollup Private_Clean) + $(smaps_bytes rollup Private_Dirty)))"
check_eq "ps pid" "$(json_num pid <ps.json)" "$HOG"
check_eq "ps comm" "$(json_str comm <ps.json)" vmhog

# known sizes: 8M + 2M (every other page of 4M) written, anonymous
anon_min=$((10 << 20))
check "Pss_Anon >= 10 MiB of written anonymous memory" \
	test "$(json_num pss_anon <ps.json)" -ge $anon_min

# maps: VMA by VMA against smaps, both as "start end perms offset inode rss
# pss swap name" (decimal); [vsyscall] left out, its address is beyond what
# awk's doubles hold exactly
awk '
function hex(s,   i, v) {
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}
function out() {
	if (name != "[vsyscall]")
		printf "%.0f %.0f %s %.0f %s %.0f %.0f %.0f %s\n", s, e, perms, off,
		       inode, rss, pss, swap, name == "" ? "-" : name
}
/^[0-9a-f]+-[0-9a-f]+ / {
	if (n++) out()
	split($1, r, "-")
	s = hex(r[1]); e = hex(r[2]); perms = $2; off = hex($3); inode = $5
	name = ""
	for (i = 6; i <= NF; i++) name = name (i > 6 ? " " : "") $i
	rss = pss = swap = 0
	next
}
$1 == "Rss:" { rss = $2 * 1024 }
$1 == "Pss:" { pss = $2 * 1024 }
$1 == "Swap:" { swap = $2 * 1024 }
END { if (n) out() }
' smaps >want.cmp
sed 's/.*"vmas":\[//; s/\],"total".*//' maps.json | json_objects | awk '
function num(k) {
	return match($0, "\"" k "\":[0-9]+") ?
		substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) : "?"
}
function str(k) {
	return match($0, "\"" k "\":\"[^\"]*\"") ?
		substr($0, RSTART + length(k) + 4, RLENGTH - length(k) - 5) : "?"
}
{
	name = str("name")
	if (name != "[vsyscall]")
		print num("start"), num("end"), str("perms"), num("offset"),
		      num("inode"), num("rss"), num("pss"), num("swap"),
		      name == "" ? "-" : name
}' >got.cmp
check_eq "maps: VMA count = smaps" "$(wc -l <got.cmp)" "$(wc -l <want.cmp)"
if cmp -s want.cmp got.cmp; then
	check "maps: every VMA's range, perms, offset, inode, RSS, PSS, swap = smaps" true
else
	diff want.cmp got.cmp
	fail "maps: VMAs differ from smaps (diff above: - smaps, + memlens)"
fi
total=$(sed 's/.*"total"://' maps.json)
check_eq "maps total rss = smaps_rollup Rss" "$(echo "$total" | json_num rss)" \
	"$(smaps_bytes rollup Rss)"
sum_pss=$(awk '{ s += $7 } END { print s }' want.cmp)
check_eq "maps total pss = sum of smaps Pss" "$(echo "$total" | json_num pss)" "$sum_pss"
# rollup sums PSS before rounding, per-VMA figures are rounded down to a kB
rollup_pss=$(smaps_bytes rollup Pss)
nvma=$(wc -l <want.cmp)
check "maps total pss within 1 kB per VMA below smaps_rollup Pss" \
	test "$sum_pss" -le "$rollup_pss" -a $((rollup_pss - sum_pss)) -le $((nvma * 1024))

# the regions as vmhog made them: sizes and residency
for kind in anon half lazy; do
	set -- $(region $kind)
	s=$((0x$1)); e=$((0x$2))
	vma=$(awk -v s=$s -v e=$e '$1 == s && $2 == e' got.cmp)
	check "maps has the $kind region as one VMA" test -n "$vma"
	rss=$(echo "$vma" | awk '{ print $6 }')
	case $kind in
	anon) want=$((8 << 20)) ;;
	half) want=$((2 << 20)) ;;
	lazy) want=0 ;;
	esac
	check_eq "$kind region rss" "$rss" "$want"
done
kill "$HOG"
finish
