/* Physical frame allocator: a buddy allocator over one span of physical memory, with per-owner accounting. */
#ifndef EMHV_MM_FRAME_H
#define EMHV_MM_FRAME_H

#include <stdint.h>
#include <stddef.h>

typedef uint64_t paddr_t;

#define FRAME_SHIFT 12
#define FRAME_SIZE 4096ULL
#define FRAME_NONE ((paddr_t)-1)

/* Block orders: a block of order k is 2^k frames, naturally aligned. */
#define FRAME_ORDER_4K 0
#define FRAME_ORDER_2M 9
#define FRAME_ORDER_1G 18
#define FRAME_MAX_ORDER 18

/* Owners: 0 is the hypervisor, 1..FRAME_MAX_OWNERS-1 are VM ids. */
#define FRAME_OWNER_HV 0
#define FRAME_MAX_OWNERS 256

/* Metadata: one 8-byte entry per 4 KiB frame of the span. */
#define FRAME_META_ENTRY_BYTES 8
/* Largest span, in frames (28-bit free-list links, one value is "none"): ~1 TiB. */
#define FRAME_MAX_SPAN_FRAMES ((1ULL << 28) - 1)

/* Errors, returned negated (-FRAME_EALIGN, ...). */
enum frame_err {
	FRAME_OK = 0,
	FRAME_EINVAL,		/* bad argument (empty range, NULL, ...) */
	FRAME_EALIGN,		/* address not page/block aligned */
	FRAME_ERANGE,		/* outside the managed span */
	FRAME_EBADOWNER,	/* owner id >= FRAME_MAX_OWNERS */
	FRAME_EBADORDER,	/* order > FRAME_MAX_ORDER */
	FRAME_ENOTHEAD,		/* inside, not the head of, an allocated block */
	FRAME_EFREE,		/* frame is free (double free) */
	FRAME_EABSENT,		/* frame is not RAM added to the allocator */
	FRAME_EORDER,		/* order differs from the allocated block's */
	FRAME_EOWNER,		/* owner differs from the allocated block's */
	FRAME_ENOTABSENT,	/* frame_add_free() of an already added frame */
	FRAME_ENOTFREE,		/* frame_reserve() of a frame that is not free */
	FRAME_ENOINIT,		/* frame_init() has not succeeded */
	FRAME_ENOMEM,		/* metadata buffer too small */
	FRAME_ETOOBIG,		/* span larger than FRAME_MAX_SPAN_FRAMES */
	FRAME_ECORRUPT,		/* frame_check() found inconsistent metadata */
	FRAME_NERR
};

struct frame_stats {
	uint64_t owned;			/* frames ever added as RAM */
	uint64_t free;			/* frames in free blocks */
	uint64_t hv;			/* frames owned by FRAME_OWNER_HV */
	uint64_t vms;			/* frames owned by owners 1.. */
	uint64_t free_blocks[FRAME_MAX_ORDER + 1]; /* count of free blocks per order */
	int largest_free_order;		/* -1 when nothing is free */
};

/* Bytes of metadata needed for the span [lo, hi) (page-aligned); 0 if the span is invalid or too big. */
size_t frame_meta_bytes(paddr_t lo, paddr_t hi);

/*
 * Start managing [lo, hi) with the caller's metadata buffer (8-byte aligned,
 * at least frame_meta_bytes() long). Every frame starts absent; calling it
 * again discards all previous state. 0 or -err.
 */
int frame_init(paddr_t lo, paddr_t hi, void *meta, size_t meta_bytes);

/*
 * Add [start, end) of RAM as owned and free (page-aligned, inside the span,
 * currently absent); it coalesces into the largest naturally aligned blocks.
 * 0 or -err.
 */
int frame_add_free(paddr_t start, paddr_t end);

/*
 * Take [start, end) (page-aligned, currently all free) out of the free lists
 * and give it to owner as allocated 4 KiB blocks, splitting free blocks as
 * needed (boot: core image, modules, the metadata itself). 0 or -err.
 */
int frame_reserve(paddr_t start, paddr_t end, unsigned owner);

/* Allocate one naturally aligned block of 2^order frames for owner; FRAME_NONE when none. */
paddr_t frame_alloc(unsigned order, unsigned owner);
/*
 * Take 2^order contiguous frames in one step but hand them out as 2^order
 * separate 4 KiB blocks, each freed on its own with frame_free(pa, 0, owner)
 * (cheaper than 2^order calls of frame_alloc(0)). The first frame, or FRAME_NONE.
 */
paddr_t frame_alloc_frames(unsigned order, unsigned owner);

/*
 * Free a block returned by frame_alloc() (or a 4 KiB frame of frame_reserve())
 * with the same order and owner. 0 or -err; on error nothing changes.
 */
int frame_free(paddr_t pa, unsigned order, unsigned owner);
/*
 * The allocated block at pa (this order and owner) becomes 2^order allocated
 * 4 KiB blocks of the same owner, each freed on its own (a 2 MiB leaf split
 * into 4 KiB leaves, some of which go back to the pool). 0 or -err.
 */
int frame_split(paddr_t pa, unsigned order, unsigned owner);
/* The reverse: 2^order allocated 4 KiB blocks of owner from pa (aligned) become one block. 0 or -err. */
int frame_join(paddr_t pa, unsigned order, unsigned owner);
/* Give the allocated block at pa (this order, owned by from) to owner to. 0 or -err. */
int frame_transfer(paddr_t pa, unsigned order, unsigned from, unsigned to);

/* The allocated block whose head is pa: its order and owner. 0, or -err (free, absent, not a head, ...). */
int frame_block_of(paddr_t pa, unsigned *order, unsigned *owner);
/* Frames of owner as the last frame_check() counted them from the metadata (not from the counters). */
uint64_t frame_counted_frames(unsigned owner);

/* Frames currently allocated to owner (0 for an owner id out of range). */
uint64_t frame_owner_frames(unsigned owner);

/* Snapshot of the counters. */
void frame_get_stats(struct frame_stats *st);

/* Full consistency check: accounting identity, free lists, entry states. O(span). 0 or -err. */
int frame_check(void);

/* Short human words for a frame error (either sign); never NULL. */
const char *frame_strerror(int err);

#endif /* EMHV_MM_FRAME_H */
