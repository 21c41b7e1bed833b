/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Console output of pageref's nolibc guest programs (scripts/guest-init.c,
 * scripts/stress.d/stress-init.c). say() formats a whole line and writes it
 * as one record of the kernel log (/dev/kmsg), so that it reaches the
 * console in order with the kernel's own messages (a module's KTAP,
 * "reboot: ..."), whole: 7.3 prints the kernel log from a thread of its
 * own, and a line written to /dev/console could land inside one of its
 * lines. The guest boots with printk.devkmsg=on (scripts/boot.py), so that
 * these records are not rate-limited. Without /dev/kmsg, the console.
 */
#ifndef PAGEREF_GUEST_CONSOLE_H
#define PAGEREF_GUEST_CONSOLE_H

/* Not __printf(): that is the kernel's, and nolibc has none. */
static void say(const char *fmt, ...)
{
	static int fd = -2;
	char line[512];
	va_list args;
	int n;

	if (fd == -2)
		fd = open("/dev/kmsg", O_WRONLY, 0);
	va_start(args, fmt);
	n = vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	if (n > 0)
		write(fd >= 0 ? fd : 1, line, n);
}

#endif
