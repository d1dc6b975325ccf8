/* The hypervisor's own GDT and TSS (one per CPU), loaded at boot. */
#include "percpu.h"
#include <emhv/x86_msr.h>
#include "cpu.h"

static struct percpu boot_cpu;

static uint64_t tss_low(uint64_t base, uint32_t limit)
{
	return (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
}

static void load_gdt(struct percpu *c)
{
	struct x86_dtr gdtr = { sizeof(c->gdt) - 1, (uint64_t)c->gdt };

	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movl %2, %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "i"(GDT_CODE), "i"(GDT_DATA), "r"(GDT_TSS)
			 : "rax", "memory");
}

void percpu_init_boot(void)
{
	struct percpu *c = &boot_cpu;
	uint64_t tss = (uint64_t)&c->tss;
	int i;

	c->self = c;
	c->cpu_id = 0;
	c->apic_id = cpuid(1, 0).ebx >> 24;
	c->gdt[0] = 0;
	c->gdt[1] = 0x00af9b000000ffffULL; /* 64-bit code, DPL 0 */
	c->gdt[2] = 0x00cf93000000ffffULL; /* data, DPL 0 */
	c->gdt[3] = tss_low(tss, sizeof(c->tss) - 1);
	c->gdt[4] = tss >> 32;
	for (i = 0; i < 3; i++)
		c->tss.ist[i] = (uint64_t)c->ist_stacks[i] + IST_STACK_SIZE;
	c->tss.iomap_base = sizeof(c->tss);
	load_gdt(c);
	wrmsr(MSR_GS_BASE, (uint64_t)c);
}
