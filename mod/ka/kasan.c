// SPDX-License-Identifier: GPL-2.0
/*
 * ka on generic KASAN kernels: what mm/kasan gives SLUB's objects, for
 * ka's.  Built only with CONFIG_KASAN_GENERIC (mod/ka/Kbuild); elsewhere
 * ka_kasan.h's empty inlines stand in and the API's paths do not change.
 * (The shadow itself - objects accessible for the bytes requested, freed
 * objects and free memory poisoned - is set where ka hands objects out and
 * takes them back: api.c, cache.c, mheap.c.)
 *
 * Redzones.  A request is served from the class of a slot with a redzone
 * behind its size class, as KASAN's kasan_cache_create() sizes a kmalloc
 * cache's slots: size class n gets the smallest class of at least n +
 * optimal_redzone(n) bytes (16 to 2048: mm/kasan/generic.c), a multiple of
 * n where n is a power of two up to PAGE_SIZE, so that natural alignment
 * holds as SLUB keeps it for kmalloc-n (64-byte requests get 128-byte
 * slots).  The size -> class tables are rewritten once at load, so the hit
 * paths look up as before.  ka_size() gives the largest size class served
 * from that slot, the rest stays a redzone (ksize() gives the cache's
 * object size).  A ka_cache's slots get size + optimal_redzone(size).  The
 * 32 KiB class has no larger class: its objects (requests above 28 KiB)
 * have no redzone beyond the request's granule, as a page-allocator
 * kmalloc has none beyond its pages.
 *
 * Quarantine.  A client's free (ka_free(), ka_cache_free(), their bulk,
 * sensitive and RCU forms) is checked - not ka's object, the middle of one,
 * another cache's, already freed: refused - then the object is poisoned,
 * its free stack recorded, and it waits in a FIFO before it takes ka's free
 * path, as SLUB's objects wait in KASAN's quarantine (mm/kasan/
 * quarantine.c): per CPU a batch of up to KA_Q_BATCH objects or
 * KA_Q_PCPU_BYTES (1 MiB, QUARANTINE_PERCPU_SIZE), full batches in one
 * global FIFO of at most 1/32 of RAM (QUARANTINE_FRACTION) minus the
 * per-CPU batches; beyond that the oldest batches are evicted, in the
 * freeing context.  The shrinker, debugfs "drain", ka_drain() and unload
 * empty it; ka_cache_destroy() evicts the cache's objects first.  A freed
 * object is known by its shadow (its first byte poisoned): exact, so every
 * entry point refuses an object in the quarantine as freed.  The hook sits
 * at the API's entry (ka_kasan_put(), whose callers give the span and the
 * cache's slab flags); an object leaves through the function
 * ka_kasan_init() is given, api.c's ka_free_evict(), which takes it down
 * ka_free()'s path or its cache's (ka_cache_free_evict()) whatever the
 * per-CPU layer does: this file stands below the API and the caches and
 * calls neither (mod/ka/ka.rst, "Layers").  Off in debug mode (its poison
 * checks would come at eviction) and with the module parameter
 * quarantine=0 (writable: turning it off empties it).
 *
 * Bad frees through KASAN.  A pointer ka refuses (ka_report_bad_free():
 * not ka's, the middle of an object, another cache's, double free, size or
 * realloc of a freed object) also draws a KASAN report, which hooks.c
 * makes where it makes every refusal's (through the exported
 * __asan_report_store1_noabort()).  While a test of ka's own suites runs
 * with ka_kasan_test_mode() on, refusals are counted instead
 * (ka_report_quiet()).
 *
 * SLAB_TYPESAFE_BY_RCU, as SLUB_RCU_DEBUG.  With the quarantine on, a
 * ka_cache_free() of such a cache's object is deferred: a record of it
 * (kmalloc(GFP_NOWAIT)) goes to call_rcu(), and only the callback poisons
 * the object and quarantines it (or, without a quarantine any more, frees
 * it poisoned), so that the readers of the grace period may read it and a
 * later access is reported.  Its free stack is recorded at the free and
 * cleared by every hand-out, so a second free while it waits is a double
 * free.  ka_kasan_cache_destroy() waits for the callbacks (rcu_barrier()),
 * module exit and ka_drain() do with ka_rcu_barrier().  Without a record
 * the free takes ka's path at once, as without KASAN.
 *
 * Mempool reserves.  For a mempool of a ka_cache (include/ka_redirect.h),
 * ka_kasan_reserve() poisons an element mempool_free() may keep in the
 * reserve with KA_KASAN_SLAB_RESERVE (0xFA, KASAN's "use-after-free"; no
 * other ka memory has it), ka_kasan_unreserve() makes it live again when
 * it leaves the reserve (mempool_alloc(), or ka_mempool_free() when the
 * pool frees it), as mm/mempool.c does for the kernel's own slab pools;
 * cache.c's exported ka_mempool_kasan_*() tell its pools from others and
 * call ka_kasan_reserve(), ka_kasan_unreserve(), ka_kasan_reserve_fill().
 *
 * Stacks.  Each object's allocation and free stacks go to the stack depot
 * (stack_depot_save(), EXPORT_SYMBOL_GPL in 6.1 and 6.12); the two handles
 * and a check word (the handles XOR a random key: a redzone an overflow
 * wrote is not trusted) sit in the last 16 bytes of the slot's redzone, or,
 * for a span of one object without a redzone (large objects, the 32 KiB
 * class), in the span (ka_span.kasan_track).  A probe on the
 * error_report_end tracepoint, which KASAN fires at the end of every
 * report, prints them when the bad address is in a ka object, before the
 * report's closing line, as KASAN prints a slab object's.  Not in debug
 * mode, whose redzone fill covers the slot.
 *
 * Owns: the quarantine, the RCU-deferred frees' records, the redzone
 * tables (ka_kasan_slot, ka_kasan_room), the report probe.
 * Locks: a CPU's ka_qcpu.lock, then ka_q_lock (both irq-safe spinlocks).
 * Both are taken at the API's entry with no other ka lock held and are
 * dropped before an evicted object goes down ka's free path, except in
 * ka_kasan_cache_destroy() (process context), which evicts under them: so
 * they come before ka_mcache->lock and the centrals' locks in ka's order.
 * ka_kasan_reserve_fill() takes a mempool's own lock, and no other.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/debugfs.h>
#include <linux/kmemleak.h>
#include <linux/mempool.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/stackdepot.h>
#include <linux/stacktrace.h>
#include <trace/events/error_report.h>
#include "ka_debug.h"
#include "ka_kasan.h"
#include "mcache.h"

/* ---- redzones ---- */

/* The slot class of each size class, and the bytes a slot's client may use. */
static u8 ka_kasan_slot[KA_MAX_CLASSES];
static unsigned int ka_kasan_room[KA_MAX_CLASSES];

/* mm/kasan/generic.c, optimal_redzone() */
static unsigned int ka_kasan_redzone(unsigned int size)
{
	return size <= 64 - 16 ? 16 :
	       size <= 128 - 32 ? 32 :
	       size <= 512 - 64 ? 64 :
	       size <= 4096 - 128 ? 128 :
	       size <= (1 << 14) - 256 ? 256 :
	       size <= (1 << 15) - 512 ? 512 :
	       size <= (1 << 16) - 1024 ? 1024 : 2048;
}

/**
 * ka_kasan_cache_size - the slot a ka_cache of @size-byte objects needs
 * @size: object size, aligned
 *
 * Context: any.
 * Return: @size and its redzone.
 */
unsigned int ka_kasan_cache_size(unsigned int size)
{
	return size + ka_kasan_redzone(size);
}

/* Map the size -> class table @t of @n entries to slot classes. */
static void ka_kasan_map_u8(u8 *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i])
			t[i] = ka_kasan_slot[t[i]];
}

/**
 * ka_kasan_sizeclass_init - serve each size class from a slot with a redzone
 *
 * Context: module init, after ka_sizeclass_init(), before any span exists.
 */
void ka_kasan_sizeclass_init(void)
{
	unsigned int cls, s, i;

	for (cls = 1; cls < ka_nr_classes; cls++) {
		unsigned int n = ka_classes[cls].size;
		unsigned int want = n + ka_kasan_redzone(n);
		unsigned int align = is_power_of_2(n) && n <= PAGE_SIZE ? n : 8;

		for (s = cls; s < ka_nr_classes; s++)
			if (ka_classes[s].size >= want &&
			    !(ka_classes[s].size % align))
				break;
		if (s == ka_nr_classes)
			s = cls;	/* the largest: no room for a redzone */
		ka_kasan_slot[cls] = s;
		ka_kasan_room[s] = max(ka_kasan_room[s], n);
	}
	for (i = 0; i < ARRAY_SIZE(ka_size_to_magoff); i++)
		ka_size_to_magoff[i] = ka_kasan_slot[ka_size_to_magoff[i] >>
						     KA_MAG_SHIFT] << KA_MAG_SHIFT;
	ka_kasan_map_u8(ka_size_to_class8, ARRAY_SIZE(ka_size_to_class8));
	ka_kasan_map_u8(ka_size_to_class128, ARRAY_SIZE(ka_size_to_class128));
}

/**
 * ka_kasan_usable - the bytes a live object of @span may use (ka_size())
 * @span: a small or large span; a ka_cache's, carved (ka_kasan_cache_span())
 *
 * Context: RCU read-side section.
 * Return: the largest size class its slot serves, a cache's object size,
 * a large object's pages.
 */
size_t ka_kasan_usable(const struct ka_span *span)
{
	if (span->state != KA_SPAN_SMALL)
		return span->elemsize;
	if (span->cache)
		return span->kasan_size;	/* ka_kasan_cache_span() */
	return ka_kasan_room[span->cls];
}
KA_EXPORT_INTERNAL(ka_kasan_usable);

/* The shadow byte of @p's granule. */
static __no_kasan_or_inline u8 ka_kasan_shadow(const void *p)
{
	return *(u8 *)kasan_mem_to_shadow(p);
}

/* Is the granule of @p poisoned (freed, free or a redzone)? */
static __no_kasan_or_inline bool ka_kasan_poisoned(const void *p)
{
	return (s8)ka_kasan_shadow(p) < 0;
}

/**
 * ka_kasan_freed - is the start of object @p poisoned?
 * @p: the start of a small or large object of a span in use
 *
 * A live object's first byte is the client's; a freed one, in the
 * quarantine or back in ka, is poisoned, as is a slot never handed out.
 *
 * Context: any.
 */
bool ka_kasan_freed(const void *p)
{
	return ka_kasan_poisoned(p);
}

/* ---- stacks ---- */

#define KA_KASAN_STACK_DEPTH	64	/* KASAN_STACK_DEPTH */

static unsigned long ka_kasan_track_key;

/*
 * Where @span's object @obj keeps its stack handles: two words at the end
 * of its slot's redzone, or in the span for a span of one object without a
 * redzone.  NULL in debug mode (its redzone fill covers the slot).
 * Context: RCU read-side section.
 */
static unsigned long *ka_kasan_track(struct ka_span *span, const void *obj)
{
	if (ka_debug_on())
		return NULL;
	switch (READ_ONCE(span->state)) {
	case KA_SPAN_SMALL:
		if (span->elemsize >= ka_kasan_usable(span) + 2 * sizeof(long))
			return (unsigned long *)(obj + span->elemsize) - 2;
		return span->nelems == 1 ? span->kasan_track : NULL;
	case KA_SPAN_LARGE:
	case KA_SPAN_LARGE_FREE:
		return span->kasan_track;
	default:
		return NULL;
	}
}

/* The stack of our caller's caller, in the depot; 0 if it had no room. */
static noinline depot_stack_handle_t ka_kasan_stack(void)
{
	unsigned long entries[KA_KASAN_STACK_DEPTH];
	unsigned int n;

	n = stack_trace_save(entries, ARRAY_SIZE(entries), 2);
	n = filter_irq_stacks(entries, n);
	return stack_depot_save(entries, n, GFP_NOWAIT | __GFP_NOWARN);
}

/*
 * Record the allocation (@alloc) or free stack of object @p of @span (the
 * caller's lookup, ka_span_of()).  Context: RCU read-side section of it.
 */
static void ka_kasan_record_in(struct ka_span *span, const void *p,
			       bool alloc)
{
	depot_stack_handle_t h = 0;
	unsigned long *t, v;

	t = span ? ka_kasan_track(span, p) : NULL;
	if (t) {
		h = ka_kasan_stack();
		v = alloc ? h : (ka_word_read(t) & U32_MAX) | (unsigned long)h << 32;
		ka_word_write(t, v);
		ka_word_write(t + 1, v ^ ka_kasan_track_key);
	}
}

/* Record the allocation (@alloc) or free stack of object @p. */
static void ka_kasan_record(const void *p, bool alloc)
{
	rcu_read_lock();
	ka_kasan_record_in(ka_span_of(p), p, alloc);
	rcu_read_unlock();
}

/**
 * ka_kasan_new - an object leaves ka for a client
 * @p: the object
 * @size: bytes requested
 * @slot: its slot's size
 *
 * Accessible for @size bytes, the rest of the slot a redzone
 * (ka_hooks_shadow_new()), and its allocation stack recorded.
 *
 * Context: as ka_alloc(); no ka lock held.
 */
void ka_kasan_new(const void *p, size_t size, size_t slot)
{
	ka_hooks_shadow_new(p, size, slot);
	ka_kasan_record(p, true);
}

/**
 * ka_kasan_stacks - the stack depot handles recorded for object @p
 * @p: a small or large object of a span in use
 * @alloc: its allocation stack, or 0
 * @free: its last free stack, or 0
 *
 * Context: any.
 * Return: false if there are none (debug mode, no room, overwritten).
 */
bool ka_kasan_stacks(const void *p, u32 *alloc, u32 *free)
{
	struct ka_span *span;
	unsigned long *t, v = 0;
	bool ok = false;

	rcu_read_lock();
	span = ka_span_of(p);
	t = span ? ka_kasan_track(span, p) : NULL;
	if (t) {
		v = ka_word_read(t);
		ok = (v ^ ka_kasan_track_key) == ka_word_read(t + 1);
	}
	rcu_read_unlock();
	*alloc = ok ? v & U32_MAX : 0;
	*free = ok ? v >> 32 : 0;
	return ok;
}
KA_EXPORT_INTERNAL(ka_kasan_stacks);

/* Print the stacks of @span's object @obj, if they are there. */
static void ka_kasan_print_track(struct ka_span *span, const void *obj,
				 bool freed)
{
	unsigned long *t = ka_kasan_track(span, obj), v;

	if (!t)
		return;
	v = ka_word_read(t);
	if (!v && !ka_word_read(t + 1))
		return;
	if ((v ^ ka_kasan_track_key) != ka_word_read(t + 1)) {
		pr_err("its stack records were overwritten (the end of its slot)\n");
		return;
	}
	if (v & U32_MAX) {
		pr_err("allocated by:\n");
		stack_depot_print(v & U32_MAX);
	}
	if (freed && v >> 32) {
		pr_err("freed by:\n");
		stack_depot_print(v >> 32);
	}
}

/*
 * error_report_end: at the end of every KASAN report (in its reporting
 * section: irqs off, KASAN's checks off for the task), describe the ka
 * object the bad address is in and print its stacks.
 */
static void ka_kasan_report_probe(void *data, enum error_detector detector,
				  unsigned long addr)
{
	const void *p = (const void *)addr, *obj;
	struct ka_span *span;
	const char *what;

	if (detector != ERROR_DETECTOR_KASAN)
		return;
	rcu_read_lock();
	span = ka_span_of(p);
	if (!span)
		goto out;
	switch (READ_ONCE(span->state)) {
	case KA_SPAN_SMALL:
		if (p >= span->end) {
			pr_err("the bad address is in the tail of a span of %u-byte slots, after its last slot\n",
			       span->elemsize);
			goto out;
		}
		obj = span->base + (p - span->base) / span->elemsize *
		      span->elemsize;
		break;
	case KA_SPAN_LARGE:
	case KA_SPAN_LARGE_FREE:
		obj = span->base;
		break;
	default:
		pr_err("the bad address is in a span being built or torn down\n");
		goto out;
	}
	what = !ka_kasan_freed(obj) ? "live" :
	       test_bit(ka_span_index(span, obj), span->allocbits) ? "freed" :
	       "free";
	pr_err("the bad address is %ld bytes into a %s object of %zu usable bytes in a %u-byte slot (%s%s)\n",
	       (long)(p - obj), what, ka_kasan_usable(span), span->elemsize,
	       span->state == KA_SPAN_SMALL ? "size class" : "large object",
	       span->cache ? ", a ka_cache's" : "");
	ka_kasan_print_track(span, obj, ka_kasan_freed(obj));
out:
	rcu_read_unlock();
}

/* ---- mempool reserves ---- */

/*
 * Is the object @p of a ka_cache in a mempool's reserve (its first granule
 * KA_KASAN_SLAB_RESERVE)?  Its span if so.  Context: RCU read-side section.
 */
static struct ka_span *ka_kasan_reserved(const void *p)
{
	struct ka_span *span = ka_span_of(p);

	if (!span || READ_ONCE(span->state) != KA_SPAN_SMALL || !span->cache ||
	    !ka_span_obj_ok(span, p) ||
	    ka_kasan_shadow(p) != KA_KASAN_SLAB_RESERVE)
		return NULL;
	return span;
}

/**
 * ka_kasan_unreserve - an element leaves a mempool's reserve
 * @p: any pointer
 *
 * If @p is a ka_cache's object poisoned in a mempool's reserve
 * (ka_mempool_kasan_put()), it is a live object again: accessible for its
 * cache's size, its allocation stack recorded.  Anything else is left
 * alone.
 *
 * Context: any.
 */
void ka_kasan_unreserve(const void *p)
{
	struct ka_span *span;
	size_t size, slot;

	rcu_read_lock();
	span = ka_kasan_reserved(p);
	if (!span) {
		rcu_read_unlock();
		return;
	}
	size = span->kasan_size;
	slot = span->elemsize;
	rcu_read_unlock();
	ka_kasan_new(p, size, slot);
}

/**
 * ka_kasan_reserve - an element goes into the reserve of a mempool of
 * cache @c (cache.c's ka_mempool_kasan_put())
 * @p: the element
 * @c: the pool's cache
 * @caller: the caller of mempool_free()
 *
 * The element is checked - the middle of an object, another cache's,
 * already free or in the reserve: refused with a report - and poisoned
 * with KA_KASAN_SLAB_RESERVE, its free stack recorded.  An element that
 * is not ka's (of a kernel cache) is left alone.
 *
 * Context: as mempool_free().
 * Return: false if @p was refused: it must not reach mempool_free().
 */
bool ka_kasan_reserve(void *p, struct ka_cache *c, unsigned long caller)
{
	const char *why = NULL;
	struct ka_span *span;
	bool freed = false;

	rcu_read_lock();
	span = ka_span_of(p);
	if (!span) {
		rcu_read_unlock();
		return true;
	}
	if (!ka_span_check(p, &why)) {
		/* @why says what is wrong */
	} else if (span->cache != c) {
		why = "mempool element of another cache than the pool's";
	} else if (ka_kasan_freed(p)) {
		why = "double free (the mempool element is already free or in the reserve)";
		freed = true;
	}
	if (why) {
		rcu_read_unlock();
		if (freed)
			ka_report_double_free(p, why, caller);
		else
			ka_report_bad_free(p, why, caller);
		return false;
	}
	ka_sys_poison(p, span->elemsize, KA_KASAN_SLAB_RESERVE);
	rcu_read_unlock();
	ka_kasan_record(p, false);
	return true;
}

/**
 * ka_kasan_reserve_fill - poison the elements a mempool of a ka_cache
 * reserved by itself (cache.c's ka_mempool_kasan_fill())
 * @pool: the pool, one of a ka_cache's objects
 *
 * The pool's lock keeps the elements the pool's while this runs.
 *
 * Context: process context (as mempool_resize()).
 */
void ka_kasan_reserve_fill(mempool_t *pool)
{
	struct ka_span *span;
	unsigned long flags;
	const char *why;
	int i;

	spin_lock_irqsave(&pool->lock, flags);
	rcu_read_lock();
	for (i = 0; i < pool->curr_nr; i++) {
		void *p = pool->elements[i];

		span = ka_span_of(p) ? ka_span_check(p, &why) : NULL;
		if (span && span->cache == pool->pool_data && !ka_kasan_freed(p))
			ka_sys_poison(p, span->elemsize, KA_KASAN_SLAB_RESERVE);
	}
	rcu_read_unlock();
	spin_unlock_irqrestore(&pool->lock, flags);
}

/* ---- quarantine ---- */

#define KA_Q_PCPU_BYTES		(1UL << 20)	/* QUARANTINE_PERCPU_SIZE */
#define KA_Q_FRACTION		32		/* QUARANTINE_FRACTION */
#define KA_Q_SPARES		4

struct ka_qbatch {
	struct list_head list;
	size_t bytes;
	unsigned int nr;
	const void *objs[];
};

#define KA_Q_BATCH	((PAGE_SIZE - sizeof(struct ka_qbatch)) / sizeof(void *))

struct ka_qcpu {
	spinlock_t lock;
	struct ka_qbatch *cur;		/* filling; NULL until the first free */
};

static struct ka_qcpu __percpu *ka_qcpu;
static DEFINE_SPINLOCK(ka_q_lock);
static LIST_HEAD(ka_q_fifo);		/* full batches, oldest first */
static LIST_HEAD(ka_q_spare);		/* empty batches kept for reuse */
static unsigned int ka_q_nr_spare;
static size_t ka_q_bytes;		/* in ka_q_fifo */
static size_t ka_q_max;			/* what ka_q_fifo may hold */
static atomic_long_t ka_q_nr_put, ka_q_nr_evicted, ka_q_nr_direct;

static bool quarantine = true;
static bool ka_q_ready;
/* api.c's ka_free_evict(), given by main.c (ka_kasan_init()) */
static void (*ka_q_evict_fn)(struct ka_span *span, const void *p);

/**
 * ka_kasan_quarantine_active - do client frees enter the quarantine?
 *
 * Context: any.
 */
bool ka_kasan_quarantine_active(void)
{
	return READ_ONCE(quarantine) && READ_ONCE(ka_q_ready) && !ka_debug_on();
}
KA_EXPORT_INTERNAL(ka_kasan_quarantine_active);

/* Objects of a batch leave it; the batch goes back to the spares. */
static void ka_q_release(struct ka_qbatch *b)
{
	unsigned long flags;

	spin_lock_irqsave(&ka_q_lock, flags);
	if (ka_q_nr_spare < KA_Q_SPARES) {
		list_add(&b->list, &ka_q_spare);
		ka_q_nr_spare++;
		b = NULL;
	}
	spin_unlock_irqrestore(&ka_q_lock, flags);
	kfree(b);
}

/*
 * Down ka's free path: the object leaves the quarantine through
 * ka_q_evict_fn (ka_free_evict(): ka_free()'s path or its cache's).  One
 * lookup, for the choice of path and every step of it: a batch holds
 * pointers only, as a magazine does (a span beside each would halve the
 * objects a batch page holds).
 */
static void ka_q_evict(const void *p)
{
	rcu_read_lock();
	ka_q_evict_fn(ka_span_of(p), p);
	rcu_read_unlock();
	atomic_long_inc(&ka_q_nr_evicted);
}

static void ka_q_evict_list(struct list_head *batches)
{
	struct ka_qbatch *b, *tmp;
	unsigned int i;

	list_for_each_entry_safe(b, tmp, batches, list) {
		list_del(&b->list);
		for (i = 0; i < b->nr; i++)
			ka_q_evict(b->objs[i]);
		ka_q_release(b);
	}
}

/* Queue the full batch @b; evict the oldest beyond ka_q_max. */
static void ka_q_push(struct ka_qbatch *b, size_t max)
{
	struct ka_qbatch *old;
	unsigned long flags;
	LIST_HEAD(out);

	spin_lock_irqsave(&ka_q_lock, flags);
	if (b) {
		list_add_tail(&b->list, &ka_q_fifo);
		ka_q_bytes += b->bytes;
	}
	while (ka_q_bytes > max && !list_empty(&ka_q_fifo)) {
		old = list_first_entry(&ka_q_fifo, struct ka_qbatch, list);
		list_move_tail(&old->list, &out);
		ka_q_bytes -= old->bytes;
	}
	spin_unlock_irqrestore(&ka_q_lock, flags);
	ka_q_evict_list(&out);
}

/* A spare batch, or NULL.  Context: ka_q_lock not held. */
static struct ka_qbatch *ka_q_spare_get(void)
{
	struct ka_qbatch *b = NULL;
	unsigned long flags;

	spin_lock_irqsave(&ka_q_lock, flags);
	if (!list_empty(&ka_q_spare)) {
		b = list_first_entry(&ka_q_spare, struct ka_qbatch, list);
		list_del(&b->list);
		ka_q_nr_spare--;
	}
	spin_unlock_irqrestore(&ka_q_lock, flags);
	return b;
}

/*
 * Put @p (@bytes of slot) in this CPU's batch; false if no batch could be
 * had (the caller frees it at once).
 */
static bool ka_q_put(const void *p, size_t bytes)
{
	struct ka_qbatch *b, *full = NULL, *fresh = NULL;
	unsigned long flags;
	struct ka_qcpu *q;

	for (;;) {
		/* preemptible on RT: any CPU's batch will do, under its lock */
		q = raw_cpu_ptr(ka_qcpu);
		spin_lock_irqsave(&q->lock, flags);
		b = q->cur;
		if (!b) {
			b = fresh ?: ka_q_spare_get();
			fresh = NULL;
		}
		if (b)
			break;
		spin_unlock_irqrestore(&q->lock, flags);
		fresh = kmalloc(PAGE_SIZE, GFP_NOWAIT | __GFP_NOWARN);
		if (!fresh)
			return false;
	}
	if (b != q->cur) {
		b->nr = 0;
		b->bytes = 0;
		q->cur = b;
	}
	b->objs[b->nr++] = p;
	b->bytes += bytes;
	if (b->nr == KA_Q_BATCH || b->bytes >= KA_Q_PCPU_BYTES) {
		q->cur = NULL;
		full = b;
	}
	spin_unlock_irqrestore(&q->lock, flags);
	if (fresh)
		ka_q_release(fresh);
	if (full)
		ka_q_push(full, READ_ONCE(ka_q_max));
	return true;
}

/* Move every CPU's batch to the FIFO. */
static void ka_q_flush_cpus(void)
{
	struct ka_qbatch *b;
	unsigned long flags;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct ka_qcpu *q = per_cpu_ptr(ka_qcpu, cpu);

		spin_lock_irqsave(&q->lock, flags);
		b = q->cur;
		q->cur = NULL;
		spin_unlock_irqrestore(&q->lock, flags);
		if (b)
			ka_q_push(b, SIZE_MAX);
	}
}

/**
 * ka_kasan_drain - evict every object from the quarantine
 *
 * Context: any context ka_free() may run in (the shrinker, debugfs
 * "drain", ka_drain(), unload).
 */
void ka_kasan_drain(void)
{
	if (!ka_q_ready)
		return;
	ka_q_flush_cpus();
	ka_q_push(NULL, 0);
}

/**
 * ka_kasan_quarantine_pages - pages' worth of objects in the quarantine
 *
 * Context: any (a snapshot, for the shrinker's count).
 */
unsigned long ka_kasan_quarantine_pages(void)
{
	size_t bytes = READ_ONCE(ka_q_bytes);
	int cpu;

	if (!ka_q_ready)
		return 0;
	for_each_possible_cpu(cpu) {
		struct ka_qbatch *b = READ_ONCE(per_cpu_ptr(ka_qcpu, cpu)->cur);

		if (b)
			bytes += READ_ONCE(b->bytes);
	}
	return bytes >> PAGE_SHIFT;
}

/* Evict @c's objects from @b, keeping the others in order. */
static void ka_q_batch_drop_cache(struct ka_qbatch *b, struct ka_cache *c)
{
	struct ka_span *span;
	unsigned int i, n = 0;

	for (i = 0; i < b->nr; i++) {
		const void *p = b->objs[i];

		rcu_read_lock();
		span = ka_span_of(p);
		if (span && span->cache == c) {
			b->bytes -= span->elemsize;
			ka_q_evict_fn(span, p);
			rcu_read_unlock();
			atomic_long_inc(&ka_q_nr_evicted);
			continue;
		}
		rcu_read_unlock();
		b->objs[n++] = p;
	}
	b->nr = n;
}

/**
 * ka_kasan_cache_destroy - evict a dying cache's objects from the quarantine
 * @c: the cache, which no one uses any more
 * @cflags: its slab flags (SLAB_TYPESAFE_BY_RCU)
 *
 * Context: process context, before ka_cache_destroy() counts @c's objects.
 */
void ka_kasan_cache_destroy(struct ka_cache *c, slab_flags_t cflags)
{
	struct ka_qbatch *b;
	unsigned long flags;
	int cpu;

	/* its frees waiting for a grace period reach the quarantine first */
	if (cflags & SLAB_TYPESAFE_BY_RCU)
		rcu_barrier();
	if (!ka_q_ready)
		return;
	for_each_possible_cpu(cpu) {
		struct ka_qcpu *q = per_cpu_ptr(ka_qcpu, cpu);

		spin_lock_irqsave(&q->lock, flags);
		if (q->cur)
			ka_q_batch_drop_cache(q->cur, c);
		spin_unlock_irqrestore(&q->lock, flags);
	}
	spin_lock_irqsave(&ka_q_lock, flags);
	list_for_each_entry(b, &ka_q_fifo, list) {
		ka_q_bytes -= b->bytes;
		ka_q_batch_drop_cache(b, c);
		ka_q_bytes += b->bytes;
	}
	spin_unlock_irqrestore(&ka_q_lock, flags);
}

/*
 * A freed @p, which must not be traced as live by kmemleak: registered
 * if every object is, unless its cache's slab @flags say SLAB_NOLEAKTRACE
 * (cache.c's ka_cache_leak_traced()).
 */
static void ka_q_leak_ignore(const void *p, slab_flags_t flags)
{
	if (ka_hooks_always() && !(flags & SLAB_NOLEAKTRACE))
		kmemleak_ignore(p);
}

/* ---- SLAB_TYPESAFE_BY_RCU: frees deferred by a grace period ---- */

/*
 * A ka_cache_free() of a SLAB_TYPESAFE_BY_RCU cache's object waiting for
 * its grace period (CONFIG_SLUB_RCU_DEBUG's struct rcu_delayed_free).
 */
struct ka_kasan_deferred {
	struct rcu_head rcu;
	void *obj;
	slab_flags_t flags;		/* its cache's */
};

static atomic_long_t ka_q_nr_deferred;

/*
 * Is @span's object @p, live to KASAN, freed and waiting for its grace
 * period?  Its free stack is recorded then (ka_kasan_put()), and every
 * hand-out clears it (ka_kasan_new()).  Not seen without stack records
 * (debug mode, no room in the depot).  Context: RCU read-side section.
 */
static bool ka_kasan_rcu_pending(struct ka_span *span, const void *p)
{
	unsigned long *t = ka_kasan_track(span, p), v;

	if (!t)
		return false;
	v = ka_word_read(t);
	return (v ^ ka_kasan_track_key) == ka_word_read(t + 1) && v >> 32;
}

/*
 * The grace period is over: no reader holds the object any more.  Poison
 * it and quarantine it, as SLUB_RCU_DEBUG's callback resumes the free
 * (slab_free_after_rcu_debug()): a later access is a use after free.
 * Context: RCU callback.
 */
static void ka_kasan_rcu_free(struct rcu_head *head)
{
	struct ka_kasan_deferred *d = container_of(head, struct ka_kasan_deferred,
						   rcu);
	slab_flags_t flags = d->flags;
	void *p = d->obj;
	struct ka_span *span;
	size_t bytes;

	kfree(d);
	rcu_read_lock();
	span = ka_span_of(p);
	bytes = span->elemsize;
	ka_q_leak_ignore(p, flags);
	ka_sys_poison(p, bytes, KA_KASAN_SLAB_FREE);
	if (ka_kasan_quarantine_active() && ka_q_put(p, bytes)) {
		rcu_read_unlock();
		atomic_long_inc(&ka_q_nr_put);
		return;
	}
	atomic_long_inc(&ka_q_nr_direct);
	ka_q_evict_fn(span, p);
	rcu_read_unlock();
}

/*
 * Free @p of a SLAB_TYPESAFE_BY_RCU cache (of slab @flags) a grace period
 * from now: readers that found it before may read it until then (it stays
 * accessible, and is not handed out again).  True if deferred; false if
 * no record could be had (ka's free path takes it at once, unpoisoned, as
 * without KASAN).
 */
static bool ka_kasan_defer(void *p, slab_flags_t flags)
{
	struct ka_kasan_deferred *d;

	d = kmalloc(sizeof(*d), GFP_NOWAIT | __GFP_NOWARN);
	if (!d)
		return false;
	d->obj = p;
	d->flags = flags;
	atomic_long_inc(&ka_q_nr_deferred);
	call_rcu(&d->rcu, ka_kasan_rcu_free);
	return true;
}

/**
 * ka_kasan_put - a client frees @p: refuse it, quarantine it, or (an
 * object of a SLAB_TYPESAFE_BY_RCU cache) defer it by a grace period
 * @span: the span of @p as the free looked it up (ka_span_of(): NULL if
 *	  ka owns none there), in an RCU read-side section the caller holds
 * @p: the pointer given to ka_free(), ka_cache_free() and friends
 * @c: the cache it is freed to (ka_cache_free()), or NULL
 * @flags: @c's slab flags (SLAB_TYPESAFE_BY_RCU, SLAB_NOLEAKTRACE), or 0
 * @caller: the API's caller
 *
 * What the quarantine needs of a cache its caller gives: kasan.c stands
 * below the caches (cache.c) and the API (api.c) and calls neither; its
 * objects leave through the function ka_kasan_init() was given.
 *
 * Context: as ka_free().
 * Return: true if @p was refused, quarantined or deferred; false if ka's
 * free path must take it (NULL, ZERO_SIZE_PTR, the quarantine off, debug
 * mode, PREEMPT_RT atomic context, a ka_cache's object given to ka_free()
 * - which hands it to its cache's free, ka_cache_free_span(), and so here
 * again with its cache - or without a record).
 */
bool ka_kasan_put(struct ka_span *span, const void *p, struct ka_cache *c,
		  slab_flags_t flags, unsigned long caller)
{
	const char *why = NULL;
	bool freed = false;
	size_t bytes;

	if (unlikely(ZERO_OR_NULL_PTR(p)) || !ka_kasan_quarantine_active() ||
	    !ka_mcache_context_ok())
		return false;
	rcu_read_lock();
	if (span && READ_ONCE(span->state) == KA_SPAN_LARGE_FREE &&
	    p == span->base) {
		why = "double free of a large object";
		freed = true;
	} else if (!ka_span_check_in(span, p, &why)) {
		/* @why says what is wrong */
	} else if (span->cache != c) {
		if (!c) {
			/* ka_free(): its cache's free comes here with @c */
			rcu_read_unlock();
			return false;
		}
		why = span->cache ? "object of another ka cache" :
		      "not an object of a ka cache";
	} else if (ka_kasan_freed(p)) {
		why = "double free (the object is already free)";
		freed = true;
	} else if (flags & SLAB_TYPESAFE_BY_RCU) {
		/* readers may read it a grace period on */
		if (ka_kasan_rcu_pending(span, p)) {
			why = "double free (the object waits for its RCU grace period)";
			freed = true;
		} else {
			/* the caller's RCU section keeps @span */
			ka_kasan_record_in(span, p, false);
			rcu_read_unlock();
			return ka_kasan_defer((void *)p, flags);
		}
	}
	if (why) {
		rcu_read_unlock();
		if (freed)
			ka_report_double_free(p, why, caller);
		else
			ka_report_bad_free(p, why, caller);
		return true;
	}
	bytes = span->elemsize;
	ka_q_leak_ignore(p, flags);
	ka_sys_poison(p, bytes, span->state == KA_SPAN_SMALL ?
		      KA_KASAN_SLAB_FREE : KA_KASAN_PAGE_FREE);
	ka_kasan_record_in(span, p, false);
	rcu_read_unlock();
	if (!ka_q_put(p, bytes)) {
		atomic_long_inc(&ka_q_nr_direct);
		return false;
	}
	atomic_long_inc(&ka_q_nr_put);
	return true;
}

static int ka_q_param_set(const char *val, const struct kernel_param *kp)
{
	bool was = READ_ONCE(quarantine);
	int ret = param_set_bool(val, kp);

	if (!ret && was && !READ_ONCE(quarantine))
		ka_kasan_drain();
	return ret;
}

static const struct kernel_param_ops ka_q_param_ops = {
	.set = ka_q_param_set,
	.get = param_get_bool,
};
module_param_cb(quarantine, &ka_q_param_ops, &quarantine, 0644);
MODULE_PARM_DESC(quarantine, "generic KASAN: freed objects wait in a quarantine before reuse (default on; 0 empties it)");

/**
 * ka_kasan_test_mode - for ka's own suites: no quarantine, quiet refusals
 * @on: entering (true) or leaving a test
 *
 * The suites of ka_kunit.ko test ka's layers, whose frees must take ka's
 * free path at once, and provoke refusals by the hundred: while a test
 * runs, the quarantine is off (emptied) and refusals are counted
 * (ka_report_quieted_count()) instead of reported through KASAN.  Calls
 * pair up and do not nest.
 *
 * Context: process context.
 */
void ka_kasan_test_mode(bool on)
{
	static bool saved;

	if (on) {
		saved = READ_ONCE(quarantine);
		WRITE_ONCE(quarantine, false);
		ka_kasan_drain();
		ka_report_quiet(true);
	} else {
		ka_report_quiet(false);
		WRITE_ONCE(quarantine, saved);
	}
}
KA_EXPORT_INTERNAL(ka_kasan_test_mode);

/* debugfs "quarantine": what it holds and has done. */
static int ka_q_show(struct seq_file *m, void *v)
{
	unsigned long flags;
	size_t fifo;
	int cpu, n = 0;

	spin_lock_irqsave(&ka_q_lock, flags);
	fifo = ka_q_bytes;
	spin_unlock_irqrestore(&ka_q_lock, flags);
	for_each_possible_cpu(cpu) {
		struct ka_qcpu *q = per_cpu_ptr(ka_qcpu, cpu);

		spin_lock_irqsave(&q->lock, flags);
		if (q->cur)
			n += q->cur->nr;
		spin_unlock_irqrestore(&q->lock, flags);
	}
	seq_printf(m, "on %d\nbytes %zu\nmax %zu\npcpu_objects %d\nput %lu\nevicted %lu\ndirect %lu\nrcu_deferred %lu\nquiet_refusals %lu\n",
		   READ_ONCE(quarantine), fifo, READ_ONCE(ka_q_max), n,
		   atomic_long_read(&ka_q_nr_put),
		   atomic_long_read(&ka_q_nr_evicted),
		   atomic_long_read(&ka_q_nr_direct),
		   atomic_long_read(&ka_q_nr_deferred),
		   ka_report_quieted_count());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ka_q);

/**
 * ka_kasan_init - the quarantine, the report probe, the stack depot
 * @evict: what frees an object leaving the quarantine, in the RCU
 *	   read-side section of its lookup, without putting it back
 *	   (api.c's ka_free_evict(), which main.c gives)
 *
 * Without memory for the per-CPU batches the quarantine stays off.
 *
 * Context: module init, after ka_debugfs_init().
 * Return: 0, or the tracepoint's error.
 */
int ka_kasan_init(void (*evict)(struct ka_span *span, const void *p))
{
	size_t total = (totalram_pages() << PAGE_SHIFT) / KA_Q_FRACTION;
	size_t pcpu = KA_Q_PCPU_BYTES * num_online_cpus();
	struct dentry *dir;
	int cpu, ret;

	ka_q_evict_fn = evict;
	ka_kasan_track_key = get_random_long();
	stack_depot_init();
	ret = register_trace_error_report_end(ka_kasan_report_probe, NULL);
	if (ret)
		return ret;
	ka_q_max = total > pcpu ? total - pcpu : 0;
	ka_qcpu = alloc_percpu(struct ka_qcpu);
	if (!ka_qcpu) {
		pr_warn("no memory for the KASAN quarantine: it is off\n");
		return 0;
	}
	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(ka_qcpu, cpu)->lock);
	WRITE_ONCE(ka_q_ready, true);
	dir = debugfs_lookup("ka", NULL);
	if (dir) {
		debugfs_create_file("quarantine", 0444, dir, NULL, &ka_q_fops);
		dput(dir);
	}
	pr_info("generic KASAN kernel - redzones behind objects, a quarantine of up to %zu MiB, allocation and free stacks\n",
		(ka_q_max + pcpu) >> 20);
	return 0;
}

/**
 * ka_kasan_exit - empty the quarantine, remove the probe
 *
 * Context: module exit, once no client is left and the RCU-deferred frees
 * are done, before the caches and the heaps are torn down.
 */
void ka_kasan_exit(void)
{
	struct ka_qbatch *b, *tmp;

	if (ka_q_ready) {
		ka_kasan_drain();
		WRITE_ONCE(ka_q_ready, false);
		list_for_each_entry_safe(b, tmp, &ka_q_spare, list)
			kfree(b);
		INIT_LIST_HEAD(&ka_q_spare);
		ka_q_nr_spare = 0;
		free_percpu(ka_qcpu);
	}
	unregister_trace_error_report_end(ka_kasan_report_probe, NULL);
	tracepoint_synchronize_unregister();
}
