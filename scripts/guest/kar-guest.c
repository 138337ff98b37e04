// SPDX-License-Identifier: GPL-2.0
/*
 * kar-guest - the guest's helper for scripts/trace-capture, built static by
 * the host (gcc -static) and run inside the busybox initramfs.
 *
 *   kar-guest dump DIR
 *	copies every CPU's ftrace ring buffer (tracefs
 *	per_cpu/cpuN/trace_pipe_raw, the binary sub-buffers) to DIR/cpuN.raw
 *	and its per_cpu/cpuN/stats to DIR/cpuN.stats; reads with O_NONBLOCK,
 *	since a read of an empty trace_pipe_raw otherwise waits for events.
 *	Tracing should be off (tracing_on 0), so that the copy adds nothing.
 *
 *   kar-guest xcpu PAIRS MESSAGES
 *	the cross-CPU workload: PAIRS pairs of processes, the sender of pair
 *	k pinned to CPU k % ncpu and the receiver to CPU (k + 1) % ncpu, talk
 *	over an AF_UNIX datagram socketpair: the sender sends bursts of 1..16
 *	datagrams of 32 B..8 KiB and waits for a small reply per burst.  Each
 *	datagram is an skb (kmem_cache_alloc and a kmalloc for its data) that
 *	the sender's CPU allocates and the receiver's CPU frees, and so is
 *	each reply the other way round.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing"

static int copy_fd(int in, int out, int nonblock, long long *total)
{
	static char buf[1 << 16];

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), w = 0;

		if (n == 0 || (n < 0 && nonblock && errno == EAGAIN))
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (w < n) {
			ssize_t k = write(out, buf + w, n - w);

			if (k < 0)
				return -1;
			w += k;
		}
		*total += n;
	}
}

static int copy_file(const char *from, const char *to, int nonblock,
		     long long *total)
{
	int in = open(from, O_RDONLY | (nonblock ? O_NONBLOCK : 0));
	int out, rc;

	if (in < 0) {
		fprintf(stderr, "kar-guest: %s: %s\n", from, strerror(errno));
		return -1;
	}
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		fprintf(stderr, "kar-guest: %s: %s\n", to, strerror(errno));
		close(in);
		return -1;
	}
	rc = copy_fd(in, out, nonblock, total);
	if (rc)
		fprintf(stderr, "kar-guest: copying %s: %s\n", from,
			strerror(errno));
	close(in);
	close(out);
	return rc;
}

static int dump(const char *dir)
{
	DIR *d = opendir(TRACEFS "/per_cpu");
	struct dirent *e;
	int rc = 0;

	if (!d) {
		perror("kar-guest: " TRACEFS "/per_cpu");
		return 1;
	}
	while ((e = readdir(d))) {
		char from[256], to[512];
		long long bytes = 0, dummy = 0;
		int cpu;

		if (sscanf(e->d_name, "cpu%d", &cpu) != 1)
			continue;
		snprintf(from, sizeof(from), TRACEFS "/per_cpu/cpu%d/trace_pipe_raw", cpu);
		snprintf(to, sizeof(to), "%s/cpu%d.raw", dir, cpu);
		if (copy_file(from, to, 1, &bytes))
			rc = 1;
		snprintf(from, sizeof(from), TRACEFS "/per_cpu/cpu%d/stats", cpu);
		snprintf(to, sizeof(to), "%s/cpu%d.stats", dir, cpu);
		if (copy_file(from, to, 0, &dummy))
			rc = 1;
		printf("kar-guest: cpu%d: %lld bytes of ring buffer\n", cpu, bytes);
	}
	closedir(d);
	return rc;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("kar-guest: sched_setaffinity");
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int sender(int fd, int cpu, long msgs, uint64_t seed)
{
	static char buf[8192];
	long sent = 0;
	char ack[64];

	pin(cpu);
	memset(buf, 0x5a, sizeof(buf));
	while (sent < msgs) {
		int burst = 1 + rnd(&seed) % 16, i;

		for (i = 0; i < burst && sent < msgs; i++, sent++) {
			size_t len = 32 + rnd(&seed) % (sizeof(buf) - 32);

			if (send(fd, buf, len, 0) < 0) {
				perror("kar-guest: send");
				return 1;
			}
		}
		/* the burst's end: a 1-byte datagram, answered with a reply */
		if (send(fd, buf, 1, 0) < 0 || recv(fd, ack, sizeof(ack), 0) < 0) {
			perror("kar-guest: burst end");
			return 1;
		}
	}
	send(fd, buf, 0, 0);	/* done */
	return 0;
}

static int receiver(int fd, int cpu)
{
	static char buf[8192];

	pin(cpu);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			perror("kar-guest: recv");
			return 1;
		}
		if (n == 0)
			return 0;
		if (n == 1 && send(fd, buf, 16, 0) < 0) {
			perror("kar-guest: reply");
			return 1;
		}
	}
}

static int xcpu(int pairs, long msgs)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int k, rc = 0, st;

	if (ncpu < 1)
		ncpu = 1;
	for (k = 0; k < pairs; k++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)) {
			perror("kar-guest: socketpair");
			return 1;
		}
		if (fork() == 0) {
			close(sv[1]);
			_exit(sender(sv[0], k % ncpu, msgs, 0x9e3779b97f4a7c15ULL * (k + 1)));
		}
		if (fork() == 0) {
			close(sv[0]);
			_exit(receiver(sv[1], (k + 1) % ncpu));
		}
		close(sv[0]);
		close(sv[1]);
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	printf("kar-guest: %s: %d pairs, %ld messages each, %ld CPUs: %s\n",
	       __func__, pairs, msgs, ncpu, rc ? "failed" : "done");
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return dump(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "xcpu"))
		return xcpu(atoi(argv[2]), atol(argv[3]));
	fprintf(stderr, "usage: kar-guest dump DIR | kar-guest xcpu PAIRS MESSAGES\n");
	return 2;
}
