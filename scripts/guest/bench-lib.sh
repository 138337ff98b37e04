# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# What the benchmark's guest sides share (scripts/guest/bench.sh and
# replay.sh, sourced from /ka/bench-lib.sh): the KB- lines to the host on
# fd 3 (the data channel), steps, and the free-memory measures.

kb_msg() {
	echo "$*" >&3
}

kb_exit() {
	kb_msg "KB-EXIT $1"
	exit "$1"
}

# Kernel messages since the last call, without the timestamps.
kb_flush() {
	dmesg -c | sed -e 's/^\[[ 0-9.]*\] //' -e 's/^/KB-LOG /' >&3
}

kb_step() {
	_name=$1
	shift
	"$@"
	_rc=$?
	kb_msg "KB-STEP $_name rc=$_rc uptime=$(cut -d' ' -f1 /proc/uptime)"
	return $_rc
}

# ka's page and object counters, and the kernel's free memory.
kb_stat() {
	_s=/sys/kernel/debug/ka/stats
	kb_msg "KB-STAT $* $(awk '$1 ~ /^(pages_held|pages_used|bytes_in_use|allocs|frees)$/ { printf "%s=%s ", $1, $2 }' $_s)memfree_kb=$(awk '$1 == "MemFree:" { print $2 }' /proc/meminfo)"
}

meminfo() { sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo; }
# Free memory: MemFree plus the pages on the per-CPU page lists
# (/proc/zoneinfo "count:"), where freed pages park; in kB.
kb_free_now() {
	echo $(($(meminfo MemFree) + $(awk '/^ *count:/ { n += $2 } END { print n * 4 }' /proc/zoneinfo)))
}
# The same after the kernel's caches and the shrinkers (ka's drains the
# per-CPU caches without waiting: a second pass a second later returns
# what that freed).
kb_free_shrunk() {
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do echo 1 >"$f"; done 2>/dev/null
	sleep 1
	echo 3 >/proc/sys/vm/drop_caches
	kb_free_now
}
# Where free memory went, beside the drop: the per-CPU vmstat deltas folded
# first, free memory, the kernel's own consumers (kB, /proc/meminfo), ka's
# pages and its metadata (bytes), read together.  After the caches' shrink the kernel's own slabs
# grow back as the shell runs (about 1 MB in the 3 s after it, 8 vCPUs):
# that is in every phase's drop but "shrunk", whatever the allocator.
kb_mem_parts() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	kb_msg "KB-MEMPARTS alloc=$1 phase=$2 free_kb=$(kb_free_now) $(awk '$1 ~ /^(Slab|SUnreclaim|KernelStack|PageTables|VmallocUsed|Percpu|AnonPages):$/ { sub(":", "", $1); printf "%s=%s ", $1, $2 }' /proc/meminfo)$(awk '$1 ~ /^(pages_held|meta_bytes)$/ { printf "ka_%s=%s ", $1, $2 }' /sys/kernel/debug/ka/stats)"
}

# ka's pages and, from "percpu" and "sizeclasses" (so that a ka without the
# per-CPU lines of "stats" is measured alike), the bytes each CPU caches.
kb_ka_figures() {
	_d=/sys/kernel/debug/ka
	echo "$(awk '$1 ~ /^(pages_held|pages_used|pcpu_budget|meta_bytes)$/ { printf "%s=%s ", $1, $2 }' $_d/stats)$(awk '
		FNR == NR { if ($1 ~ /^[0-9]+$/) size[$1] = $2; next }
		$1 ~ /^[0-9]+$/ { b = 0
			for (i = 4; i <= NF; i++) { split($i, a, ":"); b += a[2] * size[a[1]] }
			t += b; if (b > m) m = b }
		END { printf "cached_bytes=%d cached_max_cpu=%d", t, m }' $_d/sizeclasses $_d/percpu)"
}

# In icount mode the guest clock counts every instruction the vCPU runs,
# a boot-time kthread's too (on Debian's 6.12 something keeps the CPU busy
# for the first seconds and doubled the first patterns' figures): wait, at
# most 30 s of guest time, for a second in which the CPU was 90% idle.
kb_idle() {
	awk '$1 == "cpu" { print $5 }' /proc/stat
}
# $1: the name the message carries (default ka_bench).
kb_quiet() {
	_i=0
	while [ $_i -lt 30 ]; do
		_a=$(kb_idle)
		sleep 1
		_b=$(kb_idle)
		[ $((_b - _a)) -ge 90 ] && break
		_i=$((_i + 1))
	done
	kb_msg "KB-LOG ${1:-ka_bench}: waited ${_i}s for an idle CPU"
}
