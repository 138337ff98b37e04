/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/kernel.h>, <linux/minmax.h>, <linux/log2.h>, bug.h */
#ifndef _KA_SHIM_LINUX_KERNEL_H
#define _KA_SHIM_LINUX_KERNEL_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include <linux/compiler.h>

#define U8_MAX		((u8)~0U)
#define U16_MAX		((u16)~0U)
#define U32_MAX		((u32)~0U)
#define U64_MAX		((u64)~0ULL)

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define ALIGN(x, a)		(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))

/* <linux/stddef.h> */
#define struct_group_tagged(TAG, NAME, MEMBERS...)	\
	union {						\
		struct { MEMBERS };			\
		struct TAG { MEMBERS } NAME;		\
	}

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); \
		     _a < _b ? _a : _b; })
#define max(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); \
		     _a > _b ? _a : _b; })
#define min_t(t, a, b)	min((t)(a), (t)(b))
#define max_t(t, a, b)	max((t)(a), (t)(b))
#define clamp_t(t, v, lo, hi)	min_t(t, max_t(t, v, lo), hi)

static inline bool is_power_of_2(unsigned long n)
{
	return n && !(n & (n - 1));
}

#define roundup_pow_of_two(n) \
	((n) <= 1 ? 1UL : 1UL << (64 - __builtin_clzl((unsigned long)(n) - 1)))

#define NR_CPUS		64

/* A WARN is a harness failure: counted, and fatal if shim_warn_fatal. */
void shim_warn(const char *file, int line, const char *cond);

#define WARN_ON(c) ({							\
	bool __w = !!(c);						\
	if (unlikely(__w))						\
		shim_warn(__FILE__, __LINE__, #c);			\
	unlikely(__w);							\
})
#define WARN_ON_ONCE(c)	WARN_ON(c)
#define BUG_ON(c)	do { if (WARN_ON(c)) __builtin_trap(); } while (0)

#define pr_err(fmt, ...)	fprintf(stderr, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	fprintf(stderr, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	do { if (0) fprintf(stderr, fmt, ##__VA_ARGS__); } while (0)

#define _RET_IP_	((unsigned long)__builtin_return_address(0))

#endif
