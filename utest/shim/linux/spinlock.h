/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/spinlock.h>, <linux/lockdep.h>, local_lock_t.
 *
 * A spinlock is a mutex that knows its owner, so lockdep_assert_held()
 * checks that this thread holds it and a recursive acquisition is caught.
 * Holding one is an RCU read-side section, as a preempt-disabled region is
 * in the kernel; shim.c also counts the locks a thread holds, so that an
 * allocation under a ka lock is caught.
 */
#ifndef _KA_SHIM_LINUX_SPINLOCK_H
#define _KA_SHIM_LINUX_SPINLOCK_H

#include <pthread.h>
#include <linux/kernel.h>

typedef struct {
	pthread_mutex_t mutex;
	int owner;		/* shim_tid() of the holder, 0 if free */
	const char *name;
} spinlock_t;

typedef struct {
	int unused;
} local_lock_t;

#define __SPIN_LOCK_UNLOCKED(n)	{ PTHREAD_MUTEX_INITIALIZER, 0, #n }
#define DEFINE_SPINLOCK(x)	spinlock_t x = __SPIN_LOCK_UNLOCKED(x)

int shim_tid(void);
void shim_spin_lock_init(spinlock_t *lock, const char *name);
void shim_spin_lock(spinlock_t *lock);
void shim_spin_unlock(spinlock_t *lock);

static inline bool shim_spin_held(spinlock_t *lock)
{
	return __atomic_load_n(&lock->owner, __ATOMIC_RELAXED) == shim_tid();
}

#define spin_lock_init(l)	shim_spin_lock_init(l, #l)
#define spin_lock(l)		shim_spin_lock(l)
#define spin_unlock(l)		shim_spin_unlock(l)
#define spin_lock_irqsave(l, flags) \
	do { (flags) = 0; shim_spin_lock(l); } while (0)
#define spin_unlock_irqrestore(l, flags) \
	do { (void)(flags); shim_spin_unlock(l); } while (0)

#define lockdep_is_held(l)	shim_spin_held(l)
#define lockdep_assert_held(l)	WARN_ON(!shim_spin_held(l))

#endif
