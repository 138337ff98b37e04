// SPDX-License-Identifier: GPL-2.0
/*
 * ka large-object cache, one per NUMA node, above the page heap (mheap.c).
 *
 * A freed large object's span is kept whole - pages, metadata built, arena
 * entries pointing at it - on the heap's @large_free (state
 * KA_SPAN_LARGE_FREE, most recently freed first), at most
 * KA_LARGE_CACHE_NR spans and ka_large_bound() pages (1/16 of the
 * heap's other pages in use, 256 KiB to 2 MiB) beyond the newest span (at
 * most 2 MiB, kept so that an object allocated and freed over and over is
 * built once); a large allocation of as many pages (or up to an eighth
 * more) takes one back without building anything (ka_large_get()).
 * The oldest spans beyond the bounds are destroyed at once (span.c gives
 * their runs back to the heap), the whole cache when a trim pass finds it
 * unused since the previous one (ka_large_trim(), every second from
 * the per-CPU trim's timer), and when all is given back (drain, the
 * shrinker, module exit: ka_large_trim() before ka_mheap_release()).
 *
 * Owns: the policy of the heap's @large_free list (the list and its
 * counters are struct ka_mheap's fields).
 * Locks: heap->lock (mheap.c) over @large_free, its counters and the
 * state of the spans on it; spans are destroyed after it is dropped.
 */
#define pr_fmt(fmt) "ka: " fmt

#include "ka_internal.h"

/* Take @span off @large_free; it becomes large and in use again. */
static void ka_large_unlink(struct ka_mheap *heap, struct ka_span *span)
{
	lockdep_assert_held(&heap->lock);
	list_del_init(&span->list);
	span->where = KA_LIST_NONE;
	heap->nr_large_free--;
	heap->large_free_pages -= span->npages;
}

/**
 * ka_large_get - a cached large span for an object of @size bytes
 * @heap: the heap of the node wanted
 * @size: KA_MAX_SMALL_SIZE < @size <= KA_MAX_SIZE
 *
 * Takes the most recently freed cached span of at least @size bytes and at
 * most an eighth more pages than @size needs, and makes it a live large
 * span of @size bytes again.
 *
 * Context: any; no ka lock held.
 * Return: the span, or NULL if none fits.
 */
struct ka_span *ka_large_get(struct ka_mheap *heap, size_t size)
{
	unsigned int need = DIV_ROUND_UP(size, PAGE_SIZE);
	struct ka_span *span, *found = NULL;
	unsigned long flags;

	if (list_empty(&heap->large_free))	/* racy peek: a miss is fine */
		return NULL;
	spin_lock_irqsave(&heap->lock, flags);
	list_for_each_entry(span, &heap->large_free, list) {
		if (span->npages >= need && span->npages <= need + need / 8) {
			found = span;
			break;
		}
	}
	if (found) {
		ka_large_unlink(heap, found);
		found->reqsize = size;
		list_add(&found->list, &heap->large);
		found->where = KA_LIST_LARGE;
		heap->nr_large++;
		heap->large_pages += found->npages;
		heap->large_bytes += size;
		heap->large_hits++;
		WRITE_ONCE(found->state, KA_SPAN_LARGE);
	}
	spin_unlock_irqrestore(&heap->lock, flags);
	return found;
}

/**
 * ka_large_bound - the pages @heap's large-object cache may hold
 * @heap: the heap (read without its lock: a hint)
 *
 * 1/KA_LARGE_CACHE_DIV of the heap's other pages in use, at least
 * KA_LARGE_CACHE_MIN_BYTES, at most KA_LARGE_CACHE_BYTES.
 *
 * Context: any.
 * Return: a number of pages.
 */
unsigned long ka_large_bound(const struct ka_mheap *heap)
{
	unsigned long used = READ_ONCE(heap->pages_used) -
			     READ_ONCE(heap->large_free_pages);

	return clamp_t(unsigned long, used / KA_LARGE_CACHE_DIV,
		       KA_LARGE_CACHE_MIN_BYTES >> PAGE_SHIFT,
		       KA_LARGE_CACHE_BYTES >> PAGE_SHIFT);
}
KA_EXPORT_INTERNAL(ka_large_bound);

/*
 * Unlink the cached spans beyond the bounds, oldest first (all, with
 * @all); the newest stays whatever ka_large_bound() says, so that a
 * large object allocated and freed over and over is built once.
 */
static void ka_large_evict(struct ka_mheap *heap, bool all,
			   struct list_head *out)
{
	lockdep_assert_held(&heap->lock);
	while (!list_empty(&heap->large_free) &&
	       (all || heap->nr_large_free > KA_LARGE_CACHE_NR ||
		(heap->large_free_pages > ka_large_bound(heap) &&
		 heap->nr_large_free > 1))) {
		struct ka_span *span = list_last_entry(&heap->large_free,
						       struct ka_span, list);

		ka_large_unlink(heap, span);
		list_add(&span->list, out);
	}
}

/**
 * ka_large_put - free a large object, keeping its span for reuse
 * @heap: the heap the span came from
 * @span: a large span (its free hooks have run)
 *
 * Caches the span, destroying the oldest cached spans beyond the bounds,
 * or destroys it at once if it alone is over KA_LARGE_CACHE_BYTES.  Of two
 * racing frees of one object only the first gets here.
 *
 * Context: any; no ka lock held.
 * Return: false if the object had already been freed: nothing done.
 */
bool ka_large_put(struct ka_mheap *heap, struct ka_span *span)
{
	unsigned long flags;
	LIST_HEAD(evict);

	spin_lock_irqsave(&heap->lock, flags);
	if (span->state != KA_SPAN_LARGE) {
		spin_unlock_irqrestore(&heap->lock, flags);
		return false;
	}
	if (span->npages > KA_LARGE_CACHE_BYTES >> PAGE_SHIFT) {
		spin_unlock_irqrestore(&heap->lock, flags);
		return ka_span_destroy(span);
	}
	WRITE_ONCE(span->state, KA_SPAN_LARGE_FREE);
	list_move(&span->list, &heap->large_free);
	span->where = KA_LIST_LARGE_FREE;
	heap->nr_large--;
	heap->large_pages -= span->npages;
	heap->large_bytes -= span->reqsize;
	heap->nr_large_free++;
	heap->large_free_pages += span->npages;
	ka_large_evict(heap, false, &evict);
	spin_unlock_irqrestore(&heap->lock, flags);
	ka_span_destroy_list(&evict);
	return true;
}

/**
 * ka_large_trim - destroy cached large spans
 * @heap: the heap
 * @idle_only: only if no large allocation took one since the last call
 *
 * Context: any; no ka lock held.
 * Return: the number of pages given back to the heap.
 */
unsigned long ka_large_trim(struct ka_mheap *heap, bool idle_only)
{
	unsigned long flags;
	LIST_HEAD(evict);

	if (list_empty(&heap->large_free))	/* racy peek */
		return 0;
	spin_lock_irqsave(&heap->lock, flags);
	if (!idle_only || heap->large_hits == heap->large_hits_seen)
		ka_large_evict(heap, true, &evict);
	heap->large_hits_seen = heap->large_hits;
	spin_unlock_irqrestore(&heap->lock, flags);
	return ka_span_destroy_list(&evict);
}
KA_EXPORT_INTERNAL(ka_large_trim);
