/* x86 pieces both the hypervisor and guests use: port I/O, CPUID, TSC, IDT gates, descriptor-table registers. */
#ifndef EMHV_X86_H
#define EMHV_X86_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t sub)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(sub));
	return r;
}

/* A 64-bit IDT gate (SDM vol. 3A 6.14.1). */
struct x86_gate {
	uint16_t off0;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off1;
	uint32_t off2;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct x86_gate) == 16, "IDT gate layout (SDM 6.14.1)");

#define X86_GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */

static inline struct x86_gate x86_interrupt_gate(uint64_t handler, uint16_t sel, uint8_t ist)
{
	return (struct x86_gate){ (uint16_t)handler, sel, ist, X86_GATE_INTERRUPT, (uint16_t)(handler >> 16),
				  (uint32_t)(handler >> 32), 0 };
}

/* The operand of LGDT/LIDT/SGDT/SIDT. */
struct x86_dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));
_Static_assert(sizeof(struct x86_dtr) == 10, "descriptor-table register layout");

#endif
