/* Host console: formatted output to the serial port, the boot log, and buffered serial input. */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

void console_init(void);
/* Print to the serial port and append to the hypervisor log. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print to the serial port only (monitor replies). */
void mprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Output goes through a ring: with interrupts on (after console_start_irq), what the UART
 * cannot take at once is left to its transmit interrupt; with interrupts off, it is all written
 * before the call returns.
 */
void console_write(const char *s, size_t n);
/* Write out everything still in the output ring (before powering off or resetting). */
void console_flush(void);
/*
 * Move bytes waiting in the UART into the input ring, and fill its transmit FIFO from the output
 * ring if it is empty: the UART's interrupt, and the timer tick's backstop.
 */
void console_service(void);
/*
 * Fill the input ring from COM1's receive interrupt and drain the output ring
 * from its transmit interrupt (IRQ 4 through the I/O APIC, after ioapic_init
 * and apic_timer_init); if it cannot be routed, input stays polled from the
 * tick and output is written at once. One line in the log says which.
 */
void console_start_irq(void);
/* Next input byte, or -1 when none. */
int console_getc(void);
/* Input bytes dropped: the ring was full, or the UART's FIFO overran (counted once each). */
uint64_t console_input_dropped(void);

/* The hypervisor log: the boot log kept whole, then everything kprintf printed, oldest dropped first. */
void log_append(const char *s, size_t n);
/* Append a line (a newline is added) to the log only: an unprompted line would cut into typing. */
void log_line(const char *line);
/* The boot log ends here (the monitor is up). */
void log_boot_done(void);
/* Call fn on the log's contents, in order, in at most two pieces. */
void log_for_each(void (*fn)(const char *s, size_t n));

#endif
