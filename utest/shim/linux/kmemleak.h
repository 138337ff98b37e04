/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/kmemleak.h> without CONFIG_DEBUG_KMEMLEAK, as the kernel's */
#ifndef _KA_SHIM_LINUX_KMEMLEAK_H
#define _KA_SHIM_LINUX_KMEMLEAK_H

#include <linux/types.h>

static inline void kmemleak_alloc(const void *ptr, size_t size, int min_count,
				  gfp_t gfp) { }
static inline void kmemleak_free(const void *ptr) { }

#endif
