/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/mutex.h>: a sleeping lock (shim_cpu.c) */
#ifndef _KA_SHIM_LINUX_MUTEX_H
#define _KA_SHIM_LINUX_MUTEX_H

#include <pthread.h>

struct mutex {
	pthread_mutex_t m;
};

#define DEFINE_MUTEX(n)		struct mutex n = { PTHREAD_MUTEX_INITIALIZER }

void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);

#endif
