/*
 * VM entry and exit for VT-x: load the guest's general-purpose registers,
 * VMLAUNCH or VMRESUME, and on VM exit save them back (SDM vol. 3C 27.5:
 * the host RSP and RIP come from the VMCS, nothing else is restored).
 *
 * int vmx_enter(struct vcpu_gprs *g, int launched)
 *   0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid (read the VM-instruction error).
 */
#define VMCS_HOST_RSP 0x6c14
#include "../vcpu_gprs.inc"

	.text
	.globl vmx_enter
	.type vmx_enter, @function
vmx_enter:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* the gprs pointer, found again at exit */
	mov	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	test	%esi, %esi
	mov	0x00(%rdi), %rax
	mov	0x30(%rdi), %rsi
	GPRS_LOAD %rdi
	mov	0x38(%rdi), %rdi
	jnz	1f
	vmlaunch
	jmp	2f
1:	vmresume
2:	/* VM entry failed: CF = VMfailInvalid, ZF = VMfailValid (mov keeps the flags) */
	mov	$2, %eax
	jnc	.Lreturn
	mov	$1, %eax
	jmp	.Lreturn
	.size vmx_enter, . - vmx_enter

	.globl vmx_exit_point
	.type vmx_exit_point, @function
vmx_exit_point:
	push	%rdi
	mov	8(%rsp), %rdi
	mov	%rax, 0x00(%rdi)
	GPRS_SAVE %rdi
	pop	%rax
	mov	%rax, 0x38(%rdi)
	xor	%eax, %eax
.Lreturn:
	pop	%rdi
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size vmx_exit_point, . - vmx_exit_point

	.section .note.GNU-stack, "", @progbits
