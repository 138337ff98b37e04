/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka_sys.h - the narrow interface between ka's allocator layers and the
 * kernel.
 *
 * The layers that hold the allocator's logic (sizeclass.c, span.c,
 * mcentral.c, mheap.c, arena.c) use the kernel only through this header:
 * the ka_sys_*() functions below (page allocation, metadata allocation and
 * its size, KASAN poisoning, fault injection) and the kernel headers it includes
 * (spinlocks, lists, bit operations, RCU).  Not all of it is wrapped:
 * arena.c calls kmalloc(), kfree(), kfree_rcu() and call_rcu() itself, and
 * frees with kfree() what ka_sys_meta_alloc() allocated (kzalloc_node()
 * here, the shim's kzalloc() in utest).  The userspace harness supplies
 * its own version (utest/shim/ka_sys.h, with those kernel functions in
 * utest/shim/linux/) and compiles those files unchanged; what both
 * versions share is in ka_sys_shared.h.
 */
#ifndef _KA_SYS_H
#define _KA_SYS_H

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/lockdep.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/rcupdate.h>
#include <linux/topology.h>
#include <linux/numa.h>
#include <linux/nodemask.h>
#include <linux/printk.h>
#include <linux/fault-inject.h>
#include <linux/kmemleak.h>
#include "compat.h"
#include "ka_trace.h"
#include "ka_sys_shared.h"

/* Fault injection for the page heap (debugfs: ka/fail_page). */
#ifdef CONFIG_FAULT_INJECTION
extern struct fault_attr ka_fail_page;

static inline bool ka_sys_should_fail(size_t size)
{
	return should_fail(&ka_fail_page, size);
}
#else
static inline bool ka_sys_should_fail(size_t size)
{
	return false;
}
#endif

/*
 * Generic KASAN (zero code elsewhere): set the shadow of [@addr, @addr +
 * @size), granule-aligned, to @value (0: accessible; KA_KASAN_*: poisoned).
 */
static inline void ka_sys_poison(const void *addr, size_t size, u8 value)
{
#if IS_ENABLED(CONFIG_KASAN_GENERIC)
	kasan_poison(addr, size, value, false);
#endif
}

/**
 * ka_sys_alloc_pages - take 2^@order contiguous pages from the buddy allocator
 * @node: preferred node
 * @order: block order
 * @gfp: caller's flags (reclaim bits only are used)
 * @exact_node: fail rather than fall back to another node
 * @may_fail_fast: a smaller order will be tried next: do not retry or warn
 *
 * Return: the address of the block (naturally aligned), or NULL.
 */
static inline void *ka_sys_alloc_pages(int node, unsigned int order, gfp_t gfp,
				       bool exact_node, bool may_fail_fast)
{
	struct page *page;

	gfp = ka_sys_gfp(gfp);
	if (exact_node)
		gfp |= __GFP_THISNODE;
	if (may_fail_fast) {
		gfp |= __GFP_NOWARN | __GFP_NORETRY;
		gfp &= ~__GFP_NOFAIL;
	}
	if (ka_sys_should_fail(PAGE_SIZE << order))
		return NULL;
	page = alloc_pages_node(node, gfp, order);
	if (!page)
		return NULL;
	/* a chunk's pages are no object's until a span has them */
	ka_sys_poison(page_address(page), PAGE_SIZE << order,
		      KA_KASAN_PAGE_FREE);
	return page_address(page);
}

/**
 * ka_sys_split_pages - make each page of a block freeable on its own
 * @addr: a block from ka_sys_alloc_pages()
 * @order: its order (> 0)
 *
 * After this the block is given back only page by page, with
 * ka_sys_free_pages(addr, 0).
 *
 * Context: any; does not sleep.
 */
static inline void ka_sys_split_pages(void *addr, unsigned int order)
{
	split_page(virt_to_page(addr), order);
}

/**
 * ka_sys_free_pages - give a block (or one page of a split block) back
 * @addr: its address
 * @order: its order, 0 for a page of a split block
 *
 * Context: any; does not sleep.
 */
static inline void ka_sys_free_pages(void *addr, unsigned int order)
{
	/* as the buddy allocator gave them; it poisons them itself */
	ka_sys_poison(addr, PAGE_SIZE << order, 0);
	free_pages((unsigned long)addr, order);
}

static inline int ka_sys_page_node(const void *addr)
{
	return page_to_nid(virt_to_page(addr));
}

static inline void *ka_sys_meta_alloc(size_t size, gfp_t gfp, int node)
{
	return kzalloc_node(size, ka_sys_gfp(gfp), node);
}

static inline void ka_sys_meta_free(void *p)
{
	kfree(p);
}

/* What a metadata allocation of @size bytes takes: its kmalloc bucket. */
static inline size_t ka_sys_meta_size(size_t size)
{
	return kmalloc_size_roundup(size);
}

/**
 * ka_sys_meta_pages_alloc - metadata of @size bytes straight from the buddy
 *	allocator
 * @size: bytes, a page or more (an arena's span pointers)
 * @gfp: caller's flags (reclaim bits only are used)
 * @node: preferred node
 *
 * For metadata of a page or more that comes and goes with the heap's
 * chunks: a kmalloc of 8 KiB is a quarter of a 32 KiB slab, which SLUB
 * keeps on its per-CPU partial lists while any of its four objects lives,
 * whereas these pages go back whole when freed.  Registered with kmemleak,
 * as kmalloc's memory is: the pointers in it are scanned.
 *
 * Context: any context @gfp allows.
 * Return: the memory, not zeroed, or NULL.
 */
static inline void *ka_sys_meta_pages_alloc(size_t size, gfp_t gfp, int node)
{
	struct page *page;
	void *p;

	page = alloc_pages_node(node, ka_sys_gfp(gfp), get_order(size));
	if (!page)
		return NULL;
	p = page_address(page);
	kmemleak_alloc(p, size, 1, ka_sys_gfp(gfp));
	return p;
}

/* Free what ka_sys_meta_pages_alloc(@size) returned (NULL: nothing). */
static inline void ka_sys_meta_pages_free(void *p, size_t size)
{
	if (!p)
		return;
	kmemleak_free(p);
	free_pages((unsigned long)p, get_order(size));
}

#endif /* _KA_SYS_H */
