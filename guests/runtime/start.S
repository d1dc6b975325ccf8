/* start.S -- guest entry: RDI = boot params, RSP = a valid stack; clear .bss, then rt_main(bp). */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	cld
	mov	%rdi, %rbx			/* callee-saved across the clear */
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb
	mov	%rbx, %rdi
	and	$-16, %rsp			/* the ABI's alignment at a call */
	xor	%ebp, %ebp			/* end of the frame chain */
	call	rt_main
1:	ud2					/* rt_main does not return */
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
