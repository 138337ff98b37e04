// SPDX-License-Identifier: GPL-2.0
/*
 * memsim - ka's per-CPU designs against each other and against SLUB, in
 * memory and in how often they reach shared state (issue 30, phase 1).
 *
 *   memsim [-d DESIGNS] [-w WORKLOADS] [-c CPUS] [-n OPS] [-s SEED]
 *          [-t OPS_PER_TICK] [-T TRACE] [-W TRACE_OUT] [-i IDLE_TICKS]
 *          [-q] [-l]
 *
 * DESIGNS (comma-separated, default all; -l lists them) are the front
 * ends of memsim_ka.c and memsim_slub.c.  WORKLOADS:
 *
 *   mem8  mod/bench/ka_bench.c's mode=mem8, the same generator and seed:
 *         per CPU OPS (150,000) random-lifetime operations over 256 slots,
 *         sizes 70% 1..512 B, 25% ..4 KiB, 5% ..32 KiB, one in 1000
 *         64 KiB..1 MiB; every CPU frees only its own objects.
 *   rl    an independent random-lifetime workload: 1200 slots shared by
 *         all CPUs (so about 7 frees in 8 are another CPU's object), sizes
 *         log-uniform 1 B..32 KiB (a uniform octave, uniform within it):
 *         about 3.8 MB live.
 *   trace a recorded trace (-T FILE; sim_trace_next() reads it); -W FILE
 *         writes the first workload run as such a trace
 *   cost  the benchmark's speed patterns, for the cost proxies only: pair
 *         at 64 B, batch256 at 1, 4 and 16 KiB, producer/consumer (CPU 0
 *         allocates 256, CPU 1 frees them) at 64 B, 1, 4 and 16 KiB, and
 *         batch256 at 1 KiB on two CPUs at once.
 *
 * CPUS (default 2,8,64) apply to mem8 and rl.  The CPUs run one operation
 * each in turn; every OPS_PER_TICK rounds (default 15,000: a ten-second
 * run; see the README for why) the background work of a
 * second runs (ka: per-CPU trim, scavenger, large-span cache).  Memory is
 * read at the peak (every 64 rounds), at the end of the run ("live"),
 * after IDLE_TICKS (5) seconds of background work ("idle") and after
 * drop_caches and the slab shrinkers ("shrunk"), as
 * scripts/guest/bench.sh does; then every object is freed and each design
 * must give back every page and span (checked).
 *
 * Output: a line per run (RUN ...) and the tables; pages x 4 KiB per
 * requested live byte.  -q: the quick check make utest runs.
 */
#include <getopt.h>
#include <stdlib.h>
#include "memsim.h"

#define SIM_NSEC_PER_SEC	1000000000ULL

const struct sim_fe *sim_fes[] = {
	&sim_fe_slub, &sim_fe_mag, &sim_fe_mag_old, &sim_fe_mag_512k, &sim_fe_mag_pg, &sim_fe_go, &sim_fe_go_rel,
	&sim_fe_own, &sim_fe_own_go, &sim_fe_own_pg, &sim_fe_own_gp,
	&sim_fe_own_gp_st, &sim_fe_keep_gp, &sim_fe_keep_gp_st,
	&sim_fe_keep_gp_st2m, &sim_fe_keep_go_st, &sim_fe_keep_old_st,
	&sim_fe_hyb_gp_st, &sim_fe_own_gp_c, &sim_fe_keep_gp_st_c,
	&sim_fe_keep_gp_st2m_c, &sim_fe_ka, &sim_fe_ka_1m, &sim_fe_ka_512k,
	&sim_fe_ka_256k, &sim_fe_ka_128k, &sim_fe_ka_nomag, &sim_fe_ka_cold,
	&sim_fe_ka_cold_512k, &sim_fe_ka_f1, &sim_fe_ka_f1_512k, &sim_fe_ka_f1_1m,
	&sim_fe_ka_o32, &sim_fe_ka_o32_1m, &sim_fe_ka_o32_512k, &sim_fe_ka_o16_512k,
};
unsigned int sim_nr_fes = ARRAY_SIZE(sim_fes);

unsigned long sim_errors;

static unsigned long opt_ops = 150000;
static unsigned long opt_tick = 15000;
static unsigned int opt_idle = 5;
static u64 opt_seed = 0x6b615f62656e6368ULL;	/* ka_bench's seed */
static const char *opt_trace;
static FILE *opt_trace_out;	/* -W: the workload written as a trace */
static u64 trace_next_id;

/* ---- ka_bench.c's generator ---- */

static u64 bench_rnd(u64 *s)
{
	u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* mem8_size(): 70% 1..512 B, 25% ..4 KiB, 5% ..32 KiB; 1/1000 large */
static u32 mem8_size(u64 *s)
{
	u64 r = bench_rnd(s);
	u32 v = r >> 32;

	if ((u32)r % 1000 == 0)
		return 65536 + v % (1048576 - 65536 + 1);
	switch ((u32)(r >> 10) % 100) {
	case 0 ... 69:
		return 1 + v % 512;
	case 70 ... 94:
		return 1 + v % 4096;
	default:
		return 1 + v % 32768;
	}
}

/* rl's sizes: an octave of 1 B..32 KiB uniformly, then a size in it */
static u32 rl_size(u64 *s)
{
	u64 r = bench_rnd(s);
	unsigned int oct = (u32)r % 15;
	u32 lo = 1U << oct;

	return lo + (u32)(r >> 32) % lo;
}

/* ---- a run ---- */

struct slot {
	void *p;
	u32 size;
	u32 slot;	/* bytes it takes: fe->slot() */
	int cpu;
	u64 id;		/* for -W: the object's name in the trace */
};

struct run {
	struct sim sim;
	const char *wl;
	struct slot *slots;
	unsigned long nslots;
	u64 *rnd;
	unsigned long live_bytes;	/* requested, now */
	unsigned long live_objs;
	unsigned long live_slots;	/* bytes their slots take */
	unsigned long end_bytes;	/* ... at the end of the run */
	unsigned long end_slots;
	unsigned long end_objs;
	unsigned long peak_pages;
	unsigned long peak_cached;
	struct sim_mem live, idle, shrunk;
	struct sim_cost cost;
	unsigned long ops;
	unsigned long errors;	/* sim_errors when the run began */
	unsigned long kicks;	/* ut_scav_kicks() seen */
	u64 kick_at;		/* the asked-for pass is due (ns), or 0 */
};

/* Everything the table shows, kept for the end. */
#define SIM_MAX_RESULTS	512
static struct run *results[SIM_MAX_RESULTS];
static unsigned int nr_results, nr_failed;

static int run_start(struct run *r, const struct sim_fe *fe, int ncpu)
{
	int ret;

	memset(&r->sim, 0, sizeof(r->sim));
	r->errors = sim_errors;
	r->kicks = ut_scav_kicks();
	r->kick_at = 0;
	r->sim.fe = fe;
	r->sim.ncpu = ncpu;
	r->sim.rnd = opt_seed;
	nr_node_ids = 1;
	/* ka's own per-CPU layer runs on as many emulated CPUs as the run */
	ut_layers_only = !fe->real;
	if (fe->real && ut_nr_cpus != ncpu) {
		shim_cpu_leave();
		ut_nr_cpus = ncpu;
	}
	/* a design before may have left another class table */
	if (fe->real)
		sim_ka_setup(SIM_CLASSES_KA);
	ret = ut_init();
	if (ret)
		return ret;
	ret = fe->init(&r->sim);
	if (ret)
		ut_err("%s: init failed (%d)", fe->name, ret);
	return ret;
}

/* After everything was freed: the design must hold nothing. */
static int run_finish(struct run *r)
{
	unsigned long problems;
	int ret;

	r->sim.fe->shrink(&r->sim);
	ret = r->sim.fe->exit(&r->sim);
	problems = ut_exit();
	if (problems) {
		ut_err("%s: %lu problems at teardown", r->sim.fe->name, problems);
		ret = ret ?: -EIO;
	}
	if (ret)
		sim_errors++;
	return ret;
}

/* Shared state a call reached: central locks, atomics, span traffic. */
static unsigned long sim_shared(const struct sim_cost *c)
{
	return c->central_locks + c->atomics + c->span_new + c->span_free;
}

static void slot_free(struct run *r, struct slot *sl, int cpu)
{
	unsigned long shared = sim_shared(&r->sim.cost);

	if (!sl->p)
		return;
	r->sim.fe->free(&r->sim, cpu, sl->p);
	if (sim_shared(&r->sim.cost) == shared)
		r->sim.cost.fast_frees++;
	if (opt_trace_out)
		fprintf(opt_trace_out, "f %d %llu\n", cpu,
			(unsigned long long)sl->id);
	r->live_bytes -= sl->size;
	r->live_slots -= sl->slot;
	r->live_objs--;
	sl->p = NULL;
}

static void slot_alloc(struct run *r, struct slot *sl, int cpu, u32 size)
{
	unsigned long shared = sim_shared(&r->sim.cost);

	sl->p = r->sim.fe->alloc(&r->sim, cpu, size);
	if (sim_shared(&r->sim.cost) == shared)
		r->sim.cost.fast_allocs++;
	if (!sl->p) {
		ut_err("%s: allocation of %u bytes failed", r->sim.fe->name,
		       size);
		sim_errors++;
		return;
	}
	sl->size = size;
	sl->slot = r->sim.fe->slot(&r->sim, size);
	sl->cpu = cpu;
	sl->id = trace_next_id++;
	if (opt_trace_out)
		fprintf(opt_trace_out, "a %d %llu %u\n", cpu,
			(unsigned long long)sl->id, size);
	r->live_bytes += size;
	r->live_slots += sl->slot;
	r->live_objs++;
}

/*
 * A heap asked for a scavenger pass (ka_scav_kick()): mheap.c's work runs
 * it KA_SCAV_PROMPT_MS later; @now is the run's clock in ns.  @ticked: the
 * second's background work just ran, the pass with it.
 */
static void run_kick_poll(struct run *r, u64 now, bool ticked)
{
	if (ticked)
		r->kick_at = 0;
	if (ut_scav_kicks() != r->kicks) {
		r->kicks = ut_scav_kicks();
		if (!r->kick_at)
			r->kick_at = now + KA_SCAV_PROMPT_MS * 1000000ULL;
	}
	if (r->kick_at && now >= r->kick_at) {
		r->kick_at = 0;
		if (r->sim.fe->scav)
			r->sim.fe->scav(&r->sim);
	}
}

static void run_sample(struct run *r)
{
	struct sim_mem m;

	r->sim.fe->measure(&r->sim, &m);
	r->peak_pages = max(r->peak_pages, m.pages);
	r->peak_cached = max(r->peak_cached, m.cached);
}

/* The phases after a workload: live, idle, shrunk; then free it all. */
static void run_phases(struct run *r)
{
	unsigned long i;
	unsigned int t;

	run_sample(r);
	r->end_bytes = r->live_bytes;
	r->end_slots = r->live_slots;
	r->end_objs = r->live_objs;
	r->cost = r->sim.cost;
	r->sim.fe->measure(&r->sim, &r->live);
	if (r->sim.fe->real)
		sim_ka_decomp(&r->sim, r->wl, "live", r->end_bytes);
	for (t = 0; t < opt_idle; t++)
		r->sim.fe->tick(&r->sim);
	r->sim.fe->measure(&r->sim, &r->idle);
	if (r->sim.fe->real)
		sim_ka_decomp(&r->sim, r->wl, "idle", r->end_bytes);
	r->sim.fe->shrink(&r->sim);
	r->sim.fe->measure(&r->sim, &r->shrunk);
	if (r->sim.fe->real)
		sim_ka_decomp(&r->sim, r->wl, "shrunk", r->end_bytes);
	if (opt_trace_out) {
		/* one workload is one trace: the teardown is not part of it */
		fclose(opt_trace_out);
		opt_trace_out = NULL;
	}
	for (i = 0; i < r->nslots; i++)
		slot_free(r, &r->slots[i], r->slots[i].cpu);
}

static void run_print(const struct run *r)
{
	printf("RUN design=%s workload=%s cpus=%d ops=%lu live_objs=%lu live_bytes=%lu slot_bytes=%lu peak_pages=%lu live_pages=%lu idle_pages=%lu shrunk_pages=%lu used_live=%lu used_idle=%lu used_shrunk=%lu lcache_live=%lu holes_shrunk=%lu chunks_shrunk=%lu chunk_allocs=%lu released=%lu cached_live=%lu cached_max_cpu=%lu cached_idle=%lu meta_live=%lu allocs=%lu frees=%lu fast_allocs=%lu fast_frees=%lu central_locks=%lu atomics=%lu refills=%lu flushes=%lu span_new=%lu span_free=%lu\n",
	       r->sim.fe->name, r->wl, r->sim.ncpu, r->ops, r->end_objs,
	       r->end_bytes, r->end_slots, r->peak_pages, r->live.pages, r->idle.pages,
	       r->shrunk.pages, r->live.used, r->idle.used, r->shrunk.used,
	       r->live.lcache, r->shrunk.holes, r->shrunk.chunks,
	       r->live.chunk_allocs, r->live.released,
	       r->live.cached, r->live.cached_max,
	       r->idle.cached, r->live.meta, r->cost.allocs, r->cost.frees,
	       r->cost.fast_allocs, r->cost.fast_frees, r->cost.central_locks,
	       r->cost.atomics, r->cost.refills, r->cost.flushes,
	       r->cost.span_new, r->cost.span_free);
	fflush(stdout);
}

static void run_keep(struct run *r)
{
	if (sim_errors != r->errors)
		nr_failed++;
	run_print(r);
	if (nr_results < SIM_MAX_RESULTS)
		results[nr_results++] = r;
	else
		free(r);
}

static struct run *run_new(const char *wl, unsigned long nslots, int ncpu)
{
	struct run *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->wl = wl;
	r->nslots = nslots;
	r->slots = calloc(nslots ?: 1, sizeof(*r->slots));
	r->rnd = calloc(ncpu, sizeof(*r->rnd));
	if (!r->slots || !r->rnd) {
		free(r->slots);
		free(r->rnd);
		free(r);
		return NULL;
	}
	return r;
}

static void run_drop_slots(struct run *r)
{
	free(r->slots);
	free(r->rnd);
	r->slots = NULL;
	r->rnd = NULL;
}

/* ---- random-lifetime workloads ---- */

#define MEM8_SLOTS	256
#define RL_SLOTS	1200

/* One mem8 operation on @cpu: ka_bench.c's mem8_fn() loop body. */
static void mem8_op(struct run *r, int cpu)
{
	u64 *s = &r->rnd[cpu];
	unsigned int j = (u32)(bench_rnd(s) >> 20) % MEM8_SLOTS;
	u32 size = mem8_size(s);
	struct slot *sl = &r->slots[cpu * MEM8_SLOTS + j];

	slot_free(r, sl, cpu);
	slot_alloc(r, sl, cpu, size);
}

static void rl_op(struct run *r, int cpu)
{
	u64 *s = &r->rnd[cpu];
	unsigned int j = (u32)(bench_rnd(s) >> 20) % RL_SLOTS;
	u32 size = rl_size(s);

	slot_free(r, &r->slots[j], cpu);
	slot_alloc(r, &r->slots[j], cpu, size);
}

static int run_random(const struct sim_fe *fe, const char *wl, int ncpu)
{
	bool mem8 = !strcmp(wl, "mem8"), ticked;
	struct run *r;
	unsigned long i;
	int cpu, ret;

	r = run_new(wl, mem8 ? (unsigned long)ncpu * MEM8_SLOTS : RL_SLOTS,
		    ncpu);
	if (!r)
		return -ENOMEM;
	for (cpu = 0; cpu < ncpu; cpu++)
		r->rnd[cpu] = (opt_seed ^ (0x9e3779b97f4a7c15ULL * (cpu + 1))) | 1;
	ret = run_start(r, fe, ncpu);
	if (ret) {
		run_drop_slots(r);
		free(r);
		return ret;
	}
	for (i = 0; i < opt_ops; i++) {
		for (cpu = 0; cpu < ncpu; cpu++) {
			if (mem8)
				mem8_op(r, cpu);
			else
				rl_op(r, cpu);
		}
		if (!(i % 64))
			run_sample(r);
		ticked = opt_tick && i && !(i % opt_tick);
		if (ticked)
			fe->tick(&r->sim);
		/* opt_tick rounds are a second */
		run_kick_poll(r, opt_tick ? i * SIM_NSEC_PER_SEC / opt_tick : i,
			      ticked);
	}
	r->ops = opt_ops * ncpu;
	run_phases(r);
	ret = run_finish(r);
	run_drop_slots(r);
	run_keep(r);
	return ret;
}

/* ---- traces ---- */

/*
 * One event of a trace: an allocation of @size bytes by @cpu, known as
 * @id until its free (by any CPU); @time_ns since the trace began, or
 * U64_MAX if the trace has no clock.
 */
struct sim_ev {
	bool alloc;
	int cpu;
	u64 id;
	u32 size;
	u64 time_ns;
};

/*
 * A trace being read: the replay tool's binary .kar files (issue 25,
 * mod/replay/kar_format.h on the replay branch: a 128-byte header, the
 * caches, the objects, then the events), or memsim's own line format
 * ("a CPU ID SIZE" / "f CPU ID", '#' comments; memsim -W writes it).
 */
struct sim_trace {
	FILE *f;
	bool kar;
	u64 nr_events;
	u64 done;
	long events_at;		/* .kar: file offset of the first event */
	u32 *obj_size;		/* .kar: each object's requested size */
	u64 nr_objects;
};


/* kar_format.h's layout, read field by field (little-endian, packed). */
#define KAR_HEADER_SIZE	128
#define KAR_CACHE_SIZE	48
#define KAR_OBJECT_SIZE	16
#define KAR_EVENT_SIZE	20

static u32 le32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static u64 le64(const u8 *p)
{
	return le32(p) | (u64)le32(p + 4) << 32;
}

static int sim_trace_open(struct sim_trace *t, const char *path)
{
	u8 h[KAR_HEADER_SIZE], o[KAR_OBJECT_SIZE];
	u64 i, nr_caches;

	memset(t, 0, sizeof(*t));
	t->f = fopen(path, "rb");
	if (!t->f) {
		perror(path);
		return -ENOENT;
	}
	if (fread(h, 1, sizeof(h), t->f) != sizeof(h) ||
	    memcmp(h, "KARTRACE", 8)) {
		rewind(t->f);
		return 0;
	}
	t->kar = true;
	if (le32(h + 8) != 1 || le32(h + 12) != KAR_HEADER_SIZE)
		return -EINVAL;
	nr_caches = le32(h + 20);
	t->nr_objects = le64(h + 24);
	t->nr_events = le64(h + 32);
	if (fseek(t->f, KAR_HEADER_SIZE + nr_caches * KAR_CACHE_SIZE, SEEK_SET))
		return -EINVAL;
	t->obj_size = calloc(t->nr_objects ?: 1, sizeof(u32));
	if (!t->obj_size)
		return -ENOMEM;
	for (i = 0; i < t->nr_objects; i++) {
		if (fread(o, 1, sizeof(o), t->f) != sizeof(o))
			return -EINVAL;
		t->obj_size[i] = le32(o);
	}
	t->events_at = ftell(t->f);
	return 0;
}

static void sim_trace_rewind(struct sim_trace *t)
{
	t->done = 0;
	if (t->kar)
		fseek(t->f, t->events_at, SEEK_SET);
	else
		rewind(t->f);
}

static void sim_trace_close(struct sim_trace *t)
{
	if (t->f)
		fclose(t->f);
	free(t->obj_size);
}

/*
 * sim_trace_next - read the next event of a trace
 *
 * The one place that knows the formats.  A .kar trace's kmem_cache
 * objects are replayed as kmalloc()s of their size (memsim models the
 * kmalloc caches only).  Return: 1 with *@ev filled, 0 at the end, -1 on
 * a malformed event.
 */
static int sim_trace_next(struct sim_trace *t, struct sim_ev *ev)
{
	char line[256], op;
	int n;

	if (t->kar) {
		u8 e[KAR_EVENT_SIZE];
		u8 kind;

		if (t->done == t->nr_events)
			return 0;
		if (fread(e, 1, sizeof(e), t->f) != sizeof(e))
			return -1;
		t->done++;
		kind = e[18];
		ev->time_ns = le32(e) | (u64)le32(e + 4) << 32;
		ev->id = le32(e + 8);
		ev->cpu = e[16] | e[17] << 8;
		ev->alloc = kind == 1 || kind == 2;
		if (ev->id >= t->nr_objects || ev->cpu >= SIM_MAX_CPUS ||
		    kind < 1 || kind > 4)
			return -1;
		ev->size = t->obj_size[ev->id];
		return 1;
	}
	while (fgets(line, sizeof(line), t->f)) {
		unsigned long long id;
		unsigned int size = 0;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		n = sscanf(line, " %c %d %llu %u", &op, &ev->cpu, &id, &size);
		if (n < 3 || (op != 'a' && op != 'f') || (op == 'a' && n < 4) ||
		    ev->cpu < 0 || ev->cpu >= SIM_MAX_CPUS)
			return -1;
		ev->alloc = op == 'a';
		ev->id = id;
		ev->size = size;
		ev->time_ns = U64_MAX;
		return 1;
	}
	return 0;
}

/* id -> slot, open addressing; slots never move once taken */
struct trace_map {
	u64 *ids;
	unsigned long *idx;
	unsigned long cap;
};

static unsigned long trace_hash(u64 id, unsigned long cap)
{
	return (id * 0x9e3779b97f4a7c15ULL >> 17) & (cap - 1);
}

static unsigned long *trace_find(struct trace_map *m, u64 id, bool add)
{
	unsigned long h = trace_hash(id, m->cap);

	while (m->idx[h] != ULONG_MAX) {
		if (m->ids[h] == id)
			return &m->idx[h];
		h = (h + 1) & (m->cap - 1);
	}
	if (!add)
		return NULL;
	m->ids[h] = id;
	return &m->idx[h];
}

/*
 * Replay a trace: each allocation and free on its recorded CPU, in the
 * recorded order; a second of background work per second of trace time
 * (or, without a clock, every OPS_PER_TICK events per CPU).  A zero-size
 * allocation is ZERO_SIZE_PTR for both allocators: skipped.
 */
static int run_trace(const struct sim_fe *fe, const char *path)
{
	struct trace_map map = { 0 };
	unsigned long nr = 0, ev_count = 0, i;
	u64 next_tick = SIM_NSEC_PER_SEC;
	struct sim_trace t;
	int ncpu = 1, ret, rc;
	struct sim_ev ev;
	struct run *r = NULL;

	ret = sim_trace_open(&t, path);
	if (ret)
		goto out;
	/* a first pass for the CPUs and the allocations */
	while ((rc = sim_trace_next(&t, &ev)) > 0) {
		ncpu = max(ncpu, ev.cpu + 1);
		nr += ev.alloc;
	}
	if (rc < 0) {
		ut_err("%s: malformed at event %lu", path, nr);
		ret = -EINVAL;
		goto out;
	}
	sim_trace_rewind(&t);
	map.cap = 1024;
	while (map.cap < 2 * nr)
		map.cap *= 2;
	r = run_new("trace", nr, ncpu);
	map.ids = calloc(map.cap, sizeof(*map.ids));
	map.idx = malloc(map.cap * sizeof(*map.idx));
	ret = -ENOMEM;
	if (!r || !map.ids || !map.idx)
		goto out;
	memset(map.idx, 0xff, map.cap * sizeof(*map.idx));
	ret = run_start(r, fe, ncpu);
	if (ret)
		goto out;
	nr = 0;
	while (sim_trace_next(&t, &ev) > 0) {
		unsigned long *pi = trace_find(&map, ev.id, ev.alloc);

		if (ev.alloc) {
			if (*pi != ULONG_MAX)
				slot_free(r, &r->slots[*pi], ev.cpu);
			*pi = nr++;
			if (ev.size)
				slot_alloc(r, &r->slots[*pi], ev.cpu, ev.size);
		} else if (pi && *pi != ULONG_MAX) {
			slot_free(r, &r->slots[*pi], ev.cpu);
		}
		if (!(++ev_count % 64) || ev.size > KA_MAX_SMALL_SIZE)
			run_sample(r);
		if (ev.time_ns != U64_MAX) {
			bool ticked = false;

			for (; ev.time_ns >= next_tick; next_tick += SIM_NSEC_PER_SEC) {
				fe->tick(&r->sim);
				ticked = true;
			}
			run_kick_poll(r, ev.time_ns, ticked);
		} else if (opt_tick && !(ev_count % (opt_tick * ncpu))) {
			fe->tick(&r->sim);
			run_kick_poll(r, ev_count / ncpu * SIM_NSEC_PER_SEC / opt_tick, true);
		} else if (opt_tick) {
			run_kick_poll(r, ev_count / ncpu * SIM_NSEC_PER_SEC / opt_tick, false);
		}
	}
	r->ops = ev_count;
	run_phases(r);
	ret = run_finish(r);
out:
	for (i = 0; r && i < r->nslots; i++)
		if (r->slots[i].p)
			ut_err("trace: object left");
	sim_trace_close(&t);
	free(map.ids);
	free(map.idx);
	if (r) {
		run_drop_slots(r);
		run_keep(r);
	}
	if (ret)
		sim_errors++;
	return ret;
}

/* ---- the speed patterns: cost proxies ---- */

enum pat { PAT_PAIR, PAT_BATCH, PAT_PRODCONS, PAT_BATCH2 };

static const struct {
	const char *name;
	enum pat pat;
	u32 size;
} cost_pats[] = {
	{ "pair64", PAT_PAIR, 64 },
	{ "batch256/1k", PAT_BATCH, 1024 },
	{ "batch256/4k", PAT_BATCH, 4096 },
	{ "batch256/16k", PAT_BATCH, 16384 },
	{ "prodcons/64", PAT_PRODCONS, 64 },
	{ "prodcons/1k", PAT_PRODCONS, 1024 },
	{ "prodcons/4k", PAT_PRODCONS, 4096 },
	{ "prodcons/16k", PAT_PRODCONS, 16384 },
	{ "2cpu-batch256/1k", PAT_BATCH2, 1024 },
};

#define COST_OPS	(256 * 400)

static int run_cost(const struct sim_fe *fe, unsigned int k)
{
	struct run *r = run_new(cost_pats[k].name, 2 * 256, 2);
	u32 size = cost_pats[k].size;
	unsigned long i, j;
	int ret;

	if (!r)
		return -ENOMEM;
	ret = run_start(r, fe, 2);
	if (ret)
		goto out;
	/* warm up once, then count */
	for (i = 0; i < COST_OPS / 256 + 1; i++) {
		if (i == 1)
			r->sim.cost = (struct sim_cost){ 0 };
		switch (cost_pats[k].pat) {
		case PAT_PAIR:
			for (j = 0; j < 256; j++) {
				slot_alloc(r, &r->slots[0], 0, size);
				slot_free(r, &r->slots[0], 0);
			}
			break;
		case PAT_BATCH:
		case PAT_PRODCONS:
			for (j = 0; j < 256; j++)
				slot_alloc(r, &r->slots[j], 0, size);
			for (j = 0; j < 256; j++)
				slot_free(r, &r->slots[j],
					  cost_pats[k].pat == PAT_BATCH ? 0 : 1);
			break;
		case PAT_BATCH2:
			for (j = 0; j < 256; j++) {
				slot_alloc(r, &r->slots[j], 0, size);
				slot_alloc(r, &r->slots[256 + j], 1, size);
			}
			for (j = 0; j < 256; j++) {
				slot_free(r, &r->slots[j], 0);
				slot_free(r, &r->slots[256 + j], 1);
			}
			break;
		}
		if (!(i % 16))
			fe->tick(&r->sim);
		/* 16 rounds a second, as the ticks say */
		run_kick_poll(r, i * SIM_NSEC_PER_SEC / 16, !(i % 16));
	}
	r->ops = r->sim.cost.allocs + r->sim.cost.frees;
	run_phases(r);
	ret = run_finish(r);
out:
	run_drop_slots(r);
	run_keep(r);
	return ret;
}

/* ---- tables ---- */

static double ratio(unsigned long pages, unsigned long bytes)
{
	return bytes ? (double)pages * PAGE_SIZE / bytes : 0;
}

static double per_k(unsigned long n, const struct run *r)
{
	unsigned long calls = r->cost.allocs + r->cost.frees;

	return calls ? 1000.0 * n / calls : 0;
}

static void print_tables(void)
{
	const char *last = "";
	unsigned int i;

	printf("\nMemory per requested live byte (at the end of the run): pages held x 4 KiB at the peak, the end of the run, after %u idle seconds and after the shrinkers; pages in spans (ka: the heap\'s pages_used; SLUB: all) at the end, idle and shrunk; MB of free objects each CPU keeps (all CPUs, the CPU with most) at the end\n",
	       opt_idle);
	printf("%-12s %-6s %4s %6s | %5s %5s %5s %5s | %5s %5s %5s | %6s %5s\n",
	       "design", "wl", "cpus", "liveMB", "peak", "live", "idle",
	       "shrnk", "live", "idle", "shrnk", "cached", "max");
	for (i = 0; i < nr_results; i++) {
		const struct run *r = results[i];

		if (!strncmp(r->wl, "pair", 4) || strchr(r->wl, '/'))
			continue;
		if (strcmp(last, r->wl))
			printf("\n");
		last = r->wl;
		printf("%-12s %-6s %4d %6.2f | %5.2f %5.2f %5.2f %5.2f | %5.2f %5.2f %5.2f | %6.2f %5.2f\n",
		       r->sim.fe->name, r->wl, r->sim.ncpu, r->end_bytes / 1e6,
		       ratio(r->peak_pages, r->end_bytes),
		       ratio(r->live.pages, r->end_bytes),
		       ratio(r->idle.pages, r->end_bytes),
		       ratio(r->shrunk.pages, r->end_bytes),
		       ratio(r->live.used, r->end_bytes),
		       ratio(r->idle.used, r->end_bytes),
		       ratio(r->shrunk.used, r->end_bytes),
		       r->live.cached / 1e6, r->live.cached_max / 1e6);
	}
	printf("\nCost proxies per 1000 calls (alloc or free): fast = served on the CPU with no lock and no atomic (%%), central locks, atomics (remote pushes, collections, ownership changes), refills + flushes (batches or spans to or from central), span (or slab) builds + frees; hit = ka's hit paths, a magazine pop or push (%%)\n");
	printf("%-12s %-14s %4s | %6s %8s %8s %8s %8s %6s\n", "design", "workload",
	       "cpus", "fast%", "locks", "atomics", "ref+fl", "spans", "hit%");
	last = "";
	for (i = 0; i < nr_results; i++) {
		const struct run *r = results[i];
		unsigned long calls = r->cost.allocs + r->cost.frees;

		if (strcmp(last, r->wl))
			printf("\n");
		last = r->wl;
		printf("%-12s %-14s %4d | %6.1f %8.2f %8.2f %8.2f %8.2f %6.1f\n",
		       r->sim.fe->name, r->wl, r->sim.ncpu,
		       calls ? 100.0 * (r->cost.fast_allocs +
					r->cost.fast_frees) / calls : 0,
		       per_k(r->cost.central_locks, r),
		       per_k(r->cost.atomics, r),
		       per_k(r->cost.refills + r->cost.flushes, r),
		       per_k(r->cost.span_new + r->cost.span_free, r),
		       calls ? 100.0 * r->cost.hits / calls : 0);
	}
}

/* ---- main ---- */

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list)
		return true;
	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static void print_help(void)
{
	unsigned int i;

	fprintf(stderr, "usage: memsim [-d DESIGNS] [-w mem8,rl,trace,cost] [-c CPUS] [-n OPS] [-s SEED] [-t OPS_PER_TICK] [-i IDLE_TICKS] [-T TRACE] [-W TRACE_OUT] [-q] [-l]\n");
	for (i = 0; i < sim_nr_fes; i++)
		fprintf(stderr, "  %-10s %s\n", sim_fes[i]->name,
			sim_fes[i]->desc);
}

int main(int argc, char **argv)
{
	const char *designs = NULL, *wls = "mem8,rl,cost", *cpus = "2,8,64";
	bool quick = false;
	unsigned int i, k;
	int opt;

	/* the designs are memsim's own, on ka's layers below mcache.c */
	ut_layers_only = true;
	while ((opt = getopt(argc, argv, "d:w:c:n:s:t:i:T:W:ql")) != -1) {
		switch (opt) {
		case 'd':
			designs = optarg;
			break;
		case 'w':
			wls = optarg;
			break;
		case 'c':
			cpus = optarg;
			break;
		case 'n':
			opt_ops = strtoul(optarg, NULL, 0);
			break;
		case 's':
			opt_seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			opt_tick = strtoul(optarg, NULL, 0);
			break;
		case 'i':
			opt_idle = strtoul(optarg, NULL, 0);
			break;
		case 'T':
			opt_trace = optarg;
			break;
		case 'W':
			opt_trace_out = fopen(optarg, "w");
			if (!opt_trace_out) {
				perror(optarg);
				return 2;
			}
			fprintf(opt_trace_out, "# memsim -W: a CPU ID SIZE | f CPU ID\n");
			break;
		case 'q':
			quick = true;
			break;
		case 'l':
		default:
			print_help();
			return opt == 'l' ? 0 : 2;
		}
	}
	if (quick) {
		/* make utest: seconds, every family, teardown checked */
		designs = designs ?: "slub,mag,go,keep-gp-st,hyb-gp-st,ka";
		wls = "mem8,rl";
		cpus = "2";
		opt_ops = 20000;
		opt_tick = 5000;
	}
	for (i = 0; i < sim_nr_fes; i++) {
		const struct sim_fe *fe = sim_fes[i];
		char *list, *tok, *save;

		if (!in_list(designs, fe->name))
			continue;
		list = strdup(cpus);
		for (tok = strtok_r(list, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			int n = atoi(tok);

			if (n < 1 || n > SIM_MAX_CPUS) {
				ut_err("bad CPU count %s", tok);
				return 2;
			}
			if (in_list(wls, "mem8"))
				run_random(fe, "mem8", n);
			if (in_list(wls, "rl"))
				run_random(fe, "rl", n);
		}
		free(list);
		if (in_list(wls, "trace") && opt_trace)
			run_trace(fe, opt_trace);
		if (in_list(wls, "cost"))
			for (k = 0; k < ARRAY_SIZE(cost_pats); k++)
				run_cost(fe, k);
	}
	if (!quick) {
		sim_slub_print(2);
		sim_slub_print(8);
		sim_slub_print(64);
	}
	print_tables();
	printf("\n%u passed, %u failed\n", nr_results - nr_failed, nr_failed);
	return sim_errors ? 1 : 0;
}
