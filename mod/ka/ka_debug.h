/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka debug mode (mod/ka/debug.c): the hooks the API layer calls (api.c,
 * cache.c).
 * The layer files reach the span hooks through ka_sys.h.
 */
#ifndef _KA_DEBUG_H
#define _KA_DEBUG_H

#include <linux/jump_label.h>
#include "ka_internal.h"

DECLARE_STATIC_KEY_FALSE(ka_debug_key);
/* Corruption found by the debug checks, per CPU (debugfs "stats"). */
DECLARE_PER_CPU(unsigned long, ka_debug_reports);

static __always_inline bool ka_debug_on(void)
{
	return static_branch_unlikely(&ka_debug_key);
}

void ka_debug_init(void);
void ka_api_init(void);
void ka_api_exit(void);
size_t ka_debug_alloc(void *p, size_t size, unsigned long caller);
bool ka_debug_free(struct ka_span *span, const void *p, unsigned long caller);
size_t ka_debug_alloc_obj(void *p, size_t size, unsigned long caller,
			  bool poison);
bool ka_debug_free_obj(struct ka_span *span, const void *p,
		       unsigned long caller, bool poison);
size_t ka_debug_size(struct ka_span *span, const void *p);
bool ka_debug_live(const struct ka_span *span, const void *p);

#endif /* _KA_DEBUG_H */
