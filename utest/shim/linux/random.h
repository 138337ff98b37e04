/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/random.h> */
#ifndef _KA_SHIM_LINUX_RANDOM_H
#define _KA_SHIM_LINUX_RANDOM_H

#include <linux/types.h>

u64 get_random_u64(void);
#define get_random_long()	((unsigned long)get_random_u64())

#endif
