/* I/O APIC (82093AA and compatibles): find it, mask it, route ISA IRQs; mask the 8259 PICs. */
#include "ioapic.h"
#include "acpi.h"
#include <hv/console.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/paging.h>

#define IOAPIC_DEFAULT_ADDR 0xfec00000u
#define IOAPIC_MAX 8
#define IOAPIC_MMIO_SIZE 0x20

/* Registers, reached through IOREGSEL (offset 0) and IOWIN (offset 0x10). */
#define IOREGSEL 0
#define IOWIN 4 /* in 32-bit words */
#define IOAPIC_VER 0x01
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))

/* Redirection table entry, low word; the destination APIC id is bits 24..31 of the high word. */
#define RTE_VECTOR_MASK 0xffu
#define RTE_FIXED (0u << 8)
#define RTE_PHYSICAL (0u << 11)
#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_LEVEL (1u << 15)
#define RTE_MASKED (1u << 16)
#define RTE_DEST_SHIFT 24

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

struct ioapic {
	volatile uint32_t *regs;
	uint32_t gsi_base;
	unsigned pins;
};

static struct ioapic ioapics[IOAPIC_MAX];
static unsigned n_ioapics;
static int from_madt;

static uint32_t reg_read(const struct ioapic *io, uint32_t reg)
{
	io->regs[IOREGSEL] = reg;
	return io->regs[IOWIN];
}

static void reg_write(const struct ioapic *io, uint32_t reg, uint32_t v)
{
	io->regs[IOREGSEL] = reg;
	io->regs[IOWIN] = v;
}

/* Every interrupt comes through the I/O APIC: the 8259s must never raise INTR. */
static void pic8259_mask_all(void)
{
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

/* Map one I/O APIC, check that it answers and mask its pins; 0 or -1. */
static int ioapic_add(uint32_t addr, uint32_t gsi_base)
{
	struct ioapic *io = &ioapics[n_ioapics];
	uint32_t ver;
	unsigned pin;

	if (n_ioapics == IOAPIC_MAX || paging_set_uncached(addr, IOAPIC_MMIO_SIZE))
		return -1;
	io->regs = (volatile uint32_t *)(uint64_t)addr;
	ver = reg_read(io, IOAPIC_VER);
	if (ver == 0xffffffffu || !(ver >> 16)) {
		kprintf("ioapic: nothing answers at 0x%x (version register 0x%x)\n", addr, ver);
		return -1;
	}
	io->gsi_base = gsi_base;
	io->pins = ((ver >> 16) & 0xff) + 1;
	for (pin = 0; pin < io->pins; pin++) {
		reg_write(io, IOAPIC_REDTBL(pin), RTE_MASKED);
		reg_write(io, IOAPIC_REDTBL(pin) + 1, 0);
	}
	n_ioapics++;
	return 0;
}

int ioapic_init(void)
{
	struct acpi_ioapic found[IOAPIC_MAX];
	int n, i;

	pic8259_mask_all();
	n = acpi_madt_ioapics(found, IOAPIC_MAX);
	from_madt = n > 0;
	if (!from_madt) {
		found[0].addr = IOAPIC_DEFAULT_ADDR;
		found[0].gsi_base = 0;
		n = 1;
	}
	for (i = 0; i < n; i++)
		ioapic_add(found[i].addr, found[i].gsi_base);
	if (!n_ioapics) {
		kprintf("ioapic: none usable; 8259 PICs masked, no device interrupts\n");
		return -1;
	}
	if (from_madt)
		kprintf("ioapic: %u from the MADT, the first at 0x%llx (GSIs %u-%u); 8259 PICs masked\n",
			n_ioapics, (unsigned long long)(uint64_t)ioapics[0].regs,
			ioapics[0].gsi_base, ioapics[0].gsi_base + ioapics[0].pins - 1);
	else
		kprintf("ioapic: no MADT, using the standard one at 0x%llx (GSIs 0-%u, ISA IRQs "
			"identity-mapped); 8259 PICs masked\n",
			(unsigned long long)(uint64_t)ioapics[0].regs, ioapics[0].pins - 1);
	return 0;
}

/* The I/O APIC serving gsi and the pin on it, or NULL. */
static struct ioapic *ioapic_for(uint32_t gsi, unsigned *pin)
{
	unsigned i;

	for (i = 0; i < n_ioapics; i++) {
		if (gsi >= ioapics[i].gsi_base && gsi - ioapics[i].gsi_base < ioapics[i].pins) {
			*pin = gsi - ioapics[i].gsi_base;
			return &ioapics[i];
		}
	}
	return NULL;
}

int ioapic_route_isa(unsigned irq, unsigned vector, uint32_t apic_id)
{
	struct acpi_irq_override ov = { .gsi = irq, .flags = 0, .irq = irq };
	uint32_t low = RTE_MASKED | RTE_FIXED | RTE_PHYSICAL | (vector & RTE_VECTOR_MASK);
	struct ioapic *io;
	unsigned pin;
	uint64_t f;

	if (irq > 15 || vector < 32 || vector > 0xfe || apic_id > 0xff)
		return -1; /* a wider APIC id needs interrupt remapping */
	if (from_madt)
		acpi_madt_isa_override(irq, &ov);
	io = ioapic_for(ov.gsi, &pin);
	if (!io)
		return -1;
	if ((ov.flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_ACTIVE_LOW)
		low |= RTE_ACTIVE_LOW;
	if ((ov.flags & ACPI_INTI_TRIGGER_MASK) == ACPI_INTI_LEVEL)
		low |= RTE_LEVEL;
	f = irq_save(); /* IOREGSEL then IOWIN: one access at a time */
	reg_write(io, IOAPIC_REDTBL(pin), RTE_MASKED);
	reg_write(io, IOAPIC_REDTBL(pin) + 1, apic_id << RTE_DEST_SHIFT);
	reg_write(io, IOAPIC_REDTBL(pin), low);
	irq_restore(f);
	return (int)ov.gsi;
}

static void set_masked(uint32_t gsi, int masked)
{
	unsigned pin;
	struct ioapic *io = ioapic_for(gsi, &pin);
	uint32_t low;
	uint64_t f;

	if (!io)
		return;
	f = irq_save();
	low = reg_read(io, IOAPIC_REDTBL(pin));
	low = masked ? low | RTE_MASKED : low & ~RTE_MASKED;
	reg_write(io, IOAPIC_REDTBL(pin), low);
	irq_restore(f);
}

void ioapic_mask(uint32_t gsi)
{
	set_masked(gsi, 1);
}

void ioapic_unmask(uint32_t gsi)
{
	set_masked(gsi, 0);
}
