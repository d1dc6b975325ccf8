/* Decoding guest instructions the CPU does not decode for the hypervisor. */
#ifndef EMHV_HV_GUEST_INSN_H
#define EMHV_HV_GUEST_INSN_H

#include <stdint.h>
#include "vm.h"

struct mov_cr {
	uint8_t cr, gpr, len;
};

/* Decode the MOV to CRn at guest-virtual rip (paging with cr3); 0, or -1 if it is not one. */
int guest_decode_mov_cr(struct vm *vm, uint64_t rip, uint64_t cr3, struct mov_cr *out);

#endif
