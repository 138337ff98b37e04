// SPDX-License-Identifier: GPL-2.0
/*
 * ka per-CPU caches (Go's mcache).
 *
 * Spans a CPU owns.  As Go's mcache holds a span per size class, a CPU owns
 * spans: for each class whose spans hold several objects, one active span,
 * which it allocates from until no object of it is free, and the spans it
 * filled before (partly used, full, and an empty stash of up to
 * KA_STASH_MAX within the budget).  mcentral lends a span when the CPU has
 * none with a free object (ka_mcentral_take()); the CPU gives spans back
 * when a class stays idle for a trim pass, on drain and when it goes
 * offline.  Objects the owner frees go back into their spans (no lock, no
 * atomic) when its magazine overflows or is trimmed, so survivors of
 * random lifetimes stay packed in few spans and the emptied ones go back
 * (the magazines this replaced flushed to mcentral, which handed the
 * objects to any CPU, and refilled from any span: every span a class ever
 * used stayed partly occupied).  A free by any other CPU sets the object's
 * bit in the span's remote bitmap (one atomic) and, if the span sits on
 * its owner's full list, pushes it once onto the owner's pending list
 * (ka_mcache_free_remote(); KA_RS_FULL, KA_RS_PEND in ka_span.rstate); the
 * owner collects remote bits whenever it fills from a span.  No central
 * lock per object either way.
 *
 * Each CPU has, for every size class, a magazine: an array of free objects
 * used as a stack, so the most recently freed (cache-hot) object is handed
 * out first.  For a class whose spans CPUs own it holds objects of the
 * CPU's spans only: the allocation hit path pops it, the free hit path
 * pushes an object of one of them (ka_span.fastkey is the CPU's key while
 * it owns the span), a refill takes up to a batch of free objects out of
 * the active span's bitmap (then the next span's: partly used spans fill
 * up before an empty one starts), and a full magazine flushes its oldest
 * batch back into their spans - all the CPU's own, no lock.  The magazine
 * is the hot-reuse buffer (its capacity bounded by the budget below); the
 * spans are where the memory is.  For a class of one object
 * per span (nothing to keep together) a magazine is refilled with a batch
 * from the CPU's node's mcentral, taken with one lock acquisition, and a
 * full one flushes its oldest batch back there; it only ever holds objects
 * of its CPU's node.
 *
 * Ownership.  All magazines of a CPU are owned through one per-CPU lock,
 * ka_mcache->lock (struct ka_cpu_lock: Linux 6.15's local_trylock_t,
 * open-coded in compat.h before it), and nothing reads or writes a
 * magazine's slots or top without owning it: not the hit paths (ka_alloc()'s
 * pop, ka_free()'s push), not refill, flush, bulk, drain.  There is no
 * lockless reader, so there are no transaction ids; the only lockless
 * access is statistics reading a count.  The hit paths, and everything
 * that may run in interrupt context, take the lock with ka_mcache_trylock()
 * and never wait: when it fails an allocation takes one object from this
 * node's mcentral, and a free goes as another CPU's would (into the span's
 * remote bitmap, or to mcentral for a class of one object per span);
 * counted as "busy" in debugfs stats.  Only task-context code that must
 * reach the magazines (the drain, trim, budget and cache-destroy works)
 * waits, with ka_mcache_lock().
 *
 * Why this is exclusive, per preemption model:
 * - none, voluntary, full (!PREEMPT_RT): the trylock disables preemption
 *   and sets this CPU's "acquired" flag; no other task can run on the CPU
 *   until the owner unlocks, and no migration happens.  What can still run
 *   there is an interrupt (hard irq, softirq on irq exit, or an NMI, which
 *   ka does not support); it runs to completion inside the owner's section,
 *   finds the flag set, fails the trylock and leaves the magazines alone.
 *   Interrupts are never disabled and no atomic read-modify-write is used:
 *   the flag is a plain per-CPU store, ordered against the interrupts of
 *   its own CPU only, which is all it has to be.  Without
 *   CONFIG_PREEMPT_COUNT preempt_disable() is only a compiler barrier,
 *   which suffices: the sections never schedule.
 * - PREEMPT_RT: the lock is a per-CPU spinlock_t (an rt_mutex); the trylock
 *   disables migration and spin_trylock()s this CPU's lock.  Another task
 *   may preempt the owner on this CPU; its trylock fails, and it uses
 *   mcentral (whose spinlock_t may sleep, which is fine in the preemptible
 *   task context that RT requires of ka's callers).  ka refuses calls from
 *   hard irq and from atomic sections on RT (ka_mcache_context_ok()), as
 *   kmalloc may not be called there, rather than sleep in atomic context.
 *
 * The spans a CPU owns are its magazines' kin: their bitmaps, counts, the
 * CPU's lists and the active span's key are read and written only by the
 * holder of the same lock (or for a dead CPU), so the argument above makes
 * them exclusive too.  A caller that fails the trylock - an interrupt on
 * !RT, another task on RT - frees as a remote CPU does (atomics only) and
 * allocates from mcentral.  What others touch of a span is its remote
 * bitmap (test_and_set_bit(): a second remote free of an object finds its
 * bit set) and its ownership word (cmpxchg, to set KA_RS_PEND), plus the
 * owner's pending llist (llist_add()); the owner takes the bits with
 * xchg() and the list with llist_del_all().  Ordering, on every
 * preemption model: a freer sets its bit before it reads the ownership
 * word (test_and_set_bit() is fully ordered); the owner sets KA_RS_FULL,
 * or gives the span back (ownership 0), before it collects (a full barrier
 * between): so either the freer sees the flag (and pushes, or finds the
 * span unowned and collects under the central lock itself) or the owner
 * sees the bit.  KA_RS_PEND can only be set while KA_RS_FULL is, and a span
 * with it set is on its owner's pending list and is neither given back
 * nor destroyed until the owner clears it: a push needs the flag, the
 * owner clears both when it takes the list, and one freer at a time wins
 * the cmpxchg that sets it.  A freer between its cmpxchg and its
 * llist_add() (preempted on a preemptible kernel) holds a span back from a
 * give-back, which retries (the drain work sleeps in between; the cpuhp
 * callback, on another CPU, spins a few instructions' worth).
 *
 * CPU hotplug: a CPU goes down only once no task on it has migration
 * disabled, so no one owns a dead CPU's magazines; the cpuhp callback
 * flushes them, gives its spans back and sets their capacities to 0
 * without the lock.
 *
 * Capacity.  A magazine holds at most its capacity (end - objs), and the
 * sum over a CPU's classes of capacity x object size (ka_mcache.cap_bytes)
 * never exceeds one byte budget, ka_pcpu_budget (module parameter and
 * debugfs file "pcpu_budget", in KiB; TCMalloc's per-CPU cache bound; by
 * default two batches of every class, rounded up to 64 KiB: 1984 KiB
 * with 4 KiB pages; ka_cache magazines are charged to it too).
 * Capacities adapt by use, as TCMalloc sizes its per-CPU classes, a
 * ka_cache's magazine as a class's:
 * - a class starts at 0; its first miss gives it one batch if the budget
 *   has room, taken if need be from classes unused since the last trim
 *   pass (halved, down to 0 below a batch);
 * - whatever the budget is short of, a class in use gets its floor
 *   (ka_mag_floor(): 1/KA_MAG_FLOOR_DIV of the budget, at least one
 *   object up to 1/KA_MAG_FLOOR_ONE_DIV of it, at most a batch; a class
 *   of one object per span, whose every refill is an mcentral round
 *   trip, a whole batch, as far as the budget holds it), taken
 *   if need be from the least recently missed classes above their own
 *   floors: so no class is left without capacity, which made every one
 *   of its calls a slow path, while the busy classes do not take batches
 *   from each other in turn at every miss either (each theft a flush,
 *   each flush a later miss): a budget too small for what the CPU uses
 *   costs refills of a floor instead of a batch, not a slow path per
 *   call;
 * - a miss in the other direction than the class's previous one (an empty
 *   magazine after a full one, or the reverse: the working set does not
 *   fit) grows it by one batch, up to ka_class.cache_max, within the
 *   budget: taken if need be only from idle classes.  A class that only
 *   allocates (or only frees) here gains nothing from more room, and does
 *   not grow;
 * - every KA_TRIM_INTERVAL a deferrable delayed work has each CPU with
 *   capacity or spans left halve the classes that saw no allocation or
 *   free since the previous pass (below one batch: 0), flushing the
 *   objects that no longer fit, and give their spans back; an idle CPU
 *   so gives its whole cache back in a few passes and is then left alone
 *   (the same tick trims the heaps' large-object caches and the empty
 *   spans mcentral keeps by demand);
 * - lowering the budget trims every CPU before the write returns.
 * A capacity changes only while its magazine is owned, like @top, by the
 * owner's slow paths (refill, overflow, the trim works), or for a dead CPU.
 *
 * Cost on !RT: a hit is a preempt count increment and decrement, a flag
 * test, set and clear, and the pop or push: eight instructions, about what
 * the old irq save/restore (free) or CPU-local cmpxchg (alloc) cost, but
 * fewer cycles (no popf, no cmpxchg).  On RT a busy magazine is common
 * under contention (a task preempted in its section blocks the CPU's
 * magazines for the others until it runs again); those callers share
 * mcentral's lock instead.
 *
 * Owns: struct ka_mcache (one per CPU): its magazines, their capacities,
 * the spans it owns and their lists; the budget; the trim works; the list
 * of the ka_caches' per-CPU shares (struct ka_mcache_share, registered by
 * cache.c), which the works walk with the size classes.
 * Locks: ka_mcache->lock, outermost of ka's spinlocks: a flush or a span
 * given back takes central->lock inside it, then, for the spans that
 * emptied, heap->lock and ka_arena_lock (one at a time); ka_free()'s miss
 * path and ka_free_bulk() take ka_prof_lock inside it.  A refill has
 * mcentral lend its span (or its batch) before taking it.  A dead CPU's
 * magazines and spans are given back by the cpuhp callback without the
 * lock, since no one can run there.  ka_drain_mutex serialises the
 * synchronous all-CPU works (drain, trim, budget, a cache's give-back),
 * outside every other lock but ka_give_cache_mutex
 * (ka_mcache_give_cache_all()).  ka_share_lock (the list of shares) is
 * taken inside ka_mcache->lock by the works, and inside ka_cache_mutex by
 * cache.c to add or remove a share, outside the central locks.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/cpuhotplug.h>
#include <linux/workqueue.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/mutex.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/sizes.h>
#include "mcache.h"

/* How often idle classes are halved. */
#define KA_TRIM_INTERVAL		HZ

struct ka_mcache __percpu *ka_mcache;
KA_EXPORT_INTERNAL(ka_mcache);
/* ULONG_MAX until ka_mcache_init() derives it, unless pcpu_budget= */
unsigned long ka_pcpu_budget = ULONG_MAX;
KA_EXPORT_INTERNAL(ka_pcpu_budget);
static struct work_struct __percpu *ka_drain_works;
static struct work_struct __percpu *ka_async_works;	/* shrinker's */
static struct work_struct __percpu *ka_trim_works;	/* the periodic trim's */
static DEFINE_MUTEX(ka_drain_mutex);	/* serialises ka_mcache_on_each_cpu() */
static enum cpuhp_state ka_cpuhp_state;
static void ka_mcache_trim_tick(struct work_struct *unused);
static DECLARE_DEFERRABLE_WORK(ka_trim_dwork, ka_mcache_trim_tick);

static int ka_budget_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned long kb;

	if (kstrtoul(val, 0, &kb) || kb > KA_PCPU_BUDGET_MAX_KB) {
		pr_err("pcpu_budget=%s: expected 0 .. %u (KiB)\n", val,
		       KA_PCPU_BUDGET_MAX_KB);
		return -EINVAL;
	}
	ka_pcpu_budget = kb * 1024;
	return 0;
}

static int ka_budget_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(ka_pcpu_budget) / 1024);
}

static const struct kernel_param_ops ka_budget_param_ops = {
	.set = ka_budget_param_set,
	.get = ka_budget_param_get,
};
/* read-only here: debugfs "pcpu_budget" changes it, trimming at once */
module_param_cb(pcpu_budget, &ka_budget_param_ops, NULL, 0444);
MODULE_PARM_DESC(pcpu_budget, "KiB of free objects each CPU's caches may hold, all size classes together (0 .. 1048576; default: two batches of every class, 1984 with 4 KiB pages)");

#if IS_ENABLED(CONFIG_KUNIT)
void (*ka_mcache_test_hook)(enum ka_mcache_point pt);
KA_EXPORT_INTERNAL(ka_mcache_test_hook);
#endif

static void ka_owned_put(struct ka_mcache *mc, struct ka_span *span, void *p);

/*
 * Two policies utest's memsim compares with their alternatives
 * (scripts/results.rst, "Only the active span in the magazine, and a
 * batch as the one-object classes' floor"); read by slow paths only, and
 * constants (true) in the kernel (mcache.h).  ka_mcache_full_hot: a CPU's
 * full spans take the free hit path as its active span does
 * (ka_owned_set(); off: a full span's objects go back into it, 5x the
 * instructions of the pair at 1-4 KiB).  ka_mcache_one_floor: a class of
 * one object per span keeps a batch as its floor (ka_mag_floor()).
 */
#ifndef __KERNEL__
bool ka_mcache_full_hot = true;
bool ka_mcache_one_floor = true;
#endif
static void ka_mcache_cache_adapt(struct ka_mcache_share *sh,
				  enum ka_mag_miss dir);

/* What ka_mag_steal() may take from the classes in use. */
#define KA_STEAL_SCANS	4
enum ka_steal {
	KA_STEAL_IDLE,		/* nothing: idle classes only */
	KA_STEAL_FLOOR,		/* down to their floor */
	KA_STEAL_ALL,		/* everything (the budget lowered) */
};

/*
 * Objects of a magazine of a class whose spans CPUs own go back into their
 * spans' bitmaps: spans of the magazine's CPU (a magazine holds nothing
 * else), so no lock.  A magazine holds pointers only, so the span of each
 * object is found here; the objects of a refill come from one span or
 * two, so the span of the object before is tried first (is the object
 * within its pages? then it is that span's: the arena maps each page of
 * a span to it) and the arena map is read only where the span changes.
 * Context: the magazine's owner, or its CPU dead.
 */
static void ka_mag_to_span(struct ka_mcache *mc, void **objs, unsigned int n)
{
	struct ka_span *span = NULL;
	unsigned int i;

	rcu_read_lock();
	for (i = 0; i < n; i++) {
		/* the span before stays valid: rcu_read_lock() */
		if (!span || (unsigned long)objs[i] - (unsigned long)span->base >=
			     ((unsigned long)span->npages << PAGE_SHIFT))
			span = ka_span_of(objs[i]);
		if (WARN_ON_ONCE(!span ||
				 ka_rs_owner(atomic_long_read(&span->rstate)) !=
				 mc->ownkey))
			continue;
		ka_owned_put(mc, span, objs[i]);
	}
	rcu_read_unlock();
}

/**
 * ka_mcache_flush_class - give the @n oldest objects of a magazine back
 * @mc: the magazine's CPU
 * @m: the magazine, of this CPU (owned) or of a dead CPU
 * @cls: its size class
 * @n: how many, at most its count
 *
 * Into their spans (the CPU's) for a class whose spans CPUs own, to
 * mcentral for the others.
 *
 * Context: the magazine owned (ka_mcache_trylock() or ka_mcache_lock()), or its
 * CPU dead.
 */
void ka_mcache_flush_class(struct ka_mcache *mc, struct ka_magazine *m,
			   unsigned int cls, unsigned int n)
{
	unsigned int count = ka_mag_count(m);

	n = min(n, count);
	if (!n)
		return;
	if (ka_class_owned(&ka_classes[cls]))
		ka_mag_to_span(mc, m->objs, n);
	else
		ka_mcentral_flush(m->objs, n);
	ka_mcache_point(KA_MP_FLUSH);
	memmove(m->objs, m->objs + n, (count - n) * sizeof(void *));
	WRITE_ONCE(m->top, m->objs + count - n);
	/* @m's own counter: the caller may be flushing a dead CPU's */
	WRITE_ONCE(m->nr_flush, m->nr_flush + 1);
}
KA_EXPORT_INTERNAL(ka_mcache_flush_class);

/*
 * Set class @cls's capacity on @mc to @cap objects, flushing the oldest
 * objects that no longer fit.  Context: owner, or the CPU dead.
 */
static void ka_mag_resize(struct ka_mcache *mc, unsigned int cls,
			  unsigned int cap)
{
	struct ka_magazine *m = &mc->mag[cls];
	unsigned int old = ka_mag_cap(m), count = ka_mag_count(m);
	unsigned long size = ka_classes[cls].size;

	if (count > cap)
		ka_mcache_flush_class(mc, m, cls, count - cap);
	WRITE_ONCE(m->end, m->objs + cap);
	WRITE_ONCE(mc->cap_bytes, mc->cap_bytes - old * size + cap * size);
	if (cap > old) {
		mc->nr_grow++;
		/* maybe above its floor now: something to steal */
		mc->steal_none &= ~BIT(KA_STEAL_FLOOR);
	} else if (cap < old) {
		mc->nr_shrink++;
	}
}

/* Half of a capacity of @cap, or 0 below one batch: an idle class's. */
static unsigned int ka_mag_half(unsigned int cls, unsigned int cap)
{
	return cap / 2 >= ka_classes[cls].batch ? cap / 2 : 0;
}

/*
 * The capacity a class or cache in use keeps on a CPU whatever the others
 * want (see "Capacity" above): 1/KA_MAG_FLOOR_DIV of the budget's bytes,
 * at least one object (a class of at most 1/KA_MAG_FLOOR_ONE_DIV of the
 * budget; none for a bigger one), at most a batch.  A class of one object
 * per span keeps a batch (what the budget holds of it): its refills and
 * flushes are mcentral round trips, one an object at a floor of one
 * (xcpu's 8 KiB objects at pcpu_budget=512: 1.71x kmalloc's instructions,
 * 1.19x with a batch).
 */
static unsigned int ka_mag_floor(unsigned int cls)
{
	const struct ka_class *k = &ka_classes[cls];
	unsigned long budget = READ_ONCE(ka_pcpu_budget);

	if (ka_mcache_one_floor && !ka_class_owned(k))
		return min_t(unsigned long, k->batch, budget / k->size);
	if (k->size > budget / KA_MAG_FLOOR_ONE_DIV)
		return 0;
	return clamp_t(unsigned long, budget / KA_MAG_FLOOR_DIV / k->size, 1,
		       k->batch);
}

/* Has class @cls seen no allocation or free on @mc since the last pass? */
static bool ka_mag_idle(struct ka_mcache *mc, unsigned int cls)
{
	const struct ka_magazine *m = &mc->mag[cls];

	return READ_ONCE(m->nr_alloc) + READ_ONCE(m->nr_free) ==
	       mc->owned[cls].seen;
}

/*
 * Free at least @want bytes of @mc's budget, least recently missed class
 * first (all but @except): a class unused since the last trim pass loses
 * half its capacity (all of it below a batch), a class in use what @how
 * allows (what is wanted, at most half, not below its floor) - as long as
 * there is anything to take, and for a miss (not @how KA_STEAL_ALL) in
 * KA_STEAL_SCANS scans of the classes at most.  Context: owner.
 */
static void ka_mag_steal(struct ka_mcache *mc, unsigned int except,
			 unsigned long want, enum ka_steal how)
{
	unsigned long start = mc->cap_bytes;
	/* a miss scans the classes a few times at most */
	unsigned int scans = how == KA_STEAL_ALL ? UINT_MAX : KA_STEAL_SCANS;

	/* nothing found since the last pass or growth: no scan */
	if (mc->steal_none & BIT(how))
		return;
	while (start - mc->cap_bytes < want && scans--) {
		unsigned int cls, victim = 0, oldest = 0, cap, floor, take;

		for (cls = 1; cls < ka_nr_classes; cls++) {
			unsigned int age = mc->nr_adapt - mc->owned[cls].stamp;

			cap = ka_mag_cap(&mc->mag[cls]);
			if (cls == except || !cap ||
			    (victim && age <= oldest))
				continue;
			floor = how == KA_STEAL_ALL ? 0 : ka_mag_floor(cls);
			if (!ka_mag_idle(mc, cls) &&
			    (how == KA_STEAL_IDLE || cap <= floor))
				continue;
			victim = cls;
			oldest = age;
		}
		if (!victim) {
			/* none of these until a trim pass or a growth */
			if (how == KA_STEAL_FLOOR)
				mc->steal_none |= BIT(KA_STEAL_FLOOR);
			if (how != KA_STEAL_ALL)
				mc->steal_none |= BIT(KA_STEAL_IDLE);
			break;
		}
		cap = ka_mag_cap(&mc->mag[victim]);
		floor = how == KA_STEAL_ALL ? 0 : ka_mag_floor(victim);
		/* what is still wanted, in the victim's objects */
		take = DIV_ROUND_UP(want - (start - mc->cap_bytes),
				    ka_classes[victim].size);
		if (ka_mag_idle(mc, victim) || cap <= floor)
			cap = ka_mag_half(victim, cap);
		else
			cap = max(max(cap / 2, floor),
				  cap > take ? cap - take : 0);
		ka_mag_resize(mc, victim, cap);
	}
}

/*
 * The capacity of magazine @m of class @cls (a size class's, or a cache's)
 * after a miss in direction @dir, @ctl its record: a class or cache that
 * is used gets its first batch, then one more batch each time a miss
 * reverses the previous one, up to its class's cache_max, within the
 * budget - taken if need be only from classes unused since the last trim
 * pass, so that busy ones do not take capacity from each other in turn
 * (each theft a flush, each flush a later miss) - but at least its floor,
 * taken if need be from any class above its own.  Context: owner.
 */
static unsigned int ka_mag_want(struct ka_mcache *mc, struct ka_magazine *m,
				struct ka_owned *ctl, unsigned int cls,
				enum ka_mag_miss dir)
{
	const struct ka_class *k = &ka_classes[cls];
	unsigned long budget = READ_ONCE(ka_pcpu_budget), room;
	unsigned int cap = ka_mag_cap(m), want = cap, floor, self;

	if (cap < k->batch)
		want = k->batch;
	else if (ctl->last && ctl->last != dir)
		want = cap + k->batch;
	ctl->last = dir;
	ctl->stamp = ++mc->nr_adapt;
	want = min(want, k->cache_max);
	if (want <= cap)
		return cap;
	self = ctl == &mc->owned[cls] ? cls : 0;
	floor = ka_mag_floor(cls);
	if (mc->cap_bytes + (unsigned long)(want - cap) * k->size > budget)
		ka_mag_steal(mc, self, mc->cap_bytes +
			     (unsigned long)(want - cap) * k->size - budget,
			     KA_STEAL_IDLE);
	if (cap < floor &&
	    mc->cap_bytes + (unsigned long)(floor - cap) * k->size > budget)
		ka_mag_steal(mc, self, mc->cap_bytes +
			     (unsigned long)(floor - cap) * k->size - budget,
			     KA_STEAL_FLOOR);
	room = budget > mc->cap_bytes ? budget - mc->cap_bytes : 0;
	return min_t(unsigned long, want, cap + room / k->size);
}

/* ka_mag_want() for size class @cls's magazine on @mc.  Context: owner. */
static void ka_mag_adapt(struct ka_mcache *mc, unsigned int cls,
			 enum ka_mag_miss dir)
{
	unsigned int cap = ka_mag_want(mc, &mc->mag[cls], &mc->owned[cls], cls,
				       dir);

	if (cap != ka_mag_cap(&mc->mag[cls]))
		ka_mag_resize(mc, cls, cap);
}

/*
 * ka_mag_want() for this CPU's magazine of size class @cls, or of a
 * ka_cache's share @sh (of class @cls).  Context: owner.
 */
static __always_inline void ka_mcache_class_adapt(struct ka_mcache *mc,
						  struct ka_mcache_share *sh,
						  unsigned int cls,
						  enum ka_mag_miss dir)
{
	if (sh)
		ka_mcache_cache_adapt(sh, dir);
	else
		ka_mag_adapt(mc, cls, dir);
}

/*
 * Free into a full magazine @m of size class @cls, or of a ka_cache's
 * share @sh (a constant in each caller: the size classes' code is
 * compiled without the cache's test): grow it if its class alternates
 * misses and the budget has room, else flush its oldest batch; then push
 * @p, or, if the magazine has no capacity at all (budget exhausted), free
 * @p into its span (the CPU's active span), or to its mcentral for a class
 * of one object per span.  Context: the magazines owned.
 */
static __always_inline void ka_mcache_class_overflow(struct ka_mcache_share *sh,
						     struct ka_magazine *m,
						     unsigned int cls,
						     struct ka_span *span, void *p)
{
	struct ka_mcache *mc = this_cpu_ptr(ka_mcache);

	ka_mcache_class_adapt(mc, sh, cls, KA_MISS_OVER);
	if (m->top == m->end)
		ka_mcache_flush_class(mc, m, cls, ka_classes[cls].batch);
	if (m->top != m->end) {
		*m->top = p;
		WRITE_ONCE(m->top, m->top + 1);
	} else if (ka_class_owned(&ka_classes[cls])) {
		/* ka_mcache_free_local()'s caller: this CPU owns the span */
		ka_owned_put(mc, span, p);
	} else {
		ka_mcentral_flush_span(span, &p, 1);
	}
}

/**
 * ka_mcache_overflow - free into a full magazine of a size class
 * @m: this CPU's magazine of @cls, full
 * @cls: its size class
 * @span: the span of @p, as the free looked it up
 * @p: the object being freed (its free hooks have run)
 *
 * Grows the magazine or flushes its oldest batch, then pushes @p (or puts
 * it into its span or mcentral if the budget leaves no capacity).
 *
 * Context: the magazines owned.
 */
void ka_mcache_overflow(struct ka_magazine *m, unsigned int cls,
			struct ka_span *span, void *p)
{
	ka_mcache_class_overflow(NULL, m, cls, span, p);
}

/**
 * ka_mcache_cache_overflow - ka_mcache_overflow() of a ka_cache's magazine
 * @sh: the cache's share
 * @m: this CPU's magazine of @sh, full
 * @span: the span of @p, as the free looked it up
 * @p: the object being freed (its checks and hooks have run)
 *
 * Context: the magazines owned.
 */
void ka_mcache_cache_overflow(struct ka_mcache_share *sh,
			      struct ka_magazine *m, struct ka_span *span,
			      void *p)
{
	ka_mcache_class_overflow(sh, m, sh->cls, span, p);
}

/*
 * Reuse order.  mcentral hands a batch out in address order, so without
 * help the objects a CPU gets next are predictable from the ones it got
 * before: what a heap spray after a use-after-free counts on.  With
 * random_reuse (the default) each refill's batch is shuffled before it
 * enters the magazine, as CONFIG_SLAB_FREELIST_RANDOM shuffles a new slab
 * page's objects.  The hit paths are unchanged; a refill pays a few
 * instructions per object, from a per-CPU xorshift64 generator seeded with
 * get_random_u64() at load (a get_random_u64() per refill costs thousands
 * of instructions while the kernel's CRNG is not yet seeded, as in a fresh
 * VM).  A just-freed object is still the next one handed out on its CPU
 * (the magazine is a stack), as with SLUB's per-CPU freelist.
 */
static bool random_reuse = true;
module_param(random_reuse, bool, 0444);
MODULE_PARM_DESC(random_reuse, "hand out each refill's objects in random order (default on)");

/*
 * Fisher-Yates over @v[0 .. @n), from this CPU's generator.
 * Context: this CPU's magazines owned.
 */
static void ka_shuffle(void **v, unsigned int n)
{
	u64 x = this_cpu_read(ka_mcache->rnd);
	unsigned int i, j;

	for (i = n - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = ((x & U32_MAX) * (i + 1)) >> 32;
		swap(v[i], v[j]);
	}
	this_cpu_write(ka_mcache->rnd, x);
}

/* ---- a ka_cache's magazine in the CPU's budget ---- */

/*
 * ka_mcache_cache_adapt - a miss of this CPU's magazine of a ka_cache
 * @sh: the cache's share
 * @dir: KA_MISS_UNDER (empty on an allocation) or KA_MISS_OVER (full on a
 *	 free)
 *
 * A cache's magazine has no capacity until the CPU uses the cache; then it
 * grows by its misses as a size class's does (ka_mag_want()), charged to
 * the CPU's byte budget: a batch first, one more each time a miss reverses
 * the previous one, up to its class's cache_max; at least its floor.
 * ka_mcache_cache_ungrant() gives it back when the CPU gives the cache's
 * share back (an idle cache at a trim pass, over budget, drain, CPU
 * offline, destroy).
 *
 * Context: this CPU's magazines owned.
 */
static void ka_mcache_cache_adapt(struct ka_mcache_share *sh,
				  enum ka_mag_miss dir)
{
	struct ka_mcache *mc = this_cpu_ptr(ka_mcache);
	struct ka_cache_cpu *cc = this_cpu_ptr(sh->pcpu);
	struct ka_magazine *m = &cc->mag;
	unsigned int cls = sh->cls, old = ka_mag_cap(m), cap;
	unsigned long size = ka_classes[cls].size;

	cap = ka_mag_want(mc, m, &cc->owned, cls, dir);
	if (cap <= old)
		return;
	WRITE_ONCE(m->end, m->objs + cap);
	WRITE_ONCE(mc->cap_bytes, mc->cap_bytes + (cap - old) * size);
	mc->nr_grow++;
}

/*
 * Give a ka_cache magazine's capacity back to @mc's budget: @m, of class
 * @cls, flushed; with objects left, it keeps its capacity.
 * Context: @mc's magazines owned, or its CPU dead.
 */
static void ka_mcache_cache_ungrant(struct ka_mcache *mc, struct ka_magazine *m,
				    unsigned int cls)
{
	unsigned int cap = ka_mag_cap(m);

	if (!cap || ka_mag_count(m))
		return;
	WRITE_ONCE(m->end, m->objs);
	WRITE_ONCE(mc->cap_bytes,
		   mc->cap_bytes - (unsigned long)cap * ka_classes[cls].size);
	mc->nr_shrink++;
}

/* ---- spans a CPU owns: classes of several objects per span ---- */

static unsigned long ka_span_run_bytes(const struct ka_span *span)
{
	return (unsigned long)span->npages << PAGE_SHIFT;
}

/* CPU @cpu's spans of @span's class, or of its ka_cache. */
static struct ka_owned *ka_owned_of(const struct ka_span *span, int cpu)
{
	if (span->cache)
		return &per_cpu_ptr(span->central->share->pcpu, cpu)->owned;
	return &per_cpu_ptr(ka_mcache, cpu)->owned[span->cls];
}

/* This CPU's magazine and spans of size class @cls, or of a cache's @sh. */
static void ka_mcache_class_get(struct ka_mcache_class *d, struct ka_mcache_share *sh,
				unsigned int cls)
{
	d->share = sh;
	d->cls = cls;
	if (sh) {
		d->m = &this_cpu_ptr(sh->pcpu)->mag;
		d->s = &this_cpu_ptr(sh->pcpu)->owned;
	} else {
		d->m = this_cpu_ptr(&ka_mcache->mag[cls]);
		d->s = this_cpu_ptr(&ka_mcache->owned[cls]);
	}
}

/* @sh's central list on @node (or this CPU's node's), or size class @cls's. */
static struct ka_mcentral *ka_mcache_class_mcentral(struct ka_mcache_share *sh,
						    unsigned int cls, int node)
{
	if (sh)
		return sh->central[node] ?: sh->central[numa_mem_id()];
	return ka_mcentral_of(node, cls);
}

/*
 * Where @span is in @mc's state.  The active span and full spans get the
 * CPU's key - ka_free()'s (fastkey) for a size class's span,
 * ka_cache_free()'s (ckey) for a cache's - so that the CPU's frees of
 * their objects push them on the magazine (hot reuse: a full span stays
 * full while they cycle through it), not while the heap profile follows
 * one of their objects (its frees must reach profile.c: ka_free()'s slow
 * path).  A partly used span gets none: its objects go back into its
 * bitmap, so that it can empty; the magazine's overflow makes a full span
 * partly used.  Context: owner.
 */
static void ka_owned_set(struct ka_mcache *mc, struct ka_span *span,
			 enum ka_span_olist ol)
{
	unsigned int key = (ol == KA_OL_ACTIVE ||
			    (ol == KA_OL_FULL && ka_mcache_full_hot)) &&
			   !READ_ONCE(span->nprof) ? mc->ownkey : 0;

	span->olist = ol;
	if (span->cache)
		WRITE_ONCE(span->ckey, key);
	else
		WRITE_ONCE(span->fastkey, key);
}

/*
 * A span mcentral lent this CPU (in transit): the CPU's from now on, its
 * active span if the class has none.  Context: owner.
 */
static void ka_owned_adopt(struct ka_mcache *mc, struct ka_owned *s,
			   struct ka_span *span)
{
	atomic_long_set(&span->rstate, mc->ownkey);
	WRITE_ONCE(mc->nr_owned, mc->nr_owned + 1);
	if (!s->active) {
		s->active = span;
		ka_owned_set(mc, span, KA_OL_ACTIVE);
	} else {
		list_add(&span->olink, &s->partial);
		ka_owned_set(mc, span, KA_OL_PARTIAL);
	}
}

/*
 * The active span has no free object left: it goes to @full, where a free
 * by another CPU finds KA_RS_FULL and tells the owner (KA_RS_PEND, the
 * pending list).  A free that came before it saw the flag left a remote bit,
 * which the collection after the flag finds (the flag's store is ordered
 * before it): then the span goes to @partial instead.  Context: owner.
 *
 * The flag is set with a fully ordered fetch_or rather than a plain
 * atomic_long_or() and a barrier: besides the store->load order above, the
 * freer that reads the flag (its cmpxchg) and then writes span->pnode must
 * come after the owner's last reads of span->pnode (ka_owned_pending()); a
 * release on the flag says so in a form ThreadSanitizer (utest) models; it
 * does not model a standalone fence.  Once per span filled: no fast path.
 */
static void ka_owned_retire(struct ka_mcache *mc, struct ka_owned *s,
			    struct ka_span *span)
{
	s->active = NULL;
	atomic_long_fetch_or(KA_RS_FULL, &span->rstate);
	if (ka_span_collect(span)) {
		atomic_long_andnot(KA_RS_FULL, &span->rstate);
		list_add_tail(&span->olink, &s->partial);
		ka_owned_set(mc, span, KA_OL_PARTIAL);
	} else {
		list_add(&span->olink, &s->full);
		ka_owned_set(mc, span, KA_OL_FULL);
	}
}

/*
 * Give @span, on none of @mc's lists, back to mcentral - unless a free by
 * another CPU is pushing it onto the pending list right now (KA_RS_PEND
 * set): false then, and the caller keeps it.  Context: owner.
 */
static bool ka_owned_give(struct ka_mcache *mc, struct ka_span *span)
{
	atomic_long_andnot(KA_RS_FULL, &span->rstate);
	/* the flag cleared before KA_RS_PEND is read: a push saw it or fails */
	smp_mb__after_atomic();
	if (atomic_long_read(&span->rstate) & KA_RS_PEND)
		return false;
	ka_mcache_point(KA_MP_GIVE);
	WRITE_ONCE(mc->nr_owned, mc->nr_owned - 1);
	ka_owned_set(mc, span, KA_OL_NONE);
	ka_mcentral_give(span);
	return true;
}

/*
 * @span, on @s->partial and not active, has nothing out: into the stash if
 * the class has room there and the budget allows, else back to mcentral
 * (which keeps a reserve and gives the rest to the heap).  Context: owner.
 */
static void ka_owned_empty(struct ka_mcache *mc, struct ka_owned *s,
			   struct ka_span *span)
{
	unsigned long bytes = ka_span_run_bytes(span);

	list_del_init(&span->olink);
	if (s->nstash < KA_STASH_MAX &&
	    mc->cap_bytes + bytes <= READ_ONCE(ka_pcpu_budget)) {
		list_add(&span->olink, &s->stash);
		s->nstash++;
		WRITE_ONCE(mc->cap_bytes, mc->cap_bytes + bytes);
		ka_owned_set(mc, span, KA_OL_STASH);
		return;
	}
	if (!ka_owned_give(mc, span))
		list_add_tail(&span->olink, &s->partial);
}

/*
 * Take the pending list whole: its spans, full when another CPU freed into
 * them, have remote bits to collect.  Clearing KA_RS_FULL with KA_RS_PEND
 * stops further pushes (they need the full flag); the collection after it
 * sees every bit set before.  Context: owner.
 */
static void ka_owned_pending(struct ka_mcache *mc, struct ka_owned *s)
{
	struct llist_node *first = llist_del_all(&s->pending);
	struct ka_span *span, *tmp;

	llist_for_each_entry_safe(span, tmp, first, pnode) {
		atomic_long_andnot(KA_RS_FULL | KA_RS_PEND, &span->rstate);
		/* the flags cleared before the bits are collected */
		smp_mb__after_atomic();
		ka_span_collect(span);
		/* else a free of the owner's moved it, or it is active */
		if (span->olist == KA_OL_FULL) {
			list_move_tail(&span->olink, &s->partial);
			ka_owned_set(mc, span, KA_OL_PARTIAL);
		}
		if (span->olist == KA_OL_PARTIAL && !span->nalloc)
			ka_owned_empty(mc, s, span);
	}
}

/*
 * The next span to fill the magazine from, taken off its list: one that
 * other CPUs freed into, else a partly used one, else an empty one of the
 * stash - used spans fill up before an empty one starts.  Context: owner.
 */
static struct ka_span *ka_owned_next(struct ka_mcache *mc, struct ka_owned *s)
{
	struct ka_span *span;

	if (!llist_empty(&s->pending))
		ka_owned_pending(mc, s);
	span = list_first_entry_or_null(&s->partial, struct ka_span, olink);
	if (!span) {
		span = list_first_entry_or_null(&s->stash, struct ka_span,
						olink);
		if (!span)
			return NULL;
		s->nstash--;
		WRITE_ONCE(mc->cap_bytes, mc->cap_bytes - ka_span_run_bytes(span));
	}
	list_del_init(&span->olink);
	return span;
}

/*
 * Take up to @want free objects into @objs out of @s's active span - first
 * collecting what other CPUs freed into it - and, when it has none left,
 * out of the CPU's next spans, which become active in turn.  Return: the
 * number taken, fewer when none of the CPU's spans has a free object left.
 * Context: owner.
 */
static unsigned int ka_owned_take(struct ka_mcache *mc, struct ka_owned *s,
				  void **objs, unsigned int want)
{
	unsigned int n = 0;

	while (n < want) {
		struct ka_span *span = s->active;

		if (!span) {
			span = ka_owned_next(mc, s);
			if (!span)
				break;
			s->active = span;
			ka_owned_set(mc, span, KA_OL_ACTIVE);
		}
		ka_span_collect(span);
		n += ka_span_take(span, objs + n, want - n);
		if (n < want)
			ka_owned_retire(mc, s, span);
	}
	return n;
}

/*
 * Allocation miss of a class whose spans CPUs own: fill the magazine with
 * up to a batch from the active span - first collecting what other CPUs
 * freed into it - and, when it has no free object left, from the CPU's
 * next spans; the first object is returned.  No lock: the spans are the
 * CPU's.  NULL when the CPU has no span with a free object (mcentral lends
 * one).  Context: owner.
 */
static void *ka_owned_fill(struct ka_mcache *mc, struct ka_mcache_class *d)
{
	const struct ka_class *k = &ka_classes[d->cls];
	struct ka_magazine *m = d->m;
	struct ka_owned *s = d->s;
	void *batch[KA_BATCH_MAX];
	unsigned int n, take = 0, want;

	ka_mcache_class_adapt(mc, d->share, d->cls, KA_MISS_UNDER);
	want = clamp(ka_mag_cap(m) - ka_mag_count(m) + 1, 1U, k->batch);
	/* up to a batch, the active span's, then its successors' */
	n = ka_owned_take(mc, s, batch, want);
	if (!n)
		return NULL;
	ka_mcache_point(KA_MP_REFILL);
	if (random_reuse)
		ka_shuffle(batch, n);
	/* pop order = batch order */
	for (; take < n - 1 && m->top != m->end; take++) {
		*m->top = batch[n - 1 - take];
		WRITE_ONCE(m->top, m->top + 1);
	}
	if (take < n - 1)
		ka_mag_to_span(mc, batch + 1, n - 1 - take);
	return batch[0];
}

/*
 * Give back everything of class @cls that @mc owns: the magazine's objects
 * into the active span, then every span to mcentral.  Return: the spans
 * kept because a remote free is pushing them onto the pending list now
 * (the caller tries again later).  Context: owner, or the CPU dead.
 */
static unsigned int ka_owned_give_all(struct ka_mcache *mc, struct ka_mcache_class *d)
{
	struct ka_owned *s = d->s;
	struct ka_span *span, *tmp;
	unsigned int kept = 0;

	ka_mcache_flush_class(mc, d->m, d->cls, ka_mag_count(d->m));
	if (s->active) {
		list_add(&s->active->olink, &s->partial);
		ka_owned_set(mc, s->active, KA_OL_PARTIAL);
		s->active = NULL;
	}
	/* no push after the full flags are gone; the pending ones, taken */
	list_for_each_entry(span, &s->full, olink) {
		atomic_long_andnot(KA_RS_FULL, &span->rstate);
		ka_owned_set(mc, span, KA_OL_PARTIAL);
	}
	list_splice_tail_init(&s->full, &s->partial);
	/* every flag cleared before the pending list is taken */
	smp_mb__after_atomic();
	ka_owned_pending(mc, s);
	list_for_each_entry(span, &s->stash, olink)
		WRITE_ONCE(mc->cap_bytes, mc->cap_bytes - ka_span_run_bytes(span));
	list_splice_tail_init(&s->stash, &s->partial);
	s->nstash = 0;
	list_for_each_entry_safe(span, tmp, &s->partial, olink) {
		list_del_init(&span->olink);
		if (!ka_owned_give(mc, span)) {
			list_add(&span->olink, &s->partial);
			kept++;
		}
	}
	return kept;
}

/* ---- the ka_caches' shares of the CPUs ---- */

/*
 * The shares of the live ka_caches (and of those destroyed with objects
 * out), for the per-CPU works: drain, trim, CPU offline.  cache.c adds and
 * removes them under its ka_cache_mutex; the works, which own a CPU's
 * magazines and cannot take a mutex, walk the list under ka_share_lock.
 */
static LIST_HEAD(ka_shares);
static DEFINE_SPINLOCK(ka_share_lock);

/**
 * ka_mcache_share_add - put a new ka_cache's share on the list of shares
 * @sh: the share: its magazines and spans empty, capacity 0
 *
 * From now on drain, the trim and CPU offline give its share of each CPU
 * back with the size classes'.
 *
 * Context: process context (ka_cache_create()); takes ka_share_lock.
 */
void ka_mcache_share_add(struct ka_mcache_share *sh)
{
	spin_lock(&ka_share_lock);
	list_add_tail(&sh->list, &ka_shares);
	spin_unlock(&ka_share_lock);
}

/**
 * ka_mcache_share_del - take a ka_cache's share off the list of shares
 * @sh: the share, given back by every CPU (ka_mcache_give_cache_all())
 *
 * No per-CPU work walks it once this returns.
 *
 * Context: process context (ka_cache_destroy(), module exit); takes
 * ka_share_lock.
 */
void ka_mcache_share_del(struct ka_mcache_share *sh)
{
	spin_lock(&ka_share_lock);
	list_del_init(&sh->list);
	spin_unlock(&ka_share_lock);
}

/**
 * ka_mcache_give_share - give back a ka_cache's share of CPU @cpu
 * @cpu: the CPU
 * @sh: the cache's share
 * @idle_only: only if its magazine saw no allocation or free since the
 *	       last such pass (its ka_owned.seen)
 *
 * Its magazine's objects and its spans (stash included) go to mcentral,
 * and the magazine's capacity back to the CPU's budget.
 *
 * Context: CPU @cpu's magazines owned, or the CPU dead, or the cache
 * without users (destroy, module exit).
 * Return: spans kept because a remote free is pushing them onto the
 * pending list now (ka_owned_give_all()); try again.
 */
unsigned int ka_mcache_give_share(int cpu, struct ka_mcache_share *sh,
				  bool idle_only)
{
	struct ka_mcache *mc = per_cpu_ptr(ka_mcache, cpu);
	struct ka_cache_cpu *cc = per_cpu_ptr(sh->pcpu, cpu);
	struct ka_mcache_class d = { &cc->mag, &cc->owned, sh, sh->cls };
	unsigned int kept = 0;
	unsigned long used;

	used = READ_ONCE(cc->mag.nr_alloc) + READ_ONCE(cc->mag.nr_free);
	if (idle_only && used != cc->owned.seen) {
		cc->owned.seen = used;
		return 0;
	}
	cc->owned.seen = used;
	if (ka_class_owned(&ka_classes[sh->cls]))
		kept = ka_owned_give_all(mc, &d);
	else
		ka_mcache_flush_class(mc, &cc->mag, sh->cls,
				      ka_mag_count(&cc->mag));
	ka_mcache_cache_ungrant(mc, &cc->mag, sh->cls);
	return kept;
}

/*
 * Every cache's share of CPU @cpu, or with @idle_only those it has not
 * used since the last such pass (the periodic trim): ka_mcache_give_share().
 * Context: the CPU's owner, or the CPU dead; takes ka_share_lock.
 * Return: spans kept; try again.
 */
static unsigned int ka_mcache_give_shares(int cpu, bool idle_only)
{
	struct ka_mcache_share *sh;
	unsigned int kept = 0;

	spin_lock(&ka_share_lock);
	list_for_each_entry(sh, &ka_shares, list)
		kept += ka_mcache_give_share(cpu, sh, idle_only);
	spin_unlock(&ka_share_lock);
	return kept;
}

/*
 * Every class of CPU @cpu, and its share of every ka_cache:
 * ka_owned_give_all().  Context: the CPU's owner, or the CPU dead.
 */
static unsigned int ka_owned_give_cpu(int cpu)
{
	struct ka_mcache *mc = per_cpu_ptr(ka_mcache, cpu);
	unsigned int cls, kept = 0;
	struct ka_mcache_class d;

	for (cls = 1; cls < ka_nr_classes; cls++) {
		if (!ka_class_owned(&ka_classes[cls]))
			continue;
		d.m = &mc->mag[cls];
		d.s = &mc->owned[cls];
		d.share = NULL;
		d.cls = cls;
		kept += ka_owned_give_all(mc, &d);
	}
	return kept + ka_mcache_give_shares(cpu, false);
}

/*
 * Empty stash spans of class state @s back to mcentral, bringing @mc back
 * toward its budget.  Context: owner.
 */
static void ka_owned_unstash(struct ka_mcache *mc, struct ka_owned *s)
{
	struct ka_span *span, *tmp;

	list_for_each_entry_safe(span, tmp, &s->stash, olink) {
		list_del_init(&span->olink);
		s->nstash--;
		WRITE_ONCE(mc->cap_bytes, mc->cap_bytes - ka_span_run_bytes(span));
		if (!ka_owned_give(mc, span)) {
			/* cannot be pushed (it is empty): keep it partial */
			list_add(&span->olink, &s->partial);
			ka_owned_set(mc, span, KA_OL_PARTIAL);
		}
	}
}

/**
 * ka_mcache_free_owned - free an object into its span, which this CPU owns
 * @span: the object's span: small, of a class whose spans CPUs own, owned
 *	  by this CPU (ka_rs_owner(rstate) is its ownkey)
 * @p: the object, its free hooks run
 *
 * Its bit is cleared in the span's bitmap, no lock taken; a full span
 * becomes partly used, a partly used one that empties goes to the stash or
 * back to mcentral.  An object whose bit is already clear (a double free
 * that got past the tag) is reported and dropped.
 *
 * Context: this CPU's magazines owned.
 */
void ka_mcache_free_owned(struct ka_span *span, void *p)
{
	ka_mcache_point(KA_MP_OWNFREE);
	ka_owned_put(this_cpu_ptr(ka_mcache), span, p);
}

/*
 * Clear @p's bit in @span, a span of @mc's CPU: a full span becomes partly
 * used, a partly used one that empties goes to the stash or back to
 * mcentral.  An object whose bit is already clear (a double free that got
 * past the tag) is reported and dropped.  Context: owner, or the CPU dead.
 */
static void ka_owned_put(struct ka_mcache *mc, struct ka_span *span, void *p)
{
	struct ka_owned *s = ka_owned_of(span, mc->ownkey - 1);

	if (unlikely(!ka_span_put(span, p))) {
		ka_report_double_free(p, "double free (object already free in its span)",
				      0);
		return;
	}
	if (span->olist == KA_OL_FULL) {
		atomic_long_andnot(KA_RS_FULL, &span->rstate);
		list_move_tail(&span->olink, &s->partial);
		ka_owned_set(mc, span, KA_OL_PARTIAL);
	}
	if (span->olist == KA_OL_PARTIAL && !span->nalloc)
		ka_owned_empty(mc, s, span);
}

/**
 * ka_mcache_free_remote - free an object into a span this CPU does not own
 * @span: the object's span: small, of a class whose spans CPUs own
 * @p: the object, its free hooks run (its double-free tag written)
 *
 * The object's bit is set in the span's remote bitmap (one atomic; a bit
 * already set is a second free: reported, dropped), for the owner to
 * collect when it next fills from the span.  If the span is on its owner's
 * full list, where the owner would not look, it goes to the owner's
 * pending list too (once: KA_RS_PEND).  A span no CPU owns is collected at
 * once under its mcentral's lock.  No central lock otherwise.
 *
 * Context: any; in an RCU read-side section.
 */
void ka_mcache_free_remote(struct ka_span *span, const void *p)
{
	long rs;

	if (test_and_set_bit(ka_span_index(span, p), ka_span_rfree(span))) {
		ka_report_double_free(p, "double free (object already freed to its span)",
				      0);
		return;
	}
	/* test_and_set_bit() is fully ordered: a give-back or a retire after it sees the bit */
	rs = atomic_long_read(&span->rstate);
	for (;;) {
		unsigned int owner = ka_rs_owner(rs);

		if (!owner) {
			ka_mcentral_collect(span);
			return;
		}
		if (owner == KA_RS_TRANSIT || !(rs & KA_RS_FULL) ||
		    (rs & KA_RS_PEND))
			return;
		if (atomic_long_try_cmpxchg(&span->rstate, &rs,
					    rs | KA_RS_PEND)) {
			llist_add(&span->pnode, &ka_owned_of(span, owner - 1)->pending);
			return;
		}
	}
}

/*
 * One trim pass on @mc: with @idle, halve the classes unused since the
 * previous idle pass; then bring the CPU within the budget.
 * Context: owner.
 */
static void ka_mcache_trim_cpu(struct ka_mcache *mc, bool idle)
{
	unsigned long budget = READ_ONCE(ka_pcpu_budget);
	unsigned int cls;

	mc->steal_none = 0;
	for (cls = 1; idle && cls < ka_nr_classes; cls++) {
		struct ka_magazine *m = &mc->mag[cls];
		unsigned long used = READ_ONCE(m->nr_alloc) +
				     READ_ONCE(m->nr_free);
		unsigned int cap = ka_mag_cap(m);

		if (used == mc->owned[cls].seen) {
			if (cap) {
				ka_mag_resize(mc, cls, ka_mag_half(cls, cap));
				mc->owned[cls].last = 0;
			}
			/* an idle class's spans go back whole */
			if (ka_class_owned(&ka_classes[cls])) {
				struct ka_mcache_class d = { m, &mc->owned[cls], NULL,
						     cls };

				ka_owned_give_all(mc, &d);
			}
		}
		mc->owned[cls].seen = used;
	}
	if (mc->cap_bytes > budget)
		ka_mag_steal(mc, 0, mc->cap_bytes - budget, KA_STEAL_FLOOR);
	for (cls = 1; mc->cap_bytes > budget && cls < ka_nr_classes; cls++)
		ka_owned_unstash(mc, &mc->owned[cls]);
	/* the caches' idle shares, by the same clock; over budget, all */
	if (idle || mc->cap_bytes > budget)
		ka_mcache_give_shares(smp_processor_id(),
				      mc->cap_bytes <= budget);
	/* floors beyond a budget lowered below them */
	if (mc->cap_bytes > budget)
		ka_mag_steal(mc, 0, mc->cap_bytes - budget, KA_STEAL_ALL);
}

/*
 * A dead CPU's (or, at exit, any CPU's) magazines and spans: given back,
 * capacity 0.  A span a remote free is pushing onto the pending list as
 * this runs is waited for: the pusher, on another CPU, is a few
 * instructions from done.
 */
static void ka_mcache_reset_cpu(int cpu)
{
	struct ka_mcache *mc = per_cpu_ptr(ka_mcache, cpu);
	unsigned int cls;

	while (ka_owned_give_cpu(cpu))
		cpu_relax();

	for (cls = 1; cls < ka_nr_classes; cls++) {
		ka_mag_resize(mc, cls, 0);
		mc->owned[cls].last = 0;
	}
}

/**
 * ka_mcache_flush_cpu - empty every magazine of one CPU
 * @mc: the CPU's caches
 *
 * Context: the CPU's magazines owned, or the CPU dead.
 */
void ka_mcache_flush_cpu(struct ka_mcache *mc)
{
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++)
		ka_mcache_flush_class(mc, &mc->mag[cls], cls,
				      ka_mag_count(&mc->mag[cls]));
}

/*
 * Allocation miss of a class of one object per span, or of a ka_cache's
 * (@sh) of such a class: a batch from this node's mcentral (the cache's
 * own), taken without owning the magazines (mcentral may need
 * new pages), one object returned and the rest stored after adapting the
 * magazine's capacity to the miss.  If the magazines are busy now, or the
 * task moved to a CPU of another node meanwhile, the rest goes back.
 */
static __always_inline void *ka_mcache_refill_central(struct ka_mcache_share *sh,
						      unsigned int cls,
						      gfp_t gfp)
{
	const struct ka_class *k = &ka_classes[cls];
	struct ka_magazine __percpu *pm = sh ? &sh->pcpu->mag :
					  &ka_mcache->mag[cls];
	unsigned long budget = READ_ONCE(ka_pcpu_budget);
	unsigned int n, take = 0, want = k->batch;
	void *batch[KA_BATCH_MAX];
	int node = numa_mem_id();

	/* a budget below one batch: take no more than a magazine may keep */
	if (budget < (unsigned long)k->batch * k->size)
		want = budget / k->size + 1;
	n = ka_mcentral_refill(ka_mcache_class_mcentral(sh, cls, node), batch, want, gfp);
	if (!n)
		return NULL;

	this_cpu_inc(pm->nr_alloc);
	this_cpu_inc(pm->nr_miss);
	this_cpu_inc(pm->nr_refill);
	if (likely(ka_mcache_trylock(ka_mcache))) {
		if (likely(numa_mem_id() == node)) {
			ka_mcache_class_adapt(this_cpu_ptr(ka_mcache), sh, cls,
					      KA_MISS_UNDER);
			ka_mcache_point(KA_MP_REFILL);
			if (random_reuse)
				ka_shuffle(batch, n);
			/* pop order = batch order */
			while (take < n - 1 &&
			       ka_mag_push(pm, batch[n - 1 - take]))
				take++;
		}
		ka_mcache_unlock(ka_mcache);
	} else {
		this_cpu_inc(ka_mcache->nr_busy);
	}
	if (take < n - 1)
		ka_mcentral_flush(batch + 1, n - 1 - take);
	return batch[0];
}

/*
 * Own this CPU's magazines (ka_mcache_trylock()) for class @cls or cache @sh,
 * with @d set to them, and make *@span - lent by mcentral for this CPU, or
 * NULL - the CPU's (*@span NULL then).  A task that moved to another node
 * than the span's since it was lent gives it back and tries again.
 * *@node: the CPU's node, read before the last trylock.
 * Context: no ka lock held.
 * Return: true, owning; false if the magazines are busy (*@span kept: the
 * caller gives it back).
 */
static bool ka_mcache_own(struct ka_mcache_share *sh, unsigned int cls,
			  struct ka_span **span, struct ka_mcache_class *d, int *node)
{
	for (;;) {
		*node = numa_mem_id();
		if (unlikely(!ka_mcache_trylock(ka_mcache)))
			return false;
		ka_mcache_class_get(d, sh, cls);
		if (!*span)
			return true;
		if (likely(numa_mem_id() == (*span)->node)) {
			ka_owned_adopt(this_cpu_ptr(ka_mcache), d->s, *span);
			*span = NULL;
			return true;
		}
		ka_mcache_unlock(ka_mcache);
		ka_mcentral_give(*span);
		*span = NULL;
	}
}

/*
 * ka_mcache_refill_owned - allocation miss of a class whose spans CPUs own
 * @sh: the share of the ka_cache whose magazine was empty, or NULL for
 *	size class @cls
 * @cls: the size class (the cache's class for a cache)
 * @gfp: caller's flags
 *
 * Fills the magazine from the CPU's spans (ka_owned_fill(), no lock); when
 * the CPU has none with a free object, mcentral lends one
 * (ka_mcentral_take(), which may need new pages: taken without owning the
 * magazines), which becomes the CPU's.  If the magazines are busy then, or
 * the task moved to a CPU of another node, the span goes back and one
 * object comes from mcentral.
 *
 * Context: any context @gfp allows (on PREEMPT_RT, preemptible); no ka
 * lock held.
 * Return: an object, or NULL.
 */
static void *ka_mcache_refill_owned(struct ka_mcache_share *sh,
				    unsigned int cls, gfp_t gfp)
{
	struct ka_span *span = NULL;
	struct ka_mcache_class d;
	int node;
	void *p;

	while (likely(ka_mcache_own(sh, cls, &span, &d, &node))) {
		/* a task that preempted us (RT) may have refilled it */
		p = NULL;
		if (d.m->top != d.m->objs) {
			p = *(d.m->top - 1);
			WRITE_ONCE(d.m->top, d.m->top - 1);
		} else {
			p = ka_owned_fill(this_cpu_ptr(ka_mcache), &d);
		}
		ka_mcache_unlock(ka_mcache);
		if (p) {
			struct ka_magazine __percpu *pm = sh ?
				&sh->pcpu->mag : &ka_mcache->mag[cls];

			/* this_cpu ops: an interrupt's busy path counts too */
			this_cpu_inc(pm->nr_alloc);
			this_cpu_inc(pm->nr_miss);
			this_cpu_inc(pm->nr_refill);
			return p;
		}
		span = ka_mcentral_take(ka_mcache_class_mcentral(sh, cls, node), gfp);
		if (!span)
			return NULL;
	}
	/* the magazines are busy: one object from mcentral */
	this_cpu_inc(ka_mcache->nr_busy);
	if (span)
		ka_mcentral_give(span);
	node = numa_mem_id();
	if (!ka_mcentral_refill(ka_mcache_class_mcentral(sh, cls, node), &p, 1, gfp))
		return NULL;
	this_cpu_inc((sh ? &sh->pcpu->mag : &ka_mcache->mag[cls])->nr_alloc);
	this_cpu_inc((sh ? &sh->pcpu->mag : &ka_mcache->mag[cls])->nr_miss);
	return p;
}

/**
 * ka_mcache_refill_alloc - allocation slow path: refill and take one object
 * @cls: size class whose magazine was empty
 * @gfp: caller's flags
 *
 * A class whose spans CPUs own: ka_mcache_refill_owned(); the others
 * refill from mcentral (ka_mcache_refill_central()).
 *
 * Context: any context @gfp allows (on PREEMPT_RT, preemptible); no ka
 * lock held.
 * Return: an object, or NULL.
 */
void *ka_mcache_refill_alloc(unsigned int cls, gfp_t gfp)
{
	if (!ka_class_owned(&ka_classes[cls]))
		return ka_mcache_refill_central(NULL, cls, gfp);
	return ka_mcache_refill_owned(NULL, cls, gfp);
}

/**
 * ka_mcache_refill_cache - ka_mcache_refill_alloc() of a ka_cache
 * @sh: the share of the cache whose magazine was empty
 * @gfp: caller's flags
 *
 * The size classes' refill, one implementation: from this CPU's spans of
 * the cache, or a batch from the cache's own central list.
 *
 * Context: as ka_mcache_refill_alloc().
 * Return: an object, or NULL.
 */
void *ka_mcache_refill_cache(struct ka_mcache_share *sh, gfp_t gfp)
{
	if (!ka_class_owned(&ka_classes[sh->cls]))
		return ka_mcache_refill_central(sh, sh->cls, gfp);
	return ka_mcache_refill_owned(sh, sh->cls, gfp);
}

/*
 * Bulk allocation in one owned section: the magazine's objects, then the
 * active span's and its successors' straight out of their bitmaps (no
 * magazine in between).  Stops at the first span boundary with none of the
 * CPU's spans left with a free object.  Context: owner.
 */
static unsigned int ka_owned_take_bulk(struct ka_mcache *mc, struct ka_mcache_class *d,
				       void **p, unsigned int n,
				       unsigned int *hits)
{
	struct ka_magazine *m = d->m;
	struct ka_owned *s = d->s;
	unsigned int got = 0, from;

	ka_mcache_point(KA_MP_BULK);
	while (got < n && m->top != m->objs) {
		p[got++] = *(m->top - 1);
		WRITE_ONCE(m->top, m->top - 1);
	}
	*hits += got;
	from = got;
	got += ka_owned_take(mc, s, p + got, n - got);
	if (random_reuse && got - from > 1)
		ka_shuffle(p + from, got - from);
	return got;
}

/**
 * ka_mcache_alloc_bulk - allocate up to @n objects of an owned class
 * @cls: a size class whose spans CPUs own (ka_class_owned())
 * @p: where to store the objects
 * @n: how many are wanted
 * @hits: incremented by the number taken from the magazine
 * @gfp: caller's flags, for a span mcentral lends
 *
 * What a loop of ka_alloc() would hand out, in one owned section per span
 * lent: the magazine's objects, then whole runs of the CPU's spans' free
 * objects, then spans mcentral lends (the CPU's from then on, as on a
 * miss), so a bulk allocation fills spans as single calls do instead of
 * taking partly used spans' objects from mcentral.
 *
 * Context: any context @gfp allows (on PREEMPT_RT, preemptible); no ka
 * lock held.
 * Return: the number stored; fewer than @n when the magazines are busy or
 * mcentral could not lend a span (the caller takes the rest from mcentral).
 */
unsigned int ka_mcache_alloc_bulk(unsigned int cls, void **p, unsigned int n,
				  unsigned int *hits, gfp_t gfp)
{
	struct ka_span *span = NULL;
	unsigned int got = 0;
	struct ka_mcache_class d;
	int node;

	while (got < n) {
		if (unlikely(!ka_mcache_own(NULL, cls, &span, &d, &node))) {
			this_cpu_inc(ka_mcache->nr_busy);
			break;
		}
		got += ka_owned_take_bulk(this_cpu_ptr(ka_mcache), &d, p + got,
					  n - got, hits);
		ka_mcache_unlock(ka_mcache);
		if (got == n)
			break;
		this_cpu_inc(ka_mcache->mag[cls].nr_refill);
		span = ka_mcentral_take(ka_mcentral_of(node, cls), gfp);
		if (!span)
			break;
	}
	if (span)
		ka_mcentral_give(span);
	return got;
}

/**
 * ka_mag_holds - is @p in any CPU's magazine at @mag?
 * @mag: a per-CPU magazine: &ka_mcache->mag[cls], or a ka_cache's
 * @p: an object
 *
 * A snapshot, read without owning the magazines (each slot and top read
 * once): an object pushed or popped meanwhile may be missed or seen.  For
 * the rare free whose object carries its span's double-free tag
 * (ka_obj_free_confirm()): up to KA_MAG_MAX_OBJS slots per CPU.
 *
 * Context: any.
 * Return: true if some CPU's magazine held @p.
 */
bool ka_mag_holds(struct ka_magazine __percpu *mag, const void *p)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct ka_magazine *m = per_cpu_ptr(mag, cpu);
		void **top = READ_ONCE(m->top), **slot;

		for (slot = m->objs; slot < top; slot++)
			if (READ_ONCE(*slot) == p)
				return true;
	}
	return false;
}

/**
 * ka_mcache_holds - is @p in a magazine of class @cls? (ka_mag_holds())
 * @cls: a size class
 * @p: an object of that class
 *
 * Context: any.
 */
bool ka_mcache_holds(unsigned int cls, const void *p)
{
	return ka_mag_holds(&ka_mcache->mag[cls], p);
}

/**
 * ka_mcache_set_fastkeys - let ka_free()'s hit path push, or send it slow
 * @hooks: something must see every free (ka_free_hooks_key is on)
 *
 * Sets every CPU's fastkey to its ownkey, which its active spans have, or,
 * with @hooks, to a value no span has.
 *
 * Context: process context; serialised by the caller (module init/exit,
 * tracepoint (un)registration).
 */
void ka_mcache_set_fastkeys(bool hooks)
{
	int cpu;

	/* a tracepoint may be enabled before ka_mcache_init() */
	if (!ka_mcache)
		return;
	for_each_possible_cpu(cpu) {
		struct ka_mcache *mc = per_cpu_ptr(ka_mcache, cpu);

		WRITE_ONCE(mc->fastkey, hooks ? KA_FASTKEY_HOOKS : mc->ownkey);
	}
}

/*
 * Flush this CPU's magazines and give every span it owns back to
 * mcentral.  A span a remote free is pushing onto the pending list right
 * now is kept: the work drops the lock and tries again.
 */
static void ka_mcache_drain_work(struct work_struct *unused)
{
	unsigned int kept, tries = 0;

	do {
		ka_mcache_lock(ka_mcache);
		ka_mcache_flush_cpu(this_cpu_ptr(ka_mcache));
		kept = ka_owned_give_cpu(smp_processor_id());
		ka_mcache_unlock(ka_mcache);
		if (kept)
			usleep_range(20, 100);
	} while (kept && !WARN_ON_ONCE(++tries > 10000));
}

/* The periodic trim, on one CPU: halve its idle classes. */
static void ka_mcache_trim_work(struct work_struct *unused)
{
	ka_mcache_lock(ka_mcache);
	ka_mcache_trim_cpu(this_cpu_ptr(ka_mcache), true);
	ka_mcache_unlock(ka_mcache);
}

/* After the budget was lowered, on one CPU: bring it within the budget. */
static void ka_mcache_budget_work(struct work_struct *unused)
{
	ka_mcache_lock(ka_mcache);
	ka_mcache_trim_cpu(this_cpu_ptr(ka_mcache), false);
	ka_mcache_unlock(ka_mcache);
}

/*
 * Run @fn on each online CPU and wait for them all (as SLUB's flush_all()
 * does), so that each CPU works on its own magazines, owning them.
 * Offline CPUs were flushed, and their capacities zeroed, at cpuhp.
 * Context: process context, may sleep.
 */
static void ka_mcache_on_each_cpu(work_func_t fn)
{
	int cpu;

	mutex_lock(&ka_drain_mutex);
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct work_struct *w = per_cpu_ptr(ka_drain_works, cpu);

		INIT_WORK(w, fn);
		queue_work_on(cpu, system_highpri_wq, w);
	}
	for_each_online_cpu(cpu)
		flush_work(per_cpu_ptr(ka_drain_works, cpu));
	cpus_read_unlock();
	mutex_unlock(&ka_drain_mutex);
}

/**
 * ka_mcache_drain_all - flush every online CPU's magazines, give its spans back
 *
 * Each CPU empties its own magazines under its own lock and gives every
 * span it owns (the ka_caches' shares too) back to mcentral; the size
 * classes' capacities stay, the caches' go back to the budget.
 *
 * Context: process context, may sleep.
 */
void ka_mcache_drain_all(void)
{
	ka_mcache_on_each_cpu(ka_mcache_drain_work);
}
KA_EXPORT_INTERNAL(ka_mcache_drain_all);

/* The cache ka_mcache_give_cache_all() works on; ka_give_cache_mutex. */
static struct ka_mcache_share *ka_give_cache;
static DEFINE_MUTEX(ka_give_cache_mutex);

/* On one CPU: its share of ka_give_cache back, owning its magazines. */
static void ka_mcache_give_cache_work(struct work_struct *unused)
{
	unsigned int kept, tries = 0;

	do {
		ka_mcache_lock(ka_mcache);
		kept = ka_mcache_give_share(smp_processor_id(), ka_give_cache,
					    false);
		ka_mcache_unlock(ka_mcache);
		if (kept)
			usleep_range(20, 100);
	} while (kept && !WARN_ON_ONCE(++tries > 10000));
}

/**
 * ka_mcache_give_cache_all - every online CPU gives its share of a cache back
 * @sh: the share of a ka_cache with no user left (ka_cache_destroy())
 *
 * Each CPU flushes its magazine of @cache, gives its spans of it back and
 * its magazine's capacity back to its budget, owning its magazines (as
 * SLUB's kmem_cache_destroy() flushes each CPU's slab); offline CPUs did
 * at cpuhp.
 *
 * Context: process context, may sleep.
 */
void ka_mcache_give_cache_all(struct ka_mcache_share *sh)
{
	mutex_lock(&ka_give_cache_mutex);
	ka_give_cache = sh;
	ka_mcache_on_each_cpu(ka_mcache_give_cache_work);
	ka_give_cache = NULL;
	mutex_unlock(&ka_give_cache_mutex);
}

/**
 * ka_mcache_trim_all - one idle-trim pass on every online CPU, now
 *
 * What the periodic trim does every KA_TRIM_INTERVAL, but synchronously:
 * each CPU halves the classes it has not used since its previous pass.
 *
 * Context: process context, may sleep.
 */
void ka_mcache_trim_all(void)
{
	ka_mcache_on_each_cpu(ka_mcache_trim_work);
}
KA_EXPORT_INTERNAL(ka_mcache_trim_all);

/**
 * ka_mcache_set_budget - change the per-CPU byte budget
 * @bytes: the new budget
 *
 * A lower budget is in force on every CPU when this returns: each online
 * CPU has halved its biggest classes until its capacities fit, flushing
 * the objects beyond them, and if that was not enough given its ka_caches'
 * shares back (magazines, their capacity and stashes).
 *
 * Context: process context, may sleep.
 */
void ka_mcache_set_budget(unsigned long bytes)
{
	WRITE_ONCE(ka_pcpu_budget, bytes);
	ka_mcache_on_each_cpu(ka_mcache_budget_work);
}
KA_EXPORT_INTERNAL(ka_mcache_set_budget);

/**
 * ka_mcache_trim_pause - stop or restart the periodic trim
 * @pause: true to stop it (waiting for a pass under way), false to restart
 *
 * For the tests, whose capacities must not change behind their back on a
 * slow machine; calls pair up and do not nest.
 *
 * Context: process context, may sleep.
 */
void ka_mcache_trim_pause(bool pause)
{
	int cpu;

	if (!pause) {
		queue_delayed_work(system_wq, &ka_trim_dwork, KA_TRIM_INTERVAL);
		return;
	}
	cancel_delayed_work_sync(&ka_trim_dwork);
	for_each_possible_cpu(cpu)
		flush_work(per_cpu_ptr(ka_trim_works, cpu));
}
KA_EXPORT_INTERNAL(ka_mcache_trim_pause);

/*
 * The periodic trim: ask each online CPU that has capacity or owns spans
 * to halve its idle classes and give their spans back.  Deferrable: it
 * does not wake an idle system by itself, and once a CPU has given all
 * its capacity and spans back it is not asked again.
 * Like the shrinker's drain, it does not wait for the CPUs.
 */
static void ka_mcache_trim_tick(struct work_struct *unused)
{
	int cpu, nid;

	/*
	 * The heaps' cached large spans and the empty spans mcentral kept by
	 * demand, by the same clock
	 */
	for_each_node(nid) {
		unsigned int cls;

		if (!ka_nodes[nid])
			continue;
		ka_large_trim(ka_mheap_of(nid), true);
		for (cls = 1; cls < ka_nr_classes; cls++)
			ka_mcentral_decay(ka_mcentral_of(nid, cls));
	}

	for_each_online_cpu(cpu)
		if (READ_ONCE(per_cpu_ptr(ka_mcache, cpu)->cap_bytes) ||
		    READ_ONCE(per_cpu_ptr(ka_mcache, cpu)->nr_owned))
			queue_work_on(cpu, system_wq,
				      per_cpu_ptr(ka_trim_works, cpu));
	queue_delayed_work(system_wq, &ka_trim_dwork, KA_TRIM_INTERVAL);
}

/**
 * ka_mcache_drain_async - ask every online CPU to flush its magazines
 *
 * For the shrinker: queues the flush on each CPU without waiting for it,
 * so reclaim never blocks on a workqueue; a flush already pending is not
 * queued twice.  The spans the flushes empty are returned by the next
 * shrinker pass.
 *
 * Context: any sleepable or atomic context that may queue work.
 */
void ka_mcache_drain_async(void)
{
	int cpu;

	for_each_online_cpu(cpu)
		queue_work_on(cpu, system_wq, per_cpu_ptr(ka_async_works, cpu));
}

static int ka_mcache_cpu_dead(unsigned int cpu)
{
	ka_mcache_reset_cpu(cpu);
	return 0;
}

/**
 * ka_mcache_init - allocate and initialise every possible CPU's caches
 *
 * Context: module init, after ka_sizeclass_init().
 * Return: 0 or a negative errno.
 */
int ka_mcache_init(void)
{
	unsigned int cls, slots = 0;
	unsigned long batches = 0;
	int cpu, ret;

	/* ka_span.magoff's arithmetic */
	BUILD_BUG_ON(sizeof(struct ka_magazine) != 1 << KA_MAG_SHIFT);
	BUILD_BUG_ON(offsetof(struct ka_mcache, mag) != 0);
	BUILD_BUG_ON(KA_MAX_CLASSES << KA_MAG_SHIFT > U16_MAX);

	for (cls = 1; cls < ka_nr_classes; cls++) {
		slots += ka_classes[cls].cache_max;
		batches += (unsigned long)ka_classes[cls].batch *
			   ka_classes[cls].size;
	}
	/*
	 * The default budget: every class can hold its first batch (a
	 * workload that touches every class once per CPU would otherwise
	 * evict one class for another at every miss), and as much again
	 * for the classes that grow and for the ka_caches' magazines, which
	 * take their capacity from the same budget.  A class or cache left
	 * without capacity pays a slow path on every call: replaying the
	 * kernel's own net stream (31 caches) cost ka 3.5x the instructions
	 * per event with one batch and a half (1472 KiB) than with two
	 * (1984 KiB; scripts/results.rst).
	 */
	if (ka_pcpu_budget == ULONG_MAX)
		ka_pcpu_budget = round_up(batches * 2, SZ_64K);

	ka_drain_works = alloc_percpu(struct work_struct);
	ka_async_works = alloc_percpu(struct work_struct);
	ka_trim_works = alloc_percpu(struct work_struct);
	ka_mcache = alloc_percpu(struct ka_mcache);
	if (!ka_drain_works || !ka_async_works || !ka_trim_works || !ka_mcache) {
		ret = -ENOMEM;
		goto fail;
	}
	for_each_possible_cpu(cpu) {
		struct ka_mcache *mc = per_cpu_ptr(ka_mcache, cpu);
		void **store;

		store = kvzalloc_node(array_size(slots, sizeof(void *)),
				      GFP_KERNEL, cpu_to_node(cpu));
		if (!store) {
			ret = -ENOMEM;
			goto fail;
		}
		ka_cpu_lock_init(&mc->lock);
		mc->ownkey = cpu + 1;
		mc->fastkey = mc->ownkey;
		mc->rnd = get_random_u64() | 1;
		INIT_WORK(per_cpu_ptr(ka_async_works, cpu), ka_mcache_drain_work);
		INIT_WORK(per_cpu_ptr(ka_trim_works, cpu), ka_mcache_trim_work);
		/* capacity 0: a class gets its first batch at its first miss */
		for (cls = 1; cls < ka_nr_classes; cls++) {
			INIT_LIST_HEAD(&mc->owned[cls].partial);
			INIT_LIST_HEAD(&mc->owned[cls].full);
			INIT_LIST_HEAD(&mc->owned[cls].stash);
			init_llist_head(&mc->owned[cls].pending);
			mc->mag[cls].objs = store;
			mc->mag[cls].top = store;
			mc->mag[cls].end = store;
			store += ka_classes[cls].cache_max;
		}
	}
	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "ka:dead", NULL,
					ka_mcache_cpu_dead);
	if (ret < 0)
		goto fail;
	ka_cpuhp_state = ret;
	queue_delayed_work(system_wq, &ka_trim_dwork, KA_TRIM_INTERVAL);
	return 0;
fail:
	/* the first class's slice is the start of the CPU's store */
	if (ka_mcache)
		for_each_possible_cpu(cpu)
			kvfree(per_cpu_ptr(ka_mcache, cpu)->mag[1].objs);
	free_percpu(ka_mcache);
	free_percpu(ka_trim_works);
	free_percpu(ka_async_works);
	free_percpu(ka_drain_works);
	return ret;
}

/**
 * ka_mcache_exit - flush and free every CPU's caches
 *
 * Context: module exit; no ka user can be running.
 */
void ka_mcache_exit(void)
{
	int cpu;

	cpuhp_remove_state_nocalls(ka_cpuhp_state);
	/* the tick first: it queues the per-CPU trim works */
	cancel_delayed_work_sync(&ka_trim_dwork);
	for_each_possible_cpu(cpu) {
		cancel_work_sync(per_cpu_ptr(ka_async_works, cpu));
		cancel_work_sync(per_cpu_ptr(ka_trim_works, cpu));
	}
	for_each_possible_cpu(cpu) {
		struct ka_mcache *mc = per_cpu_ptr(ka_mcache, cpu);

		ka_mcache_reset_cpu(cpu);
		kvfree(mc->mag[1].objs);
	}
	free_percpu(ka_mcache);
	free_percpu(ka_trim_works);
	free_percpu(ka_async_works);
	free_percpu(ka_drain_works);
}
