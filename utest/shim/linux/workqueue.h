/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/workqueue.h>.  A work queued on a CPU runs at
 * once, in the caller's thread, as a worker bound to that CPU: the thread
 * gives its own CPU up, runs the work on that one (waiting for it as a
 * worker waits to be scheduled there) and comes back - the schedule in
 * which the worker ran first.  flush_work() then has nothing to wait for.
 * A delayed work waits for the harness's shim_run_timers(), which runs
 * the expired ones on the calling thread's CPU.
 */
#ifndef _KA_SHIM_LINUX_WORKQUEUE_H
#define _KA_SHIM_LINUX_WORKQUEUE_H

#include <linux/kernel.h>

struct work_struct;
typedef void (*work_func_t)(struct work_struct *work);

struct work_struct {
	work_func_t func;
};

struct delayed_work {
	struct work_struct work;
	bool pending;
};

struct workqueue_struct;
extern struct workqueue_struct *system_wq, *system_highpri_wq,
	*system_unbound_wq;

#define INIT_WORK(w, f)		((w)->func = (f))
#define DECLARE_DEFERRABLE_WORK(n, f)					\
	struct delayed_work n = { .work = { .func = (f) } }
#define DECLARE_DELAYED_WORK(n, f)	DECLARE_DEFERRABLE_WORK(n, f)

bool queue_work_on(int cpu, struct workqueue_struct *wq,
		   struct work_struct *work);
bool flush_work(struct work_struct *work);
bool cancel_work_sync(struct work_struct *work);
bool queue_delayed_work(struct workqueue_struct *wq, struct delayed_work *dw,
			unsigned long delay);
bool mod_delayed_work(struct workqueue_struct *wq, struct delayed_work *dw,
		      unsigned long delay);
bool cancel_delayed_work_sync(struct delayed_work *dw);

#endif
