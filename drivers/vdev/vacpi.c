/*
 * A Linux VM's ACPI tables, the way micro-VMs describe their platform
 * (hardware-reduced ACPI: no PM1 blocks, no SCI, no legacy PIC, PIT or
 * RTC): the RSDP, an XSDT naming the FADT and MADT, the FADT with the
 * sleep control, sleep status and reset registers, the MADT with one local
 * APIC and the I/O APIC, and the DSDT iasl compiled.
 */
#include <string.h>
#include <emhv/acpi.h>
#include <emhv/guest_boot.h>
#include "drivers/vdev/vioapic.h"
#include "drivers/vdev/vlapic.h"
#include "drivers/vdev/vacpi.h"

/* drivers/vdev/dsdt.S */
extern const uint8_t dsdt_aml[] __attribute__((visibility("hidden")));
extern const uint8_t dsdt_aml_end[] __attribute__((visibility("hidden")));

/* What drivers/vdev/dsdt.asl spells out as numbers. */
_Static_assert(EMHV_VIRTIO_MMIO_GPA == 0xd0000000 && EMHV_VIRTIO_MMIO_SIZE == 0x1000 && EMHV_VIRTIO_SLOTS == 8,
	       "the DSDT's virtio-mmio windows");
_Static_assert(EMHV_VIRTIO_IRQ_BASE == 16 && EMHV_VIRTIO_IRQ_BASE + EMHV_VIRTIO_SLOTS <= VIOAPIC_PINS,
	       "the DSDT's virtio-mmio interrupts");

#define OEM_ID "EMHV  "
#define OEM_TABLE "EMHVPC  "
#define CREATOR 0x56484d45u /* "EMHV" */
#define ALIGN(x) (((x) + 15) & ~(size_t)15)

struct madt {
	struct acpi_sdt h;
	uint32_t lapic_addr, flags;
	struct madt_lapic lapic;
	struct madt_ioapic ioapic;
	struct madt_lapic_nmi nmi;
} __attribute__((packed));

struct xsdt {
	struct acpi_sdt h;
	uint64_t entry[2];
} __attribute__((packed));

static void header(struct acpi_sdt *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->sig, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem, OEM_ID, 6);
	memcpy(h->oem_table, OEM_TABLE, 8);
	h->oem_revision = 1;
	h->creator = CREATOR;
	h->creator_revision = 1;
}

static void seal(struct acpi_sdt *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

static struct acpi_gas io_reg(uint16_t port)
{
	return (struct acpi_gas){ .space = ACPI_GAS_IO, .bit_width = 8, .access_size = ACPI_GAS_ACCESS_BYTE,
				  .addr = port };
}

static void fadt(struct acpi_fadt *f, uint64_t dsdt)
{
	memset(f, 0, sizeof(*f));
	header(&f->h, "FACP", sizeof(*f), 6);
	f->minor_version = 4; /* ACPI 6.4 */
	f->flags = ACPI_FADT_HW_REDUCED | ACPI_FADT_RESET_REG_SUP;
	f->iapc_boot_arch = ACPI_BOOT_NO_VGA | ACPI_BOOT_NO_MSI | ACPI_BOOT_NO_CMOS_RTC;
	f->reset_reg = io_reg(ACPI_PM_RESET);
	f->reset_value = ACPI_PM_RESET_VALUE;
	f->sleep_control = io_reg(ACPI_PM_SLEEP_CONTROL);
	f->sleep_status = io_reg(ACPI_PM_SLEEP_STATUS);
	f->x_dsdt = dsdt;
	f->hypervisor_vendor = 0x56484d45u; /* "EMHV" */
	seal(&f->h);
}

static void madt(struct madt *m)
{
	memset(m, 0, sizeof(*m));
	header(&m->h, "APIC", sizeof(*m), 5);
	m->lapic_addr = (uint32_t)VLAPIC_BASE;
	m->flags = 0; /* no dual 8259s */
	m->lapic = (struct madt_lapic){ MADT_LAPIC, MADT_LAPIC_LEN, 0, 0, MADT_LAPIC_ENABLED };
	m->ioapic = (struct madt_ioapic){ MADT_IOAPIC, MADT_IOAPIC_LEN, 1, 0, (uint32_t)VIOAPIC_BASE, 0 };
	/* LINT1 is the NMI input, edge and high as the bus conforms (MPS INTI flags 0) */
	m->nmi = (struct madt_lapic_nmi){ MADT_LAPIC_NMI, MADT_LAPIC_NMI_LEN, 0xff, 0, 1 };
	seal(&m->h);
}

size_t vacpi_build(void *buf, size_t size, uint64_t gpa)
{
	size_t dsdt_len = (size_t)(dsdt_aml_end - dsdt_aml);
	size_t o_xsdt = ALIGN(sizeof(struct acpi_rsdp)), o_fadt = ALIGN(o_xsdt + sizeof(struct xsdt));
	size_t o_madt = ALIGN(o_fadt + sizeof(struct acpi_fadt)), o_dsdt = ALIGN(o_madt + sizeof(struct madt));
	uint8_t *b = buf;
	struct acpi_rsdp *r = buf;
	struct xsdt *x = (struct xsdt *)(b + o_xsdt);

	if (o_dsdt + dsdt_len > size || (gpa & 15))
		return 0;
	memset(buf, 0, o_dsdt);
	memcpy(b + o_dsdt, dsdt_aml, dsdt_len);
	fadt((struct acpi_fadt *)(b + o_fadt), gpa + o_dsdt);
	madt((struct madt *)(b + o_madt));
	header(&x->h, "XSDT", sizeof(*x), 1);
	x->entry[0] = gpa + o_fadt;
	x->entry[1] = gpa + o_madt;
	seal(&x->h);
	memcpy(r->sig, "RSD PTR ", 8);
	memcpy(r->oem, OEM_ID, 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt = gpa + o_xsdt;
	r->checksum = acpi_checksum(r, ACPI_RSDP_V1_LEN);
	r->ext_checksum = acpi_checksum(r, sizeof(*r));
	return o_dsdt + dsdt_len;
}
