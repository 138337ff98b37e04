/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/string.h> */
#ifndef _KA_SHIM_LINUX_STRING_H
#define _KA_SHIM_LINUX_STRING_H

#include <string.h>

static inline void memzero_explicit(void *s, size_t count)
{
	memset(s, 0, count);
	__asm__ __volatile__("" : : "r"(s) : "memory");
}

/* The first byte of [@start, @start + @bytes) that is not @c, or NULL. */
static inline void *memchr_inv(const void *start, int c, size_t bytes)
{
	const unsigned char *p = start;
	size_t i;

	for (i = 0; i < bytes; i++)
		if (p[i] != (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

#endif
