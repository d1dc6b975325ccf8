/* ACPI tables: find the ones emhv uses (FADT: PM timer, MADT: I/O APICs), checksums verified. */
#ifndef DRIVERS_ACPI_H
#define DRIVERS_ACPI_H

#include <stdint.h>

/* Parse RSDP -> XSDT/RSDT -> tables; 0, or -1 with a message in the log. */
int acpi_init(uint64_t rsdp_phys);
/* The ACPI PM timer's I/O port and width (24 or 32 bits); 0, or -1 if there is none. */
int acpi_pm_timer(uint16_t *port, unsigned *bits);

/* An I/O APIC from the MADT. */
struct acpi_ioapic {
	uint32_t addr;
	uint32_t gsi_base;
	uint8_t id;
};

/* An ISA IRQ that the MADT says is wired to another GSI or with other polarity/trigger. */
struct acpi_irq_override {
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags: ACPI_INTI_* */
	uint8_t irq;
};

#define ACPI_INTI_POLARITY_MASK 0x3
#define ACPI_INTI_ACTIVE_LOW 0x3 /* 0: as the bus (ISA: high), 1: high */
#define ACPI_INTI_TRIGGER_MASK 0xc
#define ACPI_INTI_LEVEL 0xc /* 0: as the bus (ISA: edge), 4: edge */

/* Copy up to max I/O APICs from the MADT into out; returns how many (0: no MADT or none). */
int acpi_madt_ioapics(struct acpi_ioapic *out, int max);
/* The MADT's override for ISA irq into out; 0, or -1 if there is none (identity, edge, high). */
int acpi_madt_isa_override(uint8_t irq, struct acpi_irq_override *out);
/* Space-separated signatures of the tables found ("FACP APIC HPET ..."). */
const char *acpi_table_list(void);

#endif
