/*
 * stdint.h for kernel code -- include/emhv/pipe.h, the contract this module
 * shares with the hypervisor and the small guests, is written in C99 types
 * and includes <stdint.h>; in the kernel (no libc headers) <linux/types.h>
 * defines the same uint8_t..uint64_t.
 */
#ifndef EMHV_KINCLUDE_STDINT_H
#define EMHV_KINCLUDE_STDINT_H
#include <linux/types.h>
#endif
