/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/preempt.h>, <linux/hardirq.h>, migrate_disable()
 * on the emulated CPUs (shim_cpu.h).  A preempt-disabled region keeps the
 * thread on its CPU and is an RCU read-side section, as in the kernel; it
 * ends at a preemption point.
 */
#ifndef _KA_SHIM_LINUX_PREEMPT_H
#define _KA_SHIM_LINUX_PREEMPT_H

#include <linux/compiler.h>
#include "../shim_cpu.h"

void shim_rcu_enter(void);
void shim_rcu_exit(void);

#define preempt_disable() do {						\
	shim_task.preempt++;						\
	shim_rcu_enter();						\
	barrier();							\
} while (0)

#define preempt_enable() do {						\
	barrier();							\
	shim_rcu_exit();						\
	if (!--shim_task.preempt)					\
		shim_preempt_point();					\
} while (0)

#define migrate_disable() do {						\
	shim_task.migrate++;						\
	barrier();							\
} while (0)

#define migrate_enable() do {						\
	barrier();							\
	if (!--shim_task.migrate)					\
		shim_preempt_point();					\
} while (0)

#define preemptible()	shim_preemptible()
#define in_nmi()	0
#define in_hardirq()	(shim_task.irq != 0)
#define in_interrupt()	(shim_task.irq != 0)
#define in_task()	(!shim_task.irq)

#define cond_resched()	shim_cond_resched()

#endif
