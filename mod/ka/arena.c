// SPDX-License-Identifier: GPL-2.0
/*
 * ka arena map (Go's heapArena): pointer -> span in O(1), without a lock.
 *
 * The direct map is cut into 4 MiB arenas, numbered by their offset from
 * PAGE_OFFSET.  ka_arena_map is a flat array, indexed by arena number, of
 * pointers to the arenas that hold at least one ka chunk; an arena has one
 * span pointer per page.  Absent arenas and pages in no live span point at
 * ka_dummy_arena and ka_dummy_span (a dead span), so that a lookup is a
 * subtraction, a bounds check and three loads with no NULL test; an address
 * that is not in the direct map (vmalloc, stack, module text) falls outside
 * the array and is refused like any page ka does not own.
 *
 * The map is sized at init for the memory present and grows (by copy and
 * RCU-deferred free) if a chunk ever lies beyond it, e.g. after memory
 * hotplug.  Arenas are created with their first chunk and freed, after a
 * grace period, with their last.  An arena is the span pointers alone,
 * 8 KiB, taken as pages from the buddy allocator (ka_sys_meta_pages_alloc():
 * arenas come and go with chunks, on every CPU, and as kmalloc-8k objects
 * they kept SLUB's 32 KiB slabs on its per-CPU partial lists, 0.8 MB over
 * mem8's 8 CPUs); its chunk count and the rcu_head that frees it live
 * beside it (struct ka_arena_aux), since any more would make it 16 KiB -
 * and a workload spread over memory touches many arenas.
 *
 * Owns: ka_arena_map and the arenas.
 * Locks: ka_arena_lock (irq-safe) serialises writers of the map and of
 * each arena's chunk count (struct ka_arena_aux); no other ka lock is
 * taken under it, and only the per-CPU magazines' lock, ka_share_lock,
 * ka_cache_list_lock or a mutex may be held around it (a flush, a
 * give-back or a release that frees a chunk).  The span pointers are
 * written under the owning heap's lock (the chunk's pages belong to one
 * heap) without ka_arena_lock.  Readers use RCU of any flavour: ka_free()
 * looks up inside its per-CPU section (preemption disabled on
 * !PREEMPT_RT, rcu_read_lock() on PREEMPT_RT; mcache.h,
 * ka_mcache_trylock()).
 */
#define pr_fmt(fmt) "ka: " fmt

#include "ka_internal.h"

struct ka_arena_map __rcu *ka_arena_map;
KA_EXPORT_INTERNAL(ka_arena_map);
struct ka_span ka_dummy_span = { .state = KA_SPAN_DEAD };
KA_EXPORT_INTERNAL(ka_dummy_span);
struct ka_arena ka_dummy_arena;
KA_EXPORT_INTERNAL(ka_dummy_arena);
#if IS_ENABLED(CONFIG_KUNIT)
struct task_struct *ka_lookup_task;
KA_EXPORT_INTERNAL(ka_lookup_task);
unsigned long ka_lookup_count;
KA_EXPORT_INTERNAL(ka_lookup_count);
#endif
static DEFINE_SPINLOCK(ka_arena_lock);
/* arenas allocated and not yet freed (debugfs "stats": meta_arenas) */
static atomic_long_t ka_arena_nr = ATOMIC_LONG_INIT(0);

static struct ka_arena *ka_arena_alloc(gfp_t gfp, int node)
{
	struct ka_arena *arena;

	arena = ka_sys_meta_pages_alloc(sizeof(*arena), gfp, node);
	if (arena)
		atomic_long_inc(&ka_arena_nr);
	return arena;
}

static void ka_arena_free(struct ka_arena *arena)
{
	if (!arena)
		return;
	ka_sys_meta_pages_free(arena, sizeof(*arena));
	atomic_long_dec(&ka_arena_nr);
}

static void ka_arena_free_rcu(struct rcu_head *head)
{
	struct ka_arena_aux *aux = container_of(head, struct ka_arena_aux, rcu);

	ka_arena_free(aux->arena);
	kfree(aux);
}

/* Point every page of @arena at the dummy span. */
static void ka_arena_clear(struct ka_arena *arena)
{
	unsigned int i;

	for (i = 0; i < KA_ARENA_PAGES; i++)
		arena->spans[i] = &ka_dummy_span;
}

static unsigned long ka_arena_index(const void *addr)
{
	return ((unsigned long)addr - PAGE_OFFSET) >> KA_ARENA_SHIFT;
}

static void ka_arena_map_free(struct ka_arena_map *map)
{
	if (map)
		kfree(map->aux);
	kfree(map);
}

static struct ka_arena_map *ka_arena_map_alloc(unsigned long nr, gfp_t gfp)
{
	struct ka_arena_map *map;

	unsigned long i;

	map = kmalloc(struct_size(map, arenas, nr), ka_sys_gfp(gfp) | __GFP_NOWARN);
	if (!map)
		return NULL;
	map->aux = kcalloc(nr, sizeof(*map->aux),
			   ka_sys_gfp(gfp) | __GFP_NOWARN);
	if (!map->aux) {
		kfree(map);
		return NULL;
	}
	map->nr = nr;
	for (i = 0; i < nr; i++)
		RCU_INIT_POINTER(map->arenas[i], &ka_dummy_arena);
	return map;
}

/**
 * ka_arena_init - size the arena map for the memory present
 *
 * Context: module init.
 * Return: 0 or -ENOMEM.
 */
int ka_arena_init(void)
{
	unsigned long end_pfn = 0;
	struct ka_arena_map *map;
	int nid;

	ka_arena_clear(&ka_dummy_arena);
	for_each_online_node(nid)
		end_pfn = max(end_pfn, node_end_pfn(nid));
	map = ka_arena_map_alloc(DIV_ROUND_UP(end_pfn, KA_ARENA_PAGES) ?: 1, GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	RCU_INIT_POINTER(ka_arena_map, map);
	return 0;
}

/**
 * ka_arena_exit - free the map; every chunk must be gone
 *
 * Context: module exit (or init unwinding), after main.c's ka_nodes_free().
 */
void ka_arena_exit(void)
{
	struct ka_arena_map *map = rcu_dereference_protected(ka_arena_map, 1);
	unsigned long i;

	/* arenas are freed by an RCU callback of this module */
	rcu_barrier();

	for (i = 0; i < map->nr; i++)
		WARN_ON_ONCE(rcu_access_pointer(map->arenas[i]) != &ka_dummy_arena);
	RCU_INIT_POINTER(ka_arena_map, NULL);
	ka_arena_map_free(map);
}

/**
 * ka_arena_add_chunk - register a new chunk, creating its arena if needed
 * @chunk: a chunk with base and npages set
 * @gfp: caller's flags, for a new arena or a larger map
 *
 * Context: any context @gfp allows; no ka lock held.
 * Return: 0 or -ENOMEM.
 */
int ka_arena_add_chunk(struct ka_chunk *chunk, gfp_t gfp)
{
	unsigned long idx = ka_arena_index(chunk->base);
	struct ka_arena_map *map, *bigger = NULL;
	struct ka_arena_aux *aux = NULL;
	struct ka_arena *fresh = NULL;
	unsigned long flags, i;

retry:
	spin_lock_irqsave(&ka_arena_lock, flags);
	map = rcu_dereference_protected(ka_arena_map,
					lockdep_is_held(&ka_arena_lock));
	if (idx >= map->nr) {
		if (!bigger || bigger->nr <= idx) {
			spin_unlock_irqrestore(&ka_arena_lock, flags);
			ka_arena_map_free(bigger);
			bigger = ka_arena_map_alloc(max(idx + 1, 2 * map->nr), gfp);
			if (!bigger)
				goto nomem;
			goto retry;
		}
		for (i = 0; i < map->nr; i++) {
			RCU_INIT_POINTER(bigger->arenas[i],
					 rcu_dereference_protected(map->arenas[i],
							lockdep_is_held(&ka_arena_lock)));
			bigger->aux[i] = map->aux[i];
		}
		rcu_assign_pointer(ka_arena_map, bigger);
		/* only ka_arena_lock's holders read ->aux: gone at once */
		kfree(map->aux);
		kfree_rcu(map, rcu);
		map = bigger;
		bigger = NULL;
	}
	if (!map->aux[idx]) {
		if (!fresh) {
			spin_unlock_irqrestore(&ka_arena_lock, flags);
			fresh = ka_arena_alloc(gfp, chunk->node);
			aux = ka_sys_meta_alloc(sizeof(*aux), gfp, chunk->node);
			if (!fresh || !aux)
				goto nomem;
			ka_arena_clear(fresh);
			aux->arena = fresh;
			aux->nr_chunks = 0;
			goto retry;
		}
		map->aux[idx] = aux;
		rcu_assign_pointer(map->arenas[idx], fresh);
		fresh = NULL;
		aux = NULL;
	}
	map->aux[idx]->nr_chunks++;
	chunk->arena = map->aux[idx]->arena;
	spin_unlock_irqrestore(&ka_arena_lock, flags);
	ka_arena_map_free(bigger);
	ka_arena_free(fresh);
	kfree(aux);
	return 0;
nomem:
	ka_arena_map_free(bigger);
	ka_arena_free(fresh);
	kfree(aux);
	return -ENOMEM;
}

/**
 * ka_arena_del_chunk - unregister a chunk whose pages are all free
 * @chunk: the chunk, on no heap list
 *
 * Context: any; no ka lock held but those before ka_arena_lock in ka's
 * order (ka_internal.h: a flush owns its CPU's magazines).
 */
void ka_arena_del_chunk(struct ka_chunk *chunk)
{
	unsigned long idx = ka_arena_index(chunk->base);
	struct ka_arena_map *map;
	struct ka_arena_aux *aux;
	unsigned long flags;

	spin_lock_irqsave(&ka_arena_lock, flags);
	map = rcu_dereference_protected(ka_arena_map,
					lockdep_is_held(&ka_arena_lock));
	aux = map->aux[idx];
	if (!--aux->nr_chunks) {
		map->aux[idx] = NULL;
		RCU_INIT_POINTER(map->arenas[idx], &ka_dummy_arena);
		call_rcu(&aux->rcu, ka_arena_free_rcu);
	}
	spin_unlock_irqrestore(&ka_arena_lock, flags);
	chunk->arena = NULL;
}

/**
 * ka_arena_meta_read - the arena map's and the arenas' memory
 * @st: where to add it (->arenas, ->arena_bytes)
 *
 * Arenas count until their RCU callback has freed them.
 *
 * Context: process context.
 */
void ka_arena_meta_read(struct ka_meta_stats *st)
{
	unsigned long nr = atomic_long_read(&ka_arena_nr), flags, n;
	struct ka_arena_map *map;

	spin_lock_irqsave(&ka_arena_lock, flags);
	map = rcu_dereference_protected(ka_arena_map,
					lockdep_is_held(&ka_arena_lock));
	n = map->nr;
	spin_unlock_irqrestore(&ka_arena_lock, flags);
	st->arenas += nr;
	st->arena_bytes += nr * ((PAGE_SIZE << get_order(sizeof(struct ka_arena))) +
				 ka_sys_meta_size(sizeof(struct ka_arena_aux))) +
			   ka_sys_meta_size(struct_size(map, arenas, n)) +
			   ka_sys_meta_size(n * sizeof(*map->aux));
}
KA_EXPORT_INTERNAL(ka_arena_meta_read);

/**
 * ka_arena_set_span - point every page of @span at @val (publish/unpublish)
 * @span: a span with base, chunk and npages set
 * @val: @span to publish it, NULL to unpublish it
 *
 * Context: the heap lock of @span's chunk held.
 */
void ka_arena_set_span(struct ka_span *span, struct ka_span *val)
{
	struct ka_arena *arena = span->chunk->arena;
	unsigned long first = (((unsigned long)span->base - PAGE_OFFSET) >>
			       PAGE_SHIFT) & (KA_ARENA_PAGES - 1);
	unsigned int i;

	if (val)
		smp_wmb();	/* span fields before the pointer: ka_span_lookup() */
	else
		val = &ka_dummy_span;
	for (i = 0; i < span->npages; i++)
		WRITE_ONCE(arena->spans[first + i], val);
}
