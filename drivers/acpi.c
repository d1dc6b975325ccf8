/* ACPI table discovery (ACPI 6.4, ch. 5.2): RSDP, XSDT or RSDT, FADT, MADT. */
#include <string.h>
#include <emhv/acpi.h>
#include "acpi.h"
#include <hv/console.h>

#define ACPI_MAX_TABLE (1u << 20)

static const uint8_t *fadt, *madt;
static uint32_t fadt_len, madt_len;
static char table_list[128];

static int sum_ok(const void *p, uint32_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s == 0;
}

static void note_table(const struct acpi_sdt *t)
{
	size_t n = strlen(table_list);

	if (n + 6 > sizeof(table_list))
		return;
	memcpy(table_list + n, t->sig, 4);
	table_list[n + 4] = ' ';
	table_list[n + 5] = 0;
	if (!memcmp(t->sig, "FACP", 4)) {
		fadt = (const uint8_t *)t;
		fadt_len = t->length;
	} else if (!memcmp(t->sig, "APIC", 4) && t->length >= MADT_ENTRIES) {
		madt = (const uint8_t *)t;
		madt_len = t->length;
	}
}

static const struct acpi_sdt *checked_table(uint64_t phys)
{
	const struct acpi_sdt *t = (const void *)phys;

	if (!phys || t->length < sizeof(*t) || t->length > ACPI_MAX_TABLE || !sum_ok(t, t->length))
		return NULL;
	return t;
}

int acpi_init(uint64_t rsdp_phys)
{
	const struct acpi_rsdp *r = (const void *)rsdp_phys;
	const struct acpi_sdt *root;
	unsigned width, i, n;

	if (!r || memcmp(r->sig, "RSD PTR ", 8) || !sum_ok(r, ACPI_RSDP_V1_LEN)) {
		kprintf("acpi: no valid RSDP, ACPI tables unused\n");
		return -1;
	}
	if (r->revision >= 2 && r->xsdt && sum_ok(r, sizeof(*r))) {
		root = checked_table(r->xsdt);
		width = 8;
	} else {
		root = checked_table(r->rsdt);
		width = 4;
	}
	if (!root) {
		kprintf("acpi: root table missing or bad checksum\n");
		return -1;
	}
	n = (root->length - sizeof(*root)) / width;
	for (i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)(root + 1) + i * width;
		uint64_t phys = 0;
		const struct acpi_sdt *t;

		memcpy(&phys, e, width);
		t = checked_table(phys);
		if (t)
			note_table(t);
	}
	kprintf("acpi: %s (rev %u), tables: %s\n", width == 8 ? "XSDT" : "RSDT", r->revision,
		table_list);
	return 0;
}

int acpi_pm_timer(uint16_t *port, unsigned *bits)
{
	uint32_t p = 0, flags = 0;

	if (!fadt || fadt_len < ACPI_FADT_FLAGS + 4)
		return -1;
	memcpy(&p, fadt + ACPI_FADT_PM_TMR_BLK, 4);
	memcpy(&flags, fadt + ACPI_FADT_FLAGS, 4);
	if (fadt_len >= ACPI_FADT_X_PM_TMR_BLK + 12 && fadt[ACPI_FADT_X_PM_TMR_BLK] == 1) {
		uint64_t x;

		memcpy(&x, fadt + ACPI_FADT_X_PM_TMR_BLK + 4, 8);
		if (x && x < 0x10000)
			p = (uint32_t)x;
	}
	if (!p || p > 0xfffc)
		return -1;
	*port = p;
	*bits = (flags & ACPI_FADT_TMR_VAL_EXT) ? 32 : 24;
	return 0;
}

const char *acpi_table_list(void)
{
	return table_list;
}

/* The n-th MADT entry of this type and at least min_len bytes long, or NULL. */
static const void *madt_entry(uint8_t type, uint8_t min_len, unsigned n)
{
	uint32_t off = MADT_ENTRIES;

	while (madt && off + 2 <= madt_len) {
		const uint8_t *e = madt + off;

		if (e[1] < 2 || e[1] > madt_len - off)
			break; /* a malformed entry ends the walk */
		if (e[0] == type && e[1] >= min_len && n-- == 0)
			return e;
		off += e[1];
	}
	return NULL;
}

int acpi_madt_ioapics(struct acpi_ioapic *out, int max)
{
	const struct madt_ioapic *e;
	int n;

	for (n = 0; (e = madt_entry(MADT_IOAPIC, MADT_IOAPIC_LEN, n)); n++) {
		if (n >= max)
			break;
		out[n].id = e->id;
		out[n].addr = e->addr;
		out[n].gsi_base = e->gsi_base;
	}
	return n;
}

int acpi_madt_isa_override(uint8_t irq, struct acpi_irq_override *out)
{
	const struct madt_override *e;
	unsigned i;

	for (i = 0; (e = madt_entry(MADT_OVERRIDE, MADT_OVERRIDE_LEN, i)); i++) {
		if (e->bus != 0 || e->source != irq)
			continue;
		out->irq = irq;
		out->gsi = e->gsi;
		out->flags = e->flags;
		return 0;
	}
	return -1;
}
