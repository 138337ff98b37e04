# SPDX-License-Identifier: GPL-2.0
# Guest side of scripts/check's kasan-suite stages: the kernel's own KASAN
# KUnit suite (scripts/kasan-suite-build) on slab, then on ka, in one boot
# with ka.ko loaded.  Each run's kernel log goes to the host gzipped
# (kasan-slab.dmesg.gz, kasan-ka.dmesg.gz), which compares them
# (scripts/kasan-suite-report); the console gets only messages above
# KERN_ERR meanwhile, as for ka_kasan (debug.sh).  Runs under busybox sh
# with the helpers of /ka/lib.sh.
status=0
kunit_limit=$(cat /ka/kunit-limit 2>/dev/null || echo 600)

# suite NAME MODULE
suite() {
	dmesg -c >/dev/null
	ka_mark "kasan-$1"
	level=$(cut -f1 /proc/sys/kernel/printk)
	echo 3 >/proc/sys/kernel/printk
	ka_insmod_within "$kunit_limit" "kasan-$1" "insmod_kasan_suite_$1" "$2" || status=1
	echo "$level" >/proc/sys/kernel/printk
	dmesg >"/tmp/kasan-$1.dmesg"
	gzip -c "/tmp/kasan-$1.dmesg" >"/tmp/kasan-$1.dmesg.gz"
	ka_put "kasan-$1.dmesg.gz" "/tmp/kasan-$1.dmesg.gz"
	ka_step "rmmod_kasan_suite_$1" rmmod "kasan_suite_$1" || status=1
}

ka_step insmod_ka insmod /ka/ka.ko || exit 1
suite slab /ka/kasan_suite_slab.ko
suite ka /ka/kasan_suite_ka.ko
# the suite leaves some objects allocated on purpose (invalid frees)
cat /sys/kernel/debug/ka/stats >/tmp/stats
ka_put stats /tmp/stats
ka_step rmmod_ka rmmod ka || status=1
ka_put tainted /proc/sys/kernel/tainted
exit $status
