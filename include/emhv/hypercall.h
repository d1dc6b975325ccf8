/*
 * The hypercall ABI: VMCALL (Intel) or VMMCALL (AMD), number in RAX,
 * arguments in RDI, RSI, RDX, R10, result in RAX (negative: an error below).
 * Pointers are guest-physical and must lie wholly inside the VM's RAM.
 * RAX is compared as a full 64-bit number; every other register survives.
 * A call that is refused changes nothing; when several arguments are bad,
 * any of their errors may be the one returned.
 */
#ifndef EMHV_HYPERCALL_H
#define EMHV_HYPERCALL_H

#include <stdint.h>

enum emhv_hypercall {
	EMHV_HC_VERSION = 0, /* () -> EMHV_ABI_VERSION */
	EMHV_HC_INFO = 1,    /* (struct emhv_vm_info *buf, size > 0) -> bytes written: min(size, sizeof) */
	EMHV_HC_LOG = 2,     /* (const char *text, len <= EMHV_HC_LOG_MAX) -> 0; a line in the VM's log ('vm log') */
	EMHV_HC_RESULT = 3,  /* (const char *name, 1 <= name_len <= EMHV_RESULT_NAME_MAX, int64 value) -> 0;
			      * name: letters, digits, '_', '-', '.'; a name reported again is overwritten */
	EMHV_HC_EXIT = 4,    /* (int64 status) -> does not return: the VM stops as exited */
	/*
	 * Memory the guest gives back or lets go. gpa and len are multiples of
	 * 4 KiB with len > 0 and [gpa, gpa + len) inside RAM.
	 */
	EMHV_HC_RELEASE = 5,  /* (gpa, len) -> bytes done from gpa on (> 0; call again from gpa + done for the
			       * rest): MADV_DONTNEED, every byte reads as zero afterwards; pages at or above
			       * mem_min go back to the pool, pages below it are zeroed in place */
	EMHV_HC_VOLATILE = 6, /* (gpa, len <= EMHV_HC_RANGE_MAX) -> 0: the pages become volatile: emhv may drop
			       * them under pressure without saving them; a dropped page reads as zero */
	EMHV_HC_PIN = 7,      /* (gpa, len <= EMHV_HC_RANGE_MAX) -> the number of pages of the range dropped since
			       * they were made volatile (0: all survived); the range is strong again */
	EMHV_HC_UNPIN = 8,    /* (gpa, len <= EMHV_HC_RANGE_MAX) -> 0: volatile again (as EMHV_HC_VOLATILE) */
	EMHV_HC_COUNT
};

/* The longest range VOLATILE, PIN and UNPIN take in one call. */
#define EMHV_HC_RANGE_MAX (64ULL << 20)

/* Errors (returned negated in RAX). */
enum emhv_hc_err {
	EMHV_ENOSYS = 1, /* unknown hypercall number */
	EMHV_EFAULT = 2, /* a pointer or range outside the VM's RAM */
	EMHV_EINVAL = 3, /* a bad size or value */
	EMHV_ENOSPC = 4, /* no room left (result table full) */
	EMHV_EPERM = 5,  /* not from CPL 0 */
	EMHV_ENOMEM = 6, /* the pool cannot back the memory the call needs now; nothing was changed */
};

#define EMHV_HC_LOG_MAX 256
#define EMHV_RESULT_NAME_MAX 31
#define EMHV_MAX_RESULTS 16

struct emhv_vm_info {
	uint32_t vm_id;
	uint32_t abi_version;
	uint64_t mem_min;
	uint64_t mem_max;
	uint64_t backed;       /* bytes of RAM backed right now */
	uint64_t faults_4k;    /* growth faults served with a 4 KiB frame */
	uint64_t faults_2m;    /* ... with a 2 MiB frame */
	uint64_t exits;        /* VM exits so far */
};

#endif
