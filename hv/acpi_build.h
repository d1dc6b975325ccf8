/*
 * A Linux VM's ACPI tables (ACPI 6.4, hardware-reduced): RSDP, XSDT, FADT,
 * MADT and the DSDT compiled from hv/linux_dsdt.asl, built in one block
 * that the loader copies into guest memory.
 */
#ifndef EMHV_HV_ACPI_BUILD_H
#define EMHV_HV_ACPI_BUILD_H

#include <stddef.h>
#include <stdint.h>

/* The power-management registers the FADT names, in port space (drivers/vdev/vpm.c). */
#define ACPI_PM_SLEEP_CONTROL 0x600
#define ACPI_PM_SLEEP_STATUS 0x601
#define ACPI_PM_RESET 0x602
#define ACPI_PM_PORTS 3
#define ACPI_PM_RESET_VALUE 0x42
#define ACPI_S5_TYPE 5 /* \_S5's SLP_TYP in the DSDT */
#define PVPANIC_PORT 0x505 /* the DSDT's QEMU0001 device */

/*
 * Write the tables into buf (size bytes) as they will sit at guest-physical gpa, the RSDP first (at
 * gpa, which must be 16-byte aligned); the bytes used, or 0 when they do not fit.
 */
size_t acpi_build(void *buf, size_t size, uint64_t gpa);

#endif
