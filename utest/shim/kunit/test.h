/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <kunit/test.h> in userspace: the part of KUnit that the suites shared
 * between ka_kunit.ko and utest use (kunit/sizeclass_test.c,
 * kunit/span_test.c), as tools/testing/radix-tree builds lib/test_xarray.c.
 * kunit_test_suites() registers the suites at startup; utest/kunit.c runs
 * a case (the suite's .init, the case, its .exit) and utest/unit.c counts
 * each case as one of its tests, each parameter in its own child on a
 * fresh allocator.
 *
 * An ASSERT that fails and kunit_skip() end the case with a longjmp() to
 * the runner, as KUnit ends its kthread.  No locks: one case at a time.
 */
#ifndef _KA_SHIM_KUNIT_TEST_H
#define _KA_SHIM_KUNIT_TEST_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/kernel.h>
#include <linux/gfp.h>

#define KUNIT_PARAM_DESC_SIZE	128
#define KUNIT_MAX_ALLOCS	64

struct kunit {
	const char *name;
	const void *param_value;
	bool failed;
	bool skipped;
	jmp_buf abort;		/* where a failed ASSERT or a skip ends the case */
	unsigned int nr_allocs;
	void *allocs[KUNIT_MAX_ALLOCS];	/* kunit_kzalloc()'s, freed after it */
};

struct kunit_case {
	void (*run_case)(struct kunit *test);
	const char *name;
	const void *(*generate_params)(const void *prev, char *desc);
};

struct kunit_suite {
	const char *name;
	int (*init)(struct kunit *test);
	void (*exit)(struct kunit *test);
	struct kunit_case *test_cases;
};

#define KUNIT_CASE(fn)		{ .run_case = fn, .name = #fn }
#define KUNIT_CASE_PARAM(fn, gen)					\
	{ .run_case = fn, .name = #fn, .generate_params = gen }

/* As the kernel's: the parameters are the elements of @array. */
#define KUNIT_ARRAY_PARAM(name, array, get_desc)			\
	static const void *name##_gen_params(const void *prev, char *desc) \
	{								\
		__typeof__(&(array)[0]) __first = (array);		\
		size_t __i = prev ? (__typeof__(__first))prev - __first + 1 : 0; \
		void (*__get_desc)(__typeof__(__first), char *) = get_desc; \
									\
		if (__i >= ARRAY_SIZE(array))				\
			return NULL;					\
		if (__get_desc)						\
			__get_desc(__first + __i, desc);		\
		return __first + __i;					\
	}

/* utest/kunit.c */
void kunit_register_suites(struct kunit_suite *const *suites, unsigned int n);
void kunit_report(struct kunit *test, const char *file, int line,
		  const char *fmt, ...);
void kunit_msg(struct kunit *test, const char *fmt, ...);
void kunit_abort(struct kunit *test);	/* does not return */
void *kunit_kzalloc(struct kunit *test, size_t size, gfp_t gfp);

#define __KUNIT_CAT(a, b)	a##b
#define __KUNIT_UNIQUE(a, b)	__KUNIT_CAT(a, b)

/* At startup, into the table utest/kunit.c runs. */
#define kunit_test_suites(...)						\
	static struct kunit_suite *const				\
	__KUNIT_UNIQUE(kunit_suites_, __LINE__)[] = { __VA_ARGS__ };	\
	static void __attribute__((constructor))			\
	__KUNIT_UNIQUE(kunit_register_, __LINE__)(void)			\
	{								\
		kunit_register_suites(__KUNIT_UNIQUE(kunit_suites_, __LINE__), \
			ARRAY_SIZE(__KUNIT_UNIQUE(kunit_suites_, __LINE__))); \
	}								\
	extern int kunit_suites_registered

static inline void *kunit_kcalloc(struct kunit *test, size_t n, size_t size,
				  gfp_t gfp)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return kunit_kzalloc(test, n * size, gfp);
}

#define kunit_info(test, fmt, ...)					\
	printf("     # %s: " fmt "\n", (test)->name, ##__VA_ARGS__)

#define kunit_skip(test, fmt, ...) do {					\
	(test)->skipped = true;						\
	printf("     # %s: SKIP " fmt "\n", (test)->name, ##__VA_ARGS__);	\
	kunit_abort(test);						\
} while (0)

/* The optional message of a _MSG check: "" alone when there is none. */
#define __KUNIT_FAILED(test, assert, ...) do {				\
	kunit_msg(test, "" __VA_ARGS__);				\
	if (assert)							\
		kunit_abort(test);					\
} while (0)

#define __KUNIT_TRUE(test, assert, cond, ...) do {			\
	if (!(cond)) {							\
		kunit_report(test, __FILE__, __LINE__, "expected %s", #cond); \
		__KUNIT_FAILED(test, assert, ##__VA_ARGS__);		\
	}								\
} while (0)

#define __KUNIT_BINARY(test, assert, l, op, r, ...) do {		\
	__typeof__(l) __l = (l);					\
	__typeof__(r) __r = (r);					\
									\
	if (!(__l op __r)) {						\
		kunit_report(test, __FILE__, __LINE__,			\
			     "expected %s %s %s: %lld vs %lld", #l, #op, #r, \
			     (long long)__l, (long long)__r);		\
		__KUNIT_FAILED(test, assert, ##__VA_ARGS__);		\
	}								\
} while (0)

#define __KUNIT_PTR(test, assert, l, op, r, ...) do {			\
	const void *__l = (l), *__r = (r);				\
									\
	if (!(__l op __r)) {						\
		kunit_report(test, __FILE__, __LINE__,			\
			     "expected %s %s %s: %p vs %p", #l, #op, #r,	\
			     __l, __r);					\
		__KUNIT_FAILED(test, assert, ##__VA_ARGS__);		\
	}								\
} while (0)

#define KUNIT_FAIL(test, fmt, ...)					\
	kunit_report(test, __FILE__, __LINE__, fmt, ##__VA_ARGS__)

#define KUNIT_EXPECT_TRUE(t, c)		__KUNIT_TRUE(t, false, c)
#define KUNIT_EXPECT_FALSE(t, c)	__KUNIT_TRUE(t, false, !(c))
#define KUNIT_EXPECT_TRUE_MSG(t, c, ...) __KUNIT_TRUE(t, false, c, __VA_ARGS__)
#define KUNIT_EXPECT_EQ(t, l, r)	__KUNIT_BINARY(t, false, l, ==, r)
#define KUNIT_EXPECT_NE(t, l, r)	__KUNIT_BINARY(t, false, l, !=, r)
#define KUNIT_EXPECT_LT(t, l, r)	__KUNIT_BINARY(t, false, l, <, r)
#define KUNIT_EXPECT_LE(t, l, r)	__KUNIT_BINARY(t, false, l, <=, r)
#define KUNIT_EXPECT_GT(t, l, r)	__KUNIT_BINARY(t, false, l, >, r)
#define KUNIT_EXPECT_GE(t, l, r)	__KUNIT_BINARY(t, false, l, >=, r)
#define KUNIT_EXPECT_EQ_MSG(t, l, r, ...) __KUNIT_BINARY(t, false, l, ==, r, __VA_ARGS__)
#define KUNIT_EXPECT_GE_MSG(t, l, r, ...) __KUNIT_BINARY(t, false, l, >=, r, __VA_ARGS__)
#define KUNIT_EXPECT_LE_MSG(t, l, r, ...) __KUNIT_BINARY(t, false, l, <=, r, __VA_ARGS__)
#define KUNIT_EXPECT_PTR_EQ(t, l, r)	__KUNIT_PTR(t, false, l, ==, r)
#define KUNIT_EXPECT_PTR_NE(t, l, r)	__KUNIT_PTR(t, false, l, !=, r)
#define KUNIT_EXPECT_NULL(t, p)		__KUNIT_PTR(t, false, p, ==, NULL)
#define KUNIT_EXPECT_NOT_NULL(t, p)	__KUNIT_PTR(t, false, p, !=, NULL)

#define KUNIT_ASSERT_TRUE(t, c)		__KUNIT_TRUE(t, true, c)
#define KUNIT_ASSERT_FALSE(t, c)	__KUNIT_TRUE(t, true, !(c))
#define KUNIT_ASSERT_EQ(t, l, r)	__KUNIT_BINARY(t, true, l, ==, r)
#define KUNIT_ASSERT_NE(t, l, r)	__KUNIT_BINARY(t, true, l, !=, r)
#define KUNIT_ASSERT_LT(t, l, r)	__KUNIT_BINARY(t, true, l, <, r)
#define KUNIT_ASSERT_LE(t, l, r)	__KUNIT_BINARY(t, true, l, <=, r)
#define KUNIT_ASSERT_GT(t, l, r)	__KUNIT_BINARY(t, true, l, >, r)
#define KUNIT_ASSERT_GE(t, l, r)	__KUNIT_BINARY(t, true, l, >=, r)
#define KUNIT_ASSERT_PTR_EQ(t, l, r)	__KUNIT_PTR(t, true, l, ==, r)
#define KUNIT_ASSERT_PTR_NE(t, l, r)	__KUNIT_PTR(t, true, l, !=, r)
#define KUNIT_ASSERT_NULL(t, p)		__KUNIT_PTR(t, true, p, ==, NULL)
#define KUNIT_ASSERT_NOT_NULL(t, p)	__KUNIT_PTR(t, true, p, !=, NULL)

#endif /* _KA_SHIM_KUNIT_TEST_H */
