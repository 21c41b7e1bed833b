// SPDX-License-Identifier: GPL-2.0
/*
 * swap-thp: transparent huge pages swapped out to zram and back in, split
 * on the way, shared with forked children, then swapoff.
 *
 * Reclaim freezes a folio to take it out of the swap cache after its
 * write, adds a whole THP to the swap cache or splits it first, and a
 * swap entry shared after a fork is read back through the swap cache;
 * swapoff reads every entry left. The program sets up zram0 as swap
 * (disksize, a swap header of its own, swapon). Each worker, per round:
 * maps 4 MiB of THP-backed anonymous memory, writes a pattern, drops half
 * of one huge page (MADV_DONTNEED; reclaim splits the rest), pages all of
 * it out (MADV_PAGEOUT), forks a child that checks everything (swap-ins), pages
 * it out again while the child reads, checks it itself and unmaps. At the
 * end swapoff reads back what is left.
 *
 * Proof: /proc/vmstat shows pages swapped out and in (pswpout, pswpin),
 * huge pages swapped out whole or split for it (thp_swpout,
 * thp_swpout_fallback) and huge pages split (thp_split_page).
 *
 * Usage: swap-thp SECONDS WORKERS.
 */

#include "stress.h"

#define DEV_DIR		"/tmp/pageref-dev"
#define ZRAM		DEV_DIR "/zram0"
#define ZRAM_SIZE	(256UL << 20)
#define LEN		(4UL << 20)
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE	14
#endif

static size_t page, huge;

static const char * const counters[] = {
	"pswpout", "pswpin", "thp_swpout", "thp_swpout_fallback", "thp_split_page",
};

/* A version 1 swap header over the whole of zram0 (mkswap's work). */
static int make_swap(void)
{
	static char hdr[65536];
	unsigned int *info = (unsigned int *)(hdr + 1024);
	int fd, ret;

	if (mkdir(DEV_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (mount("devtmpfs", DEV_DIR, "devtmpfs", 0, NULL) && errno != EBUSY)
		return -errno;
	ret = write_long("/sys/block/zram0/disksize", ZRAM_SIZE);
	if (ret)
		return ret;
	info[0] = 1;				/* version */
	info[1] = ZRAM_SIZE / page - 1;		/* last_page */
	memcpy(hdr + page - 10, "SWAPSPACE2", 10);
	fd = open(ZRAM, O_WRONLY, 0);
	if (fd < 0)
		return -errno;
	ret = write(fd, hdr, page) == (ssize_t)page ? 0 : -EIO;
	close(fd);
	return ret ? ret : _syscall(__NR_swapon, ZRAM, 0);
}

static void fill(unsigned long *p, unsigned long tag)
{
	size_t i;

	for (i = 0; i < LEN / page; i++)
		p[i * page / sizeof(long)] = tag ^ i;
}

/* Every page holds its pattern, or zeroes from dropped on. */
static int check(const char *who, unsigned long *p, unsigned long tag,
		 size_t dropped, size_t drop_len)
{
	unsigned long want;
	size_t i;

	for (i = 0; i < LEN / page; i++) {
		want = i * page >= dropped && i * page < dropped + drop_len ? 0 : tag ^ i;
		if (p[i * page / sizeof(long)] != want) {
			printf("swap-thp: %s: page %ld holds 0x%lx, expected 0x%lx\n",
			       who, (long)i, p[i * page / sizeof(long)], want);
			return 1;
		}
	}
	return 0;
}

static int worker(int id)
{
	unsigned long tag = (unsigned long)id << 40, *p;
	size_t dropped = huge, drop_len = huge / 2;
	char *raw;
	int status;
	pid_t pid;

	while (!time_up()) {
		raw = mmap(NULL, LEN + huge, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (raw == MAP_FAILED)
			return 1;
		p = (unsigned long *)(((unsigned long)raw + huge - 1) & ~(huge - 1));
		sys_madvise(p, LEN, MADV_HUGEPAGE);
		fill(p, ++tag);
		/* Half a huge page unmapped: reclaim splits what is left. */
		sys_madvise((char *)p + dropped, drop_len, MADV_DONTNEED);
		sys_madvise(p, LEN, MADV_PAGEOUT);
		pid = fork();
		if (pid == 0)
			exit(check("child", p, tag, dropped, drop_len));
		sys_madvise(p, LEN, MADV_PAGEOUT);
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			return 1;
		if (check("parent", p, tag, dropped, drop_len))
			return 1;
		/* Leave some swapped out for swapoff. */
		if (tag & 1)
			sys_madvise(p, LEN, MADV_PAGEOUT);
		munmap(raw, LEN + huge);
	}
	return 0;
}

int main(int argc, char **argv)
{
	long before[ARRAY_SIZE(counters)], moved[ARRAY_SIZE(counters)];
	int workers, failed, ret;
	unsigned int i;

	stress_name = "swap-thp";
	if (stress_args(argc, argv, &workers))
		return 2;
	page = getpagesize();
	huge = pmd_size();
	if (!huge) {
		printf("swap-thp: no transparent huge pages\n");
		return 2;
	}
	ret = make_swap();
	if (ret) {
		printf("swap-thp: cannot swap on zram0: errno %d (ZRAM? SWAP?)\n", -ret);
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		before[i] = read_vmstat(counters[i]);
	failed = run_workers(workers, worker);
	ret = _syscall(__NR_swapoff, ZRAM);
	if (ret) {
		printf("swap-thp: swapoff: errno %d\n", -ret);
		failed++;
	}
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		moved[i] = read_vmstat(counters[i]) - before[i];
	failed += check_proof("pswpout", moved[0], 1);
	failed += check_proof("pswpin", moved[1], 1);
	failed += check_proof("thp_swpout + thp_swpout_fallback", moved[2] + moved[3], 1);
	failed += check_proof("thp_split_page", moved[4], 1);
	return failed ? 1 : 0;
}
