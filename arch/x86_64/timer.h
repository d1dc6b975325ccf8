/* Time: TSC calibrated against the ACPI PM timer (or the PIT); the local APIC: tick, EOI, id. */
#ifndef ARCH_X86_64_TIMER_H
#define ARCH_X86_64_TIMER_H

#include <stdint.h>

/*
 * 1 kHz: under VT-x/AMD-V every host tick costs a VM exit. Serial input comes
 * on the UART's interrupt; the tick only backs it up (hv/console.c).
 */
#define TIMER_HZ 1000

/* Calibrate the TSC; returns its frequency in Hz. */
uint64_t tsc_calibrate(void);
uint64_t tsc_hz(void);
/* Name of the reference the TSC was calibrated against. */
const char *tsc_reference(void);
uint64_t tsc_to_us(uint64_t ticks);

/* Start the local APIC timer at TIMER_HZ calling tick() from its interrupt. */
int apic_timer_init(void (*tick)(void));
uint64_t apic_timer_ticks(void);
/* End of interrupt to the local APIC, at the end of every handler of an APIC-delivered vector. */
void apic_eoi(void);
/* This CPU's local APIC id (8 bits in xAPIC mode, 32 in x2APIC mode); after apic_timer_init. */
uint32_t apic_local_id(void);
uint64_t apic_base_phys(void);
int apic_x2apic_mode(void);

#endif
