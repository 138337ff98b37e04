/* SPDX-License-Identifier: GPL-2.0 */
/* ka userspace shim: <linux/seq_file.h>, into a caller's buffer */
#ifndef _KA_SHIM_LINUX_SEQ_FILE_H
#define _KA_SHIM_LINUX_SEQ_FILE_H

#include <stdarg.h>
#include <linux/kernel.h>

struct seq_file {
	char *buf;
	size_t size, count;
};

static inline void seq_printf(struct seq_file *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void seq_printf(struct seq_file *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m->buf + m->count, m->size - m->count, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->count = min_t(size_t, m->count + n, m->size ? m->size - 1 : 0);
}

#define seq_puts(m, s)	seq_printf(m, "%s", s)

#endif
