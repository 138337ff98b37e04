/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/llist.h>, as lib/llist.c does it: a push is a
 * compare-and-exchange of the head (fully ordered), the taker an exchange.
 */
#ifndef _KA_SHIM_LINUX_LLIST_H
#define _KA_SHIM_LINUX_LLIST_H

#include <linux/kernel.h>

struct llist_node {
	struct llist_node *next;
};

struct llist_head {
	struct llist_node *first;
};

static inline void init_llist_head(struct llist_head *list)
{
	WRITE_ONCE(list->first, NULL);
}

static inline bool llist_empty(const struct llist_head *head)
{
	return READ_ONCE(head->first) == NULL;
}

/* Return: whether the list was empty. */
static inline bool llist_add(struct llist_node *new, struct llist_head *head)
{
	struct llist_node *first = READ_ONCE(head->first);

	do {
		new->next = first;
	} while (!__atomic_compare_exchange_n(&head->first, &first, new, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	return !first;
}

static inline struct llist_node *llist_del_all(struct llist_head *head)
{
	return __atomic_exchange_n(&head->first, NULL, __ATOMIC_SEQ_CST);
}

#define llist_entry(ptr, type, member)	container_of(ptr, type, member)
/*
 * As the kernel's, but walking the nodes: the kernel's version computes
 * the entry of the NULL that ends the list (UBSan's pointer-overflow).
 */
#define llist_for_each_entry_safe(pos, n, node, member)			\
	for (struct llist_node *__ln = (node), *__ln_next;		\
	     __ln && (pos = llist_entry(__ln, __typeof__(*pos), member),	\
		      n = pos, __ln_next = __ln->next, true);		\
	     __ln = __ln_next)

#endif
