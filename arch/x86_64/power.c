/* Power off and reset through UEFI runtime services (UEFI 2.10, 8.5.1), with chipset fallbacks. */
#include "power.h"
#include "cpu.h"

#define EFI_RT_SIGNATURE 0x56524553544e5552ULL /* "RUNTSERV" */
#define EFI_RT_RESET_SYSTEM 104		       /* header + 10 pointers */
#define EFI_RESET_COLD 0
#define EFI_RESET_SHUTDOWN 2

typedef void(__attribute__((ms_abi)) *efi_reset_fn)(uint32_t type, uint64_t status, uint64_t size,
						    void *data);

static const uint8_t *runtime;

void power_init(uint64_t efi_runtime)
{
	const uint64_t *hdr = (const uint64_t *)efi_runtime;

	if (efi_runtime && hdr[0] == EFI_RT_SIGNATURE)
		runtime = (const uint8_t *)efi_runtime;
}

static void efi_reset(uint32_t type)
{
	efi_reset_fn fn;

	if (!runtime)
		return;
	fn = *(const efi_reset_fn *)(runtime + EFI_RT_RESET_SYSTEM);
	if (fn)
		fn(type, 0, 0, 0);
}

void power_off(void)
{
	irq_disable();
	efi_reset(EFI_RESET_SHUTDOWN);
}

void power_reset(void)
{
	irq_disable();
	efi_reset(EFI_RESET_COLD);
	outb(0xcf9, 0x02); /* PCI reset control: system reset, then hard reset */
	outb(0xcf9, 0x06);
	outb(0x64, 0xfe); /* 8042 keyboard controller pulse */
	for (;;) {	  /* last resort: triple fault */
		static const struct {
			uint16_t limit;
			uint64_t base;
		} __attribute__((packed)) empty = { 0, 0 };

		__asm__ volatile("lidt %0; int3" : : "m"(empty));
	}
}
