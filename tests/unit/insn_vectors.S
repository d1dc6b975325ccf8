/*
 * Test vectors for hv/insn_decode.c: each instruction is assembled by gas
 * between two labels (its length is gas's), with a 40-byte record of what it
 * must decode to, read by tests/unit/test_insn_decode.c (struct vec there).
 * Raw .byte is used only where gas would not emit the bytes: redundant or
 * misplaced prefixes, and encodings gas refuses.
 */

/* Kinds (enum vec_kind in the test). */
#define K_LEN	0 /* decodes to its length; not an MMIO form, not MOV CR */
#define K_LOAD	1 /* an MMIO load */
#define K_STORE 2 /* an MMIO store */
#define K_CR	3 /* MOV to/from CR: reg = CR, rm = GPR */
#define K_ERR	4 /* refused: imm = the error */

/* Flags. */
#define F_HI8	0x01 /* the register is AH, CH, DH or BH */
#define F_SX	0x02 /* a sign-extending load */
#define F_IMM	0x04 /* a store of imm */
#define F_EA	0x08 /* check base, index, scale, disp */
#define F_RIP	0x10 /* RIP-relative, disp checked */
#define F_TO_CR 0x20 /* MOV to CR */

#define E_TRUNCATED -1
#define E_TOO_LONG  -2
#define E_UNKNOWN   -3

#define RAX  0
#define RCX  1
#define RDX  2
#define RBX  3
#define RSP  4
#define RBP  5
#define RSI  6
#define RDI  7
#define R8   8
#define R9   9
#define R10  10
#define R11  11
#define R12  12
#define R13  13
#define R14  14
#define R15  15
#define NONE 255

	.section .rodata.insn_vec_code, "a"
	.globl insn_vec_code
insn_vec_code:
	.section .rodata.insn_vec_text, "a"
	.globl insn_vec_text
insn_vec_text:
	.section .rodata.insn_vecs, "a"
	.balign 8
	.globl insn_vecs
insn_vecs:

/* One vector: the instruction text (gas syntax, quoted) and the record. */
.macro vec insn:req, kind:req, size=0, reg=0, dst=0, flags=0, imm=0, base=NONE, index=NONE, scale=1, disp=0, rm=0
	.pushsection .rodata.insn_vec_code, "a"
1:	\insn
2:
	.popsection
	.pushsection .rodata.insn_vec_text, "a"
3:	.asciz "\insn"
	.popsection
	.long 1b - insn_vec_code, 3b - insn_vec_text
	.byte 2b - 1b, \kind, \size, \reg, \dst, \flags, \base, \index
	.byte \scale, \rm, 0, 0, 0, 0, 0, 0
	.quad \disp, \imm
.endm

.macro len insn:req
	vec "\insn", K_LEN
.endm

/* A length-only vector whose memory operand is checked too. */
.macro lenea insn:req, base=NONE, index=NONE, scale=1, disp=0, flags=0
	vec "\insn", K_LEN, flags=(F_EA|\flags), base=\base, index=\index, scale=\scale, disp=\disp
.endm

/* dst=0: the destination is as wide as the access. */
.macro load insn:req, size:req, reg:req, dst=0, flags=0, base=NONE, index=NONE, scale=1, disp=0
	vec "\insn", K_LOAD, \size, \reg, \dst, \flags, 0, \base, \index, \scale, \disp
.endm

.macro store insn:req, size:req, reg:req, flags=0, base=NONE, index=NONE, scale=1, disp=0
	vec "\insn", K_STORE, \size, \reg, 0, \flags, 0, \base, \index, \scale, \disp
.endm

.macro storei insn:req, size:req, imm:req, flags=0, base=NONE, index=NONE, scale=1, disp=0
	vec "\insn", K_STORE, \size, 0, 0, (F_IMM|\flags), \imm, \base, \index, \scale, \disp
.endm

.macro cr insn:req, cr:req, gpr:req, flags=0
	vec "\insn", K_CR, reg=\cr, rm=\gpr, flags=\flags
.endm

.macro err insn:req, code:req
	vec "\insn", K_ERR, imm=\code
.endm

/* ---- MMIO: 88 and 8A, 8-bit, the AH..BH rule ---- */
	store "movb %al, (%rbx)", 1, RAX, F_EA, base=RBX
	store "movb %cl, (%rbx)", 1, RCX
	store "movb %dl, (%rbx)", 1, RDX
	store "movb %bl, (%rbx)", 1, RBX
	store "movb %ah, (%rbx)", 1, RAX, F_HI8
	store "movb %ch, (%rbx)", 1, RCX, F_HI8
	store "movb %dh, (%rbx)", 1, RDX, F_HI8
	store "movb %bh, (%rsi)", 1, RBX, F_HI8|F_EA, base=RSI
	store "movb %spl, (%rbx)", 1, RSP
	store "movb %bpl, (%rbx)", 1, RBP
	store "movb %sil, (%rbx)", 1, RSI
	store "movb %dil, (%rbx)", 1, RDI
	store "movb %r8b, (%rbx)", 1, R8
	store "movb %r15b, (%r15)", 1, R15, F_EA, base=R15
	store ".byte 0x40; movb %ah, (%rbx)", 1, RSP /* REX 40: reg 4 is SPL */
	store ".byte 0x40, 0x3e; movb %ah, (%rbx)", 1, RAX, F_HI8 /* that REX is ignored */
	load "movb (%rbx), %al", 1, RAX
	load "movb (%rbx), %ah", 1, RAX, flags=F_HI8
	load "movb (%rbx), %ch", 1, RCX, flags=F_HI8
	load "movb (%rbx), %dh", 1, RDX, flags=F_HI8
	load "movb (%rbx), %bh", 1, RBX, flags=F_HI8
	load "movb (%rbx), %dil", 1, RDI
	load "movb (%r9), %spl", 1, RSP, flags=F_EA, base=R9
	load "movb (%rbx), %r12b", 1, R12
	load "movb 0x10(%rip), %bh", 1, RBX, flags=F_HI8|F_RIP, disp=0x10

/* ---- 89 and 8B: 16, 32, 64 bits ---- */
	store "movw %ax, (%rbx)", 2, RAX
	store "movl %eax, (%rbx)", 4, RAX
	store "movq %rax, (%rbx)", 8, RAX
	store "movw %r10w, (%rbx)", 2, R10
	store "movl %r11d, (%rbx)", 4, R11
	store "movq %r15, (%rbx)", 8, R15
	store "movq %rsp, (%rbx)", 8, RSP
	store "movw %si, 0x1234(%rdi)", 2, RSI, F_EA, base=RDI, disp=0x1234
	load "movw (%rbx), %cx", 2, RCX
	load "movl (%rbx), %edx", 4, RDX
	load "movq (%rbx), %rsi", 8, RSI
	load "movw (%rbx), %r8w", 2, R8
	load "movl (%rbx), %r13d", 4, R13
	load "movq (%rbx), %r14", 8, R14
	load "movq -8(%rbp), %rbp", 8, RBP, flags=F_EA, base=RBP, disp=-8

/* ---- C6 /0 and C7 /0: immediates (C7 with REX.W: imm32 sign-extended) ---- */
	storei "movb $0x5a, (%rbx)", 1, 0x5a
	storei "movb $-1, (%rbx)", 1, 0xff
	storei "movw $0x1234, (%rbx)", 2, 0x1234
	storei "movw $-2, (%rbx)", 2, 0xfffe
	storei "movl $0x89abcdef, (%rbx)", 4, 0x89abcdef
	storei "movl $-1, 8(%r8)", 4, 0xffffffff, F_EA, base=R8, disp=8
	storei "movq $0x12345678, (%rbx)", 8, 0x12345678
	storei "movq $-2, (%rbx)", 8, 0xfffffffffffffffe
	storei "movq $-0x80000000, (%rbx)", 8, 0xffffffff80000000
	storei "movq $0x7fffffff, 0x10(%rip)", 8, 0x7fffffff, F_RIP, disp=0x10
	storei "movb $1, (%r9,%r10,2)", 1, 1, F_EA, base=R9, index=R10, scale=2
	storei ".byte 0x66; movq $-2, (%rbx)", 8, 0xfffffffffffffffe /* REX.W beats 66: still imm32 */
	storei ".fill 5, 1, 0x2e; movl $0x12345678, 0x12345678(%rip)", 4, 0x12345678, F_RIP, disp=0x12345678 /* 15 bytes */

/* ---- A0-A3: moffs (64-bit address, 32 with 67) ---- */
	load "movabs 0x1122334455667788, %al", 1, RAX, flags=F_EA, disp=0x1122334455667788
	load "movabs 0x1122334455667788, %ax", 2, RAX
	load "movabs 0x1122334455667788, %eax", 4, RAX
	load "movabs 0x8877665544332211, %rax", 8, RAX, flags=F_EA, disp=0x8877665544332211
	store "movabs %al, 0x1122334455667788", 1, RAX
	store "movabs %ax, 0x1122334455667788", 2, RAX
	store "movabs %eax, 0x1122334455667788", 4, RAX
	store "movabs %rax, 0x1122334455667788", 8, RAX
	load "addr32 movl 0x88776655, %eax", 4, RAX, flags=F_EA, disp=0x88776655
	store "addr32 movb %al, 0x11223344", 1, RAX

/* ---- MOVZX, MOVSX (0F B6 B7 BE BF), MOVSXD (REX.W 63) ---- */
	load "movzbw (%rbx), %ax", 1, RAX, 2
	load "movzbl (%rbx), %ecx", 1, RCX, 4
	load "movzbq (%rbx), %rdx", 1, RDX, 8
	load "movzbl (%rbx), %r11d", 1, R11, 4
	load "movzwl (%rbx), %esi", 2, RSI, 4
	load "movzwq (%rbx), %r9", 2, R9, 8
	load ".byte 0x66; movzwl (%rbx), %edi", 2, RDI, 2 /* MOVZX r16, r/m16 */
	load "movsbw (%rbx), %ax", 1, RAX, 2, F_SX
	load "movsbl (%rbx), %ebp", 1, RBP, 4, F_SX
	load "movsbq (%rbx), %rsp", 1, RSP, 8, F_SX
	load "movsbq 0x20(%rip), %r8", 1, R8, 8, F_SX|F_RIP, disp=0x20
	load "movswl (%rbx), %ecx", 2, RCX, 4, F_SX
	load "movswq (%rbx), %r10", 2, R10, 8, F_SX
	load "movslq (%rbx), %rax", 4, RAX, 8, F_SX
	load "movslq (%r12), %r15", 4, R15, 8, F_SX|F_EA, base=R12
	load "movslq 0x10(%rip), %r8", 4, R8, 8, F_SX|F_RIP, disp=0x10

/* ---- addressing: ModRM, SIB, REX.X/B, disp8/disp32, RIP-relative ---- */
	store "movl %eax, (%rax)", 4, RAX, F_EA, base=RAX
	store "movl %eax, (%r8)", 4, RAX, F_EA, base=R8
	store "movl %eax, (%rsp)", 4, RAX, F_EA, base=RSP
	store "movl %eax, (%r12)", 4, RAX, F_EA, base=R12
	store "movl %eax, (%rbp)", 4, RAX, F_EA, base=RBP
	store "movl %eax, (%r13)", 4, RAX, F_EA, base=R13
	store "movl %eax, 0x12(%rbx)", 4, RAX, F_EA, base=RBX, disp=0x12
	store "movl %eax, -0x80(%rbx)", 4, RAX, F_EA, base=RBX, disp=-0x80
	store "movl %eax, 0x80(%rbx)", 4, RAX, F_EA, base=RBX, disp=0x80
	store "movl %eax, 0x12345678(%rbx)", 4, RAX, F_EA, base=RBX, disp=0x12345678
	store "movl %eax, -0x12345678(%r11)", 4, RAX, F_EA, base=R11, disp=-0x12345678
	store "movl %eax, 0x12345678(%rip)", 4, RAX, F_RIP, disp=0x12345678
	store "movl %r9d, -8(%rip)", 4, R9, F_RIP, disp=-8
	store "movl %eax, 0x12345678", 4, RAX, F_EA, disp=0x12345678
	store "movl %eax, 0x12345678(,%rcx,4)", 4, RAX, F_EA, index=RCX, scale=4, disp=0x12345678
	store "movl %eax, 0x12(,%r13,8)", 4, RAX, F_EA, index=R13, scale=8, disp=0x12
	store "movl %eax, (%rax,%rbx)", 4, RAX, F_EA, base=RAX, index=RBX
	store "movl %eax, (%rax,%rbx,2)", 4, RAX, F_EA, base=RAX, index=RBX, scale=2
	store "movl %eax, 0x12(%r13,%r12,4)", 4, RAX, F_EA, base=R13, index=R12, scale=4, disp=0x12
	store "movl %r10d, -0x1000(%r8,%r9,8)", 4, R10, F_EA, base=R8, index=R9, scale=8, disp=-0x1000
	store "movl %eax, (%rsp,%r12)", 4, RAX, F_EA, base=RSP, index=R12
	store "movl %eax, (%rbp,%rax)", 4, RAX, F_EA, base=RBP, index=RAX
	store "movl %eax, (%r13,%rax,2)", 4, RAX, F_EA, base=R13, index=RAX, scale=2
	store "movl %eax, 0x10(%rsp)", 4, RAX, F_EA, base=RSP, disp=0x10
	store "movq %r14, 0x7f(%rsp,%rbp,4)", 8, R14, F_EA, base=RSP, index=RBP, scale=4, disp=0x7f
	store "movl %eax, %fs:0x10", 4, RAX, F_EA, disp=0x10
	store "movl %eax, %gs:(%rbx)", 4, RAX, F_EA, base=RBX
	store "movl %eax, %es:(%rbx)", 4, RAX
	store "addr32 movl %eax, (%ebx)", 4, RAX, F_EA, base=RBX
	store "addr32 movl %eax, 0x10(%eip)", 4, RAX, F_RIP, disp=0x10
	store ".byte 0x42; movl %eax, (%rsp)", 4, RAX, F_EA, base=RSP, index=R12 /* REX.X: r12 indexes */
	store ".byte 0x41; movl %eax, 0x12345678(%rip)", 4, RAX, F_RIP, disp=0x12345678 /* REX.B: still RIP */
	store ".byte 0x41; movl %eax, 0x12345678", 4, RAX, F_EA, disp=0x12345678 /* SIB base 101, mod 00: none */
	lenea "leaq 0x10(%rax,%rcx,8), %rdx", base=RAX, index=RCX, scale=8, disp=0x10
	lenea "invlpg -8(%r12,%r13,2)", base=R12, index=R13, scale=2, disp=-8

/* ---- prefixes: any order before REX; a REX not right before the opcode is ignored ---- */
	store ".byte 0x48, 0x3e; movl %eax, (%rbx)", 4, RAX, F_EA, base=RBX
	store ".byte 0x4c, 0x2e; movl %eax, (%rbx)", 4, RAX
	load ".byte 0x41, 0x66; movl (%rax), %eax", 2, RAX, flags=F_EA, base=RAX
	store ".byte 0x48; movl %eax, (%r8)", 4, RAX, F_EA, base=R8 /* two REX: the last counts */
	store ".byte 0x66; movq %rax, (%rbx)", 8, RAX /* REX.W beats 66 */
	store ".byte 0x66, 0x3e, 0xf3; movl %eax, (%rbx)", 2, RAX
	store ".byte 0x3e, 0x66, 0x2e; movq %r9, (%r10)", 8, R9, F_EA, base=R10
	len ".byte 0x3e, 0x3e; cpuid"
	len ".byte 0x3e, 0x3e, 0x3e; vmmcall"
	len ".byte 0xf3, 0x66, 0x2e, 0x48; cpuid"
	len ".byte 0x2e, 0x26, 0x64, 0x65, 0x36, 0x3e, 0xf0, 0xf2, 0xf3, 0x67, 0x66; rdtsc"
	len ".byte 0x48, 0x2e; hlt"
	len ".fill 14, 1, 0x3e; nop"

/* ---- not MMIO forms (register operands, other opcodes) ---- */
	len "movl %eax, %ebx"
	len "movb %ah, %bl"
	len "movzbl %al, %eax"
	len "movslq %eax, %rax"
	len "movsxd (%rbx), %eax"
	len "movl $1, %ecx"
	len "movq $-1, %rax"
	len "movabs $0x1122334455667788, %rax"
	len "movw $0x1234, %ax"
	len "movb $0x12, %ah"
	len "addl %eax, (%rbx)"
	len "xchgl %eax, (%rbx)"
	len "movnti %eax, (%rbx)"
	len "testl $0x12345678, (%rbx)"
	len "testw $0x1234, 0x10(%rbx)"
	len "testb $1, (%rbx)"
	len "notl (%rbx)"
	len "negb 0x12345678(%rip)"
	len "enter $0x10, $1"
	len "ret $8"
	len "push $0x12345678"
	len "pushw $0x1234"
	len "imul $0x12345678, %eax, %ebx"
	len "imul $3, (%rbx), %ecx"
	len "shll $3, (%rbx)"
	len "addq $0x12345678, 0x10(%rip)"
	len "addw $0x1234, (%rax)"
	len "cmpb $1, (%rax)"
	len "jmp *%rax"
	len "call *0x10(%rip)"
	len "shufps $1, %xmm0, %xmm1"
	len "pshufd $1, %xmm0, %xmm1"
	len "pextrw $1, %xmm0, %eax"
	len "palignr $1, %xmm0, %xmm1"
	len "pshufb %xmm0, %xmm1"
	len "crc32b (%rax), %eax"
	len "movbe (%rax), %eax"
	len "btl $3, (%rax)"
	len "cmpxchg16b (%rax)"
	len "rdrand %eax"
	len "swapgs"
	len "syscall"
	len "sysretq"
	len "iretq"
	len "xabort $1"
	len "fldl (%rax)"
	len "lock incl (%rax)"
	len "data16 jne .+0x10"
	len "rep movsb"
	len "endbr64"
	len "popq (%rax)"
	len "popcnt (%rax), %ecx"

/* ---- intercepted instructions: their lengths ---- */
	len "cpuid"
	len "rdmsr"
	len "wrmsr"
	len "rdpmc"
	len "rdtsc"
	len "rdtscp"
	len "hlt"
	len "pause"
	len "invd"
	len "wbinvd"
	len "in $0x12, %al"
	len "in $0x12, %ax"
	len "in $0x12, %eax"
	len "out %al, $0x12"
	len "out %ax, $0x12"
	len "out %eax, $0x12"
	len "in (%dx), %al"
	len "in (%dx), %ax"
	len "in (%dx), %eax"
	len "out %al, (%dx)"
	len "out %ax, (%dx)"
	len "out %eax, (%dx)"
	len "insb"
	len "insw"
	len "insl"
	len "outsb"
	len "outsw"
	len "outsl"
	len "rep insb"
	len "rep insw"
	len "rep outsl"
	len "vmcall"
	len "vmmcall"
	len "monitor"
	len "mwait"
	len "xsetbv"
	len "invlpga"
	len "vmrun"
	len "vmload"
	len "vmsave"
	len "stgi"
	len "clgi"
	len "skinit"
	len "invlpg (%rax)"
	len "invlpg 0x12345678(%rip)"
	len "invlpg 0x12345678"
	len "invlpg %fs:(%rax)"
	len "mov %db7, %rax"
	len "mov %rax, %db7"
	len "mov %r9, %db0"
	len "mov %db6, %r15"
	len "invpcid (%rax), %rcx"
	len "invpcid 0x10(%r8,%r9,4), %r10"
	len "int $0x80"
	len "int3"
	len "ud2"
	len "cli"
	len "sti"
	len "nop"
	len "nopl (%rax)"
	len "nopl 0x0(%rax,%rax,1)"
	len "nopw 0x0(%rax,%rax,1)"
	len "nopl 0x12345678(%rax,%rax,1)"
	len "xchg %ax, %ax"
	len ".byte 0x66, 0x66; nopw %cs:0x12345678(%rax,%rax,1)"

/* ---- MOV to and from CR0, CR2, CR3, CR4, CR8 ---- */
	cr "mov %rax, %cr0", 0, RAX, F_TO_CR
	cr "mov %rbx, %cr3", 3, RBX, F_TO_CR
	cr "mov %rcx, %cr4", 4, RCX, F_TO_CR
	cr "mov %rdx, %cr8", 8, RDX, F_TO_CR
	cr "mov %r9, %cr0", 0, R9, F_TO_CR
	cr "mov %r12, %cr3", 3, R12, F_TO_CR
	cr "mov %r13, %cr4", 4, R13, F_TO_CR
	cr "mov %r15, %cr8", 8, R15, F_TO_CR
	cr "mov %rsp, %cr4", 4, RSP, F_TO_CR
	cr "mov %cr0, %rax", 0, RAX
	cr "mov %cr2, %rsi", 2, RSI
	cr "mov %cr3, %rdi", 3, RDI
	cr "mov %cr4, %r12", 4, R12
	cr "mov %cr8, %r9", 8, R9
	cr "mov %cr0, %r8", 0, R8
	cr ".byte 0x3e; mov %rax, %cr4", 4, RAX, F_TO_CR
	cr ".byte 0x66, 0x3e, 0x2e; mov %rax, %cr4", 4, RAX, F_TO_CR
	cr ".byte 0x48, 0x3e; mov %rax, %cr4", 4, RAX, F_TO_CR /* REX ignored */
	cr ".byte 0x3e; mov %r10, %cr3", 3, R10, F_TO_CR
	cr ".byte 0xf0; mov %rax, %cr0", 8, RAX, F_TO_CR /* AMD: LOCK MOV CR0 is CR8 */
	/* The mod bits are ignored: no SIB, no displacement (gas only emits mod 11). */
	cr ".byte 0x0f, 0x22, 0x00", 0, RAX, F_TO_CR
	cr ".byte 0x0f, 0x20, 0x44", 0, RSP
	cr ".byte 0x41, 0x0f, 0x22, 0x9c", 3, R12, F_TO_CR

/* ---- refused ---- */
	err ".fill 15, 1, 0x3e; nop", E_TOO_LONG
	err ".fill 11, 1, 0x2e; movl $0x12345678, 0x12345678(%rip)", E_TOO_LONG
	err ".fill 6, 1, 0x66; movabs $0x1122334455667788, %rax", E_TOO_LONG
	err ".fill 13, 1, 0x3e; .byte 0x48; cpuid", E_TOO_LONG
	err ".byte 0xce", E_UNKNOWN /* INTO */
	err ".byte 0x06", E_UNKNOWN /* PUSH ES */
	err ".byte 0x60", E_UNKNOWN /* PUSHA */
	err ".byte 0xd4, 0x0a", E_UNKNOWN /* AAM */
	err ".byte 0x9a, 0, 0, 0, 0, 0, 0", E_UNKNOWN /* CALL far */
	err ".byte 0x0f, 0x04", E_UNKNOWN
	err ".byte 0x0f, 0x38, 0x50, 0xc0", E_UNKNOWN
	err ".byte 0x0f, 0x3a, 0x00, 0xc0, 0x00", E_UNKNOWN
	err "vpaddd %xmm0, %xmm1, %xmm2", E_UNKNOWN
	err "vpaddd %ymm8, %ymm9, %ymm10", E_UNKNOWN
	err "vpaddd %zmm0, %zmm1, %zmm2", E_UNKNOWN
	err "vpcmov %xmm1, %xmm2, %xmm3, %xmm4", E_UNKNOWN
	err "pfmul %mm0, %mm1", E_UNKNOWN
	err "callw .+0x10", E_UNKNOWN
	err "data16 jne .+0x1000", E_UNKNOWN
	err "extrq $1, $2, %xmm0", E_UNKNOWN
	err "insertq $1, $2, %xmm1, %xmm0", E_UNKNOWN
	err "ud0 (%rax), %eax", E_UNKNOWN
	err "xcryptecb", E_UNKNOWN

	.globl insn_vecs_end
insn_vecs_end:

	.section .note.GNU-stack, "", @progbits
