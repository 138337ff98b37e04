/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/types.h> */
#ifndef _KA_SHIM_LINUX_TYPES_H
#define _KA_SHIM_LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef unsigned int gfp_t;
typedef unsigned int slab_flags_t;	/* include/ka.h: ka_cache_create() */

struct list_head {
	struct list_head *next, *prev;
};

struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

#endif
