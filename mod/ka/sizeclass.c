// SPDX-License-Identifier: GPL-2.0
/*
 * ka size classes: Go's table, computed at module init.
 *
 * The rules are those of the Go runtime's mksizeclasses.go, applied to this
 * kernel's PAGE_SIZE instead of Go's 8 KiB pages:
 *
 *  - sizes step by 8 bytes up to 32, by 16 up to 128, then by size/8 up to
 *    2048 and by 256 up to 32 KiB (the steps alone would waste at most
 *    12.5% from 128 bytes on; the classes merged below widen the gaps:
 *    1665 bytes round up to 2048 and 3329 to 4096, 18.7%, and a page
 *    class above PAGE_SIZE wastes up to 50%: 4097 bytes in 8192);
 *  - a span has as few pages as keep the tail (span bytes modulo object
 *    size) at or below 1/8 of the span;
 *  - a size that gives the same pages and object count as the previous
 *    class replaces it; then each class grows to the largest size (a
 *    multiple of 128) that still fits as many objects in its span.
 *
 * With 4 KiB pages the second pass gives two classes of 1536 bytes; the
 * duplicate is dropped.  ka then shapes the spans (ka_classes_spans()):
 * every class up to PAGE_SIZE holds at least four objects a span (the 4096
 * class gets four pages), and above PAGE_SIZE the classes are the page
 * multiples, one object a span - 47 classes with 4 KiB pages.  Every power
 * of two from 8 to 32768 is a class, so kmalloc's natural alignment for
 * power-of-two sizes holds.
 *
 * Owns: ka_classes[] and the size -> class tables (Go's size_to_class8 and
 * size_to_class128).  Written once at init, read-only after: no locks.
 */
#define pr_fmt(fmt) "ka: " fmt

#include "ka_internal.h"

struct ka_class ka_classes[KA_MAX_CLASSES];
unsigned int ka_nr_classes;
u8 ka_size_to_class8[KA_SMALL_SIZE_MAX / KA_SMALL_SIZE_DIV + 1];
u16 ka_size_to_magoff[KA_MAX_SMALL_SIZE / KA_SMALL_SIZE_DIV];
u8 ka_size_to_class128[(KA_MAX_SMALL_SIZE - KA_SMALL_SIZE_MAX) /
		       KA_LARGE_SIZE_DIV + 1];
KA_EXPORT_INTERNAL(ka_classes);
KA_EXPORT_INTERNAL(ka_nr_classes);
KA_EXPORT_INTERNAL(ka_size_to_class8);
KA_EXPORT_INTERNAL(ka_size_to_class128);
KA_EXPORT_INTERNAL(ka_size_to_magoff);

/*
 * Go's divMagic: for every offset n in [0, span bytes],
 * (n * m) >> 32 == n / size with m = 2^32 / size rounded up, and n is a
 * multiple of size exactly when the low 32 bits of n * m are below m.
 * Verified here rather than trusted: a class that fails is a bug in the
 * table.
 */
static int ka_class_divmagic(struct ka_class *c)
{
	u32 m = U32_MAX / c->size + 1;
	unsigned int span_bytes = c->npages * PAGE_SIZE;
	unsigned int n;

	for (n = 0; n <= span_bytes; n += c->size) {
		/*
		 * The exact multiple and its neighbours are the hard cases;
		 * ka_span_obj_ok() also needs the fraction below m exactly
		 * at multiples (it grows with the remainder in between).
		 */
		if (((u64)n * m) >> 32 != n / c->size ||
		    (u32)((u64)n * m) >= m)
			return -ERANGE;
		if (n && (((u64)(n - 1) * m) >> 32 != (n - 1) / c->size ||
			  (u32)((u64)(n - 1) * m) < m))
			return -ERANGE;
	}
	if (((u64)span_bytes * m) >> 32 != span_bytes / c->size)
		return -ERANGE;
	c->divmagic = m;
	return 0;
}

/*
 * Objects per refill and flush: KA_BATCH_BYTES of them, at most
 * KA_BATCH_MAX, at least one.  Sized in bytes, so that a refill of a big
 * class does not take (and build) spans worth hundreds of KiB at once: 64
 * up to 512 bytes, 16 at 2 KiB, 8 at 4 KiB, 1 at 32 KiB (Go's mcache
 * holds one span there, one object).
 */
static unsigned int ka_class_batch(unsigned int size)
{
	return clamp_t(unsigned int, KA_BATCH_BYTES / size, 1, KA_BATCH_MAX);
}

/*
 * Pass 1, Go's classes: sizes stepping by 8, 16, size/8 and 256, each with
 * the fewest pages that keep the tail at or below 1/8 of the span; a size
 * with the same pages and object count as the previous class replaces it.
 * Return: the number of classes (the dummy class 0 included), or -ERANGE.
 */
static int ka_classes_go(unsigned int shape)
{
	unsigned int align = 8, size, nr = 1;
	bool coarse = shape & KA_CLASSES_COARSE;

	memset(ka_classes, 0, sizeof(ka_classes));
	for (size = align; size <= KA_MAX_SMALL_SIZE; size += align) {
		unsigned int alloc = PAGE_SIZE, npages;

		if (is_power_of_2(size)) {
			if (size >= 2048)
				align = 256;
			else if (size >= 128)
				align = size / (coarse && size < 512 ? 4 : 8);
			else if (size >= 32)
				align = coarse ? 32 : 16;
			else if (coarse && size >= 16)
				align = 16;
		}
		while (alloc % size > alloc / 8)
			alloc += PAGE_SIZE;
		npages = alloc / PAGE_SIZE;

		if (nr > 1 && npages == ka_classes[nr - 1].npages &&
		    alloc / size == alloc / ka_classes[nr - 1].size) {
			ka_classes[nr - 1].size = size;
			continue;
		}
		if (nr == KA_MAX_CLASSES)
			return -ERANGE;
		ka_classes[nr].size = size;
		ka_classes[nr].npages = npages;
		nr++;
	}
	return nr;
}

/* Pass 2: grow each class to the largest size that fits as many objects. */
static void ka_classes_grow(unsigned int nr)
{
	unsigned int i;

	for (i = 1; i < nr; i++) {
		struct ka_class *k = &ka_classes[i];
		unsigned int span = k->npages * PAGE_SIZE;
		unsigned int grown = (span / (span / k->size)) &
				     ~(KA_LARGE_SIZE_DIV - 1);

		if (grown > k->size)
			k->size = grown;
	}
}

/*
 * Pass 3: drop classes that the growth made equal to their predecessor.
 * Return: the number of classes left.
 */
static unsigned int ka_classes_dedup(unsigned int nr)
{
	unsigned int i, c;

	for (i = 2, c = 2; i < nr; i++) {
		if (ka_classes[i].size == ka_classes[c - 1].size)
			continue;
		ka_classes[c++] = ka_classes[i];
	}
	return c;
}

/*
 * Pass 4, ka's spans, as @shape (enum ka_class_shape) says:
 *
 *  - a class of at most PAGE_SIZE whose run holds fewer than four objects
 *    (2048 .. 4096 bytes with 4 KiB pages) gets its run repeated until it
 *    holds four: only classes above PAGE_SIZE have one-object spans, and
 *    a CPU filling its spans (mcache.c) takes a new span every four
 *    objects at most - two-object spans of 4 KiB made a batch of 256
 *    allocations and frees build and destroy 128 spans (icount: 1,712
 *    instructions a pair against 983 with four; mem8 after the shrinkers
 *    held 5% more pages);
 *  - KA_CLASSES_PAGES replaces the classes above PAGE_SIZE by the page
 *    multiples up to KA_MAX_SMALL_SIZE (8, 12, ... 32 KiB), one object a
 *    span: Go's classes there keep runs of up to 13 pages for 2 to 5
 *    objects, and a run shared by objects of random lifetimes stays held
 *    while any of them lives; a page class wastes no more pages than a
 *    one-object span of Go's class would (its run is page-rounded too);
 *  - KA_CLASSES_REPEAT (ka before issue 30, for utest's comparisons):
 *    every run repeated until it holds KA_SPAN_MIN_OBJS objects, within
 *    KA_SPAN_MAX_BYTES.
 *
 * KA_CLASSES_COARSE (pass 1, utest's comparisons only) doubles Go's steps
 * below 512 bytes - 16 from 16, 32 from 32, size/4 from 128: 14 classes up
 * to 512 bytes instead of 24, up to 25% round-up instead of 12.5%.
 *
 * Return: the number of classes, or -ERANGE.
 */
static int ka_classes_spans(unsigned int nr, unsigned int shape)
{
	unsigned int i, npages;

	if (shape & KA_CLASSES_PAGES) {
		while (nr > 1 && ka_classes[nr - 1].size > PAGE_SIZE)
			nr--;
		for (npages = 2; npages * PAGE_SIZE <= KA_MAX_SMALL_SIZE;
		     npages++) {
			if (nr == KA_MAX_CLASSES)
				return -ERANGE;
			ka_classes[nr].size = npages * PAGE_SIZE;
			ka_classes[nr++].npages = npages;
		}
	}
	for (i = 1; i < nr; i++) {
		struct ka_class *k = &ka_classes[i];
		unsigned int run = k->npages, per = run * PAGE_SIZE / k->size;

		if (shape & KA_CLASSES_REPEAT)
			k->npages *= clamp_t(unsigned int,
					     DIV_ROUND_UP(KA_SPAN_MIN_OBJS, per), 1,
					     KA_SPAN_MAX_BYTES / (run * PAGE_SIZE) ?: 1);
		else if (k->size <= PAGE_SIZE && per < 4)
			k->npages *= DIV_ROUND_UP(4, per);
		k->nelems = k->npages * PAGE_SIZE / k->size;
	}
	return nr;
}

/*
 * Pass 5: what ka adds to each class - its span, batch, magazine bound,
 * reserve of empty spans and divmagic.
 * Return: 0, or -ERANGE if a divmagic fails its check.
 */
static int ka_classes_derive(unsigned int nr)
{
	unsigned int i;
	int ret;

	for (i = 1; i < nr; i++) {
		struct ka_class *k = &ka_classes[i];

		k->batch = ka_class_batch(k->size);
		/* the most a magazine may hold: 64 KiB, 2 to 512 objects */
		k->cache_max = clamp_t(unsigned int,
				       KA_MAG_MAX_BYTES / k->size,
				       2 * k->batch, KA_MAG_MAX_OBJS);
		/*
		 * Enough empty spans for KA_RESERVE_OBJS objects (a batch of
		 * the small classes), at most KA_MCENTRAL_RESERVE_BYTES, so
		 * that a flush from one CPU and a refill on another
		 * (producer and consumer) do not build and destroy a span
		 * per object in the big classes.
		 */
		k->reserve = max_t(unsigned long, 1,
				   min_t(unsigned long,
					 DIV_ROUND_UP(max(k->batch,
							  KA_RESERVE_OBJS),
						      k->nelems),
					 KA_MCENTRAL_RESERVE_BYTES /
					 (k->npages * PAGE_SIZE)));

		ret = ka_class_divmagic(k);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Pass 6, the lookup tables: Go's size_to_class8 and size_to_class128,
 * then the hit path's flat table built from them.
 */
static void ka_size_tables(void)
{
	unsigned int size, c;

	for (c = 1, size = 0; size <= KA_SMALL_SIZE_MAX; size += KA_SMALL_SIZE_DIV) {
		while (ka_classes[c].size < size)
			c++;
		ka_size_to_class8[size / KA_SMALL_SIZE_DIV] = c;
	}
	for (size = KA_SMALL_SIZE_MAX; size <= KA_MAX_SMALL_SIZE;
	     size += KA_LARGE_SIZE_DIV) {
		while (ka_classes[c].size < size)
			c++;
		ka_size_to_class128[(size - KA_SMALL_SIZE_MAX) /
				    KA_LARGE_SIZE_DIV] = c;
	}
	/* size 0 never reaches the table, but keep it pointing at a class */
	ka_size_to_class8[0] = 1;
	/* the hit path's flat table, from Go's two: (size - 1) / 8 */
	for (size = KA_SMALL_SIZE_DIV; size <= KA_MAX_SMALL_SIZE;
	     size += KA_SMALL_SIZE_DIV)
		ka_size_to_magoff[size / KA_SMALL_SIZE_DIV - 1] =
			ka_size_class_go(size) << KA_MAG_SHIFT;
}

/**
 * ka_sizeclass_build - compute the class table and the lookup tables
 * @shape: enum ka_class_shape: KA_CLASSES_DEFAULT, or another shape for
 *         utest's comparisons (utest/memsim.c)
 *
 * Context: module init (or a test, before any span exists).
 * Return: 0, or -ERANGE if the computed table breaks one of its invariants.
 */
int ka_sizeclass_build(unsigned int shape)
{
	int nr, ret;

	nr = ka_classes_go(shape);
	if (nr < 0)
		return nr;
	ka_classes_grow(nr);
	nr = ka_classes_spans(ka_classes_dedup(nr), shape);
	if (nr < 0)
		return nr;
	ret = ka_classes_derive(nr);
	if (ret)
		return ret;
	ka_nr_classes = nr;
	ka_size_tables();
	return 0;
}

/**
 * ka_sizeclass_init - compute ka's class table (KA_CLASSES_DEFAULT)
 *
 * Context: module init.
 * Return: 0, or -ERANGE if the computed table breaks one of its invariants.
 */
int ka_sizeclass_init(void)
{
	return ka_sizeclass_build(KA_CLASSES_DEFAULT);
}
