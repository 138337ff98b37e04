/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka_shadow.h - the generic KASAN shadow values ka poisons its memory with
 * (mm/kasan/kasan.h keeps them private).  Shared by the kernel build
 * (compat.h) and the userspace one (utest/shim/ka_sys.h), where poisoning
 * is a no-op but the heap's calls still name them.
 */
#ifndef _KA_SHADOW_H
#define _KA_SHADOW_H

#define KA_KASAN_PAGE_FREE	0xFF	/* freed page */
#define KA_KASAN_PAGE_REDZONE	0xFE	/* redzone of a large object */
#define KA_KASAN_SLAB_REDZONE	0xFC	/* redzone of a slab object */
#define KA_KASAN_SLAB_FREE	0xFB	/* freed slab object */
/* an element in a mempool's reserve (KASAN_SLAB_FREE_META: use-after-free) */
#define KA_KASAN_SLAB_RESERVE	0xFA

#endif /* _KA_SHADOW_H */
