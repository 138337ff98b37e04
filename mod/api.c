// SPDX-License-Identifier: GPL-2.0
/*
 * ka public API: ka_alloc(), ka_free() and friends (include/ka.h).
 *
 * Small requests (up to KA_MAX_SMALL_SIZE) are served from the calling
 * CPU's magazine of their size class, refilled from mcentral when empty;
 * larger requests are page runs straight from the node's heap.  ka_free()
 * looks the pointer up in the arena map, refuses anything that is not the
 * start of a live ka object, and pushes the object onto this CPU's
 * magazine - or, for an object of another node, back to its own mcentral.
 *
 * Owns: nothing; it drives the layers below.
 * Locks: the fast paths take only this CPU's local_lock (irqs off); the
 * arena lookup is done inside it, which makes it an RCU read-side section.
 */
#include <linux/kmemleak.h>
#include <linux/ratelimit.h>
#include "ka_debug.h"

static DEFINE_RATELIMIT_STATE(ka_bad_free_rs, 5 * HZ, 10);

/**
 * ka_report_bad_free - complain about a pointer ka refuses to free
 * @p: the pointer
 * @why: what is wrong with it
 * @caller: return address of the caller of the API, or 0 if unknown
 *
 * Counts the refusal (debugfs "stats": refused) and prints a rate-limited
 * error.  ka's state is not touched.
 *
 * Context: any.
 */
void ka_report_bad_free(const void *p, const char *why, unsigned long caller)
{
	this_cpu_inc(ka_pcpu->nr_refused);
	if (!__ratelimit(&ka_bad_free_rs))
		return;
	if (caller)
		pr_err("ka: refusing %px: %s (caller %pS)\n", p, why,
		       (void *)caller);
	else
		pr_err("ka: refusing %px: %s\n", p, why);
}

static __always_inline void *ka_post_alloc(void *p, size_t size,
					   size_t objsize, gfp_t gfp,
					   unsigned long caller)
{
	if (ka_debug_on())
		objsize = ka_debug_alloc(p, size, caller);
	if (unlikely(want_init_on_alloc(gfp)))
		memset(p, 0, objsize);
	kmemleak_alloc(p, objsize, 1, gfp);
	return p;
}

static __always_inline void ka_pre_free(const void *p, size_t objsize)
{
	kmemleak_free(p);
	/* debug mode has poisoned the object instead */
	if (unlikely(want_init_on_free()) && !ka_debug_on())
		memset((void *)p, 0, objsize);
}

static void *ka_fail(size_t size, gfp_t gfp, unsigned long caller)
{
	this_cpu_inc(ka_pcpu->nr_failed);
	if (size > KA_MAX_SIZE && !(gfp & __GFP_NOWARN))
		pr_warn_ratelimited("ka: %zu bytes requested, more than ka's largest object (%lu) (caller %pS)\n",
				    size, KA_MAX_SIZE, (void *)caller);
	return NULL;
}

static void *ka_alloc_large(size_t size, gfp_t gfp, int node,
			    unsigned long caller)
{
	struct ka_span *span;

	if (unlikely(size > KA_MAX_SIZE))
		return ka_fail(size, gfp, caller);
	span = ka_span_new_large(size, node == NUMA_NO_NODE ? numa_mem_id() :
				 node, gfp);
	if (unlikely(!span))
		return ka_fail(size, gfp, caller);
	this_cpu_inc(ka_pcpu->nr_large_alloc);
	trace_ka_alloc(caller, span->base, size, span->elemsize, gfp, node);
	return ka_post_alloc(span->base, size, span->elemsize, gfp, caller);
}

/* One object of class @cls from @node's mcentral, bypassing the cache. */
static void *ka_alloc_from_node(unsigned int cls, gfp_t gfp, int node)
{
	void *p;

	if (!ka_central_refill(ka_central_of(node, cls), &p, 1, gfp))
		return NULL;
	this_cpu_inc(ka_pcpu->cls[cls].nr_alloc);
	return p;
}

static __always_inline void *ka_alloc_small(size_t size, gfp_t gfp,
					    int node, unsigned long caller)
{
	unsigned int cls = ka_size_class(size);
	struct ka_pcpu_class *pcc;
	unsigned long flags;
	void *p;

	local_lock_irqsave(&ka_pcpu->lock, flags);
	pcc = &this_cpu_ptr(ka_pcpu)->cls[cls];
	if (likely(pcc->count)) {
		p = pcc->objs[--pcc->count];
		pcc->nr_alloc++;
		pcc->nr_hit++;
		local_unlock_irqrestore(&ka_pcpu->lock, flags);
	} else {
		local_unlock_irqrestore(&ka_pcpu->lock, flags);
		p = ka_mcache_refill_alloc(cls, gfp);
		if (unlikely(!p))
			return ka_fail(size, gfp, caller);
	}
	trace_ka_alloc(caller, p, size, ka_classes[cls].size, gfp, node);
	return ka_post_alloc(p, size, ka_classes[cls].size, gfp, caller);
}

/**
 * ka_alloc - allocate an object
 * @size: bytes wanted; 0 gives ZERO_SIZE_PTR
 * @flags: GFP flags: GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, ..., with
 *	   __GFP_ZERO and __GFP_NOWARN honoured
 *
 * Objects up to KA_MAX_SMALL_SIZE come from this CPU's cache of their size
 * class; larger ones, up to KA_MAX_SIZE, are page runs of ka's heap.
 *
 * Context: any context @flags allows: process context with GFP_KERNEL;
 * softirq, hard irq or with spinlocks held with GFP_ATOMIC or GFP_NOWAIT.
 * Return: a pointer to at least @size bytes, ZERO_SIZE_PTR for a zero
 * size, or NULL.
 */
void *ka_alloc(size_t size, gfp_t flags)
{
	if (likely(size - 1 < KA_MAX_SMALL_SIZE))
		return ka_alloc_small(size, flags, NUMA_NO_NODE, _RET_IP_);
	if (!size)
		return ZERO_SIZE_PTR;
	return ka_alloc_large(size, flags, NUMA_NO_NODE, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ka_alloc);

/**
 * ka_alloc_node - allocate an object on a given NUMA node
 * @size: bytes wanted; 0 gives ZERO_SIZE_PTR
 * @flags: GFP flags, as for ka_alloc()
 * @node: the node, or NUMA_NO_NODE for this CPU's node
 *
 * The memory comes from @node's heap; if that node has no memory left the
 * heap falls back to another node's pages (as kmalloc_node() without
 * __GFP_THISNODE does), still accounted to @node.  A node with no memory at
 * all is treated as NUMA_NO_NODE.
 *
 * Context: as ka_alloc().
 * Return: as ka_alloc().
 */
void *ka_alloc_node(size_t size, gfp_t flags, int node)
{
	unsigned int cls;
	void *p;

	if (node == NUMA_NO_NODE || node == numa_mem_id() || node < 0 ||
	    node >= nr_node_ids || !node_state(node, N_MEMORY) ||
	    !ka_nodes[node]) {
		if (likely(size - 1 < KA_MAX_SMALL_SIZE))
			return ka_alloc_small(size, flags, node, _RET_IP_);
		node = NUMA_NO_NODE;
	}
	if (!size)
		return ZERO_SIZE_PTR;
	if (size > KA_MAX_SMALL_SIZE)
		return ka_alloc_large(size, flags, node, _RET_IP_);
	cls = ka_size_class(size);
	p = ka_alloc_from_node(cls, flags, node);
	if (unlikely(!p))
		return ka_fail(size, flags, _RET_IP_);
	trace_ka_alloc(_RET_IP_, p, size, ka_classes[cls].size, flags, node);
	return ka_post_alloc(p, size, ka_classes[cls].size, flags, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ka_alloc_node);

/*
 * Find the live object @p and say what is wrong if it is not one.
 * Context: RCU read-side section.
 */
static struct ka_span *ka_check(const void *p, const char **why)
{
	struct ka_span *span = ka_span_of(p);

	if (!span) {
		*why = "not a ka object";
		return NULL;
	}
	switch (READ_ONCE(span->state)) {
	case KA_SPAN_SMALL:
		if (!ka_span_obj_ok(span, p)) {
			*why = "pointer into the middle of an object";
			return NULL;
		}
		return span;
	case KA_SPAN_LARGE:
		if (p != span->base) {
			*why = "pointer into the middle of a large object";
			return NULL;
		}
		return span;
	default:
		*why = "span not in use";
		return NULL;
	}
}

static noinline void ka_free_slow(const void *p, unsigned long caller)
{
	const char *why;
	struct ka_span *span;

	rcu_read_lock();
	span = ka_check(p, &why);
	if (!span) {
		rcu_read_unlock();
		ka_report_bad_free(p, why, caller);
		return;
	}
	if (span->state == KA_SPAN_LARGE) {
		bool ok;

		/* under RCU: a racing double free may destroy the span */
		ka_pre_free(p, span->elemsize);
		ok = ka_span_destroy(span);
		rcu_read_unlock();
		if (!ok)
			ka_report_bad_free(p, "double free of a large object",
					   caller);
		else
			this_cpu_inc(ka_pcpu->nr_large_free);
		return;
	}
	rcu_read_unlock();
	/* an object of another node: straight back to its own mcentral */
	ka_pre_free(p, span->elemsize);
	this_cpu_inc(ka_pcpu->cls[span->cls].nr_free);
	this_cpu_inc(ka_pcpu->nr_remote_free);
	ka_central_flush((void **)&p, 1);
}

/* Push @p on this CPU's magazine; false if it must take the slow path. */
static __always_inline bool ka_free_local(const void *p)
{
	struct ka_pcpu_class *pcc;
	struct ka_span *span;

	span = ka_span_of(p);
	if (unlikely(!span || span->state != KA_SPAN_SMALL ||
		     !ka_span_obj_ok(span, p) || span->node != numa_mem_id()))
		return false;
	ka_pre_free(p, span->elemsize);
	pcc = &this_cpu_ptr(ka_pcpu)->cls[span->cls];
	if (unlikely(pcc->count == pcc->cap))
		ka_mcache_flush_class(pcc, ka_classes[span->cls].batch);
	pcc->objs[pcc->count++] = (void *)p;
	pcc->nr_free++;
	return true;
}

/**
 * ka_free - free an object
 * @p: an object from ka_alloc() and friends, NULL or ZERO_SIZE_PTR
 *
 * A pointer ka did not hand out (kmalloc'd, vmalloc'd, on the stack, the
 * middle of an object, an object of a span no longer in use) is refused
 * with a rate-limited error naming it and the caller, and counted; ka's
 * state is left untouched.
 *
 * Context: any context, including hard irq.
 */
void ka_free(const void *p)
{
	unsigned long flags;
	bool done;

	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	trace_ka_free(_RET_IP_, p);
	if (ka_debug_on() && !ka_debug_free(p, _RET_IP_))
		return;
	local_lock_irqsave(&ka_pcpu->lock, flags);
	done = ka_free_local(p);
	local_unlock_irqrestore(&ka_pcpu->lock, flags);
	if (unlikely(!done))
		ka_free_slow(p, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ka_free);

static size_t ka_size_caller(const void *p, unsigned long caller)
{
	struct ka_span *span;
	const char *why;
	size_t size;

	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return 0;
	rcu_read_lock();
	span = ka_check(p, &why);
	size = span ? span->elemsize : 0;
	if (span && ka_debug_on())
		size = ka_debug_size(span, p);
	rcu_read_unlock();
	if (!span)
		ka_report_bad_free(p, why, caller);
	return size;
}

/**
 * ka_size - the usable size of a live object
 * @p: an object from ka_alloc() and friends
 *
 * All of it may be used, as with ksize(): it is the object's size class
 * (or its page run, for a large object).
 *
 * Context: any.
 * Return: the size in bytes, 0 for NULL or ZERO_SIZE_PTR, and 0 (with an
 * error, as for ka_free()) for a pointer that is not a live ka object.
 */
size_t ka_size(const void *p)
{
	return ka_size_caller(p, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ka_size);

/**
 * ka_realloc - resize an object
 * @p: an object, or NULL or ZERO_SIZE_PTR (then this is ka_alloc())
 * @new_size: bytes wanted; 0 frees @p and returns ZERO_SIZE_PTR
 * @flags: GFP flags, as for ka_alloc(); with __GFP_ZERO, bytes past the
 *	   old usable size are zeroed
 *
 * As krealloc(): if @new_size fits in @p's usable size, @p is returned
 * unchanged; otherwise the contents move to a new object and @p is freed.
 * On failure @p is left untouched.
 *
 * Context: as ka_alloc().
 * Return: the object, ZERO_SIZE_PTR, or NULL.
 */
void *ka_realloc(const void *p, size_t new_size, gfp_t flags)
{
	size_t old;
	void *n;

	if (unlikely(!new_size)) {
		ka_free(p);
		return ZERO_SIZE_PTR;
	}
	if (ZERO_OR_NULL_PTR(p))
		return ka_alloc(new_size, flags);
	old = ka_size_caller(p, _RET_IP_);
	if (unlikely(!old))
		return NULL;
	if (new_size <= old)
		return (void *)p;
	n = ka_alloc(new_size, flags);
	if (!n)
		return NULL;
	memcpy(n, p, old);
	ka_free(p);
	return n;
}
EXPORT_SYMBOL_GPL(ka_realloc);

/**
 * ka_alloc_bulk - allocate @nr objects of one size, all or nothing
 * @size: bytes per object
 * @flags: GFP flags, as for ka_alloc()
 * @nr: number of objects
 * @p: array of @nr slots for the objects
 *
 * Small objects are taken from this CPU's cache in one locked section and
 * the rest straight from mcentral in batches, one lock acquisition each.
 *
 * Context: as ka_alloc().
 * Return: @nr, or 0 if not all could be allocated (nothing is then held).
 */
int ka_alloc_bulk(size_t size, gfp_t flags, size_t nr, void **p)
{
	struct ka_pcpu_class *pcc;
	unsigned int cls, objsize;
	size_t got = 0, cached, i;
	unsigned long irqflags;

	if (!nr)
		return 0;
	if (!size || size > KA_MAX_SMALL_SIZE) {
		for (i = 0; i < nr; i++) {
			p[i] = ka_alloc(size, flags);
			if (!p[i]) {
				ka_free_bulk(i, p);
				return 0;
			}
		}
		return nr;
	}
	cls = ka_size_class(size);
	objsize = ka_classes[cls].size;

	local_lock_irqsave(&ka_pcpu->lock, irqflags);
	pcc = &this_cpu_ptr(ka_pcpu)->cls[cls];
	while (got < nr && pcc->count)
		p[got++] = pcc->objs[--pcc->count];
	pcc->nr_hit += got;
	local_unlock_irqrestore(&ka_pcpu->lock, irqflags);
	cached = got;

	while (got < nr) {
		unsigned int want = min_t(size_t, nr - got, UINT_MAX);
		unsigned int n;

		n = ka_central_refill(ka_central_of(numa_mem_id(), cls),
				      p + got, want, flags);
		if (!n) {
			/* not yet handed out: no kmemleak record to drop */
			ka_central_flush(p, got);
			this_cpu_sub(ka_pcpu->cls[cls].nr_hit, cached);
			ka_fail(size, flags, _RET_IP_);
			return 0;
		}
		this_cpu_inc(ka_pcpu->cls[cls].nr_refill);
		got += n;
	}
	this_cpu_add(ka_pcpu->cls[cls].nr_alloc, nr);
	for (i = 0; i < nr; i++) {
		trace_ka_alloc(_RET_IP_, p[i], size, objsize, flags, NUMA_NO_NODE);
		ka_post_alloc(p[i], size, objsize, flags, _RET_IP_);
	}
	return nr;
}
EXPORT_SYMBOL_GPL(ka_alloc_bulk);

/**
 * ka_free_bulk - free @nr objects
 * @nr: number of objects
 * @p: the objects, any mix of sizes; NULL entries are skipped
 *
 * Local small objects are pushed onto this CPU's caches in one locked
 * section; anything else takes ka_free()'s slow path.
 *
 * Context: as ka_free().
 */
void ka_free_bulk(size_t nr, void **p)
{
	unsigned long flags;
	size_t i;

	local_lock_irqsave(&ka_pcpu->lock, flags);
	for (i = 0; i < nr; i++) {
		if (unlikely(ZERO_OR_NULL_PTR(p[i])))
			continue;
		trace_ka_free(_RET_IP_, p[i]);
		if (ka_debug_on() && !ka_debug_free(p[i], _RET_IP_))
			continue;
		if (likely(ka_free_local(p[i])))
			continue;
		local_unlock_irqrestore(&ka_pcpu->lock, flags);
		ka_free_slow(p[i], _RET_IP_);
		local_lock_irqsave(&ka_pcpu->lock, flags);
	}
	local_unlock_irqrestore(&ka_pcpu->lock, flags);
}
EXPORT_SYMBOL_GPL(ka_free_bulk);
