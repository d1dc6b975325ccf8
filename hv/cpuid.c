/*
 * CPUID as guests see it: only the leaves emhv knows, with what it does not
 * give guests taken out (VT-x/AMD-V, XSAVE and AVX, x2APIC, MTRRs,
 * machine checks, MONITOR, RDTSCP, INVPCID, performance counters,
 * topology, TSC_ADJUST, LA57, PKU, UMIP), one logical CPU, the hypervisor
 * bit set, and emhv's own leaves at 0x40000000. Every VM has an xAPIC with
 * the TSC-deadline timer (hv/vm_irq.c), whatever the host has. A leaf above the highest
 * one follows the vendor: Intel answers with the highest basic leaf (SDM
 * vol. 2A, CPUID), AMD with zeros. The CR4 bits a guest may set follow
 * from these answers (guest_cr4_allowed()).
 */
#include <emhv/guest_boot.h>
#include <emhv/x86_regs.h>
#include "arch/x86_64/cpu.h"
#include "guest_cpu.h"

#define HV_LEAF_BASE 0x40000000u
#define HV_LEAF_MAX 0x40000001u
#define HV_RANGE_END 0x50000000u
#define EXT_BASE 0x80000000u
#define BASIC_CAP 0x16u	      /* the highest basic leaf a guest sees */
#define EXT_CAP 0x80000008u   /* the highest extended leaf */
#define INTEL_EBX 0x756e6547u /* "Genu" */

#define BIT(n) (1u << (n))
/* leaf 1 ECX: DTES64, MONITOR, DS-CPL, VMX, SMX, EST, TM2, FMA, xTPR, PDCM, DCA, x2APIC, TSC-deadline,
 * XSAVE, OSXSAVE, AVX, F16C */
#define L1_ECX_HIDE (BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(12) | BIT(14) | BIT(15) | \
		     BIT(18) | BIT(21) | BIT(24) | BIT(26) | BIT(27) | BIT(28) | BIT(29))
#define L1_ECX_HYPERVISOR BIT(31)
#define L1_ECX_TSC_DEADLINE BIT(24)
#define L1_EDX_APIC BIT(9) /* also 0x80000001 EDX on AMD */
/* leaf 1 EDX: MCE, APIC, MTRR, MCA, DS, ACPI, HTT, TM, PBE */
#define L1_EDX_HIDE (BIT(7) | BIT(9) | BIT(12) | BIT(14) | BIT(21) | BIT(22) | BIT(28) | BIT(29) | BIT(31))
/* leaf 7 subleaf 0 EBX: TSC_ADJUST, SGX, HLE, AVX2, INVPCID, RTM, PQM, MPX, PQE, AVX-512, PT */
#define L7_EBX_HIDE (BIT(1) | BIT(2) | BIT(4) | BIT(5) | BIT(10) | BIT(11) | BIT(12) | BIT(14) | BIT(15) | \
		     BIT(16) | BIT(17) | BIT(21) | BIT(25) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31))
#define L7_ECX_KEEP BIT(0) /* PREFETCHWT1 */
/* 0x80000001 ECX: SVM, ExtApicSpace, IBS, SKINIT, WDT, LWP, TopologyExtensions, PerfCtrCore/NB, MONITORX */
#define LX1_ECX_HIDE (BIT(2) | BIT(3) | BIT(10) | BIT(12) | BIT(13) | BIT(15) | BIT(22) | BIT(23) | BIT(24) | \
		      BIT(29))
/* 0x80000001 EDX mirrors leaf 1 EDX on AMD: MCE, APIC, MTRR, MCA; and RDTSCP */
#define LX1_EDX_HIDE (BIT(7) | BIT(9) | BIT(12) | BIT(14) | BIT(27))
#define LX7_EDX_KEEP BIT(8) /* invariant TSC */

static struct {
	bool known, intel;
	uint32_t max_basic, max_ext;
} host;

static void learn_host(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	uint32_t ext = cpuid(EXT_BASE, 0).eax;

	host.intel = r.ebx == INTEL_EBX;
	host.max_basic = r.eax < BASIC_CAP ? r.eax : BASIC_CAP;
	host.max_ext = ext < EXT_CAP ? ext : EXT_CAP;
	host.known = true;
}

static void hypervisor_leaf(uint32_t leaf, struct cpuid_regs *r)
{
	*r = (struct cpuid_regs){ 0 };
	if (leaf == HV_LEAF_BASE) {
		r->eax = HV_LEAF_MAX;
		r->ebx = r->ecx = r->edx = 0x76686d65; /* "emhv" */
	} else if (leaf == HV_LEAF_MAX) {
		r->eax = EMHV_ABI_VERSION;
	}
}

static bool out_of_range(uint32_t leaf)
{
	return (leaf > host.max_basic && leaf < EXT_BASE) || leaf > host.max_ext;
}

/* The host's answer filtered; leaves not listed read as zero. */
static void filtered(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
	*r = cpuid(leaf, sub);
	switch (leaf) {
	case 0:
		r->eax = host.max_basic;
		break;
	case 1:
		r->ecx = (r->ecx & ~L1_ECX_HIDE) | L1_ECX_HYPERVISOR | L1_ECX_TSC_DEADLINE;
		r->edx = (r->edx & ~L1_EDX_HIDE) | L1_EDX_APIC;
		r->ebx = (r->ebx & 0x0000ffffu) | (1u << 16); /* APIC id 0, one logical CPU */
		break;
	case 2:
		break;
	case 4:
		r->eax &= 0x3ff; /* caches stay; cores and threads sharing them: one */
		break;
	case 7:
		if (sub == 0) {
			r->eax = 0; /* no further subleaves */
			r->ebx &= ~L7_EBX_HIDE;
			r->ecx &= L7_ECX_KEEP;
			r->edx = 0;
		} else {
			*r = (struct cpuid_regs){ 0 };
		}
		break;
	case 0x16:
		break;
	case EXT_BASE:
		r->eax = host.max_ext;
		break;
	case 0x80000001:
		r->ecx &= ~LX1_ECX_HIDE;
		r->edx = (r->edx & ~LX1_EDX_HIDE) | (host.intel ? 0 : L1_EDX_APIC);
		break;
	case 0x80000002: case 0x80000003: case 0x80000004: /* brand string */
	case 0x80000005: case 0x80000006:		    /* caches and TLBs */
		break;
	case 0x80000007:
		*r = (struct cpuid_regs){ .edx = r->edx & LX7_EDX_KEEP };
		break;
	case 0x80000008:
		r->ecx = 0; /* one core */
		r->edx = 0;
		break;
	default:
		*r = (struct cpuid_regs){ 0 };
	}
}

void guest_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
	if (!host.known)
		learn_host();
	if (leaf >= HV_LEAF_BASE && leaf < HV_RANGE_END) {
		hypervisor_leaf(leaf, r);
		return;
	}
	if (out_of_range(leaf)) {
		if (!host.intel) {
			*r = (struct cpuid_regs){ 0 };
			return;
		}
		leaf = host.max_basic;
	}
	filtered(leaf, sub, r);
}

/* CR4 bits and the CPUID feature that allows each (leaf, register, bit); always allowed where none. */
static const struct {
	uint64_t cr4;
	uint32_t leaf;
	char reg; /* 'b', 'c', 'd' */
	uint8_t bit;
} cr4_features[] = {
	{ CR4_VME, 1, 'd', 1 },	     { CR4_PVI, 1, 'd', 1 },	  { CR4_DE, 1, 'd', 2 },
	{ CR4_PSE, 1, 'd', 3 },	     { CR4_MCE, 1, 'd', 7 },	  { CR4_PGE, 1, 'd', 13 },
	{ CR4_UMIP, 7, 'c', 2 },     { CR4_LA57, 7, 'c', 16 },	  { CR4_FSGSBASE, 7, 'b', 0 },
	{ CR4_PCIDE, 1, 'c', 17 },   { CR4_OSXSAVE, 1, 'c', 26 }, { CR4_SMEP, 7, 'b', 7 },
	{ CR4_SMAP, 7, 'b', 20 },    { CR4_PKE, 7, 'c', 3 },	  { CR4_CET, 7, 'c', 7 },
	{ CR4_PKS, 7, 'c', 31 },
};

uint64_t guest_cr4_allowed(void)
{
	/* always there in long mode; VMXE, SMXE and Key Locker never */
	uint64_t allowed = CR4_TSD | CR4_PAE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	struct cpuid_regs l1, l7;

	guest_cpuid(1, 0, &l1);
	guest_cpuid(7, 0, &l7);
	for (unsigned i = 0; i < sizeof(cr4_features) / sizeof(cr4_features[0]); i++) {
		const struct cpuid_regs *r = cr4_features[i].leaf == 1 ? &l1 : &l7;
		uint32_t v = cr4_features[i].reg == 'b' ? r->ebx : cr4_features[i].reg == 'c' ? r->ecx : r->edx;

		if (v & BIT(cr4_features[i].bit))
			allowed |= cr4_features[i].cr4;
	}
	return allowed;
}
