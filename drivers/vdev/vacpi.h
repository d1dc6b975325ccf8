/*
 * A Linux VM's ACPI tables (ACPI 6.4, hardware-reduced): RSDP, XSDT, FADT,
 * MADT and the DSDT compiled from drivers/vdev/dsdt.asl, built in one block
 * that the loader copies into guest memory.
 */
#ifndef EMHV_DRIVERS_VACPI_H
#define EMHV_DRIVERS_VACPI_H

#include <stddef.h>
#include <stdint.h>
#include <emhv/guest_boot.h> /* the power and pvpanic ports it names */

/*
 * Write the tables into buf (size bytes) as they will sit at guest-physical gpa, the RSDP first (at
 * gpa, which must be 16-byte aligned); the bytes used, or 0 when they do not fit.
 */
size_t vacpi_build(void *buf, size_t size, uint64_t gpa);

#endif
