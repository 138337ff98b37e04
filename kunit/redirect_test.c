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
 *   refused by ka, not passed to the kernel;
 * - what ext4 and jbd2 needed: kfree_rcu(ptr), kfree_link(),
 *   mempool_create_slab_pool(), SLAB_TYPESAFE_BY_RCU, the last under an
 *   RCU-reader stress;
 * - kvrealloc() in both forms (6.1, 6.12): ka up to KA_MAX_SIZE, vmalloc
 *   above, the vmalloc'd memory through the kernel's, a freed object refused.
 * Every object handed out after a refused free has one owner.
 *
 * Runs in ka_kunit.ko, in normal and debug=1 mode.  No locks.
 */
#include <linux/kasan.h>
#include <linux/kthread.h>
#include <linux/sched/task.h>
#include <linux/delay.h>
#include <linux/mempool.h>
#include <linux/rcupdate.h>
#include <linux/mm.h>
#include <kunit/test.h>

#include "redirect_test.h"

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
		/* a refused krealloc() returns NULL; kfree(NULL) is a no-op */
		kfree(q);
		if (q)
			continue;
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

/*
 * Two of the four gaps a journaling file system met (ext4 and jbd2 built
 * with the header): kfree_rcu(ptr) with one argument and
 * kfree_rcu_mightsleep() (ka_free_rcu()), and kfree_link() as a callback
 * (the kernel's would take a ka object for a slab one); the kernel's
 * pointer given to the same callback goes to the kernel's kfree().
 */
static void ka_redirect_fs_gaps(struct kunit *test)
{
	unsigned long refused = ka_test_refusals(), out = ka_test_objs_out();
	void (*free_link)(void *) = kfree_link;
	char *a = kmalloc(100, GFP_KERNEL), *b = kmalloc(200, GFP_KERNEL);
	char *l = kstrdup("a symlink body", GFP_KERNEL);
	char *k = kasprintf(GFP_KERNEL, "%s", "the kernel's");

	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, l);
	KUNIT_ASSERT_NOT_NULL(test, k);
	KUNIT_EXPECT_TRUE(test, ka_owns(a) && ka_owns(l));
	KUNIT_EXPECT_FALSE(test, ka_claims(k));
	kfree_rcu(a);
	kfree_rcu_mightsleep(b);
	/* as a ->get_link() gives it to the VFS: a pointer to call */
	free_link(l);
	free_link(k);
	/* the frees after their grace period, and the magazines flushed */
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
	KUNIT_EXPECT_EQ(test, ka_test_refusals(), refused);
}

/*
 * mempool_create_slab_pool() of a ka_cache, and mempool_create() given
 * mempool_alloc_slab/mempool_free_slab by the module itself: the elements
 * are the cache's (the kernel's mempool_alloc_slab() would have taken the
 * ka_cache for a kmem_cache).
 */
static void ka_redirect_mempool_slab(struct kunit *test)
{
	unsigned long refused = ka_test_refusals(), out = ka_test_objs_out();
	struct kmem_cache *c;
	mempool_t *pool;
	void *e[3];
	int i;

	c = kmem_cache_create("ka_redirect_pool", 48, 0, 0, NULL);
	if (!c)
		kunit_skip(test, "no ka cache (debug=1?)");
	pool = mempool_create_slab_pool(2, c);
	KUNIT_ASSERT_NOT_NULL(test, pool);
	for (i = 0; i < 3; i++) {
		e[i] = mempool_alloc(pool, GFP_KERNEL);
		KUNIT_EXPECT_TRUE(test, ka_owns(e[i]));
	}
	for (i = 0; i < 3; i++)
		mempool_free(e[i], pool);
	mempool_destroy(pool);
	/* the slab functions handed to mempool_create() by the module */
	pool = mempool_create(2, mempool_alloc_slab, mempool_free_slab, c);
	KUNIT_ASSERT_NOT_NULL(test, pool);
	for (i = 0; i < 3; i++) {
		e[i] = mempool_alloc(pool, GFP_KERNEL);
		KUNIT_EXPECT_TRUE(test, ka_owns(e[i]));
	}
	for (i = 0; i < 3; i++)
		mempool_free(e[i], pool);
	mempool_destroy(pool);
	kmem_cache_destroy(c);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_refusals(), refused);
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
}

/*
 * A SLAB_TYPESAFE_BY_RCU cache under readers, through kmem_cache_create():
 * writers replace the objects of a shared table and free the old ones
 * while readers under rcu_read_lock() read the type word of whatever they
 * found (the constructor's; nothing writes another); every few rounds a
 * writer frees its whole share, and a drainer gives every empty span back
 * (the spans wait for their grace period, then go to the heap) while
 * another task fills objects of the same size class, and of a plain cache
 * of the same size, with another pattern: a span released before the
 * readers were done would soon hold those.  No reader may ever see
 * anything but the cache's type.  Two seconds or more (see below).
 */
#define KA_RS_SLOTS	256
#define KA_RS_TYPE	0x6b61747970657361UL	/* "kasatype" */

struct ka_rs_obj {
	unsigned long type;
	unsigned long gen;
	char pad[40];
};

struct ka_rs {
	struct kmem_cache *cache, *plain;
	struct ka_rs_obj __rcu *slot[KA_RS_SLOTS];
	atomic_long_t reads, bad, released, rounds;
	atomic_t writers;
	bool stop;
};

static void ka_rs_ctor(void *p)
{
	((struct ka_rs_obj *)p)->type = KA_RS_TYPE;
}

static int ka_rs_writer(void *arg)
{
	struct ka_rs *rs = arg;
	unsigned int i, first = atomic_inc_return(&rs->writers) & 1, round = 0;
	struct ka_rs_obj *o, *old;

	while (!READ_ONCE(rs->stop)) {
		for (i = first; i < KA_RS_SLOTS; i += 2) {
			o = kmem_cache_alloc(rs->cache, GFP_KERNEL);
			if (o)
				o->gen = round;
			old = xchg((struct ka_rs_obj __force **)&rs->slot[i], o);
			if (old)
				kmem_cache_free(rs->cache, old);
		}
		/* empty the share: its spans can empty */
		if (++round % 4 == 0)
			for (i = first; i < KA_RS_SLOTS; i += 2) {
				old = xchg((struct ka_rs_obj __force **)&rs->slot[i], NULL);
				if (old)
					kmem_cache_free(rs->cache, old);
			}
		atomic_long_inc(&rs->rounds);
		cond_resched();
	}
	return 0;
}

static int ka_rs_reader(void *arg)
{
	struct ka_rs *rs = arg;
	unsigned long n, bad;
	unsigned int i;

	while (!READ_ONCE(rs->stop)) {
		n = 0;
		bad = 0;
		rcu_read_lock();
		for (i = 0; i < KA_RS_SLOTS; i++) {
			struct ka_rs_obj *o = rcu_dereference(rs->slot[i]);

			if (!o)
				continue;
			n++;
			/* a little longer in the section: frees land meanwhile */
			if (READ_ONCE(o->type) != KA_RS_TYPE)
				bad++;
			cpu_relax();
			if (READ_ONCE(o->type) != KA_RS_TYPE)
				bad++;
		}
		rcu_read_unlock();
		atomic_long_add(n, &rs->reads);
		atomic_long_add(bad, &rs->bad);
		cond_resched();
	}
	return 0;
}

/* Empty spans back, and memory of the same class taken and scribbled on. */
static int ka_rs_drainer(void *arg)
{
	struct ka_rs *rs = arg;
	void *other[64];
	unsigned int i;

	while (!READ_ONCE(rs->stop)) {
		ka_mcache_drain_all();
		ka_release_free();
		atomic_long_add(ka_span_rcu_pending(), &rs->released);
		for (i = 0; i < ARRAY_SIZE(other); i++) {
			other[i] = i & 1 ? kmem_cache_alloc(rs->plain, GFP_KERNEL) :
					   kmalloc(sizeof(struct ka_rs_obj), GFP_KERNEL);
			if (other[i])
				memset(other[i], 0x6b, sizeof(struct ka_rs_obj));
		}
		for (i = 0; i < ARRAY_SIZE(other); i++) {
			if (i & 1)
				kmem_cache_free(rs->plain, other[i]);
			else
				kfree(other[i]);
		}
		usleep_range(1000, 2000);
	}
	return 0;
}

static void ka_redirect_typesafe_rcu_stress(struct kunit *test)
{
	int (*fns[])(void *) = { ka_rs_writer, ka_rs_writer, ka_rs_reader,
				 ka_rs_reader, ka_rs_drainer };
	struct task_struct *t[ARRAY_SIZE(fns)];
	unsigned long start;
	struct ka_rs *rs;
	unsigned int i;

	rs = kunit_kzalloc(test, sizeof(*rs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, rs);
	rs->cache = kmem_cache_create("ka_redirect_typesafe", sizeof(struct ka_rs_obj),
				      0, SLAB_TYPESAFE_BY_RCU, ka_rs_ctor);
	rs->plain = kmem_cache_create("ka_redirect_plain", sizeof(struct ka_rs_obj),
				      0, 0, NULL);
	if (!rs->cache || !rs->plain) {
		kmem_cache_destroy(rs->cache);
		kmem_cache_destroy(rs->plain);
		/* ka.ko debug=1 refuses caches */
		kunit_skip(test, "no ka cache (debug=1?)");
	}
	for (i = 0; i < ARRAY_SIZE(fns); i++) {
		t[i] = kthread_run(fns[i], rs, "ka_rs/%u", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t[i]));
		get_task_struct(t[i]);
	}
	/*
	 * Two seconds, and until the writers emptied their shares a few
	 * times and a span waited for its grace period: a loaded host may
	 * give the guest's CPUs little time; twenty seconds at most.
	 */
	start = jiffies;
	do {
		msleep(100);
	} while (time_before(jiffies, start + 20 * HZ) &&
		 (time_before(jiffies, start + 2 * HZ) ||
		  atomic_long_read(&rs->rounds) < 16 ||
		  !atomic_long_read(&rs->released)));
	WRITE_ONCE(rs->stop, true);
	for (i = 0; i < ARRAY_SIZE(fns); i++) {
		kthread_stop(t[i]);
		put_task_struct(t[i]);
	}
	for (i = 0; i < KA_RS_SLOTS; i++) {
		struct ka_rs_obj *o = rcu_dereference_protected(rs->slot[i], 1);

		if (o)
			kmem_cache_free(rs->cache, o);
	}
	kunit_info(test, "reads %ld, writer rounds %ld, spans waiting for a grace period summed over the drains %ld\n",
		   atomic_long_read(&rs->reads), atomic_long_read(&rs->rounds),
		   atomic_long_read(&rs->released));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&rs->bad), 0L);
	KUNIT_EXPECT_GT(test, atomic_long_read(&rs->reads), 0L);
	/* spans did empty and go back under the readers */
	KUNIT_EXPECT_GT(test, atomic_long_read(&rs->released), 0L);
	kmem_cache_destroy(rs->cache);
	kmem_cache_destroy(rs->plain);
	ka_drain();
}

#ifdef KA_REDIRECT_KVREALLOC_OLDSIZE
#define ka_test_kvrealloc(p, old, new, gfp)	kvrealloc(p, old, new, gfp)
#else
#define ka_test_kvrealloc(p, old, new, gfp)	kvrealloc(p, new, gfp)
#endif

static void ka_test_fill(u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (u8)(i * 7 + 1);
}

static bool ka_test_filled(const u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (u8)(i * 7 + 1))
			return false;
	return true;
}

/*
 * kvrealloc() (6.1: p, oldsize, newsize; 6.12: p, size): NULL gives a ka
 * object, a shrink keeps it, it grows in ka through a small class, a page
 * of its own and a large run, and past KA_MAX_SIZE it moves to vmalloc,
 * its contents kept and ka's object freed; the vmalloc'd memory goes on
 * through the kernel's kvrealloc(); a freed object of ka's is refused
 * (NULL, one refusal, nothing allocated, even for a size ka cannot serve);
 * on 6.12 a size of 0 frees.
 */
static void ka_redirect_kvrealloc_case(struct kunit *test)
{
	const size_t big = KA_MAX_SIZE + PAGE_SIZE;
	unsigned long refused, out;
	u8 *p, *q, *v;

	ka_drain();
	out = ka_test_objs_out();
	p = ka_test_kvrealloc(NULL, 0, 200, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, ka_owns(p));
	ka_test_fill(p, 200);
	KUNIT_EXPECT_PTR_EQ(test, (u8 *)ka_test_kvrealloc(p, 200, 100, GFP_KERNEL), p);
	q = ka_test_kvrealloc(p, 100, 3000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_TRUE(test, ka_owns(q));
	KUNIT_EXPECT_TRUE(test, ka_test_filled(q, 100));
	ka_test_fill(q, 3000);
	p = ka_test_kvrealloc(q, 3000, 100000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, ka_owns(p));
	KUNIT_EXPECT_TRUE(test, ka_test_filled(p, 3000));
	ka_test_fill(p, 100000);
	v = ka_test_kvrealloc(p, 100000, big, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, v);
	KUNIT_EXPECT_TRUE(test, is_vmalloc_addr(v));
	KUNIT_EXPECT_FALSE(test, ka_claims(v));
	KUNIT_EXPECT_TRUE(test, ka_test_filled(v, 100000));
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
	ka_test_fill(v, big);
	q = ka_test_kvrealloc(v, big, big + 3 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_TRUE(test, is_vmalloc_addr(q));
	KUNIT_EXPECT_TRUE(test, ka_test_filled(q, big));
	kvfree(q);

	p = kvmalloc(300, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, ka_owns(p));
	kvfree(p);
	ka_drain();
	refused = ka_test_refusals();
	KUNIT_EXPECT_NULL(test, ka_test_kvrealloc(p, 300, 5000, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, ka_test_kvrealloc(p, 300, big, GFP_KERNEL));
	KUNIT_EXPECT_EQ(test, ka_test_refusals() - refused, 2UL);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
#ifndef KA_REDIRECT_KVREALLOC_OLDSIZE
	p = kvmalloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_PTR_EQ(test, (u8 *)kvrealloc(p, 0, GFP_KERNEL), (u8 *)ZERO_SIZE_PTR);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
#endif
}

#ifdef KA_REDIRECT_BUCKETS
static const size_t ka_bucket_sizes[] = {
	1, 8, 24, 100, 200, 1000, 3000, 4096, 9000, 20000, KA_MAX_SMALL_SIZE,
	KA_MAX_SMALL_SIZE + 1, 300000
};

/*
 * One size of kmem_buckets_alloc(): @p of set @b, @r of set @b2 (zeroed),
 * @q of kmalloc(): three spans that hold nothing of each other's - up to
 * KA_MAX_SMALL_SIZE spans of each set's own cache of the class ka_alloc()
 * uses (not a size class's), above it spans of their own - and ksize() of
 * a set's object is ka_alloc()'s for that size.
 */
static void ka_redirect_bucket_one(struct kunit *test, kmem_buckets *b,
				   kmem_buckets *b2, size_t size, u8 *p,
				   u8 *q, u8 *r)
{
	KUNIT_EXPECT_TRUE(test, ka_owns(p));
	KUNIT_EXPECT_TRUE(test, ka_owns(r));
	KUNIT_EXPECT_GE(test, ksize(p), size);
	KUNIT_EXPECT_EQ(test, ksize(p), ksize(q));
	KUNIT_EXPECT_EQ(test, ksize(r), ksize(q));
	KUNIT_EXPECT_FALSE(test, ka_test_same_span(p, q));
	KUNIT_EXPECT_FALSE(test, ka_test_same_span(p, r));
	KUNIT_EXPECT_FALSE(test, ka_test_same_span(q, r));
	KUNIT_EXPECT_NULL(test, ka_test_span_cache(q));
	if (size <= KA_MAX_SMALL_SIZE) {
		KUNIT_EXPECT_NOT_NULL(test, ka_test_span_cache(p));
		KUNIT_EXPECT_PTR_EQ(test, ka_test_span_cache(p),
				    ka_buckets_cache(b, size));
		KUNIT_EXPECT_PTR_EQ(test, ka_test_span_cache(r),
				    ka_buckets_cache(b2, size));
		KUNIT_EXPECT_PTR_NE(test, ka_buckets_cache(b, size),
				    ka_buckets_cache(b2, size));
	} else {
		KUNIT_EXPECT_NULL(test, ka_test_span_cache(p));
	}
	KUNIT_EXPECT_NULL(test, memchr_inv(r, 0, size));
	ka_test_fill(p, size);
}

/*
 * kmem_buckets (6.11 and later), as the kernel means them: heap isolation.
 * Two sets and kmalloc() allocate every size: a set's objects lie on
 * spans of its own caches, never a span of ka's size classes or of the
 * other set; each keeps its bytes while the others are written; kfree()
 * takes all of them as ka's (no refusal, a second kfree() of one refused);
 * a set's caches serve again after, and ka_buckets_destroy() finds none
 * of its objects out.
 */
static void ka_redirect_buckets(struct kunit *test)
{
	u8 *p[ARRAY_SIZE(ka_bucket_sizes)] = { NULL };
	u8 *q[ARRAY_SIZE(ka_bucket_sizes)] = { NULL };
	u8 *r[ARRAY_SIZE(ka_bucket_sizes)] = { NULL };
	unsigned long refused;
	kmem_buckets *b, *b2;
	unsigned int i;

	b = kmem_buckets_create("ka_test_bkt", 0, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	b2 = kmem_buckets_create("ka_test_bkt2", SLAB_ACCOUNT, 0, 64, NULL);
	if (!b2) {
		ka_buckets_destroy(b);
		KUNIT_FAIL(test, "a second bucket set was refused");
		return;
	}
	refused = ka_test_refusals();
	for (i = 0; i < ARRAY_SIZE(ka_bucket_sizes); i++) {
		size_t size = ka_bucket_sizes[i];

		p[i] = kmem_buckets_alloc(b, size, GFP_KERNEL);
		q[i] = kmalloc(size, GFP_KERNEL);
		r[i] = kmem_buckets_alloc_track_caller(b2, size,
						       GFP_KERNEL | __GFP_ZERO);
		if (!p[i] || !q[i] || !r[i]) {
			KUNIT_FAIL(test, "%zu bytes: an allocation failed", size);
			break;
		}
		ka_redirect_bucket_one(test, b, b2, size, p[i], q[i], r[i]);
		memset(q[i], 0xa5, size);
		memset(r[i], 0x5a, size);
	}
	for (i = 0; i < ARRAY_SIZE(ka_bucket_sizes); i++)
		if (p[i])
			KUNIT_EXPECT_TRUE(test, ka_test_filled(p[i], ka_bucket_sizes[i]));
	for (i = 0; i < ARRAY_SIZE(ka_bucket_sizes); i++) {
		kfree(p[i]);
		kfree(q[i]);
		kfree(r[i]);
	}
	KUNIT_EXPECT_EQ(test, ka_test_refusals() - refused, 0UL);
	/* a set's freed object is ka's: a second kfree() is refused */
	ka_drain();
	kfree(p[4]);
	KUNIT_EXPECT_EQ(test, ka_test_refusals() - refused, 1UL);
	/* zero and NULL as kmalloc's; the set serves again */
	KUNIT_EXPECT_PTR_EQ(test, (u8 *)kmem_buckets_alloc(b, 0, GFP_KERNEL),
			    (u8 *)ZERO_SIZE_PTR);
	p[0] = kmem_buckets_alloc(NULL, 64, GFP_KERNEL);
	KUNIT_EXPECT_TRUE(test, ka_owns(p[0]));
	KUNIT_EXPECT_NULL(test, ka_test_span_cache(p[0]));
	kfree(p[0]);
	p[0] = kmem_buckets_alloc(b, 64, GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, ka_test_span_cache(p[0]),
			    ka_buckets_cache(b, 64));
	kfree(p[0]);
	/* kmem_buckets_valloc(): the set up to KA_MAX_SIZE, vmalloc above */
	p[0] = kmem_buckets_valloc(b, 5000, GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, ka_test_span_cache(p[0]),
			    ka_buckets_cache(b, 5000));
	kvfree(p[0]);
	p[0] = kmem_buckets_valloc(b, KA_MAX_SIZE + 1, GFP_KERNEL);
	KUNIT_EXPECT_TRUE(test, is_vmalloc_addr(p[0]));
	kvfree(p[0]);
	KUNIT_EXPECT_EQ(test, ka_test_refusals() - refused, 1UL);
	ka_drain();
	ka_buckets_destroy(b);
	ka_buckets_destroy(b2);
}
#endif

static struct kunit_case ka_redirect_cases[] = {
	KUNIT_CASE(ka_redirect_double_kzfree),
	KUNIT_CASE(ka_redirect_krealloc_freed),
	KUNIT_CASE(ka_redirect_ksize_freed),
	KUNIT_CASE(ka_redirect_stale_copy),
	KUNIT_CASE(ka_redirect_other_frees),
	KUNIT_CASE(ka_redirect_good_frees),
	KUNIT_CASE(ka_redirect_fs_gaps),
	KUNIT_CASE(ka_redirect_mempool_slab),
	KUNIT_CASE(ka_redirect_typesafe_rcu_stress),
	KUNIT_CASE(ka_redirect_kvrealloc_case),
#ifdef KA_REDIRECT_BUCKETS
	KUNIT_CASE(ka_redirect_buckets),
#endif
	{}
};

static struct kunit_suite ka_redirect_suite = {
	.name = "ka_redirect",
	.init = ka_kunit_init,
	.exit = ka_kunit_exit,
	.test_cases = ka_redirect_cases,
};
kunit_test_suites(&ka_redirect_suite);
