/* hypercall.h -- wrappers for emhv's hypercalls (include/emhv/hypercall.h): VMCALL or VMMCALL. */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include <stdint.h>
#include <emhv/hypercall.h>

/* Choose VMMCALL on "AuthenticAMD", VMCALL otherwise; call once before any hypercall. */
void hc_init(void);
/* 1 if hypercalls use VMMCALL (AMD), 0 for VMCALL (Intel). */
int hc_uses_vmmcall(void);

/* Any hypercall, unchecked: nr in RAX, a0..a3 in RDI, RSI, RDX, R10; RAX back. */
int64_t hc_call(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

int64_t hc_version(void);
/* Fill info (size bytes of it); bytes written or -EMHV_E*. */
int64_t hc_info(struct emhv_vm_info *info, uint64_t size);
/* One line in the hypervisor log; text longer than EMHV_HC_LOG_MAX is cut. */
int64_t hc_log(const char *text);
/* Report a named result; a refusal is also printed on the console. */
int64_t hc_result(const char *name, int64_t value);
/* Stop the VM as exited with this status. */
__attribute__((noreturn)) void hc_exit(int64_t status);

#endif
