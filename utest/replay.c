// SPDX-License-Identifier: GPL-2.0
/*
 * A recorded kernel allocation stream (a .kar trace, mod/replay/kar_format.h,
 * from scripts/trace-capture) replayed through ka's layers in userspace: the
 * harness's emulated CPUs (harness.c: per-CPU magazines over the real
 * mcentral, span, mheap and arena code), one per recorded CPU, every event
 * in recorded time order in one thread, deterministic.  It prints what the
 * allocator holds - the footprint per size class, span occupancy over time
 * - so that a memory policy in those layers can be tried in seconds.
 *
 * A kmem_cache event is an allocation of the cache's object size here:
 * ka_cache (cache.c, spans of its own) is not in utest's build, so cache
 * objects share the size classes' spans.  Each object carries its id in its
 * first bytes, checked before its free.
 *
 * usage: replay [--every N] [--budget KIB] [--csv FILE] TRACE.kar...
 *   --every N   a sample every N events (default 10000)
 *   --budget KIB  the per-CPU budget (pcpu_budget=; default: ka's)
 *   --csv FILE  the samples: event, live requested bytes, pages held and
 *               used by the heap, bytes in magazines, spans by occupancy
 *               (tenths: objects held by the trace / objects per span)
 * Prints per trace the peak (the first sample with the most heap pages
 * held), the end, after a flush of every magazine and
 * a release of empty spans and free chunks ("shrunk"), the classes'
 * footprint at the peak, and "N passed, N failed" last (a failed check, a
 * refused free, a problem at teardown).
 */
#include <stdlib.h>
#include "harness.h"
#include "kar_format.h"

#define OCC_BUCKETS	11	/* 0-9%, ..., 90-99%, 100% */

struct rp_sample {
	u64 event;
	u64 live;		/* bytes requested, live */
	unsigned long held;	/* heap pages held */
	unsigned long used;	/* heap pages in runs */
	unsigned long mag;	/* bytes in magazines */
	unsigned long occ[OCC_BUCKETS];
};

struct rp_class {
	unsigned long spans, objs_total, out, in_mags;
};

static unsigned long every = 10000;
static unsigned long budget_kib = ULONG_MAX;
static FILE *csv;
static unsigned long passed, failed;

static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *buf = NULL;
	long n;

	if (!f)
		return NULL;
	n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	if (n > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(n);
		if (buf && fread(buf, 1, n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*size = n;
	}
	fclose(f);
	return buf;
}

/* The file's parts, checked against its size and against each other. */
static const char *rp_parse(const u8 *d, size_t size, const struct kar_header **h,
			    const struct kar_cache **c, const struct kar_object **o,
			    const struct kar_event **e)
{
	u64 need, i;

	if (size < sizeof(**h))
		return "too short";
	*h = (const void *)d;
	if (memcmp((*h)->magic, KAR_MAGIC, 8) || (*h)->version != KAR_VERSION ||
	    (*h)->header_size != sizeof(**h))
		return "not a .kar trace of this version";
	if ((*h)->nr_caches > size || (*h)->nr_objects > size ||
	    (*h)->nr_events > size || (*h)->nr_sites > size ||
	    !(*h)->nr_cpus || (*h)->nr_cpus > 4096)
		return "counts out of range";
	need = sizeof(**h) + (*h)->nr_caches * sizeof(**c) +
	       (*h)->nr_objects * sizeof(**o) + (*h)->nr_events * sizeof(**e) +
	       (*h)->nr_sites * 8;
	if (need != size)
		return "size does not match the counts";
	*c = (const void *)(*h + 1);
	*o = (const void *)(*c + (*h)->nr_caches);
	*e = (const void *)(*o + (*h)->nr_objects);
	for (i = 0; i < (*h)->nr_objects; i++)
		if (!(*o)[i].size || (*o)[i].size > KA_MAX_SIZE)
			return "object size out of range";
	for (i = 0; i < (*h)->nr_events; i++)
		if ((*e)[i].obj >= (*h)->nr_objects || (*e)[i].cpu >= (*h)->nr_cpus ||
		    (*e)[i].kind < KAR_EV_KMALLOC || (*e)[i].kind > KAR_EV_CACHE_FREE)
			return "event out of range";
	return NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* Objects of @span sitting in magazines: @mags is sorted. */
static unsigned long rp_in_mags(const struct ka_span *span, void **mags,
				size_t n)
{
	uintptr_t lo = (uintptr_t)span->base, hi = (uintptr_t)span->end;
	size_t a = 0, b = n, k = 0;

	while (a < b) {			/* first >= lo */
		size_t m = (a + b) / 2;

		if ((uintptr_t)mags[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	while (a < n && (uintptr_t)mags[a] < hi) {
		a++;
		k++;
	}
	return k;
}

/* Heap pages, magazines and every small span's occupancy, now. */
static void rp_sample(struct ut_cpu *cpus, unsigned int ncpu, u64 event,
		      u64 live, struct rp_sample *s, struct rp_class *cls_out)
{
	size_t nm = 0, cap = 0;
	void **mags = NULL;
	unsigned int c, cls;
	int nid;

	memset(s, 0, sizeof(*s));
	s->event = event;
	s->live = live;
	/* the emulated CPUs' magazines (the trace's CPUs share them) */
	for (c = 0; c < min_t(unsigned int, ncpu, nr_cpu_ids); c++)
		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct ka_magazine *m = &per_cpu_ptr(ka_mcache, c)->mag[cls];
			size_t count = m->top - m->objs;

			if (!count)
				continue;
			s->mag += (unsigned long)count * ka_classes[cls].size;
			if (nm + count > cap) {
				cap = (nm + count) * 2 + 64;
				mags = realloc(mags, cap * sizeof(*mags));
				if (!mags)
					abort();
			}
			memcpy(mags + nm, m->objs, count * sizeof(*mags));
			nm += count;
		}
	if (nm)
		qsort(mags, nm, sizeof(*mags), cmp_ptr);
	for_each_node(nid) {
		struct ka_mheap *heap = ka_mheap_of(nid);

		s->held += heap->pages_held;
		s->used += heap->pages_used;
		for (cls = 1; cls < ka_nr_classes; cls++) {
			struct ka_mcentral *cen = ka_mcentral_of(nid, cls);
			struct list_head *lists[] = {
				&cen->partial, &cen->full, &cen->owned
			};
			struct ka_span *span;
			unsigned int l;

			for (l = 0; l < ARRAY_SIZE(lists); l++)
				list_for_each_entry(span, lists[l], list) {
					unsigned long im = rp_in_mags(span, mags, nm);
					/* freed into a CPU's span by another */
					unsigned long rf = bitmap_weight(ka_span_rfree(span),
									 span->nelems);
					unsigned long held = span->nalloc - im - rf;

					s->occ[held * 10 / span->nelems]++;
					if (cls_out) {
						cls_out[cls].spans++;
						cls_out[cls].objs_total += span->nelems;
						cls_out[cls].out += span->nalloc;
						cls_out[cls].in_mags += im;
					}
				}
		}
	}
	free(mags);
}

static void rp_csv(const char *name, const struct rp_sample *s)
{
	unsigned int i;

	if (!csv)
		return;
	fprintf(csv, "%s,%llu,%llu,%lu,%lu,%lu", name,
		(unsigned long long)s->event, (unsigned long long)s->live,
		s->held, s->used, s->mag);
	for (i = 0; i < OCC_BUCKETS; i++)
		fprintf(csv, ",%lu", s->occ[i]);
	fputc('\n', csv);
}

static void rp_print(const char *what, const struct rp_sample *s)
{
	unsigned long spans = 0, low = 0;
	unsigned int i;

	for (i = 0; i < OCC_BUCKETS; i++) {
		spans += s->occ[i];
		if (i < 3)
			low += s->occ[i];
	}
	printf("  %-7s event %9llu: live %8.2f MB, heap %8.2f MB held (%.2fx live), %8.2f MB in runs, magazines %.2f MB; %lu spans, %lu under 30%% full\n",
	       what, (unsigned long long)s->event, s->live / 1e6,
	       s->held * (double)PAGE_SIZE / 1e6,
	       s->live ? s->held * (double)PAGE_SIZE / s->live : 0.0,
	       s->used * (double)PAGE_SIZE / 1e6, s->mag / 1e6, spans, low);
}

static void rp_check(bool ok, const char *what, const char *trace)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL %s: %s\n", trace, what);
	}
}

static void replay(const char *path)
{
	const struct kar_header *h;
	const struct kar_cache *caches;
	const struct kar_object *objs;
	const struct kar_event *ev;
	struct rp_sample s, peak = { 0 };
	struct rp_class *pc_end, *mc;
	struct ut_cpu *cpus;
	unsigned long bad = 0, fails = 0, refused = 0, leftovers = 0;
	const char *why;
	size_t size = 0;
	void **slots;
	u64 i, live = 0;
	unsigned int c, cls;
	u8 *d;

	d = read_file(path, &size);
	if (!d) {
		rp_check(false, "cannot read the file", path);
		return;
	}
	why = rp_parse(d, size, &h, &caches, &objs, &ev);
	if (why) {
		rp_check(false, why, path);
		free(d);
		return;
	}
	if (ut_init()) {
		rp_check(false, "ut_init failed", path);
		free(d);
		return;
	}
	if (budget_kib != ULONG_MAX)
		ka_pcpu_budget = budget_kib * 1024;
	cpus = calloc(h->nr_cpus, sizeof(*cpus));
	slots = calloc(h->nr_objects ? h->nr_objects : 1, sizeof(*slots));
	pc_end = calloc(KA_MAX_CLASSES, sizeof(*pc_end));
	mc = calloc(KA_MAX_CLASSES, sizeof(*mc));
	if (!cpus || !slots || !pc_end || !mc)
		abort();
	/* the trace's CPU c runs on emulated CPU c % nr_cpu_ids */
	for (c = 0; c < h->nr_cpus; c++)
		ut_cpu_init(&cpus[c], c % nr_cpu_ids,
			    cpu_to_node(c % nr_cpu_ids));
	printf("%s: %s, %u CPUs, %llu events, %llu objects, %u caches\n", path,
	       h->kernel, h->nr_cpus, (unsigned long long)h->nr_events,
	       (unsigned long long)h->nr_objects, h->nr_caches);
	for (i = 0; i < h->nr_events; i++) {
		const struct kar_event *e = &ev[i];
		const struct kar_object *o = &objs[e->obj];
		u64 id = e->obj;
		size_t n = min_t(size_t, o->size, sizeof(id));
		void *p;

		if (i % every == 0) {
			rp_sample(cpus, h->nr_cpus, i, live, &s, NULL);
			rp_csv(path, &s);
			if (s.held > peak.held)
				peak = s;
		}
		if (kar_event_is_alloc(e)) {
			if (slots[e->obj]) {
				bad++;	/* allocated twice: a malformed trace */
				continue;
			}
			p = ut_alloc(&cpus[e->cpu], o->size, GFP_KERNEL);
			if (!p) {
				fails++;
				continue;
			}
			memcpy(p, &id, n);
			slots[e->obj] = p;
			live += o->size;
			continue;
		}
		p = slots[e->obj];
		if (!p)
			continue;	/* its allocation failed */
		if (memcmp(p, &id, n))
			bad++;
		if (ut_free(&cpus[e->cpu], p) == UT_REFUSED)
			refused++;
		slots[e->obj] = NULL;
		live -= o->size;
	}
	rp_sample(cpus, h->nr_cpus, h->nr_events, live, &s, pc_end);
	rp_csv(path, &s);
	if (s.held > peak.held)
		peak = s;
	rp_print("peak", &peak);
	rp_print("end", &s);
	for (c = 0; c < h->nr_cpus; c++)
		ut_flush_cpu(&cpus[c]);
	ut_release_all(0);
	rp_sample(cpus, h->nr_cpus, h->nr_events, live, &s, mc);
	rp_print("shrunk", &s);
	printf("  footprint per size class at the end, then after the shrink: spans, KB of spans, objects the trace holds, their share of the slots\n");
	printf("  %5s %6s | %7s %9s %8s %6s | %7s %9s %6s\n", "class", "bytes",
	       "spans", "KB", "live", "occ", "spans", "KB", "occ");
	for (cls = 1; cls < ka_nr_classes; cls++) {
		struct rp_class *r = &pc_end[cls], *q = &mc[cls];
		unsigned long held = r->out - r->in_mags;
		unsigned long kb = ka_classes[cls].npages * PAGE_SIZE / 1024;

		if (!r->spans && !q->spans)
			continue;
		printf("  %5u %6u | %7lu %9lu %8lu %5.1f%% | %7lu %9lu %5.1f%%\n", cls,
		       ka_classes[cls].size, r->spans, r->spans * kb, held,
		       r->objs_total ? 100.0 * held / r->objs_total : 0.0,
		       q->spans, q->spans * kb,
		       q->objs_total ? 100.0 * (q->out - q->in_mags) / q->objs_total : 0.0);
	}
	for (i = 0; i < h->nr_objects; i++) {
		u64 id = i;

		if (!slots[i])
			continue;
		if (memcmp(slots[i], &id, min_t(size_t, objs[i].size, sizeof(id))))
			bad++;
		if (ut_free(&cpus[0], slots[i]) == UT_REFUSED)
			refused++;
		leftovers++;
	}
	for (c = 0; c < h->nr_cpus; c++)
		ut_flush_cpu(&cpus[c]);
	printf("  %lu objects left live by the trace freed; %lu failed allocations, %lu bad objects, %lu refused frees\n",
	       leftovers, fails, bad, refused);
	rp_check(!fails, "allocations failed", path);
	rp_check(!bad, "objects corrupted", path);
	rp_check(!refused && !ut_refused, "frees refused", path);
	rp_check(ut_exit() == 0, "teardown found pages or objects held", path);
	free(mc);
	free(pc_end);
	free(slots);
	free(cpus);
	free(d);
}

int main(int argc, char **argv)
{
	int i;

	ut_quiet = true;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--every") && i + 1 < argc) {
			every = strtoul(argv[++i], NULL, 0);
			if (!every)
				every = 1;
		} else if (!strcmp(argv[i], "--budget") && i + 1 < argc) {
			budget_kib = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--csv") && i + 1 < argc) {
			csv = fopen(argv[++i], "w");
			if (!csv) {
				perror(argv[i]);
				return 2;
			}
			fprintf(csv, "trace,event,live_bytes,pages_held,pages_used,mag_bytes,occ0,occ10,occ20,occ30,occ40,occ50,occ60,occ70,occ80,occ90,occ100\n");
		} else if (argv[i][0] != '-') {
			replay(argv[i]);
		} else {
			fprintf(stderr, "usage: replay [--every N] [--budget KIB] [--csv FILE] TRACE.kar...\n");
			return 2;
		}
	}
	if (csv)
		fclose(csv);
	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
