# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Guest side of `scripts/bench --only replay` and of make check's
# replay-smoke stage, run by scripts/vm-run (--stall 0) with fd 3 open on
# the data channel.  The traces are in /lib/firmware/ka-replay/NAME.kar.  The
# kernel command line selects the run:
#   ka_replay_run=icount   per trace: backend none, kmalloc, ka, mode=timed,
#                          threads=1 (every CPU's stream in one thread)
#   ka_replay_run=wall     per trace: kmalloc then ka, mode=timed on every
#                          vCPU (wall clock), then mode=check with the
#                          memory after the replay, after 5 s idle and
#                          after the shrinkers (KB-REPLAYMEM lines) and the
#                          samples sent as files/samples-TRACE-BACKEND,
#                          ka's debugfs caches after the shrinkers as
#                          files/kacaches-TRACE
#   ka_replay_run=smoke    per trace: ka, mode=check, one thread per vCPU
#   ka_replay_traces=a,b   the traces (default: every one there)
#   ka_args=a=1+b=2        ka.ko parameters
# Lines for the host: KB-LOG (kernel messages, the replay's result lines
# among them), KB-REPLAYMEM, KB-STEP, KB-EXIT (last).

# shellcheck source=scripts/guest/bench-lib.sh
. /ka/bench-lib.sh

run=$(sed -n 's/.*ka_replay_run=\([a-z]*\).*/\1/p' /proc/cmdline)
traces=$(sed -n 's/.*ka_replay_traces=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
ka_args=$(sed -n 's/.*ka_args=\([^ ]*\).*/\1/p' /proc/cmdline | tr '+' ' ')
[ -n "$traces" ] || traces=$(cd /lib/firmware/ka-replay && ls | sed -n 's/\.kar$//p')
status=0
kb_msg "KB-START run=$run traces=$traces cpus=$(grep -c '^processor' /proc/cpuinfo) cmdline=$(cat /proc/cmdline)"
dmesg -c >/dev/null
# shellcheck disable=SC2086
if ! kb_step insmod_ka insmod /ka/ka.ko $ka_args; then
	kb_flush
	kb_exit 1
fi
kb_flush

# replay TRACE BACKEND MODE [PARAM...]: one load, then its messages
replay() {
	_t=$1 _b=$2 _m=$3
	shift 3
	kb_step "replay_${_t}_${_b}_$_m" insmod /ka/ka_replay.ko \
		"trace=ka-replay/$_t.kar" "backend=$_b" "mode=$_m" "$@" || status=1
	kb_flush
}

# The memory the replay's allocator holds now (the module's measure), with
# ka's own figures when the backend is ka.
replay_mem() {
	_d=/sys/kernel/debug/ka_replay/mem
	_ka=
	[ "$3" = ka ] && _ka=" $(kb_ka_figures)"
	kb_msg "KB-REPLAYMEM trace=$1 alloc=$3 phase=$2 $(awk '{ printf "%s=%s ", $1, $2 }' $_d)free_kb=$(kb_free_now)$_ka"
}

[ "$run" = icount ] && kb_quiet ka_replay
for t in $traces; do
	case $run in
	icount)
		for b in none kmalloc ka; do
			kb_free_shrunk >/dev/null
			replay "$t" $b timed threads=1
			rmmod ka_replay 2>/dev/null
		done
		;;
	wall)
		for b in kmalloc ka; do
			kb_free_shrunk >/dev/null
			replay "$t" $b timed reps=3
			rmmod ka_replay 2>/dev/null
		done
		for b in kmalloc ka; do
			kb_free_shrunk >/dev/null
			replay "$t" $b check
			[ -e /sys/kernel/debug/ka_replay/mem ] || continue
			replay_mem "$t" end $b
			sleep 5
			replay_mem "$t" idle5s $b
			kb_free_shrunk >/dev/null
			replay_mem "$t" shrunk $b
			# where ka's pages are after the shrinkers: per cache
			[ $b = ka ] && ka_put "kacaches-$t" /sys/kernel/debug/ka/caches
			cp /sys/kernel/debug/ka_replay/samples /tmp/samples
			ka_put "samples-$t-$b" /tmp/samples
			kb_step "rmmod_${t}_$b" rmmod ka_replay || status=1
			kb_flush
		done
		;;
	smoke)
		replay "$t" ka check
		kb_step "rmmod_${t}_ka" rmmod ka_replay || status=1
		kb_flush
		;;
	*)
		kb_msg "KB-LOG ka_replay: unknown run '$run'"
		status=1
		;;
	esac
done

kb_step rmmod_ka rmmod ka || status=1
kb_flush
kb_msg "KB-TAINT $(cat /proc/sys/kernel/tainted)"
kb_exit $status
