// SPDX-License-Identifier: GPL-2.0
/*
 * ka reclaim: giving back what no client uses - ka_drain() (the debugfs
 * "drain" file, the tests), ka_release_free() and the shrinker - above
 * every layer that keeps free memory: the KASAN quarantine (kasan.c),
 * ka_free_rcu()'s batches (rcu.c), the per-CPU caches (mcache.c), the
 * ka_caches (cache.c), mcentral, the large-object cache (large.c) and the
 * heaps (mheap.c).
 *
 * Owns: the shrinker.
 * Locks: none of its own; each layer takes its own (see ka_internal.h for
 * the lock order), and nothing here holds one across a call.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/module.h>
#include <linux/shrinker.h>
#include "ka_kasan.h"
#include "mcache.h"

/**
 * ka_release_free - give empty spans, free chunks and free pages back
 *
 * Context: process context (drain, the shrinker); no ka lock held.
 * Return: pages returned to the buddy allocator.
 */
unsigned long ka_release_free(void)
{
	unsigned long pages = 0;
	unsigned int cls;
	int nid;

	/* the caches' empty spans first, into the heaps released below */
	ka_cache_release();
	for_each_node(nid) {
		for (cls = 1; cls < ka_nr_classes; cls++)
			ka_mcentral_release(ka_mcentral_of(nid, cls), 0);
		ka_large_trim(ka_mheap_of(nid), false);
		pages += ka_mheap_release(ka_mheap_of(nid), 0);
	}
	return pages;
}
KA_EXPORT_INTERNAL(ka_release_free);

/**
 * ka_drain - give back everything ka holds that no client uses
 *
 * Completes pending ka_free_rcu() frees, empties the KASAN quarantine
 * (generic KASAN), flushes every CPU's caches, and
 * returns empty spans, free chunks (reserves included) and the free pages
 * of partly used chunks to the buddy allocator.  Used by the debugfs "drain" file and by the tests.
 *
 * Context: process context, sleeps.
 */
void ka_drain(void)
{
	ka_rcu_barrier();
	ka_kasan_drain();
	ka_mcache_drain_all();
	ka_release_free();
	/* SLAB_TYPESAFE_BY_RCU caches' spans: after their grace period */
	if (ka_span_rcu_pending()) {
		rcu_barrier();
		ka_release_free();
	}
}
KA_EXPORT_INTERNAL(ka_drain);

/*
 * Shrinker: under memory pressure give back empty spans, free chunks and
 * every free page inside partly used chunks (the scavenger's work, all at
 * once), and ask every CPU to flush its caches and give its spans back
 * (the ka_caches' shares too); on generic KASAN, empty the quarantine
 * first.  Reclaim does not wait for those
 * flushes (that would block on workqueues); the spans they empty are
 * returned by the next pass.  Counted: free heap pages, empty spans, and
 * objects sitting in per-CPU caches (in pages, roughly).
 */
unsigned long ka_shrink_count(struct shrinker *s, struct shrink_control *sc)
{
	unsigned long pages = 0, bytes = 0;
	unsigned int cls;
	int nid, cpu;

	for_each_node(nid) {
		struct ka_mheap *heap = ka_mheap_of(nid);

		pages += READ_ONCE(heap->pages_held) - READ_ONCE(heap->pages_used);
		/* cached large spans: in pages_used, given back by a scan */
		pages += READ_ONCE(heap->large_free_pages);
		for (cls = 1; cls < ka_nr_classes; cls++)
			pages += READ_ONCE(ka_mcentral_of(nid, cls)->nr_empty) *
				 ka_classes[cls].npages;
	}
	for_each_online_cpu(cpu) {
		struct ka_mcache *mc = per_cpu_ptr(ka_mcache, cpu);

		for (cls = 1; cls < ka_nr_classes; cls++) {
			bytes += (unsigned long)ka_mag_count(&mc->mag[cls]) *
				 ka_classes[cls].size;
			/* empty spans a CPU keeps for its next switch */
			pages += READ_ONCE(mc->owned[cls].nstash) *
				 ka_classes[cls].npages;
		}
	}
	for_each_online_cpu(cpu)
		bytes += ka_cache_cpu_cached(cpu);
	pages += ka_cache_empty_pages();
	pages += bytes >> PAGE_SHIFT;
	pages += ka_kasan_quarantine_pages();
	return pages ?: SHRINK_EMPTY;
}

KA_EXPORT_INTERNAL(ka_shrink_count);

unsigned long ka_shrink_scan(struct shrinker *s, struct shrink_control *sc)
{
	ka_kasan_drain();
	ka_mcache_drain_async();
	return ka_release_free() ?: SHRINK_STOP;
}
KA_EXPORT_INTERNAL(ka_shrink_scan);

/* Module init and exit (main.c): register and unregister the shrinker. */
#ifdef KA_SHRINKER_ALLOC
static struct shrinker *ka_shrinker;

int ka_shrinker_init(void)
{
	ka_shrinker = shrinker_alloc(0, "ka");
	if (!ka_shrinker)
		return -ENOMEM;
	ka_shrinker->count_objects = ka_shrink_count;
	ka_shrinker->scan_objects = ka_shrink_scan;
	ka_shrinker->seeks = DEFAULT_SEEKS;
	shrinker_register(ka_shrinker);
	return 0;
}

void ka_shrinker_exit(void)
{
	shrinker_free(ka_shrinker);
}
#else
static struct shrinker ka_shrinker = {
	.count_objects = ka_shrink_count,
	.scan_objects = ka_shrink_scan,
	.seeks = DEFAULT_SEEKS,
};

int ka_shrinker_init(void)
{
	return ka_register_shrinker(&ka_shrinker, "ka");
}

void ka_shrinker_exit(void)
{
	unregister_shrinker(&ka_shrinker);
}
#endif
