/* The DSDT of a Linux VM, compiled by iasl from drivers/vdev/dsdt.asl at build time. */
	.section .rodata
	.balign 16
	.globl dsdt_aml
	.globl dsdt_aml_end
	.hidden dsdt_aml
	.hidden dsdt_aml_end
dsdt_aml:
	.incbin "dsdt.aml"
dsdt_aml_end:
	.section .note.GNU-stack, "", @progbits
