// SPDX-License-Identifier: GPL-2.0
/*
 * ut_check(): ka's invariants, checked from the outside when no thread is
 * inside ka (the fuzzer after every step, the stress at its barriers).
 *
 *  - mcentral: every span on the list its state and counts call for,
 *    empty partial spans last, nr_partial/nr_full/nr_empty right, objs_out
 *    the sum of nalloc and equal to the objects the harness holds; each
 *    span's nalloc the popcount of its bitmap, freeindex a lower bound.
 *  - heap: chunks naturally aligned blocks the page allocator gave out
 *    (once split by a release: each page not released out on its own),
 *    nfree, nreleased and the counters matching the bitmaps, released
 *    pages marked used, no empty chunk with holes, chunks with free pages
 *    before full ones; every page in use and not released belongs to
 *    exactly one live span and pages_used is the sum of their npages;
 *    large spans counted.
 *  - arena map: each chunk's arena in the map, nr_chunks right, every
 *    page of a live span pointing at it and no other page at a span but
 *    the dummy one; the dummy arena and span never written.
 *  - the page allocator and metadata: pages out == sum of pages_held, live
 *    metadata == spans + chunks + arenas + map + queued kfree_rcu().
 */
#include <stdlib.h>
#include "harness.h"

struct ut_set {
	void **v;
	size_t nr, cap;
};

static unsigned long ut_nbad;

#define bad(fmt, ...) do {						\
	if (ut_nbad++ < 20)						\
		ut_err("invariant: " fmt, ##__VA_ARGS__);		\
} while (0)

static void set_add(struct ut_set *s, void *p)
{
	if (s->nr == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof(void *));
		if (!s->v)
			abort();
	}
	s->v[s->nr++] = p;
}

static int ptr_cmp(const void *a, const void *b)
{
	unsigned long x = *(unsigned long *)a, y = *(unsigned long *)b;

	return x < y ? -1 : x > y;
}

static void set_sort(struct ut_set *s)
{
	size_t i;

	if (!s->nr)
		return;
	qsort(s->v, s->nr, sizeof(void *), ptr_cmp);
	for (i = 1; i < s->nr; i++)
		if (s->v[i] == s->v[i - 1])
			bad("%p on two lists", s->v[i]);
}

static bool set_has(struct ut_set *s, void *p)
{
	return s->nr && bsearch(&p, s->v, s->nr, sizeof(void *), ptr_cmp);
}

static void check_bitmap(struct ka_span *span)
{
	unsigned int words = BITS_TO_LONGS(span->nelems), w;
	unsigned int weight = bitmap_weight(span->allocbits, span->nelems);

	if (weight != span->nalloc)
		bad("span %p class %u: nalloc %u, %u bits set", span, span->cls,
		    span->nalloc, weight);
	if (span->nelems % BITS_PER_LONG &&
	    span->allocbits[words - 1] & ~(BIT(span->nelems % BITS_PER_LONG) - 1))
		bad("span %p: bits set beyond nelems %u", span, span->nelems);
	if (span->freeindex > words)
		bad("span %p: freeindex %u > %u words", span, span->freeindex,
		    words);
	for (w = 0; w < span->freeindex && w < words; w++) {
		unsigned int bits = min_t(unsigned int, BITS_PER_LONG,
					  span->nelems - w * BITS_PER_LONG);

		if (hweight_long(span->allocbits[w]) != bits)
			bad("span %p: free object in word %u below freeindex %u",
			    span, w, span->freeindex);
	}
}

static void check_span(struct ka_span *span, int node, unsigned int cls,
		       unsigned int where, struct ut_set *spans)
{
	const struct ka_class *k = &ka_classes[cls];

	set_add(spans, span);
	if (span->state != KA_SPAN_SMALL || span->where != where ||
	    span->cls != cls || span->node != node)
		bad("span %p on node %d class %u list %u: state %u where %u class %u node %d",
		    span, node, cls, where, span->state, span->where, span->cls,
		    span->node);
	/* mcentral's: no CPU's key, no owner, no remote bit left behind */
	if (span->fastkey || atomic_long_read(&span->rstate))
		bad("span %p of node %d: fastkey %u, rstate %#lx", span, node,
		    span->fastkey, atomic_long_read(&span->rstate));
	if (span->elemsize != k->size || span->npages != k->npages ||
	    span->nelems != k->nelems || span->divmagic != k->divmagic)
		bad("span %p: geometry %u/%u/%u is not class %u's", span,
		    span->elemsize, span->npages, span->nelems, cls);
	check_bitmap(span);
}

static void check_central(struct ka_central *c, int node, unsigned int cls,
			  unsigned long model, struct ut_set *spans)
{
	unsigned long partial = 0, full = 0, empty = 0, out = 0;
	bool seen_empty = false;
	struct ka_span *span;

	if (c->lock.owner)
		bad("central %d/%u locked", node, cls);
	list_for_each_entry(span, &c->partial, list) {
		check_span(span, node, cls, KA_LIST_PARTIAL, spans);
		if (span->nalloc >= span->nelems)
			bad("full span %p on partial", span);
		if (!span->nalloc) {
			empty++;
			seen_empty = true;
		} else if (seen_empty) {
			bad("central %d/%u: span %p in use after an empty one",
			    node, cls, span);
		}
		partial++;
		out += span->nalloc;
	}
	list_for_each_entry(span, &c->full, list) {
		check_span(span, node, cls, KA_LIST_FULL, spans);
		if (span->nalloc != span->nelems)
			bad("span %p with %u of %u out on full", span,
			    span->nalloc, span->nelems);
		full++;
		out += span->nalloc;
	}
	if (partial != c->nr_partial || full != c->nr_full ||
	    empty != c->nr_empty)
		bad("central %d/%u: partial %lu full %lu empty %lu, counted %lu %lu %lu",
		    node, cls, partial, full, empty, c->nr_partial, c->nr_full,
		    c->nr_empty);
	if (empty > ka_classes[cls].reserve)
		bad("central %d/%u: %lu empty spans kept, reserve is %u", node,
		    cls, empty, ka_classes[cls].reserve);
	if (out != c->objs_out || out != model)
		bad("central %d/%u: objs_out %lu, spans have %lu out, harness holds %lu",
		    node, cls, c->objs_out, out, model);
}

static void check_large(struct ka_heap *heap, unsigned long model,
			struct ut_set *spans)
{
	unsigned long nr = 0, pages = 0, bytes = 0, nr_free = 0, free_pages = 0;
	struct ka_span *span;

	list_for_each_entry(span, &heap->large, list) {
		set_add(spans, span);
		if (span->state != KA_SPAN_LARGE ||
		    span->where != KA_LIST_LARGE || span->node != heap->node ||
		    span->nelems != 1 || span->nalloc != 1 || span->fastkey ||
		    span->allocbits[0] != 1 ||
		    span->npages < DIV_ROUND_UP(span->reqsize, PAGE_SIZE) ||
		    span->npages > DIV_ROUND_UP(span->reqsize, PAGE_SIZE) * 9 / 8 ||
		    span->elemsize != span->npages * PAGE_SIZE)
			bad("large span %p: state %u where %u node %d npages %u reqsize %zu",
			    span, span->state, span->where, span->node,
			    span->npages, span->reqsize);
		nr++;
		pages += span->npages;
		bytes += span->reqsize;
	}
	/* the cache of freed large spans: whole, bounded */
	list_for_each_entry(span, &heap->large_free, list) {
		set_add(spans, span);
		if (span->state != KA_SPAN_LARGE_FREE ||
		    span->where != KA_LIST_LARGE_FREE ||
		    span->node != heap->node || span->nelems != 1 ||
		    span->elemsize != span->npages * PAGE_SIZE)
			bad("cached large span %p: state %u where %u node %d npages %u",
			    span, span->state, span->where, span->node,
			    span->npages);
		nr_free++;
		free_pages += span->npages;
	}
	if (nr_free != heap->nr_large_free ||
	    free_pages != heap->large_free_pages ||
	    nr_free > KA_LARGE_CACHE_NR ||
	    free_pages > KA_LARGE_CACHE_BYTES >> PAGE_SHIFT)
		bad("heap %d: %lu cached large spans of %lu pages; counted %lu %lu",
		    heap->node, nr_free, free_pages, heap->nr_large_free,
		    heap->large_free_pages);
	if (nr != heap->nr_large || pages != heap->large_pages ||
	    bytes != heap->large_bytes || nr != model)
		bad("heap %d: %lu large spans, %lu pages, %lu bytes; counted %lu %lu %lu; harness %lu",
		    heap->node, nr, pages, bytes, heap->nr_large,
		    heap->large_pages, heap->large_bytes, model);
}

static unsigned long arena_idx(const void *p)
{
	return ((unsigned long)p - PAGE_OFFSET) >> KA_ARENA_SHIFT;
}

/* The chunk's block is out, whole or - split - each page not released. */
static bool chunk_pages_out(struct ka_chunk *chunk)
{
	unsigned long idx;

	if (!chunk->nreleased)
		return shim_block_is_out(chunk->base, chunk->order);
	for_each_clear_bit(idx, chunk->released, chunk->npages)
		if (!shim_block_is_out((char *)chunk->base +
				       (idx << PAGE_SHIFT), 0))
			return false;
	return true;
}

static void check_chunks(struct ka_heap *heap, struct ut_set *chunks)
{
	struct ka_arena_map *map = ka_arena_map;
	unsigned long nr = 0, nfree_chunks = 0, held = 0, used = 0, holes = 0;
	bool seen_full = false;
	struct ka_chunk *chunk;

	if (heap->lock.owner)
		bad("heap %d locked", heap->node);
	list_for_each_entry(chunk, &heap->chunks, list) {
		unsigned int w = bitmap_weight(chunk->used, chunk->npages);
		unsigned int r = bitmap_weight(chunk->released, KA_ARENA_PAGES);
		bool stray = false;
		unsigned int i;

		for (i = 0; i < BITS_TO_LONGS(KA_ARENA_PAGES); i++)
			stray |= !!(chunk->released[i] & ~chunk->used[i]);

		set_add(chunks, chunk);
		if (chunk->node != heap->node || chunk->order > KA_LARGE_MAX_ORDER ||
		    chunk->npages != 1U << chunk->order ||
		    ((unsigned long)chunk->base - PAGE_OFFSET) %
		    (chunk->npages * PAGE_SIZE) || !chunk_pages_out(chunk))
			bad("chunk %p of heap %d: node %d order %u npages %u base %p released %u",
			    chunk, heap->node, chunk->node, chunk->order,
			    chunk->npages, chunk->base, chunk->nreleased);
		if (chunk->nfree != chunk->npages - w)
			bad("chunk %p: nfree %u, %u pages used of %u", chunk,
			    chunk->nfree, w, chunk->npages);
		if (chunk->npages < KA_ARENA_PAGES &&
		    bitmap_weight(chunk->used, KA_ARENA_PAGES) != w)
			bad("chunk %p: bits beyond its %u pages", chunk,
			    chunk->npages);
		if (r != chunk->nreleased || stray)
			bad("chunk %p: nreleased %u, %u released bits, some not used",
			    chunk, chunk->nreleased, r);
		if ((chunk->nreleased || chunk->direct) &&
		    chunk->nfree + chunk->nreleased == chunk->npages)
			bad("chunk %p: no run but %u holes%s: kept", chunk,
			    chunk->nreleased, chunk->direct ? ", direct" : "");
		if (arena_idx(chunk->base) >= map->nr ||
		    map->arenas[arena_idx(chunk->base)] != chunk->arena)
			bad("chunk %p: arena %p not in the map", chunk,
			    chunk->arena);
		if (!chunk->nfree)
			seen_full = true;
		else if (seen_full)
			bad("heap %d: chunk %p with free pages after a full one",
			    heap->node, chunk);
		nr++;
		nfree_chunks += chunk->nfree + chunk->nreleased == chunk->npages;
		held += chunk->npages - chunk->nreleased;
		used += w - chunk->nreleased;
		holes += chunk->nreleased;
	}
	if (nr != heap->nr_chunks || nfree_chunks != heap->nr_free_chunks ||
	    held != heap->pages_held || used != heap->pages_used ||
	    holes != heap->pages_holes)
		bad("heap %d: %lu chunks (%lu free), %lu pages held, %lu used, %lu holes; counted %lu %lu %lu %lu %lu",
		    heap->node, nr, nfree_chunks, held, used, holes,
		    heap->nr_chunks, heap->nr_free_chunks, heap->pages_held,
		    heap->pages_used, heap->pages_holes);
}

/* Pages of the live spans: in their chunk, used, mapped to them. */
static void check_span_pages(struct ut_set *spans, struct ut_set *chunks,
			     unsigned long *pages_used)
{
	size_t i;

	rcu_read_lock();
	for (i = 0; i < spans->nr; i++) {
		struct ka_span *span = spans->v[i];
		struct ka_chunk *chunk = span->chunk;
		unsigned long first, p;

		if (!set_has(chunks, chunk) || chunk->node != span->node) {
			bad("span %p: chunk %p not one of heap %d's", span,
			    chunk, span->node);
			continue;
		}
		first = ((char *)span->base - (char *)chunk->base) >> PAGE_SHIFT;
		if ((unsigned long)span->base % PAGE_SIZE ||
		    span->base < chunk->base ||
		    first + span->npages > chunk->npages) {
			bad("span %p: pages %p+%u outside chunk %p", span,
			    span->base, span->npages, chunk->base);
			continue;
		}
		for (p = 0; p < span->npages; p++) {
			void *addr = (char *)span->base + (p << PAGE_SHIFT);

			if (!test_bit(first + p, chunk->used) ||
			    test_bit(first + p, chunk->released) ||
			    ka_span_of(addr) != span)
				bad("span %p: page %p not used or not mapped to it",
				    span, addr);
		}
		pages_used[span->node] += span->npages;
	}
	rcu_read_unlock();
}

/*
 * Arenas exist exactly where chunks are (elsewhere the map points at the
 * dummy arena), and map no page beyond those of the live spans (the others
 * point at the dummy span): each of those was seen mapped to its span, so
 * the number of other entries must be their sum.
 */
static void check_arenas(struct ut_set *chunks, unsigned long span_pages,
			 unsigned long *narenas)
{
	struct ka_arena_map *map = ka_arena_map;
	static unsigned int *nchunks;
	static unsigned long nr;
	unsigned long i, j, entries = 0;
	size_t c;

	if (nr < map->nr) {
		nr = map->nr;
		nchunks = realloc(nchunks, nr * sizeof(*nchunks));
		if (!nchunks)
			abort();
	}
	memset(nchunks, 0, map->nr * sizeof(*nchunks));
	for (c = 0; c < chunks->nr; c++) {
		i = arena_idx(((struct ka_chunk *)chunks->v[c])->base);
		if (i < map->nr)
			nchunks[i]++;
	}
	for (i = 0; i < map->nr; i++) {
		struct ka_arena *arena = map->arenas[i];

		if (arena == &ka_dummy_arena) {
			if (nchunks[i])
				bad("arena %lu: %u chunks, no arena", i,
				    nchunks[i]);
			continue;
		}
		(*narenas)++;
		if (!map->aux[i] || map->aux[i]->arena != arena ||
		    map->aux[i]->nr_chunks != nchunks[i] || !nchunks[i])
			bad("arena %lu: nr_chunks %u, %u chunks in it", i,
			    map->aux[i] ? map->aux[i]->nr_chunks : 0, nchunks[i]);
		for (j = 0; j < KA_ARENA_PAGES; j++)
			entries += arena->spans[j] != &ka_dummy_span;
	}
	for (j = 0; j < KA_ARENA_PAGES; j++)
		if (ka_dummy_arena.spans[j] != &ka_dummy_span) {
			bad("dummy arena page %lu: %p", j, ka_dummy_arena.spans[j]);
			break;
		}
	if (ka_dummy_span.state != KA_SPAN_DEAD || ka_dummy_span.nalloc ||
	    ka_dummy_span.fastkey ||
	    ka_dummy_span.where != KA_LIST_NONE)
		bad("dummy span written: state %u nalloc %u fastkey %u where %u",
		    ka_dummy_span.state, ka_dummy_span.nalloc,
		    ka_dummy_span.fastkey, ka_dummy_span.where);
	if (entries != span_pages)
		bad("the arena map has %lu pages mapped, live spans have %lu",
		    entries, span_pages);
}

unsigned long ut_check(void)
{
	unsigned long pages_used[MAX_NUMNODES] = { 0 }, held = 0, narenas = 0;
	unsigned long span_pages = 0;
	struct ut_set spans = { 0 }, chunks = { 0 };
	unsigned long model[MAX_NUMNODES][KA_MAX_CLASSES + 1];
	unsigned int cls;
	int nid;

	ut_nbad = 0;
	for_each_node(nid)
		for (cls = 0; cls <= KA_MAX_CLASSES; cls++)
			model[nid][cls] = ut_model_out(nid, cls);

	for_each_node(nid) {
		struct ka_heap *heap = ka_heap_of(nid);

		for (cls = 0; cls < KA_MAX_CLASSES; cls++) {
			struct ka_central *c = ka_central_of(nid, cls);

			if (cls && cls < ka_nr_classes) {
				check_central(c, nid, cls, model[nid][cls],
					      &spans);
			} else if (!list_empty(&c->partial) ||
				   !list_empty(&c->full) || c->objs_out) {
				bad("central %d/%u of no class in use", nid, cls);
			}
		}
		check_large(heap, model[nid][KA_MAX_CLASSES], &spans);
		check_chunks(heap, &chunks);
		held += heap->pages_held;
	}
	/* a span on two lists counts its pages twice: pages_used says so */
	set_sort(&chunks);
	check_span_pages(&spans, &chunks, pages_used);
	for_each_node(nid)
		if (pages_used[nid] != ka_heap_of(nid)->pages_used)
			bad("heap %d: live spans have %lu pages, pages_used %lu",
			    nid, pages_used[nid], ka_heap_of(nid)->pages_used);
	for_each_node(nid)
		span_pages += pages_used[nid];
	check_arenas(&chunks, span_pages, &narenas);
	if (held != shim_stats.pages_out)
		bad("heaps hold %lu pages, the page allocator gave %lu", held,
		    shim_stats.pages_out);
	/* an arena and its aux; the map and its aux array */
	if (shim_stats.meta_live != spans.nr + chunks.nr + 2 * narenas + 2 +
				    shim_stats.rcu_pending)
		bad("%lu metadata objects live: %zu spans + %zu chunks + 2 x %lu arenas + map + %lu queued",
		    shim_stats.meta_live, spans.nr, chunks.nr, narenas,
		    shim_stats.rcu_pending);
	free(spans.v);
	free(chunks.v);
	return ut_nbad;
}
