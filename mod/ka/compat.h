/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka compat: every kernel-version-dependent API ka uses, in one place.
 * ka is built and tested on 6.1 and 6.12 (stock and PREEMPT_RT); the
 * guards below also cover what changed up to 6.15.  Nothing older than
 * 6.1 is built: struct_group_tagged() is guarded for 5.15, but api.c's
 * virt_to_folio() (5.16) is not.  Add a guard here rather than in a layer.
 */
#ifndef _KA_COMPAT_H
#define _KA_COMPAT_H

#include <linux/version.h>

/*
 * 64-bit only: KA_GOLDEN_RATIO, the multiplier of the double-free tags
 * (span.c) and of the profile's seeds, is a 64-bit unsigned long, and ka
 * is built and tested on x86_64 alone.
 */
#ifndef CONFIG_64BIT
#error "ka needs a 64-bit kernel"
#endif
#include <linux/mmzone.h>
#include <linux/module.h>

/* The largest buddy order: MAX_ORDER was exclusive before 6.4, inclusive
 * in 6.4 .. 6.7, and renamed MAX_PAGE_ORDER in 6.8.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define KA_MAX_BUDDY_ORDER	MAX_PAGE_ORDER
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define KA_MAX_BUDDY_ORDER	MAX_ORDER
#else
#define KA_MAX_BUDDY_ORDER	(MAX_ORDER - 1)
#endif

/* struct_group_tagged() came in 5.16 (struct ka_mheap's counters). */
#ifndef struct_group_tagged
#define struct_group_tagged(TAG, NAME, MEMBERS...)	\
	union {						\
		struct { MEMBERS };			\
		struct TAG { MEMBERS } NAME;		\
	}
#endif

/* Symbol namespaces became string literals in 6.13. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define KA_EXPORT_INTERNAL(sym)	EXPORT_SYMBOL_NS_GPL(sym, "KA_INTERNAL")
#define KA_IMPORT_INTERNAL()	MODULE_IMPORT_NS("KA_INTERNAL")
#else
#define KA_EXPORT_INTERNAL(sym)	EXPORT_SYMBOL_NS_GPL(sym, KA_INTERNAL)
#define KA_IMPORT_INTERNAL()	MODULE_IMPORT_NS(KA_INTERNAL)
#endif

/* Shrinkers: register_shrinker(s, fmt, ...) in 6.0 .. 6.6, shrinker_alloc()
 * from 6.7, register_shrinker(s) before 6.0.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define KA_SHRINKER_ALLOC	1
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
#define ka_register_shrinker(s, name)	register_shrinker(s, name)
#else
#define ka_register_shrinker(s, name)	register_shrinker(s)
#endif

/*
 * struct ka_cpu_lock: a per-CPU lock that may be try-acquired from any
 * context: Linux 6.15's local_trylock_t, open-coded the same way before
 * it.  The macros take the __percpu address of the struct.
 *
 * !PREEMPT_RT: preempt_disable() and an "acquired" flag of this CPU's;
 * no interrupt disabling and no atomic read-modify-write.  A trylock
 * fails only when it interrupted the holder on its own CPU (a hard or
 * soft irq); ka_cpu_lock(), for task context only, cannot find it held.
 * PREEMPT_RT: local_lock_t is a per-CPU spinlock_t (an rt_mutex); the
 * trylock disables migration and spin_trylock()s this CPU's lock, and
 * fails when another task on this CPU holds it (or in hard irq/NMI).
 */
#include <linux/local_lock.h>
#include <linux/preempt.h>
#include <linux/hardirq.h>

struct ka_cpu_lock {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
	local_trylock_t lock;
#elif defined(CONFIG_PREEMPT_RT)
	local_lock_t lock;	/* a spinlock_t */
#else
	local_lock_t lock;	/* lockdep map and owner only */
	u8 acquired;
#endif
};

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define ka_cpu_lock_init(l)	local_trylock_init(&(l)->lock)
#define ka_cpu_trylock(pl)	local_trylock(&(pl)->lock)
#define ka_cpu_lock(pl)		local_lock(&(pl)->lock)
#define ka_cpu_unlock(pl)	local_unlock(&(pl)->lock)
#elif defined(CONFIG_PREEMPT_RT)
#define ka_cpu_lock_init(l)	local_lock_init(&(l)->lock)
#define ka_cpu_trylock(pl)					\
	({							\
		int __ok = 0;					\
								\
		if (!(in_nmi() | in_hardirq())) {		\
			migrate_disable();			\
			__ok = spin_trylock(this_cpu_ptr(&(pl)->lock)); \
			if (!__ok)				\
				migrate_enable();		\
		}						\
		__ok;						\
	})
#define ka_cpu_lock(pl)		local_lock(&(pl)->lock)
#define ka_cpu_unlock(pl)	local_unlock(&(pl)->lock)
#else
#define ka_cpu_lock_init(l)					\
	do {							\
		local_lock_init(&(l)->lock);			\
		(l)->acquired = 0;				\
	} while (0)

#ifdef CONFIG_DEBUG_LOCK_ALLOC
/* A trylock: lockdep marks no irq usage for it (see mark_usage()). */
static inline void ka_cpu_lock_acquire_try(local_lock_t *l)
{
	lock_map_acquire_try(&l->dep_map);
	DEBUG_LOCKS_WARN_ON(l->owner);
	l->owner = current;
}
#else
static inline void ka_cpu_lock_acquire_try(local_lock_t *l) { }
#endif

#define ka_cpu_trylock(pl)					\
	({							\
		int __ok = 0;					\
								\
		preempt_disable();				\
		if (likely(!this_cpu_read((pl)->acquired))) {	\
			this_cpu_write((pl)->acquired, 1);	\
			ka_cpu_lock_acquire_try(this_cpu_ptr(&(pl)->lock)); \
			__ok = 1;				\
		} else {					\
			preempt_enable();			\
		}						\
		__ok;						\
	})
/*
 * The flag first, then lockdep's acquire (as 6.15's local_lock() of a
 * local_trylock_t does): an interrupt in between fails its trylock and
 * leaves lockdep's owner alone.  The other order let an interrupt's
 * trylock succeed after local_lock_acquire() (DEBUG_LOCKS_WARN_ON(l->owner)
 * in stress-6.1, a drain work interrupted by ka_stress's hrtimer).
 */
#define ka_cpu_lock(pl)						\
	do {							\
		preempt_disable();				\
		WARN_ON_ONCE(this_cpu_read((pl)->acquired));	\
		this_cpu_write((pl)->acquired, 1);		\
		barrier();					\
		local_lock_acquire(this_cpu_ptr(&(pl)->lock));	\
	} while (0)
#define ka_cpu_unlock(pl)					\
	do {							\
		local_lock_release(this_cpu_ptr(&(pl)->lock));	\
		barrier();					\
		this_cpu_write((pl)->acquired, 0);		\
		preempt_enable();				\
	} while (0)
#endif

/* kfree_rcu() of a struct with an rcu_head is available everywhere. */

/*
 * Generic KASAN: kasan_poison() is exported (EXPORT_SYMBOL in 6.1,
 * EXPORT_SYMBOL_GPL in 6.12) but declared, with the shadow values, only in
 * mm/kasan/kasan.h.  It sets the shadow of [addr, addr + size), both
 * multiples of the 8-byte granule, to @value: 0 for accessible, k in 1..7
 * for "the first k bytes of the granule", or a poison value; @init is
 * for the hardware tag mode only.  kasan_{disable,enable}_current() are
 * declared in <linux/kasan.h> (empty inlines without KASAN).
 */
#include <linux/kasan.h>
#if IS_ENABLED(CONFIG_KASAN_GENERIC)
void kasan_poison(const void *addr, size_t size, u8 value, bool init);
/* also mm/kasan/kasan.h, EXPORT_SYMBOL_GPL; for the ka_kasan suite */
bool kasan_save_enable_multi_shot(void);
void kasan_restore_multi_shot(bool enabled);
/* 6.1's report path looks for a KUnit resource named "kasan_status" */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define KA_KASAN_KUNIT_STATUS
#endif
#define KA_KASAN_GRANULE	(1UL << KASAN_SHADOW_SCALE_SHIFT)
#endif
/*
 * ksize() made the whole object accessible to KASAN until 6.2 (commit
 * 38931d8989b5, "mm: Make ksize() a reporting-only function"); since, it
 * only reports, and kfree_sensitive() unpoisons what it clears itself.
 * ka_ksize(), ksize() for include/ka_redirect.h, does as this kernel's.
 */
#define KA_KSIZE_UNPOISONS	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0))
#include "ka_shadow.h"

/*
 * ka_cpu_sub_negative(var, val): subtract @val from this CPU's @var (a
 * long) and tell whether the result is negative, safe against preemption
 * and interrupts: on x86-64 one instruction and a branch on its sign flag
 * (the heap profile's count-down on ka_alloc()'s hit path),
 * this_cpu_sub_return() elsewhere.  x86's per-CPU operands became named
 * address space accesses (__my_cpu_var()) in 6.8.
 */
#if defined(CONFIG_X86_64) && defined(CONFIG_SMP)
#include <asm/percpu.h>
#ifdef __my_cpu_var
#define KA_PCPU_OPERAND(var)	__my_cpu_var(var)
#else
#define KA_PCPU_OPERAND(var)	var
#endif
#define ka_cpu_sub_negative(var, val)					\
({									\
	bool neg__;							\
	asm volatile("subq %[v], " __percpu_arg([m])			\
		     : [m] "+m" (KA_PCPU_OPERAND(var)), "=@ccs" (neg__)	\
		     : [v] "er" ((long)(val)));				\
	neg__;								\
})
#else
#define ka_cpu_sub_negative(var, val)	(this_cpu_sub_return(var, val) < 0)
#endif

/*
 * The SLAB_* flags a ka_cache accepts (cache.c): SLAB_MEM_SPREAD went in
 * 6.9 (a no-op since), SLAB_NO_MERGE came in 6.5.
 */
#include <linux/slab.h>
#ifdef SLAB_MEM_SPREAD
#define KA_CACHE_FLAGS_SPREAD	SLAB_MEM_SPREAD
#else
#define KA_CACHE_FLAGS_SPREAD	0
#endif
#ifdef SLAB_NO_MERGE
#define KA_CACHE_FLAGS_NO_MERGE	SLAB_NO_MERGE
#else
#define KA_CACHE_FLAGS_NO_MERGE	0
#endif
#define KA_CACHE_FLAGS	(SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT | \
			 SLAB_RECLAIM_ACCOUNT | SLAB_PANIC | SLAB_NOLEAKTRACE | \
			 SLAB_TYPESAFE_BY_RCU | \
			 KA_CACHE_FLAGS_SPREAD | KA_CACHE_FLAGS_NO_MERGE)

#endif /* _KA_COMPAT_H */
