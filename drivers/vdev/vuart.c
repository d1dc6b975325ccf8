/*
 * The guest's 16550 at 0x3f8 (National Semiconductor PC16550D datasheet):
 * THR writes go to the VM's console at once, so the transmitter is always
 * empty; RBR reads take queued input; LSR says whether input waits. Two of
 * the four interrupt sources exist: received data available (while input
 * waits) and transmitter holding register empty (raised by each THR write
 * and by enabling it, cleared by an IIR read that reports it); there are no
 * line errors and the modem lines never change. The IRQ output follows the
 * highest pending source through OUT2, as PC serial ports wire it.
 */
#include "vuart.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IIR_NONE 0x01
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_FIFO 0xc0
#define MCR_OUT2 0x08
#define MSR_CONNECTED 0xb0 /* CTS, DSR, DCD */

void vuart_init(struct vuart *u, vuart_tx_fn tx, vuart_irq_fn irq, void *ctx)
{
	*u = (struct vuart){ .dll = 1, .tx = tx, .irq = irq, .ctx = ctx };
}

static bool rx_ready(const struct vuart *u)
{
	return u->rx_head != u->rx_tail;
}

/* The highest-priority pending interrupt, as IIR bits 3:0. */
static uint8_t pending(const struct vuart *u)
{
	if ((u->ier & IER_RDI) && rx_ready(u))
		return IIR_RDA;
	if ((u->ier & IER_THRI) && u->thre_pending)
		return IIR_THRE;
	return IIR_NONE;
}

static void update_line(struct vuart *u)
{
	bool level = (u->mcr & MCR_OUT2) && pending(u) != IIR_NONE; /* OUT2 low (a polled port): nothing to work out */

	if (level != u->line) {
		u->line = level;
		if (u->irq)
			u->irq(u->ctx, level);
	}
}

static uint8_t read_iir(struct vuart *u)
{
	uint8_t id = pending(u);

	if (id == IIR_THRE)
		u->thre_pending = false; /* reading IIR with THRE the source clears it */
	return id | ((u->fcr & 1) ? IIR_FIFO : 0);
}

static uint8_t read_reg(struct vuart *u, unsigned reg)
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
		return read_iir(u);
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

uint8_t vuart_read(struct vuart *u, unsigned reg)
{
	uint8_t v = read_reg(u, reg);

	update_line(u);
	return v;
}

static void write_reg(struct vuart *u, unsigned reg, uint8_t val)
{
	switch (reg) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = val;
		} else {
			u->tx(u->ctx, val);
			u->thre_pending = true; /* sent at once: the holding register is empty again */
		}
		break;
	case IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = val;
		} else {
			/* enabling the THRE interrupt while the register is empty raises it */
			if ((val & IER_THRI) && !(u->ier & IER_THRI))
				u->thre_pending = true;
			u->ier = val & 0x0f;
		}
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

void vuart_write(struct vuart *u, unsigned reg, uint8_t val)
{
	write_reg(u, reg, val);
	update_line(u);
}

unsigned vuart_input(struct vuart *u, const uint8_t *buf, unsigned n)
{
	unsigned i;

	for (i = 0; i < n && u->rx_head - u->rx_tail < VUART_RX_BYTES; i++)
		u->rx[u->rx_head++ % VUART_RX_BYTES] = buf[i];
	update_line(u);
	return i;
}

/* A wider access reaches the byte at its offset; the bytes above it read as ones (nothing decodes them). */
static uint64_t bus_read(void *dev, uint64_t offset, unsigned size)
{
	return vuart_read(dev, (unsigned)offset) | (devbus_ones(size) & ~0xffULL);
}

static void bus_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	(void)size;
	vuart_write(dev, (unsigned)offset, (uint8_t)val);
}

const struct dev_ops vuart_ops = { "serial port", bus_read, bus_write, NULL };
