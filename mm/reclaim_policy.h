/*
 * The harvesting policy, as pure functions over numbers (unit-tested on the
 * host): when the pool needs memory back and how much (low and high
 * watermarks), and which VMs give it first (the most idle memory above
 * their min). Where the memory comes from within a VM, cheapest first, is
 * hv/harvest.c's order of sources; that nothing below min is ever taken is
 * mm/vm_take.c's guarantee.
 */
#ifndef EMHV_MM_RECLAIM_POLICY_H
#define EMHV_MM_RECLAIM_POLICY_H

#include <stdbool.h>
#include <stdint.h>

struct reclaim_vm {
	uint64_t backed, min;	  /* bytes */
	uint64_t idle;		  /* bytes idle above min (working-set scans) */
	uint64_t volatile_bytes;  /* bytes marked volatile and not pinned */
};

/*
 * Bytes to reclaim now: none while avail (free frames plus the zero cache)
 * is at or above low and no VM waits for memory; else enough to bring avail
 * up to high (at least one 2 MiB block when a VM waits).
 */
uint64_t reclaim_goal(uint64_t avail, uint64_t low, uint64_t high, bool waiting);

/*
 * Fill order[] with the indices of the VMs worth asking, best first: the
 * most idle-or-volatile memory above min; VMs at or below their min, or
 * with nothing idle or volatile, are left out. Returns how many.
 */
unsigned reclaim_order(const struct reclaim_vm *v, unsigned n, unsigned *order);

#endif
