// SPDX-License-Identifier: GPL-2.0
/*
 * ka_free_rcu(): free an object after an RCU grace period, without an
 * rcu_head inside it.
 *
 * As the kernel's headless kvfree_rcu() does, pointers are collected per
 * CPU in page-sized batches; a full batch is handed to call_rcu() at once,
 * a partly filled one after KA_RCU_DELAY by a per-CPU delayed work, so a
 * trickle of frees still completes.  The callback frees the whole batch
 * with ka_free_bulk().  If no batch page can be had, the caller waits for a
 * grace period itself and frees directly.
 *
 * Owns: the per-CPU batches.
 * Locks: ka_rcu_cpu->lock (irq-safe) protects a CPU's current batch; it is
 * taken by that CPU's callers, its monitor work and ka_rcu_barrier(), and
 * nests inside no other ka lock.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/workqueue.h>
#include "ka_internal.h"
#include "hooks.h"

#define KA_RCU_DELAY	(HZ / 50)

struct ka_rcu_batch {
	struct rcu_head rcu;
	unsigned int nr;
	void *ptrs[];
};

#define KA_RCU_BATCH_MAX	((PAGE_SIZE - sizeof(struct ka_rcu_batch)) / \
				 sizeof(void *))

struct ka_rcu_cpu {
	spinlock_t lock;
	struct ka_rcu_batch *cur;
	bool armed;
	struct delayed_work monitor;
};

static struct ka_rcu_cpu __percpu *ka_rcu;

static void ka_rcu_batch_free(struct rcu_head *head)
{
	struct ka_rcu_batch *b = container_of(head, struct ka_rcu_batch, rcu);

	ka_free_bulk(b->nr, b->ptrs);
	kfree(b);
}

/* Hand @rc's current batch to RCU. */
static void ka_rcu_submit(struct ka_rcu_cpu *rc)
{
	struct ka_rcu_batch *b;
	unsigned long flags;

	spin_lock_irqsave(&rc->lock, flags);
	b = rc->cur;
	rc->cur = NULL;
	rc->armed = false;
	spin_unlock_irqrestore(&rc->lock, flags);
	if (b)
		call_rcu(&b->rcu, ka_rcu_batch_free);
}

static void ka_rcu_monitor(struct work_struct *work)
{
	ka_rcu_submit(container_of(to_delayed_work(work), struct ka_rcu_cpu,
				   monitor));
}

/**
 * ka_free_rcu - free an object after an RCU grace period
 * @p: an object from ka_alloc() and friends, NULL or ZERO_SIZE_PTR
 *
 * Readers that found @p under rcu_read_lock() may keep using it until they
 * leave their read-side section.  The object needs no rcu_head.  A pointer
 * that is not a live ka object - a freed one included - is refused at once,
 * as by ka_free(): a grace period later the freed object may be someone
 * else's.
 *
 * Context: process context; may sleep, like the kernel's headless
 * kvfree_rcu_mightsleep(): it sleeps only when it cannot allocate a batch
 * page, and then waits for a grace period itself.
 */
void ka_free_rcu(const void *p)
{
	struct ka_rcu_batch *fresh = NULL, *full = NULL;
	struct ka_rcu_cpu *rc;
	unsigned long flags;

	if (ZERO_OR_NULL_PTR(p))
		return;
	might_sleep();
	if (unlikely(!ka_size_caller(p, _RET_IP_)))
		return;		/* not a live object: reported */
retry:
	rc = raw_cpu_ptr(ka_rcu);
	spin_lock_irqsave(&rc->lock, flags);
	if (!rc->cur) {
		if (!fresh) {
			spin_unlock_irqrestore(&rc->lock, flags);
			fresh = kmalloc(PAGE_SIZE, GFP_KERNEL | __GFP_NOWARN);
			if (!fresh) {
				synchronize_rcu();
				ka_free(p);
				return;
			}
			fresh->nr = 0;
			goto retry;
		}
		rc->cur = fresh;
		fresh = NULL;
	}
	rc->cur->ptrs[rc->cur->nr++] = (void *)p;
	if (rc->cur->nr == KA_RCU_BATCH_MAX) {
		full = rc->cur;
		rc->cur = NULL;
	} else if (!rc->armed) {
		rc->armed = true;
		schedule_delayed_work(&rc->monitor, KA_RCU_DELAY);
	}
	spin_unlock_irqrestore(&rc->lock, flags);
	kfree(fresh);
	if (full)
		call_rcu(&full->rcu, ka_rcu_batch_free);
}
EXPORT_SYMBOL_GPL(ka_free_rcu);

/**
 * ka_rcu_barrier - complete every ka_free_rcu() issued so far
 *
 * Context: process context, sleeps.
 */
void ka_rcu_barrier(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct ka_rcu_cpu *rc = per_cpu_ptr(ka_rcu, cpu);

		cancel_delayed_work_sync(&rc->monitor);
		ka_rcu_submit(rc);
	}
	rcu_barrier();
}

int ka_rcu_init(void)
{
	int cpu;

	ka_rcu = alloc_percpu(struct ka_rcu_cpu);
	if (!ka_rcu)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct ka_rcu_cpu *rc = per_cpu_ptr(ka_rcu, cpu);

		spin_lock_init(&rc->lock);
		INIT_DELAYED_WORK(&rc->monitor, ka_rcu_monitor);
	}
	return 0;
}

/* Module exit: no ka_free_rcu() caller is left; finish what is pending. */
void ka_rcu_exit(void)
{
	ka_rcu_barrier();
	free_percpu(ka_rcu);
}
KA_EXPORT_INTERNAL(ka_rcu_barrier);

/**
 * ka_redirect_rcu_free - call_rcu() callback of ka_redirect.h's kfree_rcu()
 * @head: the rcu_head inside a ka object
 *
 * Frees the object that holds @head: its start is found from the span, as
 * the kernel's kvfree_rcu() finds it from an offset.
 *
 * Context: an RCU callback (softirq, or an rcuc/rcuog thread).
 */
void ka_redirect_rcu_free(struct rcu_head *head)
{
	struct ka_span *span;
	void *p = NULL;

	rcu_read_lock();
	span = ka_span_of(head);
	if (span && span->state == KA_SPAN_SMALL)
		p = span->base + ka_span_index(span, head) * span->elemsize;
	else if (span && span->state == KA_SPAN_LARGE)
		p = span->base;
	/* the object's span is the head's: ka_free() without a lookup */
	if (p)
		ka_free_in(span, p, _THIS_IP_);
	rcu_read_unlock();
	if (!p)
		ka_report_bad_free(head, "kfree_rcu() of an rcu_head ka does not own", 0);
}
EXPORT_SYMBOL_GPL(ka_redirect_rcu_free);
