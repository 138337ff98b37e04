// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_sizeclass (mod/ka/sizeclass.c): the class table's
 * invariants (Go's 1/8 tail waste, at least four objects a span up to
 * PAGE_SIZE and page classes above it, batches, magazine sizes,
 * mcentral's reserve), the powers of two, every size's lookup and the
 * exact division by magic.
 * Reads the table only.  Shared with utest (utest/utest.mk), which builds
 * it against its shim.
 */
#include "ka_kunit.h"

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
				max_t(unsigned int, KA_MAG_MAX_BYTES,
				      2 * k->size));
		KUNIT_EXPECT_LE(test, k->nelems, 512U);
		/*
		 * mcentral's reserve of empty spans: a batch's worth, at
		 * most 8 KiB, at least a span (what a class cycles through
		 * beyond it is kept by demand, ka_mcentral.hold)
		 */
		KUNIT_EXPECT_GE(test, k->reserve, 1U);
		KUNIT_EXPECT_LE_MSG(test, k->reserve * span,
				    max_t(unsigned int, 8192, span),
				    "class %u (%u bytes)", cls, k->size);
		/* a span is at most KA_MAX_SMALL_SIZE (order 3 at 4 KiB) */
		KUNIT_EXPECT_LE(test, span, (unsigned int)KA_MAX_SMALL_SIZE);
		/*
		 * one-object spans only above PAGE_SIZE, and there every
		 * class is a page multiple of one object (KA_CLASSES_PAGES);
		 * up to PAGE_SIZE at least four objects a span (a CPU's
		 * spans, mcache.c)
		 */
		if (k->size <= PAGE_SIZE) {
			KUNIT_EXPECT_GE_MSG(test, k->nelems, 4U,
					    "class %u (%u bytes)", cls, k->size);
		} else {
			KUNIT_EXPECT_EQ_MSG(test, k->size % PAGE_SIZE, 0UL,
					    "class %u (%u bytes)", cls, k->size);
			KUNIT_EXPECT_EQ(test, k->nelems, 1U);
		}
	}
	/* every page multiple above PAGE_SIZE is a class: 8, 12, .. 32 KiB */
	KUNIT_EXPECT_EQ(test, ka_classes[ka_nr_classes - 1].npages,
			(unsigned int)(KA_MAX_SMALL_SIZE / PAGE_SIZE));
	for (cls = 2; cls < ka_nr_classes; cls++)
		if (ka_classes[cls - 1].size >= PAGE_SIZE)
			KUNIT_EXPECT_EQ(test, ka_classes[cls].size,
					ka_classes[cls - 1].size + (unsigned int)PAGE_SIZE);
}

/*
 * Generic KASAN (mod/ka/kasan.c): a request is served from a larger slot,
 * its redzone behind it, and the size -> class tables say so.
 */
#ifdef CONFIG_KASAN_GENERIC
#define KA_TEST_KASAN	1
#else
#define KA_TEST_KASAN	0
#endif

static void ka_class_powers_of_two(struct kunit *test)
{
	unsigned int size, slot;

	/* natural alignment of power-of-two sizes needs them as classes */
	for (size = 8; size <= KA_MAX_SMALL_SIZE; size *= 2) {
		slot = ka_classes[ka_size_class(size)].size;
		if (!KA_TEST_KASAN)
			KUNIT_EXPECT_EQ_MSG(test, slot, size, "size %u", size);
		else if (size <= PAGE_SIZE)	/* spans start on a page */
			KUNIT_EXPECT_EQ_MSG(test, slot % size, 0U,
					    "size %u: slot %u", size, slot);
	}
}

static void ka_class_lookup_exhaustive(struct kunit *test)
{
	unsigned int size, cls;

	for (size = 1; size <= KA_MAX_SMALL_SIZE; size++) {
		cls = ka_size_class(size);
		if (cls != ka_size_class_go(size) ||
		    cls < 1 || cls >= ka_nr_classes ||
		    ka_classes[cls].size < size ||
		    /* the smallest class that fits, or a redzone behind it */
		    (!KA_TEST_KASAN && cls > 1 &&
		     ka_classes[cls - 1].size >= size) ||
		    (KA_TEST_KASAN && ka_classes[cls].size < size + 16 &&
		     ka_classes[cls].size < KA_MAX_SMALL_SIZE)) {
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

KA_KUNIT_SUITE(ka_sizeclass);
