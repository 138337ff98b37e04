/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ka userspace shim: <linux/cpuhotplug.h>.  The callbacks of a dynamic
 * state run when the harness takes a CPU down or brings it up
 * (shim_cpu_down(), shim_cpu_up()): a PREPARE state's teardown on the
 * CPU doing the hotplug, after the dying CPU runs nothing any more.
 */
#ifndef _KA_SHIM_LINUX_CPUHOTPLUG_H
#define _KA_SHIM_LINUX_CPUHOTPLUG_H

enum cpuhp_state {
	CPUHP_INVALID = -1,
	CPUHP_BP_PREPARE_DYN = 1,
	CPUHP_AP_ONLINE_DYN = 2,
};

int cpuhp_setup_state_nocalls(enum cpuhp_state state, const char *name,
			      int (*startup)(unsigned int cpu),
			      int (*teardown)(unsigned int cpu));
void cpuhp_remove_state_nocalls(enum cpuhp_state state);

#endif
