/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka - a kernel object allocator after the Go runtime's (size classes, spans,
 * per-CPU caches, central lists and a page heap).
 *
 * This is the public interface for client modules.  Build a client against
 * this header and ka's Module.symvers (KBUILD_EXTRA_SYMBOLS); load ka.ko
 * first.  The semantics follow kmalloc()/kfree() wherever a user would expect
 * them to:
 *
 *  - a zero size returns ZERO_SIZE_PTR, which ka_free() accepts;
 *  - objects are at least 8-byte aligned and a power-of-two size up to
 *    PAGE_SIZE is naturally aligned;
 *  - __GFP_ZERO, __GFP_NOWARN and the reclaim bits of @flags are honoured, so
 *    GFP_ATOMIC/GFP_NOWAIT allocations never sleep and may be made from any
 *    context, hard interrupts included (not NMI) - except on PREEMPT_RT,
 *    where, as for kmalloc()/kfree(), ka may not be called from hard irq,
 *    under a raw spinlock or with preemption or interrupts disabled (its
 *    spinlocks sleep there): such a call is refused, not slept in - an
 *    allocation returns NULL, a free leaves the object allocated - and counted
 *    ("atomic_refused" in /sys/kernel/debug/ka/stats) with a rate-limited
 *    error;
 *  - init_on_alloc= and init_on_free= are honoured as for kmalloc (with
 *    init_on_free, ka keeps a tag in the first word of a free object);
 *  - ka_free() refuses, with a rate-limited error, what it did not hand
 *    out and a second free of an object not handed out again since; so do
 *    ka_free_sensitive(), ka_free_rcu(), ka_realloc() and ka_size() (which
 *    then return NULL or 0), before they touch the object;
 *  - the largest object is KA_MAX_SIZE (4 MiB).
 *
 * Unlike Go, ka has no garbage collector and therefore no "tiny" allocator
 * that packs several small objects into one 16-byte block: every object has
 * its own slot, and the smallest class is 8 bytes.
 */
#ifndef _KA_H
#define _KA_H

#include <linux/types.h>
#include <linux/gfp.h>
#include <linux/numa.h>
#include <linux/overflow.h>
#include <linux/export.h>

/* Objects above this size come straight from ka's page heap. */
#define KA_MAX_SMALL_SIZE	32768
/* The largest object ka hands out. */
#define KA_MAX_SIZE		(4UL << 20)

void *ka_alloc(size_t size, gfp_t flags);
void *ka_alloc_node(size_t size, gfp_t flags, int node);
void *ka_realloc(const void *p, size_t new_size, gfp_t flags);
void ka_free(const void *p);
void ka_free_sensitive(const void *p);
size_t ka_size(const void *p);
int ka_alloc_bulk(size_t size, gfp_t flags, size_t nr, void **p);
void ka_free_bulk(size_t nr, void **p);
void ka_free_rcu(const void *p);
bool ka_owns(const void *p);
bool ka_claims(const void *p);
/* include/ka_redirect.h's kfree_rcu() callback (mod/ka/rcu.c) */
void ka_redirect_rcu_free(struct rcu_head *head);

/*
 * ka_cache: a cache of objects of one size, as kmem_cache_create() makes
 * (mod/ka/cache.c).  Its objects live in spans only it uses, so a constructor
 * runs once per object, when its span is carved, and a freed object keeps
 * the state the constructor gave it (a cache with a constructor has no
 * double-free tag in its objects).  @flags are <linux/slab.h>'s SLAB_*:
 * SLAB_HWCACHE_ALIGN, SLAB_ACCOUNT, SLAB_RECLAIM_ACCOUNT, SLAB_PANIC,
 * SLAB_NOLEAKTRACE, SLAB_TYPESAFE_BY_RCU (and SLAB_MEM_SPREAD,
 * SLAB_NO_MERGE where the kernel has them) are accepted; anything else is
 * refused at creation with a message.  SLAB_TYPESAFE_BY_RCU is SLUB's: a
 * freed object may be reused at once by the cache, its memory leaves the
 * cache only an RCU grace period after it was freed (on generic KASAN, as
 * SLUB_RCU_DEBUG: freed a grace period later, then poisoned).  SLAB_ACCOUNT is
 * accepted with a warning: charged to no memory cgroup (the kernel exports
 * no function that charges a module's objects).
 */
struct ka_cache;

struct ka_cache *ka_cache_create(const char *name, unsigned int size,
				 unsigned int align, slab_flags_t flags,
				 void (*ctor)(void *));
void ka_cache_destroy(struct ka_cache *c);
void *ka_cache_alloc(struct ka_cache *c, gfp_t flags);
void *ka_cache_alloc_node(struct ka_cache *c, gfp_t flags, int node);
void ka_cache_free(struct ka_cache *c, void *p);
int ka_cache_alloc_bulk(struct ka_cache *c, gfp_t flags, size_t nr, void **p);
void ka_cache_free_bulk(struct ka_cache *c, size_t nr, void **p);
unsigned int ka_cache_size(const struct ka_cache *c);
size_t ka_ksize(const void *p);	/* ka_size() as this kernel's ksize() */
const char *ka_cache_name(const struct ka_cache *c);
/* a mempool's alloc and free functions for a ka_cache (mempool_alloc_t) */
void *ka_mempool_alloc(gfp_t flags, void *cache);
void ka_mempool_free(void *p, void *cache);

/*
 * ka_buckets: a set of caches for requests of any size, as Linux 6.11's
 * kmem_buckets_create() makes (mod/ka/buckets.c): heap isolation.  A
 * request up to KA_MAX_SMALL_SIZE takes its slot from the set's own cache
 * of the size class ka_alloc() would use, in spans no other cache, set or
 * class shares; a larger one is ka_alloc()'s large object, a span of its
 * own.  Objects are freed with ka_free().  A set is destroyed with
 * ka_buckets_destroy(), or when the module that created it unloads.
 */
struct ka_buckets;
struct module;

struct ka_buckets *__ka_buckets_create(const char *name, slab_flags_t flags,
				       void (*ctor)(void *),
				       struct module *owner);
#define ka_buckets_create(name, flags, ctor) \
	__ka_buckets_create(name, flags, ctor, THIS_MODULE)
void ka_buckets_destroy(struct ka_buckets *b);
void *ka_buckets_alloc_node(struct ka_buckets *b, size_t size, gfp_t flags,
			    int node);

/**
 * ka_buckets_alloc - allocate @size bytes from a bucket set
 * @b: the set (NULL: ka_alloc())
 * @size: bytes wanted
 * @flags: GFP flags, as for ka_alloc()
 *
 * Context: as ka_alloc().
 * Return: the object, ZERO_SIZE_PTR for a zero size, or NULL.
 */
static inline void *ka_buckets_alloc(struct ka_buckets *b, size_t size,
				     gfp_t flags)
{
	return ka_buckets_alloc_node(b, size, flags, NUMA_NO_NODE);
}

#if IS_ENABLED(CONFIG_KASAN_GENERIC)
/* generic KASAN: ka_redirect.h's mempool calls poison a pool's reserve */
struct mempool_s;
bool ka_mempool_kasan_put(void *p, struct mempool_s *pool);
void *ka_mempool_kasan_take(void *p, struct mempool_s *pool);
void ka_mempool_kasan_fill(struct mempool_s *pool);
#endif

/**
 * ka_cache_zalloc - allocate a zeroed object of a cache
 * @c: the cache
 * @flags: GFP flags, as for ka_alloc()
 *
 * As kmem_cache_zalloc(), not for a cache with a constructor.
 *
 * Context: as ka_alloc().
 * Return: the object, or NULL.
 */
static inline void *ka_cache_zalloc(struct ka_cache *c, gfp_t flags)
{
	return ka_cache_alloc(c, flags | __GFP_ZERO);
}

/**
 * ka_zalloc - allocate a zeroed object
 * @size: bytes wanted
 * @flags: GFP flags, as for ka_alloc()
 *
 * Context: as ka_alloc().
 * Return: a zeroed object of at least @size bytes, ZERO_SIZE_PTR for a zero
 * size, or NULL.
 */
static inline void *ka_zalloc(size_t size, gfp_t flags)
{
	return ka_alloc(size, flags | __GFP_ZERO);
}

/**
 * ka_alloc_array - allocate an array, checking the multiplication
 * @n: number of elements
 * @size: size of one element
 * @flags: GFP flags, as for ka_alloc()
 *
 * Context: as ka_alloc().
 * Return: an object of @n * @size bytes, or NULL if that product overflows
 * or the allocation fails.
 */
static inline void *ka_alloc_array(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return NULL;
	return ka_alloc(bytes, flags);
}

#endif /* _KA_H */
