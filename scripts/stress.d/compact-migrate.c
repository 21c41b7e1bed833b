// SPDX-License-Identifier: GPL-2.0
/*
 * compact-migrate: memory compaction, and so page migration, while other
 * processes fault pages in, fragment them and free them.
 *
 * Worker 0 writes 1 to /proc/sys/vm/compact_memory over and over (and now
 * and then 1 to drop_caches). Compaction walks every PFN of every zone and
 * takes speculative references on whatever pages it finds there
 * (folio_try_get() in isolate_migratepages_block()): pages that are being
 * allocated, freed, split or migrated at that moment. Migrating a page-cache
 * or shmem folio freezes its refcount, moves the data and unfreezes the new
 * folio. The other workers keep a ring of live chunks, each of anonymous
 * memory (half in small pages, half in huge pages) and of a shmem file
 * (memfd), write a pattern into every page, fragment them (MADV_DONTNEED of
 * every other small page, a punched hole in the file), mark parts cold or
 * for pageout (MADV_COLD, MADV_PAGEOUT), check every live chunk, and free
 * the oldest. A page that migration or a freed reference corrupted shows as
 * a wrong pattern; a refcount that went wrong as "Bad page state" or a
 * VM_BUG_ON in the console log.
 *
 * Usage: compact-migrate SECONDS WORKERS (at least 2). Exit status 0 when
 * every check passed and /proc/vmstat shows that compaction migrated pages.
 */

#include "stress.h"

#define RING		3
#define ANON_LEN	(4UL << 20)
#define SHM_LEN		(2UL << 20)
#define COMPACT		"/proc/sys/vm/compact_memory"

struct chunk {
	char *anon;		/* ANON_LEN: small pages, then huge pages */
	char *shm;		/* SHM_LEN of a memfd, MAP_SHARED */
	int fd;
	unsigned long tag;
	/*
	 * Per page (4 KiB or larger): 1 if it holds its pattern, 0 if it
	 * reads as zeroes.
	 */
	unsigned char anon_set[ANON_LEN / 4096];
	unsigned char shm_set[SHM_LEN / 4096];
};

struct stats {
	unsigned long compactions, chunks, checks;
};

static size_t page;
static struct stats *stats;

static unsigned long pattern(unsigned long tag, size_t i)
{
	return tag ^ (i * 0x9e3779b97f4a7c15UL);
}

static void fill(char *mem, unsigned char *set, size_t len, unsigned long tag)
{
	unsigned long *p;
	size_t i;

	for (i = 0; i < len / page; i++) {
		p = (unsigned long *)(mem + i * page);
		p[0] = pattern(tag, i);
		p[page / sizeof(long) - 1] = ~pattern(tag, i);
		set[i] = 1;
	}
}

static int check_mem(const char *what, char *mem, unsigned char *set,
		     size_t len, unsigned long tag)
{
	unsigned long *p, want0, want1;
	size_t i;

	for (i = 0; i < len / page; i++) {
		p = (unsigned long *)(mem + i * page);
		want0 = set[i] ? pattern(tag, i) : 0;
		want1 = set[i] ? ~pattern(tag, i) : 0;
		if (p[0] == want0 && p[page / sizeof(long) - 1] == want1)
			continue;
		printf("compact-migrate: %s page %ld holds 0x%lx 0x%lx, expected 0x%lx 0x%lx\n",
		       what, (long)i, p[0], p[page / sizeof(long) - 1],
		       want0, want1);
		return -1;
	}
	return 0;
}

/* The file through read(): the page cache, not the mapping. */
static int check_file(struct chunk *c)
{
	unsigned long word;
	size_t i;

	for (i = 0; i < SHM_LEN / page; i += 7) {
		if (sys_pread(c->fd, &word, sizeof(word), i * page) !=
		    sizeof(word) ||
		    word != (c->shm_set[i] ? pattern(c->tag, i) : 0)) {
			printf("compact-migrate: shmem page %ld reads 0x%lx\n",
			       (long)i, word);
			return -1;
		}
	}
	return 0;
}

static int check(struct chunk *c)
{
	count(&stats->checks, 1);
	if (check_mem("anonymous", c->anon, c->anon_set, ANON_LEN, c->tag) ||
	    check_mem("shmem", c->shm, c->shm_set, SHM_LEN, c->tag))
		return -1;
	return check_file(c);
}

static long make_chunk(struct chunk *c, unsigned long tag)
{
	long ret;

	c->tag = tag;
	c->anon = mmap(NULL, ANON_LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->anon == MAP_FAILED)
		return -errno;
	ret = sys_madvise(c->anon, ANON_LEN / 2, MADV_NOHUGEPAGE);
	if (!ret)
		ret = sys_madvise(c->anon + ANON_LEN / 2, ANON_LEN / 2,
				  MADV_HUGEPAGE);
	if (ret)
		return ret;
	c->fd = memfd_create("compact-migrate", 0);
	if (c->fd < 0)
		return -errno;
	ret = sys_ftruncate(c->fd, SHM_LEN);
	if (ret)
		return ret;
	c->shm = mmap(NULL, SHM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->fd, 0);
	if (c->shm == MAP_FAILED)
		return -errno;
	fill(c->anon, c->anon_set, ANON_LEN, tag);
	fill(c->shm, c->shm_set, SHM_LEN, tag);
	return 0;
}

/* Leave holes for compaction to fill, and pages on the inactive lists. */
static long fragment(struct chunk *c, unsigned long long *seed)
{
	size_t i, first, n;
	long ret;

	for (i = 0; i < ANON_LEN / 2 / page; i += 2) {
		ret = sys_madvise(c->anon + i * page, page, MADV_DONTNEED);
		if (ret)
			return ret;
		c->anon_set[i] = 0;
	}
	n = 1 + rnd(seed) % 16;
	first = rnd(seed) % (SHM_LEN / page - n);
	ret = sys_fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    first * page, n * page);
	if (ret)
		return ret;
	memset(c->shm_set + first, 0, n);
	ret = sys_madvise(c->anon + ANON_LEN / 2, ANON_LEN / 4, MADV_COLD);
	if (!ret)
		ret = sys_madvise(c->anon, ANON_LEN / 4, MADV_PAGEOUT);
	if (!ret)
		ret = sys_madvise(c->shm, SHM_LEN / 2, MADV_COLD);
	return ret;
}

static void free_chunk(struct chunk *c)
{
	munmap(c->anon, ANON_LEN);
	munmap(c->shm, SHM_LEN);
	close(c->fd);
	c->anon = NULL;
}

static int compactor(void)
{
	unsigned long n = 0;
	int ret;

	while (!time_up()) {
		ret = write_str(COMPACT, "1");
		if (ret) {
			printf("compact-migrate: cannot write %s: errno %d (CONFIG_COMPACTION?)\n",
			       COMPACT, -ret);
			return 1;
		}
		if (++n % 8 == 0)
			write_str("/proc/sys/vm/drop_caches", "1");
		count(&stats->compactions, 1);
		msleep(20);
	}
	return 0;
}

static int churn(int id)
{
	static struct chunk ring[RING];
	unsigned long long seed = 0xabcdef + id * 104729ULL;
	unsigned long n;
	long ret;
	int i;

	if (id == 0)
		return compactor();
	for (n = 0; !time_up(); n++) {
		struct chunk *c = &ring[n % RING];

		if (c->anon)
			free_chunk(c);
		ret = make_chunk(c, (unsigned long)id << 56 | n << 16 | 0xc3);
		if (!ret)
			ret = fragment(c, &seed);
		if (ret) {
			printf("compact-migrate: worker %d: setting up a chunk: errno %ld\n",
			       id, -ret);
			return 1;
		}
		count(&stats->chunks, 1);
		for (i = 0; i < RING; i++)
			if (ring[i].anon && check(&ring[i]))
				return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long long scanned0 = read_vmstat("compact_migrate_scanned");
	long long migrated0 = read_vmstat("pgmigrate_success");
	long long scanned, migrated;
	int workers, failed;

	stress_name = "compact-migrate";
	if (stress_args(argc, argv, &workers))
		return 2;
	page = getpagesize();
	stats = shared_alloc(sizeof(*stats));
	if (!stats)
		return 1;
	failed = run_workers(workers < 2 ? 2 : workers, churn);
	scanned = read_vmstat("compact_migrate_scanned") - scanned0;
	migrated = read_vmstat("pgmigrate_success") - migrated0;
	printf("compact-migrate: %ld compactions, %ld chunks, %ld checks;",
	       stats->compactions, stats->chunks, stats->checks);
	printf(" vmstat: %ld pages scanned, %ld migrated\n",
	       (long)scanned, (long)migrated);
	if (failed)
		return 1;
	if (scanned <= 0 || migrated <= 0) {
		printf("compact-migrate: compaction migrated nothing\n");
		return 1;
	}
	return 0;
}
