// SPDX-License-Identifier: GPL-2.0
/*
 * pagecache-readers: many processes read the same page-cache pages while
 * those pages are freed, split, collapsed and migrated under them.
 *
 * A read() of a cached page takes its reference speculatively, with no
 * lock: filemap_get_read_batch() calls folio_try_get() on a folio found in
 * the xarray under RCU, which may be on its way to being freed, or frozen
 * for a split, a collapse or a migration. That is the "try get" the frozen
 * bit changes, and the benchmark of its authors: N processes doing
 * pread(fd, buf, 64, 0) on one tmpfs file. Here:
 *
 *   workers 2..N   pread() 64 bytes at offset 0 of both files, in a loop,
 *                  and now and then a longer read at a random offset;
 *   worker 1       reads file B through a shared mapping (page faults map
 *                  the cached pages, filemap_map_pages() takes the same
 *                  speculative references) and vmsplice()s pages of that
 *                  mapping into a pipe (GUP-fast: another lockless get);
 *   worker 0       truncates file A to nothing and writes it again, punches
 *                  holes in file B and fills them, splits B's huge pages
 *                  through debugfs, collapses them (MADV_COLLAPSE), and
 *                  compacts memory, which migrates the cached pages.
 *
 * File A is on a tmpfs of small pages, file B on a tmpfs with huge=always.
 * Every byte of a file is a function of the file and its offset, never 0,
 * so each byte read must be that value, or 0 (a hole, or a page not yet
 * written back after the truncation); anything else is a page that was
 * freed and reused while a reader still held it.
 *
 * Usage: pagecache-readers SECONDS WORKERS (at least 3). Exit status 0 when
 * every byte read was right and every worker did some work.
 */

#include "stress.h"

#define DIR_SMALL	"/tmp/pagecache-small"
#define DIR_HUGE	"/tmp/pagecache-huge"
#define FILE_A		DIR_SMALL "/a"
#define FILE_B		DIR_HUGE "/b"
#define A_LEN		(256UL << 10)
#define B_LEN		(4UL << 20)
#define CHUNK		(16UL << 10)

struct stats {
	unsigned long preads, bytes, mapped_reads, vmsplices, mutations,
		      collapses, splits, compactions;
};

static struct stats *stats;

/* The byte at offset off of file f: never 0, different in each page. */
static unsigned char pattern(int f, unsigned long off)
{
	unsigned int h = (off >> 12) * 0x9e3779b1U + f * 0x85ebca77U;

	h ^= h >> 15;
	return (h + (off & 4095) * 7) % 255 + 1;
}

static void fill(unsigned char *buf, int f, unsigned long off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern(f, off + i);
}

static int check(const char *how, int f, unsigned long off,
		 const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == pattern(f, off + i) || !buf[i])
			continue;
		printf("pagecache-readers: %s of file %c at %ld: byte %ld",
		       how, 'A' + f, (long)off, (long)i);
		printf(" is %d, expected %d or 0\n", buf[i],
		       pattern(f, off + i));
		return -1;
	}
	return 0;
}

/* Write [off, off + len) of file f with its pattern. */
static long write_range(int fd, int f, unsigned long off, size_t len)
{
	static unsigned char buf[CHUNK];
	size_t n;
	long ret;

	while (len) {
		n = len < CHUNK ? len : CHUNK;
		fill(buf, f, off, n);
		ret = sys_pwrite(fd, buf, n, off);
		if (ret != (long)n)
			return ret < 0 ? ret : -EIO;
		off += n;
		len -= n;
	}
	return 0;
}

static long split_file(unsigned long pages)
{
	char buf[96], num[24], *p;

	p = put(put(buf, FILE_B), ",0x0,");
	p = put(p, hex(num, pages));
	put(p, ",0");
	return write_str("/sys/kernel/debug/split_huge_pages", buf);
}

static int mutator(int fd_a, int fd_b)
{
	unsigned long long seed = 0x5eed;
	size_t page = getpagesize(), first, n;
	unsigned long i;
	char *map;
	long ret = 0;

	map = mmap(NULL, B_LEN, PROT_READ, MAP_SHARED, fd_b, 0);
	if (map == MAP_FAILED)
		return 1;
	for (i = 0; !time_up(); i++) {
		ret = sys_ftruncate(fd_a, 0);
		if (!ret)
			ret = write_range(fd_a, 0, 0, A_LEN);
		n = 1 + rnd(&seed) % 64;
		first = rnd(&seed) % (B_LEN / page - n);
		if (!ret)
			ret = sys_fallocate(fd_b, FALLOC_FL_PUNCH_HOLE |
					    FALLOC_FL_KEEP_SIZE,
					    first * page, n * page);
		if (!ret)
			ret = write_range(fd_b, 1, first * page, n * page);
		if (ret) {
			printf("pagecache-readers: rewriting the files: errno %ld\n",
			       -ret);
			return 1;
		}
		count(&stats->mutations, 1);
		/* Shmem folios split to order 0 only: others would warn. */
		if (i % 3 == 0 && !split_file(B_LEN / page))
			count(&stats->splits, 1);
		if (i % 3 == 1 && !sys_madvise(map, B_LEN, MADV_COLLAPSE))
			count(&stats->collapses, 1);
		if (i % 4 == 2 &&
		    !write_str("/proc/sys/vm/compact_memory", "1"))
			count(&stats->compactions, 1);
	}
	munmap(map, B_LEN);
	return 0;
}

static int mapped_reader(int fd_b)
{
	unsigned long long seed = 0xfeed;
	size_t page = getpagesize();
	unsigned char buf[4096];
	unsigned long off, i;
	struct iovec iov;
	int pipefd[2];
	char *map;
	long ret;

	map = mmap(NULL, B_LEN, PROT_READ, MAP_SHARED, fd_b, 0);
	if (map == MAP_FAILED || pipe(pipefd))
		return 1;
	for (i = 0; !time_up(); i++) {
		/* Copied once: a byte must not change between two looks. */
		off = rnd(&seed) % (B_LEN - 64);
		memcpy(buf, map + off, 64);
		if (check("a mapped read", 1, off, buf, 64))
			return 1;
		count(&stats->mapped_reads, 1);
		if (i % 8)
			continue;
		/* vmsplice: the pipe holds references to the file's pages. */
		off = rnd(&seed) % (B_LEN / page) * page;
		iov.iov_base = map + off;
		iov.iov_len = sizeof(buf);
		ret = sys_vmsplice(pipefd[1], &iov, 1, 0);
		if (ret != sizeof(buf)) {
			printf("pagecache-readers: vmsplice: %ld\n", ret);
			return 1;
		}
		if (read(pipefd[0], buf, sizeof(buf)) != sizeof(buf) ||
		    check("a vmsplice", 1, off, buf, sizeof(buf)))
			return 1;
		count(&stats->vmsplices, 1);
	}
	return 0;
}

static int reader(int id, int fd_a, int fd_b)
{
	unsigned long long seed = 0xbead + id;
	unsigned char buf[512];
	unsigned long off, i;
	size_t len;
	long ret;
	int f;

	for (i = 0; !time_up(); i++) {
		f = i & 1;
		off = 0;
		len = 64;
		/* The hot page at offset 0, and now and then anywhere. */
		if (i % 16 == 15) {
			len = 64 + rnd(&seed) % (sizeof(buf) - 64);
			off = rnd(&seed) % ((f ? B_LEN : A_LEN) - len);
		}
		ret = sys_pread(f ? fd_b : fd_a, buf, len, off);
		if (ret < 0) {
			printf("pagecache-readers: pread: errno %ld\n", -ret);
			return 1;
		}
		if (check("a pread", f, off, buf, ret))
			return 1;
		count(&stats->preads, 1);
		count(&stats->bytes, ret);
	}
	return 0;
}

static int fd_a, fd_b;

static int role(int id)
{
	if (id == 0)
		return mutator(fd_a, fd_b);
	if (id == 1)
		return mapped_reader(fd_b);
	return reader(id, fd_a, fd_b);
}

static int setup(void)
{
	mkdir(DIR_SMALL, 0755);
	mkdir(DIR_HUGE, 0755);
	if (mount("tmpfs", DIR_SMALL, "tmpfs", 0, "huge=never") ||
	    mount("tmpfs", DIR_HUGE, "tmpfs", 0, "huge=always")) {
		printf("pagecache-readers: mounting tmpfs: errno %d\n", errno);
		return -1;
	}
	fd_a = open(FILE_A, O_RDWR | O_CREAT, 0644);
	fd_b = open(FILE_B, O_RDWR | O_CREAT, 0644);
	if (fd_a < 0 || fd_b < 0 || write_range(fd_a, 0, 0, A_LEN) ||
	    write_range(fd_b, 1, 0, B_LEN)) {
		printf("pagecache-readers: creating the files: errno %d\n",
		       errno);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long long migrated0 = read_vmstat("pgmigrate_success");
	int workers, failed;

	stress_name = "pagecache-readers";
	if (stress_args(argc, argv, &workers))
		return 2;
	stats = shared_alloc(sizeof(*stats));
	if (!stats || setup())
		return 1;
	failed = run_workers(workers < 3 ? 3 : workers, role);
	printf("pagecache-readers: %ld preads (%ld bytes), %ld mapped reads,",
	       stats->preads, stats->bytes, stats->mapped_reads);
	printf(" %ld vmsplices; %ld rewrites, %ld debugfs splits,",
	       stats->vmsplices, stats->mutations, stats->splits);
	printf(" %ld collapses, %ld compactions; vmstat: %ld pages migrated\n",
	       stats->collapses, stats->compactions,
	       (long)(read_vmstat("pgmigrate_success") - migrated0));
	close(fd_a);
	close(fd_b);
	umount2(DIR_SMALL, 0);
	umount2(DIR_HUGE, 0);
	if (failed)
		return 1;
	if (!stats->preads || !stats->mapped_reads || !stats->mutations) {
		printf("pagecache-readers: a worker did nothing\n");
		return 1;
	}
	return 0;
}
