// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_redirect: the kernel's kmalloc API as a module built with
 * include/ka_redirect.h sees it (this file is compiled with the header
 * force-included, as such a module is: kunit/Kbuild), misused as the
 * kernel's own KASAN suite misuses it (mm/kasan/kasan_test.c):
 *
 * - kmalloc_double_kzfree: kfree_sensitive() twice; the second must be
 *   refused before the object is cleared (clearing it wiped the double-free
 *   tag, ka_free() took it, and the object sat in the magazine twice), by
 *   its ksize() and by its free, as the kernel's kfree_sensitive() is;
 * - krealloc_uaf, ksize_uaf: krealloc() and ksize() of a freed object give
 *   NULL and 0, allocate nothing and read nothing;
 * - kmalloc_uaf_16: a live object holding a stale copy of a freed one's
 *   first bytes is freed normally (it was refused and leaked);
 * - kfree_const(), kvfree_sensitive(), kfree_rcu() of a freed object:
 *   refused by ka, not passed to the kernel.
 * Every object handed out after a refused free has one owner.
 *
 * Runs in ka_kunit.ko, in normal and debug=1 mode.  No locks.
 */
#include <linux/kasan.h>
#include <linux/rcupdate.h>
#include <kunit/test.h>

/* kunit/common.c, declared here: ka_kunit.h would pull in ka's internals */
unsigned long ka_test_refusals(void);
unsigned long ka_test_objs_out(void);
bool ka_test_same_span(const void *a, const void *b);
void ka_test_one_owner(struct kunit *test, size_t size, int node,
		       const void *p);
void ka_rcu_barrier(void);
void ka_drain(void);

#define KA_REDIRECT_ROUNDS	3

/*
 * kfree_sensitive() twice: the second refused twice, by its ksize() and its
 * kfree() (as the kernel's reports both), never two owners.
 */
static void ka_redirect_double_kzfree(struct kunit *test)
{
	unsigned long refused;
	char *p;

	migrate_disable();
	p = kmalloc(16, GFP_KERNEL);
	if (!p) {
		KUNIT_FAIL(test, "kmalloc(16) failed");
		goto out;
	}
	memset(p, 0x5a, 16);
	kfree_sensitive(p);
	refused = ka_test_refusals();
	kfree_sensitive(p);
	KUNIT_EXPECT_EQ(test, ka_test_refusals() - refused, 2UL);
	/* the next two allocations of the class must differ */
	ka_test_one_owner(test, 16, NUMA_NO_NODE, p);
out:
	migrate_enable();
}

/* krealloc() of a freed object: NULL, nothing allocated, one refusal. */
static void ka_redirect_krealloc_freed(struct kunit *test)
{
	static const size_t sizes[] = { 201, 4000, 70000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned long refused, out;
		char *p = kmalloc(sizes[i], GFP_KERNEL), *q;

		KUNIT_ASSERT_NOT_NULL(test, p);
		kfree(p);
		ka_drain();
		out = ka_test_objs_out();
		refused = ka_test_refusals();
		q = krealloc(p, sizes[i] + 50, GFP_KERNEL);
		KUNIT_EXPECT_NULL_MSG(test, q, "%zu bytes", sizes[i]);
		KUNIT_EXPECT_EQ(test, ka_test_refusals() - refused, 1UL);
		if (q) {
			kfree(q);
			continue;
		}
		ka_drain();
		KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
	}
}

/* ksize() of a freed object: 0 and one refusal, not its size. */
static void ka_redirect_ksize_freed(struct kunit *test)
{
	unsigned long refused;
	char *p = kmalloc(128 - 5, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	kfree(p);
	refused = ka_test_refusals();
	KUNIT_EXPECT_EQ(test, ksize(p), (size_t)0);
	KUNIT_EXPECT_EQ(test, ka_test_refusals() - refused, 1UL);
}

/*
 * *ptr1 = *ptr2 with ptr2 freed: ptr1 now holds ptr2's first word, its
 * span's double-free tag; kfree(ptr1) must free it.
 */
static void ka_redirect_stale_copy(struct kunit *test)
{
	struct ka_two_words {
		u64 words[2];
	} *a[16], *live, *dead = NULL;
	unsigned long refused;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(a); i++) {
		a[i] = kmalloc(sizeof(*a[i]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, a[i]);
		a[i]->words[0] = a[i]->words[1] = i;
	}
	live = a[0];
	for (i = 1; i < ARRAY_SIZE(a) && !dead; i++)
		if (ka_test_same_span(live, a[i]))
			dead = a[i];
	KUNIT_ASSERT_NOT_NULL_MSG(test, dead, "no two objects of a span");
	kfree(dead);
	kasan_disable_current();
	*live = *dead;
	kasan_enable_current();
	refused = ka_test_refusals();
	kfree(live);
	KUNIT_EXPECT_EQ_MSG(test, ka_test_refusals(), refused,
			    "the live object's free was refused");
	for (i = 1; i < ARRAY_SIZE(a); i++)
		if (a[i] != dead)
			kfree(a[i]);
	/* a refused free leaks: the fixture fails the case for it too */
}

/* Other frees of a freed object: refused by ka, not the kernel's. */
struct ka_rcu_obj {
	struct rcu_head rcu;
	char data[40];
};

static void ka_redirect_other_frees(struct kunit *test)
{
	struct ka_rcu_obj *o;
	unsigned long refused;
	unsigned int r;
	char *p;

	for (r = 0; r < KA_REDIRECT_ROUNDS; r++) {
		migrate_disable();
		p = kstrdup("ka_redirect_other_frees", GFP_KERNEL);
		o = kzalloc(sizeof(*o), GFP_KERNEL);
		if (!p || !o) {
			KUNIT_FAIL(test, "allocation failed");
			migrate_enable();
			kfree(p);
			kfree(o);
			return;
		}
		kfree(p);
		kfree(o);
		refused = ka_test_refusals();
		kfree_const(p);
		kvfree_sensitive(p, 10);
		kvfree(p);
		kfree_rcu(o, rcu);
		migrate_enable();
		ka_rcu_barrier();
		KUNIT_EXPECT_EQ(test, ka_test_refusals() - refused, 4UL);
		ka_test_one_owner(test, sizeof(*o), NUMA_NO_NODE, o);
	}
}

/* The same frees of live objects are taken. */
static void ka_redirect_good_frees(struct kunit *test)
{
	unsigned long refused = ka_test_refusals();
	struct ka_rcu_obj *o = kmalloc(sizeof(*o), GFP_KERNEL);
	const char *s = kstrdup_const("x", GFP_KERNEL);
	char *t = kmalloc(40, GFP_KERNEL), *u = kmalloc(70000, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, o);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_NOT_NULL(test, u);
	KUNIT_EXPECT_GE(test, ksize(t), (size_t)40);
	kfree_rcu(o, rcu);
	kfree_const(s);
	kvfree_sensitive(t, 40);
	kfree_sensitive(u);
	ka_rcu_barrier();
	KUNIT_EXPECT_EQ(test, ka_test_refusals(), refused);
}

static struct kunit_case ka_redirect_cases[] = {
	KUNIT_CASE(ka_redirect_double_kzfree),
	KUNIT_CASE(ka_redirect_krealloc_freed),
	KUNIT_CASE(ka_redirect_ksize_freed),
	KUNIT_CASE(ka_redirect_stale_copy),
	KUNIT_CASE(ka_redirect_other_frees),
	KUNIT_CASE(ka_redirect_good_frees),
	{}
};

int ka_kunit_init(struct kunit *test);
void ka_kunit_exit(struct kunit *test);

static struct kunit_suite ka_redirect_suite = {
	.name = "ka_redirect",
	.init = ka_kunit_init,
	.exit = ka_kunit_exit,
	.test_cases = ka_redirect_cases,
};
kunit_test_suites(&ka_redirect_suite);
