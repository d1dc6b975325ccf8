/* idt_stubs.S -- entry stubs for all 256 vectors: build a struct trap_frame, call idt_dispatch. */
/*
 * Stub v starts at idt_stub_base + 16 * v (.org checks that each fits its
 * 16 bytes). The CPU pushes an error code for vectors 8, 10-14, 17, 21, 29
 * and 30 only; every other stub pushes a 0 in its place, so one frame layout
 * serves all (an INT n to one of those vectors would misalign the frame:
 * guests do not do that).
 */
	.text
	.balign 16
	.globl idt_stub_base
idt_stub_base:
	.set vec, 0
	.rept 256
	.if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushq	$0				/* no error code: keep the frame layout */
	.endif
	pushq	$vec
	jmp	isr_common
	.org	idt_stub_base + 16 * (vec + 1), 0xcc
	.set vec, vec + 1
	.endr

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

	.section .note.GNU-stack, "", @progbits
