// SPDX-License-Identifier: GPL-2.0
/*
 * ka per-CPU caches (Go's mcache).
 *
 * Each CPU has, for every size class, a magazine: an array of free objects
 * used as a stack, so the most recently freed (cache-hot) object is handed
 * out first.
 *
 * The allocation hit path (ka_alloc() popping) takes no lock and disables
 * neither interrupts nor preemption, as SLUB's slab_alloc_node(): it reads
 * one CPU's count-and-transaction-id word and the slot it names, and
 * commits with a this_cpu_cmpxchg() of that word (a CPU-local cmpxchg, no
 * LOCK prefix, no atomic read-modify-write across CPUs).  Every change of
 * a magazine bumps the id, and ids are per CPU, so an interrupt that
 * allocated or freed on this CPU in between, or a migration, makes the
 * commit fail and the pop retry; the pop writes nothing before its commit.
 *
 * The free hit path (ka_free() pushing) runs with interrupts off under the
 * CPU's local_lock instead: a push must write its slot before the count
 * that publishes it, and an interrupt between reading the count and
 * writing the slot could have raised the count past that slot, so the
 * write would clobber a cached object and the retried push would cache
 * the freed one twice (ka_stress found exactly this on a stock kernel).
 * SLUB's lockless free avoids it by linking through the freed object
 * itself, which an array magazine cannot.  A push is a load, two stores
 * and the irq save/restore; it still takes no spinlock and no atomic.
 *
 * The slow paths (refill, flush, bulk, drain) change magazines under the
 * CPU's local_lock with irqs off, and always with a new id.  An empty
 * magazine is refilled with a batch of objects from the CPU's node's
 * mcentral, taken with one lock acquisition; a full one flushes its oldest
 * batch back.  A magazine only ever holds objects of its CPU's node: frees
 * of remote objects go straight to their own mcentral.
 *
 * Owns: struct ka_pcpu (one per CPU) and its magazines.
 * Locks: ka_pcpu->lock (local_lock_t), outermost of ka's locks: a flush
 * takes central->lock inside it, a refill runs with it dropped.  A dead
 * CPU's magazines are flushed by the cpuhp callback, without the lock,
 * since no one can run there.
 */
#include <linux/cpuhotplug.h>
#include <linux/workqueue.h>
#include <linux/cpu.h>
#include <linux/mutex.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include "ka_internal.h"

struct ka_pcpu __percpu *ka_pcpu;
KA_EXPORT_INTERNAL(ka_pcpu);
static struct work_struct __percpu *ka_drain_works;
static struct work_struct __percpu *ka_async_works;	/* shrinker's */
static DEFINE_MUTEX(ka_drain_mutex);	/* serialises ka_mcache_drain_all() */
static enum cpuhp_state ka_cpuhp_state;

/**
 * ka_mcache_flush_class - give the @n oldest objects of a magazine back
 * @pcc: the magazine, of this CPU (local lock held) or of a dead CPU
 * @n: how many, at most its count
 *
 * Context: the magazine's local lock held, or its CPU dead.
 */
void ka_mcache_flush_class(struct ka_pcpu_class *pcc, unsigned int n)
{
	unsigned int count = ka_pcc_count(pcc);

	n = min(n, count);
	if (!n)
		return;
	ka_central_flush(pcc->objs, n);
	memmove(pcc->objs, pcc->objs + n, (count - n) * sizeof(void *));
	ka_pcc_set_count(pcc, count - n);
	pcc->nr_flush++;
}

/**
 * ka_mcache_flush_cpu - empty every magazine of one CPU
 * @pc: the CPU's caches
 *
 * Context: the CPU's local lock held, or the CPU dead.
 */
void ka_mcache_flush_cpu(struct ka_pcpu *pc)
{
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++)
		ka_mcache_flush_class(&pc->cls[cls], ka_pcc_count(&pc->cls[cls]));
}

/**
 * ka_mcache_refill_alloc - allocation slow path: refill and take one object
 * @cls: size class whose magazine was empty
 * @gfp: caller's flags
 *
 * Takes a batch from this node's mcentral with the local lock dropped (the
 * mcentral may need new pages), returns one object and stores the rest.
 * If the task moved to a CPU of another node meanwhile, the rest goes back.
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: an object, or NULL.
 */
void *ka_mcache_refill_alloc(unsigned int cls, gfp_t gfp)
{
	const struct ka_class *k = &ka_classes[cls];
	void *batch[KA_BATCH_MAX];
	struct ka_pcpu_class *pcc;
	unsigned int n, count, take = 0;
	int node = numa_mem_id();
	unsigned long flags;

	n = ka_central_refill(ka_central_of(node, cls), batch, k->batch, gfp);
	if (!n)
		return NULL;

	local_lock_irqsave(&ka_pcpu->lock, flags);
	pcc = &this_cpu_ptr(ka_pcpu)->cls[cls];
	pcc->nr_alloc++;
	pcc->nr_miss++;
	pcc->nr_refill++;
	if (likely(numa_mem_id() == node)) {
		/* pop order = ascending addresses, as the span gave them */
		count = ka_pcc_count(pcc);
		while (take < n - 1 && count < pcc->cap) {
			pcc->objs[count++] = batch[n - 1 - take];
			take++;
		}
		ka_pcc_set_count(pcc, count);
	}
	local_unlock_irqrestore(&ka_pcpu->lock, flags);
	if (take < n - 1)
		ka_central_flush(batch + 1, n - 1 - take);
	return batch[0];
}

static void ka_mcache_drain_work(struct work_struct *unused)
{
	unsigned long flags;

	local_lock_irqsave(&ka_pcpu->lock, flags);
	ka_mcache_flush_cpu(this_cpu_ptr(ka_pcpu));
	local_unlock_irqrestore(&ka_pcpu->lock, flags);
}

/**
 * ka_mcache_drain_all - flush every online CPU's magazines to mcentral
 *
 * Queues a work item on each online CPU and waits for them all (as SLUB's
 * flush_all() does), so that each CPU empties its own magazines under its
 * own local lock.  Offline CPUs were flushed by the cpuhp callback.
 *
 * Context: process context, may sleep.
 */
void ka_mcache_drain_all(void)
{
	int cpu;

	mutex_lock(&ka_drain_mutex);
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct work_struct *w = per_cpu_ptr(ka_drain_works, cpu);

		INIT_WORK(w, ka_mcache_drain_work);
		queue_work_on(cpu, system_highpri_wq, w);
	}
	for_each_online_cpu(cpu)
		flush_work(per_cpu_ptr(ka_drain_works, cpu));
	cpus_read_unlock();
	mutex_unlock(&ka_drain_mutex);
}
KA_EXPORT_INTERNAL(ka_mcache_drain_all);

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
	ka_mcache_flush_cpu(per_cpu_ptr(ka_pcpu, cpu));
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
	int cpu, ret;

	for (cls = 1; cls < ka_nr_classes; cls++)
		slots += ka_classes[cls].cache_max;

	ka_drain_works = alloc_percpu(struct work_struct);
	ka_async_works = alloc_percpu(struct work_struct);
	ka_pcpu = alloc_percpu(struct ka_pcpu);
	if (!ka_drain_works || !ka_async_works || !ka_pcpu) {
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
		local_lock_init(&pc->lock);
		pc->fastkey = cpu_to_mem(cpu) + 1;
		INIT_WORK(per_cpu_ptr(ka_async_works, cpu), ka_mcache_drain_work);
		for (cls = 1; cls < ka_nr_classes; cls++) {
			pc->cls[cls].objs = store;
			pc->cls[cls].cap = ka_classes[cls].cache_max;
			/* ids start at the CPU number: see KA_CT_TID */
			pc->cls[cls].ct = (unsigned long)cpu << KA_CT_COUNT_BITS;
			store += ka_classes[cls].cache_max;
		}
	}
	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "ka:dead", NULL,
					ka_mcache_cpu_dead);
	if (ret < 0)
		goto fail;
	ka_cpuhp_state = ret;
	return 0;
fail:
	/* the first class's slice is the start of the CPU's store */
	if (ka_pcpu)
		for_each_possible_cpu(cpu)
			kvfree(per_cpu_ptr(ka_pcpu, cpu)->cls[1].objs);
	free_percpu(ka_pcpu);
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
	for_each_possible_cpu(cpu)
		cancel_work_sync(per_cpu_ptr(ka_async_works, cpu));
	for_each_possible_cpu(cpu) {
		struct ka_pcpu *pc = per_cpu_ptr(ka_pcpu, cpu);

		ka_mcache_flush_cpu(pc);
		kvfree(pc->cls[1].objs);
	}
	free_percpu(ka_pcpu);
	free_percpu(ka_async_works);
	free_percpu(ka_drain_works);
}
