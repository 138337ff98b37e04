// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_span (mod/ka/span.c, mod/ka/arena.c): a span's alloc
 * bitmap through take/put, object and interior pointers, and the arena
 * map's lookup of ka and foreign pointers.  Lookups under rcu_read_lock().
 *
 * Shared with utest (utest/utest.mk), which builds it against its shim:
 * what needs the kernel's own memory (ka_arena_lookup) is kernel only.
 */
#include "ka_kunit.h"
#ifdef __KERNEL__
#include <linux/slab.h>
#include <linux/vmalloc.h>
#endif

static const unsigned int ka_span_test_classes[] = { 1, 6, 24, 40, 47 };

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

#ifdef __KERNEL__
/* Kernel only: kmalloc(), vmalloc() and the stack are the real ones. */
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
	/* destroyed: its pages map to no span any more */
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, ka_span_of(base));
	rcu_read_unlock();
}
#endif

static struct kunit_case ka_span_cases[] = {
	KUNIT_CASE_PARAM(ka_span_bitmap_transitions, ka_span_class_gen_params),
#ifdef __KERNEL__
	KUNIT_CASE(ka_arena_lookup),
#endif
	{}
};

KA_KUNIT_SUITE(ka_span);
