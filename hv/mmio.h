/* Emulated MMIO: a nested-page fault in a device window, completed by decoding the guest's instruction. */
#ifndef EMHV_HV_MMIO_H
#define EMHV_HV_MMIO_H

#include "vm_exit.h"

/* Complete the access behind e (a VEXIT_NPF in a window of vm's device bus) and step past it. */
enum exit_action mmio_exit(struct vm *vm, struct virt_exit *e);

#endif
