/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/rcupdate.h>.
 *
 * Real grace periods (shim.c): a reader bumps a per-thread counter on entry
 * and exit of its outermost section - rcu_read_lock(), a preempt-disabled
 * region or a spinlock, as the kernel's RCU flavours are one -
 * synchronize_rcu() waits for every thread seen inside a section to leave
 * it, giving its CPU up meanwhile (a reader may need it).  Read-side
 * sections are preemptible (PREEMPT_RCU): rcu_read_unlock() is a
 * preemption point.  kfree_rcu() queues the object
 * through its rcu_head; the harness frees the queue, after a grace period,
 * with shim_rcu_barrier() from a point where it holds no lock and is in no
 * read-side section.  call_rcu() callbacks run there too; rcu_barrier() is
 * shim_rcu_barrier().
 */
#ifndef _KA_SHIM_LINUX_RCUPDATE_H
#define _KA_SHIM_LINUX_RCUPDATE_H

#include <linux/kernel.h>

void rcu_read_lock(void);
void rcu_read_unlock(void);
bool rcu_read_lock_any_held(void);
void synchronize_rcu(void);
void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void shim_rcu_barrier(void);

#define rcu_barrier()	shim_rcu_barrier()

#define rcu_dereference_check(p, c) ({					\
	WARN_ON(!(c));							\
	__atomic_load_n(&(p), __ATOMIC_ACQUIRE);			\
})
#define rcu_dereference(p)	rcu_dereference_check(p, rcu_read_lock_any_held())
#define rcu_dereference_protected(p, c) ({ WARN_ON(!(c)); (p); })
#define rcu_access_pointer(p)	__atomic_load_n(&(p), __ATOMIC_RELAXED)
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define RCU_INIT_POINTER(p, v)	__atomic_store_n(&(p), (v), __ATOMIC_RELAXED)

/* As the kernel's: the rcu_head carries the offset in place of a callback. */
#define kfree_rcu(p, field)						\
	call_rcu(&(p)->field, (void (*)(struct rcu_head *))		\
		 offsetof(__typeof__(*(p)), field))

#endif
