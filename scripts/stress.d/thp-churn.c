// SPDX-License-Identifier: GPL-2.0
/*
 * thp-churn: split and collapse transparent huge pages, over and over, in
 * several processes at once.
 *
 * Each worker maps a few PMD-sized, PMD-aligned regions of anonymous
 * memory with MADV_HUGEPAGE and writes a pattern into every base page (the
 * first write faults a huge page in). Each round then splits one huge page
 * in one of these ways, because each reaches the refcount differently:
 *
 *   mprotect of one base page     the PMD mapping is split, the folio not
 *   MADV_DONTNEED of a few pages  the folio is partly unmapped and queued
 *                                 for the deferred split
 *   MADV_COLD / MADV_PAGEOUT      split_folio(): the folio's refcount is
 *     of part of a huge page      frozen, the new folios unfrozen
 *   fork, the child writes        copy-on-write of a shared huge page
 *   debugfs split_huge_pages      a folio reference taken from a page table
 *                                 walk, then a split (to order 0 or 2)
 *   munmap + mmap of one page     a hole in a huge page, refilled
 *
 * and collapses every huge page back with MADV_COLLAPSE, which copies the
 * small pages into a new huge page and frees them. After each step every
 * page must hold its pattern, or zeroes where MADV_DONTNEED dropped it: a
 * page freed while still mapped, or reused while still in use, shows up
 * here as a wrong pattern, or in the console log as "Bad page state",
 * which scripts/stress checks.
 *
 * Usage: thp-churn SECONDS WORKERS. Exit status 0 when every check passed
 * and /proc/vmstat shows both splits and collapses.
 */

#include "stress.h"

#define REGION_PMDS	4
#define SPLIT_DEBUGFS	"/sys/kernel/debug/split_huge_pages"

enum page_state { PAGE_PATTERN, PAGE_ZERO, PAGE_GONE };

struct region {
	char *map;		/* what mmap returned */
	char *base;		/* PMD-aligned start */
	size_t len;		/* REGION_PMDS huge pages */
	unsigned long tag;	/* this worker and round */
	unsigned char *state;	/* enum page_state, one per base page */
};

struct stats {
	unsigned long rounds, collapsed, collapse_failed, checks;
};

static size_t pmd, page;
static struct stats *stats;

static unsigned long pattern(struct region *r, size_t i)
{
	return r->tag ^ (i * 0x9e3779b97f4a7c15UL);
}

/* Two words per page, at both ends, so a page moved in halves shows. */
static void fill_page(struct region *r, size_t i)
{
	unsigned long *p = (unsigned long *)(r->base + i * page);

	p[0] = pattern(r, i);
	p[page / sizeof(long) - 1] = ~pattern(r, i);
	r->state[i] = PAGE_PATTERN;
}

static int check(struct region *r, int id, const char *after)
{
	unsigned long *p, want0, want1;
	size_t i;

	count(&stats->checks, 1);
	for (i = 0; i < r->len / page; i++) {
		if (r->state[i] == PAGE_GONE)
			continue;
		p = (unsigned long *)(r->base + i * page);
		want0 = r->state[i] == PAGE_PATTERN ? pattern(r, i) : 0;
		want1 = r->state[i] == PAGE_PATTERN ? ~pattern(r, i) : 0;
		if (p[0] == want0 && p[page / sizeof(long) - 1] == want1)
			continue;
		printf("thp-churn: worker %d: after %s, page %ld holds",
		       id, after, (long)i);
		printf(" 0x%lx 0x%lx, expected 0x%lx 0x%lx\n",
		       p[0], p[page / sizeof(long) - 1], want0, want1);
		return -1;
	}
	return 0;
}

static int map_region(struct region *r)
{
	size_t i;

	r->len = REGION_PMDS * pmd;
	r->map = mmap(NULL, r->len + pmd, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->map == MAP_FAILED)
		return -1;
	r->base = (char *)(((unsigned long)r->map + pmd - 1) & ~(pmd - 1));
	if (sys_madvise(r->base, r->len, MADV_HUGEPAGE))
		return -1;
	for (i = 0; i < r->len / page; i++)
		fill_page(r, i);
	return 0;
}

/*
 * The child of a fork writes every 8th page of one huge page (copy on
 * write), checks what it wrote, and that the rest is still the parent's.
 */
static int cow_child(struct region *r, size_t first, int id)
{
	unsigned long *p, want;
	size_t i;

	for (i = first; i < first + pmd / page; i += 8) {
		if (r->state[i] == PAGE_GONE)
			continue;
		p = (unsigned long *)(r->base + i * page);
		p[0] = ~pattern(r, i);
		p[page / sizeof(long) - 1] = pattern(r, i);
		r->state[i] = PAGE_GONE;
	}
	for (i = first; i < first + pmd / page; i += 8) {
		p = (unsigned long *)(r->base + i * page);
		want = pattern(r, i);
		if (r->state[i] == PAGE_GONE &&
		    (p[0] != ~want || p[page / sizeof(long) - 1] != want)) {
			printf("thp-churn: worker %d: a child's copy of page %ld holds 0x%lx\n",
			       id, (long)i, p[0]);
			return 1;
		}
	}
	return check(r, id, "copy-on-write in a child") ? 1 : 0;
}

static int split_debugfs(char *start, size_t len, int order)
{
	char buf[96], num[24], *p;

	p = put(buf, itoa(getpid()));
	p = put(put(p, ","), hex(num, (unsigned long)start));
	p = put(put(p, ","), hex(num, (unsigned long)(start + len)));
	put(put(p, ","), itoa(order));
	return write_str(SPLIT_DEBUGFS, buf);
}

/* One round: split huge page k the way the round number picks; -errno. */
static long split_one(struct region *r, unsigned long round, size_t k,
		      unsigned long long *seed, int id, const char **how)
{
	char *hp = r->base + k * pmd;
	size_t first = k * pmd / page, i, n;
	int status;
	long ret;
	pid_t pid;

	switch (round % 7) {
	case 0:
		*how = "mprotect of one page";
		ret = sys_mprotect(hp + pmd / 2, page, PROT_READ);
		if (!ret)
			ret = sys_mprotect(hp + pmd / 2, page,
					   PROT_READ | PROT_WRITE);
		return ret;
	case 1:
		*how = "MADV_DONTNEED of part";
		n = 1 + rnd(seed) % 32;
		i = rnd(seed) % (pmd / page - n);
		memset(r->state + first + i, PAGE_ZERO, n);
		return sys_madvise(hp + i * page, n * page, MADV_DONTNEED);
	case 2:
		*how = "MADV_COLD of half";
		return sys_madvise(hp, pmd / 2, MADV_COLD);
	case 3:
		*how = "MADV_PAGEOUT of a quarter";
		return sys_madvise(hp + pmd / 4, pmd / 4, MADV_PAGEOUT);
	case 4:
		*how = "fork and copy-on-write";
		pid = fork();
		if (pid == 0)
			exit(cow_child(r, first, id));
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			return -errno;
		return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
	case 5:
		*how = "debugfs split_huge_pages";
		/* Order 1 is not allowed for anonymous folios. */
		ret = split_debugfs(hp, pmd, round & 8 ? 2 : 0);
		if (ret == -ENOENT)
			*how = "nothing (no debugfs)";
		return ret == -ENOENT ? 0 : ret;
	default:
		*how = "munmap and mmap of one page";
		i = rnd(seed) % (pmd / page);
		if (munmap(hp + i * page, page) ||
		    mmap(hp + i * page, page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
		    MAP_FAILED)
			return -errno;
		fill_page(r, first + i);
		/* Same flags again, so the VMAs merge and can collapse. */
		return sys_madvise(r->base, r->len, MADV_HUGEPAGE);
	}
}

static int collapse(struct region *r)
{
	long ret;
	size_t k;

	for (k = 0; k < REGION_PMDS; k++) {
		ret = sys_madvise(r->base + k * pmd, pmd, MADV_COLLAPSE);
		/* No MADV_COLLAPSE: the vmstat check reports it. */
		if (ret == -EINVAL)
			return 0;
		/* -EAGAIN, -ENOMEM: a busy page or no free huge page. */
		count(ret ? &stats->collapse_failed : &stats->collapsed, 1);
	}
	return 0;
}

static int split_collapse_loop(int id)
{
	static unsigned char state[REGION_PMDS * 512 * 16];
	unsigned long long seed = 0x1234567 + id * 7919ULL;
	unsigned long round = 0;
	struct region r = { .state = state };
	const char *how = "";
	size_t i;
	long ret;

	if (REGION_PMDS * pmd / page > sizeof(state)) {
		printf("thp-churn: huge pages of %ld bytes are too large\n",
		       (long)pmd);
		return 1;
	}
	while (!time_up()) {
		r.tag = (unsigned long)id << 56 | round << 20 | 0x5a5a;
		if (map_region(&r)) {
			printf("thp-churn: worker %d: mmap: errno %d\n", id,
			       errno);
			return 1;
		}
		/* A few rounds on one mapping, then a fresh one. */
		for (i = 0; i < 7 && !time_up(); i++, round++) {
			ret = split_one(&r, round, rnd(&seed) % REGION_PMDS,
					&seed, id, &how);
			if (ret) {
				printf("thp-churn: worker %d: %s failed: errno %ld\n",
				       id, how, -ret);
				return 1;
			}
			if (check(&r, id, how))
				return 1;
			if (collapse(&r) || check(&r, id, "MADV_COLLAPSE"))
				return 1;
			count(&stats->rounds, 1);
		}
		if (munmap(r.map, r.len + pmd))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long long split0 = read_vmstat("thp_split_pmd");
	long long collapse0 = read_vmstat("thp_collapse_alloc");
	long long splits, collapses;
	int workers, failed;

	stress_name = "thp-churn";
	if (stress_args(argc, argv, &workers))
		return 2;
	page = getpagesize();
	pmd = pmd_size();
	stats = shared_alloc(sizeof(*stats));
	if (!pmd || !stats) {
		printf("thp-churn: no transparent huge pages (CONFIG_TRANSPARENT_HUGEPAGE)\n");
		return 1;
	}
	failed = run_workers(workers, split_collapse_loop);
	splits = read_vmstat("thp_split_pmd") - split0;
	collapses = read_vmstat("thp_collapse_alloc") - collapse0;
	printf("thp-churn: %ld rounds, %ld checks, %ld collapses (%ld refused);",
	       stats->rounds, stats->checks, stats->collapsed,
	       stats->collapse_failed);
	printf(" vmstat: %ld PMD splits, %ld collapse allocations\n",
	       (long)splits, (long)collapses);
	if (failed)
		return 1;
	if (splits <= 0 || collapses <= 0) {
		printf("thp-churn: no split or no collapse happened\n");
		return 1;
	}
	return 0;
}
