// SPDX-License-Identifier: GPL-2.0
/*
 * freecost: what the frozen bit costs where a page is freed. With the frozen
 * bit, the put that takes a count to zero is followed by the claim (one more
 * cmpxchg, 0 -> FROZEN) before the page goes back to the allocator; this
 * measures how much that adds to the paths that free most pages:
 *
 *   anon  mmap 64 private anonymous pages, write a byte to each (one
 *         reference each: the mapping's), munmap them: the zap frees
 *         single-reference pages in batches (folios_put_refs())
 *   file  pwrite 64 pages to a tmpfs file, ftruncate it to 0: the page
 *         cache's reference is the last (truncate_inode_pages_range())
 *
 * Usage: freecost SECONDS MAX_WORKERS [REPS]
 *
 * For each repetition R = 1 .. REPS (default 1), each mode and 1 and
 * MAX_WORKERS workers (processes, not threads,
 * so that they do not share one mmap_lock; worker i pinned to CPU i), each
 * worker loops for SECONDS; one line per run, which scripts/perf reads:
 *
 *   pageref-bench: freecost rep=R mode=anon threads=T pages=N ms=M
 *
 * Transparent huge pages are refused (MADV_NOHUGEPAGE): 4 KiB pages only.
 */
#define _GNU_SOURCE
#include "bench.h"

#define PAGES 64
#define PAGE 4096

/* Counters in memory shared with the workers. */
struct shared {
	atomic_int stop;
	atomic_ullong pages;
};

static void anon_loop(struct shared *sh)
{
	unsigned long long pages = 0;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		char *p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			die("mmap");
		if (madvise(p, PAGES * PAGE, MADV_NOHUGEPAGE))
			die("madvise");
		for (int i = 0; i < PAGES; i++)
			p[i * PAGE] = 1;
		if (munmap(p, PAGES * PAGE))
			die("munmap");
		pages += PAGES;
	}
	atomic_fetch_add(&sh->pages, pages);
}

static void file_loop(struct shared *sh, int id)
{
	unsigned long long pages = 0;
	static char buf[PAGES * PAGE];
	char name[64];
	int fd;

	memset(buf, 'f', sizeof(buf));
	snprintf(name, sizeof(name), "/tmp/freecost.%d", id);
	fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open");
	unlink(name);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf))
			die("pwrite");
		if (ftruncate(fd, 0))
			die("ftruncate");
		pages += PAGES;
	}
	atomic_fetch_add(&sh->pages, pages);
}

static void run(const char *mode, int workers, int secs, int rep)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long long start;
	int i, status, failed = 0;

	if (sh == MAP_FAILED)
		die("mmap shared");
	start = now_ms();
	for (i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			pin_to_cpu(i % ncpus());
			if (!strcmp(mode, "anon"))
				anon_loop(sh);
			else
				file_loop(sh, i);
			_exit(0);
		}
	}
	sleep_ms(secs * 1000LL);
	atomic_store(&sh->stop, 1);
	for (i = 0; i < workers; i++) {
		if (wait(&status) < 0)
			die("wait");
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	}
	if (failed) {
		fprintf(stderr, "pageref-bench: freecost %s: a worker failed\n",
			mode);
		exit(1);
	}
	report("pageref-bench: freecost rep=%d mode=%s threads=%d pages=%llu ms=%lld\n",
	       rep, mode, workers, (unsigned long long)sh->pages, now_ms() - start);
	munmap(sh, sizeof(*sh));
}

int main(int argc, char **argv)
{
	static const char * const modes[] = { "anon", "file" };
	int secs, max, reps, rep;

	bench_args(argc, argv, "freecost", &secs, &max, &reps);
	for (rep = 1; rep <= reps; rep++) {
		for (unsigned int m = 0; m < ARRAY_SIZE(modes); m++) {
			run(modes[m], 1, secs, rep);
			if (max > 1)
				run(modes[m], max, secs, rep);
		}
	}
	return 0;
}
