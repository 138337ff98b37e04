/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka_kasan.h - ka on generic KASAN kernels (mod/ka/kasan.c): redzones
 * behind objects, the quarantine, bad frees reported through KASAN and
 * allocation/free stacks.  On every other kernel kasan.c is not built and
 * these are empty inlines: no instruction of the API's paths changes.
 */
#ifndef _KA_KASAN_H
#define _KA_KASAN_H

#include "ka_internal.h"

struct ka_cache;

#if IS_ENABLED(CONFIG_KASAN_GENERIC)

void ka_kasan_sizeclass_init(void);
int ka_kasan_init(void (*evict)(struct ka_span *span, const void *p));
void ka_kasan_exit(void);
bool ka_kasan_put(struct ka_span *span, const void *p, struct ka_cache *c,
		  slab_flags_t flags, unsigned long caller);
void ka_kasan_new(const void *p, size_t size, size_t slot);
bool ka_kasan_freed(const void *p);
size_t ka_kasan_usable(const struct ka_span *span);
unsigned int ka_kasan_cache_size(unsigned int size);
void ka_kasan_drain(void);
unsigned long ka_kasan_quarantine_pages(void);
void ka_kasan_cache_destroy(struct ka_cache *c, slab_flags_t flags);
void ka_kasan_test_mode(bool on);
bool ka_kasan_quarantine_active(void);
bool ka_kasan_stacks(const void *p, u32 *alloc, u32 *free);
void ka_kasan_unreserve(const void *p);
bool ka_kasan_reserve(void *p, struct ka_cache *c, unsigned long caller);
void ka_kasan_reserve_fill(struct mempool_s *pool);

/*
 * ka_kasan_quarantine - a client frees @p of @span (the free's lookup,
 * ka_span_of(); to cache @c, whose slab @flags the caller gives, or NULL
 * and 0): put it in the quarantine, or refuse it.  True if handled; false
 * if ka's own free path must take it (NULL, quarantine off, debug mode,
 * PREEMPT_RT atomic context, a cache's object given to ka_free(), which
 * hands it to its cache).  Context: as ka_free(), inside the RCU
 * read-side section of the lookup.
 */
static __always_inline bool ka_kasan_quarantine(struct ka_span *span,
						const void *p,
						struct ka_cache *c,
						slab_flags_t flags,
						unsigned long caller)
{
	return ka_kasan_put(span, p, c, flags, caller);
}

/*
 * ka_kasan_cache_span - @span is a ka_cache's, of objects of @size bytes:
 * what a client may use of each (ka_kasan_usable()).  Context: the span
 * being carved, no object of it handed out yet.
 */
static inline void ka_kasan_cache_span(struct ka_span *span,
				       unsigned int size)
{
	span->kasan_size = size;
}

#else

static inline void ka_kasan_sizeclass_init(void) { }
static inline int
ka_kasan_init(void (*evict)(struct ka_span *span, const void *p))
{
	return 0;
}
static inline void ka_kasan_exit(void) { }
static __always_inline bool ka_kasan_quarantine(struct ka_span *span,
						const void *p,
						struct ka_cache *c,
						slab_flags_t flags,
						unsigned long caller)
{
	return false;
}
static inline void ka_kasan_cache_span(struct ka_span *span,
				       unsigned int size) { }
static inline void ka_kasan_new(const void *p, size_t size, size_t slot) { }
static inline bool ka_kasan_freed(const void *p) { return false; }
static inline size_t ka_kasan_usable(const struct ka_span *span)
{
	return span->elemsize;
}
static inline unsigned int ka_kasan_cache_size(unsigned int size)
{
	return size;
}
static inline void ka_kasan_drain(void) { }
static inline unsigned long ka_kasan_quarantine_pages(void) { return 0; }
static inline void ka_kasan_cache_destroy(struct ka_cache *c,
					  slab_flags_t flags) { }
static inline void ka_kasan_test_mode(bool on) { }
static inline void ka_kasan_unreserve(const void *p) { }

#endif /* CONFIG_KASAN_GENERIC */

#endif /* _KA_KASAN_H */
