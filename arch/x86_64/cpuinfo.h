/* CPU identification and the virtualization capabilities, described in words. */
#ifndef ARCH_X86_64_CPUINFO_H
#define ARCH_X86_64_CPUINFO_H

typedef void (*cpu_print_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum cpu_virt { CPU_VIRT_NONE, CPU_VIRT_VMX, CPU_VIRT_SVM };

/* "yes" or "no" for a capability bit. */
static inline const char *cpu_yes_no(unsigned long long bit)
{
	return bit ? "yes" : "no";
}

/* Which extension this CPU offers (VT-x or AMD-V), from CPUID. */
enum cpu_virt cpu_virt_kind(void);
/* Print vendor, model and virtualization capabilities, a line each. */
void cpu_describe(cpu_print_fn print);
/* One line: "<vendor> family F model M, <VT-x with EPT | AMD-V with NPT | ...>". */
void cpu_summary(cpu_print_fn print);

/* Backends' halves of cpu_describe (arch/x86_64/{vmx,svm}/caps.c). */
void vmx_describe_caps(cpu_print_fn print, int verbose);
void svm_describe_caps(cpu_print_fn print, int verbose);

#endif
