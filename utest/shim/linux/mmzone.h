/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/mmzone.h>: the buddy allocator's largest order */
#ifndef _KA_SHIM_LINUX_MMZONE_H
#define _KA_SHIM_LINUX_MMZONE_H

#include <linux/numa.h>

#define MAX_PAGE_ORDER	10	/* shim.c's SHIM_MAX_ORDER */

#endif
