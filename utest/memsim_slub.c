// SPDX-License-Identifier: GPL-2.0
/*
 * memsim's SLUB: Linux 6.1's kmalloc() (mm/slub.c, mm/slab_common.c) as a
 * model of slab counts, to compare ka's designs with in the same runs.
 *
 * What it keeps of SLUB, as 6.1 does it (CONFIG_SLUB_CPU_PARTIAL, no
 * debugging, one node):
 *  - the kmalloc caches 8 .. 8k with 96 and 192, sizes mapped as
 *    kmalloc_index() and size_index[] do; object size = cache size;
 *  - each cache's slab order from calculate_order() (slub_max_order 3,
 *    min_objects 4 * (sim_fls(nr_cpus) + 1)), min_partial
 *    (ilog2(size) / 2 within 5 .. 10), cpu_partial objects (6, 24, 52 or
 *    120 by size) and cpu_partial_slabs = DIV_ROUND_UP(2 * that, objects);
 *  - a CPU allocates from its cpu slab until it is full (a full slab goes
 *    on no list), then from the head of its cpu partial list, then from
 *    the node partial list (get_partial_node(): the first slab becomes the
 *    cpu slab, the next ones go to the cpu partial list until more than
 *    cpu_partial_slabs / 2), then a new slab;
 *  - a free into the CPU's cpu slab is its fast path; any other free is
 *    __slab_free(): a slab that was full is frozen onto the freeing CPU's
 *    partial list (put_cpu_partial(): a list already at cpu_partial_slabs
 *    is unfrozen to the node first); a node-partial slab that becomes
 *    empty is discarded if the node has min_partial partial slabs, else
 *    it stays; unfreezing discards empty slabs the same way;
 *  - kmalloc above KMALLOC_MAX_CACHE_SIZE (8 KiB) is alloc_pages() of
 *    get_order(size): order-rounded;
 *  - nothing happens while idle (6.1 has no periodic flush); the shrink
 *    is kmem_cache_shrink() of every cache (flush_all(), then every empty
 *    partial slab discarded), as scripts/guest/bench.sh writes each
 *    /sys/kernel/slab/ * /shrink.
 * Pages: slabs and large kmalloc; struct slab lives in struct page, so no
 * metadata.  The page allocator's per-CPU lists count as free memory
 * (bench.sh adds them back), so they are not modelled.
 */
#include <stdlib.h>
#include "memsim.h"

#define SLUB_NR_CACHES		13
#define SLUB_MAX_CACHE_SIZE	8192
#define SLUB_MAX_ORDER		3	/* PAGE_ALLOC_COSTLY_ORDER */

enum slub_where { SL_CPU, SL_CPU_PARTIAL, SL_NODE_PARTIAL, SL_FULL };

struct slub_cache {
	unsigned int size;
	unsigned int order;
	unsigned int objects;
	unsigned int cpu_partial_slabs;
	unsigned int min_partial;
	struct list_head partial;	/* the node's */
	unsigned long nr_partial;
};

struct slub_slab {
	struct slub_cache *s;
	struct list_head link;
	unsigned int inuse;
	int cpu;			/* frozen by this CPU, or -1 */
	u8 where;
};

struct slub_cpu {
	struct slub_slab *slab;
	struct list_head partial;
	unsigned int nr_partial;
};

/* A large kmalloc: its order, tagged by the low bit of the pointer. */
struct slub_large {
	unsigned int order;
};

struct slub_state {
	struct slub_cache cache[SLUB_NR_CACHES];
	unsigned long pages;
	unsigned long nr_slabs;
	struct slub_cpu cpu[][SLUB_NR_CACHES];
};

static const unsigned int slub_sizes[SLUB_NR_CACHES] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
};

static struct slub_state *slub_st(struct sim *sim)
{
	return sim->priv;
}

static unsigned int slub_get_order(unsigned long size)
{
	unsigned int order = 0;

	while ((PAGE_SIZE << order) < size)
		order++;
	return order;
}

/* calc_slab_order() with slub_min_order 0 */
static unsigned int slub_calc_order(unsigned int size, unsigned int min_objects,
				    unsigned int max_order,
				    unsigned int fract_leftover)
{
	unsigned int order;

	for (order = slub_get_order((unsigned long)min_objects * size);
	     order <= max_order; order++) {
		unsigned int slab_size = PAGE_SIZE << order;

		if (slab_size % size <= slab_size / fract_leftover)
			break;
	}
	return order;
}

/* calculate_order() */
static unsigned int slub_calculate_order(unsigned int size, int ncpu)
{
	unsigned int min_objects = 4 * (sim_fls(ncpu) + 1);
	unsigned int max_objects = (PAGE_SIZE << SLUB_MAX_ORDER) / size;
	unsigned int order, fraction;

	min_objects = min(min_objects, max_objects);
	while (min_objects > 1) {
		for (fraction = 16; fraction >= 4; fraction /= 2) {
			order = slub_calc_order(size, min_objects,
						SLUB_MAX_ORDER, fraction);
			if (order <= SLUB_MAX_ORDER)
				return order;
		}
		min_objects--;
	}
	return slub_calc_order(size, 1, SLUB_MAX_ORDER, 1);
}

/* kmalloc_index() and size_index[]: the cache of @size (<= 8 KiB) */
static unsigned int slub_index(size_t size)
{
	unsigned int i;

	if (size > 64 && size <= 96)
		return 4;
	if (size > 128 && size <= 192)
		return 6;
	for (i = 0; i < SLUB_NR_CACHES; i++)
		if (slub_sizes[i] >= size && slub_sizes[i] != 96 &&
		    slub_sizes[i] != 192)
			return i;
	return SLUB_NR_CACHES - 1;
}

static void slub_discard(struct sim *sim, struct slub_slab *slab)
{
	struct slub_state *st = slub_st(sim);

	st->pages -= 1UL << slab->s->order;
	st->nr_slabs--;
	sim->cost.span_free++;
	free(slab);
}

static void slub_add_partial(struct slub_slab *slab, bool tail)
{
	struct slub_cache *s = slab->s;

	slab->cpu = -1;
	slab->where = SL_NODE_PARTIAL;
	if (tail)
		list_add_tail(&slab->link, &s->partial);
	else
		list_add(&slab->link, &s->partial);
	s->nr_partial++;
}

/* __unfreeze_partials(): @cpu's partial slabs of @s to the node */
static void slub_unfreeze_partials(struct sim *sim, struct slub_cpu *c)
{
	struct slub_slab *slab, *tmp;

	if (!c->nr_partial)
		return;
	sim->cost.central_locks++;
	sim->cost.flushes++;
	list_for_each_entry_safe(slab, tmp, &c->partial, link) {
		struct slub_cache *s = slab->s;

		list_del(&slab->link);
		sim->cost.atomics++;	/* the unfreezing cmpxchg_double */
		if (!slab->inuse && s->nr_partial >= s->min_partial)
			slub_discard(sim, slab);
		else
			slub_add_partial(slab, true);
	}
	c->nr_partial = 0;
}

/* put_cpu_partial() */
static void slub_put_cpu_partial(struct sim *sim, struct slub_cpu *c,
				 struct slub_slab *slab, int cpu, bool drain)
{
	if (drain && c->nr_partial >= slab->s->cpu_partial_slabs)
		slub_unfreeze_partials(sim, c);
	slab->cpu = cpu;
	slab->where = SL_CPU_PARTIAL;
	list_add(&slab->link, &c->partial);
	c->nr_partial++;
}

/* deactivate_slab() of a cpu slab (a flush: objects may be free) */
static void slub_deactivate(struct sim *sim, struct slub_slab *slab)
{
	struct slub_cache *s = slab->s;

	sim->cost.atomics++;
	if (!slab->inuse && s->nr_partial >= s->min_partial) {
		slub_discard(sim, slab);
	} else if (slab->inuse < s->objects) {
		sim->cost.central_locks++;
		slub_add_partial(slab, false);
	} else {
		slab->cpu = -1;
		slab->where = SL_FULL;
	}
}

/* get_partial_node() */
static struct slub_slab *slub_get_partial(struct sim *sim, struct slub_cpu *c,
					  struct slub_cache *s, int cpu)
{
	struct slub_slab *slab, *tmp, *got = NULL;
	unsigned int partial_slabs = 0;

	if (!s->nr_partial)
		return NULL;
	sim->cost.central_locks++;
	sim->cost.refills++;
	list_for_each_entry_safe(slab, tmp, &s->partial, link) {
		list_del(&slab->link);
		s->nr_partial--;
		sim->cost.atomics++;	/* acquire_slab()'s cmpxchg_double */
		if (!got) {
			got = slab;
			slab->cpu = cpu;
			slab->where = SL_CPU;
		} else {
			slub_put_cpu_partial(sim, c, slab, cpu, false);
			partial_slabs++;
		}
		if (partial_slabs > s->cpu_partial_slabs / 2)
			break;
	}
	return got;
}

static void *slub_alloc(struct sim *sim, int cpu, size_t size)
{
	struct slub_state *st = slub_st(sim);
	struct slub_slab *slab;
	struct slub_cache *s;
	struct slub_cpu *c;
	unsigned int i;

	sim->cost.allocs++;
	if (size > SLUB_MAX_CACHE_SIZE) {
		struct slub_large *l = malloc(sizeof(*l));

		if (!l)
			return NULL;
		l->order = slub_get_order(size);
		st->pages += 1UL << l->order;
		sim->cost.span_new++;
		return (void *)((unsigned long)l | 1);
	}
	i = slub_index(size);
	s = &st->cache[i];
	c = &st->cpu[cpu][i];
	slab = c->slab;
	if (slab && slab->inuse < s->objects) {
		slab->inuse++;
		return slab;
	}
	if (slab) {
		/* get_freelist() found nothing: the full slab goes nowhere */
		sim->cost.atomics++;
		slab->cpu = -1;
		slab->where = SL_FULL;
		c->slab = NULL;
	}
	slab = list_first_entry_or_null(&c->partial, struct slub_slab, link);
	if (slab) {
		list_del(&slab->link);
		c->nr_partial--;
		slab->where = SL_CPU;
	} else {
		slab = slub_get_partial(sim, c, s, cpu);
	}
	if (!slab) {
		slab = calloc(1, sizeof(*slab));
		if (!slab)
			return NULL;
		INIT_LIST_HEAD(&slab->link);
		slab->s = s;
		slab->cpu = cpu;
		slab->where = SL_CPU;
		st->pages += 1UL << s->order;
		st->nr_slabs++;
		sim->cost.span_new++;
	}
	c->slab = slab;
	slab->inuse++;
	return slab;
}

static void slub_free(struct sim *sim, int cpu, void *p)
{
	struct slub_state *st = slub_st(sim);
	struct slub_slab *slab = p;
	struct slub_cache *s;
	bool was_full;

	sim->cost.frees++;
	if ((unsigned long)p & 1) {
		struct slub_large *l = (void *)((unsigned long)p & ~1UL);

		st->pages -= 1UL << l->order;
		sim->cost.span_free++;
		free(l);
		return;
	}
	s = slab->s;
	if (slab->where == SL_CPU && slab->cpu == cpu) {
		slab->inuse--;
		return;
	}
	/* __slab_free() */
	sim->cost.atomics++;
	was_full = slab->inuse == s->objects;
	slab->inuse--;
	if (slab->where == SL_CPU || slab->where == SL_CPU_PARTIAL)
		return;		/* frozen: no list activity */
	if (was_full) {
		slub_put_cpu_partial(sim, &st->cpu[cpu][s - st->cache], slab,
				     cpu, true);
		return;
	}
	if (slab->inuse)
		return;
	sim->cost.central_locks++;
	if (s->nr_partial >= s->min_partial) {
		list_del(&slab->link);
		s->nr_partial--;
		slub_discard(sim, slab);
	}
}

static void slub_tick(struct sim *sim)
{
}

/* kmem_cache_shrink() of every cache: flush_all(), then the empties. */
static void slub_shrink(struct sim *sim)
{
	struct slub_state *st = slub_st(sim);
	struct slub_slab *slab, *tmp;
	unsigned int i;
	int cpu;

	for (i = 0; i < SLUB_NR_CACHES; i++) {
		struct slub_cache *s = &st->cache[i];

		for (cpu = 0; cpu < sim->ncpu; cpu++) {
			struct slub_cpu *c = &st->cpu[cpu][i];

			if (c->slab)
				slub_deactivate(sim, c->slab);
			c->slab = NULL;
			slub_unfreeze_partials(sim, c);
		}
		list_for_each_entry_safe(slab, tmp, &s->partial, link) {
			if (slab->inuse)
				continue;
			list_del(&slab->link);
			s->nr_partial--;
			slub_discard(sim, slab);
		}
	}
}

static void slub_measure(struct sim *sim, struct sim_mem *mem)
{
	struct slub_state *st = slub_st(sim);
	unsigned int i;
	int cpu;

	memset(mem, 0, sizeof(*mem));
	mem->pages = st->pages;
	mem->used = st->pages;
	for (cpu = 0; cpu < sim->ncpu; cpu++) {
		unsigned long bytes = 0;

		for (i = 0; i < SLUB_NR_CACHES; i++) {
			struct slub_cpu *c = &st->cpu[cpu][i];
			unsigned int size = st->cache[i].size;
			struct slub_slab *slab;

			if (c->slab)
				bytes += (unsigned long)(st->cache[i].objects -
							 c->slab->inuse) * size;
			list_for_each_entry(slab, &c->partial, link)
				bytes += (unsigned long)(st->cache[i].objects -
							 slab->inuse) * size;
		}
		mem->cached += bytes;
		mem->cached_max = max(mem->cached_max, bytes);
	}
}

static int slub_init(struct sim *sim)
{
	struct slub_state *st;
	unsigned int i;
	int cpu;

	st = calloc(1, sizeof(*st) + sim->ncpu * sizeof(st->cpu[0]));
	if (!st)
		return -ENOMEM;
	for (i = 0; i < SLUB_NR_CACHES; i++) {
		struct slub_cache *s = &st->cache[i];
		unsigned int nr_objects, min_partial;

		s->size = slub_sizes[i];
		s->order = slub_calculate_order(s->size, sim->ncpu);
		s->objects = (PAGE_SIZE << s->order) / s->size;
		/* set_cpu_partial() and slub_set_cpu_partial() */
		if (s->size >= PAGE_SIZE)
			nr_objects = 6;
		else if (s->size >= 1024)
			nr_objects = 24;
		else if (s->size >= 256)
			nr_objects = 52;
		else
			nr_objects = 120;
		s->cpu_partial_slabs = DIV_ROUND_UP(nr_objects * 2, s->objects);
		/* set_min_partial(s, ilog2(s->size) / 2) */
		min_partial = (sim_fls(s->size) - 1) / 2;
		s->min_partial = clamp_t(unsigned int, min_partial, 5, 10);
		INIT_LIST_HEAD(&s->partial);
		for (cpu = 0; cpu < sim->ncpu; cpu++)
			INIT_LIST_HEAD(&st->cpu[cpu][i].partial);
	}
	sim->priv = st;
	return 0;
}

static int slub_exit(struct sim *sim)
{
	struct slub_state *st = slub_st(sim);
	int ret = 0;

	if (st->pages || st->nr_slabs) {
		sim_err("slub: %lu pages in %lu slabs still held", st->pages,
		       st->nr_slabs);
		ret = -EBUSY;
	}
	free(st);
	sim->priv = NULL;
	return ret;
}

/* The cache table for @ncpu CPUs, for the report. */
void sim_slub_print(int ncpu)
{
	struct sim sim = { .ncpu = ncpu };
	unsigned int i;

	if (slub_init(&sim))
		return;
	printf("slub caches for %d CPUs (size order objects cpu_partial_slabs min_partial):",
	       ncpu);
	for (i = 0; i < SLUB_NR_CACHES; i++) {
		struct slub_cache *s = &slub_st(&sim)->cache[i];

		printf(" %u:%u:%u:%u:%u", s->size, s->order, s->objects,
		       s->cpu_partial_slabs, s->min_partial);
	}
	printf("\n");
	slub_exit(&sim);
}

/* Bytes a request of @size takes: its kmalloc cache's size, or its order. */
static size_t slub_slot(struct sim *sim, size_t size)
{
	if (size > SLUB_MAX_CACHE_SIZE)
		return PAGE_SIZE << slub_get_order(size);
	return slub_sizes[slub_index(size)];
}

const struct sim_fe sim_fe_slub = {
	.name = "slub",
	.desc = "Linux 6.1 SLUB kmalloc (model): cpu slab + cpu partial, node partial",
	.init = slub_init,
	.alloc = slub_alloc,
	.free = slub_free,
	.tick = slub_tick,
	.shrink = slub_shrink,
	.measure = slub_measure,
	.slot = slub_slot,
	.exit = slub_exit,
};
