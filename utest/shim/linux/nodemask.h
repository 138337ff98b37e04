/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/nodemask.h>: every node of the machine has memory */
#ifndef _KA_SHIM_LINUX_NODEMASK_H
#define _KA_SHIM_LINUX_NODEMASK_H

#include <linux/numa.h>

#define N_MEMORY	1
#define node_state(n, s)	((n) >= 0 && (n) < nr_node_ids)
#define for_each_node_state(n, s)	for_each_node(n)

#endif
