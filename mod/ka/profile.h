/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka heap profile (profile.c): what the API layer, debugfs and the tests
 * call.  The userspace build has no profile: utest compiles api.c and
 * cache.c with this header and stubs its functions (utest/harness.c).
 */
#ifndef _KA_PROFILE_H
#define _KA_PROFILE_H

#include <linux/jump_label.h>
#include <linux/percpu.h>
#include "compat.h"
#include "ka_internal.h"

struct dentry;

/*
 * Heap profile (profile.c).  ka_prof_tick() is the hit path's count-down:
 * one jump over it while sampling is off.
 */
DECLARE_STATIC_KEY_FALSE(ka_prof_key);
DECLARE_STATIC_KEY_FALSE(ka_prof_free_key);
DECLARE_PER_CPU(long, ka_prof_left);

#define KA_PROF_DEPTH	32
/* A ka_cache's name in a record, NUL included; longer names are cut. */
#define KA_PROF_NAME_LEN	32
/* The largest profile_rate (1 TiB between samples): the draws stay in u64. */
#define KA_PROF_RATE_MAX	(1UL << 40)

/* One bucket of the profile, as ka_prof_snapshot() copies it out. */
struct ka_prof_record {
	u64 allocs, frees;	/* sampled objects, not scaled */
	u64 reqbytes;		/* bytes the sampled allocations requested */
	unsigned long size;	/* bytes requested, on average */
	unsigned long rate;	/* profile_rate when they were sampled */
	unsigned long objsize;	/* bytes of the slot or page run */
	int node;
	unsigned int nframes;
	bool cache;		/* objects of a ka_cache, named @name */
	char name[KA_PROF_NAME_LEN];	/* a copy: the cache may be gone */
	unsigned long stack[KA_PROF_DEPTH];
};

/*
 * Off: one jump over the count-down (static_branch_likely() of a false
 * key: the count-down is laid out inline, so that when on it costs a nop,
 * a subtraction and a branch, with no jump out and back).
 */
static __always_inline bool ka_prof_tick(size_t size)
{
	return static_branch_likely(&ka_prof_key) &&
	       unlikely(ka_cpu_sub_negative(ka_prof_left, size));
}

void *ka_prof_sample(void *p, size_t size, size_t objsize, int node);
void *ka_prof_sample_cache(void *p, size_t size, int node, const char *name);
void ka_prof_free(struct ka_span *span, const void *p);
int ka_prof_set_rate(unsigned long rate, u64 seed);
u64 ka_prof_scale(u64 count, u64 size, u64 objsize, u64 rate, u64 *bytes);
unsigned int ka_prof_snapshot(struct ka_prof_record *out, unsigned int max,
			      unsigned long *rate);
void *ka_prof_build(size_t *len);
int ka_prof_init(struct dentry *dir);
void ka_prof_exit(void);

#endif /* _KA_PROFILE_H */
