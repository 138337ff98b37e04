// SPDX-License-Identifier: GPL-2.0
/*
 * Threads as CPUs (for ThreadSanitizer): 4 workers, two per node, each
 * with its own emulated CPU, allocate, fill every object with a pattern,
 * free their own objects and pass others to a neighbour to free (remote
 * and cross-CPU frees), allocate in bulk, and try frees ka must refuse.
 * A drain thread concurrently gives empty spans and free chunks back,
 * asks the workers to flush their magazines, ends grace periods and looks
 * up random pointers as a lockless ka_free() would.  Every object's pattern
 * is checked before it is freed.  After each round all threads stop at a
 * barrier and the invariants are checked; at the end everything is freed
 * and the teardown must find every page given back.
 *
 * usage: stress [rounds [ops per round]]; prints "N passed, N failed" last.
 */
#include <stdlib.h>
#include "harness.h"

#define ST_WORKERS	4
#define ST_LIVE		512
#define ST_INBOX	64

struct st_obj {
	u64 *p;
	size_t size;
	u64 seed;
};

struct st_worker {
	pthread_t thread;
	int id;
	unsigned int rnd;
	struct ut_cpu cpu;
	struct st_obj live[ST_LIVE];
	unsigned int nr;
	pthread_mutex_t inbox_lock;
	struct st_obj inbox[ST_INBOX];
	unsigned int inbox_nr;
	unsigned long allocs, frees, passed, refused, words;
};

static struct st_worker workers[ST_WORKERS];
static pthread_barrier_t round_start, round_end;
static unsigned int rounds = 20, ops = 5000;
static int workers_done, stop;
static unsigned long bad_patterns, not_refused, failed_allocs, lookups;
static unsigned long bad_lookups;

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

static void keep(struct st_worker *w, void *p, size_t size)
{
	struct st_obj *o = &w->live[w->nr++];

	o->p = p;
	o->size = size;
	o->seed = ((u64)rand_r(&w->rnd) << 32) | w->id;
	fill(o);
	w->allocs++;
}

static void release(struct st_worker *w, struct st_obj *o)
{
	check(w, o);
	if (ut_free(&w->cpu, o->p) == UT_REFUSED) {
		ut_err("free of %p refused: %s", o->p, ut_refusal);
		__atomic_add_fetch(&not_refused, 1, __ATOMIC_RELAXED);
	}
	w->frees++;
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

	if (ut_free(&w->cpu, p) != UT_REFUSED || ut_my_refused != before + 1) {
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

	if (__atomic_load_n(&w->cpu.flush_req, __ATOMIC_RELAXED))
		ut_flush_cpu(&w->cpu);
	if (__atomic_load_n(&w->inbox_nr, __ATOMIC_RELAXED))
		drain_inbox(w);
	switch (r % 100) {
	case 0 ... 39:
		if (w->nr == ST_LIVE)
			goto free_own;
		size = rand_size(w);
		batch[0] = r % 8 ? ut_alloc(&w->cpu, size, GFP_KERNEL) :
			   ut_alloc_node(!w->cpu.node, size, GFP_KERNEL);
		if (!batch[0]) {
			__atomic_add_fetch(&failed_allocs, 1, __ATOMIC_RELAXED);
			break;
		}
		keep(w, batch[0], size);
		break;
	case 40 ... 74:
free_own:
		if (!w->nr)
			break;
		release(w, o);
		*o = w->live[--w->nr];
		break;
	case 75 ... 89: {	/* a neighbour frees it: remote or cross-CPU */
		struct st_worker *to = &workers[(w->id + 1 + r % 3) % ST_WORKERS];

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
	case 90 ... 94:
		size = 8 + (r >> 8) % 2048;
		n = 1 + (r >> 20) % ARRAY_SIZE(batch);
		if (w->nr + n > ST_LIVE)
			break;
		if (!ut_alloc_bulk(&w->cpu, size, GFP_KERNEL, n, batch)) {
			__atomic_add_fetch(&failed_allocs, 1, __ATOMIC_RELAXED);
			break;
		}
		for (k = 0; k < n; k++)
			keep(w, batch[k], size);
		break;
	case 95 ... 97:
		if (w->nr && o->size > 8)
			bad_free(w, (char *)o->p + 8 * (1 + (r >> 20) %
						       (o->size / 8 - 1 ?: 1)));
		else
			bad_free(w, shim_foreign_page());
		break;
	default:
		ut_flush_mag(&w->cpu, 1 + (r >> 8) % (ka_nr_classes - 1),
			     KA_BATCH_MAX);
		break;
	}
}

static void *worker(void *arg)
{
	struct st_worker *w = arg;
	unsigned int round, i;

	for (round = 0; round < rounds; round++) {
		pthread_barrier_wait(&round_start);
		for (i = 0; i < ops; i++)
			step(w);
		__atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&round_end);
	}
	/* the end: everything back */
	pthread_barrier_wait(&round_start);
	while (w->nr)
		release(w, &w->live[--w->nr]);
	__atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
	pthread_barrier_wait(&round_end);
	pthread_barrier_wait(&round_start);
	drain_inbox(w);
	ut_flush_cpu(&w->cpu);
	__atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
	pthread_barrier_wait(&round_end);
	return NULL;
}

/* Lookups of random pointers near live memory, as a racing ka_free(). */
static void lookup(unsigned int *rnd)
{
	struct st_worker *w = &workers[rand_r(rnd) % ST_WORKERS];
	unsigned long off = ((unsigned long)rand_r(rnd) << 3) % (1UL << 22);
	struct ka_span *span;
	const char *why;
	void *p;

	p = (char *)PAGE_OFFSET + SHIM_BLOCK_BYTES * (1 + w->cpu.node *
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

static void *drainer(void *arg)
{
	unsigned int rnd = 12345, round;

	for (round = 0; round <= rounds + 1; round++) {
		pthread_barrier_wait(&round_start);
		while (__atomic_load_n(&workers_done, __ATOMIC_SEQ_CST) <
		       ST_WORKERS && !stop) {
			unsigned int r = rand_r(&rnd), i;

			switch (r % 8) {
			case 0:
				ka_central_release(ka_central_of(r / 8 % nr_node_ids,
								 1 + r / 16 % (ka_nr_classes - 1)),
						   r / 4096 % 2);
				break;
			case 1:
				if (r / 16 % 4 < 2)
					ka_heap_release(ka_heap_of(r / 8 % nr_node_ids),
							r / 16 % 2);
				else
					ka_heap_scavenge(ka_heap_of(r / 8 % nr_node_ids),
							 r / 64 % 512);
				break;
			case 2:
				__atomic_store_n(&workers[r / 8 % ST_WORKERS].cpu.flush_req,
						 1, __ATOMIC_RELAXED);
				break;
			case 3:
				shim_rcu_barrier();
				break;
			case 4:
				ut_release_all(r / 8 % 2);
				break;
			default:
				for (i = 0; i < 16; i++)
					lookup(&rnd);
				break;
			}
		}
		pthread_barrier_wait(&round_end);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long passed = 0, failed = 0, allocs = 0, frees = 0, xfree = 0;
	unsigned long refused = 0, words = 0;
	pthread_t drain;
	unsigned int round, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		rounds = atoi(argv[1]);
	if (argc > 2)
		ops = atoi(argv[2]);
	shim_warn_fatal = false;
	ut_paranoid = true;
	if (ut_init()) {
		printf("stress: init failed\n0 passed, 1 failed\n");
		return 1;
	}
	pthread_barrier_init(&round_start, NULL, ST_WORKERS + 2);
	pthread_barrier_init(&round_end, NULL, ST_WORKERS + 2);
	for (i = 0; i < ST_WORKERS; i++) {
		struct st_worker *w = &workers[i];

		w->id = i;
		w->rnd = i + 1;
		ut_cpu_init(&w->cpu, i, i % nr_node_ids);
		pthread_mutex_init(&w->inbox_lock, NULL);
		pthread_create(&w->thread, NULL, worker, w);
	}
	pthread_create(&drain, NULL, drainer, NULL);
	for (round = 0; round < rounds + 2; round++) {
		unsigned long problems;

		__atomic_store_n(&workers_done, 0, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&round_start);
		pthread_barrier_wait(&round_end);
		/* everyone is stopped: check */
		shim_rcu_barrier();
		problems = ut_check();
		if (problems)
			printf("round %u: %lu invariants broken\n", round,
			       problems);
		problems ? failed++ : passed++;
	}
	pthread_join(drain, NULL);
	for (i = 0; i < ST_WORKERS; i++) {
		pthread_join(workers[i].thread, NULL);
		allocs += workers[i].allocs;
		frees += workers[i].frees;
		xfree += workers[i].passed;
		refused += workers[i].refused;
		words += workers[i].words;
	}
	ut_release_all(0);
	if (ut_exit())
		failed++;
	else
		passed++;
	if (bad_patterns || not_refused || bad_lookups || shim_nr_warnings)
		failed++;
	else
		passed++;
	printf("stress: %u workers, %u rounds of %u ops: %lu allocs, %lu frees (%lu by another CPU), %lu invalid frees refused, %lu words checked, %lu lookups, %lu failed allocs\n",
	       ST_WORKERS, rounds, ops, allocs, frees, xfree, refused, words,
	       lookups, failed_allocs);
	printf("stress: %lu patterns overwritten, %lu bad frees accepted or good ones refused, %lu pointers taken for objects, %lu warnings\n",
	       bad_patterns, not_refused, bad_lookups, shim_nr_warnings);
	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
