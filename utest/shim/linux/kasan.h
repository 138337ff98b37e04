/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/kasan.h> without CONFIG_KASAN, as the kernel's */
#ifndef _KA_SHIM_LINUX_KASAN_H
#define _KA_SHIM_LINUX_KASAN_H

static inline void kasan_disable_current(void) { }
static inline void kasan_enable_current(void) { }

#endif
