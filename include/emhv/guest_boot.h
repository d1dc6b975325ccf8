/*
 * The guest boot protocol: how emhv places a static ELF64 guest in
 * guest-physical memory and enters it. Shared by the hypervisor and guests.
 *
 * Guest-physical layout (RAM is [0, max); [0, min) is backed at creation):
 *
 *   0x0000 - 0x0fff   unused (left zero)
 *   0x1000 - 0x1fff   struct emhv_boot_params
 *   0x2000 - 0x2fff   GDT (null, code 0x08 64-bit, data 0x10, TSS 0x18) and at
 *                     0x2100 the 104-byte TSS it points at
 *   0x3000 - 0x3fff   PML4; 0x4000: PDPT; 0x5000..: one page directory per GiB
 *   0x100000 -        the ELF's PT_LOAD segments (p_paddr == p_vaddr, at or above
 *                     EMHV_GUEST_IMAGE_BASE); then EMHV_GUEST_STACK_SIZE of stack;
 *                     then free memory from free_start up to max.
 *   [3 GiB, 4 GiB)    devices, never RAM (so max is at most 3 GiB):
 *     0xd0000000 + 4 KiB * i   virtio-mmio device slot i (i < EMHV_VIRTIO_SLOTS),
 *                              raising I/O APIC line EMHV_VIRTIO_IRQ_BASE + i
 *     0xe0000000 + 32 MiB * i  the shared memory of device slot i, if it has any
 *     0xfec00000               the I/O APIC (24 lines)
 *     0xfee00000               the local APIC (xAPIC; APIC ID 0; TSC-deadline timer)
 *   Ports: COM1 at 0x3f8 (ISA IRQ 4), the CMOS clock at 0x70, and the power registers of
 *   hardware-reduced ACPI (below) and the pvpanic port; any of them stops only its own VM.
 *
 * State at entry: 64-bit mode, CPL 0, CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|
 * OSFXSR|OSXMMEXCPT, EFER = LME|LMA|NXE, CR3 = the PML4 above, which
 * identity-maps [0, max rounded up to 2 MiB) with 2 MiB pages, writable and
 * executable (the part at or above max is mapped but is not RAM: touching it
 * stops the VM); CS = 0x08, DS = ES = SS = FS = GS = 0x10, TR = 0x18; RFLAGS = 0x2
 * (interrupts off); IDTR limit 0 (no IDT: the guest installs its own);
 * RSP = stack_top; RDI = EMHV_BOOT_PARAMS_GPA; other registers zero.
 */
#ifndef EMHV_GUEST_BOOT_H
#define EMHV_GUEST_BOOT_H

#include <stdint.h>

#define EMHV_ABI_VERSION 1
#define EMHV_BOOT_MAGIC 0x56484d45u /* "EMHV" */

#define EMHV_BOOT_PARAMS_GPA 0x1000ULL
#define EMHV_GUEST_GDT_GPA 0x2000ULL
#define EMHV_GUEST_PML4_GPA 0x3000ULL
#define EMHV_GUEST_PDPT_GPA 0x4000ULL
#define EMHV_GUEST_PD_GPA 0x5000ULL
#define EMHV_GUEST_IMAGE_BASE 0x100000ULL
#define EMHV_GUEST_STACK_SIZE 0x10000ULL
/* Largest RAM a guest can have: it ends where the devices begin. */
#define EMHV_GUEST_MAX_RAM (3ULL << 30)
#define EMHV_GUEST_IOAPIC_GPA 0xfec00000ULL
#define EMHV_GUEST_LAPIC_GPA 0xfee00000ULL
#define EMHV_VIRTIO_MMIO_GPA 0xd0000000ULL
#define EMHV_VIRTIO_MMIO_SIZE 0x1000ULL
#define EMHV_VIRTIO_SLOTS 8
#define EMHV_VIRTIO_IRQ_BASE 16 /* GSIs above the 16 ISA IRQs, to line 23 */
#define EMHV_SHM_GPA 0xe0000000ULL
#define EMHV_SHM_SLOT_SIZE (32ULL << 20) /* slot 7 ends at 0xf0000000, below the APICs */

/* The power registers a Linux VM's FADT names and its DSDT's pvpanic port (drivers/vdev/vpm.c):
 * writing SLP_TYP 5 with SLP_EN (bit 5) powers the VM off, the reset value resets it (emhv stops
 * it), a pvpanic write of 1 reports a panic. */
#define ACPI_PM_SLEEP_CONTROL 0x600
#define ACPI_PM_SLEEP_STATUS 0x601
#define ACPI_PM_RESET 0x602
#define ACPI_PM_PORTS 3
#define ACPI_PM_RESET_VALUE 0x42
#define ACPI_S5_TYPE 5 /* \_S5's SLP_TYP in the DSDT */
#define PVPANIC_PORT 0x505

#define EMHV_GUEST_CS 0x08
#define EMHV_GUEST_DS 0x10

#define EMHV_BOOT_MAX_ARGS 16
#define EMHV_BOOT_ARGS_BYTES 1024
#define EMHV_VM_NAME_MAX 32

struct emhv_boot_params {
	uint32_t magic;       /* EMHV_BOOT_MAGIC */
	uint32_t abi_version; /* EMHV_ABI_VERSION */
	uint32_t vm_id;
	uint32_t argc;        /* words after the image on the `vm create` line */
	uint64_t mem_min;     /* bytes backed at creation */
	uint64_t mem_max;     /* bytes of RAM the guest sees: [0, mem_max) */
	uint64_t free_start;  /* first free byte after image and stack, 4 KiB aligned */
	uint64_t stack_top;
	uint64_t tsc_khz;     /* TSC frequency as the hypervisor measured it */
	char name[EMHV_VM_NAME_MAX];               /* NUL-terminated */
	uint64_t argv[EMHV_BOOT_MAX_ARGS];         /* guest-physical pointers into args */
	char args[EMHV_BOOT_ARGS_BYTES];           /* NUL-terminated words, e.g. "size=200M" */
};
_Static_assert(sizeof(struct emhv_boot_params) <= 4096, "boot params fit one page");

#endif
