// SPDX-License-Identifier: GPL-2.0
/*
 * ka public API: ka_alloc(), ka_free() and friends (include/ka.h).
 *
 * Small requests (up to KA_MAX_SMALL_SIZE) are served from the calling
 * CPU's magazine of their size class, refilled from the spans the CPU owns
 * (mcache.c), which mcentral lends; larger requests are page runs straight
 * from the node's heap.  ka_free() looks the pointer up in the arena map,
 * refuses anything that is not the start of a live ka object, and pushes
 * the object onto this CPU's magazine (an object of its active or a full
 * span), frees it into its span (a partly used span of this CPU's; another
 * CPU's span through its remote bitmap) or to mcentral (a class of one
 * object per span) or the heap (large).
 *
 * Double frees: a small object ka takes back carries its span's freetag in
 * its first word until it is handed out again (see "Double-free tags").
 *
 * Owns: nothing of its own: it drives the layers below (the hook keys it
 * takes references on, the kmemleak parameter and the reports are
 * hooks.c's).
 * Locks: the hit paths own this CPU's magazines through ka_mcache_trylock()
 * (mcache.c: no irq disabling, no atomic) and do the arena lookup inside
 * that section, which is an RCU read-side section.  An allocation that
 * finds the magazines busy takes one object from mcentral instead; such a
 * free goes as another CPU's would (ka_free_nonlocal()).  On PREEMPT_RT
 * calls from atomic context are refused (ka_mcache_context_ok()).
 *
 * Generic KASAN (IS_ENABLED(), no code on other kernels): an object is made
 * accessible for exactly the bytes requested when it is handed out, the
 * rest of its slot a redzone, and is poisoned as freed before it enters a
 * magazine; free slots, span tails and chunk pages outside runs are
 * poisoned by the heap (mheap.c).  Where ka itself touches bytes the
 * client may not (init_on_alloc/free over the whole slot, realloc's copy),
 * KASAN's reports are off for the task.  kasan.c adds what KASAN gives
 * SLUB's objects: redzones, a quarantine that every client free enters
 * first (ka_kasan_quarantine(): nothing on other kernels; a ka_cache's
 * object given to ka_free() enters it from its cache's free) and leaves
 * through ka_free_evict() (main.c gives it to ka_kasan_init(): kasan.c
 * calls nothing above it), refused pointers reported through KASAN,
 * allocation and free stacks.
 *
 * Heap profile (profile.c): with sampling on, each allocation counts its
 * bytes down (ka_prof_tick(); while off, a jump over it) and a sampled
 * one is recorded after it left the magazines; frees of spans with live
 * samples miss the hit path (their fastkey is 0) and ka_free_hooks()
 * tells the profile.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/kmemleak.h>
#include <linux/ratelimit.h>
#include <linux/string.h>
#include "ka_debug.h"
#include "ka_kasan.h"
#include "mcache.h"
#include "profile.h"

/*
 * Double-free tags.  Outside debug mode every small object ka takes back
 * gets, in its first word, a tag that only ka writes: its span's freetag,
 * an odd word made from the span's address and a key drawn at load (never
 * an aligned pointer, never handed to anyone).  Every hand-out clears the
 * word, so a free that finds the tag there (and ka_obj_free_confirm() the
 * object free: a client may copy a tag) frees an object that went back
 * to ka and has not come out since: a double free, wherever the first
 * copy sits (a magazine of this CPU or another, mcentral, the span's free
 * slots).  The free hit path spends four instructions (load, compare,
 * branch, store), the allocation hit path one (a store of zero).  What it
 * cannot see: a double free racing the first free on another CPU (both
 * read before either writes), and one whose tag a use-after-free write
 * overwrote in between; the span's bitmaps still catch the second copy
 * when it comes back (its bit is already clear), unless an allocation
 * took it first.  Debug mode keeps exact per-object state instead (debug.c).
 *
 * With generic KASAN the object is poisoned (or only partly accessible)
 * when ka reads or writes the word: the accessors (ka_word_read() and
 * ka_word_write(), ka_internal.h) are then uninstrumented functions, and plain
 * loads and stores everywhere else.
 */

int ka_trace_alloc_reg(void)
{
	static_branch_inc(&ka_alloc_hooks_key);
	return 0;
}

void ka_trace_alloc_unreg(void)
{
	static_branch_dec(&ka_alloc_hooks_key);
}

/*
 * ka_free()'s hit path does not test ka_free_hooks_key itself: while it is
 * on, every CPU's fastkey matches no span, which sends every free to the
 * slow path at no cost to the hit path.  A free racing with the switch may
 * still take the old path: one trace event may be missed, as with a static
 * key's text patching; debug mode, init_on_free and kmemleak are switched
 * on at load, before any free.
 */
static void ka_free_hooks_update(void)
{
	ka_mcache_set_fastkeys(static_key_enabled(&ka_free_hooks_key));
}

int ka_trace_free_reg(void)
{
	static_branch_inc(&ka_free_hooks_key);
	ka_free_hooks_update();
	return 0;
}

void ka_trace_free_unreg(void)
{
	static_branch_dec(&ka_free_hooks_key);
	ka_free_hooks_update();
}

/* A reference on @key (@on) or its release. */
static void ka_key_ref(struct static_key_false *key, bool on)
{
	if (on)
		static_branch_inc(key);
	else
		static_branch_dec(key);
}

/* Take (@on) or drop the hook references this boot and load ask for. */
static void ka_api_hooks(bool on)
{
	if (want_init_on_alloc(0) || ka_debug_on() || ka_hooks_always()) {
		ka_key_ref(&ka_alloc_hooks_key, on);
		ka_key_ref(&ka_cache_alloc_hooks_key, on);
	}
	if (want_init_on_free() || ka_debug_on() || ka_hooks_always())
		ka_key_ref(&ka_free_hooks_key, on);
	ka_free_hooks_update();
}

/**
 * ka_api_init - turn the hooks on for what this boot and load ask for
 *
 * Context: module init, after ka_debug_init().
 */
void ka_api_init(void)
{
	ka_api_hooks(true);
}

/* Module exit: drop what ka_api_init() took. */
void ka_api_exit(void)
{
	ka_api_hooks(false);
}

/* KASAN: the object @p of a slot of @slot bytes is freed. */
static __always_inline void ka_kasan_free(const void *p, size_t slot)
{
	ka_sys_poison(p, slot, slot > KA_MAX_SMALL_SIZE ? KA_KASAN_PAGE_FREE :
		      KA_KASAN_SLAB_FREE);
}

/*
 * The size class of this CPU's magazine @pm, which the hit path found from
 * the size (ka_mag_of_size()): class cls's magazine is at cls <<
 * KA_MAG_SHIFT in struct ka_mcache, so the size becomes a class once.
 */
static __always_inline unsigned int
ka_mag_class(struct ka_mcache __percpu *pcpu, struct ka_magazine __percpu *pm)
{
	return ((__force unsigned long)pm - (__force unsigned long)pcpu) >>
	       KA_MAG_SHIFT;
}

/* KASAN, the allocation hit path: an object of class @cls. */
static noinline void ka_kasan_alloc_hit(const void *p, size_t size,
					unsigned int cls)
{
	ka_kasan_new(p, size, ka_classes[cls].size);
}

/*
 * Is the small object @p of @span, whose first word holds the span's
 * double-free tag, really free?  The tag is a hint that only ka writes, but
 * a client can copy it: a stale read of a freed neighbour copied into a
 * live object (a use after free of the neighbour) carries the neighbour's
 * tag, and so does a struct copy of a freed object.  Such a live object must
 * not be refused.  A free object is back in its span (its bit clear in the
 * allocation bitmap), freed into it by another CPU (its bit set in the
 * remote bitmap), or in a per-CPU magazine (its bit still set); a live one
 * is none of these.  The magazines are read without owning them, a
 * snapshot: a double free racing a refill or a flush that moves the first
 * copy may be taken for a live object, as a double free racing the first
 * free is (see "Double-free tags" above).
 *
 * Only called when the tag is there, so it costs the hit paths nothing.
 * Context: RCU read-side section (the span is in use).
 */
bool ka_obj_free_confirm(const struct ka_span *span, const void *p)
{
	if (ka_span_obj_back(span, p))
		return true;
	if (span->cache)
		return ka_cache_holds(span->cache, p);
	return ka_mcache_holds(span->cls, p);
}

/*
 * Is the small or large object @p of @span free (given back to ka, not
 * handed out again since)?  Exact in debug mode (its live bits); otherwise
 * the double-free tag confirmed as above; for a cache with a constructor,
 * which keeps no tag, only an object back in its span is seen as free.  On
 * generic KASAN its shadow, exact too.
 * Context: RCU read-side section.
 */
static bool ka_obj_freed(const struct ka_span *span, const void *p)
{
	if (READ_ONCE(span->state) != KA_SPAN_SMALL)
		return READ_ONCE(span->state) != KA_SPAN_LARGE ||
		       (IS_ENABLED(CONFIG_KASAN_GENERIC) && ka_kasan_freed(p));
	if (ka_debug_on())
		return !ka_debug_live(span, p);
	/* a constructor's or SLAB_TYPESAFE_BY_RCU cache's object: no tag */
	if (span->cache && !ka_cache_tagged(span->cache) &&
	    (!IS_ENABLED(CONFIG_KASAN_GENERIC) || ka_cache_rcu(span->cache)))
		return !test_bit(ka_span_index(span, p), span->allocbits);
	/* exact: a freed object is poisoned, in the quarantine or not */
	if (IS_ENABLED(CONFIG_KASAN_GENERIC))
		return ka_kasan_freed(p);
	return ka_word_read(p) == span->freetag &&
	       ka_obj_free_confirm(span, p);
}

/*
 * ka_span_check_in() of @p's span @span (ka_span_of()), and a large object
 * whose span is cached free is a double free (*@freed), not an unknown
 * pointer.  Context: RCU read-side section, of the lookup of @span.
 */
static struct ka_span *ka_span_check_large(struct ka_span *span,
					   const void *p, const char **why,
					   bool *freed)
{
	*freed = false;
	if (ka_span_check_in(span, p, why))
		return span;
	if (span && READ_ONCE(span->state) == KA_SPAN_LARGE_FREE &&
	    p == span->base) {
		*why = "double free of a large object";
		*freed = true;
	}
	return NULL;
}

/*
 * The span of @p if @p is a live ka object (handed out and not freed
 * since); else NULL, with what is wrong in *@why and *@freed set for an
 * object that is free (a freed object's realloc, size, second free).
 * @span: ka_span_of(@p), looked up by the caller.
 * Context: RCU read-side section, of that lookup.
 */
static struct ka_span *ka_obj_live(struct ka_span *span, const void *p,
				   const char **why, bool *freed)
{
	span = ka_span_check_large(span, p, why, freed);

	if (span && ka_obj_freed(span, p)) {
		*why = "the object is already free (use after free)";
		*freed = true;
		return NULL;
	}
	return span;
}

/* Report a pointer ka_obj_live() or ka_span_check_large() refused. */
static void ka_report_refused(const void *p, const char *why, bool freed,
			      unsigned long caller)
{
	if (freed)
		ka_report_double_free(p, why, caller);
	else
		ka_report_bad_free(p, why, caller);
}

static __always_inline void *ka_post_alloc(void *p, size_t size,
					   size_t objsize, gfp_t gfp,
					   unsigned long caller)
{
	size_t slot = objsize;

	if (ka_debug_on())
		objsize = ka_debug_alloc(p, size, caller);
	else if (objsize <= KA_MAX_SMALL_SIZE)
		ka_word_write(p, 0);	/* no double-free tag: it is out */
	if (unlikely(want_init_on_alloc(gfp))) {
		/* the whole slot, redzone included (ka_size()) */
		kasan_disable_current();
		memset(p, 0, objsize);
		kasan_enable_current();
	}
	if (ka_hooks_always())
		kmemleak_alloc(p, objsize, 1, gfp);
	if (IS_ENABLED(CONFIG_KASAN_GENERIC))
		ka_kasan_new(p, size, slot);
	return p;
}

/*
 * Everything a free does to the object before it goes back: false if it
 * must not (a small object whose double-free tag is there: reported).
 */
static __always_inline bool ka_pre_free(const void *p,
					const struct ka_span *span,
					unsigned long caller)
{
	size_t objsize = span->elemsize;
	bool tag = span->state == KA_SPAN_SMALL && !ka_debug_on();

	if (tag && unlikely(ka_word_read(p) == span->freetag) &&
	    ka_obj_free_confirm(span, p)) {
		ka_report_double_free(p, "double free (the object is already free)",
				      caller);
		return false;
	}
	if (ka_hooks_always())
		kmemleak_free(p);
	/* debug mode has poisoned the object instead */
	if (unlikely(want_init_on_free()) && !ka_debug_on()) {
		kasan_disable_current();
		memset((void *)p, 0, objsize);
		kasan_enable_current();
	}
	ka_kasan_free(p, objsize);
	if (tag)
		ka_word_write((void *)p, span->freetag);
	return true;
}

/*
 * PREEMPT_RT, atomic context: ka's locks would sleep.  The call is refused,
 * counted (debugfs stats: atomic_refused) and reported; a refused free
 * leaves the object allocated, so nothing is reused behind the caller.
 */
static noinline void ka_refuse_atomic(const void *p, size_t size,
				      unsigned long caller)
{
	this_cpu_inc(ka_mcache->nr_atomic);
	if (p)
		pr_err_ratelimited("free of %p refused: atomic context on PREEMPT_RT, the object stays allocated (caller %pS)\n",
				   p, (void *)caller);
	else
		pr_err_ratelimited("allocation of %zu bytes refused: atomic context on PREEMPT_RT (caller %pS)\n",
				   size, (void *)caller);
}

static void *ka_fail(size_t size, gfp_t gfp, unsigned long caller)
{
	this_cpu_inc(ka_mcache->nr_failed);
	if (size > KA_MAX_SIZE && !(gfp & __GFP_NOWARN))
		pr_warn_ratelimited("%zu bytes requested, more than ka's largest object (%lu) (caller %pS)\n",
				    size, KA_MAX_SIZE, (void *)caller);
	return NULL;
}

static void *ka_alloc_large(size_t size, gfp_t gfp, int node,
			    unsigned long caller)
{
	struct ka_span *span;

	if (unlikely(size > KA_MAX_SIZE))
		return ka_fail(size, gfp, caller);
	if (node == NUMA_NO_NODE)
		node = numa_mem_id();
	span = ka_large_get(ka_mheap_of(node), size);
	if (!span)
		span = ka_span_new_large(size, node, gfp);
	if (unlikely(!span))
		return ka_fail(size, gfp, caller);
	this_cpu_inc(ka_mcache->nr_large_alloc);
	trace_ka_alloc(caller, span->base, size, span->elemsize, gfp, node);
	ka_post_alloc(span->base, size, span->elemsize, gfp, caller);
	if (ka_prof_tick(size))
		ka_prof_sample(span->base, size, span->elemsize, node);
	return span->base;
}

/* One object of class @cls from @node's mcentral, bypassing the cache. */
static void *ka_alloc_from_node(unsigned int cls, gfp_t gfp, int node)
{
	void *p;

	if (!ka_mcentral_refill(ka_mcentral_of(node, cls), &p, 1, gfp))
		return NULL;
	this_cpu_inc(ka_mcache->mag[cls].nr_alloc);
	this_cpu_inc(ka_mcache->mag[cls].nr_miss);
	return p;
}

/* Is there anything to do after taking an object from a magazine? */
static __always_inline bool ka_alloc_hooks(gfp_t gfp)
{
	return static_branch_unlikely(&ka_alloc_hooks_key) || (gfp & __GFP_ZERO);
}

/* The hooks after a small allocation of class @cls. */
static noinline void *ka_alloc_done(void *p, size_t size, unsigned int cls,
				    gfp_t gfp, int node, unsigned long caller)
{
	unsigned int objsize = ka_classes[cls].size;

	trace_ka_alloc(caller, p, size, objsize, gfp, node);
	ka_post_alloc(p, size, objsize, gfp, caller);
	if (ka_prof_tick(size))
		ka_prof_sample(p, size, objsize, node);
	return p;
}

/* Where ka_alloc_slowpath() takes a small object from. */
enum ka_alloc_from {
	KA_FROM_REFILL,		/* the magazine was empty: refill it */
	KA_FROM_BUSY,		/* it was busy: one object from this node */
	KA_FROM_NODE,		/* ka_alloc_node(): from that node's mcentral */
};

/*
 * Everything but a magazine hit: refill, magazines busy, another node,
 * large objects, zero size, failure, atomic context on PREEMPT_RT.  @cls:
 * the size class of @size if the hit path found it, else 0 (no class):
 * found here, once, and passed down (mcache.c, the hooks, the profile).
 */
static noinline void *ka_alloc_slowpath(size_t size, unsigned int cls,
					gfp_t gfp, int node,
					unsigned long caller,
					enum ka_alloc_from from)
{
	void *p;

	if (!size)
		return ZERO_SIZE_PTR;
	if (unlikely(!ka_mcache_context_ok())) {
		ka_refuse_atomic(NULL, size, caller);
		return ka_fail(size, gfp, caller);
	}
	if (size > KA_MAX_SMALL_SIZE)
		return ka_alloc_large(size, gfp, node, caller);
	if (!cls)
		cls = ka_size_class(size);
	switch (from) {
	case KA_FROM_REFILL:
		p = ka_mcache_refill_alloc(cls, gfp);
		break;
	case KA_FROM_BUSY:
		this_cpu_inc(ka_mcache->nr_busy);
		p = ka_alloc_from_node(cls, gfp, numa_mem_id());
		break;
	default:
		p = ka_alloc_from_node(cls, gfp, node);
		break;
	}
	if (unlikely(!p))
		return ka_fail(size, gfp, caller);
	return ka_alloc_done(p, size, cls, gfp, node, caller);
}

/*
 * The hit path: pop this CPU's magazine of the size class, owning it
 * through ka_mcache_trylock() (mcache.c): a preempt count increment and a
 * per-CPU flag on !RT, no irq toggling and no atomic.  If the magazines
 * are busy (this call interrupted their owner, or on RT preempted it) the
 * object comes from mcentral instead.  Hooks and misses are out of line.
 */
static __always_inline void *ka_alloc_fast(size_t size, gfp_t gfp, int node,
					   unsigned long caller)
{
	struct ka_mcache __percpu *pcpu = ka_mcache;
	enum ka_alloc_from from = KA_FROM_REFILL;
	struct ka_magazine __percpu *pm;
	void *p;

	if (unlikely(size - 1 >= KA_MAX_SMALL_SIZE || !ka_mcache_context_ok()))
		return ka_alloc_slowpath(size, 0, gfp, node, caller, from);
	pm = ka_mag_of_size(pcpu, size);
	if (unlikely(!ka_mcache_trylock(pcpu))) {
		from = KA_FROM_BUSY;
		goto slow;
	}
	/*
	 * ka_alloc_node(): the magazine holds this CPU's node's objects, and
	 * the CPU's node is read here, where the task cannot migrate; a miss
	 * takes one object from @node's mcentral rather than refill a
	 * magazine the task may have left by then (ka_alloc() folds this).
	 */
	if (node != NUMA_NO_NODE && unlikely(node != numa_mem_id())) {
		ka_mcache_unlock(pcpu);
		from = KA_FROM_NODE;
		goto slow;
	}
	ka_mcache_point(KA_MP_POP);
	if (unlikely(!ka_mag_pop(pm, &p))) {
		ka_mcache_unlock(pcpu);
		if (node != NUMA_NO_NODE)
			from = KA_FROM_NODE;
		goto slow;
	}
	ka_mcache_unlock(pcpu);
	this_cpu_inc(pm->nr_alloc);
	if (unlikely(ka_alloc_hooks(gfp)))
		return ka_alloc_done(p, size, ka_mag_class(pcpu, pm), gfp,
				     node, caller);
	ka_word_write(p, 0);	/* its double-free tag */
	if (IS_ENABLED(CONFIG_KASAN_GENERIC))
		ka_kasan_alloc_hit(p, size, ka_mag_class(pcpu, pm));
	if (ka_prof_tick(size))		/* a tail call: p stays in its register */
		return ka_prof_sample(p, size, 0, node);
	return p;
slow:
	return ka_alloc_slowpath(size, ka_mag_class(pcpu, pm), gfp, node,
				 caller, from);
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
 * On PREEMPT_RT, as for kmalloc, not from hard irq, under a raw spinlock or
 * with preemption or interrupts disabled: such a call fails (NULL, counted
 * as atomic_refused, a rate-limited error).
 * Return: a pointer to at least @size bytes, ZERO_SIZE_PTR for a zero
 * size, or NULL.
 */
void *ka_alloc(size_t size, gfp_t flags)
{
	return ka_alloc_fast(size, flags, NUMA_NO_NODE, _RET_IP_);
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
 * all, one that does not exist and any negative value are treated as
 * NUMA_NO_NODE (ka_node_norm()), for every size.
 *
 * Context: as ka_alloc().
 * Return: as ka_alloc().
 */
void *ka_alloc_node(size_t size, gfp_t flags, int node)
{
	node = ka_node_norm(node);
	if (node == NUMA_NO_NODE || node == numa_mem_id())
		return ka_alloc_fast(size, flags, node, _RET_IP_);
	return ka_alloc_slowpath(size, 0, flags, node, _RET_IP_, KA_FROM_NODE);
}
EXPORT_SYMBOL_GPL(ka_alloc_node);

/*
 * Free @p of @span (ka_span_of(), NULL: not ka's) without this CPU's
 * magazines: an object of another node (or any small object while they are
 * busy) goes back to its own mcentral, a large one to its heap, a
 * ka_cache's object to its cache; anything else is refused and reported.
 * Hooks have run (ka_free_span(), ka_free_bulk()).
 * Context: the RCU read-side section of the lookup of @span (the caller's
 * rcu_read_lock(): a racing double free may destroy the span).
 */
static noinline void ka_free_nonlocal(struct ka_span *span, const void *p,
				      unsigned long caller)
{
	const char *why;
	bool freed;

	if (!ka_span_check_large(span, p, &why, &freed)) {
		ka_report_refused(p, why, freed, caller);
		return;
	}
	if (span->cache) {
		/* kfree() of a kmem_cache object: back to its own cache */
		ka_cache_free_span(span->cache, span, (void *)p, caller);
		return;
	}
	if (span->state == KA_SPAN_LARGE) {
		bool ok;

		ka_pre_free(p, span, caller);
		ok = ka_large_put(ka_mheap_of(span->node), span);
		if (!ok)
			ka_report_double_free(p, "double free of a large object",
					   caller);
		else
			this_cpu_inc(ka_mcache->nr_large_free);
		return;
	}
	/*
	 * A span this CPU does not own (or owns, with its magazines busy):
	 * into the span's remote bitmap for its owner (ka_mcache_free_remote(),
	 * no central lock); an object of a class of one object per span, of
	 * another node or with the magazines busy: straight back to its own
	 * mcentral.  Its tag is read and written while its span is known to be
	 * in use.
	 */
	if (!ka_pre_free(p, span, caller))
		return;
	this_cpu_inc(ka_mcache->mag[span->cls].nr_free);
	if (span->node != numa_mem_id())
		this_cpu_inc(ka_mcache->nr_remote_free);
	if (ka_class_owned(&ka_classes[span->cls]))
		ka_mcache_free_remote(span, p);
	else
		ka_mcentral_flush_span(span, (void **)&p, 1);
}

/*
 * Free @p on this CPU if it is a live small object it may take: of a span
 * this CPU owns - pushed on the magazine if the span is active or full,
 * into the span's bitmap if it is partly used (ka_mcache_free_owned()) -
 * or, for a class of one object per span, of this node (pushed); a full
 * magazine grows or flushes a batch (ka_mcache_free_local(), mcache.h, as
 * ka_cache_free() does).  False if it must take ka_free_nonlocal().  A double
 * free is reported and dropped.  @span: ka_span_of(@p), looked up in the
 * caller's RCU read-side section.
 * Context: the magazines owned.
 */
static __always_inline bool ka_free_local(struct ka_span *span,
					  const void *p, unsigned long caller)
{
	unsigned int cls;

	if (unlikely(!span || span->state != KA_SPAN_SMALL || span->cache ||
		     !ka_span_obj_ok(span, p)))
		return false;
	cls = span->cls;
	if (!ka_mcache_span_mine(span, ka_class_owned(&ka_classes[cls])))
		return false;
	if (!ka_pre_free(p, span, caller))
		return true;
	/* ka_cache_free()'s slow path shares it (cache.c) */
	ka_mcache_free_local(NULL, &ka_mcache->mag[cls], cls, span, (void *)p);
	return true;
}

/*
 * Debug mode's checks and the heap profile, for the free of @p of @span
 * (ka_span_of()): false if debug mode refuses it.  A ka_cache's object
 * (kfree() of it) is left to its cache's free path, which runs both with
 * the cache's rules (ka_free_nonlocal(), cache.c): once, not twice.
 * Context: the RCU read-side section of the lookup of @span.
 */
static __always_inline bool ka_free_hooks(struct ka_span *span,
					  const void *p, unsigned long caller)
{
	if (span && span->cache)
		return true;
	if (ka_debug_on() && !ka_debug_free(span, p, caller))
		return false;
	if (static_branch_unlikely(&ka_prof_free_key))
		ka_prof_free(span, p);
	return true;
}

/*
 * Everything but a plain push, for @p of @span (ka_span_of(), NULL: not
 * ka's), looked up once by the caller: NULL, hooks, a full or busy
 * magazine, atomic context on PREEMPT_RT, the rest.  Every step below
 * takes @span: debug, the profile, this CPU's caches, another CPU's span,
 * mcentral, the heap, a ka_cache.
 * Context: the RCU read-side section (rcu_read_lock()) of the lookup.
 */
static noinline void ka_free_span(struct ka_span *span, const void *p,
				  unsigned long caller)
{
	bool done = false;

	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	if (unlikely(!ka_mcache_context_ok())) {
		ka_refuse_atomic(p, 0, caller);
		return;
	}
	trace_ka_free(caller, p);
	if (!ka_free_hooks(span, p, caller))
		return;
	if (likely(ka_mcache_trylock(ka_mcache))) {
		done = ka_free_local(span, p, caller);
		ka_mcache_unlock(ka_mcache);
	} else {
		this_cpu_inc(ka_mcache->nr_busy);
	}
	if (unlikely(!done))
		ka_free_nonlocal(span, p, caller);
}

/* ka_free_span() of a pointer not looked up yet: the lookup is here. */
static noinline void ka_free_slowpath(const void *p, unsigned long caller)
{
	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	rcu_read_lock();
	ka_free_span(ka_span_of(p), p, caller);
	rcu_read_unlock();
}

#if IS_ENABLED(CONFIG_KASAN_GENERIC)
/**
 * ka_free_evict - an object leaves the quarantine (kasan.c) for ka's free
 * path, without entering it again
 * @span: the span of @p, as the quarantine looked it up (ka_span_of())
 * @p: an object freed by its client: of ka_alloc()'s spans, down
 *     ka_free()'s path; of a ka_cache's, down its cache's
 *     (ka_cache_free_evict())
 *
 * The quarantine's eviction (ka_kasan_init() is given it by main.c):
 * kasan.c stands below the API and the caches and calls neither.
 *
 * Context: as ka_free(), inside the RCU read-side section of the lookup.
 */
void ka_free_evict(struct ka_span *span, const void *p)
{
	if (span && span->cache)
		ka_cache_free_evict(span->cache, span, (void *)p);
	else
		ka_free_span(span, p, _RET_IP_);
}
#endif

/*
 * ka_free()'s hit path, for it and ka_free_bulk(): push @p of @span (the
 * caller's ka_span_lookup(), which the slow path reuses) on the magazine
 * of the span's class or cache if this CPU owns the span's fast key, the
 * object starts a slot and does not carry the span's double-free tag.
 * Owned: an RCU read-side section for the map.  NULL and ZERO_SIZE_PTR are
 * below PAGE_OFFSET: the dummy span, whose fastkey matches no CPU's; nor
 * does any span's while free hooks are on.  Context: owner.
 * Return: true with *@pmp the magazine pushed (for its count), or false:
 * the slow path.
 */
static __always_inline bool ka_free_hit(struct ka_mcache __percpu *pcpu,
					struct ka_span *span, const void *p,
					struct ka_magazine __percpu **pmp)
{
	struct ka_magazine __percpu *pm;
	unsigned long tag;

	tag = span->freetag;
	/*
	 * Other CPUs write the key of a span that is not ours (data_race):
	 * only this CPU, owning its magazines, makes it equal to its own.
	 */
	if (likely(data_race(span->fastkey) == this_cpu_read(pcpu->fastkey) &&
		   ka_span_obj_ok(span, p) && ka_word_read(p) != tag)) {
		pm = ka_mag_of_span(pcpu, span);
		/* KASAN: freed before it enters the magazine */
		ka_kasan_free(p, span->elemsize);
		ka_mcache_point(KA_MP_PUSH);
		if (likely(ka_mag_push(pm, (void *)p))) {
			ka_word_write((void *)p, tag);
			*pmp = pm;
			return true;
		}
	}
	return false;
}

/*
 * ka_free()'s hit path missed, this CPU's magazines still owned: their
 * section is an RCU read-side section, in which the hit path looked @p up
 * (@span, ka_span_lookup()).  The hooks and this CPU's caches run in it,
 * without taking the magazines again (as ka_free_bulk() does); anything
 * else goes to ka_free_nonlocal() under an rcu_read_lock() taken before
 * the magazines are released.  Returns with them released.
 */
static noinline void ka_free_miss(struct ka_span *span, const void *p,
				  unsigned long caller)
{
	span = ka_span_real(span);
	if (unlikely(ZERO_OR_NULL_PTR(p)))
		goto unlock;
	trace_ka_free(caller, p);
	if (!ka_free_hooks(span, p, caller) ||
	    likely(ka_free_local(span, p, caller)))
		goto unlock;
	rcu_read_lock();
	ka_mcache_unlock(ka_mcache);
	ka_free_nonlocal(span, p, caller);
	rcu_read_unlock();
	return;
unlock:
	ka_mcache_unlock(ka_mcache);
}

/**
 * ka_free_in - ka_free() of a pointer already looked up
 * @span: ka_span_lookup(@p), made by the caller, which holds the RCU
 *	  read-side section (rcu_read_lock()) of that lookup
 * @p: as for ka_free()
 * @caller: the API's caller
 *
 * The quarantine (generic KASAN), the hit path and the slow path, with
 * no other lookup of @p (kfree_rcu()'s callback, rcu.c, found @p from
 * its span).
 *
 * Context: as ka_free(); inside rcu_read_lock().
 */
void ka_free_in(struct ka_span *span, const void *p, unsigned long caller)
{
	struct ka_mcache __percpu *pcpu = ka_mcache;
	struct ka_magazine __percpu *pm;

	if (ka_kasan_quarantine(ka_span_real(span), p, NULL, 0, caller))
		return;
	if (likely(ka_mcache_context_ok() && ka_mcache_trylock(pcpu))) {
		if (likely(ka_free_hit(pcpu, span, p, &pm))) {
			ka_mcache_unlock(pcpu);
			this_cpu_inc(pm->nr_free);
		} else {
			ka_free_miss(span, p, caller);
		}
		return;
	}
	ka_free_span(ka_span_real(span), p, caller);
}

/*
 * ka_free() on generic KASAN: one lookup for the quarantine, the hit path
 * and the slow path.  Context: as ka_free().
 */
static noinline void ka_free_kasan(const void *p, unsigned long caller)
{
	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	rcu_read_lock();
	ka_free_in(ka_span_lookup(p), p, caller);
	rcu_read_unlock();
}

/**
 * ka_free - free an object
 * @p: an object from ka_alloc() and friends, NULL or ZERO_SIZE_PTR
 *
 * A pointer ka did not hand out (kmalloc'd, vmalloc'd, on the stack, the
 * middle of an object, an object of a span no longer in use) is refused
 * with a rate-limited error naming it and the caller, and counted; ka's
 * state is left untouched.  So is a second free of a small object that has
 * not been handed out again since (its double-free tag is there; see
 * mod/ka/ka.rst, Hardening): the duplicate is dropped, never handed out
 * twice.
 *
 * Context: any context, including hard irq (not NMI).  On PREEMPT_RT, as for
 * kfree, not from hard irq, under a raw spinlock or with preemption or
 * interrupts disabled: such a free is refused (counted as atomic_refused, with
 * a rate-limited error) and the object stays allocated.
 */
void ka_free(const void *p)
{
	struct ka_mcache __percpu *pcpu = ka_mcache;
	struct ka_magazine __percpu *pm;
	struct ka_span *span;

	if (IS_ENABLED(CONFIG_KASAN_GENERIC)) {
		ka_free_kasan(p, _RET_IP_);
		return;
	}
	if (unlikely(!ka_mcache_context_ok() || !ka_mcache_trylock(pcpu)))
		goto slow;
	span = ka_span_lookup(p);
	if (likely(ka_free_hit(pcpu, span, p, &pm))) {
		ka_mcache_unlock(pcpu);
		this_cpu_inc(pm->nr_free);
		return;
	}
	/* a tail call, so that the hit path saves no register */
	ka_free_miss(span, p, _RET_IP_);
	return;
slow:
	ka_free_slowpath(p, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ka_free);

/*
 * The usable size of @p of @span (ka_span_of()) if it is a live object;
 * else 0, with what is wrong in *@why and *@freed (ka_obj_live()).
 * Context: the RCU read-side section of the lookup of @span.
 */
static size_t ka_live_size(struct ka_span *span, const void *p,
			   const char **why, bool *freed)
{
	span = ka_obj_live(span, p, why, freed);
	if (!span)
		return 0;
	if (ka_debug_on())
		return ka_debug_size(span, p);
	if (IS_ENABLED(CONFIG_KASAN_GENERIC))
		return ka_kasan_usable(span);	/* the rest: redzone */
	return span->elemsize;
}

/**
 * ka_free_sensitive - clear an object, then free it
 * @p: an object from ka_alloc() and friends, NULL or ZERO_SIZE_PTR
 *
 * As kfree_sensitive(): the object's whole usable size (ka_size()) is
 * cleared with memzero_explicit() before it goes back.  A pointer that is
 * not a live ka object - a freed one included - is refused as by ka_free()
 * and its memory left alone: a freed object may already be someone else's,
 * and clearing it would also wipe the tag that shows it is free.
 *
 * Context: as ka_free().
 */
void ka_free_sensitive(const void *p)
{
	struct ka_span *span;
	const char *why;
	size_t size;
	bool freed;

	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	/* one lookup for the check, the quarantine and the free */
	rcu_read_lock();
	span = ka_span_lookup(p);
	size = ka_live_size(ka_span_real(span), p, &why, &freed);
	if (!size) {
		rcu_read_unlock();
		ka_report_refused(p, why, freed, _RET_IP_);
		return;
	}
	/* the whole usable size, of which KASAN knows only the request */
	kasan_disable_current();
	memzero_explicit((void *)p, size);
	kasan_enable_current();
	if (!ka_kasan_quarantine(ka_span_real(span), p, NULL, 0,
				 _RET_IP_))
		ka_free_span(ka_span_real(span), p, _RET_IP_);
	rcu_read_unlock();
}
EXPORT_SYMBOL_GPL(ka_free_sensitive);

/*
 * The usable size of the live object @p, or 0 (reported as a refused free
 * of @caller's) if @p is not one: ka_size(), and what ka_realloc(),
 * ka_free_sensitive() and ka_free_rcu() ask before they read, write or
 * defer the object.  Context: any.
 */
size_t ka_size_caller(const void *p, unsigned long caller)
{
	const char *why;
	size_t size;
	bool freed;

	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return 0;
	rcu_read_lock();
	size = ka_live_size(ka_span_of(p), p, &why, &freed);
	rcu_read_unlock();
	if (!size)
		ka_report_refused(p, why, freed, caller);
	return size;
}

/**
 * ka_size - the usable size of a live object
 * @p: an object from ka_alloc() and friends
 *
 * All of it may be used, as with ksize(): it is the object's size class
 * (or its page run, for a large object; on generic KASAN the largest size
 * class its slot serves, the rest of the slot a redzone).
 *
 * Context: any.
 * Return: the size in bytes, 0 for NULL or ZERO_SIZE_PTR, and 0 (with an
 * error, as for ka_free(); a freed object counts as a double free) for a
 * pointer that is not a live ka object; KASAN then leaves it poisoned.
 * On generic KASAN the whole usable size becomes accessible (ksize() did
 * that before Linux 6.2; ka_ksize() is ksize() as this kernel has it).
 */
size_t ka_size(const void *p)
{
	size_t size = ka_size_caller(p, _RET_IP_);

	/* KASAN: all of it is the client's now */
	if (IS_ENABLED(CONFIG_KASAN_GENERIC) && size)
		ka_hooks_shadow_new(p, size, size);
	return size;
}
EXPORT_SYMBOL_GPL(ka_size);

/**
 * ka_ksize - ka_size() as this kernel's ksize() has it
 * @p: an object from ka_alloc() and friends
 *
 * What include/ka_redirect.h maps ksize() on.  The size is ka_size()'s;
 * on generic KASAN it becomes accessible only before Linux 6.2: since,
 * ksize() only reports (KA_KSIZE_UNPOISONS), and a client that uses more
 * than it asked for is reported, on slab as on ka.
 *
 * Context: any.
 * Return: as ka_size().
 */
size_t ka_ksize(const void *p)
{
	size_t size = ka_size_caller(p, _RET_IP_);

	if (IS_ENABLED(CONFIG_KASAN_GENERIC) && KA_KSIZE_UNPOISONS && size)
		ka_hooks_shadow_new(p, size, size);
	return size;
}
EXPORT_SYMBOL_GPL(ka_ksize);

/**
 * ka_owns - is @p an object ka handed out?
 * @p: any pointer
 *
 * True for the start of a live ka object (ka_alloc() and friends, or a
 * ka_cache's): handed out and not freed since.  False for NULL,
 * ZERO_SIZE_PTR, a freed object and anything else, with no message:
 * include/ka_redirect.h asks before it hands a pointer to call_rcu().
 *
 * Context: any.
 * Return: true if ka_free() would take @p.
 */
bool ka_owns(const void *p)
{
	const char *why;
	bool ret, freed;

	if (ZERO_OR_NULL_PTR(p))
		return false;
	rcu_read_lock();
	ret = ka_obj_live(ka_span_of(p), p, &why, &freed);
	rcu_read_unlock();
	return ret;
}
EXPORT_SYMBOL_GPL(ka_owns);

/**
 * ka_claims - is @p for ka_free() rather than the kernel's kfree()?
 * @p: any pointer
 *
 * True for any pointer into a span of ka's - a live object, a freed one,
 * the middle of one - and for direct-map memory no kfree() of the kernel's
 * could take - neither a slab page nor a large kmalloc - such as a stale
 * pointer into a free page of ka's heap: ka_free(), ka_size() and
 * ka_realloc() report and refuse all but live objects, where the kernel's
 * kfree() would free a page of ka's heap (and its ksize() warn).  False for
 * NULL, ZERO_SIZE_PTR, vmalloc and module addresses, the kernel image
 * (kfree_const()'s .rodata) and the kernel's slab objects and large
 * kmallocs.  include/ka_redirect.h asks it before everything but
 * kfree_rcu().  Cheap: the arena map's lookup, no check of the object.
 *
 * Context: any.
 * Return: true if the pointer should go to ka rather than to the kernel.
 */
bool ka_claims(const void *p)
{
	struct folio *folio;
	bool ours;

	if (ZERO_OR_NULL_PTR(p))
		return false;
	rcu_read_lock();
	ours = ka_span_of(p);
	rcu_read_unlock();
	if (ours)
		return true;
	/* the direct map only: not the kernel image's alias of its pages */
	if ((unsigned long)p < PAGE_OFFSET || p >= high_memory ||
	    !virt_addr_valid(p))
		return false;
	folio = virt_to_folio(p);
	return !folio_test_slab(folio) && !folio_test_large(folio);
}
EXPORT_SYMBOL_GPL(ka_claims);

/**
 * ka_realloc - resize an object
 * @p: an object, or NULL or ZERO_SIZE_PTR (then this is ka_alloc())
 * @new_size: bytes wanted; 0 frees @p and returns ZERO_SIZE_PTR
 * @flags: GFP flags, as for ka_alloc(); with __GFP_ZERO, bytes past the
 *	   old usable size are zeroed
 *
 * As krealloc(): if @new_size fits in @p's usable size, @p is returned
 * unchanged; otherwise the contents move to a new object and @p is freed.
 * On failure @p is left untouched.  A @p that is not a live ka object (a
 * freed one included, as krealloc() of a freed pointer) is refused as by
 * ka_size(): NULL, nothing allocated, nothing read from it.
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
	if (new_size <= old) {
		/* KASAN: the client's for @new_size bytes now */
		if (IS_ENABLED(CONFIG_KASAN_GENERIC))
			ka_hooks_shadow_new(p, new_size, old);
		return (void *)p;
	}
	n = ka_alloc(new_size, flags);
	if (!n)
		return NULL;
	/* the whole usable size, of which KASAN knows only the request */
	kasan_disable_current();
	memcpy(n, p, old);
	kasan_enable_current();
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
 * Small objects are taken from this CPU's cache: the magazine, then, for a
 * class whose spans CPUs own, the CPU's spans and those mcentral lends it,
 * one owned section per span; what that cannot give (the cache busy, no
 * span to be had) comes straight from mcentral in batches, one lock
 * acquisition each.
 *
 * Context: as ka_alloc().
 * Return: @nr, or 0 if not all could be allocated (nothing is then held),
 * and 0 for an @nr the return value cannot hold (above INT_MAX).
 */
int ka_alloc_bulk(size_t size, gfp_t flags, size_t nr, void **p)
{
	struct ka_magazine __percpu *pm;
	unsigned int cls, objsize, hits = 0;
	size_t got = 0, i;

	if (!nr)
		return 0;
	if (unlikely(nr > INT_MAX)) {
		ka_fail(size, flags, _RET_IP_);
		return 0;
	}
	if (unlikely(!ka_mcache_context_ok())) {
		ka_refuse_atomic(NULL, size, _RET_IP_);
		ka_fail(size, flags, _RET_IP_);
		return 0;
	}
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

	pm = &ka_mcache->mag[cls];
	if (ka_class_owned(&ka_classes[cls])) {
		got = ka_mcache_alloc_bulk(cls, p, min_t(size_t, nr, UINT_MAX),
					   &hits, flags);
	} else if (likely(ka_mcache_trylock(ka_mcache))) {
		ka_mcache_point(KA_MP_BULK);
		while (got < nr && ka_mag_pop(pm, &p[got]))
			got++;
		ka_mcache_unlock(ka_mcache);
		hits = got;
	} else {
		this_cpu_inc(ka_mcache->nr_busy);
	}

	while (got < nr) {
		unsigned int want = min_t(size_t, nr - got, UINT_MAX);
		unsigned int n;

		n = ka_mcentral_refill(ka_mcentral_of(numa_mem_id(), cls),
				       p + got, want, flags);
		if (!n) {
			/* not yet handed out: no kmemleak record to drop */
			ka_mcentral_flush(p, got);
			ka_fail(size, flags, _RET_IP_);
			return 0;
		}
		this_cpu_inc(pm->nr_refill);
		got += n;
	}
	this_cpu_add(pm->nr_alloc, nr);
	this_cpu_add(pm->nr_miss, nr - hits);
	for (i = 0; i < nr; i++) {
		trace_ka_alloc(_RET_IP_, p[i], size, objsize, flags, NUMA_NO_NODE);
		ka_post_alloc(p[i], size, objsize, flags, _RET_IP_);
		if (ka_prof_tick(size))
			ka_prof_sample(p[i], size, objsize, NUMA_NO_NODE);
	}
	return nr;
}
EXPORT_SYMBOL_GPL(ka_alloc_bulk);

/**
 * ka_free_bulk - free @nr objects
 * @nr: number of objects
 * @p: the objects, any mix of sizes; NULL entries are skipped
 *
 * Local small objects are pushed onto this CPU's caches in one owned
 * section, through ka_free()'s hit path where it applies; anything else
 * takes ka_free()'s slow path.
 *
 * Context: as ka_free().
 */
void ka_free_bulk(size_t nr, void **p)
{
	struct ka_magazine __percpu *pm;
	struct ka_span *span;
	bool owned = false;
	size_t i;

	for (i = 0; i < nr; i++) {
		const void *o = p[i];

		if (unlikely(ZERO_OR_NULL_PTR(o)))
			continue;
		if (unlikely(!ka_mcache_context_ok())) {
			ka_refuse_atomic(o, 0, _RET_IP_);
			continue;
		}
		if (IS_ENABLED(CONFIG_KASAN_GENERIC)) {
			/* the quarantine's locks come before the CPU's */
			ka_free_kasan(o, _RET_IP_);
			continue;
		}
		if (!owned) {
			owned = ka_mcache_trylock(ka_mcache);
			if (!owned)
				this_cpu_inc(ka_mcache->nr_busy);
		}
		/*
		 * One lookup an object: in the owned section (RCU), kept for
		 * the slow steps by rcu_read_lock().  No span's key matches
		 * while the hooks below are on.
		 */
		if (likely(owned)) {
			span = ka_span_lookup(o);
			if (likely(ka_free_hit(ka_mcache, span, o, &pm))) {
				this_cpu_inc(pm->nr_free);
				continue;
			}
			rcu_read_lock();
		} else {
			rcu_read_lock();
			span = ka_span_lookup(o);
		}
		span = ka_span_real(span);
		trace_ka_free(_RET_IP_, o);
		if (!ka_free_hooks(span, o, _RET_IP_))
			goto next;
		if (likely(owned && ka_free_local(span, o, _RET_IP_)))
			goto next;
		if (owned) {
			ka_mcache_unlock(ka_mcache);
			owned = false;
		}
		ka_free_nonlocal(span, o, _RET_IP_);
next:
		rcu_read_unlock();
	}
	if (owned)
		ka_mcache_unlock(ka_mcache);
}
EXPORT_SYMBOL_GPL(ka_free_bulk);
