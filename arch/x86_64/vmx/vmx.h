/* The VT-x backend's private state, shared by its files only. */
#ifndef ARCH_X86_64_VMX_VMX_H
#define ARCH_X86_64_VMX_VMX_H

#include <stdint.h>
#include <arch/x86_64/virt.h>

/* What probe found: the fixed control values and capability MSRs. */
struct vmx_caps {
	uint32_t revision;
	uint32_t pin, proc, proc2, exit, entry;
	uint64_t ept_caps;
	unsigned timer_shift; /* the preemption timer counts TSC >> timer_shift */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint32_t intr_window; /* PROC_INTR_WINDOW_EXITING when the CPU has it, else 0 */
};
extern struct vmx_caps vmx;

struct vmx_vcpu {
	struct virt_vcpu vcpu;
	paddr_t vmcs;
	paddr_t vapic; /* the virtual-APIC page: its TPR is the guest's CR8 */
	uint64_t eptp;
	uint32_t proc; /* the processor-based controls in its VMCS */
	uint64_t timer_ticks; /* the slice timer its VMCS holds */
	int launched;
};

int vmx_enter(struct vcpu_gprs *g, int launched, uint64_t resume_tsc, uint64_t spin_until);
/* The TSC just after the last VM exit (vmx_enter.S), VMX_EXIT_TICKS after the exit itself. */
extern uint64_t vmx_exit_tsc;
#define VMX_EXIT_TICKS 2 /* push, push: then the RDTSC */
void vmx_exit_point(void);
void vmx_set_cr(int cr, uint64_t val);
/* Fill e from the current VMCS after a VM exit. */
void vmx_decode_exit(struct virt_vcpu *vc, struct virt_exit *e, uint32_t reason);
/* Fill e for a VMLAUNCH/VMRESUME that failed with VMfail (r = 1 invalid, 2 valid). */
void vmx_decode_entry_failure(int r, struct virt_exit *e);

#endif
