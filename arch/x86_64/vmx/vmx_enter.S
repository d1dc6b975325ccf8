/*
 * VM entry and exit for VT-x: load the guest's general-purpose registers,
 * VMLAUNCH or VMRESUME, and on VM exit save them back (SDM vol. 3C 27.5:
 * the host RSP and RIP come from the VMCS, nothing else is restored).
 *
 * int vmx_enter(struct vcpu_gprs *g, int launched)
 *   0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid (read the VM-instruction error).
 */
#define VMCS_HOST_RSP 0x6c14

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
	mov	0x08(%rdi), %rcx
	mov	0x10(%rdi), %rdx
	mov	0x18(%rdi), %rbx
	mov	0x28(%rdi), %rbp
	mov	0x30(%rdi), %rsi
	mov	0x40(%rdi), %r8
	mov	0x48(%rdi), %r9
	mov	0x50(%rdi), %r10
	mov	0x58(%rdi), %r11
	mov	0x60(%rdi), %r12
	mov	0x68(%rdi), %r13
	mov	0x70(%rdi), %r14
	mov	0x78(%rdi), %r15
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
	mov	%rcx, 0x08(%rdi)
	mov	%rdx, 0x10(%rdi)
	mov	%rbx, 0x18(%rdi)
	mov	%rbp, 0x28(%rdi)
	mov	%rsi, 0x30(%rdi)
	mov	%r8, 0x40(%rdi)
	mov	%r9, 0x48(%rdi)
	mov	%r10, 0x50(%rdi)
	mov	%r11, 0x58(%rdi)
	mov	%r12, 0x60(%rdi)
	mov	%r13, 0x68(%rdi)
	mov	%r14, 0x70(%rdi)
	mov	%r15, 0x78(%rdi)
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
