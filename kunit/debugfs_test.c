// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ka_debugfs (mod/ka/debugfs.c): the stats, spans and
 * per-CPU lines agree with each other and with what the case holds;
 * the control files.  Renders the files through ka_debugfs_render().
 */
#include "mcache.h"
#include "ka_kunit.h"

/* The value of the line "@key <value>" of ka's stats file. */
static bool ka_test_stat(const char *text, const char *key, unsigned long *val)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (line && *line) {
		if (!strncmp(line, key, klen) && line[klen] == ' ')
			return sscanf(line + klen + 1, "%lu", val) == 1;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

/* Sum column @col of the stats lines starting with "@tag " (node filter -1). */
static unsigned long ka_test_column(const char *text, const char *tag,
				    unsigned int cls, int col)
{
	const char *line = text;
	unsigned long sum = 0;

	while (line && *line) {
		unsigned long v[18];
		int n;

		if (!strncmp(line, tag, strlen(tag))) {
			n = sscanf(line + strlen(tag),
				   " %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu",
				   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
				   &v[7], &v[8], &v[9], &v[10], &v[11], &v[12],
				   &v[13], &v[14], &v[15], &v[16]);
			if (n > col && (!cls || v[1] == cls))
				sum += v[col];
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return sum;
}

/*
 * The "cpu" lines of @text (cpu node cached_bytes capacity_bytes grows
 * shrinks): one per possible CPU, none cached beyond its capacity nor its
 * capacity beyond "pcpu_budget", @cached bytes cached in all.
 */
static void ka_test_check_cpu_lines(struct kunit *test, const char *text,
				    unsigned long cached)
{
	unsigned long budget = 0, sum = 0, v[4];
	const char *line = text;
	unsigned int lines = 0;
	int cpu;

	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pcpu_budget", &budget));
	KUNIT_EXPECT_EQ(test, budget, READ_ONCE(ka_pcpu_budget));
	for (; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, "cpu ", 4) ||
		    sscanf(line + 4, "%lu %lu %lu %lu", &v[0], &v[1], &v[2],
			   &v[3]) != 4)
			continue;
		lines++;
		sum += v[2];
		KUNIT_EXPECT_LE(test, v[2], v[3]);
		KUNIT_EXPECT_LE(test, v[3], budget);
	}
	KUNIT_EXPECT_EQ(test, sum, cached);
	cpu = num_possible_cpus();
	KUNIT_EXPECT_EQ(test, lines, (unsigned int)cpu);
}

static void ka_debugfs_consistent(struct kunit *test)
{
	unsigned int c64 = ka_size_class(64), c5k = ka_size_class(5000);
	unsigned long allocs, frees, large, in_use, used, held, out64 = 0;
	unsigned long cached;
	void **p = kunit_kcalloc(test, 113, sizeof(void *), GFP_KERNEL);
	void *tmp[10];
	const char *line;
	char *text;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, p);
	/*
	 * The files' totals are compared with what this case allocates: they
	 * need a ka with nothing out (the fixture drained it).  If an earlier
	 * case leaked, that case has failed already; say so here once rather
	 * than with every total below.
	 */
	KUNIT_ASSERT_EQ_MSG(test, ka_test_objs_out() + ka_test_pages_held(), 0UL,
			    "ka holds objects or pages before the case: an earlier case leaked");
	/* 100 objects of 64 bytes, 10 of 5000, 3 large */
	for (i = 0; i < 113; i++)
		p[i] = ka_alloc(i < 100 ? 64 : i < 110 ? 5000 : 100000,
				GFP_KERNEL);
	/* empty the per-CPU caches: then every object out is one of ours */
	ka_drain();

	text = ka_test_read_file(test, "stats");
	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "allocs", &allocs));
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "frees", &frees));
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pages_used", &used));
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pages_held", &held));
	/* columns after "class": node class size spans ... in_use is #8 */
	KUNIT_EXPECT_EQ(test, ka_test_column(text, "class", c64, 8), 100UL);
	KUNIT_EXPECT_EQ(test, ka_test_column(text, "class", c5k, 8), 10UL);
	/* heap: node chunks free pages_held pages_used large_objects ... */
	large = ka_test_column(text, "heap", 0, 5);
	KUNIT_EXPECT_EQ(test, large, 3UL);
	in_use = ka_test_column(text, "class", 0, 8) + large;
	/* everything earlier suites allocated was freed: in use = allocs - frees */
	KUNIT_EXPECT_EQ(test, in_use, allocs - frees);
	KUNIT_EXPECT_EQ(test, in_use, 113UL);
	KUNIT_EXPECT_LE(test, used, held);
	KUNIT_EXPECT_EQ(test, used, ka_test_column(text, "heap", 0, 4));
	ka_test_check_cpu_lines(test, text, 0);

	/* spans: the objects out of class 64's spans are ours */
	text = ka_test_read_file(test, "spans");
	KUNIT_ASSERT_NOT_NULL(test, text);
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned int cls, pages, out, total;
		int node;

		/* the address is a hashed %p, "(____ptrval____)" before crng init */
		if (sscanf(line, "%*s %u %d %u %u/%u", &cls, &node, &pages,
			   &out, &total) == 5 && cls == c64)
			out64 += out;
	}
	KUNIT_EXPECT_EQ(test, out64, 100UL);

	/*
	 * On one CPU, ten objects of 64 bytes taken and given back, LIFO:
	 * what the refill put in the magazine (the free objects of the span
	 * it filled from, at most a batch) is back there, and is all that is
	 * cached on any CPU (no span emptied: nothing in a stash).
	 */
	migrate_disable();
	ka_drain();
	for (i = 0; i < 10; i++)
		tmp[i] = ka_alloc(64, GFP_KERNEL);
	for (i = 9; i >= 0; i--)
		ka_free(tmp[i]);
	text = ka_test_read_file(test, "stats");
	cached = ka_mag_count(&this_cpu_ptr(ka_mcache)->mag[c64]);
	migrate_enable();
	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_EXPECT_GE(test, cached, 10UL);
	KUNIT_EXPECT_LE(test, cached, (unsigned long)ka_classes[c64].batch);
	ka_test_check_cpu_lines(test, text, cached * ka_classes[c64].size);

	for (i = 0; i < 113; i++)
		ka_free(p[i]);
	ka_drain();
	text = ka_test_read_file(test, "stats");
	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_EXPECT_EQ(test, ka_test_column(text, "class", 0, 8), 0UL);
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pages_held", &held));
	KUNIT_EXPECT_EQ(test, held, 0UL);
	/* the scavenger's totals: no hole outlives its chunk */
	KUNIT_EXPECT_TRUE(test, ka_test_stat(text, "pages_released", &held));
	KUNIT_EXPECT_TRUE(test, ka_test_stat(text, "scavenged_pages", &held));
	KUNIT_ASSERT_TRUE(test, ka_test_stat(text, "pages_holes", &held));
	KUNIT_EXPECT_EQ(test, held, 0UL);
	text = ka_test_read_file(test, "spans");
	KUNIT_ASSERT_NOT_NULL(test, text);
	/* only the header line is left */
	KUNIT_EXPECT_PTR_EQ(test, strchr(text, '\n'), text + strlen(text) - 1);
}

static void ka_debugfs_control_files(struct kunit *test)
{
	static const char * const bad[] = {
		"2", "yes", "", "-1", "0", "1 2", "0x1", "11", "1\n\n",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, ka_debugfs_parse_control(bad[i]),
				    -EINVAL, "\"%s\"", bad[i]);
	KUNIT_EXPECT_EQ(test, ka_debugfs_parse_control("1"), 0);
	KUNIT_EXPECT_EQ(test, ka_debugfs_parse_control("1\n"), 0);
}

static struct kunit_case ka_debugfs_cases[] = {
	KUNIT_CASE(ka_debugfs_consistent),
	KUNIT_CASE(ka_debugfs_control_files),
	{}
};

KA_KUNIT_SUITE(ka_debugfs);
