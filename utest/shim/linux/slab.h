/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/slab.h>: ka's metadata allocator (shim.c) */
#ifndef _KA_SHIM_LINUX_SLAB_H
#define _KA_SHIM_LINUX_SLAB_H

#include <linux/gfp.h>

#define ZERO_SIZE_PTR		((void *)16)
#define ZERO_OR_NULL_PTR(x)	((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

void *shim_meta_alloc(size_t size, gfp_t gfp);
void shim_meta_free(const void *p);

/* kmalloc() memory is not zeroed: shim.c fills it with a poison byte. */
#define kmalloc(size, gfp)		shim_meta_alloc(size, (gfp) | __GFP_POISON)
#define kzalloc(size, gfp)		shim_meta_alloc(size, gfp)
#define kcalloc(n, size, gfp)		shim_meta_alloc((n) * (size), gfp)
#define kzalloc_node(size, gfp, node)	shim_meta_alloc(size, gfp)
#define kfree(p)			shim_meta_free(p)
#define kstrdup(s, gfp)			shim_kstrdup(s, gfp)
char *shim_kstrdup(const char *s, gfp_t gfp);

/*
 * kvmalloc(): counted apart from the metadata of the layers (the per-CPU
 * magazines' slots), never failed by fault injection.
 */
void *shim_kv_alloc(size_t size);
void shim_kv_free(const void *p);
#define kvzalloc_node(size, gfp, node)	shim_kv_alloc(size)
#define kvcalloc(n, size, gfp)		shim_kv_alloc((n) * (size))
#define kvfree(p)			shim_kv_free(p)

/* The SLAB_* flags (mod/ka/cache.c accepts some): distinct bits. */
#define SLAB_HWCACHE_ALIGN	0x00002000U
#define SLAB_PANIC		0x00040000U
#define SLAB_TYPESAFE_BY_RCU	0x00080000U
#define SLAB_NOLEAKTRACE	0x00800000U
#define SLAB_ACCOUNT		0x04000000U
#define SLAB_RECLAIM_ACCOUNT	0x00020000U
#define SLAB_NO_MERGE		0x01000000U

/*
 * The kernel's own kmem_caches: ka's cache functions hand a cache that is
 * not ka's to them (include/ka_redirect.h); utest has only ka's.  Reached,
 * they stop the test with a message.
 */
struct kmem_cache;
void *shim_kernel_cache(const char *what) __attribute__((noreturn));
#define kmem_cache_alloc(c, f)		shim_kernel_cache("kmem_cache_alloc")
#define kmem_cache_alloc_node(c, f, n)	shim_kernel_cache("kmem_cache_alloc_node")
#define kmem_cache_free(c, p)		shim_kernel_cache("kmem_cache_free")
#define kmem_cache_size(c)		((unsigned int)(unsigned long)shim_kernel_cache("kmem_cache_size"))

#endif
