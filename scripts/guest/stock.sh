# SPDX-License-Identifier: GPL-2.0
# Guest side of scripts/check, the stages of the kernel matrix (stock-6.1,
# stock-6.12, rt-6.1, rt-6.12: Debian's own kernels).  /ka/stress-args
# holds ka_stress's parameters (default "seconds=15").
# Runs under busybox sh with the helpers of /ka/lib.sh (scripts/vm-run).
status=0
stress_args=$(cat /ka/stress-args 2>/dev/null || echo seconds=15)
# "key value" of ka's stats file
stat_of() { sed -n "s/^$1 //p" /sys/kernel/debug/ka/stats; }
secs=$(echo "$stress_args" | sed -n 's/.*seconds=\([0-9]*\).*/\1/p')
stress_limit=$(( ${secs:-15} * 2 + 120 ))

meminfo() { sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo; }
# Free memory once the kernel's own caches are as small as they get (page
# cache, empty slabs), counting the free pages parked on the per-CPU page
# lists (/proc/zoneinfo "count:"): MemFree leaves them out, and the chunks
# ka frees at exit (order 9) land there; without them MemFree swings by
# tens of MB from one measurement to the next.
quiet_free() {
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do echo 1 >"$f"; done 2>/dev/null
	sleep 1
	echo 3 >/proc/sys/vm/drop_caches
	echo $(($(meminfo MemFree) + $(awk '/^ *count:/ { n += $2 } END { print n * 4 }' /proc/zoneinfo)))
}
free_before=$(quiet_free)
slab_before=$(meminfo Slab)
# bad module parameters: insmod fails, with the kernel's or ka's message
refused() { ! insmod "$@" && dmesg | tail -n 3 | grep -q -e invalid -e "out of range"; }
ka_step insmod_ka_refuses_debug_7 refused /ka/ka.ko debug=7 || status=1
ka_step insmod_ka_refuses_kmemleak_maybe refused /ka/ka.ko kmemleak=maybe || status=1
if ka_step insmod_ka insmod /ka/ka.ko; then
	ka_step insmod_ka_stress_refuses_0_s refused /ka/ka_stress.ko seconds=0 || status=1
	ka_step insmod_ka_stress_refuses_601_s refused /ka/ka_stress.ko seconds=601 || status=1
	ka_insmod_ktap 300 demo insmod_ka_demo /ka/ka_demo.ko || status=1
	echo "--- /sys/kernel/debug/ka/stats"
	cat /sys/kernel/debug/ka/stats
	ka_put_dir debugfs /sys/kernel/debug/ka
	ka_step rmmod_ka_demo rmmod ka_demo || status=1
	# Heap profile (sampling every 64 KiB): the demo's workload, kept
	# while the profile is read; the host reads it with go tool pprof.
	profile_rate() { echo "$1" >/sys/kernel/debug/ka/profile_rate; }
	ka_step profile_rate_on profile_rate 65536 || status=1
	ka_step_within 300 insmod_ka_demo_workload insmod /ka/ka_demo.ko workload=1 || status=1
	heap_profile() { cat /sys/kernel/debug/ka/heap >/tmp/heap.pb && [ -s /tmp/heap.pb ]; }
	ka_step heap_profile_read heap_profile || status=1
	ka_put heap.pb /tmp/heap.pb
	ka_step rmmod_ka_demo_workload rmmod ka_demo || status=1
	ka_step profile_rate_off profile_rate 0 || status=1
	if [ -f /ka/ka_stress.ko ]; then
		refused_before=$(stat_of refused_frees)
		# shellcheck disable=SC2086 # one word per parameter
		ka_insmod_ktap "$stress_limit" stress insmod_ka_stress /ka/ka_stress.ko $stress_args || status=1
		ka_step rmmod_ka_stress rmmod ka_stress || status=1
		# ka_stress frees only what it allocated: a refused free is an
		# object ka handed out twice (or a stale free it then caught)
		refused=$(( $(stat_of refused_frees) - refused_before ))
		ka_msg "KA-NOTE: stock: ka_stress $stress_args: ka refused $refused frees; allocs $(stat_of allocs), frees $(stat_of frees)"
		no_refused_frees() { [ "$refused" = 0 ]; }
		ka_step stress_no_refused_frees no_refused_frees || status=1
		# memory pressure: the shrinker gives back what is free
		echo 3 >/proc/sys/vm/drop_caches
		sleep 1
		echo 3 >/proc/sys/vm/drop_caches
		held=$(sed -n 's/^pages_held //p' /sys/kernel/debug/ka/stats)
		ka_msg "KA-NOTE: stock: after ka_stress and drop_caches ka holds $held pages"
		# the shrinker gives back every empty span and free chunk; allow
		# for a chunk's worth still in magazines its async flush missed
		shrunk() { [ "$held" -le 1024 ]; }
		ka_step shrinker_gives_back shrunk || status=1
	fi
	ka_step rmmod_ka rmmod ka || status=1
	free_after=$(quiet_free)
	ka_msg "KA-NOTE: stock: free memory (MemFree + per-CPU lists) before insmod ka ${free_before} kB, after rmmod ${free_after} kB (Slab ${slab_before} -> $(meminfo Slab) kB)"
	# the bound: back within 2 MiB
	free_back() { [ $((free_before - free_after)) -le 2048 ]; }
	ka_step free_memory_back_after_rmmod free_back || status=1

else
	status=1
fi
ka_put tainted /proc/sys/kernel/tainted
echo "tainted: $(cat /proc/sys/kernel/tainted)"
exit $status
