/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/sizes.h> */
#ifndef _KA_SHIM_LINUX_SIZES_H
#define _KA_SHIM_LINUX_SIZES_H

#define SZ_4K	0x00001000
#define SZ_64K	0x00010000
#define SZ_1M	0x00100000

#endif
