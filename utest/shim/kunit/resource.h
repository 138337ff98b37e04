/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <kunit/resource.h> in userspace: utest's runner keeps no named
 * resources (a case's current->kunit_test stays NULL), so none is found.
 */
#ifndef _KA_SHIM_KUNIT_RESOURCE_H
#define _KA_SHIM_KUNIT_RESOURCE_H

struct kunit_resource {
	void *data;
};

static inline struct kunit_resource *
kunit_find_named_resource(struct kunit *test, const char *name)
{
	return NULL;
}

static inline void kunit_put_resource(struct kunit_resource *res) { }

#endif
