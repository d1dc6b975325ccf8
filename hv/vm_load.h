/* Guest image loading and the boot protocol (include/emhv/guest_boot.h). */
#ifndef EMHV_HV_VM_LOAD_H
#define EMHV_HV_VM_LOAD_H

#include "vm.h"

/* Load the ELF file into vm's backed memory, write boot structures, fill bs; 0 or -1 with why. */
int vm_load(struct vm *vm, const struct vm_config *c, const void *file, uint64_t size,
	    struct vcpu_boot_state *bs, char *why, size_t n);
/*
 * Write the VM's current min and max into its boot parameters (before it
 * starts; its page tables still map the RAM of the max it was created with).
 */
void vm_load_set_bounds(struct vm *vm);

#endif
