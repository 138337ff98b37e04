/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka tracepoints: events/ka/ in tracefs, usable from trace-cmd, perf and
 * bpftrace like kmem:kmalloc.  The hit paths have no tracepoint:
 * registering ka:ka_alloc or ka:ka_free turns the hook keys on
 * (ka_trace_alloc_reg(), ka_trace_free_reg(): api.c), which send them to
 * the out-of-line paths that trace; elsewhere a disabled tracepoint is a
 * static branch.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ka

#if !defined(_KA_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KA_TRACE_H

#include <linux/tracepoint.h>
#include <trace/events/mmflags.h>

/* Enabling ka_alloc/ka_free moves ka's hit paths to their hooked variant. */
int ka_trace_alloc_reg(void);
void ka_trace_alloc_unreg(void);
int ka_trace_free_reg(void);
void ka_trace_free_unreg(void);

TRACE_EVENT_FN(ka_alloc,
	TP_PROTO(unsigned long call_site, const void *ptr, size_t bytes_req,
		 size_t bytes_alloc, gfp_t gfp_flags, int node),
	TP_ARGS(call_site, ptr, bytes_req, bytes_alloc, gfp_flags, node),
	TP_STRUCT__entry(
		__field(unsigned long, call_site)
		__field(const void *, ptr)
		__field(size_t, bytes_req)
		__field(size_t, bytes_alloc)
		__field(unsigned long, gfp_flags)
		__field(int, node)
	),
	TP_fast_assign(
		__entry->call_site = call_site;
		__entry->ptr = ptr;
		__entry->bytes_req = bytes_req;
		__entry->bytes_alloc = bytes_alloc;
		__entry->gfp_flags = (__force unsigned long)gfp_flags;
		__entry->node = node;
	),
	TP_printk("call_site=%pS ptr=%p bytes_req=%zu bytes_alloc=%zu gfp_flags=%s node=%d",
		  (void *)__entry->call_site, __entry->ptr, __entry->bytes_req,
		  __entry->bytes_alloc, show_gfp_flags(__entry->gfp_flags),
		  __entry->node),
	ka_trace_alloc_reg, ka_trace_alloc_unreg
);

TRACE_EVENT_FN(ka_free,
	TP_PROTO(unsigned long call_site, const void *ptr),
	TP_ARGS(call_site, ptr),
	TP_STRUCT__entry(
		__field(unsigned long, call_site)
		__field(const void *, ptr)
	),
	TP_fast_assign(
		__entry->call_site = call_site;
		__entry->ptr = ptr;
	),
	TP_printk("call_site=%pS ptr=%p", (void *)__entry->call_site,
		  __entry->ptr),
	ka_trace_free_reg, ka_trace_free_unreg
);

DECLARE_EVENT_CLASS(ka_span_class,
	TP_PROTO(const void *base, unsigned int cls, unsigned int npages,
		 int node),
	TP_ARGS(base, cls, npages, node),
	TP_STRUCT__entry(
		__field(const void *, base)
		__field(unsigned int, cls)
		__field(unsigned int, npages)
		__field(int, node)
	),
	TP_fast_assign(
		__entry->base = base;
		__entry->cls = cls;
		__entry->npages = npages;
		__entry->node = node;
	),
	TP_printk("base=%p class=%u pages=%u node=%d", __entry->base,
		  __entry->cls, __entry->npages, __entry->node)
);

DEFINE_EVENT(ka_span_class, ka_span_alloc,
	TP_PROTO(const void *base, unsigned int cls, unsigned int npages,
		 int node),
	TP_ARGS(base, cls, npages, node)
);

DEFINE_EVENT(ka_span_class, ka_span_free,
	TP_PROTO(const void *base, unsigned int cls, unsigned int npages,
		 int node),
	TP_ARGS(base, cls, npages, node)
);

DECLARE_EVENT_CLASS(ka_batch_class,
	TP_PROTO(unsigned int cls, int node, unsigned int nr),
	TP_ARGS(cls, node, nr),
	TP_STRUCT__entry(
		__field(unsigned int, cls)
		__field(int, node)
		__field(unsigned int, nr)
	),
	TP_fast_assign(
		__entry->cls = cls;
		__entry->node = node;
		__entry->nr = nr;
	),
	TP_printk("class=%u node=%d objects=%u", __entry->cls, __entry->node,
		  __entry->nr)
);

DEFINE_EVENT(ka_batch_class, ka_refill,
	TP_PROTO(unsigned int cls, int node, unsigned int nr),
	TP_ARGS(cls, node, nr)
);

DEFINE_EVENT(ka_batch_class, ka_flush,
	TP_PROTO(unsigned int cls, int node, unsigned int nr),
	TP_ARGS(cls, node, nr)
);

DECLARE_EVENT_CLASS(ka_chunk_class,
	TP_PROTO(const void *base, unsigned int order, int node),
	TP_ARGS(base, order, node),
	TP_STRUCT__entry(
		__field(const void *, base)
		__field(unsigned int, order)
		__field(int, node)
	),
	TP_fast_assign(
		__entry->base = base;
		__entry->order = order;
		__entry->node = node;
	),
	TP_printk("base=%p order=%u node=%d", __entry->base, __entry->order,
		  __entry->node)
);

DEFINE_EVENT(ka_chunk_class, ka_chunk_alloc,
	TP_PROTO(const void *base, unsigned int order, int node),
	TP_ARGS(base, order, node)
);

DEFINE_EVENT(ka_chunk_class, ka_chunk_free,
	TP_PROTO(const void *base, unsigned int order, int node),
	TP_ARGS(base, order, node)
);

#endif /* _KA_TRACE_H */

/* This part must be outside protection */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ka_trace
#include <trace/define_trace.h>
