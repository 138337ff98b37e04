/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka compat: every kernel-version-dependent API ka uses, in one place.
 * ka builds on 5.15 .. 6.12+; add a guard here rather than in a layer.
 */
#ifndef _KA_COMPAT_H
#define _KA_COMPAT_H

#include <linux/version.h>

/*
 * The per-CPU magazines pack a count and a transaction id into one long;
 * 32 bits would leave too few id bits once NR_CPUS is taken out.
 */
#ifndef CONFIG_64BIT
#error "ka needs a 64-bit kernel"
#endif
#include <linux/mmzone.h>
#include <linux/module.h>

/* The largest buddy order: MAX_ORDER was exclusive before 6.4, inclusive
 * in 6.4 .. 6.7, and renamed MAX_PAGE_ORDER in 6.8.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define KA_MAX_BUDDY_ORDER	MAX_PAGE_ORDER
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define KA_MAX_BUDDY_ORDER	MAX_ORDER
#else
#define KA_MAX_BUDDY_ORDER	(MAX_ORDER - 1)
#endif

/* Symbol namespaces became string literals in 6.13. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define KA_EXPORT_INTERNAL(sym)	EXPORT_SYMBOL_NS_GPL(sym, "KA_INTERNAL")
#define KA_IMPORT_INTERNAL()	MODULE_IMPORT_NS("KA_INTERNAL")
#else
#define KA_EXPORT_INTERNAL(sym)	EXPORT_SYMBOL_NS_GPL(sym, KA_INTERNAL)
#define KA_IMPORT_INTERNAL()	MODULE_IMPORT_NS(KA_INTERNAL)
#endif

/* Shrinkers: register_shrinker(s, fmt, ...) in 6.0 .. 6.6, shrinker_alloc()
 * from 6.7, register_shrinker(s) before 6.0.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define KA_SHRINKER_ALLOC	1
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
#define ka_register_shrinker(s, name)	register_shrinker(s, name)
#else
#define ka_register_shrinker(s, name)	register_shrinker(s)
#endif

/* kfree_rcu() of a struct with an rcu_head is available everywhere. */

#endif /* _KA_COMPAT_H */
