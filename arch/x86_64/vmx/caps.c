/* VT-x capabilities in words, from CPUID, IA32_FEATURE_CONTROL and the VMX capability MSRs. */
#include <arch/x86_64/cpuinfo.h>
#include <arch/x86_64/cpu.h>
#include <emhv/x86_msr.h>

#include "vmx_hw.h"

/* Control capability MSRs: a control may be 1 when its bit is set in the high half. */
#define MAY(bit) CTL_ALLOWED1(__builtin_ctz(bit))

/* Firmware may lock IA32_FEATURE_CONTROL with VMX off; then VMXON faults. */
static const char *feature_control_state(void)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

	if (!(fc & FEATURE_CONTROL_LOCK))
		return "unlocked (emhv enables VMX)";
	if (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)
		return "locked, VMX enabled";
	return "locked with VMX disabled by firmware";
}

void vmx_describe_caps(cpu_print_fn print, int verbose)
{
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC), proc = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
	uint64_t pin = rdmsr(MSR_IA32_VMX_PINBASED_CTLS), proc2 = 0, ept = 0;

	if (proc & MAY(PROC_SECONDARY)) {
		proc2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		if (proc2 & (MAY(PROC2_EPT) | MAY(PROC2_VPID)))
			ept = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	}
	print("virtualization: VT-x %s EPT\n", (proc2 & MAY(PROC2_EPT)) ? "with" : "without");
	if (!verbose)
		return;
	print("  vmx: VMCS revision 0x%x, %u-byte VMCS, TRUE control MSRs: %s\n",
	      (unsigned)(basic & 0x7fffffff), (unsigned)((basic >> 32) & 0x1fff),
	      cpu_yes_no(basic & VMX_BASIC_TRUE_CTLS));
	print("  feature control: %s\n", feature_control_state());
	print("  ept: %s; 4-level walk: %s, write-back: %s, 2 MiB pages: %s, 1 GiB pages: %s, "
	      "accessed/dirty bits: %s, INVEPT: %s\n",
	      cpu_yes_no(proc2 & MAY(PROC2_EPT)), cpu_yes_no(ept & EPT_CAP_WALK4), cpu_yes_no(ept & EPT_CAP_WB),
	      cpu_yes_no(ept & EPT_CAP_2M), cpu_yes_no(ept & EPT_CAP_1G), cpu_yes_no(ept & EPT_CAP_AD),
	      cpu_yes_no(ept & EPT_CAP_INVEPT));
	print("  vpid: %s (INVVPID: %s), unrestricted guest: %s, preemption timer: %s\n",
	      cpu_yes_no(proc2 & MAY(PROC2_VPID)), cpu_yes_no(ept & EPT_CAP_INVVPID), cpu_yes_no(proc2 & MAY(PROC2_UNRESTRICTED)),
	      cpu_yes_no(pin & MAY(PIN_PREEMPT_TIMER)));
}
