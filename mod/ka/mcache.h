/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcache.h - the per-CPU caches (Go's mcache) and the protocol that owns
 * them; mcache.c explains it and argues it per preemption model.
 *
 * utest builds it too, with mcache.c, api.c and cache.c, against its shim
 * (utest/utest.mk).
 */
#ifndef _KA_MCACHE_H
#define _KA_MCACHE_H

#include <linux/percpu.h>
#include <linux/jump_label.h>
#include "ka_internal.h"
#include "hooks.h"

/*
 * struct ka_magazine - one CPU's stack of free objects of one size class
 * @objs: the slots; objs[0 .. top - objs) hold objects, the newest on top
 * @top: the next free slot; written only by the magazine's owner (the
 *	holder of its CPU's ka_mcache.lock), read locklessly by statistics
 * @end: past the last usable slot: objs + the magazine's capacity, which
 *	adapts by use within the CPU's byte budget (mcache.c, "Capacity");
 *	written only by the owner, like @top.  The slots behind @objs run to
 *	objs + ka_class.cache_max, the most a magazine of the class may hold
 * @nr_*: statistics of this CPU, changed with this_cpu ops only: a caller
 *	that finds the magazines busy counts into the same fields
 *
 * Bounds as pointers: a pop or push is a compare with one of them and a
 * step of @top, with no index arithmetic.  1 << KA_MAG_SHIFT bytes each (a
 * cache line on x86), so that the hit paths index them by a shift.
 */
struct ka_magazine {
	void **objs;
	void **top;
	void **end;
	unsigned long nr_alloc;		/* objects handed out on this CPU */
	unsigned long nr_free;		/* objects freed on this CPU */
	unsigned long nr_miss;		/* allocations the magazine did not serve */
	unsigned long nr_refill;
	unsigned long nr_flush;
} __aligned(1 << KA_MAG_SHIFT);

/*
 * struct ka_owned - one CPU's spans of one class, and how its magazine has
 * been used: the slow-path half of the CPU's cache of the class
 * @active: the span the magazine is filled from and the CPU's frees of its
 *	objects go to (ka_span.fastkey is the CPU's key), or NULL
 * @partial: other spans the CPU owns that have free objects (ka_span.olink)
 * @full: spans it owns with every object out (KA_RS_FULL set)
 * @stash: empty spans it keeps for the next switch, @nstash of them
 * @pending: spans of @full that another CPU freed into (ka_span.pnode,
 *	KA_RS_PEND set): the only field others write, with llist_add()
 * @seen: nr_alloc + nr_free of the magazine at the last trim pass:
 *	unchanged at the next one means the class was idle on this CPU
 * @stamp: the CPU's miss count (ka_mcache.nr_adapt) at its last miss: the
 *	least recently missed classes give up capacity first
 * @last: the direction of its last miss (enum ka_mag_miss), 0 if none
 *
 * Owner only (the holder of the CPU's ka_mcache.lock), or the CPU dead, but
 * @pending.  Classes of one object per span (!ka_class_owned()) own no
 * spans and use @seen, @stamp and @last only.
 */
struct ka_owned {
	struct ka_span *active;
	struct list_head partial;
	struct list_head full;
	struct list_head stash;
	unsigned int nstash;
	struct llist_head pending;
	unsigned long seen;
	unsigned int stamp;
	u8 last;
};

/* Why a magazine missed: it was empty on an allocation, full on a free. */
enum ka_mag_miss {
	KA_MISS_UNDER = 1,
	KA_MISS_OVER,
};

/*
 * struct ka_mcache - one CPU's caches
 * @mag: a magazine per size class
 * @lock: owns every magazine and span of this CPU (see mcache.c)
 * @fastkey: @ownkey (see ka_span.fastkey), or KA_FASTKEY_HOOKS while every
 *	free must take the slow path
 * @ownkey: this CPU's number + 1: its spans' owner in ka_span.rstate and
 *	its active spans' ka_span.fastkey
 * @nr_owned: spans this CPU owns, all classes; owner only, read locklessly
 *	by the periodic trim
 * @cap_bytes: sum over the classes of capacity x object size, at most
 *	ka_pcpu_budget; owner only, read locklessly by statistics
 * @nr_grow, @nr_shrink: capacity changes, owner only
 * @nr_adapt: misses seen by the capacity logic, owner only (the clock of
 *	ka_owned.stamp)
 * @steal_none: what ka_mag_steal() found nothing to take from since the
 *	last trim pass or growth (bits of enum ka_steal), owner only
 * @owned: per class, the spans the CPU owns and what the capacity is decided
 *	from
 *
 * The hit paths use @mag, @lock and @fastkey only: everything after them
 * is for the slow paths and does not move the hit paths' offsets.
 */
struct ka_mcache {
	struct ka_magazine mag[KA_MAX_CLASSES];	/* first: no offset to add */
	struct ka_cpu_lock lock;
	unsigned int fastkey;
	unsigned int ownkey;
	u64 rnd;		/* xorshift64 state for random_reuse; owner only */
	/* this_cpu_inc() counters */
	unsigned long nr_large_alloc;
	unsigned long nr_large_free;
	unsigned long nr_remote_free;	/* frees of objects of another node */
	unsigned long nr_failed;	/* allocations that returned NULL */
	unsigned long nr_busy;		/* calls that found the magazines owned */
	unsigned long nr_atomic;	/* PREEMPT_RT: calls refused in atomic context */
	/* capacity: owner only */
	unsigned long cap_bytes;
	unsigned long nr_grow;
	unsigned long nr_shrink;
	unsigned int nr_adapt;
	u8 steal_none;
	unsigned long nr_owned;
	struct ka_owned owned[KA_MAX_CLASSES];
};

extern struct ka_mcache __percpu *ka_mcache;
/* Bytes of objects each CPU's magazines may be sized for, all classes. */
extern unsigned long ka_pcpu_budget;
/* The largest budget accepted, in KiB: more than all classes at full. */
#define KA_PCPU_BUDGET_MAX_KB	(1024 * 1024)

/*
 * A class or cache in use keeps at least 1/KA_MAG_FLOOR_DIV of the budget
 * (at most a batch; at least one object if that is at most
 * 1/KA_MAG_FLOOR_ONE_DIV of the budget; a class of one object per span a
 * batch, as far as the budget holds it) whatever the others want
 * (mcache.c, ka_mag_floor()).
 */
#define KA_MAG_FLOOR_DIV	128
#define KA_MAG_FLOOR_ONE_DIV	32

/* Empty spans a class may keep per CPU (ka_owned.stash), within the budget. */
#define KA_STASH_MAX	1

/* A fastkey no span has (a span's is 0 or a CPU's number + 1). */
#define KA_FASTKEY_HOOKS	UINT_MAX

/* This CPU's magazine for requests of @size bytes (see ka_size_magoff()). */
static __always_inline struct ka_magazine __percpu *
ka_mag_of_size(struct ka_mcache __percpu *pcpu, size_t size)
{
	return (struct ka_magazine __percpu *)((void __percpu *)pcpu +
					       ka_size_magoff(size));
}

/* This CPU's magazine of @span's class (see ka_span.magoff). */
static __always_inline struct ka_magazine __percpu *
ka_mag_of_span(struct ka_mcache __percpu *pcpu, const struct ka_span *span)
{
	return (struct ka_magazine __percpu *)((void __percpu *)pcpu +
					       span->magoff);
}

/* ---- ownership ---- */

/**
 * ka_mcache_trylock - take this CPU's magazines, without waiting
 * @pcpu: ka_mcache (a hit path passes it in a register: the lock's compiler
 *	  barriers would otherwise reload the global)
 *
 * Fails when the magazines are owned by code this call interrupted (!RT) or
 * by another task on this CPU (PREEMPT_RT); the caller then takes a path
 * that does not touch them.  On success the caller stays on this CPU until
 * ka_mcache_unlock(), and is in an RCU read-side section (on !RT preemption is
 * off; on RT, where only migration is, rcu_read_lock() is taken too).
 *
 * Context: any on !PREEMPT_RT; on PREEMPT_RT preemptible task context.
 * Return: true if the magazines are now the caller's.
 */
static __always_inline bool ka_mcache_trylock(struct ka_mcache __percpu *pcpu)
{
	if (!ka_cpu_trylock(&pcpu->lock))
		return false;
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		rcu_read_lock();
	return true;
}

/**
 * ka_mcache_lock - take this CPU's magazines, waiting if need be (PREEMPT_RT)
 * @pcpu: ka_mcache
 *
 * On !RT the magazines cannot be owned when task context asks (their owner
 * would have preemption disabled, or be an interrupt that has finished).
 *
 * Context: task context, preemptible on PREEMPT_RT.
 */
static __always_inline void ka_mcache_lock(struct ka_mcache __percpu *pcpu)
{
	ka_cpu_lock(&pcpu->lock);
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		rcu_read_lock();
}

/* Give this CPU's magazines up.  Context: their owner. */
static __always_inline void ka_mcache_unlock(struct ka_mcache __percpu *pcpu)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		rcu_read_unlock();
	ka_cpu_unlock(&pcpu->lock);
}

/**
 * ka_mcache_context_ok - may ka's locks be taken here?
 *
 * On PREEMPT_RT ka's spinlocks sleep, so, as for kmalloc, ka may not be
 * called from hard irq, under a raw spinlock or with preemption or
 * interrupts disabled; the API refuses such calls instead of sleeping in
 * atomic context.  Always true on !PREEMPT_RT (no code at all).
 */
static __always_inline bool ka_mcache_context_ok(void)
{
	return !IS_ENABLED(CONFIG_PREEMPT_RT) || preemptible();
}

/* ---- a magazine, for its owner ---- */

/* Objects held: exact for the owner, a snapshot for anyone else. */
static inline unsigned int ka_mag_count(const struct ka_magazine *m)
{
	return READ_ONCE(m->top) - m->objs;
}

/* Capacity in objects: exact for the owner, a snapshot for anyone else. */
static inline unsigned int ka_mag_cap(const struct ka_magazine *m)
{
	return READ_ONCE(m->end) - m->objs;
}

/*
 * Pop this CPU's magazine @pm (&ka_mcache->mag[cls]) into *@p; false if it is
 * empty.  this_cpu ops, so no pointer to the CPU's data is computed on the
 * hit path.  Context: owner.
 */
static __always_inline bool ka_mag_pop(struct ka_magazine __percpu *pm,
				       void **p)
{
	void **top = this_cpu_read(pm->top);

	if (unlikely(top == this_cpu_read(pm->objs)))
		return false;
	*p = *--top;
	this_cpu_write(pm->top, top);
	return true;
}

/* Push @p on this CPU's magazine @pm; false if full.  Context: owner. */
static __always_inline bool ka_mag_push(struct ka_magazine __percpu *pm,
					void *p)
{
	void **top = this_cpu_read(pm->top);

	if (unlikely(top == this_cpu_read(pm->end)))
		return false;
	*top++ = p;
	this_cpu_write(pm->top, top);
	return true;
}

/*
 * Test points: the KUnit suite may run a hook at named points inside the
 * owner's sections, as an interrupt (!RT) or a preempting task (RT) would,
 * to force every interleaving.  Compiled only into KUnit kernels' builds.
 */
enum ka_mcache_point {
	KA_MP_POP,		/* alloc hit: owner, before the pop */
	KA_MP_PUSH,		/* free hit: owner, before the push */
	KA_MP_REFILL,		/* refill: batch taken, before storing it */
	KA_MP_FLUSH,		/* flush: objects given back, before the move */
	KA_MP_BULK,		/* bulk alloc: before taking from the magazine */
	KA_MP_OWNFREE,		/* free into a span the CPU owns: before the bit */
	KA_MP_GIVE,		/* spans given back: before the first */
	KA_MP_NR,
};

#if IS_ENABLED(CONFIG_KUNIT)
extern void (*ka_mcache_test_hook)(enum ka_mcache_point pt);

static __always_inline void ka_mcache_point(enum ka_mcache_point pt)
{
	void (*hook)(enum ka_mcache_point pt) = READ_ONCE(ka_mcache_test_hook);

	if (unlikely(hook))
		hook(pt);
}
#else
static __always_inline void ka_mcache_point(enum ka_mcache_point pt) { }
#endif

/*
 * struct ka_cache_cpu - a ka_cache's share of one CPU: its magazine and,
 * for a class whose spans CPUs own, the spans this CPU owns for it, under
 * the CPU's ka_mcache->lock like the size classes'.
 */
struct ka_cache_cpu {
	struct ka_magazine mag;
	struct ka_owned owned;
};

/*
 * struct ka_mcache_share - what mcache.c knows of a ka_cache: its per-CPU
 * shares and where its spans come from.  Embedded in struct ka_cache
 * (cache.c), which registers it on creation and takes it off on destroy
 * (ka_mcache_share_add(), ka_mcache_share_del()), so that the per-CPU
 * works (drain, trim, CPU offline) walk the caches' shares here, and
 * reached from a span of the cache through its mcentral
 * (ka_mcentral.share).
 * @pcpu: the shares
 * @central: the cache's central list per node, NULL where no heap
 * @cls: the cache's size class
 * @list: on mcache.c's list of shares (ka_share_lock)
 */
struct ka_mcache_share {
	struct ka_cache_cpu __percpu *pcpu;
	struct ka_mcentral **central;
	unsigned int cls;
	struct list_head list;
};

/*
 * One class of a CPU's cache, as the span code (mcache.c) works on it: a
 * size class's magazine and spans in struct ka_mcache, or a ka_cache's
 * share.  The CPU's own, or a dead CPU's.
 */
struct ka_mcache_class {
	struct ka_magazine *m;
	struct ka_owned *s;
	struct ka_mcache_share *share;	/* NULL: size class @cls */
	unsigned int cls;
};

/* cache.c's, for the tests */
struct ka_magazine __percpu *ka_cache_mag(struct ka_cache *c);
struct ka_owned *ka_cache_owned(struct ka_cache *c, int cpu);
unsigned int ka_cache_cls(const struct ka_cache *c);
/* mcache.c's, for cache.c */
void ka_mcache_share_add(struct ka_mcache_share *sh);
void ka_mcache_share_del(struct ka_mcache_share *sh);
unsigned int ka_mcache_give_share(int cpu, struct ka_mcache_share *sh,
				  bool idle_only);
void ka_mcache_give_cache_all(struct ka_mcache_share *sh);

/* api.c's helper that cache.c shares */
bool ka_obj_free_confirm(const struct ka_span *span, const void *p);
/* cache.c's, for api.c */
bool ka_cache_holds(const struct ka_cache *c, const void *p);
bool ka_cache_tagged(const struct ka_cache *c);

int ka_mcache_init(void);
void ka_mcache_exit(void);
void *ka_mcache_refill_alloc(unsigned int cls, gfp_t gfp);
void *ka_mcache_refill_cache(struct ka_mcache_share *sh, gfp_t gfp);
unsigned int ka_mcache_alloc_bulk(unsigned int cls, void **p, unsigned int n,
				  unsigned int *hits, gfp_t gfp);
void ka_mcache_flush_cpu(struct ka_mcache *mc);
void ka_mcache_flush_class(struct ka_mcache *mc, struct ka_magazine *m,
			   unsigned int cls, unsigned int n);
void ka_mcache_drain_all(void);
void ka_mcache_set_fastkeys(bool hooks);
void ka_mcache_drain_async(void);
void ka_mcache_overflow(struct ka_magazine *m, unsigned int cls,
			struct ka_span *span, void *p);
void ka_mcache_cache_overflow(struct ka_mcache_share *sh,
			      struct ka_magazine *m, struct ka_span *span,
			      void *p);
void ka_mcache_set_budget(unsigned long bytes);
void ka_mcache_trim_all(void);
void ka_mcache_trim_pause(bool pause);
void ka_mcache_free_owned(struct ka_span *span, void *p);
/*
 * Two policies utest's memsim compares with their alternatives (mcache.c):
 * constants in the kernel, variables memsim sets in userspace.
 */
#ifdef __KERNEL__
#define ka_mcache_full_hot	true
#define ka_mcache_one_floor	true
#else
extern bool ka_mcache_full_hot, ka_mcache_one_floor;
#endif
void ka_mcache_free_remote(struct ka_span *span, const void *p);
bool ka_mag_holds(struct ka_magazine __percpu *mag, const void *p);
bool ka_mcache_holds(unsigned int cls, const void *p);

/*
 * May this CPU take the free of an object of @span into its own cache?
 * A class whose spans CPUs own (@owned): if it owns the span; a class of
 * one object per span: if the span is of its node.  Context: owner.
 */
static __always_inline bool ka_mcache_span_mine(const struct ka_span *span,
						bool owned)
{
	return owned ? ka_rs_owner(atomic_long_read(&span->rstate)) ==
		       this_cpu_read(ka_mcache->ownkey) :
		       span->node == numa_mem_id();
}

/**
 * ka_mcache_free_local - free an object into this CPU's cache
 * @sh: the share of the ka_cache @p is of (cache.c), or NULL: a size
 *	class's object (api.c)
 * @pm: this CPU's magazine of @sh or of size class @cls
 * @cls: the class
 * @span: the span of @p, ka_mcache_span_mine()
 * @p: the object, its checks and free hooks run
 *
 * The free of ka_free()'s and ka_cache_free()'s slow paths alike: an
 * object of a partly used span of this CPU's back into its bitmap
 * (ka_mcache_free_owned(): see ka_owned_set(), mcache.c), anything else
 * pushed on the magazine; a full magazine grows or flushes a batch
 * (ka_mcache_overflow(), ka_mcache_cache_overflow()).
 *
 * Context: this CPU's magazines owned.
 */
static __always_inline void ka_mcache_free_local(struct ka_mcache_share *sh,
						 struct ka_magazine __percpu *pm,
						 unsigned int cls,
						 struct ka_span *span, void *p)
{
	this_cpu_inc(pm->nr_free);
	if (ka_class_owned(&ka_classes[cls]) &&
	    (span->olist == KA_OL_PARTIAL ||
	     (span->olist == KA_OL_FULL && !ka_mcache_full_hot))) {
		ka_mcache_free_owned(span, p);
		return;
	}
	ka_mcache_point(KA_MP_PUSH);
	if (likely(ka_mag_push(pm, p)))
		return;
	if (sh)
		ka_mcache_cache_overflow(sh, this_cpu_ptr(pm), span, p);
	else
		ka_mcache_overflow(this_cpu_ptr(pm), cls, span, p);
}

#endif /* _KA_MCACHE_H */
