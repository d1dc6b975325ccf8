/* idt_stubs.S -- entry stubs for vectors 0-31: build a struct trap_frame, call idt_dispatch. */
/* Each stub: `stub vector, cpu_pushes_error_code` (8, 10-14, 17, 21, 29, 30 do). */
	.text
.macro stub v, err
	.balign 16
isr_\v:
	.if \err == 0
	pushq	$0				/* no error code: keep the frame layout */
	.endif
	pushq	$\v
	jmp	isr_common
.endm

	stub	0, 0
	stub	1, 0
	stub	2, 0
	stub	3, 0
	stub	4, 0
	stub	5, 0
	stub	6, 0
	stub	7, 0
	stub	8, 1
	stub	9, 0
	stub	10, 1
	stub	11, 1
	stub	12, 1
	stub	13, 1
	stub	14, 1
	stub	15, 0
	stub	16, 0
	stub	17, 1
	stub	18, 0
	stub	19, 0
	stub	20, 0
	stub	21, 1
	stub	22, 0
	stub	23, 0
	stub	24, 0
	stub	25, 0
	stub	26, 0
	stub	27, 0
	stub	28, 0
	stub	29, 1
	stub	30, 1
	stub	31, 0

/* The frame: 15 GPRs (rax lowest), vector, error, then the CPU's rip, cs, rflags, rsp, ss. */
isr_common:
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%r11
	push	%r10
	push	%r9
	push	%r8
	push	%rbp
	push	%rdi
	push	%rsi
	push	%rdx
	push	%rcx
	push	%rbx
	push	%rax
	cld
	mov	%rsp, %rdi			/* 16-byte aligned: 22 quadwords from an aligned start */
	call	idt_dispatch
	pop	%rax
	pop	%rbx
	pop	%rcx
	pop	%rdx
	pop	%rsi
	pop	%rdi
	pop	%rbp
	pop	%r8
	pop	%r9
	pop	%r10
	pop	%r11
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	add	$16, %rsp			/* vector and error code */
	iretq

	.section .rodata
	.balign 8
	.globl idt_stubs
idt_stubs:
	.irp	v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.quad	isr_\v
	.endr

	.section .note.GNU-stack, "", @progbits
