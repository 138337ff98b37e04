// SPDX-License-Identifier: GPL-2.0
/*
 * memsim's ka front ends, on ka's real lower layers (sizeclass.c, span.c,
 * mcentral.c, mheap.c, arena.c through utest/shim/):
 *
 *  mag   today's per-CPU layer, mod/ka/mcache.c's policy step for step:
 *        magazines (LIFO arrays of objects) whose capacities adapt by use
 *        within a per-CPU byte budget, refill and flush of a batch through
 *        the real mcentral, the flush of the oldest batch, the per-CPU
 *        trim of idle classes once a second, random reuse order.
 *  spn   span-local per-CPU layers (the designs of issue 30): a CPU
 *        allocates from spans it owns - one active span per class, filled
 *        before another is started - and a free goes back into the
 *        object's own span: onto its local free list if the freeing CPU
 *        owns the span (no atomic), else onto the span's remote free list
 *        (one atomic push), which the owner collects when it needs the
 *        slots.  Its arguments make the family's variants: Go's mcache
 *        shape (only the active span is owned), SLUB's (a CPU also owns a
 *        few partly used spans, frozen by the free that found them full),
 *        an empty active span given back at once, a per-CPU stash of
 *        empty spans, and the hybrid (b): small magazines in front for
 *        frees into dense spans of other CPUs.  spn has its own central
 *        lists of spans (mcentral.c hands out objects, not spans); spans
 *        themselves, their pages and the pointer map are ka's.
 *
 *  ka    not a model: ka's own api.c and mcache.c (magazines, owned spans,
 *        floors, grants, the steal scan limit, stash, budget, the trim
 *        pass), as utest builds them, one emulated CPU per simulated CPU;
 *        ka-512k etc. at a smaller pcpu_budget.  sim_ka_decomp() prints
 *        where its pages are at each phase.
 *
 * Both use ka's large objects (above 32 KiB) as api.c does, and the heap's
 * scavenger and large-span cache as main.c and mcache.c drive them.
 *
 * The class table is ka's (sizeclass.c's KA_CLASSES_DEFAULT) or another
 * shape sizeclass.c can compute (enum sim_classes): ka's table before
 * issue 30 (runs repeated to 8 objects), Go's runs above 4 KiB too, or
 * page classes above 4 KiB on the old runs.
 *
 * One NUMA node: the emulated CPUs are all on node 0.
 */
#include <stdlib.h>
#include "memsim.h"

#define SIM_NODE	0

/* ---- the class table ---- */

/* enum sim_classes -> sizeclass.c's enum ka_class_shape */
static const unsigned int sim_shapes[] = {
	[SIM_CLASSES_KA] = KA_CLASSES_DEFAULT,
	[SIM_CLASSES_OLD] = KA_CLASSES_REPEAT,
	[SIM_CLASSES_GORUN] = KA_CLASSES_GO,
	[SIM_CLASSES_PAGE] = KA_CLASSES_REPEAT | KA_CLASSES_PAGES,
	[SIM_CLASSES_GOPAGE] = KA_CLASSES_PAGES,
	[SIM_CLASSES_COARSE] = KA_CLASSES_PAGES | KA_CLASSES_COARSE,
};

/**
 * sim_ka_setup - put ka's class table in the shape of @variant
 * @variant: enum sim_classes
 *
 * sizeclass.c computes the table again, as its init would for that shape.
 * Called after ut_init(), before any span.
 * Return: 0, or -EINVAL.
 */
int sim_ka_setup(enum sim_classes variant)
{
	if (variant >= ARRAY_SIZE(sim_shapes))
		return -EINVAL;
	return ka_sizeclass_build(sim_shapes[variant]) ? -EINVAL : 0;
}

/* Bytes a request of @size takes in ka: its class's size, or its pages. */
size_t sim_ka_slot(struct sim *sim, size_t size)
{
	if (size > KA_MAX_SMALL_SIZE)
		return sim_round_up(size, PAGE_SIZE);
	return ka_classes[ka_size_class(size)].size;
}

/* The heap's part of a measurement (node 0's). */
static void sim_ka_measure_heap(struct sim_mem *mem)
{
	const struct ka_mheap *heap = ka_mheap_of(SIM_NODE);

	mem->pages = sim_ka_pages(&mem->used);
	mem->lcache = heap->large_free_pages;
	mem->holes = heap->pages_holes;
	mem->chunks = heap->nr_chunks;
	mem->chunk_allocs = heap->chunks_alloced;
	mem->released = heap->pages_released;
	mem->meta = shim_stats.meta_bytes;
}

/* Pages held by ka's heaps from the page allocator. */
unsigned long sim_ka_pages(unsigned long *used)
{
	unsigned long pages = 0;
	int nid;

	*used = 0;
	for_each_node(nid) {
		pages += READ_ONCE(ka_mheap_of(nid)->pages_held);
		*used += READ_ONCE(ka_mheap_of(nid)->pages_used);
	}
	return pages;
}

static struct ka_span *sim_span_of(const void *p)
{
	struct ka_span *span;

	rcu_read_lock();
	span = ka_span_of(p);
	rcu_read_unlock();
	return span;
}

/* ---- large objects, as api.c's ka_alloc_large() and ka_free_nonlocal() ---- */

static void *sim_large_alloc(struct sim *sim, size_t size)
{
	struct ka_span *span;

	span = ka_large_get(ka_mheap_of(SIM_NODE), size);
	if (!span) {
		span = ka_span_new_large(size, SIM_NODE, GFP_KERNEL);
		if (!span)
			return NULL;
		sim->cost.span_new++;
	}
	return span->base;
}

static void sim_large_free(struct sim *sim, struct ka_span *span)
{
	if (!ka_large_put(ka_mheap_of(SIM_NODE), span))
		sim_err("large object freed twice");
}

/* The background work of a second: scavenger, large-span cache. */
static void sim_ka_background(void)
{
	ka_large_trim(ka_mheap_of(SIM_NODE), true);
	ka_mheap_scavenge(ka_mheap_of(SIM_NODE), KA_SCAV_PAGES_PER_TICK);
	shim_rcu_barrier();
}

/* The pass a heap asked for: main.c's ka_scav_tick() brought forward. */
void sim_ka_scav(struct sim *sim)
{
	ka_mheap_scavenge(ka_mheap_of(SIM_NODE), KA_SCAV_PAGES_PER_TICK);
	shim_rcu_barrier();
}

/* What the shrinker and drop_caches leave once the CPUs gave theirs back. */
static void sim_ka_release_all(void)
{
	ka_large_trim(ka_mheap_of(SIM_NODE), false);
	ka_mheap_release(ka_mheap_of(SIM_NODE), 0);
	shim_rcu_barrier();
}

/* ====================================================== mag: mcache.c */

struct mag {
	void **objs;
	unsigned int count;
	unsigned int cap;
	unsigned long nr_alloc;
	unsigned long nr_free;
};

struct mag_ctl {
	unsigned long seen;
	unsigned int stamp;
	u8 last;
};

enum { MAG_MISS_UNDER = 1, MAG_MISS_OVER };

struct mag_cpu {
	struct mag mag[KA_MAX_CLASSES];
	struct mag_ctl ctl[KA_MAX_CLASSES];
	unsigned long cap_bytes;
	unsigned int nr_adapt;
	u64 rnd;
};

struct mag_state {
	unsigned long budget;
	struct mag_cpu cpu[];
};

#define MAG_ARG_BUDGET	0	/* bytes; 0: mcache.c's default */
#define MAG_ARG_CLASSES	5

static struct mag_state *mag_st(struct sim *sim)
{
	return sim->priv;
}

/* Central calls, with their lock acquisitions and span traffic counted. */
static unsigned int mag_central_refill(struct sim *sim, unsigned int cls,
				       void **objs, unsigned int n)
{
	struct ka_mcentral *c = ka_mcentral_of(SIM_NODE, cls);
	unsigned long locks = c->nr_lock, spans = c->spans_from_heap;

	n = ka_mcentral_refill(c, objs, n, GFP_KERNEL);
	sim->cost.central_locks += c->nr_lock - locks;
	sim->cost.span_new += c->spans_from_heap - spans;
	sim->cost.refills++;
	return n;
}

static void mag_central_flush(struct sim *sim, unsigned int cls, void **objs,
			      unsigned int n)
{
	struct ka_mcentral *c = ka_mcentral_of(SIM_NODE, cls);
	unsigned long locks = c->nr_lock, spans = c->spans_to_heap;

	ka_mcentral_flush(objs, n);
	sim->cost.central_locks += c->nr_lock - locks;
	sim->cost.span_free += c->spans_to_heap - spans;
	sim->cost.flushes++;
}

/* ka_mcache_flush_class(): the @n oldest objects back. */
static void mag_flush_class(struct sim *sim, struct mag *m, unsigned int cls,
			    unsigned int n)
{
	n = min(n, m->count);
	if (!n)
		return;
	mag_central_flush(sim, cls, m->objs, n);
	memmove(m->objs, m->objs + n, (m->count - n) * sizeof(void *));
	m->count -= n;
}

/* ka_mag_resize() */
static void mag_resize(struct sim *sim, struct mag_cpu *pc, unsigned int cls,
		       unsigned int cap)
{
	struct mag *m = &pc->mag[cls];
	unsigned long size = ka_classes[cls].size;

	if (m->count > cap)
		mag_flush_class(sim, m, cls, m->count - cap);
	pc->cap_bytes = pc->cap_bytes - m->cap * size + cap * size;
	m->cap = cap;
}

/* ka_mag_half() */
static unsigned int mag_half(unsigned int cls, unsigned int cap)
{
	return cap / 2 >= ka_classes[cls].batch ? cap / 2 : 0;
}

/* ka_mag_idle() */
static bool mag_idle(struct mag_cpu *pc, unsigned int cls)
{
	return pc->mag[cls].nr_alloc + pc->mag[cls].nr_free ==
	       pc->ctl[cls].seen;
}

/* ka_mag_steal() */
static void mag_steal(struct sim *sim, struct mag_cpu *pc, unsigned int except,
		      unsigned long want, bool idle_only)
{
	unsigned long start = pc->cap_bytes;

	while (start - pc->cap_bytes < want) {
		unsigned int cls, victim = 0, oldest = 0;

		for (cls = 1; cls < ka_nr_classes; cls++) {
			unsigned int age = pc->nr_adapt - pc->ctl[cls].stamp;

			if (cls == except || !pc->mag[cls].cap ||
			    (victim && age <= oldest) ||
			    (idle_only && !mag_idle(pc, cls)))
				continue;
			victim = cls;
			oldest = age;
		}
		if (!victim)
			break;
		mag_resize(sim, pc, victim,
			   mag_half(victim, pc->mag[victim].cap));
	}
}

/* ka_mag_adapt() */
static void mag_adapt(struct sim *sim, struct mag_cpu *pc, unsigned int cls,
		      int dir)
{
	const struct ka_class *k = &ka_classes[cls];
	struct mag_ctl *ctl = &pc->ctl[cls];
	unsigned long budget = mag_st(sim)->budget, need, room;
	unsigned int cap = pc->mag[cls].cap, want = cap;

	if (cap < k->batch)
		want = k->batch;
	else if (ctl->last && ctl->last != dir)
		want = cap + k->batch;
	ctl->last = dir;
	ctl->stamp = ++pc->nr_adapt;
	want = min(want, k->cache_max);
	if (want <= cap)
		return;
	need = (unsigned long)(want - cap) * k->size;
	if (pc->cap_bytes + need > budget)
		mag_steal(sim, pc, cls, pc->cap_bytes + need - budget,
			  cap >= k->batch);
	room = budget > pc->cap_bytes ? budget - pc->cap_bytes : 0;
	want = min_t(unsigned long, want, cap + room / k->size);
	if (want > cap)
		mag_resize(sim, pc, cls, want);
}

/* ka_shuffle(): random_reuse, from the CPU's xorshift64 */
static void mag_shuffle(struct mag_cpu *pc, void **v, unsigned int n)
{
	u64 x = pc->rnd;
	unsigned int i, j;

	for (i = n - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = ((x & U32_MAX) * (i + 1)) >> 32;
		sim_swap(v[i], v[j]);
	}
	pc->rnd = x;
}

/* ka_mcache_refill_alloc() */
static void *mag_refill_alloc(struct sim *sim, struct mag_cpu *pc,
			      unsigned int cls)
{
	const struct ka_class *k = &ka_classes[cls];
	unsigned long budget = mag_st(sim)->budget;
	unsigned int n, take = 0, want = k->batch;
	struct mag *m = &pc->mag[cls];
	void *batch[KA_BATCH_MAX];

	if (budget < (unsigned long)k->batch * k->size)
		want = budget / k->size + 1;
	n = mag_central_refill(sim, cls, batch, want);
	if (!n)
		return NULL;
	m->nr_alloc++;
	mag_adapt(sim, pc, cls, MAG_MISS_UNDER);
	mag_shuffle(pc, batch, n);
	while (take < n - 1 && m->count < m->cap) {
		m->objs[m->count++] = batch[n - 1 - take];
		take++;
	}
	if (take < n - 1)
		mag_central_flush(sim, cls, batch + 1, n - 1 - take);
	return batch[0];
}

static void *mag_alloc(struct sim *sim, int cpu, size_t size)
{
	struct mag_cpu *pc = &mag_st(sim)->cpu[cpu];
	unsigned int cls;
	struct mag *m;

	sim->cost.allocs++;
	if (size > KA_MAX_SMALL_SIZE)
		return sim_large_alloc(sim, size);
	cls = ka_size_class(size);
	m = &pc->mag[cls];
	if (m->count) {
		m->nr_alloc++;
		return m->objs[--m->count];
	}
	return mag_refill_alloc(sim, pc, cls);
}

/* ka_free(): the hit path's push, else ka_mcache_overflow() */
static void mag_free(struct sim *sim, int cpu, void *p)
{
	struct mag_cpu *pc = &mag_st(sim)->cpu[cpu];
	struct ka_span *span = sim_span_of(p);
	unsigned int cls;
	struct mag *m;

	sim->cost.frees++;
	if (span->state == KA_SPAN_LARGE) {
		sim_large_free(sim, span);
		return;
	}
	cls = span->cls;
	m = &pc->mag[cls];
	m->nr_free++;
	if (m->count < m->cap) {
		m->objs[m->count++] = p;
		return;
	}
	mag_adapt(sim, pc, cls, MAG_MISS_OVER);
	if (m->count == m->cap)
		mag_flush_class(sim, m, cls, ka_classes[cls].batch);
	if (m->count < m->cap)
		m->objs[m->count++] = p;
	else
		mag_central_flush(sim, cls, &p, 1);
}

/* ka_mcache_trim_cpu() */
static void mag_trim_cpu(struct sim *sim, struct mag_cpu *pc, bool idle)
{
	unsigned long budget = mag_st(sim)->budget;
	unsigned int cls;

	for (cls = 1; idle && cls < ka_nr_classes; cls++) {
		struct mag *m = &pc->mag[cls];
		unsigned long used = m->nr_alloc + m->nr_free;

		if (m->cap && used == pc->ctl[cls].seen) {
			mag_resize(sim, pc, cls, mag_half(cls, m->cap));
			pc->ctl[cls].last = 0;
		}
		pc->ctl[cls].seen = used;
	}
	if (pc->cap_bytes > budget)
		mag_steal(sim, pc, 0, pc->cap_bytes - budget, false);
}

/* One second: ka_mcache_trim_tick() and ka_scav_tick(). */
static void mag_tick(struct sim *sim)
{
	int cpu;

	for (cpu = 0; cpu < sim->ncpu; cpu++)
		if (mag_st(sim)->cpu[cpu].cap_bytes)
			mag_trim_cpu(sim, &mag_st(sim)->cpu[cpu], true);
	sim_ka_background();
}

static void mag_release_free(void)
{
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++)
		ka_mcentral_release(ka_mcentral_of(SIM_NODE, cls), 0);
	sim_ka_release_all();
}

/*
 * scripts/guest/bench.sh's kb_free_shrunk(): drop_caches runs ka's
 * shrinker (ka_release_free(), the CPUs' flushes queued), a second later
 * again, with the flushes done; capacities stay.
 */
static void mag_shrink(struct sim *sim)
{
	unsigned int cls;
	int cpu;

	mag_release_free();
	for (cpu = 0; cpu < sim->ncpu; cpu++)
		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct mag *m = &mag_st(sim)->cpu[cpu].mag[cls];

			mag_flush_class(sim, m, cls, m->count);
		}
	mag_release_free();
}

static void mag_measure(struct sim *sim, struct sim_mem *mem)
{
	unsigned int cls;
	int cpu;

	memset(mem, 0, sizeof(*mem));
	sim_ka_measure_heap(mem);
	for (cpu = 0; cpu < sim->ncpu; cpu++) {
		unsigned long bytes = 0;

		for (cls = 1; cls < ka_nr_classes; cls++)
			bytes += (unsigned long)mag_st(sim)->cpu[cpu].mag[cls].count *
				 ka_classes[cls].size;
		mem->cached += bytes;
		mem->cached_max = max(mem->cached_max, bytes);
	}
}

static int mag_init(struct sim *sim)
{
	unsigned long batches = 0, slots = 0;
	struct mag_state *st;
	unsigned int cls;
	void **store;
	int cpu, ret;

	ret = sim_ka_setup(sim->fe->arg[MAG_ARG_CLASSES]);
	if (ret)
		return ret;
	for (cls = 1; cls < ka_nr_classes; cls++) {
		slots += ka_classes[cls].cache_max;
		batches += (unsigned long)ka_classes[cls].batch *
			   ka_classes[cls].size;
	}
	st = calloc(1, sizeof(*st) + sim->ncpu * sizeof(st->cpu[0]));
	store = calloc(slots * sim->ncpu, sizeof(void *));
	if (!st || !store) {
		free(st);
		free(store);
		return -ENOMEM;
	}
	/* ka_mcache_init()'s default budget */
	st->budget = sim->fe->arg[MAG_ARG_BUDGET] ?:
		     sim_round_up(batches * 2, 64 * 1024);
	for (cpu = 0; cpu < sim->ncpu; cpu++) {
		struct mag_cpu *pc = &st->cpu[cpu];

		pc->rnd = (sim->rnd ^ (0x9e3779b97f4a7c15ULL * (cpu + 1))) | 1;
		for (cls = 1; cls < ka_nr_classes; cls++) {
			pc->mag[cls].objs = store;
			store += ka_classes[cls].cache_max;
		}
	}
	sim->priv = st;
	return 0;
}

static int mag_exit(struct sim *sim)
{
	struct mag_state *st = mag_st(sim);

	free(st->cpu[0].mag[1].objs);
	free(st);
	sim->priv = NULL;
	return 0;
}

#define MAG_FE(_name, _desc, _budget, _classes) {			\
	.name = _name, .desc = _desc, .init = mag_init,			\
	.alloc = mag_alloc, .free = mag_free, .tick = mag_tick,		\
	.shrink = mag_shrink, .measure = mag_measure, .exit = mag_exit,	\
	.slot = sim_ka_slot, .scav = sim_ka_scav,			\
	.arg = { [MAG_ARG_BUDGET] = _budget,				\
		 [MAG_ARG_CLASSES] = _classes },			\
}

/* ============================================== spn: span-local designs */

enum spn_where {
	SPN_NONE,
	SPN_ACTIVE,	/* a CPU's active span of its class */
	SPN_PARTIAL,	/* on a CPU's partial list: owned, not allocated from */
	SPN_STASH,	/* empty, on a CPU's stash */
	SPN_CENTRAL,	/* on the central partial list, no owner */
	SPN_EMPTY,	/* empty, in the central reserve */
	SPN_FULL,	/* no free slot when its owner let it go: on no list */
	SPN_OWNED_FULL,	/* SPN_ARG_KEEP: full, still its owner's */
	SPN_DELAYED,	/* ... and since freed into by another CPU */
};

/*
 * struct sspan - the per-span state a span-local design adds to ka_span
 * @rhead: the remote free list, linked through the objects' first words
 *	(in the kernel one word with @nremote, pushed with one cmpxchg)
 * @nmag: objects of this span in hybrid magazines (out of the span)
 * @owner: the owning CPU, or -1
 *
 * Live objects = span->nalloc - nremote - nmag.
 */
struct sspan {
	struct ka_span *span;
	struct list_head link;
	void *rhead;
	unsigned int nremote;
	unsigned int nmag;
	int owner;
	u8 where;
};

struct spn_pc {
	struct sspan *active;
	struct list_head partial;
	unsigned int nr_partial;
	struct list_head full;	/* SPN_ARG_KEEP: owned full spans */
	struct list_head delayed;	/* owned full spans freed into remotely */
	unsigned int nr_full;
	struct list_head stash;	/* empty spans, newest first */
	unsigned long stash_bytes;
	unsigned long stash_cap;	/* adapts as a magazine's capacity */
	u8 last;		/* direction of the last stash miss */
	unsigned long used;	/* allocations and frees of the class here */
	unsigned long seen;	/* @used at the last trim pass */
	void **mag;		/* hybrid: objects, LIFO */
	unsigned int count;
	unsigned int cap;
};

struct spn_cpu {
	unsigned long stash_bytes;	/* all classes */
	unsigned long cap_bytes;	/* sum of the stash capacities */
	struct spn_pc pc[KA_MAX_CLASSES];
};

struct spn_central {
	struct list_head partial;
	struct list_head empty;
	unsigned long nr_partial;
	unsigned long nr_empty;
	unsigned long empty_bytes;
	unsigned long takes;	/* spans handed out */
	unsigned long seen;	/* @takes at the last trim pass */
	unsigned long etakes;	/* empty spans handed out since that pass */
};

struct spn_state {
	struct sspan **map;	/* span base page -> sspan */
	unsigned long nr_spans;
	struct spn_central central[KA_MAX_CLASSES];
	struct spn_cpu cpu[];
};

#define SPN_ARG_PARTIAL	0	/* owned partial spans per class per CPU */
#define SPN_ARG_RELACT	1	/* give an empty active span back at once */
#define SPN_ARG_STASH	2	/* budget of a CPU's stash capacities, bytes */
#define SPN_ARG_MAG	3	/* hybrid: magazine bytes per class per CPU */
#define SPN_ARG_GATE	4	/* hybrid: magazine only for spans >= % full */
#define SPN_ARG_CLASSES	5
#define SPN_ARG_RESERVE	6	/* bytes of empty spans a class keeps centrally */
#define SPN_ARG_FULLEST	7	/* central hands out its fullest span */
#define SPN_ARG_KEEP	8	/* a full span stays its owner's (mimalloc) */
#define SPN_ARG_ADAPT	9	/* central reserve grows with demand */

static struct spn_state *spn_st(struct sim *sim)
{
	return sim->priv;
}

static unsigned long spn_arg(struct sim *sim, int i)
{
	return sim->fe->arg[i];
}

static unsigned long spn_pfn(const void *p)
{
	return ((unsigned long)p - PAGE_OFFSET) >> PAGE_SHIFT;
}

static struct sspan *spn_of(struct sim *sim, struct ka_span *span)
{
	return spn_st(sim)->map[spn_pfn(span->base)];
}

static unsigned int spn_live(const struct sspan *s)
{
	return s->span->nalloc - s->nremote - s->nmag;
}

/* The remote list's objects back into the span's bitmap (one xchg). */
static void spn_collect(struct sim *sim, struct sspan *s)
{
	void *p = s->rhead;

	if (!p)
		return;
	sim->cost.atomics++;
	while (p) {
		void *next = *(void **)p;

		if (!ka_span_put(s->span, p))
			sim_err("remote-freed object %p not out of its span", p);
		p = next;
	}
	s->rhead = NULL;
	s->nremote = 0;
}

static void spn_destroy(struct sim *sim, struct sspan *s)
{
	struct spn_state *st = spn_st(sim);

	st->map[spn_pfn(s->span->base)] = NULL;
	ka_span_destroy(s->span);
	free(s);
	st->nr_spans--;
	sim->cost.span_free++;
}

static unsigned long spn_bytes(const struct sspan *s)
{
	return (unsigned long)s->span->npages << PAGE_SHIFT;
}

/* The most a central reserve grows to for a class in demand. */
#define SPN_RESERVE_MAX	(2 * 1024 * 1024)

/*
 * An empty span into the central reserve, else back to the heap.  The
 * reserve is SPN_ARG_RESERVE bytes a class (at least one span), or, for a
 * class whose empty spans were taken since the last trim pass (CPUs
 * handing spans to each other: producer and consumer), as many bytes as
 * were taken, up to SPN_RESERVE_MAX.  The central lock is held (and
 * counted) by the caller.
 */
static void spn_central_empty(struct sim *sim, struct sspan *s)
{
	struct spn_central *c = &spn_st(sim)->central[s->span->cls];
	unsigned long reserve = spn_arg(sim, SPN_ARG_RESERVE);

	if (spn_arg(sim, SPN_ARG_ADAPT))
		reserve = clamp_t(unsigned long, c->etakes * spn_bytes(s),
				  reserve, SPN_RESERVE_MAX);
	s->owner = -1;
	if (!c->nr_empty || c->empty_bytes + spn_bytes(s) <= reserve) {
		s->where = SPN_EMPTY;
		list_add(&s->link, &c->empty);
		c->nr_empty++;
		c->empty_bytes += spn_bytes(s);
		return;
	}
	spn_destroy(sim, s);
}

/* The stash's capacity at the maximum: 8 batches a class. */
#define SPN_STASH_MAX	(32 * KA_BATCH_BYTES)

/*
 * A stash miss of class @cls in direction @dir (MAG_MISS_UNDER: no empty
 * span when one was wanted; MAG_MISS_OVER: no room when a span emptied):
 * mcache.c's rule for magazines, in spans - a first span, a batch's bytes
 * more each time the direction reverses, within the CPU's budget.
 */
static void spn_stash_adapt(struct sim *sim, struct spn_cpu *sc,
			    unsigned int cls, int dir)
{
	unsigned long budget = spn_arg(sim, SPN_ARG_STASH), want, room;
	unsigned long span = (unsigned long)ka_classes[cls].npages << PAGE_SHIFT;
	struct spn_pc *pc = &sc->pc[cls];

	want = pc->stash_cap;
	if (want < span)
		want = span;
	else if (pc->last && pc->last != dir)
		want += max_t(unsigned long, KA_BATCH_BYTES, span);
	pc->last = dir;
	want = min_t(unsigned long, want, SPN_STASH_MAX);
	room = budget > sc->cap_bytes ? budget - sc->cap_bytes : 0;
	want = min(want, pc->stash_cap + room);
	if (want > pc->stash_cap) {
		sc->cap_bytes += want - pc->stash_cap;
		pc->stash_cap = want;
	}
}

/* Empty spans of @pc's stash to central until it holds @goal bytes. */
static void spn_stash_trim(struct sim *sim, struct spn_cpu *sc,
			   struct spn_pc *pc, unsigned long goal)
{
	if (pc->stash_bytes <= goal)
		return;
	sim->cost.central_locks++;
	sim->cost.flushes++;
	while (pc->stash_bytes > goal) {
		struct sspan *s = list_last_entry(&pc->stash, struct sspan,
						  link);

		list_del(&s->link);
		pc->stash_bytes -= spn_bytes(s);
		sc->stash_bytes -= spn_bytes(s);
		spn_central_empty(sim, s);
	}
}

static void spn_stash_push(struct spn_cpu *sc, struct spn_pc *pc,
			   struct sspan *s, int cpu)
{
	s->owner = cpu;
	s->where = SPN_STASH;
	list_add(&s->link, &pc->stash);
	pc->stash_bytes += spn_bytes(s);
	sc->stash_bytes += spn_bytes(s);
}

/*
 * An empty span leaves its owner or the central lists: onto the stash of
 * @cpu (if >= 0 and the design has one), which, over its capacity, goes
 * down to half of it (the oldest spans to central, one lock); else the
 * central reserve or the heap.  @locked: the caller holds (and counted) the central lock.
 */
static void spn_release(struct sim *sim, struct sspan *s, int cpu, bool locked)
{
	struct spn_state *st = spn_st(sim);

	spn_collect(sim, s);
	if (s->span->nalloc)
		sim_err("span released with %u objects out", s->span->nalloc);
	if (cpu >= 0 && spn_arg(sim, SPN_ARG_STASH)) {
		struct spn_cpu *sc = &st->cpu[cpu];
		struct spn_pc *pc = &sc->pc[s->span->cls];

		if (pc->stash_bytes + spn_bytes(s) > pc->stash_cap)
			spn_stash_adapt(sim, sc, s->span->cls, MAG_MISS_OVER);
		spn_stash_push(sc, pc, s, cpu);
		if (pc->stash_bytes > pc->stash_cap)
			spn_stash_trim(sim, sc, pc, pc->stash_cap / 2);
		return;
	}
	if (!locked) {
		sim->cost.central_locks++;
		sim->cost.flushes++;
	}
	spn_central_empty(sim, s);
}

/* Owned span @s (not active) goes to the central lists; lock held. */
static void spn_unfreeze(struct sim *sim, struct sspan *s)
{
	struct spn_central *c = &spn_st(sim)->central[s->span->cls];

	spn_collect(sim, s);
	if (!spn_live(s) && !s->nmag) {
		spn_release(sim, s, -1, true);
		return;
	}
	s->owner = -1;
	if (s->span->nalloc == s->span->nelems) {
		s->where = SPN_FULL;
		return;
	}
	s->where = SPN_CENTRAL;
	list_add_tail(&s->link, &c->partial);
	c->nr_partial++;
}

/* All of @pc's partial spans to the central lists, one lock. */
static void spn_unfreeze_partial(struct sim *sim, struct spn_pc *pc)
{
	struct sspan *s, *tmp;

	if (!pc->nr_partial)
		return;
	sim->cost.central_locks++;
	list_for_each_entry_safe(s, tmp, &pc->partial, link) {
		list_del(&s->link);
		spn_unfreeze(sim, s);
	}
	pc->nr_partial = 0;
}

static struct sspan *spn_new(struct sim *sim, unsigned int cls)
{
	struct spn_state *st = spn_st(sim);
	struct sspan *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->span = ka_span_new(cls, SIM_NODE, GFP_KERNEL);
	if (!s->span) {
		free(s);
		return NULL;
	}
	INIT_LIST_HEAD(&s->link);
	st->map[spn_pfn(s->span->base)] = s;
	st->nr_spans++;
	sim->cost.span_new++;
	return s;
}

/* The central partial span to hand out: the first, or the fullest. */
static struct sspan *spn_central_pick(struct sim *sim, struct spn_central *c)
{
	struct sspan *s, *best = NULL;
	unsigned int n = 0;

	if (!spn_arg(sim, SPN_ARG_FULLEST))
		return list_first_entry_or_null(&c->partial, struct sspan,
						link);
	/* a bounded look, as a kernel would do under the lock */
	list_for_each_entry(s, &c->partial, link) {
		if (!best || spn_live(s) > spn_live(best))
			best = s;
		if (++n == 32)
			break;
	}
	return best;
}

/* Owned by @cpu from now on: the same word as the remote list. */
static void spn_own(struct sim *sim, struct sspan *s, int cpu)
{
	sim->cost.atomics++;
	s->owner = cpu;
	spn_collect(sim, s);
}

/*
 * Refill from central under one lock, as SLUB's get_partial_node(): the
 * first span for @cpu to allocate from, and more, up to a batch's bytes
 * (KA_BATCH_BYTES), partly used ones onto the CPU's partial list (within
 * its bound), empty ones onto its stash (within its bytes).
 */
static struct sspan *spn_central_get(struct sim *sim, int cpu,
				     unsigned int cls)
{
	struct spn_state *st = spn_st(sim);
	struct spn_cpu *sc = &st->cpu[cpu];
	struct spn_pc *pc = &sc->pc[cls];
	struct spn_central *c = &st->central[cls];
	struct sspan *first = NULL, *s;
	unsigned long bytes = 0;

	if (!c->nr_partial && !c->nr_empty)
		return NULL;
	sim->cost.central_locks++;
	sim->cost.refills++;
	while (bytes < KA_BATCH_BYTES) {
		s = spn_central_pick(sim, c);
		if (s) {
			if (first && pc->nr_partial >=
				     spn_arg(sim, SPN_ARG_PARTIAL))
				break;
			list_del(&s->link);
			c->nr_partial--;
		} else if (c->nr_empty) {
			s = list_first_entry(&c->empty, struct sspan, link);
			if (first && pc->stash_bytes + spn_bytes(s) >
				     pc->stash_cap)
				break;
			list_del(&s->link);
			c->nr_empty--;
			c->empty_bytes -= spn_bytes(s);
			c->etakes++;
		} else {
			break;
		}
		c->takes++;
		spn_own(sim, s, cpu);
		bytes += spn_bytes(s);
		if (!first) {
			first = s;
		} else if (s->span->nalloc) {
			s->where = SPN_PARTIAL;
			list_add_tail(&s->link, &pc->partial);
			pc->nr_partial++;
		} else {
			spn_stash_push(sc, pc, s, cpu);
		}
	}
	return first;
}

/* A span for @cpu to allocate from, owned; never the old active one. */
static struct sspan *spn_get(struct sim *sim, int cpu, unsigned int cls)
{
	struct spn_state *st = spn_st(sim);
	struct spn_pc *pc = &st->cpu[cpu].pc[cls];
	struct sspan *s;

	if (list_empty(&pc->partial) && !list_empty(&pc->delayed)) {
		/* mimalloc's delayed frees: take the list (one xchg) */
		struct sspan *tmp;

		sim->cost.atomics++;
		list_for_each_entry_safe(s, tmp, &pc->delayed, link) {
			list_move_tail(&s->link, &pc->partial);
			pc->nr_full--;
			pc->nr_partial++;
			s->where = SPN_PARTIAL;
		}
	}
	s = list_first_entry_or_null(&pc->partial, struct sspan, link);
	if (s) {
		list_del(&s->link);
		pc->nr_partial--;
		spn_collect(sim, s);
		return s;
	}
	s = list_first_entry_or_null(&pc->stash, struct sspan, link);
	if (s) {
		list_del(&s->link);
		pc->stash_bytes -= spn_bytes(s);
		st->cpu[cpu].stash_bytes -= spn_bytes(s);
		return s;
	}
	if (spn_arg(sim, SPN_ARG_STASH))
		spn_stash_adapt(sim, &st->cpu[cpu], cls, MAG_MISS_UNDER);
	s = spn_central_get(sim, cpu, cls);
	if (s)
		return s;
	s = spn_new(sim, cls);
	if (s)
		s->owner = cpu;
	return s;
}

static bool spn_take(struct sspan *s, void **p)
{
	return ka_span_take(s->span, p, 1) == 1;
}

static void *spn_alloc(struct sim *sim, int cpu, size_t size)
{
	struct spn_pc *pc;
	struct sspan *s;
	unsigned int cls;
	void *p;

	sim->cost.allocs++;
	if (size > KA_MAX_SMALL_SIZE)
		return sim_large_alloc(sim, size);
	cls = ka_size_class(size);
	pc = &spn_st(sim)->cpu[cpu].pc[cls];
	pc->used++;
	if (pc->count) {
		p = pc->mag[--pc->count];
		spn_of(sim, sim_span_of(p))->nmag--;
		return p;
	}
	s = pc->active;
	if (s && spn_take(s, &p))
		return p;
	if (s) {
		/* the slots other CPUs gave back, else let the full span go */
		spn_collect(sim, s);
		if (spn_take(s, &p))
			return p;
		pc->active = NULL;
		if (spn_arg(sim, SPN_ARG_KEEP) && s->span->nelems > 1) {
			/* mimalloc: the page stays in its heap's full queue */
			s->where = SPN_OWNED_FULL;
			list_add(&s->link, &pc->full);
			pc->nr_full++;
		} else {
			/* one-object spans are their object's: no atomic */
			if (s->span->nelems > 1)
				sim->cost.atomics++;
			s->owner = -1;
			s->where = SPN_FULL;
		}
	}
	s = spn_get(sim, cpu, cls);
	if (!s)
		return NULL;
	s->where = SPN_ACTIVE;
	pc->active = s;
	if (!spn_take(s, &p))
		sim_err("new active span of class %u has no free object", cls);
	return p;
}

/* Hybrid: may a free into @s, not this CPU's, go to the magazine? */
static bool spn_to_mag(struct sim *sim, struct spn_pc *pc, struct sspan *s)
{
	return pc->count < pc->cap &&
	       spn_live(s) * 100 >= s->span->nelems *
				    spn_arg(sim, SPN_ARG_GATE);
}

/* A free by a CPU that does not own @s: the remote list. */
static void spn_free_remote(struct sim *sim, int cpu, struct sspan *s,
			    void *p)
{
	struct spn_state *st = spn_st(sim);
	struct spn_pc *pc = &st->cpu[cpu].pc[s->span->cls];
	struct spn_central *c = &st->central[s->span->cls];

	if (s->span->nelems == 1 && s->owner < 0) {
		/* the span is the object's: the free takes it whole */
		ka_span_put(s->span, p);
		spn_release(sim, s, cpu, false);
		return;
	}
	*(void **)p = s->rhead;
	s->rhead = p;
	s->nremote++;
	sim->cost.atomics++;
	if (s->owner >= 0 && s->where == SPN_OWNED_FULL) {
		/* the owner must hear of it: its delayed list (mimalloc) */
		struct spn_pc *opc = &st->cpu[s->owner].pc[s->span->cls];

		sim->cost.atomics++;
		s->where = SPN_DELAYED;
		list_move(&s->link, &opc->delayed);
	}
	if (s->owner >= 0)
		return;		/* another CPU's: it collects */
	if (!spn_live(s) && !s->nmag) {
		/* the last object out: this free ends the span */
		if (s->where == SPN_CENTRAL) {
			sim->cost.central_locks++;
			list_del(&s->link);
			c->nr_partial--;
			spn_release(sim, s, cpu, true);
		} else {
			spn_release(sim, s, cpu, false);
		}
		return;
	}
	if (s->where != SPN_FULL)
		return;
	if (!spn_arg(sim, SPN_ARG_PARTIAL)) {
		/* Go's shape: a span with room goes back to central */
		sim->cost.central_locks++;
		s->where = SPN_CENTRAL;
		list_add_tail(&s->link, &c->partial);
		c->nr_partial++;
		return;
	}
	/* SLUB's freeze: in the same cmpxchg, the span becomes ours */
	if (pc->nr_partial >= spn_arg(sim, SPN_ARG_PARTIAL))
		spn_unfreeze_partial(sim, pc);
	s->owner = cpu;
	s->where = SPN_PARTIAL;
	list_add(&s->link, &pc->partial);
	pc->nr_partial++;
}

static void spn_free(struct sim *sim, int cpu, void *p)
{
	struct ka_span *span = sim_span_of(p);
	struct spn_pc *pc;
	struct sspan *s;

	sim->cost.frees++;
	if (span->state == KA_SPAN_LARGE) {
		sim_large_free(sim, span);
		return;
	}
	s = spn_of(sim, span);
	pc = &spn_st(sim)->cpu[cpu].pc[span->cls];
	pc->used++;
	if (s->owner == cpu) {
		if (!ka_span_put(span, p))
			sim_err("%p freed twice", p);
		if (s->where == SPN_OWNED_FULL || s->where == SPN_DELAYED) {
			list_move(&s->link, &pc->partial);
			pc->nr_full--;
			pc->nr_partial++;
			s->where = SPN_PARTIAL;
		}
		if (spn_live(s) || s->nmag)
			return;
		if (s->where == SPN_PARTIAL) {
			list_del(&s->link);
			pc->nr_partial--;
			spn_release(sim, s, cpu, false);
		} else if (s->where == SPN_ACTIVE &&
			   spn_arg(sim, SPN_ARG_RELACT)) {
			pc->active = NULL;
			spn_release(sim, s, cpu, false);
		}
		return;
	}
	if (spn_to_mag(sim, pc, s)) {
		pc->mag[pc->count++] = p;
		s->nmag++;
		return;
	}
	spn_free_remote(sim, cpu, s, p);
}

/* A magazine's objects back to their spans, as frees of @cpu. */
static void spn_flush_mag(struct sim *sim, int cpu, struct spn_pc *pc)
{
	while (pc->count) {
		void *p = pc->mag[--pc->count];
		struct sspan *s = spn_of(sim, sim_span_of(p));

		s->nmag--;
		if (s->owner == cpu) {
			ka_span_put(s->span, p);
			if (!spn_live(s) && !s->nmag && s->where == SPN_PARTIAL) {
				list_del(&s->link);
				pc->nr_partial--;
				spn_release(sim, s, cpu, false);
			}
		} else {
			spn_free_remote(sim, cpu, s, p);
		}
	}
}

/*
 * Give back what @pc holds: with @all everything (the shrinker), else
 * (an idle class at the trim pass) the same but empty spans only from the
 * active one.  Owner context.
 */
static void spn_drop_class(struct sim *sim, int cpu, struct spn_pc *pc)
{
	struct sspan *s = pc->active;

	spn_flush_mag(sim, cpu, pc);
	while (!list_empty(&pc->delayed))
		list_move(pc->delayed.next, &pc->partial);
	while (!list_empty(&pc->full))
		list_move(pc->full.next, &pc->partial);
	pc->nr_partial += pc->nr_full;
	pc->nr_full = 0;
	spn_unfreeze_partial(sim, pc);
	if (!s)
		return;
	pc->active = NULL;
	spn_collect(sim, s);
	if (!spn_live(s) && !s->nmag) {
		spn_release(sim, s, -1, false);
		return;
	}
	sim->cost.central_locks++;
	spn_unfreeze(sim, s);
}

/* @pc's stash capacity to @cap (its spans beyond it to central). */
static void spn_stash_resize(struct sim *sim, struct spn_cpu *sc,
			     struct spn_pc *pc, unsigned long cap)
{
	spn_stash_trim(sim, sc, pc, cap);
	sc->cap_bytes -= pc->stash_cap - cap;
	pc->stash_cap = cap;
}

/* The central reserves back to the heap: all, or (@idle) unused ones. */
static void spn_release_central(struct sim *sim, bool idle)
{
	struct spn_state *st = spn_st(sim);
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++) {
		struct spn_central *c = &st->central[cls];
		struct sspan *s, *tmp;

		if (idle && c->takes != c->seen) {
			c->seen = c->takes;
			c->etakes = 0;
			continue;
		}
		list_for_each_entry_safe(s, tmp, &c->empty, link) {
			list_del(&s->link);
			c->nr_empty--;
			c->empty_bytes -= spn_bytes(s);
			spn_destroy(sim, s);
		}
	}
}

/*
 * One trim pass: each CPU collects its partial spans' remote lists (an
 * emptied span goes back) and gives up everything of a class it did not
 * use since the previous pass.
 */
static void spn_tick(struct sim *sim)
{
	struct spn_state *st = spn_st(sim);
	unsigned int cls;
	int cpu;

	for (cpu = 0; cpu < sim->ncpu; cpu++) {
		struct spn_cpu *sc = &st->cpu[cpu];

		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct spn_pc *pc = &sc->pc[cls];
			struct sspan *s, *tmp;

			list_for_each_entry_safe(s, tmp, &pc->partial, link) {
				if (!s->nremote)
					continue;
				spn_collect(sim, s);
				if (spn_live(s) || s->nmag)
					continue;
				list_del(&s->link);
				pc->nr_partial--;
				spn_release(sim, s, cpu, false);
			}
			if (pc->used == pc->seen) {
				spn_drop_class(sim, cpu, pc);
				/* as a magazine: halved, 0 below a span */
				spn_stash_resize(sim, sc, pc,
						 pc->stash_cap / 2 >=
						 ((unsigned long)ka_classes[cls].npages <<
						  PAGE_SHIFT) ? pc->stash_cap / 2 : 0);
				pc->last = 0;
			}
			pc->seen = pc->used;
		}
	}
	spn_release_central(sim, true);
	sim_ka_background();
}

static void spn_shrink(struct sim *sim)
{
	struct spn_state *st = spn_st(sim);
	unsigned int cls;
	int cpu;

	for (cpu = 0; cpu < sim->ncpu; cpu++) {
		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct spn_pc *pc = &st->cpu[cpu].pc[cls];

			spn_drop_class(sim, cpu, pc);
			spn_stash_trim(sim, &st->cpu[cpu], pc, 0);
		}
	}
	spn_release_central(sim, false);
	sim_ka_release_all();
}

/* Free bytes a CPU keeps to itself: owned spans' free slots, stash, mags. */
static void spn_measure(struct sim *sim, struct sim_mem *mem)
{
	struct spn_state *st = spn_st(sim);
	unsigned int cls;
	int cpu;

	memset(mem, 0, sizeof(*mem));
	sim_ka_measure_heap(mem);
	for (cpu = 0; cpu < sim->ncpu; cpu++) {
		struct spn_cpu *sc = &st->cpu[cpu];
		unsigned long bytes = sc->stash_bytes;

		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct spn_pc *pc = &sc->pc[cls];
			unsigned long size = ka_classes[cls].size;
			struct sspan *s;

			bytes += pc->count * size;
			if (pc->active)
				bytes += (pc->active->span->nelems -
					  spn_live(pc->active)) * size;
			list_for_each_entry(s, &pc->partial, link)
				bytes += (s->span->nelems - spn_live(s)) * size;
			list_for_each_entry(s, &pc->delayed, link)
				bytes += (s->span->nelems - spn_live(s)) * size;
		}
		mem->cached += bytes;
		mem->cached_max = max(mem->cached_max, bytes);
	}
}

static int spn_init(struct sim *sim)
{
	unsigned long mag = spn_arg(sim, SPN_ARG_MAG);
	struct spn_state *st;
	unsigned int cls;
	int cpu, ret;

	ret = sim_ka_setup(spn_arg(sim, SPN_ARG_CLASSES));
	if (ret)
		return ret;
	st = calloc(1, sizeof(*st) + sim->ncpu * sizeof(st->cpu[0]));
	if (!st)
		return -ENOMEM;
	st->map = calloc(shim_region_bytes() >> PAGE_SHIFT, sizeof(*st->map));
	if (!st->map) {
		free(st);
		return -ENOMEM;
	}
	for (cls = 1; cls < ka_nr_classes; cls++) {
		INIT_LIST_HEAD(&st->central[cls].partial);
		INIT_LIST_HEAD(&st->central[cls].empty);
	}
	for (cpu = 0; cpu < sim->ncpu; cpu++) {
		struct spn_cpu *sc = &st->cpu[cpu];

		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct spn_pc *pc = &sc->pc[cls];

			INIT_LIST_HEAD(&pc->partial);
			INIT_LIST_HEAD(&pc->full);
			INIT_LIST_HEAD(&pc->delayed);
			INIT_LIST_HEAD(&pc->stash);
			pc->cap = mag / ka_classes[cls].size;
			if (pc->cap)
				pc->mag = calloc(pc->cap, sizeof(void *));
			if (pc->cap && !pc->mag)
				return -ENOMEM;
		}
	}
	sim->priv = st;
	return 0;
}

static int spn_exit(struct sim *sim)
{
	struct spn_state *st = spn_st(sim);
	unsigned int cls;
	int cpu, ret = 0;

	if (st->nr_spans) {
		sim_err("%lu spans still held", st->nr_spans);
		ret = -EBUSY;
	}
	for (cpu = 0; cpu < sim->ncpu; cpu++)
		for (cls = 1; cls < ka_nr_classes; cls++)
			free(st->cpu[cpu].pc[cls].mag);
	free(st->map);
	free(st);
	sim->priv = NULL;
	return ret;
}

#define SPN_FE(_name, _desc, ...) {					\
	.name = _name, .desc = _desc, .init = spn_init,			\
	.alloc = spn_alloc, .free = spn_free, .tick = spn_tick,		\
	.shrink = spn_shrink, .measure = spn_measure, .exit = spn_exit,	\
	.slot = sim_ka_slot, .scav = sim_ka_scav,			\
	.arg = { __VA_ARGS__ },						\
}

const struct sim_fe sim_fe_mag = MAG_FE("mag",
	"today: magazines (mcache.c), 2 MiB budget, adaptive capacity, trim", 0,
	SIM_CLASSES_KA);
const struct sim_fe sim_fe_mag_old = MAG_FE("mag-old",
	"today's magazines on the table before issue 30 (runs to 8 objects)",
	0, SIM_CLASSES_OLD);
const struct sim_fe sim_fe_mag_512k = MAG_FE("mag-512k",
	"today's magazines with pcpu_budget=512 KiB", 512 * 1024,
	SIM_CLASSES_KA);
const struct sim_fe sim_fe_mag_pg = MAG_FE("mag-pg",
	"today's magazines on page classes above 4 KiB", 0, SIM_CLASSES_PAGE);
#define SPN_RESERVE	(64 * 1024)	/* KA_MCENTRAL_RESERVE_BYTES */

const struct sim_fe sim_fe_go = SPN_FE("go",
	"(a) Go's mcache: one active span a class, the rest central",
	[SPN_ARG_RESERVE] = SPN_RESERVE, [SPN_ARG_CLASSES] = SIM_CLASSES_OLD);
const struct sim_fe sim_fe_go_rel = SPN_FE("go-rel",
	"(a) go, an empty active span given back at once",
	[SPN_ARG_RELACT] = 1, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_CLASSES] = SIM_CLASSES_OLD);
const struct sim_fe sim_fe_own = SPN_FE("own",
	"(a) + SLUB's frozen partial spans, 2 a class (frees local)",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_CLASSES] = SIM_CLASSES_OLD);
const struct sim_fe sim_fe_own_go = SPN_FE("own-gorun",
	"own on Go's own runs (big spans not repeated to 8 objects)",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_CLASSES] = SIM_CLASSES_GORUN);
const struct sim_fe sim_fe_own_pg = SPN_FE("own-pg",
	"own on page classes above 4 KiB (one object a span)",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_CLASSES] = SIM_CLASSES_PAGE);
const struct sim_fe sim_fe_own_gp = SPN_FE("own-gp",
	"own on Go's runs up to 4 KiB, page classes above",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_CLASSES] = SIM_CLASSES_GOPAGE);
const struct sim_fe sim_fe_own_gp_st = SPN_FE("own-gp-st",
	"own-gp + a stash of empty spans, adaptive within 1 MiB a CPU",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_STASH] = 1024 * 1024, [SPN_ARG_CLASSES] = SIM_CLASSES_GOPAGE);
const struct sim_fe sim_fe_keep_gp = SPN_FE("keep-gp",
	"(c) own-gp, full spans stay the CPU's (mimalloc's pages)",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_KEEP] = 1, [SPN_ARG_CLASSES] = SIM_CLASSES_GOPAGE);
const struct sim_fe sim_fe_keep_gp_st = SPN_FE("keep-gp-st",
	"(c) keep-gp + adaptive stash (512 KiB a CPU) and central reserve",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_STASH] = 512 * 1024, [SPN_ARG_KEEP] = 1,
	[SPN_ARG_ADAPT] = 1, [SPN_ARG_CLASSES] = SIM_CLASSES_GOPAGE);
const struct sim_fe sim_fe_keep_gp_st2m = SPN_FE("keep-gp-2m",
	"(c) keep-gp-st with a 2 MiB stash budget (today's magazines')",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_STASH] = 2048 * 1024, [SPN_ARG_KEEP] = 1,
	[SPN_ARG_ADAPT] = 1, [SPN_ARG_CLASSES] = SIM_CLASSES_GOPAGE);
const struct sim_fe sim_fe_keep_go_st = SPN_FE("keep-go",
	"keep-gp-st on Go's classes and runs above 4 KiB too",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_STASH] = 512 * 1024, [SPN_ARG_KEEP] = 1,
	[SPN_ARG_ADAPT] = 1, [SPN_ARG_CLASSES] = SIM_CLASSES_GORUN);
const struct sim_fe sim_fe_keep_old_st = SPN_FE("keep-old",
	"keep-gp-st on the table before issue 30 (runs to 8 objects)",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_STASH] = 512 * 1024, [SPN_ARG_KEEP] = 1,
	[SPN_ARG_ADAPT] = 1, [SPN_ARG_CLASSES] = SIM_CLASSES_OLD);
const struct sim_fe sim_fe_hyb_gp_st = SPN_FE("hyb-gp-st",
	"(b) own-gp-st + 4 KiB magazines for frees into dense spans",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_STASH] = 1024 * 1024, [SPN_ARG_MAG] = 4096,
	[SPN_ARG_GATE] = 50, [SPN_ARG_CLASSES] = SIM_CLASSES_GOPAGE);
const struct sim_fe sim_fe_own_gp_c = SPN_FE("own-gp-c",
	"own-gp on 14 classes up to 512 B (Go's steps doubled) instead of 24",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_CLASSES] = SIM_CLASSES_COARSE);
const struct sim_fe sim_fe_keep_gp_st_c = SPN_FE("keep-gp-st-c",
	"keep-gp-st on 14 classes up to 512 B",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_STASH] = 512 * 1024, [SPN_ARG_KEEP] = 1,
	[SPN_ARG_ADAPT] = 1, [SPN_ARG_CLASSES] = SIM_CLASSES_COARSE);
const struct sim_fe sim_fe_keep_gp_st2m_c = SPN_FE("keep-gp-2m-c",
	"keep-gp-2m on 14 classes up to 512 B",
	[SPN_ARG_PARTIAL] = 2, [SPN_ARG_RESERVE] = SPN_RESERVE,
	[SPN_ARG_STASH] = 2048 * 1024, [SPN_ARG_KEEP] = 1,
	[SPN_ARG_ADAPT] = 1, [SPN_ARG_CLASSES] = SIM_CLASSES_COARSE);

/* ============================================ ka: mcache.c and api.c */

/*
 * ka's own per-CPU layer, not a model of it: api.c's ka_alloc() and
 * ka_free() and mcache.c's magazines, owned spans, floors and budget,
 * built as utest builds them, on one emulated CPU per simulated CPU.  A
 * second is the kernel's periodic trim (the delayed work, which runs each
 * CPU's pass) and a scavenger pass; the shrinkers are ka's: every CPU
 * flushes and gives its spans back, then the empty spans, chunks and free
 * pages go back (ka_drain() without RCU and KASAN).
 */
#define KA_ARG_BUDGET	0	/* bytes; 0: mcache.c's default */
#define KA_ARG_COLD	1	/* full spans off the free hit path */
#define KA_ARG_ONE	2	/* one-object classes: magazine bytes (0: ka's) */
#define KA_ARG_OLD_FLOOR 3	/* one-object classes: the floor of the others */

/* Central lock acquisitions and span builds of all classes, so far. */
static void ka_fe_shared(unsigned long *locks, unsigned long *spans_new,
			 unsigned long *spans_free)
{
	unsigned int cls;

	*locks = *spans_new = *spans_free = 0;
	for (cls = 1; cls < ka_nr_classes; cls++) {
		const struct ka_mcentral *c = ka_mcentral_of(SIM_NODE, cls);

		*locks += c->nr_lock;
		*spans_new += c->spans_from_heap;
		*spans_free += c->spans_to_heap;
	}
}

struct ka_fe_state {
	unsigned long locks, spans_new, spans_free;
};

/* What the call since the last one cost: central locks, spans, batches. */
static void ka_fe_count(struct sim *sim, const struct ka_magazine *m,
			unsigned long refills, unsigned long flushes)
{
	struct ka_fe_state *st = sim->priv;
	unsigned long locks, sn, sf;

	ka_fe_shared(&locks, &sn, &sf);
	sim->cost.central_locks += locks - st->locks;
	sim->cost.span_new += sn - st->spans_new;
	sim->cost.span_free += sf - st->spans_free;
	st->locks = locks;
	st->spans_new = sn;
	st->spans_free = sf;
	if (m) {
		sim->cost.refills += m->nr_refill - refills;
		sim->cost.flushes += m->nr_flush - flushes;
	}
}

static void *ka_fe_alloc(struct sim *sim, int cpu, size_t size)
{
	const struct ka_magazine *m = NULL;
	unsigned long rf = 0, fl = 0;
	void *p;

	sim->cost.allocs++;
	shim_run_on(cpu);
	if (size <= KA_MAX_SMALL_SIZE) {
		m = per_cpu_ptr(&ka_mcache->mag[ka_size_class(size)], cpu);
		rf = m->nr_refill;
		fl = m->nr_flush;
		/* the allocation hit path: a pop */
		if (ka_mag_count(m))
			sim->cost.hits++;
	} else {
		sim->cost.span_new++;
	}
	p = ka_alloc(size, GFP_KERNEL);
	ka_fe_count(sim, m, rf, fl);
	return p;
}

static void ka_fe_free(struct sim *sim, int cpu, void *p)
{
	struct ka_span *span = sim_span_of(p);
	const struct ka_magazine *m = NULL;
	unsigned long rf = 0, fl = 0;

	sim->cost.frees++;
	shim_run_on(cpu);
	if (span->state == KA_SPAN_SMALL) {
		m = per_cpu_ptr(&ka_mcache->mag[span->cls], cpu);
		rf = m->nr_refill;
		fl = m->nr_flush;
		/* the remote bitmap's test_and_set_bit() */
		if (ka_class_owned(&ka_classes[span->cls]) &&
		    ka_rs_owner(atomic_long_read(&span->rstate)) != cpu + 1)
			sim->cost.atomics++;
		/* the free hit path: the CPU's key, room for a push */
		if (span->fastkey == per_cpu_ptr(ka_mcache, cpu)->fastkey &&
		    m->top != m->end)
			sim->cost.hits++;
	}
	ka_free(p);
	ka_fe_count(sim, m, rf, fl);
}

/* One second: the periodic trim (every CPU's pass) and the scavenger. */
static void ka_fe_tick(struct sim *sim)
{
	shim_run_on(0);
	shim_run_timers();
	ka_mheap_scavenge(ka_mheap_of(SIM_NODE), KA_SCAV_PAGES_PER_TICK);
	shim_rcu_barrier();
	ka_fe_count(sim, NULL, 0, 0);
}

/* drop_caches: the shrinker's flushes on every CPU, then the release. */
static void ka_fe_shrink(struct sim *sim)
{
	shim_run_on(0);
	ka_mcache_drain_all();
	ut_release_all(0);
	shim_rcu_barrier();
	ka_fe_count(sim, NULL, 0, 0);
}

/* Bytes of free objects in a CPU's magazines, and of its stashed spans. */
static unsigned long ka_fe_cpu_cached(int cpu)
{
	struct ka_mcache *pc = per_cpu_ptr(ka_mcache, cpu);
	unsigned long bytes = 0;
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++)
		bytes += (unsigned long)ka_mag_count(&pc->mag[cls]) *
			 ka_classes[cls].size +
			 ((unsigned long)pc->owned[cls].nstash *
			  ka_classes[cls].npages << PAGE_SHIFT);
	return bytes;
}

static void ka_fe_measure(struct sim *sim, struct sim_mem *mem)
{
	int cpu;

	memset(mem, 0, sizeof(*mem));
	sim_ka_measure_heap(mem);
	for (cpu = 0; cpu < sim->ncpu; cpu++) {
		unsigned long bytes = ka_fe_cpu_cached(cpu);

		mem->cached += bytes;
		mem->cached_max = max(mem->cached_max, bytes);
	}
}

static int ka_fe_init(struct sim *sim)
{
	struct ka_fe_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	sim->priv = st;
	ka_fe_shared(&st->locks, &st->spans_new, &st->spans_free);
	ka_mcache_full_hot = !sim->fe->arg[KA_ARG_COLD];
	ka_mcache_one_floor = !sim->fe->arg[KA_ARG_OLD_FLOOR];
	if (sim->fe->arg[KA_ARG_ONE]) {
		unsigned int cls;

		/* at least two objects, a batch of half of them */
		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct ka_class *k = &ka_classes[cls];

			if (ka_class_owned(k))
				continue;
			k->cache_max = max_t(unsigned long, 2,
					     sim->fe->arg[KA_ARG_ONE] / k->size);
			k->batch = max(1U, k->cache_max / 2);
		}
	}
	if (sim->fe->arg[KA_ARG_BUDGET]) {
		shim_run_on(0);
		ka_mcache_set_budget(sim->fe->arg[KA_ARG_BUDGET]);
	}
	return 0;
}

static int ka_fe_exit(struct sim *sim)
{
	free(sim->priv);
	sim->priv = NULL;
	return 0;
}

/*
 * Where ka's pages are (a DECOMP line, pages x 4 KiB per requested live
 * byte, and pages): the CPUs' spans - active, partial, full, stash - with
 * the bytes of their objects out to clients (magazines apart), the
 * magazines' objects, mcentral's partial and full spans and its empty
 * reserve, large objects, the heap's free pages; "roundup" is what the
 * classes add to the requested bytes.
 */
void sim_ka_decomp(struct sim *sim, const char *wl, const char *phase,
		   unsigned long live_bytes)
{
	enum { D_ACT, D_PART, D_FULL, D_STASH, D_CPART, D_CFULL, D_CEMPTY,
	       D_NR };
	static const char * const names[D_NR] = {
		"active", "partial", "full", "stash", "c_partial", "c_full",
		"c_empty" };
	unsigned long pages[D_NR] = { 0 }, out[D_NR] = { 0 }, nspans[D_NR] = { 0 };
	unsigned long mag = 0, mag1 = 0, slots = 0, held, used, large = 0;
	const struct ka_mheap *heap = ka_mheap_of(SIM_NODE);
	struct ka_span *span;
	unsigned int cls, i;
	int cpu;

#define DSPAN(d, sp) do {						\
		pages[d] += (sp)->npages;				\
		out[d] += (unsigned long)(sp)->nalloc * ka_classes[cls].size; \
		nspans[d]++;						\
	} while (0)
	for (cpu = 0; cpu < sim->ncpu; cpu++) {
		struct ka_mcache *pc = per_cpu_ptr(ka_mcache, cpu);

		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct ka_owned *s = &pc->owned[cls];

			if (!ka_class_owned(&ka_classes[cls])) {
				mag1 += (unsigned long)ka_mag_count(&pc->mag[cls]) *
					ka_classes[cls].size;
				continue;
			}
			mag += (unsigned long)ka_mag_count(&pc->mag[cls]) *
			       ka_classes[cls].size;
			if (s->active)
				DSPAN(D_ACT, s->active);
			list_for_each_entry(span, &s->partial, olink)
				DSPAN(D_PART, span);
			list_for_each_entry(span, &s->full, olink)
				DSPAN(D_FULL, span);
			list_for_each_entry(span, &s->stash, olink)
				DSPAN(D_STASH, span);
		}
	}
	for (cls = 1; cls < ka_nr_classes; cls++) {
		struct ka_mcentral *c = ka_mcentral_of(SIM_NODE, cls);

		list_for_each_entry(span, &c->partial, list) {
			if (span->nalloc)
				DSPAN(D_CPART, span);
			else
				DSPAN(D_CEMPTY, span);
		}
		list_for_each_entry(span, &c->full, list)
			DSPAN(D_CFULL, span);
	}
#undef DSPAN
	list_for_each_entry(span, &heap->large, list)
		large += span->npages;
	held = sim_ka_pages(&used);
	/* the objects clients hold of the small spans, in their slots */
	for (i = 0; i < D_NR; i++)
		slots += out[i];
	printf("DECOMP wl=%s cpus=%d phase=%s live_bytes=%lu held=%lu used=%lu mag_kb=%lu mag1_kb=%lu",
	       wl, sim->ncpu, phase, live_bytes, held, used, mag >> 10,
	       mag1 >> 10);
	for (i = 0; i < D_NR; i++)
		printf(" %s=%lu/%lu/%lukb", names[i], nspans[i], pages[i],
		       out[i] >> 10);
	printf(" large_pages=%lu heap_free=%lu slots_out_kb=%lu\n", large,
	       held - used, (slots - mag - mag1) >> 10);
}

#define KA_FE_ARGS(_name, _desc, _budget, _cold, _one, _floor) {	\
	.name = _name, .desc = _desc, .init = ka_fe_init,		\
	.alloc = ka_fe_alloc, .free = ka_fe_free, .tick = ka_fe_tick,	\
	.shrink = ka_fe_shrink, .measure = ka_fe_measure,		\
	.exit = ka_fe_exit, .slot = sim_ka_slot, .scav = sim_ka_scav,	\
	.arg = { [KA_ARG_BUDGET] = _budget, [KA_ARG_COLD] = _cold,	\
		 [KA_ARG_ONE] = _one, [KA_ARG_OLD_FLOOR] = _floor },	\
	.real = true,							\
}
#define KA_FE(_name, _desc, _budget) KA_FE_ARGS(_name, _desc, _budget, 0, 0, 0)

const struct sim_fe sim_fe_ka = KA_FE("ka",
	"ka's own mcache.c and api.c (not a model), default budget", 0);
const struct sim_fe sim_fe_ka_1m = KA_FE("ka-1m",
	"ka's own mcache.c and api.c, pcpu_budget=1024 KiB", 1024 * 1024);
const struct sim_fe sim_fe_ka_512k = KA_FE("ka-512k",
	"ka's own mcache.c and api.c, pcpu_budget=512 KiB", 512 * 1024);
const struct sim_fe sim_fe_ka_256k = KA_FE("ka-256k",
	"ka's own mcache.c and api.c, pcpu_budget=256 KiB", 256 * 1024);
const struct sim_fe sim_fe_ka_128k = KA_FE("ka-128k",
	"ka's own mcache.c and api.c, pcpu_budget=128 KiB", 128 * 1024);
/* a byte: floors of 0, no stash - the owned spans' own footprint */
const struct sim_fe sim_fe_ka_nomag = KA_FE("ka-nomag",
	"ka's own mcache.c and api.c, no magazines and no stash (pcpu_budget=1 B)",
	1);
/* only the active span's objects cycle through the magazine */
const struct sim_fe sim_fe_ka_cold = KA_FE_ARGS("ka-cold",
	"ka's own mcache.c and api.c, full spans off the free hit path",
	0, 1, 0, 0);
const struct sim_fe sim_fe_ka_cold_512k = KA_FE_ARGS("ka-cold-512k",
	"ka's own mcache.c and api.c, full spans off the free hit path, pcpu_budget=512 KiB",
	512 * 1024, 1, 0, 0);
#define KA_FE_ONE(_n, _budget, _one, _floor) KA_FE_ARGS(_n,		\
	"ka's own mcache.c and api.c, 8-32 KiB classes: magazine bytes, old floor", \
	_budget, 0, _one, _floor)
/* before the batch floor of the one-object classes */
const struct sim_fe sim_fe_ka_f1 = KA_FE_ONE("ka-f1", 0, 0, 1);
const struct sim_fe sim_fe_ka_f1_512k = KA_FE_ONE("ka-f1-512k", 512 * 1024, 0, 1);
const struct sim_fe sim_fe_ka_f1_1m = KA_FE_ONE("ka-f1-1m", 1024 * 1024, 0, 1);
/* their magazines at most 32 (16) KiB, two objects at least */
const struct sim_fe sim_fe_ka_o32 = KA_FE_ONE("ka-o32", 0, 32 * 1024, 0);
const struct sim_fe sim_fe_ka_o32_1m = KA_FE_ONE("ka-o32-1m", 1024 * 1024, 32 * 1024, 0);
const struct sim_fe sim_fe_ka_o32_512k = KA_FE_ONE("ka-o32-512k", 512 * 1024, 32 * 1024, 0);
const struct sim_fe sim_fe_ka_o16_512k = KA_FE_ONE("ka-o16-512k", 512 * 1024, 16 * 1024, 0);
