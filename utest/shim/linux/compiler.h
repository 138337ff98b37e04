/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/compiler.h> and the barriers.
 *
 * READ_ONCE() is an acquire load and WRITE_ONCE() a release store rather
 * than relaxed accesses: the kernel orders a lockless reader of the arena
 * map by address dependency (and the writer by smp_wmb()), which
 * ThreadSanitizer does not model.  Plain accesses racing with them are still
 * reported.
 */
#ifndef _KA_SHIM_LINUX_COMPILER_H
#define _KA_SHIM_LINUX_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#ifndef __always_inline
#define __always_inline	inline __attribute__((__always_inline__))
#endif
#define noinline	__attribute__((__noinline__))
#define __maybe_unused	__attribute__((__unused__))
#define __must_check	__attribute__((__warn_unused_result__))
#define __rcu
#define __percpu
#define __force
#define ____cacheline_aligned_in_smp	__attribute__((__aligned__(64)))
#define __aligned(x)		__attribute__((__aligned__(x)))
/* no KASAN in userspace: mcache.h's uninstrumented accessors are inlines */
#define __no_kasan_or_inline	__always_inline

/*
 * data_race(): an access racing by design (KCSAN's annotation), plain as
 * in the kernel; ThreadSanitizer ignores the reads in it, as KCSAN does.
 */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define data_race(expr) ({						\
	AnnotateIgnoreReadsBegin(__FILE__, __LINE__);			\
	__auto_type __v = (expr);					\
	AnnotateIgnoreReadsEnd(__FILE__, __LINE__);			\
	__v;								\
})
#endif
#endif
#ifndef data_race
#define data_race(expr)	({ __auto_type __v = (expr); __v; })
#endif

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELEASE)

#define barrier()	__asm__ __volatile__("" : : : "memory")
#define smp_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)

#endif
