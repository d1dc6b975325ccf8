/* Per-CPU state: one structure per processor, reached through the GS base. */
#ifndef ARCH_X86_64_PERCPU_H
#define ARCH_X86_64_PERCPU_H

#include <stdint.h>

#define IST_STACK_SIZE 8192
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "TSS layout (SDM 8.7)");

struct percpu {
	struct percpu *self; /* at GS:0 */
	uint32_t cpu_id;
	uint32_t apic_id;
	uint64_t gdt[5] __attribute__((aligned(16)));
	struct tss64 tss __attribute__((aligned(16)));
	uint64_t ticks; /* local APIC timer ticks */
	uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));
};

#define GDT_CODE 0x08
#define GDT_DATA 0x10
#define GDT_TSS 0x18

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/* Set up the boot CPU's structure, GDT and TSS and point GS at it. */
void percpu_init_boot(void);

#endif
