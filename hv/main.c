/* The core's entry: bring up the CPU, memory, time and the monitor, in that order. */
#include <string.h>
#include "hv.h"
#include "console.h"
#include "monitor.h"
#include "sched.h"
#include "stats.h"
#include "harvest.h"
#include <arch/x86_64/virt.h>
#include "version.h"
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/trap.h>
#include <arch/x86_64/nmi.h>
#include <arch/x86_64/paging.h>
#include <arch/x86_64/timer.h>
#include <arch/x86_64/power.h>
#include <arch/x86_64/cpuinfo.h>
#include <drivers/acpi.h>
#include <drivers/ioapic.h>
#include <mm/boot_mem.h>
#include <mm/frame.h>
#include <mm/zero_cache.h>
#include <mm/vm_take.h>

uint64_t hv_start_tsc;
static struct bootinfo bi;

const struct bootinfo *hv_bootinfo(void)
{
	return &bi;
}

const struct bootinfo_module *hv_module(const char *name)
{
	uint32_t i;

	for (i = 0; i < bi.module_count; i++)
		if (!strcasecmp(bi.modules[i].name, name))
			return &bi.modules[i];
	return NULL;
}

static void __attribute__((noreturn)) boot_fail(const char *what)
{
	kprintf("FATAL: %s; hypervisor halted\n", what);
	console_flush();
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

static void copy_bootinfo(const struct bootinfo *in)
{
	if (!in || in->magic != BOOTINFO_MAGIC || in->version != BOOTINFO_VERSION ||
	    in->size != sizeof(bi) || in->mmap_count > BOOTINFO_MAX_MMAP ||
	    in->module_count > BOOTINFO_MAX_MODULES)
		boot_fail("boot info from the loader is missing or of another version");
	memcpy(&bi, in, sizeof(bi));
}

static void log_boot_times(void)
{
	uint64_t now = rdtsc();

	kprintf("boot: tsc loader entry %llu, exit boot services %llu (%u tries), core entry %llu, "
		"monitor %llu\n",
		(unsigned long long)bi.tsc_loader_entry, (unsigned long long)bi.tsc_exit_bs,
		bi.exit_bs_tries, (unsigned long long)hv_start_tsc, (unsigned long long)now);
	kprintf("boot: loader entry to monitor %llu TSC ticks (%llu us), core entry to monitor "
		"%llu ticks\n",
		(unsigned long long)(now - bi.tsc_loader_entry),
		(unsigned long long)tsc_to_us(now - bi.tsc_loader_entry),
		(unsigned long long)(now - hv_start_tsc));
}

static void run_startup_script(void)
{
	const struct bootinfo_module *m = hv_module("startup.cfg");
	int failed;

	if (!m) {
		kprintf("startup.cfg: not found in \\emhv\\, nothing to run\n");
		return;
	}
	failed = monitor_run_script("startup.cfg", (const char *)m->phys, m->size);
	kprintf("startup.cfg: done, %d line%s failed\n", failed, failed == 1 ? "" : "s");
}

/* VMs need a backend; without one the monitor still runs and says why. */
static void start_virtualization(void)
{
	char why[160];
	const struct virt_backend *b = virt_init(why, sizeof(why));

	if (b) {
		kprintf("virt: %s enabled\n", b->name);
		harvest_init(b->npt_ad());
		vm_take_reserve_fill();
		zero_cache_fill();
	} else {
		zero_cache_set_target(0); /* no guests: nothing to zero ahead for */
		kprintf("virt: no VMs can run: %s\n", why);
	}
}

void hv_main(struct bootinfo *loader_bi)
{
	struct frame_stats st;
	uint64_t top;

	hv_start_tsc = rdtsc();
	console_init();
	kprintf("\nemhv %s (git %s) starting\n", EMHV_VERSION, EMHV_GIT);
	trap_init();
	nmi_init();
	copy_bootinfo(loader_bi);
	top = paging_init(&bi);
	kprintf("paging: identity map up to 0x%llx, image W^X\n", (unsigned long long)top);
	if (boot_mem_init(&bi, top))
		boot_fail("cannot set up the frame allocator");
	frame_get_stats(&st);
	kprintf("mm: %llu frames owned, %llu free, %llu hypervisor\n",
		(unsigned long long)st.owned, (unsigned long long)st.free,
		(unsigned long long)st.hv);
	acpi_init(bi.rsdp);
	ioapic_init();
	power_init(bi.efi_runtime);
	tsc_calibrate();
	kprintf("tsc: %llu Hz (against the %s)\n", (unsigned long long)tsc_hz(), tsc_reference());
	if (apic_timer_init(console_service))
		boot_fail("no usable local APIC timer");
	kprintf("apic: timer at %d Hz (%s mode)\n", TIMER_HZ, apic_x2apic_mode() ? "x2APIC" : "xAPIC");
	console_start_irq();
	cpu_summary(kprintf);
	start_virtualization();
	stats_reset();
	run_startup_script();
	log_boot_times();
	log_boot_done();
	sched_loop();
}
