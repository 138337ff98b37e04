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

/*
 * The kernel utest builds ka for: 64-bit SMP NUMA, KUnit's test points in
 * (mcache.h's ka_mcache_point(), the harness's interrupts), lockdep's owner
 * checks of the per-CPU lock on !PREEMPT_RT; PREEMPT_RT when the build
 * defines CONFIG_PREEMPT_RT=1.  No KASAN, no kmemleak, no fault-injection
 * framework (shim.c injects its own faults).
 */
#define CONFIG_64BIT		1
#define CONFIG_SMP		1
#define CONFIG_NUMA		1
#define CONFIG_KUNIT		1
#ifndef CONFIG_PREEMPT_RT
#define CONFIG_DEBUG_LOCK_ALLOC	1
#endif

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
#include <linux/nodemask.h>
#include <linux/overflow.h>
#include <linux/jump_label.h>
#include <linux/kmemleak.h>
#include <linux/percpu.h>

/* mod/ka/compat.h itself, on the shim's <linux/...> (version.h: 6.12) */
#include "compat.h"

/* the GFP mask, the debug hooks, RCU-deferred metadata frees */
#include "ka_sys_shared.h"

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

static inline size_t ka_sys_meta_size(size_t size)
{
	return size;
}

static inline void *ka_sys_meta_pages_alloc(size_t size, gfp_t gfp, int node)
{
	return shim_meta_alloc(size, gfp | __GFP_POISON);
}

static inline void ka_sys_meta_pages_free(void *p, size_t size)
{
	if (p)
		shim_meta_free(p);
}

/* mod/ka/ka_trace.h: the events ka fires, as no-ops; the hooks api.c has. */
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
static inline void trace_ka_alloc(unsigned long call_site, const void *ptr,
				  size_t bytes_req, size_t bytes_alloc,
				  gfp_t gfp_flags, int node) { }
static inline void trace_ka_free(unsigned long call_site, const void *ptr) { }
int ka_trace_alloc_reg(void);
void ka_trace_alloc_unreg(void);
int ka_trace_free_reg(void);
void ka_trace_free_unreg(void);

#endif /* _KA_SYS_H */
