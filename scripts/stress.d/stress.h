/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by pageref's guest stress programs (scripts/stress.d).
 *
 * The programs are built against the kernel's nolibc, like the guest's
 * /init, so that one source serves x86_64 and arm64 with no cross libc.
 * nolibc lacks some of the system calls they need (madvise, pread,
 * fallocate, ...): they are wrapped here with nolibc's _syscall(), which
 * returns -errno instead of setting errno. nolibc has no threads either: the
 * programs fork workers that share MAP_SHARED memory, and the counters
 * they share are updated with the compiler's atomics.
 */
#ifndef PAGEREF_STRESS_H
#define PAGEREF_STRESS_H

#include <linux/falloc.h>
#include <linux/uio.h>

/* Values of the UAPI that old headers may lack; checked by the kernel. */
#ifndef MADV_COLD
#define MADV_COLD	20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Set by each program: the prefix of its messages. */
static const char *stress_name = "stress";
/* CLOCK_MONOTONIC milliseconds at which the workers stop. */
static long long stress_deadline;

static inline long sys_madvise(void *addr, size_t len, int advice)
{
	return _syscall(__NR_madvise, addr, len, advice);
}

static inline long sys_mprotect(void *addr, size_t len, int prot)
{
	return _syscall(__NR_mprotect, addr, len, prot);
}

static inline long sys_pread(int fd, void *buf, size_t len, off_t off)
{
	return _syscall(__NR_pread64, fd, buf, len, off);
}

static inline long sys_pwrite(int fd, const void *buf, size_t len,
			      off_t off)
{
	return _syscall(__NR_pwrite64, fd, buf, len, off);
}

static inline long sys_ftruncate(int fd, off_t len)
{
	return _syscall(__NR_ftruncate, fd, len);
}

static inline long sys_fallocate(int fd, int mode, off_t off, off_t len)
{
	return _syscall(__NR_fallocate, fd, mode, off, len);
}

static inline long sys_vmsplice(int fd, const struct iovec *iov,
				unsigned long n, unsigned int flags)
{
	return _syscall(__NR_vmsplice, fd, iov, n, flags);
}

static inline long long now_ms(void)
{
	struct timespec ts;

	_syscall(__NR_clock_gettime, CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline int time_up(void)
{
	return now_ms() >= stress_deadline;
}

/* xorshift64: cheap, and each worker seeds its own. */
static inline unsigned long long rnd(unsigned long long *state)
{
	unsigned long long x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* Shared anonymous memory, visible to the workers forked afterwards. */
static inline void *shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline void count(unsigned long *counter, unsigned long n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/* Write a string to a procfs or sysfs file; 0 or -errno. */
static inline int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY, 0);
	long ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, s, strlen(s));
	close(fd);
	return ret < 0 ? -errno : 0;
}

/*
 * Read a whole small file (procfs, sysfs) into buf; its length or -errno.
 * Reads until EOF because procfs hands out a page at a time.
 */
static inline int read_file(const char *path, char *buf, int size)
{
	int fd = open(path, O_RDONLY, 0);
	int len = 0;
	long ret;

	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		ret = read(fd, buf + len, size - 1 - len);
		if (ret <= 0)
			break;
		len += ret;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

/*
 * The number after NAME and SEP at the start of a line of a procfs table
 * (/proc/vmstat: "name value", /proc/meminfo: "Name:   value kB"), or -1.
 */
static inline long read_field(const char *path, const char *name, char sep)
{
	static char buf[16384];
	size_t n = strlen(name);
	char *p;

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	for (p = buf; *p; p = strchr(p, '\n') + 1) {
		if (!strncmp(p, name, n) && p[n] == sep) {
			for (p += n + 1; *p == ' '; p++)
				;
			return atol(p);
		}
		if (!strchr(p, '\n'))
			break;
	}
	return -1;
}

/* The value of one /proc/vmstat counter, or -1 if it is not there. */
static inline long long read_vmstat(const char *name)
{
	return read_field("/proc/vmstat", name, ' ');
}

/* The value of one /proc/meminfo line (in its unit, kB), or -1. */
static inline long read_meminfo(const char *name)
{
	return read_field("/proc/meminfo", name, ':');
}

/* The PMD (transparent huge page) size, or 0 if THP is not built in. */
static inline size_t pmd_size(void)
{
	char buf[32];

	if (read_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
		      buf, sizeof(buf)) <= 0)
		return 0;
	return atol(buf);
}

/* Copy s to p; the end of the copy (nolibc has no strcat). */
static inline char *put(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	*p = '\0';
	return p;
}

/* Format "0x..." of v into buf (nolibc has no snprintf). */
static inline char *hex(char *buf, unsigned long v)
{
	char tmp[20];
	int i = 0, j = 0;

	do {
		tmp[i++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[j++] = '0';
	buf[j++] = 'x';
	while (i)
		buf[j++] = tmp[--i];
	buf[j] = '\0';
	return buf;
}

/*
 * Run worker(id) in n forked processes until they return; a worker's
 * return value is its exit status. Returns the number of workers that
 * failed (nonzero status, killed by a signal, or not started).
 */
static inline int run_workers(int n, int (*worker)(int id))
{
	int i, status, failed = 0;
	pid_t pid;

	for (i = 0; i < n; i++) {
		pid = fork();
		if (pid == 0)
			exit(worker(i));
		if (pid < 0) {
			printf("%s: fork: errno %d\n", stress_name, errno);
			failed++;
		}
	}
	while ((pid = waitpid(-1, &status, 0)) > 0) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		failed++;
		if (WIFSIGNALED(status))
			printf("%s: worker %d killed by signal %d\n",
			       stress_name, pid, WTERMSIG(status));
		else
			printf("%s: worker %d exited with %d\n",
			       stress_name, pid, WEXITSTATUS(status));
	}
	return failed;
}

/*
 * Parse "PROG SECONDS WORKERS" and start the clock: every program runs
 * for SECONDS (the guest's init kills it a little later) with WORKERS
 * processes.
 */
static inline int stress_args(int argc, char **argv, int *workers)
{
	int seconds;

	if (argc != 3 || atoi(argv[1]) < 1 || atoi(argv[2]) < 1) {
		printf("usage: %s SECONDS WORKERS\n", stress_name);
		return -1;
	}
	seconds = atoi(argv[1]);
	*workers = atoi(argv[2]);
	stress_deadline = now_ms() + seconds * 1000LL;
	return 0;
}

/* A number read from a procfs or sysfs file (decimal or 0x...), or -1. */
static inline long read_long(const char *path)
{
	char buf[64];

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 0);
}

/* Write a number to a procfs, sysfs or debugfs file; 0 or -errno. */
static inline int write_long(const char *path, long v)
{
	char buf[24];

	return write_str(path, ltoa_r(v, buf));
}

/*
 * Offline memory block BLOCK, then online it movable again: 1 when both
 * succeeded, 0 when the offline was refused (pages that could not move
 * yet), -errno when onlining failed.
 */
static inline int offline_online(int block)
{
	char path[96], num[24];

	put(put(put(path, "/sys/devices/system/memory/memory"), ltoa_r(block, num)), "/state");
	if (write_str(path, "offline"))
		return 0;
	return write_str(path, "online_movable") ?: 1;
}

/*
 * The proof that a path ran: print what a counter moved by and whether
 * that reaches the least a run must show; 0 if it does, 1 if not.
 */
static inline int check_proof(const char *what, long got, long least)
{
	printf("%s: proof: %s %ld (at least %ld): %s\n", stress_name, what,
	       got, least, got >= least ? "ok" : "FAIL");
	return got < least;
}

/*
 * Fault, check and free LEN bytes over and over until the deadline, so
 * that movable pages come and go wherever a program's path works: private
 * anonymous memory, or with shmem every other round a memfd's. Adds the
 * pages faulted to *faults; 0, or 1 when a page lost its pattern.
 */
static inline int churn_memory(int id, size_t len, int shmem, unsigned long *faults)
{
	size_t i, step = getpagesize() / sizeof(long), n = len / sizeof(long);
	unsigned long *p, tag = (unsigned long)id << 32;
	int fd, shared;

	for (shared = 0; !time_up(); shared = shmem && !shared) {
		fd = shared ? memfd_create(stress_name, 0) : -1;
		if (shared && (fd < 0 || sys_ftruncate(fd, len) < 0)) {
			printf("%s: memfd: errno %d\n", stress_name, errno);
			return 1;
		}
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 shared ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS, fd, 0);
		if (p == MAP_FAILED) {
			printf("%s: mmap: errno %d\n", stress_name, errno);
			return 1;
		}
		tag++;
		for (i = 0; i < n; i += step)
			p[i] = tag ^ i;
		count(faults, n / step);
		for (i = 0; i < n; i += step)
			if (p[i] != (tag ^ i)) {
				printf("%s: word %ld holds 0x%lx, expected 0x%lx\n",
				       stress_name, (long)i, p[i], tag ^ i);
				return 1;
			}
		munmap(p, len);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

#endif /* PAGEREF_STRESS_H */
