/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/jump_label.h>: static keys as plain flags */
#ifndef _KA_SHIM_LINUX_JUMP_LABEL_H
#define _KA_SHIM_LINUX_JUMP_LABEL_H

#include <linux/compiler.h>

struct static_key_false {
	int enabled;
};

#define STATIC_KEY_FALSE_INIT	{ 0 }
#define DECLARE_STATIC_KEY_FALSE(name)	extern struct static_key_false name
#define DEFINE_STATIC_KEY_FALSE(name) \
	struct static_key_false name = STATIC_KEY_FALSE_INIT

#define static_branch_unlikely(k)	unlikely(READ_ONCE((k)->enabled))
#define static_branch_likely(k)		likely(READ_ONCE((k)->enabled))
#define static_branch_enable(k)		WRITE_ONCE((k)->enabled, 1)
#define static_branch_disable(k)	WRITE_ONCE((k)->enabled, 0)
#define static_branch_inc(k)		__atomic_add_fetch(&(k)->enabled, 1, __ATOMIC_SEQ_CST)
#define static_key_enabled(k)		(READ_ONCE((k)->enabled) > 0)
#define static_branch_dec(k)		__atomic_sub_fetch(&(k)->enabled, 1, __ATOMIC_SEQ_CST)

#endif
