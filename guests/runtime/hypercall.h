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

/*
 * Memory given back or let go; gpa and len are 4 KiB multiples, any length
 * (ranges longer than EMHV_HC_RANGE_MAX go in several calls, in order). An
 * error stops at once: the calls before it have taken effect.
 */
/* MADV_DONTNEED: afterwards [gpa, gpa + len) reads as zero. 0 or the first -EMHV_E*. */
int64_t hc_release(uint64_t gpa, uint64_t len);
/* Volatile: the hypervisor may drop the pages (a dropped page reads as zero). 0 or -EMHV_E*. */
int64_t hc_volatile(uint64_t gpa, uint64_t len);
/* Strong again: the number of its pages dropped while volatile (0: all survived), or -EMHV_E*. */
int64_t hc_pin(uint64_t gpa, uint64_t len);
/* Volatile again after a pin. 0 or -EMHV_E*. */
int64_t hc_unpin(uint64_t gpa, uint64_t len);

#endif
