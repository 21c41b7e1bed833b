// SPDX-License-Identifier: GPL-2.0
/*
 * The /init of pageref's guest initramfs, built against the kernel's nolibc
 * (tools/include/nolibc) so that one source serves x86_64 and arm64 without a
 * cross libc.
 *
 * It loads the modules listed in /modules, one "file.ko [parameters]" per
 * line, in order, and restarts the machine, which ends QEMU (-no-reboot).
 * Before each load it prints "pageref-init: load <file>": scripts/boot.py
 * cuts the console log there, because each module's KUnit suites print a KTAP
 * stream of their own. A failed load is reported as "pageref-init: <file>:
 * error <errno>" and the remaining modules are still loaded. A line
 * "-name seconds" unloads module "name" that many seconds after the previous
 * line, whatever it is doing then: the test of a module's exit mid-run.
 * A line "!file.ko parameters" is a load that must be refused with EINVAL
 * (bad parameters): "pageref-init: <file> <parameters>: refused, error 22";
 * any other outcome counts as a failed load, and a module that loaded is
 * unloaded again.
 */

#include "guest-console.h"

#ifndef __NR_finit_module
#error "the UAPI headers have no finit_module"
#endif

static char list[4096];

/* finit_module() of file: 0, or the negative errno (also of the open). */
static int finit(const char *file, const char *params)
{
	int fd, ret;

	fd = open(file, O_RDONLY, 0);
	if (fd < 0)
		return -errno;
	ret = _syscall(__NR_finit_module, fd, params, 0);
	close(fd);
	return ret;
}

static int load_module(const char *file, const char *params)
{
	int ret;

	say("pageref-init: load %s %s\n", file, params);
	ret = finit(file, params);
	if (ret < 0) {
		say("pageref-init: %s: error %d\n", file, -ret);
		return -1;
	}
	say("pageref-init: %s: loaded\n", file);
	return 0;
}

static int refuse_module(const char *file, const char *params)
{
	/* The module's name: the file's, without its directory and ".ko". */
	char name[64];
	int ret;

	say("pageref-init: must refuse %s %s\n", file, params);
	ret = finit(file, params);
	if (ret == -EINVAL) {
		say("pageref-init: %s %s: refused, error %d\n", file, params, -ret);
		return 0;
	}
	if (ret < 0) {
		say("pageref-init: %s %s: error %d, not EINVAL\n", file, params, -ret);
		return -1;
	}
	say("pageref-init: %s %s: loaded, but must have been refused\n", file, params);
	snprintf(name, sizeof(name), "%s", strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
	if (strlen(name) > 3)
		name[strlen(name) - 3] = '\0';
	_syscall(__NR_delete_module, name, O_NONBLOCK);
	return -1;
}

static int unload_module(const char *name, const char *seconds)
{
	int ret;

	sleep(atoi(seconds));
	say("pageref-init: unload %s\n", name);
	/* O_NONBLOCK: fail rather than wait if someone holds the module. */
	ret = _syscall(__NR_delete_module, name, O_NONBLOCK);
	if (ret < 0) {
		say("pageref-init: unload %s: error %d\n", name, -ret);
		return -1;
	}
	say("pageref-init: %s: unloaded\n", name);
	return 0;
}

int main(void)
{
	int fd, len, failed = 0;
	char *line, *next, *params;

	fd = open("/modules", O_RDONLY, 0);
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
		params = strchr(line, ' ');
		if (params)
			*params++ = '\0';
		else
			params = "";
		if (*line == '-')
			failed += unload_module(line + 1, params) != 0;
		else if (*line == '!')
			failed += refuse_module(line + 1, params) != 0;
		else
			failed += load_module(line, params) != 0;
	}
	say("pageref-init: done, %d load(s) or unload(s) failed\n", failed);
	reboot(LINUX_REBOOT_CMD_RESTART);
	return 0;
}
