/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/llist.h>, the nodes the layers embed */
#ifndef _KA_SHIM_LINUX_LLIST_H
#define _KA_SHIM_LINUX_LLIST_H

struct llist_node {
	struct llist_node *next;
};

struct llist_head {
	struct llist_node *first;
};

#endif
