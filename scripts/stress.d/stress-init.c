// SPDX-License-Identifier: GPL-2.0
/*
 * The /init of pageref's stress boot (scripts/stress), built against the
 * kernel's nolibc like the other guest programs.
 *
 * It mounts procfs, sysfs, debugfs and a tmpfs on /tmp, turns transparent
 * huge pages on for every mapping, and runs the programs listed in
 * /stress.list, one "NAME LIMIT PATH [ARG...]" per line, in order. Each
 * runs in a process group of its own and is killed, with everything it
 * forked, LIMIT seconds after it started: a program that hangs costs its
 * own limit, not the whole boot. For each program it prints one line that
 * scripts/stress parses:
 *
 *   pageref-stress: NAME: ok (exit 0, 12.3 s)
 *   pageref-stress: NAME: FAIL (exit N | signal N | timeout, T s)
 *
 * then a vmstat summary (evidence that splits, collapses and migrations
 * did happen), "pageref-stress: done: N ok, N failed", and restarts the
 * machine, which ends QEMU (-no-reboot).
 */

#include "stress.h"
#include "../guest-console.h"

#define MAX_ARGS 48

static char list[8192];

/* THP on for every mapping; khugepaged scanning often, in the background. */
static const char * const knobs[][2] = {
	{ "/sys/kernel/mm/transparent_hugepage/enabled", "always" },
	{ "/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs",
	  "100" },
	{ "/sys/kernel/mm/transparent_hugepage/khugepaged/alloc_sleep_millisecs",
	  "100" },
};

/* The counters that show what the stress exercised. */
static const char * const counters[] = {
	"thp_fault_alloc", "thp_split_pmd", "thp_split_page",
	"thp_deferred_split_page", "thp_collapse_alloc", "compact_stall",
	"compact_migrate_scanned", "compact_isolated", "pgmigrate_success",
	"pgmigrate_fail",
};

static void prepare(void)
{
	unsigned int i;
	int ret;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/tmp", 01777);
	if (mount("proc", "/proc", "proc", 0, NULL) ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL) ||
	    mount("tmpfs", "/tmp", "tmpfs", 0, NULL))
		say("pageref-stress: setup: mount failed: errno %d\n", errno);
	/* hmm-tests opens the test driver's /dev/hmm_dmirror* nodes. */
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL))
		say("pageref-stress: setup: no devtmpfs: errno %d\n", errno);
	/* split_huge_page_test and thp-churn split through debugfs. */
	if (mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL))
		say("pageref-stress: setup: no debugfs: errno %d\n", errno);
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		ret = write_str(knobs[i][0], knobs[i][1]);
		if (ret)
			say("pageref-stress: setup: %s = %s: errno %d\n",
			    knobs[i][0], knobs[i][1], -ret);
		else
			say("pageref-stress: setup: %s = %s\n",
			    knobs[i][0], knobs[i][1]);
	}
}

/* Split a line into argv in place; the number of words. */
static int split_words(char *line, char **argv, int max)
{
	int n = 0;

	while (*line && n < max) {
		while (*line == ' ' || *line == '\t')
			*line++ = '\0';
		if (!*line)
			break;
		argv[n++] = line;
		while (*line && *line != ' ' && *line != '\t')
			line++;
	}
	argv[n] = NULL;
	return n;
}

/* Reap what a killed program left behind (reparented to us). */
static void reap(void)
{
	int status, tries;

	for (tries = 0; tries < 50; tries++) {
		while (waitpid(-1, &status, WNOHANG) > 0)
			;
		if (waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD)
			return;
		msleep(20);
	}
}

/* Run one program under its time limit; 0 if it exited with 0 in time. */
static int run_program(char *name, int limit, char **argv)
{
	static char * const envp[] = { "PATH=/bin", "HOME=/", NULL };
	long long start = now_ms(), ms;
	int status = 0, timed_out = 0;
	char out[256], *p;
	pid_t pid, ret;

	p = put(put(put(out, "pageref-stress: run "), name), " (limit ");
	p = put(put(p, itoa(limit)), " s):");
	/* The arguments that fit; the line is only informative. */
	for (char **a = argv; *a; a++)
		if (strlen(*a) + 3 < (size_t)(out + sizeof(out) - p))
			p = put(put(p, " "), *a);
	say("%s\n", out);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		execve(argv[0], argv, envp);
		say("pageref-stress: %s: cannot run %s: errno %d\n", name,
		    argv[0], errno);
		exit(127);
	}
	if (pid < 0) {
		say("pageref-stress: %s: FAIL (fork: errno %d, 0.0 s)\n",
		    name, errno);
		return -1;
	}
	for (;;) {
		ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid)
			break;
		if (ret < 0 || now_ms() - start >= limit * 1000LL) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		msleep(20);
	}
	/* Its workers too, if it left any behind. */
	kill(-pid, SIGKILL);
	reap();
	ms = now_ms() - start;
	/*
	 * One record of the kernel log (say()), not a write to the console:
	 * a kernel line printed meanwhile would land inside it, as a vmstat
	 * line once did between "pageref-stress: " and the rest.
	 */
	p = put(put(put(out, "pageref-stress: "), name), ": ");
	if (timed_out) {
		p = put(p, "FAIL (timeout");
	} else if (WIFEXITED(status)) {
		p = put(p, WEXITSTATUS(status) ? "FAIL (exit " : "ok (exit ");
		p = put(p, itoa(WEXITSTATUS(status)));
	} else {
		p = put(put(p, "FAIL (signal "), itoa(WTERMSIG(status)));
	}
	p = put(put(p, ", "), itoa(ms / 1000));
	p = put(put(p, "."), itoa(ms % 1000 / 100));
	p = put(p, " s)");
	say("%s\n", out);
	return !timed_out && WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

int main(void)
{
	int fd, len, argc, ok = 0, failed = 0;
	char *line, *next, *argv[MAX_ARGS + 3];
	unsigned int i;

	stress_name = "pageref-stress";
	prepare();
	fd = open("/stress.list", O_RDONLY, 0);
	len = fd < 0 ? 0 : read(fd, list, sizeof(list) - 1);
	if (len < 0)
		len = 0;
	list[len] = '\0';
	for (line = list; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (!*line || *line == '#')
			continue;
		argc = split_words(line, argv, MAX_ARGS + 2);
		if (argc < 3 || atoi(argv[1]) < 1 || strlen(argv[0]) > 64) {
			say("pageref-stress: bad line in /stress.list: %s\n",
			    line);
			failed++;
			continue;
		}
		if (run_program(argv[0], atoi(argv[1]), argv + 2))
			failed++;
		else
			ok++;
	}
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		say("pageref-stress: vmstat: %s %ld\n", counters[i],
		    (long)read_vmstat(counters[i]));
	say("pageref-stress: done: %d ok, %d failed\n", ok, failed);
	reboot(LINUX_REBOOT_CMD_RESTART);
	return 0;
}
