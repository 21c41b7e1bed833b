// SPDX-License-Identifier: GPL-2.0
/*
 * readstorm: the page-cache read storm the frozen-bit scheme was proposed
 * for. T threads, thread i pinned to CPU i, each loop pread(fd, buf, 64, 0)
 * on one tmpfs file for SECONDS: every read takes a speculative reference
 * to the same folio (filemap_get_read_batch() -> folio_try_get(), the
 * classic scheme's cmpxchg loop or the frozen bit's single add) and puts it
 * after the copy, so all CPUs meet on one refcount word.
 *
 * Usage: readstorm SECONDS MAX_THREADS [REPS]
 *
 * For each repetition R = 1 .. REPS (default 1) and T = 1 .. MAX_THREADS
 * it prints one line that scripts/perf reads:
 *
 *   pageref-bench: readstorm rep=R threads=T ops=N ms=M
 *
 * (N reads by all threads together in M milliseconds). Built statically
 * against glibc (pthreads) by scripts/stress; exits nonzero on any error.
 */
#define _GNU_SOURCE
#include "bench.h"

static int fd;
static atomic_int stop;

struct worker {
	pthread_t thread;
	int cpu;
	unsigned long long ops;
};

static void *reader(void *arg)
{
	struct worker *w = arg;
	unsigned long long ops = 0;
	char buf[64];

	pin_to_cpu(w->cpu);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
			die("pread");
		ops++;
	}
	w->ops = ops;
	return NULL;
}

/* T readers for SECONDS; prints the line of repetition @rep. */
static void measure(int t, int secs, int rep)
{
	struct worker workers[BENCH_MAX_THREADS];
	unsigned long long ops = 0;
	long long start;
	int i;

	atomic_store(&stop, 0);
	start = now_ms();
	for (i = 0; i < t; i++) {
		workers[i].cpu = i % ncpus();
		if (pthread_create(&workers[i].thread, NULL, reader,
				   &workers[i]))
			die("pthread_create");
	}
	sleep_ms(secs * 1000LL);
	atomic_store(&stop, 1);
	for (i = 0; i < t; i++) {
		pthread_join(workers[i].thread, NULL);
		ops += workers[i].ops;
	}
	report("pageref-bench: readstorm rep=%d threads=%d ops=%llu ms=%lld\n",
	       rep, t, ops, now_ms() - start);
}

int main(int argc, char **argv)
{
	char page[4096];
	int secs, max, reps, rep, t;

	bench_args(argc, argv, "readstorm", &secs, &max, &reps);
	/* /tmp is the tmpfs the guest's init mounts. */
	fd = open("/tmp/readstorm", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open /tmp/readstorm");
	memset(page, 'r', sizeof(page));
	if (pwrite(fd, page, sizeof(page), 0) != sizeof(page))
		die("pwrite");
	for (rep = 1; rep <= reps; rep++)
		for (t = 1; t <= max; t++)
			measure(t, secs, rep);
	close(fd);
	unlink("/tmp/readstorm");
	return 0;
}
