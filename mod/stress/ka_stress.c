// SPDX-License-Identifier: GPL-2.0
/*
 * ka_stress - a time-bounded stress of ka through its public API only.
 *
 * "insmod ka_stress.ko seconds=N" runs threads_per_cpu kthreads per online
 * CPU (not bound, so CPUs may go offline under them) for N seconds: objects
 * of random sizes from 1 B to 64 KiB with random lifetimes in a per-thread
 * table, frees of objects handed over by other threads (cross-CPU), bulk
 * calls, reallocs, ka_free_rcu(), and, with irq=1, GFP_ATOMIC allocations
 * from a hard-irq hrtimer per thread.  With several threads per CPU they
 * preempt each other inside ka's calls, which is what PREEMPT_RT's per-CPU
 * caches must survive: on full preemption and PREEMPT_RT at every tick and
 * at the wake-up of a thread that naps every few hundred operations, and,
 * above all, whenever one of the SCHED_FIFO threads (one in every
 * threads_per_cpu) wakes from its 20-60 us nap after a few operations: it
 * preempts whatever the CPU was running, in the middle of a ka call if
 * that is where it was.
 * Every object carries a pattern derived from a per-object seed, checked
 * before it is freed.  Allocation failures are expected when page
 * allocation faults are injected and only counted.
 *
 * On PREEMPT_RT ka may not be called from hard irq (nor may kmalloc), so
 * irq=1 is ignored there, with a note.
 *
 * The result is one KTAP line ("ok 1 ka_stress" or "not ok 1 ka_stress"),
 * preceded by the counts; insmod returns when the run is over.
 */
#define pr_fmt(fmt) "ka_stress: " fmt

#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/sched.h>
#include <linux/hrtimer.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <ka.h>

#include "../ka_testutil.h"

static unsigned int seconds = 20;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "how long to run (1..600)");
static unsigned int threads_per_cpu = 1;
module_param(threads_per_cpu, uint, 0444);
MODULE_PARM_DESC(threads_per_cpu, "kthreads per online CPU (1..16)");
static bool irq = true;
module_param(irq, bool, 0444);
MODULE_PARM_DESC(irq, "also allocate and free from a hard-irq hrtimer per thread (not on PREEMPT_RT)");

#define KA_STRESS_SLOTS		256
#define KA_STRESS_RING		1024
#define KA_STRESS_IRQ_SLOTS	8
#define KA_STRESS_BULK		16
#define KA_STRESS_GFP		(GFP_KERNEL | __GFP_NOWARN)

struct ka_obj {
	u8 *p;
	u32 size;
	u32 seed;
};

struct ka_stress_thread {
	struct task_struct *task;
	struct hrtimer timer;
	struct ka_obj slot[KA_STRESS_SLOTS];
	void *irq_obj[KA_STRESS_IRQ_SLOTS];
	u32 rnd;
	bool stop;
	bool naps;
	bool fifo;
	unsigned long ops, allocs, failed, corrupt, xfree, bulk, rcu;
	unsigned long irq_allocs, irq_failed, irq_corrupt;
	unsigned int irq_fired;
};

static DEFINE_SPINLOCK(ka_ring_lock);
static struct ka_obj ka_ring[KA_STRESS_RING];
static unsigned int ka_ring_n;
static atomic_t ka_running;
static DECLARE_WAIT_QUEUE_HEAD(ka_done_wq);

static u32 ka_rand(struct ka_stress_thread *t)
{
	/* xorshift32: cheap, and each thread has its own sequence */
	t->rnd ^= t->rnd << 13;
	t->rnd ^= t->rnd >> 17;
	t->rnd ^= t->rnd << 5;
	return t->rnd;
}

/* The pattern covers the first 256 and the last 16 bytes of an object. */
#define KA_STRESS_HEAD		256U
#define KA_STRESS_TAIL		16

static void ka_fill(const struct ka_obj *o)
{
	ka_test_fill_ends(o->p, o->size, o->seed, KA_STRESS_HEAD,
			  KA_STRESS_TAIL);
}

/* Check @o; report a broken pattern with what is there instead. */
static bool ka_intact(const struct ka_obj *o)
{
	long i = ka_test_bad_ends(o->p, o->size, o->seed, KA_STRESS_HEAD,
				  KA_STRESS_TAIL);

	if (i < 0)
		return true;
	pr_err("object %p (%u bytes, ka_size %zu) corrupted at byte %ld: %*ph, expected %02x\n",
	       o->p, o->size, ka_size(o->p), i,
	       (int)min_t(u32, 16, o->size - i), o->p + i,
	       ka_test_byte(o->seed, i));
	return false;
}

static u32 ka_rand_size(struct ka_stress_thread *t)
{
	u32 r = ka_rand(t), pick = r % 100;

	r = ka_rand(t);
	if (pick < 70)
		return 1 + r % 512;
	if (pick < 95)
		return 513 + r % (8192 - 512);
	return 8193 + r % (65536 - 8192);
}

static void ka_release(struct ka_stress_thread *t, struct ka_obj *o, bool rcu)
{
	if (!o->p)
		return;
	if (!ka_intact(o))
		t->corrupt++;
	if (rcu) {
		ka_free_rcu(o->p);
		t->rcu++;
	} else {
		ka_free(o->p);
	}
	o->p = NULL;
}

static bool ka_new(struct ka_stress_thread *t, struct ka_obj *o, u32 size)
{
	o->size = size;
	o->seed = ka_rand(t);
	o->p = ka_alloc(size, KA_STRESS_GFP);
	if (!o->p) {
		t->failed++;
		return false;
	}
	t->allocs++;
	ka_fill(o);
	return true;
}

static enum hrtimer_restart ka_stress_irq(struct hrtimer *timer)
{
	struct ka_stress_thread *t = container_of(timer, struct ka_stress_thread,
						  timer);
	unsigned int i = t->irq_fired++ % KA_STRESS_IRQ_SLOTS;
	u8 *p = t->irq_obj[i];

	if (p) {
		if (p[0] != (u8)i || p[1] != (u8)~i) {
			pr_err("hard-irq object %p corrupted: %*ph, expected %02x %02x\n",
			       p, 2, p, (u8)i, (u8)~i);
			t->irq_corrupt++;
		}
		ka_free(p);
	}
	p = ka_alloc(2 + t->irq_fired % 3000, GFP_ATOMIC | __GFP_NOWARN);
	if (p) {
		p[0] = (u8)i;
		p[1] = (u8)~i;
		t->irq_allocs++;
	} else {
		t->irq_failed++;
	}
	t->irq_obj[i] = p;
	if (READ_ONCE(t->stop))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, ns_to_ktime(200 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void ka_stress_bulk(struct ka_stress_thread *t)
{
	void *p[KA_STRESS_BULK];
	u32 size = ka_rand_size(t);
	unsigned int i;

	if (ka_alloc_bulk(size, KA_STRESS_GFP, KA_STRESS_BULK, p) !=
	    KA_STRESS_BULK) {
		t->failed++;
		return;
	}
	for (i = 0; i < KA_STRESS_BULK; i++) {
		struct ka_obj o = { .p = p[i], .size = size, .seed = i };

		ka_fill(&o);
	}
	for (i = 0; i < KA_STRESS_BULK; i++) {
		struct ka_obj o = { .p = p[i], .size = size, .seed = i };

		if (!ka_intact(&o))
			t->corrupt++;
	}
	ka_free_bulk(KA_STRESS_BULK, p);
	t->bulk++;
}

static void ka_stress_step(struct ka_stress_thread *t)
{
	struct ka_obj *o = &t->slot[ka_rand(t) % KA_STRESS_SLOTS];
	u32 op = ka_rand(t) % 100;
	struct ka_obj x;

	if (op < 55) {
		/* random lifetime: replace a random slot */
		ka_release(t, o, op < 2);
		ka_new(t, o, ka_rand_size(t));
	} else if (op < 70) {
		/* hand an object to whichever thread takes it next */
		if (!o->p)
			return;
		spin_lock(&ka_ring_lock);
		if (ka_ring_n < KA_STRESS_RING) {
			ka_ring[ka_ring_n++] = *o;
			o->p = NULL;
		}
		spin_unlock(&ka_ring_lock);
	} else if (op < 88) {
		spin_lock(&ka_ring_lock);
		x = ka_ring_n ? ka_ring[--ka_ring_n] : (struct ka_obj){};
		spin_unlock(&ka_ring_lock);
		if (x.p)
			t->xfree++;
		ka_release(t, &x, false);
	} else if (op < 93) {
		ka_stress_bulk(t);
	} else if (o->p) {
		/* realloc keeps the first min(old, new) bytes */
		u32 size = ka_rand_size(t);
		u8 *n = ka_realloc(o->p, size, KA_STRESS_GFP);

		if (!n) {
			t->failed++;
			return;
		}
		o->p = n;
		/* the head is pattern both before and after */
		o->size = min3(o->size, size, KA_STRESS_HEAD);
		if (!ka_intact(o))
			t->corrupt++;
		o->size = size;
		o->seed = ka_rand(t);
		ka_fill(o);
	}
	t->ops++;
}

static int ka_stress_fn(void *arg)
{
	struct ka_stress_thread *t = arg;
	unsigned long end = jiffies + seconds * HZ;
	unsigned int i;

	if (irq) {
		hrtimer_init(&t->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
		t->timer.function = ka_stress_irq;
		hrtimer_start(&t->timer, ns_to_ktime(200 * NSEC_PER_USEC),
			      HRTIMER_MODE_REL_HARD);
	}
	if (t->fifo)
		sched_set_fifo_low(current);
	while (time_before(jiffies, end)) {
		if (t->fifo) {
			/* a few operations, then a nap whose end preempts */
			for (i = 0; i < 4; i++)
				ka_stress_step(t);
			usleep_range(20, 60);
			continue;
		}
		for (i = 0; i < 64; i++)
			ka_stress_step(t);
		/* its wake-up preempts a sibling, wherever that one is */
		if (t->naps && !(ka_rand(t) % 4))
			usleep_range(20, 100);
		cond_resched();
	}
	WRITE_ONCE(t->stop, true);
	if (irq)
		hrtimer_cancel(&t->timer);
	for (i = 0; i < KA_STRESS_IRQ_SLOTS; i++)
		ka_free(t->irq_obj[i]);
	for (i = 0; i < KA_STRESS_SLOTS; i++)
		ka_release(t, &t->slot[i], false);
	if (atomic_dec_and_test(&ka_running))
		wake_up(&ka_done_wq);
	return 0;
}

static int __init ka_stress_init(void)
{
	struct ka_stress_thread *t, total = {};
	unsigned int n = 0, i, cpus = num_online_cpus(), nr;
	bool ok;

	if (!seconds || seconds > 600) {
		pr_err("seconds=%u is out of range (1..600)\n", seconds);
		return -EINVAL;
	}
	if (!threads_per_cpu || threads_per_cpu > 16) {
		pr_err("threads_per_cpu=%u is out of range (1..16)\n",
		       threads_per_cpu);
		return -EINVAL;
	}
	if (irq && IS_ENABLED(CONFIG_PREEMPT_RT)) {
		pr_info("PREEMPT_RT: no hard-irq allocations (irq=1 ignored)\n");
		irq = false;
	}
	nr = cpus * threads_per_cpu;
	t = kvcalloc(nr, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	atomic_set(&ka_running, 1);
	for (i = 0; i < nr; i++) {
		t[i].rnd = get_random_u32() | 1;
		t[i].naps = threads_per_cpu > 1 && (i & 1);
		t[i].fifo = threads_per_cpu > 1 &&
			    i % threads_per_cpu == threads_per_cpu - 1;
		t[i].task = kthread_create(ka_stress_fn, &t[i], "ka_stress/%u", i);
		if (IS_ERR(t[i].task))
			break;
		atomic_inc(&ka_running);
		n++;
	}
	for (i = 0; i < n; i++)
		wake_up_process(t[i].task);
	atomic_dec(&ka_running);
	wait_event(ka_done_wq, !atomic_read(&ka_running));

	/* whatever is still in the hand-over ring */
	while (ka_ring_n)
		ka_release(&t[0], &ka_ring[--ka_ring_n], false);
	for (i = 0; i < n; i++) {
		total.ops += t[i].ops;
		total.allocs += t[i].allocs + t[i].irq_allocs;
		total.failed += t[i].failed + t[i].irq_failed;
		total.corrupt += t[i].corrupt + t[i].irq_corrupt;
		total.xfree += t[i].xfree;
		total.bulk += t[i].bulk;
		total.rcu += t[i].rcu;
		total.irq_allocs += t[i].irq_allocs;
	}
	kvfree(t);
	ok = n == nr && !total.corrupt && total.ops;
	pr_info("%u threads (%u per CPU) for %u s: %lu operations, %lu allocations (%lu in hard irq), %lu failed, %lu cross-CPU frees, %lu bulk calls, %lu RCU frees, %lu corrupted objects\n",
		n, threads_per_cpu, seconds, total.ops, total.allocs, total.irq_allocs,
		total.failed, total.xfree, total.bulk, total.rcu, total.corrupt);
	pr_info("corrupt=%lu\n", total.corrupt);
	ka_ktap_start(1);
	ka_ktap_result(ok, 1, "ka_stress");
	return 0;
}

static void __exit ka_stress_exit(void)
{
}

module_init(ka_stress_init);
module_exit(ka_stress_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Time-bounded stress of ka through its public API");
