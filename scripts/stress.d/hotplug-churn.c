// SPDX-License-Identifier: GPL-2.0
/*
 * hotplug-churn: memory blocks offlined and onlined again while other
 * processes fault and free memory in them.
 *
 * Offlining a block isolates it, migrates every page in use there (each
 * folio frozen while it moves) and takes the free pages off the buddy
 * allocator; onlining it hands every page back to the allocator nobody
 * holding it (__free_pages_core() in its hotplug context). The blocks used
 * are those of ZONE_MOVABLE, which the stress boot makes with movablecore=:
 * offlining them can always succeed, given time. Worker 0 walks them,
 * offline then online_movable; the others keep faulting, checking and
 * freeing anonymous memory.
 *
 * Proof: at least MIN_CYCLES offline-online cycles succeeded.
 *
 * Left out: blocks with a reserved page, whose offline can only fail, and
 * the first and the last block of the zone, whose offline and online move
 * the zone's span. 7.3 updates the span (zone_start_pfn, spanned_pages)
 * with two plain stores and no lock its readers take, so a DEBUG_VM check
 * that a page lies in its zone can read a torn span, one block short, and
 * call a page of the zone's last block outside it:
 * VM_BUG_ON_PAGE(!zone_spans_pfn()) in get_pfnblock_bitmap_bitidx() under
 * free_unref_folios() or free_pcppages_bulk(), or bad_range() in
 * get_page_from_freelist() ("page 0x78a00 outside node 0 zone Movable
 * [ 0x60000 - 0x78000 ]"). With the zone's first block in the rotation
 * (the third argument with-span-blocks), x86_64 guests died so in 3 of 5
 * boots of the classic kernel (frozen bit off) and 2 of 6 of the
 * frozen-bit one, 20 to 40 s of this program each.
 * with-shmem: the workers alternate anonymous and memfd memory.
 *
 * Usage: hotplug-churn SECONDS WORKERS [with-span-blocks] [with-shmem]
 * (at least 2 workers).
 */

#include "stress.h"

#define MEM		"/sys/devices/system/memory/memory"
#define MAX_BLOCKS	4096
#define MIN_CYCLES	2
#define ANON_LEN	(16UL << 20)
#define KPF_RESERVED	32

struct stats {
	unsigned long cycles, busy, faults;
};

static struct stats *stats;
static int blocks[64], nblocks, with_span_blocks, with_shmem;

static char *block_file(char *buf, int block, const char *file)
{
	char num[24];

	put(put(put(put(buf, MEM), ltoa_r(block, num)), "/"), file);
	return buf;
}

/* Whether a page of the block is reserved (memblock): it cannot go. */
static int has_reserved(int block, long block_pages)
{
	static unsigned long long flags[4096];
	int fd = open("/proc/kpageflags", O_RDONLY, 0);
	long pfn, n, i, found = 0;

	for (pfn = block * block_pages; fd >= 0 && !found && pfn < (block + 1) * block_pages;
	     pfn += n / 8) {
		n = sys_pread(fd, flags, sizeof(flags), pfn * 8);
		if (n <= 0)
			break;
		for (i = 0; i < n / 8; i++)
			found |= flags[i] >> KPF_RESERVED & 1;
	}
	if (fd >= 0)
		close(fd);
	return found;
}

/*
 * The online blocks of ZONE_MOVABLE without reserved pages, up to
 * ARRAY_SIZE(blocks), and without the zone's first and last block unless
 * with_span_blocks.
 */
static void find_blocks(long block_pages)
{
	char path[96], buf[64];
	int i, first = -1, last = -1;

	for (i = 0; i < MAX_BLOCKS && nblocks < (int)ARRAY_SIZE(blocks); i++) {
		if (read_file(block_file(path, i, "valid_zones"), buf, sizeof(buf)) <= 0)
			continue;
		if (strncmp(buf, "Movable", 7))
			continue;
		if (first < 0)
			first = i;
		last = i;
		read_file(block_file(path, i, "state"), buf, sizeof(buf));
		if (!strncmp(buf, "online", 6) && !has_reserved(i, block_pages))
			blocks[nblocks++] = i;
	}
	if (with_span_blocks || !nblocks)
		return;
	if (blocks[nblocks - 1] == last)
		nblocks--;
	if (nblocks && blocks[0] == first)
		memmove(blocks, blocks + 1, --nblocks * sizeof(blocks[0]));
}

static int hotplug_worker(void)
{
	int i = 0, ret;

	while (!time_up()) {
		ret = offline_online(blocks[i % nblocks]);
		if (ret < 0) {
			printf("hotplug-churn: onlining memory%d: errno %d\n",
			       blocks[i % nblocks], -ret);
			return 1;
		}
		i++;
		/* A refused offline: pages that could not move yet. */
		count(ret ? &stats->cycles : &stats->busy, 1);
	}
	return 0;
}

static int worker(int id)
{
	return id ? churn_memory(id, ANON_LEN, with_shmem, &stats->faults) : hotplug_worker();
}

int main(int argc, char **argv)
{
	long migrated, block_size;
	int workers, failed;
	char buf[32];

	stress_name = "hotplug-churn";
	for (; argc > 3; argc--) {
		if (!strcmp(argv[argc - 1], "with-span-blocks"))
			with_span_blocks = 1;
		else if (!strcmp(argv[argc - 1], "with-shmem"))
			with_shmem = 1;
		else
			break;
	}
	if (stress_args(argc, argv, &workers) || workers < 2)
		return 2;
	stats = shared_alloc(sizeof(*stats));
	/* block_size_bytes is hexadecimal, without 0x. */
	read_file("/sys/devices/system/memory/block_size_bytes", buf, sizeof(buf));
	block_size = strtol(buf, NULL, 16);
	if (block_size > 0)
		find_blocks(block_size / getpagesize());
	if (!stats || !nblocks) {
		printf("hotplug-churn: no movable block to offline (movablecore=?)\n");
		return 2;
	}
	printf("hotplug-churn: %d movable blocks of %ld MiB, memory%d to memory%d\n",
	       nblocks, block_size >> 20, blocks[0], blocks[nblocks - 1]);
	migrated = read_vmstat("pgmigrate_success");
	failed = run_workers(workers, worker);
	migrated = read_vmstat("pgmigrate_success") - migrated;
	printf("hotplug-churn: %ld cycles, %ld offlines refused, %ld pages faulted, %ld migrated\n",
	       stats->cycles, stats->busy, stats->faults, migrated);
	failed += check_proof("offline-online cycles", stats->cycles, MIN_CYCLES);
	return failed ? 1 : 0;
}
