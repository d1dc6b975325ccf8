/* Host console on COM1: formatted output, and an input ring filled by the UART's interrupt. */
#include <stdarg.h>
#include <stdio.h>
#include <hv/console.h>
#include <drivers/uart16550.h>
#include <drivers/ioapic.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/trap.h>
#include <arch/x86_64/timer.h>

#define INPUT_RING 4096
#define VEC_COM1 IOAPIC_VEC_ISA(COM1_IRQ)
#define IRQ_DRAIN_ROUNDS 16

/* Written only with interrupts off (handlers, or console_getc under irq_save). */
static uint8_t in_ring[INPUT_RING];
static volatile uint32_t in_head, in_tail;
static uint64_t in_dropped, uart_overruns;

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
 * COM1's receive interrupt. IRQ 4 is edge-triggered: the I/O APIC sees a new
 * interrupt only when the UART's line falls and rises again, so the handler
 * drains the FIFO and then reads IIR until the UART reports nothing pending
 * (the line is low) before the EOI; a byte that lands after that raises a
 * fresh edge, which the local APIC holds in IRR until the EOI. The round
 * limit only guards against a UART that never deasserts.
 *
 * The timer tick still calls console_poll_input(): one LSR read per tick
 * when idle. It is the backstop for an edge that is lost anyway (an I/O APIC
 * drops edges on a masked pin; an emulated or odd UART may hold its line
 * high), which would otherwise stall input for good; with it, input at worst
 * falls back to polling at TIMER_HZ.
 */
static void com1_irq(struct trap_frame *tf)
{
	unsigned rounds = 0;

	(void)tf;
	do
		console_poll_input();
	while (uart_irq_pending(COM1_PORT) && ++rounds < IRQ_DRAIN_ROUNDS);
	apic_eoi();
}

void console_start_input_irq(void)
{
	int gsi = ioapic_route_isa(COM1_IRQ, VEC_COM1, apic_local_id());

	if (gsi < 0) {
		kprintf("console: COM1 input polled from the %d Hz tick (no I/O APIC route for "
			"IRQ %d)\n",
			TIMER_HZ, COM1_IRQ);
		return;
	}
	trap_set_handler(VEC_COM1, com1_irq);
	uart_enable_rx_irq(COM1_PORT);
	ioapic_unmask(gsi);
	/* Bytes that came while the pin was masked raised no edge the I/O APIC kept. */
	console_poll_input();
	kprintf("console: COM1 input by interrupt (IRQ %d, GSI %d, vector %d), the %d Hz tick "
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
