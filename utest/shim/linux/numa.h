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

/* The node of the CPU the thread runs on (a preemption point first). */
int shim_numa_mem_id(void);
#define numa_mem_id()	shim_numa_mem_id()
#define numa_node_id()	shim_numa_mem_id()

#endif
