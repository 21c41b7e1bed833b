// SPDX-License-Identifier: GPL-2.0
/*
 * cma-churn: allocations from and releases to a CMA area while other
 * processes fault and free movable memory.
 *
 * The kernel's CMA pageblocks reach the buddy allocator at boot nobody
 * holding them (init_cma_reserved_pageblock()); movable allocations may
 * use them. cma_alloc() isolates a range, migrates what is in use there
 * (freezing each folio it moves) and takes the range off the free lists;
 * cma_release() frees it whatever the pages' counts say. Worker 0 does
 * both through the CMA debugfs files of the default area (alloc and free,
 * in pages); the others keep faulting, checking and freeing anonymous
 * memory so that some of it lands in the area and has to move.
 *
 * Proof: /proc/vmstat cma_alloc_success grows by the allocations that
 * worker 0 saw succeed, at least MIN_ALLOCS of them, all released.
 *
 * Usage: cma-churn SECONDS WORKERS (at least 2).
 */

#include "stress.h"

#define CMA_DIR		"/sys/kernel/debug/cma/reserved"
#define CHUNK_PAGES	256
#define HELD		4
#define MIN_ALLOCS	8
#define ANON_LEN	(16UL << 20)

struct stats {
	unsigned long allocs, frees, refused, faults;
};

static struct stats *stats;

static int cma_worker(void)
{
	int held = 0, ret;

	while (!time_up()) {
		ret = write_long(CMA_DIR "/alloc", CHUNK_PAGES);
		if (ret) {
			count(&stats->refused, 1);
		} else {
			count(&stats->allocs, 1);
			held++;
		}
		/* Keep a few ranges, so that the area fragments. */
		while (held >= HELD || (held && time_up())) {
			ret = write_long(CMA_DIR "/free", CHUNK_PAGES);
			if (ret) {
				printf("cma-churn: freeing %d pages: errno %d\n",
				       CHUNK_PAGES, -ret);
				return 1;
			}
			count(&stats->frees, 1);
			held--;
		}
	}
	return 0;
}

static int anon_worker(int id)
{
	unsigned long *p, tag = (unsigned long)id << 32;
	size_t i, n = ANON_LEN / sizeof(long), step = 4096 / sizeof(long);

	while (!time_up()) {
		p = mmap(NULL, ANON_LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			printf("cma-churn: mmap: errno %d\n", errno);
			return 1;
		}
		tag++;
		for (i = 0; i < n; i += step)
			p[i] = tag ^ i;
		count(&stats->faults, ANON_LEN / 4096);
		for (i = 0; i < n; i += step)
			if (p[i] != (tag ^ i)) {
				printf("cma-churn: word %ld holds 0x%lx, expected 0x%lx\n",
				       (long)i, p[i], tag ^ i);
				return 1;
			}
		munmap(p, ANON_LEN);
	}
	return 0;
}

static int worker(int id)
{
	return id ? anon_worker(id) : cma_worker();
}

int main(int argc, char **argv)
{
	long before, after;
	int workers, failed;

	stress_name = "cma-churn";
	if (stress_args(argc, argv, &workers) || workers < 2)
		return 2;
	stats = shared_alloc(sizeof(*stats));
	if (!stats || read_long(CMA_DIR "/count") <= 0) {
		printf("cma-churn: no CMA area at %s (CONFIG_CMA_DEBUGFS, CONFIG_CMA_SIZE_MBYTES or cma=?)\n",
		       CMA_DIR);
		return 2;
	}
	printf("cma-churn: area of %ld pages\n", read_long(CMA_DIR "/count"));
	before = read_vmstat("cma_alloc_success");
	failed = run_workers(workers, worker);
	after = read_vmstat("cma_alloc_success");
	printf("cma-churn: %ld allocations, %ld releases, %ld refused, %ld pages faulted\n",
	       stats->allocs, stats->frees, stats->refused, stats->faults);
	failed += proof("allocations", stats->allocs, MIN_ALLOCS);
	failed += proof("cma_alloc_success minus allocations",
			after - before - stats->allocs, 0);
	failed += proof("releases minus allocations",
			stats->frees - stats->allocs, 0);
	return failed ? 1 : 0;
}
