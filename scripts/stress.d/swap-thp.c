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
 * Each round also splits 64 KiB mTHPs in the swap cache (mthp_round()).
 *
 * Proof: /proc/vmstat shows pages swapped out and in (pswpout, pswpin),
 * huge pages swapped out whole or split for it (thp_swpout,
 * thp_swpout_fallback), huge pages split (thp_split_page) and, where the
 * kernel has 64 KiB mTHPs, splits in the swap cache (thp_split_swapcache,
 * a count pageref's test series adds).
 *
 * Usage: swap-thp SECONDS WORKERS.
 */

#include "stress.h"

/* stress-init mounts devtmpfs on /dev. */
#define ZRAM		"/dev/zram0"
#define ZRAM_SIZE	(256UL << 20)
#define LEN		(4UL << 20)
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE	14
#endif
/* 64 KiB mTHPs, in a mapping too small for a PMD one. */
#define MTHP_ENABLED	"/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"
#define MTHP		(64UL << 10)
#define MTHP_LEN	(16 * MTHP)

static size_t page, huge;
static int mthp;

static const char * const counters[] = {
	"pswpout", "pswpin", "thp_swpout", "thp_swpout_fallback", "thp_split_page",
	"thp_split_swapcache",
};

/* A version 1 swap header over the whole of zram0 (mkswap's work). */
static int make_swap(void)
{
	static char hdr[65536];
	unsigned int *info = (unsigned int *)(hdr + 1024);
	int fd, ret;

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

/*
 * A split in the swap cache: 64 KiB mTHPs paged out whole, read back whole
 * while a forked child still holds their swap entries (so the swap cache
 * keeps them: zram's swap-in frees the entries it alone holds), then half
 * of each paged out, which splits it there.
 */
static int mthp_round(unsigned long tag)
{
	char *raw = mmap(NULL, MTHP_LEN + MTHP, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long *p;
	int status, fds[2], ret = 0;
	size_t i, n = MTHP_LEN / page;
	pid_t pid;
	char c = 0;

	if (raw == MAP_FAILED || pipe(fds))
		return 1;
	p = (unsigned long *)(((unsigned long)raw + MTHP - 1) & ~(MTHP - 1));
	sys_madvise(p, MTHP_LEN, MADV_HUGEPAGE);
	for (i = 0; i < n; i++)
		p[i * page / sizeof(long)] = tag ^ i;
	sys_madvise(p, MTHP_LEN, MADV_PAGEOUT);
	pid = fork();
	if (pid == 0) {
		/* Hold the swap entries until the parent has split. */
		read(fds[0], &c, 1);
		for (i = 0; i < n; i++)
			ret |= p[i * page / sizeof(long)] != (tag ^ i);
		exit(ret);
	}
	/* The swap-ins, checked. */
	for (i = 0; i < n; i++)
		ret |= p[i * page / sizeof(long)] != (tag ^ i);
	for (i = 0; i < MTHP_LEN; i += MTHP)
		sys_madvise((char *)p + i, MTHP / 2, MADV_PAGEOUT);
	write(fds[1], &c, 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		printf("swap-thp: the child read a wrong mTHP page\n");
		ret = 1;
	}
	for (i = 0; i < n; i++)
		ret |= p[i * page / sizeof(long)] != (tag ^ i);
	close(fds[0]);
	close(fds[1]);
	munmap(raw, MTHP_LEN + MTHP);
	return ret;
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
		if (mthp && mthp_round(++tag))
			return 1;
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
	/* 64 KiB mTHPs for mthp_round() ("never" is 7.3's default). */
	mthp = !write_str(MTHP_ENABLED, "always");
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		before[i] = read_vmstat(counters[i]);
	failed = run_workers(workers, worker);
	if (mthp)
		write_str(MTHP_ENABLED, "never");
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
	/* The vmstat event of pageref's test series (patches/test). */
	if (mthp)
		failed += check_proof("thp_split_swapcache", moved[5], 1);
	return failed ? 1 : 0;
}
