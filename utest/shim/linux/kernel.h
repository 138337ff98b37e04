/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/kernel.h>, <linux/minmax.h>, <linux/log2.h>, bug.h */
#ifndef _KA_SHIM_LINUX_KERNEL_H
#define _KA_SHIM_LINUX_KERNEL_H

#include <errno.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <linux/string.h>
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

/*
 * printk: shim_printk() counts errors and warnings per thread and keeps
 * the thread's last message (the tests read them: a refused free is an
 * error message); it prints only with KA_UT_VERBOSE set.  No pr_fmt():
 * the shim is included before a file defines it.
 */
void shim_printk(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define pr_err(fmt, ...)	shim_printk(3, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	shim_printk(4, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	shim_printk(6, fmt, ##__VA_ARGS__)
#define pr_err_ratelimited(fmt, ...)	pr_err(fmt, ##__VA_ARGS__)
#define pr_warn_ratelimited(fmt, ...)	pr_warn(fmt, ##__VA_ARGS__)
void shim_panic(const char *fmt, ...) __attribute__((noreturn));
#define panic(fmt, ...)		shim_panic(fmt, ##__VA_ARGS__)

#define HZ		100
#define msecs_to_jiffies(ms)	((unsigned long)(ms) * HZ / 1000)
#define BUILD_BUG_ON(c)	_Static_assert(!(c), #c)
#define swap(a, b) do { __typeof__(a) __t = (a); (a) = (b); (b) = __t; } while (0)
#define clamp(v, lo, hi)	min(max(v, lo), hi)
#define round_up(x, y)		((((x) - 1) | ((__typeof__(x))((y) - 1))) + 1)
#define round_down(x, y)	((x) & ~((__typeof__(x))((y) - 1)))
#define array_size(a, b)	((size_t)(a) * (size_t)(b))
#define cache_line_size()	64
#define sysfs_emit(buf, fmt, ...)	sprintf(buf, fmt, ##__VA_ARGS__)

static inline int kstrtoul(const char *s, unsigned int base, unsigned long *res)
{
	char *end;

	errno = 0;
	*res = strtoul(s, &end, base);
	return errno || end == s || (*end && *end != '\n') ? -EINVAL : 0;
}

/* Kconfig: IS_ENABLED(CONFIG_X) is 1 if CONFIG_X is defined to 1 */
#define __ARG_PLACEHOLDER_1	0,
#define __take_second_arg(__ignored, val, ...)	val
#define __is_defined(x)		___is_defined(x)
#define ___is_defined(val)	____is_defined(__ARG_PLACEHOLDER_##val)
#define ____is_defined(arg1_or_junk)	__take_second_arg(arg1_or_junk 1, 0)
#define IS_ENABLED(option)	__is_defined(option)

#define _RET_IP_	((unsigned long)__builtin_return_address(0))

#endif
