/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/local_lock.h> as the kernel defines it on
 * !PREEMPT_RT with CONFIG_DEBUG_LOCK_ALLOC (lockdep's owner checks: the
 * map, no dependency graph) and on PREEMPT_RT (a per-CPU spinlock_t, taken
 * with migration disabled).  mod/ka/compat.h builds its per-CPU trylock on
 * these, unchanged.
 */
#ifndef _KA_SHIM_LINUX_LOCAL_LOCK_H
#define _KA_SHIM_LINUX_LOCAL_LOCK_H

#include <linux/preempt.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>

#ifdef CONFIG_PREEMPT_RT

typedef spinlock_t local_lock_t;

#define local_lock_init(l)	shim_local_lock_init(l)
#define local_lock(l) do {						\
	migrate_disable();						\
	spin_lock(this_cpu_ptr(l));					\
} while (0)
#define local_unlock(l) do {						\
	spin_unlock(this_cpu_ptr(l));					\
	migrate_enable();						\
} while (0)

#else

struct lockdep_map {
	int unused;
};

typedef struct {
	struct lockdep_map dep_map;
	struct task_struct *owner;
} local_lock_t;

#define DEBUG_LOCKS_WARN_ON(c)		WARN_ON(c)
#define lock_map_acquire_try(m)		do { } while (0)

#define local_lock_init(l)	do { (l)->owner = NULL; } while (0)

static inline void local_lock_acquire(local_lock_t *l)
{
	DEBUG_LOCKS_WARN_ON(l->owner);
	l->owner = current;
}

static inline void local_lock_release(local_lock_t *l)
{
	DEBUG_LOCKS_WARN_ON(l->owner != current);
	l->owner = NULL;
}

#define local_lock(l) do {						\
	preempt_disable();						\
	local_lock_acquire(this_cpu_ptr(l));				\
} while (0)
#define local_unlock(l) do {						\
	local_lock_release(this_cpu_ptr(l));				\
	preempt_enable();						\
} while (0)

#endif

#endif
