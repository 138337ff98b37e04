/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka_sys_shared.h - what the two implementations of ka_sys.h share: the
 * kernel's (mod/ka/ka_sys.h) and the userspace shim's (utest/shim/ka_sys.h)
 * both include it, so that the layers see one definition of each.  It
 * expects <linux/gfp.h> and <linux/rcupdate.h> (or the shim's) included.
 */
#ifndef _KA_SYS_SHARED_H
#define _KA_SYS_SHARED_H

/*
 * GFP bits that make sense for ka's own metadata and for the pages of its
 * heap: the reclaim and warning behaviour the caller asked for, nothing
 * about zones, zeroing or accounting.
 */
#define KA_GFP_RECLAIM_MASK	(__GFP_HIGH | __GFP_IO | __GFP_FS |	\
				 __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | \
				 __GFP_NOWARN | __GFP_RETRY_MAYFAIL |	\
				 __GFP_NOFAIL | __GFP_NORETRY |		\
				 __GFP_MEMALLOC | __GFP_NOMEMALLOC)

static inline gfp_t ka_sys_gfp(gfp_t gfp)
{
	return gfp & KA_GFP_RECLAIM_MASK;
}

/*
 * Debug mode (mod/ka/debug.c; in userspace it is off, and shim.c can make
 * the table "fail"): a span's side table, and its poisoning.
 */
struct ka_span;
int ka_debug_span_init(struct ka_span *span, gfp_t gfp);
void ka_debug_span_free(struct ka_span *span);

/*
 * A span torn down with objects still out (module exit): the kernel drops
 * kmemleak's records of them (api.c); userspace has no kmemleak.
 */

#endif /* _KA_SYS_SHARED_H */
