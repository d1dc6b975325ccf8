/*
 * hostile_check.h -- what the hostile guest's check groups share: a tally per
 * group, the checks that count into it, and the CPUID facts they decide by.
 *
 * The build makes each guest from one .c file and the runtime
 * (mk/guests.mk), so hostile.c includes this and the group headers
 * (hostile_cpu.h, hostile_exits.h) once, and their functions are static.
 */
#ifndef GUEST_HOSTILE_CHECK_H
#define GUEST_HOSTILE_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <emhv/x86.h>
#include <emhv/x86_regs.h>
#include "runtime.h"

/* The checks of one group: each failure prints one line "hostile: GROUP: ...". */
struct tally {
	const char *name;
	int64_t ok, total;
};

static void __attribute__((format(printf, 3, 4)))
check(struct tally *t, int ok, const char *fmt, ...)
{
	va_list ap;

	t->total++;
	if (ok) {
		t->ok++;
		return;
	}
	printf("hostile: %s: FAIL: ", t->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void expect_true(struct tally *t, const char *what, int ok)
{
	check(t, ok, "%s", what);
}

static void expect_vector(struct tally *t, const char *what, int got, int want)
{
	if (got == want)
		check(t, 1, "%s", what);
	else if (got < 0)
		check(t, 0, "%s did not fault, expected vector %d", what, want);
	else if (want < 0)
		check(t, 0, "%s raised vector %d, expected no fault", what, got);
	else
		check(t, 0, "%s raised vector %d, expected %d", what, got, want);
}

static void expect_eq(struct tally *t, const char *what, uint64_t got, uint64_t want)
{
	check(t, got == want, "%s is 0x%llx, expected 0x%llx", what, (unsigned long long)got,
	      (unsigned long long)want);
}

/* ---- what the guest's CPUID says, read once -------------------------------------- */

static struct {
	int intel, amd;
	uint32_t max_basic, max_ext;
	struct cpuid_regs l0, l1, l7, l7_1, lx1;
	char brand[49]; /* leaves 0x80000002-4, NUL-terminated */
	int qemu_tcg; /* the brand QEMU's TCG gives "-cpu max": its quirks are noted, not counted */
} cf;

#define INTEL_EBX 0x756e6547u /* "Genu" */
#define AMD_EBX	  0x68747541u /* "Auth" */

static void cpu_facts_init(void)
{
	cf.l0 = cpuid(0, 0);
	cf.intel = cf.l0.ebx == INTEL_EBX;
	cf.amd = cf.l0.ebx == AMD_EBX;
	cf.max_basic = cf.l0.eax;
	cf.max_ext = cpuid(0x80000000, 0).eax;
	cf.l1 = cpuid(1, 0);
	if (cf.max_basic >= 7) {
		cf.l7 = cpuid(7, 0);
		if (cf.l7.eax >= 1)
			cf.l7_1 = cpuid(7, 1);
	}
	if (cf.max_ext >= 0x80000001)
		cf.lx1 = cpuid(0x80000001, 0);
	if (cf.max_ext >= 0x80000004)
		for (uint32_t i = 0; i < 3; i++) {
			struct cpuid_regs r = cpuid(0x80000002 + i, 0);

			memcpy(cf.brand + 16 * i, &r, 16);
		}
	cf.qemu_tcg = strstr(cf.brand, "QEMU TCG") != NULL;
}

static int bit(uint32_t reg, int n)
{
	return (reg >> n) & 1;
}

/* The CPUID feature flags the checks decide by (Intel SDM vol. 2A CPUID; AMD APM vol. 3 E.3). */
#define HAS_VME	       bit(cf.l1.edx, 1)
#define HAS_DE	       bit(cf.l1.edx, 2)
#define HAS_PSE	       bit(cf.l1.edx, 3)
#define HAS_TSC	       bit(cf.l1.edx, 4)
#define HAS_MCE	       bit(cf.l1.edx, 7)
#define HAS_APIC       bit(cf.l1.edx, 9)
#define HAS_MTRR       bit(cf.l1.edx, 12)
#define HAS_PGE	       bit(cf.l1.edx, 13)
#define HAS_MCA	       bit(cf.l1.edx, 14)
#define HAS_MONITOR    bit(cf.l1.ecx, 3)
#define HAS_VMX	       bit(cf.l1.ecx, 5)
#define HAS_SMX	       bit(cf.l1.ecx, 6)
#define HAS_PCID       bit(cf.l1.ecx, 17)
#define HAS_X2APIC     bit(cf.l1.ecx, 21)
#define HAS_TSCDEADL   bit(cf.l1.ecx, 24)
#define HAS_XSAVE      bit(cf.l1.ecx, 26)
#define HAS_OSXSAVE    bit(cf.l1.ecx, 27)
#define HAS_FSGSBASE   bit(cf.l7.ebx, 0)
#define HAS_TSC_ADJUST bit(cf.l7.ebx, 1)
#define HAS_SMEP       bit(cf.l7.ebx, 7)
#define HAS_INVPCID    bit(cf.l7.ebx, 10)
#define HAS_SMAP       bit(cf.l7.ebx, 20)
#define HAS_UMIP       bit(cf.l7.ecx, 2)
#define HAS_PKU	       bit(cf.l7.ecx, 3)
#define HAS_CET_SS     bit(cf.l7.ecx, 7)
#define HAS_LA57       bit(cf.l7.ecx, 16)
#define HAS_RDPID      bit(cf.l7.ecx, 22)
#define HAS_KL	       bit(cf.l7.ecx, 23)
#define HAS_PKS	       bit(cf.l7.ecx, 31)
#define HAS_UINTR      bit(cf.l7.edx, 5)
#define HAS_CET_IBT    bit(cf.l7.edx, 20)
#define HAS_LAM	       bit(cf.l7_1.eax, 26)
#define HAS_SVM	       bit(cf.lx1.ecx, 2)
#define HAS_MONITORX   bit(cf.lx1.ecx, 29)
#define HAS_RDTSCP     bit(cf.lx1.edx, 27)

/* Run a group: a name and the function that adds its checks to a tally. */
struct group {
	const char *name;
	void (*run)(struct tally *t);
};

#endif
