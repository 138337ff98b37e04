// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_mcentral (mod/ka/mcentral.c): spans moving between
 * the full/partial/empty lists, the reserve of empty spans and the one by
 * demand, one lock acquisition per batch, a double put refused.  Calls
 * mcentral's entry points directly; they take the central lock themselves.
 */
#include "mcache.h"
#include "ka_kunit.h"

static void ka_mcentral_list_moves(struct kunit *test)
{
	unsigned int cls = ka_size_class(KA_MAX_SMALL_SIZE); /* 1 object/span */
	unsigned int reserve = ka_classes[cls].reserve;
	int node = numa_mem_id();
	struct ka_mcentral *c = ka_mcentral_of(node, cls);
	struct ka_class_stats before, st;
	void *objs[4];

	/* four spans, so that some go back beyond the reserve */
	KUNIT_ASSERT_LT(test, reserve, 4U);
	ka_class_stats_read(node, cls, &before);
	KUNIT_EXPECT_EQ(test, before.spans, 0UL);

	KUNIT_ASSERT_EQ(test, ka_mcentral_refill(c, objs, 4, GFP_KERNEL), 4U);
	ka_class_stats_read(node, cls, &st);
	KUNIT_EXPECT_EQ(test, st.full, 4UL);
	KUNIT_EXPECT_EQ(test, st.partial, 0UL);
	KUNIT_EXPECT_EQ(test, st.objs_out, 4UL);
	KUNIT_EXPECT_EQ(test, st.spans_from_heap - before.spans_from_heap, 4UL);

	/* first one back: its span is empty and kept as the reserve */
	ka_mcentral_flush(objs, 1);
	ka_class_stats_read(node, cls, &st);
	KUNIT_EXPECT_EQ(test, st.full, 3UL);
	KUNIT_EXPECT_EQ(test, st.partial, 1UL);
	KUNIT_EXPECT_EQ(test, st.empty, 1UL);
	/* beyond the reserve, empty spans go back to the heap */
	ka_mcentral_flush(objs + 1, 3);
	ka_class_stats_read(node, cls, &st);
	KUNIT_EXPECT_EQ(test, st.full, 0UL);
	KUNIT_EXPECT_EQ(test, st.empty, (unsigned long)reserve);
	KUNIT_EXPECT_EQ(test, st.spans_to_heap - before.spans_to_heap,
			4UL - reserve);
	KUNIT_EXPECT_EQ(test, ka_mcentral_release(c, 0),
			(unsigned long)reserve * ka_classes[cls].npages);
	ka_class_stats_read(node, cls, &st);
	KUNIT_EXPECT_EQ(test, st.spans, 0UL);
}

/*
 * The reserve by demand: spans given back and built again within a trim
 * pass are kept from then on; a pass that finds them unused gives them
 * back; the shrinker's release drops them all.
 */
static void ka_mcentral_hold_by_demand(struct kunit *test)
{
	unsigned int cls = ka_size_class(16384);	/* 1 object/span */
	const struct ka_class *k = &ka_classes[cls];
	unsigned int extra = 8, n = k->reserve + extra;
	int node = numa_mem_id();
	struct ka_mcentral *c = ka_mcentral_of(node, cls);
	struct ka_class_stats st, a, b;
	void **objs;

	KUNIT_ASSERT_EQ(test, k->nelems, 1U);
	KUNIT_ASSERT_LE(test, (unsigned long)(n + 1) * k->npages * PAGE_SIZE,
			(unsigned long)KA_MCENTRAL_HOLD_BYTES);
	objs = kunit_kcalloc(test, n, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	/* no trim pass in the middle of the case */
	ka_mcache_trim_pause(true);
	ka_class_stats_read(node, cls, &st);
	KUNIT_EXPECT_EQ(test, st.spans, 0UL);

	/* first cycle: beyond the reserve, the spans go back to the heap */
	KUNIT_ASSERT_EQ(test, ka_mcentral_refill(c, objs, n, GFP_KERNEL), n);
	ka_mcentral_flush(objs, n);
	ka_class_stats_read(node, cls, &a);
	KUNIT_EXPECT_EQ(test, a.empty, (unsigned long)k->reserve);
	KUNIT_EXPECT_EQ(test, a.keep, (unsigned long)k->reserve);
	KUNIT_EXPECT_EQ(test, a.spans_to_heap - st.spans_to_heap,
			(unsigned long)extra);

	/* second: built again within the pass, so kept from now on */
	KUNIT_ASSERT_EQ(test, ka_mcentral_refill(c, objs, n, GFP_KERNEL), n);
	ka_mcentral_flush(objs, n);
	ka_class_stats_read(node, cls, &b);
	KUNIT_EXPECT_EQ(test, b.spans_from_heap - a.spans_from_heap,
			(unsigned long)extra);
	KUNIT_EXPECT_EQ(test, b.spans_to_heap, a.spans_to_heap);
	KUNIT_EXPECT_EQ(test, b.keep, (unsigned long)n);
	KUNIT_EXPECT_EQ(test, b.empty, (unsigned long)n);

	/* third: no span built or destroyed */
	KUNIT_ASSERT_EQ(test, ka_mcentral_refill(c, objs, n, GFP_KERNEL), n);
	ka_mcentral_flush(objs, n);
	ka_class_stats_read(node, cls, &a);
	KUNIT_EXPECT_EQ(test, a.spans_from_heap, b.spans_from_heap);
	KUNIT_EXPECT_EQ(test, a.spans_to_heap, b.spans_to_heap);

	/* a pass after a use down to the bottom halves them ... */
	KUNIT_EXPECT_EQ(test, ka_mcentral_decay(c),
			(unsigned long)extra / 2 * k->npages);
	KUNIT_EXPECT_EQ(test, ka_mcentral_keep(c), (unsigned long)n - extra / 2);
	/* ... the next, with none of them used since, gives them back */
	KUNIT_EXPECT_EQ(test, ka_mcentral_decay(c),
			(unsigned long)extra / 2 * k->npages);
	ka_class_stats_read(node, cls, &a);
	KUNIT_EXPECT_EQ(test, a.keep, (unsigned long)k->reserve);
	KUNIT_EXPECT_EQ(test, a.empty, (unsigned long)k->reserve);

	/* used again, then the shrinker's release: nothing kept */
	KUNIT_ASSERT_EQ(test, ka_mcentral_refill(c, objs, n, GFP_KERNEL), n);
	ka_mcentral_flush(objs, n);
	KUNIT_ASSERT_EQ(test, ka_mcentral_refill(c, objs, n, GFP_KERNEL), n);
	ka_mcentral_flush(objs, n);
	KUNIT_EXPECT_EQ(test, ka_mcentral_keep(c), (unsigned long)n);
	KUNIT_EXPECT_EQ(test, ka_mcentral_release(c, 0),
			(unsigned long)n * k->npages);
	ka_class_stats_read(node, cls, &a);
	KUNIT_EXPECT_EQ(test, a.spans, 0UL);
	KUNIT_EXPECT_EQ(test, a.keep, (unsigned long)k->reserve);
	ka_mcache_trim_pause(false);
}

static void ka_mcentral_batch_one_lock(struct kunit *test)
{
	unsigned int cls = 1, n;
	int node = numa_mem_id();
	struct ka_mcentral *c;
	struct ka_class_stats a, b;
	void **objs;

	/* the 64-byte class itself, a batch to a span (not KASAN's slot) */
	while (ka_classes[cls].size < 64)
		cls++;
	c = ka_mcentral_of(node, cls);
	n = ka_classes[cls].batch;

	objs = kunit_kcalloc(test, n, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	/* make sure a span with room exists, so no allocation is needed */
	KUNIT_ASSERT_EQ(test, ka_mcentral_refill(c, objs, 1, GFP_KERNEL), 1U);
	ka_mcentral_flush(objs, 1);
	ka_class_stats_read(node, cls, &a);
	KUNIT_ASSERT_EQ(test, ka_mcentral_refill(c, objs, n, GFP_KERNEL), n);
	ka_class_stats_read(node, cls, &b);
	/* one refill of a whole batch: one lock acquisition */
	KUNIT_EXPECT_EQ(test, b.lock_acquisitions - a.lock_acquisitions, 1UL);
	ka_mcentral_flush(objs, n);
	ka_class_stats_read(node, cls, &a);
	KUNIT_EXPECT_EQ(test, a.lock_acquisitions - b.lock_acquisitions, 1UL);
	KUNIT_EXPECT_EQ(test, a.objs_out, b.objs_out - n);
}

static void ka_mcentral_double_put_refused(struct kunit *test)
{
	unsigned int cls = ka_size_class(128);
	struct ka_mcentral *c = ka_mcentral_of(numa_mem_id(), cls);
	struct ka_counters a, b;
	void *objs[2];

	KUNIT_ASSERT_EQ(test, ka_mcentral_refill(c, objs, 1, GFP_KERNEL), 1U);
	objs[1] = objs[0];
	ka_counters_read(&a);
	ka_mcentral_flush(objs, 2);
	ka_counters_read(&b);
	KUNIT_EXPECT_EQ(test, b.refused - a.refused, 1UL);
}

static struct kunit_case ka_mcentral_cases[] = {
	KUNIT_CASE(ka_mcentral_list_moves),
	KUNIT_CASE(ka_mcentral_hold_by_demand),
	KUNIT_CASE(ka_mcentral_batch_one_lock),
	KUNIT_CASE(ka_mcentral_double_put_refused),
	{}
};

KA_KUNIT_SUITE(ka_mcentral);
