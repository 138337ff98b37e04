// SPDX-License-Identifier: GPL-2.0
/*
 * ka spans (Go's mspan): a page run from the heap, cut into objects of one
 * size class, with an allocation bitmap; or a run holding one large object.
 *
 * Finding free objects works a word at a time, as Go's allocCache does: the
 * complement of a bitmap word is scanned with __ffs(), and @freeindex
 * remembers the first word that may still have a free bit, so a mostly
 * full span is not rescanned from the start.
 *
 * Owns: struct ka_span and its metadata allocation.  No lock of its own:
 * ka_span_take(), ka_span_put() and ka_span_collect() run under the
 * mcentral lock of a span no CPU owns (mcentral.c's list helpers, called
 * with each, assert it), or in its owning CPU's magazine section (mcache.c);
 * the remote bitmap is taken whole with xchg() there, set by others with
 * atomic bit operations; a large span belongs to the heap.
 */
#define pr_fmt(fmt) "ka: " fmt

#include "ka_internal.h"
#include "hooks.h"

/* The key of every span's freetag: random, set at module init. */
unsigned long ka_freetag_key;

/* A small span has two bitmaps (allocation, remote); a large span, a single bit. */
static size_t ka_span_meta_size(unsigned int nelems)
{
	return sizeof(struct ka_span) + 2 * BITS_TO_LONGS(nelems) * sizeof(long);
}

/*
 * The metadata of live spans, and of destroyed spans until their grace
 * period has freed it, in the bytes kmalloc gives it (debugfs "stats").
 */
static atomic_long_t ka_span_nr = ATOMIC_LONG_INIT(0);
static atomic_long_t ka_span_bytes = ATOMIC_LONG_INIT(0);
static atomic_long_t ka_span_rcu_bytes = ATOMIC_LONG_INIT(0);

/* Counted in, its size kept: the destroy and its callback only read it. */
static void ka_span_counted(struct ka_span *span)
{
	span->meta_bytes = ka_sys_meta_size(ka_span_meta_size(span->nelems));
	atomic_long_inc(&ka_span_nr);
	atomic_long_add(span->meta_bytes, &ka_span_bytes);
}

static void ka_span_meta_free_rcu(struct rcu_head *head)
{
	struct ka_span *span = container_of(head, struct ka_span, rcu);

	atomic_long_sub(span->meta_bytes, &ka_span_rcu_bytes);
	ka_sys_meta_free(span);
}

/**
 * ka_span_meta_read - the memory of the spans' metadata
 * @st: where to add it (->spans, ->span_bytes, ->span_rcu_bytes)
 *
 * Context: any.
 */
void ka_span_meta_read(struct ka_meta_stats *st)
{
	st->spans += atomic_long_read(&ka_span_nr);
	st->span_bytes += atomic_long_read(&ka_span_bytes);
	st->span_rcu_bytes += atomic_long_read(&ka_span_rcu_bytes);
}
KA_EXPORT_INTERNAL(ka_span_meta_read);

/*
 * Every free object of a span carries its double-free tag, from the
 * span's birth (here) until it is handed out (the allocation paths clear
 * it) and again from its free (ka_pre_free()): so a free of an object
 * start no client holds - one never handed out, one a refill moved into a
 * magazine, one of a span made again since - finds the tag and is
 * confirmed free (ka_obj_free_confirm()) instead of being taken for a
 * live object and handed out twice.  One word an object: what SLUB's
 * freelist setup writes into a new slab.  Debug mode poisons the objects
 * after this (ka_debug_span_init()); a cache's constructor overwrites
 * the word (such caches keep no tag).
 */
static void ka_span_tag_all(struct ka_span *span)
{
	char *obj = span->base, *end = obj + span->nelems * span->elemsize;

	for (; obj < end; obj += span->elemsize)
		ka_word_write(obj, span->freetag);
}

/**
 * ka_span_new - a fresh span of size class @cls with all objects free
 * @cls: size class
 * @node: heap to take the pages from
 * @gfp: caller's allocation flags
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: the span, published in the arena map, or NULL.
 */
struct ka_span *ka_span_new(unsigned int cls, int node, gfp_t gfp)
{
	const struct ka_class *k = &ka_classes[cls];
	struct ka_span *span;

	span = ka_sys_meta_alloc(ka_span_meta_size(k->nelems), gfp, node);
	if (!span)
		return NULL;
	INIT_LIST_HEAD(&span->list);
	INIT_LIST_HEAD(&span->olink);
	span->npages = k->npages;
	span->elemsize = k->size;
	span->divmagic = k->divmagic;
	span->nelems = k->nelems;
	span->cls = cls;
	span->magoff = cls << KA_MAG_SHIFT;
	span->state = KA_SPAN_SMALL;
	if (ka_mheap_alloc_run(ka_mheap_of(node), span, gfp)) {
		ka_sys_meta_free(span);
		return NULL;
	}
	/* unique per span address, unknowable without the key; odd */
	ka_span_counted(span);
	span->freetag = (ka_freetag_key ^
			 (unsigned long)span->base * KA_GOLDEN_RATIO) | 1;
	ka_span_tag_all(span);
	if (ka_debug_span_init(span, gfp)) {
		ka_span_destroy(span);
		return NULL;
	}
	trace_ka_span_alloc(span->base, cls, span->npages, span->node);
	return span;
}
KA_EXPORT_INTERNAL(ka_span_new);

/**
 * ka_span_new_large - a span holding one object of @size bytes
 * @size: KA_MAX_SMALL_SIZE < @size <= KA_MAX_SIZE
 * @node: heap to take the pages from
 * @gfp: caller's allocation flags
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: the span, published in the arena map and on the heap's large
 * list, or NULL.
 */
struct ka_span *ka_span_new_large(size_t size, int node, gfp_t gfp)
{
	struct ka_span *span;

	span = ka_sys_meta_alloc(ka_span_meta_size(1), gfp, node);
	if (!span)
		return NULL;
	INIT_LIST_HEAD(&span->list);
	span->npages = DIV_ROUND_UP(size, PAGE_SIZE);
	span->elemsize = span->npages * PAGE_SIZE;
	/*
	 * (off * 1) >> 32 == 0: every offset maps to object 0, and only
	 * offset 0 passes ka_span_obj_ok() (its fraction, off, is below 1).
	 */
	span->divmagic = 1;
	span->nelems = 1;
	span->nalloc = 1;
	span->reqsize = size;
	span->state = KA_SPAN_LARGE;
	__set_bit(0, span->allocbits);
	if (ka_mheap_alloc_run(ka_mheap_of(node), span, gfp)) {
		ka_sys_meta_free(span);
		return NULL;
	}
	ka_span_counted(span);
	trace_ka_span_alloc(span->base, 0, span->npages, span->node);
	return span;
}
KA_EXPORT_INTERNAL(ka_span_new_large);

/* Spans of SLAB_TYPESAFE_BY_RCU caches waiting for their grace period. */
static atomic_long_t ka_span_rcu_waiting = ATOMIC_LONG_INIT(0);

/* The grace period of a SLAB_TYPESAFE_BY_RCU cache's span is over. */
static void ka_span_destroy_rcu(struct rcu_head *head)
{
	struct ka_span *span = container_of(head, struct ka_span, rcu);

	span->rcu_free = 0;
	ka_span_destroy(span);
	atomic_long_dec(&ka_span_rcu_waiting);
}

/**
 * ka_span_rcu_pending - spans whose pages wait for an RCU grace period
 *
 * Context: any.
 * Return: how many (ka_drain() waits for them with rcu_barrier()).
 */
unsigned long ka_span_rcu_pending(void)
{
	return atomic_long_read(&ka_span_rcu_waiting);
}
KA_EXPORT_INTERNAL(ka_span_rcu_pending);

/**
 * ka_span_destroy - give a span's pages back to its heap and free it
 * @span: a span on no list
 *
 * A span of a SLAB_TYPESAFE_BY_RCU cache (@span->rcu_free) keeps its
 * pages, its objects' contents and its arena entry for an RCU grace period
 * first (call_rcu()): a reader that found one of its objects before it
 * emptied still reads that cache's memory.
 *
 * Context: any; no ka lock held but those before heap->lock in ka's order
 * (ka_internal.h: a flush or a give-back owns its CPU's magazines).  The
 * metadata is freed after an RCU grace period, since ka_free() may be
 * looking at it without a lock (call_rcu(), not kfree_rcu(): the callback
 * counts it out of ka_span_rcu_bytes).
 * Return: false if another caller destroyed the span first.
 */
bool ka_span_destroy(struct ka_span *span)
{
	if (span->rcu_free) {
		atomic_long_inc(&ka_span_rcu_waiting);
		call_rcu(&span->rcu, ka_span_destroy_rcu);
		return true;
	}
	if (!ka_mheap_free_run(ka_mheap_of(span->node), span))
		return false;
	ka_debug_span_free(span);
	trace_ka_span_free(span->base, span->cls, span->npages, span->node);
	atomic_long_dec(&ka_span_nr);
	atomic_long_sub(span->meta_bytes, &ka_span_bytes);
	atomic_long_add(span->meta_bytes, &ka_span_rcu_bytes);
	call_rcu(&span->rcu, ka_span_meta_free_rcu);
	return true;
}
KA_EXPORT_INTERNAL(ka_span_destroy);

/**
 * ka_span_destroy_list - destroy the spans on @list, a private list
 * @list: spans unlinked from every mcentral and heap list by their owner
 *
 * Context: any; no ka lock held but those before heap->lock in ka's order
 * (ka_internal.h), as for ka_span_destroy().
 * Return: the number of pages given back to the heap.
 */
unsigned long ka_span_destroy_list(struct list_head *list)
{
	struct ka_span *span, *tmp;
	unsigned long pages = 0;

	list_for_each_entry_safe(span, tmp, list, list) {
		list_del(&span->list);
		pages += span->npages;
		ka_span_destroy(span);
	}
	return pages;
}

/* kmemleak forgets the objects still out of a dying span (their bits set). */
static void ka_span_forget_leaks(struct ka_span *span)
{
	unsigned int i;

	for_each_set_bit(i, span->allocbits, span->nelems)
		kmemleak_free(span->base + (size_t)i * span->elemsize);
}

/**
 * ka_span_teardown_list - destroy every span of a list no one uses any more
 * @list: an mcentral's partial or full list, or a heap's large list
 * @traced: the spans' objects are registered with kmemleak (the caller
 *	    knows: ka_hooks_always() for ka_alloc()'s, a ka_cache's own flag)
 *
 * Unlike ka_span_destroy_list() (spans their owner has unlinked; pages
 * counted), this unlinks each span itself and counts the objects clients
 * still had out; with @traced, kmemleak forgets them, as their pages go
 * back: it would report each of them and, once the pages are handed out
 * again, find its new objects overlapping and disable itself.  ka has
 * named the leak.
 *
 * Context: module exit (or a test's teardown): no one else uses ka.
 * Return: how many objects the spans still had out (leaked by clients).
 */
unsigned long ka_span_teardown_list(struct list_head *list, bool traced)
{
	struct ka_span *span, *tmp;
	unsigned long out = 0;

	list_for_each_entry_safe(span, tmp, list, list) {
		list_del_init(&span->list);
		span->where = KA_LIST_NONE;
		out += span->nalloc;
		if (span->nalloc && traced)
			ka_span_forget_leaks(span);
		/* no reader is left: no grace period */
		span->rcu_free = 0;
		ka_span_destroy(span);
	}
	return out;
}

/**
 * ka_span_take - take up to @n free objects out of @span
 * @span: a small span
 * @objs: where to store the object addresses
 * @n: how many are wanted
 *
 * Context: the owning mcentral's lock held, or the span's owning CPU.
 * Return: the number of objects taken.
 */
unsigned int ka_span_take(struct ka_span *span, void **objs, unsigned int n)
{
	unsigned int words = BITS_TO_LONGS(span->nelems);
	unsigned int w = span->freeindex, got = 0;

	n = min_t(unsigned int, n, span->nelems - span->nalloc);
	while (got < n && w < words) {
		unsigned long free = ~span->allocbits[w];
		unsigned int base = w * BITS_PER_LONG;

		if (base + BITS_PER_LONG > span->nelems)
			free &= BIT((span->nelems - base)) - 1;
		while (free && got < n) {
			unsigned int bit = __ffs(free);

			free &= free - 1;
			span->allocbits[w] |= BIT(bit);
			objs[got++] = span->base + (base + bit) * span->elemsize;
		}
		if (!free)
			w++;
	}
	span->freeindex = w;
	span->nalloc += got;
	return got;
}
KA_EXPORT_INTERNAL(ka_span_take);

/**
 * ka_span_collect - take the objects other CPUs freed back into the bitmap
 * @span: a small span
 *
 * Each word of the remote bitmap is taken whole with xchg(), so a bit a
 * freer sets meanwhile stays for the next collection.  A remote bit whose
 * object is not out in the allocation bitmap is a double free that got
 * past the tag (two frees racing, or a tag erased by a write after the
 * first free): it is reported and dropped.
 *
 * Context: the span's owner, or its mcentral's lock held for a span no CPU
 * owns.
 * Return: the number of objects collected.
 */
unsigned int ka_span_collect(struct ka_span *span)
{
	unsigned long *rf = ka_span_rfree(span);
	unsigned int w, words = BITS_TO_LONGS(span->nelems), n = 0;

	for (w = 0; w < words; w++) {
		unsigned long bits, bad;

		if (!READ_ONCE(rf[w]))
			continue;
		bits = xchg(&rf[w], 0);
		bad = bits & ~span->allocbits[w];
		while (unlikely(bad)) {
			unsigned int bit = __ffs(bad);

			bad &= bad - 1;
			bits &= ~BIT(bit);
			ka_report_double_free(span->base + (size_t)(w * BITS_PER_LONG + bit) *
					      span->elemsize,
					      "double free (freed twice by other CPUs)",
					      0);
		}
		span->allocbits[w] &= ~bits;
		n += hweight_long(bits);
		if (bits && w < span->freeindex)
			span->freeindex = w;
	}
	span->nalloc -= n;
	return n;
}
KA_EXPORT_INTERNAL(ka_span_collect);

/**
 * ka_span_put - return one object to @span's bitmap
 * @span: a small span
 * @obj: an object of @span (ka_span_obj_ok() true)
 *
 * Context: the owning mcentral's lock held, or the span's owning CPU.
 * Return: false if the object was not out (a double free): nothing changed.
 */
bool ka_span_put(struct ka_span *span, const void *obj)
{
	unsigned int idx = ka_span_index(span, obj);
	unsigned int w = idx / BITS_PER_LONG;

	if (unlikely(!__test_and_clear_bit(idx, span->allocbits)))
		return false;
	span->nalloc--;
	if (w < span->freeindex)
		span->freeindex = w;
	return true;
}
KA_EXPORT_INTERNAL(ka_span_put);
