// SPDX-License-Identifier: GPL-2.0
/*
 * The KUnit suites shared with ka_kunit.ko, run in userspace: the table
 * kunit_test_suites() fills at startup, the runner of one case with one
 * parameter (.init, the case, .exit), the reports of utest/shim/kunit/test.h
 * the fixture of kunit/ka_kunit.h, and what of the kernel module the shared
 * suites call beyond the layers utest builds (ka_scav_pause()).
 * utest/unit.c forks a child per case and parameter, as it does for its
 * own tests, and checks the allocator's invariants and that everything
 * went back after it.
 *
 * No locks: the table is filled before main() and read after.
 */
#include <stdarg.h>
#include "harness.h"
#include "kunit.h"
#include "../kunit/ka_kunit.h"

#define KUNIT_MAX_SUITES	16

static struct kunit_suite *kunit_suites[KUNIT_MAX_SUITES];
static unsigned int kunit_nr_suites;

void kunit_register_suites(struct kunit_suite *const *suites, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (kunit_nr_suites == KUNIT_MAX_SUITES) {
			fprintf(stderr, "kunit: more than %d suites\n",
				KUNIT_MAX_SUITES);
			abort();
		}
		kunit_suites[kunit_nr_suites++] = suites[i];
	}
}

struct kunit_suite *kunit_suite_at(unsigned int i)
{
	return i < kunit_nr_suites ? kunit_suites[i] : NULL;
}

void kunit_report(struct kunit *test, const char *file, int line,
		  const char *fmt, ...)
{
	va_list ap;

	test->failed = true;
	fprintf(stderr, "%s:%d: %s: ", file, line, test->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A _MSG check's own message, under its report; nothing for "". */
void kunit_msg(struct kunit *test, const char *fmt, ...)
{
	va_list ap;

	if (!*fmt)
		return;
	fputs("    ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void kunit_abort(struct kunit *test)
{
	longjmp(test->abort, 1);
}

void *kunit_kzalloc(struct kunit *test, size_t size, gfp_t gfp)
{
	void *p;

	if (test->nr_allocs == KUNIT_MAX_ALLOCS)
		return NULL;
	p = calloc(1, size ? size : 1);
	if (p)
		test->allocs[test->nr_allocs++] = p;
	return p;
}

/*
 * The fixture: unit.c runs each case in a child on a freshly initialised
 * allocator, so there is nothing to drain before it; after it, the
 * allocator's invariants must hold (unit.c's teardown then checks that
 * every object, page and metadata allocation went back).
 */
int ka_kunit_init(struct kunit *test)
{
	return 0;
}

void ka_kunit_exit(struct kunit *test)
{
	shim_rcu_barrier();
	KUNIT_EXPECT_EQ(test, ut_check(), 0UL);
}

/*
 * Run @c of @suite with @param: .init, the case, .exit, as KUnit does, the
 * .exit also after a failed ASSERT or a skip.  Returns whether it failed;
 * *@skipped tells a skip.
 */
bool kunit_run_case(struct kunit_suite *suite, struct kunit_case *c,
		    const void *param, bool *skipped)
{
	static struct kunit test;	/* static: it outlives the longjmp()s */
	unsigned int i;

	memset(&test, 0, sizeof(test));
	test.name = c->name;
	test.param_value = param;
	if (!setjmp(test.abort)) {
		if (!suite->init || !suite->init(&test))
			c->run_case(&test);
		else
			test.failed = true;
	}
	if (suite->exit && !setjmp(test.abort))
		suite->exit(&test);
	for (i = 0; i < test.nr_allocs; i++)
		free(test.allocs[i]);
	*skipped = test.skipped && !test.failed;
	return test.failed;
}
