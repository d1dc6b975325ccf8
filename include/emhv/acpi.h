/*
 * ACPI table layouts (ACPI 6.4, chapter 5.2) that emhv both reads (the
 * host's tables, drivers/acpi.c) and writes (a Linux guest's, drivers/vdev/vacpi.c).
 */
#ifndef EMHV_ACPI_H
#define EMHV_ACPI_H

#include <stddef.h>
#include <stdint.h>

struct acpi_rsdp {
	char sig[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
#define ACPI_RSDP_V1_LEN 20 /* the part the first checksum covers */

struct acpi_sdt {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_revision;
	uint32_t creator;
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt) == 36, "SDT header layout");

/* Generic Address Structure (5.2.3.2). */
struct acpi_gas {
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t addr;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");
#define ACPI_GAS_IO 1
#define ACPI_GAS_ACCESS_BYTE 1

/* FADT (5.2.9), revision 6: the fields a hardware-reduced platform fills. */
struct acpi_fadt {
	struct acpi_sdt h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk;
	uint32_t gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len, gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk, x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_vendor;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 layout");
_Static_assert(offsetof(struct acpi_fadt, pm_tmr_blk) == 76, "FADT PM_TMR_BLK");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "FADT X_PM_TMR_BLK");
_Static_assert(offsetof(struct acpi_fadt, sleep_control) == 244, "FADT SLEEP_CONTROL_REG");
#define ACPI_FADT_PM_TMR_BLK 76
#define ACPI_FADT_FLAGS 112
#define ACPI_FADT_X_PM_TMR_BLK 208
#define ACPI_FADT_TMR_VAL_EXT (1u << 8)
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20)
#define ACPI_BOOT_NO_VGA (1u << 2)	 /* IAPC_BOOT_ARCH */
#define ACPI_BOOT_NO_MSI (1u << 3)
#define ACPI_BOOT_NO_CMOS_RTC (1u << 5)
#define ACPI_SLEEP_TYPE_SHIFT 2		 /* sleep control register (4.8.3.7) */
#define ACPI_SLEEP_TYPE_MASK 0x1c
#define ACPI_SLEEP_ENABLE 0x20
#define ACPI_SLEEP_WAKE_STATUS 0x80	 /* sleep status register */

/* MADT (5.2.12): header, local APIC address, flags, then type/length entries. */
#define MADT_ENTRIES 44
#define MADT_LAPIC 0
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC 1
#define MADT_IOAPIC_LEN 12
#define MADT_OVERRIDE 2
#define MADT_OVERRIDE_LEN 10
#define MADT_LAPIC_NMI 4
#define MADT_LAPIC_NMI_LEN 6
#define MADT_LAPIC_ENABLED 1

struct madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == MADT_LAPIC_LEN, "MADT local APIC entry layout");

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == MADT_IOAPIC_LEN, "MADT I/O APIC entry layout");

struct madt_override {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_override) == MADT_OVERRIDE_LEN, "MADT override entry layout");

struct madt_lapic_nmi {
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic_nmi) == MADT_LAPIC_NMI_LEN, "MADT local APIC NMI entry layout");

/* The checksum byte that makes len bytes at p sum to zero (with that byte counted as zero). */
static inline uint8_t acpi_checksum(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return (uint8_t)-s;
}

#endif
