#!/bin/sh
# memlens vma: PROCMAP_QUERY where the kernel has it (6.11+), the maps-text
# fallback elsewhere, and identical answers from both paths and on both
# kernels. Truth is the guest's own /proc/PID/maps text and the build IDs
# the host read from the ELF notes of the guest's binaries (/etc/build-ids).
. /tests/lib.sh

$MEMLENS vma --help >/dev/null 2>&1 || skip "this memlens has no vma command"

# the ioctl is there from 6.11 on, and doctor sees it exactly then
want=no
kver_ge 6 11 && want=yes
check_eq "PROCMAP_QUERY on $KVER (6.11+)" \
	"$($MEMLENS doctor --json | json_objects | grep '"procmap_query"' | json_str state)" "$want"

start_hog anon:64K lazy:1M half:256K file:/root/vf:64K shared:/tmp/vs:16K guard:64K
cp /proc/$HOG/maps maps
cat maps

# queries: start, middle and last byte of every VMA but [vsyscall] (beyond
# what awk's doubles hold exactly), the unmapped page around each vmhog
# region, and addresses nothing maps
awk '
function hex(s,   i, v) {
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}
# busybox awk prints %x through a 32-bit int: convert by hand
function tohex(v,   s, d) {
	s = ""
	do {
		d = v % 16
		s = substr("0123456789abcdef", d + 1, 1) s
		v = (v - d) / 16
	} while (v > 0)
	return s
}
$6 != "[vsyscall]" {
	split($1, r, "-"); s = hex(r[1]); e = hex(r[2])
	print tohex(s); print tohex(s + int((e - s) / 2 / 16) * 16 + 8)
	print tohex(e - 1)
}' maps >queries
awk '$1 == "region" { print $3; print $4 }' "$HOG_OUT" | while read -r a; do
	printf '%x\n' $((0x$a - 1)) # below a region
done >>queries
awk '$1 == "region" { print $4 }' "$HOG_OUT" >>queries # just past a region
echo 0 >>queries
echo 1000 >>queries
nq=$(wc -l <queries)

# expected answers from the maps text: addr start end perms offset build_id name
awk '
function hex(s,   i, v) {
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}
FILENAME == "/etc/build-ids" { id[$1] = $2; next }
FILENAME == "maps" {
	if ($6 == "[vsyscall]") next
	split($1, r, "-")
	n++; s[n] = hex(r[1]); e[n] = hex(r[2]); p[n] = $2; o[n] = hex($3)
	name = ""
	for (i = 6; i <= NF; i++) name = name (i > 6 ? " " : "") $i
	nm[n] = name
	next
}
{
	a = hex($1); found = 0
	for (i = 1; i <= n; i++)
		if (s[i] <= a && a < e[i]) {
			printf "%.0f %.0f %.0f %s %.0f %s %s\n", a, s[i], e[i], p[i],
			       o[i] + a - s[i], nm[i] in id ? id[nm[i]] : "null",
			       nm[i] == "" ? "-" : nm[i]
			found = 1
			break
		}
	if (!found)
		printf "%.0f error not mapped\n", a
}' /etc/build-ids maps queries >want

# memlens vma --json as the same lines
normalize() {
	json_objects | awk '
	function num(k) {
		return match($0, "\"" k "\":[0-9]+") ?
			substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) : "?"
	}
	function str(k) {
		if (match($0, "\"" k "\":null")) return "null"
		return match($0, "\"" k "\":\"[^\"]*\"") ?
			substr($0, RSTART + length(k) + 4, RLENGTH - length(k) - 5) : "?"
	}
	/"error"/ { print num("addr"), "error", str("error"); next }
	{
		name = str("name")
		print num("addr"), num("start"), num("end"), str("perms"),
		      num("offset"), str("build_id"), name == "" ? "-" : name
	}'
}

compare() { # compare DESC FILE
	check_eq "$1: $nq answers" "$(wc -l <"$2")" "$nq"
	if cmp -s want "$2"; then
		check "$1 = maps text and ELF build IDs" true
	else
		diff want "$2" | head -n 40
		fail "$1 differs from maps text (- want, + memlens)"
	fi
}

$MEMLENS vma --json "$HOG" --stdin <queries >default.json ||
	fail "memlens vma --stdin exited $?"
normalize <default.json >default
compare "vma --stdin (default path)" default

MEMLENS_NO_PROCMAP_QUERY=1 $MEMLENS vma --json "$HOG" --stdin <queries >text.json ||
	fail "MEMLENS_NO_PROCMAP_QUERY=1 memlens vma --stdin exited $?"
normalize <text.json >text
compare "vma --stdin (MEMLENS_NO_PROCMAP_QUERY=1)" text

# addresses on the command line, unsorted, with a duplicate
set -- $(tail -n 6 queries) $(head -n 3 queries) $(head -n 1 queries)
$MEMLENS vma --json "$HOG" "$@" | normalize >argv
for a in "$@"; do grep -m1 "^$((0x$a)) " want; done >want.argv
check "vma ADDR... (unsorted, a duplicate) = maps text" cmp -s want.argv argv

# for the host: the same answers relative to vmhog's own layout (its
# binary and its regions), which the kernel places alike on 6.1 and 6.12
awk '$1 == "region" { print $2, $3, $4 }' "$HOG_OUT" | while read -r kind s e; do
	s=$((0x$s)); e=$((0x$e))
	for a in $((s - 1)) $s $((s + (e - s) / 32 * 16 + 8)) $((e - 1)) $e; do
		line=$(grep -m1 "^$a " default)
		set -- $line
		if [ "$2" = error ]; then
			data vma "$kind+$((a - s)): error $3 $4"
		else
			data vma "$kind+$((a - s)): start$(($2 - a)) end+$(($3 - a)) $4 off=$5 $6 $7"
		fi
	done
done
grep ' /bin/vmhog$' default | while read -r a s e p o b n; do
	data vma "vmhog $p +$((a - s)): size=$((e - s)) off=$o $b"
done
kill "$HOG"
finish
