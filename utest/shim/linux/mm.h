/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/mm.h>: the page size, and the "direct map":
 * PAGE_OFFSET is the base of the region shim.c reserves and carves pages
 * from, so that ka's arena indexing (addr - PAGE_OFFSET) works unchanged.
 */
#ifndef _KA_SHIM_LINUX_MM_H
#define _KA_SHIM_LINUX_MM_H

#include <linux/kernel.h>

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

#endif
