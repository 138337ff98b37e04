/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kasan_redirect.h - the ka_kasan suite's calls into kasan_redirect.c, the
 * suite's file built as a client module with include/ka_redirect.h.
 */
#ifndef _KA_KASAN_REDIRECT_H
#define _KA_KASAN_REDIRECT_H

#include <linux/mempool.h>

struct ka_cache;

mempool_t *ka_kasan_rd_create(struct ka_cache *c, int min_nr);
void *ka_kasan_rd_take(mempool_t *pool);
void ka_kasan_rd_free(void *e, mempool_t *pool);
int ka_kasan_rd_resize(mempool_t *pool, int min_nr);
void ka_kasan_rd_destroy(mempool_t *pool);

#endif /* _KA_KASAN_REDIRECT_H */
