// SPDX-License-Identifier: GPL-2.0
/*
 * ka module lifecycle: init and exit, and the per-node structures
 * (draining and the shrinker: reclaim.c; the background scavenger and the
 * page-heap fault-injection attribute: mheap.c).
 *
 * Init builds the layers bottom-up (size classes, arena map, nodes, per-CPU
 * caches, RCU batches, debugfs) and unwinds on any failure.  Exit completes
 * pending ka_free_rcu() frees, flushes every per-CPU cache, reports objects
 * that clients never freed (and has kmemleak forget them), and returns
 * every page to the buddy allocator.
 *
 * Owns: the nodes' structures (one struct ka_node per possible node: its
 * heap and its mcentrals; the table, ka_nodes[], is mheap.c's).
 * Locks: none of its own; see ka_internal.h for the lock order.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/module.h>
#include <linux/random.h>
#include <linux/shrinker.h>
#include "ka_debug.h"
#include "ka_kasan.h"
#include "mcache.h"
#include "profile.h"

#define CREATE_TRACE_POINTS
#include "ka_trace.h"

static int ka_nodes_alloc(void)
{
	int nid;

	for_each_node(nid) {
		struct ka_node *n;

		n = kzalloc_node(sizeof(*n), GFP_KERNEL,
				 node_state(nid, N_MEMORY) ? nid : NUMA_NO_NODE);
		if (!n)
			return -ENOMEM;
		ka_node_init(n, nid);
		ka_nodes[nid] = n;
	}
	return 0;
}

/* Module exit: report what clients leaked, then give everything back. */
static void ka_nodes_free(void)
{
	/* ka_alloc()'s objects are registered with kmemleak */
	bool traced = ka_hooks_always();
	unsigned int cls;
	int nid;

	for_each_node(nid) {
		struct ka_node *n = ka_nodes[nid];
		unsigned long out, large;

		if (!n)
			continue;
		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct ka_mcentral *c = &n->central[cls];

			/* the CPUs gave their spans back (ka_mcache_exit()) */
			WARN_ON_ONCE(!list_empty(&c->owned));
			out = ka_span_teardown_list(&c->full, traced);
			out += ka_span_teardown_list(&c->partial, traced);
			out += ka_span_teardown_list(&c->owned, traced);
			if (out)
				pr_warn_ratelimited("node %d: %lu objects of %u bytes were never freed\n",
						    nid, out, ka_classes[cls].size);
		}
		large = ka_span_teardown_list(&n->heap.large, traced);
		if (large)
			pr_warn("node %d: %lu large objects were never freed\n",
				nid, large);
		ka_large_trim(&n->heap, false);
		ka_mheap_release(&n->heap, 0);
		if (n->heap.pages_held)
			pr_err("node %d: %lu pages still held at exit\n",
			       nid, n->heap.pages_held);
		kfree(n);
		ka_nodes[nid] = NULL;
	}
}

static int __init ka_init(void)
{
	int ret;

	ka_freetag_key = get_random_long();
	ka_debug_init();
	if (ka_debug_on())
		pr_info("debug mode: poison, redzones, double-free detection\n");
	ret = ka_sizeclass_init();
	if (ret) {
		pr_err("size class table failed its checks\n");
		return ret;
	}
	/* generic KASAN: slots with a redzone behind each size class */
	ka_kasan_sizeclass_init();
	ret = ka_arena_init();
	if (ret)
		return ret;
	ret = ka_nodes_alloc();
	if (ret)
		goto out_nodes;
	ret = ka_mcache_init();
	if (ret)
		goto out_nodes;
	ret = ka_rcu_init();
	if (ret)
		goto out_mcache;
	ret = ka_shrinker_init();
	if (ret)
		goto out_rcu;
	ka_api_init();
	ka_cache_init();
	ka_debugfs_init();
	/* generic KASAN: the quarantine evicts through ka_free_evict() */
	ret = ka_kasan_init(ka_free_evict);
	if (ret)
		goto out_api;
	ret = ka_buckets_init();
	if (ret)
		goto out_kasan;
	ka_scav_start();
	pr_info("%u size classes (8 .. %u bytes), %d node(s), %u CPUs\n",
		ka_nr_classes - 1, ka_classes[ka_nr_classes - 1].size,
		num_online_nodes(), num_possible_cpus());
	return 0;

out_kasan:
	ka_kasan_exit();
out_api:
	ka_debugfs_exit();
	ka_api_exit();
	ka_shrinker_exit();
out_rcu:
	ka_rcu_exit();
out_mcache:
	ka_mcache_exit();
out_nodes:
	ka_nodes_free();
	ka_arena_exit();
	return ret;
}

static void __exit ka_exit(void)
{
	ka_api_exit();
	ka_debugfs_exit();
	ka_scav_pause(true);
	ka_prof_exit();
	ka_shrinker_exit();
	ka_rcu_exit();
	/* the quarantine's objects go back before caches and heaps go */
	ka_kasan_exit();
	ka_buckets_exit();
	ka_cache_exit();
	ka_mcache_exit();
	/* a kick that saw the scavenger on before the pause: no pass left */
	ka_scav_exit();
	/* SLAB_TYPESAFE_BY_RCU caches' spans, waiting for a grace period */
	rcu_barrier();
	/* spans' metadata and arenas go with call_rcu(): ka_arena_exit() waits */
	ka_nodes_free();
	ka_arena_exit();
}

module_init(ka_init);
module_exit(ka_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ka: the Go runtime's allocator design as a kernel object allocator");
