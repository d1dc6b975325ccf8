/* Core entry: the loader calls _start(bootinfo) with interrupts off; switch to our own stack. */
	.section .text.entry, "ax"
	.globl _start
_start:
	cli
	cld
	leaq	boot_stack_top(%rip), %rsp
	xorl	%ebp, %ebp
	call	hv_main
1:	cli
	hlt
	jmp	1b

	.section .bss
	.balign 4096
	.globl boot_stack_bottom
boot_stack_bottom:
	.skip	65536
	.globl boot_stack_top
boot_stack_top:
	.section .note.GNU-stack, "", @progbits
