// SPDX-License-Identifier: GPL-2.0
/*
 * The harness over ka (see harness.h).
 *
 * ka runs whole, as the module does: ut_init() is ka_init()'s sequence
 * (size classes, arena map, nodes, the per-CPU caches of mcache.c, the API
 * hooks) and ut_exit() ka_exit()'s, on the shim's CPUs; ut_alloc() and
 * ut_free() are ka_alloc() and ka_free() called on the CPU they name.
 *
 * Every object a client holds is "claimed" in a shadow map of the region,
 * one bit per 8 bytes, from the moment ka hands it out until just before
 * it is freed: a claim of a bit already set is two clients owning the
 * same memory.  Per node and class the harness counts the objects clients
 * hold, which check.c compares with what the spans, the magazines and
 * mcentral account for.
 *
 * Locks: none of its own; the shadow map and counters are atomics, an
 * object is claimed and unclaimed by the one thread that holds it.
 */
#include <stdlib.h>
#include "harness.h"
#include "ka_debug.h"
#include "profile.h"
#include <linux/random.h>

unsigned long ut_refused;
__thread unsigned long ut_my_refused;
__thread const char *ut_refusal;
bool ut_paranoid;
bool ut_quiet;
bool ut_layers_only;
int ut_nr_cpus = UT_CPUS;

static unsigned long *ut_shadow_out, *ut_shadow_start;
static unsigned long ut_out[MAX_NUMNODES][KA_MAX_CLASSES];
static unsigned long ut_large[MAX_NUMNODES];
static unsigned long ut_problems;

#define UT_GRAIN	8

/* A harness check failed: say where, count it, stop if WARNs are fatal. */
#define ut_bug(fmt, ...) do {						\
	ut_err("BUG: " fmt, ##__VA_ARGS__);				\
	__atomic_add_fetch(&ut_problems, 1, __ATOMIC_RELAXED);		\
	shim_warn(__FILE__, __LINE__, "harness check");			\
} while (0)

/*
 * profile.c (debugfs files, stack traces) is not built in userspace: its
 * keys stay off, so api.c's and cache.c's sampling and their slow-path
 * free hooks are never taken; reaching them is a harness failure.
 */
DEFINE_STATIC_KEY_FALSE(ka_prof_key);
DEFINE_STATIC_KEY_FALSE(ka_prof_free_key);
DEFINE_PER_CPU(long, ka_prof_left);

void *ka_prof_sample(void *p, size_t size, size_t objsize, int node)
{
	ut_bug("heap profile sample with profile.c not built");
	return p;
}

void *ka_prof_sample_cache(void *p, size_t size, int node, const char *name)
{
	ut_bug("heap profile sample with profile.c not built");
	return p;
}

void ka_prof_free(struct ka_span *span, const void *p)
{
	ut_bug("heap profile free with profile.c not built");
}

/* ---- shadow map ---- */

static bool ut_in_region(const void *p)
{
	return (unsigned long)p - PAGE_OFFSET < shim_region_bytes();
}

static unsigned long ut_grain(const void *p)
{
	return ((unsigned long)p - PAGE_OFFSET) / UT_GRAIN;
}

/* Set (or clear) the bits of [g, g + n); false if one was already so. */
static bool ut_shadow_update(unsigned long *map, unsigned long g,
			     unsigned long n, bool set)
{
	bool ok = true;

	while (n) {
		unsigned int bit = g % BITS_PER_LONG;
		unsigned int len = min_t(unsigned long, n, BITS_PER_LONG - bit);
		unsigned long mask = (len == BITS_PER_LONG ? ~0UL :
				      (BIT(len) - 1)) << bit;
		unsigned long old, *w = &map[g / BITS_PER_LONG];

		if (set)
			old = __atomic_fetch_or(w, mask, __ATOMIC_RELAXED);
		else
			old = __atomic_fetch_and(w, ~mask, __ATOMIC_RELAXED);
		if ((old & mask) != (set ? 0 : mask))
			ok = false;
		g += len;
		n -= len;
	}
	return ok;
}

static bool ut_shadow_test(unsigned long *map, const void *p)
{
	unsigned long g = ut_grain(p);

	return ut_in_region(p) &&
	       (__atomic_load_n(&map[g / BITS_PER_LONG], __ATOMIC_RELAXED) &
		BIT(g % BITS_PER_LONG));
}

/* Is @p the start of an object a client holds? */
bool ut_is_out(const void *p)
{
	return !((unsigned long)p % UT_GRAIN) &&
	       ut_shadow_test(ut_shadow_start, p);
}

/* Independent of ka_span_obj_ok(): is @p an object of @span? */
bool ut_obj_valid(const struct ka_span *span, const void *p)
{
	unsigned long off = (unsigned long)p - (unsigned long)span->base;
	/* racing readers (the stress's lookups) read it as ka_free() does */
	unsigned int state = READ_ONCE(span->state);

	if (state == KA_SPAN_LARGE)
		return off == 0;
	return state == KA_SPAN_SMALL && off % span->elemsize == 0 &&
	       off / span->elemsize < span->nelems;
}

/*
 * ka handed @p out for @size bytes (@node: the node asked for, or
 * NUMA_NO_NODE): check it and claim it.  Context: the thread that got it.
 */
static void ut_claim(const void *p, size_t size, int node)
{
	struct ka_span *span;
	unsigned long g = ut_grain(p), n;

	rcu_read_lock();
	span = ka_span_of(p);
	if (!span || !ut_obj_valid(span, p)) {
		rcu_read_unlock();
		ut_bug("%p handed out is no object", p);
		return;
	}
	if (span->elemsize < size || (node != NUMA_NO_NODE && span->node != node) ||
	    (span->state == KA_SPAN_SMALL && !span->cache &&
	     span->cls != ka_size_class(size)))
		ut_bug("%p handed out for %zu bytes of node %d: span %p base %p class %u (%u bytes) node %d state %u",
		       p, size, node, span, span->base, span->cls,
		       span->elemsize, span->node, span->state);
	if (ut_paranoid && span->state == KA_SPAN_SMALL) {
		unsigned int idx = ka_span_index(span, p);

		/* single-threaded callers only: the bitmaps are their owners' */
		if (!test_bit(idx, span->allocbits))
			ut_bug("%p handed out but free in its span's bitmap", p);
		if (test_bit(idx, ka_span_rfree(span)))
			ut_bug("%p handed out while freed into its remote bitmap", p);
	}
	n = span->elemsize / UT_GRAIN;
	if (!ut_shadow_update(ut_shadow_out, g, n, true))
		ut_bug("%p (%u bytes) overlaps an object already out", p,
		       span->elemsize);
	ut_shadow_update(ut_shadow_start, g, 1, true);
	if (span->state == KA_SPAN_LARGE)
		__atomic_add_fetch(&ut_large[span->node], 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&ut_out[span->node][span->cls], 1,
				   __ATOMIC_RELAXED);
	rcu_read_unlock();
}

void ut_claim_obj(const void *p, size_t size)
{
	ut_claim(p, size, NUMA_NO_NODE);
}

/* A held object is about to be freed: false if @p is none. */
bool ut_unclaim_obj(const void *p)
{
	struct ka_span *span;
	unsigned long g = ut_grain(p);

	if (!ut_is_out(p))
		return false;
	rcu_read_lock();
	span = ka_span_of(p);
	if (!span || !ut_obj_valid(span, p)) {
		rcu_read_unlock();
		ut_bug("%p held is no object", p);
		return false;
	}
	if (!ut_shadow_update(ut_shadow_start, g, 1, false) ||
	    !ut_shadow_update(ut_shadow_out, g, span->elemsize / UT_GRAIN,
			      false))
		ut_bug("%p given back was not out", p);
	if (span->state == KA_SPAN_LARGE)
		__atomic_sub_fetch(&ut_large[span->node], 1, __ATOMIC_RELAXED);
	else
		__atomic_sub_fetch(&ut_out[span->node][span->cls], 1,
				   __ATOMIC_RELAXED);
	rcu_read_unlock();
	return true;
}

size_t ut_out_size(const void *p)
{
	struct ka_span *span;
	size_t size = 0;

	if (!ut_is_out(p))
		return 0;
	rcu_read_lock();
	span = ka_span_of(p);
	if (span)
		size = span->elemsize;
	rcu_read_unlock();
	return size;
}

unsigned long ut_model_out(int node, unsigned int cls)
{
	if (cls == KA_MAX_CLASSES)
		return __atomic_load_n(&ut_large[node], __ATOMIC_RELAXED);
	return __atomic_load_n(&ut_out[node][cls], __ATOMIC_RELAXED);
}

unsigned long ut_out_objects(void)
{
	unsigned long n = 0;
	unsigned int cls;
	int nid;

	for_each_node(nid) {
		n += __atomic_load_n(&ut_large[nid], __ATOMIC_RELAXED);
		for (cls = 0; cls < KA_MAX_CLASSES; cls++)
			n += __atomic_load_n(&ut_out[nid][cls],
					     __ATOMIC_RELAXED);
	}
	return n;
}

unsigned long ut_ka_refused(void)
{
	unsigned long n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += READ_ONCE(per_cpu(ka_report_counts, cpu).refused);
	return n;
}

/*
 * The early scavenger passes the heaps asked for (mheap.c's ka_scav_kick(),
 * counted in heap->scav_kicks): utest runs no background work, memsim
 * runs the pass they ask for (its tick).
 */
unsigned long ut_scav_kicks(void)
{
	unsigned long n = 0;
	int nid;

	for_each_node(nid)
		if (ka_nodes[nid])	/* memsim's other models run no ka */
			n += READ_ONCE(ka_mheap_of(nid)->scav_kicks);
	return n;
}

/* ---- setup ---- */

/*
 * ka_init()'s sequence.  The calling thread runs on CPU 0 from here on
 * unless it moves (shim_run_on()); the other threads of a test enter a
 * CPU themselves.
 */
int ut_init(void)
{
	static bool classes_done;
	int nid, ret;

	shim_init();
	shim_cpu_init(ut_nr_cpus, nr_node_ids);
	if (shim_task.cpu < 0)
		shim_cpu_enter(0);
	if (!classes_done) {
		size_t words = shim_region_bytes() / UT_GRAIN / BITS_PER_LONG;

		ret = ka_sizeclass_init();
		if (ret)
			return ret;
		ut_shadow_out = calloc(words, sizeof(long));
		ut_shadow_start = calloc(words, sizeof(long));
		if (!ut_shadow_out || !ut_shadow_start)
			return -ENOMEM;
		classes_done = true;
	}
	shim_fault_reset();
	ut_refused = 0;
	ut_problems = 0;
	ka_freetag_key = get_random_long();
	ka_debug_init();
	ret = ka_arena_init();
	if (ret)
		return ret;
	/* as main.c's ka_nodes_alloc() */
	for_each_node(nid) {
		struct ka_node *n = aligned_alloc(64, sizeof(*n));

		if (!n)
			return -ENOMEM;
		memset(n, 0, sizeof(*n));
		ka_node_init(n, nid);
		ka_nodes[nid] = n;
	}
	if (ut_layers_only)
		return 0;
	/* the default budget, derived again (a test may have set one) */
	ka_pcpu_budget = ULONG_MAX;
	ret = ka_mcache_init();
	if (ret)
		return ret;
	ka_api_init();
	return ka_cache_init();
}

/*
 * Tear everything down, as module exit does; every thread but the
 * caller has left ka.  Return the number of problems: objects or pages
 * still held, metadata not freed.
 */
unsigned long ut_exit(void)
{
	unsigned long problems = 0, n;
	unsigned int cls;
	int nid;

	shim_fault_reset();
	if (!ut_layers_only) {
		ka_api_exit();
		ka_cache_exit();
		ka_mcache_exit();
	}
	for_each_node(nid) {
		struct ka_node *node = ka_nodes[nid];

		for (cls = 0; cls < KA_MAX_CLASSES; cls++) {
			struct ka_mcentral *c = &node->central[cls];

			if (!list_empty(&c->owned)) {
				ut_err("node %d class %u: %lu spans still owned after the CPUs gave theirs back",
				       nid, cls, c->nr_owned);
				problems++;
			}
			ka_mcentral_release(c, 0);
			n = ka_span_teardown_list(&c->partial, false) +
			    ka_span_teardown_list(&c->full, false) +
			    ka_span_teardown_list(&c->owned, false);
			if (n) {
				ut_err("node %d class %u: %lu objects never freed",
				       nid, cls, n);
				problems++;
			}
		}
		n = ka_span_teardown_list(&node->heap.large, false);
		if (n) {
			ut_err("node %d: %lu large objects never freed", nid, n);
			problems++;
		}
		ka_large_trim(&node->heap, false);
		ka_mheap_release(&node->heap, 0);
		if (node->heap.pages_held || node->heap.nr_chunks) {
			ut_err("node %d: %lu pages in %lu chunks held after release",
			       nid, node->heap.pages_held, node->heap.nr_chunks);
			problems++;
		}
		free(node);
		ka_nodes[nid] = NULL;
	}
	shim_rcu_barrier();
	ka_arena_exit();
	if (shim_stats.pages_out || shim_stats.meta_live ||
	    shim_stats.rcu_pending || shim_stats.kv_live) {
		ut_err("after exit: %lu pages, %lu metadata objects, %lu kvmalloc objects, %lu RCU frees outstanding",
		       shim_stats.pages_out, shim_stats.meta_live,
		       shim_stats.kv_live, shim_stats.rcu_pending);
		problems++;
	}
	if (ut_out_objects()) {
		size_t words = shim_region_bytes() / UT_GRAIN / BITS_PER_LONG;

		problems++;
		memset(ut_shadow_out, 0, words * sizeof(long));
		memset(ut_shadow_start, 0, words * sizeof(long));
		memset(ut_out, 0, sizeof(ut_out));
		memset(ut_large, 0, sizeof(ut_large));
	}
	return problems + ut_problems;
}

void ut_cpu_init(struct ut_cpu *cpu, int id, int node)
{
	cpu->id = id;
	cpu->node = cpu_to_node(id);
	WARN_ON(cpu->node != node);
}

/* ---- ka's API, on a CPU ---- */

/* The calling thread runs on @cpu, between two calls into ka. */
static void ut_on(struct ut_cpu *cpu)
{
	if (cpu)
		shim_run_on(cpu->id);
}

/* Did ka report a refused free while this thread ran @errs_before..now? */
static bool ut_was_refused(unsigned long errs_before)
{
	if (shim_nr_errors == errs_before)
		return false;
	ut_refusal = shim_last_msg;
	ut_my_refused++;
	__atomic_add_fetch(&ut_refused, 1, __ATOMIC_RELAXED);
	return true;
}

void *ut_alloc(struct ut_cpu *cpu, size_t size, gfp_t gfp)
{
	void *p;

	ut_on(cpu);
	p = ka_alloc(size, gfp);
	if (!ZERO_OR_NULL_PTR(p))
		ut_claim(p, size, NUMA_NO_NODE);
	else if (!size && p != ZERO_SIZE_PTR)
		ut_bug("ka_alloc(0) gave %p", p);
	return p;
}

/*
 * ka_alloc_node() must give @node's object even to a task that moved to
 * another node's CPU inside ka (a preemption point, shim_sched.migrate):
 * such calls are counted, and every object's node is checked
 * (ut_claim()).
 */
unsigned long ut_node_moved;

void *ut_alloc_node(int node, size_t size, gfp_t gfp)
{
	unsigned long moves = shim_task.moves;
	void *p = ka_alloc_node(size, gfp, node);

	/* counted only: ka_alloc_node() reads the node where it cannot move */
	if (shim_task.moves != moves)
		__atomic_add_fetch(&ut_node_moved, 1, __ATOMIC_RELAXED);
	if (!ZERO_OR_NULL_PTR(p))
		ut_claim(p, size, node);
	return p;
}

int ut_alloc_bulk(struct ut_cpu *cpu, size_t size, gfp_t gfp, size_t nr,
		  void **p)
{
	int n, i;

	ut_on(cpu);
	n = ka_alloc_bulk(size, gfp, nr, p);
	if (n && n != (int)nr)
		ut_bug("ka_alloc_bulk() of %zu gave %d", nr, n);
	for (i = 0; i < n; i++)
		if (!ZERO_OR_NULL_PTR(p[i]))
			ut_claim(p[i], size, NUMA_NO_NODE);
	return n;
}

/* ka_free() on @cpu: the object unclaimed first (it may be reused at once). */
enum ut_free_res ut_free(struct ut_cpu *cpu, const void *p)
{
	unsigned long errs = shim_nr_errors;
	struct ka_span *span;
	bool large = false;

	ut_on(cpu);
	if (ut_is_out(p)) {
		rcu_read_lock();
		span = ka_span_of(p);
		large = span && READ_ONCE(span->state) == KA_SPAN_LARGE;
		rcu_read_unlock();
		ut_unclaim_obj(p);
	}
	ka_free(p);
	if (ut_was_refused(errs))
		return UT_REFUSED;
	return large ? UT_FREED_LARGE : UT_FREED_CACHE;
}

void ut_free_bulk(struct ut_cpu *cpu, size_t nr, void **p)
{
	unsigned long errs = shim_nr_errors;
	size_t i;

	ut_on(cpu);
	for (i = 0; i < nr; i++)
		ut_unclaim_obj(p[i]);
	ka_free_bulk(nr, p);
	while (ut_was_refused(errs))
		errs++;
}

/* The @n oldest objects of @cpu's magazine of @cls back, owning them. */
void ut_flush_mag(struct ut_cpu *cpu, unsigned int cls, unsigned int n)
{
	ut_on(cpu);
	ka_mcache_lock(ka_mcache);
	ka_mcache_flush_class(this_cpu_ptr(ka_mcache),
			      this_cpu_ptr(&ka_mcache->mag[cls]), cls, n);
	ka_mcache_unlock(ka_mcache);
}

/* Every magazine of @cpu back (its spans stay its own). */
void ut_flush_cpu(struct ut_cpu *cpu)
{
	ut_on(cpu);
	ka_mcache_lock(ka_mcache);
	ka_mcache_flush_cpu(this_cpu_ptr(ka_mcache));
	ka_mcache_unlock(ka_mcache);
}

/* ka_drain() without the RCU and KASAN parts: every CPU gives all back. */
void ut_drain(void)
{
	ka_mcache_drain_all();
	ut_release_all(0);
}

/* ka_free()'s checks.  Context: RCU read-side section. */
struct ka_span *ut_check_ptr(const void *p, const char **why)
{
	return ka_span_check(p, why);
}

void ut_release_all(unsigned long keep)
{
	unsigned int cls;
	int nid;

	for_each_node(nid) {
		for (cls = 1; cls < ka_nr_classes; cls++)
			ka_mcentral_release(ka_mcentral_of(nid, cls), keep);
		ka_large_trim(ka_mheap_of(nid), false);
		ka_mheap_release(ka_mheap_of(nid), keep);
	}
}
