/*
 * A VM's far share (mm/far.c): at most `local` bytes of its RAM are backed
 * by local frames; the rest of the pages it touched live in a far node's
 * frames (mm/far_node.h) and are not present in its nested tables. A touch
 * of a far page is a nested-page fault that brings it back (charging the
 * node's latency and link to the vCPU), evicting a local page to the node
 * first when the VM is at its local limit. The remote page map says, for
 * each page, which far frame holds its copy; a page fetched keeps its far
 * copy, so that evicting it again costs no copy while its dirty bit is clear.
 */
#ifndef EMHV_MM_FAR_H
#define EMHV_MM_FAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "far_map.h"
#include "far_node.h"
#include "far_queue.h"
#include "vm_mem.h"

/* Spin waits up to this long in the exit handler; a longer one lets the CPU go to others meanwhile. */
#define FAR_SPIN_IN_PLACE_US 100
/*
 * The world switch of a far fault as the guest sees it (virt_vcpu.switch_ticks) is measured at a
 * VM's first far fault and every this many after (hv/vm_exit.c), and taken off each far fault's
 * latency: often, so that it follows QEMU's TCG, whose switch drifts by half over seconds.
 */
#define FAR_SWITCH_EVERY 16

/* How the latency of a far fault reaches the guest. */
enum far_mode {
	FAR_SPIN, /* the vCPU waits on the TSC until the latency has passed since the fault (real time) */
	FAR_WARP, /* no wait: the guest's TSC moves on by the latency (exact, free, deterministic) */
};

/* Which far pages come back with the one a fault fetches, off its critical path. */
enum far_prefetch {
	FAR_PF_NONE,
	FAR_PF_NEXT,   /* the next N pages */
	FAR_PF_STRIDE, /* N pages on along the stride most of the last faults followed */
	FAR_PREFETCHES
};
#define FAR_PREFETCH_MAX 64

extern const char *const far_mode_names[2]; /* by enum far_mode: "spin", "warp" */
extern const char *const far_policy_names[FAR_POLICIES];
extern const char *const far_prefetch_names[FAR_PREFETCHES];

/* The smallest local share: enough pages for any one instruction's accesses, and its page tables. */
#define FAR_LOCAL_MIN (1ULL << 20)

struct far_stats {
	uint64_t faults;		  /* guest faults on far pages (each fetched a page) */
	uint64_t pages_in, pages_out;	  /* pages fetched (for the guest or the hypervisor), pages evicted */
	uint64_t evict_clean, evict_dirty; /* evictions with a valid far copy and no write since, and the rest */
	uint64_t latency_ticks;		  /* latency charged to the guest in all */
	uint64_t hv_ticks, hv_max;	  /* the hypervisor's own ticks per far fault: all, and the longest */
	uint64_t copy_ticks;		  /* of hv_ticks, the 4 KiB copies (the page fetched, a dirty victim) */
	uint64_t hist[8];		  /* charged latency per fault: < 1, 4, 16, 64, 256, 1024, 4096 us, more */
	/* pages prefetched (each marked PG_AHEAD until a scan or its eviction sees it accessed), and of
	 * those the ones moved out again untouched */
	uint64_t prefetched, pf_wasted;
};

struct vm_far {
	struct far_node *node; /* NULL: no far share */
	struct vm_mem *m;
	uint64_t local;	       /* bytes backed locally at most */
	enum far_mode mode;
	enum far_policy policy;
	enum far_prefetch prefetch;
	unsigned prefetch_n;
	uint64_t history[FAR_HISTORY]; /* the last far faults' pages, newest first */
	uint64_t pages;	       /* pages of [0, max) */
	struct far_map map;    /* per page of [0, max): its far copy, if any, and whether the page is far */
	struct far_queue q;    /* the local pages, in eviction order */
	unsigned map_order, q_order; /* of the hypervisor frames holding the map's and the queue's entries */
	unsigned link;	       /* the VM's slot of the node's link */
	uint64_t pending;      /* latency ticks the guest's last fault is to be charged */
	uint64_t copy_ticks;   /* ticks of page copies in the fault being served */
	bool due;	       /* the guest's last fault fetched a page: charge it pending (0 included) */
	uint64_t switch_next;  /* st.faults at which the world switch is to be measured next (FAR_SWITCH_EVERY) */
	struct far_stats st;
};

/* Is local a share m can have (a 4 KiB multiple from FAR_LOCAL_MIN up to max)? 0, or -1 with why. */
int far_check_local(const struct vm_mem *m, uint64_t local, char *why, size_t n);
/*
 * Give m (created, 4 KiB growth: the caller's choice at creation) a far share on nd: the pages
 * backed now become its first local ones. 0, or -1 with why (local too small, no memory for the
 * remote page map, no slot left on the node's link).
 */
int far_attach(struct vm_far *f, struct vm_mem *m, struct far_node *nd, uint64_t local, enum far_mode mode,
	       char *why, size_t n);
/* Every far frame back to its node, the map and queue to the pool; m has no far share any more. */
void far_detach(struct vm_far *f);
/*
 * A new local share while the VM runs (>= FAR_LOCAL_MIN): lowering it evicts now. 0, or -1 with why
 * (the node is full).
 */
int far_set_local(struct vm_far *f, uint64_t local, char *why, size_t n);
/* Prefetched pages not seen accessed yet and still local (neither used nor wasted so far). */
uint64_t far_prefetch_pending(const struct vm_far *f);
/* Pages of the node f holds (copies), for the monitor and 'mem verify'. */
uint64_t far_frames(const struct vm_far *f);

#endif
