// SPDX-License-Identifier: GPL-2.0
/*
 * ka per-CPU caches (Go's mcache).
 *
 * Each CPU has, for every size class, a magazine: an array of free objects
 * used as a stack, so the most recently freed (cache-hot) object is handed
 * out first.  An empty magazine is refilled with a batch of objects from
 * the CPU's node's mcentral, taken with one lock acquisition; a full one
 * flushes its oldest batch back.  A magazine only ever holds objects of its
 * CPU's node: frees of remote objects go straight to their own mcentral.
 *
 * Ownership.  All magazines of a CPU are owned through one per-CPU lock,
 * ka_pcpu->lock (struct ka_cpu_lock: Linux 6.15's local_trylock_t,
 * open-coded in compat.h before it), and nothing reads or writes a
 * magazine's slots or top without owning it: not the hit paths (ka_alloc()'s
 * pop, ka_free()'s push), not refill, flush, bulk, drain.  There is no
 * lockless reader, so there are no transaction ids; the only lockless
 * access is statistics reading a count.  The hit paths, and everything
 * that may run in interrupt context, take the lock with ka_mag_trylock()
 * and never wait: when it fails they use this node's mcentral directly (an
 * allocation takes one object from it, a free gives the object back to it;
 * counted as "busy" in debugfs stats).  Only task-context code that must
 * reach the magazines (the drain work) waits, with ka_mag_lock().
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
 *   hard irq and from atomic sections on RT (ka_mag_context_ok()), as
 *   kmalloc may not be called there, rather than sleep in atomic context.
 *
 * CPU hotplug: a CPU goes down only once no task on it has migration
 * disabled, so no one owns a dead CPU's magazines; the cpuhp callback
 * flushes them and sets their capacities to 0 without the lock.
 *
 * Capacity.  A magazine holds at most its capacity (end - objs), and the
 * sum over a CPU's classes of capacity x object size (ka_pcpu.cap_bytes)
 * never exceeds one byte budget, ka_pcpu_budget (module parameter and
 * debugfs file "pcpu_budget", in KiB; TCMalloc's per-CPU cache bound; by
 * default one batch of every class and half as much again: 2 MiB).
 * Capacities adapt by use, as TCMalloc sizes its per-CPU classes:
 * - a class starts at 0; its first miss gives it one batch, taken if need
 *   be from the least recently missed classes (halved, down to 0 below a
 *   batch);
 * - a miss in the other direction than the class's previous one (an empty
 *   magazine after a full one, or the reverse: the working set does not
 *   fit) grows it by one batch, up to ka_class.cache_max, within the
 *   budget: taken if need be only from classes unused since the last trim
 *   pass, so that busy classes do not take capacity from each other in
 *   turn (each theft a flush, each flush a later miss).  A class that
 *   only allocates (or only frees) here gains nothing from more room, and
 *   does not grow;
 * - every KA_TRIM_INTERVAL a deferrable delayed work has each CPU with
 *   capacity left halve the classes that saw no allocation or free since
 *   the previous pass (below one batch: 0), flushing the objects that no
 *   longer fit; an idle CPU so gives its whole cache back in a few passes
 *   and is then left alone;
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
 * Owns: struct ka_pcpu (one per CPU) and its magazines, their capacities,
 * the budget, the trim works.
 * Locks: ka_pcpu->lock, outermost of ka's spinlocks: a flush takes
 * central->lock inside it, then, for the spans it emptied, heap->lock and
 * ka_arena_lock (one at a time); ka_free_bulk() takes ka_prof_lock inside
 * it.  A refill takes its batch from mcentral before taking it.  A dead CPU's magazines are flushed by the cpuhp callback
 * without the lock, since no one can run there.  ka_drain_mutex serialises
 * the synchronous all-CPU works (drain, budget), outside every other lock.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/cpuhotplug.h>
#include <linux/workqueue.h>
#include <linux/cpu.h>
#include <linux/mutex.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/sizes.h>
#include "mcache.h"

/* How often idle classes are halved. */
#define KA_TRIM_INTERVAL		HZ

struct ka_pcpu __percpu *ka_pcpu;
KA_EXPORT_INTERNAL(ka_pcpu);
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
MODULE_PARM_DESC(pcpu_budget, "KiB of free objects each CPU's caches may hold, all size classes together (0 .. 1048576; default: one batch of every class and half as much again, 2048 with 4 KiB pages)");

#if IS_ENABLED(CONFIG_KUNIT)
void (*ka_mag_test_hook)(enum ka_mag_point pt);
KA_EXPORT_INTERNAL(ka_mag_test_hook);
#endif

/**
 * ka_mcache_flush_class - give the @n oldest objects of a magazine back
 * @m: the magazine, of this CPU (owned) or of a dead CPU
 * @cls: its size class
 * @n: how many, at most its count
 *
 * Context: the magazine owned (ka_mag_trylock() or ka_mag_lock()), or its
 * CPU dead.
 */
void ka_mcache_flush_class(struct ka_magazine *m, unsigned int cls,
			   unsigned int n)
{
	unsigned int count = ka_mag_count(m);

	n = min(n, count);
	if (!n)
		return;
	ka_central_flush(m->objs, n);
	ka_mag_point(KA_MP_FLUSH);
	memmove(m->objs, m->objs + n, (count - n) * sizeof(void *));
	WRITE_ONCE(m->top, m->objs + count - n);
	/* @m's own counter: the caller may be flushing a dead CPU's */
	WRITE_ONCE(m->nr_flush, m->nr_flush + 1);
}

/*
 * Set class @cls's capacity on @pc to @cap objects, flushing the oldest
 * objects that no longer fit.  Context: owner, or the CPU dead.
 */
static void ka_mag_resize(struct ka_pcpu *pc, unsigned int cls,
			  unsigned int cap)
{
	struct ka_magazine *m = &pc->mag[cls];
	unsigned int old = ka_mag_cap(m), count = ka_mag_count(m);
	unsigned long size = ka_classes[cls].size;

	if (count > cap)
		ka_mcache_flush_class(m, cls, count - cap);
	WRITE_ONCE(m->end, m->objs + cap);
	WRITE_ONCE(pc->cap_bytes, pc->cap_bytes - old * size + cap * size);
	if (cap > old)
		pc->nr_grow++;
	else if (cap < old)
		pc->nr_shrink++;
}

/* Half of a capacity of @cap, or 0 below one batch. */
static unsigned int ka_mag_half(unsigned int cls, unsigned int cap)
{
	return cap / 2 >= ka_classes[cls].batch ? cap / 2 : 0;
}

/* Has class @cls seen no allocation or free on @pc since the last pass? */
static bool ka_mag_idle(struct ka_pcpu *pc, unsigned int cls)
{
	const struct ka_magazine *m = &pc->mag[cls];

	return READ_ONCE(m->nr_alloc) + READ_ONCE(m->nr_free) ==
	       pc->ctl[cls].seen;
}

/*
 * Free at least @want bytes of @pc's budget by halving, least recently
 * missed first, the classes (all but @except) with capacity - with
 * @idle_only, only those unused since the last trim pass - as long as
 * there are any.  Context: owner.
 */
static void ka_mag_steal(struct ka_pcpu *pc, unsigned int except,
			 unsigned long want, bool idle_only)
{
	unsigned long start = pc->cap_bytes;

	while (start - pc->cap_bytes < want) {
		unsigned int cls, victim = 0, oldest = 0;

		for (cls = 1; cls < ka_nr_classes; cls++) {
			unsigned int age = pc->nr_adapt - pc->ctl[cls].stamp;

			if (cls == except || !ka_mag_cap(&pc->mag[cls]) ||
			    (victim && age <= oldest) ||
			    (idle_only && !ka_mag_idle(pc, cls)))
				continue;
			victim = cls;
			oldest = age;
		}
		if (!victim)
			break;
		ka_mag_resize(pc, victim,
			      ka_mag_half(victim, ka_mag_cap(&pc->mag[victim])));
	}
}

/*
 * A miss of class @cls on @pc in direction @dir: give the class its first
 * batch, or one more batch if the miss reverses the previous one, within
 * the budget (see "Capacity" above).  Context: owner.
 */
static void ka_mag_adapt(struct ka_pcpu *pc, unsigned int cls,
			 enum ka_mag_miss dir)
{
	const struct ka_class *k = &ka_classes[cls];
	struct ka_mag_ctl *ctl = &pc->ctl[cls];
	unsigned long budget = READ_ONCE(ka_pcpu_budget), need, room;
	unsigned int cap = ka_mag_cap(&pc->mag[cls]), want = cap;

	if (cap < k->batch)
		want = k->batch;
	else if (ctl->last && ctl->last != dir)
		want = cap + k->batch;
	ctl->last = dir;
	ctl->stamp = ++pc->nr_adapt;
	want = min(want, k->cache_max);
	if (want <= cap)
		return;
	need = (unsigned long)(want - cap) * k->size;
	if (pc->cap_bytes + need > budget)
		ka_mag_steal(pc, cls, pc->cap_bytes + need - budget,
			     cap >= k->batch);
	room = budget > pc->cap_bytes ? budget - pc->cap_bytes : 0;
	want = min_t(unsigned long, want, cap + room / k->size);
	if (want > cap)
		ka_mag_resize(pc, cls, want);
}

/**
 * ka_mcache_overflow - free into a full magazine
 * @m: this CPU's magazine of @cls, full
 * @cls: its size class
 * @p: the object being freed (its free hooks have run)
 *
 * Grows the magazine if its class alternates misses and the budget has
 * room, else flushes its oldest batch; then pushes @p, or, if the magazine
 * has no capacity at all (budget exhausted), gives @p to its mcentral.
 *
 * Context: the magazines owned.
 */
void ka_mcache_overflow(struct ka_magazine *m, unsigned int cls, void *p)
{
	struct ka_pcpu *pc = this_cpu_ptr(ka_pcpu);

	ka_mag_adapt(pc, cls, KA_MISS_OVER);
	if (m->top == m->end)
		ka_mcache_flush_class(m, cls, ka_classes[cls].batch);
	if (m->top != m->end) {
		*m->top = p;
		WRITE_ONCE(m->top, m->top + 1);
	} else {
		ka_central_flush(&p, 1);
	}
}

/*
 * One trim pass on @pc: with @idle, halve the classes unused since the
 * previous idle pass; then bring the CPU within the budget.
 * Context: owner.
 */
static void ka_mcache_trim_cpu(struct ka_pcpu *pc, bool idle)
{
	unsigned long budget = READ_ONCE(ka_pcpu_budget);
	unsigned int cls;

	for (cls = 1; idle && cls < ka_nr_classes; cls++) {
		struct ka_magazine *m = &pc->mag[cls];
		unsigned long used = READ_ONCE(m->nr_alloc) +
				     READ_ONCE(m->nr_free);
		unsigned int cap = ka_mag_cap(m);

		if (cap && used == pc->ctl[cls].seen) {
			ka_mag_resize(pc, cls, ka_mag_half(cls, cap));
			pc->ctl[cls].last = 0;
		}
		pc->ctl[cls].seen = used;
	}
	if (pc->cap_bytes > budget)
		ka_mag_steal(pc, 0, pc->cap_bytes - budget, false);
}

/* A dead CPU's (or, at exit, any CPU's) magazines: empty, capacity 0. */
static void ka_mcache_reset_cpu(struct ka_pcpu *pc)
{
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++) {
		ka_mag_resize(pc, cls, 0);
		pc->ctl[cls].last = 0;
	}
}

/**
 * ka_mcache_flush_cpu - empty every magazine of one CPU
 * @pc: the CPU's caches
 *
 * Context: the CPU's magazines owned, or the CPU dead.
 */
void ka_mcache_flush_cpu(struct ka_pcpu *pc)
{
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++)
		ka_mcache_flush_class(&pc->mag[cls], cls,
				      ka_mag_count(&pc->mag[cls]));
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
	u64 x = this_cpu_read(ka_pcpu->rnd);
	unsigned int i, j;

	for (i = n - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = ((x & U32_MAX) * (i + 1)) >> 32;
		swap(v[i], v[j]);
	}
	this_cpu_write(ka_pcpu->rnd, x);
}

/**
 * ka_mcache_refill_alloc - allocation slow path: refill and take one object
 * @cls: size class whose magazine was empty (or busy)
 * @gfp: caller's flags
 *
 * Takes a batch from this node's mcentral without owning the magazines
 * (mcentral may need new pages), returns one object and stores the rest,
 * after adapting the magazine's capacity to the miss.
 * If the magazines are busy now, or the task moved to a CPU of another
 * node meanwhile, the rest goes back.
 *
 * Context: any context @gfp allows (on PREEMPT_RT, preemptible); no ka
 * lock held.
 * Return: an object, or NULL.
 */
void *ka_mcache_refill_alloc(unsigned int cls, gfp_t gfp)
{
	const struct ka_class *k = &ka_classes[cls];
	unsigned long budget = READ_ONCE(ka_pcpu_budget);
	unsigned int n, take = 0, want = k->batch;
	void *batch[KA_BATCH_MAX];
	int node = numa_mem_id();

	/* a budget below one batch: take no more than a magazine may keep */
	if (budget < (unsigned long)k->batch * k->size)
		want = budget / k->size + 1;
	n = ka_central_refill(ka_central_of(node, cls), batch, want, gfp);
	if (!n)
		return NULL;

	this_cpu_inc(ka_pcpu->mag[cls].nr_alloc);
	this_cpu_inc(ka_pcpu->mag[cls].nr_miss);
	this_cpu_inc(ka_pcpu->mag[cls].nr_refill);
	if (likely(ka_mag_trylock(ka_pcpu))) {
		if (likely(numa_mem_id() == node)) {
			ka_mag_adapt(this_cpu_ptr(ka_pcpu), cls, KA_MISS_UNDER);
			ka_mag_point(KA_MP_REFILL);
			if (random_reuse)
				ka_shuffle(batch, n);
			/* pop order = batch order */
			while (take < n - 1 &&
			       ka_mag_push(&ka_pcpu->mag[cls], batch[n - 1 - take]))
				take++;
		}
		ka_mag_unlock(ka_pcpu);
	} else {
		this_cpu_inc(ka_pcpu->nr_busy);
	}
	if (take < n - 1)
		ka_central_flush(batch + 1, n - 1 - take);
	return batch[0];
}

/**
 * ka_mag_holds - is @p in any CPU's magazine at @mag?
 * @mag: a per-CPU magazine: &ka_pcpu->mag[cls], or a ka_cache's
 * @p: an object
 *
 * A snapshot, read without owning the magazines (each slot and top read
 * once): an object pushed or popped meanwhile may be missed or seen.  For
 * the rare free whose object carries its span's double-free tag
 * (ka_obj_free_confirm()): up to KA_PCPU_CACHE_MAX slots per CPU.
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
	return ka_mag_holds(&ka_pcpu->mag[cls], p);
}

/**
 * ka_mcache_set_fastkeys - let ka_free()'s hit path push, or send it slow
 * @hooks: something must see every free (ka_free_hooks_key is on)
 *
 * Sets every CPU's fastkey to its node + 1, or, with @hooks, to a value no
 * span has.
 *
 * Context: process context; serialised by the caller (module init/exit,
 * tracepoint (un)registration).
 */
void ka_mcache_set_fastkeys(bool hooks)
{
	int cpu;

	/* a tracepoint may be enabled before ka_mcache_init() */
	if (!ka_pcpu)
		return;
	for_each_possible_cpu(cpu)
		WRITE_ONCE(per_cpu_ptr(ka_pcpu, cpu)->fastkey,
			   hooks ? KA_FASTKEY_HOOKS : cpu_to_mem(cpu) + 1);
}

static void ka_mcache_drain_work(struct work_struct *unused)
{
	ka_mag_lock(ka_pcpu);
	ka_mcache_flush_cpu(this_cpu_ptr(ka_pcpu));
	ka_mag_unlock(ka_pcpu);
}

/* The periodic trim, on one CPU: halve its idle classes. */
static void ka_mcache_trim_work(struct work_struct *unused)
{
	ka_mag_lock(ka_pcpu);
	ka_mcache_trim_cpu(this_cpu_ptr(ka_pcpu), true);
	ka_mag_unlock(ka_pcpu);
}

/* After the budget was lowered, on one CPU: bring it within the budget. */
static void ka_mcache_budget_work(struct work_struct *unused)
{
	ka_mag_lock(ka_pcpu);
	ka_mcache_trim_cpu(this_cpu_ptr(ka_pcpu), false);
	ka_mag_unlock(ka_pcpu);
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
 * ka_mcache_drain_all - flush every online CPU's magazines to mcentral
 *
 * Each CPU empties its own magazines under its own lock; capacities stay.
 *
 * Context: process context, may sleep.
 */
void ka_mcache_drain_all(void)
{
	ka_mcache_on_each_cpu(ka_mcache_drain_work);
}
KA_EXPORT_INTERNAL(ka_mcache_drain_all);

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
 * the objects beyond them.
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
 * The periodic trim: ask each online CPU that has capacity to halve its
 * idle classes.  Deferrable: it does not wake an idle system by itself,
 * and once a CPU has given all its capacity back it is not asked again.
 * Like the shrinker's drain, it does not wait for the CPUs.
 */
static void ka_mcache_trim_tick(struct work_struct *unused)
{
	int cpu, nid;

	/* the heaps' cached large spans, by the same clock */
	for_each_node(nid)
		if (ka_nodes[nid])
			ka_heap_large_trim(ka_heap_of(nid), true);

	for_each_online_cpu(cpu)
		if (READ_ONCE(per_cpu_ptr(ka_pcpu, cpu)->cap_bytes))
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
	ka_mcache_reset_cpu(per_cpu_ptr(ka_pcpu, cpu));
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
	BUILD_BUG_ON(offsetof(struct ka_pcpu, mag) != 0);
	BUILD_BUG_ON(KA_MAX_CLASSES << KA_MAG_SHIFT > U16_MAX);

	for (cls = 1; cls < ka_nr_classes; cls++) {
		slots += ka_classes[cls].cache_max;
		batches += (unsigned long)ka_classes[cls].batch *
			   ka_classes[cls].size;
	}
	/*
	 * The default budget: every class can hold its first batch (a
	 * workload that touches every class once per CPU would otherwise
	 * evict one class for another at every miss), and half as much
	 * again for the classes that grow.
	 */
	if (ka_pcpu_budget == ULONG_MAX)
		ka_pcpu_budget = round_up(batches * 3 / 2, SZ_64K);

	ka_drain_works = alloc_percpu(struct work_struct);
	ka_async_works = alloc_percpu(struct work_struct);
	ka_trim_works = alloc_percpu(struct work_struct);
	ka_pcpu = alloc_percpu(struct ka_pcpu);
	if (!ka_drain_works || !ka_async_works || !ka_trim_works || !ka_pcpu) {
		ret = -ENOMEM;
		goto fail;
	}
	for_each_possible_cpu(cpu) {
		struct ka_pcpu *pc = per_cpu_ptr(ka_pcpu, cpu);
		void **store;

		store = kvzalloc_node(array_size(slots, sizeof(void *)),
				      GFP_KERNEL, cpu_to_node(cpu));
		if (!store) {
			ret = -ENOMEM;
			goto fail;
		}
		ka_cpu_lock_init(&pc->lock);
		pc->fastkey = cpu_to_mem(cpu) + 1;
		pc->rnd = get_random_u64() | 1;
		INIT_WORK(per_cpu_ptr(ka_async_works, cpu), ka_mcache_drain_work);
		INIT_WORK(per_cpu_ptr(ka_trim_works, cpu), ka_mcache_trim_work);
		/* capacity 0: a class gets its first batch at its first miss */
		for (cls = 1; cls < ka_nr_classes; cls++) {
			pc->mag[cls].objs = store;
			pc->mag[cls].top = store;
			pc->mag[cls].end = store;
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
	if (ka_pcpu)
		for_each_possible_cpu(cpu)
			kvfree(per_cpu_ptr(ka_pcpu, cpu)->mag[1].objs);
	free_percpu(ka_pcpu);
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
		struct ka_pcpu *pc = per_cpu_ptr(ka_pcpu, cpu);

		ka_mcache_reset_cpu(pc);
		kvfree(pc->mag[1].objs);
	}
	free_percpu(ka_pcpu);
	free_percpu(ka_trim_works);
	free_percpu(ka_async_works);
	free_percpu(ka_drain_works);
}
