/*
 * VM entry and exit for VT-x: load the guest's general-purpose registers,
 * VMLAUNCH or VMRESUME, and on VM exit save them back (SDM vol. 3C 27.5:
 * the host RSP and RIP come from the VMCS, nothing else is restored).
 *
 * int vmx_enter(struct vcpu_gprs *g, int launched, uint64_t resume_tsc, uint64_t spin_until)
 *   0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid (read the VM-instruction error).
 *
 * The TSC is read as near the VM entry and exit as the stub can (the far
 * layer's latency, arch/x86_64/virt.h): with spin_until nonzero the stub
 * waits until the entry happens at that TSC (its last RDTSC VMX_SPIN_TICKS
 * instructions before VMRESUME); with resume_tsc nonzero the TSC offset is
 * set so that the guest reads resume_tsc at the entry, counting the
 * VMX_ENTRY_TICKS instructions from the RDTSC to VMRESUME; at exit the TSC
 * is read VMX_EXIT_TICKS instructions after it, into vmx_exit_tsc.
 */
#define VMCS_HOST_RSP 0x6c14
#define VMCS_TSC_OFFSET 0x2010
/* after the entry's RDTSC: shl, or, sub, sub, mov, vmwrite, test, mov, mov, 12 of GPRS_LOAD, mov, jnz, vmresume */
#define VMX_ENTRY_TICKS 24
/* after the spin's last RDTSC: shl, or, cmp, jb, mov, test, jz, test, mov, mov, 12 of GPRS_LOAD, mov, jnz, vmresume */
#define VMX_SPIN_TICKS 25
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
	test	%rcx, %rcx
	jz	4f
	mov	%rdx, %r8
	sub	$VMX_SPIN_TICKS, %rcx
5:	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	cmp	%rcx, %rax
	jb	5b
	mov	%r8, %rdx
4:	test	%rdx, %rdx
	jz	3f
	mov	%rdx, %rcx
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	sub	%rax, %rcx
	sub	$VMX_ENTRY_TICKS, %rcx
	mov	$VMCS_TSC_OFFSET, %eax
	vmwrite	%rcx, %rax
3:	test	%esi, %esi
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
	push	%rdx
	push	%rax
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, vmx_exit_tsc(%rip)
	pop	%rax
	pop	%rdx
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

	.bss
	.balign 8
	.globl vmx_exit_tsc
vmx_exit_tsc:
	.quad	0

	.section .note.GNU-stack, "", @progbits
