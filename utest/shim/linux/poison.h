/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/poison.h> */
#ifndef _KA_SHIM_LINUX_POISON_H
#define _KA_SHIM_LINUX_POISON_H

#define POISON_FREE	0x6b
#define SLUB_RED_ACTIVE	0xcc

#endif
