// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_mcache (mod/ka/mcache.c): spans lent to a CPU and filled
 * one after the other, the hit paths under hard interrupts, every forced
 * interleaving at the owner's test points, the capacities under the
 * per-CPU budget (growth, idle trim giving spans back, lowering the
 * budget), another CPU's frees reaching a span's owner through its
 * pending list without a central lock, and a flush reading the arena map
 * once a span, not once an object.  The
 * periodic trim is paused while the suite runs; a case that reads its
 * CPU's magazine runs with migration disabled.
 */
#include <linux/hash.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/sort.h>
#include "mcache.h"
#include "ka_kunit.h"

/* The span holding @p.  Context: any; the object live. */
static struct ka_span *ka_test_span(const void *p)
{
	struct ka_span *span;

	rcu_read_lock();
	span = ka_span_of(p);
	rcu_read_unlock();
	return span;
}

/*
 * Objects out of the spans of one CPU's class state @s (in its magazine,
 * or held by clients).  Context: that CPU, migration disabled.
 */
static unsigned long ka_test_owned_out(struct ka_owned *s)
{
	unsigned long out = s->active ? s->active->nalloc : 0;
	struct ka_span *span;

	list_for_each_entry(span, &s->partial, olink)
		out += span->nalloc;
	list_for_each_entry(span, &s->full, olink)
		out += span->nalloc;
	return out;
}

/* No CPU owns a span, and no central list lends one: after a drain. */
static void ka_test_nothing_owned(struct kunit *test)
{
	unsigned int cls;
	int cpu, nid;

	for_each_possible_cpu(cpu)
		KUNIT_EXPECT_EQ_MSG(test, READ_ONCE(per_cpu_ptr(ka_mcache, cpu)->nr_owned),
				    0UL, "cpu %d owns spans", cpu);
	for_each_node_state(nid, N_MEMORY)
		for (cls = 1; cls < ka_nr_classes; cls++)
			KUNIT_EXPECT_EQ_MSG(test,
					    READ_ONCE(ka_mcentral_of(nid, cls)->nr_owned),
					    0UL, "node %d class %u", nid, cls);
}

/*
 * A class whose spans CPUs own: the first allocation on a drained ka has
 * mcentral lend a span, this CPU's from then on, and fills the magazine
 * from it (one refill, at most a batch, one object returned);
 * allocations fill that span before another starts, so n objects take
 * n / objects-per-span spans; after frees in reverse every object is back:
 * the CPU's spans have out exactly what its magazine holds.  After a drain
 * no CPU owns anything.
 */
static void ka_mcache_refill_from_span(struct kunit *test)
{
	unsigned int cls = ka_size_class(256), i, spans = 1;
	const struct ka_class *k = &ka_classes[cls];
	unsigned int n = 4 * k->nelems;
	struct ka_magazine *m;
	unsigned long refills;
	struct ka_owned *s;
	void **objs;

	KUNIT_ASSERT_TRUE(test, ka_class_owned(k));
	objs = kunit_kcalloc(test, n, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	migrate_disable();
	m = &this_cpu_ptr(ka_mcache)->mag[cls];
	s = &this_cpu_ptr(ka_mcache)->owned[cls];
	KUNIT_EXPECT_EQ(test, ka_mag_count(m), 0U);
	KUNIT_EXPECT_NULL(test, s->active);
	refills = m->nr_refill;
	objs[0] = ka_alloc(256, GFP_KERNEL);
	if (!objs[0]) {
		KUNIT_FAIL(test, "ka_alloc(256) failed");
		goto out;
	}
	KUNIT_EXPECT_EQ(test, m->nr_refill - refills, 1UL);
	KUNIT_EXPECT_EQ(test, ka_rs_owner(atomic_long_read(&ka_test_span(objs[0])->rstate)),
			this_cpu_read(ka_mcache->ownkey));
	KUNIT_EXPECT_EQ(test, ka_mag_count(m), min(k->batch, k->nelems) - 1);
	for (i = 1; i < n; i++) {
		objs[i] = ka_alloc(256, GFP_KERNEL);
		if (!objs[i]) {
			KUNIT_FAIL(test, "ka_alloc(256) failed");
			goto out;
		}
		spans += ka_test_span(objs[i]) != ka_test_span(objs[i - 1]);
	}
	KUNIT_EXPECT_EQ(test, spans, n / k->nelems);
	KUNIT_EXPECT_EQ(test, ka_mag_count(m), 0U);
	for (i = n; i-- > 0; )
		ka_free(objs[i]);
	KUNIT_EXPECT_LE(test, ka_mag_count(m), ka_mag_cap(m));
	KUNIT_EXPECT_EQ(test, ka_test_owned_out(s), ka_mag_count(m));
	KUNIT_EXPECT_LE(test, s->nstash, (unsigned int)KA_STASH_MAX);
out:
	migrate_enable();
	ka_drain();
	ka_test_nothing_owned(test);
}

/*
 * Pushes and pops of one class from process context while a hard-irq
 * hrtimer pinned to the same CPU frees and allocates in that class too, so
 * that interrupts land inside the hit paths.  Every object carries its
 * address and its holder (owner and slot) in its first and last words,
 * checked before it is freed: an object handed out twice shows up as the
 * other holder's tag, and one lost from a magazine as an object still out
 * after the drain.  (A lockless push that wrote its slot before committing
 * the count failed this: an interrupt in between made it clobber a cached
 * object and cache the freed one twice.)
 */
#define KA_RACE_SIZE	64
#define KA_RACE_PROC	0x70726f63UL	/* "proc" */
#define KA_RACE_IRQ	0x69727120UL	/* "irq " */

struct ka_race {
	struct hrtimer timer;
	void *held[8];
	unsigned int fired;
	unsigned int bad;
	unsigned int failed;
	bool stop;
};

static unsigned long ka_race_word(void *p, unsigned long owner,
				  unsigned int slot)
{
	return (unsigned long)p ^ owner ^ ((unsigned long)slot << 32);
}

static void ka_race_tag(void *p, unsigned long owner, unsigned int slot)
{
	unsigned long *w = p;

	w[0] = ka_race_word(p, owner, slot);
	w[KA_RACE_SIZE / sizeof(long) - 1] = ka_race_word(p, owner, slot);
}

static bool ka_race_tagged(void *p, unsigned long owner, unsigned int slot)
{
	unsigned long *w = p;

	return w[0] == ka_race_word(p, owner, slot) &&
	       w[KA_RACE_SIZE / sizeof(long) - 1] == ka_race_word(p, owner, slot);
}

static enum hrtimer_restart ka_race_timer(struct hrtimer *t)
{
	struct ka_race *r = container_of(t, struct ka_race, timer);
	unsigned int slot = r->fired++ % ARRAY_SIZE(r->held);
	void *p = r->held[slot];

	/* a free, then next time an allocation: the count goes up and down */
	if (p) {
		if (!ka_race_tagged(p, KA_RACE_IRQ, slot))
			r->bad++;
		ka_free(p);
		r->held[slot] = NULL;
	} else {
		p = ka_alloc(KA_RACE_SIZE, GFP_ATOMIC | __GFP_NOWARN);
		if (p)
			ka_race_tag(p, KA_RACE_IRQ, slot);
		else
			r->failed++;
		r->held[slot] = p;
	}
	if (READ_ONCE(r->stop))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(20 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void ka_mcache_hit_paths_under_interrupts(struct kunit *test)
{
	unsigned long start = jiffies;
	unsigned int i, bad = 0, ops = 0;
	struct ka_race *r;
	void *mine[32];

	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		kunit_skip(test, "PREEMPT_RT: ka may not be called from hard irq");
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	migrate_disable();	/* the timer fires on this CPU: same magazines */
	for (i = 0; i < ARRAY_SIZE(mine); i++) {
		mine[i] = ka_alloc(KA_RACE_SIZE, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, mine[i]);
		ka_race_tag(mine[i], KA_RACE_PROC, i);
	}
	hrtimer_init(&r->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	r->timer.function = ka_race_timer;
	hrtimer_start(&r->timer, ns_to_ktime(20 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED_HARD);
	while (ka_irq_test_more(start, READ_ONCE(r->fired))) {
		i = ops++ % ARRAY_SIZE(mine);
		if (!ka_race_tagged(mine[i], KA_RACE_PROC, i))
			bad++;
		ka_free(mine[i]);
		mine[i] = ka_alloc(KA_RACE_SIZE, GFP_KERNEL);
		/* no KUNIT_ASSERT while the timer runs: it would stay armed */
		if (!mine[i]) {
			KUNIT_FAIL(test, "ka_alloc(%d) failed", KA_RACE_SIZE);
			break;
		}
		ka_race_tag(mine[i], KA_RACE_PROC, i);
		if (!(ops % 256))
			cond_resched();
	}
	WRITE_ONCE(r->stop, true);
	hrtimer_cancel(&r->timer);
	for (i = 0; i < ARRAY_SIZE(mine); i++) {
		if (mine[i] && !ka_race_tagged(mine[i], KA_RACE_PROC, i))
			bad++;
		ka_free(mine[i]);
	}
	for (i = 0; i < ARRAY_SIZE(r->held); i++) {
		if (r->held[i] && !ka_race_tagged(r->held[i], KA_RACE_IRQ, i))
			r->bad++;
		ka_free(r->held[i]);
	}
	migrate_enable();
	KUNIT_EXPECT_GT(test, r->fired, 10U);
	KUNIT_EXPECT_EQ(test, r->failed, 0U);
	KUNIT_EXPECT_EQ(test, bad, 0U);
	KUNIT_EXPECT_EQ(test, r->bad, 0U);
	kunit_info(test, "%u process-context pairs, %u hard-irq frees and allocations",
		   ops, r->fired);
}

/*
 * Forced interleavings.  Through ka_mcache_test_hook, an "intruder" runs at a
 * chosen point inside the owner's section of a pop, push, refill, flush,
 * bulk allocation, free into a span the CPU owns or span given back to
 * mcentral, on the same CPU and in the same size class, as an
 * interrupt (!RT) or a task preempting the owner (PREEMPT_RT) would: it
 * frees what it holds and allocates anew.  The protocol says that it must
 * find the magazines busy and leave them alone, so: the magazine it lands
 * in keeps its count across the intrusion, every intruding call is counted
 * as busy, no object is held by two owners at once (a table of held
 * objects, and a tag in each object), none is lost (nothing out after the
 * drain).  The old protocol (lockless pop, push under local_lock_irqsave)
 * let a task preempting a push on RT pop the object being published.
 */
#define KA_IL_SIZE	16
#define KA_IL_ROUND	1200	/* > 4 spans of 256, > one magazine: refills, flushes, gives */
#define KA_IL_INTR	4	/* objects the intruder cycles per intrusion */
#define KA_IL_HASH	4096	/* held-object table, > 2 * objects held */
#define KA_IL_LIVE	0x6c697665UL	/* "live" */
#define KA_IL_DEAD	0x64656164UL	/* "dead" */

struct ka_il {
	struct task_struct *task;
	enum ka_mcache_point point;
	bool in_hook;
	unsigned int fired;		/* intrusions */
	unsigned int intruder_ops;	/* ka calls made by the intruder */
	unsigned int mag_changed;	/* intrusions that changed the magazine */
	unsigned int dup;		/* objects handed to two holders */
	unsigned int corrupt;		/* tags broken while held */
	unsigned int failed;
	void *intr[KA_IL_INTR];
	void *held[KA_IL_HASH];		/* open addressing, NULL = empty */
};

static struct ka_il *ka_il_cur;

static unsigned int ka_il_slot(const void *p)
{
	return hash_ptr((void *)p, ilog2(KA_IL_HASH));
}

/* Record @p as held; false if someone holds it already. */
static bool ka_il_get(struct ka_il *il, void *p)
{
	unsigned int i = ka_il_slot(p), n;
	unsigned long *w = p;

	for (n = 0; n < KA_IL_HASH; n++, i = (i + 1) % KA_IL_HASH) {
		if (il->held[i] == p || w[0] == ((unsigned long)p ^ KA_IL_LIVE)) {
			il->dup++;
			return false;
		}
		if (!il->held[i])
			break;
	}
	il->held[i] = p;
	w[0] = (unsigned long)p ^ KA_IL_LIVE;
	w[KA_IL_SIZE / sizeof(long) - 1] = (unsigned long)p ^ KA_IL_LIVE;
	return true;
}

/* Forget @p before it is freed (backward-shift deletion). */
static void ka_il_put(struct ka_il *il, void *p)
{
	unsigned int i = ka_il_slot(p), j, k, n;
	unsigned long *w = p;

	if (w[0] != ((unsigned long)p ^ KA_IL_LIVE) ||
	    w[KA_IL_SIZE / sizeof(long) - 1] != ((unsigned long)p ^ KA_IL_LIVE))
		il->corrupt++;
	w[0] = (unsigned long)p ^ KA_IL_DEAD;
	for (n = 0; n < KA_IL_HASH && il->held[i] != p;
	     n++, i = (i + 1) % KA_IL_HASH)
		if (!il->held[i])
			return;
	il->held[i] = NULL;
	for (j = (i + 1) % KA_IL_HASH; il->held[j]; j = (j + 1) % KA_IL_HASH) {
		k = ka_il_slot(il->held[j]);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			il->held[i] = il->held[j];
			il->held[j] = NULL;
			i = j;
		}
	}
}

/* Runs inside the owner's section: on !RT with preemption disabled. */
static void ka_il_hook(enum ka_mcache_point pt)
{
	struct ka_il *il = READ_ONCE(ka_il_cur);
	struct ka_magazine *m;
	unsigned int i, before;

	if (!il || current != il->task || il->in_hook || pt != il->point)
		return;
	il->in_hook = true;
	il->fired++;
	m = &this_cpu_ptr(ka_mcache)->mag[ka_size_class(KA_IL_SIZE)];
	before = ka_mag_count(m);
	for (i = 0; i < KA_IL_INTR; i++) {
		if (il->intr[i]) {
			ka_il_put(il, il->intr[i]);
			ka_free(il->intr[i]);
			il->intruder_ops++;
		}
		il->intr[i] = ka_alloc(KA_IL_SIZE, GFP_ATOMIC | __GFP_NOWARN);
		il->intruder_ops++;
		if (!il->intr[i])
			il->failed++;
		else if (!ka_il_get(il, il->intr[i]))
			il->intr[i] = NULL;	/* not ours to free */
	}
	if (ka_mag_count(m) != before)
		il->mag_changed++;
	il->in_hook = false;
}

static const enum ka_mcache_point ka_il_points[] = {
	KA_MP_POP, KA_MP_PUSH, KA_MP_REFILL, KA_MP_FLUSH, KA_MP_BULK,
	KA_MP_OWNFREE, KA_MP_GIVE,
};

static void ka_il_desc(const enum ka_mcache_point *pt, char *desc)
{
	static const char * const names[] = {
		[KA_MP_POP] = "pop", [KA_MP_PUSH] = "push",
		[KA_MP_REFILL] = "refill", [KA_MP_FLUSH] = "flush",
		[KA_MP_BULK] = "bulk", [KA_MP_OWNFREE] = "free into an owned span",
		[KA_MP_GIVE] = "span given back",
	};

	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "intruder in %s", names[*pt]);
}

KUNIT_ARRAY_PARAM(ka_il, ka_il_points, ka_il_desc);

static void ka_mcache_forced_interleavings(struct kunit *test)
{
	const enum ka_mcache_point *pt = test->param_value;
	unsigned long budget = READ_ONCE(ka_pcpu_budget);
	struct ka_counters a, b;
	unsigned int round, i, j, n;
	struct ka_il *il;
	void **objs;

	il = kunit_kzalloc(test, sizeof(*il), GFP_KERNEL);
	objs = kunit_kcalloc(test, KA_IL_ROUND, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, il);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	il->task = current;
	il->point = *pt;
	/*
	 * A magazine holds the active span's objects only: for it to overflow
	 * and flush, its capacity must be below the span's 256 objects - and
	 * flushes are what make spans partly used, for frees into them.
	 */
	if (*pt == KA_MP_FLUSH || *pt == KA_MP_OWNFREE)
		ka_mcache_set_budget(64 * KA_IL_SIZE);
	ka_counters_read(&a);
	WRITE_ONCE(ka_il_cur, il);
	WRITE_ONCE(ka_mcache_test_hook, ka_il_hook);
	/* no KUNIT_ASSERT while the hook is armed: it would stay armed */
	for (round = 0; round < 5; round++) {
		/* allocations pop, then refill; frees push, then flush */
		for (i = 0; i < KA_IL_ROUND; i += n) {
			n = *pt == KA_MP_BULK ? min(16U, KA_IL_ROUND - i) : 1;
			if (*pt == KA_MP_BULK &&
			    !ka_alloc_bulk(KA_IL_SIZE, GFP_KERNEL, n, objs + i)) {
				memset(objs + i, 0, n * sizeof(void *));
				il->failed++;
				continue;
			}
			if (*pt != KA_MP_BULK) {
				objs[i] = ka_alloc(KA_IL_SIZE, GFP_KERNEL);
				if (!objs[i]) {
					il->failed++;
					continue;
				}
			}
			for (j = i; j < i + n; j++)
				if (!ka_il_get(il, objs[j]))
					objs[j] = NULL;	/* another holder's */
		}
		/*
		 * In reverse, in order, or every other object then the rest,
		 * by turns: the flushes of the first pass make spans partly
		 * used before the rest of their objects come (frees into an
		 * owned span).
		 */
		for (j = 0; j < KA_IL_ROUND; j++) {
			if (round % 3 == 0)
				i = KA_IL_ROUND - 1 - j;
			else if (round % 3 == 1)
				i = j;
			else
				i = j < KA_IL_ROUND / 2 ? 2 * j :
				    2 * (j - KA_IL_ROUND / 2) + 1;
			if (!objs[i])
				continue;
			ka_il_put(il, objs[i]);
			ka_free(objs[i]);
			objs[i] = NULL;
		}
		cond_resched();
	}
	WRITE_ONCE(ka_mcache_test_hook, NULL);
	WRITE_ONCE(ka_il_cur, NULL);
	if (*pt == KA_MP_FLUSH || *pt == KA_MP_OWNFREE)
		ka_mcache_set_budget(budget);
	for (i = 0; i < KA_IL_INTR; i++)
		if (il->intr[i]) {
			ka_il_put(il, il->intr[i]);
			ka_free(il->intr[i]);
		}
	ka_drain();
	ka_counters_read(&b);
	KUNIT_EXPECT_GT(test, il->fired, 0U);
	KUNIT_EXPECT_EQ(test, il->mag_changed, 0U);
	KUNIT_EXPECT_EQ(test, il->dup, 0U);
	KUNIT_EXPECT_EQ(test, il->corrupt, 0U);
	KUNIT_EXPECT_EQ(test, il->failed, 0U);
	/* every call the intruder made found the magazines owned */
	KUNIT_EXPECT_GE(test, b.busy - a.busy, (unsigned long)il->intruder_ops);
	KUNIT_EXPECT_EQ(test, ka_test_objs_out(), 0UL);
	kunit_info(test, "%u intrusions, %u intruding calls, busy +%lu",
		   il->fired, il->intruder_ops, b.busy - a.busy);
}

/* ---- capacities and the per-CPU budget ---- */

/*
 * This CPU's capacities, owning them: their sum in bytes, with the empty
 * spans of the stashes, must be ka_mcache.cap_bytes and within @budget, each magazine within its capacity
 * and each capacity within its class's cache_max.  Returns cap_bytes.
 */
static unsigned long ka_test_check_caps(struct kunit *test,
					unsigned long budget)
{
	unsigned long sum = 0, cap_bytes;
	unsigned int cls, bad_cls = 0;
	struct ka_mcache *mc;

	ka_mcache_lock(ka_mcache);
	mc = this_cpu_ptr(ka_mcache);
	for (cls = 1; cls < ka_nr_classes; cls++) {
		struct ka_magazine *m = &mc->mag[cls];

		sum += (unsigned long)ka_mag_cap(m) * ka_classes[cls].size +
		       ((unsigned long)mc->owned[cls].nstash *
			ka_classes[cls].npages << PAGE_SHIFT);
		if (ka_mag_count(m) > ka_mag_cap(m) ||
		    ka_mag_cap(m) > ka_classes[cls].cache_max)
			bad_cls = cls;
	}
	cap_bytes = mc->cap_bytes;
	ka_mcache_unlock(ka_mcache);
	KUNIT_EXPECT_EQ(test, sum, cap_bytes);
	KUNIT_EXPECT_LE(test, cap_bytes, budget);
	KUNIT_EXPECT_EQ_MSG(test, bad_cls, 0U, "class %u beyond its capacity",
			    bad_cls);
	return cap_bytes;
}

/* Every class of every CPU back to capacity 0, under the same budget. */
static void ka_test_reset_caps(void)
{
	unsigned long budget = READ_ONCE(ka_pcpu_budget);

	ka_mcache_set_budget(0);
	ka_mcache_set_budget(budget);
}

/* Size of a random-lifetime object: 70% up to 512 B, 25% 4 KiB, 5% 32 KiB. */
static size_t ka_test_mixed_size(void)
{
	u32 r = get_random_u32() % 100;

	if (r < 70)
		return 1 + get_random_u32() % 512;
	if (r < 95)
		return 1 + get_random_u32() % 4096;
	return 1 + get_random_u32() % KA_MAX_SMALL_SIZE;
}

#define KA_BUDGET_TEST	(128 * 1024UL)
#define KA_BUDGET_SLOTS	512

/*
 * Random lifetimes over 1 B .. 32 KiB on one CPU under a 128 KiB budget:
 * after every 64 operations the CPU's capacities must add up to its
 * cap_bytes and stay within the budget; the load must reach the budget
 * (or the check would prove nothing).
 */
static void ka_mcache_budget_random_load(struct kunit *test)
{
	unsigned long saved = READ_ONCE(ka_pcpu_budget), most = 0, cap;
	unsigned int i, failed = 0;
	void **slot;
	int cpu;

	slot = kunit_kcalloc(test, KA_BUDGET_SLOTS, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	ka_mcache_set_budget(KA_BUDGET_TEST);
	migrate_disable();
	for (i = 0; i < 20000; i++) {
		unsigned int j = get_random_u32() % KA_BUDGET_SLOTS;

		ka_free(slot[j]);
		slot[j] = ka_alloc(ka_test_mixed_size(), GFP_KERNEL);
		if (!slot[j])
			failed++;
		if (i % 64 == 63) {
			cap = ka_test_check_caps(test, KA_BUDGET_TEST);
			most = max(most, cap);
			if (cap > KA_BUDGET_TEST)
				break;
		}
		if (!(i % 256))
			cond_resched();
	}
	migrate_enable();
	for_each_online_cpu(cpu)
		KUNIT_EXPECT_LE(test,
				READ_ONCE(per_cpu_ptr(ka_mcache, cpu)->cap_bytes),
				KA_BUDGET_TEST);
	for (i = 0; i < KA_BUDGET_SLOTS; i++)
		ka_free(slot[i]);
	ka_mcache_set_budget(saved);
	KUNIT_EXPECT_EQ(test, failed, 0U);
	KUNIT_EXPECT_GE(test, most, KA_BUDGET_TEST / 2);
	kunit_info(test, "most capacity on the CPU: %lu of %lu bytes", most,
		   KA_BUDGET_TEST);
}

/*
 * Allocate @n objects of @size into @objs, then free them in reverse: the
 * magazine underflows, then overflows, within one span when the span
 * holds @n objects.
 */
static void ka_test_lifo(struct kunit *test, void **objs, unsigned int n,
			 size_t size)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		objs[i] = ka_alloc(size, GFP_KERNEL);
		KUNIT_EXPECT_NOT_NULL(test, objs[i]);
	}
	for (i = n; i-- > 0; )
		ka_free(objs[i]);
}

#define KA_BUDGET_FLOOR	(64 * 1024UL)

/*
 * Under a budget two busy classes fill (a batch of 1 and of 2 KiB: 32 KiB
 * each), a third class in use still gets its floor (1/128 of the budget,
 * 8 objects of 64 B) from them, and they keep theirs (one object): no
 * class is left without capacity, each of whose calls would be a slow
 * path.  The capacities stay within the budget.
 */
static void ka_mcache_budget_floor(struct kunit *test)
{
	unsigned long saved = READ_ONCE(ka_pcpu_budget);
	unsigned int big = ka_size_class(1024), big2 = ka_size_class(2048);
	unsigned int small = ka_size_class(64), i, floor;
	struct ka_mcache *mc;
	void **objs;

	objs = kunit_kcalloc(test, KA_BATCH_MAX, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	floor = KA_BUDGET_FLOOR / KA_MAG_FLOOR_DIV / ka_classes[small].size;
	KUNIT_ASSERT_GT(test, floor, 1U);
	KUNIT_ASSERT_LE(test, floor, ka_classes[small].batch);
	ka_mcache_trim_pause(true);
	ka_mcache_set_budget(0);
	ka_mcache_set_budget(KA_BUDGET_FLOOR);
	migrate_disable();
	mc = this_cpu_ptr(ka_mcache);
	for (i = 0; i < 3; i++) {
		ka_test_lifo(test, objs, ka_classes[big].batch, 1024);
		ka_test_lifo(test, objs, ka_classes[big2].batch, 2048);
	}
	KUNIT_EXPECT_GT(test, ka_mag_cap(&mc->mag[big]) *
			ka_classes[big].size + ka_mag_cap(&mc->mag[big2]) *
			ka_classes[big2].size, KA_BUDGET_FLOOR / 2);
	for (i = 0; i < 3; i++) {
		ka_test_lifo(test, objs, 2 * floor, 64);
		KUNIT_EXPECT_GE(test, ka_mag_cap(&mc->mag[small]), floor);
		ka_test_lifo(test, objs, 2, 1024);
		ka_test_lifo(test, objs, 2, 2048);
		KUNIT_EXPECT_GE(test, ka_mag_cap(&mc->mag[big]), 1U);
		KUNIT_EXPECT_GE(test, ka_mag_cap(&mc->mag[big2]), 1U);
	}
	migrate_enable();
	ka_test_check_caps(test, KA_BUDGET_FLOOR);
	ka_mcache_set_budget(saved);
	ka_mcache_trim_pause(false);
}

#define KA_BUDGET_ONE	(128 * 1024UL)

/*
 * A class of one object per span (8 KiB) keeps a batch as its floor
 * (ka_mag_floor()) under a budget that two busy classes fill: with one
 * object, or none (8 KiB is above 1/32 of this budget), each of its refills
 * would be a round trip to mcentral for one object.  The capacities stay
 * within the budget.
 */
static void ka_mcache_budget_floor_one(struct kunit *test)
{
	unsigned long saved = READ_ONCE(ka_pcpu_budget);
	unsigned int big = ka_size_class(1024), big2 = ka_size_class(2048);
	unsigned int one = ka_size_class(8192), i;
	struct ka_mcache *mc;
	void **objs;

	KUNIT_ASSERT_FALSE(test, ka_class_owned(&ka_classes[one]));
	KUNIT_ASSERT_GT(test, ka_classes[one].batch, 1U);
	KUNIT_ASSERT_LE(test, 2 * ka_classes[big].batch, KA_BATCH_MAX);
	objs = kunit_kcalloc(test, KA_BATCH_MAX, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	ka_mcache_trim_pause(true);
	ka_mcache_set_budget(0);
	ka_mcache_set_budget(KA_BUDGET_ONE);
	migrate_disable();
	mc = this_cpu_ptr(ka_mcache);
	/* two batches each, alternating misses: the whole budget */
	for (i = 0; i < 3; i++) {
		ka_test_lifo(test, objs, 2 * ka_classes[big].batch, 1024);
		ka_test_lifo(test, objs, 2 * ka_classes[big2].batch, 2048);
	}
	KUNIT_EXPECT_GT(test, ka_mag_cap(&mc->mag[big]) *
			ka_classes[big].size + ka_mag_cap(&mc->mag[big2]) *
			ka_classes[big2].size, KA_BUDGET_ONE / 2);
	for (i = 0; i < 3; i++) {
		ka_test_lifo(test, objs, 2 * ka_classes[one].batch, 8192);
		KUNIT_EXPECT_GE(test, ka_mag_cap(&mc->mag[one]),
				ka_classes[one].batch);
		ka_test_lifo(test, objs, 2, 1024);
		ka_test_lifo(test, objs, 2, 2048);
	}
	migrate_enable();
	ka_test_check_caps(test, KA_BUDGET_ONE);
	ka_mcache_set_budget(saved);
	ka_mcache_trim_pause(false);
}

/*
 * A class that only underflows keeps one batch; one that alternates
 * underflow (allocating more than it holds) and overflow (freeing it all
 * back) grows a batch per reversal, up to its cache_max.  The 8-byte class:
 * a span holds cache_max objects, and a magazine holds objects of the
 * CPU's active span only.
 */
static void ka_mcache_alternating_class_grows(struct kunit *test)
{
	unsigned int cls = ka_size_class(8), i;
	const struct ka_class *k = &ka_classes[cls];
	struct ka_magazine *m;
	unsigned long grows;
	void **objs;

	/* room for the cycles below (KASAN's slot for 8 bytes: a bigger class) */
	objs = kunit_kcalloc(test, k->cache_max + k->batch, sizeof(void *),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	KUNIT_ASSERT_GE(test, READ_ONCE(ka_pcpu_budget),
			(unsigned long)k->cache_max * k->size);
	ka_test_reset_caps();
	migrate_disable();
	m = &this_cpu_ptr(ka_mcache)->mag[cls];
	grows = this_cpu_ptr(ka_mcache)->nr_grow;
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), 0U);
	/* underflows only: the first batch, no more */
	for (i = 0; i < 4 * k->batch; i++) {
		objs[i] = ka_alloc(8, GFP_KERNEL);
		KUNIT_EXPECT_NOT_NULL(test, objs[i]);
	}
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), k->batch);
	/* then overflows (objects of the CPU's active or full spans, pushed): one reversal */
	for (i = 4 * k->batch; i-- > 0; )
		ka_free(objs[i]);
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), 2 * k->batch);
	for (i = 0; i < 4; i++)
		ka_test_lifo(test, objs, k->cache_max, 8);
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), k->cache_max);
	KUNIT_EXPECT_GE(test, this_cpu_ptr(ka_mcache)->nr_grow - grows,
			(unsigned long)k->cache_max / k->batch - 1);
	migrate_enable();
	ka_test_check_caps(test, READ_ONCE(ka_pcpu_budget));
}

/*
 * A class unused between two trim passes loses half its capacity and gives
 * every span back to mcentral, and its capacity goes down to nothing in a
 * few more passes; a class used in between keeps its capacity and spans.
 */
static void ka_mcache_idle_class_shrinks(struct kunit *test)
{
	unsigned int cls = ka_size_class(8), busy = ka_size_class(16);
	const struct ka_class *k = &ka_classes[cls];
	struct ka_magazine *m, *mb;
	unsigned int i, n, cap_busy;
	struct ka_owned *s;
	void **objs;
	void *p;

	n = max(k->cache_max, ka_classes[busy].cache_max);
	objs = kunit_kcalloc(test, n, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	ka_test_reset_caps();
	migrate_disable();
	m = &this_cpu_ptr(ka_mcache)->mag[cls];
	mb = &this_cpu_ptr(ka_mcache)->mag[busy];
	s = &this_cpu_ptr(ka_mcache)->owned[cls];
	for (i = 0; i < 5; i++) {
		ka_test_lifo(test, objs, k->cache_max, 8);
		ka_test_lifo(test, objs, ka_classes[busy].cache_max, 16);
	}
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), k->cache_max);
	KUNIT_EXPECT_GT(test, ka_mag_count(m), 0U);
	KUNIT_EXPECT_NOT_NULL(test, s->active);
	cap_busy = ka_mag_cap(mb);
	KUNIT_EXPECT_GT(test, cap_busy, 0U);
	/* the first pass may only note the class as seen */
	ka_mcache_trim_all();
	p = ka_alloc(16, GFP_KERNEL);
	ka_free(p);
	ka_mcache_trim_all();
	KUNIT_EXPECT_LE(test, ka_mag_cap(m), k->cache_max / 2);
	KUNIT_EXPECT_EQ(test, ka_mag_count(m), 0U);
	KUNIT_EXPECT_NULL(test, s->active);
	KUNIT_EXPECT_TRUE(test, list_empty(&s->partial) && list_empty(&s->full));
	KUNIT_EXPECT_EQ(test, s->nstash, 0U);
	for (i = 0; i < 12; i++) {
		p = ka_alloc(16, GFP_KERNEL);
		ka_free(p);
		ka_mcache_trim_all();
	}
	KUNIT_EXPECT_EQ(test, ka_mag_cap(m), 0U);
	KUNIT_EXPECT_EQ(test, ka_mag_cap(mb), cap_busy);
	KUNIT_EXPECT_NOT_NULL(test, this_cpu_ptr(ka_mcache)->owned[busy].active);
	migrate_enable();
	ka_test_check_caps(test, READ_ONCE(ka_pcpu_budget));
}

/* Lowering the budget trims every CPU before ka_mcache_set_budget() returns. */
static void ka_mcache_budget_lower_trims_at_once(struct kunit *test)
{
	static const size_t sizes[] = { 8, 16, 32, 48 };
	unsigned long saved = READ_ONCE(ka_pcpu_budget), low = 2 * 1024;
	unsigned int i, s;
	void **objs;
	int cpu;

	objs = kunit_kcalloc(test, KA_MAG_MAX_OBJS, sizeof(void *),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	ka_test_reset_caps();
	migrate_disable();
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		const struct ka_class *k = &ka_classes[ka_size_class(sizes[s])];

		for (i = 0; i < 5; i++)
			ka_test_lifo(test, objs, min_t(unsigned int, k->cache_max,
						       k->nelems), sizes[s]);
	}
	KUNIT_EXPECT_GT(test, this_cpu_ptr(ka_mcache)->cap_bytes, 4 * low);
	migrate_enable();
	ka_mcache_set_budget(low);
	for_each_online_cpu(cpu) {
		struct ka_mcache *mc = per_cpu_ptr(ka_mcache, cpu);
		unsigned long cached = 0;
		unsigned int cls;

		for (cls = 1; cls < ka_nr_classes; cls++)
			cached += (unsigned long)ka_mag_count(&mc->mag[cls]) *
				  ka_classes[cls].size;
		KUNIT_EXPECT_LE(test, READ_ONCE(mc->cap_bytes), low);
		KUNIT_EXPECT_LE(test, cached, low);
	}
	ka_test_check_caps(test, low);
	ka_mcache_set_budget(saved);
}

/*
 * Frees by another CPU: a span this CPU filled and retired (full, on its
 * full list) gets the other CPU's frees in its remote bitmap - no central
 * lock taken - and is pushed once onto this CPU's pending list; this CPU
 * collects it when it next needs a span, and fills from it again before
 * mcentral lends another.
 */
struct ka_remote {
	void **objs;
	unsigned int n;
	struct completion done;
};

static int ka_remote_thread(void *arg)
{
	struct ka_remote *r = arg;
	unsigned int i;

	for (i = 0; i < r->n; i++)
		ka_free(r->objs[i]);
	complete(&r->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static void ka_mcache_remote_frees_pending(struct kunit *test)
{
	unsigned int cls = ka_size_class(64), i, reused = 0;
	const struct ka_class *k = &ka_classes[cls];
	struct ka_mcentral *c;
	struct ka_span *full;
	struct task_struct *t;
	unsigned long locks;
	struct ka_remote r;
	int other = -1, cpu;
	struct ka_owned *s;
	void **objs;

	for_each_online_cpu(cpu)
		if (cpu != raw_smp_processor_id() && other < 0)
			other = cpu;
	if (other < 0)
		kunit_skip(test, "needs two CPUs");
	objs = kunit_kcalloc(test, 2 * k->nelems + 1, sizeof(void *),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	migrate_disable();
	s = &this_cpu_ptr(ka_mcache)->owned[cls];
	c = ka_mcentral_of(numa_mem_id(), cls);
	/* a whole span, then one more object: the first span is retired */
	for (i = 0; i <= k->nelems; i++)
		objs[i] = ka_alloc(64, GFP_KERNEL);
	full = ka_test_span(objs[0]);
	KUNIT_EXPECT_EQ(test, full->olist, (u8)KA_OL_FULL);
	KUNIT_EXPECT_TRUE(test, atomic_long_read(&full->rstate) & KA_RS_FULL);
	/* the other CPU frees the full span's objects */
	r.objs = objs;
	r.n = k->nelems;
	init_completion(&r.done);
	locks = READ_ONCE(c->nr_lock);
	t = kthread_create_on_cpu(ka_remote_thread, &r, other, "ka_remote/%u");
	if (IS_ERR(t)) {
		KUNIT_FAIL(test, "no thread");
		goto out;
	}
	wake_up_process(t);
	wait_for_completion(&r.done);
	kthread_stop(t);
	KUNIT_EXPECT_EQ(test, READ_ONCE(c->nr_lock), locks);
	KUNIT_EXPECT_TRUE(test, atomic_long_read(&full->rstate) & KA_RS_PEND);
	KUNIT_EXPECT_FALSE(test, llist_empty(&s->pending));
	/* this CPU uses the active span up, then fills from the freed one */
	for (i = k->nelems + 1; i < 2 * k->nelems + 1; i++) {
		objs[i] = ka_alloc(64, GFP_KERNEL);
		reused += objs[i] && ka_test_span(objs[i]) == full;
	}
	KUNIT_EXPECT_GT(test, reused, 0U);
	/* taken off the pending list (a refill may have filled it up again) */
	KUNIT_EXPECT_FALSE(test, atomic_long_read(&full->rstate) & KA_RS_PEND);
	KUNIT_EXPECT_EQ(test, ka_rs_owner(atomic_long_read(&full->rstate)),
			this_cpu_read(ka_mcache->ownkey));
	for (i = k->nelems; i < 2 * k->nelems + 1; i++)
		ka_free(objs[i]);
out:
	migrate_enable();
}

static int ka_test_ptr_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/*
 * A magazine flush (issue 29) reads the arena map only where the span
 * changes from one object to the next, not once an object: objects of
 * this CPU's spans freed in address order (grouped by span) fill the
 * magazine, which is then flushed whole, counting this task's lookups
 * (ka_lookup_count, KUnit kernels).  The flush must give every object
 * back (nothing out of the CPU's spans after it).
 */
static void ka_mcache_flush_looks_up_by_span(struct kunit *test)
{
	unsigned int cls = ka_size_class(64), i, n, count = 0, changes = 0;
	const struct ka_class *k = &ka_classes[cls];
	struct ka_magazine *m;
	struct ka_mcache *mc;
	unsigned long got;
	void **objs;

	KUNIT_ASSERT_TRUE(test, ka_class_owned(k));
	n = min(k->batch, k->cache_max);
	objs = kunit_kcalloc(test, n, sizeof(void *), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	migrate_disable();
	for (i = 0; i < n; i++) {
		objs[i] = ka_alloc(64, GFP_KERNEL);
		if (!objs[i]) {
			KUNIT_FAIL(test, "ka_alloc(64) failed");
			n = i;
			break;
		}
	}
	sort(objs, n, sizeof(void *), ka_test_ptr_cmp, NULL);
	for (i = 0; i < n; i++)
		ka_free(objs[i]);
	ka_mcache_lock(ka_mcache);
	mc = this_cpu_ptr(ka_mcache);
	m = &mc->mag[cls];
	count = ka_mag_count(m);
	rcu_read_lock();
	for (i = 0; i < count; i++)
		changes += !i || ka_span_of(m->objs[i]) != ka_span_of(m->objs[i - 1]);
	rcu_read_unlock();
	ka_lookup_count = 0;
	WRITE_ONCE(ka_lookup_task, current);
	ka_mcache_flush_class(mc, m, cls, count);
	WRITE_ONCE(ka_lookup_task, NULL);
	got = ka_lookup_count;
	ka_mcache_unlock(ka_mcache);
	/* the case proves something only if spans repeat in the magazine */
	KUNIT_EXPECT_GT(test, count, changes);
	KUNIT_EXPECT_EQ_MSG(test, got, (unsigned long)changes,
			    "%lu lookups to flush %u objects of %u runs of one span",
			    got, count, changes);
	KUNIT_EXPECT_EQ(test, ka_test_owned_out(&this_cpu_ptr(ka_mcache)->owned[cls]),
			0UL);
	migrate_enable();
}

static struct kunit_case ka_mcache_cases[] = {
	KUNIT_CASE(ka_mcache_refill_from_span),
	KUNIT_CASE(ka_mcache_hit_paths_under_interrupts),
	KUNIT_CASE_PARAM(ka_mcache_forced_interleavings, ka_il_gen_params),
	KUNIT_CASE(ka_mcache_budget_random_load),
	KUNIT_CASE(ka_mcache_budget_floor),
	KUNIT_CASE(ka_mcache_budget_floor_one),
	KUNIT_CASE(ka_mcache_alternating_class_grows),
	KUNIT_CASE(ka_mcache_idle_class_shrinks),
	KUNIT_CASE(ka_mcache_budget_lower_trims_at_once),
	KUNIT_CASE(ka_mcache_remote_frees_pending),
	KUNIT_CASE(ka_mcache_flush_looks_up_by_span),
	{}
};

/*
 * No periodic trim during these cases: on a slow machine (TCG, KASAN, a
 * busy host) a case can take seconds, and a pass would halve the classes
 * a case leaves unused for a while.  ka_mcache_trim_all() runs passes.
 */
static int ka_mcache_test_init(struct kunit *test)
{
	ka_mcache_trim_pause(true);
	return ka_kunit_init(test);
}

static void ka_mcache_test_exit(struct kunit *test)
{
	ka_kunit_exit(test);
	ka_mcache_trim_pause(false);
}

KA_KUNIT_SUITE_WITH(ka_mcache, ka_mcache_test_init, ka_mcache_test_exit);
