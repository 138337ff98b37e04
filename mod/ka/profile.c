// SPDX-License-Identifier: GPL-2.0
/*
 * ka heap profile: which call stacks hold ka's memory, sampled as Go's
 * runtime.MemProfileRate samples, written in pprof's profile.proto format.
 *
 *   profile_rate  (module parameter and debugfs file) average bytes between
 *                 samples; 0 = off (the default), 1 = every allocation
 *   heap          (debugfs) the profile: alloc_objects, alloc_space,
 *                 inuse_objects, inuse_space; read it with go tool pprof;
 *                 a ka_cache's samples carry the label cache=<its name>
 *
 * Sampling.  Each CPU counts down the bytes requested until its next sample
 * (ka_prof_left), redrawn after each sample from an exponential
 * distribution of mean profile_rate, so that samples form a Poisson process
 * over the bytes allocated: an object of s bytes is sampled with
 * probability 1 - exp(-s / rate).  The count-down is behind ka_prof_key,
 * a static key laid out for "on" (profile.h): with sampling off the
 * allocation hit path takes one jump over it; on, the jump is a nop.
 * ka_cache_alloc()'s count-down is in its hooks block instead, behind
 * ka_cache_alloc_hooks_key (hooks.c), of which profile.c holds a reference
 * while sampling is on: nothing more on the cache hit path while off.
 *
 * A sampled object's record: its stack (stack_trace_save(), ka's own
 * frames dropped), requested and slot size, node and, for an object of a
 * ka_cache, the cache's name (ka_prof_sample_cache(): copied into the
 * bucket, which outlives the cache) select a bucket, which counts sampled
 * allocations and frees; the object's address goes into the table of live
 * sampled objects with its bucket.  ka_cache_alloc*() sample at the same
 * rate and on the same count-down as ka_alloc().  Its span counts its live
 * sampled objects (span->nprof) and gets fastkey 0 (a ka_cache's span: ckey
 * 0), which no CPU's key matches: ka_free()'s (ka_cache_free()'s) hit path
 * sends every free of that span to the slow path, where ka_prof_free()
 * looks the address up.  The span's owning CPU (mcache.c, ka_owned_set())
 * gives it its key again only when it next makes it its active span with
 * no live sample left.  A sample taken while its owner re-keys
 * the span (the owner's section preempted on PREEMPT_RT between reading
 * nprof and writing the key) can lose its free to the hit path: it then
 * stays "in use" in the profile, and ka's own state is unaffected.  Frees
 * of other spans pay nothing; ka_free_hooks() (the misses of ka_free() and
 * ka_free_bulk()) and ka_cache_free()'s slow path test ka_prof_free_key,
 * on from the first sample to module exit.
 *
 * Un-biasing.  The profile holds values already scaled, as Go's protomem.go
 * writes them: a bucket of n sampled objects of s requested bytes stands for
 * n / (1 - exp(-s / rate)) objects (Go's scaleHeapSample); space is that
 * count times the slot size, the memory the objects hold.  With rate 1
 * the values are exact counts.
 *
 * Bounded: profile_stacks buckets and profile_objects live objects,
 * preallocated when sampling is first switched on; a sample that finds no
 * room is dropped and counted (the profile's comments, debugfs
 * profile_rate).  Buckets are kept until module exit, as Go keeps them.
 *
 * Owns: the buckets, the live-object table, the per-CPU count-downs and
 * generators, span->nprof, and the fastkey (ckey) of spans with live
 * samples (which it sets to 0; mcache.c and cache.c set the others).
 * Locks: ka_prof_mutex (process context: rate changes, profile readers)
 * before ka_prof_lock, a raw spinlock taken with irqs saved around every
 * table update, from any context ka_alloc()/ka_free() allow; nothing is
 * taken under it.  ka_prof_sample() runs outside the magazines' section;
 * ka_prof_free() may run inside it (ka_free()'s miss path,
 * ka_free_bulk()), so the order is magazines, then ka_prof_lock.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/debugfs.h>
#include <linux/jhash.h>
#include <linux/kallsyms.h>
#include <linux/bsearch.h>
#include <linux/sort.h>
#include <linux/stacktrace.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include "hooks.h"
#include "profile.h"

#define KA_PROF_DEPTH	32

DEFINE_STATIC_KEY_FALSE(ka_prof_key);
DEFINE_STATIC_KEY_FALSE(ka_prof_free_key);
DEFINE_PER_CPU(long, ka_prof_left);
static DEFINE_PER_CPU(u64, ka_prof_rng);

static unsigned long profile_rate;
module_param(profile_rate, ulong, 0444);
MODULE_PARM_DESC(profile_rate, "heap profile: average bytes between samples, 0 = off (default), 1 = every allocation; debugfs profile_rate changes it");

static unsigned int profile_stacks = 2048;
module_param(profile_stacks, uint, 0444);
MODULE_PARM_DESC(profile_stacks, "heap profile: most distinct (stack, size, node) records kept (default 2048)");

static unsigned int profile_objects = 16384;
module_param(profile_objects, uint, 0444);
MODULE_PARM_DESC(profile_objects, "heap profile: most live sampled objects tracked (default 16384)");

/*
 * One stack with one slot size, node and sampling rate, of ka_alloc() or of
 * one ka_cache (by name).
 */
struct ka_prof_bucket {
	u32 next;		/* hash chain: index + 1, 0 ends it */
	u32 hash;
	u32 nframes;
	int node;
	bool cache;		/* a ka_cache's objects, named @name */
	char name[KA_PROF_NAME_LEN];	/* a copy, cut to fit; "" for ka_alloc() */
	unsigned long objsize;	/* bytes of the slot or page run */
	unsigned long rate;	/* profile_rate when sampled */
	u64 allocs;		/* sampled allocations */
	u64 frees;		/* their frees */
	u64 reqbytes;		/* bytes requested by the sampled allocations */
	unsigned long stack[KA_PROF_DEPTH];
};

/* A live sampled object; free entries chain through @next. */
struct ka_prof_obj {
	const void *p;
	struct ka_span *span;
	u32 next;
	u32 bucket;
};

static DEFINE_RAW_SPINLOCK(ka_prof_lock);
static DEFINE_MUTEX(ka_prof_mutex);
static struct ka_prof_bucket *ka_buckets;
static u32 *ka_bucket_heads;
static u32 ka_nbuckets, ka_bucket_mask;
static struct ka_prof_obj *ka_objs;
static u32 *ka_obj_heads;
static u32 ka_obj_free, ka_obj_mask;
static u64 ka_prof_dropped_stacks, ka_prof_dropped_objects;
static u64 ka_prof_seed;
static u64 ka_prof_start_ns;
static unsigned long ka_prof_cur_rate;	/* what the count-downs are drawn for */
static bool ka_prof_cache_ref;	/* a reference on ka_cache_alloc_hooks_key */

/*
 * ka_cache_alloc()'s count-down sits behind its hooks key (hooks.c): a
 * reference on it while sampling is on.  Under ka_prof_mutex.
 */
static void ka_prof_cache_hooks(bool on)
{
	if (on == ka_prof_cache_ref)
		return;
	if (on)
		static_branch_inc(&ka_cache_alloc_hooks_key);
	else
		static_branch_dec(&ka_cache_alloc_hooks_key);
	ka_prof_cache_ref = on;
}

/* xorshift64*: the generator behind the exponential draws. */
static u64 ka_prof_rand(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* log2(@x) for @x >= 1, as a fixed-point number with 16 fraction bits. */
static u32 ka_log2_q16(u64 x)
{
	unsigned int n = ilog2(x), i;
	u64 m = n >= 31 ? x >> (n - 31) : x << (31 - n);	/* 1.m in Q31 */
	u32 frac = 0;

	for (i = 0; i < 16; i++) {
		m = (m * m) >> 31;
		frac <<= 1;
		if (m >= 1ULL << 32) {
			m >>= 1;
			frac |= 1;
		}
	}
	return (n << 16) | frac;
}

/*
 * Bytes until the next sample: exponential with mean @rate, -ln(U) * rate
 * for U uniform in (0, 1], computed as (32 - log2(r)) * ln 2 for r uniform
 * in [1, 2^32] (Go's fastexprand does the same in floating point).
 */
static long ka_prof_draw(u64 *state, unsigned long rate)
{
	u64 r = (ka_prof_rand(state) >> 32) + 1;
	u64 q = (32ULL << 16) - ka_log2_q16(r);	/* -log2(U), Q16 */

	if (rate <= 1)
		return 0;
	q = (q * 45426) >> 16;			/* * ln 2 (Q16): -ln(U) */
	return (long)min_t(u64, (q * rate) >> 16, LONG_MAX / 2);
}

/* Every CPU's generator from @seed (0: random) and a fresh count-down. */
static void ka_prof_reseed(u64 seed, unsigned long rate)
{
	int cpu;

	ka_prof_seed = seed;
	for_each_possible_cpu(cpu) {
		u64 *s = per_cpu_ptr(&ka_prof_rng, cpu);

		*s = (seed ? (seed + cpu) * KA_GOLDEN_RATIO : get_random_u64()) | 1;
		*per_cpu_ptr(&ka_prof_left, cpu) = ka_prof_draw(s, rate);
	}
}

/* The tables, allocated the first time sampling is switched on. */
static int ka_prof_alloc_tables(void)
{
	u32 nb = max(profile_stacks, 16U), no = max(profile_objects, 16U);
	u32 i;

	if (ka_buckets)
		return 0;
	ka_bucket_mask = roundup_pow_of_two(nb) - 1;
	ka_obj_mask = roundup_pow_of_two(no) - 1;
	ka_buckets = vzalloc(array_size(nb, sizeof(*ka_buckets)));
	ka_bucket_heads = vzalloc(array_size(ka_bucket_mask + 1, sizeof(u32)));
	ka_objs = vzalloc(array_size(no, sizeof(*ka_objs)));
	ka_obj_heads = vzalloc(array_size(ka_obj_mask + 1, sizeof(u32)));
	if (!ka_buckets || !ka_bucket_heads || !ka_objs || !ka_obj_heads) {
		vfree(ka_buckets);
		vfree(ka_bucket_heads);
		vfree(ka_objs);
		vfree(ka_obj_heads);
		ka_buckets = NULL;
		return -ENOMEM;
	}
	profile_stacks = nb;
	profile_objects = no;
	for (i = 0; i < no; i++)
		ka_objs[i].next = i + 2 <= no ? i + 2 : 0;
	ka_obj_free = 1;
	ka_prof_start_ns = ktime_get_real_ns();
	static_branch_enable(&ka_prof_free_key);
	return 0;
}

/**
 * ka_prof_set_rate - switch sampling on, off, or to another rate
 * @rate: average bytes between samples; 0 = off, 1 = every allocation
 * @seed: the generators' seed, 0 for a random one
 *
 * What was recorded stays; objects sampled before are still followed to
 * their free when sampling is off.
 *
 * Context: process context, may sleep.
 * Return: 0, -EINVAL above KA_PROF_RATE_MAX, or -ENOMEM if the tables
 * cannot be allocated.
 */
int ka_prof_set_rate(unsigned long rate, u64 seed)
{
	int ret = 0;

	/* the draw (q * rate) and the scaling (40 * rate) stay in 64 bits */
	if (rate > KA_PROF_RATE_MAX)
		return -EINVAL;
	mutex_lock(&ka_prof_mutex);
	if (rate) {
		ret = ka_prof_alloc_tables();
		if (ret)
			goto out;
	}
	static_branch_disable(&ka_prof_key);
	WRITE_ONCE(ka_prof_cur_rate, rate);
	WRITE_ONCE(profile_rate, rate);
	if (rate) {
		ka_prof_reseed(seed, rate);
		static_branch_enable(&ka_prof_key);
	}
	ka_prof_cache_hooks(rate);
out:
	mutex_unlock(&ka_prof_mutex);
	return ret;
}
KA_EXPORT_INTERNAL(ka_prof_set_rate);

/* What a sample is recorded under besides its stack. */
struct ka_prof_key {
	size_t objsize;
	int node;
	unsigned long rate;
	bool cache;
	char name[KA_PROF_NAME_LEN];	/* zero-padded */
};

static u32 ka_prof_stack_hash(const unsigned long *stack, unsigned int n,
			      const struct ka_prof_key *k)
{
	u32 h = jhash2((const u32 *)stack, n * sizeof(long) / sizeof(u32),
		       (u32)k->objsize);

	if (k->cache)
		h = jhash(k->name, sizeof(k->name), h ^ 1);
	return jhash_3words(h, k->node, (u32)k->rate, (u32)(k->rate >> 32) ^ n);
}

/*
 * The bucket for a stack, slot size, node, rate and cache; 0 if none is
 * left.  Requested sizes of one class share the bucket (their average
 * scales it, as Go's scaleHeapSample averages).  Locked.
 */
static u32 ka_prof_bucket_get(const unsigned long *stack, unsigned int n,
			      const struct ka_prof_key *k)
{
	u32 h = ka_prof_stack_hash(stack, n, k);
	u32 *head = &ka_bucket_heads[h & ka_bucket_mask], i;
	struct ka_prof_bucket *b;

	for (i = *head; i; i = b->next) {
		b = &ka_buckets[i - 1];
		if (b->hash == h && b->nframes == n &&
		    b->objsize == k->objsize && b->node == k->node &&
		    b->rate == k->rate && b->cache == k->cache &&
		    !memcmp(b->name, k->name, sizeof(b->name)) &&
		    !memcmp(b->stack, stack, n * sizeof(*stack)))
			return i;
	}
	if (ka_nbuckets >= profile_stacks) {
		ka_prof_dropped_stacks++;
		return 0;
	}
	b = &ka_buckets[ka_nbuckets++];
	b->hash = h;
	b->nframes = n;
	b->objsize = k->objsize;
	b->rate = k->rate;
	b->node = k->node;
	b->cache = k->cache;
	memcpy(b->name, k->name, sizeof(b->name));
	memcpy(b->stack, stack, n * sizeof(*stack));
	b->next = *head;
	*head = ka_nbuckets;
	return ka_nbuckets;
}

static u32 ka_prof_obj_hash(const void *p)
{
	return hash_ptr((void *)p, 32) & ka_obj_mask;
}

/*
 * Record @p, of ka_alloc() (@name NULL) or of the ka_cache named @name,
 * and draw the next sample.
 */
static void ka_prof_record(void *p, size_t size, int node, const char *name)
{
	unsigned long stack[KA_PROF_DEPTH + 8];
	struct ka_prof_key k = {
		.rate = READ_ONCE(ka_prof_cur_rate),
		.node = node,
		.cache = name != NULL,
	};
	unsigned int n, skip = 0;
	struct ka_span *span;
	unsigned long flags;
	u32 bi, oi;

	this_cpu_write(ka_prof_left,
		       ka_prof_draw(get_cpu_ptr(&ka_prof_rng), k.rate));
	put_cpu_ptr(&ka_prof_rng);
	if (k.node == NUMA_NO_NODE)
		k.node = numa_mem_id();
	if (name)
		strscpy(k.name, name, sizeof(k.name));
	n = stack_trace_save(stack, ARRAY_SIZE(stack), 0);
	/* ka's own frames: the caller is the first frame outside ka.ko */
	while (skip < n && within_module(stack[skip], THIS_MODULE))
		skip++;
	n = min_t(unsigned int, n - skip, KA_PROF_DEPTH);

	rcu_read_lock();
	span = ka_span_of(p);
	raw_spin_lock_irqsave(&ka_prof_lock, flags);
	if (!span || !ka_obj_free) {
		ka_prof_dropped_objects++;
		goto out;
	}
	k.objsize = span->elemsize;	/* debug mode's slots included */
	bi = ka_prof_bucket_get(stack + skip, n, &k);
	if (!bi)
		goto out;
	ka_buckets[bi - 1].allocs++;
	ka_buckets[bi - 1].reqbytes += size;
	oi = ka_obj_free;
	ka_obj_free = ka_objs[oi - 1].next;
	ka_objs[oi - 1].p = p;
	ka_objs[oi - 1].span = span;
	ka_objs[oi - 1].bucket = bi;
	ka_objs[oi - 1].next = ka_obj_heads[ka_prof_obj_hash(p)];
	ka_obj_heads[ka_prof_obj_hash(p)] = oi;
	/*
	 * its frees take ka_free()'s slow path from now on, or
	 * ka_cache_free()'s for a cache's span (keyed by ckey)
	 */
	if (!span->nprof++) {
		if (span->cache)
			WRITE_ONCE(span->ckey, 0);
		else
			WRITE_ONCE(span->fastkey, 0);
	}
out:
	raw_spin_unlock_irqrestore(&ka_prof_lock, flags);
	rcu_read_unlock();
}

/**
 * ka_prof_sample - record a sampled allocation and draw the next sample
 * @p: the object, just handed out
 * @size: bytes requested
 * @objsize: bytes of its slot or page run (0: not known; from its span)
 * @node: the node asked for, or NUMA_NO_NODE
 *
 * Context: any context ka_alloc() may run in, including hard irq; outside
 * the magazines' section.  Takes ka_prof_lock (raw, irqs saved); allocates
 * nothing.
 * Return: @p, so that the hit path can tail-call it (and keep no register
 * across a call).
 */
void *ka_prof_sample(void *p, size_t size, size_t objsize, int node)
{
	ka_prof_record(p, size, node, NULL);
	return p;
}

/**
 * ka_prof_sample_cache - record a sampled object of a ka_cache
 * @p: the object, just handed out
 * @size: the cache's object size
 * @node: the node asked for, or NUMA_NO_NODE
 * @name: the cache's name; copied (cut to KA_PROF_NAME_LEN - 1 bytes), so
 *	  the record outlives the cache
 *
 * Its record is the cache's own: a ka_alloc() of the same stack and slot
 * size is recorded apart.  The free of @p reaches ka_prof_free() through
 * ka_cache_free()'s slow path (the span's ckey is 0 while it has samples).
 *
 * Context: any context ka_cache_alloc() may run in, including hard irq;
 * outside the magazines' section.  Takes ka_prof_lock (raw, irqs saved);
 * allocates nothing.
 * Return: @p, for a tail call from the hit path.
 */
void *ka_prof_sample_cache(void *p, size_t size, int node, const char *name)
{
	ka_prof_record(p, size, node, name);
	return p;
}

/**
 * ka_prof_free - count the free of @p if it was sampled
 * @span: the span of @p as the free looked it up (ka_span_of(): NULL if ka
 *	  owns none there)
 * @p: an object being freed, not yet back in ka
 *
 * Context: any context ka_free() may run in, inside the RCU read-side
 * section of the free's lookup; takes ka_prof_lock only for objects of
 * spans with live samples.
 */
void ka_prof_free(struct ka_span *span, const void *p)
{
	unsigned long flags;
	u32 *link, i;

	if (!span || !READ_ONCE(span->nprof))
		return;
	raw_spin_lock_irqsave(&ka_prof_lock, flags);
	for (link = &ka_obj_heads[ka_prof_obj_hash(p)]; (i = *link);
	     link = &ka_objs[i - 1].next) {
		struct ka_prof_obj *o = &ka_objs[i - 1];

		if (o->p != p)
			continue;
		*link = o->next;
		ka_buckets[o->bucket - 1].frees++;
		/* its owner gives it its key again when it next fills from it */
		--o->span->nprof;
		o->p = NULL;
		o->next = ka_obj_free;
		ka_obj_free = i;
		break;
	}
	raw_spin_unlock_irqrestore(&ka_prof_lock, flags);
}

/*
 * 1 - exp(-@size / @rate) as a fraction of 2^32: the probability that an
 * object of @size bytes is sampled.  Series for x / 2^k below 1/2, then
 * 1 - e^-2x = m (2 - m) k times; no floating point in the kernel.
 */
static u64 ka_prof_psample(u64 size, u64 rate)
{
	u64 x, t, m, term;
	unsigned int k = 0, i;

	if (rate <= 1 || size >= 40 * rate)
		return 1ULL << 32;
	x = div64_u64(size << 32, rate);	/* size < 40 * rate < 2^63 */
	while (x >= 1ULL << 31) {
		x >>= 1;
		k++;
	}
	/* m = x - x^2/2! + x^3/3! - ...: terms shrink at least 2x each */
	m = 0;
	term = x;
	for (i = 1; i < 16 && term; i++) {
		if (i & 1)
			m += term;
		else
			m -= term;
		term = (term * x >> 32) / (i + 1);
	}
	while (k--) {
		t = (2ULL << 32) - m;
		m = mul_u64_u64_div_u64(m, t, 1ULL << 32);
	}
	return max_t(u64, m, 1);
}

/* @v * 2^32 / @p, saturated (the division would trap on overflow). */
static u64 ka_prof_unbias(u64 v, u64 p)
{
	if ((v >> 32) >= p)
		return U64_MAX;
	return mul_u64_u64_div_u64(v, 1ULL << 32, p);
}

/**
 * ka_prof_scale - un-bias sampled counts as Go's scaleHeapSample does
 * @count: sampled objects
 * @size: bytes each object requested
 * @objsize: bytes each object holds
 * @rate: the sampling rate
 * @bytes: set to the estimated bytes held
 *
 * Context: any.
 * Return: the estimated number of objects.
 */
u64 ka_prof_scale(u64 count, u64 size, u64 objsize, u64 rate, u64 *bytes)
{
	u64 p = ka_prof_psample(size, rate);

	*bytes = ka_prof_unbias(count * objsize, p);
	return ka_prof_unbias(count, p);
}
KA_EXPORT_INTERNAL(ka_prof_scale);

/**
 * ka_prof_snapshot - copy the buckets out
 * @out: room for @max records, or NULL to count them
 * @max: size of @out
 * @rate: set to the current rate (each record has its own)
 *
 * Context: process context.
 * Return: the number of buckets (may exceed @max; only @max are copied).
 */
unsigned int ka_prof_snapshot(struct ka_prof_record *out, unsigned int max,
			      unsigned long *rate)
{
	unsigned long flags;
	unsigned int i, n;

	mutex_lock(&ka_prof_mutex);
	*rate = ka_prof_cur_rate;
	if (!ka_buckets) {
		mutex_unlock(&ka_prof_mutex);
		return 0;
	}
	raw_spin_lock_irqsave(&ka_prof_lock, flags);
	n = ka_nbuckets;
	raw_spin_unlock_irqrestore(&ka_prof_lock, flags);
	for (i = 0; out && i < n && i < max; i++) {
		struct ka_prof_bucket *b = &ka_buckets[i];
		struct ka_prof_record *r = &out[i];

		/* a bucket's key never changes once published */
		raw_spin_lock_irqsave(&ka_prof_lock, flags);
		r->allocs = b->allocs;
		r->frees = b->frees;
		r->reqbytes = b->reqbytes;
		raw_spin_unlock_irqrestore(&ka_prof_lock, flags);
		r->size = r->allocs ? div64_u64(r->reqbytes, r->allocs) : 0;
		r->rate = b->rate;
		r->objsize = b->objsize;
		r->node = b->node;
		r->nframes = b->nframes;
		r->cache = b->cache;
		memcpy(r->name, b->name, sizeof(r->name));
		memcpy(r->stack, b->stack, sizeof(r->stack));
	}
	mutex_unlock(&ka_prof_mutex);
	return n;
}
KA_EXPORT_INTERNAL(ka_prof_snapshot);

/* ---- profile.proto ---------------------------------------------------- */

/*
 * A protobuf writer.  With buf NULL it only counts, which gives both the
 * length of a nested message (written twice: measured, then emitted) and
 * the size of the whole profile before it is built.
 */
struct ka_pb {
	u8 *buf;
	size_t len;
};

static void pb_byte(struct ka_pb *w, u8 c)
{
	if (w->buf)
		w->buf[w->len] = c;
	w->len++;
}

static void pb_varint(struct ka_pb *w, u64 v)
{
	while (v >= 0x80) {
		pb_byte(w, (v & 0x7f) | 0x80);
		v >>= 7;
	}
	pb_byte(w, v);
}

static void pb_int(struct ka_pb *w, unsigned int field, u64 v)
{
	pb_varint(w, field << 3);	/* wire type 0: varint */
	pb_varint(w, v);
}

static void pb_bytes(struct ka_pb *w, unsigned int field, const void *p,
		     size_t n)
{
	pb_varint(w, field << 3 | 2);	/* wire type 2: length-delimited */
	pb_varint(w, n);
	if (w->buf)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/*
 * The nested message @field of @w, whose fields @body writes: once into a
 * writer that only counts, for the length that goes first, then for real.
 */
static void pb_msg(struct ka_pb *w, unsigned int field,
		   void (*body)(struct ka_pb *m, const void *arg),
		   const void *arg)
{
	struct ka_pb m = { NULL, 0 };

	body(&m, arg);
	pb_varint(w, field << 3 | 2);	/* wire type 2: length-delimited */
	pb_varint(w, m.len);
	m.buf = w->buf ? w->buf + w->len : NULL;
	m.len = 0;
	body(&m, arg);
	w->len += m.len;
}

/* @n varints as the packed repeated field @field of @w. */
static void pb_packed(struct ka_pb *w, unsigned int field, const u64 *v,
		      unsigned int n)
{
	struct ka_pb l = { NULL, 0 };
	unsigned int i;

	for (i = 0; i < n; i++)
		pb_varint(&l, v[i]);
	pb_varint(w, field << 3 | 2);
	pb_varint(w, l.len);
	for (i = 0; i < n; i++)
		pb_varint(w, v[i]);
}

/* The state of one rendering of the profile. */
struct ka_prof_out {
	struct ka_pb pb;
	struct ka_prof_record *recs;
	unsigned int nrecs;
	unsigned long rate;
	unsigned long *pcs;	/* the distinct frames, sorted: location i + 1 */
	unsigned int npcs;
	u64 nstr;		/* strings written so far */
	char sym[KSYM_SYMBOL_LEN];
};

enum {	/* the fixed strings, in the order ka_prof_strings() writes them */
	S_EMPTY, S_ALLOC_OBJECTS, S_COUNT, S_ALLOC_SPACE, S_BYTES,
	S_INUSE_OBJECTS, S_INUSE_SPACE, S_SPACE, S_KERNEL, S_REQUESTED,
	S_NODE, S_CACHE, S_COMMENT_RATE, S_COMMENT_DROPPED, S_FIXED
};

static void ka_prof_string(struct ka_prof_out *o, const char *s)
{
	pb_bytes(&o->pb, 6, s, strlen(s));	/* Profile.string_table */
	o->nstr++;
}

static void ka_prof_strings(struct ka_prof_out *o, u64 dstacks, u64 dobjs)
{
	static const char * const fixed[] = {
		"", "alloc_objects", "count", "alloc_space", "bytes",
		"inuse_objects", "inuse_space", "space", "[ka]",
		"requested", "node", "cache",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		ka_prof_string(o, fixed[i]);
	snprintf(o->sym, sizeof(o->sym),
		 "ka: profile_rate %lu; values scaled to estimates (1/(1-exp(-requested/rate)))",
		 o->rate);
	ka_prof_string(o, o->sym);
	snprintf(o->sym, sizeof(o->sym),
		 "ka: dropped samples: %llu (profile_stacks full), %llu (profile_objects full)",
		 dstacks, dobjs);
	ka_prof_string(o, o->sym);
}

/*
 * A message of varint fields 1 .. n: ValueType { type = 1, unit = 2 },
 * Function { id = 1, name = 2, system_name = 3 }, Line { function_id = 1 }.
 */
struct ka_pb_ints {
	unsigned int n;
	u64 v[3];
};

static void ka_pb_ints_body(struct ka_pb *m, const void *arg)
{
	const struct ka_pb_ints *f = arg;
	unsigned int i;

	for (i = 0; i < f->n; i++)
		pb_int(m, i + 1, f->v[i]);
}

/* A ValueType as field @field. */
static void ka_prof_vtype(struct ka_pb *w, unsigned int field, u64 type,
			  u64 unit)
{
	struct ka_pb_ints t = { 2, { type, unit } };

	pb_msg(w, field, ka_pb_ints_body, &t);
}

/* Label { key = 1, str = 2, num = 3, num_unit = 4 } */
struct ka_pb_label {
	u64 key, str, num, unit;
};

static void ka_prof_label_body(struct ka_pb *m, const void *arg)
{
	const struct ka_pb_label *l = arg;

	pb_int(m, 1, l->key);
	if (l->str) {
		pb_int(m, 2, l->str);
		return;
	}
	pb_int(m, 3, l->num);
	if (l->unit)
		pb_int(m, 4, l->unit);
}

/* A numeric Label as Sample.label (3). */
static void ka_prof_label(struct ka_pb *w, u64 key, u64 num, u64 unit)
{
	struct ka_pb_label l = { key, 0, num, unit };

	pb_msg(w, 3, ka_prof_label_body, &l);
}

/* A string Label (@str: its index in the string table) as Sample.label. */
static void ka_prof_label_str(struct ka_pb *w, u64 key, u64 str)
{
	struct ka_pb_label l = { key, str, 0, 0 };

	pb_msg(w, 3, ka_prof_label_body, &l);
}

static int ka_prof_pc_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static u64 ka_prof_loc_id(struct ka_prof_out *o, unsigned long pc)
{
	unsigned long *f = bsearch(&pc, o->pcs, o->npcs, sizeof(*o->pcs),
				   ka_prof_pc_cmp);

	return f ? f - o->pcs + 1 : 0;
}

/* Sample { location_id = 1 (packed), value = 2 (packed), label = 3 } */
struct ka_pb_sample {
	u64 locs[KA_PROF_DEPTH];
	unsigned int nframes;
	u64 v[4];		/* alloc_objects, alloc_space, inuse_* */
	u64 name;		/* a cache's: its name in the string table */
	const struct ka_prof_record *r;
};

static void ka_prof_sample_body(struct ka_pb *m, const void *arg)
{
	const struct ka_pb_sample *smp = arg;

	pb_packed(m, 1, smp->locs, smp->nframes);
	pb_packed(m, 2, smp->v, ARRAY_SIZE(smp->v));
	/* as Go: "bytes" is the size of each object */
	ka_prof_label(m, S_BYTES, smp->r->objsize, S_BYTES);
	ka_prof_label(m, S_REQUESTED, smp->r->size, S_BYTES);
	ka_prof_label(m, S_NODE, smp->r->node, 0);
	if (smp->r->cache)
		ka_prof_label_str(m, S_CACHE, smp->name);
}

/* Record @r as a Profile.sample (2). */
static void ka_prof_sample_msg(struct ka_prof_out *o, struct ka_pb *w,
			       const struct ka_prof_record *r)
{
	struct ka_pb_sample smp = { .nframes = r->nframes, .r = r };
	unsigned int i;

	smp.v[0] = ka_prof_scale(r->allocs, r->size, r->objsize, r->rate,
				 &smp.v[1]);
	smp.v[2] = ka_prof_scale(r->allocs - r->frees, r->size, r->objsize,
				 r->rate, &smp.v[3]);
	for (i = 0; i < r->nframes; i++)
		smp.locs[i] = ka_prof_loc_id(o, r->stack[i]);
	/* a cache's name: a string just before its sample ("cache" label) */
	if (r->cache) {
		smp.name = o->nstr;
		ka_prof_string(o, r->name);
	}
	pb_msg(w, 2, ka_prof_sample_body, &smp);
}

/* Location { id = 1, mapping_id = 2, address = 3, line = 4 } */
struct ka_pb_loc {
	u64 id, pc;
};

static void ka_prof_location_body(struct ka_pb *m, const void *arg)
{
	const struct ka_pb_loc *l = arg;
	struct ka_pb_ints line = { 1, { l->id } };

	pb_int(m, 1, l->id);
	pb_int(m, 2, 1);
	pb_int(m, 3, l->pc);
	pb_msg(m, 4, ka_pb_ints_body, &line);
}

/*
 * Function (Profile.function, 5) and Location (Profile.location, 4) for
 * frame @i, with its name from kallsyms, module-qualified ("fn [mod]").
 */
static void ka_prof_location(struct ka_prof_out *o, unsigned int i)
{
	struct ka_pb_loc l = { .id = i + 1, .pc = o->pcs[i] };
	struct ka_pb_ints f = { 3, { i + 1, o->nstr, o->nstr } };

	sprint_symbol_no_offset(o->sym, o->pcs[i]);
	ka_prof_string(o, o->sym);
	pb_msg(&o->pb, 5, ka_pb_ints_body, &f);	/* Function */
	pb_msg(&o->pb, 4, ka_prof_location_body, &l);
}

/*
 * Mapping { id = 1, memory_start = 2, memory_limit = 3, filename = 5,
 * has_* = 7 .. 10 }: one for all of the kernel, already symbolised.
 */
static void ka_prof_mapping_body(struct ka_pb *m, const void *arg)
{
	pb_int(m, 1, 1);
	pb_int(m, 2, 0);
	pb_int(m, 3, ~0ULL);
	pb_int(m, 5, S_KERNEL);
	pb_int(m, 7, 1);	/* has_functions */
	pb_int(m, 8, 1);	/* has_filenames */
	pb_int(m, 9, 1);	/* has_line_numbers */
	pb_int(m, 10, 1);	/* has_inline_frames */
}

/* The whole Profile message into o->pb (which may only count). */
static void ka_prof_render(struct ka_prof_out *o, u64 dstacks, u64 dobjs)
{
	struct ka_pb *w = &o->pb;
	unsigned int i;

	o->nstr = 0;
	ka_prof_strings(o, dstacks, dobjs);
	ka_prof_vtype(w, 1, S_ALLOC_OBJECTS, S_COUNT);
	ka_prof_vtype(w, 1, S_ALLOC_SPACE, S_BYTES);
	ka_prof_vtype(w, 1, S_INUSE_OBJECTS, S_COUNT);
	ka_prof_vtype(w, 1, S_INUSE_SPACE, S_BYTES);
	for (i = 0; i < o->nrecs; i++)
		ka_prof_sample_msg(o, w, &o->recs[i]);
	pb_msg(w, 3, ka_prof_mapping_body, NULL);	/* Profile.mapping */
	for (i = 0; i < o->npcs; i++)
		ka_prof_location(o, i);
	pb_int(w, 9, ka_prof_start_ns);			/* time_nanos */
	ka_prof_vtype(w, 11, S_SPACE, S_BYTES);		/* period_type */
	pb_int(w, 12, o->rate);				/* period */
	pb_int(w, 13, S_COMMENT_RATE);
	pb_int(w, 13, S_COMMENT_DROPPED);
	pb_int(w, 14, S_INUSE_SPACE);			/* default type */
}

/**
 * ka_prof_build - the heap profile as profile.proto bytes
 * @len: set to its length
 *
 * Context: process context, may sleep.
 * Return: a kvmalloc'd buffer (kvfree() it), or NULL without memory.
 */
void *ka_prof_build(size_t *len)
{
	struct ka_prof_out *o;
	unsigned long flags;
	unsigned int n, i, j;
	u64 dstacks, dobjs;
	void *buf = NULL;

	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return NULL;
	n = ka_prof_snapshot(NULL, 0, &o->rate);
	o->recs = kvcalloc(max(n, 1U), sizeof(*o->recs), GFP_KERNEL);
	if (!o->recs)
		goto out;
	o->nrecs = min(n, ka_prof_snapshot(o->recs, n, &o->rate));
	raw_spin_lock_irqsave(&ka_prof_lock, flags);
	dstacks = ka_prof_dropped_stacks;
	dobjs = ka_prof_dropped_objects;
	raw_spin_unlock_irqrestore(&ka_prof_lock, flags);

	o->pcs = kvcalloc(max(o->nrecs, 1U) * KA_PROF_DEPTH, sizeof(*o->pcs),
			  GFP_KERNEL);
	if (!o->pcs)
		goto out;
	for (i = 0; i < o->nrecs; i++)
		for (j = 0; j < o->recs[i].nframes; j++)
			o->pcs[o->npcs++] = o->recs[i].stack[j];
	sort(o->pcs, o->npcs, sizeof(*o->pcs), ka_prof_pc_cmp, NULL);
	for (i = 0, j = 0; i < o->npcs; i++)
		if (!j || o->pcs[j - 1] != o->pcs[i])
			o->pcs[j++] = o->pcs[i];
	o->npcs = j;

	ka_prof_render(o, dstacks, dobjs);	/* measure */
	buf = kvmalloc(max_t(size_t, o->pb.len, 1), GFP_KERNEL);
	if (!buf)
		goto out;
	*len = o->pb.len;
	o->pb.buf = buf;
	o->pb.len = 0;
	ka_prof_render(o, dstacks, dobjs);
	WARN_ON_ONCE(o->pb.len != *len);
out:
	kvfree(o->pcs);
	kvfree(o->recs);
	kfree(o);
	return buf;
}
KA_EXPORT_INTERNAL(ka_prof_build);

/* ---- debugfs -------------------------------------------------------- */

struct ka_prof_file {
	void *buf;
	size_t len;
};

static int heap_open(struct inode *inode, struct file *file)
{
	struct ka_prof_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	f->buf = ka_prof_build(&f->len);
	if (!f->buf) {
		kfree(f);
		return -ENOMEM;
	}
	file->private_data = f;
	return 0;
}

static ssize_t heap_read(struct file *file, char __user *ubuf, size_t count,
			 loff_t *ppos)
{
	struct ka_prof_file *f = file->private_data;

	return simple_read_from_buffer(ubuf, count, ppos, f->buf, f->len);
}

static int heap_release(struct inode *inode, struct file *file)
{
	struct ka_prof_file *f = file->private_data;

	kvfree(f->buf);
	kfree(f);
	return 0;
}

static const struct file_operations heap_fops = {
	.owner = THIS_MODULE,
	.open = heap_open,
	.read = heap_read,
	.release = heap_release,
	.llseek = default_llseek,
};

static ssize_t rate_read(struct file *file, char __user *ubuf, size_t count,
			 loff_t *ppos)
{
	unsigned long flags;
	u64 ds, dobj;
	char buf[128];
	int n;

	raw_spin_lock_irqsave(&ka_prof_lock, flags);
	ds = ka_prof_dropped_stacks;
	dobj = ka_prof_dropped_objects;
	raw_spin_unlock_irqrestore(&ka_prof_lock, flags);
	n = scnprintf(buf, sizeof(buf), "%lu\n# dropped_stacks %llu dropped_objects %llu\n",
		      READ_ONCE(ka_prof_cur_rate), ds, dobj);
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t rate_write(struct file *file, const char __user *ubuf,
			  size_t count, loff_t *ppos)
{
	unsigned long rate;
	int ret;

	ret = kstrtoul_from_user(ubuf, count, 0, &rate);
	if (ret)
		return ret;
	ret = ka_prof_set_rate(rate, 0);
	return ret ? ret : count;
}

static const struct file_operations rate_fops = {
	.owner = THIS_MODULE,
	.read = rate_read,
	.write = rate_write,
	.llseek = default_llseek,
};

/**
 * ka_prof_init - debugfs files and the load-time profile_rate
 * @dir: ka's debugfs directory
 *
 * Context: module init.  Without memory for the tables, sampling stays off
 * (with a warning): the allocator works without its profile.
 * Return: 0.
 */
int ka_prof_init(struct dentry *dir)
{
	debugfs_create_file("profile_rate", 0600, dir, NULL, &rate_fops);
	debugfs_create_file("heap", 0400, dir, NULL, &heap_fops);
	if (profile_rate && ka_prof_set_rate(profile_rate, 0)) {
		pr_warn("profile_rate=%lu: above %lu or no memory for the profile, sampling off\n",
			profile_rate, KA_PROF_RATE_MAX);
		profile_rate = 0;
	}
	return 0;
}

/* Module exit, after every object went back: drop the tables. */
void ka_prof_exit(void)
{
	static_branch_disable(&ka_prof_key);
	ka_prof_cache_hooks(false);
	if (ka_buckets)
		static_branch_disable(&ka_prof_free_key);
	vfree(ka_buckets);
	vfree(ka_bucket_heads);
	vfree(ka_objs);
	vfree(ka_obj_heads);
	ka_buckets = NULL;
}
