/* SPDX-License-Identifier: GPL-2.0 */
/*
 * utest/kunit.c for utest/unit.c: the KUnit suites registered by the shared
 * suite files, and the runner of one of their cases.
 */
#ifndef _KA_UT_KUNIT_H
#define _KA_UT_KUNIT_H

#include <kunit/test.h>

struct kunit_suite *kunit_suite_at(unsigned int i);
bool kunit_run_case(struct kunit_suite *suite, struct kunit_case *c,
		    const void *param, bool *skipped);

#endif
