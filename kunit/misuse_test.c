// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_misuse: the bad input clients actually pass to ka's
 * exported functions, written from include/ka.h and its kernel-doc.
 *
 * - nodes: past the last, far past it, negative, for small and large
 *   sizes and for caches: each taken as NUMA_NO_NODE, never an oops;
 * - sizes and counts: zero, above KA_MAX_SIZE, SIZE_MAX, products and
 *   bulk counts that overflow, realloc to an impossible size: NULL or 0,
 *   nothing held, the object untouched;
 * - pointers ka never handed out (kmalloc, vmalloc, stack, module data,
 *   interior of a small or large object, a released span, a user-space
 *   address, an error pointer) given to every entry point that takes one:
 *   refused and counted, nothing touched;
 * - double and triple frees through every free entry point, in every
 *   order, and realloc, size, sensitive free and RCU free of freed objects:
 *   refused before ka reads or writes the object, never handed out twice;
 * - a live object whose first word a client copied from a freed one (the
 *   freed object's double-free tag): its free is taken, not refused;
 * - object starts of a span in use that no client holds (in a magazine
 *   since a refill, or free in the span): refused, never handed out twice.
 * After each, neighbours allocated before the misuse keep their contents,
 * and the fixture checks that every object went back.
 *
 * Runs with ka.ko in normal and in debug=1 mode (where debug.c's checks
 * count the refusals) on every KUnit kernel.  No locks of its own.
 */
#include <linux/kasan.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "ka_debug.h"
#include "ka_kunit.h"
#include "../mod/ka_testutil.h"

/* ---- neighbours: objects around a misuse that must keep their bytes ---- */

#define KA_NEIGHBOURS	8

struct ka_neighbours {
	void *p[KA_NEIGHBOURS];
	size_t size;
};

static void ka_neighbours_get(struct kunit *test, struct ka_neighbours *n,
			      size_t size)
{
	unsigned int i;

	n->size = size;
	for (i = 0; i < KA_NEIGHBOURS; i++) {
		n->p[i] = ka_alloc(size, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, n->p[i]);
		ka_test_fill_ends(n->p[i], size, 100 + i, 256, 256);
	}
}

static void ka_neighbours_put(struct kunit *test, struct ka_neighbours *n)
{
	unsigned int i;

	for (i = 0; i < KA_NEIGHBOURS; i++) {
		KUNIT_EXPECT_EQ_MSG(test, ka_test_bad_ends(n->p[i], n->size,
							   100 + i, 256, 256),
				    -1L, "neighbour %u of %zu bytes", i,
				    n->size);
		ka_free(n->p[i]);
	}
}

/* ---- nodes ---- */

static const int ka_bad_nodes[] = {
	MAX_NUMNODES, MAX_NUMNODES + 1, INT_MAX, -2, -100, INT_MIN,
};

static const size_t ka_node_sizes[] = {
	64, 4096, KA_MAX_SMALL_SIZE, 65536, KA_MAX_SIZE,
};

/*
 * Every size, with nodes nr_node_ids and beyond, negative ones and
 * NUMA_NO_NODE: an object, as for NUMA_NO_NODE (ka_alloc_node()'s
 * kernel-doc), and no refusal.  Large sizes oopsed in ka_large_get().
 */
static void ka_misuse_bad_node(struct kunit *test)
{
	unsigned long refused = ka_test_refusals();
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(ka_node_sizes); i++) {
		size_t size = ka_node_sizes[i];

		for (j = 0; j <= ARRAY_SIZE(ka_bad_nodes); j++) {
			int node = j < ARRAY_SIZE(ka_bad_nodes) ?
				   ka_bad_nodes[j] : nr_node_ids;
			u8 *p = ka_alloc_node(size, GFP_KERNEL, node);

			KUNIT_ASSERT_NOT_NULL_MSG(test, p, "%zu bytes, node %d",
						  size, node);
			KUNIT_EXPECT_GE(test, ka_size(p),
					ka_test_usable(size, size));
			ka_test_fill_ends(p, size, j, 128, 128);
			KUNIT_EXPECT_EQ(test, ka_test_bad_ends(p, size, j, 128,
							       128), -1L);
			ka_free(p);
		}
	}
	KUNIT_EXPECT_EQ(test, ka_test_refusals(), refused);
}

/* The same for a cache's objects. */
static void ka_misuse_bad_node_cache(struct kunit *test)
{
	struct ka_cache *c;
	unsigned int j;

	if (ka_debug_on())
		kunit_skip(test, "debug mode refuses caches");
	c = ka_cache_create("ka_misuse_node", 200, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	for (j = 0; j <= ARRAY_SIZE(ka_bad_nodes); j++) {
		int node = j < ARRAY_SIZE(ka_bad_nodes) ? ka_bad_nodes[j] :
			   nr_node_ids;
		void *p = ka_cache_alloc_node(c, GFP_KERNEL, node);

		KUNIT_ASSERT_NOT_NULL_MSG(test, p, "node %d", node);
		ka_test_fill(p, 200, j);
		KUNIT_EXPECT_EQ(test, ka_test_bad(p, 200, j), -1L);
		ka_cache_free(c, p);
	}
	ka_cache_destroy(c);
}

/* ---- sizes and counts ---- */

static void ka_misuse_bad_sizes(struct kunit *test)
{
	unsigned long out = ka_test_objs_out();
	void *v[4] = {}, *p;
	struct ka_cache *c;
	u8 *q;

	KUNIT_EXPECT_PTR_EQ(test, ka_alloc_node(0, GFP_KERNEL, 0),
			    ZERO_SIZE_PTR);
	KUNIT_EXPECT_NULL(test, ka_alloc_node(KA_MAX_SIZE + 1,
					      GFP_KERNEL | __GFP_NOWARN, 0));
	KUNIT_EXPECT_NULL(test, ka_alloc_node(SIZE_MAX,
					      GFP_KERNEL | __GFP_NOWARN,
					      INT_MIN));
	KUNIT_EXPECT_NULL(test, ka_alloc_array(SIZE_MAX, SIZE_MAX, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, ka_alloc_array(2, SIZE_MAX / 2 + 1,
					       GFP_KERNEL));
	/* a count the int return value cannot hold: 0, nothing written */
	KUNIT_EXPECT_EQ(test, ka_alloc_bulk(64, GFP_KERNEL, (size_t)INT_MAX + 1,
					    v), 0);
	KUNIT_EXPECT_EQ(test, ka_alloc_bulk(64, GFP_KERNEL, SIZE_MAX, v), 0);
	KUNIT_EXPECT_NULL(test, v[0]);
	KUNIT_EXPECT_EQ(test, ka_alloc_bulk(KA_MAX_SIZE + 1,
					    GFP_KERNEL | __GFP_NOWARN, 2, v), 0);
	KUNIT_EXPECT_EQ(test, ka_alloc_bulk(64, GFP_KERNEL, 0, v), 0);

	/* realloc to an impossible size: NULL, the object untouched */
	q = ka_alloc(100, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, q);
	ka_test_fill(q, 100, 5);
	KUNIT_EXPECT_NULL(test, ka_realloc(q, KA_MAX_SIZE + 1,
					   GFP_KERNEL | __GFP_NOWARN));
	KUNIT_EXPECT_NULL(test, ka_realloc(q, SIZE_MAX,
					   GFP_KERNEL | __GFP_NOWARN));
	KUNIT_EXPECT_EQ(test, ka_test_bad(q, 100, 5), -1L);
	KUNIT_EXPECT_GE(test, ka_size(q), ka_test_usable(100, 100));
	ka_free(q);

	if (!ka_debug_on()) {
		c = ka_cache_create("ka_misuse_sizes", 48, 0, 0, NULL);
		KUNIT_ASSERT_NOT_NULL(test, c);
		KUNIT_EXPECT_EQ(test, ka_cache_alloc_bulk(c, GFP_KERNEL,
							  (size_t)INT_MAX + 1,
							  v), 0);
		KUNIT_EXPECT_EQ(test, ka_cache_alloc_bulk(c, GFP_KERNEL, 0, v),
				0);
		p = ka_cache_alloc(c, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, p);
		ka_cache_free(c, p);
		ka_cache_destroy(c);
	}
	ka_drain();
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), out);
}

/* ---- pointers ka never handed out, to every entry point ---- */

enum ka_foreign_kind {
	KA_FOREIGN_KMALLOC,
	KA_FOREIGN_VMALLOC,
	KA_FOREIGN_STACK,
	KA_FOREIGN_MODULE_DATA,
	KA_FOREIGN_SMALL_INTERIOR,
	KA_FOREIGN_LARGE_INTERIOR,
	KA_FOREIGN_RELEASED,
	KA_FOREIGN_USER,
	KA_FOREIGN_ERR_PTR,
};

enum ka_entry {
	KA_ENTRY_FREE,
	KA_ENTRY_FREE_BULK,
	KA_ENTRY_FREE_SENSITIVE,
	KA_ENTRY_FREE_RCU,
	KA_ENTRY_SIZE,
	KA_ENTRY_REALLOC,
	KA_ENTRY_CACHE_FREE,
	KA_ENTRY_CACHE_FREE_BULK,
	KA_ENTRY_NR,
};

static const char * const ka_entry_names[] = {
	"ka_free", "ka_free_bulk", "ka_free_sensitive", "ka_free_rcu",
	"ka_size", "ka_realloc", "ka_cache_free", "ka_cache_free_bulk",
};

/*
 * Give @p to entry point @e (@c for the cache ones): true if the call
 * returned what a refusal returns (NULL, 0; the frees return nothing).
 */
static bool ka_misuse_call(enum ka_entry e, void *p, struct ka_cache *c)
{
	void *v[2] = { p, NULL };

	switch (e) {
	case KA_ENTRY_FREE:
		ka_free(p);
		return true;
	case KA_ENTRY_FREE_BULK:
		ka_free_bulk(ARRAY_SIZE(v), v);
		return true;
	case KA_ENTRY_FREE_SENSITIVE:
		ka_free_sensitive(p);
		return true;
	case KA_ENTRY_FREE_RCU:
		ka_free_rcu(p);
		ka_rcu_barrier();
		return true;
	case KA_ENTRY_SIZE:
		return ka_size(p) == 0;
	case KA_ENTRY_REALLOC:
		return ka_realloc(p, 5000, GFP_KERNEL) == NULL;
	case KA_ENTRY_CACHE_FREE:
		ka_cache_free(c, p);
		return true;
	case KA_ENTRY_CACHE_FREE_BULK:
	default:
		ka_cache_free_bulk(c, ARRAY_SIZE(v), v);
		return true;
	}
}

static const char * const ka_foreign_names[] = {
	"kmalloc object", "vmalloc memory", "stack address", "module data",
	"interior of a small object", "interior of a large object",
	"object of a released span", "user-space address", "error pointer",
};

static void ka_foreign_desc(const char * const *name, char *desc)
{
	strscpy(desc, *name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(ka_foreign, ka_foreign_names, ka_foreign_desc);

static void ka_misuse_foreign_pointers(struct kunit *test)
{
	enum ka_foreign_kind kind = (const char * const *)test->param_value -
				    ka_foreign_names;
	struct ka_neighbours nb;
	struct ka_cache *c = NULL;
	unsigned long out, refused;
	u8 snapshot[16];
	void *obj = NULL, *bad;
	int on_stack[4] = { 1, 2, 3, 4 };
	enum ka_entry e;

	if (!ka_debug_on()) {
		c = ka_cache_create("ka_misuse_foreign", 64, 0, 0, NULL);
		KUNIT_ASSERT_NOT_NULL(test, c);
	}
	/* before the bad pointer: a released span's pages may be theirs */
	ka_neighbours_get(test, &nb, 64);
	switch (kind) {
	case KA_FOREIGN_KMALLOC:
		obj = kmalloc(64, GFP_KERNEL);
		bad = obj;
		break;
	case KA_FOREIGN_VMALLOC:
		obj = vmalloc(PAGE_SIZE);
		bad = obj;
		break;
	case KA_FOREIGN_STACK:
		bad = on_stack;
		break;
	case KA_FOREIGN_MODULE_DATA:
		bad = (void *)ka_foreign_names;
		break;
	case KA_FOREIGN_SMALL_INTERIOR:
		obj = ka_alloc(64, GFP_KERNEL);
		bad = obj ? obj + 8 : NULL;
		break;
	case KA_FOREIGN_LARGE_INTERIOR:
		obj = ka_alloc(100000, GFP_KERNEL);
		bad = obj ? obj + PAGE_SIZE + 16 : NULL;
		break;
	case KA_FOREIGN_RELEASED:
		bad = ka_alloc(KA_MAX_SMALL_SIZE, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, bad);
		ka_free(bad);
		ka_drain();
		break;
	case KA_FOREIGN_USER:
		bad = (void *)0x7f0000001000UL;
		break;
	case KA_FOREIGN_ERR_PTR:
	default:
		bad = ERR_PTR(-EINVAL);
		break;
	}
	KUNIT_ASSERT_NOT_NULL(test, bad);
	KUNIT_ASSERT_FALSE_MSG(test, ka_owns(bad), "the bad pointer is a live object");
	if (obj)
		memcpy(snapshot, bad, sizeof(snapshot));
	out = ka_test_objs_out();
	for (e = 0; e < KA_ENTRY_NR; e++) {
		bool cache = e == KA_ENTRY_CACHE_FREE ||
			     e == KA_ENTRY_CACHE_FREE_BULK;

		if (cache && !c)
			continue;
		refused = ka_test_refusals();
		KUNIT_EXPECT_TRUE_MSG(test, ka_misuse_call(e, bad, c),
				      "%s returned an object", ka_entry_names[e]);
		KUNIT_EXPECT_EQ_MSG(test, ka_test_refusals() - refused, 1UL,
				    "%s of %s", ka_entry_names[e],
				    ka_foreign_names[kind]);
		KUNIT_EXPECT_EQ_MSG(test, ka_test_objs_out(), out, "%s",
				    ka_entry_names[e]);
	}
	/* the memory around the pointer was not written */
	if (obj)
		KUNIT_EXPECT_EQ(test, memcmp(snapshot, bad, sizeof(snapshot)), 0);
	KUNIT_EXPECT_EQ(test, on_stack[0] + on_stack[3], 5);
	ka_neighbours_put(test, &nb);
	switch (kind) {
	case KA_FOREIGN_KMALLOC:
		kfree(obj);
		break;
	case KA_FOREIGN_VMALLOC:
		vfree(obj);
		break;
	default:
		ka_free(obj);
		break;
	}
	ka_cache_destroy(c);
}

/* ---- double and triple frees through every entry point ---- */

struct ka_refree {
	const char *name;
	enum ka_entry first, second;
	size_t size;
	bool cache;
};

static const struct ka_refree ka_refrees[] = {
	{ "free, free_sensitive", KA_ENTRY_FREE, KA_ENTRY_FREE_SENSITIVE, 64 },
	{ "free_sensitive twice", KA_ENTRY_FREE_SENSITIVE,
	  KA_ENTRY_FREE_SENSITIVE, 16 },
	{ "free_sensitive, free", KA_ENTRY_FREE_SENSITIVE, KA_ENTRY_FREE, 200 },
	{ "free, realloc", KA_ENTRY_FREE, KA_ENTRY_REALLOC, 201 },
	{ "free, size", KA_ENTRY_FREE, KA_ENTRY_SIZE, 123 },
	{ "free, free_rcu", KA_ENTRY_FREE, KA_ENTRY_FREE_RCU, 96 },
	{ "free_rcu, free", KA_ENTRY_FREE_RCU, KA_ENTRY_FREE, 96 },
	{ "free_bulk, free_bulk", KA_ENTRY_FREE_BULK, KA_ENTRY_FREE_BULK, 512 },
	{ "free, free_bulk", KA_ENTRY_FREE, KA_ENTRY_FREE_BULK, 4096 },
	{ "large: free, free_sensitive", KA_ENTRY_FREE,
	  KA_ENTRY_FREE_SENSITIVE, 70000 },
	{ "large: free, realloc", KA_ENTRY_FREE, KA_ENTRY_REALLOC, 70000 },
	{ "large: free, size", KA_ENTRY_FREE, KA_ENTRY_SIZE, 70000 },
	{ "large: free, free_rcu", KA_ENTRY_FREE, KA_ENTRY_FREE_RCU, 70000 },
	{ "cache: free, free", KA_ENTRY_CACHE_FREE, KA_ENTRY_CACHE_FREE, 48,
	  true },
	{ "cache: free_bulk, ka_free", KA_ENTRY_CACHE_FREE_BULK,
	  KA_ENTRY_FREE, 48, true },
	{ "cache: free, free_sensitive", KA_ENTRY_CACHE_FREE,
	  KA_ENTRY_FREE_SENSITIVE, 48, true },
	{ "cache: ka_free, realloc", KA_ENTRY_FREE, KA_ENTRY_REALLOC, 48,
	  true },
};

static void ka_refree_desc(const struct ka_refree *r, char *desc)
{
	strscpy(desc, r->name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(ka_refree, ka_refrees, ka_refree_desc);

/*
 * Free an object through one entry point, then give it to another, then
 * to the second again (a triple free): both later calls refused, nothing
 * read or written in the freed object (its neighbours intact, no KASAN
 * report), and the object never handed out twice.
 */
static void ka_misuse_double_free(struct kunit *test)
{
	const struct ka_refree *r = test->param_value;
	struct ka_cache *c = NULL;
	struct ka_neighbours nb;
	unsigned long refused;
	u8 *p;

	if (r->cache) {
		if (ka_debug_on())
			kunit_skip(test, "debug mode refuses caches");
		c = ka_cache_create("ka_misuse_refree", r->size, 0, 0, NULL);
		KUNIT_ASSERT_NOT_NULL(test, c);
	}
	migrate_disable();	/* one CPU's magazine throughout */
	ka_neighbours_get(test, &nb, r->size);
	p = c ? ka_cache_alloc(c, GFP_KERNEL) : ka_alloc(r->size, GFP_KERNEL);
	if (!p) {
		KUNIT_FAIL(test, "no object");
		goto out;
	}
	ka_test_fill_ends(p, r->size, 7, 256, 256);
	ka_misuse_call(r->first, p, c);
	refused = ka_test_refusals();
	KUNIT_EXPECT_TRUE(test, ka_misuse_call(r->second, p, c));
	KUNIT_EXPECT_TRUE(test, ka_misuse_call(r->second, p, c));
	KUNIT_EXPECT_EQ_MSG(test, ka_test_refusals() - refused, 2UL,
			    "second and third use refused");
	if (c) {
		/* every object of the cache has one owner */
		void *v[64];
		unsigned int i, twice = 0;

		KUNIT_ASSERT_EQ(test, ka_cache_alloc_bulk(c, GFP_KERNEL,
							  ARRAY_SIZE(v), v),
				(int)ARRAY_SIZE(v));
		for (i = 0; i < ARRAY_SIZE(v); i++)
			twice += v[i] == (void *)p;
		KUNIT_EXPECT_LE(test, twice, 1U);
		ka_cache_free_bulk(c, ARRAY_SIZE(v), v);
	} else {
		ka_test_one_owner(test, r->size, NUMA_NO_NODE, p);
	}
	ka_neighbours_put(test, &nb);
out:
	migrate_enable();
	ka_cache_destroy(c);
}

/* ---- a live object holding a freed object's first word ---- */

/*
 * kmalloc_uaf_16 of the kernel's KASAN suite: a stale read of a freed
 * object copied into a live one carries the freed object's double-free
 * tag.  The live object's free must be taken (it was refused, and the
 * object leaked), as must its ka_size(), ka_realloc() and bulk and cache
 * frees.  Objects of one span, so that the tag is the live object's too.
 */
static void ka_misuse_stale_copy(struct kunit *test)
{
	enum ka_entry e;

	for (e = KA_ENTRY_FREE; e < KA_ENTRY_NR; e++) {
		bool cache = e == KA_ENTRY_CACHE_FREE ||
			     e == KA_ENTRY_CACHE_FREE_BULK;
		struct ka_cache *c = NULL;
		void *a[16], *live = NULL, *dead = NULL, *n;
		unsigned long refused, frees;
		u8 copy[16];
		struct ka_counters k;
		unsigned int i;

		if (e == KA_ENTRY_FREE_RCU)
			continue;	/* as ka_free(), a grace period later */
		if (cache) {
			if (ka_debug_on())
				continue;
			c = ka_cache_create("ka_misuse_stale", 16, 0, 0, NULL);
			KUNIT_ASSERT_NOT_NULL(test, c);
		}
		for (i = 0; i < ARRAY_SIZE(a); i++) {
			a[i] = c ? ka_cache_alloc(c, GFP_KERNEL) :
				   ka_alloc(16, GFP_KERNEL);
			KUNIT_ASSERT_NOT_NULL(test, a[i]);
			memset(a[i], 0x11, 16);
		}
		for (i = 1; i < ARRAY_SIZE(a) && !dead; i++)
			if (ka_test_same_span(a[0], a[i]))
				dead = a[i];
		KUNIT_ASSERT_NOT_NULL_MSG(test, dead, "no two objects of a span");
		live = a[0];
		if (c)
			ka_cache_free(c, dead);
		else
			ka_free(dead);
		/* the client's stale read, copied into its live object */
		kasan_disable_current();
		memcpy(live, dead, 16);
		kasan_enable_current();
		if (!ka_debug_on())
			KUNIT_ASSERT_TRUE_MSG(test, ka_test_tagged(live),
					      "the copy carries no tag");
		refused = ka_test_refusals();
		ka_counters_read(&k);
		frees = k.frees;
		switch (e) {
		case KA_ENTRY_SIZE:
			KUNIT_EXPECT_GE(test, ka_size(live), (size_t)16);
			break;
		case KA_ENTRY_REALLOC:
			memcpy(copy, live, sizeof(copy));
			n = ka_realloc(live, 5000, GFP_KERNEL);
			KUNIT_EXPECT_NOT_NULL(test, n);
			if (n) {
				KUNIT_EXPECT_EQ(test, memcmp(n, copy,
							     sizeof(copy)), 0);
				live = n;
			}
			break;
		default:
			ka_misuse_call(e, live, c);
			ka_counters_read(&k);
			/* a cache's frees are not in ka's counters */
			if (!c)
				KUNIT_EXPECT_EQ_MSG(test, k.frees - frees, 1UL,
						    "%s of the live object",
						    ka_entry_names[e]);
			live = NULL;
			break;
		}
		KUNIT_EXPECT_EQ_MSG(test, ka_test_refusals(), refused,
				    "%s refused a live object",
				    ka_entry_names[e]);
		ka_free(live);	/* a cache's object goes back to it too */
		for (i = 1; i < ARRAY_SIZE(a); i++) {
			if (a[i] == dead)
				continue;
			if (c)
				ka_cache_free(c, a[i]);
			else
				ka_free(a[i]);
		}
		ka_cache_destroy(c);
	}
}

/*
 * Object starts no client holds, of a span in use: the objects a refill
 * moved into this CPU's magazine and those still free in the span, never
 * handed out.  Each free must be refused (they carry the span's tag from
 * its birth), and none may then be handed out twice.  Before the tag was
 * written at the span's birth ka took them for live objects: pushed a
 * second time, or set a remote bit, and handed them out twice.
 */
static void ka_misuse_never_handed_out(struct kunit *test)
{
	static const size_t sizes[] = { 8, 64, 512, 4096 };
	unsigned int si;

	for (si = 0; si < ARRAY_SIZE(sizes); si++) {
		size_t size = sizes[si];
		unsigned long refused, want = 0;
		unsigned int i, j, nelems, elemsize, nr = 0;
		struct ka_span *span;
		char *base, *p;
		void **a;

		p = ka_alloc(size, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, p);
		rcu_read_lock();
		span = ka_span_of(p);
		base = span->base;
		nelems = span->nelems;
		elemsize = span->elemsize;
		rcu_read_unlock();
		a = kunit_kcalloc(test, 2 * nelems + 1, sizeof(*a), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, a);
		refused = ka_test_refusals();
		for (i = 0; i < nelems; i++) {
			char *q = base + (size_t)i * elemsize;

			if (q == p)
				continue;
			ka_free(q);
			want++;
		}
		KUNIT_EXPECT_EQ_MSG(test, ka_test_refusals() - refused, want,
				    "%zu bytes: frees of objects never handed out taken",
				    size);
		/* every object of the span and more: no pointer twice */
		a[nr++] = p;
		for (i = 0; i < 2 * nelems; i++) {
			a[nr] = ka_alloc(size, GFP_KERNEL);
			KUNIT_ASSERT_NOT_NULL(test, a[nr]);
			nr++;
		}
		for (i = 0; i < nr; i++)
			for (j = i + 1; j < nr; j++)
				KUNIT_EXPECT_PTR_NE_MSG(test, a[i], a[j],
							"%zu bytes: handed out twice",
							size);
		for (i = 0; i < nr; i++)
			ka_free(a[i]);
	}
}

static struct kunit_case ka_misuse_cases[] = {
	KUNIT_CASE(ka_misuse_bad_node),
	KUNIT_CASE(ka_misuse_bad_node_cache),
	KUNIT_CASE(ka_misuse_bad_sizes),
	KUNIT_CASE_PARAM(ka_misuse_foreign_pointers, ka_foreign_gen_params),
	KUNIT_CASE_PARAM(ka_misuse_double_free, ka_refree_gen_params),
	KUNIT_CASE(ka_misuse_stale_copy),
	KUNIT_CASE(ka_misuse_never_handed_out),
	{}
};

KA_KUNIT_SUITE(ka_misuse);
