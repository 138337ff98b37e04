// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for ka: one per layer (size classes, spans, arena map,
 * mcentral, mheap, per-CPU caches) and the public API, including
 * concurrency (all-CPU kthreads with cross-CPU frees, GFP_ATOMIC from a
 * hard-irq hrtimer) and the "gives every page back" check.
 *
 * The suites reach ka's internals through the KA_INTERNAL symbol
 * namespace.  They expect to be the only ka user while they run.
 */
#include <kunit/test.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/hash.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "ka_debug.h"
#include "mcache.h"

KA_IMPORT_INTERNAL();

static unsigned long ka_test_pages_held(void)
{
	unsigned long pages = 0;
	struct ka_heap_stats h;
	int nid;

	for_each_node_state(nid, N_MEMORY) {
		ka_heap_stats_read(nid, &h);
		pages += h.pages_held;
	}
	return pages;
}

static unsigned long ka_test_objs_out(void)
{
	struct ka_class_stats st;
	unsigned long out = 0;
	unsigned int cls;
	int nid;

	for_each_node_state(nid, N_MEMORY)
		for (cls = 1; cls < ka_nr_classes; cls++) {
			ka_class_stats_read(nid, cls, &st);
			out += st.objs_out;
		}
	return out;
}

/*
 * What ka_size() reports: the whole slot normally, the bytes requested in
 * debug mode (where the rest of the slot is a redzone).
 */
static size_t ka_test_usable(size_t req, size_t slot)
{
	return ka_debug_on() ? req : slot;
}

static void ka_test_fill(u8 *p, size_t size, u8 seed)
{
	size_t i;

	for (i = 0; i < size; i++)
		p[i] = (u8)(seed + i * 7);
}

static bool ka_test_check(const u8 *p, size_t size, u8 seed)
{
	size_t i;

	for (i = 0; i < size; i++)
		if (p[i] != (u8)(seed + i * 7))
			return false;
	return true;
}

/* ---------------- size classes ---------------- */

static void ka_class_table_invariants(struct kunit *test)
{
	unsigned int cls;

	KUNIT_ASSERT_GE(test, ka_nr_classes, 40U);
	KUNIT_ASSERT_LE(test, ka_nr_classes, (unsigned int)KA_MAX_CLASSES);
	KUNIT_EXPECT_EQ(test, ka_classes[1].size, 8U);
	KUNIT_EXPECT_EQ(test, ka_classes[ka_nr_classes - 1].size,
			(unsigned int)KA_MAX_SMALL_SIZE);
	for (cls = 1; cls < ka_nr_classes; cls++) {
		const struct ka_class *k = &ka_classes[cls];
		unsigned int span = k->npages * PAGE_SIZE;

		if (cls > 1)
			KUNIT_EXPECT_GT(test, k->size, ka_classes[cls - 1].size);
		KUNIT_EXPECT_EQ(test, k->size % 8, 0U);
		KUNIT_EXPECT_EQ(test, k->nelems, span / k->size);
		/* Go's rule: tail waste at most 1/8 of the span */
		KUNIT_EXPECT_LE_MSG(test, span % k->size, span / 8,
				    "class %u (%u bytes)", cls, k->size);
		/* batches in bytes: KA_BATCH_BYTES, 1 .. KA_BATCH_MAX objects */
		KUNIT_EXPECT_GE(test, k->batch, 1U);
		KUNIT_EXPECT_LE(test, k->batch, (unsigned int)KA_BATCH_MAX);
		if (k->batch < KA_BATCH_MAX)
			KUNIT_EXPECT_LE(test, k->batch * k->size,
					max_t(unsigned int, KA_BATCH_BYTES, k->size));
		if (k->size <= 2048)
			KUNIT_EXPECT_GE(test, k->batch, 16U);
		/* big classes: a magazine holds at most 64 KiB */
		KUNIT_EXPECT_LE(test, k->cache_max * k->size,
				max_t(unsigned int, KA_PCPU_CACHE_BYTES,
				      2 * k->size));
		KUNIT_EXPECT_LE(test, k->nelems, 512U);
		/* big classes: a span repeats its run up to 8 objects */
		KUNIT_EXPECT_TRUE_MSG(test, k->nelems >= KA_SPAN_MIN_OBJS ||
				      span > KA_SPAN_MAX_BYTES / 2,
				      "class %u (%u bytes): %u objects in %u bytes",
				      cls, k->size, k->nelems, span);
		KUNIT_EXPECT_LE(test, span, max_t(unsigned int,
						  KA_SPAN_MAX_BYTES,
						  8 * k->size));
	}
}

static void ka_class_powers_of_two(struct kunit *test)
{
	unsigned int size;

	/* natural alignment of power-of-two sizes needs them as classes */
	for (size = 8; size <= KA_MAX_SMALL_SIZE; size *= 2)
		KUNIT_EXPECT_EQ_MSG(test, ka_classes[ka_size_class(size)].size,
				    size, "size %u", size);
}

static void ka_class_lookup_exhaustive(struct kunit *test)
{
	unsigned int size, cls;

	for (size = 1; size <= KA_MAX_SMALL_SIZE; size++) {
		cls = ka_size_class(size);
		if (cls != ka_size_class_go(size) ||
		    cls < 1 || cls >= ka_nr_classes ||
		    ka_classes[cls].size < size ||
		    (cls > 1 && ka_classes[cls - 1].size >= size)) {
			KUNIT_FAIL(test, "size %u -> class %u", size, cls);
			return;
		}
	}
}

static void ka_class_divmagic_exact(struct kunit *test)
{
	unsigned int cls, off;

	for (cls = 1; cls < ka_nr_classes; cls++) {
		const struct ka_class *k = &ka_classes[cls];

		for (off = 0; off < k->npages * PAGE_SIZE; off++) {
			if ((((u64)off * k->divmagic) >> 32) != off / k->size) {
				KUNIT_FAIL(test, "class %u offset %u", cls, off);
				return;
			}
		}
	}
}

static struct kunit_case ka_sizeclass_cases[] = {
	KUNIT_CASE(ka_class_table_invariants),
	KUNIT_CASE(ka_class_powers_of_two),
	KUNIT_CASE(ka_class_lookup_exhaustive),
	KUNIT_CASE(ka_class_divmagic_exact),
	{}
};

static struct kunit_suite ka_sizeclass_suite = {
	.name = "ka_sizeclass",
	.test_cases = ka_sizeclass_cases,
};

/* ---------------- spans and the arena map ---------------- */

static const unsigned int ka_span_test_classes[] = { 1, 6, 24, 40, 60 };

static void ka_span_class_desc(const unsigned int *cls, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "class %u", *cls);
}
KUNIT_ARRAY_PARAM(ka_span_class, ka_span_test_classes, ka_span_class_desc);

static void ka_span_bitmap_transitions(struct kunit *test)
{
	unsigned int cls = *(const unsigned int *)test->param_value;
	struct ka_span *span;
	void **objs;
	unsigned int n, i;

	if (cls >= ka_nr_classes)
		kunit_skip(test, "no class %u", cls);
	span = ka_span_new(cls, numa_mem_id(), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, span);
	n = span->nelems;
	objs = kunit_kcalloc(test, n + 1, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);

	KUNIT_EXPECT_EQ(test, span->nalloc, 0);
	/* take in two steps: the second resumes where the first stopped */
	i = ka_span_take(span, objs, n / 2);
	KUNIT_EXPECT_EQ(test, i, n / 2);
	i += ka_span_take(span, objs + i, n);
	KUNIT_EXPECT_EQ(test, i, n);
	KUNIT_EXPECT_EQ(test, span->nalloc, n);
	/* full: nothing more */
	KUNIT_EXPECT_EQ(test, ka_span_take(span, objs + n, 1), 0U);
	rcu_read_lock();
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_PTR_EQ(test, objs[i],
				    span->base + (unsigned long)i * span->elemsize);
		KUNIT_EXPECT_PTR_EQ(test, ka_span_of(objs[i]), span);
		KUNIT_EXPECT_TRUE(test, ka_span_obj_ok(span, objs[i]));
		KUNIT_EXPECT_EQ(test, ka_span_index(span, objs[i]), i);
		/* an interior pointer is in the span but is no object */
		KUNIT_EXPECT_FALSE(test, ka_span_obj_ok(span, objs[i] + 4));
		KUNIT_EXPECT_FALSE(test, ka_span_obj_ok(span, objs[i] +
							span->elemsize - 1));
	}
	rcu_read_unlock();

	/* give back every other object, then take them again */
	for (i = 0; i < n; i += 2)
		KUNIT_EXPECT_TRUE(test, ka_span_put(span, objs[i]));
	KUNIT_EXPECT_EQ(test, span->nalloc, n / 2);
	/* already free: refused */
	KUNIT_EXPECT_FALSE(test, ka_span_put(span, objs[0]));
	KUNIT_EXPECT_EQ(test, ka_span_take(span, objs, n), (n + 1) / 2);
	KUNIT_EXPECT_EQ(test, span->nalloc, n);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_TRUE(test, ka_span_put(span, objs[i]) ||
					(i & 1) == 0);
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(span));
}

static void ka_arena_lookup(struct kunit *test)
{
	void *k = kmalloc(64, GFP_KERNEL);
	void *v = vmalloc(PAGE_SIZE);
	struct ka_span *span;
	void *base;
	int on_stack;

	KUNIT_ASSERT_NOT_NULL(test, k);
	KUNIT_ASSERT_NOT_NULL(test, v);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, ka_span_of(k));
	KUNIT_EXPECT_NULL(test, ka_span_of(v));
	KUNIT_EXPECT_NULL(test, ka_span_of(&on_stack));
	KUNIT_EXPECT_NULL(test, ka_span_of(&ka_nr_classes));
	KUNIT_EXPECT_NULL(test, ka_span_of((void *)PAGE_OFFSET - 8));
	rcu_read_unlock();
	kfree(k);
	vfree(v);

	span = ka_span_new_large(3 * PAGE_SIZE, numa_mem_id(), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, span);
	base = span->base;
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, ka_span_of(base), span);
	KUNIT_EXPECT_PTR_EQ(test, ka_span_of(base + 3 * PAGE_SIZE - 1), span);
	rcu_read_unlock();
	KUNIT_EXPECT_TRUE(test, ka_span_destroy(span));
	/* a second destroy of the same span is refused */
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, ka_span_of(base));
	rcu_read_unlock();
}

static struct kunit_case ka_span_cases[] = {
	KUNIT_CASE_PARAM(ka_span_bitmap_transitions, ka_span_class_gen_params),
	KUNIT_CASE(ka_arena_lookup),
	{}
};

static struct kunit_suite ka_span_suite = {
	.name = "ka_span",
	.test_cases = ka_span_cases,
};

/* ---------------- mcentral ---------------- */

static void ka_central_list_moves(struct kunit *test)
{
	unsigned int cls = ka_size_class(KA_MAX_SMALL_SIZE); /* 1 object/span */
	unsigned int reserve = ka_classes[cls].reserve;
	int node = numa_mem_id();
	struct ka_central *c = ka_central_of(node, cls);
	struct ka_class_stats before, st;
	void *objs[4];

	/* four spans, so that some go back beyond the reserve */
	KUNIT_ASSERT_LT(test, reserve, 4U);
	ka_drain();
	ka_class_stats_read(node, cls, &before);
	KUNIT_EXPECT_EQ(test, before.spans, 0UL);

	KUNIT_ASSERT_EQ(test, ka_central_refill(c, objs, 4, GFP_KERNEL), 4U);
	ka_class_stats_read(node, cls, &st);
	KUNIT_EXPECT_EQ(test, st.full, 4UL);
	KUNIT_EXPECT_EQ(test, st.partial, 0UL);
	KUNIT_EXPECT_EQ(test, st.objs_out, 4UL);
	KUNIT_EXPECT_EQ(test, st.spans_from_heap - before.spans_from_heap, 4UL);

	/* first one back: its span is empty and kept as the reserve */
	ka_central_flush(objs, 1);
	ka_class_stats_read(node, cls, &st);
	KUNIT_EXPECT_EQ(test, st.full, 3UL);
	KUNIT_EXPECT_EQ(test, st.partial, 1UL);
	KUNIT_EXPECT_EQ(test, st.empty, 1UL);
	/* beyond the reserve, empty spans go back to the heap */
	ka_central_flush(objs + 1, 3);
	ka_class_stats_read(node, cls, &st);
	KUNIT_EXPECT_EQ(test, st.full, 0UL);
	KUNIT_EXPECT_EQ(test, st.empty, (unsigned long)reserve);
	KUNIT_EXPECT_EQ(test, st.spans_to_heap - before.spans_to_heap,
			4UL - reserve);
	KUNIT_EXPECT_EQ(test, ka_central_release(c, 0),
			(unsigned long)reserve * ka_classes[cls].npages);
	ka_class_stats_read(node, cls, &st);
	KUNIT_EXPECT_EQ(test, st.spans, 0UL);
}

static void ka_central_batch_one_lock(struct kunit *test)
{
	unsigned int cls = ka_size_class(64);
	int node = numa_mem_id();
	struct ka_central *c = ka_central_of(node, cls);
	unsigned int n = ka_classes[cls].batch;
	struct ka_class_stats a, b;
	void **objs;

	objs = kunit_kcalloc(test, n, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	/* make sure a span with room exists, so no allocation is needed */
	KUNIT_ASSERT_EQ(test, ka_central_refill(c, objs, 1, GFP_KERNEL), 1U);
	ka_central_flush(objs, 1);
	ka_class_stats_read(node, cls, &a);
	KUNIT_ASSERT_EQ(test, ka_central_refill(c, objs, n, GFP_KERNEL), n);
	ka_class_stats_read(node, cls, &b);
	/* one refill of a whole batch: one lock acquisition */
	KUNIT_EXPECT_EQ(test, b.lock_acquisitions - a.lock_acquisitions, 1UL);
	ka_central_flush(objs, n);
	ka_class_stats_read(node, cls, &a);
	KUNIT_EXPECT_EQ(test, a.lock_acquisitions - b.lock_acquisitions, 1UL);
	KUNIT_EXPECT_EQ(test, a.objs_out, b.objs_out - n);
}

static void ka_central_double_put_refused(struct kunit *test)
{
	unsigned int cls = ka_size_class(128);
	struct ka_central *c = ka_central_of(numa_mem_id(), cls);
	struct ka_counters a, b;
	void *objs[2];

	KUNIT_ASSERT_EQ(test, ka_central_refill(c, objs, 1, GFP_KERNEL), 1U);
	objs[1] = objs[0];
	ka_counters_read(&a);
	ka_central_flush(objs, 2);
	ka_counters_read(&b);
	KUNIT_EXPECT_EQ(test, b.refused - a.refused, 1UL);
}

static struct kunit_case ka_mcentral_cases[] = {
	KUNIT_CASE(ka_central_list_moves),
	KUNIT_CASE(ka_central_batch_one_lock),
	KUNIT_CASE(ka_central_double_put_refused),
	{}
};

static struct kunit_suite ka_mcentral_suite = {
	.name = "ka_mcentral",
	.test_cases = ka_mcentral_cases,
};

/* ---------------- mheap ---------------- */

static void ka_heap_split_and_coalesce(struct kunit *test)
{
	int node = numa_mem_id();
	struct ka_span *a, *b, *c, *d;
	struct ka_heap_stats h0, h;

	ka_drain();
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

	ka_drain();
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

	ka_drain();
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
	ka_drain();
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
	ka_drain();
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

/* No background scavenger pass behind these cases' counters. */
static int ka_mheap_test_init(struct kunit *test)
{
	ka_scav_pause(true);
	return 0;
}

static void ka_mheap_test_exit(struct kunit *test)
{
	ka_scav_pause(false);
}

static struct kunit_case ka_mheap_cases[] = {
	KUNIT_CASE(ka_heap_split_and_coalesce),
	KUNIT_CASE(ka_heap_big_runs),
	KUNIT_CASE(ka_heap_alloc_failure),
	KUNIT_CASE(ka_heap_packs_fullest),
	KUNIT_CASE(ka_heap_release_free_pages),
	KUNIT_CASE(ka_heap_scavenger),
	{}
};

static struct kunit_suite ka_mheap_suite = {
	.name = "ka_mheap",
	.init = ka_mheap_test_init,
	.exit = ka_mheap_test_exit,
	.test_cases = ka_mheap_cases,
};

/* ---------------- per-CPU caches ---------------- */

static void ka_mcache_refill_flush_batches(struct kunit *test)
{
	unsigned int cls = ka_size_class(256);
	const struct ka_class *k = &ka_classes[cls];
	struct ka_magazine *m;
	unsigned long refills, flushes;
	unsigned int i, j, dups;
	void **objs;

	objs = kunit_kcalloc(test, 3 * k->cache_max, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	ka_drain();
	migrate_disable();
	m = &this_cpu_ptr(ka_pcpu)->mag[cls];
	KUNIT_EXPECT_EQ(test, ka_mag_count(m), 0U);
	refills = m->nr_refill;
	/* the first allocation refills a batch and keeps batch - 1 */
	objs[0] = ka_alloc(256, GFP_KERNEL);
	KUNIT_EXPECT_NOT_NULL(test, objs[0]);
	KUNIT_EXPECT_EQ(test, m->nr_refill - refills, 1UL);
	KUNIT_EXPECT_EQ(test, ka_mag_count(m), k->batch - 1);
	for (i = 1; i < k->batch; i++)
		objs[i] = ka_alloc(256, GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, m->nr_refill - refills, 1UL);
	KUNIT_EXPECT_EQ(test, ka_mag_count(m), 0U);
	/* one batch, in whatever order random_reuse gave it: no repeats */
	for (i = 0, dups = 0; i < k->batch; i++)
		for (j = 0; j < i; j++)
			dups += objs[i] == objs[j];
	KUNIT_EXPECT_EQ(test, dups, 0U);
	for (; i < 3 * k->cache_max; i++) {
		objs[i] = ka_alloc(256, GFP_KERNEL);
		KUNIT_EXPECT_NOT_NULL(test, objs[i]);
	}
	KUNIT_EXPECT_EQ(test, m->nr_refill - refills,
			(unsigned long)DIV_ROUND_UP(3 * k->cache_max, k->batch));

	/* frees fill the cache to cap, then flush a batch at a time */
	flushes = m->nr_flush;
	for (i = 0; i < 3 * k->cache_max; i++)
		ka_free(objs[i]);
	KUNIT_EXPECT_LE(test, ka_mag_count(m), k->cache_max);
	KUNIT_EXPECT_EQ(test, m->nr_flush - flushes,
			(unsigned long)(3 * k->cache_max - ka_mag_count(m)) / k->batch);
	migrate_enable();
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
}

/*
 * Pushes and pops of one class from process context while a hard-irq
 * hrtimer pinned to the same CPU frees and allocates in that class too, so
 * that interrupts land inside the hit paths.  Every object carries its
 * address and its holder (owner and slot) in its first and last words,
 * checked before it is freed: an object handed out twice shows up as the
 * other holder's tag, and one lost from a magazine as an object still out
 * after the drain.  (A lockless push that wrote its slot before committing
 * the count failed this: an interrupt in between made it clobber a cached
 * object and cache the freed one twice.)
 */
#define KA_RACE_SIZE	64
#define KA_RACE_PROC	0x70726f63UL	/* "proc" */
#define KA_RACE_IRQ	0x69727120UL	/* "irq " */

struct ka_race {
	struct hrtimer timer;
	void *held[8];
	unsigned int fired;
	unsigned int bad;
	unsigned int failed;
	bool stop;
};

static unsigned long ka_race_word(void *p, unsigned long owner,
				  unsigned int slot)
{
	return (unsigned long)p ^ owner ^ ((unsigned long)slot << 32);
}

static void ka_race_tag(void *p, unsigned long owner, unsigned int slot)
{
	unsigned long *w = p;

	w[0] = ka_race_word(p, owner, slot);
	w[KA_RACE_SIZE / sizeof(long) - 1] = ka_race_word(p, owner, slot);
}

static bool ka_race_tagged(void *p, unsigned long owner, unsigned int slot)
{
	unsigned long *w = p;

	return w[0] == ka_race_word(p, owner, slot) &&
	       w[KA_RACE_SIZE / sizeof(long) - 1] == ka_race_word(p, owner, slot);
}

static enum hrtimer_restart ka_race_timer(struct hrtimer *t)
{
	struct ka_race *r = container_of(t, struct ka_race, timer);
	unsigned int slot = r->fired++ % ARRAY_SIZE(r->held);
	void *p = r->held[slot];

	/* a free, then next time an allocation: the count goes up and down */
	if (p) {
		if (!ka_race_tagged(p, KA_RACE_IRQ, slot))
			r->bad++;
		ka_free(p);
		r->held[slot] = NULL;
	} else {
		p = ka_alloc(KA_RACE_SIZE, GFP_ATOMIC | __GFP_NOWARN);
		if (p)
			ka_race_tag(p, KA_RACE_IRQ, slot);
		else
			r->failed++;
		r->held[slot] = p;
	}
	if (READ_ONCE(r->stop))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(20 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

/*
 * A hard-irq timer case runs for a second and until its timer has fired
 * KA_IRQ_MIN_FIRED times, ten seconds at most: on a loaded host a TCG guest
 * may see only a few firings in its first second.
 */
#define KA_IRQ_MIN_FIRED	100

static bool ka_irq_test_more(unsigned long start, unsigned int fired)
{
	return time_before(jiffies, start + HZ) ||
	       (fired < KA_IRQ_MIN_FIRED && time_before(jiffies, start + 10 * HZ));
}

static void ka_mcache_hit_paths_under_interrupts(struct kunit *test)
{
	unsigned long start = jiffies;
	unsigned int i, bad = 0, ops = 0;
	struct ka_race *r;
	void *mine[32];

	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		kunit_skip(test, "PREEMPT_RT: ka may not be called from hard irq");
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	migrate_disable();	/* the timer fires on this CPU: same magazines */
	for (i = 0; i < ARRAY_SIZE(mine); i++) {
		mine[i] = ka_alloc(KA_RACE_SIZE, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, mine[i]);
		ka_race_tag(mine[i], KA_RACE_PROC, i);
	}
	hrtimer_init(&r->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	r->timer.function = ka_race_timer;
	hrtimer_start(&r->timer, ns_to_ktime(20 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED_HARD);
	while (ka_irq_test_more(start, READ_ONCE(r->fired))) {
		i = ops++ % ARRAY_SIZE(mine);
		if (!ka_race_tagged(mine[i], KA_RACE_PROC, i))
			bad++;
		ka_free(mine[i]);
		mine[i] = ka_alloc(KA_RACE_SIZE, GFP_KERNEL);
		/* no KUNIT_ASSERT while the timer runs: it would stay armed */
		if (!mine[i]) {
			KUNIT_FAIL(test, "ka_alloc(%d) failed", KA_RACE_SIZE);
			break;
		}
		ka_race_tag(mine[i], KA_RACE_PROC, i);
		if (!(ops % 256))
			cond_resched();
	}
	WRITE_ONCE(r->stop, true);
	hrtimer_cancel(&r->timer);
	for (i = 0; i < ARRAY_SIZE(mine); i++) {
		if (mine[i] && !ka_race_tagged(mine[i], KA_RACE_PROC, i))
			bad++;
		ka_free(mine[i]);
	}
	for (i = 0; i < ARRAY_SIZE(r->held); i++) {
		if (r->held[i] && !ka_race_tagged(r->held[i], KA_RACE_IRQ, i))
			r->bad++;
		ka_free(r->held[i]);
	}
	migrate_enable();
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
	KUNIT_EXPECT_GT(test, r->fired, 10U);
	KUNIT_EXPECT_EQ(test, r->failed, 0U);
	KUNIT_EXPECT_EQ(test, bad, 0U);
	KUNIT_EXPECT_EQ(test, r->bad, 0U);
	kunit_info(test, "%u process-context pairs, %u hard-irq frees and allocations",
		   ops, r->fired);
}

/*
 * Forced interleavings.  Through ka_mag_test_hook, an "intruder" runs at a
 * chosen point inside the owner's section of a pop, push, refill, flush or
 * bulk allocation, on the same CPU and in the same size class, as an
 * interrupt (!RT) or a task preempting the owner (PREEMPT_RT) would: it
 * frees what it holds and allocates anew.  The protocol says that it must
 * find the magazines busy and leave them alone, so: the magazine it lands
 * in keeps its count across the intrusion, every intruding call is counted
 * as busy, no object is held by two owners at once (a table of held
 * objects, and a tag in each object), none is lost (nothing out after the
 * drain).  The old protocol (lockless pop, push under local_lock_irqsave)
 * let a task preempting a push on RT pop the object being published.
 */
#define KA_IL_SIZE	64
#define KA_IL_ROUND	600	/* > one magazine (512 at 64 B): refills, flushes */
#define KA_IL_INTR	4	/* objects the intruder cycles per intrusion */
#define KA_IL_HASH	4096	/* held-object table, > 2 * objects held */
#define KA_IL_LIVE	0x6c697665UL	/* "live" */
#define KA_IL_DEAD	0x64656164UL	/* "dead" */

struct ka_il {
	struct task_struct *task;
	enum ka_mag_point point;
	bool in_hook;
	unsigned int fired;		/* intrusions */
	unsigned int intruder_ops;	/* ka calls made by the intruder */
	unsigned int mag_changed;	/* intrusions that changed the magazine */
	unsigned int dup;		/* objects handed to two holders */
	unsigned int corrupt;		/* tags broken while held */
	unsigned int failed;
	void *intr[KA_IL_INTR];
	void *held[KA_IL_HASH];		/* open addressing, NULL = empty */
};

static struct ka_il *ka_il_cur;

static unsigned int ka_il_slot(const void *p)
{
	return hash_ptr((void *)p, ilog2(KA_IL_HASH));
}

/* Record @p as held; false if someone holds it already. */
static bool ka_il_get(struct ka_il *il, void *p)
{
	unsigned int i = ka_il_slot(p), n;
	unsigned long *w = p;

	for (n = 0; n < KA_IL_HASH; n++, i = (i + 1) % KA_IL_HASH) {
		if (il->held[i] == p || w[0] == ((unsigned long)p ^ KA_IL_LIVE)) {
			il->dup++;
			return false;
		}
		if (!il->held[i])
			break;
	}
	il->held[i] = p;
	w[0] = (unsigned long)p ^ KA_IL_LIVE;
	w[KA_IL_SIZE / sizeof(long) - 1] = (unsigned long)p ^ KA_IL_LIVE;
	return true;
}

/* Forget @p before it is freed (backward-shift deletion). */
static void ka_il_put(struct ka_il *il, void *p)
{
	unsigned int i = ka_il_slot(p), j, k, n;
	unsigned long *w = p;

	if (w[0] != ((unsigned long)p ^ KA_IL_LIVE) ||
	    w[KA_IL_SIZE / sizeof(long) - 1] != ((unsigned long)p ^ KA_IL_LIVE))
		il->corrupt++;
	w[0] = (unsigned long)p ^ KA_IL_DEAD;
	for (n = 0; n < KA_IL_HASH && il->held[i] != p;
	     n++, i = (i + 1) % KA_IL_HASH)
		if (!il->held[i])
			return;
	il->held[i] = NULL;
	for (j = (i + 1) % KA_IL_HASH; il->held[j]; j = (j + 1) % KA_IL_HASH) {
		k = ka_il_slot(il->held[j]);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			il->held[i] = il->held[j];
			il->held[j] = NULL;
			i = j;
		}
	}
}

/* Runs inside the owner's section: on !RT with preemption disabled. */
static void ka_il_hook(enum ka_mag_point pt)
{
	struct ka_il *il = READ_ONCE(ka_il_cur);
	struct ka_magazine *m;
	unsigned int i, before;

	if (!il || current != il->task || il->in_hook || pt != il->point)
		return;
	il->in_hook = true;
	il->fired++;
	m = &this_cpu_ptr(ka_pcpu)->mag[ka_size_class(KA_IL_SIZE)];
	before = ka_mag_count(m);
	for (i = 0; i < KA_IL_INTR; i++) {
		if (il->intr[i]) {
			ka_il_put(il, il->intr[i]);
			ka_free(il->intr[i]);
			il->intruder_ops++;
		}
		il->intr[i] = ka_alloc(KA_IL_SIZE, GFP_ATOMIC | __GFP_NOWARN);
		il->intruder_ops++;
		if (!il->intr[i])
			il->failed++;
		else if (!ka_il_get(il, il->intr[i]))
			il->intr[i] = NULL;	/* not ours to free */
	}
	if (ka_mag_count(m) != before)
		il->mag_changed++;
	il->in_hook = false;
}

static const enum ka_mag_point ka_il_points[] = {
	KA_MP_POP, KA_MP_PUSH, KA_MP_REFILL, KA_MP_FLUSH, KA_MP_BULK,
};

static void ka_il_desc(const enum ka_mag_point *pt, char *desc)
{
	static const char * const names[] = {
		[KA_MP_POP] = "pop", [KA_MP_PUSH] = "push",
		[KA_MP_REFILL] = "refill", [KA_MP_FLUSH] = "flush",
		[KA_MP_BULK] = "bulk",
	};

	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "intruder in %s", names[*pt]);
}

KUNIT_ARRAY_PARAM(ka_il, ka_il_points, ka_il_desc);

static void ka_mcache_forced_interleavings(struct kunit *test)
{
	const enum ka_mag_point *pt = test->param_value;
	struct ka_counters a, b;
	unsigned int round, i, j, n;
	struct ka_il *il;
	void **objs;

	il = kunit_kzalloc(test, sizeof(*il), GFP_KERNEL);
	objs = kunit_kcalloc(test, KA_IL_ROUND, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, il);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	il->task = current;
	il->point = *pt;
	ka_drain();
	ka_counters_read(&a);
	WRITE_ONCE(ka_il_cur, il);
	WRITE_ONCE(ka_mag_test_hook, ka_il_hook);
	/* no KUNIT_ASSERT while the hook is armed: it would stay armed */
	for (round = 0; round < 5; round++) {
		/* allocations pop, then refill; frees push, then flush */
		for (i = 0; i < KA_IL_ROUND; i += n) {
			n = *pt == KA_MP_BULK ? min(16U, KA_IL_ROUND - i) : 1;
			if (*pt == KA_MP_BULK &&
			    !ka_alloc_bulk(KA_IL_SIZE, GFP_KERNEL, n, objs + i)) {
				memset(objs + i, 0, n * sizeof(void *));
				il->failed++;
				continue;
			}
			if (*pt != KA_MP_BULK) {
				objs[i] = ka_alloc(KA_IL_SIZE, GFP_KERNEL);
				if (!objs[i]) {
					il->failed++;
					continue;
				}
			}
			for (j = i; j < i + n; j++)
				if (!ka_il_get(il, objs[j]))
					objs[j] = NULL;	/* another holder's */
		}
		for (i = 0; i < KA_IL_ROUND; i++) {
			if (!objs[i])
				continue;
			ka_il_put(il, objs[i]);
			ka_free(objs[i]);
			objs[i] = NULL;
		}
		cond_resched();
	}
	WRITE_ONCE(ka_mag_test_hook, NULL);
	WRITE_ONCE(ka_il_cur, NULL);
	for (i = 0; i < KA_IL_INTR; i++)
		if (il->intr[i]) {
			ka_il_put(il, il->intr[i]);
			ka_free(il->intr[i]);
		}
	ka_drain();
	ka_counters_read(&b);
	KUNIT_EXPECT_GT(test, il->fired, 0U);
	KUNIT_EXPECT_EQ(test, il->mag_changed, 0U);
	KUNIT_EXPECT_EQ(test, il->dup, 0U);
	KUNIT_EXPECT_EQ(test, il->corrupt, 0U);
	KUNIT_EXPECT_EQ(test, il->failed, 0U);
	/* every call the intruder made found the magazines owned */
	KUNIT_EXPECT_GE(test, b.busy - a.busy, (unsigned long)il->intruder_ops);
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
	kunit_info(test, "%u intrusions, %u intruding calls, busy +%lu",
		   il->fired, il->intruder_ops, b.busy - a.busy);
}

/* ---- capacities and the per-CPU budget ---- */

/*
 * This CPU's capacities, owning them: their sum in bytes must be
 * ka_pcpu.cap_bytes and within @budget, each magazine within its capacity
 * and each capacity within its class's cache_max.  Returns cap_bytes.
 */
static unsigned long ka_test_check_caps(struct kunit *test,
					unsigned long budget)
{
	unsigned long sum = 0, cap_bytes;
	unsigned int cls, bad_cls = 0;
	struct ka_pcpu *pc;

	ka_mag_lock(ka_pcpu);
	pc = this_cpu_ptr(ka_pcpu);
	for (cls = 1; cls < ka_nr_classes; cls++) {
		struct ka_magazine *m = &pc->mag[cls];

		sum += (unsigned long)ka_mag_cap(m) * ka_classes[cls].size;
		if (ka_mag_count(m) > ka_mag_cap(m) ||
		    ka_mag_cap(m) > ka_classes[cls].cache_max)
			bad_cls = cls;
	}
	cap_bytes = pc->cap_bytes;
	ka_mag_unlock(ka_pcpu);
	KUNIT_EXPECT_EQ(test, sum, cap_bytes);
	KUNIT_EXPECT_LE(test, cap_bytes, budget);
	KUNIT_EXPECT_EQ_MSG(test, bad_cls, 0U, "class %u beyond its capacity",
			    bad_cls);
	return cap_bytes;
}

/* Every class of every CPU back to capacity 0, under the same budget. */
static void ka_test_reset_caps(void)
{
	unsigned long budget = READ_ONCE(ka_pcpu_budget);

	ka_mcache_set_budget(0);
	ka_mcache_set_budget(budget);
}

/* Size of a random-lifetime object: 70% up to 512 B, 25% 4 KiB, 5% 32 KiB. */
static size_t ka_test_mixed_size(void)
{
	u32 r = get_random_u32() % 100;

	if (r < 70)
		return 1 + get_random_u32() % 512;
	if (r < 95)
		return 1 + get_random_u32() % 4096;
	return 1 + get_random_u32() % KA_MAX_SMALL_SIZE;
}

#define KA_BUDGET_TEST	(128 * 1024UL)
#define KA_BUDGET_SLOTS	512

/*
 * Random lifetimes over 1 B .. 32 KiB on one CPU under a 128 KiB budget:
 * after every 64 operations the CPU's capacities must add up to its
 * cap_bytes and stay within the budget; the load must reach the budget
 * (or the check would prove nothing).
 */
static void ka_mcache_budget_random_load(struct kunit *test)
{
	unsigned long saved = READ_ONCE(ka_pcpu_budget), most = 0, cap;
	unsigned int i, failed = 0;
	void **slot;
	int cpu;

	slot = kunit_kcalloc(test, KA_BUDGET_SLOTS, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	ka_mcache_set_budget(KA_BUDGET_TEST);
	migrate_disable();
	for (i = 0; i < 20000; i++) {
		unsigned int j = get_random_u32() % KA_BUDGET_SLOTS;

		ka_free(slot[j]);
		slot[j] = ka_alloc(ka_test_mixed_size(), GFP_KERNEL);
		if (!slot[j])
			failed++;
		if (i % 64 == 63) {
			cap = ka_test_check_caps(test, KA_BUDGET_TEST);
			most = max(most, cap);
			if (cap > KA_BUDGET_TEST)
				break;
		}
		if (!(i % 256))
			cond_resched();
	}
	migrate_enable();
	for_each_online_cpu(cpu)
		KUNIT_EXPECT_LE(test,
				READ_ONCE(per_cpu_ptr(ka_pcpu, cpu)->cap_bytes),
				KA_BUDGET_TEST);
	for (i = 0; i < KA_BUDGET_SLOTS; i++)
		ka_free(slot[i]);
	ka_mcache_set_budget(saved);
	ka_drain();
	KUNIT_EXPECT_EQ(test, failed, 0U);
	KUNIT_EXPECT_GE(test, most, KA_BUDGET_TEST / 2);
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
	kunit_info(test, "most capacity on the CPU: %lu of %lu bytes", most,
		   KA_BUDGET_TEST);
}

/* Allocate @n objects of @size into @objs, then free them all. */
static void ka_test_cycle(struct kunit *test, void **objs, unsigned int n,
			  size_t size)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		objs[i] = ka_alloc(size, GFP_KERNEL);
		KUNIT_EXPECT_NOT_NULL(test, objs[i]);
	}
	for (i = 0; i < n; i++)
		ka_free(objs[i]);
}

/*
 * A class that only underflows keeps one batch; one that alternates
 * underflow (allocating more than it holds) and overflow (freeing it all
 * back) grows a batch per reversal, up to its cache_max.
 */
static void ka_mcache_alternating_class_grows(struct kunit *test)
{
	unsigned int cls = ka_size_class(256), i, n;
	const struct ka_class *k = &ka_classes[cls];
	struct ka_magazine *m;
	unsigned long grows;
	void **objs;

	n = k->cache_max + k->batch;
	objs = kunit_kcalloc(test, n, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	KUNIT_ASSERT_GE(test, READ_ONCE(ka_pcpu_budget),
			(unsigned long)k->cache_max * k->size);
	ka_test_reset_caps();
	migrate_disable();
	m = &this_cpu_ptr(ka_pcpu)->mag[cls];
	grows = this_cpu_ptr(ka_pcpu)->nr_grow;
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), 0U);
	/* underflows only: the first batch, no more */
	for (i = 0; i < 4 * k->batch; i++) {
		objs[i] = ka_alloc(256, GFP_KERNEL);
		KUNIT_EXPECT_NOT_NULL(test, objs[i]);
	}
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), k->batch);
	/* then overflows: the first one reverses the misses */
	for (i = 0; i < 4 * k->batch; i++)
		ka_free(objs[i]);
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), 2 * k->batch);
	for (i = 0; i < 4; i++)
		ka_test_cycle(test, objs, n, 256);
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), k->cache_max);
	KUNIT_EXPECT_GE(test, this_cpu_ptr(ka_pcpu)->nr_grow - grows,
			(unsigned long)k->cache_max / k->batch);
	migrate_enable();
	ka_test_check_caps(test, READ_ONCE(ka_pcpu_budget));
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
}

/*
 * A class unused between two trim passes loses half its capacity, and
 * down to nothing (its objects back in mcentral) in a few more; a class
 * used in between keeps its capacity.
 */
static void ka_mcache_idle_class_shrinks(struct kunit *test)
{
	unsigned int cls = ka_size_class(1024), busy = ka_size_class(64);
	const struct ka_class *k = &ka_classes[cls];
	struct ka_magazine *m, *mb;
	unsigned int i, n, cap_busy;
	void **objs;
	void *p;

	n = max(k->cache_max + k->batch, ka_classes[busy].cache_max);
	objs = kunit_kcalloc(test, n, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	ka_test_reset_caps();
	migrate_disable();
	m = &this_cpu_ptr(ka_pcpu)->mag[cls];
	mb = &this_cpu_ptr(ka_pcpu)->mag[busy];
	for (i = 0; i < 4; i++) {
		ka_test_cycle(test, objs, n, 1024);
		ka_test_cycle(test, objs, ka_classes[busy].cache_max, 64);
	}
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), k->cache_max);
	KUNIT_EXPECT_GT(test, ka_mag_count(m), 0U);
	cap_busy = ka_mag_cap(mb);
	KUNIT_EXPECT_EQ(test, cap_busy, ka_classes[busy].cache_max);
	/* the first pass may only note the class as seen */
	ka_mcache_trim_all();
	p = ka_alloc(64, GFP_KERNEL);
	ka_free(p);
	ka_mcache_trim_all();
	KUNIT_EXPECT_LE(test, ka_mag_cap(m), k->cache_max / 2);
	for (i = 0; i < 12; i++) {
		p = ka_alloc(64, GFP_KERNEL);
		ka_free(p);
		ka_mcache_trim_all();
	}
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), 0U);
	KUNIT_EXPECT_EQ(test, ka_mag_count(m), 0U);
	KUNIT_EXPECT_EQ(test, ka_mag_cap(mb), cap_busy);
	migrate_enable();
	ka_test_check_caps(test, READ_ONCE(ka_pcpu_budget));
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
}

/* Lowering the budget trims every CPU before ka_mcache_set_budget() returns. */
static void ka_mcache_budget_lower_trims_at_once(struct kunit *test)
{
	static const size_t sizes[] = { 256, 1024, 4096, 16384 };
	unsigned long saved = READ_ONCE(ka_pcpu_budget), low = 32 * 1024;
	unsigned int i, s;
	void **objs;
	int cpu;

	objs = kunit_kcalloc(test, KA_PCPU_CACHE_MAX + KA_BATCH_MAX,
			     sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	ka_test_reset_caps();
	migrate_disable();
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		const struct ka_class *k = &ka_classes[ka_size_class(sizes[s])];

		for (i = 0; i < 4; i++)
			ka_test_cycle(test, objs, k->cache_max + k->batch,
				      sizes[s]);
	}
	KUNIT_EXPECT_GT(test, this_cpu_ptr(ka_pcpu)->cap_bytes, 4 * low);
	migrate_enable();
	ka_mcache_set_budget(low);
	for_each_online_cpu(cpu) {
		struct ka_pcpu *pc = per_cpu_ptr(ka_pcpu, cpu);
		unsigned long cached = 0;
		unsigned int cls;

		for (cls = 1; cls < ka_nr_classes; cls++)
			cached += (unsigned long)ka_mag_count(&pc->mag[cls]) *
				  ka_classes[cls].size;
		KUNIT_EXPECT_LE(test, READ_ONCE(pc->cap_bytes), low);
		KUNIT_EXPECT_LE(test, cached, low);
	}
	ka_test_check_caps(test, low);
	ka_mcache_set_budget(saved);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
}

static struct kunit_case ka_mcache_cases[] = {
	KUNIT_CASE(ka_mcache_refill_flush_batches),
	KUNIT_CASE(ka_mcache_hit_paths_under_interrupts),
	KUNIT_CASE_PARAM(ka_mcache_forced_interleavings, ka_il_gen_params),
	KUNIT_CASE(ka_mcache_budget_random_load),
	KUNIT_CASE(ka_mcache_alternating_class_grows),
	KUNIT_CASE(ka_mcache_idle_class_shrinks),
	KUNIT_CASE(ka_mcache_budget_lower_trims_at_once),
	{}
};

/*
 * No periodic trim during these cases: on a slow machine (TCG, KASAN, a
 * busy host) a case can take seconds, and a pass would halve the classes
 * a case leaves unused for a while.  ka_mcache_trim_all() runs passes.
 */
static int ka_mcache_test_init(struct kunit *test)
{
	ka_mcache_trim_pause(true);
	return 0;
}

static void ka_mcache_test_exit(struct kunit *test)
{
	ka_mcache_trim_pause(false);
}

static struct kunit_suite ka_mcache_suite = {
	.name = "ka_mcache",
	.init = ka_mcache_test_init,
	.exit = ka_mcache_test_exit,
	.test_cases = ka_mcache_cases,
};

/* ---------------- public API ---------------- */

static void ka_api_every_small_size(struct kunit *test)
{
	unsigned int size;

	for (size = 1; size <= KA_MAX_SMALL_SIZE; size++) {
		/* full pattern up to 4 KiB, then every 61st size */
		bool full = size <= 4096 || size % 61 == 0;
		u8 *p = ka_alloc(size, GFP_KERNEL);

		if (!p) {
			KUNIT_FAIL(test, "size %u: NULL", size);
			return;
		}
		if (ka_size(p) < size || !IS_ALIGNED((unsigned long)p, 8)) {
			KUNIT_FAIL(test, "size %u: %p usable %zu", size, p,
				   ka_size(p));
			ka_free(p);
			return;
		}
		if (full) {
			ka_test_fill(p, size, size);
			if (!ka_test_check(p, size, size))
				KUNIT_FAIL(test, "size %u: pattern", size);
		} else {
			p[0] = 0xa5;
			p[size - 1] = 0x5a;
		}
		ka_free(p);
	}
}

static const unsigned long ka_large_sizes[] = {
	KA_MAX_SMALL_SIZE + 1, 65536, 65537, 200000, 1 << 20, KA_MAX_SIZE - 1,
	KA_MAX_SIZE,
};

static void ka_large_desc(const unsigned long *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%lu bytes", *size);
}
KUNIT_ARRAY_PARAM(ka_large, ka_large_sizes, ka_large_desc);

static void ka_api_large_sizes(struct kunit *test)
{
	unsigned long size = *(const unsigned long *)test->param_value;
	u8 *p = ka_alloc(size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(p));
	/* its pages, or a cached span's: up to an eighth more */
	KUNIT_EXPECT_GE(test, ka_size(p),
			ka_test_usable(size, PAGE_ALIGN(size)));
	KUNIT_EXPECT_LE(test, ka_size(p),
			ka_test_usable(size, PAGE_ALIGN(size) +
				       (PAGE_ALIGN(size) >> PAGE_SHIFT) / 8 *
				       PAGE_SIZE));
	ka_test_fill(p, size, 3);
	KUNIT_EXPECT_TRUE(test, ka_test_check(p, size, 3));
	ka_free(p);
}

/*
 * A freed large object's span is cached whole and taken back by the next
 * allocation of as many pages (up to an eighth more), never by a smaller
 * one; the cache stays within its bounds and a trim empties it.
 */
static void ka_api_large_cache(struct kunit *test)
{
	int node = numa_mem_id();
	struct ka_heap *heap = ka_heap_of(node);
	unsigned long hits, pages;
	void *p, *q, *v[KA_LARGE_CACHE_NR + 2];
	unsigned int i;

	ka_drain();
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->nr_large_free), 0UL);
	p = ka_alloc_node(100000, GFP_KERNEL, node);	/* 25 pages */
	KUNIT_ASSERT_NOT_NULL(test, p);
	pages = READ_ONCE(heap->pages_used);
	ka_free(p);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->nr_large_free), 1UL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->large_free_pages), 25UL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->pages_used), pages);
	/* 21 pages: 25 is more than an eighth over, not taken */
	hits = READ_ONCE(heap->large_hits);
	q = ka_alloc_node(84000, GFP_KERNEL, node);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_PTR_NE(test, q, p);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->large_hits), hits);
	ka_free(q);
	/* 23 pages: the 25-page span, the newest that fits, is taken */
	q = ka_alloc_node(92000, GFP_KERNEL, node);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_PTR_EQ(test, q, p);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->large_hits), hits + 1);
	KUNIT_EXPECT_EQ(test, ka_size(q), ka_test_usable(92000, 25 * PAGE_SIZE));
	ka_test_fill(q, 92000, 5);
	KUNIT_EXPECT_TRUE(test, ka_test_check(q, 92000, 5));
	ka_free(q);
	/* bounds: at most KA_LARGE_CACHE_NR spans, oldest out first */
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		v[i] = ka_alloc_node(40000 + i * PAGE_SIZE * 2, GFP_KERNEL,
				     node);
		KUNIT_ASSERT_NOT_NULL(test, v[i]);
	}
	for (i = 0; i < ARRAY_SIZE(v); i++)
		ka_free(v[i]);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->nr_large_free),
			(unsigned long)KA_LARGE_CACHE_NR);
	KUNIT_EXPECT_LE(test, READ_ONCE(heap->large_free_pages),
			(unsigned long)KA_LARGE_CACHE_BYTES >> PAGE_SHIFT);
	/* one over the byte bound alone is not cached */
	p = ka_alloc_node(KA_LARGE_CACHE_BYTES + PAGE_SIZE, GFP_KERNEL, node);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_free(p);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->nr_large_free),
			(unsigned long)KA_LARGE_CACHE_NR);
	KUNIT_EXPECT_GT(test, ka_heap_large_trim(heap, false), 0UL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->nr_large_free), 0UL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->large_free_pages), 0UL);
	ka_drain();
}

static void ka_api_zero_and_limits(struct kunit *test)
{
	struct ka_counters a, b;

	KUNIT_EXPECT_PTR_EQ(test, ka_alloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	KUNIT_EXPECT_EQ(test, ka_size(ZERO_SIZE_PTR), (size_t)0);
	ka_counters_read(&a);
	ka_free(NULL);
	ka_free(ZERO_SIZE_PTR);
	ka_counters_read(&b);
	KUNIT_EXPECT_EQ(test, b.refused, a.refused);
	KUNIT_EXPECT_NULL(test, ka_alloc(KA_MAX_SIZE + 1, GFP_KERNEL | __GFP_NOWARN));
	KUNIT_EXPECT_NULL(test, ka_alloc(SIZE_MAX, GFP_KERNEL | __GFP_NOWARN));
	/* the warning (not a WARN splat) when __GFP_NOWARN is absent */
	KUNIT_EXPECT_NULL(test, ka_alloc(KA_MAX_SIZE + 1, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, ka_alloc_array(SIZE_MAX / 2, 4, GFP_KERNEL));
	KUNIT_EXPECT_PTR_EQ(test, ka_alloc_array(0, 4, GFP_KERNEL), ZERO_SIZE_PTR);
	ka_counters_read(&b);
	KUNIT_EXPECT_EQ(test, b.failed - a.failed, 3UL);
}

static void ka_api_zalloc(struct kunit *test)
{
	static const size_t sizes[] = { 8, 100, 4096, 32768, 100000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		u8 *p = ka_alloc(sizes[i], GFP_KERNEL), *q;

		KUNIT_ASSERT_NOT_NULL(test, p);
		memset(p, 0xff, ka_size(p));
		ka_free(p);
		/* LIFO: most likely the same object comes back */
		q = ka_zalloc(sizes[i], GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, q);
		KUNIT_EXPECT_PTR_EQ(test, memchr_inv(q, 0, ka_size(q)), NULL);
		ka_free(q);
	}
}

static void ka_api_alignment(struct kunit *test)
{
	unsigned int size, i;
	void *p[8];

	for (size = 8; size <= PAGE_SIZE; size *= 2) {
		for (i = 0; i < ARRAY_SIZE(p); i++) {
			p[i] = ka_alloc(size, GFP_KERNEL);
			KUNIT_ASSERT_NOT_NULL(test, p[i]);
			KUNIT_EXPECT_TRUE_MSG(test, IS_ALIGNED((unsigned long)p[i], size),
					      "%p size %u", p[i], size);
		}
		for (i = 0; i < ARRAY_SIZE(p); i++)
			ka_free(p[i]);
	}
}

static void ka_api_realloc(struct kunit *test)
{
	u8 *p, *q;

	p = ka_realloc(NULL, 40, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_test_fill(p, 40, 9);
	/* fits in the usable size: same object */
	q = ka_realloc(p, ka_size(p), GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, q, p);
	q = ka_realloc(p, 3000, GFP_KERNEL | __GFP_ZERO);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_TRUE(test, ka_test_check(q, 40, 9));
	KUNIT_EXPECT_PTR_EQ(test, memchr_inv(q + 48, 0, 3000 - 48), NULL);
	p = ka_realloc(q, 300000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, ka_test_check(p, 40, 9));
	q = ka_realloc(p, 0, GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, q, ZERO_SIZE_PTR);
}

static void ka_api_bulk(struct kunit *test)
{
	const size_t nr = 1000;
	unsigned long before;
	void **p;
	size_t i;

	ka_drain();
	before = ka_test_objs_out();

	p = kunit_kcalloc(test, nr, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_EQ(test, ka_alloc_bulk(72, GFP_KERNEL | __GFP_ZERO, nr, p),
			(int)nr);
	for (i = 0; i < nr; i++) {
		KUNIT_ASSERT_NOT_NULL(test, p[i]);
		KUNIT_EXPECT_EQ(test, ka_size(p[i]), ka_test_usable(72, 80));
		KUNIT_EXPECT_PTR_EQ(test, memchr_inv(p[i], 0, ka_size(p[i])),
				    NULL);
		memset(p[i], (int)i, 72);
	}
	/* distinct objects: no byte was written twice */
	for (i = 0; i < nr; i++)
		KUNIT_EXPECT_PTR_EQ(test, memchr_inv(p[i], (u8)i, 72), NULL);
	ka_free_bulk(nr, p);
	KUNIT_ASSERT_EQ(test, ka_alloc_bulk(40000, GFP_KERNEL, 4, p), 4);
	ka_free_bulk(4, p);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), before);
}

static void ka_api_bulk_all_or_nothing(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	void *p[80];	/* more than a 2 MiB chunk's 64 objects of 32 KiB */

	ka_drain();
	ka_fail_page.probability = 100;
	ka_fail_page.interval = 1;
	ka_fail_page.verbose = 0;
	/*
	 * The first chunk (2 MiB, 64 objects of 32 KiB) gets its pages, then
	 * every page allocation fails: the bulk call gets half way and must
	 * give back what it had.
	 */
	atomic_set(&ka_fail_page.times, -1);
	atomic_set(&ka_fail_page.space, (PAGE_SIZE << KA_CHUNK_ORDER) + 1);
	KUNIT_EXPECT_EQ(test, ka_alloc_bulk(KA_MAX_SMALL_SIZE, GFP_KERNEL,
					    ARRAY_SIZE(p), p), 0);
	ka_fail_page.probability = 0;
	atomic_set(&ka_fail_page.space, 0);
	atomic_set(&ka_fail_page.times, 1);
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_pages_held(), 0UL);
#else
	kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
#endif
}

struct ka_bad_free {
	const char *name;
	int kind;
};

static const struct ka_bad_free ka_bad_frees[] = {
	{ "kmalloc pointer", 0 },
	{ "vmalloc pointer", 1 },
	{ "stack address", 2 },
	{ "interior of small object", 3 },
	{ "interior of large object", 4 },
	{ "object of a released span", 5 },
	{ "module data", 6 },
};

static void ka_bad_free_desc(const struct ka_bad_free *b, char *desc)
{
	strscpy(desc, b->name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(ka_bad_free, ka_bad_frees, ka_bad_free_desc);

static void ka_api_invalid_free_refused(struct kunit *test)
{
	const struct ka_bad_free *b = test->param_value;
	unsigned long out_before;
	struct ka_counters a, c;
	void *obj = NULL, *bad;
	int on_stack = 0;
	u8 *q;

	switch (b->kind) {
	case 0:
		obj = kmalloc(64, GFP_KERNEL);
		bad = obj;
		break;
	case 1:
		obj = vmalloc(PAGE_SIZE);
		bad = obj;
		break;
	case 2:
		bad = &on_stack;
		break;
	case 3:
		obj = ka_alloc(64, GFP_KERNEL);
		bad = obj + 8;
		break;
	case 4:
		obj = ka_alloc(100000, GFP_KERNEL);
		bad = obj + PAGE_SIZE;
		break;
	case 5:
		bad = ka_alloc(KA_MAX_SMALL_SIZE, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, bad);
		ka_free(bad);
		ka_drain();
		break;
	default:
		bad = (void *)&ka_bad_frees;
		break;
	}
	KUNIT_ASSERT_NOT_NULL(test, bad);
	out_before = ka_test_objs_out();
	ka_counters_read(&a);
	ka_free(bad);
	KUNIT_EXPECT_EQ(test, ka_size(bad), (size_t)0);
	ka_counters_read(&c);
	KUNIT_EXPECT_EQ(test, c.refused - a.refused, 2UL);
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out_before);

	/* ka is intact */
	q = ka_alloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, q);
	ka_test_fill(q, 64, 1);
	KUNIT_EXPECT_TRUE(test, ka_test_check(q, 64, 1));
	ka_free(q);
	switch (b->kind) {
	case 0:
		kfree(obj);
		break;
	case 1:
		vfree(obj);
		break;
	case 3:
	case 4:
		ka_free(obj);
		break;
	}
}

static void ka_api_numa_node(struct kunit *test)
{
	int nid, nodes = 0;

	for_each_node_state(nid, N_MEMORY) {
		void *s = ka_alloc_node(64, GFP_KERNEL, nid);
		void *l = ka_alloc_node(100000, GFP_KERNEL, nid);

		KUNIT_ASSERT_NOT_NULL(test, s);
		KUNIT_ASSERT_NOT_NULL(test, l);
		KUNIT_EXPECT_EQ(test, page_to_nid(virt_to_page(s)), nid);
		KUNIT_EXPECT_EQ(test, page_to_nid(virt_to_page(l)), nid);
		ka_free(s);
		ka_free(l);
		nodes++;
	}
	if (nodes < 2)
		kunit_skip(test, "one memory node: run with a 2-node guest");
}

static void ka_api_free_rcu(struct kunit *test)
{
	struct ka_counters a, b;
	unsigned int i;

	ka_counters_read(&a);
	for (i = 0; i < 700; i++) {
		void *p = ka_alloc(32 + i, GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, p);
		ka_free_rcu(p);
	}
	ka_rcu_barrier();
	ka_counters_read(&b);
	KUNIT_EXPECT_EQ(test, b.frees - a.frees, 700UL);
}

/* All CPUs allocate and free, passing half their objects to the next CPU. */
#define KA_XCPU_SLOTS	64
#define KA_XCPU_ROUNDS	3000

struct ka_xcpu {
	spinlock_t lock;
	void *inbox[KA_XCPU_SLOTS];
	size_t sizes[KA_XCPU_SLOTS];
	u8 seeds[KA_XCPU_SLOTS];
	unsigned int nin;
	struct ka_xcpu *next;
	struct task_struct *task;
	struct completion done;
	unsigned long errors;
	unsigned long ops;
	unsigned int cpu;
};

/* Objects carry a pattern over their first bytes: cheap under KASAN. */
#define KA_XCPU_CHECKED(size)	min_t(size_t, size, 128)

static bool ka_xcpu_give(struct ka_xcpu *to, void *p, size_t size, u8 seed)
{
	bool ok = false;

	spin_lock(&to->lock);
	if (to->nin < KA_XCPU_SLOTS) {
		to->sizes[to->nin] = size;
		to->seeds[to->nin] = seed;
		to->inbox[to->nin++] = p;
		ok = true;
	}
	spin_unlock(&to->lock);
	return ok;
}

static int ka_xcpu_thread(void *arg)
{
	struct ka_xcpu *x = arg;
	unsigned int r;

	for (r = 0; r < KA_XCPU_ROUNDS; r++) {
		size_t size = 1 + get_random_u32() % (r % 16 ? 2048 : 40000);
		u8 seed = (u8)(x->cpu * 31 + r);
		u8 *p = ka_alloc(size, GFP_KERNEL);
		void *got;

		if (!p) {
			x->errors++;
			continue;
		}
		ka_test_fill(p, KA_XCPU_CHECKED(size), seed);
		x->ops++;
		if (!(r & 1) && ka_xcpu_give(x->next, p, size, seed))
			p = NULL;
		else if (!ka_test_check(p, KA_XCPU_CHECKED(size), seed))
			x->errors++;
		ka_free(p);

		/* objects filled and given to us by the previous CPU's thread */
		spin_lock(&x->lock);
		got = x->nin ? x->inbox[--x->nin] : NULL;
		size = got ? x->sizes[x->nin] : 0;
		seed = got ? x->seeds[x->nin] : 0;
		spin_unlock(&x->lock);
		if (got) {
			if (ka_size(got) < size ||
			    !ka_test_check(got, KA_XCPU_CHECKED(size), seed))
				x->errors++;
			ka_free(got);
			x->ops++;
		}
		if (!(r % 256))
			cond_resched();
	}
	complete(&x->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static void ka_api_all_cpus_cross_free(struct kunit *test)
{
	unsigned int n = 0, i, ncpu = num_online_cpus();
	struct ka_counters a, b;
	struct ka_xcpu *x;
	int cpu;

	x = kunit_kcalloc(test, ncpu, sizeof(*x), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, x);
	ka_counters_read(&a);
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		spin_lock_init(&x[n].lock);
		init_completion(&x[n].done);
		x[n].cpu = cpu;
		x[n].next = &x[(n + 1) % ncpu];
		x[n].task = kthread_create_on_cpu(ka_xcpu_thread, &x[n], cpu,
						  "ka_xcpu/%u");
		if (IS_ERR(x[n].task))
			break;
		n++;
	}
	cpus_read_unlock();
	KUNIT_ASSERT_EQ(test, n, ncpu);
	for (i = 0; i < n; i++)
		wake_up_process(x[i].task);
	for (i = 0; i < n; i++)
		wait_for_completion(&x[i].done);
	for (i = 0; i < n; i++)
		kthread_stop(x[i].task);
	/* whatever is left in the inboxes */
	for (i = 0; i < n; i++) {
		while (x[i].nin)
			ka_free(x[i].inbox[--x[i].nin]);
		KUNIT_EXPECT_EQ_MSG(test, x[i].errors, 0UL, "cpu %u", x[i].cpu);
		KUNIT_EXPECT_GE(test, x[i].ops, (unsigned long)KA_XCPU_ROUNDS);
	}
	ka_counters_read(&b);
	KUNIT_EXPECT_EQ(test, b.allocs + b.large_allocs - a.allocs - a.large_allocs,
			b.frees + b.large_frees - a.frees - a.large_frees);
	KUNIT_EXPECT_EQ(test, b.refused, a.refused);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
	kunit_info(test, "%u CPUs, %u nodes, %lu allocations", n,
		   num_online_nodes(), b.allocs + b.large_allocs - a.allocs - a.large_allocs);
}

/* GFP_ATOMIC from a hard-irq hrtimer while process context allocates. */
struct ka_irq_test {
	struct hrtimer timer;
	void *held[16];
	unsigned int fired;
	unsigned int failed;
	unsigned int bad;
	bool stop;
};

static enum hrtimer_restart ka_irq_timer(struct hrtimer *t)
{
	struct ka_irq_test *it = container_of(t, struct ka_irq_test, timer);
	unsigned int slot = it->fired % ARRAY_SIZE(it->held);
	size_t size = (it->fired % 5 == 4) ? 40000 : 24 + it->fired % 1000;
	u8 *p;

	if (it->held[slot]) {
		if (*(u8 *)it->held[slot] != (u8)slot)
			it->bad++;
		ka_free(it->held[slot]);
	}
	p = ka_alloc(size, GFP_ATOMIC | __GFP_NOWARN);
	if (p)
		p[0] = (u8)slot;
	else
		it->failed++;
	it->held[slot] = p;
	it->fired++;
	if (READ_ONCE(it->stop))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(50 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void ka_api_hardirq_atomic(struct kunit *test)
{
	struct ka_irq_test *it;
	unsigned long start = jiffies;
	unsigned int i, loops = 0;

	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		kunit_skip(test, "PREEMPT_RT: ka may not be called from hard irq");
	it = kunit_kzalloc(test, sizeof(*it), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, it);
	hrtimer_init(&it->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	it->timer.function = ka_irq_timer;
	hrtimer_start(&it->timer, ns_to_ktime(50 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_HARD);
	while (ka_irq_test_more(start, READ_ONCE(it->fired))) {
		u8 *p = ka_alloc(24 + loops % 1000, GFP_KERNEL);

		/* no KUNIT_ASSERT while the timer runs: it would stay armed */
		if (!p) {
			KUNIT_FAIL(test, "ka_alloc(%u) failed", 24 + loops % 1000);
			break;
		}
		ka_test_fill(p, 24, 7);
		if (!ka_test_check(p, 24, 7))
			KUNIT_FAIL(test, "process-context object corrupted");
		ka_free(p);
		if (!(++loops % 64))
			cond_resched();
	}
	WRITE_ONCE(it->stop, true);
	hrtimer_cancel(&it->timer);
	for (i = 0; i < ARRAY_SIZE(it->held); i++)
		ka_free(it->held[i]);
	KUNIT_EXPECT_GT(test, it->fired, 10U);
	KUNIT_EXPECT_EQ(test, it->failed, 0U);
	KUNIT_EXPECT_EQ(test, it->bad, 0U);
	kunit_info(test, "%u hard-irq allocations, %u in process context",
		   it->fired, loops);
}

/*
 * Double frees in normal mode: each is reported once, counted as refused
 * and as a double free but not as a free, and the object is handed out
 * at most once afterwards, whichever path took the first copy back.
 */
enum ka_dfree_kind {
	KA_DFREE_NAIVE,		/* free(p); free(p) */
	KA_DFREE_BURIED,	/* free(p); free(q1..q8); free(p) */
	KA_DFREE_BULK,		/* ka_free_bulk() of { p, q, p } */
	KA_DFREE_REMOTE,	/* an object of another node */
	KA_DFREE_DRAINED,	/* free(p); drain; free(p): p back in its span */
	KA_DFREE_LARGE,		/* a large object: refused */
};

static const char * const ka_dfree_names[] = {
	"naive", "buried under other frees", "ka_free_bulk", "remote node",
	"after a drain", "large object",
};

static void ka_dfree_desc(const char * const *name, char *desc)
{
	strscpy(desc, *name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(ka_dfree, ka_dfree_names, ka_dfree_desc);

static void ka_api_double_free(struct kunit *test)
{
	enum ka_dfree_kind kind = (const char * const *)test->param_value -
				  ka_dfree_names;
	bool large = kind == KA_DFREE_LARGE;
	size_t size = large ? 100000 : 64;
	unsigned int i, n, twice = 0, bad = 0;
	void *p, *q[8] = {}, **held;
	struct ka_counters a, b;
	unsigned long out;
	int node = NUMA_NO_NODE;

	if (ka_debug_on())
		kunit_skip(test, "debug mode has its own double-free checks");
	if (kind == KA_DFREE_REMOTE) {
		if (num_online_nodes() < 2)
			kunit_skip(test, "needs two NUMA nodes");
		node = next_node_in(numa_mem_id(), node_states[N_MEMORY]);
	}
	/* enough to empty the magazine twice over */
	n = large ? 16 : 2 * ka_classes[ka_size_class(size)].cache_max + 64;
	held = kunit_kcalloc(test, n, sizeof(*held), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, held);

	migrate_disable();	/* one CPU's magazine throughout */
	ka_drain();
	out = ka_test_objs_out();
	p = ka_alloc_node(size, GFP_KERNEL, node);
	for (i = 0; i < ARRAY_SIZE(q); i++)
		q[i] = ka_alloc_node(size, GFP_KERNEL, node);
	if (!p || !q[ARRAY_SIZE(q) - 1]) {
		KUNIT_FAIL(test, "ka_alloc_node(%zu, %d) failed", size, node);
		goto out;
	}
	if (kind != KA_DFREE_BULK)
		ka_free(p);
	if (kind == KA_DFREE_BURIED)
		for (i = 0; i < ARRAY_SIZE(q); i++)
			ka_free(q[i]);
	if (kind == KA_DFREE_DRAINED)
		ka_drain();
	ka_counters_read(&a);
	if (kind == KA_DFREE_BULK) {
		void *v[3] = { p, q[0], p };

		ka_free_bulk(ARRAY_SIZE(v), v);
		q[0] = NULL;
	} else {
		ka_free(p);
	}
	ka_counters_read(&b);
	KUNIT_EXPECT_EQ(test, b.refused - a.refused, 1UL);
	/*
	 * A freed large object's span is cached (a double free) or, after a
	 * drain, gone (an unknown pointer).
	 */
	KUNIT_EXPECT_EQ(test, b.double_frees - a.double_frees,
			large && kind == KA_DFREE_DRAINED ? 0UL : 1UL);
	KUNIT_EXPECT_EQ(test, b.frees + b.large_frees - a.frees - a.large_frees,
			kind == KA_DFREE_BULK ? 2UL : 0UL);

	/* p comes out at most once, and every object has one owner */
	for (i = 0; i < n; i++) {
		held[i] = ka_alloc_node(size, GFP_KERNEL, node);
		if (!held[i]) {
			KUNIT_FAIL(test, "ka_alloc_node(%zu, %d) failed", size,
				   node);
			break;
		}
		twice += held[i] == p;
		ka_test_fill(held[i], 64, (u8)i);
	}
	for (i = 0; i < n && held[i]; i++)
		bad += !ka_test_check(held[i], 64, (u8)i);
	KUNIT_EXPECT_LE(test, twice, 1U);
	KUNIT_EXPECT_EQ(test, bad, 0U);
	for (i = 0; i < n; i++)
		ka_free(held[i]);
	if (kind != KA_DFREE_BURIED)
		for (i = 0; i < ARRAY_SIZE(q); i++)
			ka_free(q[i]);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
out:
	migrate_enable();
}

static void ka_api_gives_everything_back(struct kunit *test)
{
	struct ka_counters c;

	ka_drain();
	ka_counters_read(&c);
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
	KUNIT_EXPECT_EQ(test, ka_test_pages_held(), 0UL);
	KUNIT_EXPECT_EQ(test, c.allocs + c.large_allocs, c.frees + c.large_frees);
}

/*
 * PREEMPT_RT: ka's locks sleep, so calls from atomic context are refused
 * (as kmalloc may not be called there): an allocation returns NULL, a free
 * leaves the object allocated; both are counted.  Never a sleep in atomic
 * context (CONFIG_DEBUG_ATOMIC_SLEEP would report it).
 */
static void ka_api_rt_atomic_refused(struct kunit *test)
{
	struct ka_counters a, b;
	void *p, *q, *r;
	unsigned long out;

	if (!IS_ENABLED(CONFIG_PREEMPT_RT))
		kunit_skip(test, "only PREEMPT_RT refuses atomic callers");
	p = ka_alloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_drain();
	out = ka_test_objs_out();
	ka_counters_read(&a);
	preempt_disable();
	q = ka_alloc(64, GFP_ATOMIC | __GFP_NOWARN);
	ka_free(p);
	preempt_enable();
	local_irq_disable();
	r = ka_alloc(100000, GFP_ATOMIC | __GFP_NOWARN);
	ka_free(p);
	local_irq_enable();
	ka_counters_read(&b);
	KUNIT_EXPECT_NULL(test, q);
	KUNIT_EXPECT_NULL(test, r);
	KUNIT_EXPECT_EQ(test, b.atomic_refused - a.atomic_refused, 4UL);
	/* the refused frees left p allocated: nothing went back */
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
	KUNIT_EXPECT_EQ(test, b.frees, a.frees);
	ka_free(p);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out - 1);
}

static struct kunit_case ka_api_cases[] = {
	KUNIT_CASE(ka_api_every_small_size),
	KUNIT_CASE_PARAM(ka_api_large_sizes, ka_large_gen_params),
	KUNIT_CASE(ka_api_large_cache),
	KUNIT_CASE(ka_api_zero_and_limits),
	KUNIT_CASE(ka_api_zalloc),
	KUNIT_CASE(ka_api_alignment),
	KUNIT_CASE(ka_api_realloc),
	KUNIT_CASE(ka_api_bulk),
	KUNIT_CASE(ka_api_bulk_all_or_nothing),
	KUNIT_CASE_PARAM(ka_api_invalid_free_refused, ka_bad_free_gen_params),
	KUNIT_CASE_PARAM(ka_api_double_free, ka_dfree_gen_params),
	KUNIT_CASE(ka_api_numa_node),
	KUNIT_CASE(ka_api_free_rcu),
	KUNIT_CASE(ka_api_all_cpus_cross_free),
	KUNIT_CASE(ka_api_hardirq_atomic),
	KUNIT_CASE(ka_api_rt_atomic_refused),
	KUNIT_CASE(ka_api_gives_everything_back),
	{}
};

static struct kunit_suite ka_api_suite = {
	.name = "ka_api",
	.test_cases = ka_api_cases,
};

/* ---------------- debugfs ---------------- */

/* The contents of a ka debugfs file, in a kunit-managed buffer. */
static char *ka_test_read_file(struct kunit *test, const char *name)
{
	size_t size = 256 << 10;
	char *buf = kunit_kzalloc(test, size, GFP_KERNEL);

	if (!buf || ka_debugfs_render(name, buf, size) < 0)
		return NULL;
	return buf;
}

/* The value of the line "@key <value>" of ka's stats file. */
static bool ka_test_stat(const char *text, const char *key, unsigned long *val)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (line && *line) {
		if (!strncmp(line, key, klen) && line[klen] == ' ')
			return sscanf(line + klen + 1, "%lu", val) == 1;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

/* Sum column @col of the stats lines starting with "@tag " (node filter -1). */
static unsigned long ka_test_column(const char *text, const char *tag,
				    unsigned int cls, int col)
{
	const char *line = text;
	unsigned long sum = 0;

	while (line && *line) {
		unsigned long v[18];
		int n;

		if (!strncmp(line, tag, strlen(tag))) {
			n = sscanf(line + strlen(tag),
				   " %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu",
				   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
				   &v[7], &v[8], &v[9], &v[10], &v[11], &v[12],
				   &v[13], &v[14], &v[15], &v[16]);
			if (n > col && (!cls || v[1] == cls))
				sum += v[col];
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return sum;
}

/*
 * The "cpu" lines of @text (cpu node cached_bytes capacity_bytes grows
 * shrinks): one per possible CPU, none cached beyond its capacity nor its
 * capacity beyond "pcpu_budget", @cached bytes cached in all.
 */
static void ka_test_check_cpu_lines(struct kunit *test, const char *text,
				    unsigned long cached)
{
	unsigned long budget = 0, sum = 0, v[4];
	const char *line = text;
	unsigned int lines = 0;
	int cpu;

	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pcpu_budget", &budget));
	KUNIT_EXPECT_EQ(test, budget, READ_ONCE(ka_pcpu_budget));
	for (; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, "cpu ", 4) ||
		    sscanf(line + 4, "%lu %lu %lu %lu", &v[0], &v[1], &v[2],
			   &v[3]) != 4)
			continue;
		lines++;
		sum += v[2];
		KUNIT_EXPECT_LE(test, v[2], v[3]);
		KUNIT_EXPECT_LE(test, v[3], budget);
	}
	KUNIT_EXPECT_EQ(test, sum, cached);
	cpu = num_possible_cpus();
	KUNIT_EXPECT_EQ(test, lines, (unsigned int)cpu);
}

static void ka_debugfs_consistent(struct kunit *test)
{
	unsigned int c64 = ka_size_class(64), c5k = ka_size_class(5000);
	unsigned long allocs, frees, large, in_use, used, held, out64 = 0;
	void **p = kunit_kcalloc(test, 113, sizeof(void *), GFP_KERNEL);
	void *tmp[10];
	const char *line;
	char *text;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_drain();
	/* 100 objects of 64 bytes, 10 of 5000, 3 large */
	for (i = 0; i < 113; i++)
		p[i] = ka_alloc(i < 100 ? 64 : i < 110 ? 5000 : 100000,
				GFP_KERNEL);
	/* empty the per-CPU caches: then every object out is one of ours */
	ka_drain();

	text = ka_test_read_file(test, "stats");
	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "allocs", &allocs));
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "frees", &frees));
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pages_used", &used));
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pages_held", &held));
	/* columns after "class": node class size spans ... in_use is #8 */
	KUNIT_EXPECT_EQ(test, ka_test_column(text, "class", c64, 8), 100UL);
	KUNIT_EXPECT_EQ(test, ka_test_column(text, "class", c5k, 8), 10UL);
	/* heap: node chunks free pages_held pages_used large_objects ... */
	large = ka_test_column(text, "heap", 0, 5);
	KUNIT_EXPECT_EQ(test, large, 3UL);
	in_use = ka_test_column(text, "class", 0, 8) + large;
	/* everything earlier suites allocated was freed: in use = allocs - frees */
	KUNIT_EXPECT_EQ(test, in_use, allocs - frees);
	KUNIT_EXPECT_EQ(test, in_use, 113UL);
	KUNIT_EXPECT_LE(test, used, held);
	KUNIT_EXPECT_EQ(test, used, ka_test_column(text, "heap", 0, 4));
	ka_test_check_cpu_lines(test, text, 0);


	/* spans: the objects out of class 64's spans are ours */
	text = ka_test_read_file(test, "spans");
	KUNIT_ASSERT_NOT_NULL(test, text);
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned int cls, pages, out, total;
		int node;

		/* the first column is the span's "chunk:page" name */
		if (sscanf(line, "%*s %u %d %u %u/%u", &cls, &node, &pages,
			   &out, &total) == 5 && cls == c64)
			out64 += out;
	}
	KUNIT_EXPECT_EQ(test, out64, 100UL);

	/*
	 * On one CPU, ten objects of 64 bytes taken and given back: a
	 * refill's batch, all of it back in the magazine, is all that is
	 * cached on any CPU.
	 */
	migrate_disable();
	ka_drain();
	for (i = 0; i < 10; i++)
		tmp[i] = ka_alloc(64, GFP_KERNEL);
	for (i = 0; i < 10; i++)
		ka_free(tmp[i]);
	text = ka_test_read_file(test, "stats");
	migrate_enable();
	KUNIT_ASSERT_NOT_NULL(test, text);
	ka_test_check_cpu_lines(test, text,
				(unsigned long)ka_classes[c64].batch * 64);

	for (i = 0; i < 113; i++)
		ka_free(p[i]);
	ka_drain();
	text = ka_test_read_file(test, "stats");
	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_EXPECT_EQ(test, ka_test_column(text, "class", 0, 8), 0UL);
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pages_held", &held));
	KUNIT_EXPECT_EQ(test, held, 0UL);
	/* the scavenger's totals: no hole outlives its chunk */
	KUNIT_EXPECT_TRUE(test, ka_test_stat(text, "pages_released", &held));
	KUNIT_EXPECT_TRUE(test, ka_test_stat(text, "scavenged_pages", &held));
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pages_holes", &held));
	KUNIT_EXPECT_EQ(test, held, 0UL);
	text = ka_test_read_file(test, "spans");
	KUNIT_ASSERT_NOT_NULL(test, text);
	/* only the header line is left */
	KUNIT_EXPECT_PTR_EQ(test, strchr(text, '\n'), text + strlen(text) - 1);
}

static void ka_debugfs_control_files(struct kunit *test)
{
	static const char * const bad[] = {
		"2", "yes", "", "-1", "0", "1 2", "0x1", "11", "1\n\n",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, ka_debugfs_parse_control(bad[i]),
				    -EINVAL, "\"%s\"", bad[i]);
	KUNIT_EXPECT_EQ(test, ka_debugfs_parse_control("1"), 0);
	KUNIT_EXPECT_EQ(test, ka_debugfs_parse_control("1\n"), 0);
}

static struct kunit_case ka_debugfs_cases[] = {
	KUNIT_CASE(ka_debugfs_consistent),
	KUNIT_CASE(ka_debugfs_control_files),
	{}
};

static struct kunit_suite ka_debugfs_suite = {
	.name = "ka_debugfs",
	.test_cases = ka_debugfs_cases,
};

/* ---------------- ka_cache ---------------- */

static atomic_t ka_test_ctor_calls;

/* The constructor: counts its calls and stamps the object. */
static void ka_test_ctor(void *p)
{
	atomic_inc(&ka_test_ctor_calls);
	memset(p, 0x5a, 40);
}

/* The line of debugfs "caches" for @name, or NULL. */
static char *ka_test_cache_line(struct kunit *test, const char *name)
{
	char *buf = ka_test_read_file(test, "caches"), *line;
	size_t len = strlen(name);

	if (!buf)
		return NULL;
	while ((line = strsep(&buf, "\n")))
		if (!strncmp(line, name, len) && line[len] == ' ')
			return line;
	return NULL;
}

/*
 * The constructor runs once per object, when its span is carved: not per
 * allocation, and an object comes back in the state it was freed in.
 */
static void ka_cache_ctor_once(struct kunit *test)
{
	const unsigned int n = 1000;
	unsigned int i, r, calls, more, fresh = 0;
	struct ka_cache *c;
	void **objs;
	u8 *p;

	objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	atomic_set(&ka_test_ctor_calls, 0);
	c = ka_cache_create("ka_test_ctor", 40, 0, 0, ka_test_ctor);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_EXPECT_EQ(test, atomic_read(&ka_test_ctor_calls), 0);
	for (i = 0; i < n; i++) {
		objs[i] = ka_cache_alloc(c, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		p = objs[i];
		KUNIT_EXPECT_EQ(test, p[0], 0x5a);
		KUNIT_EXPECT_EQ(test, p[39], 0x5a);
		/* the state the client leaves it in */
		p[0] = 0xc3;
	}
	calls = atomic_read(&ka_test_ctor_calls);
	/* whole spans were constructed, at least one object per allocation */
	KUNIT_EXPECT_GE(test, calls, n);
	KUNIT_EXPECT_EQ(test, calls % ka_classes[ka_size_class(40)].nelems, 0U);
	/*
	 * Free and allocate the last ten again, a thousand times: they come
	 * back from this CPU's magazine (the task stays on it), in the state
	 * they were freed in, and no constructor runs.
	 */
	migrate_disable();
	for (r = 0; r < 1000; r++) {
		for (i = n - 10; i < n; i++)
			ka_cache_free(c, objs[i]);
		for (i = n - 10; i < n; i++)
			objs[i] = ka_cache_alloc(c, GFP_KERNEL);
	}
	migrate_enable();
	for (i = n - 10; i < n; i++)
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	KUNIT_EXPECT_EQ(test, atomic_read(&ka_test_ctor_calls), calls);
	for (i = 0; i < n; i++) {
		p = objs[i];
		KUNIT_EXPECT_EQ(test, p[0], 0xc3);
		KUNIT_EXPECT_EQ(test, p[39], 0x5a);
	}
	/*
	 * All of them: emptied spans may go back to the heap (as SLUB frees
	 * empty slabs), so an object is either in its freed state or freshly
	 * constructed - by a constructor run now, or by one of the first
	 * phase's runs for an object no one took then (the rest of the last
	 * span, or objects another CPU's magazine kept while the task moved)
	 * - and constructors run only for whole new spans.
	 */
	for (i = 0; i < n; i++)
		ka_cache_free(c, objs[i]);
	for (i = 0; i < n; i++) {
		objs[i] = ka_cache_alloc(c, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		p = objs[i];
		if (p[0] != 0xc3) {
			KUNIT_EXPECT_EQ(test, p[0], 0x5a);
			fresh++;
		}
		KUNIT_EXPECT_EQ(test, p[39], 0x5a);
	}
	more = atomic_read(&ka_test_ctor_calls) - calls;
	KUNIT_EXPECT_LE(test, fresh, more + (calls - n));
	KUNIT_EXPECT_EQ(test, more % ka_classes[ka_size_class(40)].nelems, 0U);
	for (i = 0; i < n; i++)
		ka_cache_free(c, objs[i]);
	ka_cache_destroy(c);
	KUNIT_EXPECT_NULL(test, ka_test_cache_line(test, "ka_test_ctor"));
}

struct ka_align_case {
	unsigned int size;
	unsigned int align;
	slab_flags_t flags;
	unsigned int want;	/* alignment the objects must have */
};

static const struct ka_align_case ka_align_cases[] = {
	{ 24, 0, 0, 8 },
	{ 24, 0, SLAB_HWCACHE_ALIGN, 32 },	/* SLUB: half a line fits */
	{ 40, 0, SLAB_HWCACHE_ALIGN, 64 },
	{ 100, 64, 0, 64 },
	{ 200, 128, SLAB_HWCACHE_ALIGN, 128 },
	{ 1000, 512, 0, 512 },
	{ 3000, 4096, 0, 4096 },
	{ 8, 16, 0, 16 },
};

static void ka_align_desc(const struct ka_align_case *t, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "size %u align %u%s", t->size,
		 t->align, t->flags ? " HWCACHE_ALIGN" : "");
}

KUNIT_ARRAY_PARAM(ka_align, ka_align_cases, ka_align_desc);

/* Every object of a cache has the alignment asked for, and its size. */
static void ka_cache_alignment(struct kunit *test)
{
	const struct ka_align_case *t = test->param_value;
	const unsigned int n = 200;
	struct ka_cache *c;
	unsigned int i;
	void **objs;

	objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	c = ka_cache_create("ka_test_align", t->size, t->align, t->flags, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_EXPECT_EQ(test, ka_cache_size(c), t->size);
	for (i = 0; i < n; i++) {
		objs[i] = ka_cache_alloc(c, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		KUNIT_EXPECT_EQ(test, (unsigned long)objs[i] & (t->want - 1), 0UL);
		KUNIT_EXPECT_GE(test, ka_size(objs[i]), (size_t)t->size);
		memset(objs[i], i, t->size);
	}
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, ((u8 *)objs[i])[t->size - 1], (u8)i);
		ka_cache_free(c, objs[i]);
	}
	ka_cache_destroy(c);
}

/* What ka cannot give is refused at creation, with nothing left behind. */
static void ka_cache_refused(struct kunit *test)
{
	struct ka_cache *c, *c2;

	KUNIT_EXPECT_NULL(test, ka_cache_create("ka_test_rcu", 64, 0,
						SLAB_TYPESAFE_BY_RCU, NULL));
	KUNIT_EXPECT_NULL(test, ka_cache_create("ka_test_poison", 64, 0,
						SLAB_POISON, NULL));
	KUNIT_EXPECT_NULL(test, ka_cache_create("ka_test_dma", 64, 0,
						SLAB_CACHE_DMA, NULL));
	KUNIT_EXPECT_NULL(test, ka_cache_create("ka_test_align3", 64, 3, 0, NULL));
	KUNIT_EXPECT_NULL(test, ka_cache_create("ka_test_align8k", 64,
						2 * PAGE_SIZE, 0, NULL));
	KUNIT_EXPECT_NULL(test, ka_cache_create("ka_test_size0", 0, 0, 0, NULL));
	KUNIT_EXPECT_NULL(test, ka_cache_create("ka_test_big",
						KA_MAX_SMALL_SIZE + 1, 0, 0, NULL));
	KUNIT_EXPECT_NULL(test, ka_cache_create(NULL, 64, 0, 0, NULL));
	c = ka_cache_create("ka_test_dup", 64, 0, SLAB_ACCOUNT |
			    SLAB_RECLAIM_ACCOUNT, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_EXPECT_NULL(test, ka_cache_create("ka_test_dup", 64, 0, 0, NULL));
	ka_cache_destroy(c);
	/* the name is free again */
	c2 = ka_cache_create("ka_test_dup", 128, 0, 0, NULL);
	KUNIT_EXPECT_NOT_NULL(test, c2);
	ka_cache_destroy(c2);
	KUNIT_EXPECT_NULL(test, ka_test_cache_line(test, "ka_test_dup"));
	KUNIT_EXPECT_NULL(test, ka_test_cache_line(test, "ka_test_rcu"));
}

/*
 * Destroy with objects out: reported, the cache and its memory stay (the
 * objects keep their contents and can be freed), and a destroy once they
 * are back frees the cache.
 */
static void ka_cache_destroy_with_objects(struct kunit *test)
{
	struct ka_cache *c, *c2;
	u64 *objs[10];
	char *line;
	unsigned int i;

	c = ka_cache_create("ka_test_leak", 64, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		objs[i] = ka_cache_alloc(c, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		objs[i][7] = i;
	}
	line = ka_test_cache_line(test, "ka_test_leak");
	KUNIT_ASSERT_NOT_NULL(test, line);
	KUNIT_EXPECT_NOT_NULL(test, strstr(line, " 64 "));
	ka_cache_destroy(c);
	line = ka_test_cache_line(test, "ka_test_leak");
	KUNIT_ASSERT_NOT_NULL(test, line);
	KUNIT_EXPECT_NOT_NULL(test, strstr(line, " dead"));
	/* the name may be used again while the dead cache lingers */
	c2 = ka_cache_create("ka_test_leak", 32, 0, 0, NULL);
	KUNIT_EXPECT_NOT_NULL(test, c2);
	ka_cache_destroy(c2);
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		KUNIT_EXPECT_TRUE(test, ka_owns(objs[i]));
		KUNIT_EXPECT_EQ(test, objs[i][7], (u64)i);
		/* kfree() of a cache object: back to its cache */
		if (i % 2)
			ka_free(objs[i]);
		else
			ka_cache_free(c, objs[i]);
	}
	ka_cache_destroy(c);
	KUNIT_EXPECT_NULL(test, ka_test_cache_line(test, "ka_test_leak"));
}

/*
 * An object freed to the wrong cache, or a double free in a cache without
 * constructor, is refused and changes nothing; debugfs counts the objects.
 */
static void ka_cache_bad_frees(struct kunit *test)
{
	struct ka_cache *a, *b;
	struct ka_counters c0, c1;
	void *pa, *pb, *pk, *p2;
	unsigned long active = 0;
	char *line;
	int n;

	a = ka_cache_create("ka_test_a", 96, 0, 0, NULL);
	b = ka_cache_create("ka_test_b", 96, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	pa = ka_cache_alloc(a, GFP_KERNEL);
	pb = ka_cache_alloc(b, GFP_KERNEL);
	pk = ka_alloc(96, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pa);
	KUNIT_ASSERT_NOT_NULL(test, pb);
	KUNIT_ASSERT_NOT_NULL(test, pk);
	line = ka_test_cache_line(test, "ka_test_a");
	KUNIT_ASSERT_NOT_NULL(test, line);
	/* name size class slot align active ... */
	n = sscanf(line, "%*s %*u %*u %*u %*u %lu", &active);
	KUNIT_EXPECT_EQ(test, n, 1);
	KUNIT_EXPECT_EQ(test, active, 1UL);
	ka_counters_read(&c0);
	ka_cache_free(b, pa);		/* wrong cache */
	ka_cache_free(a, pk);		/* a ka_alloc() object */
	ka_cache_free(a, pa + 8);	/* inside an object */
	ka_counters_read(&c1);
	KUNIT_EXPECT_EQ(test, c1.refused - c0.refused, 3UL);
	ka_cache_free(a, pa);
	ka_cache_free(a, pa);		/* double free: its tag is there */
	ka_counters_read(&c0);
	KUNIT_EXPECT_EQ(test, c0.double_frees - c1.double_frees, 1UL);
	ka_free(pk);
	/* pa comes back once, not twice */
	pk = ka_cache_alloc(a, GFP_KERNEL);
	p2 = ka_cache_alloc(a, GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, pk, pa);
	KUNIT_EXPECT_PTR_NE(test, p2, pa);
	ka_cache_free(a, pk);
	ka_cache_free(a, p2);
	ka_cache_free(b, pb);
	ka_cache_destroy(b);
	ka_cache_destroy(a);
	KUNIT_EXPECT_NULL(test, ka_test_cache_line(test, "ka_test_a"));
	KUNIT_EXPECT_NULL(test, ka_test_cache_line(test, "ka_test_b"));
}

/*
 * A kernel kmem_cache seen as a ka_cache (a module built with
 * ka_redirect.h calling __getname()): the calls go to SLUB.
 */
static void ka_cache_kernel_cache_passed_on(struct kunit *test)
{
	struct kmem_cache *kc;
	struct ka_cache *c;
	void *p;

	kc = kmem_cache_create("ka_test_slub", 72, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, kc);
	c = (struct ka_cache *)kc;
	KUNIT_EXPECT_EQ(test, ka_cache_size(c), kmem_cache_size(kc));
	p = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_FALSE(test, ka_owns(p));
	memset(p, 0, 72);
	ka_cache_free(c, p);
	p = ka_cache_alloc_node(c, GFP_KERNEL, numa_mem_id());
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_FALSE(test, ka_owns(p));
	ka_cache_free(c, p);
	/* refused: not ka's to destroy */
	ka_cache_destroy(c);
	kmem_cache_destroy(kc);
}

/*
 * ka_claims(), include/ka_redirect.h's test before a free: ka's objects,
 * live or freed (a double free must reach ka_free(), not the kernel's
 * kfree()), yes; the kernel's slab and large kmalloc objects, vmalloc
 * memory, NULL, no.
 */
static void ka_claims_pointers(struct kunit *test)
{
	void *small = ka_alloc(64, GFP_KERNEL);
	void *large = ka_alloc(100000, GFP_KERNEL);
	void *km = kmalloc(64, GFP_KERNEL);
	void *kml = kmalloc(100000, GFP_KERNEL);
	void *vm = vmalloc(8192);

	KUNIT_ASSERT_TRUE(test, small && large && km && kml && vm);
	KUNIT_EXPECT_TRUE(test, ka_claims(small));
	KUNIT_EXPECT_TRUE(test, ka_claims(large));
	KUNIT_EXPECT_FALSE(test, ka_claims(km));
	KUNIT_EXPECT_FALSE(test, ka_claims(kml));
	KUNIT_EXPECT_FALSE(test, ka_claims(vm));
	KUNIT_EXPECT_FALSE(test, ka_claims(NULL));
	KUNIT_EXPECT_FALSE(test, ka_claims(ZERO_SIZE_PTR));
	ka_free(large);
	/* cached or gone: not live, but ka's pages, not the kernel's kfree()'s */
	KUNIT_EXPECT_FALSE(test, ka_owns(large));
	KUNIT_EXPECT_TRUE(test, ka_claims(large));
	ka_free(small);
	KUNIT_EXPECT_TRUE(test, ka_claims(small));
	kfree(km);
	kfree(kml);
	vfree(vm);
}

static struct kunit_case ka_cache_cases[] = {
	KUNIT_CASE(ka_claims_pointers),
	KUNIT_CASE(ka_cache_kernel_cache_passed_on),
	KUNIT_CASE(ka_cache_ctor_once),
	KUNIT_CASE_PARAM(ka_cache_alignment, ka_align_gen_params),
	KUNIT_CASE(ka_cache_refused),
	KUNIT_CASE(ka_cache_destroy_with_objects),
	KUNIT_CASE(ka_cache_bad_frees),
	{}
};

/* ka.ko debug=1: caches are refused; that is all there is to test. */
static int ka_cache_test_init(struct kunit *test)
{
	if (ka_debug_on()) {
		KUNIT_EXPECT_NULL(test, ka_cache_create("ka_test_debug", 64, 0, 0,
							NULL));
		kunit_skip(test, "ka.ko debug=1 refuses caches");
	}
	return 0;
}

static struct kunit_suite ka_cache_suite = {
	.name = "ka_cache",
	.init = ka_cache_test_init,
	.test_cases = ka_cache_cases,
};

kunit_test_suites(&ka_sizeclass_suite, &ka_span_suite, &ka_mcentral_suite,
		  &ka_mheap_suite, &ka_mcache_suite, &ka_api_suite,
		  &ka_debugfs_suite, &ka_cache_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for ka");
