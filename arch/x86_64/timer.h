/* Time: TSC calibrated against the ACPI PM timer (or the PIT), and the local APIC timer tick. */
#ifndef ARCH_X86_64_TIMER_H
#define ARCH_X86_64_TIMER_H

#include <stdint.h>

/* 10 kHz: the tick also drains the UART, and Bochs feeds it faster than 16 bytes a ms. */
#define TIMER_HZ 10000

/* Calibrate the TSC; returns its frequency in Hz. */
uint64_t tsc_calibrate(void);
uint64_t tsc_hz(void);
/* Name of the reference the TSC was calibrated against. */
const char *tsc_reference(void);
uint64_t tsc_to_us(uint64_t ticks);

/* Start the local APIC timer at TIMER_HZ calling tick() from its interrupt. */
int apic_timer_init(void (*tick)(void));
uint64_t apic_timer_ticks(void);
uint64_t apic_base_phys(void);
int apic_x2apic_mode(void);

#endif
