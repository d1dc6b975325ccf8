/*
 * Taking memory back from a VM: the one place where a VM's nested entries
 * are removed while it may run. Every source (the guest's release, volatile
 * pages dropped, zero pages, RAM above a lowered max) goes through
 * vm_take_scan(), which unmaps the leaves its chooser picks, invalidates the
 * VM's nested translations (INVEPT / ASID flush through vm_mem.flush) once
 * per batch of at most VM_TAKE_BATCH_BYTES, and only then gives the frames
 * back to the pool. Nothing below a VM's min is ever taken.
 */
#ifndef EMHV_MM_VM_TAKE_H
#define EMHV_MM_VM_TAKE_H

#include <stdbool.h>
#include <stdint.h>
#include "vm_mem.h"

/* One invalidation covers at most this much memory, and at most VM_TAKE_BATCH_LEAVES leaves. */
#define VM_TAKE_BATCH_BYTES (64ULL << 20)
#define VM_TAKE_BATCH_LEAVES 1024

/* What a chooser says about one leaf (its state: vm_mem_page()). */
enum take_choice {
	TAKE_KEEP,  /* leave it */
	TAKE_IT,    /* unmap it and give its frame back */
	TAKE_SPLIT, /* a 2 MiB leaf: split it and decide for each 4 KiB page */
};
typedef enum take_choice (*take_fn)(struct vm_mem *m, const struct npt_leaf *leaf, void *ctx);

struct take_req {
	uint64_t start, end;	 /* the guest-physical range; the part below min is never looked at */
	take_fn choose;
	void *ctx;
	enum vm_take_how how;	 /* recorded per page (refaults) and in the statistics */
	bool harvest;		 /* taken for someone else's need: counted as harvested */
	uint64_t max_bytes;	 /* stop once this much was taken (0: no limit) */
	unsigned max_leaves;	 /* work bound: stop after looking at this many leaves (0: no limit) */
	bool far_out;		 /* the far layer moving a page out (vm_take_out): its far copy stays */
};

struct take_result {
	uint64_t bytes;	  /* taken and back in the pool */
	uint64_t leaves;  /* leaves looked at (and the memory a chooser read: 2 KiB as one) */
	uint64_t next;	  /* where to go on: the range's end when done */
	int err;	  /* 0, or a -NPT_* error (no frame to split a leaf) */
};

/*
 * Bracket any change to m's nested tables that removes entries (vm_take_scan
 * does it itself): between begin and end, frames and page tables given up
 * are queued (vm_take_defer_free) and freed only after an invalidation.
 */
void vm_take_begin(struct vm_mem *m);
void vm_take_end(struct vm_mem *m);
/* Inside a bracket for m: queue the page table's frame and return true; else false (free it now). */
bool vm_take_defer_free(struct vm_mem *m, paddr_t pa, unsigned order);
/*
 * A few hypervisor frames are kept for the page tables that taking memory
 * back needs when the pool is dry: fill them (at boot, and after each take),
 * hand one to m inside a bracket (zeroed, now m's), count them.
 */
void vm_take_reserve_fill(void);
paddr_t vm_take_reserve_get(struct vm_mem *m);
unsigned vm_take_reserve_frames(void);

/*
 * Unmap the shared pages (vm_mem_map_shared) in [gpa, gpa + len), above max, and invalidate m's
 * nested translations: on return m can no longer reach their frames, which stay their owner's.
 * How many pages were unmapped.
 */
uint64_t vm_take_shared(struct vm_mem *m, uint64_t gpa, uint64_t len);

/* Take back what choose picks in [start, end). */
void vm_take_scan(struct vm_mem *m, const struct take_req *r, struct take_result *res);

/*
 * The far layer (mm/far.c) moves the 4 KiB page at gpa out, whatever min: save(ctx, leaf) sees the
 * leaf (its frame, its dirty bit) while it is still mapped and may refuse (false: nothing changes);
 * then the page is unmapped and invalidated, and its frame goes back to the pool, or with keep to
 * the caller in *keep (still the VM's: for vm_mem_map_frame, which spares the pool a free and an
 * allocation per far fault). 0, 1 when gpa is not mapped (or by a 2 MiB leaf), -1 when save refused.
 */
int vm_take_out(struct vm_mem *m, uint64_t gpa, bool (*save)(void *ctx, const struct npt_leaf *leaf), void *ctx,
		paddr_t *keep);

/*
 * The guest releases [gpa, gpa + len) (4 KiB aligned, inside RAM) with
 * MADV_DONTNEED semantics: afterwards every byte reads as zero. Pages at or
 * above min go back to the pool (a later touch backs them afresh); pages
 * below min stay backed and are zeroed in place, as the lower bound is a
 * guarantee. Works at most max_leaves leaves: returns the bytes done from
 * gpa on (the caller continues from there), or -1 when no frame could be
 * had to split a 2 MiB leaf.
 */
int64_t vm_take_release(struct vm_mem *m, uint64_t gpa, uint64_t len, unsigned max_leaves);

/* Mark [gpa, gpa + len) volatile (droppable) or pinned again; pin returns how many pages were lost meanwhile. */
void vm_take_mark_volatile(struct vm_mem *m, uint64_t gpa, uint64_t len);
uint64_t vm_take_pin(struct vm_mem *m, uint64_t gpa, uint64_t len);

/* Drop unpinned volatile pages (above min), at most max_bytes. */
void vm_take_volatile(struct vm_mem *m, uint64_t max_bytes, unsigned max_leaves, bool harvest, uint64_t from,
		      struct take_result *res);
/*
 * Take pages idle for at least idle_age scans whose content is zero: never
 * written since they were backed (the nested D bit is clear) needs no look,
 * else the page is read. Pages backed ahead of a fault and never touched
 * count as backed ahead and unused.
 */
void vm_take_zero(struct vm_mem *m, unsigned idle_age, uint64_t max_bytes, unsigned max_leaves, bool harvest,
		  uint64_t from, struct take_result *res);
/*
 * Lower max to new_max: every page in [new_max, max) must hold nothing the
 * guest would miss (unbacked, zero, or unpinned volatile), else nothing
 * changes and -1 comes back with why. 0 when max is lowered.
 */
int vm_take_lower_max(struct vm_mem *m, uint64_t new_max, char *why, size_t n);

#endif
