/* The AMD-V backend's private state, shared by its files only. */
#ifndef ARCH_X86_64_SVM_SVM_H
#define ARCH_X86_64_SVM_SVM_H

#include <stdint.h>
#include <arch/x86_64/virt.h>
#include "svm_hw.h"

struct svm_caps {
	uint32_t features; /* CPUID 0x8000000A EDX */
	uint32_t asids;	   /* number of ASIDs, ASID 0 being the host's */
};
extern struct svm_caps svm;

struct svm_vcpu {
	struct virt_vcpu vcpu;
	struct vmcb *vmcb; /* one page, also its physical address */
	uint32_t asid;
	bool flush;	   /* flush this ASID's translations at the next VMRUN */
	uint64_t cr4;	   /* CR4 as the guest wrote it; the VMCB's has the host's MCE on as well */
};

void svm_enter(uint64_t vmcb_pa, struct vcpu_gprs *g, uint64_t host_state_pa, uint64_t resume_tsc,
	       uint64_t spin_until);
/* The TSC just after the last #VMEXIT (svm_enter.S), SVM_EXIT_TICKS after the exit itself. */
extern uint64_t svm_exit_tsc;
#define SVM_EXIT_TICKS 1 /* push: then the RDTSC */
/* Fill e from the VMCB after #VMEXIT. */
void svm_decode_exit(struct svm_vcpu *v, struct virt_exit *e);

#endif
