# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Guest side of `scripts/bench --smoke`, run by scripts/vm-run (helpers from
# /ka/lib.sh).  Loads ka and ka_bench smoke=1, sends ka_bench's messages as
# files/bench.dmesg (KTAP: one test, ka_bench_smoke, with the measurements
# as diagnostic lines), and checks that every object ka_bench took from ka
# came back: ka's allocs and frees counters must be equal after the unload.
status=0
stat() {
	awk -v k="$1" '$1 == k { print $2 }' /sys/kernel/debug/ka/stats
}
if ka_step insmod_ka insmod /ka/ka.ko; then
	dmesg -c >/dev/null
	ka_step insmod_ka_bench insmod /ka/ka_bench.ko smoke=1 || status=1
	dmesg >/tmp/bench.dmesg
	ka_put bench.dmesg /tmp/bench.dmesg
	ka_step rmmod_ka_bench rmmod ka_bench || status=1
	allocs=$(stat allocs)
	frees=$(stat frees)
	ka_msg "KA-BENCH-BALANCE: allocs=$allocs frees=$frees"
	[ -n "$allocs" ] && [ "$allocs" = "$frees" ] || status=1
	ka_put_dir debugfs /sys/kernel/debug/ka
	ka_step rmmod_ka rmmod ka || status=1
else
	status=1
fi
ka_put tainted /proc/sys/kernel/tainted
exit $status
