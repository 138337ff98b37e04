/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kar_format.h - the .kar trace: the kernel's own allocation stream,
 * recorded from the kmem tracepoints by scripts/trace-capture, converted by
 * scripts/trace-convert (which writes this layout with Python's struct:
 * keep the two in step), replayed by ka_replay.ko (mod/replay/) and by
 * utest/replay.c.  Shared by C code only through this header; it holds no
 * code and no state.
 *
 * A file is, little-endian and without padding between the parts:
 *
 *	struct kar_header	header
 *	struct kar_cache	caches[nr_caches]
 *	struct kar_object	objects[nr_objects]
 *	struct kar_event	events[nr_events]
 *	u64			sites[nr_sites]	(call-site addresses, in the
 *						 recording boot; 0 = unknown)
 *
 * Events are in recorded time order (trace_clock=global, so across CPUs
 * too).  Every object has exactly one allocation event and at most one free
 * event, later in the file; an object with no free is still live when the
 * trace ends.  The converter gives an object its id when it is allocated
 * (ids grow with time), matches a free to the live object of that pointer,
 * drops (and counts) frees of pointers allocated before the trace began,
 * and when a pointer is handed out again while its object is live (its free
 * was not traced: kmem_cache_free_bulk(), kfree_bulk() of kfree_rcu), puts
 * a free flagged KAR_EVF_IMPLICIT just before the new allocation, on its
 * CPU.
 */
#ifndef _KAR_FORMAT_H
#define _KAR_FORMAT_H

#include <linux/types.h>	/* u8 .. u64: the kernel's, or utest/shim/linux/types.h */

#define KAR_MAGIC		"KARTRACE"	/* 8 bytes, no NUL */
#define KAR_VERSION		1

struct kar_header {			/* 128 bytes */
	char magic[8];			/* KAR_MAGIC */
	u32 version;			/* KAR_VERSION */
	u32 header_size;		/* sizeof(struct kar_header) */
	u32 nr_cpus;			/* recorded CPUs: every event's cpu is below */
	u32 nr_caches;
	u64 nr_objects;
	u64 nr_events;
	u64 nr_sites;
	u64 duration_ns;		/* the last event's time */
	u64 dropped_frees;		/* frees of objects older than the trace */
	u64 implicit_frees;		/* KAR_EVF_IMPLICIT frees added */
	u64 live_at_end;		/* objects never freed */
	u64 lost_events;		/* events the ring buffer dropped */
	char kernel[40];		/* uname -r of the recording kernel, NUL-terminated */
};

/* A kmem_cache the trace allocates from, as the recording kernel made it. */
struct kar_cache {			/* 48 bytes */
	char name[32];			/* its name there, NUL-terminated */
	u32 object_size;		/* bytes requested per object */
	u32 size;			/* SLUB's slot size there */
	u32 align;			/* alignment asked for (0: none known) */
	u32 flags;			/* KAR_CACHE_* */
};

#define KAR_CACHE_HWCACHE_ALIGN		0x1
#define KAR_CACHE_RECLAIM_ACCOUNT	0x2
#define KAR_CACHE_TYPESAFE_BY_RCU	0x4
#define KAR_CACHE_ACCOUNT		0x8
#define KAR_CACHE_DMA			0x10
#define KAR_CACHE_NAME_GUESSED		0x100	/* no free named it (see trace-convert) */

#define KAR_NO_CACHE			0xffff

struct kar_object {			/* 16 bytes */
	u32 size;			/* bytes requested (a cache's object_size) */
	u32 alloc_size;		/* bytes the recording kernel gave */
	u32 gfp;			/* KAR_GFP_* */
	u16 cache;			/* index into caches, or KAR_NO_CACHE (kmalloc) */
	u16 flags;			/* 0 */
};

/* The gfp bits that matter to a replay, portable across kernel versions. */
#define KAR_GFP_ZERO			0x1
#define KAR_GFP_ACCOUNT			0x2
#define KAR_GFP_RECLAIMABLE		0x4
#define KAR_GFP_ATOMIC			0x8	/* no direct reclaim */
#define KAR_GFP_DMA			0x10
#define KAR_GFP_NOWARN			0x20

enum kar_event_kind {
	KAR_EV_KMALLOC = 1,		/* kmalloc() and friends */
	KAR_EV_CACHE_ALLOC = 2,		/* kmem_cache_alloc() and friends */
	KAR_EV_KFREE = 3,		/* kfree() */
	KAR_EV_CACHE_FREE = 4,		/* kmem_cache_free() */
};

#define KAR_EVF_IMPLICIT		0x1	/* a free the trace lacked */

struct kar_event {			/* 20 bytes */
	u32 time_lo;			/* ns since the first event */
	u32 time_hi;
	u32 obj;			/* object id, below nr_objects */
	u32 site;			/* call site, index into sites */
	u16 cpu;			/* recording CPU */
	u8 kind;			/* enum kar_event_kind */
	u8 flags;			/* KAR_EVF_* */
};

static inline int kar_event_is_alloc(const struct kar_event *e)
{
	return e->kind == KAR_EV_KMALLOC || e->kind == KAR_EV_CACHE_ALLOC;
}

#endif /* _KAR_FORMAT_H */
