/* 16550 UART driver: polled transmit and receive on the host's serial port. */
#include "uart16550.h"
#include <arch/x86_64/cpu.h>

enum { RBR = 0, THR = 0, IER = 1, DLL = 0, DLM = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5, SCR = 7 };
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20
#define LCR_DLAB 0x80
#define LCR_8N1 0x03

int uart_init(uint16_t port, uint32_t baud)
{
	uint16_t div = 115200 / baud;

	outb(port + SCR, 0x5a);
	if (inb(port + SCR) != 0x5a)
		return -1;
	outb(port + IER, 0x00);
	outb(port + LCR, LCR_DLAB);
	outb(port + DLL, div & 0xff);
	outb(port + DLM, div >> 8);
	outb(port + LCR, LCR_8N1);
	outb(port + FCR, 0xc7); /* enable and clear FIFOs, 14-byte trigger */
	outb(port + MCR, 0x03); /* DTR, RTS */
	return 0;
}

void uart_putc(uint16_t port, char c)
{
	unsigned spins = 1000000; /* never hang on a dead port */

	while (!(inb(port + LSR) & LSR_THR_EMPTY) && --spins)
		cpu_pause();
	outb(port + THR, (uint8_t)c);
}

int uart_getc(uint16_t port)
{
	if (!(inb(port + LSR) & LSR_DATA_READY))
		return -1;
	return inb(port + RBR);
}
