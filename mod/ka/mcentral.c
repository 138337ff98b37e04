// SPDX-License-Identifier: GPL-2.0
/*
 * ka central free lists (Go's mcentral), one per size class and NUMA node.
 *
 * An mcentral keeps the spans of its class on two lists: @partial (spans
 * with at least one free object; spans with no object out are kept at the
 * tail, so that refills fill up used spans first and empty ones stay empty)
 * and @full.  Per-CPU caches refill from it and flush to it in batches, so
 * its lock is taken once per batch, not once per object.  A span whose last
 * object comes back is kept as a reserve (ka_class.reserve spans per
 * central: about one batch of objects, at most 64 KiB) so that a workload
 * hovering around a span boundary, or a CPU flushing what another refills,
 * does not bounce spans to and from the heap; further empty spans go back
 * to the heap at once, and all of them under memory pressure.
 *
 * A ka_cache (cache.c) has central lists of its own, with a carve hook
 * that runs the cache's constructor on each new span; its spans point back
 * at them (ka_span.central), and flushes return objects there.
 *
 * Owns: the span lists and the spans on them.
 * Locks: central->lock (irq-safe) protects the lists, every field of the
 * spans on them that can change, and the counters.  It nests inside the
 * per-CPU magazines' lock (a flush); no other ka lock is taken under it: it
 * is dropped around new span allocation, and empty spans are destroyed
 * (heap->lock) after it is dropped.
 */
#define pr_fmt(fmt) "ka: " fmt

#include "ka_internal.h"

static void ka_central_add(struct ka_central *c, struct ka_span *span)
{
	lockdep_assert_held(&c->lock);
	list_add(&span->list, &c->partial);
	span->where = KA_LIST_PARTIAL;
	c->nr_partial++;
	c->nr_empty++;
	c->spans_from_heap++;
}

/* Move @span to the list its counts call for, after a take or a put. */
static void ka_central_relist(struct ka_central *c, struct ka_span *span,
			      unsigned int was_out)
{
	lockdep_assert_held(&c->lock);
	if (span->nalloc == span->nelems) {
		if (span->where == KA_LIST_PARTIAL) {
			list_move(&span->list, &c->full);
			span->where = KA_LIST_FULL;
			c->nr_partial--;
			c->nr_full++;
		}
	} else if (span->where == KA_LIST_FULL) {
		list_move(&span->list, &c->partial);
		span->where = KA_LIST_PARTIAL;
		c->nr_full--;
		c->nr_partial++;
	}
	if (!was_out && span->nalloc)
		c->nr_empty--;
	if (was_out && !span->nalloc) {
		c->nr_empty++;
		list_move_tail(&span->list, &c->partial);
	}
}

/**
 * ka_central_init - an empty central list
 * @c: zeroed memory for it
 * @cls: its size class
 * @node: its NUMA node
 *
 * Context: init, before any use.
 */
void ka_central_init(struct ka_central *c, unsigned int cls, int node)
{
	spin_lock_init(&c->lock);
	INIT_LIST_HEAD(&c->partial);
	INIT_LIST_HEAD(&c->full);
	c->cls = cls;
	c->node = node;
}

/**
 * ka_central_refill - take up to @n objects for a per-CPU cache
 * @c: the central list of the class and node wanted
 * @objs: array of at least @n slots
 * @n: objects wanted
 * @gfp: caller's flags, for a new span if one is needed
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: the number of objects stored in @objs; fewer than @n (maybe 0)
 * only if a new span could not be had.
 */
unsigned int ka_central_refill(struct ka_central *c, void **objs,
			       unsigned int n, gfp_t gfp)
{
	unsigned int got = 0;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	c->nr_lock++;
	while (got < n) {
		struct ka_span *span;
		unsigned int was_out;

		span = list_first_entry_or_null(&c->partial, struct ka_span,
						list);
		if (!span) {
			spin_unlock_irqrestore(&c->lock, flags);
			span = ka_span_new(c->cls, c->node, gfp);
			if (span && c->carve)
				c->carve(c, span);
			spin_lock_irqsave(&c->lock, flags);
			c->nr_lock++;
			if (!span)
				break;
			ka_central_add(c, span);
			continue;
		}
		was_out = span->nalloc;
		got += ka_span_take(span, objs + got, n - got);
		ka_central_relist(c, span, was_out);
	}
	c->objs_out += got;
	c->nr_refill++;
	spin_unlock_irqrestore(&c->lock, flags);
	trace_ka_refill(c->cls, c->node, got);
	return got;
}
KA_EXPORT_INTERNAL(ka_central_refill);

/* Unlink empty spans beyond @keep; the caller destroys them unlocked. */
static void ka_central_trim(struct ka_central *c, unsigned long keep,
			    struct list_head *out)
{
	struct ka_span *span, *tmp;

	lockdep_assert_held(&c->lock);
	list_for_each_entry_safe_reverse(span, tmp, &c->partial, list) {
		if (c->nr_empty <= keep)
			break;
		if (span->nalloc)
			continue;
		list_move(&span->list, out);
		span->where = KA_LIST_NONE;
		c->nr_empty--;
		c->nr_partial--;
		c->spans_to_heap++;
	}
}

/**
 * ka_central_flush - give objects back to their spans
 * @objs: objects of small spans, of any class and node
 * @n: how many
 *
 * Objects are grouped by their mcentral as they come: a per-CPU cache
 * flushes objects of one class and node, so the lock is taken once.  An
 * object whose bit is already clear (freed twice) is reported and skipped.
 *
 * Context: any; may be called with the per-CPU local_lock held.
 */
void ka_central_flush(void **objs, unsigned int n)
{
	struct ka_central *c = NULL;
	unsigned long flags = 0;
	unsigned int i;
	LIST_HEAD(release);

	rcu_read_lock();
	for (i = 0; i < n; i++) {
		struct ka_span *span = ka_span_of(objs[i]);
		struct ka_central *nc;
		unsigned int was_out;

		/*
		 * A pointer freed twice in normal mode sits twice in a
		 * per-CPU cache; its span may be gone by the second flush.
		 */
		if (unlikely(!span || READ_ONCE(span->state) != KA_SPAN_SMALL ||
			     !ka_span_obj_ok(span, objs[i]))) {
			ka_report_double_free(objs[i], "double free (object's span no longer in use)",
					   0);
			continue;
		}
		/* a ka_cache's span goes back to the cache's own list */
		nc = span->central ?: ka_central_of(span->node, span->cls);
		if (nc != c) {
			if (c) {
				ka_central_trim(c, ka_classes[c->cls].reserve,
						&release);
				spin_unlock_irqrestore(&c->lock, flags);
			}
			c = nc;
			spin_lock_irqsave(&c->lock, flags);
			c->nr_lock++;
			c->nr_flush++;
			trace_ka_flush(c->cls, c->node, n - i);
		}
		was_out = span->nalloc;
		if (unlikely(!ka_span_put(span, objs[i]))) {
			ka_report_double_free(objs[i], "double free (object already free in its span)",
					   0);
			continue;
		}
		c->objs_out--;
		ka_central_relist(c, span, was_out);
	}
	if (c) {
		ka_central_trim(c, ka_classes[c->cls].reserve, &release);
		spin_unlock_irqrestore(&c->lock, flags);
	}
	rcu_read_unlock();
	ka_span_destroy_list(&release);
}
KA_EXPORT_INTERNAL(ka_central_flush);

/**
 * ka_central_release - give empty spans beyond @keep back to the heap
 * @c: the central list
 * @keep: empty spans to keep
 *
 * Context: any; no ka lock held.
 * Return: the number of pages given back to the heap.
 */
unsigned long ka_central_release(struct ka_central *c, unsigned long keep)
{
	unsigned long flags;
	LIST_HEAD(release);

	spin_lock_irqsave(&c->lock, flags);
	c->nr_lock++;
	ka_central_trim(c, keep, &release);
	spin_unlock_irqrestore(&c->lock, flags);
	return ka_span_destroy_list(&release);
}
KA_EXPORT_INTERNAL(ka_central_release);
