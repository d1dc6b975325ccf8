/* What a guest sees of the CPU: filtered CPUID, the CR4 bits that follow from it, the MSRs and CR writes emhv emulates. */
#ifndef EMHV_HV_GUEST_CPU_H
#define EMHV_HV_GUEST_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/virt.h"

/* The guest's answer for CPUID leaf/sub. */
void guest_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r);
/* The CR4 bits the guest's CPUID lets it set. */
uint64_t guest_cr4_allowed(void);
/* The guest's TSC now: the host's plus the vCPU's offset (what its RDTSC reads). */
uint64_t guest_tsc(struct virt_vcpu *v);
/* 0, or -1 when the guest must get #GP. */
int guest_msr_read(struct virt_vcpu *v, uint32_t msr, uint64_t *val);
int guest_msr_write(struct virt_vcpu *v, uint32_t msr, uint64_t val);
/* MOV to CR0, CR4 or CR8 by the guest's rules, with the TLB flush the manuals require; 0, or -1 for #GP. */
int guest_cr_write(struct virt_vcpu *v, unsigned cr, uint64_t val);

#endif
