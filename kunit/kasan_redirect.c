// SPDX-License-Identifier: GPL-2.0
/*
 * The mempool calls of a module built with include/ka_redirect.h (this
 * file is compiled with the header force-included: kunit/Kbuild), for the
 * ka_kasan suite's mempool case (kasan_test.c): on generic KASAN the
 * header's mempool functions keep the reserve of a pool of a ka_cache
 * poisoned.  No state, no locks.
 */
#include "kasan_redirect.h"

/* mempool_create_slab_pool() of a ka_cache (a kmem_cache here) */
mempool_t *ka_kasan_rd_create(struct kmem_cache *c, int min_nr)
{
	return mempool_create_slab_pool(min_nr, c);
}

/*
 * An element from the reserve where the kernel has
 * mempool_alloc_preallocated() (6.8; the header redirects it there), else
 * mempool_alloc(), which takes one from the cache first.
 */
void *ka_kasan_rd_take(mempool_t *pool)
{
#ifdef mempool_alloc_preallocated
	return mempool_alloc_preallocated(pool);
#else
	return mempool_alloc(pool, GFP_KERNEL);
#endif
}

void ka_kasan_rd_free(void *e, mempool_t *pool)
{
	mempool_free(e, pool);
}

int ka_kasan_rd_resize(mempool_t *pool, int min_nr)
{
	return mempool_resize(pool, min_nr);
}

void ka_kasan_rd_destroy(mempool_t *pool)
{
	mempool_destroy(pool);
}
