/*
 * The MSRs a guest may read and write, from a table; every other MSR
 * raises #GP in the guest, as on a CPU without it. State the VMCS/VMCB holds
 * (EFER, FS/GS base, PAT, SYSENTER) goes through the backend.
 */
#include <stddef.h>
#include "guest_cpu.h"

#define EFER_SCE (1ULL << 0)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

static const struct virt_backend *be(void)
{
	return virt_get();
}

static bool canonical(uint64_t a)
{
	return (uint64_t)(((int64_t)a << 16) >> 16) == a;
}

static int reg_read(struct virt_vcpu *v, enum virt_reg r, uint64_t *val)
{
	*val = be()->get(v, r);
	return 0;
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

struct msr_desc {
	uint32_t index;
	enum virt_reg reg; /* VREG_COUNT: special */
	enum { MSR_ANY, MSR_CANONICAL, MSR_PAT, MSR_EFER, MSR_RO } check;
};

static const struct msr_desc msrs[] = {
	{ 0x10, VREG_COUNT, MSR_RO },			/* IA32_TIME_STAMP_COUNTER */
	{ 0x174, VREG_SYSENTER_CS, MSR_ANY },
	{ 0x175, VREG_SYSENTER_ESP, MSR_CANONICAL },
	{ 0x176, VREG_SYSENTER_EIP, MSR_CANONICAL },
	{ 0x277, VREG_PAT, MSR_PAT },
	{ 0xc0000080, VREG_EFER, MSR_EFER },
	{ 0xc0000100, VREG_FS_BASE, MSR_CANONICAL },
	{ 0xc0000101, VREG_GS_BASE, MSR_CANONICAL },
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
	if (d->reg == VREG_COUNT) {
		*val = rdtsc();
		return 0;
	}
	return reg_read(v, d->reg, val);
}

int guest_msr_write(struct virt_vcpu *v, uint32_t msr, uint64_t val)
{
	const struct msr_desc *d = find(msr);

	if (!d || d->check == MSR_RO)
		return -1;
	switch (d->check) {
	case MSR_CANONICAL:
		if (!canonical(val))
			return -1;
		break;
	case MSR_PAT:
		if (!pat_valid(val))
			return -1;
		break;
	case MSR_EFER:
		return efer_write(v, val);
	default:
		break;
	}
	be()->set(v, d->reg, val);
	return 0;
}
