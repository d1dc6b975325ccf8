/*
 * CPUID as guests see it: the host's answers with what emhv does not give
 * guests taken out (VT-x/AMD-V, XSAVE and AVX, the local APIC, MONITOR,
 * performance counters, topology), the hypervisor bit set, and emhv's own
 * leaves at 0x40000000.
 */
#include "arch/x86_64/cpu.h"
#include <emhv/guest_boot.h>
#include "guest_cpu.h"

#define HV_LEAF_BASE 0x40000000u
#define HV_LEAF_MAX 0x40000001u

/* leaf 1 */
#define L1_ECX_HIDE ((1u << 3) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8) | (1u << 12) | (1u << 15) | \
		     (1u << 21) | (1u << 24) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 29) | (1u << 2) | \
		     (1u << 4))
#define L1_ECX_HYPERVISOR (1u << 31)
#define L1_EDX_HIDE ((1u << 9) | (1u << 12) | (1u << 21) | (1u << 22) | (1u << 28) | (1u << 29) | (1u << 31))
/* leaf 7 subleaf 0: SGX, AVX2, INVPCID, RTM/HLE, AVX-512, PT, ... */
#define L7_EBX_HIDE ((1u << 2) | (1u << 4) | (1u << 5) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 15) | \
		     (1u << 16) | (1u << 17) | (1u << 21) | (1u << 25) | (1u << 26) | (1u << 27) | (1u << 28) | \
		     (1u << 30) | (1u << 31))
#define L7_ECX_KEEP (1u << 0) /* PREFETCHWT1 */
/* 0x80000001: SVM; RDTSCP unless the backend enables it */
#define LX1_ECX_HIDE ((1u << 2) | (1u << 3))

static bool zeroed_leaf(uint32_t leaf)
{
	switch (leaf) {
	case 5: case 6: case 0xa: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12: case 0x14: case 0x1f:
	case 0x8000000a:
		return true;
	default:
		return false;
	}
}

void guest_cpuid(uint32_t leaf, uint32_t sub, bool rdtscp, struct cpuid_regs *r)
{
	if (leaf >= HV_LEAF_BASE && leaf < 0x50000000u) {
		*r = (struct cpuid_regs){ 0 };
		if (leaf == HV_LEAF_BASE) {
			r->eax = HV_LEAF_MAX;
			r->ebx = 0x76686d65; /* "emhv" */
			r->ecx = 0x76686d65;
			r->edx = 0x76686d65;
		} else if (leaf == HV_LEAF_MAX) {
			r->eax = EMHV_ABI_VERSION;
		}
		return;
	}
	*r = cpuid(leaf, sub);
	if (zeroed_leaf(leaf)) {
		*r = (struct cpuid_regs){ 0 };
		return;
	}
	switch (leaf) {
	case 1:
		r->ecx = (r->ecx & ~L1_ECX_HIDE) | L1_ECX_HYPERVISOR;
		r->edx &= ~L1_EDX_HIDE;
		r->ebx = (r->ebx & 0x0000ffffu) | (1u << 16); /* APIC id 0, one logical CPU */
		break;
	case 4:
		r->eax &= 0x3ff; /* caches stay; cores and threads sharing them: one */
		break;
	case 7:
		if (sub == 0) {
			r->ebx &= ~L7_EBX_HIDE;
			r->ecx &= L7_ECX_KEEP;
			r->edx = 0;
		} else {
			*r = (struct cpuid_regs){ 0 };
		}
		break;
	case 0x80000001:
		r->ecx &= ~LX1_ECX_HIDE;
		if (!rdtscp)
			r->edx &= ~(1u << 27);
		break;
	default:
		break;
	}
}
