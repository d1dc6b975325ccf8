/*
 * A Linux kernel in a VM by the 64-bit boot protocol (the kernel's
 * Documentation/arch/x86/boot.rst): the protected-mode part of the bzImage
 * at its preferred address, a zero page whose e820 map makes all of max RAM
 * (less the PC's reserved hole below 1 MiB, where the ACPI tables are), the
 * command line, the initrd as high as it may go, and an entry at
 * load address + 0x200 in 64-bit mode with the zero page in RSI.
 */
#include <stdio.h>
#include <string.h>
#include "arch/x86_64/timer.h"
#include "drivers/vdev/vacpi.h"
#include "bzimage.h"
#include "hv.h"
#include "linux_load.h"
#include "vm.h"
#include "vm_load.h"

#define PAGE 0x1000ULL

/*
 * The default command line (console, TSC rate, a short boot), before what the user adds. tsc=reliable:
 * the guest reads the host's invariant TSC (plus an offset), but a vCPU that waits while another VM
 * runs misses timer ticks, and Linux's clocksource watchdog would take that for a drifting TSC and
 * fall back to jiffies (a clock in 4 ms steps).
 */
static int default_cmdline(char *buf, size_t n)
{
	return snprintf(buf, n, "console=ttyS0 8250.nr_uarts=1 quiet cryptomgr.notests nokaslr pci=off tsc=reliable "
			"tsc_early_khz=%llu", (unsigned long long)(tsc_hz() / 1000));
}

static const struct bootinfo_module *module(const char *name, const char *what, char *why, size_t n)
{
	const struct bootinfo_module *m = hv_module(name);

	if (!m)
		snprintf(why, n, "no %s '%s' in \\emhv\\ on the boot volume", what, name);
	return m;
}

static int build_cmdline(const struct vm_config *c, const struct bzimage *img, char *line, size_t size,
			 char *why, size_t n)
{
	size_t len = (size_t)default_cmdline(line, size);

	if (c->cmdline && *c->cmdline)
		len += (size_t)snprintf(line + len, len < size ? size - len : 0, " %s", c->cmdline);
	if (len > img->cmdline_max) {
		snprintf(why, n, "command line of %zu bytes is too long (the kernel takes %u)", len,
			 img->cmdline_max);
		return -1;
	}
	return 0;
}

/* The initrd as high as the kernel allows (below max and initrd_addr_max), above the kernel's room. */
static int place_initrd(uint64_t max, const struct bzimage *img, const struct bootinfo_module *rd,
			uint64_t *at, char *why, size_t n)
{
	uint64_t top = max, lowest = img->load_addr + img->init_size;

	if ((uint64_t)img->hdr.initrd_addr_max + 1 < top)
		top = (uint64_t)img->hdr.initrd_addr_max + 1;
	if (rd->size > top || ((top - rd->size) & ~(PAGE - 1)) < lowest) {
		snprintf(why, n, "initrd '%s' (%llu KiB) does not fit between the kernel (up to %llu MiB) and %llu MiB",
			 rd->name, (unsigned long long)(rd->size >> 10), (unsigned long long)(lowest >> 20),
			 (unsigned long long)(top >> 20));
		return -1;
	}
	*at = (top - rd->size) & ~(PAGE - 1);
	return 0;
}

static void e820(struct linux_boot_params *bp, uint64_t max)
{
	static const struct {
		uint64_t start, end;
		uint32_t type;
	} map[] = {
		{ 0, LINUX_LOW_RAM_END, E820_RAM },
		{ LINUX_LOW_RAM_END, LINUX_HIGH_RAM, E820_RESERVED },
	};
	unsigned i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		bp->e820[i] = (struct linux_e820_entry){ map[i].start, map[i].end - map[i].start, map[i].type };
	bp->e820[i++] = (struct linux_e820_entry){ LINUX_HIGH_RAM, max - LINUX_HIGH_RAM, E820_RAM };
	bp->e820_entries = (uint8_t)i;
}

/* What a Linux VM needs, checked from its configuration alone: the files, the kernel, room in max. */
struct prepared {
	const struct bootinfo_module *k, *rd;
	struct bzimage img;
	uint64_t rd_at;
};

static int prepare(const struct vm_config *c, struct prepared *p, char *line, size_t size, char *why, size_t n)
{
	const char *reason;

	p->rd = NULL;
	p->rd_at = 0;
	p->k = module(c->kernel, "kernel", why, n);
	if (!p->k || (c->initrd && !(p->rd = module(c->initrd, "initrd", why, n))))
		return -1;
	if (bzimage_parse((const uint8_t *)p->k->phys, p->k->size, &p->img, &reason)) {
		snprintf(why, n, "kernel '%s': %s", c->kernel, reason);
		return -1;
	}
	if (p->img.init_size > c->max || p->img.load_addr > c->max - p->img.init_size) {
		snprintf(why, n, "kernel '%s' needs RAM up to %llu MiB to boot; max is %llu MiB", c->kernel,
			 (unsigned long long)((p->img.load_addr + p->img.init_size + (1 << 20) - 1) >> 20),
			 (unsigned long long)(c->max >> 20));
		return -1;
	}
	if (c->min < LINUX_HIGH_RAM) {
		snprintf(why, n, "min %llu KiB is too small for Linux (at least 1 MiB)", (unsigned long long)(c->min >> 10));
		return -1;
	}
	return build_cmdline(c, &p->img, line, size, why, n) ||
	       (p->rd && place_initrd(c->max, &p->img, p->rd, &p->rd_at, why, n)) ? -1 : 0;
}

int linux_check(const struct vm_config *c, char *why, size_t n)
{
	static char line[LINUX_CMDLINE_MAX + 64];
	struct prepared p;

	return prepare(c, &p, line, sizeof(line), why, n);
}

int linux_load(struct vm *vm, const struct vm_config *c, struct vcpu_boot_state *bs, char *why, size_t n)
{
	static struct linux_boot_params bp;
	static char line[LINUX_CMDLINE_MAX + 64];
	static uint8_t acpi[LINUX_ACPI_SIZE];
	const struct bootinfo_module *rd;
	const uint8_t *file;
	struct prepared p;
	struct bzimage img;
	uint64_t rd_at;
	unsigned hdr_len;
	size_t acpi_len;

	if (prepare(c, &p, line, sizeof(line), why, n))
		return -1;
	file = (const uint8_t *)p.k->phys;
	img = p.img;
	rd = p.rd;
	rd_at = p.rd_at;

	memset(&bp, 0, sizeof(bp));
	/* the setup header as the file has it, up to its end (the byte at 0x201 says where) */
	hdr_len = 0x202 + file[0x201] - LINUX_SETUP_HDR_OFFSET;
	memcpy(&bp.hdr, file + LINUX_SETUP_HDR_OFFSET, hdr_len < sizeof(bp.hdr) ? hdr_len : sizeof(bp.hdr));
	bp.hdr.type_of_loader = LINUX_LOADER_UNDEFINED;
	bp.hdr.cmd_line_ptr = (uint32_t)LINUX_CMDLINE_GPA;
	bp.hdr.code32_start = (uint32_t)img.load_addr;
	if (rd) {
		bp.hdr.ramdisk_image = (uint32_t)rd_at;
		bp.hdr.ramdisk_size = (uint32_t)rd->size;
		bp.ext_ramdisk_image = (uint32_t)(rd_at >> 32);
		bp.ext_ramdisk_size = (uint32_t)(rd->size >> 32);
	}
	e820(&bp, vm->mem.max);
	acpi_len = vacpi_build(acpi, sizeof(acpi), LINUX_ACPI_GPA);
	bp.acpi_rsdp_addr = LINUX_ACPI_GPA;

	if (!acpi_len || vm_mem_write(&vm->mem, img.load_addr, file + img.kernel_offset, img.kernel_size) ||
	    (rd && vm_mem_write(&vm->mem, rd_at, (const void *)rd->phys, rd->size)) ||
	    vm_mem_write(&vm->mem, LINUX_CMDLINE_GPA, line, strlen(line) + 1) ||
	    vm_mem_write(&vm->mem, LINUX_ACPI_GPA, acpi, acpi_len) ||
	    vm_mem_write(&vm->mem, LINUX_ZERO_PAGE_GPA, &bp, sizeof(bp)) ||
	    vm_load_boot_cpu(vm, LINUX_BOOT_CS, bs)) {
		snprintf(why, n, "could not back the kernel%s and its boot structures above min: the pool ran dry "
			 "(see 'mem')", rd ? ", initrd" : "");
		return -1;
	}
	_Static_assert(LINUX_BOOT_DS == LINUX_BOOT_CS + 8, "__BOOT_DS follows __BOOT_CS");
	snprintf(vm->linux_cmdline, sizeof(vm->linux_cmdline), "%s%s%scommand line: %s", rd ? "initrd " : "",
		 rd ? rd->name : "", rd ? ", " : "", line);
	bs->rip = img.load_addr + LINUX_ENTRY64_OFFSET;
	bs->rsi = LINUX_ZERO_PAGE_GPA;
	bs->rsp = LINUX_ZERO_PAGE_GPA; /* startup_64 pushes a far return here (page 0, RAM) before its own stack */
	return 0;
}
