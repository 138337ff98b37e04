/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka_sys.h, userspace: the interface of mod/ka/ka_sys.h, implemented in
 * shim.c for the unit tests, the fuzzer and the stress test.
 *
 * It has mod/ka/ka_sys.h's include guard and the build force-includes it
 * (-include) into every file, so the layers' own #include "ka_sys.h" -
 * which the compiler resolves next to them, in mod/ka/ - finds the guard set
 * and adds nothing (tools/testing/vma does the same with vma_internal.h).
 * The fake <linux/...> headers next to it come first on the include path.
 */
#ifndef _KA_SYS_H
#define _KA_SYS_H

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/atomic.h>
#include <linux/llist.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/bitops.h>
#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/rcupdate.h>
#include <linux/numa.h>
#include <linux/overflow.h>
#include <linux/jump_label.h>

/* compat.h */
#define KA_MAX_BUDDY_ORDER	10
#define KA_EXPORT_INTERNAL(sym)	extern __typeof__(sym) sym

/* the GFP mask, the debug hooks, RCU-deferred metadata frees */
#include "ka_sys_shared.h"

/* KASAN shadow (mod/ka/compat.h, mod/ka/ka_sys.h): nothing in userspace */
#include "ka_shadow.h"

static inline void ka_sys_poison(const void *addr, size_t size, u8 value) { }

void *ka_sys_alloc_pages(int node, unsigned int order, gfp_t gfp,
			 bool exact_node, bool may_fail_fast);
void ka_sys_free_pages(void *addr, unsigned int order);
void ka_sys_split_pages(void *addr, unsigned int order);
int ka_sys_page_node(const void *addr);

static inline void *ka_sys_meta_alloc(size_t size, gfp_t gfp, int node)
{
	return shim_meta_alloc(size, gfp);
}

static inline void ka_sys_meta_free(void *p)
{
	shim_meta_free(p);
}

/* mod/ka/ka_trace.h: the events the layers fire, as no-ops. */
static inline void trace_ka_span_alloc(const void *base, unsigned int cls,
				       unsigned int npages, int node) { }
static inline void trace_ka_span_free(const void *base, unsigned int cls,
				      unsigned int npages, int node) { }
static inline void trace_ka_refill(unsigned int cls, int node,
				   unsigned int nr) { }
static inline void trace_ka_flush(unsigned int cls, int node,
				  unsigned int nr) { }
static inline void trace_ka_chunk_alloc(const void *base, unsigned int order,
					int node) { }
static inline void trace_ka_chunk_free(const void *base, unsigned int order,
				       int node) { }

#endif /* _KA_SYS_H */
