/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka_redirect.h - put a module's kmalloc and kmem_cache calls on ka without
 * changing its source.
 *
 * Force-include it into the module's build and link against ka's symbols:
 *
 *	ccflags-y += -include <this header's path>
 *	KBUILD_EXTRA_SYMBOLS += /path/to/ka/Module.symvers
 *
 * It comes before everything else in each file: it includes <linux/slab.h>,
 * <linux/string.h> and <linux/rcupdate.h> itself, then redefines their
 * names as macros, so that every call the module's own code makes - its .c
 * files, and inline functions of headers it includes later, such as
 * alloc_inode_sb() - lands in ka.  The kernel's own calls are untouched.
 * "struct kmem_cache" becomes "struct ka_cache" in the module: a slab
 * function this header does not redirect then gets a pointer of the wrong
 * type, which the kernel's -Werror=incompatible-pointer-types refuses at
 * build time, rather than a ka_cache at run time.  The kernel's own caches
 * that the module reaches through its headers (names_cachep, behind
 * __getname() and __putname()) are then ka_cache pointers too: ka tells
 * them from its own by their first word (mod/ka/cache.c) and passes those
 * calls to the kernel's kmem_cache_alloc()/kmem_cache_free().
 *
 * Redirected:
 *  - kmalloc, kmalloc_node, kzalloc, kzalloc_node, kcalloc, kcalloc_node,
 *    kmalloc_array, kmalloc_array_node, krealloc, krealloc_array,
 *    kmalloc_track_caller, kmalloc_node_track_caller: ka_alloc() and
 *    friends (ka serves every size kmalloc does: up to KA_MAX_SIZE);
 *  - kvmalloc, kvmalloc_node, kvzalloc, kvzalloc_node, kvcalloc,
 *    kvmalloc_array: ka up to KA_MAX_SIZE, the kernel's kvmalloc_node()
 *    (vmalloc) above;
 *  - kvrealloc (6.1: p, oldsize, newsize, gfp; 6.12: p, size, gfp): of a
 *    ka object or NULL, ka_realloc() up to KA_MAX_SIZE, the kernel's
 *    kvmalloc_node() and a copy above (or when ka has no pages); of the
 *    kernel's memory (vmalloc'd above KA_MAX_SIZE, or kmalloc'd by the
 *    kernel), the kernel's kvrealloc();
 *  - kstrdup, kstrdup_const (always a copy), kstrndup, kmemdup,
 *    kmemdup_nul: copies into ka objects;
 *  - kmem_cache_create, kmem_cache_create_usercopy, KMEM_CACHE,
 *    KMEM_CACHE_USERCOPY, kmem_cache_alloc, kmem_cache_alloc_lru (the
 *    list_lru is not needed: ka's pages belong to no memory cgroup),
 *    kmem_cache_zalloc, kmem_cache_alloc_node, kmem_cache_free,
 *    kmem_cache_destroy, kmem_cache_alloc_bulk, kmem_cache_free_bulk,
 *    kmem_cache_size, kmem_cache_shrink: a ka_cache (include/ka.h);
 *  - mempool_init_slab_pool, mempool_create_slab_pool, mempool_alloc_slab,
 *    mempool_free_slab: a mempool whose elements come from the ka_cache
 *    (ka_mempool_alloc(), ka_mempool_free()); the kernel's
 *    mempool_alloc_slab() would take it for a kmem_cache;
 *  - on generic KASAN kernels only: mempool_alloc, mempool_alloc_preallocated,
 *    mempool_free, mempool_init, mempool_init_node, mempool_create,
 *    mempool_create_node, mempool_resize: the kernel's, and for a pool of
 *    a ka_cache, its reserved elements poisoned as the kernel poisons those
 *    of its own slab pools (below);
 *  - kmem_buckets (Linux 6.11 and later): kmem_buckets_create,
 *    kmem_buckets_alloc, kmem_buckets_alloc_track_caller: a set of
 *    ka_caches (include/ka.h, ka_buckets_create()), one per size class,
 *    whose spans no other cache, set or class of ka's shares; the
 *    usercopy region is not checked (as for kmem_cache_create_usercopy);
 *    Linux has no kmem_buckets_destroy(): ka destroys a module's sets when
 *    it unloads; kmem_buckets_valloc: the set up to KA_MAX_SIZE (with
 *    __GFP_NOWARN above PAGE_SIZE), __vmalloc() above or when that fails,
 *    as kvmalloc would; an object of a set is freed by kfree() and friends
 *    like any of ka's;
 *  - kfree_link (a symlink body's free callback): ka's free for ka's body;
 *  - kfree, kfree_sensitive (as the kernel's: ksize, then the free), kvfree,
 *    kvfree_sensitive, kfree_const, ksize, krealloc, kfree_bulk: ka's if
 *    ka_claims() the pointer - any pointer into ka's spans, and what no
 *    kfree() of the kernel's could take (neither slab nor a large kmalloc:
 *    a stale pointer into ka's pages) - the kernel's otherwise, so that ka
 *    reports and refuses a freed or foreign pointer of its own (NULL or 0
 *    for krealloc and ksize) instead of the kernel freeing a page of ka's
 *    heap; kfree_rcu, kvfree_rcu (two arguments): call_rcu() for a live ka
 *    object (ka_owns()), refused at once for another pointer of ka's;
 *    kfree_rcu, kvfree_rcu (one argument, 6.1), kfree_rcu_mightsleep,
 *    kvfree_rcu_mightsleep: ka_free_rcu() (no rcu_head; may sleep).
 *
 * A file that defines pr_fmt before its first include gets a '"pr_fmt"
 * redefined' warning: <linux/printk.h> came first, through this header.
 * The file's definition still wins.
 *
 * Memory the kernel allocates for the module.  Core helpers that return
 * kmalloc'd memory the caller frees - kasprintf(), kvasprintf(),
 * match_strdup(), kstrdup_quotable(), strndup_user(), memdup_user(),
 * vmemdup_user(), the seq_file buffers, ... - are compiled in the kernel
 * and still use SLUB.  The module frees such a pointer with kfree(); the
 * redirected kfree() asks ka_claims() and hands a pointer ka did not give
 * out to the kernel's kfree().  The other way round - the module allocates
 * and the kernel frees with its own kfree() - would corrupt memory: the
 * kernel frees module memory only through the module's own callbacks
 * (free_inode, kfree_rcu's callback, ...), all of which this header
 * covers.
 *
 * Mempools on generic KASAN.  The kernel's mempool poisons the elements in
 * its reserve only for its own slab, kmalloc and page pools (mm/mempool.c,
 * kasan_poison_element()); for a pool of a ka_cache the module's
 * mempool_free() poisons the element (ka_mempool_kasan_put(), which also
 * refuses a double or invalid free) before the kernel's decides to keep it
 * or free it (ka_mempool_free() makes it live again then), its
 * mempool_alloc() and mempool_alloc_preallocated() make an element from
 * the reserve accessible again, and pool creation and resizing poison what
 * the pool reserved itself.  Not covered: kernel code that itself calls
 * mempool_alloc() on a module's pool of a ka_cache would get a poisoned
 * element (the kernel allocates from the pools it creates).
 *
 * Memory cgroups: nothing a redirected module allocates is charged to one.
 * A SLAB_ACCOUNT cache is created with a warning; __GFP_ACCOUNT
 * (GFP_KERNEL_ACCOUNT) is ignored.  6.1 and 6.12 export no function that
 * charges an object (obj_cgroup_charge(), __memcg_kmem_charge_page() and
 * the slab hooks are internal; alloc_pages(__GFP_ACCOUNT) charges whole
 * pages to one task's cgroup, and ka's pages hold many tasks' objects).
 */
#ifndef _KA_REDIRECT_H
#define _KA_REDIRECT_H

#include <linux/slab.h>
#include <linux/string.h>
#include <linux/version.h>
#include <linux/rcupdate.h>
#include <linux/mempool.h>
#include <ka.h>

/* ---- helpers: they call the kernel's functions, defined before the macros */

/* A pointer for ka_free() rather than the kernel's kfree(): ka_claims(). */
static __always_inline bool ka_redirect_ours(const void *p)
{
	return ka_claims(p);
}

static __always_inline void ka_redirect_kfree(const void *p)
{
	if (ka_redirect_ours(p))
		ka_free(p);
	else
		kfree(p);
}

/*
 * As the kernel's kfree_sensitive(): ksize(), clear, kfree().  ka_size() of
 * a freed object is 0 (refused), and ka_free() refuses it again, as the
 * kernel's ksize() and kfree() both report it; ka_free_sensitive() of a
 * live one checks it, clears its usable size and frees it.
 */
static __always_inline void ka_redirect_kfree_sensitive(const void *p)
{
	if (!ka_redirect_ours(p))
		kfree_sensitive(p);
	else if (!ka_size(p))
		ka_free(p);
	else
		ka_free_sensitive(p);
}

static __always_inline void ka_redirect_kvfree(const void *p)
{
	if (ka_redirect_ours(p))
		ka_free(p);
	else
		kvfree(p);
}

static __always_inline void ka_redirect_kvfree_sensitive(const void *p,
							 size_t len)
{
	/* ka clears the whole object, at least @len bytes */
	if (ka_redirect_ours(p))
		ka_free_sensitive(p);
	else
		kvfree_sensitive(p, len);
}

/* ka_claims() is false for the kernel image, whose .rodata this takes */
static __always_inline void ka_redirect_kfree_const(const void *p)
{
	if (ka_redirect_ours(p))
		ka_free(p);
	else
		kfree_const(p);
}

/*
 * kfree_link(), the free callback of a symlink body a ->get_link() hands
 * the VFS (set_delayed_call(done, kfree_link, body)): the module's body is
 * ka's, the kernel's kfree_link() would take it for a slab object.
 */
static inline void ka_redirect_kfree_link(void *p)
{
	ka_redirect_kfree(p);
}

/* a freed ka object gets 0 and a report, not the kernel's WARN */
static __always_inline size_t ka_redirect_ksize(const void *p)
{
	return ka_redirect_ours(p) ? ka_ksize(p) : ksize(p);
}

static __always_inline void ka_redirect_kfree_bulk(size_t nr, void **p)
{
	size_t i;

	for (i = 0; i < nr; i++)
		ka_redirect_kfree(p[i]);
}

static __always_inline void *ka_redirect_krealloc(const void *p, size_t size,
						  gfp_t gfp)
{
	void *n;
	size_t old;

	/* ka's, even freed: ka_realloc() refuses that with NULL */
	if (ZERO_OR_NULL_PTR(p) || ka_redirect_ours(p))
		return ka_realloc(p, size, gfp);
	/* the kernel's object: move it into ka */
	if (!size) {
		kfree(p);
		return ZERO_SIZE_PTR;
	}
	n = ka_alloc(size, gfp);
	if (!n)
		return NULL;
	old = ksize(p);
	memcpy(n, p, min(old, size));
	kfree(p);
	return n;
}

static __always_inline void *ka_redirect_krealloc_array(void *p, size_t n,
							size_t size, gfp_t gfp)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return NULL;
	return ka_redirect_krealloc(p, bytes, gfp);
}

static __always_inline void *ka_redirect_kvmalloc_node(size_t size, gfp_t gfp,
						       int node)
{
	void *p = NULL;

	/* ka first; vmalloc, as kvmalloc would, when its pages are not had */
	if (size <= KA_MAX_SIZE)
		p = ka_alloc_node(size, gfp | __GFP_NOWARN, node);
	return p ?: kvmalloc_node(size, gfp, node);
}

/*
 * kvrealloc() of a ka object or NULL: ka_realloc() up to KA_MAX_SIZE; above,
 * or when ka has no pages, the kernel's kvmalloc_node() (vmalloc), @copy
 * bytes of @p (SIZE_MAX: its usable size, as the kernel's ksize(p) on 6.12;
 * 6.1 copies @oldsize) moved there and @p freed.  A pointer into ka that is
 * not a live object (a freed one) is refused by ka_realloc(): NULL, as
 * krealloc(); nothing is allocated for it.
 */
static __always_inline void *ka_redirect_kvrealloc_ka(const void *p,
						      size_t copy,
						      size_t size, gfp_t gfp)
{
	void *n;

	if (!ZERO_OR_NULL_PTR(p) && !ka_owns(p))
		return ka_realloc(p, size, gfp);
	if (size <= KA_MAX_SIZE) {
		n = ka_realloc(p, size, gfp | __GFP_NOWARN);
		if (n)
			return n;
	}
	n = kvmalloc_node(size, gfp, NUMA_NO_NODE);
	if (n && !ZERO_OR_NULL_PTR(p)) {
		if (copy == SIZE_MAX)
			copy = ka_size(p);
		/* the usable size, of which KASAN knows only the request */
		kasan_disable_current();
		memcpy(n, p, min(copy, size));
		kasan_enable_current();
		ka_free(p);
	}
	return n;
}

/* kvrealloc(p, oldsize, newsize, gfp) before 6.12, kvrealloc(p, size, gfp) since */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#define KA_REDIRECT_KVREALLOC_OLDSIZE	1
/* 6.1: nothing moves unless @newsize is larger, as the kernel's */
static __always_inline void *ka_redirect_kvrealloc(const void *p,
						   size_t oldsize,
						   size_t newsize, gfp_t gfp)
{
	if (oldsize >= newsize)
		return (void *)p;
	if (ZERO_OR_NULL_PTR(p) || ka_redirect_ours(p))
		return ka_redirect_kvrealloc_ka(p, oldsize, newsize, gfp);
	return kvrealloc(p, oldsize, newsize, gfp);
}
#else
/* 6.12: as krealloc(), any new size; 0 frees */
static __always_inline void *ka_redirect_kvrealloc(const void *p, size_t size,
						   gfp_t gfp)
{
	if (ZERO_OR_NULL_PTR(p) || ka_redirect_ours(p))
		return ka_redirect_kvrealloc_ka(p, SIZE_MAX, size, gfp);
	return kvrealloc(p, size, gfp);
}
#endif

static __always_inline void *ka_redirect_kvmalloc_array(size_t n, size_t size,
							gfp_t gfp)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return NULL;
	return ka_redirect_kvmalloc_node(bytes, gfp, NUMA_NO_NODE);
}

static __always_inline void *ka_redirect_kmalloc_array_node(size_t n,
							    size_t size,
							    gfp_t gfp, int node)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return NULL;
	return ka_alloc_node(bytes, gfp, node);
}

static __always_inline void *ka_redirect_kmemdup(const void *src, size_t len,
						 gfp_t gfp)
{
	void *p = ka_alloc(len, gfp);

	if (p)
		memcpy(p, src, len);
	return p;
}

static __always_inline char *ka_redirect_kmemdup_nul(const char *s,
						     size_t len, gfp_t gfp)
{
	char *p;

	if (!s)
		return NULL;
	p = ka_alloc(len + 1, gfp);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static __always_inline char *ka_redirect_kstrdup(const char *s, gfp_t gfp)
{
	return s ? ka_redirect_kmemdup_nul(s, strlen(s), gfp) : NULL;
}

static __always_inline char *ka_redirect_kstrndup(const char *s, size_t max,
						  gfp_t gfp)
{
	return s ? ka_redirect_kmemdup_nul(s, strnlen(s, max), gfp) : NULL;
}

/* kmem_cache_create_usercopy(): ka checks no usercopy region */
static __always_inline struct ka_cache *
ka_redirect_cache_create_usercopy(const char *name, unsigned int size,
				  unsigned int align, slab_flags_t flags,
				  unsigned int useroffset,
				  unsigned int usersize, void (*ctor)(void *))
{
	return ka_cache_create(name, size, align, flags, ctor);
}

struct list_lru;

/* kmem_cache_alloc_lru(): ka's pages belong to no memory cgroup */
static __always_inline void *
ka_redirect_cache_alloc_lru(struct ka_cache *c, struct list_lru *lru,
			    gfp_t gfp)
{
	return ka_cache_alloc(c, gfp);
}

#if IS_ENABLED(CONFIG_KASAN_GENERIC)
/*
 * Generic KASAN: a pool of a ka_cache's objects keeps its reserve
 * poisoned, as the kernel's mempool keeps its own slab pools' (see above).
 * mempool_alloc_preallocated() came with 6.8 (the header has no macro to
 * test for it, and a client module has no compat.h).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define KA_REDIRECT_MEMPOOL_PREALLOCATED
#endif

static __always_inline void ka_redirect_mempool_free(void *e, mempool_t *pool)
{
	if (ka_mempool_kasan_put(e, pool))
		mempool_free(e, pool);
}

static __always_inline void *ka_redirect_mempool_alloc(mempool_t *pool,
						       gfp_t gfp)
{
	return ka_mempool_kasan_take(mempool_alloc(pool, gfp), pool);
}

#ifdef KA_REDIRECT_MEMPOOL_PREALLOCATED
static __always_inline void *
ka_redirect_mempool_alloc_preallocated(mempool_t *pool)
{
	return ka_mempool_kasan_take(mempool_alloc_preallocated(pool), pool);
}
#endif

static __always_inline int
ka_redirect_mempool_init_node(mempool_t *pool, int min_nr,
			      mempool_alloc_t *alloc_fn,
			      mempool_free_t *free_fn, void *pool_data,
			      gfp_t gfp, int node)
{
	int ret = mempool_init_node(pool, min_nr, alloc_fn, free_fn,
				    pool_data, gfp, node);

	if (!ret)
		ka_mempool_kasan_fill(pool);
	return ret;
}

static __always_inline int
ka_redirect_mempool_init(mempool_t *pool, int min_nr,
			 mempool_alloc_t *alloc_fn, mempool_free_t *free_fn,
			 void *pool_data)
{
	int ret = mempool_init(pool, min_nr, alloc_fn, free_fn, pool_data);

	if (!ret)
		ka_mempool_kasan_fill(pool);
	return ret;
}

static __always_inline mempool_t *
ka_redirect_mempool_create_node(int min_nr, mempool_alloc_t *alloc_fn,
				mempool_free_t *free_fn, void *pool_data,
				gfp_t gfp, int node)
{
	mempool_t *pool = mempool_create_node(min_nr, alloc_fn, free_fn,
					      pool_data, gfp, node);

	if (pool)
		ka_mempool_kasan_fill(pool);
	return pool;
}

static __always_inline int ka_redirect_mempool_resize(mempool_t *pool,
						      int new_min_nr)
{
	int ret = mempool_resize(pool, new_min_nr);

	if (!ret)
		ka_mempool_kasan_fill(pool);
	return ret;
}
#endif /* CONFIG_KASAN_GENERIC */

/* kmem_buckets came with 6.11 (no macro of the header tells) */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define KA_REDIRECT_BUCKETS
#endif

#ifdef KA_REDIRECT_BUCKETS
#include <linux/vmalloc.h>
/*
 * kmem_buckets_valloc(): the set up to KA_MAX_SIZE; vmalloc above
 * PAGE_SIZE when ka has no pages or the size is above KA_MAX_SIZE, for a
 * caller that may sleep, as the kernel's kvmalloc does.
 */
static __always_inline void *
ka_redirect_buckets_valloc(struct ka_buckets *b, size_t size, gfp_t gfp)
{
	void *p = NULL;

	if (size <= KA_MAX_SIZE)
		p = ka_buckets_alloc(b, size, size > PAGE_SIZE ?
				     gfp | __GFP_NOWARN : gfp);
	if (p || size <= PAGE_SIZE || !gfpflags_allow_blocking(gfp))
		return p;
	return __vmalloc(size, gfp);
}
#endif

/* ---- the names ---- */

#undef kmalloc
#undef kmalloc_node
#undef kzalloc
#undef kzalloc_node
#undef kcalloc
#undef kcalloc_node
#undef kmalloc_array
#undef kmalloc_array_node
#undef krealloc
#undef krealloc_array
#undef kmalloc_track_caller
#undef kmalloc_node_track_caller
#undef kfree
#undef kfree_sensitive
#undef kfree_bulk
#undef kfree_const
#undef ksize
#undef kvmalloc
#undef kvmalloc_node
#undef kvzalloc
#undef kvzalloc_node
#undef kvcalloc
#undef kvmalloc_array
#undef kvfree
#undef kvfree_sensitive
#undef kvrealloc
#undef kstrdup
#undef kstrdup_const
#undef kstrndup
#undef kmemdup
#undef kmemdup_nul
#undef kfree_link
#undef kfree_rcu
#undef kvfree_rcu
#undef kfree_rcu_mightsleep
#undef kvfree_rcu_mightsleep
#undef kmem_cache_create
#undef kmem_cache_create_usercopy
#undef KMEM_CACHE
#undef KMEM_CACHE_USERCOPY
#undef kmem_cache_alloc
#undef kmem_cache_alloc_lru
#undef kmem_cache_zalloc
#undef kmem_cache_alloc_node
#undef kmem_cache_free
#undef kmem_cache_destroy
#undef kmem_cache_alloc_bulk
#undef kmem_cache_free_bulk
#undef kmem_cache_size
#undef kmem_cache_shrink

#define kmalloc(size, gfp)		ka_alloc(size, gfp)
#define kmalloc_node(size, gfp, node)	ka_alloc_node(size, gfp, node)
#define kzalloc(size, gfp)		ka_zalloc(size, gfp)
#define kzalloc_node(size, gfp, node)	ka_alloc_node(size, (gfp) | __GFP_ZERO, node)
#define kmalloc_array(n, size, gfp)	ka_alloc_array(n, size, gfp)
#define kcalloc(n, size, gfp)		ka_alloc_array(n, size, (gfp) | __GFP_ZERO)
#define kmalloc_array_node(n, size, gfp, node) \
	ka_redirect_kmalloc_array_node(n, size, gfp, node)
#define kcalloc_node(n, size, gfp, node) \
	ka_redirect_kmalloc_array_node(n, size, (gfp) | __GFP_ZERO, node)
#define krealloc(p, size, gfp)		ka_redirect_krealloc(p, size, gfp)
#define krealloc_array(p, n, size, gfp)	ka_redirect_krealloc_array(p, n, size, gfp)
#define kmalloc_track_caller(size, gfp)	ka_alloc(size, gfp)
#define kmalloc_node_track_caller(size, gfp, node) ka_alloc_node(size, gfp, node)
#define kfree(p)			ka_redirect_kfree(p)
#define kfree_sensitive(p)		ka_redirect_kfree_sensitive(p)
#define kfree_bulk(nr, p)		ka_redirect_kfree_bulk(nr, p)
#define kfree_const(p)			ka_redirect_kfree_const(p)
#define ksize(p)			ka_redirect_ksize(p)
#define kvmalloc_node(size, gfp, node)	ka_redirect_kvmalloc_node(size, gfp, node)
#define kvmalloc(size, gfp)		ka_redirect_kvmalloc_node(size, gfp, NUMA_NO_NODE)
#define kvzalloc_node(size, gfp, node)	ka_redirect_kvmalloc_node(size, (gfp) | __GFP_ZERO, node)
#define kvzalloc(size, gfp)		ka_redirect_kvmalloc_node(size, (gfp) | __GFP_ZERO, NUMA_NO_NODE)
#define kvmalloc_array(n, size, gfp)	ka_redirect_kvmalloc_array(n, size, gfp)
#define kvcalloc(n, size, gfp)		ka_redirect_kvmalloc_array(n, size, (gfp) | __GFP_ZERO)
#define kvfree(p)			ka_redirect_kvfree(p)
#define kvfree_sensitive(p, len)	ka_redirect_kvfree_sensitive(p, len)
#define kvrealloc(...)			ka_redirect_kvrealloc(__VA_ARGS__)
#define kstrdup(s, gfp)			ka_redirect_kstrdup(s, gfp)
#define kstrdup_const(s, gfp)		((const char *)ka_redirect_kstrdup(s, gfp))
#define kstrndup(s, max, gfp)		ka_redirect_kstrndup(s, max, gfp)
#define kmemdup(src, len, gfp)		ka_redirect_kmemdup(src, len, gfp)
#define kmemdup_nul(s, len, gfp)	ka_redirect_kmemdup_nul(s, len, gfp)
#define kfree_link			ka_redirect_kfree_link

/*
 * kfree_rcu(ptr, field): call_rcu() on a live object's rcu_head, and a
 * callback of ka's that finds the object's start from it (its span).
 * kfree_rcu(ptr) (6.1's one-argument form) and kfree_rcu_mightsleep(ptr):
 * ka_free_rcu(), which needs no rcu_head and may sleep, as they may.
 * Anything else of ka's (a freed object: its rcu_head is not the caller's
 * to write) is refused by ka_free() at once; a pointer of the kernel's
 * takes the kernel's path.
 */
#define ka_redirect_kfree_rcu_2(ptr, rhf)				\
do {									\
	typeof(ptr) ___ka_p = (ptr);					\
									\
	if (ka_owns(___ka_p))						\
		call_rcu(&___ka_p->rhf, ka_redirect_rcu_free);		\
	else if (ka_redirect_ours(___ka_p))				\
		ka_free(___ka_p);					\
	else								\
		kvfree_rcu_arg_2(___ka_p, rhf);				\
} while (0)
#define ka_redirect_kfree_rcu_1(ptr)					\
do {									\
	typeof(ptr) ___ka_p = (ptr);					\
									\
	if (ka_redirect_ours(___ka_p))					\
		ka_free_rcu(___ka_p);					\
	else								\
		kvfree_rcu_arg_1(___ka_p);				\
} while (0)
#define ka_redirect_rcu_pick(_1, _2, name, ...) name
#define kfree_rcu(...)							\
	ka_redirect_rcu_pick(__VA_ARGS__, ka_redirect_kfree_rcu_2,	\
			     ka_redirect_kfree_rcu_1)(__VA_ARGS__)
#define kvfree_rcu(...)			kfree_rcu(__VA_ARGS__)
#define kfree_rcu_mightsleep(ptr)	ka_redirect_kfree_rcu_1(ptr)
#define kvfree_rcu_mightsleep(ptr)	ka_redirect_kfree_rcu_1(ptr)

/* ---- kmem_cache ---- */

#define kmem_cache			ka_cache

#define kmem_cache_create(name, size, align, flags, ctor) \
	ka_cache_create(name, size, align, flags, ctor)
#define kmem_cache_create_usercopy(name, size, align, flags, uoff, usize, ctor) \
	ka_redirect_cache_create_usercopy(name, size, align, flags, uoff, usize, ctor)
#define KMEM_CACHE(s, flags) \
	ka_cache_create(#s, sizeof(struct s), __alignof__(struct s), flags, NULL)
#define KMEM_CACHE_USERCOPY(s, flags, field) \
	ka_redirect_cache_create_usercopy(#s, sizeof(struct s), \
					  __alignof__(struct s), flags, \
					  offsetof(struct s, field), \
					  sizeof_field(struct s, field), NULL)
#define kmem_cache_alloc(c, gfp)	ka_cache_alloc(c, gfp)
#define kmem_cache_alloc_lru(c, lru, gfp) ka_redirect_cache_alloc_lru(c, lru, gfp)
#define kmem_cache_zalloc(c, gfp)	ka_cache_alloc(c, (gfp) | __GFP_ZERO)
#define kmem_cache_alloc_node(c, gfp, node) ka_cache_alloc_node(c, gfp, node)
#define kmem_cache_free(c, p)		ka_cache_free(c, p)
#define kmem_cache_destroy(c)		ka_cache_destroy(c)
#define kmem_cache_alloc_bulk(c, gfp, nr, p) ka_cache_alloc_bulk(c, gfp, nr, p)
#define kmem_cache_free_bulk(c, nr, p)	ka_cache_free_bulk(c, nr, p)
#define kmem_cache_size(c)		ka_cache_size(c)
#define kmem_cache_shrink(c)		((void)(c), 0)

/* ---- kmem_buckets (6.11 and later) ---- */
#ifdef KA_REDIRECT_BUCKETS
#undef kmem_buckets_create
#undef kmem_buckets_alloc
#undef kmem_buckets_alloc_track_caller
#undef kmem_buckets_valloc
#define kmem_buckets			struct ka_buckets
#define kmem_buckets_create(name, flags, uoff, usize, ctor) \
	ka_buckets_create(name, flags, ctor)
#define kmem_buckets_alloc(b, size, gfp) ka_buckets_alloc(b, size, gfp)
#define kmem_buckets_alloc_track_caller(b, size, gfp) \
	ka_buckets_alloc(b, size, gfp)
#define kmem_buckets_valloc(b, size, gfp) \
	ka_redirect_buckets_valloc(b, size, gfp)
#endif

/*
 * A mempool of a cache's objects: ka's alloc and free functions, for the
 * slab-pool helpers (an inline on 6.1, a macro on 6.12) and for a module
 * that hands mempool_alloc_slab/mempool_free_slab to mempool_create() or
 * mempool_init() itself: the cache is a void * there, which the compiler
 * cannot refuse.  ka_cache_alloc() passes a kernel kmem_cache on to SLUB.
 */
#undef mempool_init_slab_pool
#undef mempool_create_slab_pool
#undef mempool_alloc_slab
#undef mempool_free_slab
#define mempool_alloc_slab		ka_mempool_alloc
#define mempool_free_slab		ka_mempool_free
#define mempool_init_slab_pool(pool, min_nr, c) \
	mempool_init(pool, min_nr, ka_mempool_alloc, ka_mempool_free, (void *)(c))
#define mempool_create_slab_pool(min_nr, c) \
	mempool_create(min_nr, ka_mempool_alloc, ka_mempool_free, (void *)(c))

#if IS_ENABLED(CONFIG_KASAN_GENERIC)
#undef mempool_alloc
#undef mempool_alloc_preallocated
#undef mempool_free
#undef mempool_init
#undef mempool_init_node
#undef mempool_create
#undef mempool_create_node
#undef mempool_resize
#define mempool_alloc(pool, gfp)	ka_redirect_mempool_alloc(pool, gfp)
#ifdef KA_REDIRECT_MEMPOOL_PREALLOCATED
#define mempool_alloc_preallocated(pool) \
	ka_redirect_mempool_alloc_preallocated(pool)
#endif
#define mempool_free(e, pool)		ka_redirect_mempool_free(e, pool)
#define mempool_init(...)		ka_redirect_mempool_init(__VA_ARGS__)
#define mempool_init_node(...)		ka_redirect_mempool_init_node(__VA_ARGS__)
#define mempool_create_node(...)	ka_redirect_mempool_create_node(__VA_ARGS__)
#define mempool_create(min_nr, alloc_fn, free_fn, pool_data) \
	ka_redirect_mempool_create_node(min_nr, alloc_fn, free_fn, pool_data, \
					GFP_KERNEL, NUMA_NO_NODE)
#define mempool_resize(pool, new_min_nr) \
	ka_redirect_mempool_resize(pool, new_min_nr)
#endif

#endif /* _KA_REDIRECT_H */
