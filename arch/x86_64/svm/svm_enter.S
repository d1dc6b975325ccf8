/*
 * VMRUN with the state VMRUN does not switch (AMD APM vol. 2, 15.5 and 15.7):
 * VMSAVE the host's FS/GS/TR/LDTR/KernelGSBase/STAR/SYSENTER state, VMLOAD
 * the guest's, load the guest's general-purpose registers (RAX and RSP live
 * in the VMCB), VMRUN; after #VMEXIT save them, VMSAVE the guest's state and
 * VMLOAD the host's. GIF is clear around it, with RFLAGS.IF set so that a
 * host interrupt ends the guest's run (the INTR intercept) and is taken
 * after STGI.
 *
 * void svm_enter(uint64_t vmcb_pa, struct vcpu_gprs *g, uint64_t host_state_pa, uint64_t resume_tsc,
 *                uint64_t spin_until)
 *
 * The TSC is read as near VMRUN and #VMEXIT as the stub can (the far layer's
 * latency, arch/x86_64/virt.h): with spin_until nonzero the stub waits until
 * VMRUN happens at that TSC (its last RDTSC SVM_SPIN_TICKS instructions
 * before VMRUN); with resume_tsc nonzero the VMCB's TSC offset is set so that
 * the guest reads resume_tsc at VMRUN, counting the SVM_ENTRY_TICKS
 * instructions from the RDTSC to VMRUN; after #VMEXIT the TSC is read
 * SVM_EXIT_TICKS instructions on, into svm_exit_tsc.
 */
#define VMCB_TSC_OFFSET 0x050
/* after the entry's RDTSC: shl, or, sub, sub, mov, mov, mov, mov, 12 of GPRS_LOAD, mov, vmrun */
#define SVM_ENTRY_TICKS 22
/* after the spin's last RDTSC: shl, or, cmp, jb, mov, test, jz, mov, mov, 12 of GPRS_LOAD, mov, vmrun */
#define SVM_SPIN_TICKS 23
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
	push	%r8			/* 32(%rsp): spin_until */
	push	%rcx			/* 24(%rsp): resume_tsc */
	push	%rdx			/* 16(%rsp): host state page */
	push	%rsi			/*  8(%rsp): gprs */
	push	%rdi			/*  0(%rsp): VMCB */
	clgi
	sti
	mov	%rdx, %rax
	vmsave
	mov	(%rsp), %rax
	vmload
	mov	32(%rsp), %rcx
	test	%rcx, %rcx
	jz	4f
	sub	$SVM_SPIN_TICKS, %rcx
5:	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	cmp	%rcx, %rax
	jb	5b
4:	mov	24(%rsp), %rcx
	test	%rcx, %rcx
	jz	3f
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	sub	%rax, %rcx
	sub	$SVM_ENTRY_TICKS, %rcx
	mov	(%rsp), %rax
	mov	%rcx, VMCB_TSC_OFFSET(%rax)
3:	mov	(%rsp), %rax
	mov	0x38(%rsi), %rdi
	GPRS_LOAD %rsi
	mov	0x30(%rsi), %rsi
	vmrun
	push	%rdx
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, svm_exit_tsc(%rip)
	pop	%rdx
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
	add	$40, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size svm_enter, . - svm_enter

	.bss
	.balign 8
	.globl svm_exit_tsc
svm_exit_tsc:
	.quad	0

	.section .note.GNU-stack, "", @progbits
