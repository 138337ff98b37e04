/* SPDX-License-Identifier: GPL-2.0 */
/* ka hooks and reports (hooks.c): what every layer shares. */
#ifndef _KA_HOOKS_H
#define _KA_HOOKS_H

#include <linux/jump_label.h>
#include <linux/percpu.h>
#include <linux/types.h>

/* Hooks that send ka_alloc()/ka_free() hits to their out-of-line paths. */
DECLARE_STATIC_KEY_FALSE(ka_alloc_hooks_key);
DECLARE_STATIC_KEY_FALSE(ka_free_hooks_key);
/* ka_cache_alloc()'s: the hooks it runs (no tracepoint) or the heap profile */
DECLARE_STATIC_KEY_FALSE(ka_cache_alloc_hooks_key);

extern bool ka_kmemleak;

/* Pointers refused by the reports below, per CPU (debugfs "stats"). */
struct ka_report_counts {
	unsigned long refused;		/* invalid pointers given to a free */
	unsigned long double_free;	/* of those, double frees seen by tag */
};
DECLARE_PER_CPU(struct ka_report_counts, ka_report_counts);

/*
 * Is every object registered with kmemleak?  Inline, so that the hook
 * paths fold it away on a kernel without kmemleak.
 */
static inline bool ka_hooks_always(void)
{
	return IS_ENABLED(CONFIG_DEBUG_KMEMLEAK) && ka_kmemleak;
}

void ka_report_bad_free(const void *p, const char *why, unsigned long caller);
void ka_report_double_free(const void *p, const char *why,
			   unsigned long caller);
void ka_hooks_shadow_new(const void *p, size_t size, size_t slot);
#if IS_ENABLED(CONFIG_KASAN_GENERIC)
void ka_report_quiet(bool on);
unsigned long ka_report_quieted_count(void);
#endif
int ka_node_norm(int node);

#endif /* _KA_HOOKS_H */
