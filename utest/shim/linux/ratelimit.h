/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/ratelimit.h>.  Nothing is limited: every
 * message reaches shim_printk(), which counts it per thread (the tests
 * read the counts) and prints it only with KA_UT_VERBOSE set.
 */
#ifndef _KA_SHIM_LINUX_RATELIMIT_H
#define _KA_SHIM_LINUX_RATELIMIT_H

struct ratelimit_state {
	int interval, burst;
};

#define DEFINE_RATELIMIT_STATE(n, i, b)	struct ratelimit_state n = { i, b }
#define __ratelimit(rs)			((void)(rs), 1)

#endif
