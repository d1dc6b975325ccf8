/* The DSDT of a Linux VM, compiled by iasl from hv/linux_dsdt.asl at build time. */
	.section .rodata
	.balign 16
	.globl linux_dsdt_aml
	.globl linux_dsdt_aml_end
	.hidden linux_dsdt_aml
	.hidden linux_dsdt_aml_end
linux_dsdt_aml:
	.incbin "linux_dsdt.aml"
linux_dsdt_aml_end:
	.section .note.GNU-stack, "", @progbits
