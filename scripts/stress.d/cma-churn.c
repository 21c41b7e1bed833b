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
 * Proof: /proc/vmstat cma_alloc_success grows by at least MIN_ALLOCS.
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

static int worker(int id)
{
	return id ? churn_memory(id, ANON_LEN, 0, &stats->faults) : cma_worker();
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
		printf("cma-churn: no CMA area at %s (CMA_DEBUGFS? cma=?)\n", CMA_DIR);
		return 2;
	}
	printf("cma-churn: area of %ld pages\n", read_long(CMA_DIR "/count"));
	before = read_vmstat("cma_alloc_success");
	failed = run_workers(workers, worker);
	after = read_vmstat("cma_alloc_success");
	printf("cma-churn: %ld allocations, %ld releases, %ld refused, %ld pages faulted\n",
	       stats->allocs, stats->frees, stats->refused, stats->faults);
	/* Every range is released: cma_worker() fails otherwise. */
	failed += check_proof("cma_alloc_success", after - before, MIN_ALLOCS);
	return failed ? 1 : 0;
}
