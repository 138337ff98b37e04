/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka_internal.h - data structures shared by ka's layers.
 *
 * The layers, from the top:
 *
 *   api.c       ka_alloc()/ka_free() and friends: the public entry points
 *               (cache.c: ka_cache_*(); buckets.c: ka_buckets_*(), a
 *               set of caches; rcu.c: ka_free_rcu()).
 *   mcache.c    per-CPU caches (Go's mcache): per size class a magazine of
 *               free objects and the spans the CPU owns, all owned through
 *               a per-CPU trylock (mcache.h).
 *   mcentral.c  per node and class (Go's mcentral): partial, full and owned
 *               span lists under central->lock (irq-safe spinlock); lends
 *               spans to CPUs.
 *   span.c      spans (Go's mspan): a page run cut into objects of one class,
 *               with an allocation bitmap and a remote bitmap.  No lock of
 *               its own: a small span is its owning CPU's or its mcentral's
 *               (struct ka_span), a large span the heap's.
 *   mheap.c     per node (Go's mheap): chunks from the buddy allocator and
 *               the page runs carved from them, under heap->lock.
 *   arena.c     pointer -> span map (Go's heapArena): written under
 *               ka_arena_lock, read locklessly under RCU.
 *   sizeclass.c Go's size-class table, computed at init.
 *
 * Beside them: large.c (the large-object cache, above mheap.c), hooks.c
 * (hook keys, reports), main.c (init and exit, the nodes), reclaim.c
 * (drain, the shrinker), debug.c (debug mode), kasan.c (generic KASAN),
 * debugfs.c, profile.c (heap profile).  mod/ka/ka.rst describes the
 * design.
 *
 * Lock order, outermost first: the mutexes (ka_cache_mutex,
 * ka_give_cache_mutex before ka_drain_mutex, ka_prof_mutex; process
 * context) -> on generic KASAN the quarantine's locks (a CPU's
 * ka_qcpu.lock, then ka_q_lock: kasan.c)
 * -> this CPU's magazine lock (ka_mcache->lock) -> ka_share_lock (the
 * per-CPU works' walk of the caches' shares, mcache.c) or
 * ka_cache_list_lock (cache.c) -> one of central->lock, heap->lock,
 * ka_arena_lock.  Those three are never held together: mcentral drops its
 * lock before it builds or destroys a span, and the heap registers and
 * unregisters chunks in the arena map without its lock.  ka_prof_lock
 * (raw), each CPU's ka_rcu_cpu->lock, and the mutexes ka_buckets_mutex
 * (buckets.c) and ka_baseline_lock (debugfs.c) take no other lock.
 * Memory is never allocated with a spinlock of ka's held: the slow paths
 * drop their locks around page and metadata allocation.
 */
#ifndef _KA_INTERNAL_H
#define _KA_INTERNAL_H

#include "ka_sys.h"
#include <ka.h>

/* Size classes: Go's rules, computed for this kernel's PAGE_SIZE. */
#define KA_MAX_CLASSES		68
#define KA_SMALL_SIZE_MAX	1024	/* Go's smallSizeMax */
#define KA_SMALL_SIZE_DIV	8	/* Go's smallSizeDiv */
#define KA_LARGE_SIZE_DIV	128	/* Go's largeSizeDiv */

/* Arenas: 4 MiB of address space; every chunk lies inside one. */
#define KA_ARENA_ORDER		10
#define KA_ARENA_PAGES		(1UL << KA_ARENA_ORDER)
#define KA_ARENA_SHIFT		(PAGE_SHIFT + KA_ARENA_ORDER)

/*
 * The heap asks the buddy allocator for chunks of this order first (512
 * KiB): a chunk that has just come holds its free pages until spans take
 * them or the scavenger releases them, so the smaller, the closer held
 * pages follow pages in use (memsim, a span-local design: 2 MiB chunks
 * held 0.4x more of rl's 4 MB at the end of the run, and 0.5-1.7 MB more
 * at the .kar traces' peaks).
 */
#define KA_CHUNK_ORDER		min(7, KA_MAX_BUDDY_ORDER)
/* The largest object needs a chunk of this order. */
#define KA_LARGE_MAX_ORDER	min(KA_ARENA_ORDER, KA_MAX_BUDDY_ORDER)

/*
 * A per-CPU magazine (mcache.h) is 1 << KA_MAG_SHIFT bytes and a CPU's
 * magazines start its struct ka_mcache: class cls's is at cls << KA_MAG_SHIFT,
 * which each span keeps for ka_free()'s hit path (ka_span.magoff).
 */
#define KA_MAG_SHIFT		6

/*
 * The shape of the spans (sizeclass.c, ka_classes_spans()): Go's runs up
 * to PAGE_SIZE (at least four objects a span) and, with KA_CLASSES_PAGES,
 * page multiples above it, one object a span; KA_CLASSES_REPEAT, ka's
 * table before issue 30, repeats every run until it holds
 * KA_SPAN_MIN_OBJS objects within KA_SPAN_MAX_BYTES.  ka uses
 * KA_CLASSES_DEFAULT; utest/memsim compares the others.
 */
enum ka_class_shape {
	KA_CLASSES_GO		= 0,
	KA_CLASSES_PAGES	= 1,
	KA_CLASSES_REPEAT	= 2,
	KA_CLASSES_COARSE	= 4,
	KA_CLASSES_DEFAULT	= KA_CLASSES_PAGES,
};
#define KA_SPAN_MIN_OBJS	8
#define KA_SPAN_MAX_BYTES	(32 * 1024)

/*
 * Per-CPU caches move objects to and from mcentral in batches of about
 * KA_BATCH_BYTES, at most KA_BATCH_MAX objects (ka_class.batch).
 */
#define KA_BATCH_BYTES		(32 * 1024)
#define KA_BATCH_MAX		64
/*
 * The most a per-CPU magazine of a class may hold (ka_class.cache_max): two
 * batches, or up to this many bytes of small objects (at most
 * KA_MAG_MAX_OBJS of them), as Go's mcache holds a whole span of a small
 * class: a CPU that allocates and frees a few hundred small objects at a
 * time then stays off the mcentral lock.  How much of it a magazine may
 * use adapts within a per-CPU byte budget (mcache.c).
 */
#define KA_MAG_MAX_BYTES	(64 * 1024)
#define KA_MAG_MAX_OBJS		512

/*
 * Empty spans an mcentral keeps before giving spans back to the heap
 * (ka_class.reserve): enough for a batch and at least KA_RESERVE_OBJS
 * objects, at most KA_MCENTRAL_RESERVE_BYTES, at least one span.  Small:
 * what a size class cycles through beyond it, its central keeps by demand
 * (below).
 */
#define KA_MCENTRAL_RESERVE_BYTES	(8 * 1024)
#define KA_RESERVE_OBJS			16
/*
 * Beyond it, an mcentral of a size class keeps as many more empty spans
 * (ka_mcentral.hold) as it gave back to the heap and then had to build
 * again, up to KA_MCENTRAL_HOLD_BYTES in all; each trim pass lowers @hold
 * by the empty spans that stayed unused since the previous pass (their
 * low-water mark), and the shrinker and drain drop it (mcentral.c).
 */
#define KA_MCENTRAL_HOLD_BYTES		(8 * 1024 * 1024)
/*
 * Freed large objects a heap keeps whole (span, pages, arena entries) for
 * the next large allocation of as many pages: at most KA_LARGE_CACHE_NR
 * spans, and beyond the newest (at most KA_LARGE_CACHE_BYTES) at most
 * 1/KA_LARGE_CACHE_DIV of the heap's other pages in use, within
 * KA_LARGE_CACHE_MIN_BYTES .. KA_LARGE_CACHE_BYTES, per node (large.c).
 */
#define KA_LARGE_CACHE_NR	8
#define KA_LARGE_CACHE_DIV	16
#define KA_LARGE_CACHE_MIN_BYTES	(256 * 1024)
#define KA_LARGE_CACHE_BYTES	(2 * 1024 * 1024)
/*
 * The scavenger (mheap.c) lets a heap keep free pages in its chunks up to
 * 1/KA_SCAV_RETAIN_DIV of its pages in use, at least KA_SCAV_FLOOR_PAGES,
 * and gives back at most KA_SCAV_PAGES_PER_TICK pages per node per
 * background pass (one a second: 16 MiB/s), KA_SCAV_BATCH per lock hold; a
 * run freed while the heap keeps more than KA_SCAV_PROMPT_GOALS times its
 * goal and half a chunk brings the next pass forward to KA_SCAV_PROMPT_MS
 * later (ka_scav_kick(), mheap.c).  Released pages (holes)
 * are not capped: a hole cannot be carved again, but a chunk pinned by a
 * few runs holds only their pages.
 */
#define KA_SCAV_RETAIN_DIV		64
#define KA_SCAV_FLOOR_PAGES		16UL
#define KA_SCAV_PROMPT_GOALS		1
#define KA_SCAV_PROMPT_MS		100
#define KA_SCAV_PAGES_PER_TICK		4096
#define KA_SCAV_BATCH			64

struct ka_class {
	unsigned int size;	/* bytes per object */
	unsigned int npages;	/* pages per span */
	unsigned int nelems;	/* objects per span */
	u32 divmagic;		/* (off * divmagic) >> 32 == off / size */
	unsigned int batch;	/* objects per refill / flush */
	unsigned int cache_max;	/* most a per-CPU magazine may hold */
	unsigned int reserve;	/* empty spans mcentral keeps */
};

extern struct ka_class ka_classes[KA_MAX_CLASSES];
extern unsigned int ka_nr_classes;	/* including the dummy class 0 */
extern u8 ka_size_to_class8[KA_SMALL_SIZE_MAX / KA_SMALL_SIZE_DIV + 1];
extern u16 ka_size_to_magoff[KA_MAX_SMALL_SIZE / KA_SMALL_SIZE_DIV];
extern u8 ka_size_to_class128[(KA_MAX_SMALL_SIZE - KA_SMALL_SIZE_MAX) /
			      KA_LARGE_SIZE_DIV + 1];

int ka_sizeclass_init(void);
int ka_sizeclass_build(unsigned int shape);

/* Size class of a request of 1 .. KA_MAX_SMALL_SIZE bytes: Go's sizeToClass. */
static __always_inline unsigned int ka_size_class_go(size_t size)
{
	if (size <= KA_SMALL_SIZE_MAX)
		return ka_size_to_class8[(size + KA_SMALL_SIZE_DIV - 1) /
					 KA_SMALL_SIZE_DIV];
	return ka_size_to_class128[(size - KA_SMALL_SIZE_MAX +
				    KA_LARGE_SIZE_DIV - 1) / KA_LARGE_SIZE_DIV];
}

/*
 * The same for 1 .. KA_MAX_SMALL_SIZE bytes, from one table at 8-byte steps
 * (8 KiB, built from Go's two at init) that holds each size's class <<
 * KA_MAG_SHIFT, the offset of its per-CPU magazine: the allocation hit path
 * saves the compare and branch that pick one of Go's tables, the shift and
 * the rounding, five instructions of about ninety per alloc+free.
 */
static __always_inline unsigned int ka_size_magoff(size_t size)
{
	/* (size - 1) / 8: the hit path has size - 1 at hand from its check */
	return ka_size_to_magoff[(size - 1) / KA_SMALL_SIZE_DIV];
}

static __always_inline unsigned int ka_size_class(size_t size)
{
	return ka_size_magoff(size) >> KA_MAG_SHIFT;
}

/* ---- spans ---- */

enum ka_span_state {
	KA_SPAN_DEAD,		/* being built or torn down */
	KA_SPAN_SMALL,		/* objects of one size class */
	KA_SPAN_LARGE,		/* one object above KA_MAX_SMALL_SIZE */
	KA_SPAN_LARGE_FREE,	/* a large span whose object is free, cached */
};

enum ka_span_list {
	KA_LIST_NONE,
	KA_LIST_PARTIAL,	/* central->partial: has free objects */
	KA_LIST_FULL,		/* central->full: every object is out */
	KA_LIST_LARGE,		/* heap->large */
	KA_LIST_LARGE_FREE,	/* heap->large_free */
	KA_LIST_OWNED,		/* central->owned: a CPU's (mcache.c) */
};

/* Where a span a CPU owns is in that CPU's per-class state (mcache.c). */
enum ka_span_olist {
	KA_OL_NONE,		/* not owned */
	KA_OL_ACTIVE,		/* the span the CPU's magazine is filled from */
	KA_OL_PARTIAL,		/* owned, has free objects */
	KA_OL_FULL,		/* owned, every object out (KA_RS_FULL) */
	KA_OL_STASH,		/* owned, empty, kept for the next switch */
};

/*
 * A small span's ownership word (ka_span.rstate), changed with atomics
 * only: the owning CPU + 1 in the low bits (0: mcentral's; KA_RS_TRANSIT
 * while mcentral hands it to a CPU), KA_RS_FULL while it sits on its
 * owner's full list, KA_RS_PEND while it is on its owner's pending list
 * (a remote free into a full span pushed it there).  mcache.c explains
 * the protocol.
 */
#define KA_RS_OWNER	0xffffffffUL
#define KA_RS_TRANSIT	0xffffffffUL
#define KA_RS_FULL	(1UL << 32)
#define KA_RS_PEND	(1UL << 33)

struct ka_chunk;
struct ka_cache;
struct ka_mcentral;

/*
 * struct ka_span - Go's mspan: a run of pages holding objects of one class.
 *
 * An object is "out" (its bit set in @allocbits) from the moment it is
 * taken for a per-CPU magazine or a caller until it is freed back into the
 * bitmap: objects sitting in a magazine count as out here and are counted
 * there.  Objects other CPUs freed sit in the remote bitmap (ka_span_rfree())
 * until the span's owner, or its mcentral, collects them.
 *
 * Locking: a small span of a class with more than one object per span is
 * either owned by a CPU (ka_rs_owner(@rstate), mcache.c) - then @nalloc,
 * @freeindex, @allocbits, @olink, @olist and @fastkey are that CPU's, read
 * and written only while it owns its magazines - or mcentral's: then those
 * fields are protected by the central lock.  @list and @where are always
 * the central lock's (an owned span is on central->owned).  The remote
 * bitmap and @rstate change with atomic operations only, by anyone.  A
 * large span belongs to the heap (heap->lock).
 *
 * Lockless readers: ka_free() and the other entry points look a span up
 * in the arena map and read, without its lock, @base, @end, @divmagic,
 * @elemsize, @magoff, @cls, @node and @npages (set before the span is
 * published in the arena map, never changed), @freetag (set just after it
 * is published, before any object of it is handed out), @central and
 * @cache (set by a ka_cache's carve hook, also before any object is handed
 * out), and @state, @fastkey, @ckey and @rstate, which change while it is
 * in use (READ_ONCE()/WRITE_ONCE() or atomics).
 */
struct ka_span {
	struct list_head list;
	void *base;
	/*
	 * Small spans: the double-free tag ka writes into the first word of
	 * each object it takes back (see api.c): odd, from the span's address
	 * and a random key.
	 */
	unsigned long freetag;
	void *end;		/* past the last object */
	u32 divmagic;
	u16 nelems;
	u16 nalloc;
	u16 freeindex;		/* first bitmap word that may have a free bit */
	u8 cls;
	u8 state;		/* enum ka_span_state */
	u8 where;		/* enum ka_span_list */
	u16 magoff;		/* cls << KA_MAG_SHIFT: ka_free()'s magazine */
	int node;
	/*
	 * The owning CPU's key (ka_mcache->ownkey) while this is that CPU's
	 * active span or one of its full spans and has no live heap-profile
	 * sample (ka_owned_set(), mcache.c); else 0: a partly used, stashed or
	 * unowned span, a span of a class of one object per span, a
	 * ka_cache's span (keyed by @ckey instead) and a span with live
	 * samples (profile.c).  ka_free()'s hit path compares it with its
	 * CPU's ka_mcache->fastkey, one test for "an object whose free this
	 * CPU's magazine may take".
	 */
	unsigned int fastkey;
	/* the first cache line above holds what ka_free()'s hit path reads */
	unsigned int npages;
	unsigned int elemsize;
	struct ka_chunk *chunk;
	size_t reqsize;		/* large spans: bytes requested */
	unsigned int nprof;	/* live sampled objects (profile.c's lock) */
	struct ka_span_debug *dbg;	/* debug mode only */
	/*
	 * A span of a ka_cache (cache.c): its mcentral, and the cache, set
	 * before any object of it is handed out; NULL for ka_alloc()'s spans.
	 */
	struct ka_mcentral *central;
	struct ka_cache *cache;
	/* a ka_cache's span: ka_cache_free()'s key, as @fastkey is ka_free()'s */
	unsigned int ckey;
	/* ownership (see KA_RS_*); the owner's lists; its pending list */
	atomic_long_t rstate;
	struct list_head olink;
	struct llist_node pnode;
	u8 olist;		/* enum ka_span_olist, the owner's */
	/* a SLAB_TYPESAFE_BY_RCU cache's: pages back a grace period late */
	u8 rcu_free;
	u16 meta_bytes;		/* this struct's kmalloc size (debugfs "stats") */
#ifdef CONFIG_KASAN_GENERIC
	/* a ka_cache's span: the bytes of an object its client may use */
	unsigned int kasan_size;
	/* kasan.c: the stacks of a span of one object with no redzone */
	unsigned long kasan_track[2];
#endif
	struct rcu_head rcu;
	/* small spans: the allocation bitmap, then the remote bitmap */
	unsigned long allocbits[];
};

/*
 * The remote bitmap of a small span: objects freed by a CPU that does not
 * own the span, set with atomic bit operations, collected by the owner.
 */
static inline unsigned long *ka_span_rfree(const struct ka_span *span)
{
	return (unsigned long *)span->allocbits + BITS_TO_LONGS(span->nelems);
}

static inline unsigned int ka_rs_owner(unsigned long rs)
{
	return rs & KA_RS_OWNER;
}

/*
 * Does this class keep its spans with CPUs (mcache.c)?  A class of one
 * object per span does not: a free object is an empty span, and its
 * objects go through per-CPU magazines and mcentral as they come.
 */
static inline bool ka_class_owned(const struct ka_class *k)
{
	return k->nelems > 1;
}

extern unsigned long ka_freetag_key;
#define KA_GOLDEN_RATIO	0x61C8864680B583EBUL	/* as GOLDEN_RATIO_64 */

struct ka_span *ka_span_new(unsigned int cls, int node, gfp_t gfp);
struct ka_span *ka_span_new_large(size_t size, int node, gfp_t gfp);
bool ka_span_destroy(struct ka_span *span);
unsigned long ka_span_rcu_pending(void);
unsigned long ka_span_teardown_list(struct list_head *list, bool traced);
unsigned long ka_span_destroy_list(struct list_head *list);
unsigned int ka_span_take(struct ka_span *span, void **objs, unsigned int n);
bool ka_span_put(struct ka_span *span, const void *obj);
unsigned int ka_span_collect(struct ka_span *span);

/* Index of the object at @p; exact only if ka_span_obj_ok(). */
static __always_inline unsigned int ka_span_index(const struct ka_span *span,
						  const void *p)
{
	unsigned long off = (unsigned long)p - (unsigned long)span->base;

	return ((u64)off * span->divmagic) >> 32;
}

/*
 * Is the object @p of the small span @span back in it: its bit clear in
 * the allocation bitmap, or set in the remote bitmap (another CPU freed
 * it)?  Context: RCU read-side section (the span is in use).
 */
static inline bool ka_span_obj_back(const struct ka_span *span,
				    const void *p)
{
	unsigned int i = ka_span_index(span, p);

	return !test_bit(i, span->allocbits) || test_bit(i, ka_span_rfree(span));
}

/*
 * Does @p point at the start of an object of @span?  @p must lie in the
 * span's pages (as ka_span_lookup() guarantees).  With m = divmagic,
 * off * m = idx * 2^32 + frac, and off is a multiple of the object size
 * exactly when frac < m: for off = q * size + k, frac = q * e + k * m with
 * e = size * m - 2^32, and ka_class_divmagic() checks at init that this
 * never carries into idx.  One multiply, no second one to compare back.
 */
static __always_inline bool ka_span_obj_ok(const struct ka_span *span,
					   const void *p)
{
	unsigned long off = (unsigned long)p - (unsigned long)span->base;
	u64 x = (u64)off * span->divmagic;

	/* the slot past the last object (in the span's tail) is no object */
	return (u32)x < span->divmagic &&
	       (unsigned long)p < (unsigned long)span->end;
}

/* ---- arena map: pointer -> span ---- */

/*
 * One arena's span pointers: exactly 8 KiB with 4 KiB pages (a kmalloc
 * size: nothing else in it, or the allocation would round up to 16 KiB).
 */
struct ka_arena {
	struct ka_span *spans[KA_ARENA_PAGES];	/* page -> span or dummy */
};

/* What is kept beside an arena in use, under ka_arena_lock. */
struct ka_arena_aux {
	struct ka_arena *arena;
	unsigned int nr_chunks;
	struct rcu_head rcu;
};

struct ka_arena_map {
	struct rcu_head rcu;
	unsigned long nr;
	struct ka_arena_aux **aux;	/* per arena, ka_arena_lock */
	struct ka_arena __rcu *arenas[];
};

extern struct ka_arena_map __rcu *ka_arena_map;
/* Stand-ins for "no arena" and "no span": lookups need no NULL tests. */
extern struct ka_arena ka_dummy_arena;
extern struct ka_span ka_dummy_span;

/*
 * ka's own metadata (debugfs "stats", meta_* lines), in the bytes the
 * kernel's allocators give it (ka_sys_meta_size(), whole pages).
 */
struct ka_meta_stats {
	unsigned long spans;		/* span structs of live spans */
	unsigned long span_bytes;
	unsigned long span_rcu_bytes;	/* of destroyed spans, not yet freed */
	unsigned long arenas;		/* arenas, until freed */
	unsigned long arena_bytes;	/* theirs, their aux, the map */
};

void ka_span_meta_read(struct ka_meta_stats *st);
void ka_arena_meta_read(struct ka_meta_stats *st);

int ka_arena_init(void);
void ka_arena_exit(void);
int ka_arena_add_chunk(struct ka_chunk *chunk, gfp_t gfp);
void ka_arena_del_chunk(struct ka_chunk *chunk);
void ka_arena_set_span(struct ka_span *span, struct ka_span *val);

/*
 * The first word of an object (its double-free tag: span.c, api.c): plain loads and
 * stores, uninstrumented functions with generic KASAN (the object may be
 * poisoned when ka touches it).
 */
static __no_kasan_or_inline unsigned long ka_word_read(const void *p)
{
	return *(const unsigned long *)p;
}

static __no_kasan_or_inline void ka_word_write(void *p, unsigned long v)
{
	*(unsigned long *)p = v;
}

/* ka_span_lookup()'s result as ka_span_of() gives it: NULL for the dummy. */
static __always_inline struct ka_span *ka_span_real(struct ka_span *span)
{
	return span == &ka_dummy_span ? NULL : span;
}

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * KUnit kernels: the arena lookups of one task are counted (a test sets
 * ka_lookup_task to itself, frees, and reads ka_lookup_count: kunit/
 * api_test.c), so that a free that looks its pointer up twice fails a test.
 * Only that task writes the count.  Nothing on other kernels.
 */
extern struct task_struct *ka_lookup_task;
extern unsigned long ka_lookup_count;

static __always_inline void ka_lookup_counted(void)
{
	if (unlikely(READ_ONCE(ka_lookup_task) == current))
		ka_lookup_count++;
}
#else
static __always_inline void ka_lookup_counted(void) { }
#endif

/**
 * ka_span_lookup - the span holding the address @p, or &ka_dummy_span if
 * ka owns no span there (not ka's memory, or a free page of ka's heap)
 *
 * Context: an RCU read-side section of any flavour (irqs or preemption
 * disabled, or rcu_read_lock()).  O(1): three loads and a bounds check.
 */
static __always_inline struct ka_span *ka_span_lookup(const void *p)
{
	unsigned long off = (unsigned long)p - PAGE_OFFSET;
	unsigned long idx = off >> KA_ARENA_SHIFT;
	struct ka_arena_map *map;
	struct ka_arena *arena;

	ka_lookup_counted();
	map = rcu_dereference_check(ka_arena_map, rcu_read_lock_any_held());
	if (unlikely(idx >= map->nr))
		return &ka_dummy_span;
	arena = rcu_dereference_check(map->arenas[idx], rcu_read_lock_any_held());
	return READ_ONCE(arena->spans[(off >> PAGE_SHIFT) &
				      (KA_ARENA_PAGES - 1)]);
}

/* As ka_span_lookup(), but NULL where ka owns no span. */
static __always_inline struct ka_span *ka_span_of(const void *p)
{
	return ka_span_real(ka_span_lookup(p));
}

/*
 * ka_span_check() of @p's span @span (ka_span_of(), NULL: not ka's),
 * looked up by the caller: the free paths look a pointer up once.
 * Context: RCU read-side section.
 */
static inline struct ka_span *ka_span_check_in(struct ka_span *span,
					       const void *p, const char **why)
{
	if (!span) {
		*why = "not a ka object";
		return NULL;
	}
	switch (READ_ONCE(span->state)) {
	case KA_SPAN_SMALL:
		if (!ka_span_obj_ok(span, p)) {
			*why = "pointer into the middle of an object";
			return NULL;
		}
		return span;
	case KA_SPAN_LARGE:
		if (p != span->base) {
			*why = "pointer into the middle of a large object";
			return NULL;
		}
		return span;
	default:
		*why = "span not in use";
		return NULL;
	}
}

/*
 * The span of the live object @p, or NULL with what is wrong with @p in
 * *@why (ka_free()'s checks).  Context: RCU read-side section.
 */
static inline struct ka_span *ka_span_check(const void *p, const char **why)
{
	return ka_span_check_in(ka_span_of(p), p, why);
}

/* ---- heap ---- */

struct ka_chunk {
	struct list_head list;		/* heap->chunks */
	void *base;
	struct ka_arena *arena;
	unsigned int order;
	unsigned int npages;
	unsigned int nfree;		/* pages neither in a run nor released */
	unsigned int nreleased;		/* pages given back: holes; split if > 0 */
	bool direct;			/* a large object's block, no other run */
	int node;
	/*
	 * Its number in its heap: 1 for the heap's first chunk, and so on
	 * (heap->chunks_alloced when it came).  With a span's page offset in
	 * it, a span's identity in debugfs "spans" that shows no address.
	 */
	unsigned long id;
	/* page in a run, or released (a hole carving must skip) */
	unsigned long used[BITS_TO_LONGS(KA_ARENA_PAGES)];
	/* page given back to the buddy allocator on its own */
	unsigned long released[BITS_TO_LONGS(KA_ARENA_PAGES)];
};

struct ka_mheap {
	spinlock_t lock;
	struct list_head chunks;	/* chunks with free pages first */
	struct list_head large;		/* large spans */
	struct list_head large_free;	/* cached large spans, newest first */
	int node;
	/*
	 * The counters, all under @lock: ka_mheap_stats_read() copies them
	 * out as one struct ka_mheap_stats.
	 */
	struct_group_tagged(ka_mheap_stats, stats,
		unsigned long nr_chunks;
		unsigned long nr_free_chunks;	/* chunks with no run in use */
		unsigned long pages_held;	/* pages of all chunks, minus holes */
		unsigned long pages_used;	/* pages in runs */
		unsigned long pages_holes;	/* released pages of live chunks */
		unsigned long nr_large;
		unsigned long large_pages;
		unsigned long large_bytes;	/* bytes requested by large objects */
		unsigned long chunks_alloced;
		unsigned long chunks_freed;
		unsigned long chunk_fallbacks;	/* chunk taken at a lower order */
		unsigned long runs_alloced;
		unsigned long runs_freed;
		unsigned long alloc_failed;
		unsigned long nr_large_free;	/* spans on @large_free */
		unsigned long large_free_pages;
		unsigned long large_hits;	/* large allocations from @large_free */
		unsigned long large_hits_seen;	/* @large_hits at the last trim */
		unsigned long pages_released;	/* ever given back page by page */
		unsigned long scav_pages;	/* given back by ka_mheap_scavenge() */
		unsigned long scav_kicks;	/* passes asked for early */
	);
	bool scav_kicked;	/* a pass is asked for (ka_scav_kick()) */
};

void ka_mheap_init(struct ka_mheap *heap, int node);
int ka_mheap_alloc_run(struct ka_mheap *heap, struct ka_span *span, gfp_t gfp);
bool ka_mheap_free_run(struct ka_mheap *heap, struct ka_span *span);
unsigned long ka_mheap_release(struct ka_mheap *heap, unsigned long keep);
unsigned long ka_mheap_scavenge_goal(const struct ka_mheap *heap);
unsigned long ka_mheap_scavenge(struct ka_mheap *heap, unsigned long max);

/* ---- large-object cache (large.c) ---- */
struct ka_span *ka_large_get(struct ka_mheap *heap, size_t size);
bool ka_large_put(struct ka_mheap *heap, struct ka_span *span);
unsigned long ka_large_trim(struct ka_mheap *heap, bool idle_only);
unsigned long ka_large_bound(const struct ka_mheap *heap);

/* ---- central ---- */

struct ka_mcentral {
	spinlock_t lock;
	struct list_head partial;	/* spans with free objects, empty last */
	struct list_head full;		/* spans with every object out */
	struct list_head owned;		/* spans CPUs own (mcache.c) */
	unsigned int cls;
	int node;
	/*
	 * A ka_cache's central list (cache.c): @carve runs on each new span,
	 * unlocked, before its objects are taken (the constructor); @share,
	 * the cache's per-CPU part (mcache.h), for the span code.  NULL for
	 * ka_alloc()'s lists.
	 */
	struct ka_cache *cache;
	struct ka_mcache_share *share;
	void (*carve)(struct ka_mcentral *c, struct ka_span *span);
	/* all under @lock */
	unsigned long nr_partial;
	unsigned long nr_full;
	unsigned long nr_empty;		/* partial spans with nothing out */
	unsigned long nr_owned;		/* spans on @owned */
	unsigned long objs_out;		/* objects out of spans not owned */
	unsigned long nr_lock;		/* lock acquisitions */
	unsigned long spans_from_heap;
	unsigned long spans_to_heap;
	unsigned long nr_refill;
	unsigned long nr_flush;
	/*
	 * The reserve by demand (a size class's central only; mcentral.c):
	 * empty spans kept beyond ka_class.reserve; spans given back to the
	 * heap since the last trim pass that no build has taken up yet; the
	 * fewest empty spans since that pass.
	 */
	unsigned long hold;
	unsigned long churn;
	unsigned long empty_low;
} ____cacheline_aligned_in_smp;

void ka_mcentral_init(struct ka_mcentral *c, unsigned int cls, int node);
unsigned int ka_mcentral_refill(struct ka_mcentral *c, void **objs,
				unsigned int n, gfp_t gfp);
void ka_mcentral_flush_span(struct ka_span *one, void **objs, unsigned int n);

/* ka_mcentral_flush_span() of objects the caller has not looked up. */
static inline void ka_mcentral_flush(void **objs, unsigned int n)
{
	ka_mcentral_flush_span(NULL, objs, n);
}
unsigned long ka_mcentral_release(struct ka_mcentral *c, unsigned long keep);
unsigned long ka_mcentral_decay(struct ka_mcentral *c);
unsigned long ka_mcentral_keep(const struct ka_mcentral *c);
struct ka_span *ka_mcentral_take(struct ka_mcentral *c, gfp_t gfp);
void ka_mcentral_give(struct ka_span *span);
void ka_mcentral_collect(struct ka_span *span);

/* The central list of @span: its cache's, or its class's on its node. */
static inline struct ka_mcentral *ka_span_mcentral(const struct ka_span *span);

struct ka_node {
	struct ka_mheap heap;
	struct ka_mcentral central[KA_MAX_CLASSES];
};

extern struct ka_node *ka_nodes[MAX_NUMNODES];

static inline struct ka_mcentral *ka_mcentral_of(int node, unsigned int cls)
{
	return &ka_nodes[node]->central[cls];
}

static inline struct ka_mcentral *ka_span_mcentral(const struct ka_span *span)
{
	return span->central ?: ka_mcentral_of(span->node, span->cls);
}

static inline struct ka_mheap *ka_mheap_of(int node)
{
	return &ka_nodes[node]->heap;
}

/*
 * Set up a node's heap and every one of its central lists (module init,
 * and the userspace harness, which allocates @n its own way).
 */
static inline void ka_node_init(struct ka_node *n, int nid)
{
	unsigned int cls;

	ka_mheap_init(&n->heap, nid);
	for (cls = 0; cls < KA_MAX_CLASSES; cls++)
		ka_mcentral_init(&n->central[cls], cls, nid);
}

/* ---- per-CPU caches: mcache.h (kernel only) ---- */

/* ---- api / module ---- */

void ka_drain(void);
unsigned long ka_release_free(void);
struct shrinker;
struct shrink_control;
/* the shrinker's callbacks, exported to the tests */
unsigned long ka_shrink_count(struct shrinker *s, struct shrink_control *sc);
unsigned long ka_shrink_scan(struct shrinker *s, struct shrink_control *sc);
int ka_shrinker_init(void);
void ka_shrinker_exit(void);
void ka_scav_pause(bool pause);
void ka_scav_start(void);
void ka_scav_exit(void);
size_t ka_size_caller(const void *p, unsigned long caller);
int ka_debugfs_init(void);
void ka_debugfs_exit(void);
int ka_cache_init(void);
void ka_cache_exit(void);
struct seq_file;
void ka_cache_show(struct seq_file *m);
bool ka_cache_leak_traced(const struct ka_cache *c);
void ka_cache_free_span(struct ka_cache *c, struct ka_span *span, void *p,
			unsigned long caller);
void ka_free_in(struct ka_span *span, const void *p, unsigned long caller);
/* generic KASAN: an object leaving the quarantine (kasan.c), down ka's path */
void ka_free_evict(struct ka_span *span, const void *p);
void ka_cache_free_evict(struct ka_cache *c, struct ka_span *span, void *p);
bool ka_cache_rcu(const struct ka_cache *c);
unsigned long ka_cache_release(void);
struct ka_cache *ka_cache_create_class(const char *name, unsigned int size,
				       unsigned int cls, slab_flags_t flags,
				       void (*ctor)(void *));
void *ka_cache_alloc_size(struct ka_cache *c, unsigned int size, gfp_t flags,
			  int node);
int ka_buckets_init(void);
void ka_buckets_exit(void);
struct ka_cache *ka_buckets_cache(const struct ka_buckets *b, size_t size);
int ka_rcu_init(void);
void ka_rcu_barrier(void);
void ka_rcu_exit(void);

/* A consistent snapshot of ka's counters (debugfs "stats", the tests). */
struct ka_counters {
	unsigned long allocs;
	unsigned long frees;
	unsigned long hits;
	unsigned long refills;
	unsigned long flushes;
	unsigned long large_allocs;
	unsigned long large_frees;
	unsigned long remote_frees;
	unsigned long refused;
	unsigned long double_frees;	/* of the refused, double frees */
	unsigned long failed;
	unsigned long debug_reports;
	unsigned long busy;		/* magazines owned by an interrupted caller */
	unsigned long atomic_refused;	/* PREEMPT_RT: atomic-context calls */
};

void ka_counters_read(struct ka_counters *c);
void ka_cache_counters_add(struct ka_counters *sum);
unsigned long ka_cache_cpu_cached(int cpu);
unsigned long ka_cache_empty_pages(void);

/* One size class on one node, as debugfs "stats" shows it. */
struct ka_class_stats {
	unsigned long spans;
	unsigned long partial;
	unsigned long full;
	unsigned long empty;
	unsigned long objs_total;	/* objects in all spans */
	unsigned long objs_out;		/* out of the spans' bitmaps */
	unsigned long cached;		/* of those, in per-CPU caches */
	unsigned long in_use;		/* of those, held by clients */
	unsigned long lock_acquisitions;
	unsigned long spans_from_heap;
	unsigned long spans_to_heap;
	unsigned long keep;		/* empty spans mcentral keeps now */
};

void ka_class_stats_read(int node, unsigned int cls, struct ka_class_stats *st);
void ka_mheap_stats_read(int node, struct ka_mheap_stats *out);
int ka_debugfs_parse_control(const char *s);
ssize_t ka_debugfs_render(const char *name, char *buf, size_t size);

#endif /* _KA_INTERNAL_H */
