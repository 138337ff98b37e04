// SPDX-License-Identifier: GPL-2.0
/*
 * ka_replay - replays a recorded kernel allocation stream (a .kar trace,
 * kar_format.h, made by scripts/trace-capture) through ka or through the
 * kernel's own allocators, in the same boot.
 *
 * A client of the public API in <ka.h>.  One load is one replay:
 *
 *   insmod ka_replay.ko trace=ka-replay/fs-6.1-2.kar backend=ka mode=check
 *
 * loads the trace with request_firmware_direct() (from /lib/firmware),
 * checks every field of it before anything runs (a trace is input, not
 * trusted), creates one cache per recorded kmem_cache - ka_cache_create()
 * for backend=ka, kmem_cache_create() for backend=kmalloc, of the recorded
 * object size, alignment and flags - and replays the events:
 *
 *   - @threads kthreads, each bound to its own online CPU (default: one per
 *     online CPU, at most the recorded CPUs); recorded CPU c runs on thread
 *     c % threads, so thread t runs the events of its recorded CPUs in
 *     recorded time order (threads=1: every stream interleaved in time
 *     order in one thread, deterministic: the icount run);
 *   - a kmalloc event is ka_alloc() or kmalloc() of the requested size, a
 *     kmem_cache event an allocation from the replay's cache; the free as
 *     recorded (kfree/ka_free, or the cache's free);
 *   - a free of an object allocated by another thread waits until that
 *     allocation has been replayed (an acquire load of the object's slot).
 *     This cannot deadlock: a free is later in recorded time than its
 *     allocation, and each thread's events are in time order, so a waiting
 *     thread waits for an event earlier than its own, whose thread is at
 *     an event no later than that one, and so on: the chain of waits
 *     strictly decreases in time, and the thread holding the earliest
 *     pending event never waits.  A wait spins a while, then sleeps
 *     between looks (kar_wait()).
 *
 * mode=timed replays with no fill and no check (what an allocator costs),
 * frees what the trace leaves live, @reps times, and returns; mode=check fills every
 * object with the pattern of mod/ka_testutil.h (seeded with its id) as it is
 * allocated and checks it before its free, samples the memory the
 * allocator holds every @sample_every events of each thread, and keeps the
 * objects the trace leaves live until the module is unloaded (checked and
 * freed then), so that the caller can measure the memory after the replay,
 * after idling and after the shrinkers.  backend=none (timed only) runs
 * the same loop with no allocator: the harness's own cost.
 *
 * Memory held is the free-memory drop since just before the replay:
 * NR_FREE_PAGES plus the pages on the per-CPU page lists (where freed pages
 * park), the measure scripts/guest/bench.sh takes for mem8, read here for
 * both back ends alike; NR_SLAB_* is reported beside it (SLUB's own
 * accounting; ka's pages are not slab pages).
 *
 * Each replay prints one line ("ka_replay: trace=... backend=... ns=..."),
 * and the unload of a check replay a "released" line.  debugfs
 * ka_replay/mem reads the memory held now, ka_replay/samples the samples.
 *
 * Locks: none of its own; a thread owns its event list and counters, an
 * object's slot is written once by its allocating thread (release) and read
 * by its freeing thread (acquire); the module's state is set up in init,
 * before any thread starts, and torn down in exit, after all have ended.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/firmware.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>
#include <linux/wait.h>

#include <ka.h>

#include "../ka_testutil.h"
#include "kar_format.h"

/* ------------------------------------------------------------ parameters */

static char *trace = "";
module_param(trace, charp, 0444);
MODULE_PARM_DESC(trace, "The trace, a firmware name (under /lib/firmware), e.g. ka-replay/fs-6.1-2.kar");

static char *backend = "ka";
module_param(backend, charp, 0444);
MODULE_PARM_DESC(backend, "ka (ka_alloc, ka_cache), kmalloc (kmalloc, kmem_cache) or none (no allocator, mode=timed only)");

static char *mode = "check";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "timed (no fill, no check, leftovers freed at once) or check (fill and check every object, memory samples, leftovers kept until unload)");

static unsigned int threads;
module_param(threads, uint, 0444);
MODULE_PARM_DESC(threads, "Replay threads, one per online CPU (0: as many as online CPUs, at most the recorded ones; 1: all streams in one thread, in time order)");

static unsigned int reps = 1;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "mode=timed: replay this many times (1 .. 100), everything freed in between; the fastest is reported");

static unsigned int sample_every = 256;
module_param(sample_every, uint, 0444);
MODULE_PARM_DESC(sample_every, "mode=check: a memory sample every this many events of each thread (16 .. 1048576)");

/* ----------------------------------------------------------------- state */

enum backend_kind { BK_KA, BK_KERNEL, BK_NONE };

/* An object slot: NULL until its allocation has been replayed. */
#define KAR_FAILED	((void *)1UL)	/* the allocation returned NULL */
#define KAR_FREED	((void *)2UL)	/* freed by the replay */

struct kar_sample {
	u32 pos;		/* index of the event in the trace */
	s32 drop;		/* free-memory drop, pages */
	u32 slab;		/* NR_SLAB_* pages */
};

struct kar_thread {
	u32 *idx;		/* the thread's events, indices into events[] */
	u32 n;
	int cpu;
	struct task_struct *task;
	struct completion done;
	u64 t_start, t_end;
	u64 allocs, frees, waits, sleeps, fails, bad;
	struct kar_sample *samples;
	u32 nr_samples, max_samples;
};

struct kar_rcache {
	struct ka_cache *ka;
	struct kmem_cache *km;
	char name[48];
	bool fallback;		/* ka refused it: its objects go to ka_alloc() */
};

static struct device *kar_dev;
static const struct firmware *kar_fw;
static const struct kar_header *hdr;
static const struct kar_cache *tcaches;
static const struct kar_object *objs;
static const struct kar_event *events;
static void **slots;			/* one per object */
static struct kar_rcache *rcaches;
static struct kar_thread *thr;
static unsigned int nthr;
static enum backend_kind bk;
static bool checking;
static long base_free;			/* pages free before the replay */
static long base_slab;
static unsigned long nr_fallback, nr_rcu_dropped;
static struct dentry *kar_dir;
static DECLARE_WAIT_QUEUE_HEAD(go_wq);
static bool go;
static u8 kar_scratch[64] __aligned(64);	/* backend=none's object */

/* ---------------------------------------------------------------- memory */

/* Free pages, the buddy allocator's and those on the per-CPU page lists. */
static long kar_free_pages(void)
{
	long n = global_zone_page_state(NR_FREE_PAGES);
	int nid, cpu;

	for_each_online_node(nid) {
		struct pglist_data *pg = NODE_DATA(nid);
		int z;

		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &pg->node_zones[z];

			if (!populated_zone(zone))
				continue;
			for_each_online_cpu(cpu)
				n += READ_ONCE(per_cpu_ptr(zone->per_cpu_pageset, cpu)->count);
		}
	}
	return n;
}

static long kar_slab_pages(void)
{
	return global_node_page_state_pages(NR_SLAB_RECLAIMABLE_B) +
	       global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B);
}

static void kar_sample(struct kar_thread *t, u32 pos)
{
	struct kar_sample *s;

	if (t->nr_samples >= t->max_samples)
		return;
	s = &t->samples[t->nr_samples++];
	s->pos = pos;
	s->drop = (s32)(base_free - kar_free_pages());
	s->slab = (u32)kar_slab_pages();
}

/* ------------------------------------------------------------- the trace */

static u64 ev_time(const struct kar_event *e)
{
	return (u64)e->time_hi << 32 | e->time_lo;
}

/*
 * Check everything the replay relies on: sizes against the file, names,
 * every object allocated exactly once before its one free, kinds matching
 * the object.  Return: 0 or -EINVAL with the reason printed.
 */
static int kar_validate(const u8 *data, size_t size)
{
	u64 ncache, nobj, nev, nsite, need;
	u8 *state;
	u64 i;
	int ret = -EINVAL;

	if (size < sizeof(*hdr)) {
		pr_err("%s: %zu bytes, too short for a header\n", trace, size);
		return -EINVAL;
	}
	hdr = (const void *)data;
	if (memcmp(hdr->magic, KAR_MAGIC, 8) || hdr->version != KAR_VERSION ||
	    hdr->header_size != sizeof(*hdr)) {
		pr_err("%s: not a version %d .kar trace\n", trace, KAR_VERSION);
		return -EINVAL;
	}
	ncache = hdr->nr_caches;
	nobj = hdr->nr_objects;
	nev = hdr->nr_events;
	nsite = hdr->nr_sites;
	/* each count is bounded by the file size, so the sums cannot overflow */
	if (ncache > size || nobj > size || nev > size || nsite > size ||
	    nobj > U32_MAX || nev > U32_MAX || ncache >= KAR_NO_CACHE ||
	    !hdr->nr_cpus || hdr->nr_cpus > 4096) {
		pr_err("%s: counts out of range\n", trace);
		return -EINVAL;
	}
	need = sizeof(*hdr) + ncache * sizeof(struct kar_cache) +
	       nobj * sizeof(struct kar_object) +
	       nev * sizeof(struct kar_event) + nsite * sizeof(u64);
	if (need != size) {
		pr_err("%s: %zu bytes, the header's counts make %llu\n", trace,
		       size, need);
		return -EINVAL;
	}
	tcaches = (const void *)(hdr + 1);
	objs = (const void *)(tcaches + ncache);
	events = (const void *)(objs + nobj);
	if (strnlen(hdr->kernel, sizeof(hdr->kernel)) == sizeof(hdr->kernel))
		return -EINVAL;
	for (i = 0; i < ncache; i++) {
		const struct kar_cache *c = &tcaches[i];

		if (strnlen(c->name, sizeof(c->name)) == sizeof(c->name) ||
		    !c->object_size || c->object_size > KA_MAX_SIZE ||
		    (c->align && (!is_power_of_2(c->align) || c->align > PAGE_SIZE))) {
			pr_err("%s: cache %llu malformed\n", trace, i);
			return -EINVAL;
		}
	}
	for (i = 0; i < nobj; i++) {
		const struct kar_object *o = &objs[i];

		if (!o->size || o->size > KA_MAX_SIZE ||
		    (o->cache != KAR_NO_CACHE &&
		     (o->cache >= ncache || o->size != tcaches[o->cache].object_size))) {
			pr_err("%s: object %llu malformed\n", trace, i);
			return -EINVAL;
		}
	}
	state = vzalloc(nobj ? nobj : 1);	/* 0 new, 1 allocated, 2 freed */
	if (!state)
		return -ENOMEM;
	for (i = 0; i < nev; i++) {
		const struct kar_event *e = &events[i];
		bool cache_obj;

		if (e->obj >= nobj || e->cpu >= hdr->nr_cpus || e->site >= nsite ||
		    e->kind < KAR_EV_KMALLOC || e->kind > KAR_EV_CACHE_FREE ||
		    (i && ev_time(e) < ev_time(e - 1))) {
			pr_err("%s: event %llu malformed\n", trace, i);
			goto out;
		}
		cache_obj = objs[e->obj].cache != KAR_NO_CACHE;
		if (kar_event_is_alloc(e)) {
			if (state[e->obj] != 0 ||
			    cache_obj != (e->kind == KAR_EV_CACHE_ALLOC)) {
				pr_err("%s: event %llu: object %u allocated twice or as the wrong kind\n",
				       trace, i, e->obj);
				goto out;
			}
			state[e->obj] = 1;
		} else {
			if (state[e->obj] != 1) {
				pr_err("%s: event %llu: object %u freed before its allocation or twice\n",
				       trace, i, e->obj);
				goto out;
			}
			state[e->obj] = 2;
		}
	}
	for (i = 0; i < nobj; i++) {
		if (!state[i]) {
			pr_err("%s: object %llu never allocated\n", trace, i);
			goto out;
		}
	}
	ret = 0;
out:
	vfree(state);
	return ret;
}

/* Give thread t the events of recorded CPUs c with c % nthr == t. */
static int kar_split(void)
{
	u64 i;
	unsigned int t;

	for (i = 0; i < hdr->nr_events; i++)
		thr[events[i].cpu % nthr].n++;
	for (t = 0; t < nthr; t++) {
		struct kar_thread *w = &thr[t];

		w->idx = kvmalloc_array(max(w->n, 1U), sizeof(u32), GFP_KERNEL);
		if (!w->idx)
			return -ENOMEM;
		if (checking) {
			w->max_samples = w->n / sample_every + 2;
			w->samples = kvmalloc_array(w->max_samples,
						    sizeof(*w->samples),
						    GFP_KERNEL);
			if (!w->samples)
				return -ENOMEM;
		}
		w->n = 0;
	}
	for (i = 0; i < hdr->nr_events; i++) {
		struct kar_thread *w = &thr[events[i].cpu % nthr];

		w->idx[w->n++] = i;
	}
	return 0;
}

/* ---------------------------------------------------------------- caches */

static slab_flags_t kar_slab_flags(u32 f, bool for_ka)
{
	slab_flags_t s = 0;

	if (f & KAR_CACHE_HWCACHE_ALIGN)
		s |= SLAB_HWCACHE_ALIGN;
	if (f & KAR_CACHE_RECLAIM_ACCOUNT)
		s |= SLAB_RECLAIM_ACCOUNT;
	if (f & KAR_CACHE_ACCOUNT)
		s |= SLAB_ACCOUNT;
	/* ka has no SLAB_TYPESAFE_BY_RCU; the replay never relies on it */
	if ((f & KAR_CACHE_TYPESAFE_BY_RCU) && !for_ka)
		s |= SLAB_TYPESAFE_BY_RCU;
	return s;
}

static int kar_caches_create(void)
{
	u32 i;

	rcaches = kcalloc(max(hdr->nr_caches, 1U), sizeof(*rcaches), GFP_KERNEL);
	if (!rcaches)
		return -ENOMEM;
	for (i = 0; i < hdr->nr_caches; i++) {
		const struct kar_cache *c = &tcaches[i];
		struct kar_rcache *r = &rcaches[i];

		snprintf(r->name, sizeof(r->name), "kar%u_%s", i, c->name);
		if (bk == BK_KA) {
			if (c->flags & KAR_CACHE_TYPESAFE_BY_RCU)
				nr_rcu_dropped++;
			if (c->object_size <= KA_MAX_SMALL_SIZE)
				r->ka = ka_cache_create(r->name, c->object_size,
							c->align,
							kar_slab_flags(c->flags, true),
							NULL);
			if (!r->ka) {
				r->fallback = true;
				nr_fallback++;
			}
		} else if (bk == BK_KERNEL) {
			r->km = kmem_cache_create(r->name, c->object_size, c->align,
						  kar_slab_flags(c->flags, false),
						  NULL);
			if (!r->km) {
				pr_err("%s: kmem_cache_create(%s, %u) failed\n",
				       trace, r->name, c->object_size);
				return -ENOMEM;
			}
		}
	}
	return 0;
}

static void kar_caches_destroy(void)
{
	u32 i;

	for (i = 0; rcaches && i < hdr->nr_caches; i++) {
		if (rcaches[i].ka)
			ka_cache_destroy(rcaches[i].ka);
		kmem_cache_destroy(rcaches[i].km);
	}
	kfree(rcaches);
	rcaches = NULL;
}

/* --------------------------------------------------------------- replay */

static gfp_t kar_gfp(u32 g)
{
	gfp_t gfp = (g & KAR_GFP_ATOMIC) ? GFP_ATOMIC : GFP_KERNEL;

	if (g & KAR_GFP_ZERO)
		gfp |= __GFP_ZERO;
	if (g & KAR_GFP_ACCOUNT)
		gfp |= __GFP_ACCOUNT;
	if (g & KAR_GFP_RECLAIMABLE)
		gfp |= __GFP_RECLAIMABLE;
	return gfp | __GFP_NOWARN;
}

static __always_inline void *kar_alloc(enum backend_kind b,
				       const struct kar_object *o)
{
	gfp_t gfp = kar_gfp(o->gfp);

	if (b == BK_NONE)
		return kar_scratch;
	if (o->cache != KAR_NO_CACHE) {
		struct kar_rcache *r = &rcaches[o->cache];

		if (b == BK_KERNEL)
			return kmem_cache_alloc(r->km, gfp);
		if (!r->fallback)
			return ka_cache_alloc(r->ka, gfp);
	}
	if (b == BK_KERNEL)
		return kmalloc(o->size, gfp);
	return ka_alloc(o->size, gfp);
}

static __always_inline void kar_free(enum backend_kind b,
				     const struct kar_object *o, u8 kind,
				     void *p)
{
	if (b == BK_NONE)
		return;
	if (kind == KAR_EV_CACHE_FREE && o->cache != KAR_NO_CACHE) {
		struct kar_rcache *r = &rcaches[o->cache];

		if (b == BK_KERNEL) {
			kmem_cache_free(r->km, p);
			return;
		}
		if (!r->fallback) {
			ka_cache_free(r->ka, p);
			return;
		}
	}
	if (b == BK_KERNEL)
		kfree(p);
	else
		ka_free(p);
}

/*
 * The object of @slot is allocated by another thread and not yet replayed:
 * spin a while, then sleep between looks, so that a vCPU that waits gives
 * its host CPU to the one it waits for (QEMU's TCG runs more vCPUs than
 * the host may have cores).
 */
static noinline void *kar_wait(struct kar_thread *t, void **slot)
{
	unsigned int spins = 0;
	void *p;

	t->waits++;
	for (;;) {
		/* pairs with the allocating thread's smp_store_release() */
		p = smp_load_acquire(slot);
		if (p)
			return p;
		if (++spins < 2000) {
			cpu_relax();
		} else {
			t->sleeps++;
			usleep_range(5, 20);
		}
	}
}

static __always_inline void kar_run(struct kar_thread *t, enum backend_kind b,
				    bool check)
{
	u32 i;

	for (i = 0; i < t->n; i++) {
		u32 pos = t->idx[i];
		const struct kar_event *e = &events[pos];
		const struct kar_object *o = &objs[e->obj];
		void *p;

		if (check && !(i % sample_every))
			kar_sample(t, pos);
		if (!(i & 255))
			cond_resched();
		if (kar_event_is_alloc(e)) {
			p = kar_alloc(b, o);
			t->allocs++;
			if (!p) {
				t->fails++;
				p = KAR_FAILED;
			} else if (check) {
				ka_test_fill(p, o->size, e->obj);
			}
			/* publish the filled object to its freeing thread */
			smp_store_release(&slots[e->obj], p);
			continue;
		}
		/* pairs with the release above: the fill is visible too */
		p = smp_load_acquire(&slots[e->obj]);
		if (!p)
			p = kar_wait(t, &slots[e->obj]);
		t->frees++;
		WRITE_ONCE(slots[e->obj], KAR_FREED);
		if (p == KAR_FAILED)
			continue;
		if (check && ka_test_bad(p, o->size, e->obj) >= 0)
			t->bad++;
		kar_free(b, o, e->kind, p);
	}
}

/* One instance per back end, so that every allocator call is direct. */
static noinline void kar_run_ka(struct kar_thread *t, bool check)
{
	if (check)
		kar_run(t, BK_KA, true);
	else
		kar_run(t, BK_KA, false);
}

static noinline void kar_run_kernel(struct kar_thread *t, bool check)
{
	if (check)
		kar_run(t, BK_KERNEL, true);
	else
		kar_run(t, BK_KERNEL, false);
}

static noinline void kar_run_none(struct kar_thread *t)
{
	kar_run(t, BK_NONE, false);
}

static int kar_thread_fn(void *arg)
{
	struct kar_thread *t = arg;

	wait_event(go_wq, READ_ONCE(go));
	t->t_start = ktime_get_ns();
	if (bk == BK_KA)
		kar_run_ka(t, checking);
	else if (bk == BK_KERNEL)
		kar_run_kernel(t, checking);
	else
		kar_run_none(t);
	t->t_end = ktime_get_ns();
	if (checking)
		kar_sample(t, t->n ? t->idx[t->n - 1] : 0);
	complete(&t->done);
	return 0;
}

/* Run the threads, all released at once; Return: ns first start to last end. */
static int kar_replay(u64 *ns)
{
	u64 first = U64_MAX, last = 0;
	unsigned int i, started = 0;
	int cpu, ret = 0;

	i = 0;
	for_each_online_cpu(cpu) {
		if (i == nthr)
			break;
		thr[i++].cpu = cpu;
	}
	WRITE_ONCE(go, false);
	for (i = 0; i < nthr; i++) {
		struct task_struct *task;

		init_completion(&thr[i].done);
		task = kthread_create_on_cpu(kar_thread_fn, &thr[i], thr[i].cpu,
					     "ka_replay/%u");
		if (IS_ERR(task)) {
			ret = PTR_ERR(task);
			break;
		}
		get_task_struct(task);
		thr[i].task = task;
		started++;
	}
	if (ret) {
		/* never woken: kthread_stop() ends them before their function */
		for (i = 0; i < started; i++) {
			kthread_stop(thr[i].task);
			put_task_struct(thr[i].task);
		}
		return ret;
	}
	base_free = kar_free_pages();
	base_slab = kar_slab_pages();
	for (i = 0; i < nthr; i++)
		wake_up_process(thr[i].task);
	WRITE_ONCE(go, true);
	wake_up_all(&go_wq);
	for (i = 0; i < nthr; i++) {
		wait_for_completion(&thr[i].done);
		kthread_stop(thr[i].task);
		put_task_struct(thr[i].task);
		thr[i].task = NULL;
		first = min(first, thr[i].t_start);
		last = max(last, thr[i].t_end);
	}
	*ns = last - first;
	return 0;
}

/* Free what the trace left live; check it first in mode=check. */
static void kar_release(u64 *released, u64 *bad)
{
	u64 i;

	for (i = 0; slots && i < hdr->nr_objects; i++) {
		const struct kar_object *o = &objs[i];
		void *p = slots[i];

		if (!p || p == KAR_FREED || p == KAR_FAILED)
			continue;
		if (checking && ka_test_bad(p, o->size, i) >= 0)
			(*bad)++;
		kar_free(bk, o, KAR_EV_CACHE_FREE, p);
		slots[i] = KAR_FREED;
		(*released)++;
		if (!(i & 1023))
			cond_resched();
	}
}

/* --------------------------------------------------------------- debugfs */

static int mem_show(struct seq_file *m, void *v)
{
	const long kb = PAGE_SIZE / 1024;

	seq_printf(m, "drop_kb %ld\nslab_kb %ld\nslab_delta_kb %ld\n",
		   (base_free - kar_free_pages()) * kb, kar_slab_pages() * kb,
		   (kar_slab_pages() - base_slab) * kb);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mem);

/* "thread event_index drop_kb slab_kb" per sample */
static int samples_show(struct seq_file *m, void *v)
{
	unsigned int t, i;

	for (t = 0; t < nthr; t++)
		for (i = 0; i < thr[t].nr_samples; i++) {
			const struct kar_sample *s = &thr[t].samples[i];

			seq_printf(m, "%u %u %ld %lu\n", t, s->pos,
				   (long)s->drop * (long)(PAGE_SIZE / 1024),
				   (unsigned long)s->slab * (PAGE_SIZE / 1024));
		}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(samples);

/* ------------------------------------------------------------ init, exit */

static void kar_teardown(void)
{
	unsigned int t;

	debugfs_remove_recursive(kar_dir);
	kar_dir = NULL;
	kar_caches_destroy();
	for (t = 0; thr && t < nthr; t++) {
		kvfree(thr[t].idx);
		kvfree(thr[t].samples);
	}
	kfree(thr);
	thr = NULL;
	kvfree(slots);
	slots = NULL;
	release_firmware(kar_fw);
	kar_fw = NULL;
	if (kar_dev)
		root_device_unregister(kar_dev);
	kar_dev = NULL;
}

static int kar_setup(void)
{
	unsigned int online = num_online_cpus();
	int ret;

	if (!strcmp(backend, "ka")) {
		bk = BK_KA;
	} else if (!strcmp(backend, "kmalloc")) {
		bk = BK_KERNEL;
	} else if (!strcmp(backend, "none")) {
		bk = BK_NONE;
	} else {
		pr_err("backend=%s: ka, kmalloc or none\n", backend);
		return -EINVAL;
	}
	if (strcmp(mode, "timed") && strcmp(mode, "check")) {
		pr_err("mode=%s: timed or check\n", mode);
		return -EINVAL;
	}
	checking = !strcmp(mode, "check");
	if (checking && bk == BK_NONE) {
		pr_err("backend=none has no objects to check: mode=timed\n");
		return -EINVAL;
	}
	if (!reps || reps > 100) {
		pr_err("reps=%u: 1 .. 100\n", reps);
		return -EINVAL;
	}
	if (sample_every < 16 || sample_every > (1U << 20)) {
		pr_err("sample_every=%u: 16 .. 1048576\n", sample_every);
		return -EINVAL;
	}
	if (!*trace) {
		pr_err("trace= names the trace (a firmware name)\n");
		return -EINVAL;
	}
	kar_dev = root_device_register("ka_replay");
	if (IS_ERR(kar_dev)) {
		ret = PTR_ERR(kar_dev);
		kar_dev = NULL;
		return ret;
	}
	ret = request_firmware_direct(&kar_fw, trace, kar_dev);
	if (ret) {
		pr_err("%s: request_firmware_direct: %d\n", trace, ret);
		return ret;
	}
	ret = kar_validate(kar_fw->data, kar_fw->size);
	if (ret)
		return ret;
	nthr = threads ? threads : min(online, hdr->nr_cpus);
	if (nthr > online) {
		pr_err("threads=%u: only %u CPUs online\n", nthr, online);
		return -EINVAL;
	}
	thr = kcalloc(nthr, sizeof(*thr), GFP_KERNEL);
	slots = kvcalloc(max_t(u64, hdr->nr_objects, 1), sizeof(void *),
			 GFP_KERNEL);
	if (!thr || !slots)
		return -ENOMEM;
	ret = kar_split();
	if (ret)
		return ret;
	return kar_caches_create();
}

static int __init kar_init(void)
{
	u64 ns, ns_min = U64_MAX, ns_max = 0, released = 0, bad = 0;
	u64 allocs = 0, frees = 0, waits = 0, sleeps = 0, fails = 0;
	unsigned int t, i, r;
	s64 peak = 0;
	int ret;

	ret = kar_setup();
	if (ret)
		goto fail;
	pr_info("trace=%s kernel=%s cpus=%u events=%llu objects=%llu caches=%u backend=%s mode=%s threads=%u: replaying\n",
		trace, hdr->kernel, hdr->nr_cpus, hdr->nr_events,
		hdr->nr_objects, hdr->nr_caches, backend, mode, nthr);
	for (r = 0; r < (checking ? 1 : reps); r++) {
		if (r) {
			memset(slots, 0, hdr->nr_objects * sizeof(*slots));
			for (t = 0; t < nthr; t++) {
				thr[t].allocs = thr[t].frees = thr[t].waits = 0;
				thr[t].sleeps = 0;
				thr[t].fails = thr[t].bad = 0;
			}
		}
		ret = kar_replay(&ns);
		if (ret)
			goto fail;
		ns_min = min(ns_min, ns);
		ns_max = max(ns_max, ns);
		if (!checking)
			kar_release(&released, &bad);
	}
	for (t = 0; t < nthr; t++) {
		allocs += thr[t].allocs;
		frees += thr[t].frees;
		waits += thr[t].waits;
		sleeps += thr[t].sleeps;
		fails += thr[t].fails;
		bad += thr[t].bad;
		for (i = 0; i < thr[t].nr_samples; i++)
			peak = max_t(s64, peak, thr[t].samples[i].drop);
	}
	peak *= PAGE_SIZE / 1024;
	pr_info("trace=%s backend=%s mode=%s threads=%u reps=%u events=%llu allocs=%llu frees=%llu waits=%llu sleeps=%llu fails=%llu bad=%llu fallback_caches=%lu rcu_caches_plain=%lu ns=%llu ns_max=%llu peak_kb=%lld live=%llu\n",
		trace, backend, mode, nthr, checking ? 1 : reps,
		hdr->nr_events, allocs, frees, waits, sleeps, fails, bad, nr_fallback,
		nr_rcu_dropped, ns_min, ns_max, peak, allocs - frees);
	if (checking) {
		kar_dir = debugfs_create_dir("ka_replay", NULL);
		debugfs_create_file("mem", 0444, kar_dir, NULL, &mem_fops);
		debugfs_create_file("samples", 0444, kar_dir, NULL,
				    &samples_fops);
	}
	return 0;
fail:
	kar_release(&released, &bad);
	kar_teardown();
	return ret;
}

static void __exit kar_exit(void)
{
	u64 released = 0, bad = 0;

	kar_release(&released, &bad);
	if (checking)
		pr_info("trace=%s backend=%s released=%llu bad=%llu\n", trace,
			backend, released, bad);
	kar_teardown();
}

module_init(kar_init);
module_exit(kar_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ka_replay: a recorded kernel allocation stream through ka or the kernel's allocators");
