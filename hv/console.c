/* Host console on COM1: formatted output and an input ring filled from the timer tick. */
#include <stdarg.h>
#include <stdio.h>
#include <hv/console.h>
#include <drivers/uart16550.h>
#include <arch/x86_64/cpu.h>

#define INPUT_RING 4096

static uint8_t in_ring[INPUT_RING];
static volatile uint32_t in_head, in_tail;
static uint64_t in_dropped;

void console_init(void)
{
	uart_init(COM1_PORT, 115200);
}

void console_write(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc(COM1_PORT, '\r');
		uart_putc(COM1_PORT, s[i]);
	}
}

static void vprint(int to_log, const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	console_write(buf, n);
	if (to_log)
		log_append(buf, n);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(1, fmt, ap);
	va_end(ap);
}

void mprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(0, fmt, ap);
	va_end(ap);
}

void console_poll_input(void)
{
	int c;

	while ((c = uart_getc(COM1_PORT)) >= 0) {
		if (in_head - in_tail == INPUT_RING) {
			in_dropped++;
			continue;
		}
		in_ring[in_head % INPUT_RING] = (uint8_t)c;
		in_head++;
	}
}

int console_getc(void)
{
	uint64_t f = irq_save();
	int c = -1;

	if (in_tail != in_head)
		c = in_ring[in_tail++ % INPUT_RING];
	irq_restore(f);
	return c;
}

uint64_t console_input_dropped(void)
{
	return in_dropped;
}
