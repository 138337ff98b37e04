// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for ka's debug mode: load ka.ko with debug=1 first.
 *
 * Each case corrupts memory on purpose and counts ka's reports through a
 * KUnit resource named "ka_errors", as lib/slub_kunit.c counts SLUB's.
 * ka's objects live in pages KASAN leaves unpoisoned, so the corruption
 * is invisible to KASAN; the accesses are still bracketed with
 * kasan_disable_current() for the day ka poisons its free objects.
 */
#include <kunit/test.h>
#include <kunit/resource.h>
#include <linux/kasan.h>
#include <linux/poison.h>
#include "ka_debug.h"

KA_IMPORT_INTERNAL();

static int ka_errors;
static struct kunit_resource ka_errors_resource;

static int ka_debug_test_init(struct kunit *test)
{
	if (!ka_debug_on())
		kunit_skip(test, "load ka.ko with debug=1");
	ka_errors = 0;
	kunit_add_named_resource(test, NULL, NULL, &ka_errors_resource,
				 "ka_errors", &ka_errors);
	return 0;
}

static void ka_debug_double_free(struct kunit *test)
{
	struct ka_counters a, b;
	u8 *p = ka_alloc(64, GFP_KERNEL), *q;

	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_counters_read(&a);
	ka_free(p);
	ka_free(p);
	ka_counters_read(&b);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
	KUNIT_EXPECT_EQ(test, b.debug_reports - a.debug_reports, 1UL);
	/* the second free was refused: the object is handed out only once */
	q = ka_alloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
	ka_free(q);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
}

static void ka_debug_redzone_small(struct kunit *test)
{
	u8 *p = ka_alloc(60, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, ka_size(p), (size_t)60);
	kasan_disable_current();
	p[60] = 0x42;		/* one byte past the end */
	kasan_enable_current();
	ka_free(p);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
}

static void ka_debug_redzone_large(struct kunit *test)
{
	u8 *p = ka_alloc(40000, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, ka_size(p), (size_t)40000);
	kasan_disable_current();
	p[40001] = 0x42;
	kasan_enable_current();
	ka_free(p);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
}

static void ka_debug_use_after_free(struct kunit *test)
{
	u8 *p, *q;

	migrate_disable();
	p = ka_alloc(64, GFP_KERNEL);
	if (!p) {
		migrate_enable();
		KUNIT_FAIL(test, "allocation failed");
		return;
	}
	ka_free(p);
	kasan_disable_current();
	p[10] = 0x42;		/* write after free */
	kasan_enable_current();
	/* the per-CPU cache is LIFO: the same object comes back */
	q = ka_alloc(64, GFP_KERNEL);
	migrate_enable();
	KUNIT_EXPECT_PTR_EQ(test, q, p);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
	ka_free(q);
}

static void ka_debug_poison_and_clean_use(struct kunit *test)
{
	u8 *p = ka_alloc(100, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	/* content of a fresh object is poison, the redzone follows */
	KUNIT_EXPECT_EQ(test, p[0], (u8)POISON_FREE);
	memset(p, 0x11, 100);
	ka_free(p);
	p = ka_zalloc(100, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_PTR_EQ(test, memchr_inv(p, 0, 100), NULL);
	ka_free(p);
	/* correct use reports nothing */
	KUNIT_EXPECT_EQ(test, ka_errors, 0);
}

/* Caches in debug mode: live bits, redzones, poison (no constructor). */
static struct ka_cache *ka_debug_cache(struct kunit *test, const char *name,
				       unsigned int size, void (*ctor)(void *))
{
	struct ka_cache *c = ka_cache_create(name, size, 0, 0, ctor);

	KUNIT_EXPECT_NOT_NULL(test, c);
	return c;
}

static void ka_debug_cache_double_free(struct kunit *test)
{
	struct ka_cache *c = ka_debug_cache(test, "ka_debug_df", 64, NULL);
	u8 *p, *q;

	if (!c)
		return;
	p = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_cache_free(c, p);
	ka_cache_free(c, p);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
	/* refused: handed out once more, not twice */
	p = ka_cache_alloc(c, GFP_KERNEL);
	q = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_EXPECT_TRUE(test, p && q && p != q);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
	ka_cache_free(c, p);
	ka_cache_free(c, q);
	ka_cache_destroy(c);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
}

static void ka_debug_cache_redzone(struct kunit *test)
{
	struct ka_cache *c = ka_debug_cache(test, "ka_debug_rz", 60, NULL);
	u8 *p;

	if (!c)
		return;
	p = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	kasan_disable_current();
	p[60] = 0x42;		/* one byte past the cache's size */
	kasan_enable_current();
	ka_cache_free(c, p);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
	ka_cache_destroy(c);
}

static void ka_debug_cache_use_after_free(struct kunit *test)
{
	struct ka_cache *c = ka_debug_cache(test, "ka_debug_uaf", 64, NULL);
	u8 *p, *q;

	if (!c)
		return;
	migrate_disable();
	p = ka_cache_alloc(c, GFP_KERNEL);
	if (!p) {
		migrate_enable();
		ka_cache_destroy(c);
		KUNIT_FAIL(test, "allocation failed");
		return;
	}
	ka_cache_free(c, p);
	kasan_disable_current();
	KUNIT_EXPECT_EQ(test, p[0], (u8)POISON_FREE);
	p[10] = 0x42;		/* write after free */
	kasan_enable_current();
	q = ka_cache_alloc(c, GFP_KERNEL);
	migrate_enable();
	KUNIT_EXPECT_PTR_EQ(test, q, p);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
	ka_cache_free(c, q);
	ka_cache_destroy(c);
}

#define KA_DEBUG_CTOR_WORD	0x63746f7273746174UL	/* "ctorstat" */

static void ka_debug_ctor(void *p)
{
	*(unsigned long *)p = KA_DEBUG_CTOR_WORD;
}

/*
 * A cache with a constructor: no poison (a free object keeps the state
 * the constructor gave it, as SLUB's SLAB_POISON skips such caches), live
 * bits and redzones still.
 */
static void ka_debug_cache_ctor_kept(struct kunit *test)
{
	struct ka_cache *c = ka_debug_cache(test, "ka_debug_ctor", 40,
					    ka_debug_ctor);
	unsigned long *p, *q;

	if (!c)
		return;
	migrate_disable();
	p = ka_cache_alloc(c, GFP_KERNEL);
	if (!p) {
		migrate_enable();
		ka_cache_destroy(c);
		KUNIT_FAIL(test, "allocation failed");
		return;
	}
	KUNIT_EXPECT_EQ(test, *p, KA_DEBUG_CTOR_WORD);
	ka_cache_free(c, p);
	q = ka_cache_alloc(c, GFP_KERNEL);
	migrate_enable();
	KUNIT_EXPECT_PTR_EQ(test, q, p);
	if (q)
		KUNIT_EXPECT_EQ(test, *q, KA_DEBUG_CTOR_WORD);
	KUNIT_EXPECT_EQ(test, ka_errors, 0);
	ka_cache_free(c, q);
	ka_cache_free(c, q);
	KUNIT_EXPECT_EQ(test, ka_errors, 1);
	ka_cache_destroy(c);
}

static struct kunit_case ka_debug_cases[] = {
	KUNIT_CASE(ka_debug_double_free),
	KUNIT_CASE(ka_debug_redzone_small),
	KUNIT_CASE(ka_debug_redzone_large),
	KUNIT_CASE(ka_debug_use_after_free),
	KUNIT_CASE(ka_debug_poison_and_clean_use),
	KUNIT_CASE(ka_debug_cache_double_free),
	KUNIT_CASE(ka_debug_cache_redzone),
	KUNIT_CASE(ka_debug_cache_use_after_free),
	KUNIT_CASE(ka_debug_cache_ctor_kept),
	{}
};

static struct kunit_suite ka_debug_suite = {
	.name = "ka_debug",
	.init = ka_debug_test_init,
	.test_cases = ka_debug_cases,
};

kunit_test_suite(ka_debug_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for ka's debug mode");
