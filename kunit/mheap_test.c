// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_mheap (mod/ka/mheap.c): first fit, splitting and
 * coalescing of runs, big runs, page allocation failures, packing into
 * the fullest chunk, releasing free pages and the scavenger.  The
 * background scavenger is paused while the suite runs.
 *
 * Shared with utest (utest/utest.mk), which builds it against its shim:
 * the scavenger case, which waits for the background work, is kernel only
 * and the fault injection case needs CONFIG_FAULT_INJECTION (skipped).
 */
#include "ka_kunit.h"
#ifdef __KERNEL__
#include <linux/delay.h>
#endif

static void ka_heap_split_and_coalesce(struct kunit *test)
{
	int node = numa_mem_id();
	struct ka_span *a, *b, *c, *d;
	struct ka_heap_stats h0, h;

	ka_heap_stats_read(node, &h0);
	KUNIT_EXPECT_EQ(test, h0.pages_used, 0UL);
	KUNIT_EXPECT_EQ(test, h0.pages_held, 0UL);

	a = ka_span_new_large(3 * PAGE_SIZE, node, GFP_KERNEL);
	b = ka_span_new_large(5 * PAGE_SIZE, node, GFP_KERNEL);
	c = ka_span_new_large(2 * PAGE_SIZE, node, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, c);
	ka_heap_stats_read(node, &h);
	KUNIT_EXPECT_EQ(test, h.nr_chunks, 1UL);
	KUNIT_EXPECT_EQ(test, h.pages_used, 10UL);
	/* first fit carves consecutive runs from the fresh chunk */
	KUNIT_EXPECT_PTR_EQ(test, b->base, a->base + 3 * PAGE_SIZE);
	KUNIT_EXPECT_PTR_EQ(test, c->base, b->base + 5 * PAGE_SIZE);

	/* free a and b: their runs coalesce into one of 8 pages */
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(b));
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(a));
	d = ka_span_new_large(8 * PAGE_SIZE, node, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	KUNIT_EXPECT_PTR_EQ(test, d->base, c->base - 8 * PAGE_SIZE);
	ka_heap_stats_read(node, &h);
	KUNIT_EXPECT_EQ(test, h.nr_chunks, 1UL);

	KUNIT_EXPECT_TRUE(test, ka_span_destroy(c));
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(d));
	/* the empty chunk is kept as the reserve, then released on demand */
	ka_heap_stats_read(node, &h);
	KUNIT_EXPECT_EQ(test, h.pages_used, 0UL);
	KUNIT_EXPECT_EQ(test, h.nr_free_chunks,
			(unsigned long)KA_HEAP_FREE_CHUNK_RESERVE);
	KUNIT_EXPECT_EQ(test, ka_heap_release(ka_heap_of(node), 0),
			h.pages_held);
	ka_heap_stats_read(node, &h);
	KUNIT_EXPECT_EQ(test, h.pages_held, 0UL);
	KUNIT_EXPECT_EQ(test, h.chunks_freed - h0.chunks_freed, 1UL);
}

static void ka_heap_big_runs(struct kunit *test)
{
	static const unsigned long sizes[] = {
		KA_MAX_SMALL_SIZE + 1, 256 << 10, 2 << 20, KA_MAX_SIZE,
	};
	int node = numa_mem_id();
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct ka_span *s = ka_span_new_large(sizes[i], node, GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, s);
		KUNIT_EXPECT_EQ(test, s->npages,
				(unsigned int)DIV_ROUND_UP(sizes[i], PAGE_SIZE));
		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(s->base));
		KUNIT_EXPECT_TRUE(test, ka_span_destroy(s));
	}
	ka_heap_release(ka_heap_of(node), 0);
}

static void ka_heap_alloc_failure(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	int node = numa_mem_id();
	struct ka_heap_stats h0, h;
	struct ka_span *s;

	/* numa_mem_id() must stay @node: on RT the task could move otherwise */
	migrate_disable();
	node = numa_mem_id();
	ka_heap_stats_read(node, &h0);
	ka_fail_page.probability = 100;
	ka_fail_page.interval = 1;
	ka_fail_page.verbose = 0;
	atomic_set(&ka_fail_page.times, -1);
	s = ka_span_new_large(64 << 10, node, GFP_KERNEL);
	KUNIT_EXPECT_NULL(test, ka_alloc(100, GFP_KERNEL));
	ka_fail_page.probability = 0;
	atomic_set(&ka_fail_page.times, 1);
	KUNIT_EXPECT_NULL(test, s);
	ka_heap_stats_read(node, &h);
	KUNIT_EXPECT_GE(test, h.alloc_failed - h0.alloc_failed, 2UL);
	KUNIT_EXPECT_EQ(test, h.pages_held, h0.pages_held);
	migrate_enable();
	/* and ka works again once pages can be had */
	s = ka_span_new_large(64 << 10, node, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s));
#else
	kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
#endif
}

/*
 * Large spans of @pages[i] pages on @node, in one 2 MiB chunk each where
 * the caller expects it; false (and the test skipped) if the buddy
 * allocator gave smaller chunks.
 */
static bool ka_test_runs(struct kunit *test, struct ka_span **s,
			 const unsigned int *pages, unsigned int n, int node)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		s[i] = ka_span_new_large((size_t)pages[i] * PAGE_SIZE, node,
					 GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, s[i]);
		if (s[i]->chunk->npages != 1U << KA_CHUNK_ORDER) {
			while (i + 1)
				ka_span_destroy(s[i--]);
			kunit_skip(test, "buddy allocator too fragmented for 2 MiB chunks");
			return false;
		}
	}
	return true;
}

/* Spans go to the chunk with the most pages in runs that has room. */
static void ka_heap_packs_fullest(struct kunit *test)
{
	static const unsigned int pages[] = { 400, 300, 100 };
	int node = numa_mem_id();
	struct ka_span *s[3];
	unsigned int i;

	if (!ka_test_runs(test, s, pages, 3, node))
		return;
	KUNIT_EXPECT_PTR_NE(test, s[0]->chunk, s[1]->chunk);
	/* both have room; the list has the newer chunk first */
	KUNIT_EXPECT_PTR_EQ(test, s[2]->chunk, s[0]->chunk);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[i]));
	ka_heap_release(ka_heap_of(node), 0);
}

/*
 * A release with keep 0 returns exactly the free pages of a partly used
 * chunk; pages_held drops by that; a new run never lands on a hole; the
 * chunk goes back once only holes and free pages are left.
 */
static void ka_heap_release_free_pages(struct kunit *test)
{
	static const unsigned int pages[] = { 100, 100, 100 };
	struct ka_heap *heap = ka_heap_of(numa_mem_id());
	int node = heap->node;
	struct ka_chunk *chunk;
	struct ka_span *s[3], *d;
	struct ka_heap_stats *h0, *h;
	unsigned long got, i, first;

	/* two heap copies: too big for the stack on PREEMPT_RT */
	h0 = kunit_kcalloc(test, 2, sizeof(*h0), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h0);
	h = h0 + 1;
	if (!ka_test_runs(test, s, pages, 3, node))
		return;
	chunk = s[0]->chunk;
	KUNIT_ASSERT_PTR_EQ(test, s[2]->chunk, chunk);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[1]));
	ka_heap_stats_read(node, h0);
	KUNIT_EXPECT_EQ(test, h0->pages_held, 512UL);
	got = ka_heap_release(heap, 0);
	KUNIT_EXPECT_EQ(test, got, 312UL);
	ka_heap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h->pages_held, h0->pages_held - got);
	KUNIT_EXPECT_EQ(test, h->pages_holes, got);
	KUNIT_EXPECT_EQ(test, h->pages_released - h0->pages_released, got);
	KUNIT_EXPECT_EQ(test, chunk->nreleased, 312U);
	KUNIT_EXPECT_EQ(test, chunk->nfree, 0U);
	KUNIT_EXPECT_EQ(test, ka_heap_release(heap, 0), 0UL);

	d = ka_span_new_large(100 * PAGE_SIZE, node, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	if (d->chunk == chunk) {
		first = (d->base - chunk->base) >> PAGE_SHIFT;
		for (i = 0; i < d->npages; i++)
			KUNIT_EXPECT_FALSE(test, test_bit(first + i,
							  chunk->released));
	}
	KUNIT_EXPECT_PTR_NE(test, d->chunk, chunk);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[0]));
	ka_heap_stats_read(node, h0);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[2]));
	/* only holes and free pages: the chunk is gone at once */
	ka_heap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h0->nr_chunks - h->nr_chunks, 1UL);
	KUNIT_EXPECT_EQ(test, h->chunks_freed - h0->chunks_freed, 1UL);
	KUNIT_EXPECT_EQ(test, h->pages_holes, 0UL);
	KUNIT_EXPECT_EQ(test, h0->pages_held - h->pages_held, 200UL);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(d));
	ka_heap_release(heap, 0);
	ka_heap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h->pages_held, 0UL);
}

#ifdef __KERNEL__
/*
 * The scavenger: a pass releases down to the goal, at most what it is
 * allowed, from the chunk with the fewest pages in runs; the background
 * work, once restarted, returns a whole empty chunk the excess covers.
 */
static void ka_heap_scavenger(struct kunit *test)
{
	static const unsigned int pages[] = { 400, 400, 200 };
	struct ka_heap *heap = ka_heap_of(numa_mem_id());
	int node = heap->node;
	struct ka_span *s[3];
	struct ka_heap_stats *h0, *h;
	unsigned int i;

	/* two heap copies: too big for the stack on PREEMPT_RT */
	h0 = kunit_kcalloc(test, 2, sizeof(*h0), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h0);
	h = h0 + 1;
	if (!ka_test_runs(test, s, pages, 3, node))
		return;
	ka_heap_stats_read(node, h0);
	KUNIT_EXPECT_EQ(test, h0->nr_chunks, 3UL);
	KUNIT_EXPECT_EQ(test, ka_heap_scavenge_goal(heap), KA_SCAV_FLOOR_PAGES);
	KUNIT_EXPECT_EQ(test, h0->pages_held - h0->pages_used,
			KA_SCAV_FLOOR_PAGES + 24);
	KUNIT_EXPECT_EQ(test, ka_heap_scavenge(heap, 10), 10UL);
	KUNIT_EXPECT_EQ(test, ka_heap_scavenge(heap, ULONG_MAX), 14UL);
	KUNIT_EXPECT_EQ(test, ka_heap_scavenge(heap, ULONG_MAX), 0UL);
	KUNIT_EXPECT_EQ(test, s[2]->chunk->nreleased, 24U);
	KUNIT_EXPECT_EQ(test, s[0]->chunk->nreleased, 0U);
	KUNIT_EXPECT_EQ(test, s[1]->chunk->nreleased, 0U);
	ka_heap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h->scav_pages - h0->scav_pages, 24UL);
	KUNIT_EXPECT_EQ(test, h0->pages_held - h->pages_held, 24UL);

	/* an empty chunk over the goal: the background pass frees it */
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[1]));
	ka_heap_stats_read(node, h0);
	KUNIT_EXPECT_EQ(test, h0->nr_free_chunks, 1UL);
	ka_scav_pause(false);
	for (i = 0; i < 50; i++) {
		msleep(100);
		ka_heap_stats_read(node, h);
		if (h->scav_pages != h0->scav_pages)
			break;
	}
	ka_scav_pause(true);
	KUNIT_EXPECT_EQ(test, h->scav_pages - h0->scav_pages, 512UL);
	KUNIT_EXPECT_EQ(test, h->nr_free_chunks, 0UL);
	KUNIT_EXPECT_EQ(test, h->chunks_freed - h0->chunks_freed, 1UL);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[0]));
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[2]));
	ka_heap_release(heap, 0);
	ka_heap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h->pages_held, 0UL);
	KUNIT_EXPECT_EQ(test, h->pages_holes, 0UL);
}

#endif

/* No background scavenger pass behind these cases' counters. */
static int ka_mheap_test_init(struct kunit *test)
{
	ka_scav_pause(true);
	return ka_kunit_init(test);
}

static void ka_mheap_test_exit(struct kunit *test)
{
	ka_kunit_exit(test);
	ka_scav_pause(false);
}

static struct kunit_case ka_mheap_cases[] = {
	KUNIT_CASE(ka_heap_split_and_coalesce),
	KUNIT_CASE(ka_heap_big_runs),
	KUNIT_CASE(ka_heap_alloc_failure),
	KUNIT_CASE(ka_heap_packs_fullest),
	KUNIT_CASE(ka_heap_release_free_pages),
#ifdef __KERNEL__
	KUNIT_CASE(ka_heap_scavenger),
#endif
	{}
};

KA_KUNIT_SUITE_WITH(ka_mheap, ka_mheap_test_init, ka_mheap_test_exit);
