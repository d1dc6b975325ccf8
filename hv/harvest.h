/*
 * Harvesting: memory flows back from VMs to the pool. Working-set scans run
 * every period; when the pool (free frames plus the zero cache) falls below
 * the low watermark, or a VM waits for memory, memory is taken back in
 * steps until the high watermark, cheapest source first (the zero cache
 * gives its blocks back by itself when the pool runs dry): unpinned
 * volatile pages, then idle zero pages, from the VMs holding the most idle
 * memory above their min first. Nothing below a VM's min is ever taken.
 */
#ifndef EMHV_HV_HARVEST_H
#define EMHV_HV_HARVEST_H

#include <stdbool.h>
#include <stdint.h>
#include "vm.h"

struct harvest_policy {
	uint64_t low, high;  /* watermarks, bytes */
	unsigned period_ms;  /* between working-set scans of a VM (0: no scans) */
	unsigned window;     /* the working set: accessed within the last window scans */
	unsigned idle_age;   /* idle: not accessed for at least idle_age scans */
	unsigned ahead;      /* fault-around: at most this many 4 KiB pages backed ahead (0: off) */
	bool split;	     /* split accessed 2 MiB leaves of VMs asked for memory, to find cold 4 KiB pages */
	bool enabled;	     /* take memory back under pressure at all (off: the baseline without harvesting) */
	/* working sets from faults (probes), not from the nested accessed bits; always so where the
	 * CPU keeps none (hw_ad false) */
	bool probe;
	bool hw_ad;
};

extern struct harvest_policy harvest_policy;

/* What one run took back, by source. */
struct harvest_report {
	uint64_t volatile_bytes, zero_bytes;
	unsigned vms; /* VMs something was taken from */
};

/* At boot, once the backend is known: does the CPU keep accessed bits in its nested tables? */
void harvest_init(bool hw_ad);
/* From the scheduler loop between slices: scans when due, one bounded step of reclaim when needed. */
void harvest_tick(void);
/* A VM's fault found the pool dry: reclaim before it has to wait long. */
void harvest_wake(void);
/*
 * Take up to bytes back now (0: all that can go), from vm or (vm NULL) from
 * every VM in policy order; any_age: zero pages need not be idle (the
 * monitor's 'mem reclaim'). Adds to *rep.
 */
uint64_t harvest_run(struct vm *vm, uint64_t bytes, bool any_age, bool pressure, unsigned max_leaves,
		     struct harvest_report *rep);
/* Scan one VM's working set now. */
void harvest_scan(struct vm *vm);
/* Apply the policy's per-VM settings (fault-around) to vm. */
void harvest_apply(struct vm *vm);

#endif
