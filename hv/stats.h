/* Hypervisor-wide event counters: VM exits by kind, TSC ticks per kind, growth faults. */
#ifndef EMHV_HV_STATS_H
#define EMHV_HV_STATS_H

#include <stdint.h>
#include "arch/x86_64/virt.h"

/* Growth faults are split by the frame size that served them. */
/* growth faults by size, and far faults (a page fetched from a far node) */
enum { STAT_GROW_4K, STAT_GROW_2M, STAT_FAR, STAT_GROW_KINDS };

struct hv_stats {
	uint64_t exits[VEXIT_NKINDS];
	uint64_t exit_tsc[VEXIT_NKINDS]; /* ticks from VM exit to the next VM entry */
	uint64_t exit_tsc_max[VEXIT_NKINDS]; /* the longest one: how long a vCPU stood still at most */
	uint64_t grow[STAT_GROW_KINDS];
	uint64_t grow_tsc[STAT_GROW_KINDS];  /* ticks per growth exit, zeroing included */
	uint64_t grow_zero_tsc[STAT_GROW_KINDS]; /* of which zeroing the frame */
	uint64_t grow_max[STAT_GROW_KINDS];	 /* the dearest */
	uint64_t io_unclaimed;		     /* guest I/O to ports with no device */
	uint64_t msr_gp;		     /* guest RDMSR/WRMSR answered with #GP */
	uint64_t insn[VINSN_NKINDS];	     /* intercepted instructions by kind */
	uint64_t mmio;			     /* MMIO accesses emulated */
	uint64_t harvest_steps, harvest_tsc, harvest_tsc_max; /* reclaim steps between slices, their cost */
	uint64_t start_tsc;		     /* when the counters were last reset */
};

extern struct hv_stats hv_stats;

void stats_reset(void);
const char *stats_exit_name(enum virt_exit_kind k);

#endif
