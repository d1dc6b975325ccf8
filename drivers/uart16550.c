/* 16550 UART driver: transmit and receive, polled or on the UART's interrupt. */
#include "uart16550.h"
#include <arch/x86_64/cpu.h>

enum { RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
enum { DLL = 0, DLM = 1 }; /* while LCR_DLAB is set */
#define LSR_DATA_READY 0x01
#define LSR_OVERRUN 0x02
#define LSR_THR_EMPTY 0x20
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define IER_RX_DATA 0x01     /* received data available, and the FIFO timeout */
#define IER_TX_EMPTY 0x02    /* the transmit FIFO ran empty */
#define IER_RX_LINE 0x04     /* receiver line status (overrun, parity, framing, break) */
#define IIR_NONE 0x01	     /* bit 0 set: no interrupt pending */
#define IIR_ID_MASK 0x0e
#define IIR_MODEM 0x00
#define IIR_FIFOS_ON 0xc0    /* bits 7:6: the FIFOs are on (a 16550A; an 8250 or a 16450 has none) */
#define MCR_DTR 0x01
#define MCR_RTS 0x02
/* On PC boards OUT2 gates the UART's interrupt line to the interrupt controller. */
#define MCR_OUT2 0x08
/*
 * Enable and clear both FIFOs, interrupt at every byte. A higher trigger
 * level leaves bytes below it to the FIFO's timeout, and Bochs's timeout
 * sets "data ready" even when the FIFO has been drained meanwhile: the
 * next read then returns a byte again that was already taken (a stray
 * letter before the next command).
 */
#define FCR_FIFO_1 0x07

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
	outb(port + FCR, FCR_FIFO_1);
	outb(port + MCR, MCR_DTR | MCR_RTS);
	return 0;
}

void uart_enable_irq(uint16_t port)
{
	outb(port + IER, IER_RX_DATA | IER_RX_LINE | IER_TX_EMPTY);
	outb(port + MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
}

unsigned uart_tx_fifo(uint16_t port)
{
	return (inb(port + IIR) & IIR_FIFOS_ON) == IIR_FIFOS_ON ? UART_TX_FIFO : 1;
}

int uart_tx_empty(uint16_t port)
{
	return !!(inb(port + LSR) & LSR_THR_EMPTY);
}

void uart_tx_wait(uint16_t port)
{
	unsigned spins = 1000000; /* never hang on a dead port */

	while (!uart_tx_empty(port) && --spins)
		cpu_pause();
}

void uart_tx(uint16_t port, char c)
{
	outb(port + THR, (uint8_t)c);
}

int uart_getc(uint16_t port, uint64_t *overruns)
{
	uint8_t lsr = inb(port + LSR);

	if ((lsr & LSR_OVERRUN) && overruns)
		(*overruns)++;
	if (!(lsr & LSR_DATA_READY))
		return -1;
	return inb(port + RBR);
}

int uart_irq_pending(uint16_t port)
{
	uint8_t iir = inb(port + IIR);

	if (iir & IIR_NONE)
		return 0;
	/* Not enabled, but never leave the line stuck high: reading MSR clears it. */
	if ((iir & IIR_ID_MASK) == IIR_MODEM)
		inb(port + MSR);
	return 1;
}
