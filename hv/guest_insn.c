/*
 * Reading the guest's instructions where the CPU does not decode them for
 * us (AMD-V without decode assists): translate a guest-virtual address
 * through the guest's own 4-level page tables, fetch the bytes, and decode
 * MOV to CR0/CR4.
 */
#include "guest_insn.h"

#define PTE_P 1ULL
#define PTE_PS (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL

/* Guest-physical address of guest-virtual va, or -1 when unmapped. */
static int translate(struct vm *vm, uint64_t cr3, uint64_t va, uint64_t *gpa)
{
	uint64_t table = cr3 & PTE_ADDR, e = 0;

	for (int level = 3; level >= 0; level--) {
		uint64_t idx = (va >> (12 + 9 * level)) & 511;

		if (vm_mem_read(&vm->mem, &e, table + idx * 8, 8) || !(e & PTE_P))
			return -1;
		if (level > 0 && level < 3 && (e & PTE_PS)) {
			uint64_t size = 1ULL << (12 + 9 * level);

			*gpa = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
			return 0;
		}
		table = e & PTE_ADDR;
	}
	*gpa = table | (va & 0xfff);
	return 0;
}

static int fetch(struct vm *vm, uint64_t cr3, uint64_t va, uint8_t *buf, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa;

		if (translate(vm, cr3, va + i, &gpa) || vm_mem_read(&vm->mem, &buf[i], gpa, 1))
			return -1;
	}
	return 0;
}

int guest_decode_mov_cr(struct vm *vm, uint64_t rip, uint64_t cr3, struct mov_cr *out)
{
	uint8_t b[4];
	unsigned i = 0, rex = 0;

	if (fetch(vm, cr3, rip, b, sizeof(b)))
		return -1;
	if ((b[0] & 0xf0) == 0x40)
		rex = b[i++];
	if (b[i] != 0x0f || b[i + 1] != 0x22 || (b[i + 2] >> 6) != 3)
		return -1;
	out->cr = (uint8_t)(((b[i + 2] >> 3) & 7) | ((rex & 4) ? 8 : 0));
	out->gpr = (uint8_t)((b[i + 2] & 7) | ((rex & 1) ? 8 : 0));
	out->len = (uint8_t)(i + 3);
	return 0;
}
