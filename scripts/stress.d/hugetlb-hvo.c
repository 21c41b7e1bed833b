// SPDX-License-Identifier: GPL-2.0
/*
 * hugetlb-hvo: HugeTLB pages with the vmemmap optimisation (HVO), grown,
 * mapped, copied on write and shrunk again while compaction walks them.
 *
 * With HVO most tail struct pages of a huge page are a read-only mapping
 * of one shared vmemmap page: a speculative get that wrote to a tail page
 * (page_ref_add_unless_zero() without its PageTail() test) would fault
 * there. Freeing a huge page to the buddy allocator restores the vmemmap
 * and initialises every tail again; allocating it optimises it again.
 *
 * Worker 0 moves the pool between NR_HUGE / 2 and NR_HUGE pages
 * (/proc/sys/vm/nr_hugepages) and writes /proc/sys/vm/compact_memory,
 * whose PFN walk meets the huge pages and their tails. The other workers
 * map two huge pages (MAP_HUGETLB), write a pattern, fork a child that
 * checks it and writes its own (a HugeTLB copy on write), check theirs
 * again and unmap.
 *
 * Proof that HVO ran: /proc/vmstat nr_memmap_pages + nr_memmap_boot_pages
 * drop, when the pool first grows, by at least half of the vmemmap of the
 * pages it gained. A kernel without HVO (no
 * /proc/sys/vm/hugetlb_optimize_vmemmap: arm64 has none in 7.3) runs the
 * rest, and says so.
 * The pool is left at NR_HUGE pages for the hugetlb selftests after it.
 *
 * Usage: hugetlb-hvo SECONDS WORKERS (at least 2).
 */

#include "stress.h"

#define NR_HUGE		16
#define POOL		"/proc/sys/vm/nr_hugepages"
#define COMPACT		"/proc/sys/vm/compact_memory"
#ifndef MAP_HUGETLB
#define MAP_HUGETLB	0x40000
#endif

struct stats {
	unsigned long resizes, maps, copies, no_page;
};

static struct stats *stats;
static size_t hpage;

static int pool_worker(void)
{
	while (!time_up()) {
		if (write_long(POOL, NR_HUGE / 2) || write_long(POOL, NR_HUGE)) {
			printf("hugetlb-hvo: cannot resize the pool: errno %d\n", errno);
			return 1;
		}
		count(&stats->resizes, 1);
		write_str(COMPACT, "1");
	}
	return 0;
}

static int check(const char *who, unsigned long *p, size_t len, unsigned long tag)
{
	size_t i;

	for (i = 0; i < len / sizeof(long); i += 4096 / sizeof(long))
		if (p[i] != (tag ^ i)) {
			printf("hugetlb-hvo: %s: word %ld holds 0x%lx, expected 0x%lx\n",
			       who, (long)i, p[i], tag ^ i);
			return 1;
		}
	return 0;
}

static void fill(unsigned long *p, size_t len, unsigned long tag)
{
	size_t i;

	for (i = 0; i < len / sizeof(long); i += 4096 / sizeof(long))
		p[i] = tag ^ i;
}

static int map_worker(int id)
{
	unsigned long tag = 0x4856 ^ ((unsigned long)id << 40), *p;
	size_t len = 2 * hpage;
	int status;
	pid_t pid;

	while (!time_up()) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED) {
			/* The pool is shrinking, or the others hold it. */
			count(&stats->no_page, 1);
			continue;
		}
		tag++;
		fill(p, len, tag);
		pid = fork();
		if (pid == 0) {
			if (check("child", p, len, tag))
				exit(1);
			/* A copy on write, if a free huge page is there. */
			fill(p, len, ~tag);
			exit(check("child's copy", p, len, ~tag));
		}
		if (pid > 0) {
			waitpid(pid, &status, 0);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				count(&stats->copies, 1);
		}
		if (check("parent", p, len, tag))
			return 1;
		munmap(p, len);
		count(&stats->maps, 1);
	}
	return 0;
}

/*
 * The pages of struct pages: allocated since boot, and from boot (HVO
 * frees the latter when the huge page's memmap came with the memory).
 */
static long memmap_pages(void)
{
	return read_vmstat("nr_memmap_pages") + read_vmstat("nr_memmap_boot_pages");
}

static int worker(int id)
{
	return id ? map_worker(id) : pool_worker();
}

int main(int argc, char **argv)
{
	long before, after, got, per_page;
	int workers, failed;

	stress_name = "hugetlb-hvo";
	if (stress_args(argc, argv, &workers) || workers < 2)
		return 2;
	hpage = read_meminfo("Hugepagesize") * 1024;
	stats = shared_alloc(sizeof(*stats));
	if (hpage <= 0 || !stats) {
		printf("hugetlb-hvo: no HugeTLB (CONFIG_HUGETLBFS?)\n");
		return 2;
	}
	/* Each huge page's struct pages fill this many vmemmap pages. */
	per_page = hpage / getpagesize() * 64 / getpagesize();
	write_long(POOL, 0);
	before = memmap_pages();
	write_long(POOL, NR_HUGE);
	after = memmap_pages();
	got = read_long(POOL);
	printf("hugetlb-hvo: pool of %ld pages of %ld kB, memmap pages %ld -> %ld\n",
	       got, (long)(hpage / 1024), before, after);

	failed = run_workers(workers, worker);
	write_long(POOL, NR_HUGE);
	printf("hugetlb-hvo: %ld pool resizes, %ld maps, %ld copies, %ld maps refused\n",
	       stats->resizes, stats->maps, stats->copies, stats->no_page);
	failed += check_proof("huge pages in the pool", got, NR_HUGE);
	if (read_long("/proc/sys/vm/hugetlb_optimize_vmemmap") >= 0)
		failed += check_proof("vmemmap pages HVO freed", before - after,
				      got * per_page / 2);
	else
		printf("hugetlb-hvo: no HVO in this kernel: the tails are writable\n");
	failed += check_proof("pool resizes", stats->resizes, 2);
	failed += check_proof("huge page maps", stats->maps, 4);
	return failed ? 1 : 0;
}
