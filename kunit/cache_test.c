// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_cache (mod/ka/cache.c): ka_claims(), kmem_caches
 * passed on to SLUB, constructors run once per object, alignment,
 * what creation refuses, SLAB_TYPESAFE_BY_RCU (spans back a grace
 * period late, objects reused at once and untouched), destroy with
 * objects out, bad frees; budget, drain, shrinker, CPU offline, stats;
 * the node of ka_alloc_node()'s and ka_cache_alloc_node()'s objects while
 * the task is moved between CPUs.
 * Skipped with ka.ko debug=1 (kunit/debug_test.c covers that mode).
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/shrinker.h>
#include "mcache.h"
#include "ka_debug.h"
#include "ka_kunit.h"

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
	unsigned long busy;
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
	 * they were freed in, and no constructor runs - unless a call found
	 * the CPU's magazines owned by a task this one preempted (PREEMPT_RT,
	 * where migrate_disable() leaves the task preemptible, or a trim
	 * work): such a call goes to mcentral, which may carve a new span.
	 */
	migrate_disable();
	busy = READ_ONCE(this_cpu_ptr(ka_mcache)->nr_busy);
	for (r = 0; r < 1000; r++) {
		for (i = n - 10; i < n; i++)
			ka_cache_free(c, objs[i]);
		for (i = n - 10; i < n; i++)
			objs[i] = ka_cache_alloc(c, GFP_KERNEL);
	}
	busy = READ_ONCE(this_cpu_ptr(ka_mcache)->nr_busy) - busy;
	migrate_enable();
	for (i = n - 10; i < n; i++)
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	if (busy) {
		more = atomic_read(&ka_test_ctor_calls) - calls;
		kunit_info(test, "%lu calls found the magazines owned; %u constructor calls\n",
			   busy, more);
		KUNIT_EXPECT_EQ(test, more % ka_classes[ka_size_class(40)].nelems, 0U);
		calls += more;
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&ka_test_ctor_calls), calls);
	for (i = 0; i < n; i++) {
		p = objs[i];
		if (!busy || p[0] != 0x5a || i < n - 10)
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
	KUNIT_EXPECT_NULL(test, ka_test_cache_line(test, "ka_test_poison"));
}

/* A SLAB_TYPESAFE_BY_RCU cache's object: its type word, set by the ctor. */
struct ka_test_rcu_obj {
	unsigned long type;
	unsigned long seq;
	char pad[48];
};

#define KA_TEST_RCU_TYPE	0x7479706573616665UL	/* "typesafe" */
#define KA_TEST_OTHER_FILL	0x6b

static void ka_test_rcu_ctor(void *p)
{
	((struct ka_test_rcu_obj *)p)->type = KA_TEST_RCU_TYPE;
}

struct ka_test_release {
	struct work_struct work;
	atomic_t done;
};

/* Every CPU's spans back to mcentral, every empty span back to the heap. */
static void ka_test_release_fn(struct work_struct *work)
{
	struct ka_test_release *r = container_of(work, struct ka_test_release,
						 work);

	ka_mcache_drain_all();
	ka_release_free();
	atomic_set(&r->done, 1);
}

/*
 * SLAB_TYPESAFE_BY_RCU: a reader inside rcu_read_lock() keeps the memory
 * of every object it could have found.  The test, as the reader, frees
 * four spans' worth of objects and has another task give every span back
 * (drain, release: the spans empty and go to the heap); inside the same
 * read section every object still holds what the cache's client left in it
 * (type and sequence: ka wrote no tag or poison), the spans wait for the
 * grace period, and allocations of the same size class from ka_alloc(),
 * which would reuse those pages at once, do not get them.  On a KASAN
 * kernel a freed page read here is a report as well.  After the read
 * section a drain gives the spans back.
 */
static void ka_cache_rcu_span_deferred(struct kunit *test)
{
	unsigned int cls, n, i, bad = 0, bad_after = 0, waiting;
	struct ka_test_rcu_obj **objs;
	struct ka_test_release r;
	unsigned long deadline;
	struct ka_cache *c;
	void **others;

	c = ka_cache_create("ka_test_rcu", sizeof(**objs), 0,
			    SLAB_TYPESAFE_BY_RCU, ka_test_rcu_ctor);
	KUNIT_ASSERT_NOT_NULL(test, c);
	cls = ka_cache_cls(c);
	n = 4 * ka_classes[cls].nelems;
	objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	others = kunit_kcalloc(test, n, sizeof(*others), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	KUNIT_ASSERT_NOT_NULL(test, others);
	for (i = 0; i < n; i++) {
		objs[i] = ka_cache_alloc(c, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		KUNIT_EXPECT_EQ(test, objs[i]->type, KA_TEST_RCU_TYPE);
		objs[i]->seq = i;
	}
	KUNIT_EXPECT_EQ(test, ka_span_rcu_pending(), 0UL);
	INIT_WORK_ONSTACK(&r.work, ka_test_release_fn);
	atomic_set(&r.done, 0);

	rcu_read_lock();
	for (i = 0; i < n; i++)
		ka_cache_free(c, objs[i]);
	queue_work(system_unbound_wq, &r.work);
	deadline = jiffies + 5 * HZ;
	while (!atomic_read(&r.done) && time_before(jiffies, deadline))
		cpu_relax();
	waiting = ka_span_rcu_pending();
	for (i = 0; i < n; i++)
		bad += READ_ONCE(objs[i]->type) != KA_TEST_RCU_TYPE ||
		       READ_ONCE(objs[i]->seq) != i;
	/* the class's own objects: they would take freed runs first */
	for (i = 0; i < n; i++) {
		others[i] = ka_alloc(ka_classes[cls].size, GFP_NOWAIT);
		if (others[i])
			memset(others[i], KA_TEST_OTHER_FILL,
			       ka_classes[cls].size);
	}
	for (i = 0; i < n; i++)
		bad_after += READ_ONCE(objs[i]->type) != KA_TEST_RCU_TYPE;
	rcu_read_unlock();

	flush_work(&r.work);
	destroy_work_on_stack(&r.work);
	KUNIT_EXPECT_EQ(test, atomic_read(&r.done), 1);
	KUNIT_EXPECT_EQ(test, bad, 0U);
	KUNIT_EXPECT_EQ(test, bad_after, 0U);
	/* all four spans emptied and wait (one may have been a CPU's stash) */
	KUNIT_EXPECT_GE(test, waiting, 3U);
	for (i = 0; i < n; i++)
		ka_free(others[i]);
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_span_rcu_pending(), 0UL);
	ka_cache_destroy(c);
	KUNIT_EXPECT_NULL(test, ka_test_cache_line(test, "ka_test_rcu"));
}

/*
 * SLAB_TYPESAFE_BY_RCU objects are reused at once within the cache, and
 * ka writes nothing into a freed one: no double-free tag, no init_on_free
 * (the reader's type check must hold across a free and a reuse).  A
 * double free is still refused (the span's bitmap).
 */
static void ka_cache_rcu_reuse(struct kunit *test)
{
	struct ka_test_rcu_obj *o, *again, *keep;
	unsigned long refused;
	struct ka_cache *c;

	c = ka_cache_create("ka_test_rcu_reuse", sizeof(*o), 0,
			    SLAB_TYPESAFE_BY_RCU, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	migrate_disable();
	o = ka_cache_alloc(c, GFP_KERNEL);
	if (!o) {
		migrate_enable();
		ka_cache_destroy(c);
		KUNIT_FAIL(test, "ka_cache_alloc failed");
		return;
	}
	o->type = KA_TEST_RCU_TYPE;
	o->seq = 42;
	ka_cache_free(c, o);
	/* the freed object keeps its contents */
	KUNIT_EXPECT_EQ(test, READ_ONCE(o->type), KA_TEST_RCU_TYPE);
	KUNIT_EXPECT_EQ(test, READ_ONCE(o->seq), 42UL);
	/* and is the next one handed out on this CPU */
	again = ka_cache_alloc(c, GFP_KERNEL);
	migrate_enable();
	KUNIT_EXPECT_PTR_EQ(test, again, o);
	if (again)
		KUNIT_EXPECT_EQ(test, again->type, KA_TEST_RCU_TYPE);
	/* __GFP_ZERO is still honoured */
	ka_cache_free(c, again);
	again = ka_cache_alloc(c, GFP_KERNEL | __GFP_ZERO);
	KUNIT_ASSERT_NOT_NULL(test, again);
	KUNIT_EXPECT_EQ(test, again->type, 0UL);
	/* a second object keeps the span; the first goes back into it */
	keep = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, keep);
	KUNIT_EXPECT_TRUE(test, ka_test_same_span(keep, again));
	ka_cache_free(c, again);
	ka_drain();
	refused = ka_test_refusals();
	ka_cache_free(c, again);
	KUNIT_EXPECT_EQ(test, ka_test_refusals() - refused, 1UL);
	ka_cache_free(c, keep);
	ka_cache_destroy(c);
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
 * kfree()) and their interiors, yes; the kernel's slab and large kmalloc
 * objects, vmalloc memory, the kernel image, module data, NULL, no.
 * ka_owns(): live objects only.
 */
static struct kunit_case ka_cache_cases[];

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
	/* the kernel image (kfree_const()'s .rodata), and this module */
	KUNIT_EXPECT_FALSE(test, ka_claims((const void *)&jiffies));
	KUNIT_EXPECT_FALSE(test, ka_claims(ka_cache_cases));
	/* the middle of an object: ka's, for ka_free() to refuse */
	KUNIT_EXPECT_TRUE(test, ka_claims(small + 8));
	KUNIT_EXPECT_FALSE(test, ka_owns(small + 8));
	ka_free(large);
	/* cached or gone: not live, but ka's pages, not the kernel's kfree()'s */
	KUNIT_EXPECT_FALSE(test, ka_owns(large));
	KUNIT_EXPECT_TRUE(test, ka_claims(large));
	ka_free(small);
	KUNIT_EXPECT_FALSE(test, ka_owns(small));
	KUNIT_EXPECT_TRUE(test, ka_claims(small));
	kfree(km);
	kfree(kml);
	vfree(vm);
}

/* @name's "caches" line: objects in magazines and bytes of spans; false if none. */
static bool ka_test_cache_state(struct kunit *test, const char *name,
				unsigned long *cached, unsigned long *bytes)
{
	unsigned long active;
	char *line = ka_test_cache_line(test, name);

	return line && sscanf(line, "%*s %*u %*u %*u %*u %lu %lu %lu", &active,
			      cached, bytes) == 3;
}

/* @n objects of @c allocated, then freed, on this CPU: its magazine fills. */
static void ka_test_cache_cycle(struct kunit *test, struct ka_cache *c,
				void **objs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		objs[i] = ka_cache_alloc(c, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	}
	for (i = 0; i < n; i++)
		ka_cache_free(c, objs[i]);
}

/*
 * A cache's magazine is in its CPU's byte budget: no capacity until the
 * CPU uses the cache, then a batch, growing by a batch per reversing miss
 * up to its class's cache_max, charged to the CPU's capacity bytes; a
 * budget lowered below it takes it back on every CPU (flushed, capacity
 * 0); under a small budget the cache gets only what is left, and the CPU
 * stays within the budget.
 */
static void ka_cache_in_budget(struct kunit *test)
{
	unsigned long saved = READ_ONCE(ka_pcpu_budget), low = 2048, before;
	struct ka_magazine *m;
	const struct ka_class *k;
	struct ka_mcache *mc;
	struct ka_cache *c;
	unsigned int cap, i;
	void **objs;
	int cpu;

	c = ka_cache_create("ka_test_budget", 200, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	k = &ka_classes[ka_cache_cls(c)];
	objs = kunit_kcalloc(test, k->cache_max, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	ka_mcache_trim_pause(true);

	migrate_disable();
	mc = this_cpu_ptr(ka_mcache);
	m = this_cpu_ptr(ka_cache_mag(c));
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), 0U);
	before = mc->cap_bytes;
	ka_test_cache_cycle(test, c, objs, k->batch);
	cap = ka_mag_cap(m);
	KUNIT_EXPECT_GE(test, cap, k->batch);
	KUNIT_EXPECT_LT(test, cap, k->cache_max);
	/* charged (the CPU's stash may hold an emptied span besides) */
	KUNIT_EXPECT_GE(test, mc->cap_bytes, before + (unsigned long)cap * k->size);
	/* each cycle underflows, then overflows: a batch more each */
	for (i = 0; i < 4 * DIV_ROUND_UP(k->cache_max, k->batch) &&
		    ka_mag_cap(m) < k->cache_max; i++)
		ka_test_cache_cycle(test, c, objs, k->cache_max);
	cap = ka_mag_cap(m);
	KUNIT_EXPECT_EQ(test, cap, k->cache_max);
	KUNIT_EXPECT_GT(test, ka_mag_count(m), 0U);
	KUNIT_EXPECT_GE(test, mc->cap_bytes, before + (unsigned long)cap * k->size);
	KUNIT_EXPECT_LE(test, mc->cap_bytes, saved);
	migrate_enable();

	/* below the cache's magazine: given back on every CPU */
	KUNIT_ASSERT_LT(test, low, (unsigned long)cap * k->size);
	ka_mcache_set_budget(low);
	for_each_online_cpu(cpu) {
		m = per_cpu_ptr(ka_cache_mag(c), cpu);
		KUNIT_EXPECT_EQ(test, ka_mag_count(m), 0U);
		KUNIT_EXPECT_LE(test, ka_mag_cap(m), low / k->size);
		KUNIT_EXPECT_LE(test, READ_ONCE(per_cpu_ptr(ka_mcache, cpu)->cap_bytes), low);
	}
	/* used again under it: what the budget leaves */
	migrate_disable();
	mc = this_cpu_ptr(ka_mcache);
	m = this_cpu_ptr(ka_cache_mag(c));
	ka_test_cache_cycle(test, c, objs, k->batch);
	KUNIT_EXPECT_LE(test, ka_mag_cap(m), low / k->size);
	KUNIT_EXPECT_LE(test, mc->cap_bytes, low);
	migrate_enable();

	ka_mcache_set_budget(saved);
	ka_mcache_trim_pause(false);
	ka_cache_destroy(c);
	KUNIT_EXPECT_NULL(test, ka_test_cache_line(test, "ka_test_budget"));
}

/*
 * What the debugfs "drain" does (ka_drain()) and what the shrinker does
 * (its count, then its scan: every CPU flushes asynchronously, empty
 * spans back to the heap) reach a cache's magazines and spans: "caches"
 * shows its objects cached before, none after, and no span left once
 * none is out; the shrinker counts the cached bytes.
 */
static void ka_cache_drain_and_shrink(struct kunit *test)
{
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL };
	unsigned long cached, bytes, count0, count1, deadline;
	unsigned int held, i;
	const struct ka_class *k;
	struct ka_cache *c;
	void **objs;

	c = ka_cache_create("ka_test_drain", 2000, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	k = &ka_classes[ka_cache_cls(c)];
	objs = kunit_kcalloc(test, k->cache_max, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	ka_mcache_trim_pause(true);

	migrate_disable();
	ka_test_cache_cycle(test, c, objs, k->cache_max);
	migrate_enable();
	KUNIT_ASSERT_TRUE(test, ka_test_cache_state(test, "ka_test_drain",
						     &cached, &bytes));
	kunit_info(test, "before drain: %lu objects cached, %lu bytes of spans\n",
		   cached, bytes);
	KUNIT_EXPECT_GT(test, cached, 0UL);
	KUNIT_EXPECT_GT(test, bytes, 0UL);
	ka_drain();
	KUNIT_ASSERT_TRUE(test, ka_test_cache_state(test, "ka_test_drain",
						     &cached, &bytes));
	kunit_info(test, "after drain: %lu objects cached, %lu bytes of spans\n",
		   cached, bytes);
	KUNIT_EXPECT_EQ(test, cached, 0UL);
	KUNIT_EXPECT_EQ(test, bytes, 0UL);

	/*
	 * The shrinker's count: the objects of this CPU's magazine of the
	 * cache are in it; taken out again (from the magazine: no span or
	 * heap page changes hands) they are not.
	 */
	migrate_disable();
	ka_test_cache_cycle(test, c, objs, k->cache_max);
	held = ka_mag_count(this_cpu_ptr(ka_cache_mag(c)));
	count0 = ka_shrink_count(NULL, &sc);
	for (i = 0; i < held; i++)
		objs[i] = ka_cache_alloc(c, GFP_KERNEL);
	count1 = ka_shrink_count(NULL, &sc);
	for (i = 0; i < held; i++)
		ka_cache_free(c, objs[i]);
	migrate_enable();
	kunit_info(test, "shrinker count: %lu pages with %u objects of %u bytes in the magazine, %lu without\n",
		   count0, held, k->size, count1);
	KUNIT_EXPECT_GT(test, held, 0U);
	KUNIT_EXPECT_GE(test, count0 + 1, count1 + ((held * k->size) >> PAGE_SHIFT));
	/* scans until the CPUs' flushes are done and their spans gone */
	deadline = jiffies + 10 * HZ;
	do {
		ka_shrink_scan(NULL, &sc);
		msleep(20);
		KUNIT_ASSERT_TRUE(test, ka_test_cache_state(test, "ka_test_drain",
							     &cached, &bytes));
	} while ((cached || bytes) && time_before(jiffies, deadline));
	kunit_info(test, "after shrink: %lu objects cached, %lu bytes of spans\n",
		   cached, bytes);
	KUNIT_EXPECT_EQ(test, cached, 0UL);
	KUNIT_EXPECT_EQ(test, bytes, 0UL);

	ka_mcache_trim_pause(false);
	ka_cache_destroy(c);
}

struct ka_test_offline {
	struct ka_cache *c;
	void **objs;
	unsigned int n;
};

/*
 * On the CPU that goes offline next (a kworker bound to it: no KUnit
 * assertion here): fill its magazine of the cache.  Return: the objects
 * the magazine holds, -1 if an allocation failed.
 */
static long ka_test_offline_fill(void *arg)
{
	struct ka_test_offline *o = arg;
	unsigned int i, got;

	for (got = 0; got < o->n; got++) {
		o->objs[got] = ka_cache_alloc(o->c, GFP_KERNEL);
		if (!o->objs[got])
			break;
	}
	for (i = 0; i < got; i++)
		ka_cache_free(o->c, o->objs[i]);
	if (got < o->n)
		return -1;
	return ka_mag_count(this_cpu_ptr(ka_cache_mag(o->c)));
}

/*
 * CPU offline: the cache's magazine of a CPU that goes down is flushed,
 * its capacity given back, and its spans returned (cpuhp callback), so
 * that nothing of the cache stays with a dead CPU.
 */
static void ka_cache_cpu_offline(struct kunit *test)
{
	unsigned long cached, bytes;
	struct ka_test_offline o;
	struct ka_magazine *m;
	struct ka_owned *s;
	long held;
	int cpu, ret;

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU online");
	cpu = cpumask_last(cpu_online_mask);
	if (cpu == 0)
		kunit_skip(test, "CPU 0 cannot go offline");
	o.c = ka_cache_create("ka_test_offline", 100, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, o.c);
	o.n = ka_classes[ka_cache_cls(o.c)].batch;
	o.objs = kunit_kcalloc(test, o.n, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, o.objs);
	held = work_on_cpu(cpu, ka_test_offline_fill, &o);
	KUNIT_EXPECT_GT(test, held, 0L);
	KUNIT_ASSERT_TRUE(test, ka_test_cache_state(test, "ka_test_offline",
						     &cached, &bytes));
	kunit_info(test, "CPU %d online: %lu objects cached, %lu bytes of spans\n",
		   cpu, cached, bytes);
	ret = remove_cpu(cpu);
	if (ret) {
		ka_cache_destroy(o.c);
		kunit_skip(test, "remove_cpu(%d): %d", cpu, ret);
	}
	m = per_cpu_ptr(ka_cache_mag(o.c), cpu);
	s = ka_cache_owned(o.c, cpu);
	KUNIT_EXPECT_EQ(test, ka_mag_count(m), 0U);
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), 0U);
	KUNIT_EXPECT_NULL(test, s->active);
	KUNIT_EXPECT_TRUE(test, list_empty(&s->partial) && list_empty(&s->full) &&
			  list_empty(&s->stash));
	KUNIT_EXPECT_EQ(test, READ_ONCE(per_cpu_ptr(ka_mcache, cpu)->cap_bytes), 0UL);
	KUNIT_ASSERT_TRUE(test, ka_test_cache_state(test, "ka_test_offline",
						     &cached, &bytes));
	kunit_info(test, "CPU %d offline: %lu objects cached\n", cpu, cached);
	KUNIT_EXPECT_EQ(test, cached, 0UL);
	KUNIT_EXPECT_EQ(test, add_cpu(cpu), 0);
	ka_cache_destroy(o.c);
}

/*
 * ka's totals (debugfs "stats": allocs, frees) count a cache's
 * allocations and frees, and keep them once the cache is destroyed.
 */
static void ka_cache_in_stats(struct kunit *test)
{
	struct ka_counters before, after, gone;
	const unsigned int n = 100;
	struct ka_cache *c;
	void **objs;

	objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	c = ka_cache_create("ka_test_stats", 72, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	ka_counters_read(&before);
	ka_test_cache_cycle(test, c, objs, n);
	ka_counters_read(&after);
	KUNIT_EXPECT_GE(test, after.allocs - before.allocs, (unsigned long)n);
	KUNIT_EXPECT_GE(test, after.frees - before.frees, (unsigned long)n);
	KUNIT_EXPECT_GT(test, after.hits, before.hits);
	ka_cache_destroy(c);
	ka_counters_read(&gone);
	KUNIT_EXPECT_GE(test, gone.allocs, after.allocs);
	KUNIT_EXPECT_GE(test, gone.frees, after.frees);
}

/* Moves @arg, the test's task, round the online CPUs until stopped. */
static int ka_test_mover(void *arg)
{
	struct task_struct *task = arg;
	unsigned long moves = 0;
	unsigned int cpu = 0;

	while (!kthread_should_stop()) {
		cpu = cpumask_next(cpu, cpu_online_mask);
		if (cpu >= nr_cpu_ids)
			cpu = cpumask_first(cpu_online_mask);
		if (!set_cpus_allowed_ptr(task, cpumask_of(cpu)))
			moves++;
		usleep_range(20, 60);
	}
	return moves;
}

/*
 * ka_alloc_node() and ka_cache_alloc_node() give @node's memory to a task
 * another thread keeps moving between CPUs of both nodes: each compares
 * the node where the task cannot migrate.  When the comparison came before
 * the per-CPU section, a preemptible kernel that moved the task in between
 * handed out the other node's object.
 */
static void ka_cache_node_while_migrating(struct kunit *test)
{
	unsigned long wrong = 0, wrong_cache = 0, failed = 0, i;
	struct task_struct *mover;
	struct ka_cache *c;
	int nodes[2], moves;

	if (num_node_state(N_MEMORY) < 2 || num_online_cpus() < 2)
		kunit_skip(test, "needs two nodes with memory and two CPUs");
	nodes[0] = first_memory_node;
	nodes[1] = next_memory_node(nodes[0]);
	c = ka_cache_create("ka_test_node", 192, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	mover = kthread_run(ka_test_mover, current, "ka_test_mover");
	if (IS_ERR(mover)) {
		ka_cache_destroy(c);
		KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(mover));
		return;
	}
	for (i = 0; i < 20000; i++) {
		int node = nodes[i & 1];
		void *p = ka_alloc_node(8 + i % 1024, GFP_KERNEL, node);
		void *q = ka_cache_alloc_node(c, GFP_KERNEL, node);

		if (!p || !q)
			failed++;
		if (p && page_to_nid(virt_to_page(p)) != node)
			wrong++;
		if (q && page_to_nid(virt_to_page(q)) != node)
			wrong_cache++;
		ka_free(p);
		if (q)
			ka_cache_free(c, q);
		cond_resched();
	}
	moves = kthread_stop(mover);
	set_cpus_allowed_ptr(current, cpu_possible_mask);
	ka_cache_destroy(c);
	kunit_info(test, "20000 rounds, the task moved %d times\n", moves);
	KUNIT_EXPECT_EQ(test, failed, 0UL);
	KUNIT_EXPECT_EQ_MSG(test, wrong, 0UL, "ka_alloc_node(): another node's object");
	KUNIT_EXPECT_EQ_MSG(test, wrong_cache, 0UL,
			    "ka_cache_alloc_node(): another node's object");
	KUNIT_EXPECT_GT(test, moves, 0);
}

static struct kunit_case ka_cache_cases[] = {
	KUNIT_CASE(ka_claims_pointers),
	KUNIT_CASE(ka_cache_kernel_cache_passed_on),
	KUNIT_CASE(ka_cache_ctor_once),
	KUNIT_CASE_PARAM(ka_cache_alignment, ka_align_gen_params),
	KUNIT_CASE(ka_cache_refused),
	KUNIT_CASE(ka_cache_rcu_span_deferred),
	KUNIT_CASE(ka_cache_rcu_reuse),
	KUNIT_CASE(ka_cache_destroy_with_objects),
	KUNIT_CASE(ka_cache_bad_frees),
	KUNIT_CASE(ka_cache_in_budget),
	KUNIT_CASE(ka_cache_drain_and_shrink),
	KUNIT_CASE(ka_cache_cpu_offline),
	KUNIT_CASE(ka_cache_in_stats),
	KUNIT_CASE(ka_cache_node_while_migrating),
	{}
};

/*
 * ka.ko debug=1: these cases check normal mode's tags, init and reuse
 * order; kunit/debug_test.c checks caches in debug mode.
 */
static int ka_cache_test_init(struct kunit *test)
{
	int ret = ka_kunit_init(test);

	if (ret)
		return ret;
	if (ka_debug_on())
		kunit_skip(test, "normal mode's cases (debug_test.c has debug mode's)");
	return 0;
}

KA_KUNIT_SUITE_WITH(ka_cache, ka_cache_test_init, ka_kunit_exit);
