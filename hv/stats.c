/* Hypervisor-wide event counters and the names of exit kinds. */
#include <string.h>
#include "arch/x86_64/cpu.h"
#include "stats.h"

struct hv_stats hv_stats;

static const char *const exit_names[VEXIT_NKINDS] = {
	[VEXIT_CPUID] = "cpuid",	 [VEXIT_IO] = "io",
	[VEXIT_MSR_READ] = "rdmsr",	 [VEXIT_MSR_WRITE] = "wrmsr",
	[VEXIT_HLT] = "hlt",		 [VEXIT_NPF] = "npf",
	[VEXIT_HYPERCALL] = "hypercall", [VEXIT_EXTINT] = "extint",
	[VEXIT_NMI] = "nmi",		 [VEXIT_MCE] = "machine-check",
	[VEXIT_TIMER] = "timer",	 [VEXIT_CR_WRITE] = "cr-write",
	[VEXIT_CR_READ] = "cr-read",
	[VEXIT_INSN] = "instruction",	 [VEXIT_INTR_WINDOW] = "intr-window",
	[VEXIT_SHUTDOWN] = "shutdown",	 [VEXIT_INVALID] = "invalid",
	[VEXIT_UNHANDLED] = "unhandled",
};

void stats_reset(void)
{
	memset(&hv_stats, 0, sizeof(hv_stats));
	hv_stats.start_tsc = rdtsc();
}

const char *stats_exit_name(enum virt_exit_kind k)
{
	return exit_names[k];
}
