/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The harness over ka: the real API and per-CPU layer (api.c, mcache.c,
 * cache.c, debug.c) on the shim's emulated CPUs (shim/shim_cpu.h), a
 * shadow map of the objects clients hold, and the invariant checks
 * (check.c).  Shared by the unit tests, the fuzzer, the stress and the
 * replay.
 */
#ifndef _KA_UT_HARNESS_H
#define _KA_UT_HARNESS_H

#include "shim/shim.h"
#include "ka_internal.h"
#include "mcache.h"

#define UT_CPUS		4	/* two per node */

/* "Run on CPU @id": what the caller of ut_alloc() and friends names. */
struct ut_cpu {
	int id;
	int node;
};

enum ut_free_res {
	UT_REFUSED,
	UT_FREED_CACHE,		/* a small object */
	UT_FREED_LARGE,
};

extern unsigned long ut_refused;	/* refused frees, all threads */
unsigned long ut_scav_kicks(void);	/* the heaps' early passes asked */
extern unsigned long ut_node_moved;	/* ut_alloc_node() calls that migrated */
extern __thread unsigned long ut_my_refused;	/* ... by this thread */
extern __thread const char *ut_refusal;	/* this thread's last reason */
extern bool ut_paranoid;		/* check the bitmaps on every claim */
extern bool ut_quiet;
/* ut_init() and ut_exit() of the layers below mcache.c only (memsim's own
 * per-CPU designs run on them); no ut_alloc() and friends then. */
extern bool ut_layers_only;
/* The CPUs ut_init() emulates (UT_CPUS; memsim sets its runs' count). */
extern int ut_nr_cpus;

int ut_init(void);
unsigned long ut_exit(void);
void ut_cpu_init(struct ut_cpu *cpu, int id, int node);

void *ut_alloc(struct ut_cpu *cpu, size_t size, gfp_t gfp);
void *ut_alloc_node(int node, size_t size, gfp_t gfp);
int ut_alloc_bulk(struct ut_cpu *cpu, size_t size, gfp_t gfp, size_t nr,
		  void **p);
enum ut_free_res ut_free(struct ut_cpu *cpu, const void *p);
void ut_free_bulk(struct ut_cpu *cpu, size_t nr, void **p);
void ut_flush_mag(struct ut_cpu *cpu, unsigned int cls, unsigned int n);
void ut_flush_cpu(struct ut_cpu *cpu);
void ut_drain(void);
void ut_release_all(unsigned long keep);

/* A client takes or gives back an object ka did not hand out through ut_*. */
void ut_claim_obj(const void *p, size_t size);
bool ut_unclaim_obj(const void *p);

struct ka_span *ut_check_ptr(const void *p, const char **why);
bool ut_obj_valid(const struct ka_span *span, const void *p);
size_t ut_out_size(const void *p);
bool ut_is_out(const void *p);
unsigned long ut_out_objects(void);
/* Objects of @cls of @node clients hold; KA_MAX_CLASSES: large ones. */
unsigned long ut_model_out(int node, unsigned int cls);
/* Refused frees counted by ka (hooks.c's ka_report_counts, every CPU). */
unsigned long ut_ka_refused(void);

unsigned long ut_check(void);

#define ut_err(fmt, ...) \
	fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__)

#endif
