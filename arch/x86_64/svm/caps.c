/* AMD-V capabilities in words, from CPUID leaf 0x8000000A and VM_CR. */
#include <arch/x86_64/cpuinfo.h>
#include <arch/x86_64/cpu.h>
#include <emhv/x86_msr.h>

#define SVM_NPT (1u << 0)
#define SVM_NRIPS (1u << 3)
#define SVM_VMCB_CLEAN (1u << 5)
#define SVM_FLUSH_BY_ASID (1u << 6)
#define SVM_DECODE_ASSISTS (1u << 7)

void svm_describe_caps(cpu_print_fn print, int verbose)
{
	struct cpuid_regs r = cpuid(0x8000000a, 0);
	int disabled = !!(rdmsr(MSR_VM_CR) & VM_CR_SVMDIS);

	print("virtualization: AMD-V %s NPT%s\n", (r.edx & SVM_NPT) ? "with" : "without",
	      disabled ? " (disabled by firmware: VM_CR.SVMDIS set)" : "");
	if (!verbose)
		return;
	print("  svm: revision %u, %u ASIDs, next-RIP save: %s, decode assists: %s, "
	      "VMCB clean bits: %s, flush by ASID: %s\n",
	      r.eax & 0xff, r.ebx, cpu_yes_no(r.edx & SVM_NRIPS), cpu_yes_no(r.edx & SVM_DECODE_ASSISTS),
	      cpu_yes_no(r.edx & SVM_VMCB_CLEAN), cpu_yes_no(r.edx & SVM_FLUSH_BY_ASID));
	print("  npt: %s\n", cpu_yes_no(r.edx & SVM_NPT));
}
