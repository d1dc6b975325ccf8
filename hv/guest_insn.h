/* Fetching and decoding guest instructions the CPU does not decode for the hypervisor. */
#ifndef EMHV_HV_GUEST_INSN_H
#define EMHV_HV_GUEST_INSN_H

#include <stdbool.h>
#include <stdint.h>
#include "insn_decode.h"
#include "vm.h"

/* A MOV to or from a control register. */
struct mov_cr {
	uint8_t cr;  /* 0..15 (LOCK MOV CR0 is CR8, as on AMD) */
	uint8_t gpr; /* 0..15 in ModRM order */
	uint8_t len; /* instruction bytes, prefixes included */
	bool to_cr;  /* MOV to CRn; else MOV from CRn */
};

/*
 * Copy up to 15 bytes at guest-virtual rip (4-level paging from cr3) into
 * bytes, stopping before the first byte on an unmapped page. 0 with *n >= 1,
 * or -1 (*n = 0) if the byte at rip is not mapped.
 */
int guest_fetch_insn(struct vm *vm, uint64_t rip, uint64_t cr3, uint8_t bytes[15], unsigned *n);

/*
 * Fetch and decode the instruction at rip. 0, or a negative INSN_ERR_*
 * (INSN_ERR_TRUNCATED also when the bytes ran into an unmapped page);
 * bytes[0..*n) hold what was fetched either way, for a message.
 */
int guest_decode(struct vm *vm, uint64_t rip, uint64_t cr3, struct insn *out, uint8_t bytes[15],
		 unsigned *n);

/* Decode the MOV to or from CRn at rip, any prefixes allowed; 0, or negative if it is not one. */
int guest_decode_mov_cr(struct vm *vm, uint64_t rip, uint64_t cr3, struct mov_cr *out);

#endif
