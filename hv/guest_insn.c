/*
 * Reading the guest's instructions where the CPU does not decode them for
 * us (AMD-V without decode assists, MMIO faults): translate guest-virtual
 * addresses through the guest's own 4-level page tables, fetch the bytes
 * page by page, and decode them with insn_decode.
 */
#include "guest_insn.h"
#include <emhv/x86_paging.h>

/* PTE_ADDR also drops CR3's PCID (11:0) and bits 63:52 */
#define PAGE_SIZE 4096ULL

/* Guest-physical address of guest-virtual va, or -1 when unmapped. */
static int translate(struct vm *vm, uint64_t cr3, uint64_t va, uint64_t *gpa)
{
	uint64_t table = cr3 & PTE_ADDR, e = 0;

	for (int level = 3; level >= 0; level--) {
		uint64_t idx = (va >> (12 + 9 * level)) & 511;

		if (vm_mem_read(&vm->mem, &e, table + idx * 8, 8) || !(e & PTE_P))
			return -1;
		if (level > 0 && level < 3 && (e & PTE_PS)) { /* 1 GiB or 2 MiB page */
			uint64_t size = 1ULL << (12 + 9 * level);

			*gpa = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
			return 0;
		}
		table = e & PTE_ADDR;
	}
	*gpa = table | (va & 0xfff);
	return 0;
}

int guest_fetch_insn(struct vm *vm, uint64_t rip, uint64_t cr3, uint8_t bytes[15], unsigned *n)
{
	*n = 0;
	while (*n < INSN_MAX_LEN) {
		uint64_t va = rip + *n, gpa;
		unsigned chunk = (unsigned)(PAGE_SIZE - (va & (PAGE_SIZE - 1)));

		if (chunk > INSN_MAX_LEN - *n)
			chunk = INSN_MAX_LEN - *n;
		if (translate(vm, cr3, va, &gpa) || vm_mem_read(&vm->mem, bytes + *n, gpa, chunk))
			break;
		*n += chunk;
	}
	return *n ? 0 : -1;
}

int guest_decode(struct vm *vm, uint64_t rip, uint64_t cr3, struct insn *out, uint8_t bytes[15],
		 unsigned *n)
{
	guest_fetch_insn(vm, rip, cr3, bytes, n);
	return insn_decode(bytes, *n, out);
}

int guest_decode_mov_cr(struct vm *vm, uint64_t rip, uint64_t cr3, struct mov_cr *out)
{
	uint8_t bytes[INSN_MAX_LEN];
	unsigned n;
	struct insn in;
	struct insn_cr cr;
	int err = guest_decode(vm, rip, cr3, &in, bytes, &n);

	if (err)
		return err;
	err = insn_mov_cr(&in, &cr);
	if (err)
		return err;
	out->cr = cr.cr;
	out->gpr = cr.gpr;
	out->len = in.len;
	out->to_cr = cr.to_cr;
	return 0;
}
