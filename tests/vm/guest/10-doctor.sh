#!/bin/sh
# memlens doctor --json against this kernel's own configuration: each
# feature's expected state comes from $KCONFIG and the kernel version, never
# from memlens. Then DAMON's operations sets, with one idle kdamond context
# made in the guest's sysfs for doctor to read.
. /tests/lib.sh

$MEMLENS doctor --json >doctor.json || fail "memlens doctor --json exited $?"
json_objects <doctor.json >features
echo "kernel $KVER, config $KCONFIG"

# feature_field FEATURE KEY: a string field of one feature's object
feature_field() {
	grep "\"feature\":\"$1\"" features | json_str "$2"
}

# expect FEATURE yes|no WHY
expect() {
	got=$(feature_field "$1" state)
	detail=$(feature_field "$1" detail)
	check_eq "$1 ($3) [$detail]" "${got:-missing}" "$2"
}

# yes when every command succeeds
yes_if() {
	for c in "$@"; do
		eval "$c" || { echo no; return; }
	done
	echo yes
}

pm="kconfig_y PROC_PAGE_MONITOR"
expect procmap_query "$(yes_if 'kver_ge 6 11')" "6.11+"
expect anon_vma_name "$(yes_if 'kconfig_y ANON_VMA_NAME')" "CONFIG_ANON_VMA_NAME=$(kconfig ANON_VMA_NAME)"
expect pagemap_pfn "$(yes_if "$pm")" "CONFIG_PROC_PAGE_MONITOR, root"
expect kpageflags "$(yes_if "$pm")" "CONFIG_PROC_PAGE_MONITOR, root"
expect kpagecount "$(yes_if "$pm")" "CONFIG_PROC_PAGE_MONITOR, root"
expect pagemap_scan "$(yes_if "$pm" 'kver_ge 6 7')" "6.7+ and CONFIG_PROC_PAGE_MONITOR"
expect uffd_wp_async "$(yes_if 'kconfig_y USERFAULTFD' \
	'kconfig_y HAVE_ARCH_USERFAULTFD_WP' 'kver_ge 6 7')" \
	"6.7+, CONFIG_USERFAULTFD=$(kconfig USERFAULTFD)"
expect soft_dirty "$(yes_if 'kconfig_y MEM_SOFT_DIRTY')" "CONFIG_MEM_SOFT_DIRTY=$(kconfig MEM_SOFT_DIRTY)"
expect page_idle "$(yes_if 'kconfig_y IDLE_PAGE_TRACKING')" "CONFIG_IDLE_PAGE_TRACKING=$(kconfig IDLE_PAGE_TRACKING)"
expect damon_sysfs "$(yes_if 'kconfig_y DAMON_SYSFS')" "CONFIG_DAMON_SYSFS=$(kconfig DAMON_SYSFS)"
expect thp "$(yes_if 'kconfig_y TRANSPARENT_HUGEPAGE')" "CONFIG_TRANSPARENT_HUGEPAGE=$(kconfig TRANSPARENT_HUGEPAGE)"
expect mthp "$(yes_if 'kconfig_y TRANSPARENT_HUGEPAGE' 'kver_ge 6 8')" "6.8+ and THP"
expect alloc_profiling "$(yes_if 'kconfig_y MEM_ALLOC_PROFILING')" "CONFIG_MEM_ALLOC_PROFILING=$(kconfig MEM_ALLOC_PROFILING)"
# DAMON's access sources: what each needs of the kernel (wp: the two
# features above; softdirty and idle: their config options; idle: root,
# which the guest tests are)
expect damon_ops_wp "$(yes_if "$pm" 'kconfig_y USERFAULTFD' \
	'kconfig_y HAVE_ARCH_USERFAULTFD_WP' 'kver_ge 6 7')" "wp: PAGEMAP_SCAN and uffd WP_ASYNC"
expect damon_ops_softdirty "$(yes_if 'kconfig_y MEM_SOFT_DIRTY')" "softdirty: CONFIG_MEM_SOFT_DIRTY"
expect damon_ops_idle "$(yes_if 'kconfig_y IDLE_PAGE_TRACKING')" "idle: CONFIG_IDLE_PAGE_TRACKING"
# no swap area is set up by this test
expect swap no "no swap area in the guest"
if kconfig_y SWAP; then
	check_eq "swap detail with CONFIG_SWAP=y" "$(feature_field swap detail)" "no swap areas"
fi

# the THP default mode the kernel was built with
for mode in always madvise never; do
	kconfig_y "TRANSPARENT_HUGEPAGE_$(echo $mode | tr a-z A-Z)" || continue
	check "thp detail shows [$mode] (CONFIG_TRANSPARENT_HUGEPAGE_$(echo $mode | tr a-z A-Z))" \
		grep -q "\"feature\":\"thp\".*\[$mode\]" features
done
if kconfig_y MEM_ALLOC_PROFILING_ENABLED_BY_DEFAULT; then
	check "alloc_profiling detail: vm.mem_profiling = 1 (enabled by default)" \
		grep -q '"feature":"alloc_profiling".*mem_profiling = 1' features
fi

# every feature memlens knows was reported, and no other
check_eq "number of features reported" "$(wc -l <features)" 17

# DAMON operations sets, read from a context doctor finds (the guest's own
# sysfs; on the host, DAMON is never written)
if kconfig_y DAMON_SYSFS; then
	d=/sys/kernel/mm/damon/admin/kdamonds
	echo 1 >$d/nr_kdamonds && echo 1 >$d/0/contexts/nr_contexts ||
		fail "cannot make a kdamond context"
	echo "avail_operations: $(cat $d/0/contexts/0/avail_operations)"
	$MEMLENS doctor --json | json_objects >features2
	detail=$(grep '"feature":"damon_sysfs"' features2 | json_str detail)
	echo "damon_sysfs detail: $detail"
	for ops in vaddr paddr; do
		want=no
		kconfig_y "DAMON_$(echo $ops | tr a-z A-Z)" && want=yes
		got=no
		case $detail in *available:*$ops*) got=yes ;; esac
		check_eq "DAMON $ops available (CONFIG_DAMON_$(echo $ops | tr a-z A-Z))" "$got" "$want"
	done
	case $detail in "1 kdamond, 0 running"*) r=0 ;; *) r=1 ;; esac
	check "damon_sysfs: 1 kdamond, 0 running" test $r -eq 0
	echo 0 >$d/nr_kdamonds
fi
finish
