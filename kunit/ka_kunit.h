/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What ka_kunit.ko's suites share (kunit/common.c): ka's state summed
 * over the nodes (pages held, objects out), the usable size of a slot,
 * debugfs files rendered into a buffer, how long a hard-irq timer case
 * runs, and the fixture of every suite.  The check pattern objects are
 * filled with is the client modules' (mod/ka_testutil.h).
 */
#ifndef _KA_KUNIT_H
#define _KA_KUNIT_H

#include <kunit/test.h>
#include "ka_internal.h"

unsigned long ka_test_pages_held(void);
unsigned long ka_test_objs_out(void);
size_t ka_test_usable(size_t req, size_t slot);
char *ka_test_read_file(struct kunit *test, const char *name);
unsigned long ka_test_refusals(void);
bool ka_test_same_span(const void *a, const void *b);
struct ka_cache *ka_test_span_cache(const void *p);
bool ka_test_tagged(const void *p);
void ka_test_one_owner(struct kunit *test, size_t size, int node,
		       const void *p);

/*
 * The class whose objects are @size bytes or more, as the table has it:
 * with generic KASAN ka_size_class() serves a request from a larger slot
 * (its redzone behind), which a test that wants a class's geometry must
 * not go by.  Inline: utest's suites (utest/utest.mk) share it without
 * common.c.
 */
static inline unsigned int ka_test_class_sized(size_t size)
{
	unsigned int cls = 1;

	while (cls < ka_nr_classes - 1 && ka_classes[cls].size < size)
		cls++;
	return cls;
}

/*
 * A hard-irq timer case runs for a second and until its timer has fired
 * KA_IRQ_MIN_FIRED times, ten seconds at most.
 */
#define KA_IRQ_MIN_FIRED	100
bool ka_irq_test_more(unsigned long start, unsigned int fired);

/*
 * Every suite's .init and .exit, or part of them: each case starts on a
 * drained ka and must give back everything it took.
 */
int ka_kunit_init(struct kunit *test);
void ka_kunit_exit(struct kunit *test);

/*
 * The suite @suite of ka_kunit.ko: the cases of @suite##_cases, with the
 * fixture (KA_KUNIT_SUITE) or with an .init and .exit that call it.
 */
#define KA_KUNIT_SUITE_WITH(suite, init_fn, exit_fn)			\
	static struct kunit_suite suite##_suite = {			\
		.name = #suite,						\
		.init = init_fn,					\
		.exit = exit_fn,					\
		.test_cases = suite##_cases,				\
	};								\
	kunit_test_suites(&suite##_suite)

#define KA_KUNIT_SUITE(suite)						\
	KA_KUNIT_SUITE_WITH(suite, ka_kunit_init, ka_kunit_exit)

#endif /* _KA_KUNIT_H */
