/*
 * The guest's 16550 at 0x3f8, enough for polled output and input: THR
 * writes go to the VM's console, RBR reads take queued input, LSR says the
 * transmitter is always empty and whether input waits. No interrupts are
 * raised (IER is stored and read back only), as guests here poll.
 */
#include "vuart.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IIR_NONE 0x01
#define IIR_FIFO 0xc0
#define MSR_CONNECTED 0xb0 /* CTS, DSR, DCD */

void vuart_init(struct vuart *u, vuart_tx_fn tx, void *ctx)
{
	*u = (struct vuart){ .dll = 1, .tx = tx, .ctx = ctx };
}

static bool rx_ready(const struct vuart *u)
{
	return u->rx_head != u->rx_tail;
}

uint8_t vuart_read(struct vuart *u, unsigned reg)
{
	switch (reg) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (!rx_ready(u))
			return 0;
		return u->rx[u->rx_tail++ % VUART_RX_BYTES];
	case IER:
		return u->lcr & LCR_DLAB ? u->dlm : u->ier;
	case IIR_FCR:
		return IIR_NONE | ((u->fcr & 1) ? IIR_FIFO : 0);
	case LCR:
		return u->lcr;
	case MCR:
		return u->mcr;
	case LSR:
		return LSR_THRE | LSR_TEMT | (rx_ready(u) ? LSR_DR : 0);
	case MSR:
		return MSR_CONNECTED;
	default:
		return u->scr;
	}
}

void vuart_write(struct vuart *u, unsigned reg, uint8_t val)
{
	switch (reg) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = val;
		else
			u->tx(u->ctx, val);
		break;
	case IER:
		if (u->lcr & LCR_DLAB)
			u->dlm = val;
		else
			u->ier = val & 0x0f;
		break;
	case IIR_FCR:
		u->fcr = val & 0xc9;
		if (val & 2)
			u->rx_tail = u->rx_head; /* clear the receive FIFO */
		break;
	case LCR:
		u->lcr = val;
		break;
	case MCR:
		u->mcr = val & 0x1f;
		break;
	case SCR:
		u->scr = val;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
}

unsigned vuart_input(struct vuart *u, const uint8_t *buf, unsigned n)
{
	unsigned i;

	for (i = 0; i < n && u->rx_head - u->rx_tail < VUART_RX_BYTES; i++)
		u->rx[u->rx_head++ % VUART_RX_BYTES] = buf[i];
	return i;
}

/* A wider access reaches the byte at its offset; the bytes above it read as ones (nothing decodes them). */
static uint64_t bus_read(void *dev, uint64_t offset, unsigned size)
{
	return vuart_read(dev, (unsigned)offset) | (~0ULL << 8 & (size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1));
}

static void bus_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	(void)size;
	vuart_write(dev, (unsigned)offset, (uint8_t)val);
}

const struct dev_ops vuart_ops = { "serial port", bus_read, bus_write, NULL };
