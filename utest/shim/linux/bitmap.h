/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/bitmap.h>, <linux/find.h> */
#ifndef _KA_SHIM_LINUX_BITMAP_H
#define _KA_SHIM_LINUX_BITMAP_H

#include <linux/bitops.h>

/* First bit in [start, size) that is set (or clear, if @invert), or size. */
static inline unsigned long shim_find_bit(const unsigned long *addr,
					  unsigned long size,
					  unsigned long start, bool invert)
{
	unsigned long xor = invert ? ~0UL : 0, w;

	if (start >= size)
		return size;
	w = (addr[BIT_WORD(start)] ^ xor) & (~0UL << (start % BITS_PER_LONG));
	start -= start % BITS_PER_LONG;
	while (!w) {
		start += BITS_PER_LONG;
		if (start >= size)
			return size;
		w = addr[BIT_WORD(start)] ^ xor;
	}
	return min(start + __ffs(w), size);
}

static inline unsigned long find_next_bit(const unsigned long *addr,
					  unsigned long size,
					  unsigned long offset)
{
	return shim_find_bit(addr, size, offset, false);
}

static inline unsigned long find_next_zero_bit(const unsigned long *addr,
					       unsigned long size,
					       unsigned long offset)
{
	return shim_find_bit(addr, size, offset, true);
}

#define for_each_set_bit(bit, addr, size)				\
	for ((bit) = find_next_bit((addr), (size), 0);			\
	     (bit) < (size);						\
	     (bit) = find_next_bit((addr), (size), (bit) + 1))

#define for_each_clear_bit(bit, addr, size)				\
	for ((bit) = find_next_zero_bit((addr), (size), 0);		\
	     (bit) < (size);						\
	     (bit) = find_next_zero_bit((addr), (size), (bit) + 1))

static inline void bitmap_set(unsigned long *map, unsigned int start,
			      unsigned int nr)
{
	for (; nr && start % BITS_PER_LONG; nr--)
		__set_bit(start++, map);
	for (; nr >= BITS_PER_LONG; nr -= BITS_PER_LONG, start += BITS_PER_LONG)
		map[BIT_WORD(start)] = ~0UL;
	for (; nr; nr--)
		__set_bit(start++, map);
}

static inline void bitmap_clear(unsigned long *map, unsigned int start,
				unsigned int nr)
{
	for (; nr && start % BITS_PER_LONG; nr--)
		__clear_bit(start++, map);
	for (; nr >= BITS_PER_LONG; nr -= BITS_PER_LONG, start += BITS_PER_LONG)
		map[BIT_WORD(start)] = 0;
	for (; nr; nr--)
		__clear_bit(start++, map);
}

static inline unsigned int bitmap_weight(const unsigned long *map,
					 unsigned int nbits)
{
	unsigned int i, w = 0;

	for (i = 0; i < nbits / BITS_PER_LONG; i++)
		w += hweight_long(map[i]);
	if (nbits % BITS_PER_LONG)
		w += hweight_long(map[i] & (BIT(nbits % BITS_PER_LONG) - 1));
	return w;
}

static inline bool bitmap_empty(const unsigned long *map, unsigned int nbits)
{
	return find_next_bit(map, nbits, 0) >= nbits;
}

/* As lib/bitmap.c: the index of a zero area, or a value > @size if none. */
static inline unsigned long
bitmap_find_next_zero_area(unsigned long *map, unsigned long size,
			   unsigned long start, unsigned int nr,
			   unsigned long align_mask)
{
	unsigned long index, end, i;
again:
	index = find_next_zero_bit(map, size, start);
	index = (index + align_mask) & ~align_mask;
	end = index + nr;
	if (end > size)
		return end;
	i = find_next_bit(map, end, index);
	if (i < end) {
		start = i + 1;
		goto again;
	}
	return index;
}

#endif
