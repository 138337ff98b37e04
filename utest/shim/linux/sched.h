/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/sched.h>: current (shim_cpu.h) */
#ifndef _KA_SHIM_LINUX_SCHED_H
#define _KA_SHIM_LINUX_SCHED_H

#include <linux/preempt.h>

#endif
