# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Guest side of scripts/bench, run by scripts/vm-run (--stall 0: no
# heartbeat beside it) with fd 3 open on the data channel.
# The kernel command line selects the run:
#   ka_bench_run=icount|icount_mem|wall|mem8   what to run
#   ka_bench_args=a=1+b=2                 extra ka_bench.ko parameters
#   ka_args=a=1+b=2                       ka.ko parameters
#   ka_bench_lite=p1,p2                   patterns run without the sizes
#                                         above 4 KiB (where zeroing 64 KiB
#                                         objects would only cost time)
#   ka_bench_no64k=p1,p2                  patterns run without 65536
# Every line for the host starts with KB-: KB-LOG (a kernel message),
# KB-STAT (ka's debugfs counters at a point), KB-MEM8 (the mem8 run's
# free memory and ka's figures at a point), KB-MEMPARTS (where the memory
# is at that point), KB-STEP, KB-EXIT (the script's
# exit status, last).

# shellcheck source=scripts/guest/bench-lib.sh
. /ka/bench-lib.sh

kb_run=$(sed -n 's/.*ka_bench_run=\([a-z0-9_]*\).*/\1/p' /proc/cmdline)
kb_args=$(sed -n 's/.*ka_bench_args=\([^ ]*\).*/\1/p' /proc/cmdline | tr '+' ' ')
kb_ka_args=$(sed -n 's/.*ka_args=\([^ ]*\).*/\1/p' /proc/cmdline | tr '+' ' ')
kb_lite=$(sed -n 's/.*ka_bench_lite=\([^ ]*\).*/\1/p' /proc/cmdline)
kb_no64k=$(sed -n 's/.*ka_bench_no64k=\([^ ]*\).*/\1/p' /proc/cmdline)
kb_status=0
kb_msg "KB-START run=$kb_run args=$kb_args cpus=$(grep -c '^processor' /proc/cpuinfo) cmdline=$(cat /proc/cmdline)"

dmesg -c >/dev/null
# shellcheck disable=SC2086
if ! kb_step insmod_ka insmod /ka/ka.ko $kb_ka_args; then
	kb_flush
	kb_exit 1
fi
kb_flush

case $kb_run in
icount | icount_mem)
	kb_quiet
	# One load per pattern: a short dmesg each time, and progress.
	for p in pair batch16 batch256 batch4096 random bulk16 bulk256; do
		sz=
		case ",$kb_lite," in
		*",$p,"*) sz=sizes=8,16,64,128,256,1024,4096,0 ;;
		esac
		case ",$kb_no64k," in
		*",$p,"*) sz=sizes=8,16,64,128,256,1024,4096,16384,0 ;;
		esac
		# shellcheck disable=SC2086
		kb_step "icount_$p" insmod /ka/ka_bench.ko mode=icount patterns=$p $sz $kb_args || kb_status=1
		kb_flush
		rmmod ka_bench 2>/dev/null
	done
	;;
wall)
	# ka against kmalloc (the control: how well the host lets two vCPUs
	# run at once) at the sizes where the allocator, not zeroing, counts.
	# shellcheck disable=SC2086
	kb_step wall insmod /ka/ka_bench.ko mode=wall sizes=64,256,1024,4096,0 allocs=3 $kb_args || kb_status=1
	kb_flush
	rmmod ka_bench 2>/dev/null
	;;
esac

if [ "$kb_run" = mem8 ]; then
	# kmalloc first, then ka, each from the free memory before its load;
	# both keep their objects until the unload.
	for a in kmalloc ka; do
		mask=1
		[ $a = kmalloc ] && mask=2
		f0=$(kb_free_shrunk)
		kb_mem_parts $a base
		# shellcheck disable=SC2086
		if ! kb_step "mem8_$a" insmod /ka/ka_bench.ko mode=mem8 allocs=$mask $kb_args; then
			kb_status=1
			kb_flush
			continue
		fi
		kb_flush
		f1=$(kb_free_now)
		kb_msg "KB-MEM8 alloc=$a phase=live drop_kb=$((f0 - f1)) $(kb_ka_figures)"
		kb_mem_parts $a live
		# ka's spans and magazines while live: where its pages are
		if [ $a = ka ]; then
			awk '!/^#/ { print "KB-SPANS", $1, $2, $4, $5, $6 }' \
				/sys/kernel/debug/ka/spans >&3
			sed 's/^/KB-PERCPU /' /sys/kernel/debug/ka/percpu >&3
		fi
		# idle: what the CPUs give back by themselves (ka's trim work)
		sleep 5
		f1=$(kb_free_now)
		kb_msg "KB-MEM8 alloc=$a phase=idle5s drop_kb=$((f0 - f1)) $(kb_ka_figures)"
		kb_mem_parts $a idle5s
		f2=$(kb_free_shrunk)
		kb_msg "KB-MEM8 alloc=$a phase=shrunk drop_kb=$((f0 - f2)) $(kb_ka_figures)"
		kb_mem_parts $a shrunk
		# where ka's pages are once the caches are gone: for reading
		[ $a = ka ] && grep -E '^(class|heap|pages_|large_|heap_|meta_)' \
			/sys/kernel/debug/ka/stats | sed 's/^/KB-KASTAT /' >&3
		rmmod ka_bench || kb_status=1
		kb_flush
	done
fi

if [ "$kb_run" = icount_mem ]; then
	p=/sys/module/ka_bench/parameters/mem_step
	for max in 4096 32768; do
		echo 1 >/sys/kernel/debug/ka/drain
		kb_stat "mem max=$max phase=before"
		if ! kb_step "mem_$max" insmod /ka/ka_bench.ko mode=mem mem_max=$max; then
			kb_status=1
			kb_flush
			continue
		fi
		kb_flush
		kb_stat "mem max=$max phase=peak"
		echo half >$p
		kb_flush
		kb_stat "mem max=$max phase=half"
		echo 1 >/sys/kernel/debug/ka/drain
		kb_stat "mem max=$max phase=half_drained"
		rmmod ka_bench
		echo 1 >/sys/kernel/debug/ka/drain
		kb_stat "mem max=$max phase=after"
		kb_flush
	done
fi

kb_stat "final"
kb_step rmmod_ka rmmod ka || kb_status=1
kb_flush
kb_msg "KB-TAINT $(cat /proc/sys/kernel/tainted)"
kb_exit $kb_status
