/*
 * A guest's CMOS clock (Motorola MC146818A, as in every PC at ports 0x70
 * and 0x71): the time and date in BCD or binary, 12- or 24-hour, status
 * registers A-D, and the rest of the 128 bytes as CMOS RAM. The time runs
 * from the host's clock (seconds since 1970); a guest that sets it moves its
 * own clock only. No update, alarm or periodic interrupts: the FADT tells
 * Linux there is no RTC device, so it only reads the time at boot.
 */
#ifndef EMHV_DRIVERS_VRTC_H
#define EMHV_DRIVERS_VRTC_H

#include <stdint.h>
#include "hv/devbus.h"

#define VRTC_BASE 0x70
#define VRTC_PORTS 2
#define VRTC_RAM 128

struct vrtc {
	uint8_t index;
	uint8_t ram[VRTC_RAM]; /* the registers that are not the clock, and CMOS RAM */
	int64_t offset;	       /* seconds the guest moved its clock by */
	uint64_t (*now)(void *ctx); /* the host's time: seconds since 1970-01-01 00:00:00 */
	void *ctx;
};

void vrtc_init(struct vrtc *r, uint64_t (*now)(void *ctx), void *ctx);
/* Ports 0x70 (index, write-only) and 0x71 (data). */
extern const struct dev_ops vrtc_ops;
/* Days from 1970-01-01 to a date of the proleptic Gregorian calendar. */
int64_t vrtc_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
