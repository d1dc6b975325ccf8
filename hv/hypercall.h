/* Hypercall dispatch (the ABI is include/emhv/hypercall.h). */
#ifndef EMHV_HV_HYPERCALL_H
#define EMHV_HV_HYPERCALL_H

#include "vm.h"

/* Run hypercall nr with its four arguments from a vCPU at privilege level cpl; the value for RAX. */
int64_t hypercall_dispatch(struct vm *vm, uint64_t nr, const uint64_t args[4], unsigned cpl);

#endif
