/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/percpu.h>, <linux/smp.h>, <linux/cpumask.h>,
 * <linux/cpu.h>: per-CPU memory and the emulated CPUs (shim_cpu.h).
 *
 * CPU c's copy of a per-CPU object is c * SHIM_PCPU_UNIT bytes after CPU
 * 0's, whose address alloc_percpu() returns; DEFINE_PER_CPU() variables
 * are laid out in a section whose copies start each CPU's unit.  A
 * this_cpu operation is a preemption point when the caller is
 * preemptible (the task may move before it), then one access to the
 * copy of the CPU the task is on: as in the kernel, atomic against the
 * task's own CPU only - which is all the shim lets run there.
 */
#ifndef _KA_SHIM_LINUX_PERCPU_H
#define _KA_SHIM_LINUX_PERCPU_H

#include <linux/kernel.h>
#include "../shim_cpu.h"

extern char __start_shim_pcpu[] __attribute__((weak));
extern char __stop_shim_pcpu[] __attribute__((weak));

#define DEFINE_PER_CPU(type, name)					\
	__attribute__((section("shim_pcpu"), aligned(64))) __typeof__(type) name
#define DECLARE_PER_CPU(type, name)	extern __typeof__(type) name

void *shim_pcpu_alloc(size_t size, size_t align);
void shim_pcpu_free(void *p);

#define alloc_percpu(type)						\
	((type *)shim_pcpu_alloc(sizeof(type), __alignof__(type)))
#define free_percpu(p)		shim_pcpu_free(p)

static inline void *shim_pcpu_ptr(const void *p, int cpu)
{
	unsigned long a = (unsigned long)p;
	unsigned long s = (unsigned long)__start_shim_pcpu;

	if (a - s < (unsigned long)(__stop_shim_pcpu - __start_shim_pcpu))
		a = shim_pcpu_base + (a - s);
	return (void *)(a + cpu * SHIM_PCPU_UNIT);
}

#define per_cpu_ptr(p, cpu)	((__typeof__(p))shim_pcpu_ptr((p), (cpu)))
#define this_cpu_ptr(p)		per_cpu_ptr(p, shim_this_cpu())
#define raw_cpu_ptr(p)		this_cpu_ptr(p)
#define per_cpu(var, cpu)	(*per_cpu_ptr(&(var), cpu))

/* A preemption point where the caller may be preempted, then the access. */
static inline void shim_pcp_point(void)
{
	if (shim_preemptible())
		shim_preempt_point();
}

#define this_cpu_read(var)	({ shim_pcp_point(); *this_cpu_ptr(&(var)); })
#define this_cpu_write(var, v)	do { shim_pcp_point(); *this_cpu_ptr(&(var)) = (v); } while (0)
#define this_cpu_add(var, v)	do { shim_pcp_point(); *this_cpu_ptr(&(var)) += (v); } while (0)
#define this_cpu_sub(var, v)	this_cpu_add(var, -(v))
#define this_cpu_inc(var)	this_cpu_add(var, 1)
#define this_cpu_dec(var)	this_cpu_add(var, -1)
#define this_cpu_sub_return(var, v)					\
	({ shim_pcp_point(); *this_cpu_ptr(&(var)) -= (v); })

#define smp_processor_id()	shim_this_cpu()
#define raw_smp_processor_id()	shim_this_cpu()
#define num_possible_cpus()	nr_cpu_ids
#define cpu_online(cpu)		shim_cpu_is_online(cpu)
#define cpu_to_node(cpu)	shim_cpu_node[cpu]

#define for_each_possible_cpu(cpu)					\
	for ((cpu) = 0; (cpu) < nr_cpu_ids; (cpu)++)
#define for_each_online_cpu(cpu)					\
	for_each_possible_cpu(cpu)					\
		if (!shim_cpu_is_online(cpu)) {} else

/* CPU hotplug's read side; shim_cpu_down() and _up() take the write side. */
void cpus_read_lock(void);
void cpus_read_unlock(void);

void shim_cpu_relax(void);
#define cpu_relax()	shim_cpu_relax()

#endif
