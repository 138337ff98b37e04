/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/numa.h>, <linux/nodemask.h>, node_end_pfn() */
#ifndef _KA_SHIM_LINUX_NUMA_H
#define _KA_SHIM_LINUX_NUMA_H

#define NUMA_NO_NODE	(-1)
#define MAX_NUMNODES	4

/* The simulated machine: shim.c */
extern int nr_node_ids;
unsigned long node_end_pfn(int nid);

#define for_each_node(nid)	for ((nid) = 0; (nid) < nr_node_ids; (nid)++)
#define for_each_online_node(nid)	for_each_node(nid)
#define num_online_nodes()	nr_node_ids

/* The test's own thread, no emulated CPU: on node 0. */
static inline int numa_mem_id(void)
{
	return 0;
}

#endif
