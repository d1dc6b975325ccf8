/* VM exit handling (hv/vm_exit.c). */
#ifndef EMHV_HV_VM_EXIT_H
#define EMHV_HV_VM_EXIT_H

#include "vm.h"

enum exit_action {
	EXIT_RESUME, /* enter the guest again */
	EXIT_YIELD,  /* let the scheduler pick another VM */
	EXIT_STOP,   /* the VM left the running state */
};

enum exit_action vm_handle_exit(struct vm *vm, struct virt_exit *e);
/*
 * The instruction behind e has done its work: step past it (e->insn_len,
 * or its length decoded from guest memory), end an interrupt shadow, and
 * raise the single-step trap RFLAGS.TF asks for.
 */
enum exit_action vm_exit_complete(struct vm *vm, const struct virt_exit *e);
/* Before an interrupt goes in at a HLT (IF = 1): step over the HLT, as if it had been waiting. */
void vm_exit_halt_before_interrupt(struct vm *vm);
/* The name of an intercepted instruction (statistics). */
const char *vm_exit_insn_name(enum virt_insn id);
/* A VM parked as waiting-for-memory: try its fault again; true when it runs again. */
bool vm_retry_memory(struct vm *vm);

#endif
