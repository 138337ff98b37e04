// SPDX-License-Identifier: GPL-2.0
/*
 * ka_demo - a client of ka that uses nothing but the public API in <ka.h>.
 *
 * At load it runs self-checks and prints the results as KTAP through
 * pr_info(), so every line carries the "ka_demo: " prefix; the host strips
 * that prefix and feeds the lines to kunit.py (scripts/ktap-report).  A failed
 * check does not fail the load: the host reads the KTAP and decides.
 *
 * With workload=1 it also keeps a set of small, large and cross-CPU
 * allocations alive until it is unloaded, so that ka's debugfs files have
 * something to show (make run).  With leak=1 as well it never frees them,
 * as a leaking client would: ka names what was never freed when it is
 * unloaded in turn (scripts/guest/debug.sh checks that, and that kmemleak
 * forgets the objects whose pages ka gives back).
 *
 * The lines "KA-EXPECT-BEGIN" and "KA-EXPECT-END" bracket a deliberate misuse
 * of the API; the host's log scanner tolerates the error report ka prints
 * between them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/topology.h>
#include <linux/workqueue.h>

#include <ka.h>

#include "../ka_testutil.h"

static bool workload;
module_param(workload, bool, 0444);
MODULE_PARM_DESC(workload,
		 "Keep small, large and cross-CPU allocations alive until unload");

static bool leak;
module_param(leak, bool, 0444);
MODULE_PARM_DESC(leak, "With workload=1: never free its objects (a leaking client)");

enum demo_result { DEMO_OK, DEMO_FAIL, DEMO_SKIP };

/* Why the current check failed or was skipped. */
static char why[160];

#define demo_fail(fmt, ...) \
	({ snprintf(why, sizeof(why), fmt, ##__VA_ARGS__); DEMO_FAIL; })
#define demo_skip(fmt, ...) \
	({ snprintf(why, sizeof(why), fmt, ##__VA_ARGS__); DEMO_SKIP; })

/* All sizes 1..4096, alive at the same time, so overlaps show up. */
#define SMALL_MAX 4096

static int check_small_sizes(void)
{
	int ret = DEMO_OK;
	void **obj;
	size_t sz;
	long bad;

	obj = kvcalloc(SMALL_MAX + 1, sizeof(*obj), GFP_KERNEL);
	if (!obj)
		return demo_fail("no memory for the object table");
	for (sz = 1; sz <= SMALL_MAX; sz++) {
		obj[sz] = ka_alloc(sz, GFP_KERNEL);
		if (!obj[sz]) {
			ret = demo_fail("ka_alloc(%zu) returned NULL", sz);
			break;
		}
		ka_test_fill(obj[sz], sz, sz);
	}
	for (sz = 1; sz <= SMALL_MAX && ret == DEMO_OK; sz++) {
		bad = ka_test_bad(obj[sz], sz, sz);
		if (bad >= 0)
			ret = demo_fail("object of %zu bytes corrupted at offset %ld",
					sz, bad);
	}
	for (sz = 1; sz <= SMALL_MAX; sz++)
		ka_free(obj[sz]);
	kvfree(obj);
	return ret;
}

/* The remaining small classes, 4 KiB .. KA_MAX_SMALL_SIZE. */
static int check_medium_sizes(void)
{
	enum { N = (KA_MAX_SMALL_SIZE - SMALL_MAX) / 97 + 2 };
	int ret = DEMO_OK;
	void **obj;
	size_t *len;
	int i, n = 0;
	long bad;

	obj = kcalloc(N, sizeof(*obj), GFP_KERNEL);
	len = kcalloc(N, sizeof(*len), GFP_KERNEL);
	if (!obj || !len) {
		ret = demo_fail("no memory for the object table");
		goto out;
	}
	for (n = 0; n < N; n++) {
		len[n] = min_t(size_t, SMALL_MAX + 1 + n * 97, KA_MAX_SMALL_SIZE);
		obj[n] = ka_alloc(len[n], GFP_KERNEL);
		if (!obj[n]) {
			ret = demo_fail("ka_alloc(%zu) returned NULL", len[n]);
			break;
		}
		ka_test_fill(obj[n], len[n], n);
	}
	for (i = 0; i < n && ret == DEMO_OK; i++) {
		bad = ka_test_bad(obj[i], len[i], i);
		if (bad >= 0)
			ret = demo_fail("object of %zu bytes corrupted at offset %ld",
					len[i], bad);
	}
	for (i = 0; i < n; i++)
		ka_free(obj[i]);
out:
	kfree(len);
	kfree(obj);
	return ret;
}

static const size_t large_sizes[] = {
	64 << 10, (64 << 10) + 1, 100000, 128 << 10, 256 << 10,
	(512 << 10) - 8, 1 << 20, (1 << 20) + 4096, 3 << 20, KA_MAX_SIZE,
};

static int check_large_sizes(void)
{
	void *obj[ARRAY_SIZE(large_sizes)] = { };
	int ret = DEMO_OK;
	unsigned int i;
	long bad;

	for (i = 0; i < ARRAY_SIZE(large_sizes); i++) {
		obj[i] = ka_alloc(large_sizes[i], GFP_KERNEL);
		if (!obj[i]) {
			ret = demo_fail("ka_alloc(%zu) returned NULL",
					large_sizes[i]);
			break;
		}
		ka_test_fill(obj[i], large_sizes[i], i + 1);
	}
	for (i = 0; i < ARRAY_SIZE(large_sizes) && ret == DEMO_OK; i++) {
		bad = ka_test_bad(obj[i], large_sizes[i], i + 1);
		if (bad >= 0)
			ret = demo_fail("object of %zu bytes corrupted at offset %ld",
					large_sizes[i], bad);
	}
	for (i = 0; i < ARRAY_SIZE(large_sizes); i++)
		ka_free(obj[i]);
	return ret;
}

static int check_too_large(void)
{
	void *p;

	p = ka_alloc(KA_MAX_SIZE + 1, GFP_KERNEL | __GFP_NOWARN);
	if (p) {
		ka_free(p);
		return demo_fail("ka_alloc(KA_MAX_SIZE + 1) did not return NULL");
	}
	p = ka_alloc_array(SIZE_MAX / 2, 4, GFP_KERNEL | __GFP_NOWARN);
	if (p) {
		ka_free(p);
		return demo_fail("ka_alloc_array() overflow did not return NULL");
	}
	return DEMO_OK;
}

static int check_zero_size(void)
{
	void *p = ka_alloc(0, GFP_KERNEL);

	if (p != ZERO_SIZE_PTR) {
		ka_free(p);
		return demo_fail("ka_alloc(0) returned %p, not ZERO_SIZE_PTR", p);
	}
	ka_free(p);
	ka_free(NULL);
	return DEMO_OK;
}

static int check_alignment(void)
{
	size_t sz;
	void *p;
	int i;

	for (sz = 1; sz <= 8192; sz += (sz < 256 ? 1 : 61)) {
		p = ka_alloc(sz, GFP_KERNEL);
		if (!p)
			return demo_fail("ka_alloc(%zu) returned NULL", sz);
		ka_free(p);
		if (!IS_ALIGNED((unsigned long)p, 8))
			return demo_fail("%zu-byte object at %p is not 8-byte aligned",
					 sz, p);
	}
	for (sz = 8; sz <= PAGE_SIZE; sz <<= 1) {
		for (i = 0; i < 4; i++) {
			p = ka_alloc(sz, GFP_KERNEL);
			if (!p)
				return demo_fail("ka_alloc(%zu) returned NULL", sz);
			ka_free(p);
			if (!IS_ALIGNED((unsigned long)p, sz))
				return demo_fail("%zu-byte object at %p is not naturally aligned",
						 sz, p);
		}
	}
	return DEMO_OK;
}

static const size_t some_sizes[] = {
	1, 8, 9, 16, 33, 100, 128, 250, 512, 1000, 2048, 4000, 4096, 5000,
	8192, 12000, 32768, 32769, 65536, 200000, 1 << 20,
};

static int check_size(void)
{
	size_t got;
	unsigned int i;
	void *p;

	for (i = 0; i < ARRAY_SIZE(some_sizes); i++) {
		p = ka_alloc(some_sizes[i], GFP_KERNEL);
		if (!p)
			return demo_fail("ka_alloc(%zu) returned NULL",
					 some_sizes[i]);
		got = ka_size(p);
		if (got < some_sizes[i]) {
			ka_free(p);
			return demo_fail("ka_size() = %zu for a %zu-byte request",
					 got, some_sizes[i]);
		}
		/* The whole usable size belongs to the caller. */
		ka_test_fill(p, got, i);
		if (ka_test_bad(p, got, i) >= 0) {
			ka_free(p);
			return demo_fail("usable size %zu not writable", got);
		}
		ka_free(p);
	}
	return DEMO_OK;
}

static int check_zalloc(void)
{
	unsigned int i;
	size_t j, len;
	u8 *p, val;

	for (i = 0; i < ARRAY_SIZE(some_sizes); i++) {
		len = some_sizes[i];
		/* Dirty a slot of this size first so that reuse shows. */
		p = ka_alloc(len, GFP_KERNEL);
		if (!p)
			return demo_fail("ka_alloc(%zu) returned NULL", len);
		memset(p, 0xa5, len);
		ka_free(p);
		p = ka_zalloc(len, GFP_KERNEL);
		if (!p)
			return demo_fail("ka_zalloc(%zu) returned NULL", len);
		for (j = 0; j < len; j++)
			if (p[j])
				break;
		val = j < len ? p[j] : 0;
		ka_free(p);
		if (j < len)
			return demo_fail("ka_zalloc(%zu): byte %zu is 0x%02x",
					 len, j, val);
	}
	return DEMO_OK;
}

static int check_realloc(void)
{
	static const size_t steps[] = {
		16, 100, 5000, 70000, 40000, 32768, 1 << 20, 300, 8,
	};
	size_t kept = steps[0];
	unsigned int i;
	void *p, *q;
	long bad;

	p = ka_realloc(NULL, steps[0], GFP_KERNEL);
	if (!p)
		return demo_fail("ka_realloc(NULL, %zu) returned NULL", steps[0]);
	ka_test_fill(p, steps[0], 42);
	for (i = 1; i < ARRAY_SIZE(steps); i++) {
		q = ka_realloc(p, steps[i], GFP_KERNEL);
		if (!q) {
			ka_free(p);
			return demo_fail("ka_realloc(%zu -> %zu) returned NULL",
					 steps[i - 1], steps[i]);
		}
		p = q;
		kept = min(kept, steps[i]);
		bad = ka_test_bad(p, kept, 42);
		if (bad >= 0) {
			ka_free(p);
			return demo_fail("ka_realloc(%zu -> %zu) lost byte %ld",
					 steps[i - 1], steps[i], bad);
		}
		if (ka_size(p) < steps[i]) {
			ka_free(p);
			return demo_fail("ka_realloc(.., %zu): ka_size() is %zu",
					 steps[i], ka_size(p));
		}
		/* Refill so that the grown part is checked by the next step. */
		ka_test_fill(p, steps[i], 42);
		kept = steps[i];
	}
	ka_free(p);
	return DEMO_OK;
}

#define BULK_N 64

static int check_bulk(void)
{
	static const size_t sizes[] = { 8, 96, 1024, 4096, 20000, 65536 };
	void *obj[BULK_N];
	unsigned int i, j;
	int got, ret = DEMO_OK;
	long bad;

	for (i = 0; i < ARRAY_SIZE(sizes) && ret == DEMO_OK; i++) {
		memset(obj, 0, sizeof(obj));
		got = ka_alloc_bulk(sizes[i], GFP_KERNEL, BULK_N, obj);
		if (got != BULK_N) {
			for (j = 0; j < BULK_N && got > 0; j++)
				ka_free(obj[j]);
			return demo_fail("ka_alloc_bulk(%zu, %d) returned %d",
					 sizes[i], BULK_N, got);
		}
		for (j = 0; j < BULK_N; j++)
			ka_test_fill(obj[j], sizes[i], j);
		for (j = 0; j < BULK_N && ret == DEMO_OK; j++) {
			bad = ka_test_bad(obj[j], sizes[i], j);
			if (bad >= 0)
				ret = demo_fail("bulk object %u of %zu bytes corrupted at %ld",
						j, sizes[i], bad);
		}
		ka_free_bulk(BULK_N, obj);
	}
	return ret;
}

/* Objects allocated on one CPU and freed on another. */
#define XCPU_N 128

static const size_t xcpu_sizes[] = {
	8, 16, 24, 48, 64, 100, 128, 256, 500, 1024, 2048, 4096, 8192,
	16384, 32768, 65536,
};

struct xcpu_batch {
	void *obj[XCPU_N];
	unsigned long seed;
	int cpu;		/* CPU that ran the last step */
	long bad;		/* first corrupted object, or -1 */
};

static size_t xcpu_size(unsigned int i)
{
	return xcpu_sizes[i % ARRAY_SIZE(xcpu_sizes)];
}

static long xcpu_alloc(void *arg)
{
	struct xcpu_batch *b = arg;
	unsigned int i;

	b->cpu = raw_smp_processor_id();
	for (i = 0; i < XCPU_N; i++) {
		b->obj[i] = ka_alloc(xcpu_size(i), GFP_KERNEL);
		if (!b->obj[i])
			return -ENOMEM;
		ka_test_fill(b->obj[i], xcpu_size(i), b->seed + i);
	}
	return 0;
}

static long xcpu_free(void *arg)
{
	struct xcpu_batch *b = arg;
	unsigned int i;

	b->cpu = raw_smp_processor_id();
	b->bad = -1;
	for (i = 0; i < XCPU_N; i++) {
		if (b->bad < 0 && b->obj[i] &&
		    ka_test_bad(b->obj[i], xcpu_size(i), b->seed + i) >= 0)
			b->bad = i;
		ka_free(b->obj[i]);
		b->obj[i] = NULL;
	}
	return 0;
}

static int check_cross_cpu_free(void)
{
	struct xcpu_batch *b;
	int from, to, ret = DEMO_OK;
	unsigned int pairs = 0;
	long err;

	if (num_online_cpus() < 2)
		return demo_skip("only one CPU online");
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return demo_fail("no memory for the batch");
	cpus_read_lock();
	for_each_online_cpu(from) {
		for_each_online_cpu(to) {
			if (from == to)
				continue;
			b->seed = from * 1000 + to;
			err = work_on_cpu(from, xcpu_alloc, b);
			if (err || b->cpu != from) {
				ret = demo_fail("allocation on CPU %d failed (err %ld, ran on %d)",
						from, err, b->cpu);
			} else {
				work_on_cpu(to, xcpu_free, b);
				if (b->cpu != to)
					ret = demo_fail("free ran on CPU %d, not %d",
							b->cpu, to);
				else if (b->bad >= 0)
					ret = demo_fail("object %ld from CPU %d corrupted when freed on CPU %d",
							b->bad, from, to);
			}
			/* Frees whatever a failed step left behind. */
			xcpu_free(b);
			if (ret != DEMO_OK)
				goto out;
			pairs++;
		}
	}
out:
	cpus_read_unlock();
	kfree(b);
	if (ret == DEMO_OK)
		ka_ktap_diag("cross_cpu_free: %u CPU pairs, %d objects each\n",
			pairs, XCPU_N);
	return ret;
}

static int check_alloc_node(void)
{
	unsigned int on_node = 0, total = 0;
	int nid, i;
	void *p;

	for_each_online_node(nid) {
		for (i = 0; i < 16; i++) {
			size_t len = i & 1 ? 64 << 10 : 64 * (i + 1);

			p = ka_alloc_node(len, GFP_KERNEL, nid);
			if (!p)
				return demo_fail("ka_alloc_node(%zu, node %d) returned NULL",
						 len, nid);
			ka_test_fill(p, len, nid);
			if (ka_test_bad(p, len, nid) >= 0) {
				ka_free(p);
				return demo_fail("ka_alloc_node(%zu, node %d) object corrupted",
						 len, nid);
			}
			if (virt_addr_valid(p) &&
			    page_to_nid(virt_to_page(p)) == nid)
				on_node++;
			total++;
			ka_free(p);
		}
	}
	ka_ktap_diag("alloc_node: %u of %u objects on the requested node (%u nodes)\n",
		on_node, total, num_online_nodes());
	return DEMO_OK;
}

static int check_invalid_free(void)
{
	long bad;
	void *p;

	p = kmalloc(64, GFP_KERNEL);
	if (!p)
		return demo_fail("kmalloc(64) failed");
	ka_test_fill(p, 64, 7);
	pr_info("KA-EXPECT-BEGIN: ka_free() of a kmalloc() pointer must be refused with an error message\n");
	ka_free(p);
	pr_info("KA-EXPECT-END\n");
	bad = ka_test_bad(p, 64, 7);
	kfree(p);
	if (bad >= 0)
		return demo_fail("ka_free() of a kmalloc() pointer changed byte %ld",
				 bad);
	return DEMO_OK;
}

/*
 * A double free must be refused with a message, and the object must not
 * then be handed to two callers: allocate well past what a CPU caches and
 * see the object come back at most once, every object intact.
 */
static int check_double_free(void)
{
	const unsigned int n = 4096;
	unsigned int i, twice = 0;
	int ret = DEMO_OK;
	void **held, *p;
	long bad;

	held = kcalloc(n, sizeof(*held), GFP_KERNEL);
	if (!held)
		return demo_fail("no memory for the object table");
	p = ka_alloc(64, GFP_KERNEL);
	if (!p) {
		kfree(held);
		return demo_fail("ka_alloc(64) returned NULL");
	}
	ka_free(p);
	pr_info("KA-EXPECT-BEGIN: a second ka_free() of one object must be refused with an error message\n");
	ka_free(p);
	pr_info("KA-EXPECT-END\n");
	for (i = 0; i < n; i++) {
		held[i] = ka_alloc(64, GFP_KERNEL);
		if (!held[i]) {
			ret = demo_fail("ka_alloc(64) returned NULL");
			break;
		}
		twice += held[i] == p;
		ka_test_fill(held[i], 64, i);
	}
	for (i = 0; i < n && held[i]; i++) {
		bad = ka_test_bad(held[i], 64, i);
		if (bad >= 0 && ret == DEMO_OK)
			ret = demo_fail("object %u of 64 bytes has two owners (byte %ld)",
					i, bad);
	}
	if (twice > 1 && ret == DEMO_OK)
		ret = demo_fail("the doubly freed object was handed out %u times",
				twice);
	for (i = 0; i < n; i++)
		ka_free(held[i]);
	kfree(held);
	return ret;
}

static int check_free_rcu(void)
{
	unsigned int i;
	void *p;

	for (i = 0; i < 256; i++) {
		p = ka_alloc(xcpu_size(i), GFP_KERNEL);
		if (!p)
			return demo_fail("ka_alloc(%zu) returned NULL",
					 xcpu_size(i));
		ka_test_fill(p, xcpu_size(i), i);
		/* ka may keep its rcu_head in the object: no check of it. */
		ka_free_rcu(p);
	}
	/* Passing means: nothing crashed and the objects come back. */
	synchronize_rcu();
	rcu_barrier();
	return DEMO_OK;
}

static const struct {
	const char *name;
	int (*fn)(void);
} checks[] = {
	{ "small_sizes_1_to_4096", check_small_sizes },
	{ "medium_sizes_to_32k", check_medium_sizes },
	{ "large_sizes_64k_to_4m", check_large_sizes },
	{ "too_large_refused", check_too_large },
	{ "zero_size", check_zero_size },
	{ "alignment", check_alignment },
	{ "ka_size_at_least_requested", check_size },
	{ "zalloc_zeroed", check_zalloc },
	{ "realloc_preserves_content", check_realloc },
	{ "bulk_alloc_free", check_bulk },
	{ "cross_cpu_free", check_cross_cpu_free },
	{ "alloc_node", check_alloc_node },
	{ "double_free_refused", check_double_free },
	{ "invalid_free_refused", check_invalid_free },
	{ "free_rcu", check_free_rcu },
};

/* The workload=1 allocations, freed at unload unless leak=1. */
#define WL_SMALL 2048

static void *wl_small[WL_SMALL];
static void *wl_large[6];
static struct xcpu_batch **wl_xcpu;	/* nr_cpu_ids entries */

static void workload_free(void)
{
	unsigned int i;
	int cpu;

	for (i = 0; i < ARRAY_SIZE(wl_small); i++) {
		if (!leak)
			ka_free(wl_small[i]);
		wl_small[i] = NULL;
	}
	for (i = 0; i < ARRAY_SIZE(wl_large); i++) {
		if (!leak)
			ka_free(wl_large[i]);
		wl_large[i] = NULL;
	}
	if (!wl_xcpu)
		return;
	for_each_possible_cpu(cpu) {
		if (!wl_xcpu[cpu])
			continue;
		if (!leak)
			xcpu_free(wl_xcpu[cpu]);
		kfree(wl_xcpu[cpu]);
	}
	kfree(wl_xcpu);
	wl_xcpu = NULL;
}

/* not inlined into ka_demo_init(): its frames must outlive the init text */
static noinline void workload_start(void)
{
	static const size_t large[ARRAY_SIZE(wl_large)] = {
		64 << 10, 100000, 256 << 10, 1 << 20, 3 << 20, KA_MAX_SIZE,
	};
	unsigned long bytes = 0, n = 0;
	unsigned int i;
	size_t len;
	int cpu;

	for (i = 0; i < ARRAY_SIZE(wl_small); i++) {
		/* Spread over the classes, more of the small ones. */
		len = i % 4 ? 8 + (i * 37) % 1024 : 1 + (i * 7919) % KA_MAX_SMALL_SIZE;
		wl_small[i] = ka_alloc(len, GFP_KERNEL);
		if (wl_small[i]) {
			bytes += len;
			n++;
		}
	}
	for (i = 0; i < ARRAY_SIZE(wl_large); i++) {
		wl_large[i] = ka_alloc(large[i], GFP_KERNEL);
		if (wl_large[i]) {
			bytes += large[i];
			n++;
		}
	}
	/* Allocated on every CPU, kept alive by this (other) context. */
	wl_xcpu = kcalloc(nr_cpu_ids, sizeof(*wl_xcpu), GFP_KERNEL);
	if (!wl_xcpu)
		goto out;
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		wl_xcpu[cpu] = kzalloc(sizeof(*wl_xcpu[cpu]), GFP_KERNEL);
		if (!wl_xcpu[cpu])
			continue;
		wl_xcpu[cpu]->seed = cpu;
		work_on_cpu(cpu, xcpu_alloc, wl_xcpu[cpu]);
		for (i = 0; i < XCPU_N; i++) {
			if (wl_xcpu[cpu]->obj[i]) {
				bytes += xcpu_size(i);
				n++;
			}
		}
	}
	cpus_read_unlock();
out:
	pr_info("workload: %lu objects, %lu bytes requested, kept until unload\n",
		n, bytes);
}

static int __init ka_demo_init(void)
{
	unsigned int i, passed = 0, failed = 0, skipped = 0;
	int r;

	ka_ktap_start(ARRAY_SIZE(checks));
	for (i = 0; i < ARRAY_SIZE(checks); i++) {
		why[0] = '\0';
		r = checks[i].fn();
		if (r == DEMO_OK) {
			ka_ktap_result(true, i + 1, checks[i].name);
			passed++;
		} else if (r == DEMO_SKIP) {
			ka_ktap_skip(i + 1, checks[i].name, why);
			skipped++;
		} else {
			ka_ktap_diag("%s: %s\n", checks[i].name, why);
			ka_ktap_fail(i + 1, checks[i].name, why);
			failed++;
		}
		cond_resched();
	}
	ka_ktap_diag("ka_demo: %u passed, %u failed, %u skipped\n",
		passed, failed, skipped);
	if (workload)
		workload_start();
	return 0;
}

static void __exit ka_demo_exit(void)
{
	workload_free();
}

module_init(ka_demo_init);
module_exit(ka_demo_exit);

MODULE_DESCRIPTION("ka demo client and self-checks through the public API");
MODULE_LICENSE("GPL");
