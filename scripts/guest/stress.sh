# SPDX-License-Identifier: GPL-2.0
# Guest side of scripts/check, stage "stress" (debug test kernel).
# ka.ko kmemleak=0, so the lockless hit paths run (kmemleak registration
# would send every call to the hooked path): the KUnit suites once more,
# then ka_stress for KA_STRESS_SECONDS on every CPU while CPUs go offline
# and online, page allocations of ka's heap fail at random, every debugfs
# file is read in a loop and ka:ka_alloc is traced; then a drain must
# leave nothing held.  Runs under busybox sh with /ka/lib.sh (vm-run).
status=0
D=/sys/kernel/debug/ka
T=/sys/kernel/tracing
# ka_stress's parameters: seconds=N and, on the RT kernel, threads_per_cpu=N
stress_args=$(cat /ka/stress-args 2>/dev/null || echo seconds=30)

# "1" is the only thing a control file takes.
bad_control() {
	for v in 2 yes -1 garbage 0x1; do
		if echo "$v" >"$D/$1" 2>/dev/null; then
			echo "$D/$1 accepted '$v'"
			return 1
		fi
	done
}

# pcpu_budget takes a number of KiB, 0 .. 1048576.
bad_budget() {
	for v in -1 garbage 1048577 0x10 ""; do
		if echo "$v" >"$D/pcpu_budget" 2>/dev/null; then
			echo "$D/pcpu_budget accepted '$v'"
			return 1
		fi
	done
}

# No CPU's capacity ("cpu" lines of stats, 5th field) above the budget.
within_budget() {
	awk '$1 == "pcpu_budget" { b = $2 } $1 == "cpu" { c[$2] = $5 }
		END { bad = 0; for (i in c) if (c[i] > b) { print "cpu " i ": capacity " c[i] " > budget " b; bad = 1 }
		      exit bad }' $D/stats
}

# The value of "key value" in ka's stats file.
stat_of() { sed -n "s/^$1 //p" $D/stats; }

# How long insmod may take: the KUnit suites (the host's /ka/kunit-limit),
# ka_stress (its seconds, twice, and two minutes).
kunit_limit=$(cat /ka/kunit-limit 2>/dev/null || echo 600)
secs=$(echo "$stress_args" | sed -n 's/.*seconds=\([0-9]*\).*/\1/p')
stress_limit=$(( ${secs:-30} * 2 + 120 ))

# A step hung (ka_give_up): stop the background readers first.
# shellcheck disable=SC2034 # read by ka_give_up (/ka/lib.sh)
ka_give_up_first='touch /tmp/done'

ka_step insmod_ka insmod /ka/ka.ko kmemleak=0 || exit 1
ka_insmod_ktap "$kunit_limit" kunit-fast insmod_ka_kunit /ka/ka_kunit.ko || status=1
ka_step rmmod_ka_kunit rmmod ka_kunit || status=1

ka_step debugfs_rejects_garbage_drain bad_control drain || status=1
ka_step debugfs_rejects_garbage_reset bad_control reset || status=1
ka_step debugfs_rejects_bad_budget bad_budget || status=1

# Tracepoint: enable ka:ka_alloc and see events from the stress below.
if [ -d $T/events/ka ]; then
	echo 1 >$T/events/ka/ka_alloc/enable
	echo 1 >$T/tracing_on
fi

echo 20 >$D/fail_page/probability
echo 1 >$D/fail_page/interval
echo 0 >$D/fail_page/verbose
echo 1000 >$D/fail_page/times
# and the kernel's own fail_page_alloc, for orders >= 7 only: ka's chunks
# then fall back to smaller orders (large objects to runs of chunks);
# nothing else in this guest asks for 512 KiB at once
F=/sys/kernel/debug/fail_page_alloc
if [ -d $F ]; then
	echo N >$F/ignore-gfp-wait
	echo 7 >$F/min-order
	echo 0 >$F/verbose
	echo 1 >$F/interval
	echo 30 >$F/probability
	echo 300 >$F/times
fi

rm -f /tmp/done
(while [ ! -f /tmp/done ]; do
	cat $D/stats $D/spans $D/percpu $D/sizeclasses >/dev/null
done) &
reader=$!
# drains while the stress runs: magazines emptied under the hit paths,
# spans and chunks handed back and asked for again (so the injected page
# failures above have page allocations to hit); and the per-CPU budget
# changed between 0, 64 KiB, 4 MiB and the default, each lowering
# trimming every CPU under the hit paths; on a generic KASAN kernel the
# quarantine switched off (emptied) and on in turn, so that frees take both
# the quarantine and the free hit path
Q=/sys/module/ka/parameters/quarantine
(n=0
budget=$(cat $D/pcpu_budget)
while [ ! -f /tmp/done ]; do
	echo 1 >$D/drain && n=$((n + 1))
	case $((n % 4)) in
	0) echo "$budget" ;; 1) echo 0 ;; 2) echo 64 ;; *) echo 4096 ;;
	esac >$D/pcpu_budget
	[ ! -w $Q ] || echo $(((n / 2) % 2)) >$Q
	sleep 0.2
done
echo "$budget" >$D/pcpu_budget
[ ! -w $Q ] || echo 1 >$Q
echo $n >/tmp/drains) &
drainer=$!
(n=0
while [ ! -f /tmp/done ]; do
	for c in $(ls -d /sys/devices/system/cpu/cpu[1-9]* 2>/dev/null); do
		[ -f /tmp/done ] && break
		echo 0 >$c/online && n=$((n + 1))
		sleep 1
		echo 1 >$c/online
	done
done
echo $n >/tmp/hotplugs) &
plugger=$!

refused_before=$(stat_of refused_frees)
# shellcheck disable=SC2086 # one word per parameter
ka_insmod_ktap "$stress_limit" stress insmod_ka_stress /ka/ka_stress.ko $stress_args || status=1
refused=$(( $(stat_of refused_frees) - refused_before ))
touch /tmp/done
wait $reader $plugger $drainer
ka_msg "KA-NOTE: stress: $(grep -o 'ka_stress: .*' /tmp/stress.dmesg | head -n 1)"
# ka_stress frees only what it allocated: a refused free is an object ka
# handed out twice (or a stale free it then caught)
ka_msg "KA-NOTE: stress: ka_stress $stress_args: ka refused $refused frees"
no_refused_frees() { [ "$refused" = 0 ]; }
ka_step stress_no_refused_frees no_refused_frees || status=1
ka_step stress_within_budget within_budget || status=1
ka_msg "KA-NOTE: stress: CPUs taken offline $(cat /tmp/hotplugs), drains $(cat /tmp/drains), page failures injected $((1000 - $(cat $D/fail_page/times)))"
echo 0 >$D/fail_page/probability
if [ -d $F ]; then
	echo 0 >$F/probability
	ka_msg "KA-NOTE: stress: fail_page_alloc failed $((300 - $(cat $F/times))) allocations of order >= 9"
fi

if [ -d $T/events/ka ]; then
	echo 0 >$T/events/ka/ka_alloc/enable
	trace_has_ka_alloc() { grep -q ' ka_alloc: call_site=' $T/trace; }
	ka_step tracepoint_ka_alloc_seen trace_has_ka_alloc || status=1
	echo >$T/trace
fi

all_online() {
	[ "$(cat /sys/devices/system/cpu/online)" = "$(cat /sys/devices/system/cpu/present)" ]
}
ka_step all_cpus_back_online all_online || status=1

echo 1 >$D/drain
cat $D/stats >/tmp/stats
ka_put stats-after-drain /tmp/stats
nothing_held() {
	[ "$(stat_of bytes_in_use)" = 0 ] && [ "$(stat_of pages_held)" = 0 ] &&
		[ "$(stat_of allocs)" = "$(stat_of frees)" ]
}
ka_step drained_ka_holds_nothing nothing_held || status=1
ka_step rmmod_ka_stress rmmod ka_stress || status=1

# fail_page_alloc alone (ka's fail_page off): with no chunk left, the first
# chunk ka asks for fails at order 7 (KA_CHUNK_ORDER) and ka must take a
# smaller order
fallbacks() { awk '$1 == "heap" { n += $12 } END { print n + 0 }' $D/stats; }
if [ -d $F ]; then
	echo 1 >$D/drain
	fb_before=$(fallbacks)
	echo 100 >$F/probability
	echo 3 >$F/times
	ka_insmod_within 120 stress-1s insmod_ka_stress_1s_fail_page_alloc /ka/ka_stress.ko seconds=1 || status=1
	echo 0 >$F/probability
	injected=$((3 - $(cat $F/times)))
	fb_after=$(fallbacks)
	ka_msg "KA-NOTE: stress: fail_page_alloc alone: $injected failures, chunk fallbacks $fb_before -> $fb_after"
	fell_back() { [ "$injected" -gt 0 ] && [ "$fb_after" -gt "$fb_before" ]; }
	ka_step fail_page_alloc_sends_ka_to_smaller_orders fell_back || status=1
	ka_step rmmod_ka_stress_1s rmmod ka_stress || status=1
fi
ka_step rmmod_ka rmmod ka || status=1
ka_put tainted /proc/sys/kernel/tainted
exit $status
