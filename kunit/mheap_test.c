// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_mheap (mod/ka/mheap.c): first fit, splitting and
 * coalescing of runs, large objects' blocks of their own, page allocation
 * failures, packing into the fullest chunk, releasing free pages and the
 * scavenger.  The background scavenger is paused while the suite runs
 * (and ka_scav_kick() then asks for no pass).
 *
 * Shared with utest (utest/utest.mk), which builds it against its shim:
 * the scavenger case, which waits for the background work, is kernel only
 * and the fault injection case needs CONFIG_FAULT_INJECTION (skipped).
 */
#include "ka_kunit.h"
#ifdef __KERNEL__
#include <linux/delay.h>
#endif

/*
 * A span of @pages pages from a chunk: the 64-byte class for one page, a
 * page class (8 to 32 KiB, one object) for 2 to 8.
 */
static struct ka_span *ka_test_run(unsigned int pages, int node)
{
	return ka_span_new(ka_test_class_sized(pages > 1 ? pages * PAGE_SIZE : 64),
			   node, GFP_KERNEL);
}

/*
 * @n spans of @pages pages each, every one in a chunk of KA_CHUNK_ORDER;
 * false (and the test skipped) if the buddy allocator gave smaller chunks.
 */
static bool ka_test_runs(struct kunit *test, struct ka_span **s,
			 unsigned int pages, unsigned int n, int node)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		s[i] = ka_test_run(pages, node);
		KUNIT_ASSERT_NOT_NULL(test, s[i]);
		KUNIT_ASSERT_EQ(test, s[i]->npages, pages);
		if (s[i]->chunk->order != KA_CHUNK_ORDER) {
			while (i + 1)
				ka_span_destroy(s[i--]);
			kunit_skip(test, "buddy allocator too fragmented for whole chunks");
			return false;
		}
	}
	return true;
}

static void ka_test_destroy(struct kunit *test, struct ka_span **s,
			    unsigned int n)
{
	while (n--)
		KUNIT_EXPECT_TRUE(test, ka_span_destroy(*s++));
}

#define KA_TEST_CHUNK	(1U << KA_CHUNK_ORDER)

/*
 * First fit from a fresh chunk, freed runs coalesce; a chunk whose last
 * run goes stays whole until the scavenger or a release gives it back.
 */
static void ka_mheap_split_and_coalesce(struct kunit *test)
{
	int node = numa_mem_id();
	struct ka_span *s[3], *d;
	struct ka_mheap_stats h0, h;
	void *base;

	ka_mheap_stats_read(node, &h0);
	KUNIT_EXPECT_EQ(test, h0.pages_used, 0UL);
	KUNIT_EXPECT_EQ(test, h0.pages_held, 0UL);

	if (!ka_test_runs(test, s, 3, 1, node) ||
	    !ka_test_runs(test, s + 1, 5, 1, node) ||
	    !ka_test_runs(test, s + 2, 2, 1, node))
		return;
	ka_mheap_stats_read(node, &h);
	KUNIT_EXPECT_EQ(test, h.nr_chunks, 1UL);
	KUNIT_EXPECT_EQ(test, h.pages_used, 10UL);
	/* first fit carves consecutive runs from the fresh chunk */
	base = s[0]->base;
	KUNIT_EXPECT_PTR_EQ(test, s[1]->base, base + 3 * PAGE_SIZE);
	KUNIT_EXPECT_PTR_EQ(test, s[2]->base, base + 8 * PAGE_SIZE);

	/* free the first two: their runs coalesce into one of 8 pages */
	ka_test_destroy(test, s, 2);
	d = ka_test_run(8, node);
	KUNIT_ASSERT_NOT_NULL(test, d);
	KUNIT_EXPECT_PTR_EQ(test, d->base, base);
	ka_mheap_stats_read(node, &h);
	KUNIT_EXPECT_EQ(test, h.nr_chunks, 1UL);

	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[2]));
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(d));
	ka_mheap_stats_read(node, &h);
	KUNIT_EXPECT_EQ(test, h.pages_used, 0UL);
	KUNIT_EXPECT_EQ(test, h.nr_free_chunks, 1UL);
	KUNIT_EXPECT_EQ(test, h.pages_released, h0.pages_released);
	KUNIT_EXPECT_EQ(test, ka_mheap_release(ka_mheap_of(node), 0),
			(unsigned long)KA_TEST_CHUNK);
	ka_mheap_stats_read(node, &h);
	KUNIT_EXPECT_EQ(test, h.pages_held, 0UL);
	KUNIT_EXPECT_EQ(test, h.chunks_freed - h0.chunks_freed, 1UL);
}

/* A large object is a block of its own, exactly its pages held. */
static void ka_mheap_big_runs(struct kunit *test)
{
	static const unsigned long sizes[] = {
		KA_MAX_SMALL_SIZE + 1, 256 << 10, 2 << 20, KA_MAX_SIZE,
		100 * PAGE_SIZE - 1,
	};
	int node = numa_mem_id();
	struct ka_mheap_stats h0, h;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct ka_span *s;

		ka_mheap_stats_read(node, &h0);
		s = ka_span_new_large(sizes[i], node, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, s);
		KUNIT_EXPECT_EQ(test, s->npages,
				(unsigned int)DIV_ROUND_UP(sizes[i], PAGE_SIZE));
		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(s->base));
		KUNIT_EXPECT_TRUE(test, s->chunk->direct);
		KUNIT_EXPECT_EQ(test, s->chunk->nreleased,
				(1U << s->chunk->order) - s->npages);
		ka_mheap_stats_read(node, &h);
		KUNIT_EXPECT_EQ(test, h.pages_held - h0.pages_held,
				(unsigned long)s->npages);
		KUNIT_EXPECT_TRUE(test, ka_span_destroy(s));
		ka_mheap_stats_read(node, &h);
		KUNIT_EXPECT_EQ(test, h.pages_held, h0.pages_held);
		KUNIT_EXPECT_EQ(test, h.nr_chunks, h0.nr_chunks);
	}
	ka_mheap_release(ka_mheap_of(node), 0);
}

static void ka_mheap_alloc_failure(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	int node = numa_mem_id();
	struct ka_mheap_stats h0, h;
	struct ka_span *s;

	/* numa_mem_id() must stay @node: on RT the task could move otherwise */
	migrate_disable();
	node = numa_mem_id();
	ka_mheap_stats_read(node, &h0);
	ka_fail_page.probability = 100;
	ka_fail_page.interval = 1;
	ka_fail_page.verbose = 0;
	atomic_set(&ka_fail_page.times, -1);
	s = ka_span_new_large(64 << 10, node, GFP_KERNEL);
	KUNIT_EXPECT_NULL(test, ka_alloc(100, GFP_KERNEL));
	ka_fail_page.probability = 0;
	atomic_set(&ka_fail_page.times, 1);
	KUNIT_EXPECT_NULL(test, s);
	ka_mheap_stats_read(node, &h);
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

/* Spans go to the chunk with the most pages in runs that has room. */
static void ka_mheap_packs_fullest(struct kunit *test)
{
	int node = numa_mem_id();
	unsigned int full = KA_TEST_CHUNK / 8;
	struct ka_span **a, *b[2], *c;

	a = kunit_kcalloc(test, full, sizeof(*a), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	if (!ka_test_runs(test, a, 8, full, node))
		return;
	if (!ka_test_runs(test, b, 8, 2, node)) {
		ka_test_destroy(test, a, full);
		return;
	}
	KUNIT_EXPECT_PTR_EQ(test, a[0]->chunk, a[full - 1]->chunk);
	KUNIT_EXPECT_PTR_NE(test, b[0]->chunk, a[0]->chunk);
	/* both have room; the list has a's chunk first, b's the newer */
	ka_test_destroy(test, a, 2);
	if (!ka_test_runs(test, &c, 8, 1, node))
		return;
	KUNIT_EXPECT_PTR_EQ(test, c->chunk, a[full - 1]->chunk);
	ka_test_destroy(test, a + 2, full - 2);
	ka_test_destroy(test, b, 2);
	ka_test_destroy(test, &c, 1);
	ka_mheap_release(ka_mheap_of(node), 0);
}

/*
 * A release with keep 0 returns exactly the free pages of a partly used
 * chunk (a freed run far over the goal only asks for a scavenger pass);
 * pages_held drops by that; a new run never lands on a hole; the chunk
 * goes back once only holes and free pages are left.
 */
static void ka_mheap_release_free_pages(struct kunit *test)
{
	struct ka_mheap *heap = ka_mheap_of(numa_mem_id());
	int node = heap->node;
	struct ka_chunk *chunk;
	struct ka_span *s[3], *d;
	struct ka_mheap_stats *h0, *h;
	unsigned long got, i, first;

	/* two heap copies: too big for the stack on PREEMPT_RT */
	h0 = kunit_kcalloc(test, 2, sizeof(*h0), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h0);
	h = h0 + 1;
	if (!ka_test_runs(test, s, 8, 3, node))
		return;
	chunk = s[0]->chunk;
	KUNIT_ASSERT_PTR_EQ(test, s[2]->chunk, chunk);
	ka_mheap_stats_read(node, h0);
	KUNIT_EXPECT_EQ(test, h0->pages_held, (unsigned long)KA_TEST_CHUNK);
	/* 16 in use, 112 free: over 2 x 16 + 64, but nothing goes back yet */
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[1]));
	ka_mheap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h->pages_released, h0->pages_released);
	KUNIT_EXPECT_EQ(test, chunk->nreleased, 0U);
	got = ka_mheap_release(heap, 0);
	KUNIT_EXPECT_EQ(test, got, KA_TEST_CHUNK - 16UL);
	ka_mheap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h->pages_held, 16UL);
	KUNIT_EXPECT_EQ(test, h->pages_holes, KA_TEST_CHUNK - 16UL);
	KUNIT_EXPECT_EQ(test, h->pages_released - h0->pages_released,
			KA_TEST_CHUNK - 16UL);
	KUNIT_EXPECT_EQ(test, chunk->nreleased, KA_TEST_CHUNK - 16U);
	KUNIT_EXPECT_EQ(test, chunk->nfree, 0U);
	KUNIT_EXPECT_EQ(test, ka_mheap_release(heap, 0), 0UL);

	d = ka_test_run(8, node);
	KUNIT_ASSERT_NOT_NULL(test, d);
	if (d->chunk == chunk) {
		first = (d->base - chunk->base) >> PAGE_SHIFT;
		for (i = 0; i < d->npages; i++)
			KUNIT_EXPECT_FALSE(test, test_bit(first + i,
							  chunk->released));
	}
	KUNIT_EXPECT_PTR_NE(test, d->chunk, chunk);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[0]));
	ka_mheap_stats_read(node, h0);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(s[2]));
	/* only holes and free pages: the chunk is gone at once */
	ka_mheap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h0->nr_chunks - h->nr_chunks, 1UL);
	KUNIT_EXPECT_EQ(test, h->chunks_freed - h0->chunks_freed, 1UL);
	KUNIT_EXPECT_EQ(test, h->pages_holes, 0UL);
	KUNIT_EXPECT_EQ(test, h0->pages_held - h->pages_held, 16UL);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(d));
	ka_mheap_release(heap, 0);
	ka_mheap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h->pages_held, 0UL);
}

#ifdef __KERNEL__
/*
 * The scavenger: an empty chunk within the prompt release's bound stays
 * (the reserve) until the background work, once restarted, returns it
 * whole (the excess covers it); a pass releases free pages of a chunk
 * down to the goal, at most what it is allowed.
 */
static void ka_mheap_scavenger(struct kunit *test)
{
	struct ka_mheap *heap = ka_mheap_of(numa_mem_id());
	unsigned int per = KA_TEST_CHUNK / 8, n = 5 * per, i;
	int node = heap->node;
	struct ka_mheap_stats *h0, *h;
	struct ka_chunk *first;
	struct ka_span **s;

	/* two heap copies: too big for the stack on PREEMPT_RT */
	h0 = kunit_kcalloc(test, 2, sizeof(*h0), GFP_KERNEL);
	s = kunit_kcalloc(test, n, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h0);
	KUNIT_ASSERT_NOT_NULL(test, s);
	h = h0 + 1;
	if (!ka_test_runs(test, s, 8, n, node))
		return;
	first = s[0]->chunk;
	/* five full chunks; the last emptied: 512 in use, 128 free */
	ka_test_destroy(test, s + n - per, per);
	ka_mheap_stats_read(node, h0);
	KUNIT_EXPECT_EQ(test, h0->nr_chunks, 5UL);
	KUNIT_EXPECT_EQ(test, h0->nr_free_chunks, 1UL);
	KUNIT_EXPECT_EQ(test, ka_mheap_scavenge_goal(heap),
			max(4UL * KA_TEST_CHUNK / KA_SCAV_RETAIN_DIV,
			    KA_SCAV_FLOOR_PAGES));
	/* a pass of 10 pages does not split a whole free chunk */
	KUNIT_EXPECT_EQ(test, ka_mheap_scavenge(heap, 10), 0UL);

	/* the background pass: the empty chunk goes back whole */
	ka_scav_pause(false);
	for (i = 0; i < 50; i++) {
		msleep(100);
		ka_mheap_stats_read(node, h);
		if (h->scav_pages != h0->scav_pages)
			break;
	}
	ka_scav_pause(true);
	KUNIT_EXPECT_EQ(test, h->scav_pages - h0->scav_pages,
			(unsigned long)KA_TEST_CHUNK);
	KUNIT_EXPECT_EQ(test, h->nr_free_chunks, 0UL);
	KUNIT_EXPECT_EQ(test, h->chunks_freed - h0->chunks_freed, 1UL);

	/* 6 runs of the first chunk: 48 free for 464 in use, goal 16 */
	ka_test_destroy(test, s, 6);
	ka_mheap_stats_read(node, h0);
	KUNIT_EXPECT_EQ(test, h0->pages_held - h0->pages_used, 48UL);
	KUNIT_EXPECT_EQ(test, ka_mheap_scavenge(heap, 10), 10UL);
	KUNIT_EXPECT_EQ(test, ka_mheap_scavenge(heap, ULONG_MAX),
			48UL - 10 - ka_mheap_scavenge_goal(heap));
	KUNIT_EXPECT_EQ(test, ka_mheap_scavenge(heap, ULONG_MAX), 0UL);
	KUNIT_EXPECT_EQ(test, first->nreleased,
			48U - (unsigned int)ka_mheap_scavenge_goal(heap));
	ka_mheap_stats_read(node, h);
	KUNIT_EXPECT_EQ(test, h0->pages_held - h->pages_held,
			48UL - ka_mheap_scavenge_goal(heap));
	ka_test_destroy(test, s + 6, n - per - 6);
	ka_mheap_release(heap, 0);
	ka_mheap_stats_read(node, h);
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
	KUNIT_CASE(ka_mheap_split_and_coalesce),
	KUNIT_CASE(ka_mheap_big_runs),
	KUNIT_CASE(ka_mheap_alloc_failure),
	KUNIT_CASE(ka_mheap_packs_fullest),
	KUNIT_CASE(ka_mheap_release_free_pages),
#ifdef __KERNEL__
	KUNIT_CASE(ka_mheap_scavenger),
#endif
	{}
};

KA_KUNIT_SUITE_WITH(ka_mheap, ka_mheap_test_init, ka_mheap_test_exit);
