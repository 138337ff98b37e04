// SPDX-License-Identifier: GPL-2.0
/*
 * ka page heap (Go's mheap), one per NUMA node.
 *
 * The heap takes chunks from the buddy allocator - 2^KA_CHUNK_ORDER pages
 * (2 MiB) when it can, the exact order a run needs when that is larger,
 * and smaller orders, down to what the run needs, when the buddy allocator
 * is fragmented - and carves page runs out of them for spans.  Each chunk
 * has a bitmap of the pages in use; a run is the first fit of free pages,
 * and a freed run simply clears its bits, so neighbouring free runs
 * coalesce by construction.  Chunks are naturally aligned blocks of at most
 * 4 MiB and so each lies inside one arena of the pointer map.
 *
 * Large-object cache: a freed large object's span is kept whole - pages
 * carved, metadata built, arena entries pointing at it - on @large_free
 * (state KA_SPAN_LARGE_FREE, most recently freed first), at most
 * KA_LARGE_CACHE_NR spans and KA_LARGE_CACHE_BYTES per node; a large
 * allocation of as many pages (or up to an eighth more) takes one back
 * without building anything (ka_heap_large_get()).  The oldest spans beyond
 * the bounds are destroyed at once, the whole cache when a trim pass finds
 * it unused since the previous one (ka_heap_large_trim(), every second from
 * the per-CPU trim's timer), and by ka_heap_release().
 *
 * Release policy: a chunk whose last run is freed is kept if the heap has
 * fewer than KA_HEAP_FREE_CHUNK_RESERVE free chunks (so a workload that
 * oscillates around a chunk boundary does not ping-pong with the buddy
 * allocator) and is returned at once otherwise.  ka_heap_release() returns
 * the reserve too: the shrinker, the debugfs "drain" file and module exit
 * call it.
 *
 * Owns: struct ka_heap, struct ka_chunk, the chunk pages.
 * Locks: heap->lock (irq-safe: frees may come from hard irq) protects the
 * chunk list, the chunk bitmaps, the large-span lists, the large spans'
 * state and the counters.  It
 * nests inside central->lock and outside ka_arena_lock; pages and metadata
 * are allocated with no lock held, and chunks are returned to the buddy
 * allocator after the lock is dropped.
 */
#include "ka_internal.h"

/* A new chunk, registered in the arena map but not yet on a heap list. */
static struct ka_chunk *ka_chunk_new(struct ka_heap *heap, unsigned int npages,
				     gfp_t gfp)
{
	unsigned int need = get_order(npages << PAGE_SHIFT);
	unsigned int order = max_t(unsigned int, KA_CHUNK_ORDER, need);
	struct ka_chunk *chunk;
	void *base = NULL;

	if (need > KA_LARGE_MAX_ORDER)
		return NULL;
	chunk = ka_sys_meta_alloc(sizeof(*chunk), gfp, heap->node);
	if (!chunk)
		return NULL;
	/* This node first, then smaller orders, then any node. */
	for (; order >= need; order--) {
		base = ka_sys_alloc_pages(heap->node, order, gfp, true, true);
		if (base || order == 0)
			break;
	}
	if (!base) {
		order = need;
		base = ka_sys_alloc_pages(heap->node, order, gfp, false, false);
	}
	if (!base)
		goto fail;
	chunk->base = base;
	chunk->order = order;
	chunk->npages = 1U << order;
	chunk->nfree = chunk->npages;
	chunk->node = heap->node;
	INIT_LIST_HEAD(&chunk->list);
	if (ka_arena_add_chunk(chunk, gfp)) {
		ka_sys_free_pages(base, order);
		goto fail;
	}
	trace_ka_chunk_alloc(base, order, heap->node);
	return chunk;
fail:
	ka_sys_meta_free(chunk);
	return NULL;
}

static void ka_chunk_free(struct ka_chunk *chunk)
{
	trace_ka_chunk_free(chunk->base, chunk->order, chunk->node);
	ka_arena_del_chunk(chunk);
	ka_sys_free_pages(chunk->base, chunk->order);
	ka_sys_meta_free(chunk);
}

/* Carve @span->npages pages out of a chunk that has them. */
static bool ka_heap_carve(struct ka_heap *heap, struct ka_span *span)
{
	struct ka_chunk *chunk;
	unsigned int n = span->npages;

	lockdep_assert_held(&heap->lock);
	list_for_each_entry(chunk, &heap->chunks, list) {
		unsigned long idx;

		if (chunk->nfree < n)
			continue;
		idx = bitmap_find_next_zero_area(chunk->used, chunk->npages,
						 0, n, 0);
		if (idx >= chunk->npages)
			continue;
		if (chunk->nfree == chunk->npages)
			heap->nr_free_chunks--;
		bitmap_set(chunk->used, idx, n);
		chunk->nfree -= n;
		heap->pages_used += n;
		heap->runs_alloced++;
		/* full chunks go to the tail: first fit finds room sooner */
		if (!chunk->nfree)
			list_move_tail(&chunk->list, &heap->chunks);
		span->chunk = chunk;
		span->base = chunk->base + (idx << PAGE_SHIFT);
		span->end = span->base + (size_t)span->nelems * span->elemsize;
		span->node = heap->node;
		span->fastkey = span->state == KA_SPAN_SMALL ? heap->node + 1 : 0;
		/* KASAN: a redzone until objects leave the span */
		ka_sys_poison(span->base, (size_t)n << PAGE_SHIFT,
			      span->state == KA_SPAN_SMALL ?
			      KA_KASAN_SLAB_REDZONE : KA_KASAN_PAGE_REDZONE);
		if (span->state == KA_SPAN_LARGE) {
			list_add(&span->list, &heap->large);
			span->where = KA_LIST_LARGE;
			heap->nr_large++;
			heap->large_pages += n;
			heap->large_bytes += span->reqsize;
		}
		ka_arena_set_span(span, span);
		return true;
	}
	return false;
}

/**
 * ka_heap_init - an empty heap for @node
 * @heap: zeroed memory for it
 * @node: its NUMA node
 *
 * Context: init, before any use.
 */
void ka_heap_init(struct ka_heap *heap, int node)
{
	spin_lock_init(&heap->lock);
	INIT_LIST_HEAD(&heap->chunks);
	INIT_LIST_HEAD(&heap->large);
	INIT_LIST_HEAD(&heap->large_free);
	heap->node = node;
}

/**
 * ka_heap_alloc_run - give @span a run of @span->npages pages
 * @heap: the heap of the node wanted
 * @span: span metadata with npages and state set
 * @gfp: caller's flags, for a new chunk if one is needed
 *
 * Sets @span->base, ->chunk and ->node and publishes the span in the arena
 * map.  A large span also goes on the heap's large list.
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: 0 or -ENOMEM.
 */
int ka_heap_alloc_run(struct ka_heap *heap, struct ka_span *span, gfp_t gfp)
{
	struct ka_chunk *chunk;
	unsigned long flags;

	spin_lock_irqsave(&heap->lock, flags);
	if (ka_heap_carve(heap, span))
		goto out;
	spin_unlock_irqrestore(&heap->lock, flags);

	chunk = ka_chunk_new(heap, span->npages, gfp);

	spin_lock_irqsave(&heap->lock, flags);
	if (!chunk) {
		heap->alloc_failed++;
		spin_unlock_irqrestore(&heap->lock, flags);
		return -ENOMEM;
	}
	heap->chunks_alloced++;
	if (chunk->order < max_t(unsigned int, KA_CHUNK_ORDER,
				 get_order(span->npages << PAGE_SHIFT)))
		heap->chunk_fallbacks++;
	heap->nr_chunks++;
	heap->nr_free_chunks++;
	heap->pages_held += chunk->npages;
	list_add(&chunk->list, &heap->chunks);
	/* cannot fail: the new chunk is first and large enough */
	WARN_ON_ONCE(!ka_heap_carve(heap, span));
out:
	spin_unlock_irqrestore(&heap->lock, flags);
	return 0;
}

/* Unlink free chunks beyond @keep; the caller frees them without the lock. */
static void ka_heap_collect(struct ka_heap *heap, unsigned long keep,
			    struct list_head *out)
{
	struct ka_chunk *chunk, *tmp;

	lockdep_assert_held(&heap->lock);
	list_for_each_entry_safe(chunk, tmp, &heap->chunks, list) {
		if (heap->nr_free_chunks <= keep)
			break;
		if (chunk->nfree != chunk->npages)
			continue;
		list_move(&chunk->list, out);
		heap->nr_free_chunks--;
		heap->nr_chunks--;
		heap->pages_held -= chunk->npages;
		heap->chunks_freed++;
	}
}

static void ka_heap_free_chunks(struct list_head *list)
{
	struct ka_chunk *chunk, *tmp;

	list_for_each_entry_safe(chunk, tmp, list, list)
		ka_chunk_free(chunk);
}

/**
 * ka_heap_free_run - give @span's pages back to @heap
 * @heap: the heap the span came from
 * @span: a span on no mcentral list
 *
 * Unpublishes the span from the arena map first, so that a racing lookup
 * sees either the whole span or no span.
 *
 * Context: any; no ka lock held (ka_free() may call it with irqs off).
 * Return: false if the span had already been freed: nothing done.
 */
bool ka_heap_free_run(struct ka_heap *heap, struct ka_span *span)
{
	struct ka_chunk *chunk;
	unsigned long flags;
	unsigned int idx;
	LIST_HEAD(release);

	spin_lock_irqsave(&heap->lock, flags);
	/* two racing frees of one large object: only the first gets here */
	if (span->state == KA_SPAN_DEAD) {
		spin_unlock_irqrestore(&heap->lock, flags);
		return false;
	}
	/* the loser's chunk may be gone: look at it only when live */
	chunk = span->chunk;
	idx = (span->base - chunk->base) >> PAGE_SHIFT;
	WRITE_ONCE(span->state, KA_SPAN_DEAD);
	WRITE_ONCE(span->fastkey, 0);
	ka_arena_set_span(span, NULL);
	if (span->where == KA_LIST_LARGE) {
		list_del_init(&span->list);
		span->where = KA_LIST_NONE;
		heap->nr_large--;
		heap->large_pages -= span->npages;
		heap->large_bytes -= span->reqsize;
	}
	bitmap_clear(chunk->used, idx, span->npages);
	ka_sys_poison(span->base, (size_t)span->npages << PAGE_SHIFT,
		      KA_KASAN_PAGE_FREE);
	if (!chunk->nfree)
		list_move(&chunk->list, &heap->chunks);
	chunk->nfree += span->npages;
	heap->pages_used -= span->npages;
	heap->runs_freed++;
	if (chunk->nfree == chunk->npages) {
		heap->nr_free_chunks++;
		ka_heap_collect(heap, KA_HEAP_FREE_CHUNK_RESERVE, &release);
	}
	spin_unlock_irqrestore(&heap->lock, flags);
	ka_heap_free_chunks(&release);
	return true;
}

/**
 * ka_heap_release - return completely free chunks to the buddy allocator
 * @heap: the heap
 * @keep: free chunks to keep
 *
 * Destroys the cached large spans first, so their chunks may go too.
 *
 * Context: any; no ka lock held.
 * Return: the number of pages returned.
 */
unsigned long ka_heap_release(struct ka_heap *heap, unsigned long keep)
{
	struct ka_chunk *chunk;
	unsigned long flags, pages = 0;
	LIST_HEAD(release);

	ka_heap_large_trim(heap, false);
	spin_lock_irqsave(&heap->lock, flags);
	ka_heap_collect(heap, keep, &release);
	spin_unlock_irqrestore(&heap->lock, flags);
	list_for_each_entry(chunk, &release, list)
		pages += chunk->npages;
	ka_heap_free_chunks(&release);
	return pages;
}
KA_EXPORT_INTERNAL(ka_heap_release);

/* Take @span off @large_free; it becomes large and in use again. */
static void ka_heap_large_unlink(struct ka_heap *heap, struct ka_span *span)
{
	lockdep_assert_held(&heap->lock);
	list_del_init(&span->list);
	span->where = KA_LIST_NONE;
	heap->nr_large_free--;
	heap->large_free_pages -= span->npages;
}

/**
 * ka_heap_large_get - a cached large span for an object of @size bytes
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
struct ka_span *ka_heap_large_get(struct ka_heap *heap, size_t size)
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
		ka_heap_large_unlink(heap, found);
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

/* Unlink the cached spans beyond the bounds (all, with @all). */
static void ka_heap_large_evict(struct ka_heap *heap, bool all,
				struct list_head *out)
{
	lockdep_assert_held(&heap->lock);
	while (!list_empty(&heap->large_free) &&
	       (all || heap->nr_large_free > KA_LARGE_CACHE_NR ||
		heap->large_free_pages > KA_LARGE_CACHE_BYTES >> PAGE_SHIFT)) {
		struct ka_span *span = list_last_entry(&heap->large_free,
						       struct ka_span, list);

		ka_heap_large_unlink(heap, span);
		list_add(&span->list, out);
	}
}

static unsigned long ka_heap_large_destroy(struct list_head *list)
{
	struct ka_span *span, *tmp;
	unsigned long pages = 0;

	list_for_each_entry_safe(span, tmp, list, list) {
		list_del_init(&span->list);
		pages += span->npages;
		ka_span_destroy(span);
	}
	return pages;
}

/**
 * ka_heap_large_put - free a large object, keeping its span for reuse
 * @heap: the heap the span came from
 * @span: a large span (its free hooks have run)
 *
 * Caches the span, destroying the oldest cached spans beyond the bounds,
 * or destroys it at once if it alone is over the byte bound.  Of two
 * racing frees of one object only the first gets here.
 *
 * Context: any; no ka lock held.
 * Return: false if the object had already been freed: nothing done.
 */
bool ka_heap_large_put(struct ka_heap *heap, struct ka_span *span)
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
	ka_heap_large_evict(heap, false, &evict);
	spin_unlock_irqrestore(&heap->lock, flags);
	ka_heap_large_destroy(&evict);
	return true;
}

/**
 * ka_heap_large_trim - destroy cached large spans
 * @heap: the heap
 * @idle_only: only if no large allocation took one since the last call
 *
 * Context: any; no ka lock held.
 * Return: the number of pages given back to the heap.
 */
unsigned long ka_heap_large_trim(struct ka_heap *heap, bool idle_only)
{
	unsigned long flags;
	LIST_HEAD(evict);

	if (list_empty(&heap->large_free))	/* racy peek */
		return 0;
	spin_lock_irqsave(&heap->lock, flags);
	if (!idle_only || heap->large_hits == heap->large_hits_seen)
		ka_heap_large_evict(heap, true, &evict);
	heap->large_hits_seen = heap->large_hits;
	spin_unlock_irqrestore(&heap->lock, flags);
	return ka_heap_large_destroy(&evict);
}
KA_EXPORT_INTERNAL(ka_heap_large_trim);
