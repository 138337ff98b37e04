/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/mm.h>: the page size, and the "direct map":
 * PAGE_OFFSET is the base of the region shim.c reserves and carves pages
 * from, so that ka's arena indexing (addr - PAGE_OFFSET) works unchanged.
 */
#ifndef _KA_SHIM_LINUX_MM_H
#define _KA_SHIM_LINUX_MM_H

#include <linux/kernel.h>
#include <linux/gfp.h>

#ifndef PAGE_SHIFT
#define PAGE_SHIFT	12
#endif
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PAGE_ALIGNED(addr)	(((unsigned long)(addr) & ~PAGE_MASK) == 0)

extern unsigned long shim_page_offset;
#define PAGE_OFFSET	shim_page_offset

static inline unsigned int get_order(unsigned long size)
{
	size = (size - 1) >> PAGE_SHIFT;
	return size ? 64 - __builtin_clzl(size) : 0;
}

/* init_on_alloc= / init_on_free= (off unless a test turns them on) */
extern bool shim_init_on_alloc, shim_init_on_free;

static inline bool want_init_on_alloc(gfp_t flags)
{
	return shim_init_on_alloc || (flags & __GFP_ZERO);
}

static inline bool want_init_on_free(void)
{
	return shim_init_on_free;
}

/*
 * Folios of the "direct map": block 0 of the region (shim_foreign_page())
 * is the kernel's slab memory, the rest is ka's or free.
 */
struct folio {
	bool slab;
};

unsigned long shim_region_bytes(void);
extern struct folio shim_folio_slab, shim_folio_page;
#define high_memory	((void *)(PAGE_OFFSET + shim_region_bytes()))
#define virt_addr_valid(p)							((unsigned long)(p) - PAGE_OFFSET < shim_region_bytes())
static inline struct folio *virt_to_folio(const void *p)
{
	return (unsigned long)p - PAGE_OFFSET < (1UL << (PAGE_SHIFT + 10)) ?
	       &shim_folio_slab : &shim_folio_page;
}
#define folio_test_slab(f)	((f)->slab)
#define folio_test_large(f)	false

#endif
