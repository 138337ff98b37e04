// SPDX-License-Identifier: GPL-2.0
/*
 * ka debug mode (module parameter "debug", off by default), in the spirit
 * of slub_debug:
 *
 *  - poison: free objects (and every object of a new span) are filled with
 *    POISON_FREE; the poison is checked when an object is handed out, so a
 *    write after free is reported with the object, its class and the
 *    callers that last allocated and freed it;
 *  - redzone: the bytes between the requested size and the end of the slot
 *    (the size-class round-up, or the page round-up of a large object) are
 *    filled with SLUB_RED_ACTIVE at allocation and checked at free; ka_size()
 *    returns the requested size, so a client that trusts it stays inside;
 *  - double free: a per-object "live" bit, set when the object is handed
 *    out and cleared when it is freed, refuses a second free.
 *
 * The requested size and the last allocating and freeing callers are kept
 * per object in a side table of the span.  Objects keep their slot layout,
 * so the natural alignment of power-of-two sizes still holds (their
 * redzone is empty).  Off, the mode costs a static branch (a nop) on each
 * path.
 *
 * Reports are rate-limited pr_err()s, counted (debugfs "stats":
 * debug_reports), and counted into a KUnit test's "ka_errors" resource when
 * one is running, as SLUB does for slub_kunit.
 *
 * Owns: the per-span debug tables, the count of corruptions found
 * (ka_debug_reports, per CPU).
 * KASAN: the checks and fills read and write free objects and the
 * redzones that KASAN has poisoned, with KASAN's reports off for the task.
 *
 * Locks: none; the live bits are atomic bitops (an object may be freed on
 * another CPU than the one that allocated it), the other per-object fields
 * belong to whoever holds the object.
 */
#define pr_fmt(fmt) "ka debug: " fmt

#include <linux/moduleparam.h>
#include <linux/poison.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#if IS_ENABLED(CONFIG_KUNIT)
#include <kunit/test.h>
#include <kunit/resource.h>
#endif
#include "ka_debug.h"

static bool debug;
module_param(debug, bool, 0444);
MODULE_PARM_DESC(debug, "poison, redzones and double-free detection (default off)");

DEFINE_STATIC_KEY_FALSE(ka_debug_key);
KA_EXPORT_INTERNAL(ka_debug_key);

struct ka_span_debug {
	struct rcu_head rcu;
	unsigned long *live;		/* bit set: object held by a client */
	u32 *reqsize;			/* bytes requested */
	unsigned long *alloc_caller;
	unsigned long *free_caller;
	unsigned long data[];
};

static DEFINE_RATELIMIT_STATE(ka_debug_rs, 5 * HZ, 20);
DEFINE_PER_CPU(unsigned long, ka_debug_reports);

static void ka_debug_count(void)
{
	this_cpu_inc(ka_debug_reports);
#if IS_ENABLED(CONFIG_KUNIT)
	if (current->kunit_test) {
		struct kunit_resource *res;

		res = kunit_find_named_resource(current->kunit_test, "ka_errors");
		if (res) {
			(*(int *)res->data)++;
			kunit_put_resource(res);
		}
	}
#endif
}

#define ka_debug_report(fmt, ...)					\
	do {								\
		ka_debug_count();					\
		if (__ratelimit(&ka_debug_rs))				\
			pr_err(fmt, ##__VA_ARGS__);			\
	} while (0)

/* Offset of the first byte of [p, p + len) that is not @val, or -1. */
static long ka_debug_find_bad(const u8 *p, size_t len, u8 val)
{
	const u8 *bad = memchr_inv(p, val, len);

	return bad ? bad - p : -1;
}

/**
 * ka_debug_init - turn debug mode on if the module parameter asks for it
 *
 * Context: module init, before any object exists.
 */
void ka_debug_init(void)
{
	if (debug)
		static_branch_enable(&ka_debug_key);
}

/**
 * ka_debug_span_init - give a new small span its debug table and poison it
 * @span: the span, its pages carved
 * @gfp: caller's flags
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: 0 or -ENOMEM.
 */
int ka_debug_span_init(struct ka_span *span, gfp_t gfp)
{
	unsigned int n = span->nelems, words = BITS_TO_LONGS(n);
	struct ka_span_debug *d;

	if (!static_branch_unlikely(&ka_debug_key) ||
	    span->state != KA_SPAN_SMALL)
		return 0;
	d = ka_sys_meta_alloc(sizeof(*d) + (words + 2 * n) * sizeof(long) +
			      n * sizeof(u32), gfp, span->node);
	if (!d)
		return -ENOMEM;
	d->live = d->data;
	d->alloc_caller = d->live + words;
	d->free_caller = d->alloc_caller + n;
	d->reqsize = (u32 *)(d->free_caller + n);
	span->dbg = d;
	kasan_disable_current();
	memset(span->base, POISON_FREE, (size_t)span->npages << PAGE_SHIFT);
	kasan_enable_current();
	return 0;
}

/**
 * ka_debug_span_free - free a span's debug table
 * @span: a span being destroyed
 *
 * Context: any.  The table goes after a grace period, like the span.
 */
void ka_debug_span_free(struct ka_span *span)
{
	if (span->dbg)
		kfree_rcu(span->dbg, rcu);
}

/**
 * ka_debug_alloc - check and record an object being handed out
 * @p: the object
 * @size: bytes requested
 * @caller: the API caller
 *
 * Context: any; no ka lock held.
 * Return: the bytes the client may use (@size).
 */
size_t ka_debug_alloc(void *p, size_t size, unsigned long caller)
{
	return ka_debug_alloc_obj(p, size, caller, true);
}

/**
 * ka_debug_alloc_obj - ka_debug_alloc(), with or without the poison check
 * @p: the object
 * @size: bytes requested
 * @caller: the API caller
 * @poison: check the poison of a free object (not for a ka_cache whose
 *	    free objects keep their contents: a constructor's state, or
 *	    SLAB_TYPESAFE_BY_RCU, as SLUB poisons neither)
 *
 * Context: any; no ka lock held.
 * Return: the bytes the client may use (@size).
 */
size_t ka_debug_alloc_obj(void *p, size_t size, unsigned long caller,
			  bool poison)
{
	struct ka_span_debug *d;
	struct ka_span *span;
	unsigned int idx;
	long bad;

	rcu_read_lock();
	kasan_disable_current();
	span = ka_span_of(p);
	if (WARN_ON_ONCE(!span))
		goto out;
	if (span->state == KA_SPAN_LARGE) {
		memset(p + size, SLUB_RED_ACTIVE, span->elemsize - size);
		goto out;
	}
	d = span->dbg;
	idx = ka_span_index(span, p);
	bad = poison ? ka_debug_find_bad(p, span->elemsize, POISON_FREE) : -1;
	if (bad >= 0)
		ka_debug_report("use after free: object %p (class %u, %u bytes) written at offset %ld (0x%02x) after it was freed by %pS\n",
				p, span->cls, span->elemsize, bad,
				((u8 *)p)[bad], (void *)d->free_caller[idx]);
	if (test_and_set_bit(idx, d->live))
		ka_debug_report("object %p (class %u) handed out twice: already allocated by %pS\n",
				p, span->cls, (void *)d->alloc_caller[idx]);
	d->reqsize[idx] = size;
	d->alloc_caller[idx] = caller;
	memset(p + size, SLUB_RED_ACTIVE, span->elemsize - size);
out:
	kasan_enable_current();
	rcu_read_unlock();
	return size;
}

/**
 * ka_debug_free - check an object being freed and poison it
 * @span: the span of @p as the caller looked it up (ka_span_of(): NULL if
 *	  ka owns none there)
 * @p: the pointer given to ka_free()
 * @caller: the API caller
 *
 * Pointers that are not live ka objects are left to ka_free()'s own
 * checks.
 *
 * Context: any; inside the RCU read-side section of the caller's lookup.
 * Return: false if the free must be refused (double free).
 */
bool ka_debug_free(struct ka_span *span, const void *p, unsigned long caller)
{
	return ka_debug_free_obj(span, p, caller, true);
}

/**
 * ka_debug_free_obj - ka_debug_free(), with or without poisoning
 * @span: the span of @p as the caller looked it up (ka_span_of())
 * @p: the pointer given to ka_free() or ka_cache_free()
 * @caller: the API caller
 * @poison: fill the object with POISON_FREE (see ka_debug_alloc_obj())
 *
 * Context: any; inside the RCU read-side section of the caller's lookup.
 * Return: false if the free must be refused (double free).
 */
bool ka_debug_free_obj(struct ka_span *span, const void *p,
		       unsigned long caller, bool poison)
{
	struct ka_span_debug *d;
	unsigned int idx;
	size_t req;
	long bad;
	bool ok = true;

	kasan_disable_current();
	if (!span || (span->state != KA_SPAN_SMALL &&
		      span->state != KA_SPAN_LARGE) || !ka_span_obj_ok(span, p))
		goto out;
	if (span->state == KA_SPAN_LARGE) {
		if (p != span->base)
			goto out;
		bad = ka_debug_find_bad(p + span->reqsize, span->elemsize -
					span->reqsize, SLUB_RED_ACTIVE);
		if (bad >= 0)
			ka_debug_report("redzone of large object %p (%zu bytes) overwritten at offset %zu, freed by %pS\n",
					p, span->reqsize, span->reqsize + bad,
					(void *)caller);
		goto out;
	}
	d = span->dbg;
	idx = ka_span_index(span, p);
	if (!test_and_clear_bit(idx, d->live)) {
		ka_debug_report("double free of object %p (class %u, %u bytes) by %pS: allocated by %pS, freed by %pS\n",
				p, span->cls, span->elemsize, (void *)caller,
				(void *)d->alloc_caller[idx],
				(void *)d->free_caller[idx]);
		ok = false;
		goto out;
	}
	req = d->reqsize[idx];
	bad = ka_debug_find_bad(p + req, span->elemsize - req, SLUB_RED_ACTIVE);
	if (bad >= 0)
		ka_debug_report("redzone of object %p (class %u, %zu of %u bytes used) overwritten at offset %zu (0x%02x), allocated by %pS, freed by %pS\n",
				p, span->cls, req, span->elemsize, req + bad,
				((u8 *)p)[req + bad], (void *)d->alloc_caller[idx],
				(void *)caller);
	d->free_caller[idx] = caller;
	if (poison)
		memset((void *)p, POISON_FREE, span->elemsize);
out:
	kasan_enable_current();
	return ok;
}

/**
 * ka_debug_live - is a small object held by a client? (debug mode)
 * @span: its span, a small one
 * @p: the object (ka_span_obj_ok())
 *
 * Exact: the object's live bit, set when it is handed out and cleared
 * when it is freed.
 *
 * Context: RCU read-side section.
 */
bool ka_debug_live(const struct ka_span *span, const void *p)
{
	return test_bit(ka_span_index(span, p), span->dbg->live);
}

/**
 * ka_debug_size - the usable size of a live object in debug mode
 * @span: its span
 * @p: the object
 *
 * Context: RCU read-side section.
 * Return: the bytes requested when it was allocated.
 */
size_t ka_debug_size(struct ka_span *span, const void *p)
{
	if (span->state == KA_SPAN_LARGE)
		return span->reqsize;
	return span->dbg->reqsize[ka_span_index(span, p)];
}
