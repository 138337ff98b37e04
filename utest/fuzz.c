// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: random sequences of ka operations - ka_alloc(),
 * ka_free() and the rest of the real API and per-CPU layer (api.c,
 * mcache.c) - on the shim's 4 emulated CPUs of 2 nodes, with the
 * invariants (check.c) checked after every step.
 *
 * Each input starts from a fresh allocator and ends with everything freed
 * and torn down, which must give every page and metadata object back.  An
 * input is a sequence of steps: an opcode byte and its argument bytes.
 * Steps: allocate (on a CPU, on a node, large, bulk), free (on the CPU
 * that allocated or another one: a remote free into a span another CPU
 * owns), flush a CPU or a batch, drain, release mcentral or heap, set a
 * fault pattern (page or metadata failures, a fragmented buddy
 * allocator, a full node), free a pointer ka must refuse (inside an
 * object, stale, random, foreign), two racing frees of a large object,
 * and an "interrupt": at one of mcache.h's test points inside the next
 * step's per-CPU section, an allocation or a free on the same CPU, which
 * must find the section owned and take the busy paths.
 */
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"

#define FZ_CPUS		4
#define FZ_MAX_LIVE	4096
#define FZ_MAX_LARGE	16
#define FZ_GRAVE	64

struct fz_obj {
	u64 *p;
	size_t size;
	u64 tag;
};

struct fz_in {
	const u8 *d;
	size_t n;
};

static struct fz_obj live[FZ_MAX_LIVE];
static unsigned int nr_live, nr_large;
static void *grave[FZ_GRAVE];
static unsigned int grave_pos;
static struct ut_cpu cpus[FZ_CPUS];
static u64 next_tag;
static unsigned long fz_ops, fz_inputs, fz_refused;

#define finding(fmt, ...) do {						\
	ut_err("FINDING: " fmt, ##__VA_ARGS__);				\
	abort();							\
} while (0)

static unsigned int byte(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->d++;
}

static unsigned int word(struct fz_in *in)
{
	return byte(in) | byte(in) << 8;
}

static struct ut_cpu *cpu_of(struct fz_in *in)
{
	return &cpus[byte(in) % FZ_CPUS];
}

/* A size: aimed at one class (its whole range), small, or any. */
static size_t size_of(struct fz_in *in)
{
	unsigned int b = byte(in), r = byte(in);

	if (b < 128) {
		unsigned int cls = 1 + b % (ka_nr_classes - 1);
		unsigned int lo = ka_classes[cls - 1].size;

		return ka_classes[cls].size - r % (ka_classes[cls].size - lo);
	}
	if (b < 192)
		return 1 + r;
	return 1 + (r << 8 | byte(in)) % KA_MAX_SMALL_SIZE;
}

static unsigned long fails(void)
{
	return shim_stats.page_fails + shim_stats.meta_fails;
}

static void tag(struct fz_obj *o)
{
	o->tag = ++next_tag;
	o->p[0] = o->tag;
	if (o->size >= 16)
		o->p[o->size / 8 - 1] = ~o->tag;
}

static void track(void *p, size_t size)
{
	struct fz_obj *o = &live[nr_live++];

	o->p = p;
	o->size = size;
	if (size > KA_MAX_SMALL_SIZE)
		nr_large++;
	if (ut_out_size(p) < size)
		finding("%p of %zu bytes: %zu usable", p, size, ut_out_size(p));
	tag(o);
}

static void do_alloc(void *p, size_t size, unsigned long fails_before)
{
	if (!p) {
		if (fails() == fails_before)
			finding("allocation of %zu bytes failed, nothing under it did",
				size);
		return;
	}
	track(p, size);
}

/* Check and forget live[i]; the caller frees it. */
static void *untrack(unsigned int i)
{
	struct fz_obj *o = &live[i];
	void *p = o->p;

	if (o->p[0] != o->tag ||
	    (o->size >= 16 && o->p[o->size / 8 - 1] != ~o->tag))
		finding("object %p (%zu bytes) overwritten", o->p, o->size);
	if (o->size > KA_MAX_SMALL_SIZE)
		nr_large--;
	*o = live[--nr_live];
	grave[grave_pos++ % FZ_GRAVE] = p;
	return p;
}

static void free_one(struct ut_cpu *cpu, unsigned int i)
{
	void *p = untrack(i);

	if (ut_free(cpu, p) == UT_REFUSED)
		finding("free of live object %p refused: %s", p, ut_refusal);
}

/*
 * ka_free() of @p on @cpu, which is no object out: it must be refused.
 * Every free small object carries its span's double-free tag from the
 * span's birth (ka_span_tag_all()), so this holds for object starts never
 * handed out, in a magazine since a refill, or of a span made again since
 * too; only an object whose tag a client overwrote after its free (a use
 * after free, left to debug mode and KASAN) is taken for a live one, which
 * this fuzzer never writes, so an untagged free object is a finding.
 */
static void bad_free(struct ut_cpu *cpu, void *p)
{
	struct ka_span *span;
	const char *why;

	if (ut_is_out(p))
		return;
	rcu_read_lock();
	span = ut_check_ptr(p, &why);
	if (span && !ut_obj_valid(span, p)) {
		finding("ka_free() takes %p for an object of span %p (base %p, %u objects of %u bytes, state %u)",
			p, span, span->base, span->nelems, span->elemsize,
			span->state);
	}
	if (span && span->state == KA_SPAN_SMALL &&
	    ka_word_read(p) != span->freetag &&
	    (!span->cache || ka_cache_tagged(span->cache)))
		finding("free object %p of span %p (class %u, state %u) without its double-free tag",
			p, span, span->cls, span->state);
	if (ut_free(cpu, p) != UT_REFUSED)
		finding("free of %p on cpu %d, no object out, not refused: span %p (%s) base %p class %u state %u node %d rstate %#lx",
			p, cpu->id, span, span ? "" : why, span ? span->base : NULL,
			span ? span->cls : 0, span ? span->state : 0,
			span ? span->node : -1,
			span ? atomic_long_read(&span->rstate) : 0);
	rcu_read_unlock();
	fz_refused++;
}

static void op_bad_free(struct fz_in *in)
{
	struct ut_cpu *cpu = cpu_of(in);
	unsigned int kind = byte(in), r = word(in);
	struct fz_obj *o = nr_live ? &live[r % nr_live] : NULL;
	char *p;
	int stack;

	switch (kind % 7) {
	case 0:		/* inside a live object */
		if (!o)
			return;
		p = (char *)o->p + 1 + byte(in) % o->size;
		break;
	case 1: {	/* near a live object, in its span or beyond */
		struct ka_span *span;

		if (!o)
			return;
		rcu_read_lock();
		span = ka_span_of(o->p);
		p = (char *)span->base + (word(in) << 3) % (span->npages * PAGE_SIZE + 4096);
		rcu_read_unlock();
		break;
	}
	case 2:		/* stale */
		p = grave[r % FZ_GRAVE];
		if (!p)
			return;
		p += (kind >> 3) % 2 ? 8 : 0;
		break;
	case 3:		/* someone else's memory in the direct map */
		p = (char *)shim_foreign_page() + (r << 3) % PAGE_SIZE;
		break;
	case 4:		/* anywhere ka has ever had memory */
		p = (char *)PAGE_OFFSET +
		    (((unsigned long)r << 16 | word(in)) << 3) % shim_region_bytes();
		break;
	case 5:		/* not in the direct map at all */
		p = r % 2 ? (char *)&stack : (char *)PAGE_OFFSET - 8 - (r << 3);
		break;
	default:	/* the slot past the last object of a live one's span */
		if (!o)
			return;
		rcu_read_lock();
		p = (char *)ka_span_of(o->p)->base;
		p += ka_span_of(o->p)->nelems * ka_span_of(o->p)->elemsize;
		rcu_read_unlock();
		break;
	}
	bad_free(cpu, p);
}

/* The interrupt armed for the next step (op_irq()). */
static struct {
	bool armed, fresh;
	enum ka_mcache_point at;
	bool alloc;
	unsigned int arg;
} fz_irq;
static unsigned long fz_irqs;

/*
 * mcache.h's test point: the interrupt fires on the CPU whose section it
 * interrupts (the thread's), frees a live object or allocates one.
 */
static void fz_irq_hook(enum ka_mcache_point pt)
{
	unsigned long f = fails();

	if (!fz_irq.armed || pt != fz_irq.at)
		return;
	fz_irq.armed = false;
	fz_irqs++;
	shim_irq_enter();
	if (fz_irq.alloc && nr_live < FZ_MAX_LIVE - 512) {
		size_t size = 1 + fz_irq.arg % KA_MAX_SMALL_SIZE;

		do_alloc(ut_alloc(NULL, size, GFP_ATOMIC), size, f);
	} else if (!fz_irq.alloc && nr_live) {
		void *p = untrack(fz_irq.arg % nr_live);

		if (ut_free(NULL, p) == UT_REFUSED)
			finding("free of live object %p in an interrupt refused: %s",
				p, ut_refusal);
	}
	shim_irq_exit();
}

static void op_irq(struct fz_in *in)
{
	fz_irq.at = byte(in) % KA_MP_NR;
	fz_irq.alloc = byte(in) & 1;
	fz_irq.arg = word(in);
	fz_irq.armed = true;
	fz_irq.fresh = true;
}

/*
 * Two ka_free()s of one large object racing, as ka_free_nonlocal() does
 * them: both find the span under RCU, the first caches (or destroys) it, the
 * second must be told it lost - without touching what the first one freed.
 */
static void op_racy_large_free(struct fz_in *in)
{
	unsigned int i, r = word(in);
	struct ka_span *span;
	void *p;

	for (i = 0; i < nr_live; i++)
		if (live[(r + i) % nr_live].size > KA_MAX_SMALL_SIZE)
			break;
	if (i == nr_live)
		return;
	p = untrack((r + i) % nr_live);
	rcu_read_lock();
	span = ka_span_of(p);
	if (ut_free(&cpus[0], p) != UT_FREED_LARGE)
		finding("free of large object %p", p);
	if (ka_large_put(ka_mheap_of(span->node), span))
		finding("racing frees of %p: both freed the object", p);
	rcu_read_unlock();
}

static void op_fault(struct fz_in *in)
{
	unsigned int kind = byte(in), calls = byte(in) % 64;
	u64 bits = word(in) | (u64)word(in) << 16;

	switch (kind % 5) {
	case 0:
		shim_pattern_set(&shim_fault.page, bits, calls);
		break;
	case 1:
		shim_pattern_set(&shim_fault.meta, bits, calls);
		break;
	case 2:
		shim_fault.page_max_order = calls % (SHIM_MAX_ORDER + 1);
		break;
	case 3:
		shim_fault.node_full = calls & 3;
		break;
	default:
		shim_fault_reset();
		break;
	}
}

enum {
	OP_ALLOC, OP_ALLOC2, OP_ALLOC3, OP_FREE, OP_FREE2, OP_FREE3,
	OP_ALLOC_NODE, OP_ALLOC_LARGE, OP_ALLOC_BULK, OP_FREE_BULK,
	OP_FLUSH_CPU, OP_FLUSH_BATCH, OP_DRAIN, OP_CENTRAL_RELEASE,
	OP_HEAP_RELEASE, OP_FAULT, OP_BAD_FREE, OP_RACY_LARGE_FREE,
	OP_IRQ, OP_NR
};

static void step(struct fz_in *in)
{
	unsigned int op = byte(in) % OP_NR, i, n;
	unsigned long f = fails();
	struct ut_cpu *cpu;
	size_t size;

	switch (op) {
	case OP_ALLOC ... OP_ALLOC3:
		cpu = cpu_of(in);
		size = size_of(in);
		if (nr_live < FZ_MAX_LIVE)
			do_alloc(ut_alloc(cpu, size, GFP_KERNEL), size, f);
		break;
	case OP_FREE ... OP_FREE3:
		cpu = cpu_of(in);
		i = word(in);
		if (nr_live)
			free_one(cpu, i % nr_live);
		break;
	case OP_ALLOC_NODE:
		i = byte(in);
		size = size_of(in);
		if (nr_live < FZ_MAX_LIVE)
			do_alloc(ut_alloc_node(i % nr_node_ids, size, GFP_KERNEL),
				 size, f);
		break;
	case OP_ALLOC_LARGE:
		cpu = cpu_of(in);
		i = byte(in);
		size = (i < 224 ? 8 + i % 32 : 1 + word(in) % KA_ARENA_PAGES) *
		       PAGE_SIZE - byte(in) * 8;
		size = clamp_t(size_t, size, KA_MAX_SMALL_SIZE + 1, KA_MAX_SIZE);
		if (nr_live < FZ_MAX_LIVE && nr_large < FZ_MAX_LARGE)
			do_alloc(ut_alloc(cpu, size, GFP_KERNEL), size, f);
		break;
	case OP_ALLOC_BULK: {
		static void *objs[256];

		cpu = cpu_of(in);
		size = size_of(in);
		n = min(1 + byte(in), FZ_MAX_LIVE - nr_live);
		if (!n)
			break;
		if (!ut_alloc_bulk(cpu, size, GFP_KERNEL, n, objs)) {
			do_alloc(NULL, size, f);
			break;
		}
		for (i = 0; i < n; i++)
			track(objs[i], size);
		break;
	}
	case OP_FREE_BULK:
		cpu = cpu_of(in);
		n = byte(in);
		i = word(in);
		while (n-- && nr_live)
			free_one(cpu, i++ % nr_live);
		break;
	case OP_FLUSH_CPU:
		ut_flush_cpu(cpu_of(in));
		break;
	case OP_FLUSH_BATCH:
		cpu = cpu_of(in);
		i = 1 + byte(in) % (ka_nr_classes - 1);
		ut_flush_mag(cpu, i, ka_classes[i].batch);
		break;
	case OP_DRAIN:
		for (i = 0; i < FZ_CPUS; i++)
			ut_flush_cpu(&cpus[i]);
		ut_release_all(0);
		break;
	case OP_CENTRAL_RELEASE:
		i = byte(in);
		n = byte(in);
		ka_mcentral_release(ka_mcentral_of(i % nr_node_ids,
						   1 + n % (ka_nr_classes - 1)),
				    i >> 6);
		break;
	case OP_HEAP_RELEASE:
		/* a release keeping i >> 6 free chunks, or a scavenger pass */
		i = byte(in);
		n = byte(in);
		if (n & 1) {
			ka_mheap_scavenge(ka_mheap_of(i % nr_node_ids), n >> 1);
		} else {
			ka_large_trim(ka_mheap_of(i % nr_node_ids), false);
			ka_mheap_release(ka_mheap_of(i % nr_node_ids), i >> 6);
		}
		break;
	case OP_FAULT:
		op_fault(in);
		break;
	case OP_BAD_FREE:
		op_bad_free(in);
		break;
	case OP_RACY_LARGE_FREE:
		op_racy_large_free(in);
		break;
	case OP_IRQ:
		op_irq(in);
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz_in in = { data, size };
	unsigned int i;

	if (ut_init())
		finding("init");
	for (i = 0; i < FZ_CPUS; i++)
		ut_cpu_init(&cpus[i], i, i / 2);
	nr_live = nr_large = 0;
	memset(grave, 0, sizeof(grave));
	fz_irq.armed = fz_irq.fresh = false;
	ka_mcache_test_hook = fz_irq_hook;
	while (in.n) {
		step(&in);
		/* an interrupt has the step after op_irq() to fire */
		if (fz_irq.fresh)
			fz_irq.fresh = false;
		else
			fz_irq.armed = false;
		fz_ops++;
		shim_rcu_barrier();	/* between steps no one is inside ka */
		if (ut_check())
			finding("invariants broken after step %lu of this input",
				fz_ops);
	}
	ka_mcache_test_hook = NULL;
	shim_fault_reset();
	while (nr_live)
		free_one(&cpus[nr_live % FZ_CPUS], nr_live - 1);
	for (i = 0; i < FZ_CPUS; i++)
		ut_flush_cpu(&cpus[i]);
	shim_rcu_barrier();
	if (ut_check() || ut_exit())
		finding("teardown");
	fz_inputs++;
	return 0;
}

static void report(void)
{
	fprintf(stderr, "ka-fuzz: %lu ops in %lu inputs, %lu invalid frees refused, %lu interrupts in per-CPU sections\n",
		fz_ops, fz_inputs, fz_refused, fz_irqs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ut_paranoid = true;
	if (ut_init() || ut_exit())
		abort();
	atexit(report);
	return 0;
}
