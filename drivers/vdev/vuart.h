/*
 * The 16550 UART emulated for each guest at 0x3f8 (COM1, ISA IRQ 4): output
 * into the VM's console ring, input queued by the monitor, and the UART's
 * interrupts (received data, transmitter empty) on its IRQ line, gated by
 * OUT2 as on a PC.
 */
#ifndef EMHV_DRIVERS_VUART_H
#define EMHV_DRIVERS_VUART_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/devbus.h"

#define VUART_BASE 0x3f8
#define VUART_PORTS 8
#define VUART_RX_BYTES 256

/* Where transmitted bytes go. */
typedef void (*vuart_tx_fn)(void *ctx, uint8_t byte);
/* The IRQ line goes high or low. */
typedef void (*vuart_irq_fn)(void *ctx, bool level);

struct vuart {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t rx[VUART_RX_BYTES];
	unsigned rx_head, rx_tail;
	bool thre_pending; /* a transmitter-empty interrupt not yet taken by an IIR read */
	bool line;	   /* the IRQ line's level */
	vuart_tx_fn tx;
	vuart_irq_fn irq;  /* may be NULL: no interrupt line */
	void *ctx;
};

void vuart_init(struct vuart *u, vuart_tx_fn tx, vuart_irq_fn irq, void *ctx);
/* The UART's registers on a VM's device bus (hv/devbus.h), at VUART_BASE. */
extern const struct dev_ops vuart_ops;
/* A guest read of register reg (0..7): one byte. */
uint8_t vuart_read(struct vuart *u, unsigned reg);
void vuart_write(struct vuart *u, unsigned reg, uint8_t val);
/* Queue bytes for the guest to read (a received-data interrupt when enabled); returns how many fitted. */
unsigned vuart_input(struct vuart *u, const uint8_t *buf, unsigned n);

#endif
