/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka_testutil.h - test helpers shared by ka's client modules (ka_demo,
 * ka_stress, ka_bench), included as "../ka_testutil.h"; the KUnit suites
 * use its check pattern too (kunit/api_test.c).
 *
 * Owns two things, both stateless static inlines (no locks):
 *  - a check pattern: ka_test_byte() is byte @i of the pattern of @seed;
 *    ka_test_fill()/ka_test_bad() write and check a whole object,
 *    ka_test_fill_ends()/ka_test_bad_ends() only its first @head and last
 *    @tail bytes (for large objects, or to stay quick).  ka_test_bad*()
 *    return the offset of the first wrong byte, or -1 if all are right.
 *  - KTAP output through pr_info(), so every line carries the including
 *    module's pr_fmt() prefix ("ka_demo: KTAP version 1"); the host strips
 *    it (scripts/ktap-report, scripts/check, scripts/bench --smoke).
 *
 * Only <linux/...> and nothing of ka: the clients see include/ka.h alone.
 */
#ifndef _KA_TESTUTIL_H
#define _KA_TESTUTIL_H

#ifndef pr_fmt
#error "define pr_fmt() (the KTAP lines' prefix) before including ka_testutil.h"
#endif

#include <linux/minmax.h>
#include <linux/printk.h>
#include <linux/types.h>

/* ------------------------------------------------------------- pattern */

static inline u8 ka_test_byte(unsigned long seed, size_t i)
{
	return (u8)(seed * 131 + i * 7 + (i >> 8));
}

/* Pattern in the first @head and the last @tail bytes of @p's @len. */
static inline void ka_test_fill_ends(void *p, size_t len, unsigned long seed,
				     size_t head, size_t tail)
{
	u8 *b = p;
	size_t i, h = min(len, head);

	for (i = 0; i < h; i++)
		b[i] = ka_test_byte(seed, i);
	for (i = max(h, len - min(len, tail)); i < len; i++)
		b[i] = ka_test_byte(seed, i);
}

static inline long ka_test_bad_ends(const void *p, size_t len,
				    unsigned long seed, size_t head,
				    size_t tail)
{
	const u8 *b = p;
	size_t i, h = min(len, head);

	for (i = 0; i < h; i++)
		if (b[i] != ka_test_byte(seed, i))
			return i;
	for (i = max(h, len - min(len, tail)); i < len; i++)
		if (b[i] != ka_test_byte(seed, i))
			return i;
	return -1;
}

static inline void ka_test_fill(void *p, size_t len, unsigned long seed)
{
	ka_test_fill_ends(p, len, seed, len, 0);
}

static inline long ka_test_bad(const void *p, size_t len, unsigned long seed)
{
	return ka_test_bad_ends(p, len, seed, len, 0);
}

/* ---------------------------------------------------------------- KTAP */

static inline void ka_ktap_start(unsigned int tests)
{
	pr_info("KTAP version 1\n");
	pr_info("1..%u\n", tests);
}

/* "ok N NAME" or "not ok N NAME" */
static inline void ka_ktap_result(bool ok, unsigned int n, const char *name)
{
	pr_info("%sok %u %s\n", ok ? "" : "not ", n, name);
}

static inline void ka_ktap_skip(unsigned int n, const char *name,
				const char *why)
{
	pr_info("ok %u %s # SKIP %s\n", n, name, why);
}

/* "not ok N NAME # WHY" */
static inline void ka_ktap_fail(unsigned int n, const char *name,
				const char *why)
{
	pr_info("not ok %u %s # %s\n", n, name, why);
}

/* A diagnostic line: "# " and the message. */
#define ka_ktap_diag(fmt, ...) pr_info("# " fmt, ##__VA_ARGS__)

#endif /* _KA_TESTUTIL_H */
