/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: the part of <linux/atomic.h> the layers use, on the
 * compiler's __atomic builtins (fully ordered where the kernel's value-
 * returning operations are).
 */
#ifndef _KA_SHIM_LINUX_ATOMIC_H
#define _KA_SHIM_LINUX_ATOMIC_H

typedef struct {
	long counter;
} atomic_long_t;

#define xchg(ptr, v)	__atomic_exchange_n((ptr), (v), __ATOMIC_SEQ_CST)

#define ATOMIC_LONG_INIT(i)	{ (i) }

static inline void atomic_long_inc(atomic_long_t *v)
{
	__atomic_fetch_add(&v->counter, 1, __ATOMIC_RELAXED);
}

static inline void atomic_long_dec(atomic_long_t *v)
{
	__atomic_fetch_sub(&v->counter, 1, __ATOMIC_RELAXED);
}

static inline void atomic_long_add(long i, atomic_long_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic_long_sub(long i, atomic_long_t *v)
{
	__atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED);
}

static inline long atomic_long_read(const atomic_long_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic_long_set(atomic_long_t *v, long i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic_long_or(long i, atomic_long_t *v)
{
	__atomic_fetch_or(&v->counter, i, __ATOMIC_RELAXED);
}

static inline long atomic_long_xchg(atomic_long_t *v, long i)
{
	return __atomic_exchange_n(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline long atomic_long_fetch_or(long i, atomic_long_t *v)
{
	return __atomic_fetch_or(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline void atomic_long_andnot(long i, atomic_long_t *v)
{
	__atomic_fetch_and(&v->counter, ~i, __ATOMIC_RELAXED);
}

static inline bool atomic_long_try_cmpxchg(atomic_long_t *v, long *old,
					   long new)
{
	return __atomic_compare_exchange_n(&v->counter, old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* the kernel's: with the RMW before it, a full barrier */
#define smp_mb__after_atomic()	__atomic_thread_fence(__ATOMIC_SEQ_CST)

static inline bool test_and_set_bit(long nr, unsigned long *addr)
{
	unsigned long bit = 1UL << (nr % (8 * sizeof(long)));

	return __atomic_fetch_or(addr + nr / (8 * sizeof(long)), bit,
				 __ATOMIC_SEQ_CST) & bit;
}

static inline bool test_and_clear_bit(long nr, unsigned long *addr)
{
	unsigned long bit = 1UL << (nr % (8 * sizeof(long)));

	return __atomic_fetch_and(addr + nr / (8 * sizeof(long)), ~bit,
				  __ATOMIC_SEQ_CST) & bit;
}

#endif
