// SPDX-License-Identifier: GPL-2.0
/*
 * ka_kunit.ko's common part: the helpers its suites share (ka_kunit.h),
 * the module's license and its import of the KA_INTERNAL namespace.
 * One file per layer of mod/ka/ holds that layer's suite; they are
 * linked into this one module and run in link order (kunit/Kbuild).
 *
 * The suites expect to be the only ka user while they run, one case at a
 * time (the fixture's start state is one static).  No locks of their own:
 * the helpers read ka's stats through its readers.
 */
#include <linux/jiffies.h>
#include <linux/nodemask.h>
#include "ka_debug.h"
#include "ka_kasan.h"
#include "ka_kunit.h"
#include "mcache.h"
#include "../mod/ka_testutil.h"

KA_IMPORT_INTERNAL();

unsigned long ka_test_pages_held(void)
{
	unsigned long pages = 0;
	struct ka_mheap_stats h;
	int nid;

	for_each_node_state(nid, N_MEMORY) {
		ka_mheap_stats_read(nid, &h);
		pages += h.pages_held;
	}
	return pages;
}

unsigned long ka_test_objs_out(void)
{
	struct ka_class_stats st;
	unsigned long out = 0;
	unsigned int cls;
	int nid;

	for_each_node_state(nid, N_MEMORY)
		for (cls = 1; cls < ka_nr_classes; cls++) {
			ka_class_stats_read(nid, cls, &st);
			out += st.objs_out;
		}
	return out;
}

/*
 * What ka_size() reports: the whole slot normally, the bytes requested in
 * debug mode (where the rest of the slot is a redzone).
 */
size_t ka_test_usable(size_t req, size_t slot)
{
	return ka_debug_on() ? req : slot;
}

/* The contents of a ka debugfs file, in a kunit-managed buffer. */
char *ka_test_read_file(struct kunit *test, const char *name)
{
	size_t size = 256 << 10;
	char *buf = kunit_kzalloc(test, size, GFP_KERNEL);

	if (!buf || ka_debugfs_render(name, buf, size) < 0)
		return NULL;
	return buf;
}

/*
 * Frees ka refused so far: reported by ka (refused_frees) or, in debug
 * mode, by its checks (debug_reports).
 */
unsigned long ka_test_refusals(void)
{
	struct ka_counters c;

	ka_counters_read(&c);
	return c.refused + c.debug_reports;
}

/* Are @a and @b objects of one span? */
bool ka_test_same_span(const void *a, const void *b)
{
	bool same;

	rcu_read_lock();
	same = ka_span_of(a) && ka_span_of(a) == ka_span_of(b);
	rcu_read_unlock();
	return same;
}

/*
 * The ka_cache whose span holds @p: NULL for a size class's or a large
 * object's span, or a pointer ka does not hold.
 */
struct ka_cache *ka_test_span_cache(const void *p)
{
	struct ka_span *span;
	struct ka_cache *c;

	rcu_read_lock();
	span = ka_span_of(p);
	c = span && span->state == KA_SPAN_SMALL ? span->cache : NULL;
	rcu_read_unlock();
	return c;
}

/* Does the small object @p carry its span's double-free tag? */
bool ka_test_tagged(const void *p)
{
	struct ka_span *span;
	bool tagged;

	rcu_read_lock();
	span = ka_span_of(p);
	tagged = span && span->state == KA_SPAN_SMALL &&
		 ka_word_read(p) == span->freetag;
	rcu_read_unlock();
	return tagged;
}

/*
 * After a refused second free of @p (an object of @size bytes on @node,
 * freed once), the next allocations of that size and node hand @p out at
 * most once, and every object they give has one owner: the pattern
 * written into each is intact once all are out.  Enough allocations to
 * empty this CPU's magazine of the class twice over; the caller keeps to
 * one CPU (migrate_disable()) so that it is that magazine.
 */
void ka_test_one_owner(struct kunit *test, size_t size, int node,
		       const void *p)
{
	unsigned int i, n, twice = 0, bad = 0;
	size_t check = min_t(size_t, size, 64);
	void **held;

	n = size > KA_MAX_SMALL_SIZE ? 16 :
	    2 * ka_classes[ka_size_class(size)].cache_max + 64;
	held = kcalloc(n, sizeof(*held), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, held);
	for (i = 0; i < n; i++) {
		held[i] = ka_alloc_node(size, GFP_KERNEL, node);
		if (!held[i]) {
			KUNIT_FAIL(test, "ka_alloc_node(%zu, %d) failed", size,
				   node);
			break;
		}
		twice += held[i] == p;
		ka_test_fill(held[i], check, (u8)i);
	}
	for (i = 0; i < n && held[i]; i++)
		bad += ka_test_bad(held[i], check, (u8)i) >= 0;
	KUNIT_EXPECT_LE_MSG(test, twice, 1U, "%p handed out twice", p);
	KUNIT_EXPECT_EQ_MSG(test, bad, 0U, "objects with two owners");
	for (i = 0; i < n; i++)
		ka_free(held[i]);
	kfree(held);
}

/*
 * A hard-irq timer case runs for a second and until its timer has fired
 * KA_IRQ_MIN_FIRED times, ten seconds at most: on a loaded host a TCG guest
 * may see only a few firings in its first second.
 */
bool ka_irq_test_more(unsigned long start, unsigned int fired)
{
	return time_before(jiffies, start + HZ) ||
	       (fired < KA_IRQ_MIN_FIRED && time_before(jiffies, start + 10 * HZ));
}

/* What a case found when it started: what it must leave behind. */
static struct ka_kunit_state {
	unsigned long objs_out, pages_held, live;
} ka_kunit_start;

/* Allocations not yet freed, as ka's counters have them since ka.ko loaded. */
static unsigned long ka_test_live(void)
{
	struct ka_counters c;

	ka_counters_read(&c);
	return c.allocs + c.large_allocs - c.frees - c.large_frees;
}

/*
 * The fixture of every suite in ka_kunit.ko, as mm/kfence/kfence_test.c
 * has one per case: a case starts on a drained ka (magazines flushed,
 * deferred frees done, empty spans and free chunks given back; on generic
 * KASAN the quarantine off and refusals counted, not reported through
 * KASAN: these suites test ka's layers, ka_kasan tests KASAN's view) ...
 */
int ka_kunit_init(struct kunit *test)
{
	ka_kasan_test_mode(true);
	ka_drain();
	ka_kunit_start.objs_out = ka_test_objs_out();
	ka_kunit_start.pages_held = ka_test_pages_held();
	ka_kunit_start.live = ka_test_live();
	return 0;
}

/*
 * ... and must leave it as it found it once drained again: no object
 * out, no page held, as many frees as allocations.  A leak fails the
 * case that leaked, not a later one.
 */
void ka_kunit_exit(struct kunit *test)
{
	ka_drain();
	KUNIT_EXPECT_EQ_MSG(test, ka_test_objs_out(), ka_kunit_start.objs_out,
			    "objects left out");
	KUNIT_EXPECT_EQ_MSG(test, ka_test_pages_held(),
			    ka_kunit_start.pages_held, "pages left held");
	KUNIT_EXPECT_EQ_MSG(test, ka_test_live(), ka_kunit_start.live,
			    "allocations not freed");
	ka_kasan_test_mode(false);
}

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for ka");
