// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated CPUs (shim_cpu.h): run locks, preemption points, sleeps,
 * per-CPU memory, per-CPU work, delayed work, CPU hotplug.
 *
 * Locks: a CPU's run lock is held by the thread on it.  A thread waits for
 * a run lock only while it holds no other lock of the shim's but (on
 * !PREEMPT_RT, preemption disabled) none at all: every other wait - a
 * sleeping lock, a grace period, a hotplug - is done with the CPU given
 * up, so that whoever the waiter waits for can run.  shim_pcpu_lock
 * guards the per-CPU allocator, shim_hp_lock (a rwlock) is CPU hotplug's
 * cpus_read_lock(), shim_timer_lock the delayed works.
 */
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "shim.h"
#include <linux/cpuhotplug.h>
#include <linux/delay.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>

__thread struct task_struct shim_task = { .cpu = -1 };
struct shim_sched shim_sched;
int nr_cpu_ids = 4;
int shim_cpu_node[SHIM_MAX_CPUS];
unsigned long shim_pcpu_base;
void (*shim_preempt_hook)(void);
static __thread bool shim_in_hook;

static pthread_mutex_t shim_run[SHIM_MAX_CPUS];
static int shim_online[SHIM_MAX_CPUS];
/* tasks with migration disabled whose CPU this is (a hotplug waits) */
static int shim_pinned[SHIM_MAX_CPUS];
static pthread_rwlock_t shim_hp_lock = PTHREAD_RWLOCK_INITIALIZER;

static unsigned int shim_rand(void)
{
	unsigned int x = shim_task.rnd ?: (unsigned int)shim_tid() * 2654435761U;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	shim_task.rnd = x;
	return x;
}

bool shim_cpu_is_online(int cpu)
{
	return __atomic_load_n(&shim_online[cpu], __ATOMIC_ACQUIRE);
}

/*
 * @nr_cpus CPUs, spread over @nr_nodes nodes in order (CPU c on node
 * c * nr_nodes / nr_cpus), all online.  Before any thread runs; again
 * (memsim's runs of the real per-CPU layer) only with another count and
 * no thread on a CPU.
 */
void shim_cpu_init(int nr_cpus, int nr_nodes)
{
	static bool done;
	int c;

	if (done && nr_cpus == nr_cpu_ids)
		return;
	BUG_ON(done && shim_task.cpu >= 0);
	done = true;
	BUG_ON(nr_cpus > SHIM_MAX_CPUS);
	nr_cpu_ids = nr_cpus;
	for (c = 0; c < nr_cpus; c++) {
		pthread_mutex_init(&shim_run[c], NULL);
		shim_cpu_node[c] = c * nr_nodes / nr_cpus;
		shim_online[c] = 1;
	}
}

int shim_this_cpu(void)
{
	if (WARN_ON(shim_task.cpu < 0))
		return 0;
	return shim_task.cpu;
}

int shim_numa_mem_id(void)
{
	shim_pcp_point();
	return shim_cpu_node[shim_this_cpu()];
}

/*
 * Take @cpu's run lock once it is online (or at once if @any_state: a
 * task pinned there, which a hotplug waits for).
 */
static void shim_run_lock(int cpu, bool any_state)
{
	for (;;) {
		pthread_mutex_lock(&shim_run[cpu]);
		if (any_state || shim_cpu_is_online(cpu))
			return;
		pthread_mutex_unlock(&shim_run[cpu]);
		sched_yield();
	}
}

/* Run on @cpu: wait until no one else does.  Context: on no CPU. */
void shim_cpu_enter(int cpu)
{
	WARN_ON(shim_task.cpu >= 0 && shim_task.cpu != cpu);
	shim_run_lock(cpu, false);
	shim_task.cpu = cpu;
}

/* Some online CPU, the least busy first: the one free now, else any. */
static void shim_cpu_enter_any(void)
{
	int start = shim_rand() % nr_cpu_ids, i, cpu;

	for (;;) {
		for (i = 0; i < nr_cpu_ids; i++) {
			cpu = (start + i) % nr_cpu_ids;
			if (shim_cpu_is_online(cpu) &&
			    !pthread_mutex_trylock(&shim_run[cpu])) {
				if (shim_cpu_is_online(cpu)) {
					shim_task.cpu = cpu;
					return;
				}
				pthread_mutex_unlock(&shim_run[cpu]);
			}
		}
		sched_yield();
	}
}

/*
 * Give the CPU up.  With migration disabled (or as a bound worker) the
 * task stays the CPU's: it comes back there (shim_cpu_back()).
 */
void shim_cpu_leave(void)
{
	int cpu = shim_task.cpu;

	if (cpu < 0)
		return;
	if (shim_task.migrate)
		__atomic_add_fetch(&shim_pinned[cpu], 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&shim_run[cpu]);
	if (!shim_task.migrate && !shim_task.bound)
		shim_task.cpu = -1;
}

/* Back on a CPU after shim_cpu_leave(): the same one if it must be. */
static void shim_cpu_back(int cpu, bool same)
{
	if (same) {
		shim_run_lock(cpu, shim_task.migrate);
		shim_task.cpu = cpu;
		if (shim_task.migrate)
			__atomic_sub_fetch(&shim_pinned[cpu], 1,
					   __ATOMIC_SEQ_CST);
		return;
	}
	shim_task.cpu = -1;
	shim_cpu_enter_any();
	if (shim_task.cpu != cpu)
		shim_task.moves++;
}

/* Switch to @cpu between calls (the harness: "this runs on CPU @cpu"). */
void shim_run_on(int cpu)
{
	WARN_ON(!shim_preemptible() || shim_task.migrate);
	if (shim_task.cpu == cpu)
		return;
	shim_cpu_leave();
	shim_task.cpu = -1;
	shim_cpu_enter(cpu);
}

/*
 * Move to @cpu at a preemption point (shim_preempt_hook): the task was
 * preempted and the scheduler put it there.  Not with migration disabled.
 */
void shim_migrate_to(int cpu)
{
	if (shim_task.migrate || shim_task.bound || !shim_cpu_is_online(cpu))
		return;
	shim_run_on(cpu);
}

static void shim_switch(void)
{
	int cpu = shim_task.cpu;
	bool same = shim_task.migrate || shim_task.bound || !shim_sched.migrate;

	/* a CPU going down: tasks that may leave it do */
	if (!shim_cpu_is_online(cpu) && !shim_task.migrate && !shim_task.bound)
		same = false;
	shim_cpu_leave();
	sched_yield();
	shim_cpu_back(cpu, same);
}

/*
 * A point where the kernel could preempt the task: the hook first, then
 * a switch once in shim_sched.preempt_rate times (or always, if the CPU
 * is going down and the task may move).
 */
void shim_preempt_point(void)
{
	int cpu = shim_task.cpu;

	if (!shim_preemptible() || cpu < 0)
		return;
	if (shim_preempt_hook && !shim_in_hook) {
		shim_in_hook = true;
		shim_preempt_hook();
		shim_in_hook = false;
		cpu = shim_task.cpu;
	}
	if ((!shim_cpu_is_online(cpu) && !shim_task.migrate && !shim_task.bound) ||
	    (shim_sched.preempt_rate && !(shim_rand() % shim_sched.preempt_rate)))
		shim_switch();
}

/* cond_resched(), and the harness's points between two calls into ka. */
void shim_cond_resched(void)
{
	int cpu = shim_task.cpu;

	if (!shim_preemptible() || cpu < 0)
		return;
	if ((!shim_cpu_is_online(cpu) && !shim_task.migrate && !shim_task.bound) ||
	    (shim_sched.resched_rate && !(shim_rand() % shim_sched.resched_rate)))
		shim_switch();
	else
		shim_preempt_point();
}

/* A sleep begins: the CPU is given up (might_sleep(): not atomic). */
struct shim_sleep shim_sleep_begin(void)
{
	struct shim_sleep s = {
		.cpu = shim_task.cpu,
		.same = shim_task.migrate || shim_task.bound ||
			!shim_sched.migrate,
	};

	WARN_ON(!shim_preemptible());
	shim_cpu_leave();
	return s;
}

/* ... and ends: back on a CPU, the same one if it must (or may) be. */
void shim_sleep_end(struct shim_sleep s)
{
	if (s.cpu < 0)
		return;
	/* a sleeper that was not bound to a CPU that went down moves */
	shim_cpu_back(s.cpu, s.same && (shim_cpu_is_online(s.cpu) ||
					 shim_task.migrate || shim_task.bound));
}

void shim_irq_enter(void)
{
	shim_task.irq++;
	shim_task.preempt++;
	shim_rcu_enter();
}

void shim_irq_exit(void)
{
	shim_rcu_exit();
	shim_task.preempt--;
	shim_task.irq--;
}

void shim_cpu_relax(void)
{
	sched_yield();
	if (shim_preemptible())
		shim_preempt_point();
}

/* ---- sleeping locks ---- */

void mutex_lock(struct mutex *m)
{
	struct shim_sleep s;

	if (!pthread_mutex_trylock(&m->m))
		return;
	s = shim_sleep_begin();
	pthread_mutex_lock(&m->m);
	shim_sleep_end(s);
}

void mutex_unlock(struct mutex *m)
{
	pthread_mutex_unlock(&m->m);
}

void cpus_read_lock(void)
{
	struct shim_sleep s;

	if (!pthread_rwlock_tryrdlock(&shim_hp_lock))
		return;
	s = shim_sleep_begin();
	pthread_rwlock_rdlock(&shim_hp_lock);
	shim_sleep_end(s);
}

void cpus_read_unlock(void)
{
	pthread_rwlock_unlock(&shim_hp_lock);
}

void usleep_range(unsigned long min, unsigned long max)
{
	struct shim_sleep s = shim_sleep_begin();

	usleep(min);
	shim_sleep_end(s);
}

void msleep(unsigned int msecs)
{
	usleep_range(msecs * 1000UL, msecs * 1000UL);
}

/* ---- per-CPU memory ---- */

#define SHIM_PCPU_MAX_AREAS	256

static pthread_mutex_t shim_pcpu_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	unsigned long off, size;
} shim_pcpu_areas[SHIM_PCPU_MAX_AREAS];	/* sorted by offset */
static unsigned int shim_pcpu_nr;
static unsigned long shim_pcpu_static;	/* DEFINE_PER_CPU()'s bytes */

/* The units, each starting with its copy of the DEFINE_PER_CPU() section. */
static void shim_pcpu_init(void)
{
	unsigned long tsize = __stop_shim_pcpu - __start_shim_pcpu;
	void *p;
	int c;

	if (shim_pcpu_base)
		return;
	p = mmap(NULL, SHIM_MAX_CPUS * SHIM_PCPU_UNIT, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	BUG_ON(p == MAP_FAILED);
	shim_pcpu_static = ALIGN(tsize, 64UL);
	BUG_ON(shim_pcpu_static >= SHIM_PCPU_UNIT);
	for (c = 0; c < SHIM_MAX_CPUS; c++)
		if (tsize)
			memcpy((char *)p + c * SHIM_PCPU_UNIT, __start_shim_pcpu,
			       tsize);
	__atomic_store_n(&shim_pcpu_base, (unsigned long)p, __ATOMIC_RELEASE);
}

/* First fit in the units, zeroed on every CPU; CPU 0's copy returned. */
void *shim_pcpu_alloc(size_t size, size_t align)
{
	unsigned long off;
	unsigned int i;
	int c;

	pthread_mutex_lock(&shim_pcpu_lock);
	shim_pcpu_init();
	align = max_t(size_t, align, 64);
	off = shim_pcpu_static;
	for (i = 0; i < shim_pcpu_nr; i++) {
		if (ALIGN(off, align) + size <= shim_pcpu_areas[i].off)
			break;
		off = shim_pcpu_areas[i].off + shim_pcpu_areas[i].size;
	}
	off = ALIGN(off, align);
	if (off + size > SHIM_PCPU_UNIT || shim_pcpu_nr == SHIM_PCPU_MAX_AREAS) {
		pthread_mutex_unlock(&shim_pcpu_lock);
		return NULL;
	}
	memmove(&shim_pcpu_areas[i + 1], &shim_pcpu_areas[i],
		(shim_pcpu_nr - i) * sizeof(shim_pcpu_areas[0]));
	shim_pcpu_areas[i].off = off;
	shim_pcpu_areas[i].size = size;
	shim_pcpu_nr++;
	for (c = 0; c < SHIM_MAX_CPUS; c++)
		memset((char *)shim_pcpu_base + c * SHIM_PCPU_UNIT + off, 0, size);
	pthread_mutex_unlock(&shim_pcpu_lock);
	return (void *)(shim_pcpu_base + off);
}

void shim_pcpu_free(void *p)
{
	unsigned long off = (unsigned long)p - shim_pcpu_base;
	unsigned int i;

	if (!p)
		return;
	pthread_mutex_lock(&shim_pcpu_lock);
	for (i = 0; i < shim_pcpu_nr && shim_pcpu_areas[i].off != off; i++)
		;
	if (!WARN_ON(i == shim_pcpu_nr)) {
		memmove(&shim_pcpu_areas[i], &shim_pcpu_areas[i + 1],
			(shim_pcpu_nr - i - 1) * sizeof(shim_pcpu_areas[0]));
		shim_pcpu_nr--;
	}
	pthread_mutex_unlock(&shim_pcpu_lock);
}

/* ---- work ---- */

struct workqueue_struct {
	const char *name;
};

static struct workqueue_struct shim_wq = { "events" };
static struct workqueue_struct shim_wq_hi = { "events_highpri" };
static struct workqueue_struct shim_wq_unbound = { "events_unbound" };
struct workqueue_struct *system_wq = &shim_wq;
struct workqueue_struct *system_highpri_wq = &shim_wq_hi;
struct workqueue_struct *system_unbound_wq = &shim_wq_unbound;

/*
 * Run @work as CPU @cpu's worker: a task of its own, bound to the CPU,
 * preemptible; an offline CPU's work runs unbound (as the workqueue does
 * with the work of a CPU that went down).
 */
bool queue_work_on(int cpu, struct workqueue_struct *wq,
		   struct work_struct *work)
{
	struct task_struct saved = shim_task;
	struct shim_sleep s;

	WARN_ON(!shim_preemptible() || saved.cpu < 0);
	s = shim_sleep_begin();
	saved.cpu = shim_task.cpu;
	shim_task.cpu = -1;
	shim_task.preempt = shim_task.migrate = shim_task.irq = 0;
	cpus_read_lock();
	shim_task.bound = shim_cpu_is_online(cpu);
	if (shim_task.bound)
		shim_cpu_enter(cpu);
	else
		shim_cpu_enter_any();
	cpus_read_unlock();
	work->func(work);
	shim_task.bound = false;
	shim_cpu_leave();
	shim_task = saved;
	shim_sleep_end(s);
	return true;
}

bool flush_work(struct work_struct *work)
{
	return false;
}

bool cancel_work_sync(struct work_struct *work)
{
	return false;
}

static pthread_mutex_t shim_timer_lock = PTHREAD_MUTEX_INITIALIZER;
#define SHIM_MAX_TIMERS	8
static struct delayed_work *shim_timers[SHIM_MAX_TIMERS];

bool queue_delayed_work(struct workqueue_struct *wq, struct delayed_work *dw,
			unsigned long delay)
{
	unsigned int i, free = SHIM_MAX_TIMERS;
	bool queued = false;

	pthread_mutex_lock(&shim_timer_lock);
	for (i = 0; i < SHIM_MAX_TIMERS; i++) {
		if (shim_timers[i] == dw)
			goto out;
		if (!shim_timers[i] && free == SHIM_MAX_TIMERS)
			free = i;
	}
	BUG_ON(free == SHIM_MAX_TIMERS);
	shim_timers[free] = dw;
	queued = true;
out:
	pthread_mutex_unlock(&shim_timer_lock);
	return queued;
}

bool mod_delayed_work(struct workqueue_struct *wq, struct delayed_work *dw,
		      unsigned long delay)
{
	return !queue_delayed_work(wq, dw, delay);
}

bool cancel_delayed_work_sync(struct delayed_work *dw)
{
	unsigned int i;
	bool was = false;

	pthread_mutex_lock(&shim_timer_lock);
	for (i = 0; i < SHIM_MAX_TIMERS; i++)
		if (shim_timers[i] == dw) {
			shim_timers[i] = NULL;
			was = true;
		}
	pthread_mutex_unlock(&shim_timer_lock);
	return was;
}

/*
 * The timers expire: every delayed work queued so far runs once, on this
 * thread's CPU as an unbound worker (it may queue itself again, for the
 * next call).  Context: on a CPU, preemptible.
 */
void shim_run_timers(void)
{
	struct delayed_work *due[SHIM_MAX_TIMERS];
	unsigned int i, n = 0;

	pthread_mutex_lock(&shim_timer_lock);
	for (i = 0; i < SHIM_MAX_TIMERS; i++)
		if (shim_timers[i]) {
			due[n++] = shim_timers[i];
			shim_timers[i] = NULL;
		}
	pthread_mutex_unlock(&shim_timer_lock);
	for (i = 0; i < n; i++)
		due[i]->work.func(&due[i]->work);
}

/* ---- CPU hotplug ---- */

#define SHIM_MAX_HP	4

static struct {
	int (*startup)(unsigned int cpu);
	int (*teardown)(unsigned int cpu);
} shim_hp[SHIM_MAX_HP];

int cpuhp_setup_state_nocalls(enum cpuhp_state state, const char *name,
			      int (*startup)(unsigned int cpu),
			      int (*teardown)(unsigned int cpu))
{
	struct shim_sleep s = shim_sleep_begin();
	int i;

	/* cpus_write_lock() sleeps: the CPU is given up while it waits */
	pthread_rwlock_wrlock(&shim_hp_lock);
	shim_sleep_end(s);
	for (i = 1; i < SHIM_MAX_HP && (shim_hp[i].startup ||
					shim_hp[i].teardown); i++)
		;
	if (i < SHIM_MAX_HP) {
		shim_hp[i].startup = startup;
		shim_hp[i].teardown = teardown;
	}
	pthread_rwlock_unlock(&shim_hp_lock);
	return i < SHIM_MAX_HP ? i : -ENOSPC;
}

void cpuhp_remove_state_nocalls(enum cpuhp_state state)
{
	struct shim_sleep s = shim_sleep_begin();

	pthread_rwlock_wrlock(&shim_hp_lock);
	shim_sleep_end(s);
	shim_hp[state].startup = NULL;
	shim_hp[state].teardown = NULL;
	pthread_rwlock_unlock(&shim_hp_lock);
}

/*
 * Take @cpu down, as the hotplug task on the calling thread's CPU: no new
 * task goes there, the ones on it move away at their next point where
 * they may (not with migration disabled), and once nothing runs there any
 * more the teardown callbacks run here.  The caller is on another CPU,
 * preemptible; the hotplug lock is taken for writing.  An offline CPU's
 * run lock is free, but only a task pinned there before takes it
 * (shim_run_lock()), and the hotplug waits for those to be gone.
 */
void shim_cpu_down(int cpu)
{
	struct shim_sleep s;
	int i;

	WARN_ON(cpu == shim_task.cpu);
	s = shim_sleep_begin();
	pthread_rwlock_wrlock(&shim_hp_lock);
	__atomic_store_n(&shim_online[cpu], 0, __ATOMIC_RELEASE);
	for (;;) {
		pthread_mutex_lock(&shim_run[cpu]);
		if (!__atomic_load_n(&shim_pinned[cpu], __ATOMIC_SEQ_CST))
			break;
		pthread_mutex_unlock(&shim_run[cpu]);
		sched_yield();
	}
	pthread_mutex_unlock(&shim_run[cpu]);
	shim_sleep_end(s);
	for (i = SHIM_MAX_HP - 1; i > 0; i--)
		if (shim_hp[i].teardown)
			shim_hp[i].teardown(cpu);
	pthread_rwlock_unlock(&shim_hp_lock);
}

/* Bring @cpu, taken down by this thread, up again. */
void shim_cpu_up(int cpu)
{
	struct shim_sleep s;
	int i;

	s = shim_sleep_begin();
	pthread_rwlock_wrlock(&shim_hp_lock);
	shim_sleep_end(s);
	for (i = 1; i < SHIM_MAX_HP; i++)
		if (shim_hp[i].startup)
			shim_hp[i].startup(cpu);
	__atomic_store_n(&shim_online[cpu], 1, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&shim_hp_lock);
}
