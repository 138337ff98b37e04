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
 * central: about one batch of objects, at most 8 KiB, at least a span) so
 * that a workload hovering around a span boundary, or a CPU flushing what
 * another refills, does not bounce spans to and from the heap; further
 * empty spans go back to the heap at once (or are kept by demand, below),
 * and all of them under memory pressure.
 *
 * The reserve by demand.  One batch is not what a class of one object (or
 * a few) per span cycles through: 256 objects of 16 KiB allocated and
 * freed, or a CPU freeing what another allocates, build and destroy a span
 * (metadata, run, arena entries, an RCU callback) per object.  So a size
 * class's central also counts the empty spans it gave back to the heap
 * since the last trim pass (@churn), and each span it must then build
 * takes one off that count and keeps one more empty span from now on
 * (@hold, at most KA_MCENTRAL_HOLD_BYTES of spans with the reserve): a
 * span destroyed and built again within a pass was one too few, as the
 * page allocator's per-CPU lists grow their high mark by what frees and
 * allocations cycle through.  Each trim pass (ka_mcentral_decay(), every
 * second from mcache.c's periodic trim) lowers @hold by the low-water mark
 * of the empty spans since the previous pass - those no refill needed, as
 * TCMalloc's transfer caches give back what stayed below their low-water
 * mark - and by at least half, and gives them back; the shrinker and drain
 * (ka_mcentral_release()) give back every empty span and drop @hold.  A ka_cache's central keeps
 * its reserve only (no trim pass walks the caches).
 *
 * A ka_cache (cache.c) has central lists of its own, with a carve hook
 * that runs the cache's constructor on each new span; its spans point back
 * at them (ka_span.central), and flushes return objects there.
 *
 * Spans of classes with several objects per span are lent to CPUs whole
 * (mcache.c): ka_mcentral_take() moves a span with free objects (or a new
 * one) to @owned and marks it in transit to a CPU (KA_RS_TRANSIT), and the
 * CPU gives it back with ka_mcentral_give(), which collects what other CPUs
 * freed into it and files it by its count again.  While a CPU owns a span,
 * its bitmap and count are that CPU's: mcentral only keeps it on @owned for
 * the readers (debugfs, the shrinker).  A free into a span no CPU owns sets
 * the object's remote bit and calls ka_mcentral_collect(), which takes it
 * into the bitmap under the lock.
 *
 * Owns: the span lists and the spans on them that no CPU owns.
 * Locks: central->lock (irq-safe) protects the lists, every field of the
 * spans on them that can change but those of owned spans, and the
 * counters, the reserve by demand included.  It nests inside the per-CPU
 * magazines' lock (a flush, a span given back) and under ka_cache_list_lock
 * (cache.c's walks); the trim pass takes it with no other ka lock held.  No
 * other ka lock is taken under it: it is dropped around new span
 * allocation, and empty spans are destroyed (heap->lock) after it is
 * dropped.
 */
#define pr_fmt(fmt) "ka: " fmt

#include "ka_internal.h"
#include "hooks.h"

/* Spans the reserve by demand may add to the class's reserve. */
static unsigned long ka_mcentral_hold_max(const struct ka_mcentral *c)
{
	const struct ka_class *k = &ka_classes[c->cls];
	unsigned long spans = KA_MCENTRAL_HOLD_BYTES / (k->npages * PAGE_SIZE);

	return spans > k->reserve ? spans - k->reserve : 0;
}

/**
 * ka_mcentral_keep - the empty spans a central keeps now
 * @c: the central list
 *
 * Its class's reserve and what demand added to it (@c->hold).
 *
 * Context: any; @c->lock held, or a snapshot for the readers.
 * Return: the number of empty spans.
 */
unsigned long ka_mcentral_keep(const struct ka_mcentral *c)
{
	return ka_classes[c->cls].reserve + READ_ONCE(c->hold);
}
KA_EXPORT_INTERNAL(ka_mcentral_keep);

/*
 * A span built from the heap.  If the central gave spans back since the
 * last trim pass, it gave back one too many: keep one more from now on.
 */
static void ka_mcentral_built(struct ka_mcentral *c)
{
	lockdep_assert_held(&c->lock);
	c->spans_from_heap++;
	if (c->churn) {
		WRITE_ONCE(c->churn, c->churn - 1);
		if (c->hold < ka_mcentral_hold_max(c))
			WRITE_ONCE(c->hold, c->hold + 1);
	}
}

/* An empty span gets an object out: the low-water mark of the pass. */
static void ka_mcentral_empty_used(struct ka_mcentral *c)
{
	lockdep_assert_held(&c->lock);
	c->nr_empty--;
	if (c->nr_empty < c->empty_low)
		c->empty_low = c->nr_empty;
}

static void ka_mcentral_add(struct ka_mcentral *c, struct ka_span *span)
{
	lockdep_assert_held(&c->lock);
	list_add(&span->list, &c->partial);
	span->where = KA_LIST_PARTIAL;
	c->nr_partial++;
	c->nr_empty++;
	ka_mcentral_built(c);
}

/* Move @span to the list its counts call for, after a take or a put. */
static void ka_mcentral_relist(struct ka_mcentral *c, struct ka_span *span,
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
		ka_mcentral_empty_used(c);
	if (was_out && !span->nalloc) {
		c->nr_empty++;
		list_move_tail(&span->list, &c->partial);
	}
}

/**
 * ka_mcentral_init - an empty central list
 * @c: zeroed memory for it
 * @cls: its size class
 * @node: its NUMA node
 *
 * Context: init, before any use.
 */
void ka_mcentral_init(struct ka_mcentral *c, unsigned int cls, int node)
{
	spin_lock_init(&c->lock);
	INIT_LIST_HEAD(&c->partial);
	INIT_LIST_HEAD(&c->full);
	INIT_LIST_HEAD(&c->owned);
	c->cls = cls;
	c->node = node;
}

/**
 * ka_mcentral_refill - take up to @n objects for a per-CPU cache
 * @c: the central list of the class and node wanted
 * @objs: array of at least @n slots
 * @n: objects wanted
 * @gfp: caller's flags, for a new span if one is needed
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: the number of objects stored in @objs; fewer than @n (maybe 0)
 * only if a new span could not be had.
 */
unsigned int ka_mcentral_refill(struct ka_mcentral *c, void **objs,
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
			ka_mcentral_add(c, span);
			continue;
		}
		was_out = span->nalloc;
		got += ka_span_take(span, objs + got, n - got);
		ka_mcentral_relist(c, span, was_out);
	}
	c->objs_out += got;
	c->nr_refill++;
	spin_unlock_irqrestore(&c->lock, flags);
	trace_ka_refill(c->cls, c->node, got);
	return got;
}
KA_EXPORT_INTERNAL(ka_mcentral_refill);

/*
 * Unlink empty spans beyond @keep; the caller destroys them unlocked.
 * Return: how many.
 */
static unsigned long ka_mcentral_trim(struct ka_mcentral *c, unsigned long keep,
				      struct list_head *out)
{
	struct ka_span *span, *tmp;
	unsigned long n = 0;

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
		n++;
	}
	return n;
}

/*
 * After a flush, a give or a collect: empty spans beyond what the central
 * keeps go back, and a size class's central counts them against the next
 * spans it builds (ka_mcentral_built()).
 */
static void ka_mcentral_trim_busy(struct ka_mcentral *c, struct list_head *out)
{
	unsigned long n = ka_mcentral_trim(c, ka_mcentral_keep(c), out);

	if (!c->cache)
		WRITE_ONCE(c->churn, c->churn + n);
}

/**
 * ka_mcentral_flush_span - give objects back to their spans
 * @one: the span of every object if the caller looked it up (a free of
 *	 one object: ka_span_of() of it, inside the caller's RCU read-side
 *	 section), or NULL: each object is looked up here (a magazine holds
 *	 pointers only)
 * @objs: objects of small spans, of any class and node
 * @n: how many
 *
 * Objects are grouped by their mcentral as they come: a per-CPU cache
 * flushes objects of one class and node, so the lock is taken once.  An
 * object whose bit is already clear (freed twice) is reported and skipped.
 *
 * Context: any; may be called with the per-CPU local_lock held.
 */
void ka_mcentral_flush_span(struct ka_span *one, void **objs, unsigned int n)
{
	struct ka_mcentral *c = NULL;
	unsigned long flags = 0;
	unsigned int i;
	LIST_HEAD(release);

	rcu_read_lock();
	for (i = 0; i < n; i++) {
		struct ka_span *span = one ?: ka_span_of(objs[i]);
		struct ka_mcentral *nc;
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
		nc = span->central ?: ka_mcentral_of(span->node, span->cls);
		if (nc != c) {
			if (c) {
				ka_mcentral_trim_busy(c, &release);
				spin_unlock_irqrestore(&c->lock, flags);
			}
			c = nc;
			spin_lock_irqsave(&c->lock, flags);
			c->nr_lock++;
			c->nr_flush++;
			trace_ka_flush(c->cls, c->node, n - i);
		}
		/*
		 * A span a CPU took since the object left it (an object of a
		 * bulk allocation given back): its bitmap is the owner's, the
		 * object goes to the remote bitmap for the owner to collect.
		 */
		if (unlikely(ka_rs_owner(atomic_long_read(&span->rstate)))) {
			if (test_and_set_bit(ka_span_index(span, objs[i]),
					     ka_span_rfree(span)))
				ka_report_double_free(objs[i], "double free (object already freed to its span)",
						      0);
			continue;
		}
		was_out = span->nalloc;
		if (unlikely(!ka_span_put(span, objs[i]))) {
			ka_report_double_free(objs[i], "double free (object already free in its span)",
					   0);
			continue;
		}
		c->objs_out--;
		ka_mcentral_relist(c, span, was_out);
	}
	if (c) {
		ka_mcentral_trim_busy(c, &release);
		spin_unlock_irqrestore(&c->lock, flags);
	}
	rcu_read_unlock();
	ka_span_destroy_list(&release);
}
KA_EXPORT_INTERNAL(ka_mcentral_flush_span);

/* Take @span off the partial or full list, where no CPU owns it. */
static void ka_mcentral_unlist(struct ka_mcentral *c, struct ka_span *span)
{
	lockdep_assert_held(&c->lock);
	if (span->where == KA_LIST_FULL) {
		c->nr_full--;
	} else {
		c->nr_partial--;
		if (!span->nalloc)
			ka_mcentral_empty_used(c);
	}
	c->objs_out -= span->nalloc;
	list_move(&span->list, &c->owned);
	span->where = KA_LIST_OWNED;
	c->nr_owned++;
}

/**
 * ka_mcentral_take - lend a span with free objects to a CPU
 * @c: the central list of the class and node wanted
 * @gfp: caller's flags, for a new span if none has free objects
 *
 * The first span with free objects (the head of @partial: partly used
 * spans, most recently filed first; empty spans are kept last), or a new
 * one, moves to @owned, in transit (KA_RS_TRANSIT) until mcache.c makes
 * it a CPU's; what other CPUs freed into it is collected first.
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: the span, or NULL if a new one could not be had.
 */
struct ka_span *ka_mcentral_take(struct ka_mcentral *c, gfp_t gfp)
{
	struct ka_span *span;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	c->nr_lock++;
	span = list_first_entry_or_null(&c->partial, struct ka_span, list);
	if (span) {
		ka_mcentral_unlist(c, span);
	} else {
		spin_unlock_irqrestore(&c->lock, flags);
		span = ka_span_new(c->cls, c->node, gfp);
		if (!span)
			return NULL;
		if (c->carve)
			c->carve(c, span);
		spin_lock_irqsave(&c->lock, flags);
		c->nr_lock++;
		ka_mcentral_built(c);
		list_add(&span->list, &c->owned);
		span->where = KA_LIST_OWNED;
		c->nr_owned++;
	}
	atomic_long_set(&span->rstate, KA_RS_TRANSIT);
	/* a free that found it unowned, before this, left a remote bit */
	ka_span_collect(span);
	c->nr_refill++;
	spin_unlock_irqrestore(&c->lock, flags);
	trace_ka_refill(c->cls, c->node, span->nelems - span->nalloc);
	return span;
}
KA_EXPORT_INTERNAL(ka_mcentral_take);

/**
 * ka_mcentral_give - take back a span a CPU owned
 * @span: a span of this central's, owned (or in transit), with
 *	  KA_RS_FULL and KA_RS_PEND clear: the owner's lists no longer hold
 *	  it
 *
 * From here its objects are mcentral's again: what other CPUs freed into
 * it is collected, and it is filed by its count - partial, full, or empty
 * (and given back to the heap beyond the class's reserve).  A free that
 * raced with this and still saw the span owned left its remote bit; it
 * finds the span unowned afterwards and collects under the lock
 * (ka_mcentral_collect()).
 *
 * Context: the span's owner (its CPU's magazines owned), or its CPU dead;
 * no central lock held.
 */
void ka_mcentral_give(struct ka_span *span)
{
	struct ka_mcentral *c = ka_span_mcentral(span);
	unsigned long flags;
	LIST_HEAD(release);

	spin_lock_irqsave(&c->lock, flags);
	c->nr_lock++;
	c->nr_flush++;
	/*
	 * Unowned, then collect: the xchg is fully ordered (a plain store
	 * and smp_mb__after_atomic() were not - on x86 the collection's
	 * loads could pass the store), so a freer that still saw the owner
	 * set its bit before this collection reads it.
	 */
	WARN_ON_ONCE(atomic_long_xchg(&span->rstate, 0) &
		     (KA_RS_FULL | KA_RS_PEND));
	ka_span_collect(span);
	c->nr_owned--;
	c->objs_out += span->nalloc;
	if (span->nalloc == span->nelems) {
		list_move(&span->list, &c->full);
		span->where = KA_LIST_FULL;
		c->nr_full++;
	} else {
		/* empty spans last, as ka_mcentral_relist() keeps them */
		if (span->nalloc) {
			list_move(&span->list, &c->partial);
		} else {
			list_move_tail(&span->list, &c->partial);
			c->nr_empty++;
		}
		span->where = KA_LIST_PARTIAL;
		c->nr_partial++;
	}
	ka_mcentral_trim_busy(c, &release);
	spin_unlock_irqrestore(&c->lock, flags);
	ka_span_destroy_list(&release);
}
KA_EXPORT_INTERNAL(ka_mcentral_give);

/**
 * ka_mcentral_collect - a free into a span no CPU owned
 * @span: a small span whose remote bitmap the caller just set a bit in,
 *	  having found it unowned
 *
 * Under the lock the span is still unowned (or a CPU took it meanwhile,
 * and will collect the bit itself): its remote bits go into its bitmap
 * and it is filed by its count, as a flush would.
 *
 * Context: any; no ka lock held, in an RCU read-side section (the span may
 * be emptied and destroyed by another free meanwhile: then it is on no
 * list any more, and is left alone).
 */
void ka_mcentral_collect(struct ka_span *span)
{
	struct ka_mcentral *c = ka_span_mcentral(span);
	unsigned long flags;
	unsigned int was_out, n;
	LIST_HEAD(release);

	spin_lock_irqsave(&c->lock, flags);
	c->nr_lock++;
	if (!ka_rs_owner(atomic_long_read(&span->rstate)) &&
	    (span->where == KA_LIST_PARTIAL || span->where == KA_LIST_FULL)) {
		was_out = span->nalloc;
		n = ka_span_collect(span);
		c->objs_out -= n;
		ka_mcentral_relist(c, span, was_out);
		ka_mcentral_trim_busy(c, &release);
	}
	spin_unlock_irqrestore(&c->lock, flags);
	ka_span_destroy_list(&release);
}
KA_EXPORT_INTERNAL(ka_mcentral_collect);

/**
 * ka_mcentral_release - give empty spans beyond @keep back to the heap
 * @c: the central list
 * @keep: empty spans to keep
 *
 * The demand the central had seen is forgotten (@hold and @churn are
 * dropped): the shrinker and drain give back everything a central keeps.
 *
 * Context: any; no ka lock held but, for a ka_cache's central, cache.c's
 * ka_cache_list_lock (ka_cache_release()) or ka_cache_mutex (destroy).
 * Return: the number of pages given back to the heap.
 */
unsigned long ka_mcentral_release(struct ka_mcentral *c, unsigned long keep)
{
	unsigned long flags;
	LIST_HEAD(release);

	spin_lock_irqsave(&c->lock, flags);
	c->nr_lock++;
	WRITE_ONCE(c->hold, 0);
	WRITE_ONCE(c->churn, 0);
	ka_mcentral_trim(c, keep, &release);
	c->empty_low = c->nr_empty;
	spin_unlock_irqrestore(&c->lock, flags);
	return ka_span_destroy_list(&release);
}
KA_EXPORT_INTERNAL(ka_mcentral_release);

/**
 * ka_mcentral_decay - one trim pass over a size class's central
 * @c: the central list
 *
 * The empty spans that stayed unused since the previous pass (the
 * low-water mark of @c->nr_empty), and at least half of @c->hold, come
 * off @c->hold and go back to the heap; only those count against the
 * builds until the next pass.  A central used down to the bottom of its
 * reserve builds back within a pass what the halving took (at most half
 * its held spans a second); an idle one halves its hold at every pass, and
 * gives back at once what was not used since the previous one.
 *
 * Context: process context (mcache.c's periodic trim, tests); no ka lock
 * held.
 * Return: the number of pages given back to the heap.
 */
unsigned long ka_mcentral_decay(struct ka_mcentral *c)
{
	unsigned long flags, idle;
	LIST_HEAD(release);

	/* nothing held, nothing counted: no lock for an idle class */
	if (!READ_ONCE(c->hold) && !READ_ONCE(c->churn))
		return 0;
	spin_lock_irqsave(&c->lock, flags);
	c->nr_lock++;
	idle = max(min(c->empty_low, c->nr_empty), c->hold / 2);
	WRITE_ONCE(c->hold, c->hold - min(c->hold, idle));
	/* what goes back now counts against the builds of the next pass */
	WRITE_ONCE(c->churn, ka_mcentral_trim(c, ka_mcentral_keep(c), &release));
	c->empty_low = c->nr_empty;
	spin_unlock_irqrestore(&c->lock, flags);
	return ka_span_destroy_list(&release);
}
KA_EXPORT_INTERNAL(ka_mcentral_decay);
