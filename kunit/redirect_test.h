/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What redirect_test.c, built with include/ka_redirect.h like a client
 * module, uses of ka_kunit.ko (kunit/common.c) and of ka's internals
 * (exported to the suites): declared here, since ka_kunit.h would pull in
 * ka's internal headers, which the redirect header's macros would rewrite.
 */
#ifndef _KA_REDIRECT_TEST_H
#define _KA_REDIRECT_TEST_H

struct kunit;

unsigned long ka_test_refusals(void);
unsigned long ka_test_objs_out(void);
bool ka_test_same_span(const void *a, const void *b);
struct ka_cache *ka_test_span_cache(const void *p);
void ka_test_one_owner(struct kunit *test, size_t size, int node,
		       const void *p);
int ka_kunit_init(struct kunit *test);
void ka_kunit_exit(struct kunit *test);

/* mod/ka: main.c, mcache.c, rcu.c, span.c, buckets.c */
void ka_rcu_barrier(void);
void ka_drain(void);
void ka_mcache_drain_all(void);
unsigned long ka_release_free(void);
unsigned long ka_span_rcu_pending(void);
/* buckets.c */
struct ka_buckets;
struct ka_cache *ka_buckets_cache(const struct ka_buckets *b, size_t size);

#endif /* _KA_REDIRECT_TEST_H */
