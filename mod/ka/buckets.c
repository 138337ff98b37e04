// SPDX-License-Identifier: GPL-2.0
/*
 * ka bucket sets: ka_buckets_create() and friends (include/ka.h), what
 * include/ka_redirect.h maps Linux 6.11's kmem_buckets_create() and
 * kmem_buckets_alloc() on.
 *
 * The kernel's bucket sets (mm/slab_common.c, CONFIG_SLAB_BUCKETS) are
 * heap isolation: a set is kmalloc's caches again, one per kmalloc size,
 * dedicated to one kind of allocation of variable size (msg_msg, the
 * copies memdup_user() makes), so that an attacker who sprays objects of
 * one kind cannot place them in the slabs of another.  Here a set is one
 * ka_cache (cache.c) per size class ka_alloc() would use: a request of n
 * bytes takes its slot from the set's cache of the class ka_alloc(n) would
 * take it from, in spans only that cache uses, never shared with ka's
 * size classes, another set or another cache.  Requests above
 * KA_MAX_SMALL_SIZE are ka_alloc()'s large objects, each a span of its own,
 * as kmalloc() serves its large sizes from the page allocator and not from
 * the set.  The caches are made when the set is, so that an allocation in
 * any context finds its cache.  A set's object is freed with ka_free() (a
 * redirected kfree()): the arena map finds its span, and the span its
 * cache (api.c).  On generic KASAN a request's class is the slot with room
 * for its redzone, as ka_alloc()'s, and KASAN, debug mode and kmemleak see
 * the bytes requested.
 *
 * Linux has no kmem_buckets_destroy(): a set lives as long as the kernel.
 * A module's set here lives until ka_buckets_destroy() or, at the latest,
 * until its module unloads (a module notifier destroys the sets the
 * module created); objects still out then are reported per cache, as by
 * ka_cache_destroy(), and their caches stay until ka unloads.
 *
 * Owns: struct ka_buckets, the list of sets, the module notifier.
 * Locks: ka_buckets_mutex (the list of sets; create, destroy, a module's
 * unload), process context, around the list alone: the cache calls run
 * outside it and nothing is taken under it.  Allocation takes no lock of
 * this file: a set's caches are fixed from its creation to its
 * destruction.
 */
#define pr_fmt(fmt) "ka: " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include "ka_internal.h"

struct ka_buckets {
	struct list_head list;		/* ka_buckets_list */
	struct module *owner;		/* destroyed when it unloads, or NULL */
	const char *name;		/* a copy */
	/*
	 * By the size class ka_alloc() takes a request's slot from
	 * (ka_size_class()); NULL for a class no request is served from
	 * (on generic KASAN, the classes too small for a redzone).
	 */
	struct ka_cache *cache[KA_MAX_CLASSES];
};

static LIST_HEAD(ka_buckets_list);
static DEFINE_MUTEX(ka_buckets_mutex);

/* The caches of @b, then @b.  Context: process, may sleep. */
static void ka_buckets_free(struct ka_buckets *b)
{
	unsigned int cls;

	for (cls = 1; cls < ka_nr_classes; cls++)
		ka_cache_destroy(b->cache[cls]);
	kfree(b->name);
	kfree(b);
}

/**
 * __ka_buckets_create - create a set of caches for requests of any size
 * @name: the set's name; its caches are "@name-<slot size>", each unique
 *	  among ka's live caches (a second live set of a name is refused)
 * @flags: SLAB_* flags of its caches, as for ka_cache_create() except
 *	   SLAB_HWCACHE_ALIGN (a slot is a size class's, as kmalloc()'s);
 *	   SLAB_ACCOUNT is accepted (charged to no memory cgroup, said once)
 * @ctor: run once on each object of every cache of the set when its span
 *	  is carved, or NULL
 * @owner: the module whose unload destroys the set (ka_buckets_create()
 *	   passes THIS_MODULE), or NULL
 *
 * One ka_cache per size class up to KA_MAX_SMALL_SIZE that ka_alloc()
 * serves requests from, made now: an allocation never has to make one.
 * The usercopy region of kmem_buckets_create() has no counterpart (ka
 * checks none: see include/ka_redirect.h).
 *
 * Context: process context, may sleep.
 * Return: the set, or NULL (a cache refused, with a message naming why;
 * with SLAB_PANIC, a panic, as the kernel's).
 */
struct ka_buckets *__ka_buckets_create(const char *name, slab_flags_t flags,
				       void (*ctor)(void *),
				       struct module *owner)
{
	unsigned int room[KA_MAX_CLASSES] = { 0 };
	struct ka_buckets *b;
	unsigned int cls, t;
	char *cname;

	if (!name) {
		pr_err("bucket set refused: no name\n");
		return NULL;
	}
	if (flags & SLAB_ACCOUNT) {
		pr_warn("bucket set %s: SLAB_ACCOUNT accepted, but its objects are charged to no memory cgroup\n",
			name);
		flags &= ~SLAB_ACCOUNT;
	}
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return NULL;
	b->owner = owner;
	b->name = kstrdup(name, GFP_KERNEL);
	if (!b->name)
		goto fail;
	/* the largest request each slot class serves: a class's own size */
	for (cls = 1; cls < ka_nr_classes; cls++) {
		t = ka_size_class(ka_classes[cls].size);
		room[t] = max(room[t], ka_classes[cls].size);
	}
	for (cls = 1; cls < ka_nr_classes; cls++) {
		if (!room[cls])
			continue;
		cname = kasprintf(GFP_KERNEL, "%s-%u", name,
				  ka_classes[cls].size);
		if (!cname)
			goto fail;
		b->cache[cls] = ka_cache_create_class(cname, room[cls], cls,
						      flags, ctor);
		kfree(cname);
		if (!b->cache[cls])
			goto fail;
	}
	mutex_lock(&ka_buckets_mutex);
	list_add_tail(&b->list, &ka_buckets_list);
	mutex_unlock(&ka_buckets_mutex);
	return b;
fail:
	pr_err("bucket set %s refused\n", name);
	ka_buckets_free(b);
	return NULL;
}
EXPORT_SYMBOL_GPL(__ka_buckets_create);

/**
 * ka_buckets_destroy - destroy a bucket set
 * @b: the set, or NULL
 *
 * Each of its caches is destroyed as by ka_cache_destroy(): one with
 * objects still out is reported and stays, with their memory, until they
 * are freed or ka unloads.
 *
 * Context: process context, may sleep; no one may allocate from @b any
 * more.
 */
void ka_buckets_destroy(struct ka_buckets *b)
{
	if (!b)
		return;
	mutex_lock(&ka_buckets_mutex);
	list_del(&b->list);
	mutex_unlock(&ka_buckets_mutex);
	ka_buckets_free(b);
}
EXPORT_SYMBOL_GPL(ka_buckets_destroy);

/**
 * ka_buckets_alloc_node - allocate @size bytes from a bucket set
 * @b: the set, or NULL for ka_alloc_node()
 * @size: bytes wanted
 * @flags: GFP flags, as for ka_alloc()
 * @node: the node, or NUMA_NO_NODE, as for ka_alloc_node()
 *
 * Up to KA_MAX_SMALL_SIZE, an object of the set's cache of the class
 * ka_alloc() would use; above, ka_alloc_node()'s large object, a span of
 * its own.  Freed with ka_free() (or ka_free_rcu(), ...); ka_size() is what
 * it is for ka_alloc()'s object of that size.
 *
 * Context: as ka_alloc().
 * Return: the object, ZERO_SIZE_PTR for a zero size, or NULL.
 */
void *ka_buckets_alloc_node(struct ka_buckets *b, size_t size, gfp_t flags,
			    int node)
{
	if (unlikely(!b || !size || size > KA_MAX_SMALL_SIZE))
		return ka_alloc_node(size, flags, node);
	return ka_cache_alloc_size(b->cache[ka_size_class(size)], size, flags,
				   node);
}
EXPORT_SYMBOL_GPL(ka_buckets_alloc_node);

/**
 * ka_buckets_cache - the cache of a set that serves @size bytes
 * @b: the set
 * @size: 1 .. KA_MAX_SMALL_SIZE
 *
 * For the tests.  Context: any.
 * Return: the cache.
 */
struct ka_cache *ka_buckets_cache(const struct ka_buckets *b, size_t size)
{
	return b->cache[ka_size_class(size)];
}
KA_EXPORT_INTERNAL(ka_buckets_cache);

/* A module going away: the sets it made go with it. */
static int ka_buckets_module_going(struct notifier_block *nb,
				   unsigned long state, void *data)
{
	struct ka_buckets *b, *tmp;
	struct module *mod = data;
	LIST_HEAD(going);

	if (state != MODULE_STATE_GOING)
		return NOTIFY_DONE;
	mutex_lock(&ka_buckets_mutex);
	list_for_each_entry_safe(b, tmp, &ka_buckets_list, list)
		if (b->owner == mod)
			list_move_tail(&b->list, &going);
	mutex_unlock(&ka_buckets_mutex);
	list_for_each_entry_safe(b, tmp, &going, list) {
		list_del(&b->list);
		ka_buckets_free(b);
	}
	return NOTIFY_DONE;
}

static struct notifier_block ka_buckets_nb = {
	.notifier_call = ka_buckets_module_going,
};

/**
 * ka_buckets_init - watch modules unloading, for the sets they made
 *
 * Context: module init.
 * Return: 0, or a negative errno.
 */
int ka_buckets_init(void)
{
	return register_module_notifier(&ka_buckets_nb);
}

/**
 * ka_buckets_exit - stop watching; sets still there (of no module) go
 *
 * Context: module exit, before ka_cache_exit().
 */
void ka_buckets_exit(void)
{
	struct ka_buckets *b, *tmp;

	unregister_module_notifier(&ka_buckets_nb);
	list_for_each_entry_safe(b, tmp, &ka_buckets_list, list) {
		pr_warn("unload: bucket set %s never destroyed\n", b->name);
		list_del(&b->list);
		ka_buckets_free(b);
	}
}
