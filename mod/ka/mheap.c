// SPDX-License-Identifier: GPL-2.0
/*
 * ka page heap (Go's mheap), one per NUMA node, and its scavenger.
 *
 * Small spans: the heap takes chunks from the buddy allocator -
 * 2^KA_CHUNK_ORDER pages (512 KiB) when it can, smaller orders, down to
 * what the run needs, when the buddy allocator is fragmented - and carves
 * page runs out of them.  Each chunk has a bitmap of the pages in use; a
 * run is the first fit of free pages in the fullest chunk that has room
 * (most pages in runs: spans are packed, so that the emptiest chunks drain
 * and can go back), and a freed run simply clears its bits, so
 * neighbouring free runs coalesce by construction.  Chunks are naturally
 * aligned blocks of at most 4 MiB and so each lies inside one arena of the
 * pointer map.
 *
 * Large objects (above KA_MAX_SMALL_SIZE): a run is a block of its own
 * from the buddy allocator (a "direct" chunk), its pages beyond the run
 * given back at once, page by page (as alloc_pages_exact()), and the whole
 * chunk goes back with the object: what SLUB does with large kmalloc, but
 * exact.  Only if the buddy allocator has no such block does the run come
 * from a chunk that has room.
 *
 * Large-object cache: large.c keeps freed large spans whole on
 * @large_free, above the heap; the heap only counts their pages.
 *
 * Release policy: a chunk whose last run is freed stays whole until the
 * scavenger gives it back (so that a workload that frees and allocates in
 * bursts does not ping-pong with the buddy allocator); a direct chunk, or
 * one with holes, is returned at once.
 *
 * Scavenger (Go's mgcscavenge.c): free pages inside chunks that still hold
 * runs go back to the buddy allocator one page at a time.  The first such
 * release split_page()s the chunk; a released page stays a hole - marked in
 * the chunk's used and released bitmaps, so carving skips it - until the
 * whole chunk goes back (its remaining pages one by one), which happens as
 * soon as its last run is freed.  ka_mheap_scavenge() releases down to a
 * goal (free pages at most 1/KA_SCAV_RETAIN_DIV of the pages in use, at
 * least KA_SCAV_FLOOR_PAGES), whole free chunks first (even if that
 * undershoots the goal by up to half a chunk), then pages of the emptiest
 * chunks (fewest pages in runs), at most a given number per call: the
 * background work below calls it once a second per node, and sooner - KA_SCAV_PROMPT_MS after a
 * run freed while the heap keeps more than KA_SCAV_PROMPT_GOALS times its
 * goal and half a chunk (ka_scav_kick()): the memory of a burst of frees
 * goes back a tenth of a second after it, not up to a second later, and
 * the burst itself frees no page one by one.  ka_mheap_release() with keep
 * 0 (the shrinker, the debugfs "drain" file, module exit) releases every
 * free page at once.  Holes are not capped: a chunk pinned by a few runs
 * holds only their pages.
 *
 * Owns: struct ka_mheap, struct ka_chunk, the chunk pages, the table of
 * nodes (ka_nodes[]; main.c builds them), ka_fail_page, the scavenger's
 * work.
 * Locks: heap->lock (irq-safe: frees may come from hard irq) protects the
 * chunk list, the chunk bitmaps, the large-span lists, the large spans'
 * state and the counters.  It may nest inside the per-CPU magazines' lock
 * (a flush that empties a span), never with central->lock or ka_arena_lock:
 * pages and metadata are allocated, and a new chunk entered in the arena
 * map, with no lock held, and chunks and released pages are taken out of
 * the map and returned to the buddy allocator after the lock is dropped
 * (split_page() runs under it: it neither sleeps nor takes a lock of
 * ours).  The scavenger's work runs with no lock held and takes each
 * heap's lock in turn; a kick queues it after heap->lock is dropped.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/workqueue.h>
#include "ka_internal.h"

/*
 * The nodes (as Go's mheap_ holds the central lists): one struct ka_node
 * per possible node, its heap and its mcentrals; main.c builds them at
 * init and frees them at exit.
 */
struct ka_node *ka_nodes[MAX_NUMNODES];
KA_EXPORT_INTERNAL(ka_nodes);

/* Fault injection for the heap's pages (debugfs: ka/fail_page). */
#ifdef CONFIG_FAULT_INJECTION
DECLARE_FAULT_ATTR(ka_fail_page);
KA_EXPORT_INTERNAL(ka_fail_page);
#endif

/*
 * The background scavenger (Go's bgscavenge): once a second each node's
 * heap gives back the free pages beyond its goal, at most
 * KA_SCAV_PAGES_PER_TICK of them (ka_mheap_scavenge() below has the
 * policy), sooner after a burst of frees (ka_scav_kick()).  Deferrable: it
 * does not wake an idle system by itself.  Off until main.c's init turns
 * it on, and in utest, whose harness runs the passes itself.
 */
#define KA_SCAV_INTERVAL	HZ

static void ka_scav_tick(struct work_struct *unused);
static DECLARE_DEFERRABLE_WORK(ka_scav_dwork, ka_scav_tick);
/* started at init (ka_scav_start()); stopped at exit (ka_scav_exit()) */
static bool ka_scav_started;
/* the passes run (ka_scav_pause()): ka_scav_kick() may queue one */
static bool ka_scav_on;

static void ka_scav_tick(struct work_struct *unused)
{
	int nid;

	if (!READ_ONCE(ka_scav_on))
		return;
	for_each_node(nid)
		ka_mheap_scavenge(ka_mheap_of(nid), KA_SCAV_PAGES_PER_TICK);
	queue_delayed_work(system_unbound_wq, &ka_scav_dwork, KA_SCAV_INTERVAL);
}

/*
 * ka_scav_kick - bring the next scavenger pass forward
 *
 * A heap keeps much more than its goal free (a burst of frees):
 * the pass runs KA_SCAV_PROMPT_MS from now instead of up to a second
 * later.  The heap asks once until the pass has run.
 *
 * Context: any (a free with irqs off included); no ka lock held.
 */
static void ka_scav_kick(void)
{
	if (READ_ONCE(ka_scav_on))
		mod_delayed_work(system_unbound_wq, &ka_scav_dwork,
				 msecs_to_jiffies(KA_SCAV_PROMPT_MS));
}

/**
 * ka_scav_pause - stop or restart the background scavenger
 * @pause: true to stop it (waiting for a pass under way), false to restart
 *
 * For the tests, whose heap counters must not change behind their back;
 * calls pair up and do not nest.  A restart only restarts a scavenger that
 * ka_scav_start() started (utest starts none).
 *
 * Context: process context, may sleep.
 */
void ka_scav_pause(bool pause)
{
	WRITE_ONCE(ka_scav_on, !pause && ka_scav_started);
	if (pause)
		cancel_delayed_work_sync(&ka_scav_dwork);
	else if (ka_scav_started)
		queue_delayed_work(system_unbound_wq, &ka_scav_dwork,
				   KA_SCAV_INTERVAL);
}
KA_EXPORT_INTERNAL(ka_scav_pause);

/**
 * ka_scav_start - start the background scavenger, at module init
 *
 * Context: process context.
 */
void ka_scav_start(void)
{
	ka_scav_started = true;
	ka_scav_pause(false);
}

/**
 * ka_scav_exit - stop the background scavenger for good, at module exit
 *
 * Also waits for a pass that a kick queued after ka_scav_pause(true)'s
 * cancel (the kick saw the scavenger on just before the pause).
 *
 * Context: process context, may sleep.
 */
void ka_scav_exit(void)
{
	ka_scav_started = false;
	WRITE_ONCE(ka_scav_on, false);
	cancel_delayed_work_sync(&ka_scav_dwork);
}

/*
 * A new chunk, registered in the arena map but not yet on a heap list: for
 * a run of @npages, at least; with @direct, a block for that run alone, its
 * pages beyond the run given back at once (released: holes).
 */
static struct ka_chunk *ka_chunk_new(struct ka_mheap *heap, unsigned int npages,
				     gfp_t gfp, bool direct)
{
	unsigned int need = get_order(npages << PAGE_SHIFT);
	unsigned int order = direct ? need : max_t(unsigned int, KA_CHUNK_ORDER, need);
	struct ka_chunk *chunk;
	void *base = NULL;
	unsigned int i;

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
	chunk->direct = direct;
	if (direct && npages < chunk->npages) {
		/* as alloc_pages_exact(): the tail goes back page by page */
		ka_sys_split_pages(base, order);
		for (i = npages; i < chunk->npages; i++)
			ka_sys_free_pages(base + ((size_t)i << PAGE_SHIFT), 0);
		bitmap_set(chunk->used, npages, chunk->npages - npages);
		bitmap_set(chunk->released, npages, chunk->npages - npages);
		chunk->nreleased = chunk->npages - npages;
		chunk->nfree = npages;
	}
	return chunk;
fail:
	ka_sys_meta_free(chunk);
	return NULL;
}

/* No run in the chunk: every page is free or released. */
static bool ka_chunk_empty(const struct ka_chunk *chunk)
{
	return chunk->nfree + chunk->nreleased == chunk->npages;
}

/* Pages of the chunk in runs. */
static unsigned int ka_chunk_inuse(const struct ka_chunk *chunk)
{
	return chunk->npages - chunk->nfree - chunk->nreleased;
}

/*
 * Give a chunk on no list back: the whole block, or - once it has been
 * split by a release - each page not released yet.
 */
static void ka_chunk_free(struct ka_chunk *chunk)
{
	unsigned long idx;

	trace_ka_chunk_free(chunk->base, chunk->order, chunk->node);
	ka_arena_del_chunk(chunk);
	if (!chunk->nreleased) {
		ka_sys_free_pages(chunk->base, chunk->order);
	} else {
		for_each_clear_bit(idx, chunk->released, chunk->npages)
			ka_sys_free_pages(chunk->base + (idx << PAGE_SHIFT), 0);
	}
	ka_sys_meta_free(chunk);
}

/* Carve @span->npages pages at page @idx of @chunk. */
static void ka_mheap_carve_at(struct ka_mheap *heap, struct ka_chunk *chunk,
			      unsigned long idx, struct ka_span *span)
{
	unsigned int n = span->npages;

	if (ka_chunk_empty(chunk))
		heap->nr_free_chunks--;
	bitmap_set(chunk->used, idx, n);
	chunk->nfree -= n;
	heap->pages_used += n;
	heap->runs_alloced++;
	/* full chunks go to the tail: the search stops at the first */
	if (!chunk->nfree)
		list_move_tail(&chunk->list, &heap->chunks);
	span->chunk = chunk;
	span->base = chunk->base + (idx << PAGE_SHIFT);
	span->end = span->base + (size_t)span->nelems * span->elemsize;
	span->node = heap->node;
	span->fastkey = 0;	/* a CPU's key once it is a CPU's active span */
	span->nprof = 0;	/* no sampled objects yet (profile.c) */
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
}

/*
 * Carve @span->npages pages out of the fullest chunk that has them: most
 * pages in runs (a chunk of holes and few runs is left to drain), first
 * fit inside it.
 */
static bool ka_mheap_carve(struct ka_mheap *heap, struct ka_span *span)
{
	struct ka_chunk *chunk, *best = NULL;
	unsigned long idx, best_idx = 0;
	unsigned int n = span->npages;

	lockdep_assert_held(&heap->lock);
	list_for_each_entry(chunk, &heap->chunks, list) {
		if (!chunk->nfree)
			break;
		if (chunk->nfree < n ||
		    (best && ka_chunk_inuse(chunk) <= ka_chunk_inuse(best)))
			continue;
		idx = bitmap_find_next_zero_area(chunk->used, chunk->npages,
						 0, n, 0);
		if (idx >= chunk->npages)
			continue;
		best = chunk;
		best_idx = idx;
	}
	if (!best)
		return false;
	ka_mheap_carve_at(heap, best, best_idx, span);
	return true;
}

/**
 * ka_mheap_init - an empty heap for @node
 * @heap: zeroed memory for it
 * @node: its NUMA node
 *
 * Context: init, before any use.
 */
void ka_mheap_init(struct ka_mheap *heap, int node)
{
	spin_lock_init(&heap->lock);
	INIT_LIST_HEAD(&heap->chunks);
	INIT_LIST_HEAD(&heap->large);
	INIT_LIST_HEAD(&heap->large_free);
	heap->node = node;
}

/**
 * ka_mheap_alloc_run - give @span a run of @span->npages pages
 * @heap: the heap of the node wanted
 * @span: span metadata with npages and state set
 * @gfp: caller's flags, for a new chunk if one is needed
 *
 * A small span's run is carved from a chunk (a new one if none has room);
 * a large span's run is a block of its own from the buddy allocator, its
 * pages beyond the run given back at once (as alloc_pages_exact()), or, if
 * the buddy allocator has no such block, a run of a chunk that has room.
 * Sets @span->base, ->chunk and ->node and publishes the span in the arena
 * map.  A large span also goes on the heap's large list.
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: 0 or -ENOMEM.
 */
int ka_mheap_alloc_run(struct ka_mheap *heap, struct ka_span *span, gfp_t gfp)
{
	bool direct = span->state == KA_SPAN_LARGE;
	struct ka_chunk *chunk = NULL;
	unsigned long flags;

	if (direct)
		chunk = ka_chunk_new(heap, span->npages, gfp, true);
	spin_lock_irqsave(&heap->lock, flags);
	if (!chunk && ka_mheap_carve(heap, span))
		goto out;
	if (!chunk && !direct) {
		spin_unlock_irqrestore(&heap->lock, flags);
		chunk = ka_chunk_new(heap, span->npages, gfp, false);
		spin_lock_irqsave(&heap->lock, flags);
	}
	if (!chunk) {
		heap->alloc_failed++;
		spin_unlock_irqrestore(&heap->lock, flags);
		return -ENOMEM;
	}
	chunk->id = ++heap->chunks_alloced;
	if (!direct && chunk->order < max_t(unsigned int, KA_CHUNK_ORDER,
					    get_order(span->npages << PAGE_SHIFT)))
		heap->chunk_fallbacks++;
	heap->nr_chunks++;
	heap->nr_free_chunks++;
	heap->pages_held += chunk->npages - chunk->nreleased;
	heap->pages_holes += chunk->nreleased;
	heap->pages_released += chunk->nreleased;
	list_add(&chunk->list, &heap->chunks);
	/* the new chunk, not one freed meanwhile: no extra free chunk kept */
	ka_mheap_carve_at(heap, chunk, 0, span);
out:
	spin_unlock_irqrestore(&heap->lock, flags);
	return 0;
}

/* Take an empty chunk off the heap; the caller frees it without the lock. */
static unsigned long ka_mheap_unlink(struct ka_mheap *heap,
				     struct ka_chunk *chunk,
				     struct list_head *out)
{
	unsigned long held = chunk->npages - chunk->nreleased;

	list_move(&chunk->list, out);
	heap->nr_free_chunks--;
	heap->nr_chunks--;
	heap->pages_held -= held;
	heap->pages_holes -= chunk->nreleased;
	heap->chunks_freed++;
	return held;
}

/*
 * Unlink empty chunks beyond @keep, and every empty chunk with holes or of
 * a large object (no whole block of the heap's to keep); the caller frees
 * them without the lock.
 * Return: the pages they hold.
 */
static unsigned long ka_mheap_collect(struct ka_mheap *heap, unsigned long keep,
				      struct list_head *out)
{
	struct ka_chunk *chunk, *tmp;
	unsigned long pages = 0;

	lockdep_assert_held(&heap->lock);
	list_for_each_entry_safe(chunk, tmp, &heap->chunks, list) {
		if (!chunk->nfree)
			break;
		if (!ka_chunk_empty(chunk))
			continue;
		if (chunk->nreleased || chunk->direct ||
		    heap->nr_free_chunks > keep)
			pages += ka_mheap_unlink(heap, chunk, out);
	}
	return pages;
}

static void ka_mheap_free_chunks(struct list_head *list)
{
	struct ka_chunk *chunk, *tmp;

	list_for_each_entry_safe(chunk, tmp, list, list)
		ka_chunk_free(chunk);
}

/**
 * ka_mheap_free_run - give @span's pages back to @heap
 * @heap: the heap the span came from
 * @span: a span on no mcentral list
 *
 * Unpublishes the span from the arena map first, so that a racing lookup
 * sees either the whole span or no span.
 *
 * Context: any; no ka lock held but those before heap->lock in ka's order
 * (ka_internal.h: a flush owns its CPU's magazines; ka_free() may call it
 * with irqs off).
 * Return: false if the span had already been freed: nothing done.
 */
bool ka_mheap_free_run(struct ka_mheap *heap, struct ka_span *span)
{
	struct ka_chunk *chunk;
	unsigned long flags;
	unsigned int idx;
	LIST_HEAD(release);
	bool kick;

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
	if (ka_chunk_empty(chunk)) {
		heap->nr_free_chunks++;
		/* a whole chunk waits for the scavenger; these cannot be reused */
		if (chunk->nreleased || chunk->direct)
			ka_mheap_unlink(heap, chunk, &release);
	}
	/* far over the goal: ask for the pass (once until it has run) */
	kick = !heap->scav_kicked &&
	       heap->pages_held - heap->pages_used >
	       KA_SCAV_PROMPT_GOALS * ka_mheap_scavenge_goal(heap) +
	       (1UL << KA_CHUNK_ORDER) / 2;
	if (kick) {
		heap->scav_kicked = true;
		heap->scav_kicks++;
	}
	spin_unlock_irqrestore(&heap->lock, flags);
	ka_mheap_free_chunks(&release);
	if (kick)
		ka_scav_kick();
	return true;
}

/*
 * Release up to @max free pages of @chunk, which holds a run, from its end
 * (carving is first fit from its start: the free pages it takes next stay):
 * mark them used and released and store their addresses in @pages for the
 * caller to free without the lock.  The first release splits the chunk's
 * block.
 */
static unsigned int ka_chunk_release(struct ka_mheap *heap,
				     struct ka_chunk *chunk, void **pages,
				     unsigned int max)
{
	unsigned long idx = chunk->npages;
	unsigned int n = 0;

	lockdep_assert_held(&heap->lock);
	while (n < max && idx--) {
		if (test_bit(idx, chunk->used))
			continue;
		__set_bit(idx, chunk->used);
		__set_bit(idx, chunk->released);
		pages[n++] = chunk->base + (idx << PAGE_SHIFT);
	}
	if (n && !chunk->nreleased && chunk->order)
		ka_sys_split_pages(chunk->base, chunk->order);
	chunk->nfree -= n;
	chunk->nreleased += n;
	heap->pages_held -= n;
	heap->pages_holes += n;
	heap->pages_released += n;
	if (!chunk->nfree)
		list_move_tail(&chunk->list, &heap->chunks);
	return n;
}

/**
 * ka_mheap_scavenge_goal - the free pages a heap may keep
 * @heap: the heap (read without its lock: a hint)
 *
 * Like Go's scavenger, which keeps retained memory about 10% over the heap
 * goal: 1/KA_SCAV_RETAIN_DIV of the pages in runs, at least
 * KA_SCAV_FLOOR_PAGES.
 *
 * Context: any.
 * Return: a number of pages.
 */
unsigned long ka_mheap_scavenge_goal(const struct ka_mheap *heap)
{
	return max(READ_ONCE(heap->pages_used) / KA_SCAV_RETAIN_DIV,
		   KA_SCAV_FLOOR_PAGES);
}
KA_EXPORT_INTERNAL(ka_mheap_scavenge_goal);

/*
 * Give free pages back until the heap keeps at most its goal (none if
 * @all), at most @max pages: a whole empty chunk when the excess is at
 * least half of it (a block back whole rather than holes; the heap then
 * keeps less than its goal), else pages of the chunk with the fewest
 * pages in runs (the last one carving picks), KA_SCAV_BATCH per lock hold.
 */
static unsigned long ka_mheap_reclaim(struct ka_mheap *heap, bool all,
				      unsigned long max)
{
	void *pages[KA_SCAV_BATCH];
	unsigned long done = 0;

	while (done < max) {
		struct ka_chunk *chunk, *victim = NULL;
		unsigned long flags, excess, goal, free, n;
		LIST_HEAD(release);
		unsigned int i, nr = 0;

		spin_lock_irqsave(&heap->lock, flags);
		free = heap->pages_held - heap->pages_used;
		goal = all ? 0 : ka_mheap_scavenge_goal(heap);
		excess = free > goal ? min(free - goal, max - done) : 0;
		list_for_each_entry(chunk, &heap->chunks, list) {
			if (!excess || !chunk->nfree)
				break;
			if (ka_chunk_empty(chunk)) {
				if (chunk->nfree > 2 * excess)
					continue;
				victim = chunk;
				break;
			}
			if (!victim ||
			    ka_chunk_inuse(chunk) < ka_chunk_inuse(victim))
				victim = chunk;
		}
		if (!victim) {
			spin_unlock_irqrestore(&heap->lock, flags);
			break;
		}
		if (ka_chunk_empty(victim)) {
			n = ka_mheap_unlink(heap, victim, &release);
		} else {
			nr = ka_chunk_release(heap, victim, pages,
					      min(excess,
						  (unsigned long)KA_SCAV_BATCH));
			n = nr;
		}
		spin_unlock_irqrestore(&heap->lock, flags);
		for (i = 0; i < nr; i++)
			ka_sys_free_pages(pages[i], 0);
		ka_mheap_free_chunks(&release);
		done += n;
	}
	return done;
}

/**
 * ka_mheap_scavenge - one pass of the background scavenger
 * @heap: the heap
 * @max: pages to give back at most
 *
 * Gives free pages back to the buddy allocator until the heap keeps no
 * more than ka_mheap_scavenge_goal() free: whole free chunks first, then
 * free pages of the emptiest chunks that still hold runs.
 *
 * Context: any; no ka lock held.  Keeps irqs off for at most
 * KA_SCAV_BATCH pages at a time.
 * Return: the number of pages given back.
 */
unsigned long ka_mheap_scavenge(struct ka_mheap *heap, unsigned long max)
{
	unsigned long pages = ka_mheap_reclaim(heap, false, max), flags;

	spin_lock_irqsave(&heap->lock, flags);
	heap->scav_pages += pages;
	heap->scav_kicked = false;
	spin_unlock_irqrestore(&heap->lock, flags);
	return pages;
}
KA_EXPORT_INTERNAL(ka_mheap_scavenge);

/**
 * ka_mheap_release - return free chunks and, with @keep 0, all free pages
 * @heap: the heap
 * @keep: free chunks to keep; 0 also releases every free page inside
 *        chunks that still hold runs, as far as the cap on holes allows
 *        (the shrinker, "drain", module exit)
 *
 * The cached large spans (large.c) are not touched: to give their chunks
 * back too, ka_large_trim() first.
 *
 * Context: any; no ka lock held.
 * Return: the number of pages returned.
 */
unsigned long ka_mheap_release(struct ka_mheap *heap, unsigned long keep)
{
	unsigned long flags, pages;
	LIST_HEAD(release);

	spin_lock_irqsave(&heap->lock, flags);
	pages = ka_mheap_collect(heap, keep, &release);
	spin_unlock_irqrestore(&heap->lock, flags);
	ka_mheap_free_chunks(&release);
	if (!keep)
		pages += ka_mheap_reclaim(heap, true, ULONG_MAX);
	return pages;
}
KA_EXPORT_INTERNAL(ka_mheap_release);

/**
 * ka_mheap_stats_read - a snapshot of one node's heap counters
 * @node: the node
 * @out: where to store them
 *
 * Context: process context; takes the heap lock.
 */
void ka_mheap_stats_read(int node, struct ka_mheap_stats *out)
{
	struct ka_mheap *heap = ka_mheap_of(node);
	unsigned long flags;

	spin_lock_irqsave(&heap->lock, flags);
	*out = heap->stats;
	spin_unlock_irqrestore(&heap->lock, flags);
}
KA_EXPORT_INTERNAL(ka_mheap_stats_read);
