/* The host's machine-check handler: read and clear the MCA banks, remember them in words. */
#include <stdio.h>
#include <emhv/x86_msr.h>
#include <emhv/x86_regs.h>
#include <hv/console.h>
#include "cpu.h"
#include "mce.h"
#include "trap.h"

#define CPUID1_EDX_MCE (1u << 7)
#define CPUID1_EDX_MCA (1u << 14)
#define MCG_CAP_COUNT(c) ((unsigned)((c) & 0xff))
#define MC_STATUS(i) (MSR_IA32_MC0_STATUS + 4 * (i))
#define MC_ADDR(i) (MSR_IA32_MC0_STATUS + 4 * (i) + 1)

static uint64_t count;
static char last[160] = "none";

static void on_mce(struct trap_frame *tf)
{
	struct cpuid_regs r = cpuid(1, 0);
	uint64_t mcg = 0;
	unsigned len = 0, banks = 0;

	count++;
	last[0] = 0;
	if ((r.edx & (CPUID1_EDX_MCE | CPUID1_EDX_MCA)) == (CPUID1_EDX_MCE | CPUID1_EDX_MCA)) {
		banks = MCG_CAP_COUNT(rdmsr(MSR_IA32_MCG_CAP));
		mcg = rdmsr(MSR_IA32_MCG_STATUS);
	}
	for (unsigned i = 0; i < banks && len < sizeof(last) - 1; i++) {
		uint64_t st = rdmsr(MC_STATUS(i));

		if (!(st & MCI_STATUS_VAL))
			continue;
		len += (unsigned)snprintf(last + len, sizeof(last) - len, "%sbank %u status 0x%llx addr 0x%llx",
					  len ? ", " : "", i, (unsigned long long)st,
					  (unsigned long long)rdmsr(MC_ADDR(i)));
		wrmsr(MC_STATUS(i), 0);
	}
	if (!len)
		snprintf(last, sizeof(last), "no valid bank, MCG_STATUS 0x%llx", (unsigned long long)mcg);
	kprintf("mce: machine check: %s\n", last);
	if (banks && !(mcg & MCG_STATUS_RIPV)) {
		kprintf("FATAL: the machine check left no context to return to (MCG_STATUS 0x%llx, RIP 0x%llx); "
			"hypervisor halted\n", (unsigned long long)mcg, (unsigned long long)tf->rip);
		for (;;) {
			irq_disable();
			cpu_halt();
		}
	}
	if (banks)
		wrmsr(MSR_IA32_MCG_STATUS, 0);
}

void mce_init(void)
{
	trap_set_handler(18, on_mce);
	/* with CR4.MCE clear a machine check shuts the processor down instead of reaching the handler */
	if (cpuid(1, 0).edx & CPUID1_EDX_MCE)
		write_cr4(read_cr4() | CR4_MCE);
}

uint64_t mce_count(void)
{
	return count;
}

const char *mce_last(void)
{
	return last;
}
