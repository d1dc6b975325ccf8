/*
 * The MSRs a guest may read and write, from a table; every other MSR
 * raises #GP in the guest, as on a CPU without it (emhv's CPUID hides the
 * features they belong to). The state lives with the backend (VMCS, VMCB,
 * or the per-vCPU state it switches): EFER, FS/GS base, KERNEL_GS_BASE,
 * the SYSCALL and SYSENTER MSRs, PAT; MISC_ENABLE and AMD's C1E status are
 * constants and the microcode revision zero; the TSC is the host's plus the
 * vCPU's offset, and writing it moves the offset.
 */
#include <stddef.h>
#include <emhv/x86_msr.h>
#include <emhv/x86_regs.h>
#include "guest_cpu.h"

static const struct virt_backend *be(void)
{
	return virt_get();
}

static bool canonical(uint64_t a)
{
	return (uint64_t)(((int64_t)a << 16) >> 16) == a;
}

static int efer_write(struct virt_vcpu *v, uint64_t val)
{
	uint64_t old = be()->get(v, VREG_EFER);

	if (val & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
		return -1;
	if ((val ^ old) & EFER_LME) /* paging is on: LME may not change */
		return -1;
	be()->set(v, VREG_EFER, (val & ~EFER_LMA) | (old & EFER_LMA));
	return 0;
}

static bool pat_valid(uint64_t val)
{
	for (int i = 0; i < 8; i++) {
		uint8_t t = (uint8_t)(val >> (i * 8));

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* CHECK_FIXED: a constant; a write that would change it raises #GP, CHECK_IGNORE: writes vanish. */
enum msr_check { CHECK_ANY, CHECK_CANONICAL, CHECK_PAT, CHECK_EFER, CHECK_TSC, CHECK_LOW32, CHECK_FIXED, CHECK_IGNORE };

struct msr_desc {
	uint32_t index;
	enum virt_reg reg;
	enum msr_check check;
	uint64_t fixed; /* CHECK_FIXED and CHECK_IGNORE: what it reads */
};

/* Fast strings on, no branch trace store, no PEBS; XD not disabled, CPUID not limited (Linux's
 * verify_cpu reads it before it has an IDT, on Intel CPUs of family 6 model 13 and later). */
#define MISC_ENABLE (MISC_ENABLE_FAST_STRING | MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL)

static const struct msr_desc msrs[] = {
	{ MSR_IA32_TSC, VREG_TSC_OFFSET, CHECK_TSC, 0 },
	{ MSR_IA32_SYSENTER_CS, VREG_SYSENTER_CS, CHECK_LOW32, 0 },
	{ MSR_IA32_SYSENTER_ESP, VREG_SYSENTER_ESP, CHECK_CANONICAL, 0 },
	{ MSR_IA32_SYSENTER_EIP, VREG_SYSENTER_EIP, CHECK_CANONICAL, 0 },
	{ MSR_IA32_PAT, VREG_PAT, CHECK_PAT, 0 },
	{ MSR_EFER, VREG_EFER, CHECK_EFER, 0 },
	{ MSR_STAR, VREG_STAR, CHECK_ANY, 0 },
	{ MSR_LSTAR, VREG_LSTAR, CHECK_CANONICAL, 0 },
	{ MSR_CSTAR, VREG_CSTAR, CHECK_CANONICAL, 0 },
	{ MSR_SFMASK, VREG_SFMASK, CHECK_LOW32, 0 },
	{ MSR_FS_BASE, VREG_FS_BASE, CHECK_CANONICAL, 0 },
	{ MSR_GS_BASE, VREG_GS_BASE, CHECK_CANONICAL, 0 },
	{ MSR_KERNEL_GS_BASE, VREG_KERNEL_GS_BASE, CHECK_CANONICAL, 0 },
	{ MSR_IA32_MISC_ENABLE, 0, CHECK_FIXED, MISC_ENABLE },
	{ MSR_IA32_UCODE_REV, 0, CHECK_IGNORE, 0 }, /* no microcode to report or load */
	{ MSR_K8_INT_PENDING_MSG, 0, CHECK_FIXED, 0 }, /* no C1E (Linux reads it on CPUs with erratum 400) */
};

static const struct msr_desc *find(uint32_t index)
{
	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++)
		if (msrs[i].index == index)
			return &msrs[i];
	return NULL;
}

int guest_msr_read(struct virt_vcpu *v, uint32_t msr, uint64_t *val)
{
	const struct msr_desc *d = find(msr);

	if (!d)
		return -1;
	if (d->check == CHECK_FIXED || d->check == CHECK_IGNORE)
		*val = d->fixed;
	else
		*val = d->check == CHECK_TSC ? guest_tsc(v) : be()->get(v, d->reg);
	return 0;
}

uint64_t guest_tsc(struct virt_vcpu *v)
{
	return rdtsc() + be()->get(v, VREG_TSC_OFFSET);
}

int guest_msr_write(struct virt_vcpu *v, uint32_t msr, uint64_t val)
{
	const struct msr_desc *d = find(msr);

	if (!d)
		return -1;
	switch (d->check) {
	case CHECK_CANONICAL:
		if (!canonical(val))
			return -1;
		break;
	case CHECK_LOW32:
		if (val >> 32)
			return -1;
		break;
	case CHECK_PAT:
		if (!pat_valid(val))
			return -1;
		break;
	case CHECK_EFER:
		return efer_write(v, val);
	case CHECK_FIXED:
		return val == d->fixed ? 0 : -1;
	case CHECK_IGNORE:
		return 0;
	case CHECK_TSC:
		val -= rdtsc(); /* the offset that makes the guest's TSC read val now */
		break;
	default:
		break;
	}
	be()->set(v, d->reg, val);
	return 0;
}
