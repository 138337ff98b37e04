/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/version.h>.  The kernel utest builds mod/ka/
 * for: 6.12, the newest of the matrix (Debian's 6.12 and 6.12-rt), so that
 * compat.h takes the branches ka ships on those kernels - its open-coded
 * per-CPU trylock (before 6.15's local_trylock_t) among them.
 */
#ifndef _KA_SHIM_LINUX_VERSION_H
#define _KA_SHIM_LINUX_VERSION_H

#define KERNEL_VERSION(a, b, c)	(((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
#define LINUX_VERSION_CODE	KERNEL_VERSION(6, 12, 0)

#endif
