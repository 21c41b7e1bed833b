// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mem-churn: memory hot-added and hot-removed by a virtio-mem
 * device, and its partly plugged blocks offlined and onlined, while other
 * processes fault and free memory.
 *
 * The stress boot gives the guest a virtio-mem device with nothing plugged
 * (QEMU id vmem0) and relays this program's "pageref-qmp:" lines to QEMU
 * (scripts/boot.py --qmp), which is how worker 0 resizes the device: to
 * SIZES in turn, none a multiple of the memory block size. To grow, the
 * driver adds memory blocks (add_memory_driver_managed(), onlined movable
 * by memhp_default_state=) and plugs device blocks in them; the pages it
 * plugs go to the allocator through its online_page callback
 * (generic_online_page()), those it does not are kept "fake-offline" with
 * a reference the driver holds. To shrink, it takes device blocks back
 * with alloc_contig_range() (what is in use there migrates, each folio
 * frozen while it moves) and removes the memory blocks it emptied. After
 * each resize, worker 0 offlines and onlines every block of the device
 * (the driver may remove one while it is offline: counted, not an error):
 * in a partly plugged one, offlining drops the driver's references to its
 * fake-offline pages (virtio_mem_fake_offline_going_offline()) and
 * onlining hands the plugged pages to the allocator again.
 *
 * The guest cannot read the device's plugged size; its MemTotal moves by
 * what is plugged and online. A resize that has not arrived within
 * WAIT_MS (the driver retries a refused unplug only after 50 s) is
 * counted as late, and the next size is asked for.
 *
 * Proof: at least MIN_ROUNDS resizes arrived; memory blocks added and
 * removed, MIN_BLOCKS each; block offline-online cycles, MIN_CYCLES.
 *
 * Usage: virtio-mem-churn SECONDS WORKERS (at least 2).
 */

#include "stress.h"

#define DEVICE		"/machine/peripheral/vmem0"
#define DRIVER		"/sys/bus/virtio/drivers/virtio_mem"
#define RAM_NAME	"System RAM (virtio_mem)"
#define WAIT_MS		15000
#define MIN_ROUNDS	3
#define MIN_BLOCKS	1
#define MIN_CYCLES	2
#define MAX_BLOCKS	64
#define ANON_LEN	(16UL << 20)

/* MiB; the device has 512 (scripts/stress), four x86_64 or arm64 blocks. */
static const long sizes[] = { 200, 456, 72, 330, 0 };

struct stats {
	unsigned long rounds, late, added, removed, cycles, busy, taken, faults;
};

static struct stats *stats;
static long block_size;

/* The memory blocks the device's memory is in, from /proc/iomem. */
static int device_blocks(int *blocks)
{
	static char buf[32768];
	unsigned long start, end, b;
	char *p, *q, *m;
	int n = 0;

	if (read_file("/proc/iomem", buf, sizeof(buf)) <= 0)
		return 0;
	for (p = buf; (m = strstr(p, RAM_NAME)); p = m + strlen(RAM_NAME)) {
		/* The line's start: "  140000000-147ffffff : System RAM ..." */
		for (q = m; q > buf && q[-1] != '\n';)
			q--;
		while (*q == ' ')
			q++;
		start = strtoul(q, &q, 16);
		end = strtoul(q + 1, &q, 16);
		for (b = start / block_size; b <= end / block_size && n < MAX_BLOCKS; b++)
			if (!n || blocks[n - 1] != (int)b)
				blocks[n++] = b;
	}
	return n;
}

static int contains(const int *set, int n, int x)
{
	while (n--)
		if (set[n] == x)
			return 1;
	return 0;
}

/* Ask QEMU for a device of MIB MiB (scripts/boot.py relays the line). */
static void request(long mib)
{
	char line[256], num[24], *p;

	/* One write, so that the line is one kernel log record. */
	p = put(line, "pageref-qmp: {\"execute\": \"qom-set\", \"arguments\": ");
	p = put(p, "{\"path\": \"" DEVICE "\", \"property\": \"requested-size\", ");
	p = put(put(put(p, "\"value\": "), ltoa_r(mib << 20, num)), "}}\n");
	printf("%s", line);
}

/* Wait until MemTotal is BASE + MIB MiB, within a device block (2 MiB). */
static int arrived(long base_kb, long mib)
{
	long long until = now_ms() + WAIT_MS;
	long delta;

	do {
		delta = read_meminfo("MemTotal") - base_kb - (mib << 10);
		if (delta >= -2048 && delta <= 2048)
			return 1;
		usleep(200000);
	} while (now_ms() < until);
	return 0;
}

/* Offline and online each of the device's blocks once. */
static int cycle_blocks(void)
{
	int blocks[MAX_BLOCKS], n = device_blocks(blocks), i, ret;

	for (i = 0; i < n; i++) {
		ret = offline_online(blocks[i]);
		/*
		 * An offline block is the cheapest to unplug: the driver,
		 * woken by the offline, may remove it before it is onlined
		 * (ENOENT; ENODEV when it went between open and write).
		 */
		if (ret == -ENOENT || ret == -ENODEV) {
			count(&stats->taken, 1);
			continue;
		}
		if (ret < 0) {
			printf("virtio-mem-churn: onlining memory%d: errno %d\n", blocks[i], -ret);
			return 1;
		}
		count(ret ? &stats->cycles : &stats->busy, 1);
	}
	return 0;
}

static int resize_worker(void)
{
	int before[MAX_BLOCKS], after[MAX_BLOCKS], nb, na, i, r;
	long base_kb = read_meminfo("MemTotal");

	nb = device_blocks(before);
	for (r = 0; !time_up(); r++) {
		request(sizes[r % ARRAY_SIZE(sizes)]);
		if (arrived(base_kb, sizes[r % ARRAY_SIZE(sizes)]))
			count(&stats->rounds, 1);
		else
			count(&stats->late, 1);
		na = device_blocks(after);
		for (i = 0; i < na; i++)
			stats->added += !contains(before, nb, after[i]);
		for (i = 0; i < nb; i++)
			stats->removed += !contains(after, na, before[i]);
		memcpy(before, after, sizeof(after));
		nb = na;
		if (cycle_blocks())
			return 1;
	}
	/* Unplug everything, so that the guest ends as it began. */
	request(0);
	arrived(base_kb, 0);
	return 0;
}

static int worker(int id)
{
	return id ? churn_memory(id, ANON_LEN, 0, &stats->faults) : resize_worker();
}

int main(int argc, char **argv)
{
	int workers, failed, i;
	char buf[64], path[96], num[24];

	stress_name = "virtio-mem-churn";
	if (stress_args(argc, argv, &workers) || workers < 2)
		return 2;
	stats = shared_alloc(sizeof(*stats));
	/* block_size_bytes is hexadecimal, without 0x. */
	read_file("/sys/devices/system/memory/block_size_bytes", buf, sizeof(buf));
	block_size = strtol(buf, NULL, 16);
	/* The device the driver bound: DRIVER/virtioN. */
	for (i = 0; i < 8; i++) {
		put(put(put(path, DRIVER "/virtio"), ltoa_r(i, num)), "/features");
		if (read_file(path, buf, sizeof(buf)) > 0)
			break;
	}
	if (!stats || block_size <= 0 || i == 8) {
		printf("virtio-mem-churn: no device bound to %s (VIRTIO_MEM? a vmem0 device?)\n",
		       DRIVER);
		return 2;
	}
	failed = run_workers(workers, worker);
	printf("virtio-mem-churn: %ld resizes arrived, %ld late; %ld blocks added, %ld removed; "
	       "%ld offline-online cycles, %ld offlines refused, %ld offline blocks removed; "
	       "%ld pages faulted\n", stats->rounds, stats->late, stats->added, stats->removed,
	       stats->cycles, stats->busy, stats->taken, stats->faults);
	failed += check_proof("resizes arrived", stats->rounds, MIN_ROUNDS);
	failed += check_proof("blocks added", stats->added, MIN_BLOCKS);
	failed += check_proof("blocks removed", stats->removed, MIN_BLOCKS);
	failed += check_proof("offline-online cycles", stats->cycles, MIN_CYCLES);
	return failed ? 1 : 0;
}
