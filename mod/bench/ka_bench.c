// SPDX-License-Identifier: GPL-2.0
/*
 * ka_bench - ka against kmalloc and a dedicated kmem_cache, side by side.
 *
 * A client of the public API in <ka.h>.  Each load runs one mode and prints
 * one parseable line per measurement, e.g.
 *
 *   ka_bench: mode=icount pattern=pair size=64 alloc=ka ops=200000 ns=...
 *             ns_per_op=41.37 fails=0
 *
 * (one line in the log).  An "op" is one allocation plus one free.  Modes:
 *
 *   icount  single-CPU patterns, meant for QEMU -icount shift=0, where a
 *           guest nanosecond is one instruction: pair, batchN, random, bulkN
 *   wall    multi-CPU patterns (parallel_pair, parallel_batch256,
 *           prodcons), timed in wall-clock ns; only ratios taken in the same
 *           boot mean anything
 *   mem     memory efficiency: mem_objs objects of random sizes 1..mem_max,
 *           held until "half" and then "free" are written to the mem_step
 *           parameter (or the module is unloaded), so that the caller can
 *           read ka's debugfs stats at each point
 *   mem8    memory that scales with CPUs: one kthread bound to each online
 *           CPU runs pcpu_ops random-lifetime operations over pcpu_slots
 *           slots (sizes 70% 1..512 B, 25% ..4 KiB, 5% ..32 KiB, plus one
 *           in a thousand 64 KiB..1 MiB), with ka (allocs=1) or kmalloc
 *           (allocs=2), and keeps its live objects until the module is
 *           unloaded, so that the caller can measure free memory and
 *           ka's stats with them live and after the shrinkers
 *
 * smoke=1 runs every pattern briefly with checks on (NULL returns, object
 * contents, ka_size(), alignment) and reports one KTAP test, ka_bench_smoke.
 *
 * The loops are instantiated once per allocator (the allocator is a
 * compile-time constant in each copy), so every call to an allocator is a
 * direct call; sizes are hidden from the compiler, as they are for a
 * kmalloc() of a run-time size.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>
#include <linux/wait.h>

#include <ka.h>

#include "../ka_testutil.h"

/* ------------------------------------------------------------ parameters */

static char *mode = "icount";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "icount (single-CPU patterns), wall (multi-CPU patterns), mem (memory efficiency), mem8 (per-CPU random lifetimes, objects kept) or none");

static char *patterns = "";
module_param(patterns, charp, 0444);
MODULE_PARM_DESC(patterns,
		 "Comma-separated patterns to run (default: all of the mode's): pair,batch16,batch256,batch4096,random,bulk16,bulk256,parallel_pair,parallel_batch256,prodcons");

static unsigned int sizes[16];
static int nr_sizes;
module_param_array(sizes, uint, &nr_sizes, 0444);
MODULE_PARM_DESC(sizes, "Object sizes to run, 0 for the mix (default: 8,16,64,128,256,1024,4096,16384,65536,0)");

static unsigned int allocs = 7;
module_param(allocs, uint, 0444);
MODULE_PARM_DESC(allocs, "Allocators to run, a bit mask: 1 ka, 2 kmalloc, 4 kmem_cache, 8 ka_cache (single-CPU patterns only; default 7)");

static unsigned long ops = 200000;
module_param(ops, ulong, 0444);
MODULE_PARM_DESC(ops, "Operations per icount measurement, sizes up to 256 bytes and the mix");

static unsigned long ops_large = 100000;
module_param(ops_large, ulong, 0444);
MODULE_PARM_DESC(ops_large, "Operations per icount measurement, sizes above 256 bytes");

static unsigned long wall_ops = 100000;
module_param(wall_ops, ulong, 0444);
MODULE_PARM_DESC(wall_ops, "Operations per thread per wall-clock measurement");

static unsigned int reps = 3;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "Repetitions of each wall-clock measurement");

static unsigned int icount_reps = 2;
module_param(icount_reps, uint, 0444);
MODULE_PARM_DESC(icount_reps, "Repetitions of each icount measurement; the fewest instructions are reported (other tasks and interrupts only ever add)");

static unsigned int slots = 2048;
module_param(slots, uint, 0444);
MODULE_PARM_DESC(slots, "Live objects in the random-lifetime table (a power of two, at most 4096)");

static unsigned long seed = 0x6b615f62656e6368UL;
module_param(seed, ulong, 0444);
MODULE_PARM_DESC(seed, "PRNG seed (fixed, so that runs repeat)");

static unsigned int mem_max = 4096;
module_param(mem_max, uint, 0444);
MODULE_PARM_DESC(mem_max, "mem mode: objects are 1..mem_max bytes (at most 4 MiB)");

static unsigned int mem_objs = 50000;
module_param(mem_objs, uint, 0444);
MODULE_PARM_DESC(mem_objs, "mem mode: number of objects");

static unsigned long pcpu_ops = 150000;
module_param(pcpu_ops, ulong, 0444);
MODULE_PARM_DESC(pcpu_ops, "mem8 mode: random-lifetime operations per CPU");

static unsigned int pcpu_slots = 256;
module_param(pcpu_slots, uint, 0444);
MODULE_PARM_DESC(pcpu_slots, "mem8 mode: live-object slots per CPU (1 .. 65536)");

static bool smoke;
module_param(smoke, bool, 0444);
MODULE_PARM_DESC(smoke, "Run every pattern briefly with checks; report KTAP test ka_bench_smoke");

/* ------------------------------------------------------------- utilities */

enum bench_kind { AK_KA, AK_KMALLOC, AK_CACHE, AK_KACACHE, AK_NR };

static const char * const kind_name[AK_NR] = {
	"ka", "kmalloc", "kmem_cache", "ka_cache"
};

static const unsigned int default_sizes[] = {
	8, 16, 64, 128, 256, 1024, 4096, 16384, 65536, 0,
};

/* The dedicated caches, one per fixed size of default_sizes[]. */
static const char * const cache_names[] = {
	"ka_bench_8", "ka_bench_16", "ka_bench_64", "ka_bench_128",
	"ka_bench_256", "ka_bench_1024", "ka_bench_4096", "ka_bench_16384",
	"ka_bench_65536",
};

static struct kmem_cache *caches[ARRAY_SIZE(cache_names)];
/* ka's own caches of the same sizes (ka_cache_create()), for AK_KACACHE */
static struct ka_cache *ka_caches[ARRAY_SIZE(cache_names)];

#define BATCH_MAX	4096
#define MIX_N		4096

/* The realistic mix, skewed to small sizes (mean about 1 KiB). */
static u32 mix_sizes[MIX_N];

static const char *mode_tag = "icount";
/* Smoke failures: the first reason is kept. */
static unsigned long smoke_failures;
static char smoke_why[160];

static __always_inline u64 bench_rnd(u64 *s)
{
	u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static u32 mix_pick(u64 r)
{
	unsigned int pct = (u32)r % 100;
	u32 v = r >> 32;

	if (pct < 35)
		return 1 + v % 32;
	if (pct < 60)
		return 33 + v % 96;
	if (pct < 80)
		return 129 + v % 384;
	if (pct < 92)
		return 513 + v % 1536;
	if (pct < 98)
		return 2049 + v % 6144;
	return 8193 + v % 24576;
}

static void mix_init(void)
{
	u64 s = seed | 1;
	unsigned int i;

	for (i = 0; i < MIX_N; i++)
		mix_sizes[i] = mix_pick(bench_rnd(&s));
}

/* The index of the dedicated caches of @size, or -1 if it has none. */
static int cache_index(size_t size)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(caches); i++)
		if (default_sizes[i] == size)
			return i;
	return -1;
}

static struct kmem_cache *cache_for(size_t size)
{
	int i = cache_index(size);

	return i < 0 ? NULL : caches[i];
}

static struct ka_cache *ka_cache_for(size_t size)
{
	int i = cache_index(size);

	return i < 0 ? NULL : ka_caches[i];
}

static bool pattern_wanted(const char *name)
{
	const char *p = patterns;
	size_t len = strlen(name);

	if (!p || !*p)
		return true;
	while (p && *p) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* ------------------------------------------------------ measurement core */

struct bench_ctx {
	int kind;
	bool check;		/* smoke: verify every object */
	size_t size;		/* 0: the mix */
	unsigned int n;		/* objects per batch, or slots */
	struct kmem_cache *cache;
	struct ka_cache *kc;	/* AK_KACACHE */
	void **objs;		/* BATCH_MAX entries */
	u32 *szs;		/* BATCH_MAX entries: sizes, for checks */
	u64 rnd;
	unsigned long fails;	/* NULL returns */
	unsigned long bad;	/* failed checks */
};

static __always_inline void *b_alloc(const int kind, struct bench_ctx *c,
				     size_t size)
{
	if (kind == AK_KA)
		return ka_alloc(size, GFP_KERNEL);
	if (kind == AK_KMALLOC)
		return kmalloc(size, GFP_KERNEL);
	if (kind == AK_KACACHE)
		return ka_cache_alloc(c->kc, GFP_KERNEL);
	return kmem_cache_alloc(c->cache, GFP_KERNEL);
}

static __always_inline void b_free(const int kind, struct bench_ctx *c,
				   void *p)
{
	if (kind == AK_KA)
		ka_free(p);
	else if (kind == AK_KMALLOC)
		kfree(p);
	else if (kind == AK_KACACHE)
		ka_cache_free(c->kc, p);
	else
		kmem_cache_free(c->cache, p);
}

static __always_inline size_t b_size(struct bench_ctx *c, unsigned long i)
{
	size_t size = c->size;

	return size ? size : mix_sizes[i & (MIX_N - 1)];
}

static void bench_bad(struct bench_ctx *c, const char *fmt, size_t size,
		      const void *p)
{
	c->bad++;
	if (c->bad == 1)
		pr_err("%s check failed: %s size=%zu obj=%p\n",
		       kind_name[c->kind], fmt, size, p);
}

/* Smoke checks of a new object: fill it and check its usable size. */
static noinline void check_new(struct bench_ctx *c, void *p, size_t size)
{
	if (c->kind == AK_KA && ka_size(p) < size)
		bench_bad(c, "ka_size() below the requested size", size, p);
	/* kmalloc's promise, and ka's; not a kmem_cache's (debug redzones) */
	if (c->kind != AK_CACHE && c->kind != AK_KACACHE &&
	    is_power_of_2(size) && size <= PAGE_SIZE &&
	    !IS_ALIGNED((unsigned long)p, size))
		bench_bad(c, "power-of-two object not naturally aligned", size, p);
	/* all of a small object; the ends of a large one, to stay quick */
	ka_test_fill_ends(p, size, (unsigned long)p, 256, 256);
}

/* Smoke checks of an object about to be freed: is it as we left it? */
static noinline void check_old(struct bench_ctx *c, void *p, size_t size)
{
	const u8 *b = p;
	unsigned long seed = (unsigned long)p;

	if (b[0] != ka_test_byte(seed, 0) ||
	    (size && b[size - 1] != ka_test_byte(seed, size - 1)))
		bench_bad(c, "object contents changed while allocated", size, p);
}

static __always_inline void touch(const bool check, struct bench_ctx *c,
				  void *p, size_t size, unsigned long i)
{
	if (check)
		check_new(c, p, size);
	else
		WRITE_ONCE(*(u8 *)p, (u8)i);
}

/*
 * The loops yield every BENCH_YIELD rounds, as a long kernel loop must:
 * otherwise a wake-up pending on this CPU stays pending for the whole
 * measurement, and every preempt_enable() in the measured code (ka's hit
 * paths have one) calls into the scheduler, which under voluntary
 * preemption returns at once: four instructions per call, billed to
 * whichever allocator has a preempt_enable() on its hit path.  The
 * per-object loops yield between chunks, so that no test is added to
 * their rounds.
 */
#define BENCH_YIELD	4096

static __always_inline void bench_yield(unsigned long round)
{
	if (unlikely(!(round % BENCH_YIELD)))
		cond_resched();
}

/* alloc + free, one object at a time */
static __always_inline u64 pat_pair(const int kind, const bool check,
				    struct bench_ctx *c, unsigned long n)
{
	unsigned long i;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; cond_resched()) {
		unsigned long end = min(n, i + BENCH_YIELD);

		for (; i < end; i++) {
			size_t size = b_size(c, i);
			void *p = b_alloc(kind, c, size);

			if (unlikely(!p)) {
				c->fails++;
				continue;
			}
			touch(check, c, p, size, i);
			if (check)
				check_old(c, p, size);
			b_free(kind, c, p);
		}
	}
	return ktime_get_ns() - t0;
}

/* alloc c->n, then free them in the same order; n rounds up to whole batches */
static __always_inline u64 pat_batch(const int kind, const bool check,
				     struct bench_ctx *c, unsigned long n)
{
	unsigned int batch = c->n, j;
	void **objs = c->objs;
	unsigned long i;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; i += batch) {
		bench_yield(i / batch);
		for (j = 0; j < batch; j++) {
			size_t size = b_size(c, i + j);
			void *p = b_alloc(kind, c, size);

			if (unlikely(!p))
				c->fails++;
			else
				touch(check, c, p, size, j);
			objs[j] = p;
		}
		barrier();
		for (j = 0; j < batch; j++) {
			void *p = objs[j];

			if (unlikely(!p))
				continue;
			if (check)
				check_old(c, p, b_size(c, i + j));
			b_free(kind, c, p);
		}
	}
	return ktime_get_ns() - t0;
}

/*
 * Larson-style random lifetimes: c->n live objects; each op frees a random
 * one and allocates its replacement.  The table is filled by rnd_fill()
 * and emptied by rnd_empty(), outside the timed part.
 */
static __always_inline u64 pat_random(const int kind, const bool check,
				      struct bench_ctx *c, unsigned long n)
{
	unsigned int mask = c->n - 1;
	void **objs = c->objs;
	u32 *szs = c->szs;
	unsigned long i;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; cond_resched()) {
		unsigned long end = min(n, i + BENCH_YIELD);

		for (; i < end; i++) {
			u64 r = bench_rnd(&c->rnd);
			unsigned int j = (u32)r & mask;
			size_t size = c->size ? c->size :
				      mix_sizes[(r >> 32) & (MIX_N - 1)];
			void *p = objs[j];

			if (likely(p)) {
				if (check)
					check_old(c, p, szs[j]);
				b_free(kind, c, p);
			}
			p = b_alloc(kind, c, size);
			if (unlikely(!p))
				c->fails++;
			else
				touch(check, c, p, size, i);
			objs[j] = p;
			if (check)
				szs[j] = size;
		}
	}
	return ktime_get_ns() - t0;
}

static __always_inline u64 pat_rnd_fill(const int kind, const bool check,
					struct bench_ctx *c, unsigned long n)
{
	unsigned int j;

	for (j = 0; j < c->n; j++) {
		size_t size = b_size(c, j * 7);
		void *p = b_alloc(kind, c, size);

		if (unlikely(!p))
			c->fails++;
		else
			touch(check, c, p, size, j);
		c->objs[j] = p;
		c->szs[j] = size;
	}
	return 0;
}

static __always_inline u64 pat_rnd_empty(const int kind, const bool check,
					 struct bench_ctx *c, unsigned long n)
{
	unsigned int j;

	for (j = 0; j < c->n; j++) {
		void *p = c->objs[j];

		if (!p)
			continue;
		if (check)
			check_old(c, p, c->szs[j]);
		b_free(kind, c, p);
		c->objs[j] = NULL;
	}
	return 0;
}

/* The bulk APIs: ka's (kind AK_KA) or the dedicated cache's (AK_CACHE). */
static __always_inline u64 pat_bulk(const int kind, const bool check,
				    struct bench_ctx *c, unsigned long n)
{
	unsigned int batch = c->n, j;
	size_t size = c->size;
	void **objs = c->objs;
	unsigned long i;
	int got;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; i += batch) {
		bench_yield(i / batch);
		if (kind == AK_KA)
			got = ka_alloc_bulk(size, GFP_KERNEL, batch, objs);
		else
			got = kmem_cache_alloc_bulk(c->cache, GFP_KERNEL, batch,
						    objs);
		if (unlikely(got != batch)) {
			c->fails++;
			if (got > 0 && kind != AK_KA)
				kmem_cache_free_bulk(c->cache, got, objs);
			continue;
		}
		for (j = 0; j < batch; j++)
			touch(check, c, objs[j], size, j);
		barrier();
		if (check)
			for (j = 0; j < batch; j++)
				check_old(c, objs[j], size);
		if (kind == AK_KA)
			ka_free_bulk(batch, objs);
		else
			kmem_cache_free_bulk(c->cache, batch, objs);
	}
	return ktime_get_ns() - t0;
}

/* One copy of a pattern per allocator and check mode: direct calls only. */
#define BENCH_VARIANTS(pat, c, n)					\
	((c)->kind == AK_KA ?						\
	 ((c)->check ? pat(AK_KA, true, c, n) : pat(AK_KA, false, c, n)) : \
	 (c)->kind == AK_KMALLOC ?					\
	 ((c)->check ? pat(AK_KMALLOC, true, c, n) :			\
		       pat(AK_KMALLOC, false, c, n)) :			\
	 (c)->kind == AK_KACACHE ?					\
	 ((c)->check ? pat(AK_KACACHE, true, c, n) :			\
		       pat(AK_KACACHE, false, c, n)) :			\
	 ((c)->check ? pat(AK_CACHE, true, c, n) : pat(AK_CACHE, false, c, n)))

static noinline u64 run_pair(struct bench_ctx *c, unsigned long n)
{
	return BENCH_VARIANTS(pat_pair, c, n);
}

static noinline u64 run_batch(struct bench_ctx *c, unsigned long n)
{
	return BENCH_VARIANTS(pat_batch, c, n);
}

static noinline u64 run_random(struct bench_ctx *c, unsigned long n)
{
	return BENCH_VARIANTS(pat_random, c, n);
}

static noinline void rnd_fill(struct bench_ctx *c)
{
	BENCH_VARIANTS(pat_rnd_fill, c, 0);
}

static noinline void rnd_empty(struct bench_ctx *c)
{
	BENCH_VARIANTS(pat_rnd_empty, c, 0);
}

static noinline u64 run_bulk(struct bench_ctx *c, unsigned long n)
{
	if (c->kind == AK_KA)
		return c->check ? pat_bulk(AK_KA, true, c, n) :
				  pat_bulk(AK_KA, false, c, n);
	return c->check ? pat_bulk(AK_CACHE, true, c, n) :
			  pat_bulk(AK_CACHE, false, c, n);
}

static int ctx_init(struct bench_ctx *c, int kind, size_t size,
		    unsigned int n)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->check = smoke;
	c->size = size;
	c->n = n;
	c->rnd = seed | 1;
	c->cache = kind == AK_CACHE ? cache_for(size) : NULL;
	if (kind == AK_CACHE && !c->cache)
		return -EINVAL;
	c->kc = kind == AK_KACACHE ? ka_cache_for(size) : NULL;
	if (kind == AK_KACACHE && !c->kc)
		return -EINVAL;
	c->objs = kvcalloc(BATCH_MAX, sizeof(*c->objs), GFP_KERNEL);
	c->szs = kvcalloc(BATCH_MAX, sizeof(*c->szs), GFP_KERNEL);
	if (!c->objs || !c->szs) {
		kvfree(c->objs);
		kvfree(c->szs);
		return -ENOMEM;
	}
	return 0;
}

static void ctx_fini(struct bench_ctx *c)
{
	kvfree(c->objs);
	kvfree(c->szs);
	c->objs = NULL;
	c->szs = NULL;
}

static void size_str(char *buf, size_t len, size_t size)
{
	if (size)
		snprintf(buf, len, "%zu", size);
	else
		strscpy(buf, "mix", len);
}

/* Smoke bookkeeping: a measurement with NULLs or failed checks fails. */
static void smoke_note(const char *pat, const char *alloc, size_t size,
		       unsigned long fails, unsigned long bad)
{
	char sz[16];

	if (!fails && !bad)
		return;
	size_str(sz, sizeof(sz), size);
	if (!smoke_failures)
		snprintf(smoke_why, sizeof(smoke_why),
			 "pattern=%s size=%s alloc=%s: %lu NULL returns, %lu failed checks",
			 pat, sz, alloc, fails, bad);
	smoke_failures++;
}

static void report(const char *pat, const char *alloc, size_t size,
		   const char *extra, unsigned long n, u64 ns,
		   unsigned long fails, unsigned long bad)
{
	u64 x100 = n ? div64_u64(ns * 100, n) : 0;
	u32 frac;
	char sz[16];

	size_str(sz, sizeof(sz), size);
	frac = do_div(x100, 100);
	pr_info("%smode=%s pattern=%s size=%s alloc=%s%s ops=%lu ns=%llu ns_per_op=%llu.%02u fails=%lu bad=%lu\n",
		smoke ? "# " : "", mode_tag, pat, sz, alloc, extra, n, ns,
		x100, frac, fails, bad);
	if (smoke)
		smoke_note(pat, alloc, size, fails, bad);
}

static unsigned long ops_for(size_t size)
{
	if (smoke)
		return 100;
	/* above 64 KiB (the large pairs): enough for an instruction count */
	if (size > 65536)
		return min(ops_large, 2000UL);
	return size > 256 ? ops_large : ops;
}

/* Warm-up operations before a measurement (none in smoke mode). */
static unsigned long warm_for(unsigned long nops)
{
	return smoke ? 0 : min(nops, 2000UL);
}

/*
 * smoke: every pattern, but not every size: under a debug kernel an
 * operation costs hundreds of microseconds.
 */
static bool smoke_skip(const char *pat, unsigned int n, size_t size)
{
	if (!smoke || !strcmp(pat, "pair"))
		return false;
	if (n > 256)
		return size != 64;
	return size != 8 && size != 256 && size != 4096 && size != 65536 &&
	       size != 0;
}

/* ----------------------------------------------------- icount patterns */

enum icount_pat { IP_PAIR, IP_BATCH, IP_RANDOM, IP_BULK };

static const struct {
	const char *name;
	int pat;
	unsigned int n;
} icount_pats[] = {
	{ "pair", IP_PAIR, 1 },
	{ "batch16", IP_BATCH, 16 },
	{ "batch256", IP_BATCH, 256 },
	{ "batch4096", IP_BATCH, 4096 },
	{ "random", IP_RANDOM, 0 },
	{ "bulk16", IP_BULK, 16 },
	{ "bulk256", IP_BULK, 256 },
};

static bool kind_wanted(int kind)
{
	/* smoke: ka_cache too, whatever allocs says */
	return (allocs & (1U << kind)) || (smoke && kind == AK_KACACHE);
}

/* One measurement of a pair, batch or random pattern; warmed up first. */
static void icount_one(const char *pat, int pid, unsigned int n, size_t size,
		       int kind)
{
	unsigned int r, nreps = smoke ? 1 : max(icount_reps, 1U);
	unsigned long nops = ops_for(size);
	struct bench_ctx c;
	u64 ns = U64_MAX;

	if (pid == IP_RANDOM)
		n = smoke ? 64 : clamp_t(unsigned int,
					 rounddown_pow_of_two(max(slots, 2U)),
					 2, BATCH_MAX);
	if (ctx_init(&c, kind, size, n))
		return;
	/*
	 * In icount mode the guest clock counts every instruction the CPU
	 * runs, a background task's or an interrupt's too: the least of a few
	 * runs is the pattern's own cost.
	 */
	switch (pid) {
	case IP_PAIR:
		run_pair(&c, warm_for(nops));
		for (r = 0; r < nreps; r++)
			ns = min(ns, run_pair(&c, nops));
		break;
	case IP_BATCH:
		nops = roundup(nops, n);
		run_batch(&c, warm_for(n));
		for (r = 0; r < nreps; r++)
			ns = min(ns, run_batch(&c, nops));
		break;
	default:
		rnd_fill(&c);
		run_random(&c, warm_for(nops));
		for (r = 0; r < nreps; r++)
			ns = min(ns, run_random(&c, nops));
		rnd_empty(&c);
		break;
	}
	report(pat, kind_name[kind], size, "", nops, ns, c.fails, c.bad);
	ctx_fini(&c);
}

/* Bulk API against a loop of single calls, for ka and the cache. */
static void icount_bulk(const char *pat, unsigned int n, size_t size)
{
	static const char * const names[] = {
		"ka_bulk", "ka_loop", "kmem_cache_bulk", "kmem_cache_loop",
	};
	unsigned long nops = roundup(ops_for(size), n);
	unsigned int v;

	for (v = 0; v < ARRAY_SIZE(names); v++) {
		int kind = v < 2 ? AK_KA : AK_CACHE;
		struct bench_ctx c;
		u64 ns;

		if (!kind_wanted(kind) || ctx_init(&c, kind, size, n))
			continue;
		if (v & 1) {
			run_batch(&c, warm_for(n));
			ns = run_batch(&c, nops);
		} else {
			run_bulk(&c, warm_for(n));
			ns = run_bulk(&c, nops);
		}
		report(pat, names[v], size, "", nops, ns, c.fails, c.bad);
		ctx_fini(&c);
		cond_resched();
	}
}

static const unsigned int *size_list(unsigned int *nr)
{
	if (nr_sizes) {
		*nr = nr_sizes;
		return sizes;
	}
	*nr = ARRAY_SIZE(default_sizes);
	return default_sizes;
}

/* Large objects for the pair pattern only: ka's heap against the buddy's. */
static const unsigned int large_pair_sizes[] = { 262144, 1048576 };

static void run_icount(void)
{
	unsigned int i, s, nr;
	const unsigned int *sz = size_list(&nr);
	int kind;

	for (s = 0; s < ARRAY_SIZE(large_pair_sizes) && !nr_sizes &&
	     pattern_wanted("pair"); s++)
		for (kind = AK_KA; kind <= AK_KMALLOC; kind++)
			if (kind_wanted(kind))
				icount_one("pair", IP_PAIR, 1,
					   large_pair_sizes[s], kind);

	for (i = 0; i < ARRAY_SIZE(icount_pats); i++) {
		if (!pattern_wanted(icount_pats[i].name))
			continue;
		for (s = 0; s < nr; s++) {
			size_t size = sz[s];

			if (smoke_skip(icount_pats[i].name, icount_pats[i].n,
				       size))
				continue;
			if (icount_pats[i].pat == IP_BULK) {
				if (size)
					icount_bulk(icount_pats[i].name,
						    icount_pats[i].n, size);
				continue;
			}
			for (kind = 0; kind < AK_NR; kind++) {
				if (!kind_wanted(kind) ||
				    (kind == AK_CACHE && !cache_for(size)) ||
				    (kind == AK_KACACHE && !ka_cache_for(size)))
					continue;
				icount_one(icount_pats[i].name,
					   icount_pats[i].pat, icount_pats[i].n,
					   size, kind);
				cond_resched();
			}
		}
	}
}

/* -------------------------------------------------- multi-CPU patterns */

#define RING_N		1024

struct bench_ring {
	void *slot[RING_N];
	unsigned long head ____cacheline_aligned;	/* written by producer */
	unsigned long tail ____cacheline_aligned;	/* written by consumer */
};

enum worker_role { W_PAIR, W_BATCH, W_PRODUCER, W_CONSUMER };

struct bench_worker {
	struct bench_ctx c;
	struct completion done;
	struct task_struct *task;
	struct bench_ring *ring;
	int role;
	unsigned long n;
	u64 t_start, t_end;
};

static DECLARE_WAIT_QUEUE_HEAD(go_wq);
static bool go;

static __always_inline void producer(const int kind, const bool check,
				     struct bench_worker *w)
{
	struct bench_ring *r = w->ring;
	struct bench_ctx *c = &w->c;
	unsigned long i, spins = 0;

	for (i = 0; i < w->n; i++) {
		size_t size = b_size(c, i);
		void *p = b_alloc(kind, c, size);

		if (unlikely(!p))
			c->fails++;
		else
			touch(check, c, p, size, i);
		/* pairs with the consumer's release: it is done with the slot */
		while (i - smp_load_acquire(&r->tail) >= RING_N) {
			cpu_relax();
			if (!(++spins & 4095))
				cond_resched();
		}
		r->slot[i & (RING_N - 1)] = p;
		/* publish the slot to the consumer's acquire */
		smp_store_release(&r->head, i + 1);
	}
}

static __always_inline void consumer(const int kind, const bool check,
				     struct bench_worker *w)
{
	struct bench_ring *r = w->ring;
	struct bench_ctx *c = &w->c;
	unsigned long i, spins = 0;

	for (i = 0; i < w->n; i++) {
		void *p;

		/* pairs with the producer's release: the slot is written */
		while (smp_load_acquire(&r->head) == i) {
			cpu_relax();
			if (!(++spins & 4095))
				cond_resched();
		}
		p = r->slot[i & (RING_N - 1)];
		/* the slot is read: hand it back to the producer */
		smp_store_release(&r->tail, i + 1);
		if (unlikely(!p))
			continue;
		if (check)
			check_old(c, p, 0);
		b_free(kind, c, p);
	}
}

#define WORKER_VARIANTS(fn, w)						\
	do {								\
		struct bench_ctx *_c = &(w)->c;				\
		if (_c->kind == AK_KA)					\
			_c->check ? fn(AK_KA, true, w) : fn(AK_KA, false, w); \
		else if (_c->kind == AK_KMALLOC)			\
			_c->check ? fn(AK_KMALLOC, true, w) :		\
				    fn(AK_KMALLOC, false, w);		\
		else							\
			_c->check ? fn(AK_CACHE, true, w) :		\
				    fn(AK_CACHE, false, w);		\
	} while (0)

static noinline void run_producer(struct bench_worker *w)
{
	WORKER_VARIANTS(producer, w);
}

static noinline void run_consumer(struct bench_worker *w)
{
	WORKER_VARIANTS(consumer, w);
}

static int worker_fn(void *arg)
{
	struct bench_worker *w = arg;

	wait_event(go_wq, READ_ONCE(go));
	w->t_start = ktime_get_ns();
	switch (w->role) {
	case W_PAIR:
		run_pair(&w->c, w->n);
		break;
	case W_BATCH:
		run_batch(&w->c, w->n);
		break;
	case W_PRODUCER:
		run_producer(w);
		break;
	default:
		run_consumer(w);
		break;
	}
	w->t_end = ktime_get_ns();
	complete(&w->done);
	return 0;
}

/*
 * Run @nw workers, worker i on CPU cpus[i], all released at once.  The
 * caller holds a reference on each task, so that kthread_stop() may wait
 * for a thread that has already returned.
 * Return: wall-clock ns from the first start to the last end, or 0.
 */
static u64 run_workers(struct bench_worker *w, const int *cpus, int nw)
{
	u64 first = U64_MAX, last = 0;
	int i, started = 0;

	WRITE_ONCE(go, false);
	for (i = 0; i < nw; i++) {
		struct task_struct *t;

		init_completion(&w[i].done);
		t = kthread_create_on_cpu(worker_fn, &w[i], cpus[i],
					  "ka_bench/%u");
		if (IS_ERR(t))
			break;
		get_task_struct(t);
		w[i].task = t;
		wake_up_process(t);
		started++;
	}
	WRITE_ONCE(go, true);
	wake_up_all(&go_wq);
	for (i = 0; i < started; i++) {
		wait_for_completion(&w[i].done);
		kthread_stop(w[i].task);
		put_task_struct(w[i].task);
		w[i].task = NULL;
		first = min(first, w[i].t_start);
		last = max(last, w[i].t_end);
	}
	WRITE_ONCE(go, false);
	if (started < nw) {
		pr_err("could not start %d worker threads\n", nw);
		return 0;
	}
	return last - first;
}

static int wall_cpus[NR_CPUS > 64 ? 64 : NR_CPUS];

static int online_cpus(void)
{
	int cpu, n = 0;

	for_each_online_cpu(cpu) {
		if (n == ARRAY_SIZE(wall_cpus))
			break;
		wall_cpus[n++] = cpu;
	}
	return n;
}

/* One CPU alone, then every online CPU at once: throughput scaling. */
static void wall_parallel(const char *pat, int role, size_t size, int kind,
			  int ncpu, unsigned int rep)
{
	unsigned long n = smoke ? 256 : roundup(wall_ops, 256);
	struct bench_worker *w;
	int nt, i, ready = 0;
	char extra[48];
	u64 ns;

	w = kcalloc(ncpu, sizeof(*w), GFP_KERNEL);
	if (!w)
		return;
	for (i = 0; i < ncpu; i++, ready++) {
		if (ctx_init(&w[i].c, kind, size, role == W_BATCH ? 256 : 1))
			break;
		w[i].role = role;
		w[i].n = n;
	}
	if (ready < ncpu)
		goto out;
	/* warm every CPU's caches */
	if (!smoke) {
		for (i = 0; i < ncpu; i++)
			w[i].n = roundup(n / 4, 256);
		run_workers(w, wall_cpus, ncpu);
		for (i = 0; i < ncpu; i++)
			w[i].n = n;
	}
	/* smoke: only every CPU at once, which is what can go wrong */
	for (nt = smoke ? ncpu : 1; nt <= ncpu;
	     nt = nt == ncpu ? ncpu + 1 : ncpu) {
		unsigned long fails = 0, bad = 0;

		for (i = 0; i < ncpu; i++)
			w[i].c.fails = w[i].c.bad = 0;
		ns = run_workers(w, wall_cpus, nt);
		for (i = 0; i < nt; i++) {
			fails += w[i].c.fails;
			bad += w[i].c.bad;
		}
		snprintf(extra, sizeof(extra), " threads=%d rep=%u", nt, rep);
		report(pat, kind_name[kind], size, extra, n * nt, ns, fails,
		       bad);
	}
out:
	for (i = 0; i < ready; i++)
		ctx_fini(&w[i].c);
	kfree(w);
}

/* Allocate on the first CPU, free on the second, through a ring. */
static void wall_prodcons(size_t size, int kind, unsigned int rep)
{
	unsigned long n = smoke ? 512 : wall_ops;
	struct bench_ring *ring;
	struct bench_worker *w;
	char extra[48];
	u64 ns;
	int i;

	ring = kzalloc(sizeof(*ring), GFP_KERNEL);
	w = kcalloc(2, sizeof(*w), GFP_KERNEL);
	if (!ring || !w)
		goto out;
	for (i = 0; i < 2; i++) {
		if (ctx_init(&w[i].c, kind, size, 1)) {
			if (i)
				ctx_fini(&w[0].c);
			goto out;
		}
		w[i].ring = ring;
		w[i].n = n;
	}
	w[0].role = W_PRODUCER;
	w[1].role = W_CONSUMER;
	ns = run_workers(w, wall_cpus, 2);
	snprintf(extra, sizeof(extra), " threads=2 rep=%u", rep);
	report("prodcons", kind_name[kind], size, extra, n, ns,
	       w[0].c.fails + w[1].c.fails, w[0].c.bad + w[1].c.bad);
	ctx_fini(&w[0].c);
	ctx_fini(&w[1].c);
out:
	kfree(w);
	kfree(ring);
}

static const unsigned int smoke_wall_sizes[] = { 64 };

static void run_wall(void)
{
	unsigned int s, nr, rep, nreps = smoke ? 1 : max(reps, 1U);
	const unsigned int *sz = size_list(&nr);
	int kind, ncpu = online_cpus();

	if (smoke && !nr_sizes) {
		sz = smoke_wall_sizes;
		nr = ARRAY_SIZE(smoke_wall_sizes);
	}

	if (ncpu < 2) {
		pr_info("%smode=%s: only one CPU online, multi-CPU patterns skipped\n",
			smoke ? "# " : "", mode_tag);
		return;
	}
	/* Every repetition runs every allocator, so they share the noise. */
	for (rep = 0; rep < nreps; rep++) {
		for (s = 0; s < nr; s++) {
			size_t size = sz[s];

			/* ka_cache: single-CPU patterns only */
			for (kind = 0; kind < AK_KACACHE; kind++) {
				if (!kind_wanted(kind) ||
				    (kind == AK_CACHE && !cache_for(size)))
					continue;
				if (pattern_wanted("parallel_pair"))
					wall_parallel("parallel_pair", W_PAIR,
						      size, kind, ncpu, rep);
				if (pattern_wanted("parallel_batch256"))
					wall_parallel("parallel_batch256",
						      W_BATCH, size, kind,
						      ncpu, rep);
				if (pattern_wanted("prodcons"))
					wall_prodcons(size, kind, rep);
				cond_resched();
			}
		}
	}
}

/* ------------------------------------------------------ memory efficiency */

static DEFINE_MUTEX(mem_lock);
static void **mem_objs_ka;	/* ka's objects, held between steps */
static u32 *mem_size;
static u32 *mem_order;		/* the order in which objects are freed */
static unsigned int mem_n, mem_freed;
static u64 mem_half_req, mem_half_kmalloc, mem_half_slab;

static unsigned long slab_bytes(void)
{
	return global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B) << PAGE_SHIFT;
}

static void mem_release(void)
{
	unsigned int i;

	if (mem_objs_ka)
		for (i = 0; i < mem_n; i++)
			ka_free(mem_objs_ka[i]);
	kvfree(mem_objs_ka);
	kvfree(mem_size);
	kvfree(mem_order);
	mem_objs_ka = NULL;
	mem_size = NULL;
	mem_order = NULL;
	mem_n = 0;
}

static void mem_line(const char *phase, u64 req, u64 usable, const char *what,
		     u64 kbytes, u64 slab)
{
	pr_info("%smode=mem max=%u objs=%u phase=%s requested=%llu %s=%llu kmalloc_ksize=%llu kmalloc_slab=%llu\n",
		smoke ? "# " : "", mem_max, mem_n, phase, req, what, usable,
		kbytes, slab);
}

/* Free the first half of the objects in mem_order[]; return what stays. */
static u64 mem_free_half_ka(u64 *usable)
{
	u64 req = 0, use = 0;
	unsigned int i;

	for (i = 0; i < mem_n / 2; i++) {
		unsigned int j = mem_order[i];

		ka_free(mem_objs_ka[j]);
		mem_objs_ka[j] = NULL;
	}
	for (i = 0; i < mem_n; i++) {
		if (!mem_objs_ka[i])
			continue;
		req += mem_size[i];
		use += ka_size(mem_objs_ka[i]);
	}
	mem_freed = mem_n / 2;
	*usable = use;
	return req;
}

/*
 * kmalloc's figures for the same objects (allocated, measured, half freed,
 * measured, all freed), then ka's objects, which are kept.
 */
static int run_mem(void)
{
	u64 req = 0, kbytes = 0, usable = 0, slab0, slab_peak;
	unsigned int i, n = smoke ? 500 : mem_objs;
	unsigned long fails = 0;
	u64 s = seed | 1;
	void **k;

	if (!mem_max || mem_max > KA_MAX_SIZE || !n)
		return -EINVAL;
	mem_size = kvcalloc(n, sizeof(*mem_size), GFP_KERNEL);
	mem_order = kvcalloc(n, sizeof(*mem_order), GFP_KERNEL);
	mem_objs_ka = kvcalloc(n, sizeof(*mem_objs_ka), GFP_KERNEL);
	k = kvcalloc(n, sizeof(*k), GFP_KERNEL);
	mem_n = n;
	if (!mem_size || !mem_order || !mem_objs_ka || !k) {
		kvfree(k);
		mem_release();
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		mem_size[i] = 1 + (u32)(bench_rnd(&s) >> 16) % mem_max;
		mem_order[i] = i;
	}
	/* Fisher-Yates: which half is freed */
	for (i = n - 1; i > 0; i--) {
		unsigned int j = (u32)(bench_rnd(&s) >> 16) % (i + 1);

		swap(mem_order[i], mem_order[j]);
	}

	slab0 = slab_bytes();
	for (i = 0; i < n; i++) {
		k[i] = kmalloc(mem_size[i], GFP_KERNEL);
		if (!k[i]) {
			fails++;
			continue;
		}
		WRITE_ONCE(*(u8 *)k[i], 1);
		req += mem_size[i];
		kbytes += ksize(k[i]);
	}
	slab_peak = slab_bytes() - slab0;
	for (i = 0; i < n / 2; i++) {
		kfree(k[mem_order[i]]);
		k[mem_order[i]] = NULL;
	}
	mem_half_kmalloc = 0;
	for (i = 0; i < n; i++)
		if (k[i])
			mem_half_kmalloc += ksize(k[i]);
	mem_half_slab = slab_bytes() - slab0;
	for (i = 0; i < n; i++)
		kfree(k[i]);
	kvfree(k);

	for (i = 0; i < n; i++) {
		void *p = ka_alloc(mem_size[i], GFP_KERNEL);

		mem_objs_ka[i] = p;
		if (!p) {
			fails++;
			continue;
		}
		WRITE_ONCE(*(u8 *)p, 1);
		usable += ka_size(p);
	}
	mem_line("peak", req, usable, "ka_usable", kbytes, slab_peak);
	if (fails)
		pr_err("mode=mem: %lu NULL returns\n", fails);
	if (smoke)
		smoke_note("mem", "ka+kmalloc", mem_max, fails, 0);

	mem_half_req = 0;
	for (i = n / 2; i < n; i++)
		mem_half_req += mem_size[mem_order[i]];
	return 0;
}

static void mem_half(void)
{
	u64 usable, req;

	if (!mem_objs_ka || mem_freed)
		return;
	req = mem_free_half_ka(&usable);
	WARN_ON(req != mem_half_req);
	mem_line("half", req, usable, "ka_usable", mem_half_kmalloc,
		 mem_half_slab);
}

static int mem_step_set(const char *val, const struct kernel_param *kp)
{
	mutex_lock(&mem_lock);
	if (sysfs_streq(val, "half")) {
		mem_half();
	} else if (sysfs_streq(val, "free")) {
		mem_release();
		pr_info("mode=mem phase=free\n");
	} else {
		mutex_unlock(&mem_lock);
		return -EINVAL;
	}
	mutex_unlock(&mem_lock);
	return 0;
}

static const struct kernel_param_ops mem_step_ops = {
	.set = mem_step_set,
};
module_param_cb(mem_step, &mem_step_ops, NULL, 0200);
MODULE_PARM_DESC(mem_step, "mem mode: write \"half\" to free a random half of ka's objects, \"free\" to free the rest");

/* ------------------------------------------- memory that scales with CPUs */

struct mem8_worker {
	struct task_struct *task;
	struct completion done;
	int kind;
	bool check;
	void **objs;
	u32 *szs;
	u64 rnd;
	u64 requested;		/* live bytes requested at the end */
	u64 usable;		/* their ka_size() / ksize() */
	unsigned long live;
	unsigned long fails;
	unsigned long bad;
	u64 ns;
};

static struct mem8_worker *mem8_w;	/* one per online CPU, kept live */
static int mem8_nw;

/* 70% 1..512 B, 25% ..4 KiB, 5% ..32 KiB; one in 1000: 64 KiB..1 MiB. */
static u32 mem8_size(u64 *s)
{
	u64 r = bench_rnd(s);
	u32 v = r >> 32;

	if ((u32)r % 1000 == 0)
		return 65536 + v % (1048576 - 65536 + 1);
	switch ((u32)(r >> 10) % 100) {
	case 0 ... 69:
		return 1 + v % 512;
	case 70 ... 94:
		return 1 + v % 4096;
	default:
		return 1 + v % 32768;
	}
}

static void *mem8_alloc(struct mem8_worker *w, size_t size)
{
	return w->kind == AK_KA ? ka_alloc(size, GFP_KERNEL) :
				  kmalloc(size, GFP_KERNEL);
}

static void mem8_free(struct mem8_worker *w, void *p)
{
	if (w->kind == AK_KA)
		ka_free(p);
	else
		kfree(p);
}

/* The check pattern of an object, seeded by its address: 64 + 16 bytes. */
static void mem8_fill(void *p, u32 size)
{
	ka_test_fill_ends(p, size, (unsigned long)p, 64, 16);
}

static bool mem8_intact(const void *p, u32 size)
{
	return ka_test_bad_ends(p, size, (unsigned long)p, 64, 16) < 0;
}

static int mem8_fn(void *arg)
{
	struct mem8_worker *w = arg;
	unsigned long i, n = smoke ? 3000 : pcpu_ops;
	u64 t0 = ktime_get_ns();

	for (i = 0; i < n; i++) {
		unsigned int j = (u32)(bench_rnd(&w->rnd) >> 20) % pcpu_slots;
		u32 size = mem8_size(&w->rnd);
		void *p = w->objs[j];

		if (p) {
			if (w->check && !mem8_intact(p, w->szs[j]))
				w->bad++;
			mem8_free(w, p);
		}
		p = mem8_alloc(w, size);
		w->objs[j] = p;
		w->szs[j] = size;
		if (!p) {
			w->fails++;
			continue;
		}
		if (w->check)
			mem8_fill(p, size);
		else
			WRITE_ONCE(*(u8 *)p, 1);
		if (!(i % 64))
			cond_resched();
	}
	for (i = 0; i < pcpu_slots; i++) {
		if (!w->objs[i])
			continue;
		w->live++;
		w->requested += w->szs[i];
		w->usable += w->kind == AK_KA ? ka_size(w->objs[i]) :
						ksize(w->objs[i]);
	}
	w->ns = ktime_get_ns() - t0;
	complete(&w->done);
	return 0;
}

/* Free what the threads kept; return the objects found corrupted. */
static unsigned long mem8_release(void)
{
	unsigned long bad = 0;
	unsigned int i;
	int c;

	for (c = 0; mem8_w && c < mem8_nw; c++) {
		struct mem8_worker *w = &mem8_w[c];

		for (i = 0; w->objs && i < pcpu_slots; i++) {
			if (w->check && w->objs[i] &&
			    !mem8_intact(w->objs[i], w->szs[i]))
				bad++;
			mem8_free(w, w->objs[i]);
		}
		kvfree(w->objs);
		kvfree(w->szs);
	}
	kfree(mem8_w);
	mem8_w = NULL;
	mem8_nw = 0;
	return bad;
}

/*
 * One kthread per online CPU, bound to it, all with one allocator; the
 * objects stay live (mem8_release() at unload).  Prints one line:
 * requested and usable bytes of the live objects, NULL returns, failed
 * checks, and the slowest thread's time.
 */
static int run_mem8(int kind)
{
	u64 req = 0, usable = 0, ns = 0;
	unsigned long live = 0, fails = 0, bad = 0;
	int ncpu = online_cpus(), c, started = 0;

	if (!pcpu_slots || pcpu_slots > 65536)
		return -EINVAL;
	mem8_w = kcalloc(ncpu, sizeof(*mem8_w), GFP_KERNEL);
	if (!mem8_w)
		return -ENOMEM;
	mem8_nw = ncpu;
	for (c = 0; c < ncpu; c++) {
		struct mem8_worker *w = &mem8_w[c];

		w->kind = kind;
		w->check = smoke;
		w->rnd = (seed ^ (0x9e3779b97f4a7c15ULL * (c + 1))) | 1;
		init_completion(&w->done);
		w->objs = kvcalloc(pcpu_slots, sizeof(*w->objs), GFP_KERNEL);
		w->szs = kvcalloc(pcpu_slots, sizeof(*w->szs), GFP_KERNEL);
		if (!w->objs || !w->szs) {
			mem8_release();
			return -ENOMEM;
		}
	}
	for (c = 0; c < ncpu; c++) {
		struct task_struct *t;

		t = kthread_create_on_cpu(mem8_fn, &mem8_w[c], wall_cpus[c],
					  "ka_bench_m8/%u");
		if (IS_ERR(t))
			break;
		/* kthread_stop() below may wait for a thread already done */
		get_task_struct(t);
		mem8_w[c].task = t;
		wake_up_process(t);
		started++;
	}
	for (c = 0; c < started; c++) {
		struct mem8_worker *w = &mem8_w[c];

		wait_for_completion(&w->done);
		kthread_stop(w->task);
		put_task_struct(w->task);
		w->task = NULL;
		req += w->requested;
		usable += w->usable;
		live += w->live;
		fails += w->fails;
		bad += w->bad;
		ns = max(ns, w->ns);
	}
	if (started < ncpu) {
		pr_err("mode=mem8: could not start %d threads\n", ncpu);
		mem8_release();
		return -ENOMEM;
	}
	pr_info("%smode=mem8 alloc=%s cpus=%d ops=%lu slots=%u live=%lu requested=%llu usable=%llu fails=%lu bad=%lu ns=%llu\n",
		smoke ? "# " : "", kind_name[kind], ncpu, smoke ? 3000 : pcpu_ops,
		pcpu_slots, live, req, usable, fails, bad, ns);
	if (smoke)
		smoke_note("mem8", kind_name[kind], 0, fails, bad);
	return 0;
}

/* Smoke: both allocators, objects checked while live and at the free. */
static void smoke_mem8(void)
{
	int kind;

	for (kind = AK_KA; kind <= AK_KMALLOC; kind++) {
		if (run_mem8(kind)) {
			smoke_failures++;
			strscpy(smoke_why, "mem8 mode could not start",
				sizeof(smoke_why));
			continue;
		}
		smoke_note("mem8_release", kind_name[kind], 0, 0,
			   mem8_release());
	}
}

/* ------------------------------------------------------------ module glue */

static int caches_create(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(caches); i++) {
		caches[i] = kmem_cache_create(cache_names[i], default_sizes[i],
					      0, 0, NULL);
		if (!caches[i])
			return -ENOMEM;
		if (default_sizes[i] > KA_MAX_SMALL_SIZE)
			continue;
		ka_caches[i] = ka_cache_create(cache_names[i], default_sizes[i],
					       0, 0, NULL);
		if (!ka_caches[i])
			return -ENOMEM;
	}
	return 0;
}

static void caches_destroy(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(caches); i++) {
		kmem_cache_destroy(caches[i]);
		caches[i] = NULL;
		ka_cache_destroy(ka_caches[i]);
		ka_caches[i] = NULL;
	}
}

static void run_smoke(void)
{
	ka_ktap_start(1);
	mode_tag = "icount";
	run_icount();
	mode_tag = "wall";
	run_wall();
	mode_tag = "mem";
	mutex_lock(&mem_lock);
	if (run_mem()) {
		smoke_failures++;
		strscpy(smoke_why, "mem mode could not start", sizeof(smoke_why));
	} else {
		mem_half();
		mem_release();
	}
	mode_tag = "mem8";
	smoke_mem8();
	mutex_unlock(&mem_lock);
	if (smoke_failures)
		ka_ktap_diag("ka_bench_smoke: %lu failed measurements, first: %s\n",
			     smoke_failures, smoke_why);
	ka_ktap_result(!smoke_failures, 1, "ka_bench_smoke");
}

static int __init ka_bench_init(void)
{
	u64 t0 = ktime_get_ns();
	int ret;

	if (slots > BATCH_MAX)
		return -EINVAL;
	mix_init();
	ret = caches_create();
	if (ret)
		goto fail;
	if (smoke) {
		run_smoke();
	} else if (!strcmp(mode, "icount")) {
		mode_tag = "icount";
		run_icount();
	} else if (!strcmp(mode, "wall")) {
		mode_tag = "wall";
		run_wall();
	} else if (!strcmp(mode, "mem")) {
		mode_tag = "mem";
		mutex_lock(&mem_lock);
		ret = run_mem();
		mutex_unlock(&mem_lock);
		if (ret)
			goto fail;
	} else if (!strcmp(mode, "mem8")) {
		mode_tag = "mem8";
		if (allocs != 1 && allocs != 2) {
			pr_err("mode=mem8 takes one allocator: allocs=1 (ka) or 2 (kmalloc)\n");
			ret = -EINVAL;
			goto fail;
		}
		mutex_lock(&mem_lock);
		ret = run_mem8(allocs == 1 ? AK_KA : AK_KMALLOC);
		mutex_unlock(&mem_lock);
		if (ret)
			goto fail;
	} else if (strcmp(mode, "none")) {
		pr_err("unknown mode '%s'\n", mode);
		ret = -EINVAL;
		goto fail;
	}
	pr_info("%sdone mode=%s elapsed_ns=%llu\n", smoke ? "# " : "",
		smoke ? "smoke" : mode, ktime_get_ns() - t0);
	return 0;
fail:
	caches_destroy();
	return ret;
}

static void __exit ka_bench_exit(void)
{
	mutex_lock(&mem_lock);
	mem_release();
	if (mem8_release())
		pr_err("mode=mem8: objects corrupted while live\n");
	mutex_unlock(&mem_lock);
	caches_destroy();
}

module_init(ka_bench_init);
module_exit(ka_bench_exit);

MODULE_DESCRIPTION("Benchmark of ka against kmalloc and kmem_cache");
MODULE_LICENSE("GPL");
