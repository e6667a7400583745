# Shared by the guest's shell tests (busybox sh): source it with
#   . /tests/lib.sh
# Environment from /init: KERNEL (6.12, 6.1), KCONFIG (that kernel's
# .config), KVER (uname -r), MEMLENS (/bin/memlens). The working directory is
# a fresh /tmp/TEST. Helpers on PATH: vmhog, pagewalk (tests/vm/helpers/).
#
# A test prints what it checks with `check`/`check_eq`, ends with `finish`
# (exit 1 when any check failed), or calls `skip REASON` (exit 77). Lines
# "check ok: ..." and "check FAIL: ..." are counted by tests/vm/run;
# `data KEY TEXT` hands a line to the host, which compares each KEY across
# kernels (one TAP line "cross-kernel: KEY identical on ...").

nr_fail=0
nr_check=0

# check DESC COMMAND...: the command's exit status decides
check() {
	desc=$1
	shift
	nr_check=$((nr_check + 1))
	if "$@"; then
		echo "check ok: $desc"
	else
		echo "check FAIL: $desc"
		nr_fail=$((nr_fail + 1))
	fi
}

# check_eq DESC GOT WANT
check_eq() {
	nr_check=$((nr_check + 1))
	if [ "$2" = "$3" ]; then
		echo "check ok: $1 ($2)"
	else
		echo "check FAIL: $1: got '$2', want '$3'"
		nr_fail=$((nr_fail + 1))
	fi
}

fail() {
	echo "check FAIL: $*"
	nr_check=$((nr_check + 1))
	nr_fail=$((nr_fail + 1))
}

skip() {
	echo "MLVM skip $*"
	exit 77
}

# finish: exit status from the checks made
finish() {
	[ "$nr_check" -gt 0 ] || fail "no check was made"
	[ "$nr_fail" -eq 0 ]
	exit $?
}

data() {
	key=$1
	shift
	echo "MLVM data $key $*"
}

# kconfig OPT: y, m or n from this kernel's .config (CONFIG_ prefix optional)
kconfig() {
	opt=CONFIG_${1#CONFIG_}
	v=$(grep "^$opt=" "$KCONFIG" | cut -d= -f2)
	echo "${v:-n}"
}

kconfig_y() { [ "$(kconfig "$1")" = y ]; }

# kver_ge MAJOR MINOR: this kernel is at least MAJOR.MINOR
kver_ge() {
	maj=${KVER%%.*}
	min=${KVER#*.}
	min=${min%%[!0-9]*}
	[ "$maj" -gt "$1" ] || { [ "$maj" -eq "$1" ] && [ "$min" -ge "$2" ]; }
}

# start_hog REGION...: start vmhog in the background, wait until its regions
# are made; sets HOG (its pid) and HOG_OUT (its output file: "region KIND
# START END ..." lines). Fails the test when vmhog dies.
start_hog() {
	HOG_OUT=$PWD/hog.$$.$#.out
	vmhog "$@" >"$HOG_OUT" 2>&1 &
	HOG=$!
	i=0
	while ! grep -q '^ready' "$HOG_OUT"; do
		if ! kill -0 "$HOG" 2>/dev/null || [ $i -ge 600 ]; then
			cat "$HOG_OUT"
			fail "vmhog $* did not start"
			finish
		fi
		i=$((i + 1))
		usleep 50000
	done
}

# region KIND [N]: "START END" (hex) of the Nth (default 1st) region KIND
region() {
	awk -v k="$1" -v n="${2:-1}" '$1 == "region" && $2 == k && ++i == n \
		{ print $3, $4 }' "$HOG_OUT"
}

# json_num KEY < JSON: the first number under "KEY"
json_num() {
	grep -o "\"$1\":[0-9-]*" | head -n 1 | cut -d: -f2
}

# json_str KEY < JSON: the first string under "KEY" (no escapes handled)
json_str() {
	grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4
}

# json_objects < JSON: one flat object per line (arrays of flat objects)
json_objects() {
	sed 's/},{/}\n{/g; s/^\[//; s/\]$//'
}

# smaps_bytes FILE FIELD: the kB figure of FIELD in an smaps-style FILE, in bytes
smaps_bytes() {
	awk -v f="$2:" '$1 == f { print $2 * 1024; exit }' "$1"
}
