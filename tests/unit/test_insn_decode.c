/*
 * Unit tests (cmocka) for the x86-64 decoder hv/insn_decode.c: lengths,
 * operands, MMIO forms and MOV CR of instructions assembled by gas
 * (insn_vectors.S), the register write rules, and random byte strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/insn_decode.h"
#include "tests/unit/test_rng.h"

/* Kinds and flags of a vector, as #defined in insn_vectors.S. */
enum vec_kind { K_LEN, K_LOAD, K_STORE, K_CR, K_ERR };
#define F_HI8	0x01
#define F_SX	0x02
#define F_IMM	0x04
#define F_EA	0x08
#define F_RIP	0x10
#define F_TO_CR 0x20

/* One record of insn_vectors.S. */
struct vec {
	uint32_t code, text; /* offsets into insn_vec_code, insn_vec_text */
	uint8_t len;	     /* as assembled by gas */
	uint8_t kind, size, reg, dst, flags, base, index;
	uint8_t scale, rm, pad[6];
	int64_t disp;
	uint64_t imm; /* K_ERR: the error */
};
_Static_assert(sizeof(struct vec) == 40, "insn_vectors.S writes 40-byte records");

extern const struct vec insn_vecs[], insn_vecs_end[];
extern const uint8_t insn_vec_code[];
extern const char insn_vec_text[];

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

static const char *vtext(const struct vec *v)
{
	return insn_vec_text + v->text;
}

#define CHECK_EQ(v, a, b)                                                                          \
	do {                                                                                       \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);     \
		if (a_ != b_)                                                                      \
			fail_msg("%s: %s is 0x%llx, expected 0x%llx", vtext(v), #a, a_, b_);       \
	} while (0)

/* Decode v from a heap buffer of exactly avail bytes (ASan sees over-reads), padded with pad. */
static int decode_n(const struct vec *v, size_t avail, uint8_t pad, struct insn *in)
{
	uint8_t *buf = malloc(avail);
	size_t have = avail < v->len ? avail : v->len;
	int r;

	assert_true(buf || !avail);
	if (have)
		memcpy(buf, insn_vec_code + v->code, have);
	if (avail > have)
		memset(buf + have, pad, avail - have);
	r = insn_decode(buf, avail, in);
	free(buf);
	return r;
}

/* The vector with this text, decoded. */
static const struct vec *find(const char *text, struct insn *in)
{
	for (const struct vec *v = insn_vecs; v < insn_vecs_end; v++) {
		if (!strcmp(vtext(v), text)) {
			CHECK_EQ(v, decode_n(v, v->len, 0, in), 0);
			return v;
		}
	}
	fail_msg("no vector \"%s\" in insn_vectors.S", text);
	return NULL;
}

static void check_same(const struct vec *v, const struct insn *a, const struct insn *b)
{
	CHECK_EQ(v, a->len, b->len);
	CHECK_EQ(v, a->npfx, b->npfx);
	CHECK_EQ(v, a->pfx, b->pfx);
	CHECK_EQ(v, a->rex, b->rex);
	CHECK_EQ(v, a->map, b->map);
	CHECK_EQ(v, a->opcode, b->opcode);
	CHECK_EQ(v, a->modrm, b->modrm);
	CHECK_EQ(v, a->sib, b->sib);
	CHECK_EQ(v, a->disp, b->disp);
	CHECK_EQ(v, a->imm, b->imm);
	CHECK_EQ(v, a->imm_size, b->imm_size);
}

/* Every vector decodes to gas's length (or its error), whatever follows it. */
static void test_vector_lengths(void **state)
{
	struct insn in, in0, inf;
	unsigned n = 0;

	(void)state;
	for (const struct vec *v = insn_vecs; v < insn_vecs_end; v++) {
		n++;
		if (v->kind == K_ERR) {
			CHECK_EQ(v, decode_n(v, v->len, 0, &in), (int)v->imm);
			CHECK_EQ(v, decode_n(v, 32, 0x90, &in), (int)v->imm);
			continue;
		}
		CHECK_EQ(v, decode_n(v, v->len, 0, &in), 0);
		CHECK_EQ(v, in.len, v->len);
		CHECK_EQ(v, decode_n(v, 32, 0x00, &in0), 0);
		CHECK_EQ(v, decode_n(v, 32, 0xff, &inf), 0);
		check_same(v, &in, &in0);
		check_same(v, &in, &inf);
	}
	assert_true(n >= 200);
}

/* Any proper prefix of an instruction is truncated; 15 bytes without an end are too long. */
static void test_vector_truncated(void **state)
{
	struct insn in;

	(void)state;
	for (const struct vec *v = insn_vecs; v < insn_vecs_end; v++) {
		for (size_t avail = 0; avail < v->len && avail <= 32; avail++) {
			int r = decode_n(v, avail, 0, &in);

			if (v->kind != K_ERR)
				CHECK_EQ(v, r, INSN_ERR_TRUNCATED);
			else if (avail >= INSN_MAX_LEN || r != INSN_ERR_TRUNCATED) /* found early */
				CHECK_EQ(v, r, v->imm);
		}
	}
}

static void test_vector_mmio(void **state)
{
	struct insn in;
	struct mmio_op op;

	(void)state;
	for (const struct vec *v = insn_vecs; v < insn_vecs_end; v++) {
		if (v->kind == K_ERR)
			continue;
		decode_n(v, v->len, 0, &in);
		if (v->kind != K_LOAD && v->kind != K_STORE) {
			CHECK_EQ(v, insn_mmio(&in, &op), INSN_ERR_OTHER);
			continue;
		}
		CHECK_EQ(v, insn_mmio(&in, &op), 0);
		CHECK_EQ(v, op.write, v->kind == K_STORE);
		CHECK_EQ(v, op.size, v->size);
		CHECK_EQ(v, op.from_imm, !!(v->flags & F_IMM));
		if (v->flags & F_IMM) {
			CHECK_EQ(v, op.imm, v->imm);
		} else {
			CHECK_EQ(v, op.reg, v->reg);
			CHECK_EQ(v, op.high8, !!(v->flags & F_HI8));
		}
		if (v->kind == K_LOAD) {
			CHECK_EQ(v, op.dst_size, v->dst ? v->dst : v->size);
			CHECK_EQ(v, op.sign, !!(v->flags & F_SX));
		}
	}
}

static void test_vector_operands(void **state)
{
	struct insn in;

	(void)state;
	for (const struct vec *v = insn_vecs; v < insn_vecs_end; v++) {
		if (!(v->flags & (F_EA | F_RIP)))
			continue;
		decode_n(v, v->len, 0, &in);
		CHECK_EQ(v, in.rip_rel, !!(v->flags & F_RIP));
		CHECK_EQ(v, in.base, v->base);
		CHECK_EQ(v, in.index, v->index);
		CHECK_EQ(v, in.disp, v->disp);
		if (v->index != INSN_REG_NONE)
			CHECK_EQ(v, in.scale, v->scale);
		if (in.has_modrm)
			CHECK_EQ(v, in.mod == 3, 0);
	}
}

static void test_vector_mov_cr(void **state)
{
	struct insn in;
	struct insn_cr cr;
	unsigned n = 0;

	(void)state;
	for (const struct vec *v = insn_vecs; v < insn_vecs_end; v++) {
		if (v->kind == K_ERR)
			continue;
		decode_n(v, v->len, 0, &in);
		if (v->kind != K_CR) {
			CHECK_EQ(v, insn_mov_cr(&in, &cr), INSN_ERR_OTHER);
			continue;
		}
		n++;
		CHECK_EQ(v, insn_mov_cr(&in, &cr), 0);
		CHECK_EQ(v, cr.to_cr, !!(v->flags & F_TO_CR));
		CHECK_EQ(v, cr.cr, v->reg);
		CHECK_EQ(v, cr.gpr, v->rm);
		CHECK_EQ(v, in.mod, 3);
		CHECK_EQ(v, in.has_sib, 0);
		CHECK_EQ(v, in.disp_size, 0);
	}
	assert_true(n >= 20);
}

/* Prefix, REX, map, opcode and immediate fields of a few vectors. */
static void test_fields(void **state)
{
	struct insn in;

	(void)state;
	find(".byte 0x3e, 0x3e; cpuid", &in);
	assert_int_equal(in.npfx, 2);
	assert_int_equal(in.pfx, INSN_PFX_SEG);
	assert_int_equal(in.seg, 0x3e);
	assert_int_equal(in.map, INSN_MAP_0F);
	assert_int_equal(in.opcode, 0xa2);
	assert_int_equal(in.rex, 0);

	find(".byte 0xf3, 0x66, 0x2e, 0x48; cpuid", &in);
	assert_int_equal(in.npfx, 3);
	assert_int_equal(in.pfx, INSN_PFX_F3 | INSN_PFX_66 | INSN_PFX_SEG);
	assert_int_equal(in.seg, 0x2e);
	assert_int_equal(in.rex, 0x48);
	assert_true(in.rex_w && !in.rex_r && !in.rex_x && !in.rex_b);
	assert_int_equal(in.opsize, 8);

	find(".byte 0x2e, 0x26, 0x64, 0x65, 0x36, 0x3e, 0xf0, 0xf2, 0xf3, 0x67, 0x66; rdtsc", &in);
	assert_int_equal(in.npfx, 11);
	assert_int_equal(in.seg, 0x3e); /* the last one */
	assert_int_equal(in.pfx, 0x3f);
	assert_int_equal(in.opcode, 0x31);

	find(".byte 0x48, 0x3e; movl %eax, (%rbx)", &in);
	assert_int_equal(in.rex, 0);
	assert_false(in.rex_w);
	assert_int_equal(in.npfx, 1);
	assert_int_equal(in.opsize, 4);

	find(".byte 0x48; movl %eax, (%r8)", &in);
	assert_int_equal(in.rex, 0x41);

	find("movl %r10d, -0x1000(%r8,%r9,8)", &in);
	assert_int_equal(in.rex, 0x47);
	assert_true(!in.rex_w && in.rex_r && in.rex_x && in.rex_b);
	assert_int_equal(in.reg, R10);
	assert_true(in.has_sib);
	assert_int_equal(in.disp_size, 4);

	find("movl %eax, -0x80(%rbx)", &in);
	assert_int_equal(in.disp_size, 1);
	assert_false(in.has_sib);

	find("invpcid (%rax), %rcx", &in);
	assert_int_equal(in.map, INSN_MAP_0F38);
	assert_int_equal(in.opcode, 0x82);
	assert_int_equal(in.pfx, INSN_PFX_66);
	assert_int_equal(in.reg, RCX);

	find("palignr $1, %xmm0, %xmm1", &in);
	assert_int_equal(in.map, INSN_MAP_0F3A);
	assert_int_equal(in.imm_size, 1);
	assert_int_equal(in.imm, 1);

	find("movabs $0x1122334455667788, %rax", &in);
	assert_int_equal(in.imm_size, 8);
	assert_int_equal(in.imm, 0x1122334455667788ULL);
	assert_false(in.has_modrm);

	find("movw $0x1234, %ax", &in);
	assert_int_equal(in.imm_size, 2);
	assert_int_equal(in.opsize, 2);

	find("enter $0x10, $1", &in);
	assert_int_equal(in.imm_size, 3);
	assert_int_equal(in.imm, 0x010010);

	find("testw $0x1234, 0x10(%rbx)", &in);
	assert_int_equal(in.imm_size, 2);
	assert_int_equal(in.imm, 0x1234);
	assert_int_equal(in.disp, 0x10);

	find("notl (%rbx)", &in);
	assert_int_equal(in.imm_size, 0);

	find(".byte 0x66; movq $-2, (%rbx)", &in);
	assert_int_equal(in.imm_size, 4);
	assert_int_equal(in.imm, 0xfffffffe);

	find("addr32 movl 0x88776655, %eax", &in);
	assert_int_equal(in.disp_size, 4);
	assert_int_equal(in.pfx, INSN_PFX_67);
}

/* n prefixes and a NOP: valid up to 15 bytes, too long from 16 on. */
static void test_length_limit(void **state)
{
	uint8_t b[32];
	struct insn in;

	(void)state;
	for (unsigned n = 0; n < 25; n++) {
		memset(b, 0x2e, n);
		b[n] = 0x90;
		if (n + 1 <= INSN_MAX_LEN) {
			assert_int_equal(insn_decode(b, n + 1, &in), 0);
			assert_int_equal(in.len, n + 1);
			assert_int_equal(in.npfx, n);
		} else {
			assert_int_equal(insn_decode(b, n + 1, &in), INSN_ERR_TOO_LONG);
		}
	}
}

/* Register i is 0x1111111111111111 * (i + 1) - i (mod 2^64): rax 1111111111111111, rcx ..21. */
static void fill_regs(uint64_t regs[16])
{
	for (unsigned i = 0; i < 16; i++)
		regs[i] = 0x1111111111111111ULL * (i + 1) - i;
}

static struct mmio_op mmio_of(const char *text)
{
	struct insn in;
	struct mmio_op op;

	find(text, &in);
	assert_int_equal(insn_mmio(&in, &op), 0);
	return op;
}

/* Complete a load of value from text's vector; only register r may change, and must become want. */
static void check_load(const char *text, uint64_t value, unsigned r, uint64_t want)
{
	struct mmio_op op = mmio_of(text);
	uint64_t regs[16], before[16];

	fill_regs(regs);
	memcpy(before, regs, sizeof(regs));
	mmio_load_complete(&op, regs, value);
	for (unsigned i = 0; i < 16; i++) {
		uint64_t expect = i == r ? want : before[i];

		if (regs[i] != expect)
			fail_msg("%s <- 0x%llx: reg %u is 0x%llx, expected 0x%llx", text,
				 (unsigned long long)value, i, (unsigned long long)regs[i],
				 (unsigned long long)expect);
	}
}

static void test_load_complete(void **state)
{
	(void)state;
	check_load("movl (%rbx), %edx", 0xdeadbeef, RDX, 0xdeadbeef);
	check_load("movl (%rbx), %edx", 0xffffffff80000000ULL, RDX, 0x80000000);
	check_load("movl (%rbx), %r13d", 0x12345678, R13, 0x12345678);
	check_load("movq (%rbx), %r14", 0x8000000000000001ULL, R14, 0x8000000000000001ULL);
	check_load("movw (%rbx), %cx", 0xbeef, RCX, 0x222222222222beefULL);
	check_load("movw (%rbx), %cx", 0x12345678, RCX, 0x2222222222225678ULL);
	check_load("movw (%rbx), %r8w", 0x8001, R8, 0x9999999999998001ULL);
	check_load("movb (%rbx), %al", 0x5a, RAX, 0x111111111111115aULL);
	check_load("movb (%rbx), %al", 0x1234, RAX, 0x1111111111111134ULL);
	check_load("movb (%rbx), %ah", 0x5a, RAX, 0x1111111111115a11ULL);
	check_load("movb (%rbx), %ch", 0xff, RCX, 0x222222222222ff21ULL);
	check_load("movb (%rbx), %bh", 0x00, RBX, 0x4444444444440041ULL);
	check_load("movb (%rbx), %dil", 0xa5, RDI, 0x88888888888888a5ULL);
	check_load("movb (%r9), %spl", 0x00, RSP, 0x5555555555555500ULL);
	check_load("movb (%rbx), %r12b", 0x80, R12, 0xdddddddddddddd80ULL);
	check_load("movabs 0x1122334455667788, %al", 0x7f, RAX, 0x111111111111117fULL);
	check_load("movabs 0x1122334455667788, %eax", 0x87654321, RAX, 0x87654321);
	check_load("movsbq (%rbx), %rsp", 0x80, RSP, 0xffffffffffffff80ULL);
	check_load("movsbq (%rbx), %rsp", 0x7f, RSP, 0x7f);
	check_load("movsbl (%rbx), %ebp", 0x80, RBP, 0xffffff80);
	check_load("movsbw (%rbx), %ax", 0x80, RAX, 0x111111111111ff80ULL);
	check_load("movswl (%rbx), %ecx", 0x8000, RCX, 0xffff8000);
	check_load("movswq (%rbx), %r10", 0x8000, R10, 0xffffffffffff8000ULL);
	check_load("movslq (%rbx), %rax", 0x80000000, RAX, 0xffffffff80000000ULL);
	check_load("movslq (%rbx), %rax", 0x7fffffff, RAX, 0x7fffffff);
	check_load("movzbw (%rbx), %ax", 0xff, RAX, 0x11111111111100ffULL);
	check_load("movzbl (%rbx), %ecx", 0x80, RCX, 0x80);
	check_load("movzbq (%rbx), %rdx", 0xfe, RDX, 0xfe);
	check_load("movzwl (%rbx), %esi", 0xffff, RSI, 0xffff);
	check_load("movzwq (%rbx), %r9", 0x8001, R9, 0x8001);
	check_load(".byte 0x66; movzwl (%rbx), %edi", 0xabcd, RDI, 0x888888888888abcdULL);
	check_load(".byte 0x41, 0x66; movl (%rax), %eax", 0xcafe, RAX, 0x111111111111cafeULL);
	check_load(".byte 0x40; movb %ah, (%rbx)", 0x12, 99, 0); /* a store: nothing changes */
}

static void check_store(const char *text, uint64_t want)
{
	struct mmio_op op = mmio_of(text);
	uint64_t regs[16];

	fill_regs(regs);
	if (mmio_store_value(&op, regs) != want)
		fail_msg("%s stores 0x%llx, expected 0x%llx", text,
			 (unsigned long long)mmio_store_value(&op, regs), (unsigned long long)want);
}

static void test_store_value(void **state)
{
	(void)state;
	check_store("movb %al, (%rbx)", 0x11);
	check_store("movb %ah, (%rbx)", 0x11);
	check_store("movb %ch, (%rbx)", 0x22);
	check_store("movb %cl, (%rbx)", 0x21);
	check_store("movb %bh, (%rsi)", 0x44);
	check_store("movb %bl, (%rbx)", 0x41);
	check_store("movb %spl, (%rbx)", 0x51);
	check_store(".byte 0x40; movb %ah, (%rbx)", 0x51);
	check_store("movb %dil, (%rbx)", 0x81);
	check_store("movb %r15b, (%r15)", 0x01);
	check_store("movw %r10w, (%rbx)", 0xbbb1);
	check_store("movl %r11d, (%rbx)", 0xccccccc1);
	check_store("movq %r15, (%rbx)", 0x1111111111111101ULL); /* 0x1111111111111111 * 16 wraps */
	check_store("movq %rsp, (%rbx)", 0x5555555555555551ULL);
	check_store("movabs %ax, 0x1122334455667788", 0x1111);
	check_store("movb $-1, (%rbx)", 0xff);
	check_store("movw $-2, (%rbx)", 0xfffe);
	check_store("movl $0x89abcdef, (%rbx)", 0x89abcdef);
	check_store("movq $-2, (%rbx)", 0xfffffffffffffffeULL);
	check_store("movq $-0x80000000, (%rbx)", 0xffffffff80000000ULL);
	check_store("movq $0x7fffffff, 0x10(%rip)", 0x7fffffff);
}

static void test_effective_address(void **state)
{
	uint64_t regs[16];
	struct insn in;
	const struct vec *v;

	(void)state;
	fill_regs(regs);
	find("movl %eax, 0x12(%r13,%r12,4)", &in);
	assert_int_equal(insn_effective_address(&in, regs, 0), regs[R13] + regs[R12] * 4 + 0x12);
	find("movl %r10d, -0x1000(%r8,%r9,8)", &in);
	assert_int_equal(insn_effective_address(&in, regs, 0), regs[R8] + regs[R9] * 8 - 0x1000);
	v = find("movl %eax, 0x12345678(%rip)", &in);
	assert_int_equal(insn_effective_address(&in, regs, 0x400000),
			 0x400000 + v->len + 0x12345678);
	v = find("movl %r9d, -8(%rip)", &in);
	assert_int_equal(insn_effective_address(&in, regs, 0x400000), 0x400000 + v->len - 8);
	find("movl %eax, 0x12345678", &in);
	assert_int_equal(insn_effective_address(&in, regs, 0x400000), 0x12345678);
	find("movabs 0x8877665544332211, %rax", &in);
	assert_int_equal(insn_effective_address(&in, regs, 0), 0x8877665544332211ULL);
	find("movl %eax, (%rsp,%r12)", &in);
	assert_int_equal(insn_effective_address(&in, regs, 0), regs[RSP] + regs[R12]);
	find("addr32 movl %eax, (%ebx)", &in);
	assert_int_equal(insn_effective_address(&in, regs, 0), (uint32_t)regs[RBX]);
	regs[RBX] = 0x10;
	find("movl %eax, -0x80(%rbx)", &in);
	assert_int_equal(insn_effective_address(&in, regs, 0), 0xffffffffffffff90ULL);
}

/* Bytes that lead the decoder somewhere: prefixes, REX, escapes, ModRM/SIB with displacements. */
static const uint8_t interesting[] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2,
				      0xf3, 0x40, 0x41, 0x44, 0x48, 0x4f, 0x0f, 0x38, 0x3a, 0x01,
				      0x04, 0x05, 0x24, 0x25, 0x44, 0x84, 0x88, 0x8b, 0xc7, 0xa1};

static void test_random(void **state)
{
	unsigned ok = 0, runs = 200000;
	struct insn in, again;
	struct mmio_op op;
	struct insn_cr cr;
	uint64_t regs[16] = {0};

	(void)state;
	rng_state = 0x1e57dec0de;
	for (unsigned k = 0; k < runs; k++) {
		size_t avail = rnd_below(20);
		uint8_t *b = malloc(avail);
		int r;

		for (size_t i = 0; i < avail; i++)
			b[i] = rnd_below(3) ? (uint8_t)rnd()
					    : interesting[rnd_below(sizeof(interesting))];
		r = insn_decode(b, avail, &in);
		if (r == 0) {
			ok++;
			assert_true(in.len >= 1 && in.len <= INSN_MAX_LEN && in.len <= avail);
			assert_int_equal(insn_decode(b, in.len, &again), 0);
			assert_int_equal(again.len, in.len);
			assert_int_equal(insn_decode(b, in.len - 1, &again), INSN_ERR_TRUNCATED);
			if (insn_mmio(&in, &op) == 0) {
				assert_true(op.reg < 16 && op.size >= 1 && op.size <= 8);
				mmio_load_complete(&op, regs, rnd());
				mmio_store_value(&op, regs);
			}
			if (insn_mov_cr(&in, &cr) == 0)
				assert_true(cr.cr < 16 && cr.gpr < 16);
		} else {
			assert_true(r == INSN_ERR_TRUNCATED || r == INSN_ERR_TOO_LONG ||
				    r == INSN_ERR_UNKNOWN);
			if (r == INSN_ERR_TRUNCATED)
				assert_true(avail < INSN_MAX_LEN);
		}
		free(b);
	}
	assert_true(ok > runs / 4); /* the test reached real instructions */
}

static void test_strerror(void **state)
{
	const int codes[] = {INSN_ERR_TRUNCATED, INSN_ERR_TOO_LONG, INSN_ERR_UNKNOWN,
			     INSN_ERR_OTHER};

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		assert_true(strlen(insn_strerror(codes[i])) > 0);
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(insn_strerror(codes[i]), insn_strerror(codes[j]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector_lengths), cmocka_unit_test(test_vector_truncated),
	    cmocka_unit_test(test_vector_mmio),	   cmocka_unit_test(test_vector_operands),
	    cmocka_unit_test(test_vector_mov_cr),  cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_length_limit),   cmocka_unit_test(test_load_complete),
	    cmocka_unit_test(test_store_value),	   cmocka_unit_test(test_effective_address),
	    cmocka_unit_test(test_random),	   cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
