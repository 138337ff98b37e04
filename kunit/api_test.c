// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_api (include/ka.h, mod/ka/api.c): every size, large
 * objects and their cache, limits, zalloc, alignment, realloc, bulk
 * calls, invalid and double frees, NUMA nodes, kfree_rcu, cross-CPU
 * frees from kthreads on all CPUs, GFP_ATOMIC from a hard-irq hrtimer,
 * PREEMPT_RT's refusal of atomic callers, one arena lookup a free on every
 * path, and everything given back.
 */
#include <linux/cpu.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include "ka_debug.h"
#include "ka_kasan.h"
#include "profile.h"
#include "ka_kunit.h"
#include "../mod/ka_testutil.h"

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
			if (ka_test_bad(p, size, size) >= 0)
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
	KUNIT_EXPECT_EQ(test, ka_test_bad(p, size, 3), -1L);
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
	struct ka_mheap *heap = ka_mheap_of(node);
	unsigned long hits, pages;
	void *p, *q, *v[KA_LARGE_CACHE_NR + 2];
	unsigned int i;

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
	KUNIT_EXPECT_EQ(test, ka_test_bad(q, 92000, 5), -1L);
	ka_free(q);
	/*
	 * bounds: at most KA_LARGE_CACHE_NR spans and ka_large_bound()
	 * pages (a sixteenth of the pages in use, at least 256 KiB) beyond
	 * the newest, oldest out first: the newest stays
	 */
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		v[i] = ka_alloc_node(40000 + i * PAGE_SIZE * 2, GFP_KERNEL,
				     node);
		KUNIT_ASSERT_NOT_NULL(test, v[i]);
	}
	for (i = 0; i < ARRAY_SIZE(v); i++)
		ka_free(v[i]);
	KUNIT_EXPECT_GE(test, READ_ONCE(heap->nr_large_free), 1UL);
	KUNIT_EXPECT_LE(test, READ_ONCE(heap->nr_large_free),
			(unsigned long)KA_LARGE_CACHE_NR);
	KUNIT_EXPECT_LE(test, READ_ONCE(heap->large_free_pages),
			ka_large_bound(heap));
	q = ka_alloc_node(40000 + (ARRAY_SIZE(v) - 1) * PAGE_SIZE * 2,
			  GFP_KERNEL, node);
	KUNIT_EXPECT_PTR_EQ(test, q, v[ARRAY_SIZE(v) - 1]);
	ka_free(q);
	/* one over the bound: cached alone, the others out */
	p = ka_alloc_node((ka_large_bound(heap) + 1) * PAGE_SIZE,
			  GFP_KERNEL, node);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_free(p);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->nr_large_free), 1UL);
	KUNIT_EXPECT_GT(test, READ_ONCE(heap->large_free_pages),
			ka_large_bound(heap));
	/* one over KA_LARGE_CACHE_BYTES is not cached at all */
	hits = READ_ONCE(heap->nr_large_free);
	p = ka_alloc_node(KA_LARGE_CACHE_BYTES + PAGE_SIZE, GFP_KERNEL, node);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_free(p);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->nr_large_free), hits);
	KUNIT_EXPECT_GT(test, ka_large_trim(heap, false), 0UL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->nr_large_free), 0UL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(heap->large_free_pages), 0UL);
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
	KUNIT_EXPECT_EQ(test, ka_test_bad(q, 40, 9), -1L);
	KUNIT_EXPECT_PTR_EQ(test, memchr_inv(q + 48, 0, 3000 - 48), NULL);
	p = ka_realloc(q, 300000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, ka_test_bad(p, 40, 9), -1L);
	q = ka_realloc(p, 0, GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, q, ZERO_SIZE_PTR);
}

static void ka_api_bulk(struct kunit *test)
{
	const size_t nr = 1000;
	void **p;
	size_t i;

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
}

static void ka_api_bulk_all_or_nothing(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	void *p[80];	/* more than a chunk's 16 objects of 32 KiB */
	unsigned long out = ka_test_objs_out();

	ka_fail_page.probability = 100;
	ka_fail_page.interval = 1;
	ka_fail_page.verbose = 0;
	/*
	 * The first chunk (512 KiB, 16 objects of 32 KiB) gets its pages, then
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
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
#else
	kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
#endif
}

/* Pointers ka_free() must refuse. */
enum ka_bad_free_kind {
	KA_BAD_KMALLOC,		/* a kmalloc() object */
	KA_BAD_VMALLOC,		/* vmalloc() memory */
	KA_BAD_STACK,		/* an address on the stack */
	KA_BAD_SMALL_INTERIOR,	/* inside a small ka object */
	KA_BAD_LARGE_INTERIOR,	/* inside a large ka object */
	KA_BAD_RELEASED,	/* an object of a span given back to the heap */
	KA_BAD_MODULE_DATA,	/* this module's data */
};

struct ka_bad_free {
	const char *name;
	enum ka_bad_free_kind kind;
	void (*undo)(const void *obj);	/* frees what the setup allocated */
};

static const struct ka_bad_free ka_bad_frees[] = {
	{ "kmalloc pointer", KA_BAD_KMALLOC, kfree },
	{ "vmalloc pointer", KA_BAD_VMALLOC, vfree },
	{ "stack address", KA_BAD_STACK },
	{ "interior of small object", KA_BAD_SMALL_INTERIOR, ka_free },
	{ "interior of large object", KA_BAD_LARGE_INTERIOR, ka_free },
	{ "object of a released span", KA_BAD_RELEASED },
	{ "module data", KA_BAD_MODULE_DATA },
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
	case KA_BAD_KMALLOC:
		obj = kmalloc(64, GFP_KERNEL);
		bad = obj;
		break;
	case KA_BAD_VMALLOC:
		obj = vmalloc(PAGE_SIZE);
		bad = obj;
		break;
	case KA_BAD_STACK:
		bad = &on_stack;
		break;
	case KA_BAD_SMALL_INTERIOR:
		obj = ka_alloc(64, GFP_KERNEL);
		bad = obj ? obj + 8 : NULL;
		break;
	case KA_BAD_LARGE_INTERIOR:
		obj = ka_alloc(100000, GFP_KERNEL);
		bad = obj ? obj + PAGE_SIZE : NULL;
		break;
	case KA_BAD_RELEASED:
		bad = ka_alloc(KA_MAX_SMALL_SIZE, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, bad);
		ka_free(bad);
		ka_drain();
		break;
	case KA_BAD_MODULE_DATA:
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
	KUNIT_EXPECT_EQ(test, ka_test_bad(q, 64, 1), -1L);
	ka_free(q);
	if (b->undo)
		b->undo(obj);
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
		else if (ka_test_bad(p, KA_XCPU_CHECKED(size), seed) >= 0)
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
			    ka_test_bad(got, KA_XCPU_CHECKED(size), seed) >= 0)
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
		if (ka_test_bad(p, 24, 7) >= 0)
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
		bad += ka_test_bad(held[i], 64, (u8)i) >= 0;
	KUNIT_EXPECT_LE(test, twice, 1U);
	KUNIT_EXPECT_EQ(test, bad, 0U);
	for (i = 0; i < n; i++)
		ka_free(held[i]);
	if (kind != KA_DFREE_BURIED)
		for (i = 0; i < ARRAY_SIZE(q); i++)
			ka_free(q[i]);
out:
	migrate_enable();
}

/*
 * The whole run so far, not one case (the fixture checks each case's own):
 * since ka.ko was loaded - every suite before this one and, in the
 * debug=1 run, ka_debug_kunit.ko's - every object and page went back and
 * every allocation was freed.  The fixture drained ka before this case.
 */
static void ka_api_gives_everything_back(struct kunit *test)
{
	struct ka_counters c;

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

/*
 * One arena lookup a free (issue 29): ka_free() looks its pointer up once
 * and hands the span to every step - the quarantine, the hit path, debug,
 * the profile, this CPU's spans, another CPU's, mcentral, the heap, a
 * ka_cache.  ka_lookup_count (ka_internal.h, KUnit kernels) counts this
 * task's lookups; a step that looks the pointer up again fails here.  On
 * every path this boot takes: run under debug=1 too; on generic KASAN the
 * quarantine is switched on for the case.  A magazine flush is not a
 * free's: it looks each object it moves up (a magazine holds pointers
 * only), so no free here fills a magazine: an object allocated just
 * before (a pop) leaves room for the free measured next.
 */
static unsigned long ka_lookups_end(void)
{
	WRITE_ONCE(ka_lookup_task, NULL);
	return ka_lookup_count;
}

#define KA_LOOKUPS(call)						\
	({								\
		ka_lookup_count = 0;					\
		WRITE_ONCE(ka_lookup_task, current);			\
		call;							\
		ka_lookups_end();					\
	})

/* @n lookups for one free, with @what and the count in the message */
#define KA_EXPECT_LOOKUPS(test, call, n, fmt, ...)			\
	do {								\
		unsigned long __got = KA_LOOKUPS(call);			\
									\
		KUNIT_EXPECT_EQ_MSG(test, __got, (unsigned long)(n),	\
				    "%lu lookups: " fmt, __got,		\
				    ##__VA_ARGS__);			\
	} while (0)

struct ka_far {
	size_t size;
	struct ka_cache *cache;
	void *objs[4];
};

/* work_on_cpu(): objects allocated by another CPU, in its spans. */
static long ka_far_alloc(void *arg)
{
	struct ka_far *f = arg;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(f->objs); i++)
		f->objs[i] = f->cache ? ka_cache_alloc(f->cache, GFP_KERNEL) :
			     ka_alloc(f->size, GFP_KERNEL);
	return 0;
}

static void ka_api_one_lookup_per_free(struct kunit *test)
{
	static const size_t sizes[] = { 64, 4096, 16384, 65536 };
	struct ka_far far = { };
	struct ka_cache *c;
	unsigned int i, j;
	void *p, *bulk[8], *k;
	int cpu = -1, other;
	bool kasan = IS_ENABLED(CONFIG_KASAN_GENERIC);

	/* generic KASAN: the quarantine on (ka_kunit_init() turned it off) */
	if (kasan)
		ka_kasan_test_mode(false);
	c = ka_cache_create("ka_test_lookup", 96, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		/* the hit path (a miss with hooks on: debug, KASAN) */
		p = ka_alloc(sizes[i], GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, p);
		KA_EXPECT_LOOKUPS(test, ka_free(p), 1,
				  "ka_free() of %zu bytes", sizes[i]);
		p = ka_alloc(sizes[i], GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, p);
		KA_EXPECT_LOOKUPS(test, ka_free_sensitive(p), 1,
				  "ka_free_sensitive() of %zu bytes", sizes[i]);
	}

	/* another CPU's spans: the remote bitmap, mcentral, a cache's */
	migrate_disable();
	cpu = smp_processor_id();
	other = cpumask_any_but(cpu_online_mask, cpu);
	for (i = 0; other < nr_cpu_ids && i < ARRAY_SIZE(sizes) + 1; i++) {
		far.size = i < ARRAY_SIZE(sizes) ? sizes[i] : 0;
		far.cache = i < ARRAY_SIZE(sizes) ? NULL : c;
		work_on_cpu(other, ka_far_alloc, &far);
		for (j = 0; j < ARRAY_SIZE(far.objs); j++) {
			KUNIT_ASSERT_NOT_NULL(test, far.objs[j]);
			/* room in this CPU's magazine, should the object go there */
			k = far.cache ? ka_cache_alloc(c, GFP_KERNEL) :
			    ka_alloc(far.size, GFP_KERNEL);
			KUNIT_ASSERT_NOT_NULL(test, k);
			KA_EXPECT_LOOKUPS(test, far.cache ?
					  ka_cache_free(c, far.objs[j]) :
					  ka_free(far.objs[j]), 1,
					  "free of a %zu-byte object of CPU %d on CPU %d",
					  far.size, other, cpu);
			if (far.cache)
				ka_cache_free(c, k);
			else
				ka_free(k);
		}
	}
	migrate_enable();

	/* a ka_cache's object: its hit path, kfree() of it, its slow path */
	p = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KA_EXPECT_LOOKUPS(test, ka_cache_free(c, p), 1, "ka_cache_free()");
	p = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KA_EXPECT_LOOKUPS(test, ka_free(p), 1, "ka_free() of a cache's object");

	/* the heap profile: every object sampled, its free through the slow path */
	KUNIT_ASSERT_EQ(test, ka_prof_set_rate(1, 1), 0);
	p = ka_alloc(200, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KA_EXPECT_LOOKUPS(test, ka_free(p), 1, "ka_free() of a sampled object");
	p = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KA_EXPECT_LOOKUPS(test, ka_cache_free(c, p), 1,
			  "ka_cache_free() of a sampled object");
	KUNIT_EXPECT_EQ(test, ka_prof_set_rate(0, 0), 0);

	/* ka_free_bulk(): one an object, whatever path each takes */
	for (i = 0; i < ARRAY_SIZE(bulk); i++) {
		bulk[i] = i == 3 ? ka_cache_alloc(c, GFP_KERNEL) :
			  ka_alloc(sizes[i % ARRAY_SIZE(sizes)], GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, bulk[i]);
	}
	KA_EXPECT_LOOKUPS(test, ka_free_bulk(ARRAY_SIZE(bulk), bulk),
			  ARRAY_SIZE(bulk), "ka_free_bulk() of %zu objects",
			  ARRAY_SIZE(bulk));

	/* kfree_rcu()'s callback finds the object from its head's span */
	p = ka_alloc(128, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KA_EXPECT_LOOKUPS(test, ka_redirect_rcu_free(p + 64), 1,
			  "kfree_rcu()'s callback");

	ka_cache_destroy(c);
	if (kasan)
		ka_kasan_test_mode(true);

	/* refused (quietly, on KASAN): a foreign pointer, a double free */
	k = kmalloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, k);
	KA_EXPECT_LOOKUPS(test, ka_free(k), 1, "ka_free() of a kmalloc()'d pointer");
	kfree(k);
	p = ka_alloc(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_free(p);
	KA_EXPECT_LOOKUPS(test, ka_free(p), 1, "a double free");
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
	KUNIT_CASE(ka_api_one_lookup_per_free),
	KUNIT_CASE(ka_api_gives_everything_back),
	{}
};

KA_KUNIT_SUITE(ka_api);
