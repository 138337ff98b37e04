# SPDX-License-Identifier: GPL-2.0
# Guest side of scripts/check, stage "debug" (debug test kernel).
# Runs under busybox sh with the helpers of /ka/lib.sh (scripts/vm-run).
status=0
# How long a KUnit module's insmod may take (the host's /ka/kunit-limit).
kunit_limit=$(cat /ka/kunit-limit 2>/dev/null || echo 600)

ka_kmemleak_since

# ka_kasan_kunit.ko, when the host sent it (a generic KASAN kernel): it
# provokes KASAN reports in ka objects and counts them.  kasan_suite MARK
# STEP_SUFFIX; the kernel log goes to the host as MARK.dmesg, which the host
# scans: the console gets only messages above KERN_ERR meanwhile, as some
# 3000 lines of reports through the emulated UART starve a loaded guest
# (RCU stalls, "irq 4: nobody cared").
kasan_suite() {
	[ -f /ka/ka_kasan_kunit.ko ] || return 0
	dmesg -c >/dev/null
	ka_mark "$1"
	level=$(cut -f1 /proc/sys/kernel/printk)
	echo 3 >/proc/sys/kernel/printk
	ka_insmod_within "$kunit_limit" "$1" "insmod_ka_kasan_kunit$2" /ka/ka_kasan_kunit.ko || status=1
	echo "$level" >/proc/sys/kernel/printk
	dmesg >"/tmp/$1.dmesg"
	# some 200 KB of reports: compressed, as a flood on the message port
	# drew "irq 3: nobody cared" from the PREEMPT_RT kernel
	gzip -c "/tmp/$1.dmesg" >"/tmp/$1.dmesg.gz"
	ka_put "$1.dmesg.gz" "/tmp/$1.dmesg.gz"
	ka_step "rmmod_ka_kasan_kunit$2" rmmod ka_kasan_kunit || status=1
}

if ka_step insmod_ka insmod /ka/ka.ko; then
	ka_insmod_ktap "$kunit_limit" kunit insmod_ka_kunit /ka/ka_kunit.ko || status=1
	ka_step rmmod_ka_kunit rmmod ka_kunit || status=1
	kasan_suite kunit-kasan ""

	ka_insmod_ktap "$kunit_limit" demo insmod_ka_demo /ka/ka_demo.ko || status=1
	ka_step rmmod_ka_demo rmmod ka_demo || status=1

	ka_put_dir debugfs /sys/kernel/debug/ka
	ka_step rmmod_ka rmmod ka || status=1
else
	status=1
fi

# ka's debug mode and its own suite, when the host sent that suite.
if [ -f /ka/ka_debug_kunit.ko ] &&
   ka_step insmod_ka_debug insmod /ka/ka.ko debug=1; then
	dmesg -c >/dev/null
	ka_mark kunit-debug
	ka_insmod_within "$kunit_limit" kunit-debug insmod_ka_debug_kunit /ka/ka_debug_kunit.ko || status=1
	ka_step rmmod_ka_debug_kunit rmmod ka_debug_kunit || status=1
	# and the main suites again, everything now poisoned and redzoned
	ka_insmod_within "$kunit_limit" kunit-debug insmod_ka_kunit_debug_mode /ka/ka_kunit.ko || status=1
	ka_step rmmod_ka_kunit_debug_mode rmmod ka_kunit || status=1
	dmesg >/tmp/kunit-debug.dmesg
	ka_put kunit-debug.dmesg /tmp/kunit-debug.dmesg
	kasan_suite kunit-kasan-debug _debug_mode
	ka_step rmmod_ka_debug rmmod ka || status=1
elif [ -f /ka/ka_debug_kunit.ko ]; then
	status=1
fi

# A client that leaks (ka_demo workload=1 leak=1, some 2000 objects, small
# and large): ka names what was never freed when it is unloaded and gives
# the pages back; kmemleak, which ka told of every object, must forget
# them, or the scans below report them (and once slab reuses a page,
# kmemleak finds an overlap and disables itself).
if ka_step insmod_ka_leaky_client insmod /ka/ka.ko; then
	ka_step insmod_ka_demo_leak insmod /ka/ka_demo.ko workload=1 leak=1 || status=1
	ka_step rmmod_ka_demo_leak rmmod ka_demo || status=1
	dmesg -c >/dev/null
	ka_step rmmod_ka_leaked rmmod ka || status=1
	ka_step ka_names_the_leak sh -c 'dmesg | grep -q "ka: node 0: .* never freed"' || status=1
else
	status=1
fi

ka_kmemleak_put || ka_msg "KA-NOTE: no /sys/kernel/debug/kmemleak"
ka_put tainted /proc/sys/kernel/tainted
echo "tainted: $(cat /proc/sys/kernel/tainted)"
exit $status
