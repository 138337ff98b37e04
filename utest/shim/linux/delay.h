/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/delay.h>: sleeps give the CPU up */
#ifndef _KA_SHIM_LINUX_DELAY_H
#define _KA_SHIM_LINUX_DELAY_H

void usleep_range(unsigned long min, unsigned long max);
void msleep(unsigned int msecs);

#endif
