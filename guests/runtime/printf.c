/* printf.c -- printf, vprintf, puts and size_str: newlib's vsnprintf, then the UART. */
#include <stdio.h>
#include <string.h>
#include "runtime.h"

#define PRINTF_BUF 512

int vprintf(const char *fmt, va_list ap)
{
	char buf[PRINTF_BUF];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return n;
	uart_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	uart_write(s, strlen(s));
	uart_putc('\n');
	return 1;
}

const char *size_str(char *buf, size_t len, uint64_t bytes)
{
	if (bytes && bytes % GIB == 0)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes / GIB));
	else if (bytes && bytes % MIB == 0)
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes / MIB));
	else if (bytes && bytes % KIB == 0)
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes / KIB));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	return buf;
}
