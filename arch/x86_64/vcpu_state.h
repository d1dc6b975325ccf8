/*
 * CPU state that neither the VMCS nor the VMCB switches between guests,
 * kept per vCPU and switched lazily when another vCPU runs on the CPU:
 * x87/SSE (FXSAVE), DR0-DR3, and, where the backend asks for it, DR6 and the
 * SYSCALL MSRs with KERNEL_GS_BASE (VT-x: the guest's SWAPGS and MOV DR
 * change the real registers; AMD-V switches those with VMLOAD/VMSAVE and
 * the VMCB). The hypervisor itself uses none of these registers.
 */
#ifndef ARCH_X86_64_VCPU_STATE_H
#define ARCH_X86_64_VCPU_STATE_H

#include <stdbool.h>
#include <stdint.h>

/* What a vCPU's backend leaves to this file (bits of vcpu_state.what). */
#define VCPU_SWITCH_DR6 (1u << 0)
#define VCPU_SWITCH_MSRS (1u << 1)

/* The MSRs switched with VCPU_SWITCH_MSRS, in this order. */
enum vcpu_msr { VCPU_MSR_STAR, VCPU_MSR_LSTAR, VCPU_MSR_CSTAR, VCPU_MSR_SFMASK, VCPU_MSR_KERNEL_GS_BASE,
		VCPU_MSRS };

struct vcpu_state {
	uint8_t fxsave[512] __attribute__((aligned(16)));
	uint64_t dr[4];
	uint64_t dr6;
	uint64_t msr[VCPU_MSRS];
	unsigned what; /* VCPU_SWITCH_* */
};

/* The reset state: FCW 0x37f, MXCSR 0x1f80, debug registers and MSRs clear. */
void vcpu_state_init(struct vcpu_state *s, unsigned what);
/* Whose state the CPU holds (one CPU for now). */
extern struct vcpu_state *vcpu_state_owner;
void vcpu_state_switch(struct vcpu_state *s);
/* Before entering the guest of s: make s the CPU's state, saving the previous owner's. */
static inline void vcpu_state_load(struct vcpu_state *s)
{
	if (vcpu_state_owner != s)
		vcpu_state_switch(s);
}
/* s goes away: nothing may be saved into it any more. */
void vcpu_state_forget(struct vcpu_state *s);
/* DR0-DR3 (n 0..3) and DR6 (n 6), from the CPU when s is loaded. */
uint64_t vcpu_state_get_dr(struct vcpu_state *s, unsigned n);
void vcpu_state_set_dr(struct vcpu_state *s, unsigned n, uint64_t val);
uint64_t vcpu_state_get_msr(struct vcpu_state *s, enum vcpu_msr m);
void vcpu_state_set_msr(struct vcpu_state *s, enum vcpu_msr m, uint64_t val);

#endif
