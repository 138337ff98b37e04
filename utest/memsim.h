/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memsim - what ka's per-CPU layer costs in memory, design against design.
 *
 * Emulated CPUs, interleaved deterministically (one operation each in
 * turn), drive interchangeable per-CPU front ends; the ka front ends sit on
 * ka's real lower layers (sizeclass.c, span.c, mcentral.c, mheap.c,
 * arena.c, built against utest/shim/ as utest builds them) - the "ka"
 * ones are ka's own per-CPU layer and API too (mcache.c, api.c) - the
 * SLUB one on a model of Linux 6.1's SLUB and page allocator.  memsim.c has the
 * workloads, phases and tables, memsim_ka.c the ka front ends,
 * memsim_slub.c the SLUB model.  No threads: the question is memory and
 * how often each design reaches a lock or an atomic, not timing.
 */
#ifndef _KA_MEMSIM_H
#define _KA_MEMSIM_H

#include "harness.h"

#define SIM_MAX_CPUS	256

/* What the shim's <linux/kernel.h> lacks and memsim uses. */
#define sim_round_up(x, a)	(DIV_ROUND_UP(x, a) * (a))
#define sim_swap(a, b) do { __typeof__(a) _t = (a); (a) = (b); (b) = _t; } while (0)

static inline int sim_fls(unsigned int x)
{
	return x ? 32 - __builtin_clz(x) : 0;
}

/*
 * What a front end did, counted per call.  The cost proxies: a central
 * lock is a node-shared lock (ka's central->lock, SLUB's list_lock), a
 * heap operation a page run (or slab) built or given back, an atomic a
 * read-modify-write on shared memory that a CPU-local design would not
 * need (a remote free's push, a remote list's collection, an ownership
 * change).
 */
struct sim_cost {
	unsigned long allocs;
	unsigned long frees;
	/* calls that reached none of the below (memsim.c counts them) */
	unsigned long fast_allocs;
	unsigned long fast_frees;
	unsigned long central_locks;
	unsigned long atomics;
	unsigned long refills;		/* batch or span taken from central */
	unsigned long flushes;		/* batch or span given to central */
	unsigned long span_new;		/* spans (slabs) built from pages */
	unsigned long span_free;	/* spans (slabs) given back */
	unsigned long hits;		/* ka: magazine pops and pushes */
};

/* Memory at one point. */
struct sim_mem {
	unsigned long pages;		/* held from the page allocator */
	unsigned long used;		/* ... of them in spans (slabs) */
	unsigned long lcache;		/* ka: of those, cached large spans */
	unsigned long holes;		/* ka: released pages of live chunks */
	unsigned long chunks;		/* ka: chunks held */
	unsigned long chunk_allocs;	/* ka: chunks taken so far */
	unsigned long released;		/* ka: pages given back one by one so far */
	unsigned long cached;		/* bytes free but reserved per CPU */
	unsigned long cached_max;	/* ... on the CPU with most */
	unsigned long meta;		/* bytes of metadata (span structs) */
};

struct sim;

/*
 * A front end: the per-CPU layer and everything it chooses to put under
 * it.  @alloc and @free run on emulated CPU @cpu; @tick is one second of
 * the kernel's background work (ka: the per-CPU trim and the scavenger);
 * @shrink is drop_caches with the slab shrinkers, as scripts/guest/bench.sh
 * does it; @measure reads the memory.  @exit runs after the workload freed
 * everything and @shrink ran: it must find nothing held.
 */
struct sim_fe {
	const char *name;
	const char *desc;
	int (*init)(struct sim *sim);
	void *(*alloc)(struct sim *sim, int cpu, size_t size);
	void (*free)(struct sim *sim, int cpu, void *p);
	void (*tick)(struct sim *sim);
	/* ka: the scavenger pass a heap asked for (ka_scav_kick()) */
	void (*scav)(struct sim *sim);
	void (*shrink)(struct sim *sim);
	void (*measure)(struct sim *sim, struct sim_mem *m);
	/* bytes a request of @size takes (its slot: class, cache or pages) */
	size_t (*slot)(struct sim *sim, size_t size);
	int (*exit)(struct sim *sim);
	/* parameters of the design: which variant of a family */
	unsigned long arg[10];
	/* ka's own per-CPU layer (mcache.c, api.c) on @ncpu emulated CPUs */
	bool real;
};

struct sim {
	const struct sim_fe *fe;
	int ncpu;
	struct sim_cost cost;
	void *priv;		/* the front end's state */
	u64 rnd;		/* the front end's own generator */
};

extern const struct sim_fe *sim_fes[];
extern unsigned long sim_errors;

/* Something a design got wrong: say it, count it (memsim then fails). */
#define sim_err(fmt, ...) do {						\
	ut_err(fmt, ##__VA_ARGS__);					\
	sim_errors++;							\
} while (0)

extern unsigned int sim_nr_fes;

/* memsim_ka.c: ka's class table, as sizeclass.c makes it or another shape */
enum sim_classes {
	SIM_CLASSES_KA,		/* ka's: Go's runs to 4 KiB, page classes above */
	SIM_CLASSES_OLD,	/* before issue 30: runs repeated to 8 objects */
	SIM_CLASSES_GORUN,	/* Go's classes and runs above 4 KiB too */
	SIM_CLASSES_PAGE,	/* the old runs to 4 KiB, page classes above */
	SIM_CLASSES_GOPAGE,	/* Go's runs up to 4 KiB, page classes above */
	SIM_CLASSES_COARSE,	/* GOPAGE with Go's steps doubled below 512 B */
};

int sim_ka_setup(enum sim_classes variant);
size_t sim_ka_slot(struct sim *sim, size_t size);
void sim_ka_scav(struct sim *sim);

/* The designs: memsim_ka.c's, memsim_slub.c's. */
extern const struct sim_fe sim_fe_mag, sim_fe_mag_old, sim_fe_mag_512k, sim_fe_mag_pg,
	sim_fe_go, sim_fe_go_rel, sim_fe_own, sim_fe_own_go, sim_fe_own_pg,
	sim_fe_own_gp, sim_fe_own_gp_st, sim_fe_keep_gp, sim_fe_keep_gp_st,
	sim_fe_keep_gp_st2m, sim_fe_keep_go_st, sim_fe_keep_old_st,
	sim_fe_hyb_gp_st, sim_fe_own_gp_c, sim_fe_keep_gp_st_c,
	sim_fe_keep_gp_st2m_c, sim_fe_slub, sim_fe_ka, sim_fe_ka_1m, sim_fe_ka_512k,
	sim_fe_ka_256k, sim_fe_ka_128k, sim_fe_ka_nomag, sim_fe_ka_cold,
	sim_fe_ka_cold_512k, sim_fe_ka_f1, sim_fe_ka_f1_512k, sim_fe_ka_f1_1m,
	sim_fe_ka_o32, sim_fe_ka_o32_1m, sim_fe_ka_o32_512k, sim_fe_ka_o16_512k;
void sim_slub_print(int ncpu);
void sim_ka_decomp(struct sim *sim, const char *wl, const char *phase,
		   unsigned long live_bytes);
unsigned long sim_ka_pages(unsigned long *used);

#endif /* _KA_MEMSIM_H */
