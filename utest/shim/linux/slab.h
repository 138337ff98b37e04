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

#endif
