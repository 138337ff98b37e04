# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Guest side of scripts/trace-capture, run by scripts/vm-run (--stall 0: no
# heartbeat beside the workloads).  The kernel booted with the kmem
# tracepoints on (trace_event=kmem:kmalloc,... trace_clock=global
# trace_options=nooverwrite): the ring buffers hold the boot's allocations.
# /ka/capture.conf sets WORKLOADS (boot fs net xcpu), NET_CONNS (wget
# connections per CPU) and XCPU_MSGS (datagrams per sender).
#
# Each workload: empty the buffers, tracing on, run, tracing off, copy the
# buffers (kar-guest dump) to /tmp/t/WORKLOAD/.  At the end, the tracepoints'
# formats, the ring buffer's page header, the slab caches' attributes and
# /proc/kallsyms go to /tmp/t/, and /tmp/t is written as a tar onto
# /dev/vda, the disk the host reads back.
T=/sys/kernel/tracing
echo 0 >$T/tracing_on
status=0
. /ka/capture.conf
ncpu=$(grep -c '^processor' /proc/cpuinfo)
mkdir -p /tmp/t

# The ring buffers into /tmp/t/$1, with what the tracer dropped.
save() {
	mkdir -p "/tmp/t/$1"
	ka_step "dump_$1" /ka/kar-guest dump "/tmp/t/$1" || status=1
	ka_msg "KA-TRACE: $1 $(cat /tmp/t/"$1"/cpu*.stats | awk '/^read events:/ { e += $3 } /^overrun:/ { o += $2 } /^dropped events:/ { d += $3 } END { printf "events=%d overrun=%d dropped=%d", e, o, d }')"
}

# Run workload $1 (function wl_$1) with tracing on, then save it.
traced() {
	echo >$T/trace
	echo 1 >$T/tracing_on
	ka_step "run_$1" "wl_$1" || status=1
	echo 0 >$T/tracing_on
	save "$1"
}

# (2) a tree onto ext4 on a loop device, walked, grepped and deleted
wl_fs() {
	losetup /dev/loop0 /tmp/ext4.img &&
		mount -t ext4 /dev/loop0 /mnt &&
		tar -xf /ka/fs.tar -C /mnt &&
		echo "files: $(find /mnt -type f | wc -l)" &&
		echo "grep: $(grep -r -l kmalloc /mnt | wc -l) files name kmalloc" &&
		rm -rf /mnt/linux-source-6.1 &&
		umount /mnt &&
		losetup -d /dev/loop0
}

# (3) many short TCP connections over loopback: busybox httpd and wget,
# one client loop per CPU
wl_net() {
	httpd -p 127.0.0.1:8080 -h /tmp/www || return 1
	c=0
	pids=
	while [ $c -lt "$ncpu" ]; do
		taskset -c $c sh -c "i=0; while [ \$i -lt $NET_CONNS ]; do wget -q -O /dev/null http://127.0.0.1:8080/page.html || exit 1; i=\$((i + 1)); done" &
		pids="$pids $!"
		c=$((c + 1))
	done
	rc=0
	for p in $pids; do
		wait "$p" || rc=1
	done
	killall httpd
	return $rc
}

# (4) cross-CPU frees: datagrams between processes pinned to different CPUs
wl_xcpu() {
	/ka/kar-guest xcpu "$ncpu" "$XCPU_MSGS"
}

for w in $WORKLOADS; do
	[ "$w" = boot ] && save boot
done

# What the other workloads need, loaded with tracing off.
for m in /ka/mods/*.ko; do
	[ -e "$m" ] || continue
	# vm-run's /init may have loaded virtio_pci for its data channel
	_n=${m##*/}
	_n=${_n#*-}
	[ ! -d "/sys/module/${_n%.ko}" ] || continue
	ka_step "insmod_${m##*/}" insmod "$m" || status=1
done
case " $WORKLOADS " in
*" fs "*)
	mkdir -p /mnt
	zcat /ka/ext4.img.gz >/tmp/ext4.img || status=1
	;;
esac
case " $WORKLOADS " in
*" net "*)
	ifconfig lo 127.0.0.1 up
	mkdir -p /tmp/www
	# a page of 16 KiB
	i=0
	while [ $i -lt 256 ]; do
		echo "line $i of a page served to wget over loopback, sixty-four b"
		i=$((i + 1))
	done >/tmp/www/page.html
	;;
esac

for w in $WORKLOADS; do
	[ "$w" = boot ] || traced "$w"
done

# The formats of the events and of the ring buffer's pages.
for e in kmalloc kfree kmem_cache_alloc kmem_cache_free; do
	cp $T/events/kmem/$e/format "/tmp/t/format.$e"
done
cp $T/events/header_page /tmp/t/header_page
cp $T/events/header_event /tmp/t/header_event
cat $T/trace_clock >/tmp/t/trace_clock
uname -r >/tmp/t/uname
echo "$ncpu" >/tmp/t/ncpu
# Every slab cache's attributes (merged caches' aliases are symlinks).
(cd /sys/kernel/slab && grep -H . ./*/object_size ./*/slab_size ./*/align \
	./*/hwcache_align ./*/reclaim_account ./*/destroy_by_rcu ./*/cache_dma \
	2>/dev/null) >/tmp/t/slabattrs
cat /proc/slabinfo >/tmp/t/slabinfo
echo 0 >/proc/sys/kernel/kptr_restrict
cat /proc/kallsyms >/tmp/t/kallsyms
du -s /tmp/t
ka_step write_disk tar -cf /dev/vda -C /tmp/t . || status=1
sync
exit $status
