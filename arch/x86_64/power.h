/* Power off and reset: UEFI runtime ResetSystem, then the chipset's reset registers. */
#ifndef ARCH_X86_64_POWER_H
#define ARCH_X86_64_POWER_H

#include <stdint.h>

/* Remember the UEFI runtime services table (identity-mapped, physical mode). */
void power_init(uint64_t efi_runtime);
/* Returns only if the machine did not power off. */
void power_off(void);
void power_reset(void) __attribute__((noreturn));

#endif
