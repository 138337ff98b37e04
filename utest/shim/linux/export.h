/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/export.h>.  The exports are module.h's
 * declarations; userspace has no module, so THIS_MODULE is NULL, as in
 * built-in kernel code.
 */
#ifndef _KA_SHIM_LINUX_EXPORT_H
#define _KA_SHIM_LINUX_EXPORT_H

#include <linux/module.h>

struct module;
#define THIS_MODULE	((struct module *)0)

#endif
