// SPDX-License-Identifier: GPL-2.0
/*
 * hwpoison-churn: memory-failure's software injection, hard and soft, on
 * free and on mapped pages, and unpoison, while other processes fault and
 * free memory.
 *
 * A free page that is poisoned is taken off the buddy allocator
 * (take_page_off_buddy()) and its new owner, memory-failure, gives it one
 * reference on a page nobody held (page_ref_inc_ownerless()); unpoison
 * drops it again, and the last put frees the page. Worker 0, each round:
 *   - soft-offlines a free page (/sys/devices/system/memory/soft_offline_page)
 *   - hard-poisons a free page (debugfs hwpoison/corrupt-pfn)
 *   - soft-offlines one of its own mapped pages (MADV_SOFT_OFFLINE: the
 *     data migrates, the old page is poisoned) and checks the data
 *   - has a child hard-poison one of its own pages (MADV_HWPOISON; the
 *     child dies of SIGBUS)
 *   - unpoisons every page it poisoned (debugfs hwpoison/unpoison-pfn).
 * Free pages are found in /proc/kpageflags (KPF_BUDDY). The others fault,
 * check and free anonymous memory, so free pages come and go meanwhile.
 *
 * Proof: each of the four injections and the unpoison of the pages taken
 * off the free lists succeeded at least MIN_EACH times.
 *
 * Usage: hwpoison-churn SECONDS WORKERS (at least 2).
 */

#include "stress.h"

#ifndef MADV_HWPOISON
#define MADV_HWPOISON		100
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif
#define KPF_BUDDY		10
#define KPF_HWPOISON		19
#define SOFT_OFFLINE		"/sys/devices/system/memory/soft_offline_page"
#define CORRUPT			"/sys/kernel/debug/hwpoison/corrupt-pfn"
#define UNPOISON		"/sys/kernel/debug/hwpoison/unpoison-pfn"
#define MIN_EACH		2
#define ANON_LEN		(8UL << 20)

enum kind { FREE_SOFT, FREE_HARD, MAPPED_SOFT, MAPPED_HARD, KINDS };
static const char * const kind_name[KINDS] = {
	"free page soft-offlined", "free page hard-poisoned",
	"mapped page soft-offlined", "mapped page hard-poisoned",
};

struct stats {
	unsigned long done[KINDS], unpoisoned[KINDS], refused[KINDS];
	unsigned long child_pfn, faults;
};

static struct stats *stats;
static int kpageflags;
static unsigned long max_pfn;
static size_t page;

/* The PFN of a free page at or after a random one, or 0. */
static unsigned long free_pfn(unsigned long long *seed)
{
	static unsigned long long flags[512];
	unsigned long pfn, i;
	long n;
	int tries;

	for (tries = 0; tries < 64; tries++) {
		pfn = rnd(seed) % max_pfn;
		n = sys_pread(kpageflags, flags, sizeof(flags), pfn * sizeof(flags[0]));
		for (i = 0; n > 0 && i < n / sizeof(flags[0]); i++)
			if ((flags[i] >> KPF_BUDDY & 1) && !(flags[i] >> KPF_HWPOISON & 1))
				return pfn + i;
	}
	return 0;
}

/* The PFN behind a mapped address (/proc/self/pagemap), or 0. */
static unsigned long pfn_of(void *addr)
{
	unsigned long long entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY, 0);

	if (fd < 0)
		return 0;
	sys_pread(fd, &entry, sizeof(entry), (unsigned long)addr / page * sizeof(entry));
	close(fd);
	return entry >> 63 ? entry & ((1ULL << 55) - 1) : 0;
}

static int write_pfn(const char *path, unsigned long pfn)
{
	char buf[24];

	return write_str(path, hex(buf, pfn));
}

/* MADV_HWPOISON in a child, which SIGBUS kills; the PFN it poisoned. */
static unsigned long poison_in_child(void)
{
	int status;
	pid_t pid = fork();
	char *p;

	if (pid == 0) {
		p = mmap(NULL, page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			exit(1);
		p[0] = 1;
		stats->child_pfn = pfn_of(p);
		exit(sys_madvise(p, page, MADV_HWPOISON) ? 1 : 0);
	}
	stats->child_pfn = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	/* Killed by SIGBUS, or exited with 0: either way it took. */
	if (WIFEXITED(status) && WEXITSTATUS(status))
		return 0;
	return stats->child_pfn;
}

static int inject_worker(void)
{
	unsigned long long seed = 0x9e3779b97f4a7c15ULL ^ now_ms();
	unsigned long pfn[KINDS], *mem, old;
	int k, ret;

	mem = mmap(NULL, page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	while (!time_up()) {
		pfn[FREE_SOFT] = free_pfn(&seed);
		/* soft_offline_page takes a physical address. */
		if (pfn[FREE_SOFT] && write_pfn(SOFT_OFFLINE, pfn[FREE_SOFT] * page))
			pfn[FREE_SOFT] = 0;
		pfn[FREE_HARD] = free_pfn(&seed);
		if (pfn[FREE_HARD] && write_pfn(CORRUPT, pfn[FREE_HARD]))
			pfn[FREE_HARD] = 0;

		mem[0] = seed;
		old = pfn_of(mem);
		pfn[MAPPED_SOFT] = 0;
		if (old && !sys_madvise(mem, page, MADV_SOFT_OFFLINE)) {
			if (mem[0] != seed || pfn_of(mem) == old) {
				printf("%s: soft offline: pfn %lx->%lx, 0x%lx not 0x%lx\n",
				       stress_name, old, pfn_of(mem), mem[0], (unsigned long)seed);
				return 1;
			}
			pfn[MAPPED_SOFT] = old;
		}
		pfn[MAPPED_HARD] = poison_in_child();

		for (k = 0; k < KINDS; k++) {
			if (!pfn[k]) {
				count(&stats->refused[k], 1);
				continue;
			}
			count(&stats->done[k], 1);
			ret = write_pfn(UNPOISON, pfn[k]);
			if (!ret)
				count(&stats->unpoisoned[k], 1);
		}
	}
	return 0;
}

static int worker(int id)
{
	return id ? churn_memory(id, ANON_LEN, 0, &stats->faults) : inject_worker();
}

int main(int argc, char **argv)
{
	static unsigned long long chunk[8192];
	long corrupted, n;
	int workers, failed, k;
	char what[64];

	stress_name = "hwpoison-churn";
	if (stress_args(argc, argv, &workers) || workers < 2)
		return 2;
	page = getpagesize();
	stats = shared_alloc(sizeof(*stats));
	kpageflags = open("/proc/kpageflags", O_RDONLY, 0);
	if (!stats || kpageflags < 0 || access(CORRUPT, W_OK)) {
		printf("hwpoison-churn: no /proc/kpageflags or %s (CONFIG_HWPOISON_INJECT?)\n",
		       CORRUPT);
		return 2;
	}
	/* The highest PFN: /proc/kpageflags ends there. */
	while ((n = sys_pread(kpageflags, chunk, sizeof(chunk), max_pfn * 8)) > 0)
		max_pfn += n / 8;
	corrupted = read_meminfo("HardwareCorrupted");
	failed = run_workers(workers, worker);
	printf("hwpoison-churn: %ld pfns, HardwareCorrupted %ld kB -> %ld kB, %ld pages faulted\n",
	       max_pfn, corrupted, read_meminfo("HardwareCorrupted"), stats->faults);
	for (k = 0; k < KINDS; k++) {
		printf("hwpoison-churn: %s: %ld, refused %ld, unpoisoned %ld\n",
		       kind_name[k], stats->done[k], stats->refused[k],
		       stats->unpoisoned[k]);
		failed += check_proof(kind_name[k], stats->done[k], MIN_EACH);
	}
	for (k = FREE_SOFT; k <= FREE_HARD; k++) {
		put(put(what, "unpoisoned, "), kind_name[k]);
		failed += check_proof(what, stats->unpoisoned[k], MIN_EACH);
	}
	return failed ? 1 : 0;
}
