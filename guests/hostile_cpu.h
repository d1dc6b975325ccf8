/*
 * hostile_cpu.h -- the hostile guest's checks of the CPU it is shown: CPUID
 * (group cpu), CR4 and CR8 (cr), MSRs (msr) and the instructions a CPU
 * without their feature refuses (insn). Each decides from the guest's own
 * CPUID, as an operating system would (hostile_check.h); included once by
 * hostile.c.
 */
#ifndef GUEST_HOSTILE_CPU_H
#define GUEST_HOSTILE_CPU_H

#include <emhv/x86_msr.h>
#include "hostile_check.h"
#include "cpu.h"

/* ---- cpu: CPUID ------------------------------------------------------------------- */

#define BASIC_CAP 0x16u	      /* the highest basic leaf emhv shows */
#define EXT_CAP	  0x80000008u /* the highest extended leaf */
#define HV_FIRST  0x40000000u /* the hypervisor range: 0x40000000-0x4fffffff */
#define HV_END	  0x50000000u
#define EXT_FIRST 0x80000000u

static int leaf_in_range(uint32_t leaf)
{
	return leaf <= cf.max_basic || (leaf >= HV_FIRST && leaf < HV_END) ||
	       (leaf >= EXT_FIRST && leaf <= cf.max_ext);
}

/* What a leaf above the highest one answers: Intel the highest basic leaf (SDM vol. 2A CPUID), AMD
 * zeros. */
static struct cpuid_regs out_of_range_answer(void)
{
	struct cpuid_regs zero = {0, 0, 0, 0};

	return cf.intel ? cpuid(cf.max_basic, 0) : zero;
}

/* 1 if leaf answers as a leaf out of range must; else prints what it gave. */
static int out_of_range_ok(struct tally *t, uint32_t leaf)
{
	struct cpuid_regs got = cpuid(leaf, 0), want = out_of_range_answer();

	if (!memcmp(&got, &want, sizeof(got)))
		return 1;
	printf("hostile: %s: cpuid 0x%x (out of range) is %08x %08x %08x %08x, expected %s: %08x "
	       "%08x %08x %08x\n",
	       t->name, leaf, got.eax, got.ebx, got.ecx, got.edx,
	       cf.intel ? "the highest basic leaf (Intel)" : "zeros (AMD)", want.eax, want.ebx,
	       want.ecx, want.edx);
	return 0;
}

/* Every leaf of [first, last] not in range answers as one out of range must: one check. */
static void cpu_out_of_range(struct tally *t, uint32_t first, uint32_t last)
{
	uint32_t leaf = first, bad = 0;

	do {
		if (!leaf_in_range(leaf))
			bad += !out_of_range_ok(t, leaf);
	} while (leaf++ != last);
	check(t, !bad, "cpuid leaves 0x%x-0x%x: %u answer unlike a leaf out of range", first, last,
	      bad);
}

/* Features emhv hides: (leaf, register, bit) must read 0. */
static const struct {
	const char *name;
	uint32_t leaf;
	char reg;
	uint8_t bit;
} cpu_hidden[] = {
    {"MONITOR", 1, 'c', 3},
    {"VMX", 1, 'c', 5},
    {"SMX", 1, 'c', 6},
    {"x2APIC", 1, 'c', 21},
    {"XSAVE", 1, 'c', 26},
    {"OSXSAVE", 1, 'c', 27},
    {"MCE", 1, 'd', 7},
    {"MTRR", 1, 'd', 12},
    {"MCA", 1, 'd', 14},
    {"TSC_ADJUST", 7, 'b', 1},
    {"INVPCID", 7, 'b', 10},
    {"UMIP", 7, 'c', 2},
    {"PKU", 7, 'c', 3},
    {"OSPKE", 7, 'c', 4},
    {"CET_SS", 7, 'c', 7},
    {"LA57", 7, 'c', 16},
    {"RDPID", 7, 'c', 22},
    {"Key Locker", 7, 'c', 23},
    {"PKS", 7, 'c', 31},
    {"CET_IBT", 7, 'd', 20},
    {"SVM", 0x80000001, 'c', 2},
    {"MONITORX", 0x80000001, 'c', 29},
    {"RDTSCP", 0x80000001, 'd', 27},
};

static uint32_t cf_reg(uint32_t leaf, char reg)
{
	const struct cpuid_regs *r = leaf == 1 ? &cf.l1 : leaf == 7 ? &cf.l7 : &cf.lx1;

	return reg == 'b' ? r->ebx : reg == 'c' ? r->ecx : r->edx;
}

static void cpu_checks(struct tally *t)
{
	static const uint32_t far_leaves[] = {0x3fffffff, 0x50000000, 0x7fffffff, 0x8fffffff,
					      0xc0000000, 0xc0000001, 0xffffffff};
	static const struct {
		const char *name;
		uint8_t bit;
	} mirror[] = {{"MCE", 7}, {"APIC", 9}, {"MTRR", 12}, {"MCA", 14}};
	struct cpuid_regs sev;
	size_t i;

	printf("hostile: cpu: \"%s\"\n", cf.brand);
	printf("hostile: cpu: %s, max leaves 0x%x and 0x%x; leaf 1 ecx %08x edx %08x, leaf 7 ebx "
	       "%08x ecx %08x edx %08x, 0x80000001 ecx %08x edx %08x\n",
	       cf.intel ? "Intel"
	       : cf.amd ? "AMD"
			: "unknown vendor",
	       cf.max_basic, cf.max_ext, cf.l1.ecx, cf.l1.edx, cf.l7.ebx, cf.l7.ecx, cf.l7.edx,
	       cf.lx1.ecx, cf.lx1.edx);
	check(t, cf.intel || cf.amd, "cpuid 0: vendor is neither Intel nor AMD (ebx %08x)",
	      cf.l0.ebx);
	check(t, cf.max_basic <= BASIC_CAP, "cpuid 0: max basic leaf 0x%x is above 0x%x",
	      cf.max_basic, BASIC_CAP);
	check(t, cf.max_ext >= 0x80000001 && cf.max_ext <= EXT_CAP,
	      "cpuid 0x80000000: max extended leaf 0x%x is not in [0x80000001, 0x%x]", cf.max_ext,
	      EXT_CAP);

	if (cf.intel || cf.amd) {
		/* every basic and extended leaf a CPU of today may have, then far ones */
		cpu_out_of_range(t, cf.max_basic + 1, 0x20);
		cpu_out_of_range(t, cf.max_ext + 1, 0x80000021);
		for (i = 0; i < sizeof(far_leaves) / sizeof(far_leaves[0]); i++)
			cpu_out_of_range(t, far_leaves[i], far_leaves[i]);
	}

	/* 0x80000001 EDX mirrors leaf 1 EDX on AMD (reserved, 0, on Intel) */
	for (i = 0; i < sizeof(mirror) / sizeof(mirror[0]); i++) {
		int want = cf.amd ? bit(cf.l1.edx, mirror[i].bit) : 0;

		check(t, bit(cf.lx1.edx, mirror[i].bit) == want,
		      "cpuid 0x80000001 edx bit %d (%s) is %d, expected %d (leaf 1 edx says %d)",
		      mirror[i].bit, mirror[i].name, bit(cf.lx1.edx, mirror[i].bit), want,
		      bit(cf.l1.edx, mirror[i].bit));
	}

	/* SEV: no such leaf in range, so zeros, or on Intel what any leaf out of range gives */
	sev = cpuid(0x8000001f, 0);
	if (leaf_in_range(0x8000001f))
		check(t, !sev.eax && !sev.ebx && !sev.ecx && !sev.edx,
		      "cpuid 0x8000001f (SEV) is %08x %08x %08x %08x, expected zeros", sev.eax,
		      sev.ebx, sev.ecx, sev.edx);
	else
		cpu_out_of_range(t, 0x8000001f, 0x8000001f);

	for (i = 0; i < sizeof(cpu_hidden) / sizeof(cpu_hidden[0]); i++)
		check(t, !bit(cf_reg(cpu_hidden[i].leaf, cpu_hidden[i].reg), cpu_hidden[i].bit),
		      "cpuid 0x%x e%cx bit %d (%s) is set: it should be hidden", cpu_hidden[i].leaf,
		      cpu_hidden[i].reg, cpu_hidden[i].bit, cpu_hidden[i].name);
	check(t, !(cf.l7.ecx & ~1u), "cpuid 7.0 ecx is %08x: only bit 0 (PREFETCHWT1) may show",
	      cf.l7.ecx);
	check(t, bit(cf.l1.ecx, 31), "cpuid 1 ecx bit 31 (hypervisor) is clear");
	check(t, HAS_TSC, "cpuid 1 edx bit 4 (TSC) is clear");
}

/* ---- cr: CR4 bits by CPUID, LA57, PAE, PCIDE, CR8 ---------------------------------- */

/* A write that must raise #GP and leave CR4 as it was; undone if it went through. */
static void cr4_refused(struct tally *t, const char *what, uint64_t val)
{
	uint64_t cr4 = read_cr4(), after;
	int vec = probe_write_cr4(val);

	after = read_cr4();
	if (vec < 0)
		probe_write_cr4(cr4);
	check(t, vec == VEC_GP && after == cr4,
	      "mov to cr4 %s (0x%llx -> 0x%llx): vector %d, cr4 now 0x%llx; expected #GP, cr4 "
	      "unchanged",
	      what, (unsigned long long)cr4, (unsigned long long)val, vec,
	      (unsigned long long)after);
}

/* A bit CPUID offers: setting and clearing it must work and read back. */
static void cr4_toggles(struct tally *t, const char *name, uint64_t bit)
{
	uint64_t cr4 = read_cr4();
	int on = probe_write_cr4(cr4 ^ bit);
	uint64_t mid = read_cr4();
	int off = probe_write_cr4(cr4);
	uint64_t end = read_cr4();

	check(t, on < 0 && off < 0 && mid == (cr4 ^ bit) && end == cr4,
	      "cr4.%s (offered) toggles: vectors %d, %d; cr4 0x%llx -> 0x%llx -> 0x%llx", name, on,
	      off, (unsigned long long)cr4, (unsigned long long)mid, (unsigned long long)end);
}

/* CR4.PCIDE when CPUID offers PCID: only with CR3[11:0] = 0 (SDM vol. 3A 4.10.1). */
static void cr4_pcide(struct tally *t)
{
	uint64_t cr3 = read_cr3();

	write_cr3(cr3 | 1); /* bit 0 of CR3 is ignored while PCIDE is 0 */
	cr4_refused(t, "setting PCIDE with CR3[11:0] = 1", read_cr4() | CR4_PCIDE);
	write_cr3(cr3);
	cr4_toggles(t, "PCIDE", CR4_PCIDE);
}

static void cr8_checks(struct tally *t)
{
	uint64_t v;
	int vec;

	vec = probe_write_cr8(16);
	v = read_cr8();
	expect_vector(t, "mov 16 to cr8", vec, VEC_GP);
	expect_eq(t, "cr8 after the refused write of 16", v, 0);
	expect_vector(t, "mov 1<<63 to cr8", probe_write_cr8(1ULL << 63), VEC_GP);
	expect_vector(t, "mov 15 to cr8", probe_write_cr8(15), -1);
	expect_eq(t, "cr8 after writing 15", read_cr8(), 15);
	expect_vector(t, "mov 0 to cr8", probe_write_cr8(0), -1);
	expect_eq(t, "cr8 after writing 0", read_cr8(), 0);
}

/* The instruction at 1: must complete and the four pushes behind it run: 32 bytes pushed. */
#define SLED	   "push %%rax; push %%rax; push %%rax; push %%rax\n"
#define SLED_BYTES 32

/* "3e 0f 22 e0"-style: mov to CR4 behind a DS prefix; the vector, and bytes the sled pushed. */
static int ds_mov_cr4(uint64_t val, uint64_t *pushed)
{
	uint64_t saved, after;

	probe_arm();
	asm volatile("mov %%rsp, %[saved]\n"
		     "1:\t.byte 0x3e\n\t"
		     "mov %[val], %%cr4\n\t" SLED "2:\n\t"
		     "mov %%rsp, %[after]\n\t"
		     "mov %[saved], %%rsp\n\t" PROBE_ENTRY
		     : [saved] "=&r"(saved), [after] "=&r"(after)
		     : [val] "r"(val)
		     : "memory");
	*pushed = saved - after;
	return probe_vector();
}

static void cr_checks(struct tally *t)
{
	/* The CR4 bits a guest may not set unless CPUID offers their feature (SDM vol. 3A 2.5). */
	const struct {
		const char *name;
		uint64_t bit;
		int offered, toggle; /* toggle: safe to flip in this guest */
	} bits[] = {
	    {"VME", CR4_VME, HAS_VME, 0},
	    {"PVI", CR4_PVI, HAS_VME, 0},
	    {"TSD", CR4_TSD, HAS_TSC, 1},
	    {"DE", CR4_DE, HAS_DE, 1},
	    {"PSE", CR4_PSE, HAS_PSE, 1},
	    {"MCE", CR4_MCE, HAS_MCE, 0},
	    {"PGE", CR4_PGE, HAS_PGE, 1},
	    {"PCE", CR4_PCE, 1, 1},
	    {"UMIP", CR4_UMIP, HAS_UMIP, 0},
	    {"VMXE", CR4_VMXE, 0, 0}, /* never: emhv offers no nested virtualization */
	    {"SMXE", CR4_SMXE, 0, 0},
	    {"bit 15 (reserved)", 1ULL << 15, 0, 0},
	    {"FSGSBASE", CR4_FSGSBASE, HAS_FSGSBASE, 1},
	    {"OSXSAVE", CR4_OSXSAVE, HAS_XSAVE, 0},
	    {"KL (bit 19)", CR4_KL, 0, 0}, /* never: the wrapping key is per core */
	    {"SMEP", CR4_SMEP, HAS_SMEP, 0},
	    {"SMAP", CR4_SMAP, HAS_SMAP, 0},
	    {"PKE", CR4_PKE, HAS_PKU, 0},
	    {"CET", CR4_CET, HAS_CET_SS || HAS_CET_IBT, 0},
	    {"PKS", CR4_PKS, HAS_PKS, 0},
	    {"UINTR (bit 25)", 1ULL << 25, HAS_UINTR, 0},
	    {"bit 26 (reserved)", 1ULL << 26, 0, 0},
	    {"LAM_SUP (bit 28)", 1ULL << 28, HAS_LAM, 0},
	    {"bit 31 (reserved)", 1ULL << 31, 0, 0},
	    {"bit 32 (reserved)", 1ULL << 32, 0, 0},
	    {"bit 63 (reserved)", 1ULL << 63, 0, 0},
	};
	uint64_t cr4 = read_cr4(), pushed, after;
	char what[64];
	size_t i;
	int vec;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (!bits[i].offered) {
			snprintf(what, sizeof(what), "setting %s (not offered)", bits[i].name);
			cr4_refused(t, what, read_cr4() | bits[i].bit);
		} else if (bits[i].toggle) {
			cr4_toggles(t, bits[i].name, bits[i].bit);
		} else {
			printf("hostile: cr: note: CPUID offers %s: not toggled here\n",
			       bits[i].name);
		}
	}
	if (HAS_PCID)
		cr4_pcide(t);
	else
		cr4_refused(t, "setting PCIDE (not offered)", read_cr4() | CR4_PCIDE);
	cr4_refused(t, "toggling LA57 in long mode", read_cr4() ^ CR4_LA57);
	cr4_refused(t, "clearing PAE in long mode", read_cr4() & ~CR4_PAE);
	expect_eq(t, "cr4 after the cr4 checks", read_cr4(), cr4);

	/* DS-prefixed: flip PGE (or write the same value) and back; each completes exactly */
	vec = ds_mov_cr4(cr4 ^ (HAS_PGE ? CR4_PGE : 0), &pushed);
	after = read_cr4();
	check(t, vec < 0 && pushed == SLED_BYTES && after == (cr4 ^ (HAS_PGE ? CR4_PGE : 0)),
	      "ds mov to cr4 0x%llx: vector %d, %llu of %d sled bytes pushed, cr4 now 0x%llx",
	      (unsigned long long)(cr4 ^ (HAS_PGE ? CR4_PGE : 0)), vec, (unsigned long long)pushed,
	      SLED_BYTES, (unsigned long long)after);
	vec = ds_mov_cr4(cr4, &pushed);
	check(
	    t, vec < 0 && pushed == SLED_BYTES && read_cr4() == cr4,
	    "ds mov to cr4 0x%llx (back): vector %d, %llu of %d sled bytes pushed, cr4 now 0x%llx",
	    (unsigned long long)cr4, vec, (unsigned long long)pushed, SLED_BYTES,
	    (unsigned long long)read_cr4());
	if (read_cr4() != cr4)
		probe_write_cr4(cr4);

	cr8_checks(t);
}

/* ---- msr: the MSRs a guest owns, the ones it does not, the TSC --------------------- */

static uint64_t rdmsr_or(uint32_t msr, uint64_t dflt)
{
	uint64_t v;

	return probe_rdmsr(msr, &v) < 0 ? v : dflt;
}

/* Write val, read it back, restore the old value, read that back. */
static void msr_round_trip(struct tally *t, const char *name, uint32_t msr, uint64_t val)
{
	uint64_t old = 0, got = 0, back = 0;
	int r0 = probe_rdmsr(msr, &old), w1 = probe_wrmsr(msr, val), r1 = probe_rdmsr(msr, &got);
	int w2 = probe_wrmsr(msr, old), r2 = probe_rdmsr(msr, &back);

	check(t, r0 < 0 && w1 < 0 && r1 < 0 && w2 < 0 && r2 < 0 && got == val && back == old,
	      "%s round trip: wrote 0x%llx, read 0x%llx, restored 0x%llx, read 0x%llx (vectors %d "
	      "%d %d %d %d)",
	      name, (unsigned long long)val, (unsigned long long)got, (unsigned long long)old,
	      (unsigned long long)back, r0, w1, r1, w2, r2);
}

/* A write that must raise #GP and change nothing. */
static void msr_write_refused(struct tally *t, const char *what, uint32_t msr, uint64_t val)
{
	uint64_t old = rdmsr_or(msr, 0), now;
	int vec = probe_wrmsr(msr, val);

	now = rdmsr_or(msr, 0);
	if (vec < 0)
		probe_wrmsr(msr, old);
	check(t, vec == VEC_GP && now == old,
	      "wrmsr %s 0x%llx: vector %d, value now 0x%llx (was 0x%llx); expected #GP, unchanged",
	      what, (unsigned long long)val, vec, (unsigned long long)now, (unsigned long long)old);
}

/* An MSR that exists exactly when CPUID offers its feature. */
static void msr_by_cpuid(struct tally *t, const char *name, uint32_t msr, int offered,
			 const char *feature)
{
	uint64_t v;
	int vec = probe_rdmsr(msr, &v);

	check(t, offered ? vec < 0 : vec == VEC_GP,
	      "rdmsr %s (0x%x): vector %d; CPUID %s %s, so expected %s", name, msr, vec,
	      offered ? "offers" : "hides", feature, offered ? "no fault" : "#GP");
}

static uint64_t gs_read0(void)
{
	uint64_t v;

	asm volatile("mov %%gs:0, %0" : "=r"(v) : : "memory");
	return v;
}

static void swapgs(void)
{
	asm volatile("swapgs" : : : "memory");
}

/* SWAPGS exchanges GS.base with KERNEL_GS_BASE: as RDMSR reads them and as %gs: addresses. */
static void msr_swapgs(struct tally *t)
{
	static uint64_t word_a = 0xaaaa0001, word_b = 0xbbbb0002;
	const uint64_t a = (uint64_t)&word_a, b = (uint64_t)&word_b;
	uint64_t gs0 = rdmsr_or(MSR_GS_BASE, 0), kgs0 = rdmsr_or(MSR_KERNEL_GS_BASE, 0);
	uint64_t gs, kgs, seen;

	probe_wrmsr(MSR_GS_BASE, a);
	probe_wrmsr(MSR_KERNEL_GS_BASE, b);
	seen = gs_read0();
	check(t, seen == word_a, "with GS.base = &a, %%gs:0 reads 0x%llx, not a",
	      (unsigned long long)seen);
	swapgs();
	gs = rdmsr_or(MSR_GS_BASE, 0);
	kgs = rdmsr_or(MSR_KERNEL_GS_BASE, 0);
	seen = gs_read0();
	check(t, gs == b && kgs == a && seen == word_b,
	      "after swapgs GS.base 0x%llx, KERNEL_GS_BASE 0x%llx, %%gs:0 0x%llx; expected 0x%llx, "
	      "0x%llx, 0x%llx",
	      (unsigned long long)gs, (unsigned long long)kgs, (unsigned long long)seen,
	      (unsigned long long)b, (unsigned long long)a, (unsigned long long)word_b);
	swapgs();
	gs = rdmsr_or(MSR_GS_BASE, 0);
	kgs = rdmsr_or(MSR_KERNEL_GS_BASE, 0);
	check(
	    t, gs == a && kgs == b,
	    "after a second swapgs GS.base 0x%llx, KERNEL_GS_BASE 0x%llx; expected 0x%llx, 0x%llx",
	    (unsigned long long)gs, (unsigned long long)kgs, (unsigned long long)a,
	    (unsigned long long)b);
	probe_wrmsr(MSR_GS_BASE, gs0);
	probe_wrmsr(MSR_KERNEL_GS_BASE, kgs0);
}

#define TSC_JUMP (1ULL << 40)

/* Write the TSC; RDTSC right after must read the value written plus a little. */
static void msr_tsc_write(struct tally *t, const char *what, uint64_t val)
{
	uint64_t khz = boot_params()->tsc_khz;
	uint64_t window = khz ? khz * 200 : 1ULL << 32; /* 200 ms: a slice of another VM may pass */
	int vec = probe_wrmsr(MSR_IA32_TSC, val);
	uint64_t now = rdtsc();

	check(t, vec < 0 && now >= val && now - val <= window,
	      "wrmsr TSC %s 0x%llx: vector %d, rdtsc then reads 0x%llx (%lld ticks later)", what,
	      (unsigned long long)val, vec, (unsigned long long)now, (long long)(now - val));
}

static void msr_checks(struct tally *t)
{
	uint64_t a, m, b;
	int vec;

	msr_round_trip(t, "STAR", MSR_STAR, 0x0023001012345678ULL);
	msr_round_trip(t, "LSTAR", MSR_LSTAR, 0xffffffff81234560ULL);
	msr_round_trip(t, "CSTAR", MSR_CSTAR, 0x00007fff12345670ULL);
	msr_round_trip(t, "SFMASK", MSR_SFMASK, 0x47700);
	msr_round_trip(t, "KERNEL_GS_BASE", MSR_KERNEL_GS_BASE, 0xffff888012345000ULL);
	msr_round_trip(t, "FS_BASE", MSR_FS_BASE, 0x00007f0012345000ULL);
	msr_round_trip(t, "SYSENTER_CS", MSR_IA32_SYSENTER_CS, 0x10);
	msr_round_trip(t, "SYSENTER_ESP", MSR_IA32_SYSENTER_ESP, 0xffffc90000001000ULL);
	msr_round_trip(t, "SYSENTER_EIP", MSR_IA32_SYSENTER_EIP, 0xffffffff81000000ULL);
	msr_round_trip(t, "PAT", MSR_IA32_PAT, 0x0007010600070106ULL);
	msr_swapgs(t);

	msr_write_refused(t, "LSTAR (not canonical)", MSR_LSTAR, 0x0000800000000000ULL);
	msr_write_refused(t, "CSTAR (not canonical)", MSR_CSTAR, 0x8000000000000000ULL);
	msr_write_refused(t, "KERNEL_GS_BASE (not canonical)", MSR_KERNEL_GS_BASE,
			  0x0001000000000000ULL);
	msr_write_refused(t, "FS_BASE (not canonical)", MSR_FS_BASE, 0xfff0000000000000ULL);
	msr_write_refused(t, "SFMASK (bit 32)", MSR_SFMASK, 1ULL << 32);
	msr_write_refused(t, "SYSENTER_CS (bit 32)", MSR_IA32_SYSENTER_CS, 1ULL << 32);
	msr_write_refused(t, "PAT (type 2 in entry 0)", MSR_IA32_PAT, 0x0007040600070402ULL);

	msr_by_cpuid(t, "MCG_CAP", MSR_IA32_MCG_CAP, HAS_MCA || HAS_MCE, "MCA/MCE");
	msr_by_cpuid(t, "TSC_ADJUST", MSR_IA32_TSC_ADJUST, HAS_TSC_ADJUST, "TSC_ADJUST");
	msr_by_cpuid(t, "TSC_AUX", MSR_TSC_AUX, HAS_RDTSCP || HAS_RDPID, "RDTSCP/RDPID");
	msr_by_cpuid(t, "APIC_BASE", MSR_IA32_APIC_BASE, HAS_APIC, "APIC");
	msr_by_cpuid(t, "MTRRCAP", 0xfe, HAS_MTRR, "MTRR");
	if (!HAS_TSC_ADJUST)
		msr_write_refused(t, "TSC_ADJUST (hidden)", MSR_IA32_TSC_ADJUST, 0);

	/* the TSC: RDMSR reads what RDTSC does; a write moves it, forward and back */
	a = rdtsc();
	vec = probe_rdmsr(MSR_IA32_TSC, &m);
	b = rdtsc();
	check(t, vec < 0 && a <= m && m <= b,
	      "rdmsr TSC: vector %d, 0x%llx is not between two rdtsc 0x%llx and 0x%llx", vec,
	      (unsigned long long)m, (unsigned long long)a, (unsigned long long)b);
	msr_tsc_write(t, "forward", rdtsc() + TSC_JUMP);
	msr_tsc_write(t, "back", rdtsc() - TSC_JUMP);
}

/* ---- insn: instructions refused as on a CPU without them, and the no-ops ----------- */

static uint8_t insn_page[4096] __attribute__((aligned(4096)));

#define PROBE0(fn, text)                                                                           \
	static int fn(void)                                                                        \
	{                                                                                          \
		probe_arm();                                                                       \
		asm volatile("1: " text "\n2:\n\t" PROBE_ENTRY : : : "memory");                    \
		return probe_vector();                                                             \
	}

PROBE0(probe_wbinvd, "wbinvd")
PROBE0(probe_invd, "invd")
PROBE0(probe_pause, "pause")
PROBE0(probe_vmxoff, "vmxoff")
PROBE0(probe_vmlaunch, "vmlaunch")
PROBE0(probe_vmresume, "vmresume")
PROBE0(probe_stgi, "stgi")
PROBE0(probe_clgi, "clgi")
PROBE0(probe_rsm, "rsm")
PROBE0(probe_vmfunc, ".byte 0x0f, 0x01, 0xd4")
PROBE0(probe_encls, ".byte 0x0f, 0x01, 0xcf")

static int probe_monitor(void)
{
	probe_arm();
	asm volatile("1: monitor\n2:\n\t" PROBE_ENTRY
		     :
		     : "a"(insn_page), "c"(0), "d"(0)
		     : "memory");
	return probe_vector();
}

static int probe_mwait(void)
{
	probe_arm();
	asm volatile("1: mwait\n2:\n\t" PROBE_ENTRY : : "a"(0), "c"(0) : "memory");
	return probe_vector();
}

static int probe_rdtscp(void)
{
	uint32_t lo, hi, aux;

	probe_arm();
	asm volatile("1: rdtscp\n2:\n\t" PROBE_ENTRY : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
	return probe_vector();
}

static int probe_rdpid(void)
{
	uint64_t v = 0;

	probe_arm();
	asm volatile("1: .byte 0xf3, 0x0f, 0xc7, 0xf8\n2:\n\t" PROBE_ENTRY /* rdpid %rax */
		     : "+a"(v)
		     :
		     : "memory");
	return probe_vector();
}

static int probe_invpcid(void)
{
	static const uint64_t desc[2] __attribute__((aligned(16))) = {0, 0};

	probe_arm();
	/* type 2: every context, globals included; harmless if it ran */
	asm volatile("1: invpcid (%0), %1\n2:\n\t" PROBE_ENTRY : : "r"(desc), "r"(2ULL) : "memory");
	return probe_vector();
}

static int probe_invlpga(void)
{
	probe_arm();
	asm volatile("1: invlpga\n2:\n\t" PROBE_ENTRY : : "a"(insn_page), "c"(0) : "memory");
	return probe_vector();
}

static int probe_xsetbv(void)
{
	probe_arm();
	asm volatile("1: xsetbv\n2:\n\t" PROBE_ENTRY : : "a"(1), "d"(0), "c"(0) : "memory");
	return probe_vector();
}

static int probe_rdpmc(void)
{
	uint32_t lo, hi;

	probe_arm();
	asm volatile("1: rdpmc\n2:\n\t" PROBE_ENTRY : "=a"(lo), "=d"(hi) : "c"(0) : "memory");
	return probe_vector();
}

static int probe_vmxon(void)
{
	uint64_t pa = (uint64_t)insn_page;

	probe_arm();
	asm volatile("1: vmxon %0\n2:\n\t" PROBE_ENTRY : : "m"(pa) : "memory");
	return probe_vector();
}

static int probe_vmread(void)
{
	uint64_t v = 0;

	probe_arm();
	asm volatile("1: vmread %1, %0\n2:\n\t" PROBE_ENTRY : "+r"(v) : "r"(0x6c00ULL) : "memory");
	return probe_vector();
}

static int probe_vmrun(void)
{
	probe_arm();
	asm volatile("1: vmrun\n2:\n\t" PROBE_ENTRY : : "a"(insn_page) : "memory");
	return probe_vector();
}

static int probe_vmload(void)
{
	probe_arm();
	asm volatile("1: vmload\n2:\n\t" PROBE_ENTRY : : "a"(insn_page) : "memory");
	return probe_vector();
}

static int probe_vmsave(void)
{
	probe_arm();
	asm volatile("1: vmsave\n2:\n\t" PROBE_ENTRY : : "a"(insn_page) : "memory");
	return probe_vector();
}

static int probe_skinit(void)
{
	probe_arm();
	asm volatile("1: skinit\n2:\n\t" PROBE_ENTRY : : "a"(insn_page) : "memory");
	return probe_vector();
}

static int probe_getsec(void)
{
	probe_arm();
	asm volatile("1: getsec\n2:\n\t" PROBE_ENTRY : : "a"(0), "b"(0) : "memory");
	return probe_vector();
}

static void insn_checks(struct tally *t)
{
	static const struct {
		const char *name;
		int (*probe)(void);
		int want; /* vector, -1: none */
	} insns[] = {
	    {"monitor", probe_monitor, VEC_UD},
	    {"mwait", probe_mwait, VEC_UD},
	    {"rdtscp", probe_rdtscp, VEC_UD},
	    {"invpcid", probe_invpcid, VEC_UD},
	    {"invlpga", probe_invlpga, VEC_UD},
	    {"xsetbv", probe_xsetbv, VEC_UD},
	    {"rdpmc", probe_rdpmc, VEC_GP},
	    {"wbinvd", probe_wbinvd, -1},
	    {"invd", probe_invd, -1},
	    {"pause", probe_pause, -1},
	    {"vmxon", probe_vmxon, VEC_UD},
	    {"vmxoff", probe_vmxoff, VEC_UD},
	    {"vmlaunch", probe_vmlaunch, VEC_UD},
	    {"vmresume", probe_vmresume, VEC_UD},
	    {"vmread", probe_vmread, VEC_UD},
	    {"vmrun", probe_vmrun, VEC_UD},
	    {"vmload", probe_vmload, VEC_UD},
	    {"vmsave", probe_vmsave, VEC_UD},
	    {"stgi", probe_stgi, VEC_UD},
	    {"clgi", probe_clgi, VEC_UD},
	    {"skinit", probe_skinit, VEC_UD},
	    {"getsec", probe_getsec, VEC_UD},
	    {"rsm", probe_rsm, VEC_UD},
	    {"vmfunc", probe_vmfunc, VEC_UD},
	    {"encls", probe_encls, VEC_UD},
	};
	size_t i;
	int vec;

	for (i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
		vec = insns[i].probe();
		if (insns[i].probe == probe_rdtscp && vec < 0 && cf.qemu_tcg) {
			printf("hostile: insn: note: rdtscp runs: QEMU's TCG checks only the RDTSC "
			       "intercept for it; not counted\n");
			continue;
		}
		expect_vector(t, insns[i].name, vec, insns[i].want);
		if (insns[i].want == VEC_GP && vec == VEC_GP)
			expect_eq(t, "the #GP error code of rdpmc", probe_error(), 0);
		if (insns[i].probe == probe_clgi && vec < 0)
			probe_stgi(); /* it ran: global interrupts back on */
	}
	/* not part of the policy (RDPID cannot be intercepted on AMD-V): said, not counted */
	vec = probe_rdpid();
	if (!HAS_RDPID && vec != VEC_UD)
		printf("hostile: insn: note: rdpid runs (vector %d) though CPUID hides it\n", vec);
}

#endif
