// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of ka's layers in userspace: size classes, spans, the heap,
 * the arena map, mcentral, and the layers together under emulated CPUs.
 * Each test runs on a freshly initialised allocator; after it the
 * invariants are checked and the teardown must find every object, page
 * and metadata allocation given back.
 *
 * The KUnit suites shared with ka_kunit.ko (kunit/sizeclass_test.c,
 * kunit/span_test.c: the size-class lookup and division, the span bitmap)
 * run after these tests, each case counted as one test (utest/kunit.c).
 *
 * Prints one line per test and "N passed, N failed" last; exits non-zero
 * on failure.  KA_UT_QUICK=1 (valgrind) shortens the random test.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "kunit.h"

static bool t_failed;
static struct ut_cpu cpus[4];

#define EXPECT(c) do {							\
	if (!(c)) {							\
		ut_err("expected: %s", #c);				\
		t_failed = true;					\
	}								\
} while (0)

#define EXPECT_EQ(a, b) do {						\
	unsigned long __a = (a), __b = (b);				\
	if (__a != __b) {						\
		ut_err("expected %s == %s: %lu != %lu", #a, #b, __a, __b); \
		t_failed = true;					\
	}								\
} while (0)

static struct ka_mcentral *central(int node, unsigned int cls)
{
	return ka_mcentral_of(node, cls);
}

/* The class of @size bytes, and one with a bitmap of several words. */
static unsigned int cls_of(size_t size)
{
	return ka_size_class(size);
}

static struct ka_span *span_of(const void *p)
{
	struct ka_span *span;

	rcu_read_lock();
	span = ka_span_of(p);
	rcu_read_unlock();
	return span;
}

static bool refused(const void *p)
{
	unsigned long before = ut_refused;

	return ut_free(&cpus[0], p) == UT_REFUSED && ut_refused == before + 1;
}

/* ---- size classes ---- */

/*
 * The exact batch and magazine sizes; the rest of the table (order, tail
 * waste, bounds, powers of two) is kunit/sizeclass_test.c's, run below.
 */
static void t_class_table(void)
{
	unsigned int i;

	for (i = 1; i < ka_nr_classes; i++) {
		const struct ka_class *k = &ka_classes[i];

		EXPECT(k->nelems && k->nelems <= U16_MAX);
		/* batches in bytes: KA_BATCH_BYTES, 1 .. KA_BATCH_MAX objects */
		EXPECT_EQ(k->batch, clamp_t(unsigned int,
					    KA_BATCH_BYTES / k->size, 1,
					    KA_BATCH_MAX));
		EXPECT_EQ(k->cache_max,
			  clamp_t(unsigned int, KA_MAG_MAX_BYTES / k->size,
				  2 * k->batch,
				KA_MAG_MAX_OBJS));
	}
}

/* ---- spans ---- */

static void t_span_take_put(void)
{
	unsigned int cls = cls_of(16);
	struct ka_mcentral *c = central(0, cls);
	void *objs[PAGE_SIZE / 16];
	struct ka_span *span;
	unsigned int i, n, nelems;

	span = ka_span_new(cls, 0, GFP_KERNEL);
	EXPECT(span);
	if (!span)
		return;
	nelems = span->nelems;
	EXPECT(nelems > 2 * BITS_PER_LONG);
	EXPECT(span_of(span->base) == span);
	spin_lock(&c->lock);
	n = ka_span_take(span, objs, 10);
	EXPECT_EQ(n, 10);
	for (i = 0; i < n; i++)
		EXPECT(objs[i] == (char *)span->base + i * span->elemsize);
	/* the lowest free object comes back first */
	EXPECT(ka_span_put(span, objs[3]));
	EXPECT(!ka_span_put(span, objs[3]));
	EXPECT_EQ(span->nalloc, 9);
	EXPECT(ka_span_take(span, objs + 3, 1) == 1 &&
	       objs[3] == (char *)span->base + 3 * span->elemsize);
	/* take the rest, in three words' worth of bits */
	n = ka_span_take(span, objs + 10, ARRAY_SIZE(objs) - 10);
	EXPECT_EQ(n, nelems - 10);
	EXPECT_EQ(span->nalloc, nelems);
	EXPECT_EQ(ka_span_take(span, objs, 1), 0);
	for (i = 0; i < nelems; i += 2)
		EXPECT(ka_span_put(span, objs[i]));
	EXPECT_EQ(span->freeindex, 0);
	EXPECT_EQ(ka_span_take(span, objs, 1), 1);
	EXPECT(objs[0] == span->base);
	EXPECT(ka_span_put(span, objs[0]));
	for (i = 1; i < nelems; i += 2)
		EXPECT(ka_span_put(span, (char *)span->base + i * span->elemsize));
	EXPECT_EQ(span->nalloc, 0);
	EXPECT_EQ(bitmap_weight(span->allocbits, nelems), 0);
	spin_unlock(&c->lock);
	EXPECT(ka_span_destroy(span));
	EXPECT(!span_of(objs[0]));
}

/*
 * ka_span_obj_ok() is what stands between ka_free() and a pointer that is
 * no object: it must accept exactly the object starts, for every class.
 */
static void t_span_obj_ok(void)
{
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++) {
		struct ka_span *span = ka_span_new(cls, 0, GFP_KERNEL);
		unsigned long off, end;

		EXPECT(span);
		if (!span)
			continue;
		end = span->npages * PAGE_SIZE;
		for (off = 0; off < end; off += 8) {
			void *p = (char *)span->base + off;

			if (ka_span_obj_ok(span, p) != ut_obj_valid(span, p)) {
				ut_err("class %u (%u bytes, %u objects): ka_span_obj_ok(base + %lu) = %d",
				       cls, span->elemsize, span->nelems, off,
				       ka_span_obj_ok(span, p));
				t_failed = true;
				break;
			}
		}
		ka_span_destroy(span);
		shim_rcu_barrier();
	}
}

static void t_span_large(void)
{
	static const size_t sizes[] = {
		KA_MAX_SMALL_SIZE + 1, 100 * PAGE_SIZE - 1, 1 << 20, KA_MAX_SIZE
	};
	struct ka_mheap *heap = ka_mheap_of(1);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct ka_span *span = ka_span_new_large(sizes[i], 1, GFP_KERNEL);
		unsigned int order = get_order(sizes[i]);
		const char *why;
		unsigned long p;

		EXPECT(span);
		if (!span)
			continue;
		EXPECT_EQ(span->npages, DIV_ROUND_UP(sizes[i], PAGE_SIZE));
		EXPECT_EQ(heap->nr_large, 1);
		EXPECT_EQ(heap->large_bytes, sizes[i]);
		EXPECT_EQ(heap->pages_used, span->npages);
		/* a block of its own, its pages beyond the run given back */
		EXPECT(span->chunk->direct && span->chunk->order == order);
		EXPECT_EQ(span->chunk->nreleased, (1U << order) - span->npages);
		EXPECT_EQ(heap->pages_held, span->npages);
		EXPECT_EQ(shim_stats.pages_out, span->npages);
		EXPECT_EQ(ka_sys_page_node(span->base), 1);
		rcu_read_lock();
		for (p = 0; p < span->npages; p++)
			EXPECT(ka_span_of((char *)span->base + p * PAGE_SIZE +
					  p % PAGE_SIZE) == span);
		EXPECT(ut_check_ptr(span->base, &why) == span);
		EXPECT(!ut_check_ptr((char *)span->base + 8, &why));
		EXPECT(!ut_check_ptr((char *)span->base + PAGE_SIZE, &why));
		rcu_read_unlock();
		EXPECT(ka_span_destroy(span));
		EXPECT(!span_of(span->base));
		EXPECT_EQ(heap->nr_large + heap->large_pages + heap->pages_used, 0);
		/* and the block goes back with it */
		EXPECT_EQ(heap->nr_chunks + heap->pages_held + heap->pages_holes, 0);
		EXPECT_EQ(shim_stats.pages_out, 0);
		shim_rcu_barrier();
	}
	EXPECT(!ka_span_new_large(KA_MAX_SIZE + PAGE_SIZE, 0, GFP_KERNEL));
}

/* ---- heap ---- */

/*
 * Runs of 1 to 8 pages from the chunks (128 pages): spans of the 64-byte
 * class and of the page classes.  A large object is a block of its own:
 * 1024 pages of one raise the heap's goal (pages in use / 16) and keep the
 * prompt release out of the cases that are not about it.
 */
static struct ka_span *t_run(unsigned int npages)
{
	struct ka_span *s = ka_span_new(cls_of(npages > 1 ? npages * PAGE_SIZE : 64),
					0, GFP_KERNEL);

	EXPECT(s && s->npages == npages && !s->chunk->direct);
	if (!s)
		exit(1);
	return s;
}

static struct ka_span *t_ballast(void)
{
	struct ka_span *s = ka_span_new_large(KA_MAX_SIZE, 0, GFP_KERNEL);

	EXPECT(s);
	if (!s)
		exit(1);
	return s;
}

#define T_CHUNK	(1U << KA_CHUNK_ORDER)

static void t_runs(struct ka_span **s, unsigned int n, unsigned int npages)
{
	while (n--)
		*s++ = t_run(npages);
}

static void t_destroy(struct ka_span **s, unsigned int n)
{
	while (n--)
		ka_span_destroy(*s++);
}

static void t_mheap_reserve(void)
{
	struct ka_mheap *heap = ka_mheap_of(0);
	struct ka_span *s[100];

	t_runs(s, 100, 8);	/* 6 chunks of 16 runs, the 7th with 4 */
	EXPECT_EQ(heap->nr_chunks, 7);
	EXPECT_EQ(heap->pages_used, 800);
	EXPECT_EQ(heap->nr_free_chunks, 0);
	t_destroy(s + 96, 4);
	/* one free chunk kept: 128 free pages, within 2 x 48 + 64 */
	EXPECT_EQ(heap->nr_chunks, 7);
	EXPECT_EQ(heap->nr_free_chunks, 1);
	EXPECT_EQ(heap->pages_released, 0);
	EXPECT_EQ(ka_mheap_release(heap, 1), 0);
	EXPECT_EQ(ka_mheap_release(heap, 0), T_CHUNK);
	EXPECT_EQ(heap->nr_chunks, 6);
	t_destroy(s, 96);
	ka_mheap_release(heap, 0);
	EXPECT_EQ(heap->pages_held, 0);
	EXPECT_EQ(heap->chunks_alloced, heap->chunks_freed);
	EXPECT_EQ(shim_stats.pages_out, 0);
}

static void t_mheap_first_fit(void)
{
	struct ka_span *ballast = t_ballast(), *s[5], *f, *g;
	char *base;

	t_runs(s, 4, 4);		/* pages 0-15 of a chunk */
	s[4] = t_run(8);		/* 16-23 */
	base = s[0]->base;
	EXPECT((char *)s[1]->base == base + 4 * PAGE_SIZE);
	EXPECT((char *)s[4]->base == base + 16 * PAGE_SIZE);
	ka_span_destroy(s[2]);
	g = t_run(4);			/* first fit: s[2]'s place */
	EXPECT((char *)g->base == base + 8 * PAGE_SIZE);
	/* neighbouring free runs coalesce: 8 pages where two runs of 4 were */
	ka_span_destroy(s[0]);
	ka_span_destroy(s[1]);
	f = t_run(8);
	EXPECT(f->base == base);
	t_destroy(s + 3, 2);
	ka_span_destroy(f);
	ka_span_destroy(g);
	ka_span_destroy(ballast);
}

/*
 * A fragmented buddy allocator: smaller chunks; a large object with no
 * block of its own to be had takes a run of a chunk that has room, and
 * one that no chunk holds fails cleanly.
 */
static void t_mheap_fallback_order(void)
{
	struct ka_mheap *heap = ka_mheap_of(0);
	struct ka_span *s, *l;

	shim_fault.page_max_order = 3;
	s = ka_span_new(cls_of(64), 0, GFP_KERNEL);
	EXPECT(s);
	EXPECT_EQ(heap->chunk_fallbacks, 1);
	EXPECT(s && s->chunk->order == 3);
	EXPECT(!ka_span_new_large(20 * PAGE_SIZE, 0, GFP_KERNEL));
	EXPECT_EQ(heap->alloc_failed, 1);
	if (s)
		ka_span_destroy(s);
	ka_mheap_release(heap, 0);
	shim_fault.page_max_order = SHIM_MAX_ORDER;
	s = t_run(1);
	/* both tries at the block (this node, then any) fail */
	shim_pattern_set(&shim_fault.page, 3, 2);
	l = ka_span_new_large(10 * PAGE_SIZE, 0, GFP_KERNEL);
	EXPECT(l && l->chunk == s->chunk && !l->chunk->direct);
	EXPECT_EQ(heap->alloc_failed, 1);
	if (l)
		ka_span_destroy(l);
	ka_span_destroy(s);
}

/* No memory left on the node: a chunk of another node's memory, of the
 * order the run needs.
 */
static void t_mheap_fallback_node(void)
{
	struct ka_span *s;

	shim_fault.node_full = 1;
	s = ka_span_new(cls_of(64), 0, GFP_KERNEL);
	EXPECT(s);
	if (!s)
		return;
	EXPECT_EQ(s->node, 0);
	EXPECT_EQ(s->chunk->node, 0);
	EXPECT_EQ(ka_sys_page_node(s->base), 1);
	EXPECT_EQ(ka_mheap_of(0)->pages_held, s->npages);
	EXPECT_EQ(ka_mheap_of(0)->chunk_fallbacks, 1);
	EXPECT_EQ(ka_mheap_of(1)->pages_held, 0);
	ka_span_destroy(s);
	shim_fault.node_full = 3;
	EXPECT(!ka_span_new(cls_of(64), 1, GFP_KERNEL));
}

/* Spans go to the fullest chunk with room, not the first on the list. */
static void t_mheap_packing(void)
{
	struct ka_span *ballast = t_ballast(), *a[16], *b[2], *c, *d;

	t_runs(a, 16, 8);		/* chunk A full */
	t_runs(b, 2, 8);		/* chunk B: 16 used */
	EXPECT(a[0]->chunk == a[15]->chunk && b[0]->chunk != a[0]->chunk);
	t_destroy(a, 2);		/* A: 112 used, first on the list */
	c = t_run(8);			/* both have room: A is the fuller */
	EXPECT(c->chunk == a[15]->chunk);
	ka_span_destroy(b[0]);
	ka_span_destroy(b[1]);		/* B: empty, first on the list */
	d = t_run(1);			/* A: still the fullest with room */
	EXPECT(d->chunk == a[15]->chunk);
	EXPECT_EQ(ka_mheap_of(0)->nr_free_chunks, 1);
	t_destroy(a + 2, 14);
	ka_span_destroy(c);
	ka_span_destroy(d);
	ka_span_destroy(ballast);
}

/*
 * keep 0 releases every free page of a partly used chunk: held and the
 * page allocator's count drop by exactly that, holes are never carved, and
 * the chunk goes back (page by page) with its last run.
 */
static void t_mheap_release_pages(void)
{
	struct ka_mheap *heap = ka_mheap_of(0);
	struct ka_span *ballast = t_ballast(), *s[3], *d;
	struct ka_chunk *chunk;

	t_runs(s, 3, 8);
	chunk = s[0]->chunk;
	ka_span_destroy(s[1]);
	EXPECT_EQ(heap->pages_held, KA_MAX_SIZE / PAGE_SIZE + T_CHUNK);
	EXPECT_EQ(ka_mheap_release(heap, 0), T_CHUNK - 16);
	EXPECT_EQ(heap->pages_held, KA_MAX_SIZE / PAGE_SIZE + 16);
	EXPECT_EQ(heap->pages_used, heap->pages_held);
	EXPECT_EQ(heap->pages_holes, T_CHUNK - 16);
	EXPECT_EQ(heap->pages_released, T_CHUNK - 16);
	EXPECT_EQ(shim_stats.pages_out, heap->pages_held);
	EXPECT_EQ(shim_stats.page_splits, 1);
	EXPECT_EQ(chunk->nreleased, T_CHUNK - 16);
	EXPECT_EQ(chunk->nfree, 0);
	EXPECT_EQ(ka_mheap_release(heap, 0), 0);
	/* the chunk has room only in holes: a new chunk */
	d = t_run(8);
	EXPECT(d->chunk != chunk);
	ka_span_destroy(s[0]);
	EXPECT_EQ(heap->nr_chunks, 3);
	ka_span_destroy(s[2]);		/* no run left: the chunk goes back */
	EXPECT_EQ(heap->nr_chunks, 2);
	EXPECT_EQ(heap->pages_holes, 0);
	EXPECT_EQ(shim_stats.pages_out, heap->pages_held);
	ka_span_destroy(d);		/* the reserve: kept */
	EXPECT_EQ(heap->nr_free_chunks, 1);
	EXPECT_EQ(ka_mheap_release(heap, 0), T_CHUNK);
	ka_span_destroy(ballast);
	EXPECT_EQ(shim_stats.pages_out, 0);
	EXPECT_EQ(heap->chunks_alloced, heap->chunks_freed);
}

/*
 * The background pass: down to the goal, at most max pages, the emptiest
 * chunk first, from its end.
 */
static void t_mheap_scavenge(void)
{
	struct ka_mheap *heap = ka_mheap_of(0);
	struct ka_span *ballast = t_ballast(), *s[36];
	struct ka_chunk *a, *x, *b;

	t_runs(s, 36, 8);		/* A and X full, B: 32 used */
	a = s[0]->chunk;
	x = s[16]->chunk;
	b = s[32]->chunk;
	EXPECT(a != x && b != x && b != a);
	ka_span_destroy(s[0]);
	ka_span_destroy(s[16]);
	/* A and X 8 free, B 96: 112 free for 1296 pages in use, goal 20 */
	EXPECT_EQ(ka_mheap_scavenge_goal(heap), 20);
	EXPECT_EQ(heap->pages_held - heap->pages_used, 112);
	EXPECT_EQ(heap->pages_released, 0);	/* no prompt release */
	EXPECT_EQ(ka_mheap_scavenge(heap, 10), 10);
	EXPECT_EQ(b->nreleased, 10);
	EXPECT(test_bit(T_CHUNK - 1, b->released) && !test_bit(32, b->released));
	EXPECT_EQ(ka_mheap_scavenge(heap, ULONG_MAX), 112 - 10 - 20);
	EXPECT_EQ(heap->pages_held - heap->pages_used, 20);
	EXPECT_EQ(ka_mheap_scavenge(heap, ULONG_MAX), 0);
	EXPECT_EQ(b->nreleased, 92);
	EXPECT_EQ(a->nreleased + x->nreleased, 0);
	EXPECT_EQ(heap->scav_pages, 92);
	EXPECT_EQ(heap->pages_released, 92);
	EXPECT_EQ(shim_stats.page_splits, 1);
	EXPECT_EQ(shim_stats.pages_out, heap->pages_held);
	/* the shrinker's release: every free page */
	EXPECT_EQ(ka_mheap_release(heap, 0), 20);
	EXPECT_EQ(heap->pages_held, heap->pages_used);
	EXPECT_EQ(heap->scav_pages, 92);
	t_destroy(s + 1, 15);
	t_destroy(s + 17, 19);
	ka_span_destroy(ballast);
	EXPECT_EQ(heap->nr_chunks, 0);
	EXPECT_EQ(heap->pages_holes, 0);
	EXPECT_EQ(shim_stats.pages_out, 0);
}

/* An empty chunk that the excess covers goes back whole, before any page. */
static void t_mheap_scavenge_whole(void)
{
	struct ka_mheap *heap = ka_mheap_of(0);
	struct ka_span *ballast = t_ballast(), *s[48];

	t_runs(s, 48, 8);		/* chunks A, B, C full */
	t_destroy(s + 32, 16);		/* C empty: the reserve */
	t_destroy(s, 4);		/* A and B: 32 free each */
	t_destroy(s + 16, 4);
	EXPECT_EQ(heap->nr_chunks, 4);
	EXPECT_EQ(heap->nr_free_chunks, 1);
	EXPECT_EQ(heap->pages_released, 0);
	/* 192 free, goal 19: the empty chunk, then 45 pages of A or B */
	EXPECT_EQ(ka_mheap_scavenge_goal(heap), 19);
	EXPECT_EQ(ka_mheap_scavenge(heap, ULONG_MAX), T_CHUNK + 45);
	EXPECT_EQ(heap->nr_chunks, 3);
	EXPECT_EQ(heap->nr_free_chunks, 0);
	EXPECT_EQ(heap->chunks_freed, 1);
	EXPECT_EQ(heap->pages_released, 45);
	EXPECT_EQ(heap->pages_held - heap->pages_used, 19);
	EXPECT_EQ(shim_stats.pages_out, heap->pages_held);
	t_destroy(s + 4, 12);
	t_destroy(s + 20, 12);
	ka_span_destroy(ballast);
	ka_mheap_release(heap, 0);
	EXPECT_EQ(shim_stats.pages_out, 0);
}

/*
 * A run freed while the heap keeps more than its goal and half a chunk
 * (KA_SCAV_PROMPT_GOALS: one goal) asks for a scavenger pass
 * (ka_scav_kick()), once until the pass has run, and gives nothing back
 * itself; the pass releases down to the goal from the emptiest chunk's
 * end; a chunk left with holes and no run goes back at once, an empty
 * whole one waits for the pass.
 */
static void t_mheap_prompt(void)
{
	struct ka_mheap *heap = ka_mheap_of(0);
	unsigned long kicks = ut_scav_kicks();
	struct ka_span *a[16], *b[16];
	struct ka_chunk *ca;

	t_runs(a, 16, 8);
	t_runs(b, 16, 8);
	ca = a[0]->chunk;
	/* 256 pages in use: goal 16, a pass asked for above 16 + 64 free */
	EXPECT_EQ(ka_mheap_scavenge_goal(heap), 16);
	t_destroy(a, 10);
	EXPECT_EQ(heap->pages_held - heap->pages_used, 80);
	EXPECT_EQ(ut_scav_kicks(), kicks);
	ka_span_destroy(a[10]);
	EXPECT_EQ(ut_scav_kicks(), kicks + 1);
	t_destroy(a + 11, 3);
	EXPECT_EQ(ut_scav_kicks(), kicks + 1);
	EXPECT_EQ(heap->pages_released, 0);
	/* the background pass: 112 free, goal 16 */
	EXPECT_EQ(ka_mheap_scavenge(heap, KA_SCAV_PAGES_PER_TICK), 96);
	EXPECT_EQ(ca->nreleased, 96);
	EXPECT(test_bit(111, ca->released) && !test_bit(15, ca->released));
	EXPECT_EQ(shim_stats.pages_out, heap->pages_held);
	t_destroy(a + 14, 2);		/* A: holes and no run: gone */
	EXPECT_EQ(heap->nr_chunks, 1);
	EXPECT_EQ(heap->pages_holes, 0);
	t_destroy(b, 16);		/* B: empty and whole, kept */
	EXPECT_EQ(ut_scav_kicks(), kicks + 2);
	EXPECT_EQ(heap->nr_free_chunks, 1);
	EXPECT_EQ(ka_mheap_scavenge(heap, KA_SCAV_PAGES_PER_TICK), T_CHUNK);
	EXPECT_EQ(heap->nr_chunks, 0);
	EXPECT_EQ(shim_stats.pages_out, 0);
}

/* Every metadata allocation on the span path failing in turn. */
static void t_mheap_meta_failures(void)
{
	unsigned int k, ok = 0;

	for (k = 0; k < 8; k++) {
		struct ka_span *s;
		void *p;

		/* fresh map and arenas each round: all allocations happen */
		ut_release_all(0);
		shim_rcu_barrier();
		shim_pattern_set(&shim_fault.meta, 1ULL << k, k + 1);
		p = ut_alloc_node(1, KA_MAX_SIZE, GFP_KERNEL);
		EXPECT(!ut_check());
		if (p) {
			ok++;
			ut_free(&cpus[2], p);
		}
		/* the span's own metadata */
		shim_pattern_set(&shim_fault.meta, 1, 1);
		s = ka_span_new(cls_of(8), 0, GFP_KERNEL);
		EXPECT(!s);
		shim_rcu_barrier();
		EXPECT(!ut_check());
	}
	/* span, chunk, map growth, arena and its aux: 5 could fail */
	EXPECT_EQ(ok, 3);
}

/* ---- arena map ---- */

static void t_arena_grow(void)
{
	struct ka_arena_map *map = ka_arena_map;
	struct ka_span *a, *b, *c;

	EXPECT_EQ(map->nr, shim_boot_blocks);
	a = ka_span_new(cls_of(64), 0, GFP_KERNEL);	/* block 1 */
	EXPECT(a && ka_arena_map == map);
	b = ka_span_new_large(KA_MAX_SIZE, 0, GFP_KERNEL);	/* block 2 */
	EXPECT(b && ka_arena_map != map);
	EXPECT(ka_arena_map->nr >= 3);
	EXPECT_EQ(shim_stats.rcu_pending, 1);	/* the old map */
	c = ka_span_new(cls_of(64), 1, GFP_KERNEL);	/* node 1: far up */
	EXPECT(c && ka_arena_map->nr > 1 + SHIM_NODE_BLOCKS);
	EXPECT(a && span_of(a->base) == a);
	EXPECT(b && span_of((char *)b->base + KA_MAX_SIZE - 1) == b);
	EXPECT(c && span_of(c->base) == c);
	shim_rcu_barrier();
	EXPECT_EQ(shim_stats.rcu_pending, 0);
	if (a)
		ka_span_destroy(a);
	if (b)
		ka_span_destroy(b);
	if (c)
		ka_span_destroy(c);
}

static void t_arena_lookup_foreign(void)
{
	struct ka_span *s = ka_span_new(cls_of(64), 0, GFP_KERNEL);
	void *heap_mem = malloc(64);
	int stack;

	EXPECT(s);
	EXPECT(!span_of(shim_foreign_page()));
	EXPECT(!span_of(NULL));
	EXPECT(!span_of(&stack));
	EXPECT(!span_of(heap_mem));
	EXPECT(!span_of((void *)(PAGE_OFFSET - 1)));
	EXPECT(!span_of((void *)(PAGE_OFFSET +
				 (ka_arena_map->nr << KA_ARENA_SHIFT))));
	/* a free page of a chunk */
	EXPECT(s && !span_of((char *)s->base + s->npages * PAGE_SIZE));
	free(heap_mem);
	if (s)
		ka_span_destroy(s);
}

static void t_arena_lifecycle(void)
{
	struct ka_span *a, *b;
	unsigned long idx;

	/* two 2 MiB chunks, one arena */
	a = ka_span_new_large(KA_MAX_SIZE / 2, 0, GFP_KERNEL);
	b = ka_span_new_large(KA_MAX_SIZE / 2, 0, GFP_KERNEL);
	if (!a || !b) {
		t_failed = true;
		return;
	}
	idx = ((unsigned long)a->base - PAGE_OFFSET) >> KA_ARENA_SHIFT;
	EXPECT(a->chunk != b->chunk && a->chunk->arena == b->chunk->arena);
	EXPECT_EQ(ka_arena_map->aux[idx]->nr_chunks, 2);
	ka_span_destroy(b);
	ka_mheap_release(ka_mheap_of(0), 0);
	EXPECT(ka_arena_map->arenas[idx] != &ka_dummy_arena &&
	       ka_arena_map->aux[idx]->nr_chunks == 1);
	ka_span_destroy(a);
	ka_mheap_release(ka_mheap_of(0), 0);
	EXPECT(ka_arena_map->arenas[idx] == &ka_dummy_arena);
}

/* ---- mcentral ---- */

static void t_mcentral_lists(void)
{
	/* 64 objects a span, a batch of 64: a reserve of one span */
	unsigned int cls = cls_of(64), nelems = ka_classes[cls].nelems;
	struct ka_mcentral *c = central(0, cls);
	void *objs[256];
	unsigned int n;

	EXPECT(2 * nelems <= ARRAY_SIZE(objs));
	EXPECT_EQ(ka_classes[cls].reserve, 1);
	/*
	 * A batch's worth, 8 KiB at most, at least a span (demand keeps
	 * more): two one-page spans of four at 1 KiB, one span of four at
	 * 4 KiB, one at 8 and 32 KiB (one object a span)
	 */
	EXPECT_EQ(ka_classes[cls_of(1024)].reserve, 2);
	EXPECT_EQ(ka_classes[cls_of(4096)].reserve, 1);
	EXPECT_EQ(ka_classes[cls_of(8192)].reserve, 1);
	EXPECT_EQ(ka_classes[cls_of(32768)].reserve, 1);
	n = ka_mcentral_refill(c, objs, nelems, GFP_KERNEL);
	EXPECT_EQ(n, nelems);
	EXPECT_EQ(c->nr_full, 1);
	EXPECT_EQ(c->nr_partial, 0);
	n += ka_mcentral_refill(c, objs + n, 1, GFP_KERNEL);
	EXPECT_EQ(c->nr_partial, 1);
	EXPECT_EQ(c->objs_out, nelems + 1);
	EXPECT_EQ(c->spans_from_heap, 2);
	/* one back to the full span: both partial */
	ka_mcentral_flush(objs, 1);
	EXPECT_EQ(c->nr_full, 0);
	EXPECT_EQ(c->nr_partial, 2);
	/* the rest of the first span back: it is the empty reserve, last */
	ka_mcentral_flush(objs + 1, nelems - 1);
	EXPECT_EQ(c->nr_empty, 1);
	EXPECT(list_last_entry(&c->partial, struct ka_span, list)->nalloc == 0);
	/* the second span empties too: beyond the reserve, to the heap */
	ka_mcentral_flush(objs + nelems, 1);
	EXPECT_EQ(c->nr_empty, 1);
	EXPECT_EQ(c->nr_partial, 1);
	EXPECT_EQ(c->spans_to_heap, 1);
	EXPECT_EQ(c->objs_out, 0);
	EXPECT_EQ(ka_mcentral_release(c, 1), 0);
	EXPECT_EQ(ka_mcentral_release(c, 0), ka_classes[cls].npages);
	EXPECT(list_empty(&c->partial));
}

static void t_mcentral_double_flush(void)
{
	struct ka_mcentral *c = central(1, cls_of(16));
	void *objs[4];

	EXPECT_EQ(ka_mcentral_refill(c, objs, 4, GFP_KERNEL), 4);
	ka_mcentral_flush(objs, 2);
	EXPECT_EQ(ut_ka_refused(), 0);
	/* objs[1] again, between two good ones */
	objs[0] = objs[1];
	objs[1] = objs[2];
	objs[2] = objs[0];
	ka_mcentral_flush(objs + 1, 3);
	EXPECT_EQ(ut_ka_refused(), 1);
	EXPECT_EQ(c->objs_out, 0);
	EXPECT(!ut_check());
}

/*
 * The reserve by demand: spans given back and built again within a trim
 * pass are kept; a pass that finds them unused gives them back.
 */
static void t_mcentral_hold(void)
{
	unsigned int cls = cls_of(16384), reserve = ka_classes[cls].reserve;
	unsigned int n = reserve + 8, i;
	struct ka_mcentral *c = central(0, cls);
	unsigned long from;
	void *objs[64];

	EXPECT(n <= ARRAY_SIZE(objs));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(ka_mcentral_refill(c, objs, n, GFP_KERNEL), n);
		ka_mcentral_flush(objs, n);
	}
	EXPECT_EQ(c->hold, 8);
	EXPECT_EQ(c->nr_empty, n);
	EXPECT_EQ(c->spans_to_heap, 8);
	from = c->spans_from_heap;
	EXPECT_EQ(ka_mcentral_refill(c, objs, n, GFP_KERNEL), n);
	ka_mcentral_flush(objs, n);
	EXPECT_EQ(c->spans_from_heap, from);
	EXPECT(!ut_check());
	/* used to the bottom since the last pass: halved; then unused: back */
	EXPECT_EQ(ka_mcentral_decay(c), 4 * ka_classes[cls].npages);
	EXPECT_EQ(c->hold, 4);
	EXPECT_EQ(ka_mcentral_decay(c), 4 * ka_classes[cls].npages);
	EXPECT_EQ(c->hold, 0);
	EXPECT_EQ(c->nr_empty, reserve);
	EXPECT_EQ(ka_mcentral_release(c, 0), reserve * ka_classes[cls].npages);
	EXPECT(!ut_check());
}

static void t_mcentral_refill_failure(void)
{
	unsigned int cls = cls_of(2048), nelems = ka_classes[cls].nelems;
	struct ka_mcentral *c = central(0, cls);
	void *objs[64];

	shim_pattern_set(&shim_fault.page, ~0ULL, 1000);
	EXPECT_EQ(ka_mcentral_refill(c, objs, 4, GFP_KERNEL), 0);
	EXPECT(list_empty(&c->partial));
	shim_fault_reset();
	EXPECT_EQ(ka_mcentral_refill(c, objs, 1, GFP_KERNEL), 1);
	shim_pattern_set(&shim_fault.page, ~0ULL, 1000);
	shim_pattern_set(&shim_fault.meta, ~0ULL, 1000);
	/* what the partial span has, and no more */
	EXPECT_EQ(ka_mcentral_refill(c, objs + 1, 64, GFP_KERNEL), nelems - 1);
	shim_fault_reset();
	ka_mcentral_flush(objs, nelems);
}

/* ---- pointers ka_free() must refuse ---- */

static void t_invalid_frees(void)
{
	char *p = ut_alloc(&cpus[0], 100, GFP_KERNEL);
	char *big = ut_alloc(&cpus[0], 3 * PAGE_SIZE * 4, GFP_KERNEL);
	void *heap_mem = malloc(32);
	int stack;

	EXPECT(p && big);
	if (!p || !big)
		return;
	EXPECT(refused(p + 8));
	EXPECT(refused(p + 1));
	EXPECT(refused(big + 8));
	EXPECT(refused(big + PAGE_SIZE));
	EXPECT(refused(shim_foreign_page()));
	EXPECT(refused(&stack));
	EXPECT(refused(heap_mem));
	EXPECT(refused((void *)(PAGE_OFFSET - 64)));
	EXPECT(!ut_check());
	EXPECT_EQ(ut_free(&cpus[0], big), UT_FREED_LARGE);
	EXPECT(refused(big));		/* the span is gone */
	EXPECT_EQ(ut_free(&cpus[0], p), UT_FREED_CACHE);
	free(heap_mem);
	ut_flush_cpu(&cpus[0]);
}

/*
 * The slot past a span's last object is inside the span's pages whenever
 * the span has a tail; ka_free() must refuse it like any other pointer
 * that is no object - or its magazine hands it out next, overlapping
 * whatever follows the span.
 */
static void t_free_past_last(void)
{
	unsigned int cls = cls_of(48);
	struct ka_magazine *m = &per_cpu_ptr(ka_mcache, 0)->mag[cls];
	struct ka_span *span;
	char *p, *past, *end;

	p = ut_alloc(&cpus[0], 48, GFP_KERNEL);
	span = p ? span_of(p) : NULL;
	if (!span) {
		t_failed = true;
		return;
	}
	past = (char *)span->base + span->nelems * span->elemsize;
	end = (char *)span->base + span->npages * PAGE_SIZE;
	EXPECT(past < end && past + span->elemsize > end);
	EXPECT(refused(past));
	if (m->top != m->objs && m->top[-1] == past) {
		ut_err("ka_free(%p) cached it: the next %u-byte allocation returns it, %ld bytes past its span",
		       past, span->elemsize, past + span->elemsize - end);
		m->top--;
		t_failed = true;
	}
	ut_free(&cpus[0], p);
	ut_flush_cpu(&cpus[0]);
}

/*
 * Two ka_free()s of one large object racing: both found the span under
 * RCU, the first destroys it.  The second must be refused - and must not
 * touch memory the first one freed (run under ASan/valgrind).
 */
static void t_large_racing_double_free(void)
{
	struct ka_span *a, *b;
	bool first, second;

	a = ka_span_new_large(KA_MAX_SIZE, 0, GFP_KERNEL);
	b = ka_span_new_large(KA_MAX_SIZE, 0, GFP_KERNEL);
	if (!a || !b) {
		t_failed = true;
		return;
	}
	ka_span_destroy(b);		/* its chunk is the free reserve */
	rcu_read_lock();
	first = ka_span_destroy(a);	/* a's chunk goes back at once */
	second = ka_span_destroy(a);
	rcu_read_unlock();
	EXPECT(first && !second);
}

/* ---- the layers together, under emulated CPUs ---- */

struct obj {
	u64 *p;
	size_t size;
};

static void tag(struct obj *o)
{
	o->p[0] = (unsigned long)o->p ^ o->size;
	if (o->size >= 16)
		o->p[o->size / 8 - 1] = ~(unsigned long)o->p;
}

static bool tag_ok(struct obj *o)
{
	return o->p[0] == ((unsigned long)o->p ^ o->size) &&
	       (o->size < 16 || o->p[o->size / 8 - 1] == ~(unsigned long)o->p);
}

static size_t rand_size(unsigned int r)
{
	switch (r % 16) {
	case 0:
		return KA_MAX_SMALL_SIZE + 1 + r % (512 * 1024);
	case 1 ... 3:
		return 1 + r % KA_MAX_SMALL_SIZE;
	default:
		return 8 + r % 512;
	}
}

static void t_random_cpus(void)
{
	enum { NR = 3000 };
	static struct obj live[NR];
	unsigned int nr = 0, i, ops = getenv("KA_UT_QUICK") ? 30000 : 300000;
	unsigned int seed = 1;

	for (i = 0; i < ops; i++) {
		unsigned int r = rand_r(&seed);
		struct ut_cpu *cpu = &cpus[r % 4];

		r >>= 2;
		if (nr < NR && (r % 8 < 4 || !nr)) {
			struct obj o = { .size = rand_size(r >> 3) & ~7UL };

			o.size = max_t(size_t, o.size, 8);
			o.p = ut_alloc(cpu, o.size, GFP_KERNEL);
			EXPECT(o.p);
			if (!o.p)
				break;
			tag(&o);
			live[nr++] = o;
		} else if (r % 8 < 7) {
			unsigned int k = (r >> 3) % nr;

			EXPECT(tag_ok(&live[k]));
			EXPECT(ut_free(cpu, live[k].p) != UT_REFUSED);
			live[k] = live[--nr];
		} else if (r % 64 == 7) {
			ut_flush_cpu(cpu);
			ut_release_all(r % 3);
			shim_rcu_barrier();
		}
		if (i % 5000 == 0) {
			shim_rcu_barrier();
			if (ut_check()) {
				t_failed = true;
				break;
			}
		}
	}
	while (nr--) {
		EXPECT(tag_ok(&live[nr]));
		ut_free(&cpus[nr % 4], live[nr].p);
	}
	for (i = 0; i < 4; i++)
		ut_flush_cpu(&cpus[i]);
}

/* Powers of two up to PAGE_SIZE come naturally aligned (ka.h). */
static void t_pow2_aligned(void)
{
	size_t size;
	int i;

	for (size = 8; size <= PAGE_SIZE; size *= 2)
		for (i = 0; i < 100; i++) {
			void *p = ut_alloc(&cpus[1], size, GFP_KERNEL);

			EXPECT(p && (unsigned long)p % size == 0);
			ut_free(&cpus[1], p);
		}
	ut_flush_cpu(&cpus[1]);
}

static void t_bulk(void)
{
	void *p[300];
	int n;

	n = ut_alloc_bulk(&cpus[2], 200, GFP_KERNEL, ARRAY_SIZE(p), p);
	EXPECT_EQ(n, ARRAY_SIZE(p));
	while (n--)
		ut_free(&cpus[2], p[n]);
	/* all or nothing: a failing refill gives back what it had */
	shim_pattern_set(&shim_fault.page, ~0ULL, 1000);
	shim_pattern_set(&shim_fault.meta, ~0ULL, 1000);
	EXPECT_EQ(ut_alloc_bulk(&cpus[3], 4000, GFP_KERNEL, 100, p), 0);
	shim_fault_reset();
	EXPECT(!ut_check());
	ut_flush_cpu(&cpus[2]);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "sizeclass: batch and magazine sizes", t_class_table },
	{ "span: take and put", t_span_take_put },
	{ "span: obj_ok accepts exactly the object starts", t_span_obj_ok },
	{ "span: large", t_span_large },
	{ "mheap: free chunk reserve and release", t_mheap_reserve },
	{ "mheap: first fit, coalescing", t_mheap_first_fit },
	{ "mheap: smaller chunks when fragmented, a large run from a chunk",
	  t_mheap_fallback_order },
	{ "mheap: another node's memory when full", t_mheap_fallback_node },
	{ "mheap: metadata allocation failures", t_mheap_meta_failures },
	{ "mheap: spans packed into the fullest chunk", t_mheap_packing },
	{ "mheap: free pages of a used chunk released", t_mheap_release_pages },
	{ "mheap: scavenger goal, rate, order", t_mheap_scavenge },
	{ "mheap: scavenger frees a whole empty chunk first", t_mheap_scavenge_whole },
	{ "mheap: a freed run far over the goal asks for a pass", t_mheap_prompt },
	{ "arena: map growth", t_arena_grow },
	{ "arena: foreign pointers", t_arena_lookup_foreign },
	{ "arena: created and freed with chunks", t_arena_lifecycle },
	{ "mcentral: lists, reserve, release", t_mcentral_lists },
	{ "mcentral: double flush refused", t_mcentral_double_flush },
	{ "mcentral: reserve by demand", t_mcentral_hold },
	{ "mcentral: refill failure", t_mcentral_refill_failure },
	{ "free: invalid pointers refused", t_invalid_frees },
	{ "free: pointer past the last object refused", t_free_past_last },
	{ "free: racing double free of a large object", t_large_racing_double_free },
	{ "cpus: power-of-two sizes aligned", t_pow2_aligned },
	{ "cpus: bulk", t_bulk },
	{ "cpus: random alloc/free on 4 CPUs, 2 nodes", t_random_cpus },
};

/* What a child runs: test @i of the table, or a KUnit case. */
struct ut_job {
	void (*fn)(void);
	struct kunit_suite *suite;
	struct kunit_case *kcase;
	const void *param;
	bool skipped;
};

/* Run @job in a child on a fresh allocator: a crash (ASan, a fault) fails it alone. */
static int run_one(struct ut_job *job)
{
	int status, c;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		unsigned long problems;
		bool skipped = false;

		if (ut_init())
			_exit(2);
		for (c = 0; c < 4; c++)
			ut_cpu_init(&cpus[c], c, c / 2);
		if (job->fn)
			job->fn();
		else if (kunit_run_case(job->suite, job->kcase, job->param,
					&skipped))
			t_failed = true;
		shim_fault_reset();
		shim_rcu_barrier();
		problems = ut_check();
		problems += ut_exit();
		fflush(NULL);
		if (t_failed || problems || shim_nr_warnings)
			_exit(1);
		_exit(skipped ? 3 : 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		printf("     (killed by signal %d)\n", WTERMSIG(status));
	job->skipped = WIFEXITED(status) && WEXITSTATUS(status) == 3;
	return !WIFEXITED(status) || (WEXITSTATUS(status) && !job->skipped);
}

/*
 * A case of a KUnit suite shared with ka_kunit.ko (kunit/ka_kunit.h):
 * one test, each of its parameters in its own child.
 */
static int run_kunit_case(struct kunit_suite *suite, struct kunit_case *c)
{
	struct ut_job job = { .suite = suite, .kcase = c };
	char desc[KUNIT_PARAM_DESC_SIZE];
	bool all_skipped = true;
	int failed = 0;

	if (!c->generate_params) {
		failed = run_one(&job);
		return failed ? 1 : job.skipped ? 2 : 0;
	}
	for (job.param = c->generate_params(NULL, desc); job.param;
	     job.param = c->generate_params(job.param, desc)) {
		if (run_one(&job)) {
			printf("     (%s: %s failed)\n", c->name, desc);
			failed = 1;
		}
		all_skipped &= job.skipped;
	}
	return failed ? 1 : all_skipped ? 2 : 0;
}

/* Counted: [0] passed, [1] failed, [2] skipped (not in "passed"). */
static void result(const char *what, const char *name, int res,
		   unsigned int *count)
{
	if (res == 1)
		printf("FAIL %s%s\n", what, name);
	else
		printf("ok   %s%s%s\n", what, name, res == 2 ? " # SKIP" : "");
	count[res < 0 ? 1 : res]++;
}

int main(int argc, char **argv)
{
	unsigned int i, count[3] = {};
	struct kunit_suite *suite;
	struct kunit_case *c;
	char what[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	shim_warn_fatal = false;
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		struct ut_job job = { .fn = tests[i].fn };

		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		result("", tests[i].name, run_one(&job), count);
	}
	for (i = 0; (suite = kunit_suite_at(i)); i++) {
		snprintf(what, sizeof(what), "kunit %s: ", suite->name);
		for (c = suite->test_cases; c->run_case; c++) {
			if (argc > 1 && !strstr(what, argv[1]) &&
			    !strstr(c->name, argv[1]))
				continue;
			result(what, c->name, run_kunit_case(suite, c), count);
		}
	}
	if (count[2])
		printf("%u skipped\n", count[2]);
	printf("%u passed, %u failed\n", count[0], count[1]);
	return count[1] ? 1 : 0;
}
