/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The harness over ka's layers: emulated CPUs with their own magazines
 * (driving mcentral refill and flush as the per-CPU caches do), ka_free()'s
 * pointer checks, a shadow map of the objects out of their spans, and the
 * invariant checks.  Shared by the unit tests, the fuzzer and the stress.
 */
#ifndef _KA_UT_HARNESS_H
#define _KA_UT_HARNESS_H

#include "shim/shim.h"
#include "ka_internal.h"

struct ut_mag {
	unsigned int count;
	void *objs[KA_PCPU_CACHE_MAX];
};

/* An emulated CPU: owned by one thread at a time. */
struct ut_cpu {
	int id;
	int node;
	int flush_req;			/* another thread asks for a flush */
	struct ut_mag mag[KA_MAX_CLASSES];
};

enum ut_free_res {
	UT_REFUSED,
	UT_FREED_CACHE,		/* onto this CPU's magazine */
	UT_FREED_REMOTE,	/* another node's object: straight to mcentral */
	UT_FREED_LARGE,
};

extern unsigned long ut_refused;	/* ka_report_bad_free() calls */
extern unsigned long ut_scav_kicks;	/* ka_scav_kick() calls */
extern __thread unsigned long ut_my_refused;	/* ... by this thread */
extern __thread const char *ut_refusal;	/* this thread's last reason */
extern bool ut_paranoid;		/* check allocbits on every claim */
extern bool ut_quiet;

int ut_init(void);
unsigned long ut_exit(void);
void ut_cpu_init(struct ut_cpu *cpu, int id, int node);

void *ut_alloc(struct ut_cpu *cpu, size_t size, gfp_t gfp);
void *ut_alloc_node(int node, size_t size, gfp_t gfp);
int ut_alloc_bulk(struct ut_cpu *cpu, size_t size, gfp_t gfp, size_t nr,
		  void **p);
enum ut_free_res ut_free(struct ut_cpu *cpu, const void *p);
void ut_flush_mag(struct ut_cpu *cpu, unsigned int cls, unsigned int n);
void ut_flush_cpu(struct ut_cpu *cpu);
void ut_release_all(unsigned long keep);

struct ka_span *ut_check_ptr(const void *p, const char **why);
bool ut_obj_valid(const struct ka_span *span, const void *p);
size_t ut_out_size(const void *p);
bool ut_is_out(const void *p);
unsigned long ut_out_objects(void);
/* Objects of @cls out of @node's spans per the harness; KA_MAX_CLASSES: large. */
unsigned long ut_model_out(int node, unsigned int cls);

unsigned long ut_check(void);

#define ut_err(fmt, ...) \
	fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__)

#endif
