/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/module.h>, <linux/moduleparam.h>.  Exports are
 * declarations; a module parameter is registered by name at startup so
 * that the harness can set it before init, as insmod's arguments are
 * (shim_param_set()).
 */
#ifndef _KA_SHIM_LINUX_MODULE_H
#define _KA_SHIM_LINUX_MODULE_H

#include <linux/kernel.h>

#define EXPORT_SYMBOL(sym)		extern __typeof__(sym) sym
#define EXPORT_SYMBOL_GPL(sym)		extern __typeof__(sym) sym
#define EXPORT_SYMBOL_NS_GPL(sym, ns)	extern __typeof__(sym) sym
#define MODULE_IMPORT_NS(ns)
#define MODULE_LICENSE(s)
#define MODULE_DESCRIPTION(s)
#define MODULE_PARM_DESC(name, s)	extern int __shim_parm_desc_##name
#define __init
#define __exit
#define module_init(fn)
#define module_exit(fn)

struct kernel_param;
struct kernel_param_ops {
	int (*set)(const char *val, const struct kernel_param *kp);
	int (*get)(char *buffer, const struct kernel_param *kp);
};

void shim_param_register(const char *name, void *addr, size_t size,
			 const struct kernel_param_ops *ops);
int shim_param_set(const char *name, const char *val);

#define module_param(name, type, perm)					\
	static void __attribute__((constructor)) __shim_param_##name(void) \
	{								\
		shim_param_register(#name, &name, sizeof(name), NULL);	\
	}
#define module_param_named(name, value, type, perm)			\
	static void __attribute__((constructor)) __shim_param_##name(void) \
	{								\
		shim_param_register(#name, &value, sizeof(value), NULL); \
	}
#define module_param_cb(name, ops, arg, perm)				\
	static void __attribute__((constructor)) __shim_param_##name(void) \
	{								\
		shim_param_register(#name, NULL, 0, ops);		\
	}

#endif
