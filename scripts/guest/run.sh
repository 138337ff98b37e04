# SPDX-License-Identifier: GPL-2.0
# Guest side of `make run` (scripts/run): load ka and the demo with a
# workload kept alive, show ka's debugfs files and send them to the host.
# Runs under busybox sh with the helpers of /ka/lib.sh (scripts/vm-run).
ka_step insmod_ka insmod /ka/ka.ko || exit 1
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
		echo "===== $f"
		cat "$f"
	done
}
show /sys/kernel/debug/ka
ka_put_dir debugfs /sys/kernel/debug/ka

ka_step rmmod_ka_demo rmmod ka_demo || exit 1
ka_step rmmod_ka rmmod ka || exit 1
