/* CPU identification: vendor, family/model/stepping, brand string, virtualization kind. */
#include <string.h>
#include "cpuinfo.h"
#include "cpu.h"

#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_80000001_ECX_SVM (1u << 2)

static void vendor_string(char out[13])
{
	struct cpuid_regs r = cpuid(0, 0);

	memcpy(out, &r.ebx, 4);
	memcpy(out + 4, &r.edx, 4);
	memcpy(out + 8, &r.ecx, 4);
	out[12] = 0;
}

static void brand_string(char out[49])
{
	uint32_t leaf;

	out[0] = 0;
	if (cpuid(0x80000000, 0).eax < 0x80000004)
		return;
	for (leaf = 0; leaf < 3; leaf++) {
		struct cpuid_regs r = cpuid(0x80000002 + leaf, 0);

		memcpy(out + leaf * 16, &r, 16);
	}
	out[48] = 0;
}

enum cpu_virt cpu_virt_kind(void)
{
	if (cpuid(1, 0).ecx & CPUID_1_ECX_VMX)
		return CPU_VIRT_VMX;
	if (cpuid(0x80000000, 0).eax >= 0x8000000a &&
	    (cpuid(0x80000001, 0).ecx & CPUID_80000001_ECX_SVM))
		return CPU_VIRT_SVM;
	return CPU_VIRT_NONE;
}

static void family_model(unsigned *family, unsigned *model, unsigned *stepping)
{
	uint32_t a = cpuid(1, 0).eax;

	*family = (a >> 8) & 0xf;
	*model = (a >> 4) & 0xf;
	*stepping = a & 0xf;
	if (*family == 0xf)
		*family += (a >> 20) & 0xff;
	if (*family >= 6)
		*model |= ((a >> 16) & 0xf) << 4;
}

static void describe_virt(cpu_print_fn print, int verbose)
{
	switch (cpu_virt_kind()) {
	case CPU_VIRT_VMX:
		vmx_describe_caps(print, verbose);
		break;
	case CPU_VIRT_SVM:
		svm_describe_caps(print, verbose);
		break;
	default:
		print("virtualization: none (CPUID reports neither VT-x nor AMD-V)\n");
	}
}

void cpu_describe(cpu_print_fn print)
{
	char vendor[13], brand[49];
	unsigned f, m, s;
	const char *b = brand;

	vendor_string(vendor);
	brand_string(brand);
	family_model(&f, &m, &s);
	while (*b == ' ')
		b++;
	print("cpu: %s family %u model %u stepping %u\n", vendor, f, m, s);
	print("brand: %s\n", *b ? b : "(none)");
	describe_virt(print, 1);
}

void cpu_summary(cpu_print_fn print)
{
	char vendor[13];
	unsigned f, m, s;

	vendor_string(vendor);
	family_model(&f, &m, &s);
	print("cpu: %s family %u model %u, ", vendor, f, m);
	describe_virt(print, 0);
}
