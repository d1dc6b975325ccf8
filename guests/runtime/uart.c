/* uart.c -- polled 16550 UART at 0x3F8 (COM1): the guest's console. */
#include "runtime.h"
#include "cpu.h"

#define UART_BASE 0x3f8
#define UART_RBR  (UART_BASE + 0) /* receive buffer (read) */
#define UART_THR  (UART_BASE + 0) /* transmit holding (write) */
#define UART_LSR  (UART_BASE + 5) /* line status */
#define LSR_DR	  0x01		  /* data ready */
#define LSR_THRE  0x20		  /* transmit holding register empty */
/* A UART that never reports THR empty must not hang the guest: write anyway. */
#define UART_SPIN_MAX 1000000

static uint64_t bytes_written;

static void uart_put_raw(char c)
{
	int i;

	for (i = 0; i < UART_SPIN_MAX && !(inb(UART_LSR) & LSR_THRE); i++)
		asm volatile("pause");
	outb(UART_THR, (uint8_t)c);
	bytes_written++;
}

void uart_putc(char c)
{
	if (c == '\n')
		uart_put_raw('\r');
	uart_put_raw(c);
}

void uart_write(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		uart_putc(s[i]);
}

uint64_t uart_bytes_written(void)
{
	return bytes_written;
}

int uart_trygetc(void)
{
	if (!(inb(UART_LSR) & LSR_DR))
		return -1;
	return inb(UART_RBR);
}

int uart_getc(void)
{
	int c;

	while ((c = uart_trygetc()) < 0)
		asm volatile("pause");
	return c;
}
