/*
 * The power registers of a hardware-reduced ACPI platform (ACPI 6.4,
 * 4.8.3.7 and 4.8.3.6) and QEMU's pvpanic port, as a Linux VM's FADT and
 * DSDT name them: writing the S5 sleep type with SLP_EN powers the VM off,
 * the reset value to the reset register resets it, and a pvpanic "panicked"
 * event says the guest kernel panicked. The device reports each to the host;
 * other sleep types and values do nothing (the DSDT names only S5).
 */
#ifndef EMHV_DRIVERS_VPM_H
#define EMHV_DRIVERS_VPM_H

#include <stdint.h>
#include "hv/devbus.h"

enum vpm_event { VPM_POWEROFF, VPM_RESET, VPM_PANIC };

typedef void (*vpm_event_fn)(void *ctx, enum vpm_event ev, unsigned detail);

struct vpm {
	uint8_t sleep_status;
	uint8_t s5_type;  /* the SLP_TYP that means soft-off (the DSDT's \_S5) */
	uint8_t reset_value;
	vpm_event_fn event;
	void *ctx;
};

#define PVPANIC_PANICKED 1u
#define PVPANIC_CRASH_LOADED 2u

void vpm_init(struct vpm *p, uint8_t s5_type, uint8_t reset_value, vpm_event_fn event, void *ctx);
/* Sleep control (offset 0), sleep status (1) and reset (2), one byte each. */
extern const struct dev_ops vpm_ops;
/* The pvpanic port: reads the events it knows, takes an event written. */
extern const struct dev_ops vpm_pvpanic_ops;

#endif
