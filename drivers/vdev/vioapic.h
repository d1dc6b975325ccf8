/*
 * A VM's I/O APIC (Intel 82093AA datasheet, with the version-0x20 EOI
 * register of later I/O xAPICs): 24 interrupt lines routed by their
 * redirection entries to local APICs through the host's deliver callback.
 * The MADT describes it at VIOAPIC_BASE with GSI base 0. A pure device
 * model: lines are driven with vioapic_set_irq, EOIs of level-triggered
 * vectors come back from the local APIC with vioapic_eoi.
 */
#ifndef EMHV_DRIVERS_VIOAPIC_H
#define EMHV_DRIVERS_VIOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/devbus.h"

#define VIOAPIC_BASE 0xfec00000ULL
#define VIOAPIC_SIZE 0x1000
#define VIOAPIC_PINS 24

/* MMIO offsets. */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_EOI 0x40 /* version 0x20 and later: write a vector to EOI it */

/* Indirect registers, selected by IOREGSEL. */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_RTE 0x10 /* entry n: low half 0x10 + 2n, high half 0x11 + 2n */
#define IOAPIC_VERSION (0x20 | (VIOAPIC_PINS - 1) << 16)

/* Redirection table entry bits. */
#define IOAPIC_RTE_DM_SHIFT 8 /* delivery mode, bits 10:8 */
#define IOAPIC_RTE_LOGICAL (1ULL << 11)
#define IOAPIC_RTE_DELIVS (1ULL << 12) /* delivery status: read-only, always idle here */
#define IOAPIC_RTE_ACTIVE_LOW (1ULL << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ULL << 14) /* read-only */
#define IOAPIC_RTE_LEVEL (1ULL << 15)
#define IOAPIC_RTE_MASKED (1ULL << 16)
#define IOAPIC_RTE_DEST_SHIFT 56

/* Send vector to the local APIC(s) dest names (physical ID, or logical destination). */
typedef void (*vioapic_deliver_fn)(void *ctx, uint8_t dest, bool logical, uint8_t vector, bool level);

struct vioapic {
	uint32_t regsel;
	uint8_t id;
	uint64_t rte[VIOAPIC_PINS];
	uint32_t input; /* each line's level as its device drives it, before polarity */
	vioapic_deliver_fn deliver;
	void *ctx;
	struct {
		uint64_t delivered;
		uint64_t dropped; /* SMI, NMI, INIT, ExtINT entries: not delivered */
	} stats;
};

/* Reset state: every entry masked, every line low. deliver must not call vioapic_eoi itself. */
void vioapic_init(struct vioapic *io, uint8_t id, vioapic_deliver_fn deliver, void *ctx);
/* The registers on a VM's device bus (hv/devbus.h), at VIOAPIC_BASE, VIOAPIC_SIZE bytes. */
extern const struct dev_ops vioapic_ops;
/* A 32-bit access at IOAPIC_REGSEL, IOAPIC_WINDOW or IOAPIC_EOI; other offsets read 0, ignore writes. */
uint32_t vioapic_read(struct vioapic *io, unsigned offset);
void vioapic_write(struct vioapic *io, unsigned offset, uint32_t val);
/* A device drives line (0..23; others are ignored) high or low. */
void vioapic_set_irq(struct vioapic *io, unsigned line, bool level);
/* A local APIC EOIed a level-triggered vector: Remote IRR clears, a line still asserted goes again. */
void vioapic_eoi(struct vioapic *io, uint8_t vector);

#endif
