/* VMX instructions as inline functions; each returns 0 on success, -1 on VMfail. */
#ifndef ARCH_X86_64_VMX_INSN_H
#define ARCH_X86_64_VMX_INSN_H

#include <stdint.h>

static inline int vmxon(uint64_t pa)
{
	uint8_t fail;

	__asm__ volatile("vmxon %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return fail ? -1 : 0;
}

static inline int vmclear(uint64_t pa)
{
	uint8_t fail;

	__asm__ volatile("vmclear %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return fail ? -1 : 0;
}

static inline int vmptrld(uint64_t pa)
{
	uint8_t fail;

	__asm__ volatile("vmptrld %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return fail ? -1 : 0;
}

static inline uint64_t vmread(uint64_t field)
{
	uint64_t v;

	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(field) : "cc");
	return v;
}

static inline int vmwrite(uint64_t field, uint64_t v)
{
	uint8_t fail;

	__asm__ volatile("vmwrite %2, %1; setbe %0" : "=qm"(fail) : "r"(field), "rm"(v) : "cc");
	return fail ? -1 : 0;
}

struct invept_desc {
	uint64_t eptp, zero;
};

static inline int invept(uint64_t type, uint64_t eptp)
{
	struct invept_desc d = { eptp, 0 };
	uint8_t fail;

	__asm__ volatile("invept %1, %2; setbe %0" : "=qm"(fail) : "m"(d), "r"(type) : "cc", "memory");
	return fail ? -1 : 0;
}

struct invvpid_desc {
	uint64_t vpid, addr;
};

static inline int invvpid(uint64_t type, uint16_t vpid)
{
	struct invvpid_desc d = { vpid, 0 };
	uint8_t fail;

	__asm__ volatile("invvpid %1, %2; setbe %0" : "=qm"(fail) : "m"(d), "r"(type) : "cc", "memory");
	return fail ? -1 : 0;
}

#endif
