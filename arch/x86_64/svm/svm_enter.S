/*
 * VMRUN with the state VMRUN does not switch (AMD APM vol. 2, 15.5 and 15.7):
 * VMSAVE the host's FS/GS/TR/LDTR/KernelGSBase/STAR/SYSENTER state, VMLOAD
 * the guest's, load the guest's general-purpose registers (RAX and RSP live
 * in the VMCB), VMRUN; after #VMEXIT save them, VMSAVE the guest's state and
 * VMLOAD the host's. GIF is clear around it, with RFLAGS.IF set so that a
 * host interrupt ends the guest's run (the INTR intercept) and is taken
 * after STGI.
 *
 * void svm_enter(uint64_t vmcb_pa, struct vcpu_gprs *g, uint64_t host_state_pa)
 */
#include "../vcpu_gprs.inc"
	.text
	.globl svm_enter
	.type svm_enter, @function
svm_enter:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdx			/* 16(%rsp): host state page */
	push	%rsi			/*  8(%rsp): gprs */
	push	%rdi			/*  0(%rsp): VMCB */
	clgi
	sti
	mov	%rdx, %rax
	vmsave
	mov	(%rsp), %rax
	vmload
	mov	0x38(%rsi), %rdi
	GPRS_LOAD %rsi
	mov	0x30(%rsi), %rsi
	vmrun
	push	%rdi
	mov	16(%rsp), %rdi
	GPRS_SAVE %rdi
	pop	%rax
	mov	%rax, 0x38(%rdi)
	mov	(%rsp), %rax
	vmsave
	mov	16(%rsp), %rax
	vmload
	cli
	stgi
	add	$24, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size svm_enter, . - svm_enter

	.section .note.GNU-stack, "", @progbits
