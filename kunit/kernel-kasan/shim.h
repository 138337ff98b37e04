/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shim.h - what the kernel's own KASAN KUnit suite (6.1: mm/kasan/kasan_test.c,
 * 6.12: mm/kasan/kasan_test_c.c) needs to run as an out-of-tree module on a
 * kernel built without CONFIG_KASAN_KUNIT_TEST, such as ka's debug test
 * kernels.  scripts/kasan-suite-build force-includes it into the suite,
 * unchanged but for one line, twice: as is (its objects from slab) and
 * after include/ka_redirect.h (its objects from ka).
 *
 * Without that option the kernel has none of the suite's hooks:
 * kasan_save_enable_multi_shot() and kasan_restore_multi_shot() (the
 * kasan_multi_shot boot parameter does their work), 6.1's "kasan_status"
 * resource that the report path would set, 6.12's
 * kasan_kunit_test_suite_start(), without which every KASAN report fails
 * the running test.  Instead: a probe on the error_report_end tracepoint,
 * which KASAN fires at the end of each report, counts them; the one line
 * changed is the KUNIT_EXPECT_KASAN_FAIL() macro's "expression;", which
 * becomes KA_KSUITE_EXPECT(): the expression runs with the test hidden
 * from the report path (current->kunit_test cleared), and a report counted
 * meanwhile sets the suite's test_status.report_found, as the kernel's own
 * build would.  A KASAN report anywhere else in a test fails it, as on a
 * kernel with the option.
 */
#ifndef _KA_KSUITE_SHIM_H
#define _KA_KSUITE_SHIM_H

#include <linux/atomic.h>
#include <linux/kasan.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/tracepoint.h>
#include <kunit/test.h>
#include <trace/events/error_report.h>

#if IS_ENABLED(CONFIG_KASAN_KUNIT_TEST) || IS_ENABLED(CONFIG_KASAN_MODULE_TEST)
#error "this kernel has the KASAN suite's hooks: build its own kasan_test"
#endif

static atomic_t ka_ksuite_reports = ATOMIC_INIT(0);

static void ka_ksuite_probe(void *data, enum error_detector detector,
			    unsigned long id)
{
	struct kunit *test = current->kunit_test;

	if (detector != ERROR_DETECTOR_KASAN)
		return;
	atomic_inc(&ka_ksuite_reports);
	/* not inside KUNIT_EXPECT_KASAN_FAIL(): unexpected */
	if (test)
		kunit_set_failure(test);
}

/* Multi-shot reporting comes from the kasan_multi_shot boot parameter. */
static inline bool kasan_save_enable_multi_shot(void)
{
	return true;
}

static inline void kasan_restore_multi_shot(bool enabled)
{
}

/* 6.1's kasan_test.c keeps its status in this struct (mm/kasan/kasan.h). */
struct kunit_kasan_status {
	bool report_found;
	bool sync_fault;
};

/* 6.12's rust_uaf needs CONFIG_RUST: skipped, as without the option. */
static inline char kasan_test_rust_uaf(void)
{
	return '\0';
}

/*
 * The probe is registered at the first KUNIT_EXPECT_KASAN_FAIL(): 6.1 runs
 * a module's suites before its init function (MODULE_STATE_COMING).
 */
static bool ka_ksuite_probing;

static void ka_ksuite_probe_on(void)
{
	if (!ka_ksuite_probing &&
	    !register_trace_error_report_end(ka_ksuite_probe, NULL))
		ka_ksuite_probing = true;
}

static int __init ka_ksuite_init(void)
{
	return 0;
}

static void __exit ka_ksuite_exit(void)
{
	if (!ka_ksuite_probing)
		return;
	unregister_trace_error_report_end(ka_ksuite_probe, NULL);
	tracepoint_synchronize_unregister();
}

/* KUNIT_EXPECT_KASAN_FAIL()'s "expression;" */
#define KA_KSUITE_EXPECT(status, expr)					\
	do {								\
		struct kunit *__t = current->kunit_test;		\
		int __n;						\
									\
		ka_ksuite_probe_on();					\
		__n = atomic_read(&ka_ksuite_reports);			\
		current->kunit_test = NULL;				\
		barrier();						\
		expr;							\
		barrier();						\
		current->kunit_test = __t;				\
		if (atomic_read(&ka_ksuite_reports) != __n)		\
			WRITE_ONCE((status).report_found, true);	\
	} while (0)

module_init(ka_ksuite_init);
module_exit(ka_ksuite_exit);

/* the suite defines its own (6.12), as it would with nothing before it */
#undef pr_fmt

#endif /* _KA_KSUITE_SHIM_H */
