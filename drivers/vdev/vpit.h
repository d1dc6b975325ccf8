/*
 * A guest's interval timer (Intel 8254 PIT at ports 0x40-0x43) and the
 * PC's system control port B (0x61), whose bit 0 gates channel 2 and whose
 * bit 5 shows channel 2's output: what firmware and Linux use to measure
 * the CPU clock (quick_pit_calibrate on CPUs that name no frequency in
 * CPUID). Counters run at 1.193182 MHz from the guest's TSC. Channel 0's
 * output is wired to nothing (a hardware-reduced platform routes no IRQ 0),
 * so it raises no interrupt.
 */
#ifndef EMHV_DRIVERS_VPIT_H
#define EMHV_DRIVERS_VPIT_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/devbus.h"

#define VPIT_BASE 0x40
#define VPIT_PORTS 4
#define VPIT_PORT_B 0x61
#define VPIT_HZ 1193182ULL

struct vpit_channel {
	uint8_t mode;	     /* 0-5 */
	uint8_t access;	     /* 1 low byte, 2 high byte, 3 low then high */
	bool write_hi;	     /* access 3: the next write is the high byte */
	bool read_hi;	     /* access 3: the next read is the high byte */
	bool latched;	     /* a latch command froze the count until it is read */
	bool armed;	     /* a count was written: it is counting (while its gate is high) */
	uint16_t latch;
	uint32_t reload;     /* 1..65536 */
	uint8_t low;	     /* access 3: the low byte written, until the high byte arrives */
	uint64_t start;	     /* guest TSC when counting (re)started */
	uint64_t done;	     /* input clocks counted before start (a gate that went low paused it) */
};

struct vpit {
	struct vpit_channel ch[3];
	bool gate2, speaker;
	uint8_t port_b; /* the writable bits 0-3 of port 0x61 */
	uint64_t tsc_hz;
	uint64_t (*now)(void *ctx); /* the guest's TSC */
	void *ctx;
};

void vpit_init(struct vpit *p, uint64_t tsc_hz, uint64_t (*now)(void *ctx), void *ctx);
/* Ports 0x40-0x43: the three counters and the control word. */
extern const struct dev_ops vpit_ops;
/* Port 0x61: gate 2, speaker data, OUT2, the refresh toggle. */
extern const struct dev_ops vpit_port_b_ops;

#endif
