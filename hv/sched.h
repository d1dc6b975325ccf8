/* Round-robin scheduling of VMs on the boot CPU, with the monitor served between slices. */
#ifndef EMHV_HV_SCHED_H
#define EMHV_HV_SCHED_H

#include "vm.h"

/* Run VMs and the monitor forever. */
void sched_loop(void) __attribute__((noreturn));

#endif
