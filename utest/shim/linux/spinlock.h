/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/spinlock.h>, <linux/lockdep.h>.
 *
 * A spinlock is a mutex that knows its owner, so lockdep_assert_held()
 * checks that this thread holds it and a recursive acquisition is caught.
 * As in the kernel: on !PREEMPT_RT a spinlock disables preemption (the
 * holder keeps its CPU, a waiter spins on its own); on PREEMPT_RT it is a
 * sleeping lock taken with migration disabled, and a waiter gives its CPU
 * up.  Both are RCU read-side sections.  shim.c counts the locks a thread
 * holds (not the per-CPU local locks of PREEMPT_RT), so that an
 * allocation under a ka lock is caught.  A raw spinlock is the !RT kind
 * on both.
 */
#ifndef _KA_SHIM_LINUX_SPINLOCK_H
#define _KA_SHIM_LINUX_SPINLOCK_H

#include <pthread.h>
#include <linux/kernel.h>
#include <linux/preempt.h>

typedef struct {
	pthread_mutex_t mutex;
	int owner;		/* shim_tid() of the holder, 0 if free */
	const char *name;
	bool local;		/* a per-CPU local_lock_t (PREEMPT_RT) */
	bool raw;
} spinlock_t;

typedef spinlock_t raw_spinlock_t;

#define __SPIN_LOCK_UNLOCKED(n)	{ PTHREAD_MUTEX_INITIALIZER, 0, #n, false, false }
#define DEFINE_SPINLOCK(x)	spinlock_t x = __SPIN_LOCK_UNLOCKED(x)
#define DEFINE_RAW_SPINLOCK(x)						\
	raw_spinlock_t x = { PTHREAD_MUTEX_INITIALIZER, 0, #x, false, true }

int shim_tid(void);
void shim_spin_lock_init(spinlock_t *lock, const char *name);
void shim_local_lock_init(spinlock_t *lock);
void shim_spin_lock(spinlock_t *lock);
int shim_spin_trylock(spinlock_t *lock);
void shim_spin_unlock(spinlock_t *lock);

static inline bool shim_spin_held(spinlock_t *lock)
{
	return __atomic_load_n(&lock->owner, __ATOMIC_RELAXED) == shim_tid();
}

#define spin_lock_init(l)	shim_spin_lock_init(l, #l)
#define spin_lock(l)		shim_spin_lock(l)
#define spin_trylock(l)		shim_spin_trylock(l)
#define spin_unlock(l)		shim_spin_unlock(l)
#define spin_lock_irqsave(l, flags) \
	do { (flags) = 0; shim_spin_lock(l); } while (0)
#define spin_unlock_irqrestore(l, flags) \
	do { (void)(flags); shim_spin_unlock(l); } while (0)
#define raw_spin_lock_irqsave(l, flags)		spin_lock_irqsave(l, flags)
#define raw_spin_unlock_irqrestore(l, flags)	spin_unlock_irqrestore(l, flags)

#define lockdep_is_held(l)	shim_spin_held(l)
#define lockdep_assert_held(l)	WARN_ON(!shim_spin_held(l))

#endif
