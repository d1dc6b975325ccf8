/* ACPI tables: find the ones emhv uses (FADT for the PM timer), checksums verified. */
#ifndef DRIVERS_ACPI_H
#define DRIVERS_ACPI_H

#include <stdint.h>

/* Parse RSDP -> XSDT/RSDT -> tables; 0, or -1 with a message in the log. */
int acpi_init(uint64_t rsdp_phys);
/* The ACPI PM timer's I/O port and width (24 or 32 bits); 0, or -1 if there is none. */
int acpi_pm_timer(uint16_t *port, unsigned *bits);
/* Space-separated signatures of the tables found ("FACP APIC HPET ..."). */
const char *acpi_table_list(void);

#endif
