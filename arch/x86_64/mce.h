/*
 * Machine checks belong to the host. The handler logs every valid bank
 * (MCG_CAP, MCi_STATUS/ADDR), clears them and MCG_STATUS.MCIP, and
 * returns when MCG_STATUS.RIPV says the interrupted context can go on;
 * one that hit a guest stops that VM (hv/vm_exit.c). A machine check the
 * hypervisor cannot return from halts it with the banks printed.
 */
#ifndef ARCH_X86_64_MCE_H
#define ARCH_X86_64_MCE_H

#include <stdint.h>

void mce_init(void);
/* Machine checks taken since boot. */
uint64_t mce_count(void);
/* The last one in words ("bank 4: status 0x..."), or "none". */
const char *mce_last(void);

#endif
