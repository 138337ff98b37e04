// SPDX-License-Identifier: GPL-2.0
/*
 * ut_check(): ka's invariants, checked from the outside when no thread is
 * inside ka (the fuzzer after every step, the stress at its barriers).
 *
 *  - mcentral: every span on the list its state and counts call for,
 *    empty partial spans last, nr_partial/nr_full/nr_empty/nr_owned
 *    right, objs_out the sum of nalloc of the spans no CPU owns; each
 *    span's nalloc the popcount of its bitmap, freeindex a lower bound,
 *    its remote bits a subset of its allocated ones (none left on a span
 *    no CPU owns).
 *  - the CPUs (mcache.c): each owned span on exactly one list of its
 *    owner's (active, partial, full, stash), with the ownership word,
 *    fastkey and olist that list calls for, on its owner's node, on
 *    central->owned; a span on the pending list exactly when it has
 *    KA_RS_PEND; nr_owned and nstash right; each magazine object out in
 *    its span, not in its remote bitmap, not held by a client, in no other
 *    magazine, of a span its CPU owns (or, for a class of one object per
 *    span, of its CPU's node); capacities within the class's maximum and
 *    cap_bytes their sum (plus the stashed spans), within the budget; an
 *    offline CPU holds nothing.
 *  - per node and class: the objects out of the spans' bitmaps, minus
 *    their remote bits, are exactly those clients hold (the harness's
 *    count) plus those in magazines.
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
	if (where != KA_LIST_OWNED &&
	    (span->fastkey || atomic_long_read(&span->rstate) ||
	     span->olist != KA_OL_NONE ||
	     !bitmap_empty(ka_span_rfree(span), span->nelems)))
		bad("span %p of node %d: fastkey %u, rstate %#lx, olist %u, remote bits %u",
		    span, node, span->fastkey, atomic_long_read(&span->rstate),
		    span->olist, bitmap_weight(ka_span_rfree(span), span->nelems));
	if (span->elemsize != k->size || span->npages != k->npages ||
	    span->nelems != k->nelems || span->divmagic != k->divmagic)
		bad("span %p: geometry %u/%u/%u is not class %u's", span,
		    span->elemsize, span->npages, span->nelems, cls);
	check_bitmap(span);
}

/* Objects out of @span's bitmap that no one has freed into it since. */
static unsigned long span_out(struct ka_span *span)
{
	return span->nalloc - bitmap_weight(ka_span_rfree(span), span->nelems);
}

static void check_central(struct ka_mcentral *c, int node, unsigned int cls,
			  unsigned long model, struct ut_set *spans,
			  struct ut_set *owned, unsigned long *outp)
{
	unsigned long partial = 0, full = 0, empty = 0, out = 0, nowned = 0;
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
	*outp = out;
	list_for_each_entry(span, &c->owned, list) {
		unsigned long rs = atomic_long_read(&span->rstate);

		check_span(span, node, cls, KA_LIST_OWNED, spans);
		set_add(owned, span);
		if (!ka_class_owned(&ka_classes[cls]) || !ka_rs_owner(rs) ||
		    ka_rs_owner(rs) > (unsigned int)nr_cpu_ids)
			bad("span %p on central %d/%u's owned list: rstate %#lx",
			    span, node, cls, rs);
		nowned++;
		*outp += span_out(span);
	}
	if (partial != c->nr_partial || full != c->nr_full ||
	    empty != c->nr_empty || nowned != c->nr_owned)
		bad("central %d/%u: partial %lu full %lu empty %lu owned %lu, counted %lu %lu %lu %lu",
		    node, cls, partial, full, empty, nowned, c->nr_partial,
		    c->nr_full, c->nr_empty, c->nr_owned);
	if (empty > ka_mcentral_keep(c) ||
	    c->hold * ka_classes[cls].npages * PAGE_SIZE >
	    KA_MCENTRAL_HOLD_BYTES || (c->cache && c->hold))
		bad("central %d/%u: %lu empty spans kept, reserve is %u + %lu",
		    node, cls, empty, ka_classes[cls].reserve, c->hold);
	if (out != c->objs_out)
		bad("central %d/%u: objs_out %lu, its spans have %lu out",
		    node, cls, c->objs_out, out);
}

/* One CPU's list @head of class @cls: spans it owns, as @ol says. */
static unsigned int check_olist(struct ka_mcache *mc, int cpu, unsigned int cls,
				struct list_head *head, enum ka_span_olist ol,
				struct ut_set *seen)
{
	struct ka_span *span;
	unsigned int n = 0;

	list_for_each_entry(span, head, olink) {
		unsigned long rs = atomic_long_read(&span->rstate);
		bool full = ol == KA_OL_FULL;
		unsigned int key = (full || ol == KA_OL_ACTIVE) && !span->nprof ?
				   mc->ownkey : 0;

		set_add(seen, span);
		n++;
		if (ka_rs_owner(rs) != mc->ownkey || span->olist != ol ||
		    span->cls != cls || span->node != cpu_to_node(cpu) ||
		    span->where != KA_LIST_OWNED || span->fastkey != key ||
		    !!(rs & KA_RS_FULL) != full)
			bad("cpu %d class %u list %u: span %p rstate %#lx olist %u class %u node %d where %u fastkey %u",
			    cpu, cls, ol, span, rs, span->olist, span->cls,
			    span->node, span->where, span->fastkey);
		if ((ol == KA_OL_FULL && span->nalloc != span->nelems) ||
		    (ol == KA_OL_STASH && span->nalloc) ||
		    (ol == KA_OL_PARTIAL && span->nalloc == span->nelems))
			bad("cpu %d class %u list %u: span %p with %u of %u out",
			    cpu, cls, ol, span, span->nalloc, span->nelems);
	}
	return n;
}

/*
 * CPU @cpu: its spans and magazines (see the top); the objects of its
 * magazines are added to @inmag per node and class and to @mags.
 */
static void check_cpu(int cpu, struct ut_set *owned_seen, struct ut_set *mags,
		      unsigned long inmag[][KA_MAX_CLASSES])
{
	struct ka_mcache *mc = per_cpu_ptr(ka_mcache, cpu);
	unsigned long cap_bytes = 0, nowned = 0;
	unsigned int cls, i;

	if (mc->ownkey != cpu + 1 || mc->fastkey != mc->ownkey)
		bad("cpu %d: ownkey %u fastkey %u", cpu, mc->ownkey,
		    mc->fastkey);
#ifdef CONFIG_PREEMPT_RT
	if (mc->lock.lock.owner)
#else
	if (mc->lock.acquired || mc->lock.lock.owner)
#endif
		bad("cpu %d: its magazines are owned", cpu);
	for (cls = 1; cls < ka_nr_classes; cls++) {
		const struct ka_class *k = &ka_classes[cls];
		struct ka_magazine *m = &mc->mag[cls];
		struct ka_owned *s = &mc->owned[cls];
		unsigned int count = m->top - m->objs, cap = m->end - m->objs;
		struct llist_node *node;
		struct ka_span *span;

		if (m->top < m->objs || count > cap || cap > k->cache_max)
			bad("cpu %d class %u: %u objects, capacity %u, at most %u",
			    cpu, cls, count, cap, k->cache_max);
		cap_bytes += (unsigned long)cap * k->size;
		if (!shim_cpu_is_online(cpu) && (count || cap))
			bad("cpu %d offline: class %u holds %u, capacity %u",
			    cpu, cls, count, cap);
		for (i = 0; i < count && i <= cap; i++) {
			void *p = m->objs[i];

			set_add(mags, p);
			span = ka_span_of(p);
			if (!span || !ut_obj_valid(span, p) ||
			    span->state != KA_SPAN_SMALL || span->cls != cls ||
			    span->cache) {
				bad("cpu %d class %u: %p in its magazine is no object of the class",
				    cpu, cls, p);
				continue;
			}
			if (ka_class_owned(k) ?
			    ka_rs_owner(atomic_long_read(&span->rstate)) != mc->ownkey :
			    span->node != cpu_to_node(cpu))
				bad("cpu %d class %u: %p in its magazine, of span %p (node %d, rstate %#lx) not its own",
				    cpu, cls, p, span, span->node,
				    atomic_long_read(&span->rstate));
			if (!test_bit(ka_span_index(span, p), span->allocbits) ||
			    test_bit(ka_span_index(span, p), ka_span_rfree(span)))
				bad("cpu %d class %u: %p in its magazine is free in its span",
				    cpu, cls, p);
			if (ut_is_out(p))
				bad("cpu %d class %u: %p in its magazine is held by a client",
				    cpu, cls, p);
			inmag[span->node][cls]++;
		}
		if (!ka_class_owned(k)) {
			if (s->active || !list_empty(&s->partial) ||
			    !list_empty(&s->full) || !list_empty(&s->stash) ||
			    !llist_empty(&s->pending))
				bad("cpu %d class %u of one object a span owns spans",
				    cpu, cls);
			continue;
		}
		if (s->active) {
			struct list_head one;

			INIT_LIST_HEAD(&one);
			list_add(&s->active->olink, &one);
			/* the active span's key is the CPU's, as a full one's */
			nowned += check_olist(mc, cpu, cls, &one, KA_OL_ACTIVE,
					      owned_seen);
			list_del_init(&s->active->olink);
			if (s->active->fastkey != (s->active->nprof ? 0 : mc->ownkey))
				bad("cpu %d class %u: active span %p fastkey %u",
				    cpu, cls, s->active, s->active->fastkey);
		}
		nowned += check_olist(mc, cpu, cls, &s->partial, KA_OL_PARTIAL,
				      owned_seen);
		nowned += check_olist(mc, cpu, cls, &s->full, KA_OL_FULL,
				      owned_seen);
		i = check_olist(mc, cpu, cls, &s->stash, KA_OL_STASH,
				owned_seen);
		if (i != s->nstash || i > KA_STASH_MAX)
			bad("cpu %d class %u: %u stashed spans, nstash %u", cpu,
			    cls, i, s->nstash);
		nowned += i;
		list_for_each_entry(span, &s->stash, olink)
			cap_bytes += (unsigned long)span->npages << PAGE_SHIFT;
		/*
		 * pending: exactly the spans with KA_RS_PEND, full ones or
		 * partly used since the owner freed into them
		 */
		i = 0;
		for (node = READ_ONCE(s->pending.first); node; node = node->next) {
			span = llist_entry(node, struct ka_span, pnode);
			if (!(atomic_long_read(&span->rstate) & KA_RS_PEND) ||
			    (span->olist != KA_OL_FULL &&
			     span->olist != KA_OL_PARTIAL) ||
			    ka_rs_owner(atomic_long_read(&span->rstate)) != mc->ownkey)
				bad("cpu %d class %u: span %p pending, rstate %#lx olist %u",
				    cpu, cls, span, atomic_long_read(&span->rstate),
				    span->olist);
			i++;
		}
		list_for_each_entry(span, &s->full, olink)
			i -= !!(atomic_long_read(&span->rstate) & KA_RS_PEND);
		list_for_each_entry(span, &s->partial, olink)
			i -= !!(atomic_long_read(&span->rstate) & KA_RS_PEND);
		if (s->active)
			i -= !!(atomic_long_read(&s->active->rstate) & KA_RS_PEND);
		if (i)
			bad("cpu %d class %u: pending list and KA_RS_PEND disagree",
			    cpu, cls);
	}
	/* the caches' shares are not counted here: utest has no cache */
	if (nowned != mc->nr_owned)
		bad("cpu %d: owns %lu spans, nr_owned %lu", cpu, nowned,
		    mc->nr_owned);
	if (!shim_cpu_is_online(cpu) && nowned)
		bad("cpu %d offline owns %lu spans", cpu, nowned);
	if (cap_bytes != mc->cap_bytes || cap_bytes > READ_ONCE(ka_pcpu_budget))
		bad("cpu %d: cap_bytes %lu, capacities and stash %lu, budget %lu",
		    cpu, mc->cap_bytes, cap_bytes, READ_ONCE(ka_pcpu_budget));
}

static void check_large(struct ka_mheap *heap, unsigned long model,
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

static void check_chunks(struct ka_mheap *heap, struct ut_set *chunks)
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
	struct ut_set owned = { 0 }, owned_seen = { 0 }, mags = { 0 };
	unsigned long model[MAX_NUMNODES][KA_MAX_CLASSES + 1];
	static unsigned long inmag[MAX_NUMNODES][KA_MAX_CLASSES];
	unsigned int cls;
	size_t i;
	int nid, cpu;

	ut_nbad = 0;
	for_each_node(nid)
		for (cls = 0; cls <= KA_MAX_CLASSES; cls++)
			model[nid][cls] = ut_model_out(nid, cls);
	memset(inmag, 0, sizeof(inmag));
	rcu_read_lock();
	for_each_possible_cpu(cpu)
		check_cpu(cpu, &owned_seen, &mags, inmag);
	rcu_read_unlock();
	set_sort(&mags);	/* an object in two magazines: said so */

	for_each_node(nid) {
		struct ka_mheap *heap = ka_mheap_of(nid);

		for (cls = 0; cls < KA_MAX_CLASSES; cls++) {
			struct ka_mcentral *c = ka_mcentral_of(nid, cls);

			if (cls && cls < ka_nr_classes) {
				unsigned long out;

				check_central(c, nid, cls, model[nid][cls],
					      &spans, &owned, &out);
				if (out != model[nid][cls] + inmag[nid][cls])
					bad("node %d class %u: %lu objects out of the spans, clients hold %lu, magazines %lu",
					    nid, cls, out, model[nid][cls],
					    inmag[nid][cls]);
			} else if (!list_empty(&c->partial) ||
				   !list_empty(&c->full) || c->objs_out) {
				bad("central %d/%u of no class in use", nid, cls);
			}
		}
		check_large(heap, model[nid][KA_MAX_CLASSES], &spans);
		check_chunks(heap, &chunks);
		held += heap->pages_held;
	}
	/* every owned span on one CPU's lists, every span a CPU has owned */
	set_sort(&owned);
	set_sort(&owned_seen);
	if (owned.nr != owned_seen.nr)
		bad("%zu spans on central owned lists, %zu on CPUs' lists",
		    owned.nr, owned_seen.nr);
	for (i = 0; i < owned_seen.nr; i++)
		if (!set_has(&owned, owned_seen.v[i]))
			bad("span %p on a CPU's list, not on its central's owned list",
			    owned_seen.v[i]);
	free(owned.v);
	free(owned_seen.v);
	free(mags.v);
	/* a span on two lists counts its pages twice: pages_used says so */
	set_sort(&chunks);
	check_span_pages(&spans, &chunks, pages_used);
	for_each_node(nid)
		if (pages_used[nid] != ka_mheap_of(nid)->pages_used)
			bad("heap %d: live spans have %lu pages, pages_used %lu",
			    nid, pages_used[nid], ka_mheap_of(nid)->pages_used);
	for_each_node(nid)
		span_pages += pages_used[nid];
	check_arenas(&chunks, span_pages, &narenas);
	if (held != shim_stats.pages_out)
		bad("heaps hold %lu pages, the page allocator gave %lu", held,
		    shim_stats.pages_out);
	/* the magazines' slots: one store per CPU */
	if (shim_stats.kv_live != (unsigned long)nr_cpu_ids)
		bad("%lu kvmalloc objects live, %d CPUs' magazines",
		    shim_stats.kv_live, nr_cpu_ids);
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
