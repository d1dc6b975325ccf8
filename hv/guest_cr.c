/*
 * What a guest may write to its control registers: one policy for both
 * backends. CR0 keeps paging and protection on (emhv guests live in long
 * mode) with no reserved bits; CR4 takes only the bits the guest's CPUID
 * offers, keeps PAE, never toggles LA57 in long mode, and takes PCIDE only
 * with PCID 0 in CR3 (SDM vol. 3A 2.5, 4.10.1); CR8 holds 4 bits. A write
 * that changes how the guest's linear addresses translate flushes its TLB.
 */
#include <emhv/x86_regs.h>
#include "guest_cpu.h"

#define CR4_PAGING_BITS (CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_LA57 | CR4_PKS)

static uint64_t cr4_allowed;

static bool cr0_valid(uint64_t v)
{
	return !(v >> 32) && (v & CR0_PG) && (v & CR0_PE) && !((v & CR0_NW) && !(v & CR0_CD));
}

static bool cr4_valid(struct virt_vcpu *v, uint64_t old, uint64_t val)
{
	const struct virt_backend *b = virt_get();

	if (!cr4_allowed)
		cr4_allowed = guest_cr4_allowed();
	if ((val & ~cr4_allowed) || !(val & CR4_PAE) || ((val ^ old) & CR4_LA57))
		return false;
	return !((val & ~old & CR4_PCIDE) && (b->get(v, VREG_CR3) & 0xfff));
}

int guest_cr_write(struct virt_vcpu *v, unsigned cr, uint64_t val)
{
	const struct virt_backend *b = virt_get();
	uint64_t old;

	switch (cr) {
	case 0:
		if (!cr0_valid(val))
			return -1;
		b->set(v, VREG_CR0, val);
		return 0;
	case 4:
		old = b->get(v, VREG_CR4);
		if (!cr4_valid(v, old, val))
			return -1;
		b->set(v, VREG_CR4, val);
		if ((old ^ val) & CR4_PAGING_BITS)
			b->flush_guest_tlb(v);
		return 0;
	case 8:
		if (val >> 4)
			return -1;
		b->set(v, VREG_TPR, val);
		return 0;
	default:
		return -1;
	}
}
