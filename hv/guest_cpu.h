/* What a guest sees of the CPU: filtered CPUID and the MSRs emhv emulates. */
#ifndef EMHV_HV_GUEST_CPU_H
#define EMHV_HV_GUEST_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/virt.h"

/* The guest's answer for CPUID leaf/sub; rdtscp: the backend lets guests run RDTSCP. */
void guest_cpuid(uint32_t leaf, uint32_t sub, bool rdtscp, struct cpuid_regs *r);
/* 0, or -1 when the guest must get #GP. */
int guest_msr_read(struct virt_vcpu *v, uint32_t msr, uint64_t *val);
int guest_msr_write(struct virt_vcpu *v, uint32_t msr, uint64_t val);

#endif
