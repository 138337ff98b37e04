#include <linux/percpu.h>
