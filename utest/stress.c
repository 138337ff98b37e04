// SPDX-License-Identifier: GPL-2.0
/*
 * Threads as CPUs (for ThreadSanitizer): workers on the shim's 4 emulated
 * CPUs of 2 nodes run ka's real API and per-CPU layer.  They allocate,
 * fill every object with a pattern, free their own objects and pass others
 * to a neighbour to free (remote frees into spans other CPUs own), allocate
 * and free in bulk, and try frees ka must refuse; interrupts (!PREEMPT_RT)
 * or preempting tasks (PREEMPT_RT) allocate and free inside the owner's
 * per-CPU sections (mcache.h's test points).  A control thread
 * concurrently drains every CPU, trims, runs the periodic trim, changes
 * the per-CPU budget, takes CPUs down and up (their spans given back by
 * the cpuhp callback), gives empty spans and free chunks back, ends grace
 * periods and looks up random pointers as a lockless ka_free() would.
 * Every object's pattern is checked before it is freed.  After each round
 * all threads stop at a barrier and the invariants are checked (check.c);
 * at the end everything is freed and the teardown must find every page
 * given back.
 *
 * usage: stress [none|full] [rounds [ops per round]]
 *   none: tasks switch only between calls into ka (cond_resched(): a
 *         PREEMPT_NONE or _VOLUNTARY kernel), 4 workers;
 *   full: also at preemption points inside ka (PREEMPT, or PREEMPT_RT in
 *         the RT build), 6 workers on the 4 CPUs.
 * Prints "N passed, N failed" last.
 */
#include <stdlib.h>
#include <linux/sizes.h>
#include "harness.h"

#define ST_MAX_WORKERS	6
#define ST_LIVE		512
#define ST_INBOX	64
#define ST_IRQ		16

struct st_obj {
	u64 *p;
	size_t size;
	u64 seed;
};

struct st_worker {
	pthread_t thread;
	int id;
	unsigned int rnd;
	struct st_obj live[ST_LIVE];
	unsigned int nr;
	pthread_mutex_t inbox_lock;
	struct st_obj inbox[ST_INBOX];
	unsigned int inbox_nr;
	/* what its interrupts hold (the hook runs inside ka's sections) */
	struct st_obj irq[ST_IRQ];
	unsigned int nr_irq;
	bool in_irq;
	unsigned long allocs, frees, passed, refused, words, irqs;
};

static struct st_worker workers[ST_MAX_WORKERS];
static __thread struct st_worker *me;
static pthread_barrier_t round_start, round_end;
static unsigned int nr_workers = 4, rounds = 10, ops = 5000;
static int workers_done, stop;
static unsigned long bad_patterns, not_refused, failed_allocs, lookups;
static unsigned long bad_lookups, drains, trims, hotplugs, budgets;

static void fill(struct st_obj *o)
{
	size_t i;

	for (i = 0; i < o->size / 8; i++)
		o->p[i] = o->seed + i * 0x9e3779b97f4a7c15ULL;
}

static bool check(struct st_worker *w, struct st_obj *o)
{
	size_t i;

	for (i = 0; i < o->size / 8; i++)
		if (o->p[i] != o->seed + i * 0x9e3779b97f4a7c15ULL) {
			ut_err("object %p (%zu bytes): word %zu overwritten",
			       o->p, o->size, i);
			__atomic_add_fetch(&bad_patterns, 1, __ATOMIC_RELAXED);
			return false;
		}
	w->words += o->size / 8;
	return true;
}

static size_t rand_size(struct st_worker *w)
{
	unsigned int r = rand_r(&w->rnd);

	switch (r % 64) {
	case 0:
		return KA_MAX_SMALL_SIZE + 8 + (r >> 6) % (96 * 1024);
	case 1 ... 8:
		return 8 + (r >> 6) % KA_MAX_SMALL_SIZE;
	default:
		return 8 + (r >> 6) % 1024;
	}
}

static void keep(struct st_worker *w, struct st_obj *o, void *p, size_t size)
{
	o->p = p;
	o->size = size;
	o->seed = ((u64)rand_r(&w->rnd) << 32) | w->id;
	fill(o);
	w->allocs++;
}

static void release(struct st_worker *w, struct st_obj *o)
{
	check(w, o);
	if (ut_free(NULL, o->p) == UT_REFUSED) {
		ut_err("free of %p refused: %s", o->p, ut_refusal);
		__atomic_add_fetch(&not_refused, 1, __ATOMIC_RELAXED);
	}
	w->frees++;
}

/*
 * mcache.h's test point: an interrupt (!RT) or a task that preempted the
 * owner (RT) frees or allocates here, inside the owner's section, on the
 * owner's CPU - its trylock must fail and it must take the busy paths.
 */
static void st_hook(enum ka_mcache_point pt)
{
	struct st_worker *w = me;
	unsigned int r;

	if (!w || w->in_irq)
		return;
	r = rand_r(&w->rnd);
	if (r % 8)
		return;
	w->in_irq = true;
	w->irqs++;
	if (!IS_ENABLED(CONFIG_PREEMPT_RT))
		shim_irq_enter();
	if (w->nr_irq && (r >> 3) % 2) {
		struct st_obj *o = &w->irq[--w->nr_irq];

		release(w, o);
	} else if (w->nr_irq < ST_IRQ) {
		size_t size = 8 + (r >> 4) % 2048;
		void *p = ka_alloc(size, GFP_ATOMIC);

		if (p) {
			ut_claim_obj(p, size);
			keep(w, &w->irq[w->nr_irq++], p, size);
		}
	}
	if (!IS_ENABLED(CONFIG_PREEMPT_RT))
		shim_irq_exit();
	w->in_irq = false;
}

static void drain_inbox(struct st_worker *w)
{
	struct st_obj in[ST_INBOX];
	unsigned int n, i;

	pthread_mutex_lock(&w->inbox_lock);
	n = w->inbox_nr;
	memcpy(in, w->inbox, n * sizeof(in[0]));
	__atomic_store_n(&w->inbox_nr, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&w->inbox_lock);
	for (i = 0; i < n; i++)
		release(w, &in[i]);
}

/* Free a pointer that is no object: it must be refused. */
static void bad_free(struct st_worker *w, void *p)
{
	unsigned long before = ut_my_refused;

	if (ut_free(NULL, p) != UT_REFUSED || ut_my_refused != before + 1) {
		ut_err("free of %p, no object, not refused", p);
		__atomic_add_fetch(&not_refused, 1, __ATOMIC_RELAXED);
	}
	w->refused++;
}

static void step(struct st_worker *w)
{
	unsigned int r = rand_r(&w->rnd), i = (r >> 8) % (w->nr ? w->nr : 1);
	struct st_obj *o = &w->live[i];
	void *batch[32];
	size_t size;
	int n, k;

	/* between two calls: where a PREEMPT_NONE kernel switches tasks */
	shim_cond_resched();
	if (__atomic_load_n(&w->inbox_nr, __ATOMIC_RELAXED))
		drain_inbox(w);
	switch (r % 100) {
	case 0 ... 39:
		if (w->nr == ST_LIVE)
			goto free_own;
		size = rand_size(w);
		batch[0] = r % 8 ? ut_alloc(NULL, size, GFP_KERNEL) :
			   ut_alloc_node((r >> 3) % nr_node_ids, size,
					 GFP_KERNEL);
		if (!batch[0]) {
			__atomic_add_fetch(&failed_allocs, 1, __ATOMIC_RELAXED);
			break;
		}
		keep(w, &w->live[w->nr++], batch[0], size);
		break;
	case 40 ... 74:
free_own:
		if (!w->nr)
			break;
		release(w, o);
		*o = w->live[--w->nr];
		break;
	case 75 ... 89: {	/* a neighbour frees it: remote or cross-CPU */
		struct st_worker *to =
			&workers[(w->id + 1 + r % (nr_workers - 1)) % nr_workers];

		if (!w->nr)
			break;
		check(w, o);
		pthread_mutex_lock(&to->inbox_lock);
		if (to->inbox_nr < ST_INBOX) {
			to->inbox[to->inbox_nr] = *o;
			__atomic_store_n(&to->inbox_nr, to->inbox_nr + 1,
					 __ATOMIC_RELAXED);
			*o = w->live[--w->nr];
			w->passed++;
		}
		pthread_mutex_unlock(&to->inbox_lock);
		break;
	}
	case 90 ... 93:
		size = 8 + (r >> 8) % 2048;
		n = 1 + (r >> 20) % ARRAY_SIZE(batch);
		if (w->nr + n > ST_LIVE)
			break;
		if (!ut_alloc_bulk(NULL, size, GFP_KERNEL, n, batch)) {
			__atomic_add_fetch(&failed_allocs, 1, __ATOMIC_RELAXED);
			break;
		}
		for (k = 0; k < n; k++)
			keep(w, &w->live[w->nr++], batch[k], size);
		break;
	case 94 ... 95:		/* the last few, freed in bulk */
		n = min_t(unsigned int, w->nr, 1 + (r >> 8) % ARRAY_SIZE(batch));
		for (k = 0; k < n; k++) {
			o = &w->live[w->nr - 1 - k];
			check(w, o);
			batch[k] = o->p;
		}
		w->nr -= n;
		ut_free_bulk(NULL, n, batch);
		w->frees += n;
		break;
	case 96 ... 97:
		if (w->nr && o->size > 8)
			bad_free(w, (char *)o->p + 8 * (1 + (r >> 20) %
						       (o->size / 8 - 1 ?: 1)));
		else
			bad_free(w, shim_foreign_page());
		break;
	default: {
		struct ut_cpu cpu = { .id = shim_task.cpu };

		ut_flush_mag(&cpu, 1 + (r >> 8) % (ka_nr_classes - 1),
			     KA_BATCH_MAX);
		break;
	}
	}
}

static void *worker(void *arg)
{
	struct st_worker *w = arg;
	unsigned int round, i;

	me = w;
	shim_cpu_enter(w->id % nr_cpu_ids);
	for (round = 0; round < rounds; round++) {
		shim_cpu_leave();
		pthread_barrier_wait(&round_start);
		shim_cpu_enter(w->id % nr_cpu_ids);
		for (i = 0; i < ops; i++)
			step(w);
		__atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
		shim_cpu_leave();
		pthread_barrier_wait(&round_end);
		shim_cpu_enter(w->id % nr_cpu_ids);
	}
	/* the end: everything back, with no more interrupts allocating */
	w->in_irq = true;
	shim_cpu_leave();
	pthread_barrier_wait(&round_start);
	shim_cpu_enter(w->id % nr_cpu_ids);
	while (w->nr)
		release(w, &w->live[--w->nr]);
	while (w->nr_irq)
		release(w, &w->irq[--w->nr_irq]);
	__atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
	shim_cpu_leave();
	pthread_barrier_wait(&round_end);
	pthread_barrier_wait(&round_start);
	shim_cpu_enter(w->id % nr_cpu_ids);
	drain_inbox(w);
	__atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
	shim_cpu_leave();
	pthread_barrier_wait(&round_end);
	return NULL;
}

/* Lookups of random pointers near live memory, as a racing ka_free(). */
static void lookup(unsigned int *rnd)
{
	unsigned long off = ((unsigned long)rand_r(rnd) << 3) % (1UL << 22);
	int node = rand_r(rnd) % nr_node_ids;
	struct ka_span *span;
	const char *why;
	void *p;

	p = (char *)PAGE_OFFSET + SHIM_BLOCK_BYTES * (1 + node *
						    SHIM_NODE_BLOCKS) + off;
	rcu_read_lock();
	span = ut_check_ptr(p, &why);
	if (span && !ut_obj_valid(span, p)) {
		ut_err("%p taken for an object of span %p", p, span);
		bad_lookups++;
	}
	rcu_read_unlock();
	lookups++;
}

static void *control(void *arg)
{
	unsigned int rnd = 12345, round;
	int down = -1;

	shim_cpu_enter(0);
	for (round = 0; round <= rounds + 1; round++) {
		shim_cpu_leave();
		pthread_barrier_wait(&round_start);
		shim_cpu_enter(nr_cpu_ids - 1);
		while (__atomic_load_n(&workers_done, __ATOMIC_SEQ_CST) <
		       (int)nr_workers && !stop) {
			unsigned int r = rand_r(&rnd), i;

			shim_cond_resched();
			switch (r % 16) {
			case 0:
				ka_mcentral_release(ka_mcentral_of(r / 16 % nr_node_ids,
								   1 + r / 32 %
								   (ka_nr_classes - 1)),
						    r / 4096 % 2);
				break;
			case 1:
				if (r / 16 % 4 < 2) {
					ka_large_trim(ka_mheap_of(r / 16 % nr_node_ids),
						      false);
					ka_mheap_release(ka_mheap_of(r / 16 % nr_node_ids),
							 r / 64 % 2);
				} else {
					ka_mheap_scavenge(ka_mheap_of(r / 16 % nr_node_ids),
							  r / 64 % 512);
				}
				break;
			case 2:
				ka_mcache_drain_all();
				drains++;
				break;
			case 3:
				ka_mcache_trim_all();
				trims++;
				break;
			case 4:
				/* the periodic trim's tick (and the heaps') */
				shim_run_timers();
				break;
			case 5:
				/* a budget from 0 to 4 MiB, or the default */
				ka_mcache_set_budget(r / 16 % 3 ?
						     (r / 64 % 5) * SZ_1M :
						     2 * SZ_1M);
				budgets++;
				break;
			case 6:
				if (down >= 0) {
					shim_cpu_up(down);
					down = -1;
				} else {
					down = r / 16 % (nr_cpu_ids - 1);
					if (down == shim_task.cpu)
						down = nr_cpu_ids - 1 - down;
					shim_cpu_down(down);
					hotplugs++;
				}
				break;
			case 7:
				shim_rcu_barrier();
				break;
			case 8:
				ut_release_all(r / 16 % 2);
				break;
			default:
				for (i = 0; i < 16; i++)
					lookup(&rnd);
				break;
			}
		}
		if (down >= 0) {
			shim_cpu_up(down);
			down = -1;
		}
		shim_cpu_leave();
		pthread_barrier_wait(&round_end);
		shim_cpu_enter(nr_cpu_ids - 1);
	}
	shim_cpu_leave();
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long passed = 0, failed = 0, allocs = 0, frees = 0, xfree = 0;
	unsigned long refused = 0, words = 0, irqs = 0;
	const char *mode = "none";
	pthread_t ctl;
	unsigned int round, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		mode = argv[1];
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		ops = atoi(argv[3]);
	shim_sched.migrate = true;
	shim_sched.resched_rate = 8;
	if (!strcmp(mode, "full")) {
		shim_sched.preempt_rate = 64;
		nr_workers = 6;
	} else if (strcmp(mode, "none")) {
		printf("stress: unknown mode %s\n0 passed, 1 failed\n", mode);
		return 1;
	}
	shim_warn_fatal = false;
	if (ut_init()) {
		printf("stress: init failed\n0 passed, 1 failed\n");
		return 1;
	}
	/* the threads take CPUs themselves */
	shim_cpu_leave();
	ka_mcache_test_hook = st_hook;
	pthread_barrier_init(&round_start, NULL, nr_workers + 2);
	pthread_barrier_init(&round_end, NULL, nr_workers + 2);
	for (i = 0; i < nr_workers; i++) {
		struct st_worker *w = &workers[i];

		w->id = i;
		w->rnd = i + 1;
		pthread_mutex_init(&w->inbox_lock, NULL);
		pthread_create(&w->thread, NULL, worker, w);
	}
	pthread_create(&ctl, NULL, control, NULL);
	for (round = 0; round < rounds + 2; round++) {
		unsigned long problems;

		__atomic_store_n(&workers_done, 0, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&round_start);
		pthread_barrier_wait(&round_end);
		/* everyone is stopped, outside ka: check */
		shim_cpu_enter(0);
		shim_rcu_barrier();
		problems = ut_check();
		shim_cpu_leave();
		if (problems)
			printf("round %u: %lu invariants broken\n", round,
			       problems);
		problems ? failed++ : passed++;
	}
	pthread_join(ctl, NULL);
	for (i = 0; i < nr_workers; i++) {
		pthread_join(workers[i].thread, NULL);
		allocs += workers[i].allocs;
		frees += workers[i].frees;
		xfree += workers[i].passed;
		refused += workers[i].refused;
		words += workers[i].words;
		irqs += workers[i].irqs;
	}
	ka_mcache_test_hook = NULL;
	shim_cpu_enter(0);
	ut_release_all(0);
	if (ut_exit())
		failed++;
	else
		passed++;
	if (bad_patterns || not_refused || bad_lookups || shim_nr_warnings)
		failed++;
	else
		passed++;
	printf("stress: %s%s, %u workers on %d CPUs, %u rounds of %u ops: %lu allocs, %lu frees (%lu by another CPU), %lu interrupts in sections, %lu invalid frees refused, %lu words checked, %lu lookups, %lu failed allocs\n",
	       mode, IS_ENABLED(CONFIG_PREEMPT_RT) ? " PREEMPT_RT" : "",
	       nr_workers, nr_cpu_ids, rounds, ops, allocs, frees, xfree, irqs,
	       refused, words, lookups, failed_allocs);
	printf("stress: %lu drains, %lu trims, %lu budget changes, %lu CPUs taken down, %lu ka_alloc_node() calls moved to another CPU inside ka (node checked); %lu patterns overwritten, %lu bad frees accepted or good ones refused, %lu pointers taken for objects, %lu warnings\n",
	       drains, trims, budgets, hotplugs, ut_node_moved, bad_patterns,
	       not_refused, bad_lookups, shim_nr_warnings);
	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
