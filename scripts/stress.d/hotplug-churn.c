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
 * Blocks with a reserved page are left out: their offline can only fail.
 * With them (the third argument with-reserved), 7.3.4 on x86_64 under
 * QEMU dies within seconds, with the frozen bit and without it alike: the
 * zone's span loses the last block while its pages are in use, and a page
 * is allocated or freed outside it (VM_BUG_ON_PAGE(bad_range) in
 * get_page_from_freelist(), !zone_spans_pfn under free_pcppages_bulk()
 * and free_unref_folios()). The classic kernel died so too (1 of 2
 * runs), so 7.3's offlining has the race; whether the frozen bit makes
 * it likelier is open (see the session notes). Shmem pages truncated while their block goes offline
 * (with-shmem: the workers alternate anonymous and memfd memory) end the
 * same way, without reserved blocks: every trace frees a shmem folio
 * (shmem_undo_range()), after "migrating pfn ... failed ret:22". By
 * default the workers fault anonymous memory only.
 *
 * Usage: hotplug-churn SECONDS WORKERS [with-reserved] [with-shmem]
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
static int blocks[64], nblocks, with_reserved, with_shmem;

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
 * ARRAY_SIZE(blocks).
 */
static void find_blocks(long block_pages)
{
	char path[96], buf[64];
	int i;

	for (i = 0; i < MAX_BLOCKS && nblocks < (int)ARRAY_SIZE(blocks); i++) {
		if (read_file(block_file(path, i, "valid_zones"), buf, sizeof(buf)) <= 0)
			continue;
		if (strncmp(buf, "Movable", 7))
			continue;
		read_file(block_file(path, i, "state"), buf, sizeof(buf));
		if (!strncmp(buf, "online", 6) &&
		    (with_reserved || !has_reserved(i, block_pages)))
			blocks[nblocks++] = i;
	}
}

static int hotplug_worker(void)
{
	char path[96];
	int i = 0, ret;

	while (!time_up()) {
		block_file(path, blocks[i++ % nblocks], "state");
		ret = write_str(path, "offline");
		if (ret) {
			/* Pages that could not move yet: another block. */
			count(&stats->busy, 1);
			continue;
		}
		ret = write_str(path, "online_movable");
		if (ret) {
			printf("hotplug-churn: onlining %s: errno %d\n", path, -ret);
			return 1;
		}
		count(&stats->cycles, 1);
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
		if (!strcmp(argv[argc - 1], "with-reserved"))
			with_reserved = 1;
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
