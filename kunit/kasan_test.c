// SPDX-License-Identifier: GPL-2.0
/*
 * ka_kasan: KASAN sees inside ka's objects (generic KASAN kernels only).
 *
 * For each size - small classes, a class that fits the request exactly,
 * a one-object-per-span class, and two large objects - a bad access is
 * reported exactly once: a read and a write at p[size], a read after
 * ka_free(), a write after ka_free() while the object sits in the
 * quarantine (or, without it, in this CPU's magazine), an access to a free
 * slot (or the tail) of a live span and to a chunk page outside any run.
 * Correct use is not reported: every byte of the request, every byte of
 * ka_size() after ka_size(), ka_realloc() both
 * ways, bulk calls, ka_free_rcu() and its deferred free; ka_size(),
 * ka_realloc() and ka_free_sensitive() of a freed object draw one KASAN
 * report each and leave it poisoned.  mod/ka/kasan.c's additions: an
 * overrun of an object that fills its size class is reported for every
 * class (the redzone); a freed object is not handed out again while it is
 * in the quarantine (kmalloc_uaf2); an invalid pointer, the middle of an
 * object, a double free and a free to the wrong cache each draw one KASAN
 * report; an object's allocation and free stacks are recorded; a cache
 * destroyed while its freed objects wait in the quarantine keeps none; a
 * SLAB_TYPESAFE_BY_RCU cache's freed object is readable for a grace period,
 * then poisoned; a ka_cache mempool's reserve is poisoned (kasan_redirect.c
 * calls it through include/ka_redirect.h).
 * The module runs with ka.ko in normal and in debug=1 mode
 * (scripts/guest/debug.sh), where the quarantine and the stacks are off.
 *
 * Each provoked report is bracketed by KA-EXPECT-BEGIN/END lines for the
 * console scan (scripts/scan-log), and KASAN taints the kernel with B.
 * Writes write back the byte already there, so that debug mode's poison
 * and redzone checks see nothing.
 */
#include <kunit/test.h>
#include <linux/kasan.h>
#include <linux/sched.h>
#include <linux/stackdepot.h>
#include <trace/events/error_report.h>
#include "ka_debug.h"
#include "ka_kasan.h"
#include "kasan_redirect.h"
#include "mcache.h"

KA_IMPORT_INTERNAL();

/*
 * ---- compat: counting KASAN reports ----
 *
 * The kernel's own suites count reports differently per version: 6.1's
 * lib/test_kasan.c / mm/kasan/kasan_test.c through a KUnit resource named
 * "kasan_status" that the report path sets (and a report with no such
 * resource fails the running test), 6.12's mm/kasan/kasan_test_c.c with a
 * probe on the console tracepoint, after kasan_kunit_test_suite_start()
 * has told the report path not to fail the running test (it fails any
 * other).  All of that, and kasan_save_enable_multi_shot(), is built only
 * with CONFIG_KASAN_KUNIT_TEST or CONFIG_KASAN_MODULE_TEST, which the test
 * kernels do not have: on 6.1 the report path then leaves KUnit alone, on
 * 6.12 it still fails the running test.
 *
 * So, on every version: reports are counted by a probe on the
 * error_report_end tracepoint, which KASAN fires at the end of each report
 * (6.1 and 6.12 alike; its symbol is exported); a provoked access runs
 * with current->kunit_test cleared, so that 6.12 fails no test for it; on
 * 6.1 a "kasan_status" resource is added too, for a kernel that has
 * CONFIG_KASAN_KUNIT_TEST.  Multi-shot reporting comes from the
 * kasan_multi_shot boot parameter (scripts/check), or from
 * kasan_save_enable_multi_shot() where the kernel exports it (looked up
 * with symbol_get(), so that the module loads where it does not).
 */
static atomic_t ka_kasan_reports = ATOMIC_INIT(0);
static bool ka_kasan_multishot;

static void ka_kasan_probe(void *data, enum error_detector detector,
			   unsigned long id)
{
	if (detector == ERROR_DETECTOR_KASAN)
		atomic_inc(&ka_kasan_reports);
}

#ifdef KA_KASAN_KUNIT_STATUS
/* mm/kasan/kasan.h, 6.1 */
struct ka_kunit_kasan_status {
	bool report_found;
	bool sync_fault;
};

static struct ka_kunit_kasan_status ka_kasan_status;
static struct kunit_resource ka_kasan_status_res;

static void ka_kasan_compat_test_init(struct kunit *test)
{
	kunit_add_named_resource(test, NULL, NULL, &ka_kasan_status_res,
				 "kasan_status", &ka_kasan_status);
}
#else
static void ka_kasan_compat_test_init(struct kunit *test) { }
#endif

/* Reports seen so far: any beyond that were not provoked on purpose. */
static int ka_kasan_seen;

/* No KASAN report since the last check. */
static void ka_kasan_none(struct kunit *test, const char *what)
{
	int now = atomic_read(&ka_kasan_reports);

	KUNIT_EXPECT_EQ_MSG(test, now - ka_kasan_seen, 0,
			    "unexpected KASAN report(s): %s", what);
	ka_kasan_seen = now;
}

/*
 * Run @expr and return the KASAN reports it drew: with the test hidden
 * from the report path, bracketed for the console scan.  No KUnit check
 * inside: it may run under a spinlock.
 */
#define KA_KASAN_COUNT(what, expr)					\
	({								\
		struct kunit *__t = current->kunit_test;		\
		int __before;						\
									\
		pr_info("KA-EXPECT-BEGIN: KASAN report: %s\n", what);	\
		__before = atomic_read(&ka_kasan_reports);		\
		current->kunit_test = NULL;				\
		barrier();						\
		expr;							\
		barrier();						\
		current->kunit_test = __t;				\
		pr_info("KA-EXPECT-END\n");				\
		atomic_read(&ka_kasan_reports) - __before;		\
	})

/* @got reports, of KA_KASAN_COUNT(), where @n were expected. */
static void ka_kasan_check(struct kunit *test, int got, int n,
			   const char *what)
{
	ka_kasan_seen = atomic_read(&ka_kasan_reports);
	KUNIT_EXPECT_EQ_MSG(test, got, n, "KASAN reports: %s", what);
}

/* Run @expr, which must draw exactly @n KASAN reports. */
#define KA_KASAN_EXPECT(test, n, what, expr)				\
	do {								\
		int __got;						\
									\
		ka_kasan_none(test, "before the access");		\
		__got = KA_KASAN_COUNT(what, expr);			\
		ka_kasan_check(test, __got, n, what);			\
	} while (0)

/* ---- accesses the compiler keeps ---- */

static noinline u8 ka_kasan_read(const void *p)
{
	return READ_ONCE(*(const u8 *)p);
}

/* Write back the byte at @p: a reported write that changes nothing. */
static noinline void ka_kasan_poke(void *p)
{
	u8 v;

	kasan_disable_current();
	v = READ_ONCE(*(u8 *)p);
	kasan_enable_current();
	WRITE_ONCE(*(u8 *)p, v);
}

static void ka_kasan_poke_if(bool cond, void *p)
{
	if (cond)
		ka_kasan_poke(p);
}

/* Read and write back every byte of [p, p + n). */
static void ka_kasan_touch(u8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		WRITE_ONCE(p[i], READ_ONCE(p[i]));
}

/* ---- the sizes ---- */

static const size_t ka_kasan_sizes[] = {
	1, 13, 64, 120, 4000, 33000, 1000000,
};

static void ka_kasan_size_desc(const size_t *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%zu bytes", *size);
}

KUNIT_ARRAY_PARAM(ka_kasan_size, ka_kasan_sizes, ka_kasan_size_desc);

static size_t ka_kasan_param(struct kunit *test)
{
	return *(const size_t *)test->param_value;
}

static bool ka_kasan_large(size_t size)
{
	return size > KA_MAX_SMALL_SIZE;
}

/* The chunk of the live object @p. */
static struct ka_chunk *ka_kasan_chunk(const void *p)
{
	struct ka_span *span;
	struct ka_chunk *chunk;

	rcu_read_lock();
	span = ka_span_of(p);
	chunk = span ? span->chunk : NULL;
	rcu_read_unlock();
	return chunk;
}

/* Where a live object is: its heap, its chunk and the chunk's pages. */
struct ka_kasan_where {
	struct ka_mheap *heap;
	struct ka_chunk *chunk;
	void *base;
};

static void ka_kasan_where(struct kunit *test, const void *p,
			   struct ka_kasan_where *w)
{
	w->chunk = ka_kasan_chunk(p);
	KUNIT_ASSERT_NOT_NULL(test, w->chunk);
	w->heap = ka_mheap_of(w->chunk->node);
	w->base = w->chunk->base;
}

/*
 * Take the heap's lock; true if the chunk is still the heap's (then it
 * stays so, and its pages ka's, until the unlock: the heap releases chunks
 * under its lock).  False if it went back to the buddy allocator, whose
 * pages the test must not touch.  The chunk is not dereferenced.
 */
static bool ka_kasan_lock_chunk(struct ka_kasan_where *w, unsigned long *flags)
{
	struct ka_chunk *c;

	spin_lock_irqsave(&w->heap->lock, *flags);
	list_for_each_entry(c, &w->heap->chunks, list)
		if (c == w->chunk && c->base == w->base)
			return true;
	return false;
}

/*
 * Free @p and access it at @off (write if @write) once freed, while its
 * chunk is certainly ka's: the number of reports, or -1 if the chunk was
 * released.  Small objects sit in a magazine then, their span live.
 */
static int ka_kasan_after_free(struct kunit *test, u8 *p, size_t off,
			       bool write, const char *what)
{
	struct ka_kasan_where w;
	unsigned long flags;
	int got = -1;

	ka_kasan_where(test, p, &w);
	ka_free(p);
	ka_kasan_none(test, "ka_free()");
	if (ka_kasan_lock_chunk(&w, &flags))
		got = write ? KA_KASAN_COUNT(what, ka_kasan_poke(p + off)) :
			      KA_KASAN_COUNT(what, ka_kasan_read(p + off));
	spin_unlock_irqrestore(&w.heap->lock, flags);
	return got;
}

/* ---- the cases ---- */

/* In bounds: no report; p[size]: one read and one write report. */
static void ka_kasan_bounds(struct kunit *test)
{
	size_t size = ka_kasan_param(test), usable;
	u8 *p = ka_alloc(size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_kasan_touch(p, size);
	ka_kasan_none(test, "p[0..size)");
	KA_KASAN_EXPECT(test, 1, "read at p[size]", ka_kasan_read(p + size));
	KA_KASAN_EXPECT(test, 1, "write at p[size]", ka_kasan_poke(p + size));
	/* ka_ksize(): ksize() as this kernel has it, unpoisoning before 6.2 */
	KUNIT_EXPECT_GE(test, ka_ksize(p), size);
	if (!KA_KSIZE_UNPOISONS)
		KA_KASAN_EXPECT(test, 1, "read at p[size] after ka_ksize()",
				ka_kasan_read(p + size));
	/* ka_size() gives the whole usable size, as ksize() did */
	usable = ka_size(p);
	KUNIT_EXPECT_GE(test, usable, size);
	ka_kasan_touch(p, usable);
	ka_kasan_none(test, "p[0..ka_size(p))");
	ka_free(p);
	ka_kasan_none(test, "ka_free()");
}

/* A read after ka_free(). */
static void ka_kasan_read_after_free(struct kunit *test)
{
	size_t size = ka_kasan_param(test);
	u8 *p = ka_alloc(size, GFP_KERNEL);
	int got;

	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_kasan_touch(p, size);
	got = ka_kasan_after_free(test, p, size / 2, false, "read after free");
	if (got < 0)
		kunit_skip(test, "the chunk went back to the buddy allocator");
	ka_kasan_check(test, got, 1, "read after free");
}

/*
 * A write after ka_free() while the object sits in this CPU's magazine
 * (a small object; a large one is a write to a free run of a live chunk).
 */
static void ka_kasan_write_after_free(struct kunit *test)
{
	size_t size = ka_kasan_param(test);
	struct ka_magazine *m;
	u8 *p, *q;
	bool cached;

	if (ka_kasan_large(size)) {
		int got;

		p = ka_alloc(size, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, p);
		got = ka_kasan_after_free(test, p, 0, true,
					  "write after free of a large object");
		if (got < 0)
			kunit_skip(test, "the chunk went back to the buddy allocator");
		ka_kasan_check(test, got, 1, "write after free of a large object");
		return;
	}
	migrate_disable();
	p = ka_alloc(size, GFP_KERNEL);
	if (!p) {
		migrate_enable();
		KUNIT_ASSERT_NOT_NULL(test, p);
	}
	ka_free(p);
	if (ka_kasan_quarantine_active()) {
		/* in the quarantine: poisoned, and not handed out again */
		KA_KASAN_EXPECT(test, 1, "write after free, object in the quarantine",
				ka_kasan_poke(p + size - 1));
		q = ka_alloc(size, GFP_KERNEL);
		migrate_enable();
		KUNIT_EXPECT_PTR_NE(test, q, p);
		ka_free(q);
		ka_kasan_none(test, "another object of the class");
		return;
	}
	m = &this_cpu_ptr(ka_mcache)->mag[ka_size_class(size)];
	cached = m->top > m->objs && m->top[-1] == p;
	KA_KASAN_EXPECT(test, cached ? 1 : 0,
			"write after free, object in the per-CPU magazine",
			ka_kasan_poke_if(cached, p + size - 1));
	/* LIFO: the same object comes back, accessible again */
	q = ka_alloc(size, GFP_KERNEL);
	migrate_enable();
	KUNIT_EXPECT_TRUE_MSG(test, cached, "%p not on top of the magazine", p);
	if (cached)
		KUNIT_EXPECT_PTR_EQ(test, q, p);
	if (q) {
		ka_kasan_touch(q, size);
		ka_free(q);
	}
	ka_kasan_none(test, "reuse of the object");
}

/*
 * A slot of a live span that no client holds: free in the span's bitmap,
 * else the span's tail, else one in this CPU's magazine (all of a small
 * span's objects may be there after a refill).  For a large object, the
 * tail of its run past the granule of its last byte.
 */
static void ka_kasan_free_slot(struct kunit *test)
{
	size_t size = ka_kasan_param(test);
	const char *what = NULL;
	struct ka_mcentral *c;
	struct ka_magazine *m;
	struct ka_span *span;
	unsigned long flags;
	unsigned int idx;
	int got = 0;
	void **o;
	u8 *p;

	migrate_disable();
	p = ka_alloc(size, GFP_KERNEL);
	if (!p)
		migrate_enable();
	KUNIT_ASSERT_NOT_NULL(test, p);
	rcu_read_lock();
	span = ka_span_of(p);
	rcu_read_unlock();
	ka_kasan_none(test, "before the access");
	if (ka_kasan_large(size)) {
		what = "the tail of a large object's run";
		if (span->elemsize >= round_up(size, 8) + 8)
			got = KA_KASAN_COUNT(what, ka_kasan_read(p + span->elemsize - 1));
		else
			what = NULL;
		goto out;
	}
	/* under the central's lock no one can take the slot */
	c = ka_mcentral_of(span->node, span->cls);
	spin_lock_irqsave(&c->lock, flags);
	idx = find_first_zero_bit(span->allocbits, span->nelems);
	if (idx < span->nelems) {
		what = "a free slot of a live span";
		got = KA_KASAN_COUNT(what, ka_kasan_read(span->base +
							 idx * span->elemsize));
	} else if (span->nelems * span->elemsize < span->npages * PAGE_SIZE) {
		what = "the tail of a live span";
		got = KA_KASAN_COUNT(what, ka_kasan_read(span->base + span->nelems *
							 span->elemsize));
	}
	spin_unlock_irqrestore(&c->lock, flags);
	if (what)
		goto out;
	/* owning the magazines, no one can take the slot either */
	ka_mcache_lock(ka_mcache);
	m = &this_cpu_ptr(ka_mcache)->mag[span->cls];
	for (o = m->objs; o < m->top; o++) {
		if (*o != p && ka_span_of(*o) == span) {
			what = "a slot of a live span in the per-CPU magazine";
			got = KA_KASAN_COUNT(what, ka_kasan_read(*o));
			break;
		}
	}
	ka_mcache_unlock(ka_mcache);
out:
	ka_free(p);
	migrate_enable();
	if (!what)
		kunit_skip(test, "class of %u bytes: one object per span, no tail",
			   span->elemsize);
	ka_kasan_check(test, got, 1, what);
}

/* A page of a live chunk outside any run. */
static void ka_kasan_chunk_page(struct kunit *test)
{
	size_t size = ka_kasan_param(test);
	u8 *p = ka_alloc(size, GFP_KERNEL);
	struct ka_chunk *chunk;
	struct ka_mheap *heap;
	unsigned long flags;
	unsigned int idx;
	bool full;
	int got = 0;

	KUNIT_ASSERT_NOT_NULL(test, p);
	chunk = ka_kasan_chunk(p);
	KUNIT_ASSERT_NOT_NULL(test, chunk);
	/* the chunk cannot go while @p lives; its bitmap is the heap's */
	heap = ka_mheap_of(chunk->node);
	ka_kasan_none(test, "before the access");
	spin_lock_irqsave(&heap->lock, flags);
	idx = find_first_zero_bit(chunk->used, chunk->npages);
	full = idx >= chunk->npages;
	if (!full)
		got = KA_KASAN_COUNT("a chunk page outside any run",
				     ka_kasan_read(chunk->base + idx * PAGE_SIZE + 100));
	spin_unlock_irqrestore(&heap->lock, flags);
	/* a large object's chunk (its own block) may go with it */
	ka_free(p);
	if (full)
		kunit_skip(test, "the chunk is full");
	ka_kasan_check(test, got, 1, "a chunk page outside any run");
}

/* ka_realloc() growth and shrink: no report; past the shrunk size: one. */
static void ka_kasan_realloc(struct kunit *test)
{
	size_t size = ka_kasan_param(test), big = 2 * size + 1;
	size_t small = (size + 1) / 2;
	u8 *p = ka_alloc(size, GFP_KERNEL), *q;

	KUNIT_ASSERT_NOT_NULL(test, p);
	memset(p, 0x5a, size);
	q = ka_realloc(p, big, GFP_KERNEL);
	if (!q)
		ka_free(p);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_PTR_EQ(test, memchr_inv(q, 0x5a, size), NULL);
	ka_kasan_touch(q, big);
	ka_kasan_none(test, "ka_realloc() growth");
	p = ka_realloc(q, small, GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, p, q);
	ka_kasan_touch(p, small);
	ka_kasan_none(test, "ka_realloc() shrink");
	KA_KASAN_EXPECT(test, 1, "read past a shrunk object",
			ka_kasan_read(p + small));
	ka_free(p);
	ka_kasan_none(test, "ka_free() after ka_realloc()");
}

/* ka_alloc_bulk() and ka_free_bulk(): no report; p[size]: one. */
static void ka_kasan_bulk(struct kunit *test)
{
	size_t size = ka_kasan_param(test), i, n = ka_kasan_large(size) ? 4 : 32;
	void *objs[32];
	u8 *past;

	KUNIT_ASSERT_EQ(test, ka_alloc_bulk(size, GFP_KERNEL, n, objs), (int)n);
	for (i = 0; i < n; i++)
		ka_kasan_touch(objs[i], size);
	ka_kasan_none(test, "ka_alloc_bulk()");
	/*
	 * Just past an object whose next slot is none of ours: objects come
	 * in random order (random_reuse), and past an exact fit lies the
	 * next slot, which is reported only if it is free.
	 */
	for (i = 0, past = NULL; i < n && !past; i++) {
		size_t j = 0;

		while (j < n && objs[j] != (u8 *)objs[i] + size)
			j++;
		if (j == n)
			past = (u8 *)objs[i] + size;
	}
	KUNIT_ASSERT_NOT_NULL(test, past);
	KA_KASAN_EXPECT(test, 1, "read past a bulk object",
			ka_kasan_read(past));
	ka_free_bulk(n, objs);
	ka_kasan_none(test, "ka_free_bulk()");
}

/*
 * ka_free_rcu(): no report from the deferred free itself; after the grace
 * period the object is freed like any other.
 */
static void ka_kasan_free_rcu(struct kunit *test)
{
	size_t size = ka_kasan_param(test);
	u8 *p = ka_alloc(size, GFP_KERNEL);
	struct ka_kasan_where w;
	unsigned long flags;
	int got = -1;

	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_kasan_touch(p, size);
	ka_kasan_where(test, p, &w);
	ka_free_rcu(p);
	ka_rcu_barrier();
	ka_kasan_none(test, "ka_free_rcu() and its grace period");
	if (ka_kasan_lock_chunk(&w, &flags))
		got = KA_KASAN_COUNT("read after the RCU-deferred free",
				     ka_kasan_read(p));
	spin_unlock_irqrestore(&w.heap->lock, flags);
	if (got < 0)
		kunit_skip(test, "the chunk went back to the buddy allocator");
	ka_kasan_check(test, got, 1, "read after the RCU-deferred free");
}

/*
 * ka_size(), ka_realloc() and ka_free_sensitive() of a freed object refuse
 * it, each with one KASAN report (as the kernel's ksize() and krealloc()
 * report a freed object), and leave it poisoned (the kernel suite's
 * ksize_uaf, krealloc_uaf, kmalloc_double_kzfree): a read after them is
 * still reported.
 */
static void ka_kasan_size_after_free(struct kunit *test)
{
	size_t size = ka_kasan_param(test), usable = 1;
	u8 *p = ka_alloc(size, GFP_KERNEL), *q = p;
	struct ka_kasan_where w;
	unsigned long flags;
	int got = -1;

	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_kasan_touch(p, size);
	ka_kasan_where(test, p, &w);
	ka_free(p);
	ka_kasan_none(test, "ka_free()");
	KA_KASAN_EXPECT(test, 1, "ka_size() of a freed object",
			usable = ka_size(p));
	KUNIT_EXPECT_EQ(test, usable, (size_t)0);
	KA_KASAN_EXPECT(test, 1, "ka_realloc() of a freed object",
			q = ka_realloc(p, size + 1, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, q);
	KA_KASAN_EXPECT(test, 1, "ka_free_sensitive() of a freed object",
			ka_free_sensitive(p));
	if (ka_kasan_lock_chunk(&w, &flags))
		got = KA_KASAN_COUNT("read after ka_size() of a freed object",
				     ka_kasan_read(p + size / 2));
	spin_unlock_irqrestore(&w.heap->lock, flags);
	if (got < 0)
		kunit_skip(test, "the chunk went back to the buddy allocator");
	ka_kasan_check(test, got, 1, "read after ka_size() of a freed object");
}

/* ---- mod/ka/kasan.c: redzones, quarantine, bad frees, stacks ---- */

/*
 * An object that fills its size class exactly: a read at p[n] is reported
 * for every class (the slot's redzone, not a free neighbour), and a
 * power-of-two size up to PAGE_SIZE keeps its natural alignment.
 */
static void ka_kasan_exact_fit(struct kunit *test)
{
	unsigned int cls, reported = 0, tried = 0;

	for (cls = 1; cls < ka_nr_classes; cls++) {
		size_t n = ka_classes[cls].size;
		u8 *p;
		int got;

		/* the largest class has no larger slot (mod/ka/ka.rst, KASAN) */
		if (n == KA_MAX_SMALL_SIZE)
			continue;
		p = ka_alloc(n, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, p);
		if (is_power_of_2(n) && n <= PAGE_SIZE)
			KUNIT_EXPECT_TRUE_MSG(test, IS_ALIGNED((unsigned long)p, n),
					      "%zu bytes at %p", n, p);
		got = KA_KASAN_COUNT("read just past an exact fit",
				     ka_kasan_read(p + n));
		ka_kasan_seen = atomic_read(&ka_kasan_reports);
		KUNIT_EXPECT_EQ_MSG(test, got, 1,
				    "KASAN reports: read just past %zu bytes", n);
		reported += got == 1;
		KUNIT_EXPECT_GE(test, ka_size(p), n);
		ka_kasan_none(test, "ka_size()");
		tried++;
		ka_free(p);
		ka_kasan_none(test, "ka_free()");
	}
	KUNIT_EXPECT_EQ(test, reported, tried);
}

/*
 * kmalloc_uaf2: a freed object stays out of circulation while it is in the
 * quarantine - two magazines' worth of allocations of its class do not
 * hand it out - and a read of it is reported all along.
 */
static void ka_kasan_quarantine_reuse(struct kunit *test)
{
	size_t size = ka_kasan_param(test);
	unsigned int i, n, again = 0;
	void **held;
	u8 *p;

	if (!ka_kasan_quarantine_active())
		kunit_skip(test, "no quarantine (ka.ko debug=1 or quarantine=0)");
	n = ka_kasan_large(size) ? 8 :
	    2 * ka_classes[ka_size_class(size)].cache_max + 16;
	held = kcalloc(n, sizeof(*held), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, held);
	p = ka_alloc(size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_free(p);
	for (i = 0; i < n; i++) {
		held[i] = ka_alloc(size, GFP_KERNEL);
		again += held[i] == p;
	}
	KUNIT_EXPECT_EQ_MSG(test, again, 0U, "%p handed out from the quarantine", p);
	ka_kasan_none(test, "allocations of the class");
	KA_KASAN_EXPECT(test, 1, "read of an object in the quarantine",
			ka_kasan_read(p + size / 2));
	for (i = 0; i < n; i++)
		ka_free(held[i]);
	kfree(held);
	ka_kasan_none(test, "frees");
}

/*
 * A pointer ka refuses draws one KASAN report besides ka's message: the
 * middle of an object, a pointer that is no ka object's, a double free (in
 * debug mode its own report instead), a free to another cache.
 */
static void ka_kasan_bad_frees(struct kunit *test)
{
	size_t size = ka_kasan_param(test);
	u8 *p = ka_alloc(size, GFP_KERNEL);
	struct ka_cache *c1, *c2;
	unsigned long stack[2];
	void *o;

	KUNIT_ASSERT_NOT_NULL(test, p);
	KA_KASAN_EXPECT(test, 1, "ka_free() of the middle of an object",
			ka_free(p + 8));
	KA_KASAN_EXPECT(test, 1, "ka_free() of a pointer ka never gave",
			ka_free(stack));
	ka_free(p);
	ka_kasan_none(test, "ka_free()");
	/* debug mode reports a small one itself (its live bits) */
	KA_KASAN_EXPECT(test, ka_debug_on() && !ka_kasan_large(size) ? 0 : 1,
			"double free",
			ka_free(p));
	if (ka_debug_on() || ka_kasan_large(size))
		return;
	c1 = ka_cache_create("ka_kasan_c1", size, 0, 0, NULL);
	c2 = ka_cache_create("ka_kasan_c2", size, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c1);
	KUNIT_ASSERT_NOT_NULL(test, c2);
	o = ka_cache_alloc(c1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, o);
	KA_KASAN_EXPECT(test, 1, "ka_cache_free() to another cache",
			ka_cache_free(c2, o));
	ka_cache_free(c1, o);
	KA_KASAN_EXPECT(test, 1, "ka_cache_free() twice", ka_cache_free(c1, o));
	ka_cache_destroy(c1);
	ka_cache_destroy(c2);
	ka_kasan_none(test, "ka_cache_destroy()");
}

/* Does the depot's stack @h name @func? */
static bool ka_kasan_stack_has(u32 h, const char *func)
{
	char *buf;
	bool has;

	if (!h)
		return false;
	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return false;
	stack_depot_snprint(h, buf, PAGE_SIZE, 0);
	has = strstr(buf, func);
	kfree(buf);
	return has;
}

/* An object's allocation and free stacks are recorded, naming their callers. */
static noinline void *ka_kasan_stacks_alloc(size_t size)
{
	return ka_alloc(size, GFP_KERNEL);
}

static noinline void ka_kasan_stacks_free(void *p)
{
	ka_free(p);
}

static void ka_kasan_stacks_rec(struct kunit *test)
{
	size_t size = ka_kasan_param(test);
	u32 alloc, free;
	void *p;

	if (ka_debug_on())
		kunit_skip(test, "debug mode records callers itself");
	p = ka_kasan_stacks_alloc(size);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_TRUE(test, ka_kasan_stacks(p, &alloc, &free));
	KUNIT_EXPECT_TRUE(test, ka_kasan_stack_has(alloc, "ka_kasan_stacks_alloc"));
	KUNIT_EXPECT_EQ(test, free, 0U);
	ka_kasan_stacks_free(p);
	if (!ka_kasan_quarantine_active())
		return;
	/* in the quarantine, the object is still out: its records stay */
	KUNIT_ASSERT_TRUE(test, ka_kasan_stacks(p, &alloc, &free));
	KUNIT_EXPECT_TRUE(test, ka_kasan_stack_has(alloc, "ka_kasan_stacks_alloc"));
	KUNIT_EXPECT_TRUE(test, ka_kasan_stack_has(free, "ka_kasan_stacks_free"));
}

/*
 * A cache destroyed while its freed objects wait in the quarantine: they
 * go back first, and the cache goes whole (not kept "dead" with objects
 * out).
 */
static void ka_kasan_cache_quarantine(struct kunit *test)
{
	struct ka_cache *c;
	char *buf;
	void *o[8];
	int i;

	if (ka_debug_on())
		kunit_skip(test, "ka.ko debug=1 refuses caches");
	c = ka_cache_create("ka_kasan_qcache", 200, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	for (i = 0; i < ARRAY_SIZE(o); i++) {
		o[i] = ka_cache_alloc(c, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, o[i]);
	}
	for (i = 0; i < ARRAY_SIZE(o); i++)
		ka_cache_free(c, o[i]);
	ka_cache_destroy(c);
	buf = kunit_kzalloc(test, 64 << 10, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_GE(test, ka_debugfs_render("caches", buf, 64 << 10), 0);
	KUNIT_EXPECT_NULL_MSG(test, strstr(buf, "ka_kasan_qcache"),
			      "the destroyed cache is still listed: %s", buf);
	ka_kasan_none(test, "cache destroyed");
}

/* Is a cache called @name still listed in debugfs "caches"? */
static bool ka_kasan_cache_listed(struct kunit *test, const char *name)
{
	char *buf = kunit_kzalloc(test, 64 << 10, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_GE(test, ka_debugfs_render("caches", buf, 64 << 10), 0);
	return strstr(buf, name);
}

/*
 * SLAB_TYPESAFE_BY_RCU (the kernel suite's kmem_cache_rcu_uaf, as
 * SLUB_RCU_DEBUG gives it): a freed object stays readable until a grace
 * period has passed, and a second free meanwhile is a double free; then
 * it is poisoned in the quarantine: a read or a free of it is reported.
 * Destroying the cache right after a free waits for that free: the cache
 * goes whole.
 */
static void ka_kasan_cache_rcu(struct kunit *test)
{
	struct ka_cache *c;
	int twice;
	u8 *p, *q;

	if (!ka_kasan_quarantine_active())
		kunit_skip(test, "no quarantine (ka.ko debug=1 or quarantine=0)");
	c = ka_cache_create("ka_kasan_rcu", 200, 0, SLAB_TYPESAFE_BY_RCU, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	p = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	ka_kasan_touch(p, 200);
	rcu_read_lock();
	ka_cache_free(c, p);
	/* a reader of the grace period: no report */
	ka_kasan_read(p);
	ka_kasan_read(p + 199);
	twice = KA_KASAN_COUNT("ka_cache_free() in the grace period",
			       ka_cache_free(c, p));
	rcu_read_unlock();
	ka_kasan_check(test, twice, 1, "ka_cache_free() in the grace period");
	ka_kasan_none(test, "reads in the grace period");
	rcu_barrier();
	ka_kasan_none(test, "the grace period");
	KA_KASAN_EXPECT(test, 1, "read after the grace period",
			ka_kasan_read(p + 100));
	KA_KASAN_EXPECT(test, 1, "ka_cache_free() after the grace period",
			ka_cache_free(c, p));
	q = ka_cache_alloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_PTR_NE(test, q, p);
	ka_cache_free(c, q);
	ka_cache_destroy(c);
	ka_kasan_none(test, "cache destroyed");
	KUNIT_EXPECT_FALSE_MSG(test, ka_kasan_cache_listed(test, "ka_kasan_rcu"),
			       "the destroyed cache is still listed");
}

/*
 * A mempool of a ka_cache, as a module built with include/ka_redirect.h
 * uses it (kasan_redirect.c; the kernel suite's mempool_slab_uaf): the
 * elements of its reserve are poisoned - those it reserved at creation
 * and when it grew, and one mempool_free() put there - and accessible once
 * handed out again; a second mempool_free() is a double free; what the
 * pool frees (shrinking, destroyed) goes back to the cache, which is then
 * destroyed whole.  Before 6.8 there is no mempool_alloc_preallocated():
 * the element comes from the cache and mempool_free() frees it.
 */
static void ka_kasan_mempool(struct kunit *test)
{
	struct ka_cache *c;
	mempool_t *pool;
	u8 *e;

	if (ka_debug_on())
		kunit_skip(test, "ka.ko debug=1 refuses caches");
	c = ka_cache_create("ka_kasan_pool", 123, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	pool = ka_kasan_rd_create(c, 2);
	KUNIT_ASSERT_NOT_NULL(test, pool);
	ka_kasan_none(test, "mempool_create_slab_pool()");
	KA_KASAN_EXPECT(test, 1, "read of an element reserved at creation",
			ka_kasan_read(pool->elements[1]));
	KUNIT_ASSERT_EQ(test, ka_kasan_rd_resize(pool, 3), 0);
	KA_KASAN_EXPECT(test, 1, "read of an element reserved by mempool_resize()",
			ka_kasan_read(pool->elements[2]));
	e = ka_kasan_rd_take(pool);
	KUNIT_ASSERT_NOT_NULL(test, e);
	ka_kasan_touch(e, 123);
	ka_kasan_none(test, "an element handed out");
	ka_kasan_rd_free(e, pool);
	KUNIT_EXPECT_EQ(test, pool->curr_nr, 3);
	KA_KASAN_EXPECT(test, 1, "read of an element given back",
			ka_kasan_read(e + 100));
	KA_KASAN_EXPECT(test, 1, "mempool_free() twice", ka_kasan_rd_free(e, pool));
	KUNIT_EXPECT_EQ(test, pool->curr_nr, 3);
	KUNIT_EXPECT_EQ(test, ka_kasan_rd_resize(pool, 1), 0);
	ka_kasan_none(test, "mempool_resize() down");
	ka_kasan_rd_destroy(pool);
	ka_kasan_none(test, "mempool_destroy()");
	ka_cache_destroy(c);
	ka_kasan_none(test, "cache destroyed");
	KUNIT_EXPECT_FALSE_MSG(test, ka_kasan_cache_listed(test, "ka_kasan_pool"),
			       "the destroyed cache is still listed");
}

static int ka_kasan_test_init(struct kunit *test)
{
	ka_kasan_compat_test_init(test);
	ka_kasan_seen = atomic_read(&ka_kasan_reports);
	return 0;
}

static void ka_kasan_test_exit(struct kunit *test)
{
	ka_kasan_none(test, "at the end of the case");
}

static int ka_kasan_suite_init(struct kunit_suite *suite)
{
	bool (*enable)(void);

	if (!IS_ENABLED(CONFIG_KASAN_GENERIC) || !kasan_enabled())
		return 0;
	enable = symbol_get(kasan_save_enable_multi_shot);
	if (enable) {
		ka_kasan_multishot = enable();
		symbol_put(kasan_save_enable_multi_shot);
	}
	return register_trace_error_report_end(ka_kasan_probe, NULL);
}

static void ka_kasan_suite_exit(struct kunit_suite *suite)
{
	void (*restore)(bool enabled);

	if (!IS_ENABLED(CONFIG_KASAN_GENERIC) || !kasan_enabled())
		return;
	unregister_trace_error_report_end(ka_kasan_probe, NULL);
	tracepoint_synchronize_unregister();
	restore = symbol_get(kasan_restore_multi_shot);
	if (restore) {
		restore(ka_kasan_multishot);
		symbol_put(kasan_restore_multi_shot);
	}
}

static struct kunit_case ka_kasan_cases[] = {
	KUNIT_CASE_PARAM(ka_kasan_bounds, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_read_after_free, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_write_after_free, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_free_slot, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_chunk_page, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_realloc, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_bulk, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_free_rcu, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_size_after_free, ka_kasan_size_gen_params),
	KUNIT_CASE(ka_kasan_exact_fit),
	KUNIT_CASE_PARAM(ka_kasan_quarantine_reuse, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_bad_frees, ka_kasan_size_gen_params),
	KUNIT_CASE_PARAM(ka_kasan_stacks_rec, ka_kasan_size_gen_params),
	KUNIT_CASE(ka_kasan_cache_quarantine),
	KUNIT_CASE(ka_kasan_cache_rcu),
	KUNIT_CASE(ka_kasan_mempool),
	{}
};

static struct kunit_suite ka_kasan_suite = {
	.name = "ka_kasan",
	.suite_init = ka_kasan_suite_init,
	.suite_exit = ka_kasan_suite_exit,
	.init = ka_kasan_test_init,
	.exit = ka_kasan_test_exit,
	.test_cases = ka_kasan_cases,
};

kunit_test_suites(&ka_kasan_suite);

MODULE_DESCRIPTION("KUnit: KASAN reports for ka objects");
MODULE_LICENSE("GPL");
