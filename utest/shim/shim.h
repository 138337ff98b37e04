/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The harness's controls of the userspace shim: the simulated machine,
 * fault injection and the accounting the invariant checks compare with.
 */
#ifndef _KA_SHIM_H
#define _KA_SHIM_H

#include "ka_sys.h"
#include <linux/module.h>
#include "shim_cpu.h"

/* Each node owns this many naturally aligned blocks of the largest order. */
#define SHIM_MAX_ORDER		10
#define SHIM_BLOCK_PAGES	(1UL << SHIM_MAX_ORDER)
#define SHIM_BLOCK_BYTES	(SHIM_BLOCK_PAGES << PAGE_SHIFT)
#ifndef SHIM_NODE_BLOCKS	/* memsim builds with more */
#define SHIM_NODE_BLOCKS	64
#endif

/* A fault pattern: the next @left calls fail where @bits has a 1 (LSB first). */
struct shim_pattern {
	u64 bits;
	unsigned int left;
};

struct shim_fault {
	struct shim_pattern page;	/* ka_sys_alloc_pages() */
	struct shim_pattern meta;	/* kzalloc(), ka_sys_meta_alloc() */
	int page_max_order;		/* higher orders fail ("fragmented") */
	unsigned int node_full;		/* mask: nodes with no free page */
};

struct shim_stats {
	unsigned long pages_out;	/* pages handed to ka */
	unsigned long meta_live;	/* metadata objects not freed */
	unsigned long meta_bytes;	/* ... their bytes (malloc's sizes) */
	unsigned long rcu_pending;	/* queued by kfree_rcu() */
	unsigned long kv_live;		/* kvmalloc() objects not freed */
	unsigned long page_allocs, page_fails, meta_fails;
	unsigned long page_splits;	/* split_page() calls */
};

extern struct shim_fault shim_fault;	/* under no lock: set it when quiet */
extern struct shim_stats shim_stats;	/* read with __atomic or when quiet */
extern bool shim_warn_fatal;
extern unsigned long shim_nr_warnings;
extern unsigned long shim_boot_blocks;	/* node_end_pfn(): memory at "boot" */

void shim_init(void);
void shim_fault_reset(void);
void shim_pattern_set(struct shim_pattern *p, u64 bits, unsigned int calls);
int shim_locks_held(void);
void *shim_foreign_page(void);		/* direct-map memory ka never owns */
unsigned long shim_region_bytes(void);
bool shim_block_is_out(const void *addr, unsigned int order);
void shim_random_seed(u64 seed);

/* This thread's error and warning messages (printk), its last message. */
extern __thread unsigned long shim_nr_errors, shim_nr_warns;
extern __thread char shim_last_msg[256];
extern bool shim_init_on_alloc, shim_init_on_free;

#endif
