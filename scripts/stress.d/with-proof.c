// SPDX-License-Identifier: GPL-2.0
/*
 * Run a program nobody here wrote (a selftests/mm program) and prove that
 * its path ran: the stress boot's own programs check their counters
 * themselves, this does it for the others.
 *
 *   with-proof NAME [--pass N | --ops N] [COUNTER MIN]... -- PROGRAM [ARG...]
 *
 * COUNTER is vmstat:FIELD (/proc/vmstat) or the path of a file holding
 * one number (sysfs, debugfs); its value after
 * PROGRAM minus its value before must reach MIN. --pass N: PROGRAM's
 * output, passed on to the console, must end with the kselftest line
 * "# Totals: pass:P fail:0 ..." with P >= N, because a selftest whose
 * cases all skip exits with 0 too. --ops N: PROGRAM is stress-ng run with
 * --metrics-brief, and at least N of its stressors report bogo ops (a
 * stressor that skips itself exits with 0 too).
 *
 * PROGRAM runs in its own directory (ksm_functional_tests executes
 * ./ksm_functional_tests). Exits with PROGRAM's exit status if it failed,
 * 1 if a proof failed, 2 on bad arguments.
 */

#include "stress.h"

#define MAX_COUNTERS 8

static const char *names[MAX_COUNTERS];
static long least[MAX_COUNTERS];
static long before[MAX_COUNTERS];

static long counter(const char *name)
{
	if (!strncmp(name, "vmstat:", 7))
		return read_vmstat(name + 7);
	return read_long(name);
}

/* The P of the last "# Totals: pass:P" line in buf, or -1. */
static long totals_pass(const char *buf)
{
	const char *p, *last = NULL;

	for (p = buf; (p = strstr(p, "# Totals: pass:")); p++)
		last = p;
	return last ? atol(last + 15) : -1;
}

/*
 * The stressors of stress-ng's "metrc:" table that did some bogo ops (the
 * table ends where its "miscellaneous metrics:" begin).
 */
static long stressors_with_ops(const char *buf)
{
	const char *p = buf, *end = strstr(buf, "miscellaneous metrics:");
	long n = 0;

	while ((p = strstr(p, "stress-ng: metrc: [")) && (!end || p < end)) {
		p = strchr(p, ']');
		if (!p)
			break;
		/* "] NAME OPS ...": skip the name, read the count. */
		while (*++p == ' ')
			;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		while (*p == ' ')
			p++;
		n += *p >= '1' && *p <= '9';
	}
	return n;
}

/*
 * Pass the child's output through to ours and keep its tail (the totals
 * line is the last one kselftest prints).
 */
static void relay(int fd, char *tail, int size)
{
	static char buf[4096];
	int len = 0;
	long n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		write(1, buf, n);
		if (n >= size - 1) {
			memcpy(tail, buf + n - (size - 1), size - 1);
			len = size - 1;
		} else {
			if (len + n > size - 1) {
				memmove(tail, tail + len + n - (size - 1), size - 1 - n);
				len = size - 1 - n;
			}
			memcpy(tail + len, buf, n);
			len += n;
		}
		tail[len] = '\0';
	}
}

int main(int argc, char **argv)
{
	static char tail[8192];
	int i = 2, n = 0, pass = -1, ops = -1, pipefd[2], status, failed = 0;
	pid_t pid;

	if (argc < 2)
		goto usage;
	stress_name = argv[1];
	if (i + 1 < argc && !strcmp(argv[i], "--pass")) {
		pass = atoi(argv[i + 1]);
		i += 2;
	} else if (i + 1 < argc && !strcmp(argv[i], "--ops")) {
		ops = atoi(argv[i + 1]);
		i += 2;
	}
	for (; i + 1 < argc && strcmp(argv[i], "--"); i += 2, n++) {
		if (n == MAX_COUNTERS || atol(argv[i + 1]) < 1)
			goto usage;
		names[n] = argv[i];
		least[n] = atol(argv[i + 1]);
		before[n] = counter(names[n]);
		if (before[n] < 0) {
			printf("%s: no counter %s (is its option built in?)\n",
			       stress_name, names[n]);
			return 2;
		}
	}
	if (i + 1 >= argc || strcmp(argv[i], "--"))
		goto usage;
	i++;

	if (pipe(pipefd))
		return 2;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 2;
	if (!pid) {
		/* In its own directory, as run_vmtests.sh runs the selftests. */
		char dir[256], *slash = strrchr(argv[i], '/');

		if (slash && slash - argv[i] < (long)sizeof(dir)) {
			memcpy(dir, argv[i], slash - argv[i]);
			dir[slash - argv[i]] = '\0';
			chdir(dir[0] ? dir : "/");
		}
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execve(argv[i], argv + i, environ);
		printf("%s: cannot run %s: errno %d\n", stress_name, argv[i], errno);
		exit(127);
	}
	close(pipefd[1]);
	relay(pipefd[0], tail, sizeof(tail));
	if (waitpid(pid, &status, 0) < 0)
		return 2;

	for (int c = 0; c < n; c++)
		failed += check_proof(names[c], counter(names[c]) - before[c], least[c]);
	if (pass >= 0)
		failed += check_proof("selftest cases passed", totals_pass(tail), pass);
	if (ops >= 0)
		failed += check_proof("stressors with bogo ops", stressors_with_ops(tail), ops);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("%s: %s did not exit with 0 (status 0x%x)\n", stress_name,
		       argv[i], status);
		return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 1;
	}
	return failed ? 1 : 0;

usage:
	printf("usage: with-proof NAME [--pass N | --ops N] [COUNTER MIN]...\n"
	       "                  -- PROGRAM [ARG...]\n");
	return 2;
}
