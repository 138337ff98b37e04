# SPDX-License-Identifier: GPL-2.0
# Guest side of `make run` (scripts/run): load ka (heap profile on) and the
# demo with a workload kept alive, show ka's debugfs files and send them
# and the heap profile to the host.
# Runs under busybox sh with the helpers of /ka/lib.sh (scripts/vm-run).
# the heap profile samples every 64 KiB (Go's default is 512 KiB)
ka_step insmod_ka insmod /ka/ka.ko profile_rate=65536 || exit 1
dmesg -c >/dev/null
ka_mark demo
ka_step insmod_ka_demo insmod /ka/ka_demo.ko workload=1 || exit 1
dmesg >/tmp/demo.dmesg
ka_put demo.dmesg /tmp/demo.dmesg

show() {
	for f in "$1"/*; do
		if [ -d "$f" ]; then
			show "$f"
			continue
		fi
		case $(busybox stat -c %A "$f") in ?r*) ;; *) continue ;; esac
		case $f in */heap) continue ;; esac	# binary: go tool pprof
		echo "===== $f"
		cat "$f"
	done
}
show /sys/kernel/debug/ka
ka_put_dir debugfs /sys/kernel/debug/ka
cat /sys/kernel/debug/ka/heap >/tmp/heap.pb
ka_put heap.pb /tmp/heap.pb

ka_step rmmod_ka_demo rmmod ka_demo || exit 1
ka_step rmmod_ka rmmod ka || exit 1
