/*
 * A VM's guest-physical RAM: bounds, backing from the central pool, growth
 * on nested-page faults (with fault-around for sequential 4 KiB growth),
 * and the ways memory comes back (mm/vm_take.c): the guest releasing it,
 * volatile pages dropped, zero pages found by a sweep, bounds lowered.
 * Working-set scans (mm/wss.c) age every page from the accessed bits.
 */
#ifndef EMHV_MM_VM_MEM_H
#define EMHV_MM_VM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "npt.h"

enum vm_mem_mode { VM_MEM_ELASTIC, VM_MEM_STATIC };

/*
 * One byte of state per 4 KiB page of [0, max) (vm_mem.pages):
 *   bits 0-3  idle age: working-set scans since the page was last seen accessed (saturating)
 *   bit 4     volatile: the guest marked it droppable and has not pinned it
 *   bit 5     ahead: backed ahead of a fault (fault-around), not yet seen accessed
 *   bits 6-7  how the page was last taken back (PG_HOW_*), until it is touched again
 */
#define PG_AGE_MASK 0x0fu
#define PG_AGE_MAX 15u
#define PG_VOLATILE 0x10u
#define PG_AHEAD 0x20u
#define PG_HOW_SHIFT 6
#define PG_HOW_MASK 0xc0u
enum vm_take_how {
	TAKE_NONE,
	TAKE_RELEASED, /* the guest released it (MADV_DONTNEED) */
	TAKE_VOLATILE, /* a volatile page dropped (the guest's pin reports it lost) */
	TAKE_ZERO,     /* a zero page found by the sweep, or a page backed ahead and never used */
	TAKE_HOWS
};

/* What came back from a VM, and what it cost it. Bytes unless said. */
struct vm_mem_stats {
	uint64_t taken[TAKE_HOWS];    /* bytes taken back, by how */
	uint64_t harvested;	      /* of those, bytes taken to serve other VMs or the pool's watermark */
	uint64_t refaults[TAKE_HOWS]; /* pages touched again after being taken, by how */
	uint64_t ahead;		      /* bytes backed ahead of faults */
	uint64_t ahead_unused;	      /* of those, bytes taken back without ever being touched */
	uint64_t flushes;	      /* invalidations of the VM's nested translations by taking */
	uint64_t volatile_marked;     /* pages marked volatile (and not pinned) right now */
	bool taken_any;		      /* anything was ever taken back (else no fault can be a refault) */
};

/* The last working-set scan (mm/wss.c). */
#define WSS_BUCKETS 5 /* idle for 0, 1, 2-3, 4-7, 8+ scans */
struct vm_wss {
	uint64_t scans;
	uint64_t wss;		     /* bytes accessed within the last `window` scans */
	uint64_t idle;		     /* bytes idle for at least `idle_age` scans, above min */
	uint64_t hist[WSS_BUCKETS];  /* bytes by idle age */
	uint64_t tsc, total_tsc;     /* ticks the last scan and all scans cost */
	uint64_t splits, merges;     /* 2 MiB leaves split to see 4 KiB pages, and merged back */
	uint64_t probe_faults;	     /* accesses to probed leaves, given back (working sets from faults) */
	uint64_t ahead_untouched;    /* bytes backed ahead of faults and not accessed since (this scan) */
	uint64_t flushes;	     /* invalidations after clearing accessed bits or probing */
};

/* A far share's hooks (mm/far.c): set while the VM has one. */
struct vm_mem_far_ops {
	/* back gpa's page locally, fetching it if it is far and evicting to stay within the local share;
	 * guest: the guest's own fault (its latency is charged to the vCPU), else the hypervisor's access */
	enum vm_fault_result (*fault)(void *ctx, uint64_t gpa, bool guest);
	bool (*is_far)(void *ctx, uint64_t gpa); /* does a far frame hold the only copy of gpa's page? */
	void (*forget)(void *ctx, uint64_t gpa, uint64_t len); /* [gpa, +len) was taken back: far copies are stale */
	bool (*full)(void *ctx); /* the local share is full: a fault now evicts a page, unmapping it */
};

struct vm_mem {
	uint8_t owner;	    /* frame owner id = VM id */
	enum vm_mem_mode mode;
	bool grow_2m;	    /* may serve a fault with a 2 MiB frame */
	bool npt_ad;	    /* the hardware keeps the nested accessed/dirty bits (else they read as clear) */
	uint64_t min, max;  /* bytes; RAM is [0, max), [0, min) always backed */
	struct npt npt;
	uint64_t backed;    /* bytes of RAM backed */
	uint64_t shared;    /* bytes mapped above max from frames others own (vm_mem_map_shared) */
	uint64_t faults_4k, faults_2m;
	uint64_t zero_tsc;  /* TSC ticks spent zeroing frames for faults */
	paddr_t spare;	    /* next of spare_n frames taken from the pool in one step, not yet used */
	unsigned spare_n;
	paddr_t zrun;	    /* next of zrun_n pre-zeroed 4 KiB frames (a zero-cache block split up) */
	unsigned zrun_n;
	uint8_t *pages;	    /* PG_* per 4 KiB page of [0, max), in pages_order frames of the VM */
	unsigned pages_order;
	/* fault-around: a 4 KiB fault at next_fault continues a sequential run */
	uint64_t next_fault;
	unsigned run;
	unsigned ahead_max; /* pages backed ahead at most (0: fault-around off) */
	const struct vm_mem_far_ops *far_ops; /* NULL: every backed page is local */
	void *far_ctx;
	/* the backend's invalidation of the VM's nested translations (set by hv/vm.c) */
	void (*flush)(void *ctx);
	void *flush_ctx;
	struct vm_mem_stats st;
	struct vm_wss wss;
	uint64_t free_errors; /* frames the pool refused to take back (bad_frame, bad_err: the last one) */
	paddr_t bad_frame;
	int bad_err;
};

/* 4 KiB frames are taken from the pool 2^VM_MEM_SPARE_ORDER at a time (they are the VM's meanwhile). */
#define VM_MEM_SPARE_ORDER 4
/* Fault-around backs at most this many pages ahead by default (doubling from 1 along a sequential run). */
#define VM_MEM_AHEAD_DEFAULT 64

enum vm_fault_result {
	VM_FAULT_MAPPED,  /* a frame was mapped: resume the vCPU */
	VM_FAULT_NOMEM,   /* the pool is dry: park the vCPU and retry later */
	VM_FAULT_OUTSIDE, /* not RAM of this VM: stop it */
	VM_FAULT_BROKEN,  /* mapped already, yet the access faulted: stop it */
	VM_FAULT_FAR_FULL, /* its far node has no frame for the page to move out: stop it */
};

/*
 * Set up m and back [0, min) (static: [0, max)) with zeroed frames. min and
 * max must be 4 KiB multiples with 0 < min <= max. 0, or -1 with why.
 */
int vm_mem_init(struct vm_mem *m, uint8_t owner, uint64_t min, uint64_t max, enum vm_mem_mode mode,
		const struct npt_format *fmt, bool allow_2m, char *why, size_t n);
/* Serve the guest's access to unbacked gpa (through the far share, if it has one). */
enum vm_fault_result vm_mem_fault(struct vm_mem *m, uint64_t gpa);
/* Back unbacked gpa from the pool, whatever far share: what the far layer itself uses. */
enum vm_fault_result vm_mem_fault_local(struct vm_mem *m, uint64_t gpa);
/*
 * vm_mem_fault's common case alone, for a caller in a hurry (the backend, between a VM exit and
 * the next entry): gpa's page backed with a pre-zeroed frame in hand, in a page table that exists.
 * false, with nothing changed, when that does not apply: then vm_mem_fault says what does.
 */
bool vm_mem_fault_quick(struct vm_mem *m, uint64_t gpa);
/*
 * Map m's own 4 KiB frame pa (one vm_take_out kept) at unbacked gpa in [0, max) as a page of its
 * RAM, its contents as they are. 0, or -NPT_* and the frame goes back to the pool.
 */
int vm_mem_map_frame(struct vm_mem *m, uint64_t gpa, paddr_t pa);
/*
 * Map n 4 KiB frames from pa, one after another, that m does not own (a pipe's) read-write at the
 * n pages from gpa, which lies above max: m's RAM never reaches there. A page already mapped stays
 * as it is. The page tables are m's. 0, -NPT_ENOMEM (the pages before the one it stopped at are
 * mapped), -NPT_EINVAL. vm_take_shared() takes such pages away again; destroying m leaves their
 * frames alone.
 */
int vm_mem_map_shared(struct vm_mem *m, uint64_t gpa, paddr_t pa, unsigned n);
/* Return every frame (RAM, tables, spares, page state) to the pool. */
void vm_mem_release(struct vm_mem *m);
/*
 * Copy between the hypervisor and guest-physical [gpa, gpa + len), which
 * must lie in RAM; unbacked pages read as zero, and are backed when written
 * (and marked dirty, so that no sweep takes them for zero pages).
 * 0, or -1 (outside RAM, or no frame for a write).
 */
int vm_mem_read(struct vm_mem *m, void *dst, uint64_t gpa, uint64_t len);
int vm_mem_write(struct vm_mem *m, uint64_t gpa, const void *src, uint64_t len);
/*
 * New bounds while the VM runs (min <= max, 4 KiB multiples): raising min
 * backs [min, new min) now; lowering max takes back what lies above it, and
 * is refused (nothing changes) when pages there hold data. 0, or -1 with why.
 */
int vm_mem_set_bounds(struct vm_mem *m, uint64_t min, uint64_t max, char *why, size_t n);
/* Back every unbacked page of [gpa, gpa + len) (inside RAM); 0, or -1 when the pool is dry (some may be backed). */
int vm_mem_back(struct vm_mem *m, uint64_t gpa, uint64_t len);
/* Is [gpa, gpa + len) inside RAM (without wrapping)? */
bool vm_mem_in_ram(const struct vm_mem *m, uint64_t gpa, uint64_t len);
/*
 * Recount m's RAM and tables from its nested page tables, check that every
 * leaf frame is a block of m's owner of the leaf's size, and that the pool's
 * count of m's frames is RAM + tables + spares + page state. Needs a
 * frame_check() just before. 0 with a summary in why, or -1 with the
 * differences.
 */
int vm_mem_verify(struct vm_mem *m, char *why, size_t n);
/* Frames used for the nested tables. */
uint64_t vm_mem_table_frames(const struct vm_mem *m);
/* Frames the VM holds for its next 4 KiB faults and tables (pre-zeroed or not). */
static inline uint64_t vm_mem_spare_frames(const struct vm_mem *m)
{
	return m->spare_n + m->zrun_n;
}
/* Frames of the per-page state. */
static inline uint64_t vm_mem_state_frames(const struct vm_mem *m)
{
	return m->pages ? 1ULL << m->pages_order : 0;
}
/* Every frame the VM holds. */
static inline uint64_t vm_mem_frames(const struct vm_mem *m)
{
	return m->backed / 4096 + vm_mem_table_frames(m) + vm_mem_spare_frames(m) + vm_mem_state_frames(m);
}

/* The state byte of the page holding gpa (< max). */
static inline uint8_t *vm_mem_page(struct vm_mem *m, uint64_t gpa)
{
	return &m->pages[gpa >> 12];
}

/* ---- used by the files that take memory back (mm/vm_take.c, mm/wss.c) ---- */

#define PG_BYTES8(b) (0x0101010101010101ULL * (uint64_t)(b)) /* the state byte b in each byte of a word */

/*
 * The n state bytes at pg become (byte & keep) | set; returns how many had the bit `count` (one
 * bit, or 0) set before. Eight bytes at a time where there are that many (a 2 MiB leaf's 512 pages): the page
 * states of a leaf are updated at every scan and every take, and byte by byte that was most of a
 * working-set scan's cost.
 */
static inline uint64_t vm_mem_pages_set(uint8_t *pg, uint64_t n, uint8_t keep, uint8_t set, uint8_t count)
{
	uint64_t i = 0, counted = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, c;

		__builtin_memcpy(&w, pg + i, 8); /* a load: -ffreestanding would make memcpy a call */
		c = w & PG_BYTES8(count);
		if (c) /* rare; and without POPCNT in the build a count is a call */
			counted += (uint64_t)__builtin_popcountll(c);
		w = (w & PG_BYTES8(keep)) | PG_BYTES8(set);
		__builtin_memcpy(pg + i, &w, 8);
	}
	for (; i < n; i++) {
		counted += (pg[i] & count) != 0;
		pg[i] = (uint8_t)((pg[i] & keep) | set);
	}
	return counted;
}

/* Give a frame of m back to the pool; a refusal is recorded, never ignored. */
void vm_mem_give_back(struct vm_mem *m, paddr_t pa, unsigned order);
/*
 * A pre-zeroed or freshly zeroed 4 KiB frame of m, or FRAME_NONE. growth: it
 * backs RAM after creation, and may take a zero-cache block to split up.
 */
paddr_t vm_mem_zeroed_4k(struct vm_mem *m, bool growth);

#endif
