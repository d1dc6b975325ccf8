/* I/O APIC: routes ISA interrupts to a local APIC; the legacy 8259 PICs stay masked. */
#ifndef DRIVERS_IOAPIC_H
#define DRIVERS_IOAPIC_H

#include <stdint.h>

/* ISA IRQ n (1..15) is delivered on vector 32 + n; 32 itself is the local APIC timer. */
#define IOAPIC_VEC_ISA(irq) (32 + (irq))

/*
 * Mask both 8259 PICs, find the I/O APICs in the MADT (or, without one, assume
 * the standard I/O APIC at 0xfec00000 with ISA IRQs identity-mapped), map them
 * uncached and mask every pin. One line in the log says what was found.
 * 0, or -1 when no I/O APIC answers.
 */
int ioapic_init(void);
/*
 * Program, masked, the pin of ISA irq to deliver vector to the local APIC
 * apic_id (fixed delivery, physical destination; edge-triggered and active
 * high unless the MADT overrides). Returns the GSI, or -1 if it cannot be routed.
 */
int ioapic_route_isa(unsigned irq, unsigned vector, uint32_t apic_id);
void ioapic_mask(uint32_t gsi);
void ioapic_unmask(uint32_t gsi);

#endif
