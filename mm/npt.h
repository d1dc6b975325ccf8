/* Nested page tables: one 4-level walker for guest-physical -> host-physical maps; EPT and NPT are formats of it. */
#ifndef EMHV_MM_NPT_H
#define EMHV_MM_NPT_H

#include <stdint.h>
#include <stdbool.h>
#include "frame.h"

/* Access rights of a mapping (a subset of these bits). */
#define NPT_R 1u
#define NPT_W 2u
#define NPT_X 4u
#define NPT_RWX (NPT_R | NPT_W | NPT_X)
/*
 * Rights are a non-empty subset of NPT_RWX. W without R is refused for every
 * format (EPT would call it a misconfiguration); a format may need more
 * (npt_format.rights_need: NPT has no "present but not readable", so R).
 */

/* Leaf sizes: level 0 maps 4 KiB, level 1 maps 2 MiB (no 1 GiB leaves yet). */
#define NPT_LEVEL_4K 0
#define NPT_LEVEL_2M 1
#define NPT_SIZE_4K 0x1000ULL
#define NPT_SIZE_2M 0x200000ULL
/* Guest-physical addresses handled: 48 bits (4 levels: 3 is the root, 0 the page table). */
#define NPT_GPA_LIMIT (1ULL << 48)
#define NPT_LEVELS    4

/* Errors, returned negated. */
enum npt_err {
	NPT_OK = 0,
	NPT_EINVAL,   /* bad argument: misaligned, out of range, bad level or rights */
	NPT_ENOMEM,   /* no frame for a table */
	NPT_EEXIST,   /* something is already mapped there */
	NPT_ENOENT,   /* nothing is mapped there */
	NPT_ELEVEL,   /* mapped, but with another leaf size than asked */
	NPT_EMERGE,   /* the 512 leaves are not mergeable (absent, rights, not contiguous) */
	NPT_NERR
};

/*
 * A hardware format: how one 64-bit entry encodes a table pointer or a leaf.
 * Each format is a small table of these callbacks (mm/npt_ept.c, ...).
 */
struct npt_format {
	const char *name;
	uint64_t (*make_table)(paddr_t table);             /* entry pointing at a lower table */
	uint64_t (*make_leaf)(paddr_t pa, unsigned rights, unsigned level);
	uint64_t present_bits; /* an entry (table or leaf) is present when any of these is set */
	uint64_t page_size;    /* the bit that makes a level-1 entry a 2 MiB leaf (level 0: always leaves) */
	paddr_t (*addr)(uint64_t e);                       /* table or frame address */
	unsigned (*rights)(uint64_t e);                    /* NPT_R/W/X of a leaf */
	uint64_t (*set_rights)(uint64_t e, unsigned rights, unsigned level);
	uint64_t accessed, dirty;                          /* A/D bit masks in a leaf, 0 when the format has none */
	/* the bits whose clearing makes a leaf not present (EPT: R, W, X; NPT: P); 0: no probing */
	uint64_t gate;
	unsigned rights_need;                              /* NPT_R/W/X every rights must include (0: none) */
	uint64_t addr_mask; /* the address bits an entry holds: addr(e) is e & addr_mask */
};

extern const struct npt_format npt_format_ept;
/* AMD NPT (mm/npt_npt.c): every mapping is readable, so rights without NPT_R are refused. */
extern const struct npt_format npt_format_npt;

/* Where table frames come from; tables are reached at their physical address (identity map). */
struct npt_ops {
	paddr_t (*alloc_table)(void *ctx); /* a zeroed 4 KiB frame, or FRAME_NONE */
	void (*free_table)(void *ctx, paddr_t pa);
	void *ctx;
};

struct npt {
	const struct npt_format *fmt;
	struct npt_ops ops;
	paddr_t root;
	uint64_t tables;   /* table frames in use, the root included */
	uint64_t mapped;   /* bytes mapped by leaves */
	/* The page table of the last 4 KiB map (or walk that reached one), so that the next one in
	 * the same 2 MiB skips the walk (growth faults come in runs); dropped with that table. */
	uint64_t hint_base;
	paddr_t hint_pt;
};

/* Called for each leaf removed by npt_destroy(). */
typedef void (*npt_leaf_fn)(void *ctx, uint64_t gpa, paddr_t pa, unsigned level);

int npt_init(struct npt *t, const struct npt_format *fmt, const struct npt_ops *ops);
/* Remove every leaf (calling fn for each, if set) and free every table. */
void npt_destroy(struct npt *t, npt_leaf_fn fn, void *ctx);

/* Map gpa -> pa as one leaf of the given level (both aligned to its size). -NPT_EEXIST if any part is mapped. */
int npt_map(struct npt *t, uint64_t gpa, paddr_t pa, unsigned level, unsigned rights);
/* Remove the leaf containing gpa; returns its frame and level. -NPT_ENOENT if none. */
int npt_unmap(struct npt *t, uint64_t gpa, paddr_t *pa, unsigned *level);
/* Find the leaf containing gpa: its frame (not gpa's own address), level and rights.
 * 0, or -NPT_ENOENT. Any out pointer may be NULL. */
int npt_lookup(const struct npt *t, uint64_t gpa, paddr_t *pa, unsigned *level, unsigned *rights);
/* Is any part of [gpa, gpa + size) mapped? (size a multiple of 4 KiB) */
bool npt_any_mapped(const struct npt *t, uint64_t gpa, uint64_t size);
/* Set the accessed and dirty bits of the leaf containing gpa (a write by the hypervisor). 0, or -NPT_ENOENT. */
int npt_set_dirty(struct npt *t, uint64_t gpa);
/* Change the rights of the leaf containing gpa. */
int npt_protect(struct npt *t, uint64_t gpa, unsigned rights);
/* Replace the 2 MiB leaf containing gpa by 512 4 KiB leaves with the same frames and rights (A/D copied). */
int npt_split(struct npt *t, uint64_t gpa);
/* Replace the 512 4 KiB leaves of the 2 MiB block containing gpa by one 2 MiB leaf:
 * they must all be present, have equal rights and map one 2 MiB-aligned contiguous run. */
int npt_merge(struct npt *t, uint64_t gpa);
/* Read the accessed and dirty bits of the leaf containing gpa, clearing them if clear is set. */
int npt_test_ad(struct npt *t, uint64_t gpa, bool *accessed, bool *dirty, bool clear);
/* Read and clear the accessed bit alone of the leaf containing gpa (the dirty bit stays). */
int npt_test_clear_a(struct npt *t, uint64_t gpa, bool *accessed);

/*
 * Walks that act as they go: map at a fault with one walk, and one pass over
 * a range of leaves (working-set scans, reclaim, release, verification).
 *
 * Any change to a present entry (an unmap, a split, an A/D clear) is seen by
 * the processor only once the caller has invalidated what its TLBs may hold
 * (INVEPT, or the NPT ASID flush): do that before relying on the change, e.g.
 * before reusing an unmapped frame, or before trusting that an accessed bit
 * cleared here will be set again by the next access. mm/ does it in one place.
 */

/* Where a walk towards gpa stopped at an absent entry: enough to map there with no second walk. */
struct npt_hole {
	uint64_t gpa;   /* as asked */
	unsigned level; /* of the absent entry: >= NPT_LEVEL_2M, the whole aligned 2 MiB is free */
	/* e[l]: gpa's entry in the level-l table, for l >= level (the absent one is e[level]);
	 * only e[0] when found through the hint */
	uint64_t *e[NPT_LEVELS];
};
/*
 * Walk towards gpa once: 0 with *h describing the first absent entry (h->level says its level:
 * >= NPT_LEVEL_2M means the whole aligned 2 MiB block is unmapped), -NPT_EEXIST if gpa is mapped,
 * -NPT_EINVAL for a bad gpa/table.
 */
int npt_find_hole(struct npt *t, uint64_t gpa, struct npt_hole *h);
/*
 * Map pa as one leaf of `level` (NPT_LEVEL_4K, or NPT_LEVEL_2M when h->level >= NPT_LEVEL_2M) at
 * the hole h found (gpa rounded down to the leaf size), creating the missing tables below the hole
 * with no further walk from the root; -NPT_ENOMEM leaves everything as it was (tables created here
 * freed again); -NPT_EINVAL for misaligned pa, bad rights, or a level the hole cannot take;
 * -NPT_EEXIST if the hole's entry is no longer absent. h must come from npt_find_hole on t with no
 * change to t in between.
 */
int npt_fill_hole(struct npt *t, const struct npt_hole *h, paddr_t pa, unsigned level,
		  unsigned rights);

/*
 * Map a run of up to n 4 KiB pages from gpa with the consecutive frames from pa, in the page table
 * that holds gpa's entry: the one the last fault used (the hint) with no walk, else found with one
 * walk, which then becomes the hint. Stops at the first page already mapped and at the end of
 * gpa's 2 MiB block; 0 when there is no such page table (none is made here) or an argument is bad.
 * The pages mapped.
 */
unsigned npt_fill_run(struct npt *t, uint64_t gpa, unsigned n, paddr_t pa, unsigned rights);
/*
 * npt_fill_run's undoing: unmap the 4 KiB leaves among the n pages from gpa, in the hint's page
 * table with no walk; a table that it empties goes as npt_unmap's would (through ops.free_table).
 * The pages unmapped, or -NPT_ENOENT when the n pages are not all in the hint's 2 MiB block (walk
 * instead: npt_scan, npt_unmap), or -NPT_EINVAL. The caller invalidates.
 */
int npt_clear_run(struct npt *t, uint64_t gpa, uint64_t n);

/* A leaf as npt_scan shows it: gpa is the leaf's first byte, pa its frame. */
struct npt_leaf {
	uint64_t gpa;
	paddr_t pa;
	unsigned level;
	unsigned rights;
	bool accessed, dirty; /* always false in a format without A/D bits */
	bool probed;	      /* NPT_SCAN_PROBE took its access away; no access since */
};
/* What the visitor of npt_scan does to the leaf it was shown. */
enum npt_scan_action {
	NPT_SCAN_KEEP,     /* leave it */
	NPT_SCAN_CLEAR_A,  /* clear its accessed bit */
	NPT_SCAN_CLEAR_AD, /* clear its accessed and dirty bits */
	/* remove it (the caller owns pa from now on); tables left empty are freed at once */
	NPT_SCAN_UNMAP,
	/* a 2 MiB leaf only: replace it by 512 4 KiB leaves (same frames, rights, A/D), then visit
	 * those inside the range (in order) instead; -NPT_ENOMEM from the scan if no table frame,
	 * -NPT_ELEVEL for a 4 KiB leaf */
	NPT_SCAN_SPLIT,
	NPT_SCAN_STOP, /* stop here: the scan returns 0 with *next = this leaf's gpa */
	/*
	 * take every access away (and clear A) while keeping the leaf: the processor sees no entry,
	 * so the guest's next access to it faults, and npt_unprobe gives it back. For the
	 * working set where the hardware keeps no accessed bits. -NPT_EINVAL if the format has no gate.
	 */
	NPT_SCAN_PROBE,
};
/* The visitor must not change t itself: it acts through its answer. Any other answer stops the
 * scan with -NPT_EINVAL. */
typedef enum npt_scan_action (*npt_scan_fn)(void *ctx, const struct npt_leaf *leaf);
/*
 * Visit the leaves intersecting [start, end) in address order (a leaf partly inside is visited
 * whole: its gpa may be below start), skipping absent subtrees whole; the part of the range at or
 * above NPT_GPA_LIMIT is empty. 0 with *next = end (or where it stopped), or -error (then *next =
 * where it stopped: the leaf, unchanged, whose action failed). start > end or no fn: -NPT_EINVAL
 * with *next = start. next may be NULL.
 */
int npt_scan(struct npt *t, uint64_t start, uint64_t end, npt_scan_fn fn, void *ctx,
	     uint64_t *next);
/*
 * npt_scan for the one 4 KiB leaf mapping gpa, with one walk: fn answers NPT_SCAN_KEEP or
 * NPT_SCAN_UNMAP (the tables the unmap empties are freed). 0 unmapped, 1 kept, -NPT_ENOENT when no
 * 4 KiB leaf maps gpa, -NPT_EINVAL for any other answer (nothing changes).
 */
int npt_visit_4k(struct npt *t, uint64_t gpa, npt_scan_fn fn, void *ctx);

/*
 * Give back the access a probe took from the leaf containing gpa: 1 if it was probed (no
 * invalidation needed: the processor caches no translation of a not-present entry), 0 if it was
 * not, -NPT_ENOENT if nothing is mapped there. Every other call sees a probed leaf as mapped, with
 * its frame and rights; a split probes the new leaves, a merge refuses probed ones.
 */
int npt_unprobe(struct npt *t, uint64_t gpa);

const char *npt_strerror(int err);

#endif
