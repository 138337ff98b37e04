// SPDX-License-Identifier: GPL-2.0
/*
 * ka caches: ka_cache_create() and friends (include/ka.h), what
 * include/ka_redirect.h maps kmem_cache_create() and kmem_cache_alloc() on.
 *
 * A cache is a size class's machinery parameterised by a pointer: its own
 * central list per node (struct ka_mcentral, mcentral.c) whose spans only it
 * uses, and its own per-CPU magazine (struct ka_magazine, mcache.h), owned
 * through the same per-CPU lock as the size classes' magazines.  Objects
 * are slots of the smallest class that fits the size at the alignment
 * asked for.  The constructor runs once per object, when mcentral carves a
 * new span for the cache (its carve hook), as SLUB runs it when it builds
 * a slab: an object comes back from the cache in the state it was freed
 * in.  So a cache with a constructor has no double-free tag in its objects
 * and skips init_on_alloc/init_on_free, as SLUB does; one without keeps the
 * tag (api.c, "Double-free tags").
 *
 * SLAB_TYPESAFE_BY_RCU, as SLUB gives it: a freed object may be handed out
 * again at once, by the same cache, and nothing of ka's is written into it
 * (no tag, no KASAN poison or quarantine, no init_on_free); a span of such
 * a cache that empties and leaves the cache waits an RCU grace period
 * before its pages go back to the heap (ka_span.rcu_free, span.c), so a
 * reader under rcu_read_lock() that still holds a pointer to a freed
 * object reads memory of this cache's type, never a page another cache,
 * class or the buddy allocator got meanwhile.  Double frees are caught by
 * the span's bitmap once the object left the magazine.  On generic KASAN
 * with the quarantine on, a free is deferred by a grace period and the
 * object poisoned then, as SLUB_RCU_DEBUG does (kasan.c).
 *
 * Generic KASAN (kasan.c, below this file): a cache's free gives the
 * quarantine the cache's slab flags (ka_kasan_quarantine()), a new span
 * its objects' size (ka_kasan_cache_span()), a destroyed cache its flags;
 * an object leaves the quarantine through api.c's ka_free_evict(), which
 * sends a cache's to ka_cache_free_evict().  The mempool calls of
 * include/ka_redirect.h (ka_mempool_kasan_*()) are here, beside
 * ka_mempool_alloc() and ka_mempool_free(), which tell a pool of a cache.
 *
 * A module built with include/ka_redirect.h calls these functions for
 * every struct kmem_cache it names, the kernel's own included (__getname()
 * is kmem_cache_alloc(names_cachep, ...)): a cache whose first word is not
 * KA_CACHE_MAGIC is the kernel's, and the call goes to SLUB.
 *
 * A cache's share of a CPU (its magazine, and the spans the CPU owns for
 * it: struct ka_mcache_share, mcache.h) is mcache.c's and handled like a
 * size class's, by the same code (ka_mcache_refill_cache(),
 * ka_mcache_free_local()): its magazine's capacity is charged to the CPU's
 * byte budget once the CPU uses the cache (it grows by its misses, as a
 * class's magazine does), its empty stashed spans too; the periodic trim
 * gives an idle cache's share back, and any cache's when the CPU is over
 * budget; drain, the shrinker and CPU offline give every share back;
 * refills are shuffled (random_reuse); its counters are in ka's totals
 * (debugfs "stats"), alive or destroyed.
 *
 * Debug mode (ka.ko debug=1) covers caches: live bits refuse double
 * frees, redzones behind the size asked for, and for a cache whose free
 * objects do not keep their contents, poison (as SLUB's SLAB_POISON skips
 * caches with a constructor or SLAB_TYPESAFE_BY_RCU).
 *
 * Heap profile (profile.c): a cache's allocations are sampled as
 * ka_alloc()'s (same rate, same per-CPU count-down, in the hooks block
 * behind ka_cache_alloc_hooks_key, which sampling turns on: nothing more on
 * the hit path while off), and recorded under the cache's name,
 * which profile.c copies (ka_prof_sample_cache()).  A span with live
 * samples has ckey 0 (profile.c sets it, ka_owned_set() leaves it): their
 * frees take ka_cache_free_slow(), which tells ka_prof_free().
 *
 * What a cache does not do: memory cgroup accounting (SLAB_ACCOUNT is
 * accepted with a warning at creation: no exported kernel function charges
 * a module's objects to a cgroup on 6.1 or 6.12).
 *
 * Owns: struct ka_cache, its central lists and magazines, the list of
 * caches.  Its per-CPU part (struct ka_mcache_share, mcache.h) is
 * registered with mcache.c, whose per-CPU works (drain, trim, CPU
 * offline) walk the shares, never this file's list.
 * Locks: ka_cache_mutex (create, destroy, debugfs "caches") is taken
 * alone, in process context; ka_cache_list_lock (the list of caches)
 * inside it to change the list, and alone by the statistics and the
 * shrinker, which take each cache's central->lock inside it; mcache.c's
 * ka_share_lock inside the mutex to register a share.  The hit paths own
 * this CPU's magazines with ka_mcache_trylock(ka_mcache), as api.c does;
 * flushes take the cache's central->lock inside it, and a refill takes its
 * batch before owning them, as for a size class.  Destroy has each online CPU give its share
 * back owning its magazines (ka_mcache_give_cache_all(), before the
 * mutex), as SLUB flushes each CPU's slab; the cache has no user left then
 * (kmem_cache_destroy()'s contract).
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/kmemleak.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/seq_file.h>
#include "ka_debug.h"
#include "ka_kasan.h"
#include "mcache.h"
#include "profile.h"

/*
 * The first word of every ka_cache.  A module built with ka_redirect.h sees
 * the kernel's own caches (names_cachep behind __getname(), ...) as
 * struct ka_cache too; their first word is SLUB's per-CPU pointer, never
 * this, and their calls go to the kernel's kmem_cache functions.
 */
#define KA_CACHE_MAGIC	0x6568636163616bUL	/* "kacache" */

struct ka_cache {
	unsigned long magic;		/* KA_CACHE_MAGIC */
	struct list_head list;		/* ka_caches */
	const char *name;		/* a copy */
	unsigned int size;		/* bytes asked for */
	unsigned int objsize;		/* slot: its class's size */
	unsigned int align;
	unsigned int cls;
	slab_flags_t flags;
	void (*ctor)(void *obj);
	/*
	 * @keep: a free object keeps its contents (a constructor, or
	 * SLAB_TYPESAFE_BY_RCU): no init_on_alloc/free, no debug poison.
	 * @notag: no double-free tag in free objects: @keep, or debug mode
	 * (its live bits and poison instead).
	 */
	bool keep;
	bool notag;
	bool dead;			/* destroyed with objects still out */
	/* per CPU a magazine and spans, for mcache.c (registered there) */
	struct ka_mcache_share share;
	struct ka_mcentral *central[];	/* per node; NULL where no heap */
};

static LIST_HEAD(ka_caches);
/*
 * Taken with ka_cache_mutex to change ka_caches, and alone by the walks of
 * the statistics and the shrinker, which cannot take the mutex.
 */
static DEFINE_SPINLOCK(ka_cache_list_lock);

/* Is @c one of ka's caches, or a kernel kmem_cache seen as one? */
static __always_inline bool ka_cache_is_ka(const struct ka_cache *c)
{
	return likely(READ_ONCE(c->magic) == KA_CACHE_MAGIC);
}
static DEFINE_MUTEX(ka_cache_mutex);

static __always_inline bool ka_cache_is_rcu(const struct ka_cache *c)
{
	return c->flags & SLAB_TYPESAFE_BY_RCU;
}

/**
 * ka_cache_rcu - is @c SLAB_TYPESAFE_BY_RCU?
 * @c: one of ka's caches
 *
 * Its freed objects may be read by RCU readers until they are reused in
 * the cache: no poison, no quarantine, no tag; its spans go back to the
 * heap a grace period after they emptied (span.c, ka_span_destroy()).
 *
 * Context: any.
 */
bool ka_cache_rcu(const struct ka_cache *c)
{
	return ka_cache_is_rcu(c);
}

/*
 * mcentral's carve hook: a new span of @c's cache, not yet on any list:
 * mark it the cache's (its frees skip ka_free()'s hit path: fastkey 0) and
 * construct every object.  Context: refill, no ka lock held.
 */
static void ka_cache_carve(struct ka_mcentral *c, struct ka_span *span)
{
	struct ka_cache *cache = c->cache;
	unsigned int i;

	span->central = c;
	span->cache = cache;
	/* ka_free() pushes none of it: ka_cache_free() has its own key */
	WRITE_ONCE(span->fastkey, 0);
	WRITE_ONCE(span->ckey, 0);
	/* SLAB_TYPESAFE_BY_RCU: its pages wait a grace period once it empties */
	span->rcu_free = ka_cache_is_rcu(cache);
	/* generic KASAN: the bytes a client may use of each object */
	ka_kasan_cache_span(span, cache->size);
	if (!cache->ctor)
		return;
	for (i = 0; i < span->nelems; i++) {
		void *p = span->base + i * span->elemsize;

		/* KASAN: the ctor may touch the object; free again after */
		if (IS_ENABLED(CONFIG_KASAN_GENERIC))
			ka_hooks_shadow_new(p, cache->size, span->elemsize);
		cache->ctor(p);
		ka_sys_poison(p, span->elemsize, KA_KASAN_SLAB_FREE);
	}
}

/* ---- for the tests ---- */

/* @c's per-CPU magazine (ka_cache_cpu.mag). */
struct ka_magazine __percpu *ka_cache_mag(struct ka_cache *c)
{
	return &c->share.pcpu->mag;
}
KA_EXPORT_INTERNAL(ka_cache_mag);

/* CPU @cpu's spans of @c. */
struct ka_owned *ka_cache_owned(struct ka_cache *c, int cpu)
{
	return &per_cpu_ptr(c->share.pcpu, cpu)->owned;
}
KA_EXPORT_INTERNAL(ka_cache_owned);

unsigned int ka_cache_cls(const struct ka_cache *c)
{
	return c->cls;
}
KA_EXPORT_INTERNAL(ka_cache_cls);

/* The class for @size bytes at @align: the smallest whose slots keep it. */
static unsigned int ka_cache_class(unsigned int size, unsigned int align)
{
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++)
		if (ka_classes[cls].size >= size &&
		    !(ka_classes[cls].size & (align - 1)))
			return cls;
	return 0;
}

/*
 * The counters of the caches freed since load, so that ka's totals
 * (ka_cache_counters_add()) do not go back when a cache goes.
 * ka_cache_list_lock.
 */
static struct ka_counters ka_cache_retired;

/* Add @c's per-CPU counters to @sum.  Context: ka_cache_list_lock held. */
static void ka_cache_counters_one(struct ka_cache *c, struct ka_counters *sum)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct ka_magazine *m = &per_cpu_ptr(c->share.pcpu, cpu)->mag;

		sum->allocs += READ_ONCE(m->nr_alloc);
		sum->frees += READ_ONCE(m->nr_free);
		sum->hits += READ_ONCE(m->nr_alloc) - READ_ONCE(m->nr_miss);
		sum->refills += READ_ONCE(m->nr_refill);
		sum->flushes += READ_ONCE(m->nr_flush);
	}
}

/**
 * ka_cache_counters_add - add every cache's counters to ka's totals
 * @sum: the totals (debugfs "stats"): allocs, frees, hits, refills and
 *	 flushes of the caches alive and of those destroyed since load
 *
 * Context: any but hard irq; takes ka_cache_list_lock.
 */
void ka_cache_counters_add(struct ka_counters *sum)
{
	struct ka_cache *c;

	spin_lock(&ka_cache_list_lock);
	sum->allocs += ka_cache_retired.allocs;
	sum->frees += ka_cache_retired.frees;
	sum->hits += ka_cache_retired.hits;
	sum->refills += ka_cache_retired.refills;
	sum->flushes += ka_cache_retired.flushes;
	list_for_each_entry(c, &ka_caches, list)
		ka_cache_counters_one(c, sum);
	spin_unlock(&ka_cache_list_lock);
}

/**
 * ka_cache_cpu_cached - bytes the caches keep on one CPU for no client
 * @cpu: the CPU
 *
 * Objects in its magazines of the caches, and the empty spans it stashes
 * for them: the caches' part of debugfs "stats"' cached_bytes, and of the
 * shrinker's count.
 *
 * Context: any but hard irq; takes ka_cache_list_lock.  A snapshot.
 */
unsigned long ka_cache_cpu_cached(int cpu)
{
	unsigned long bytes = 0;
	struct ka_cache *c;

	spin_lock(&ka_cache_list_lock);
	list_for_each_entry(c, &ka_caches, list) {
		struct ka_cache_cpu *cc = per_cpu_ptr(c->share.pcpu, cpu);

		bytes += (unsigned long)ka_mag_count(&cc->mag) * c->objsize +
			 ((unsigned long)READ_ONCE(cc->owned.nstash) *
			  ka_classes[c->cls].npages << PAGE_SHIFT);
	}
	spin_unlock(&ka_cache_list_lock);
	return bytes;
}

/**
 * ka_cache_empty_pages - pages of the caches' empty spans on central lists
 *
 * For the shrinker's count: ka_cache_release() gives them back.
 *
 * Context: any but hard irq; takes ka_cache_list_lock.  A snapshot.
 */
unsigned long ka_cache_empty_pages(void)
{
	unsigned long pages = 0;
	struct ka_cache *c;
	int node;

	spin_lock(&ka_cache_list_lock);
	list_for_each_entry(c, &ka_caches, list)
		for (node = 0; node < nr_node_ids; node++)
			if (c->central[node])
				pages += READ_ONCE(c->central[node]->nr_empty) *
					 ka_classes[c->cls].npages;
	spin_unlock(&ka_cache_list_lock);
	return pages;
}

static void ka_cache_free_struct(struct ka_cache *c)
{
	int cpu, node;

	if (c->share.pcpu) {
		spin_lock(&ka_cache_list_lock);
		ka_cache_counters_one(c, &ka_cache_retired);
		spin_unlock(&ka_cache_list_lock);
		for_each_possible_cpu(cpu)
			kvfree(per_cpu_ptr(c->share.pcpu, cpu)->mag.objs);
	}
	free_percpu(c->share.pcpu);
	for (node = 0; node < nr_node_ids; node++)
		kfree(c->central[node]);
	kfree(c->name);
	kfree(c);
}

/* Is a live cache called @name?  Context: ka_cache_mutex held. */
static bool ka_cache_name_used(const char *name)
{
	struct ka_cache *c;

	list_for_each_entry(c, &ka_caches, list)
		if (!c->dead && !strcmp(c->name, name))
			return true;
	return false;
}

static struct ka_cache *ka_cache_refuse(const char *name, const char *why,
					slab_flags_t flags)
{
	pr_err("cache %s refused: %s\n", name ?: "(null)", why);
	if (flags & SLAB_PANIC)
		panic(pr_fmt("cannot create cache %s\n"), name ?: "(null)");
	return NULL;
}

/*
 * A cache of @size-byte objects in slots of class @cls at @align: the
 * structure, its magazines and central lists, on the list of caches.
 */
static struct ka_cache *ka_cache_new(const char *name, unsigned int size,
				     unsigned int align, unsigned int cls,
				     slab_flags_t flags, void (*ctor)(void *))
{
	struct ka_cache *c;
	unsigned int slots;
	int cpu, node;

	c = kzalloc(struct_size(c, central, nr_node_ids), GFP_KERNEL);
	if (!c)
		return ka_cache_refuse(name, "out of memory", flags);
	c->magic = KA_CACHE_MAGIC;
	c->name = kstrdup(name, GFP_KERNEL);
	c->size = size;
	c->objsize = ka_classes[cls].size;
	c->align = align;
	c->cls = cls;
	c->flags = flags;
	c->ctor = ctor;
	c->keep = ctor || (flags & SLAB_TYPESAFE_BY_RCU);
	c->notag = c->keep || ka_debug_on();
	c->share.pcpu = alloc_percpu(struct ka_cache_cpu);
	c->share.central = c->central;
	INIT_LIST_HEAD(&c->share.list);
	c->share.cls = cls;
	if (!c->name || !c->share.pcpu)
		goto nomem;
	slots = ka_classes[cls].cache_max;
	for_each_possible_cpu(cpu) {
		struct ka_cache_cpu *cc = per_cpu_ptr(c->share.pcpu, cpu);
		struct ka_magazine *m = &cc->mag;

		m->objs = kvcalloc(slots, sizeof(void *), GFP_KERNEL);
		if (!m->objs)
			goto nomem;
		m->top = m->objs;
		/* capacity once the CPU uses it (mcache.c) */
		m->end = m->objs;
		INIT_LIST_HEAD(&cc->owned.partial);
		INIT_LIST_HEAD(&cc->owned.full);
		INIT_LIST_HEAD(&cc->owned.stash);
		init_llist_head(&cc->owned.pending);
	}
	for (node = 0; node < nr_node_ids; node++) {
		if (!ka_nodes[node])
			continue;
		c->central[node] = kzalloc_node(sizeof(struct ka_mcentral),
						GFP_KERNEL, node);
		if (!c->central[node])
			goto nomem;
		ka_mcentral_init(c->central[node], cls, node);
		c->central[node]->cache = c;
		c->central[node]->share = &c->share;
		c->central[node]->carve = ka_cache_carve;
	}
	mutex_lock(&ka_cache_mutex);
	if (ka_cache_name_used(name)) {
		mutex_unlock(&ka_cache_mutex);
		ka_cache_free_struct(c);
		return ka_cache_refuse(name, "a live ka cache has this name", flags);
	}
	spin_lock(&ka_cache_list_lock);
	list_add_tail(&c->list, &ka_caches);
	spin_unlock(&ka_cache_list_lock);
	ka_mcache_share_add(&c->share);
	mutex_unlock(&ka_cache_mutex);
	return c;
nomem:
	ka_cache_free_struct(c);
	return ka_cache_refuse(name, "out of memory", flags);
}

/**
 * ka_cache_create - create a cache of objects of one size
 * @name: its name, unique among ka's live caches (copied)
 * @size: bytes per object, 1 .. KA_MAX_SMALL_SIZE
 * @align: alignment wanted (0, or a power of two up to PAGE_SIZE)
 * @flags: SLAB_* flags of <linux/slab.h>; see include/ka.h for those
 *	   accepted; SLAB_HWCACHE_ALIGN aligns to a cache line as SLUB does
 * @ctor: run once on each object when its span is carved, or NULL
 *
 * With SLAB_TYPESAFE_BY_RCU a freed object may be reused at once, by the
 * cache, as with SLUB; the cache's memory (a span) goes back to the heap,
 * where another cache or class could get it, only an RCU grace period
 * after its last object was freed and the span given back.  A reader
 * under rcu_read_lock() that holds a pointer to an object freed meanwhile
 * reads an object of this cache (maybe reused: it must check, as with
 * SLUB), never another cache's object or a freed page.  Nothing of ka's is
 * written into such an object on free (no tag, no poison, no init_on_free);
 * on generic KASAN it is poisoned a grace period after its free (kasan.c).
 *
 * What ka cannot give (a flag it does not honour, an alignment no class
 * keeps, a size above its largest class, a name in use) is
 * refused with a message naming the reason; with SLAB_PANIC the refusal
 * panics, as kmem_cache_create() would.
 *
 * Context: process context, may sleep.
 * Return: the cache, or NULL.
 */
struct ka_cache *ka_cache_create(const char *name, unsigned int size,
				 unsigned int align, slab_flags_t flags,
				 void (*ctor)(void *))
{
	unsigned int cls;

	if (!name)
		return ka_cache_refuse(name, "no name", flags);
	if (flags & ~KA_CACHE_FLAGS) {
		pr_err("cache %s refused: flags %#lx not supported (supported: %#lx)\n",
		       name, (unsigned long)(flags & ~KA_CACHE_FLAGS),
		       (unsigned long)KA_CACHE_FLAGS);
		return ka_cache_refuse(name, "unsupported flags", flags);
	}
	if (!size || size > KA_MAX_SMALL_SIZE)
		return ka_cache_refuse(name, "object size 0 or above KA_MAX_SMALL_SIZE", flags);
	if (align && (!is_power_of_2(align) || align > PAGE_SIZE))
		return ka_cache_refuse(name, "alignment not a power of two up to PAGE_SIZE", flags);
	/*
	 * Memory cgroups: 6.1 and 6.12 export nothing that charges a
	 * module's objects to one (obj_cgroup_charge(),
	 * __memcg_kmem_charge_page(), the slab post-alloc hooks are not
	 * exported; alloc_pages(__GFP_ACCOUNT) charges whole pages to the
	 * allocating task's cgroup, and a span's pages serve every task).
	 * Accepted, so that the file systems that ask for it load, and said.
	 */
	if (flags & SLAB_ACCOUNT)
		pr_warn("cache %s: SLAB_ACCOUNT accepted, but its objects are charged to no memory cgroup (no exported kernel function charges a module's objects)\n",
			name);
	/* SLUB's calculate_alignment() */
	if (flags & SLAB_HWCACHE_ALIGN) {
		unsigned int ralign = cache_line_size();

		while (size <= ralign / 2)
			ralign /= 2;
		align = max(align, ralign);
	}
	align = max_t(unsigned int, align, sizeof(void *));
	/* generic KASAN: a redzone behind each object (kasan.c) */
	cls = ka_cache_class(ka_kasan_cache_size(ALIGN(size, align)), align);
	if (!cls)
		return ka_cache_refuse(name, "no size class keeps this size at this alignment", flags);
	return ka_cache_new(name, size, align, cls, flags, ctor);
}
EXPORT_SYMBOL_GPL(ka_cache_create);

/**
 * ka_cache_create_class - create a cache whose slots are size class @cls's
 * @name: its name, unique among ka's live caches (copied)
 * @size: bytes per object, at most the class's size: the largest request
 *	  ka_alloc() serves from @cls (on generic KASAN the rest of the slot
 *	  is a redzone, as for ka_alloc()'s objects)
 * @cls: the size class
 * @flags: SLAB_* flags, as for ka_cache_create() (SLAB_HWCACHE_ALIGN
 *	   excepted: the slot is the class's); SLAB_ACCOUNT without a word
 * @ctor: run once on each object when its span is carved, or NULL
 *
 * A bucket set's cache (buckets.c): its own spans, and slots of the class
 * ka_alloc() would use for the same request.
 *
 * Context: process context, may sleep.
 * Return: the cache, or NULL (refused with a message).
 */
struct ka_cache *ka_cache_create_class(const char *name, unsigned int size,
				       unsigned int cls, slab_flags_t flags,
				       void (*ctor)(void *))
{
	if (!name)
		return ka_cache_refuse(name, "no name", flags);
	if (flags & (~KA_CACHE_FLAGS | SLAB_HWCACHE_ALIGN))
		return ka_cache_refuse(name, "unsupported flags", flags);
	if (!cls || cls >= ka_nr_classes || !size || size > ka_classes[cls].size)
		return ka_cache_refuse(name, "no such size class", flags);
	return ka_cache_new(name, size, sizeof(void *), cls, flags, ctor);
}

/* Objects held by the cache's magazines (a snapshot). */
static unsigned long ka_cache_cached(struct ka_cache *c)
{
	unsigned long n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += ka_mag_count(&per_cpu_ptr(c->share.pcpu, cpu)->mag);
	return n;
}

/* Objects out of the cache's spans, and its spans' bytes (a snapshot). */
static unsigned long ka_cache_out(struct ka_cache *c, unsigned long *bytes)
{
	unsigned long out = 0, spans = 0, flags;
	struct ka_span *span;
	int node;

	for (node = 0; node < nr_node_ids; node++) {
		struct ka_mcentral *ce = c->central[node];

		if (!ce)
			continue;
		spin_lock_irqsave(&ce->lock, flags);
		out += ce->objs_out;
		spans += ce->nr_partial + ce->nr_full + ce->nr_owned;
		/* spans CPUs own: their owners' counts, a snapshot */
		list_for_each_entry(span, &ce->owned, list)
			out += READ_ONCE(span->nalloc);
		spin_unlock_irqrestore(&ce->lock, flags);
	}
	if (bytes)
		*bytes = spans * ka_classes[c->cls].npages * PAGE_SIZE;
	return out;
}

/**
 * ka_cache_destroy - destroy a cache
 * @c: the cache, or NULL
 *
 * The cache's magazines go back to its spans and its empty spans to the
 * heap.  If objects are still out, they are reported ("objects remaining",
 * as SLUB reports them) and the cache stays, marked destroyed, with the
 * memory under them: frees of them still work, its name may be used again,
 * and a later ka_cache_destroy() of it, once they are back, frees it.
 *
 * Context: process context, may sleep; no one may use @c any more.
 */
void ka_cache_destroy(struct ka_cache *c)
{
	unsigned long out;
	int node;

	if (!c)
		return;
	if (unlikely(!ka_cache_is_ka(c))) {
		pr_err("%s() of a kernel kmem_cache refused (caller %pS)\n",
		       __func__, (void *)_RET_IP_);
		return;
	}
	/* generic KASAN: its objects waiting in the quarantine go back first */
	ka_kasan_cache_destroy(c, c->flags);
	/* each CPU's share, by that CPU, its capacity back to its budget */
	ka_mcache_give_cache_all(&c->share);
	mutex_lock(&ka_cache_mutex);
	/* no CPU's work walks it from here on */
	ka_mcache_share_del(&c->share);
	spin_lock(&ka_cache_list_lock);
	list_del_init(&c->list);
	spin_unlock(&ka_cache_list_lock);
	for (node = 0; node < nr_node_ids; node++)
		if (c->central[node])
			ka_mcentral_release(c->central[node], 0);
	out = ka_cache_out(c, NULL);
	if (out) {
		c->dead = true;
		/* kept, for ka_cache_show() and module exit */
		spin_lock(&ka_cache_list_lock);
		list_add_tail(&c->list, &ka_caches);
		spin_unlock(&ka_cache_list_lock);
		ka_mcache_share_add(&c->share);
		mutex_unlock(&ka_cache_mutex);
		pr_err("cache %s destroyed with %lu objects remaining: the cache and their memory stay (caller %pS)\n",
		       c->name, out, (void *)_RET_IP_);
		return;
	}
	mutex_unlock(&ka_cache_mutex);
	ka_cache_free_struct(c);
}
EXPORT_SYMBOL_GPL(ka_cache_destroy);

/**
 * ka_cache_tagged - do @c's free objects carry the double-free tag?
 * @c: a cache
 *
 * Not with a constructor: a free object keeps its constructed state.
 *
 * Context: any.
 */
bool ka_cache_tagged(const struct ka_cache *c)
{
	return !c->notag;
}

/**
 * ka_cache_holds - is @p in one of @c's per-CPU magazines? (ka_mag_holds())
 * @c: a cache
 * @p: an object of it
 *
 * Context: any; @c not being destroyed.
 */
bool ka_cache_holds(const struct ka_cache *c, const void *p)
{
	return ka_mag_holds(&c->share.pcpu->mag, p);
}

/**
 * ka_cache_leak_traced - are @c's objects registered with kmemleak?
 * @c: a cache
 *
 * Context: any.
 */
bool ka_cache_leak_traced(const struct ka_cache *c)
{
	return ka_hooks_always() && !(c->flags & SLAB_NOLEAKTRACE);
}

/*
 * The hooks after an object left the cache (on while any is on: hooks.c),
 * or a __GFP_ZERO request: debug mode, init_on_alloc and __GFP_ZERO,
 * kmemleak, the heap profile's count-down.  @size: the request, resolved
 * (ka_cache_post_alloc()).  Out of line, as ka_alloc_done() (api.c): its
 * calls would make the hit path save registers.
 */
static noinline void *ka_cache_alloc_done(struct ka_cache *c, void *p,
					  gfp_t gfp, int node,
					  unsigned int size,
					  unsigned long caller)
{
	if (ka_debug_on())
		ka_debug_alloc_obj(p, size, caller, !c->keep);
	if (!c->ctor && ((gfp & __GFP_ZERO) ||
			 (!c->keep && want_init_on_alloc(gfp)))) {
		/* debug mode: its redzone begins at @size */
		kasan_disable_current();
		memset(p, 0, ka_debug_on() ? size : c->size);
		kasan_enable_current();
	}
	if (ka_cache_leak_traced(c))
		kmemleak_alloc(p, size, 1, gfp);
	if (ka_prof_tick(size))
		return ka_prof_sample_cache(p, size, node, c->name);
	return p;
}

/*
 * After an object left the cache: the tag, KASAN, then the hooks the size
 * classes have too, out of line (ka_cache_alloc_done()).  @size is the
 * request of a bucket set's allocation (ka_cache_alloc_size()), or 0: the
 * cache's object size.  A request smaller than the object is what KASAN
 * and debug mode let the client use; __GFP_ZERO and init_on_alloc clear
 * the whole object, as ka_alloc() and kmalloc() do.  @caller: the API's.
 */
static __always_inline void *ka_cache_post_alloc(struct ka_cache *c, void *p,
						 gfp_t gfp, int node,
						 unsigned int size,
						 unsigned long caller)
{
	if (!c->notag)
		ka_word_write(p, 0);	/* its double-free tag */
	if (IS_ENABLED(CONFIG_KASAN_GENERIC))
		ka_kasan_new(p, size ?: c->size, c->objsize);
	/* hooks, or the heap profile's count-down (one key: hooks.c) */
	if (unlikely(static_branch_unlikely(&ka_cache_alloc_hooks_key) ||
		     (gfp & __GFP_ZERO)))
		return ka_cache_alloc_done(c, p, gfp, node, size ?: c->size,
					   caller);
	return p;
}

/*
 * ka_cache_alloc_node() of a node other than the CPU's, or a miss of it:
 * one object from @node's central list of the cache, and no refill of a
 * magazine or an owned span the task may have left by now (as
 * ka_alloc_node()).
 */
static void *ka_cache_alloc_from_node(struct ka_cache *c, gfp_t gfp, int node,
				      unsigned int size, unsigned long caller)
{
	void *p;

	if (unlikely(!ka_mcentral_refill(c->central[node], &p, 1, gfp))) {
		this_cpu_inc(ka_mcache->nr_failed);
		return NULL;
	}
	this_cpu_inc(c->share.pcpu->mag.nr_alloc);
	this_cpu_inc(c->share.pcpu->mag.nr_miss);
	return ka_cache_post_alloc(c, p, gfp, node, size, caller);
}

/*
 * Everything else but a magazine hit: a refill of this CPU's magazine of
 * the cache, as a size class's (ka_mcache_refill_cache(): one
 * implementation, mcache.c): from this CPU's spans for a class whose spans CPUs
 * own, else a batch from this node's central list of the cache.
 */
static void *ka_cache_alloc_slow(struct ka_cache *c, gfp_t gfp,
				 unsigned int size, unsigned long caller)
{
	void *p = ka_mcache_refill_cache(&c->share, gfp);

	if (unlikely(!p)) {
		this_cpu_inc(ka_mcache->nr_failed);
		return NULL;
	}
	return ka_cache_post_alloc(c, p, gfp, NUMA_NO_NODE, size, caller);
}

/* Everything but a magazine hit: refused in atomic context on PREEMPT_RT. */
static noinline void *ka_cache_alloc_miss(struct ka_cache *c, gfp_t gfp,
					  int node, unsigned int size,
					  unsigned long caller)
{
	if (unlikely(!ka_mcache_context_ok())) {
		this_cpu_inc(ka_mcache->nr_atomic);
		this_cpu_inc(ka_mcache->nr_failed);
		return NULL;
	}
	if (node != NUMA_NO_NODE)
		return ka_cache_alloc_from_node(c, gfp, node, size, caller);
	return ka_cache_alloc_slow(c, gfp, size, caller);
}

/*
 * The hit path, as ka_alloc_fast(): pop this CPU's magazine of the cache.
 * With a @node, the CPU's node is compared inside the per-CPU section,
 * where the task cannot migrate; ka_cache_alloc() passes NUMA_NO_NODE, a
 * constant, and folds that away.  @size, @caller: ka_cache_post_alloc()'s.
 */
static __always_inline void *ka_cache_alloc_fast(struct ka_cache *c,
						 gfp_t flags, int node,
						 unsigned int size,
						 unsigned long caller)
{
	struct ka_mcache __percpu *pcpu = ka_mcache;
	/* kept: the unlock's barrier would read c->share.pcpu again */
	struct ka_magazine __percpu *pm;
	void *p;

	if (unlikely(!ka_mcache_context_ok() || !ka_mcache_trylock(pcpu)))
		goto slow;
	if (node != NUMA_NO_NODE && unlikely(node != numa_mem_id())) {
		ka_mcache_unlock(pcpu);
		goto slow;
	}
	pm = &c->share.pcpu->mag;
	if (unlikely(!ka_mag_pop(pm, &p))) {
		ka_mcache_unlock(pcpu);
		goto slow;
	}
	ka_mcache_unlock(pcpu);
	this_cpu_inc(pm->nr_alloc);
	return ka_cache_post_alloc(c, p, flags, node, size, caller);
slow:
	return ka_cache_alloc_miss(c, flags, node, size, caller);
}

/**
 * ka_cache_alloc - allocate an object of a cache
 * @c: the cache
 * @flags: GFP flags, as for ka_alloc(); __GFP_ZERO zeroes the object's
 *	   size (not for a cache with a constructor)
 *
 * Context: as ka_alloc().
 * Return: the object, or NULL.
 */
void *ka_cache_alloc(struct ka_cache *c, gfp_t flags)
{
	if (unlikely(!ka_cache_is_ka(c)))
		return kmem_cache_alloc((struct kmem_cache *)c, flags);
	return ka_cache_alloc_fast(c, flags, NUMA_NO_NODE, 0, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ka_cache_alloc);

/**
 * ka_cache_alloc_node - allocate an object of a cache on a NUMA node
 * @c: the cache
 * @flags: GFP flags, as for ka_cache_alloc()
 * @node: the node, or NUMA_NO_NODE; one without memory, past the last or
 *	  negative is taken as NUMA_NO_NODE, as by ka_alloc_node()
 *
 * The object is of @node's memory whichever CPU the task runs on, before
 * or during the call.
 *
 * Context: as ka_alloc().
 * Return: the object, or NULL.
 */
void *ka_cache_alloc_node(struct ka_cache *c, gfp_t flags, int node)
{
	if (unlikely(!ka_cache_is_ka(c)))
		return kmem_cache_alloc_node((struct kmem_cache *)c, flags,
					     node);
	/* a node with a heap, and so a central list of the cache, or none */
	return ka_cache_alloc_fast(c, flags, ka_node_norm(node), 0,
				   _RET_IP_);
}
EXPORT_SYMBOL_GPL(ka_cache_alloc_node);

/**
 * ka_cache_alloc_size - a request of @size bytes from one of ka's caches
 * @c: one of ka's caches (a bucket set's: buckets.c)
 * @size: bytes requested, 1 .. the cache's object size
 * @flags: GFP flags, as for ka_cache_alloc()
 * @node: the node, or NUMA_NO_NODE, as for ka_cache_alloc_node()
 *
 * As ka_cache_alloc_node(), but KASAN, debug mode's redzone, kmemleak and
 * the heap profile see @size bytes, as kmalloc()'s hooks see a request.
 *
 * Context: as ka_alloc().
 * Return: the object, or NULL.
 */
void *ka_cache_alloc_size(struct ka_cache *c, unsigned int size, gfp_t flags,
			  int node)
{
	return ka_cache_alloc_fast(c, flags, ka_node_norm(node), size,
				   _RET_IP_);
}

/*
 * Checks and hooks before an object goes back: false if it must not (not
 * an object of @c, or its tag says it is already free: reported).  @span:
 * ka_span_lookup(@p) (the dummy span if ka owns none there).
 */
static __always_inline bool ka_cache_pre_free(struct ka_cache *c,
					      struct ka_span *span,
					      const void *p,
					      unsigned long caller)
{
	if (unlikely(span->cache != c)) {
		ka_report_bad_free(p, span->cache ? "object of another ka cache" :
				   "not an object of a ka cache", caller);
		return false;
	}
	if (unlikely(!ka_span_obj_ok(span, p))) {
		ka_report_bad_free(p, "pointer into the middle of an object",
				   caller);
		return false;
	}
	if (ka_debug_on()) {
		/* its live bit: a double free is a debug report */
		if (!ka_debug_free_obj(span, p, caller, !c->keep))
			return false;
	} else if (!c->notag && unlikely(ka_word_read(p) == span->freetag) &&
		   (ka_span_obj_back(span, p) || ka_cache_holds(c, p))) {
		/* the tag confirmed, as ka_obj_free_confirm() (api.c) does */
		ka_report_double_free(p, "double free (the object is already free)",
				      caller);
		return false;
	}
	/*
	 * No tag (a constructor, SLAB_TYPESAFE_BY_RCU): an object back in
	 * its span, or freed into it by another CPU, is free; refused here,
	 * before it is counted, not when the span's owner collects it.  One
	 * in a magazine is not seen (as SLUB without debugging).
	 */
	if (c->notag && !ka_debug_on()) {
		if (unlikely(ka_span_obj_back(span, p))) {
			ka_report_double_free(p, "double free (the object is already free in its span)",
					      caller);
			return false;
		}
	}
	if (unlikely(static_branch_unlikely(&ka_free_hooks_key))) {
		if (ka_cache_leak_traced(c))
			kmemleak_free(p);
		if (!c->keep && want_init_on_free() && !ka_debug_on())
			memset((void *)p, 0, c->size);
	}
	if (!ka_cache_is_rcu(c))
		ka_sys_poison(p, c->objsize, KA_KASAN_SLAB_FREE);
	if (!c->notag)
		ka_word_write((void *)p, span->freetag);
	return true;
}

/*
 * Everything but a push by the hit path, for @p of @span (the caller's
 * ka_span_lookup(), reused by every step: debug, the profile, this CPU's
 * spans, another CPU's, mcentral).
 * Context: as ka_cache_free(), inside the RCU read-side section of the
 * lookup.
 */
static noinline void ka_cache_free_slow(struct ka_cache *c,
					struct ka_span *span, void *p,
					unsigned long caller)
{
	bool owned;

	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	if (unlikely(!ka_mcache_context_ok())) {
		this_cpu_inc(ka_mcache->nr_atomic);
		pr_err_ratelimited("free of %p to cache %s refused: atomic context on PREEMPT_RT, the object stays allocated\n",
				   p, c->name);
		return;
	}
	if (!ka_cache_pre_free(c, span, p, caller))
		return;
	/* a sampled object's span has ckey 0: its frees all come here */
	if (static_branch_unlikely(&ka_prof_free_key))
		ka_prof_free(span, p);
	owned = ka_class_owned(&ka_classes[c->cls]);
	/*
	 * This CPU's span (or, for a class of one object per span, of its
	 * node): into its cache of @c, as ka_free() into a size class's
	 * (ka_mcache_free_local(): an active or full span's object onto the
	 * magazine, a partly used span's into its bitmap, a full magazine
	 * grown or flushed).
	 */
	if (likely(ka_mcache_trylock(ka_mcache))) {
		if (ka_mcache_span_mine(span, owned)) {
			ka_mcache_free_local(&c->share, &c->share.pcpu->mag,
					     c->cls, span, p);
			ka_mcache_unlock(ka_mcache);
			return;
		}
		ka_mcache_unlock(ka_mcache);
	} else {
		this_cpu_inc(ka_mcache->nr_busy);
	}
	/* another CPU's span, another node's, or the magazines busy */
	this_cpu_inc(c->share.pcpu->mag.nr_free);
	if (owned)
		ka_mcache_free_remote(span, p);
	else
		ka_mcentral_flush_span(span, &p, 1);
}

/*
 * ka_cache_free_slow() of a pointer not looked up yet.  Not inlined: its
 * calls (rcu_read_lock()) would make ka_cache_free() keep its arguments in
 * callee-saved registers, pushed and popped on the hit path too.
 */
static noinline void ka_cache_free_lookup(struct ka_cache *c, void *p,
				 unsigned long caller)
{
	if (unlikely(ZERO_OR_NULL_PTR(p)))
		return;
	rcu_read_lock();
	ka_cache_free_slow(c, ka_span_lookup(p), p, caller);
	rcu_read_unlock();
}

#if IS_ENABLED(CONFIG_KASAN_GENERIC)
/**
 * ka_cache_free_evict - an object of @c leaves the quarantine (kasan.c) for
 * the cache's free path, without entering it again
 * @c: its cache
 * @span: the span of @p, as the quarantine looked it up
 * @p: the object, freed by its client
 *
 * The quarantine evicts through api.c's ka_free_evict(), which calls this
 * for a cache's object.
 *
 * Context: as ka_cache_free(), inside the RCU read-side section of the
 * lookup.
 */
void ka_cache_free_evict(struct ka_cache *c, struct ka_span *span, void *p)
{
	ka_cache_free_slow(c, span, p, _RET_IP_);
}
#endif

/*
 * ka_cache_free()'s hit path: an object of this CPU's active span of the
 * cache (its ckey is the CPU's key; no span matches while free hooks are
 * on) onto the cache's magazine, counted.  @span: ka_span_lookup(@p), made
 * in the owned section.  Context: this CPU's magazines owned.
 */
static __always_inline bool ka_cache_free_hit(struct ka_cache *c,
					      struct ka_mcache __percpu *pcpu,
					      struct ka_span *span, void *p)
{
	/* read once: the push's store could alias them */
	struct ka_magazine __percpu *pm = &c->share.pcpu->mag;
	bool notag = c->notag;

	/*
	 * Other CPUs write the key of a span that is not ours (data_race):
	 * only this CPU, owning its magazines, makes it equal to its own.
	 */
	if (likely(data_race(span->ckey) == this_cpu_read(pcpu->fastkey) &&
		   span->cache == c && ka_span_obj_ok(span, p) &&
		   (notag || ka_word_read(p) != span->freetag))) {
		if (!ka_cache_is_rcu(c))
			ka_sys_poison(p, c->objsize, KA_KASAN_SLAB_FREE);
		if (likely(ka_mag_push(pm, p))) {
			if (!notag)
				ka_word_write(p, span->freetag);
			this_cpu_inc(pm->nr_free);
			return true;
		}
	}
	return false;
}

/*
 * ka_cache_free()'s hit path missed: the slow path reuses its lookup
 * @span, kept by an RCU read-side section taken before this CPU's
 * magazines (the caller owns them) are released.
 */
static noinline void ka_cache_free_miss(struct ka_cache *c,
					struct ka_span *span, void *p,
					unsigned long caller)
{
	rcu_read_lock();
	ka_mcache_unlock(ka_mcache);
	ka_cache_free_slow(c, span, p, caller);
	rcu_read_unlock();
}

/**
 * ka_cache_free_span - ka_cache_free() of a pointer already looked up
 * @c: the cache it is freed to
 * @span: ka_span_lookup(@p), made by the caller (ka_free() of a cache's
 *	  object), which holds the RCU read-side section of that lookup
 * @p: the object
 * @caller: the API's caller
 *
 * The quarantine (generic KASAN), the hit path and the slow path, with
 * no other lookup of @p.
 *
 * Context: as ka_cache_free(); inside rcu_read_lock().
 */
void ka_cache_free_span(struct ka_cache *c, struct ka_span *span, void *p,
			unsigned long caller)
{
	struct ka_mcache __percpu *pcpu = ka_mcache;

	if (ka_kasan_quarantine(ka_span_real(span), p, c, c->flags, caller))
		return;
	if (likely(ka_mcache_context_ok() && ka_mcache_trylock(pcpu))) {
		if (likely(ka_cache_free_hit(c, pcpu, span, p))) {
			ka_mcache_unlock(pcpu);
			return;
		}
		ka_mcache_unlock(pcpu);
	}
	ka_cache_free_slow(c, span, p, caller);
}

/**
 * ka_cache_free - give an object back to its cache
 * @c: the cache it came from
 * @p: the object, or NULL
 *
 * A pointer that is not a live object of @c is refused with a rate-limited
 * error, as by ka_free(); so is a second free of an object of a cache
 * without constructor, and any object given with a NULL @c.
 *
 * Context: as ka_free().
 */
void ka_cache_free(struct ka_cache *c, void *p)
{
	struct ka_mcache __percpu *pcpu = ka_mcache;
	struct ka_span *span;

	if (unlikely(!c)) {
		if (!ZERO_OR_NULL_PTR(p))
			ka_report_bad_free(p, "freed to a NULL cache", _RET_IP_);
		return;
	}
	if (unlikely(!ka_cache_is_ka(c))) {
		kmem_cache_free((struct kmem_cache *)c, p);
		return;
	}
	if (IS_ENABLED(CONFIG_KASAN_GENERIC)) {
		/* one lookup for the quarantine and the free */
		if (unlikely(ZERO_OR_NULL_PTR(p)))
			return;
		rcu_read_lock();
		ka_cache_free_span(c, ka_span_lookup(p), p, _RET_IP_);
		rcu_read_unlock();
		return;
	}
	if (unlikely(!ka_mcache_context_ok() || !ka_mcache_trylock(pcpu)))
		goto slow;
	span = ka_span_lookup(p);
	if (likely(ka_cache_free_hit(c, pcpu, span, p))) {
		ka_mcache_unlock(pcpu);
		return;
	}
	/* a tail call, so that the hit path saves no register */
	ka_cache_free_miss(c, span, p, _RET_IP_);
	return;
slow:
	ka_cache_free_lookup(c, p, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ka_cache_free);

/**
 * ka_cache_alloc_bulk - allocate @nr objects of a cache, all or nothing
 * @c: the cache
 * @flags: GFP flags, as for ka_cache_alloc()
 * @nr: how many
 * @p: array of @nr slots
 *
 * Context: as ka_alloc().
 * Return: @nr, or 0 (nothing held); 0 for an @nr above INT_MAX.
 */
int ka_cache_alloc_bulk(struct ka_cache *c, gfp_t flags, size_t nr, void **p)
{
	size_t i;

	if (unlikely(nr > INT_MAX))
		return 0;

	for (i = 0; i < nr; i++) {
		p[i] = ka_cache_alloc(c, flags);
		if (unlikely(!p[i])) {
			ka_cache_free_bulk(c, i, p);
			return 0;
		}
	}
	return nr;
}
EXPORT_SYMBOL_GPL(ka_cache_alloc_bulk);

/**
 * ka_cache_free_bulk - free @nr objects of a cache
 * @c: the cache
 * @nr: how many
 * @p: the objects; NULL entries are skipped
 *
 * Context: as ka_free().
 */
void ka_cache_free_bulk(struct ka_cache *c, size_t nr, void **p)
{
	size_t i;

	for (i = 0; i < nr; i++)
		ka_cache_free(c, p[i]);
}
EXPORT_SYMBOL_GPL(ka_cache_free_bulk);

/**
 * ka_mempool_alloc - a mempool_alloc_t for a pool of a cache's objects
 * @flags: GFP flags, as for ka_cache_alloc()
 * @cache: the struct ka_cache (the pool's data)
 *
 * What include/ka_redirect.h gives mempool_init_slab_pool() and
 * mempool_create_slab_pool() in place of the kernel's mempool_alloc_slab(),
 * which would take a ka_cache for a kmem_cache.
 *
 * Context: as ka_cache_alloc().
 * Return: the object, or NULL.
 */
void *ka_mempool_alloc(gfp_t flags, void *cache)
{
	return ka_cache_alloc(cache, flags);
}
EXPORT_SYMBOL_GPL(ka_mempool_alloc);

/**
 * ka_mempool_free - a mempool_free_t for a pool of a cache's objects
 * @p: the object
 * @cache: the struct ka_cache (the pool's data)
 *
 * Context: as ka_cache_free().
 */
void ka_mempool_free(void *p, void *cache)
{
	/* generic KASAN: an element of the reserve is a live object again */
	ka_kasan_unreserve(p);
	ka_cache_free(cache, p);
}
EXPORT_SYMBOL_GPL(ka_mempool_free);

#if IS_ENABLED(CONFIG_KASAN_GENERIC)
#include <linux/mempool.h>

/* Is @pool one of ka_redirect.h's, of a ka_cache's objects? */
static bool ka_mempool_ours(const mempool_t *pool)
{
	return pool->alloc == ka_mempool_alloc;
}

/**
 * ka_mempool_kasan_put - an element goes back to a mempool of a ka_cache
 * @p: the element, or NULL
 * @pool: the pool
 *
 * What the kernel's mempool does for its own slab pools
 * (kasan_poison_element()) and cannot do for a ka_cache's: the element is
 * checked - the middle of an object, another cache's, already free or in
 * the reserve: refused with a report - and poisoned (ka_kasan_reserve()),
 * before mempool_free() puts it in the pool's reserve (ka_mempool_free()
 * makes it live again if mempool_free() frees it instead).
 * include/ka_redirect.h's mempool_free() calls this first.  A pool of
 * another kind, or an element that is not ka's (of a kernel cache), is
 * left to mempool_free().
 *
 * Context: as mempool_free().
 * Return: false if @p was refused: it must not reach mempool_free().
 */
bool ka_mempool_kasan_put(void *p, mempool_t *pool)
{
	if (!p || !ka_mempool_ours(pool))
		return true;
	return ka_kasan_reserve(p, pool->pool_data, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ka_mempool_kasan_put);

/**
 * ka_mempool_kasan_take - an element came out of mempool_alloc()
 * @p: the element, or NULL
 * @pool: the pool
 *
 * An element of a ka_cache's pool that comes from the reserve is made
 * accessible again (the kernel's kasan_unpoison_element()); one
 * ka_mempool_alloc() just allocated is left as it is.
 *
 * Context: as mempool_alloc().
 * Return: @p.
 */
void *ka_mempool_kasan_take(void *p, mempool_t *pool)
{
	if (p && ka_mempool_ours(pool))
		ka_kasan_unreserve(p);
	return p;
}
EXPORT_SYMBOL_GPL(ka_mempool_kasan_take);

/**
 * ka_mempool_kasan_fill - poison the elements a mempool of a ka_cache
 * reserved by itself
 * @pool: the pool, just created, initialised or resized
 *
 * The elements mempool_init() and mempool_resize() allocate go into the
 * reserve without passing mempool_free(); as in the kernel's own slab
 * pools, they are poisoned there too (ka_kasan_reserve_fill()).
 *
 * Context: process context (as mempool_resize()).
 */
void ka_mempool_kasan_fill(mempool_t *pool)
{
	if (ka_mempool_ours(pool))
		ka_kasan_reserve_fill(pool);
}
EXPORT_SYMBOL_GPL(ka_mempool_kasan_fill);
#endif

/**
 * ka_cache_size - the object size a cache was created with
 * @c: the cache
 *
 * Context: any.
 * Return: the size in bytes.
 */
unsigned int ka_cache_size(const struct ka_cache *c)
{
	if (unlikely(!ka_cache_is_ka(c)))
		return kmem_cache_size((struct kmem_cache *)c);
	return c->size;
}
EXPORT_SYMBOL_GPL(ka_cache_size);

/**
 * ka_cache_name - the name a cache was created with
 * @c: the cache
 *
 * Context: any.
 * Return: the name.
 */
const char *ka_cache_name(const struct ka_cache *c)
{
	if (unlikely(!ka_cache_is_ka(c)))
		return "(a kernel kmem_cache)";
	return c->name;
}
EXPORT_SYMBOL_GPL(ka_cache_name);

/**
 * ka_cache_show - debugfs "caches": one line per cache
 * @m: the seq_file
 *
 * "name size class slot align active cached bytes ctor flags": the object
 * size asked for, its class and slot size, the alignment, objects held by
 * clients, objects in magazines, the bytes of the cache's spans, whether it
 * has a constructor, its flags; "dead" last for a cache destroyed with
 * objects out.
 *
 * Context: process context.
 */
void ka_cache_show(struct seq_file *m)
{
	struct ka_cache *c;

	seq_puts(m, "# name size class slot align active cached bytes ctor flags\n");
	mutex_lock(&ka_cache_mutex);
	list_for_each_entry(c, &ka_caches, list) {
		unsigned long bytes, out, cached;

		out = ka_cache_out(c, &bytes);
		cached = ka_cache_cached(c);
		seq_printf(m, "%s %u %u %u %u %lu %lu %lu %d %#lx%s\n",
			   c->name, c->size, c->cls, c->objsize, c->align,
			   out > cached ? out - cached : 0, cached, bytes,
			   !!c->ctor, (unsigned long)c->flags,
			   c->dead ? " dead" : "");
	}
	mutex_unlock(&ka_cache_mutex);
}

/**
 * ka_cache_release - give every cache's empty spans back to the heap
 *
 * What ka_release_free() does for the size classes (the shrinker, drain):
 * a cache's central lists keep no reserve then.  A SLAB_TYPESAFE_BY_RCU
 * cache's spans reach the heap after a grace period.
 *
 * Context: process context (the shrinker, drain); takes
 * ka_cache_list_lock and the caches' central locks.
 * Return: pages given back to the heap.
 */
unsigned long ka_cache_release(void)
{
	unsigned long pages = 0;
	struct ka_cache *c;
	int node;

	spin_lock(&ka_cache_list_lock);
	list_for_each_entry(c, &ka_caches, list)
		for (node = 0; node < nr_node_ids; node++)
			if (c->central[node])
				pages += ka_mcentral_release(c->central[node], 0);
	spin_unlock(&ka_cache_list_lock);
	return pages;
}

/**
 * ka_cache_init - nothing to set up but the empty list
 *
 * Context: module init.
 * Return: 0.
 */
int ka_cache_init(void)
{
	return 0;
}

/**
 * ka_cache_exit - free what caches destroyed with objects out still held
 *
 * ka.ko unloads only once every client has: those objects can no longer be
 * freed.  Their spans go back to the heap with a count of them.
 *
 * Context: module exit, before the heaps are torn down.
 */
void ka_cache_exit(void)
{
	struct ka_cache *c, *tmp;
	int node, cpu;

	list_for_each_entry_safe(c, tmp, &ka_caches, list) {
		unsigned long out = 0;

		/* the CPUs' spans of it first: its clients are gone */
		for_each_possible_cpu(cpu)
			while (ka_mcache_give_share(cpu, &c->share, false))
				cpu_relax();
		ka_mcache_share_del(&c->share);
		for (node = 0; node < nr_node_ids; node++) {
			if (!c->central[node])
				continue;
			out += ka_span_teardown_list(&c->central[node]->partial,
						     ka_cache_leak_traced(c));
			out += ka_span_teardown_list(&c->central[node]->full,
						     ka_cache_leak_traced(c));
		}
		pr_warn("unload: cache %s%s held %lu objects\n", c->name,
			c->dead ? " (destroyed with objects out)" :
			" (never destroyed)", out);
		list_del(&c->list);
		ka_cache_free_struct(c);
	}
}
