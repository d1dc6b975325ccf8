/*
 * Host console on COM1: formatted output through an output ring that the UART's transmit
 * interrupt drains, and an input ring filled by its receive interrupt.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <hv/console.h>
#include <drivers/uart16550.h>
#include <drivers/ioapic.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/trap.h>
#include <arch/x86_64/timer.h>

#define INPUT_RING 4096
#define OUTPUT_RING 65536
#define VEC_COM1 IOAPIC_VEC_ISA(COM1_IRQ)
#define IRQ_DRAIN_ROUNDS 16

/* Written only with interrupts off (handlers, or console_getc under irq_save). */
static uint8_t in_ring[INPUT_RING];
static volatile uint32_t in_head, in_tail;
static uint64_t in_dropped, uart_overruns;
/*
 * Output not yet in the UART, written and drained only with interrupts off. Once the transmit
 * interrupt is on (tx_irq), a writer with interrupts on leaves what the FIFO cannot take at once
 * to the interrupt: at 115200 baud a screenful takes tens of milliseconds, which the CPU would
 * otherwise spend waiting, and which guests would see pass.
 */
static char out_ring[OUTPUT_RING];
static uint32_t out_head, out_tail;
static bool tx_irq;
static unsigned tx_fifo = 1; /* bytes the UART takes at a time (uart_tx_fifo) */

void console_init(void)
{
	if (!uart_init(COM1_PORT, 115200))
		tx_fifo = uart_tx_fifo(COM1_PORT);
}

/* Up to a FIFO's worth from the output ring into the UART, which must have room for it. */
static void tx_chunk(void)
{
	for (unsigned i = 0; i < tx_fifo && out_tail != out_head; i++)
		uart_tx(COM1_PORT, out_ring[out_tail++ % OUTPUT_RING]);
}

/* Fill the UART's transmit FIFO from the output ring for as long as it says it is empty. */
static void tx_drain(void)
{
	while (out_tail != out_head && uart_tx_empty(COM1_PORT))
		tx_chunk();
}

/* All of the output ring into the UART, waiting for it as needed. Interrupts off. */
static void tx_flush(void)
{
	while (out_tail != out_head) {
		uart_tx_wait(COM1_PORT);
		tx_chunk();
	}
}

/* No room for a byte and the '\r' before it if it ends a line. */
static bool ring_full(void)
{
	return out_head - out_tail > OUTPUT_RING - 2;
}

/*
 * Room in the output ring: wait for the UART, with interrupts on meanwhile if the caller had
 * them on (the UART's own interrupt may drain the ring then). A port that never says it is empty
 * gets the bytes all the same, as uart_tx_wait bounds the wait. f: the caller's flags.
 */
static void make_room(uint64_t f)
{
	while (ring_full()) {
		irq_restore(f);
		uart_tx_wait(COM1_PORT);
		irq_save();
		if (ring_full()) /* nothing drained it meanwhile */
			tx_chunk();
	}
}

void console_write(const char *s, size_t n)
{
	uint64_t f = irq_save();

	for (size_t i = 0; i < n; i++) {
		if (ring_full())
			make_room(f);
		if (s[i] == '\n')
			out_ring[out_head++ % OUTPUT_RING] = '\r';
		out_ring[out_head++ % OUTPUT_RING] = s[i];
	}
	/* with interrupts off (early boot, a fatal exception) nothing would drain it later */
	if (tx_irq && (f & RFLAGS_IF))
		tx_drain();
	else
		tx_flush();
	irq_restore(f);
}

void console_flush(void)
{
	uint64_t f = irq_save();

	tx_flush();
	irq_restore(f);
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

static void poll_input(void)
{
	int c;

	while ((c = uart_getc(COM1_PORT, &uart_overruns)) >= 0) {
		if (in_head - in_tail == INPUT_RING) {
			in_dropped++;
			continue;
		}
		in_ring[in_head % INPUT_RING] = (uint8_t)c;
		in_head++;
	}
}

/*
 * COM1's interrupt: data received, or the transmit FIFO ran empty. IRQ 4 is
 * edge-triggered: the I/O APIC sees a new interrupt only when the UART's line
 * falls and rises again, so the handler drains the receive FIFO, refills the
 * transmit FIFO and then reads IIR until the UART reports nothing pending
 * (the line is low; the read clears a transmit cause) before the EOI; a byte
 * that lands after that, or a transmit FIFO that runs empty again, raises a
 * fresh edge, which the local APIC holds in IRR until the EOI. The round
 * limit only guards against a UART that never deasserts.
 *
 * The timer tick still calls console_service(): one LSR read per tick when
 * idle. It is the backstop for an edge that is lost anyway (an I/O APIC drops
 * edges on a masked pin; an emulated or odd UART may hold its line high),
 * which would otherwise stall input or output for good; with it, input at
 * worst falls back to polling at TIMER_HZ, and output to a FIFO's worth
 * a tick.
 */
static void com1_irq(struct trap_frame *tf)
{
	unsigned rounds = 0;

	(void)tf;
	do
		console_service();
	while (uart_irq_pending(COM1_PORT) && ++rounds < IRQ_DRAIN_ROUNDS);
	apic_eoi();
}

void console_service(void)
{
	poll_input();
	tx_drain();
}

void console_start_irq(void)
{
	int gsi = ioapic_route_isa(COM1_IRQ, VEC_COM1, apic_local_id());

	if (gsi < 0) {
		kprintf("console: COM1 input polled from the %d Hz tick, output written at once (no I/O APIC "
			"route for IRQ %d)\n",
			TIMER_HZ, COM1_IRQ);
		return;
	}
	trap_set_handler(VEC_COM1, com1_irq);
	uart_enable_irq(COM1_PORT);
	tx_irq = true;
	ioapic_unmask(gsi);
	/* Bytes that came while the pin was masked raised no edge the I/O APIC kept. */
	poll_input();
	kprintf("console: COM1 input and output by interrupt (IRQ %d, GSI %d, vector %d), the %d Hz tick "
		"as backstop\n",
		COM1_IRQ, gsi, VEC_COM1, TIMER_HZ);
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
	return in_dropped + uart_overruns;
}
