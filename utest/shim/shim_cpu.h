/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The emulated CPUs of the userspace shim (shim_cpu.c): what the kernel
 * gives the per-CPU layer (mod/ka/mcache.c, api.c, cache.c) - CPUs that
 * threads run on, preemption, migration, interrupts, per-CPU memory, CPU
 * hotplug and per-CPU work - so that those files build unchanged.
 *
 * A thread "is" on a CPU while it holds that CPU's run lock: at any time
 * at most one thread runs on each CPU, as a CPU runs one task.  A thread
 * leaves its CPU only where the kernel could switch tasks:
 *  - a sleep (mutex, synchronize_rcu(), flush of a work, a sleeping lock
 *    on PREEMPT_RT): it gives the CPU up and takes one again after;
 *  - a preemption point (preempt_enable() to 0, migrate_enable(), a
 *    this_cpu operation or numa_mem_id() in preemptible code, a
 *    spin_unlock(), rcu_read_unlock(), cond_resched()), when the
 *    scheduling mode lets it (shim_sched below);
 * and it comes back on the same CPU while migration is disabled (or it is
 * a per-CPU worker), on any online CPU otherwise (if shim_sched.migrate).
 * preempt_disable() and spinlocks on !PREEMPT_RT keep the thread on its
 * CPU: no one else runs there until it enables preemption again.
 *
 * Interrupts: a test hook (ka_mcache_test_hook, or shim_preempt_hook) runs on
 * the interrupted thread with shim_irq_enter()/shim_irq_exit() around it,
 * as an interrupt runs on the interrupted task's stack and CPU.
 *
 * Per-CPU memory is one mapping of SHIM_PCPU_UNIT bytes per CPU: CPU c's
 * copy of a per-CPU object is at its CPU 0 address + c * SHIM_PCPU_UNIT,
 * which is what per_cpu_ptr() computes, as the kernel adds a CPU's offset.
 */
#ifndef _KA_SHIM_CPU_H
#define _KA_SHIM_CPU_H

#include <linux/types.h>

#define SHIM_MAX_CPUS		64
#define SHIM_PCPU_UNIT		(1UL << 20)

struct kunit;

/* A thread's task state (current). */
struct task_struct {
	int cpu;		/* the CPU it runs on; -1: none */
	int preempt;		/* preempt_disable() depth */
	int migrate;		/* migrate_disable() depth */
	int irq;		/* in an emulated interrupt */
	bool bound;		/* a per-CPU worker: never migrates */
	unsigned long moves;	/* times it came back on another CPU */
	unsigned int rnd;	/* its scheduling decisions */
	struct kunit *kunit_test;
};

extern __thread struct task_struct shim_task;
#define current	(&shim_task)

/*
 * The scheduling mode, set before threads start:
 * @preempt_rate: a preemption point switches tasks once in this many
 *	times (0: never - only sleeps and cond_resched() switch, as on a
 *	PREEMPT_NONE kernel)
 * @resched_rate: the same for cond_resched() (0: never)
 * @migrate: a thread that leaves its CPU may come back on another one
 */
struct shim_sched {
	unsigned int preempt_rate;
	unsigned int resched_rate;
	bool migrate;
};

extern struct shim_sched shim_sched;
extern int nr_cpu_ids;
extern int shim_cpu_node[SHIM_MAX_CPUS];
extern unsigned long shim_pcpu_base;

/*
 * Called at every preemption point where a switch could happen (before
 * the shim's own decision), for the fuzzer to decide: it may run other
 * work "as another task" there, or move the thread with shim_migrate_to().
 */
extern void (*shim_preempt_hook)(void);

void shim_cpu_init(int nr_cpus, int nr_nodes);
void shim_cpu_enter(int cpu);
void shim_cpu_leave(void);
void shim_run_on(int cpu);
void shim_migrate_to(int cpu);
void shim_preempt_point(void);
void shim_cond_resched(void);
struct shim_sleep {
	int cpu;
	bool same;
};
struct shim_sleep shim_sleep_begin(void);
void shim_sleep_end(struct shim_sleep s);
void shim_irq_enter(void);
void shim_irq_exit(void);
bool shim_cpu_is_online(int cpu);
int shim_this_cpu(void);
void shim_cpu_down(int cpu);
void shim_cpu_up(int cpu);
void shim_run_timers(void);

static inline bool shim_preemptible(void)
{
	return !shim_task.preempt && !shim_task.irq;
}

#endif
