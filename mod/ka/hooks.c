// SPDX-License-Identifier: GPL-2.0
/*
 * ka hooks and reports: what every layer shares about the objects it hands
 * out and takes back, beneath the API (api.c) and the caches (cache.c).
 *
 * The hook keys that send the hit paths to their out-of-line variants
 * (api.c and cache.c take and drop their references; the tracepoints'
 * registration too), the kmemleak parameter, the reports of refused and
 * double frees (spans, mcentral, the per-CPU caches, the API and KASAN
 * call them) - on generic KASAN each also a KASAN report - KASAN's marking
 * of a new object's bytes, and what an API call's node argument stands
 * for.
 *
 * Owns: ka_alloc_hooks_key, ka_free_hooks_key, ka_cache_alloc_hooks_key,
 * the kmemleak parameter, the refusal messages' rate limit and count
 * (ka_report_counts, per CPU); on generic KASAN the count of refusals kept
 * out of KASAN's reports while ka's own suites run (ka_report_quiet()).
 * Locks: none; the reports count with this_cpu_inc() and may be called
 * from any context.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/ratelimit.h>
#include "hooks.h"
#include "ka_internal.h"

static DEFINE_RATELIMIT_STATE(ka_bad_free_rs, 5 * HZ, 10);
DEFINE_PER_CPU(struct ka_report_counts, ka_report_counts);

/*
 * Anything that must see each allocation or free (init_on_alloc/free,
 * debug mode, the ka_alloc/ka_free tracepoints) enables one of these, and
 * the hit paths then take their out-of-line variant: one static branch
 * each, a nop when nothing is on.
 */
DEFINE_STATIC_KEY_FALSE(ka_alloc_hooks_key);
DEFINE_STATIC_KEY_FALSE(ka_free_hooks_key);
/*
 * ka_cache_alloc()'s one key: a reference for the hooks of ka_alloc()'s
 * key that caches run too (api.c), and one while the heap profile samples
 * (profile.c), so that its count-down costs the cache hit path nothing
 * while off.
 */
DEFINE_STATIC_KEY_FALSE(ka_cache_alloc_hooks_key);

/*
 * With CONFIG_DEBUG_KMEMLEAK every object is registered with kmemleak, so
 * that a client's leaks are reported and pointers stored in ka objects are
 * scanned; that is a hook on every allocation and free.  kmemleak=0 turns
 * it off (and the hit paths back on), e.g. to test them on a debug kernel.
 */
bool ka_kmemleak = IS_ENABLED(CONFIG_DEBUG_KMEMLEAK);
module_param_named(kmemleak, ka_kmemleak, bool, 0444);
MODULE_PARM_DESC(kmemleak, "register objects with kmemleak (CONFIG_DEBUG_KMEMLEAK only; default on)");

#if IS_ENABLED(CONFIG_KASAN_GENERIC)
/*
 * Generic KASAN: a refused pointer draws a KASAN report too.  KASAN's own
 * kasan_report_invalid_free() and kasan_report() are not exported (6.1,
 * 6.12), but the compiler's report entry __asan_report_store1_noabort()
 * is (EXPORT_SYMBOL, both; mm/kasan/kasan.h declares it): it reports a
 * one-byte write at the pointer, titled by its shadow ("use-after-free"
 * for a double free, the state of the granule for an invalid pointer),
 * with the caller's stack; ka's own message follows with the reason.
 * While a test of ka's own suites runs (ka_report_quiet(), from
 * kasan.c's ka_kasan_test_mode()), refusals are counted instead, as
 * slub_kunit's "slab_errors" silence SLUB's reports.
 */
void __asan_report_store1_noabort(void *addr);

static atomic_t ka_report_quieted_on = ATOMIC_INIT(0);
static atomic_long_t ka_report_quieted = ATOMIC_LONG_INIT(0);

/* One KASAN report: a write of a byte at @p, by our caller's caller. */
static noinline void ka_report_kasan_write(const void *p)
{
	__asan_report_store1_noabort((void *)p);
}

/* A KASAN report for the refused pointer @p, or a count while quiet. */
static void ka_report_kasan(const void *p)
{
	if (atomic_read(&ka_report_quieted_on)) {
		atomic_long_inc(&ka_report_quieted);
		return;
	}
	ka_report_kasan_write(p);
}

/**
 * ka_report_quiet - count refusals instead of reporting them through KASAN
 * @on: entering (true) or leaving a test of ka's own suites
 *
 * Generic KASAN only (kasan.c's ka_kasan_test_mode()).  Calls pair up.
 *
 * Context: any.
 */
void ka_report_quiet(bool on)
{
	if (on)
		atomic_inc(&ka_report_quieted_on);
	else
		atomic_dec(&ka_report_quieted_on);
}

/**
 * ka_report_quieted_count - refusals not reported through KASAN so far
 *
 * Generic KASAN only (debugfs "quarantine": quiet_refusals).
 *
 * Context: any.
 */
unsigned long ka_report_quieted_count(void)
{
	return atomic_long_read(&ka_report_quieted);
}
KA_EXPORT_INTERNAL(ka_report_quieted_count);
#else
static inline void ka_report_kasan(const void *p) { }
#endif

/**
 * ka_report_bad_free - complain about a pointer ka refuses to free
 * @p: the pointer
 * @why: what is wrong with it
 * @caller: return address of the caller of the API, or 0 if unknown
 *
 * Counts the refusal (debugfs "stats": refused_frees) and prints a
 * rate-limited error; on generic KASAN, KASAN reports it first.  ka's
 * state is not touched.
 *
 * Context: any.
 */
void ka_report_bad_free(const void *p, const char *why, unsigned long caller)
{
	this_cpu_inc(ka_report_counts.refused);
	/* generic KASAN: a KASAN report too, so that it counts as one */
	ka_report_kasan(p);
	if (!__ratelimit(&ka_bad_free_rs))
		return;
	if (caller)
		pr_err("refusing %p: %s (caller %pS)\n", p, why,
		       (void *)caller);
	else
		pr_err("refusing %p: %s\n", p, why);
}

/*
 * KASAN: the object @p of a slot of @slot bytes is the client's for @size
 * bytes (the last granule partly); the rest of the slot is a redzone.
 * @slot may be a debug-mode size, which the slot's granules hold.
 */
void ka_hooks_shadow_new(const void *p, size_t size, size_t slot)
{
#if IS_ENABLED(CONFIG_KASAN_GENERIC)
	size_t full = round_down(size, KA_KASAN_GRANULE);
	size_t end = round_up(size, KA_KASAN_GRANULE);

	slot = round_up(slot, KA_KASAN_GRANULE);

	if (full)
		kasan_poison(p, full, 0, false);
	if (end != full)
		kasan_poison(p + full, KA_KASAN_GRANULE, size - full, false);
	if (slot > end)
		kasan_poison(p + end, slot - end, slot > KA_MAX_SMALL_SIZE ?
			     KA_KASAN_PAGE_REDZONE : KA_KASAN_SLAB_REDZONE,
			     false);
#endif
}

/**
 * ka_report_double_free - complain about a second free of an object
 * @p: the object
 * @why: how it was caught
 * @caller: return address of the caller of the API, or 0 if unknown
 *
 * As ka_report_bad_free(), and counted as a double free too (debugfs
 * "stats": double_frees).
 *
 * Context: any.
 */
void ka_report_double_free(const void *p, const char *why,
			   unsigned long caller)
{
	this_cpu_inc(ka_report_counts.double_free);
	ka_report_bad_free(p, why, caller);
}

/**
 * ka_node_norm - the node an API call's @node argument stands for
 * @node: a node, NUMA_NO_NODE, or anything a caller may pass
 *
 * What every entry point that takes a node makes of it: @node if ka has a
 * heap with memory there, else NUMA_NO_NODE (this CPU's node) - a node
 * past the last, a negative one, a node without memory.
 *
 * Context: any.
 * Return: a node with a heap, or NUMA_NO_NODE.
 */
int ka_node_norm(int node)
{
	if (node < 0 || node >= nr_node_ids || !node_state(node, N_MEMORY) ||
	    !ka_nodes[node])
		return NUMA_NO_NODE;
	return node;
}
