/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of pageref's guest benchmarks (scripts/bench.d), which run in the
 * stress boot's guest (scripts/stress --bench). Unlike the stress programs
 * they are built against glibc, statically: the read storm needs threads
 * (pthreads), as the scheme's authors ran it, and pinning.
 */
#ifndef PAGEREF_BENCH_H
#define PAGEREF_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* More than any guest here has CPUs (scripts/perf boots at most 2x the host's). */
#define BENCH_MAX_THREADS 64

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static inline void die(const char *what)
{
	fprintf(stderr, "pageref-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Print one result line, whole. When stdout is the console (the guest), the
 * line goes to the kernel log (/dev/kmsg) as one record, as the stress
 * boot's init prints its own: 7.3 prints kernel messages from a thread of
 * its own, and one printed meanwhile would land inside a line written to
 * the console, which scripts/perf-report.py would then reject as lost.
 */
static inline void report(const char *fmt, ...)
{
	static int fd = -2;
	char line[256];
	struct stat st;
	va_list args;
	int n;

	if (fd == -2)
		fd = !fstat(1, &st) && S_ISCHR(st.st_mode) &&
		     st.st_rdev == makedev(5, 1) ?
		     open("/dev/kmsg", O_WRONLY | O_CLOEXEC) : -1;
	va_start(args, fmt);
	n = vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	if (fd < 0 || write(fd, line, n) != n) {
		fputs(line, stdout);
		fflush(stdout);
	}
}

/* The CPUs the guest has online. */
static inline int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

/* Pin the calling thread (or process) to one CPU. */
static inline void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/*
 * The arguments of every benchmark, "SECONDS MAX_THREADS [REPS]": exits
 * with 2 and a usage line naming @prog if they are not numbers in range.
 * REPS (default 1) repeats the whole series of measurements, so that a
 * slow stretch of the host weighs on every thread count alike.
 */
static inline void bench_args(int argc, char **argv, const char *prog,
			      int *secs, int *max, int *reps)
{
	int ok = argc == 3 || argc == 4;

	*secs = ok ? atoi(argv[1]) : 0;
	*max = ok ? atoi(argv[2]) : 0;
	*reps = argc == 4 ? atoi(argv[3]) : 1;
	if (*secs < 1 || *max < 1 || *max > BENCH_MAX_THREADS ||
	    *reps < 1 || *reps > 100) {
		fprintf(stderr,
			"usage: %s SECONDS MAX_THREADS (1..%d) [REPS (1..100)]\n",
			prog, BENCH_MAX_THREADS);
		exit(2);
	}
}

#endif /* PAGEREF_BENCH_H */
