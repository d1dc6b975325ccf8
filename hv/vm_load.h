/* Guest image loading and the boot protocol (include/emhv/guest_boot.h). */
#ifndef EMHV_HV_VM_LOAD_H
#define EMHV_HV_VM_LOAD_H

#include "vm.h"

/* Load the ELF file into vm's backed memory, write boot structures, fill bs; 0 or -1 with why. */
int vm_load(struct vm *vm, const struct vm_config *c, const void *file, uint64_t size,
	    struct vcpu_boot_state *bs, char *why, size_t n);
/*
 * The boot CPU of a guest entered in 64-bit mode: identity page tables over all of its RAM (2 MiB
 * pages), a GDT with 64-bit code at selector cs, flat data at cs + 8 and a TSS, and the control
 * registers of long mode in bs (the loader adds RIP, RSP and the argument registers); 0 or -1.
 */
int vm_load_boot_cpu(struct vm *vm, uint16_t cs, struct vcpu_boot_state *bs);
/*
 * Write the VM's current min and max into its boot parameters (before it
 * starts; its page tables still map the RAM of the max it was created with).
 */
void vm_load_set_bounds(struct vm *vm);

#endif
