/*
 * Decoding x86-64 instructions (64-bit mode only): lengths, prefixes,
 * ModRM/SIB/displacement/immediate, and what an MMIO access does.
 * Pure C, shared by the hypervisor and the host unit tests.
 */
#ifndef EMHV_HV_INSN_DECODE_H
#define EMHV_HV_INSN_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INSN_MAX_LEN 15

/* Errors of the functions below, all negative. */
enum {
	INSN_ERR_TRUNCATED = -1, /* needs more bytes than were given */
	INSN_ERR_TOO_LONG = -2,	 /* over 15 bytes */
	INSN_ERR_UNKNOWN = -3,	 /* an opcode of unknown (or CPU-dependent) length */
	INSN_ERR_OTHER = -4,	 /* decoded, but not of the kind asked for (MMIO, MOV CR) */
};

enum insn_map { INSN_MAP_1B, INSN_MAP_0F, INSN_MAP_0F38, INSN_MAP_0F3A };

/* Legacy prefixes seen (struct insn.pfx). */
#define INSN_PFX_66   0x01 /* operand size */
#define INSN_PFX_67   0x02 /* address size */
#define INSN_PFX_LOCK 0x04 /* F0 */
#define INSN_PFX_F2   0x08 /* REPNE */
#define INSN_PFX_F3   0x10 /* REP */
#define INSN_PFX_SEG  0x20 /* a segment override; the last one is in .seg */

#define INSN_REG_NONE 0xff /* no base or no index register */

struct insn {
	uint8_t len;  /* bytes in all, 1..15 */
	uint8_t npfx; /* legacy prefix bytes (an ignored REX counts in len only) */
	uint8_t pfx;  /* INSN_PFX_* */
	uint8_t seg;  /* the last segment override byte (26 2E 36 3E 64 65), or 0 */
	uint8_t rex;  /* the REX byte in effect (right before the opcode), or 0 */
	bool rex_w, rex_r, rex_x, rex_b;
	uint8_t opsize; /* operand size of a default-32-bit instruction: 8 (REX.W), 2 (66), 4 */
	uint8_t map;	/* enum insn_map */
	uint8_t opcode; /* the opcode byte within map */
	bool has_modrm;
	uint8_t modrm;	 /* the raw byte */
	uint8_t mod;	 /* 0..3; 3 for MOV CR/DR, which ignore the mod bits */
	uint8_t reg, rm; /* 0..15, REX.R and REX.B applied */
	bool has_sib;
	uint8_t sib;	     /* the raw byte */
	uint8_t base, index; /* memory operand registers 0..15, or INSN_REG_NONE */
	uint8_t scale;	     /* 1, 2, 4, 8 */
	bool rip_rel;	     /* mod 00 rm 101: disp32 from the next instruction's RIP */
	uint8_t disp_size;   /* 0, 1, 4; 8 (4 with 67) for the moffs of A0-A3 */
	int64_t disp;	     /* sign-extended; the moffs address zero-extended */
	uint8_t imm_size;    /* 0, 1, 2, 3 (ENTER), 4, 8 */
	uint64_t imm;	     /* the immediate bytes as a little-endian number, not extended */
};

/*
 * Decode the instruction at bytes, reading at most avail bytes (and never
 * more than 15). 0 with *out filled, or INSN_ERR_TRUNCATED, _TOO_LONG or
 * _UNKNOWN. VEX, EVEX, XOP and 3DNow! encodings are refused as unknown.
 */
int insn_decode(const uint8_t *bytes, size_t avail, struct insn *out);

/* A short description of an INSN_ERR_* code. */
const char *insn_strerror(int err);

/*
 * Offset of in's memory operand before the segment base: base + index *
 * scale + disp, RIP-relative from rip + in->len (rip: the instruction's
 * address), moffs as is, cut to 32 bits with 67. Only for mod != 3.
 */
uint64_t insn_effective_address(const struct insn *in, const uint64_t regs[16], uint64_t rip);

/* MOV to or from a control register (0F 22 /r, 0F 20 /r). */
struct insn_cr {
	bool to_cr;  /* MOV to CRn (else from CRn) */
	uint8_t cr;  /* 0..15, REX.R applied; LOCK with CR0 means CR8 (AMD) */
	uint8_t gpr; /* 0..15 in ModRM order */
};

/* If in is MOV to/from CRn, fill *out; 0, or INSN_ERR_OTHER if it is not one. */
int insn_mov_cr(const struct insn *in, struct insn_cr *out);

/* What an instruction that touches MMIO does there. */
struct mmio_op {
	bool write;	  /* a store to the device, else a load from it */
	uint8_t size;	  /* bytes accessed: 1, 2, 4, 8 */
	bool from_imm;	  /* a store of imm rather than of a register */
	uint64_t imm;	  /* the stored immediate, extended to size bytes */
	uint8_t reg;	  /* the GPR 0..15 (ModRM order) stored from or loaded into (A0-A3: rax) */
	bool high8;	  /* the 8-bit register is AH, CH, DH or BH: bits 15:8 of reg 0..3 */
	uint8_t dst_size; /* load: bytes of the destination register: 1, 2, 4, 8 */
	bool sign;	  /* load: sign-extend size to dst_size, else zero-extend */
};

/*
 * Describe the memory access of a decoded MOV (88 89 8A 8B C6/0 C7/0 A0-A3),
 * MOVZX, MOVSX (0F B6 B7 BE BF) or MOVSXD (REX.W 63) with a memory operand.
 * 0, or INSN_ERR_OTHER for any other instruction (or a register operand).
 */
int insn_mmio(const struct insn *in, struct mmio_op *op);

/* The value a store writes, masked to op->size bytes; regs in ModRM order (rax..r15). */
uint64_t mmio_store_value(const struct mmio_op *op, const uint64_t regs[16]);

/*
 * Complete a load with the value read (low op->size bytes used): extend it
 * to the destination; a 32-bit destination zero-extends to 64 bits, 8- and
 * 16-bit destinations keep the register's other bits.
 */
void mmio_load_complete(const struct mmio_op *op, uint64_t regs[16], uint64_t value);

#endif
