// SPDX-License-Identifier: GPL-2.0
/*
 * The harness over ka's layers (see harness.h).
 *
 * Every object that leaves a span (mcentral refill, a large span) is
 * "claimed" in a shadow map of the region, one bit per 8 bytes, and
 * "released" just before it goes back (mcentral flush, span destroy): a
 * claim of a bit already set is two owners of the same memory.  Per node
 * and class the harness counts its claims, which must match mcentral's
 * objs_out.  Objects sitting in an emulated magazine stay claimed, as they
 * stay out of their span.
 */
#include <stdlib.h>
#include "harness.h"

unsigned long ut_refused;
__thread unsigned long ut_my_refused;
__thread const char *ut_refusal;
bool ut_paranoid;
bool ut_quiet;

struct ka_node *ka_nodes[MAX_NUMNODES];

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

void ka_report_bad_free(const void *p, const char *why, unsigned long caller)
{
	__atomic_add_fetch(&ut_refused, 1, __ATOMIC_RELAXED);
	ut_my_refused++;
	ut_refusal = why;
}

void ka_report_double_free(const void *p, const char *why,
			   unsigned long caller)
{
	ka_report_bad_free(p, why, caller);
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

bool ut_is_out(const void *p)
{
	return ut_shadow_test(ut_shadow_start, p);
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

/* Check an object leaving its span (@span->lock not held) and claim it. */
static void ut_claim(struct ka_span *span, const void *p, int node,
		     unsigned int cls)
{
	unsigned long g = ut_grain(p), n = span->elemsize / UT_GRAIN;

	if (!ut_obj_valid(span, p) || span->node != node || span->cls != cls)
		ut_bug("%p handed out is no object of class %u node %d (span %p base %p class %u node %d state %u)",
		       p, cls, node, span, span->base, span->cls, span->node,
		       span->state);
	if (ut_paranoid && span->state == KA_SPAN_SMALL) {
		struct ka_central *c = ka_central_of(node, cls);
		bool out;

		spin_lock(&c->lock);
		out = test_bit(((char *)p - (char *)span->base) / span->elemsize,
			       span->allocbits);
		spin_unlock(&c->lock);
		if (!out)
			ut_bug("%p handed out but free in its span's bitmap", p);
	}
	if (!ut_shadow_update(ut_shadow_out, g, n, true))
		ut_bug("%p (%u bytes) overlaps an object already out", p,
		       span->elemsize);
	ut_shadow_update(ut_shadow_start, g, 1, true);
	if (span->state == KA_SPAN_LARGE)
		__atomic_add_fetch(&ut_large[node], 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&ut_out[node][cls], 1, __ATOMIC_RELAXED);
}

/* An object about to go back to its span. */
static void ut_unclaim(const void *p)
{
	struct ka_span *span;
	unsigned long g = ut_grain(p);

	rcu_read_lock();
	span = ka_span_of(p);
	if (!span || !ut_obj_valid(span, p)) {
		rcu_read_unlock();
		ut_bug("%p given back is no object", p);
		return;
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

/*
 * main.c's ka_scav_kick(): utest has no background scavenger; the asks
 * are counted, and memsim runs the pass they ask for (its tick).
 */
unsigned long ut_scav_kicks;

void ka_scav_kick(void)
{
	__atomic_add_fetch(&ut_scav_kicks, 1, __ATOMIC_RELAXED);
}

/* ---- setup ---- */

int ut_init(void)
{
	static bool classes_done;
	int nid, ret;

	shim_init();
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
	return 0;
}

/*
 * Tear everything down, as module exit does; the caller has flushed its
 * CPUs.  Return the number of problems: objects or pages still held,
 * metadata not freed.
 */
unsigned long ut_exit(void)
{
	unsigned long problems = 0, n;
	unsigned int cls;
	int nid;

	shim_fault_reset();
	for_each_node(nid) {
		struct ka_node *node = ka_nodes[nid];

		for (cls = 0; cls < KA_MAX_CLASSES; cls++) {
			struct ka_central *c = &node->central[cls];

			ka_central_release(c, 0);
			n = ka_span_teardown_list(&c->partial) +
			    ka_span_teardown_list(&c->full);
			if (n) {
				ut_err("node %d class %u: %lu objects never freed",
				       nid, cls, n);
				problems++;
			}
		}
		n = ka_span_teardown_list(&node->heap.large);
		if (n) {
			ut_err("node %d: %lu large objects never freed", nid, n);
			problems++;
		}
		ka_heap_release(&node->heap, 0);
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
	    shim_stats.rcu_pending) {
		ut_err("after exit: %lu pages, %lu metadata objects, %lu RCU frees outstanding",
		       shim_stats.pages_out, shim_stats.meta_live,
		       shim_stats.rcu_pending);
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
	memset(cpu, 0, sizeof(*cpu));
	cpu->id = id;
	cpu->node = node;
}

/* ---- the per-CPU cache layer, emulated ---- */

static unsigned int ut_cap(unsigned int cls)
{
	return ka_classes[cls].cache_max;
}

void ut_flush_mag(struct ut_cpu *cpu, unsigned int cls, unsigned int n)
{
	struct ut_mag *m = &cpu->mag[cls];
	unsigned int i;

	n = min(n, m->count);
	if (!n)
		return;
	for (i = 0; i < n; i++)
		ut_unclaim(m->objs[i]);
	ka_central_flush(m->objs, n);
	m->count -= n;
	memmove(m->objs, m->objs + n, m->count * sizeof(void *));
}

void ut_flush_cpu(struct ut_cpu *cpu)
{
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++)
		ut_flush_mag(cpu, cls, cpu->mag[cls].count);
	__atomic_store_n(&cpu->flush_req, 0, __ATOMIC_RELAXED);
}

/* Take up to @n objects of @cls from @node's mcentral and claim them. */
static unsigned int ut_refill(int node, unsigned int cls, void **objs,
			      unsigned int n, gfp_t gfp)
{
	unsigned int got, i;

	got = ka_central_refill(ka_central_of(node, cls), objs, n, gfp);
	if (got > n)
		ut_bug("refill of %u gave %u", n, got);
	rcu_read_lock();
	for (i = 0; i < got; i++) {
		struct ka_span *span = ka_span_of(objs[i]);

		if (!span)
			ut_bug("refill gave %p, in no span", objs[i]);
		else
			ut_claim(span, objs[i], node, cls);
	}
	rcu_read_unlock();
	return got;
}

static unsigned int ut_class_of(size_t size)
{
	unsigned int cls = ka_size_class(size);

	if (cls < 1 || cls >= ka_nr_classes || ka_classes[cls].size < size ||
	    (cls > 1 && ka_classes[cls - 1].size >= size))
		ut_bug("size %zu maps to class %u", size, cls);
	return cls;
}

static void *ut_alloc_large(size_t size, int node, gfp_t gfp)
{
	struct ka_span *span;

	if (size > KA_MAX_SIZE)
		return NULL;
	/* as ka_alloc_large(): a cached span first */
	span = ka_heap_large_get(ka_heap_of(node), size);
	if (!span)
		span = ka_span_new_large(size, node, gfp);
	if (!span)
		return NULL;
	if (span->reqsize != size || span->elemsize < size)
		ut_bug("large span of %zu bytes: reqsize %zu elemsize %u",
		       size, span->reqsize, span->elemsize);
	ut_claim(span, span->base, node, 0);
	return span->base;
}

void *ut_alloc(struct ut_cpu *cpu, size_t size, gfp_t gfp)
{
	void *batch[KA_BATCH_MAX];
	struct ut_mag *m;
	unsigned int cls, n, i;

	if (!size)
		return ZERO_SIZE_PTR;
	if (size > KA_MAX_SMALL_SIZE)
		return ut_alloc_large(size, cpu->node, gfp);
	cls = ut_class_of(size);
	m = &cpu->mag[cls];
	if (m->count)
		return m->objs[--m->count];
	n = ut_refill(cpu->node, cls, batch, ka_classes[cls].batch, gfp);
	if (!n)
		return NULL;
	/* pop order = ascending addresses, as the span gave them */
	for (i = n - 1; i > 0 && m->count < ut_cap(cls); i--)
		m->objs[m->count++] = batch[i];
	if (i) {
		for (n = 1; n <= i; n++)
			ut_unclaim(batch[n]);
		ka_central_flush(batch + 1, i);
	}
	return batch[0];
}

void *ut_alloc_node(int node, size_t size, gfp_t gfp)
{
	void *p;

	if (size > KA_MAX_SMALL_SIZE)
		return ut_alloc_large(size, node, gfp);
	if (!ut_refill(node, ut_class_of(size), &p, 1, gfp))
		return NULL;
	return p;
}

/* ka_alloc_bulk(): all or nothing, the magazine first. */
int ut_alloc_bulk(struct ut_cpu *cpu, size_t size, gfp_t gfp, size_t nr,
		  void **p)
{
	struct ut_mag *m;
	unsigned int cls;
	size_t got = 0, i;

	if (!nr || !size || size > KA_MAX_SMALL_SIZE) {
		for (i = 0; i < nr; i++) {
			p[i] = ut_alloc(cpu, size, gfp);
			if (!p[i]) {
				while (i--)
					ut_free(cpu, p[i]);
				return 0;
			}
		}
		return nr;
	}
	cls = ut_class_of(size);
	m = &cpu->mag[cls];
	while (got < nr && m->count)
		p[got++] = m->objs[--m->count];
	while (got < nr) {
		unsigned int n = ut_refill(cpu->node, cls, p + got,
					   min_t(size_t, nr - got, UINT_MAX),
					   gfp);

		if (!n) {
			for (i = 0; i < got; i++)
				ut_unclaim(p[i]);
			ka_central_flush(p, got);
			return 0;
		}
		got += n;
	}
	return nr;
}

/* ka_free()'s checks.  Context: RCU read-side section. */
struct ka_span *ut_check_ptr(const void *p, const char **why)
{
	return ka_span_check(p, why);
}

/* ka_free() on @cpu: refuse what is no object, cache local objects. */
enum ut_free_res ut_free(struct ut_cpu *cpu, const void *p)
{
	struct ka_span *span;
	struct ut_mag *m;
	const char *why;
	unsigned int cls;

	if (ZERO_OR_NULL_PTR(p))
		return UT_FREED_CACHE;
	rcu_read_lock();	/* ka_free()'s local lock: irqs off */
	span = ut_check_ptr(p, &why);
	if (!span) {
		rcu_read_unlock();
		ka_report_bad_free(p, why, 0);
		return UT_REFUSED;
	}
	if (READ_ONCE(span->state) == KA_SPAN_LARGE) {
		bool ok;

		ut_unclaim(p);
		ok = ka_heap_large_put(ka_heap_of(span->node), span);
		rcu_read_unlock();
		if (!ok) {
			ka_report_bad_free(p, "double free of a large object", 0);
			return UT_REFUSED;
		}
		return UT_FREED_LARGE;
	}
	if (span->node != cpu->node) {
		rcu_read_unlock();
		ut_unclaim(p);
		ka_central_flush((void **)&p, 1);
		return UT_FREED_REMOTE;
	}
	cls = span->cls;
	rcu_read_unlock();
	m = &cpu->mag[cls];
	if (m->count == ut_cap(cls))
		ut_flush_mag(cpu, cls, ka_classes[cls].batch);
	m->objs[m->count++] = (void *)p;
	return UT_FREED_CACHE;
}

void ut_release_all(unsigned long keep)
{
	unsigned int cls;
	int nid;

	for_each_node(nid) {
		for (cls = 1; cls < ka_nr_classes; cls++)
			ka_central_release(ka_central_of(nid, cls), keep);
		ka_heap_release(ka_heap_of(nid), keep);
	}
}
