/* 16550 UART driver for the host's serial port. */
#ifndef DRIVERS_UART16550_H
#define DRIVERS_UART16550_H

#include <stdint.h>

#define COM1_PORT 0x3f8

/* Program the UART at port for baud 8N1 with FIFOs; 0, or -1 if none answers. */
int uart_init(uint16_t port, uint32_t baud);
void uart_putc(uint16_t port, char c);
/* Next received byte, or -1 when none is waiting. */
int uart_getc(uint16_t port);

#endif
