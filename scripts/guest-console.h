/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Console output of pageref's nolibc guest programs (scripts/guest-init.c,
 * scripts/stress.d/stress-init.c): say() formats a whole line and writes it
 * with one write(), so that kernel messages printed meanwhile (a module's
 * KTAP, "reboot: ...") cannot land inside it, as they can between the
 * pieces nolibc's printf() writes. The host scripts match these lines.
 */
#ifndef PAGEREF_GUEST_CONSOLE_H
#define PAGEREF_GUEST_CONSOLE_H

/* Not __printf(): that is the kernel's, and nolibc has none. */
static void say(const char *fmt, ...)
{
	char line[512];
	va_list args;
	int n;

	va_start(args, fmt);
	n = vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	if (n > 0)
		write(1, line, n);
}

#endif
