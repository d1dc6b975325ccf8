/*
 * Loading a Linux kernel by the x86 boot protocol (include/emhv/linux_boot.h):
 * the bzImage checks, the protected-mode kernel at its preferred address,
 * the zero page with the e820 map, the command line, the initrd and the ACPI
 * tables, and the 64-bit entry.
 */
#ifndef EMHV_HV_LINUX_LOAD_H
#define EMHV_HV_LINUX_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include "bzimage.h"

struct vm;
struct vm_config;
struct vcpu_boot_state;

/* Guest-physical layout of a Linux VM's boot structures (the page tables and GDT are the common ones). */
#define LINUX_ZERO_PAGE_GPA 0x1000ULL
#define LINUX_CMDLINE_GPA 0x20000ULL
#define LINUX_ACPI_GPA 0xe0000ULL
#define LINUX_ACPI_SIZE 0x2000ULL /* the tables take about 1.5 KiB of the reserved hole */
#define LINUX_LOW_RAM_END 0x9fc00ULL /* conventional memory, as on a PC; then reserved up to 1 MiB */
#define LINUX_HIGH_RAM 0x100000ULL
#define LINUX_CMDLINE_MAX BZIMAGE_CMDLINE_MAX

/*
 * Check c for a Linux VM before anything is taken for it: its kernel and initrd files, the kernel's
 * setup header, room in max for the kernel and the initrd, min, the command line; 0, or -1 with why.
 */
int linux_check(const struct vm_config *c, char *why, size_t n);
/*
 * Load c->kernel (and c->initrd, c->cmdline) into vm's memory and fill bs for the 64-bit entry;
 * 0, or -1 with why (a file that is missing or not a bzImage, an initrd or kernel that does not
 * fit in max, a command line too long).
 */
int linux_load(struct vm *vm, const struct vm_config *c, struct vcpu_boot_state *bs, char *why, size_t n);

#endif
