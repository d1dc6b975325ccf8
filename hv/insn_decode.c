/*
 * The x86-64 instruction decoder (64-bit mode): prefixes, one table per
 * opcode map saying whether a ModRM byte and which immediate follow, the
 * ModRM/SIB/displacement rules (Intel SDM vol. 2, 2.1-2.2 and appendix A),
 * and the MMIO view of the MOV family with its register write rules.
 */
#include <string.h>
#include "insn_decode.h"

/* An opcode table entry: KNOWN, whether a ModRM byte follows, the immediate kind. */
#define KNOWN	 0x80
#define MODRM	 0x40
#define REG_ONLY 0x20 /* ModRM whose mod bits are ignored: always a register (MOV CR/DR) */
#define IMM_MASK 0x0f

enum imm_kind {
	I_NONE,
	I_B,	 /* ib */
	I_W,	 /* iw */
	I_Z,	 /* iz: 16 bits with 66, else 32 */
	I_V,	 /* iv: 16, 32 or 64 bits (MOV r, imm) */
	I_WB,	 /* iw, ib (ENTER) */
	I_MOFFS, /* a 64-bit address (32 with 67) */
	I_J32,	 /* rel32; refused with 66 (no REX.W), which Intel ignores and AMD honours */
	I_G3B,	 /* ib for /0 and /1 only (TEST in group 3) */
	I_G3Z,	 /* iz for /0 and /1 only */
};

/* clang-format off */
#define NO  (KNOWN | I_NONE)
#define IB  (KNOWN | I_B)
#define IW  (KNOWN | I_W)
#define IZ  (KNOWN | I_Z)
#define J32 (KNOWN | I_J32)
#define M   (KNOWN | MODRM)
#define MIB (M | I_B)
#define MIZ (M | I_Z)
#define ALU(op) [(op)... (op) + 3] = M, [(op) + 4] = IB, [(op) + 5] = IZ

/*
 * One-byte map. Missing entries are prefixes, REX, the 0F escape (all
 * handled before the table), opcodes invalid in 64-bit mode (06 07 0E 16
 * 17 1E 1F 27 2F 37 3F 60 61 82 9A CE D4 D5 D6 EA), and VEX/EVEX (C4 C5 62).
 */
static const uint8_t map_1b[256] = {
	ALU(0x00), ALU(0x08), ALU(0x10), ALU(0x18), /* ADD OR ADC SBB */
	ALU(0x20), ALU(0x28), ALU(0x30), ALU(0x38), /* AND SUB XOR CMP */
	[0x50 ... 0x5f] = NO,			    /* PUSH, POP */
	[0x63] = M,				    /* MOVSXD */
	[0x68] = IZ, [0x69] = MIZ, [0x6a] = IB,	    /* PUSH, IMUL */
	[0x6b] = MIB, [0x6c ... 0x6f] = NO,	    /* IMUL, INS, OUTS */
	[0x70 ... 0x7f] = IB,			    /* Jcc rel8 */
	[0x80] = MIB, [0x81] = MIZ, [0x83] = MIB,   /* group 1 */
	[0x84 ... 0x8f] = M,			    /* TEST XCHG MOV LEA, MOV Sreg, POP */
	[0x90 ... 0x99] = NO,			    /* NOP, XCHG, CBW, CWD */
	[0x9b ... 0x9f] = NO,			    /* FWAIT PUSHF POPF SAHF LAHF */
	[0xa0 ... 0xa3] = KNOWN | I_MOFFS,	    /* MOV AL/rAX, moffs */
	[0xa4 ... 0xa7] = NO,			    /* MOVS CMPS */
	[0xa8] = IB, [0xa9] = IZ,		    /* TEST */
	[0xaa ... 0xaf] = NO,			    /* STOS LODS SCAS */
	[0xb0 ... 0xb7] = IB,			    /* MOV r8, ib */
	[0xb8 ... 0xbf] = KNOWN | I_V,		    /* MOV r, iv */
	[0xc0] = MIB, [0xc1] = MIB,		    /* group 2 */
	[0xc2] = IW, [0xc3] = NO,		    /* RET */
	[0xc6] = MIB, [0xc7] = MIZ,		    /* MOV r/m, imm; XABORT, XBEGIN */
	[0xc8] = KNOWN | I_WB, [0xc9] = NO,	    /* ENTER LEAVE */
	[0xca] = IW, [0xcb] = NO,		    /* RET far */
	[0xcc] = NO, [0xcd] = IB, [0xcf] = NO,	    /* INT3, INT n, IRET */
	[0xd0 ... 0xd3] = M,			    /* group 2 */
	[0xd7] = NO,				    /* XLAT */
	[0xd8 ... 0xdf] = M,			    /* x87 */
	[0xe0 ... 0xe3] = IB,			    /* LOOPcc JrCXZ */
	[0xe4 ... 0xe7] = IB,			    /* IN OUT imm8 */
	[0xe8] = J32, [0xe9] = J32, [0xeb] = IB,    /* CALL JMP */
	[0xec ... 0xef] = NO,			    /* IN OUT DX */
	[0xf1] = NO, [0xf4] = NO, [0xf5] = NO,	    /* INT1 HLT CMC */
	[0xf6] = M | I_G3B, [0xf7] = M | I_G3Z,	    /* group 3 */
	[0xf8 ... 0xfd] = NO,			    /* CLC STC CLI STI CLD STD */
	[0xfe] = M, [0xff] = M,			    /* groups 4, 5 */
};

/*
 * Two-byte map 0F. Missing: 04 0A 0C 24-27 36 39 3B-3F 7A 7B A6 A7 (not
 * defined), 0F (3DNow!, an immediate after ModRM), FF (UD0: ModRM on Intel
 * only), and the escapes 38 and 3A (handled before the table).
 */
static const uint8_t map_0f[256] = {
	[0x00 ... 0x03] = M,			  /* groups 6, 7 (VMCALL, INVLPG, ...), LAR, LSL */
	[0x05 ... 0x09] = NO,			  /* SYSCALL CLTS SYSRET INVD WBINVD */
	[0x0b] = NO, [0x0d] = M, [0x0e] = NO,	  /* UD2, PREFETCHW, FEMMS */
	[0x10 ... 0x1f] = M,			  /* SSE moves, prefetch, hint NOPs, ENDBR */
	[0x20 ... 0x23] = M | REG_ONLY,		  /* MOV CR, MOV DR */
	[0x28 ... 0x2f] = M,			  /* SSE */
	[0x30 ... 0x35] = NO,			  /* WRMSR RDTSC RDMSR RDPMC SYSENTER SYSEXIT */
	[0x37] = NO,				  /* GETSEC */
	[0x40 ... 0x6f] = M,			  /* CMOVcc, SSE, MMX */
	[0x70 ... 0x73] = MIB,			  /* PSHUF, groups 12-14 */
	[0x74 ... 0x76] = M, [0x77] = NO,	  /* PCMPEQ, EMMS */
	[0x78 ... 0x79] = M,			  /* VMREAD VMWRITE (see check_opcode) */
	[0x7c ... 0x7f] = M,			  /* SSE */
	[0x80 ... 0x8f] = J32,			  /* Jcc rel32 */
	[0x90 ... 0x9f] = M,			  /* SETcc */
	[0xa0 ... 0xa2] = NO,			  /* PUSH FS, POP FS, CPUID */
	[0xa3] = M, [0xa4] = MIB, [0xa5] = M,	  /* BT SHLD */
	[0xa8 ... 0xaa] = NO,			  /* PUSH GS, POP GS, RSM */
	[0xab] = M, [0xac] = MIB, [0xad] = M,	  /* BTS SHRD */
	[0xae ... 0xaf] = M,			  /* group 15, IMUL */
	[0xb0 ... 0xb9] = M,			  /* CMPXCHG LSS BTR LFS LGS MOVZX POPCNT UD1 */
	[0xba] = MIB,				  /* group 8 */
	[0xbb ... 0xc1] = M,			  /* BTC BSF BSR MOVSX XADD */
	[0xc2] = MIB, [0xc3] = M,		  /* CMPPS, MOVNTI */
	[0xc4 ... 0xc6] = MIB, [0xc7] = M,	  /* PINSRW PEXTRW SHUFPS, group 9 */
	[0xc8 ... 0xcf] = NO,			  /* BSWAP */
	[0xd0 ... 0xfe] = M,			  /* SSE, MMX */
};

/* Three-byte map 0F 38 (no immediates), legacy-encoded instructions only. */
static const uint8_t map_0f38[256] = {
	[0x00 ... 0x0b] = M,			/* SSSE3 */
	[0x10] = M, [0x14 ... 0x15] = M,	/* PBLENDVB BLENDVPS BLENDVPD */
	[0x17] = M, [0x1c ... 0x1e] = M,	/* PTEST PABS */
	[0x20 ... 0x25] = M,			/* PMOVSX */
	[0x28 ... 0x2b] = M,			/* PMULDQ PCMPEQQ MOVNTDQA PACKUSDW */
	[0x30 ... 0x35] = M,			/* PMOVZX */
	[0x37 ... 0x41] = M,			/* PCMPGTQ ... PHMINPOSUW */
	[0x80 ... 0x82] = M,			/* INVEPT INVVPID INVPCID */
	[0xc8 ... 0xcd] = M, [0xcf] = M,	/* SHA, GF2P8MULB */
	[0xd8] = M, [0xdb ... 0xdf] = M,	/* Key Locker, AES */
	[0xf0 ... 0xf1] = M,			/* MOVBE CRC32 */
	[0xf5 ... 0xf6] = M,			/* WRUSS WRSS ADCX ADOX */
	[0xf8 ... 0xfc] = M,			/* MOVDIR64B ENQCMD MOVDIRI ENCODEKEY AADD */
};

/* Three-byte map 0F 3A (an ib after ModRM), legacy-encoded instructions only. */
static const uint8_t map_0f3a[256] = {
	[0x08 ... 0x0f] = MIB,			/* ROUND BLEND PALIGNR */
	[0x14 ... 0x17] = MIB,			/* PEXTR EXTRACTPS */
	[0x20 ... 0x22] = MIB,			/* PINSR INSERTPS */
	[0x40 ... 0x42] = MIB, [0x44] = MIB,	/* DPPS DPPD MPSADBW PCLMULQDQ */
	[0x60 ... 0x63] = MIB,			/* PCMPxSTRx */
	[0xcc] = MIB, [0xce ... 0xcf] = MIB,	/* SHA1RNDS4 GF2P8AFFINE */
	[0xdf] = MIB,				/* AESKEYGENASSIST */
};

static const uint8_t *const maps[] = {
	[INSN_MAP_1B] = map_1b,
	[INSN_MAP_0F] = map_0f,
	[INSN_MAP_0F38] = map_0f38,
	[INSN_MAP_0F3A] = map_0f3a,
};
/* clang-format on */

/* 0 if the first n bytes of the instruction may be read. */
static int need(size_t n, size_t avail)
{
	if (n > INSN_MAX_LEN)
		return INSN_ERR_TOO_LONG;
	if (n > avail)
		return INSN_ERR_TRUNCATED;
	return 0;
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int64_t sign_extend(uint64_t v, unsigned bytes)
{
	uint64_t m;

	if (bytes == 0)
		return 0;
	if (bytes >= 8)
		return (int64_t)v;
	m = 1ULL << (8 * bytes - 1);
	v &= (m << 1) - 1;
	return (int64_t)((v ^ m) - m);
}

/* Record a legacy prefix; false if c is not one. */
static bool take_prefix(struct insn *in, uint8_t c)
{
	switch (c) {
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e:
	case 0x64:
	case 0x65:
		in->pfx |= INSN_PFX_SEG;
		in->seg = c;
		return true;
	case 0x66:
		in->pfx |= INSN_PFX_66;
		return true;
	case 0x67:
		in->pfx |= INSN_PFX_67;
		return true;
	case 0xf0:
		in->pfx |= INSN_PFX_LOCK;
		return true;
	case 0xf2:
		in->pfx |= INSN_PFX_F2;
		return true;
	case 0xf3:
		in->pfx |= INSN_PFX_F3;
		return true;
	}
	return false;
}

/* ModRM, SIB and displacement from b[*pos]; advances *pos. */
static int decode_modrm(const uint8_t *b, size_t avail, size_t *pos, struct insn *in, bool reg_only)
{
	size_t i = *pos;
	int err = need(i + 1, avail);

	if (err)
		return err;
	in->has_modrm = true;
	in->modrm = b[i++];
	in->mod = reg_only ? 3 : in->modrm >> 6;
	in->reg = (uint8_t)(((in->modrm >> 3) & 7) | (in->rex_r ? 8 : 0));
	in->rm = (uint8_t)((in->modrm & 7) | (in->rex_b ? 8 : 0));
	if (in->mod == 3)
		goto out;

	in->base = in->rm;
	if ((in->modrm & 7) == 4) {
		uint8_t index;

		err = need(i + 1, avail);
		if (err)
			return err;
		in->has_sib = true;
		in->sib = b[i++];
		in->scale = (uint8_t)(1 << (in->sib >> 6));
		index = (uint8_t)(((in->sib >> 3) & 7) | (in->rex_x ? 8 : 0));
		in->index = index == 4 ? INSN_REG_NONE : index; /* r12 is an index, rsp is not */
		in->base = (uint8_t)((in->sib & 7) | (in->rex_b ? 8 : 0));
		/* SIB base 101 with mod 00: no base but a disp32, whatever REX.B says */
		if ((in->sib & 7) == 5 && in->mod == 0) {
			in->base = INSN_REG_NONE;
			in->disp_size = 4;
		}
	} else if ((in->modrm & 7) == 5 && in->mod == 0) { /* RIP + disp32, also with REX.B */
		in->base = INSN_REG_NONE;
		in->rip_rel = true;
		in->disp_size = 4;
	}
	if (in->mod == 1)
		in->disp_size = 1;
	else if (in->mod == 2)
		in->disp_size = 4;
	err = need(i + in->disp_size, avail);
	if (err)
		return err;
	in->disp = sign_extend(get_le(b + i, in->disp_size), in->disp_size);
	i += in->disp_size;
out:
	*pos = i;
	return 0;
}

/* Bytes of the immediate described by table entry f; -1 if the encoding is refused. */
static int imm_bytes(const struct insn *in, uint8_t f)
{
	unsigned ext = (in->modrm >> 3) & 7; /* the /digit of a group (REX.R does not count) */
	int iz = in->opsize == 2 ? 2 : 4;

	switch (f & IMM_MASK) {
	case I_B:
		return 1;
	case I_W:
		return 2;
	case I_Z:
		return iz;
	case I_V:
		return in->opsize;
	case I_WB:
		return 3;
	case I_J32:
		return in->opsize == 2 ? -1 : 4;
	case I_G3B:
		return ext < 2 ? 1 : 0;
	case I_G3Z:
		return ext < 2 ? iz : 0;
	}
	return 0;
}

/* Encodings a table entry alone cannot refuse; 0 or INSN_ERR_UNKNOWN. */
static int check_opcode(const struct insn *in)
{
	unsigned ext = (in->modrm >> 3) & 7;

	if (in->map == INSN_MAP_1B && in->opcode == 0x8f && ext != 0)
		return INSN_ERR_UNKNOWN; /* AMD's XOP prefix, not POP */
	if (in->map == INSN_MAP_0F && (in->opcode == 0x78 || in->opcode == 0x79) &&
	    (in->pfx & (INSN_PFX_66 | INSN_PFX_F2)))
		return INSN_ERR_UNKNOWN; /* AMD's EXTRQ/INSERTQ carry immediates */
	if (in->map == INSN_MAP_0F && in->opcode == 0xb8 && !(in->pfx & INSN_PFX_F3))
		return INSN_ERR_UNKNOWN; /* JMPE, not POPCNT */
	return 0;
}

int insn_decode(const uint8_t *b, size_t avail, struct insn *out)
{
	struct insn in;
	size_t i = 0;
	uint8_t f;
	int err, imm;

	memset(&in, 0, sizeof(in));
	in.base = in.index = INSN_REG_NONE;
	in.scale = 1;
	for (;; i++) { /* legacy prefixes and REX: a REX counts only right before the opcode */
		err = need(i + 1, avail);
		if (err)
			return err;
		if (take_prefix(&in, b[i])) {
			in.npfx++;
			in.rex = 0;
		} else if ((b[i] & 0xf0) == 0x40) {
			in.rex = b[i];
		} else {
			break;
		}
	}
	in.rex_w = in.rex & 8;
	in.rex_r = in.rex & 4;
	in.rex_x = in.rex & 2;
	in.rex_b = in.rex & 1;
	in.opsize = in.rex_w ? 8 : (in.pfx & INSN_PFX_66) ? 2 : 4;

	in.map = INSN_MAP_1B;
	in.opcode = b[i++];
	if (in.opcode == 0x0f) {
		err = need(i + 1, avail);
		if (err)
			return err;
		in.map = INSN_MAP_0F;
		in.opcode = b[i++];
		if (in.opcode == 0x38 || in.opcode == 0x3a) {
			err = need(i + 1, avail);
			if (err)
				return err;
			in.map = in.opcode == 0x38 ? INSN_MAP_0F38 : INSN_MAP_0F3A;
			in.opcode = b[i++];
		}
	}
	f = maps[in.map][in.opcode];
	if (!(f & KNOWN))
		return INSN_ERR_UNKNOWN;
	if (f & MODRM) {
		err = decode_modrm(b, avail, &i, &in, f & REG_ONLY);
		if (err)
			return err;
	}
	if (check_opcode(&in))
		return INSN_ERR_UNKNOWN;

	if ((f & IMM_MASK) == I_MOFFS) {
		in.disp_size = (in.pfx & INSN_PFX_67) ? 4 : 8;
		err = need(i + in.disp_size, avail);
		if (err)
			return err;
		in.disp = (int64_t)get_le(b + i, in.disp_size);
		i += in.disp_size;
	} else {
		imm = imm_bytes(&in, f);
		if (imm < 0)
			return INSN_ERR_UNKNOWN;
		err = need(i + (size_t)imm, avail);
		if (err)
			return err;
		in.imm_size = (uint8_t)imm;
		in.imm = get_le(b + i, (unsigned)imm);
		i += (size_t)imm;
	}
	in.len = (uint8_t)i;
	*out = in;
	return 0;
}

const char *insn_strerror(int err)
{
	switch (err) {
	case 0:
		return "no error";
	case INSN_ERR_TRUNCATED:
		return "instruction cut short (unmapped or not fetched)";
	case INSN_ERR_TOO_LONG:
		return "instruction longer than 15 bytes";
	case INSN_ERR_UNKNOWN:
		return "opcode not known to the decoder";
	case INSN_ERR_OTHER:
		return "not an instruction of the kind handled here";
	}
	return "unknown decoder error";
}

uint64_t insn_effective_address(const struct insn *in, const uint64_t regs[16], uint64_t rip)
{
	uint64_t ea = (uint64_t)in->disp;

	if (in->rip_rel)
		ea += rip + in->len;
	if (in->base != INSN_REG_NONE)
		ea += regs[in->base];
	if (in->index != INSN_REG_NONE)
		ea += regs[in->index] * in->scale;
	if (in->pfx & INSN_PFX_67)
		ea = (uint32_t)ea;
	return ea;
}

int insn_mov_cr(const struct insn *in, struct insn_cr *out)
{
	if (in->map != INSN_MAP_0F || (in->opcode != 0x20 && in->opcode != 0x22))
		return INSN_ERR_OTHER;
	out->to_cr = in->opcode == 0x22;
	out->cr = in->reg;
	if ((in->pfx & INSN_PFX_LOCK) && out->cr == 0)
		out->cr = 8; /* AMD's alternative encoding of CR8 (CPUID CR8Legacy) */
	out->gpr = in->rm;
	return 0;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* The 8-bit register of ModRM.reg: without REX, 4..7 are AH CH DH BH. */
static void set_reg8(const struct insn *in, struct mmio_op *op)
{
	op->reg = in->reg;
	if (!in->rex && in->reg >= 4 && in->reg < 8) {
		op->reg = (uint8_t)(in->reg - 4);
		op->high8 = true;
	}
}

static void set_load(struct mmio_op *op, uint8_t size, uint8_t dst_size, bool sign)
{
	op->write = false;
	op->size = size;
	op->dst_size = dst_size;
	op->sign = sign;
}

static void set_store(struct mmio_op *op, uint8_t size)
{
	op->write = true;
	op->size = size;
}

/* The MOV forms of the one-byte map. */
static int mmio_1b(const struct insn *in, struct mmio_op *op)
{
	uint8_t os = in->opsize;
	unsigned ext = (in->modrm >> 3) & 7;

	op->reg = in->reg;
	switch (in->opcode) {
	case 0x88:
		set_reg8(in, op);
		set_store(op, 1);
		return 0;
	case 0x89:
		set_store(op, os);
		return 0;
	case 0x8a:
		set_reg8(in, op);
		set_load(op, 1, 1, false);
		return 0;
	case 0x8b:
		set_load(op, os, os, false);
		return 0;
	case 0x63:
		if (!in->rex_w)
			return INSN_ERR_OTHER;
		set_load(op, 4, 8, true);
		return 0;
	case 0xc6:
	case 0xc7:
		if (ext != 0)
			return INSN_ERR_OTHER;
		set_store(op, in->opcode == 0xc6 ? 1 : os);
		op->reg = 0;
		op->from_imm = true;
		/* C7 with REX.W: the imm32 is sign-extended to 64 bits */
		op->imm = (uint64_t)sign_extend(in->imm, in->imm_size) & size_mask(op->size);
		return 0;
	}
	return INSN_ERR_OTHER;
}

int insn_mmio(const struct insn *in, struct mmio_op *op)
{
	uint8_t os = in->opsize;

	memset(op, 0, sizeof(*op));
	if (in->map == INSN_MAP_1B && in->opcode >= 0xa0 && in->opcode <= 0xa3) {
		uint8_t size = (in->opcode & 1) ? os : 1; /* AL or rAX */

		if (in->opcode & 2)
			set_store(op, size);
		else
			set_load(op, size, size, false);
		return 0;
	}
	if (!in->has_modrm || in->mod == 3)
		return INSN_ERR_OTHER;
	if (in->map == INSN_MAP_1B)
		return mmio_1b(in, op);
	if (in->map != INSN_MAP_0F)
		return INSN_ERR_OTHER;
	op->reg = in->reg;
	switch (in->opcode) {
	case 0xb6: /* MOVZX r, r/m8 */
	case 0xb7: /* MOVZX r, r/m16 */
	case 0xbe: /* MOVSX r, r/m8 */
	case 0xbf: /* MOVSX r, r/m16 */
		set_load(op, (in->opcode & 1) ? 2 : 1, os, in->opcode >= 0xbe);
		return 0;
	}
	return INSN_ERR_OTHER;
}

uint64_t mmio_store_value(const struct mmio_op *op, const uint64_t regs[16])
{
	if (op->from_imm)
		return op->imm & size_mask(op->size);
	return (regs[op->reg & 15] >> (op->high8 ? 8 : 0)) & size_mask(op->size);
}

void mmio_load_complete(const struct mmio_op *op, uint64_t regs[16], uint64_t value)
{
	uint64_t *r = &regs[op->reg & 15];
	uint64_t v = value & size_mask(op->size);

	if (op->write)
		return;
	if (op->sign)
		v = (uint64_t)sign_extend(v, op->size);
	switch (op->dst_size) {
	case 1:
		if (op->high8)
			*r = (*r & ~0xff00ULL) | (v & 0xff) << 8;
		else
			*r = (*r & ~0xffULL) | (v & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffULL) | (v & 0xffff);
		break;
	case 4:
		*r = (uint32_t)v; /* a 32-bit destination zero-extends */
		break;
	default:
		*r = v;
	}
}
