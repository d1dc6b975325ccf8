/* 16550 UART driver for the host's serial port. */
#ifndef DRIVERS_UART16550_H
#define DRIVERS_UART16550_H

#include <stdint.h>

#define COM1_PORT 0x3f8
#define COM1_IRQ 4

/* Program the UART at port for baud 8N1 with FIFOs, interrupts off; 0, or -1 if none answers. */
int uart_init(uint16_t port, uint32_t baud);
#define UART_TX_FIFO 16 /* bytes a 16550A's transmit FIFO takes when it is empty */

/*
 * Interrupt on received data, on receiver line status and when the transmit
 * FIFO runs empty, and set OUT2 so that the line reaches the interrupt
 * controller.
 */
void uart_enable_irq(uint16_t port);
/*
 * Bytes the UART takes each time it says its transmitter is empty: UART_TX_FIFO when uart_init
 * turned its FIFOs on, 1 for a UART without them. Reads IIR, which clears a pending THR-empty
 * interrupt: before interrupts are on.
 */
unsigned uart_tx_fifo(uint16_t port);
/* 1 when the transmit FIFO (or holding register) is empty (LSR THRE): uart_tx_fifo() bytes may be written. */
int uart_tx_empty(uint16_t port);
/* Wait until the transmit FIFO is empty, or for a bounded time when the port never says so. */
void uart_tx_wait(uint16_t port);
/* Write a byte to the transmit FIFO, which must have room (see uart_tx_empty). */
void uart_tx(uint16_t port, char c);
/*
 * Next received byte, or -1 when none is waiting. When the UART reports that
 * its receive FIFO overran (at least one byte lost), adds one to *overruns.
 */
int uart_getc(uint16_t port, uint64_t *overruns);
/*
 * Read IIR: 1 while the UART still asserts its interrupt (received data is
 * for the caller to drain; a THR-empty or modem-status cause is cleared here),
 * 0 once nothing is pending and the line has dropped.
 */
int uart_irq_pending(uint16_t port);

#endif
