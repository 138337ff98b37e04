// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace shim under ka's layers: a simulated machine of
 * nr_node_ids nodes whose memory is one reserved region (the "direct
 * map"), a page allocator handing out naturally aligned blocks of it, a
 * metadata allocator, RCU with real grace periods, owner-tracking
 * spinlocks, printk, module parameters and fault injection.  The CPUs
 * the per-CPU layer runs on are shim_cpu.c's.
 *
 * Region layout, in blocks of SHIM_BLOCK_BYTES (the largest order, also
 * the size of one ka arena): block 0 is "foreign" memory ka never owns,
 * then SHIM_NODE_BLOCKS blocks per node.  PAGE_OFFSET is the region base.
 * Free pages are PROT_NONE, so a touch of a page ka gave back faults.
 */
#include <sched.h>
#include <stdarg.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "shim.h"

unsigned long shim_page_offset;
int nr_node_ids = 2;
struct shim_fault shim_fault;
struct shim_stats shim_stats;
bool shim_warn_fatal = true;
unsigned long shim_nr_warnings;
unsigned long shim_boot_blocks = 2;

#define SHIM_NR_BLOCKS	(1 + MAX_NUMNODES * SHIM_NODE_BLOCKS)
#define SHIM_NR_PAGES	(SHIM_NR_BLOCKS * SHIM_BLOCK_PAGES)
#define SHIM_NOT_BLOCK	0xff

static pthread_mutex_t shim_page_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long shim_page_used[BITS_TO_LONGS(SHIM_NR_PAGES)];
static u8 shim_block_order[SHIM_NR_PAGES];	/* at a block's first page */

static __thread int shim_my_tid, shim_my_locks, shim_rcu_depth;
static int shim_next_tid;

void shim_warn(const char *file, int line, const char *cond)
{
	fprintf(stderr, "WARNING: %s:%d: %s\n", file, line, cond);
	__atomic_add_fetch(&shim_nr_warnings, 1, __ATOMIC_RELAXED);
	if (shim_warn_fatal)
		abort();
}

int shim_tid(void)
{
	if (!shim_my_tid)
		shim_my_tid = __atomic_add_fetch(&shim_next_tid, 1,
						 __ATOMIC_RELAXED);
	return shim_my_tid;
}

int shim_locks_held(void)
{
	return shim_my_locks;
}

/* ---- fault injection ---- */

void shim_pattern_set(struct shim_pattern *p, u64 bits, unsigned int calls)
{
	p->bits = bits;
	p->left = calls;
}

static bool shim_pattern_fail(struct shim_pattern *p)
{
	bool fail;

	if (!p->left)
		return false;
	p->left--;
	fail = p->bits & 1;
	p->bits = p->bits >> 1 | p->bits << 63;
	return fail;
}

void shim_fault_reset(void)
{
	memset(&shim_fault, 0, sizeof(shim_fault));
	shim_fault.page_max_order = SHIM_MAX_ORDER;
}

/* As might_alloc(): ka never allocates under its locks, nor sleeps in RCU. */
static void shim_might_alloc(gfp_t gfp)
{
	WARN_ON(shim_my_locks);
	WARN_ON(gfpflags_allow_blocking(gfp) && shim_rcu_depth);
}

/* ---- pages ---- */

static unsigned long shim_pfn(const void *addr)
{
	return ((unsigned long)addr - PAGE_OFFSET) >> PAGE_SHIFT;
}

unsigned long node_end_pfn(int nid)
{
	return shim_boot_blocks * SHIM_BLOCK_PAGES;
}

unsigned long shim_region_bytes(void)
{
	return (unsigned long)SHIM_NR_BLOCKS * SHIM_BLOCK_BYTES;
}

void *shim_foreign_page(void)
{
	return (void *)(PAGE_OFFSET + PAGE_SIZE);
}

int ka_sys_page_node(const void *addr)
{
	unsigned long block = shim_pfn(addr) / SHIM_BLOCK_PAGES;

	return block ? (block - 1) / SHIM_NODE_BLOCKS : 0;
}

void shim_init(void)
{
	unsigned long bytes = shim_region_bytes() + SHIM_BLOCK_BYTES;
	char *p;

	if (shim_page_offset)
		return;
	p = mmap(NULL, bytes, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("shim: mmap");
		abort();
	}
	shim_page_offset = ALIGN((unsigned long)p, SHIM_BLOCK_BYTES);
	memset(shim_block_order, SHIM_NOT_BLOCK, sizeof(shim_block_order));
	/* block 0: someone else's memory, always mapped */
	bitmap_set(shim_page_used, 0, SHIM_BLOCK_PAGES);
	mprotect((void *)PAGE_OFFSET, SHIM_BLOCK_BYTES, PROT_READ | PROT_WRITE);
	shim_fault_reset();
}

/* A free naturally aligned block of 2^@order pages of @node, or -1. */
static long shim_find_block(int node, unsigned int order)
{
	unsigned long len = 1UL << order;
	unsigned long i = (1 + node * SHIM_NODE_BLOCKS) * SHIM_BLOCK_PAGES;
	unsigned long end = i + SHIM_NODE_BLOCKS * SHIM_BLOCK_PAGES;

	while (i + len <= end) {
		unsigned long used = find_next_bit(shim_page_used, i + len, i);

		if (used >= i + len)
			return i;
		i = ALIGN(used + 1, len);
	}
	return -1;
}

void *ka_sys_alloc_pages(int node, unsigned int order, gfp_t gfp,
			 bool exact_node, bool may_fail_fast)
{
	long pfn = -1;
	void *addr;
	int n;

	shim_might_alloc(gfp);
	WARN_ON(node < 0 || node >= nr_node_ids || order > SHIM_MAX_ORDER);
	pthread_mutex_lock(&shim_page_lock);
	shim_stats.page_allocs++;
	if (shim_pattern_fail(&shim_fault.page) ||
	    (int)order > shim_fault.page_max_order)
		goto fail;
	for (n = 0; n < nr_node_ids && pfn < 0; n++) {
		int nid = (node + n) % nr_node_ids;

		if (n && exact_node)
			break;
		if (!(shim_fault.node_full & (1U << nid)))
			pfn = shim_find_block(nid, order);
	}
	if (pfn < 0)
		goto fail;
	bitmap_set(shim_page_used, pfn, 1U << order);
	shim_block_order[pfn] = order;
	shim_stats.pages_out += 1UL << order;
	pthread_mutex_unlock(&shim_page_lock);
	addr = (void *)(PAGE_OFFSET + (pfn << PAGE_SHIFT));
	if (mprotect(addr, PAGE_SIZE << order, PROT_READ | PROT_WRITE))
		abort();
	return addr;
fail:
	shim_stats.page_fails++;
	pthread_mutex_unlock(&shim_page_lock);
	return NULL;
}

bool shim_block_is_out(const void *addr, unsigned int order)
{
	unsigned long pfn = shim_pfn(addr);

	return pfn < SHIM_NR_PAGES && shim_block_order[pfn] == order;
}

/* split_page(): each page of the block becomes a block of order 0. */
void ka_sys_split_pages(void *addr, unsigned int order)
{
	unsigned long pfn = shim_pfn(addr), i;

	pthread_mutex_lock(&shim_page_lock);
	if (!WARN_ON(!order || shim_block_order[pfn] != order))
		for (i = 0; i < 1UL << order; i++)
			shim_block_order[pfn + i] = 0;
	shim_stats.page_splits++;
	pthread_mutex_unlock(&shim_page_lock);
}

void ka_sys_free_pages(void *addr, unsigned int order)
{
	unsigned long pfn = shim_pfn(addr);

	/* the buddy allocator takes back exactly the block it gave */
	if (WARN_ON(!shim_block_is_out(addr, order)))
		return;
	madvise(addr, PAGE_SIZE << order, MADV_DONTNEED);
	mprotect(addr, PAGE_SIZE << order, PROT_NONE);
	pthread_mutex_lock(&shim_page_lock);
	bitmap_clear(shim_page_used, pfn, 1U << order);
	shim_block_order[pfn] = SHIM_NOT_BLOCK;
	shim_stats.pages_out -= 1UL << order;
	pthread_mutex_unlock(&shim_page_lock);
}

/* ---- metadata ---- */

void *shim_meta_alloc(size_t size, gfp_t gfp)
{
	bool fail;
	void *p;

	shim_might_alloc(gfp);
	pthread_mutex_lock(&shim_page_lock);
	fail = shim_pattern_fail(&shim_fault.meta);
	if (fail)
		shim_stats.meta_fails++;
	pthread_mutex_unlock(&shim_page_lock);
	if (fail)
		return NULL;
	p = calloc(1, size);
	if (p && (gfp & __GFP_POISON))
		memset(p, 0x6b, size);
	if (p) {
		__atomic_add_fetch(&shim_stats.meta_live, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&shim_stats.meta_bytes, malloc_usable_size(p),
				   __ATOMIC_RELAXED);
	}
	return p;
}

void shim_meta_free(const void *p)
{
	if (!p)
		return;
	__atomic_sub_fetch(&shim_stats.meta_live, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&shim_stats.meta_bytes,
			   malloc_usable_size((void *)p), __ATOMIC_RELAXED);
	free((void *)p);
}

char *shim_kstrdup(const char *str, gfp_t gfp)
{
	char *p = shim_meta_alloc(strlen(str) + 1, gfp);

	if (p)
		strcpy(p, str);
	return p;
}

void *shim_kv_alloc(size_t size)
{
	void *p;

	shim_might_alloc(GFP_KERNEL);
	p = calloc(1, size ?: 1);
	if (p)
		__atomic_add_fetch(&shim_stats.kv_live, 1, __ATOMIC_RELAXED);
	return p;
}

void shim_kv_free(const void *p)
{
	if (!p)
		return;
	__atomic_sub_fetch(&shim_stats.kv_live, 1, __ATOMIC_RELAXED);
	free((void *)p);
}

void *shim_kernel_cache(const char *what)
{
	fprintf(stderr, "shim: %s() of a kernel kmem_cache: utest has none\n",
		what);
	abort();
}

/* ---- printk, panic, module parameters, random numbers ---- */

__thread unsigned long shim_nr_errors, shim_nr_warns;
__thread char shim_last_msg[256];
static bool shim_verbose = -1;

void shim_printk(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(shim_last_msg, sizeof(shim_last_msg), fmt, ap);
	va_end(ap);
	if (level <= 3)
		shim_nr_errors++;
	else if (level == 4)
		shim_nr_warns++;
	if (__atomic_load_n(&shim_verbose, __ATOMIC_RELAXED) == (bool)-1)
		__atomic_store_n(&shim_verbose, !!getenv("KA_UT_VERBOSE"),
				 __ATOMIC_RELAXED);
	if (shim_verbose)
		fprintf(stderr, "[cpu %d] %s", shim_task.cpu, shim_last_msg);
}

void shim_panic(const char *fmt, ...)
{
	va_list ap;

	fputs("panic: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	abort();
}

#define SHIM_MAX_PARAMS	32

static struct {
	const char *name;
	void *addr;
	size_t size;
	const struct kernel_param_ops *ops;
} shim_params[SHIM_MAX_PARAMS];
static unsigned int shim_nr_params;

void shim_param_register(const char *name, void *addr, size_t size,
			 const struct kernel_param_ops *ops)
{
	BUG_ON(shim_nr_params == SHIM_MAX_PARAMS);
	shim_params[shim_nr_params].name = name;
	shim_params[shim_nr_params].addr = addr;
	shim_params[shim_nr_params].size = size;
	shim_params[shim_nr_params++].ops = ops;
}

/* As insmod's name=val; -ENOENT for no such parameter. */
int shim_param_set(const char *name, const char *val)
{
	unsigned long v;
	unsigned int i;

	for (i = 0; i < shim_nr_params; i++) {
		if (strcmp(shim_params[i].name, name))
			continue;
		if (shim_params[i].ops)
			return shim_params[i].ops->set(val, NULL);
		if (shim_params[i].size == sizeof(bool)) {
			*(bool *)shim_params[i].addr = *val == 'y' ||
						       *val == 'Y' || *val == '1';
			return 0;
		}
		if (kstrtoul(val, 0, &v))
			return -EINVAL;
		memcpy(shim_params[i].addr, &v, shim_params[i].size);
		return 0;
	}
	return -ENOENT;
}

static u64 shim_random_state = 0x9e3779b97f4a7c15ULL;

/* splitmix64: repeatable from shim_random_seed() (the fuzzer's inputs). */
u64 get_random_u64(void)
{
	u64 z = __atomic_add_fetch(&shim_random_state, 0x9e3779b97f4a7c15ULL,
				   __ATOMIC_RELAXED);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void shim_random_seed(u64 seed)
{
	__atomic_store_n(&shim_random_state, seed, __ATOMIC_RELAXED);
}

bool shim_init_on_alloc, shim_init_on_free;
struct folio shim_folio_slab = { .slab = true }, shim_folio_page;

/* ---- spinlocks ---- */

void shim_spin_lock_init(spinlock_t *lock, const char *name)
{
	pthread_mutex_init(&lock->mutex, NULL);
	lock->owner = 0;
	lock->name = name;
	lock->local = false;
	lock->raw = false;
}

void shim_local_lock_init(spinlock_t *lock)
{
	shim_spin_lock_init(lock, "local_lock");
	lock->local = true;
}

static void shim_spin_got(spinlock_t *lock)
{
	__atomic_store_n(&lock->owner, shim_tid(), __ATOMIC_RELAXED);
	if (!lock->local)
		shim_my_locks++;
}

/*
 * PREEMPT_RT: rt_spin_lock() - RCU read-side, migration disabled, and a
 * sleep while the lock is taken (the CPU given up).  !RT and raw locks:
 * preemption disabled, then spinning on the CPU.
 */
void shim_spin_lock(spinlock_t *lock)
{
	/* a recursive acquisition would deadlock: say so and stop */
	BUG_ON(shim_spin_held(lock));
#ifdef CONFIG_PREEMPT_RT
	if (!lock->raw) {
		shim_rcu_enter();
		migrate_disable();
		if (pthread_mutex_trylock(&lock->mutex)) {
			struct shim_sleep s = shim_sleep_begin();

			pthread_mutex_lock(&lock->mutex);
			shim_sleep_end(s);
		}
		shim_spin_got(lock);
		return;
	}
#endif
	preempt_disable();
	pthread_mutex_lock(&lock->mutex);
	shim_spin_got(lock);
}

int shim_spin_trylock(spinlock_t *lock)
{
#ifdef CONFIG_PREEMPT_RT
	if (!lock->raw) {
		if (pthread_mutex_trylock(&lock->mutex))
			return 0;
		shim_rcu_enter();
		migrate_disable();
		shim_spin_got(lock);
		return 1;
	}
#endif
	preempt_disable();
	if (pthread_mutex_trylock(&lock->mutex)) {
		preempt_enable();
		return 0;
	}
	shim_spin_got(lock);
	return 1;
}

void shim_spin_unlock(spinlock_t *lock)
{
	WARN_ON(!shim_spin_held(lock));
	if (!lock->local)
		shim_my_locks--;
	__atomic_store_n(&lock->owner, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock->mutex);
#ifdef CONFIG_PREEMPT_RT
	if (!lock->raw) {
		shim_rcu_exit();
		migrate_enable();
		return;
	}
#endif
	preempt_enable();
}

/* ---- RCU ---- */

#define SHIM_MAX_THREADS	64

struct shim_reader {
	unsigned long ctr;	/* odd: in a read-side section */
	bool used;
};

static struct shim_reader shim_readers[SHIM_MAX_THREADS];
/* the registry; the callback queue has its own lock: readers queue */
static pthread_mutex_t shim_rcu_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t shim_rcu_queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t shim_rcu_key;
static pthread_once_t shim_rcu_once = PTHREAD_ONCE_INIT;
static __thread struct shim_reader *shim_me;
static struct rcu_head *shim_rcu_queue;

static void shim_reader_exit(void *arg)
{
	struct shim_reader *r = arg;

	pthread_mutex_lock(&shim_rcu_lock);
	r->used = false;
	pthread_mutex_unlock(&shim_rcu_lock);
}

static void shim_rcu_key_init(void)
{
	pthread_key_create(&shim_rcu_key, shim_reader_exit);
}

static void shim_reader_register(void)
{
	int i;

	pthread_once(&shim_rcu_once, shim_rcu_key_init);
	pthread_mutex_lock(&shim_rcu_lock);
	for (i = 0; i < SHIM_MAX_THREADS && shim_readers[i].used; i++)
		;
	BUG_ON(i == SHIM_MAX_THREADS);
	shim_readers[i].used = true;
	shim_me = &shim_readers[i];
	pthread_mutex_unlock(&shim_rcu_lock);
	pthread_setspecific(shim_rcu_key, shim_me);
}

/* A read-side section: rcu_read_lock(), preempt_disable(), a spinlock. */
void shim_rcu_enter(void)
{
	if (shim_rcu_depth++)
		return;
	if (!shim_me)
		shim_reader_register();
	__atomic_add_fetch(&shim_me->ctr, 1, __ATOMIC_SEQ_CST);
}

void shim_rcu_exit(void)
{
	if (WARN_ON(shim_rcu_depth <= 0))
		return;
	if (!--shim_rcu_depth)
		__atomic_add_fetch(&shim_me->ctr, 1, __ATOMIC_SEQ_CST);
}

void rcu_read_lock(void)
{
	shim_rcu_enter();
}

void rcu_read_unlock(void)
{
	shim_rcu_exit();
	if (shim_preemptible())
		shim_preempt_point();
}

bool rcu_read_lock_any_held(void)
{
	return shim_rcu_depth > 0;
}

void synchronize_rcu(void)
{
	int i;

	struct shim_sleep s;

	WARN_ON(shim_rcu_depth);
	s = shim_sleep_begin();
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pthread_mutex_lock(&shim_rcu_lock);
	for (i = 0; i < SHIM_MAX_THREADS; i++) {
		struct shim_reader *r = &shim_readers[i];
		unsigned long snap = __atomic_load_n(&r->ctr, __ATOMIC_SEQ_CST);

		if (!(snap & 1))
			continue;
		while (__atomic_load_n(&r->ctr, __ATOMIC_SEQ_CST) == snap)
			sched_yield();
	}
	pthread_mutex_unlock(&shim_rcu_lock);
	shim_sleep_end(s);
}

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	head->func = func;
	pthread_mutex_lock(&shim_rcu_queue_lock);
	head->next = shim_rcu_queue;
	shim_rcu_queue = head;
	shim_stats.rcu_pending++;
	pthread_mutex_unlock(&shim_rcu_queue_lock);
}

/*
 * rcu_barrier(): after a grace period, run every callback queued before
 * the call.  A "callback" below 4096 is kfree_rcu()'s offset of the
 * rcu_head in the object to free.
 */
void shim_rcu_barrier(void)
{
	struct rcu_head *head, *next;
	unsigned long n = 0;

	WARN_ON(shim_my_locks);
	pthread_mutex_lock(&shim_rcu_queue_lock);
	head = shim_rcu_queue;
	shim_rcu_queue = NULL;
	pthread_mutex_unlock(&shim_rcu_queue_lock);
	if (!head)
		return;
	synchronize_rcu();
	for (; head; head = next, n++) {
		next = head->next;
		if ((unsigned long)head->func < 4096)
			shim_meta_free((char *)head - (unsigned long)head->func);
		else
			head->func(head);
	}
	pthread_mutex_lock(&shim_rcu_queue_lock);
	shim_stats.rcu_pending -= n;
	pthread_mutex_unlock(&shim_rcu_queue_lock);
}
