/* Physical frame allocator: buddy allocator with O(1) buddy removal and per-owner accounting. */
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include "frame.h"

/*
 * Metadata: one uint64_t entry per 4 KiB frame of the span, indexed by
 * frame number minus the span's first frame number ("index").
 *
 *   63          36 35           8 7 6     2 1   0
 *  +--------------+--------------+-+-------+-----+
 *  |  prev (28)   |  next (28)   |0| order |state|
 *  +--------------+--------------+-+-------+-----+
 *
 * state  ST_ABSENT (0): not RAM, or never added; all other bits 0.
 *        ST_TAIL   (1): inside a block (free or allocated), not its head;
 *                       all other bits 0. The block's state is its head's.
 *        ST_FREE   (2): head of a free block of 2^order frames; next/prev
 *                       are the indices of the neighbours on the free list
 *                       of that order (LINK_NIL ends the list).
 *        ST_ALLOC  (3): head of an allocated block of 2^order frames; bits
 *                       8..15 hold the owner, bits 16..63 are 0.
 * order  0..FRAME_MAX_ORDER (5 bits). Bit 7 is reserved (0).
 *
 * Every block is naturally aligned in physical frame numbers, so the block
 * containing a frame is found by probing the frame aligned down to 2^0,
 * 2^1, ... until a head appears. Splitting and merging touch only heads:
 * O(1) entries per level, never the tails.
 */
#define ST_ABSENT	0ULL
#define ST_TAIL		1ULL
#define ST_FREE		2ULL
#define ST_ALLOC	3ULL

#define E_STATE_MASK	0x3ULL
#define E_ORDER_SHIFT	2
#define E_ORDER_MASK	0x1fULL
#define E_NEXT_SHIFT	8
#define E_PREV_SHIFT	36
#define E_LINK_MASK	0xfffffffULL
#define E_OWNER_SHIFT	8
#define E_OWNER_MASK	0xffULL

#define LINK_NIL	((uint32_t)E_LINK_MASK)

_Static_assert(sizeof(uint64_t) == FRAME_META_ENTRY_BYTES, "one 8-byte entry per frame");
_Static_assert(FRAME_META_ENTRY_BYTES <= 8, "at most 8 bytes of metadata per frame");
_Static_assert(FRAME_MAX_SPAN_FRAMES == E_LINK_MASK, "every index fits a link, NIL excluded");
_Static_assert(FRAME_MAX_ORDER <= E_ORDER_MASK, "order field wide enough");
_Static_assert(FRAME_MAX_OWNERS - 1 <= E_OWNER_MASK, "owner field wide enough");
_Static_assert(FRAME_MAX_ORDER < 32, "non-empty order bitmap is 32 bits");

/* The allocator: the only global. */
static struct {
	uint64_t *meta;
	uint64_t base;			/* frame number of the span's first frame */
	uint64_t nframes;		/* frames in the span */
	uint64_t owned;
	uint64_t free;
	uint64_t owner_frames[FRAME_MAX_OWNERS];
	uint64_t free_blocks[FRAME_MAX_ORDER + 1];
	uint32_t head[FRAME_MAX_ORDER + 1];	/* free list heads (indices) */
	uint32_t nonempty;		/* bit k: free list k is not empty */
	bool ready;
	uint64_t scratch[FRAME_MAX_OWNERS];	/* frame_check() recount */
} fa;

static const char *const frame_errstr[FRAME_NERR] = {
	[FRAME_OK] = "ok",
	[FRAME_EINVAL] = "invalid argument",
	[FRAME_EALIGN] = "address not aligned",
	[FRAME_ERANGE] = "outside the managed span",
	[FRAME_EBADOWNER] = "owner id out of range",
	[FRAME_EBADORDER] = "order out of range",
	[FRAME_ENOTHEAD] = "not the head of an allocated block",
	[FRAME_EFREE] = "frame is already free",
	[FRAME_EABSENT] = "frame is not managed RAM",
	[FRAME_EORDER] = "order does not match the block",
	[FRAME_EOWNER] = "block belongs to another owner",
	[FRAME_ENOTABSENT] = "frame already added",
	[FRAME_ENOTFREE] = "frame is not free",
	[FRAME_ENOINIT] = "allocator not initialized",
	[FRAME_ENOMEM] = "metadata buffer too small",
	[FRAME_ETOOBIG] = "span too large",
	[FRAME_ECORRUPT] = "metadata inconsistent",
};

/* ---- entry encoding ---- */

static inline uint64_t e_state(uint64_t e)
{
	return e & E_STATE_MASK;
}

static inline unsigned e_order(uint64_t e)
{
	return (unsigned)((e >> E_ORDER_SHIFT) & E_ORDER_MASK);
}

static inline uint32_t e_next(uint64_t e)
{
	return (uint32_t)((e >> E_NEXT_SHIFT) & E_LINK_MASK);
}

static inline uint32_t e_prev(uint64_t e)
{
	return (uint32_t)((e >> E_PREV_SHIFT) & E_LINK_MASK);
}

static inline unsigned e_owner(uint64_t e)
{
	return (unsigned)((e >> E_OWNER_SHIFT) & E_OWNER_MASK);
}

static inline uint64_t mk_free(unsigned order, uint32_t next, uint32_t prev)
{
	return ST_FREE | (uint64_t)order << E_ORDER_SHIFT |
	       (uint64_t)next << E_NEXT_SHIFT | (uint64_t)prev << E_PREV_SHIFT;
}

static inline uint64_t mk_alloc(unsigned order, unsigned owner)
{
	return ST_ALLOC | (uint64_t)order << E_ORDER_SHIFT |
	       (uint64_t)owner << E_OWNER_SHIFT;
}

static inline void set_next(uint32_t i, uint32_t next)
{
	fa.meta[i] = (fa.meta[i] & ~(E_LINK_MASK << E_NEXT_SHIFT)) |
		     (uint64_t)next << E_NEXT_SHIFT;
}

static inline void set_prev(uint32_t i, uint32_t prev)
{
	fa.meta[i] = (fa.meta[i] & ~(E_LINK_MASK << E_PREV_SHIFT)) |
		     (uint64_t)prev << E_PREV_SHIFT;
}

/* ---- free lists ---- */

/* Make index i the head of a free block of the order and push it. */
static void list_push(uint64_t i, unsigned order)
{
	uint32_t h = fa.head[order];

	fa.meta[i] = mk_free(order, h, LINK_NIL);
	if (h != LINK_NIL)
		set_prev(h, (uint32_t)i);
	fa.head[order] = (uint32_t)i;
	fa.free_blocks[order]++;
	fa.nonempty |= 1u << order;
}

/* Unlink the free block headed by index i; its head becomes a tail. */
static void list_del(uint64_t i)
{
	uint64_t e = fa.meta[i];
	unsigned order = e_order(e);
	uint32_t next = e_next(e), prev = e_prev(e);

	if (prev != LINK_NIL)
		set_next(prev, next);
	else
		fa.head[order] = next;
	if (next != LINK_NIL)
		set_prev(next, prev);
	fa.meta[i] = ST_TAIL;
	if (--fa.free_blocks[order] == 0)
		fa.nonempty &= ~(1u << order);
}

/* ---- span geometry ---- */

static inline paddr_t idx_to_pa(uint64_t i)
{
	return (fa.base + i) << FRAME_SHIFT;
}

/* Index of the buddy of the order-sized block at index i, or false if it is outside the span. */
static bool buddy_of(uint64_t i, unsigned order, uint64_t *buddy)
{
	uint64_t pfn = (fa.base + i) ^ (1ULL << order);

	if (pfn < fa.base || pfn - fa.base >= fa.nframes)
		return false;
	*buddy = pfn - fa.base;
	return true;
}

/* Largest order of a naturally aligned block starting at index i and ending by index end. */
static unsigned fit_order(uint64_t i, uint64_t end)
{
	uint64_t pfn = fa.base + i;
	unsigned order = pfn ? (unsigned)__builtin_ctzll(pfn) : FRAME_MAX_ORDER;

	if (order > FRAME_MAX_ORDER)
		order = FRAME_MAX_ORDER;
	while (i + (1ULL << order) > end)
		order--;
	return order;
}

/*
 * Head index of the block containing index i; false if the frame is absent
 * (or the metadata is inconsistent).
 */
static bool find_head(uint64_t i, uint64_t *head)
{
	uint64_t pfn = fa.base + i;
	unsigned o;

	for (o = 0; o <= FRAME_MAX_ORDER; o++) {
		uint64_t h = pfn & ~((1ULL << o) - 1);
		uint64_t e;

		if (h < fa.base)
			return false;
		e = fa.meta[h - fa.base];
		if (e_state(e) == ST_ABSENT)
			return false;
		if (e_state(e) == ST_TAIL)
			continue;
		if (e_order(e) < o)
			return false;
		*head = h - fa.base;
		return true;
	}
	return false;
}

/* Page-aligned, non-empty [start, end) inside the span, as indices. 0 or -err. */
static int range_to_idx(paddr_t start, paddr_t end, uint64_t *lo, uint64_t *hi)
{
	if (!fa.ready)
		return -FRAME_ENOINIT;
	if ((start | end) & (FRAME_SIZE - 1))
		return -FRAME_EALIGN;
	if (start >= end)
		return -FRAME_EINVAL;
	start >>= FRAME_SHIFT;
	end >>= FRAME_SHIFT;
	if (start < fa.base || end - fa.base > fa.nframes)
		return -FRAME_ERANGE;
	*lo = start - fa.base;
	*hi = end - fa.base;
	return 0;
}

/* ---- core operations ---- */

/* Insert the free block (index i, order), merging it with free buddies. No accounting. */
static void free_block(uint64_t i, unsigned order)
{
	uint64_t b;

	while (order < FRAME_MAX_ORDER && buddy_of(i, order, &b)) {
		uint64_t e = fa.meta[b];

		if (e_state(e) != ST_FREE || e_order(e) != order)
			break;
		list_del(b);
		fa.meta[i] = ST_TAIL;
		if (b < i)
			i = b;
		order++;
	}
	list_push(i, order);
}

/* Insert [lo, hi) (indices, all tails) as the largest aligned free blocks. No accounting. */
static void free_range(uint64_t lo, uint64_t hi)
{
	while (lo < hi) {
		unsigned order = fit_order(lo, hi);

		free_block(lo, order);
		lo += 1ULL << order;
	}
}

/* Error for a frame that is not the head of an allocated block. */
static int not_alloc_head_err(uint64_t i)
{
	uint64_t h;

	if (!find_head(i, &h))
		return -FRAME_EABSENT;
	if (e_state(fa.meta[h]) == ST_FREE)
		return -FRAME_EFREE;
	return -FRAME_ENOTHEAD;
}

/* ---- public API ---- */

size_t frame_meta_bytes(paddr_t lo, paddr_t hi)
{
	uint64_t n;

	if (((lo | hi) & (FRAME_SIZE - 1)) || lo >= hi)
		return 0;
	n = (hi - lo) >> FRAME_SHIFT;
	if (n > FRAME_MAX_SPAN_FRAMES || n > SIZE_MAX / FRAME_META_ENTRY_BYTES)
		return 0;
	return (size_t)(n * FRAME_META_ENTRY_BYTES);
}

int frame_init(paddr_t lo, paddr_t hi, void *meta, size_t meta_bytes)
{
	size_t need;
	unsigned k;

	if ((lo | hi) & (FRAME_SIZE - 1))
		return -FRAME_EALIGN;
	if (lo >= hi || !meta || ((uintptr_t)meta & (FRAME_META_ENTRY_BYTES - 1)))
		return -FRAME_EINVAL;
	if ((hi - lo) >> FRAME_SHIFT > FRAME_MAX_SPAN_FRAMES)
		return -FRAME_ETOOBIG;
	need = frame_meta_bytes(lo, hi);
	if (!need)
		return -FRAME_ETOOBIG;
	if (meta_bytes < need)
		return -FRAME_ENOMEM;

	memset(&fa, 0, sizeof(fa));
	memset(meta, 0, need);
	fa.meta = meta;
	fa.base = lo >> FRAME_SHIFT;
	fa.nframes = (hi - lo) >> FRAME_SHIFT;
	for (k = 0; k <= FRAME_MAX_ORDER; k++)
		fa.head[k] = LINK_NIL;
	fa.ready = true;
	return 0;
}

int frame_add_free(paddr_t start, paddr_t end)
{
	uint64_t lo, hi, i;
	int err = range_to_idx(start, end, &lo, &hi);

	if (err)
		return err;
	for (i = lo; i < hi; i++)
		if (e_state(fa.meta[i]) != ST_ABSENT)
			return -FRAME_ENOTABSENT;
	for (i = lo; i < hi; i++)
		fa.meta[i] = ST_TAIL;
	free_range(lo, hi);
	fa.owned += hi - lo;
	fa.free += hi - lo;
	return 0;
}

/* Is every frame of [lo, hi) inside a free block? */
static bool range_all_free(uint64_t lo, uint64_t hi)
{
	uint64_t i = lo, h;

	while (i < hi) {
		if (!find_head(i, &h) || e_state(fa.meta[h]) != ST_FREE)
			return false;
		i = h + (1ULL << e_order(fa.meta[h]));
	}
	return true;
}

/* Split the free block at head h so that its part inside [lo, hi) goes to owner. */
static void reserve_block(uint64_t h, uint64_t lo, uint64_t hi, unsigned owner)
{
	uint64_t end = h + (1ULL << e_order(fa.meta[h]));
	uint64_t a = h > lo ? h : lo, b = end < hi ? end : hi, i;

	list_del(h);
	for (i = a; i < b; i++)
		fa.meta[i] = mk_alloc(0, owner);
	free_range(h, a);
	free_range(b, end);
}

int frame_reserve(paddr_t start, paddr_t end, unsigned owner)
{
	uint64_t lo, hi, i, h;
	int err = range_to_idx(start, end, &lo, &hi);

	if (err)
		return err;
	if (owner >= FRAME_MAX_OWNERS)
		return -FRAME_EBADOWNER;
	if (!range_all_free(lo, hi))
		return -FRAME_ENOTFREE;
	for (i = lo; i < hi; ) {
		find_head(i, &h);
		i = h + (1ULL << e_order(fa.meta[h]));
		reserve_block(h, lo, hi, owner);
	}
	fa.free -= hi - lo;
	fa.owner_frames[owner] += hi - lo;
	return 0;
}

/* Take a free block of 2^order frames off the lists (splitting a larger one); its index, or -1. */
static int64_t take_block(unsigned order, unsigned owner)
{
	uint32_t avail;
	unsigned k;
	uint64_t i;

	if (!fa.ready || order > FRAME_MAX_ORDER || owner >= FRAME_MAX_OWNERS)
		return -1;
	avail = fa.nonempty >> order;
	if (!avail)
		return -1;
	k = order + (unsigned)__builtin_ctz(avail);
	i = fa.head[k];
	list_del(i);
	while (k > order) {
		k--;
		list_push(i + (1ULL << k), k);
	}
	fa.free -= 1ULL << order;
	fa.owner_frames[owner] += 1ULL << order;
	return (int64_t)i;
}

paddr_t frame_alloc(unsigned order, unsigned owner)
{
	int64_t i = take_block(order, owner);

	if (i < 0)
		return FRAME_NONE;
	fa.meta[i] = mk_alloc(order, owner);
	return idx_to_pa((uint64_t)i);
}

paddr_t frame_alloc_frames(unsigned order, unsigned owner)
{
	int64_t i = take_block(order, owner);

	if (i < 0)
		return FRAME_NONE;
	for (uint64_t f = 0; f < 1ULL << order; f++)
		fa.meta[(uint64_t)i + f] = mk_alloc(0, owner);
	return idx_to_pa((uint64_t)i);
}

/* Is pa the head of an allocated block of this order and owner? Its index, or -err. */
static int64_t alloc_head(paddr_t pa, unsigned order, unsigned owner)
{
	uint64_t pfn = pa >> FRAME_SHIFT, i, e;

	if (!fa.ready)
		return -FRAME_ENOINIT;
	if (order > FRAME_MAX_ORDER)
		return -FRAME_EBADORDER;
	if (owner >= FRAME_MAX_OWNERS)
		return -FRAME_EBADOWNER;
	if (pa & ((FRAME_SIZE << order) - 1))
		return -FRAME_EALIGN;
	if (pfn < fa.base || pfn - fa.base >= fa.nframes ||
	    (1ULL << order) > fa.nframes - (pfn - fa.base))
		return -FRAME_ERANGE;
	i = pfn - fa.base;
	e = fa.meta[i];
	if (e_state(e) != ST_ALLOC)
		return not_alloc_head_err(i);
	if (e_order(e) != order)
		return -FRAME_EORDER;
	if (e_owner(e) != owner)
		return -FRAME_EOWNER;
	return (int64_t)i;
}

int frame_free(paddr_t pa, unsigned order, unsigned owner)
{
	int64_t i = alloc_head(pa, order, owner);

	if (i < 0)
		return (int)i;
	fa.free += 1ULL << order;
	fa.owner_frames[owner] -= 1ULL << order;
	free_block((uint64_t)i, order);
	return 0;
}

int frame_split(paddr_t pa, unsigned order, unsigned owner)
{
	int64_t i = alloc_head(pa, order, owner);

	if (i < 0)
		return (int)i;
	for (uint64_t f = 0; f < 1ULL << order; f++)
		fa.meta[(uint64_t)i + f] = mk_alloc(0, owner);
	return 0;
}

int frame_join(paddr_t pa, unsigned order, unsigned owner)
{
	int64_t i = alloc_head(pa, 0, owner);

	if (i < 0)
		return (int)i;
	if (order > FRAME_MAX_ORDER)
		return -FRAME_EBADORDER;
	if (pa & ((FRAME_SIZE << order) - 1))
		return -FRAME_EALIGN;
	if ((1ULL << order) > fa.nframes - (uint64_t)i)
		return -FRAME_ERANGE;
	for (uint64_t f = 1; f < 1ULL << order; f++)
		if (fa.meta[(uint64_t)i + f] != mk_alloc(0, owner))
			return e_state(fa.meta[(uint64_t)i + f]) == ST_ALLOC && e_order(fa.meta[(uint64_t)i + f]) == 0
				       ? -FRAME_EOWNER
				       : -FRAME_EORDER;
	fa.meta[i] = mk_alloc(order, owner);
	for (uint64_t f = 1; f < 1ULL << order; f++)
		fa.meta[(uint64_t)i + f] = ST_TAIL;
	return 0;
}

int frame_transfer(paddr_t pa, unsigned order, unsigned from, unsigned to)
{
	int64_t i = alloc_head(pa, order, from);

	if (i < 0)
		return (int)i;
	if (to >= FRAME_MAX_OWNERS)
		return -FRAME_EBADOWNER;
	fa.meta[i] = mk_alloc(order, to);
	fa.owner_frames[from] -= 1ULL << order;
	fa.owner_frames[to] += 1ULL << order;
	return 0;
}

int frame_block_of(paddr_t pa, unsigned *order, unsigned *owner)
{
	uint64_t i, h, e;

	if (!fa.ready)
		return -FRAME_ENOINIT;
	if (pa & (FRAME_SIZE - 1))
		return -FRAME_EALIGN;
	if ((pa >> FRAME_SHIFT) < fa.base || (pa >> FRAME_SHIFT) - fa.base >= fa.nframes)
		return -FRAME_ERANGE;
	i = (pa >> FRAME_SHIFT) - fa.base;
	if (!find_head(i, &h))
		return -FRAME_EABSENT;
	e = fa.meta[h];
	if (e_state(e) != ST_ALLOC)
		return -FRAME_EFREE;
	if (h != i)
		return -FRAME_ENOTHEAD;
	*order = e_order(e);
	*owner = e_owner(e);
	return 0;
}

uint64_t frame_counted_frames(unsigned owner)
{
	return owner < FRAME_MAX_OWNERS ? fa.scratch[owner] : 0;
}

uint64_t frame_owner_frames(unsigned owner)
{
	return owner < FRAME_MAX_OWNERS ? fa.owner_frames[owner] : 0;
}

void frame_get_stats(struct frame_stats *st)
{
	unsigned k;

	memset(st, 0, sizeof(*st));
	st->owned = fa.owned;
	st->free = fa.free;
	st->hv = fa.owner_frames[FRAME_OWNER_HV];
	for (k = 1; k < FRAME_MAX_OWNERS; k++)
		st->vms += fa.owner_frames[k];
	for (k = 0; k <= FRAME_MAX_ORDER; k++)
		st->free_blocks[k] = fa.free_blocks[k];
	st->largest_free_order = fa.nonempty ? 31 - __builtin_clz(fa.nonempty) : -1;
}

/* ---- consistency check ---- */

/* Check the block headed at index i (entry e); add it to the recounts. */
static int check_block(uint64_t i, uint64_t e, uint64_t *free, uint64_t *cnt)
{
	unsigned order = e_order(e);
	uint64_t n = 1ULL << order, j, b;

	if (order > FRAME_MAX_ORDER || ((fa.base + i) & (n - 1)) || n > fa.nframes - i)
		return -FRAME_ECORRUPT;
	for (j = 1; j < n; j++)
		if (fa.meta[i + j] != ST_TAIL)
			return -FRAME_ECORRUPT;
	if (e_state(e) == ST_ALLOC) {
		if (e & ~(E_STATE_MASK | E_ORDER_MASK << E_ORDER_SHIFT |
			  E_OWNER_MASK << E_OWNER_SHIFT))
			return -FRAME_ECORRUPT;
		fa.scratch[e_owner(e)] += n;
		return 0;
	}
	/* free: must have been merged with a free buddy of the same order */
	if (order < FRAME_MAX_ORDER && buddy_of(i, order, &b) &&
	    e_state(fa.meta[b]) == ST_FREE && e_order(fa.meta[b]) == order)
		return -FRAME_ECORRUPT;
	*free += n;
	cnt[order]++;
	return 0;
}

/* Walk the span: every entry absent, or a head followed by its tails. */
static int check_entries(uint64_t *free, uint64_t *absent, uint64_t *cnt)
{
	uint64_t i = 0;
	int err;

	while (i < fa.nframes) {
		uint64_t e = fa.meta[i];

		if (e == ST_ABSENT) {
			(*absent)++;
			i++;
			continue;
		}
		if (e_state(e) == ST_ABSENT || e_state(e) == ST_TAIL)
			return -FRAME_ECORRUPT;
		err = check_block(i, e, free, cnt);
		if (err)
			return err;
		i += 1ULL << e_order(e);
	}
	return 0;
}

/* Each free list: well linked, only free heads of its order, as many as counted. */
static int check_list(unsigned order, uint64_t heads)
{
	uint32_t i = fa.head[order], prev = LINK_NIL;
	uint64_t n = 0;

	while (i != LINK_NIL) {
		uint64_t e;

		if (n++ >= heads || i >= fa.nframes)
			return -FRAME_ECORRUPT;
		e = fa.meta[i];
		if (e_state(e) != ST_FREE || e_order(e) != order || e_prev(e) != prev)
			return -FRAME_ECORRUPT;
		prev = i;
		i = e_next(e);
	}
	if (n != heads || fa.free_blocks[order] != heads ||
	    !(fa.nonempty & (1u << order)) != !heads)
		return -FRAME_ECORRUPT;
	return 0;
}

int frame_check(void)
{
	uint64_t cnt[FRAME_MAX_ORDER + 1] = { 0 };
	uint64_t free = 0, absent = 0, used = 0;
	unsigned k;
	int err;

	if (!fa.ready)
		return -FRAME_ENOINIT;
	memset(fa.scratch, 0, sizeof(fa.scratch));
	err = check_entries(&free, &absent, cnt);
	if (err)
		return err;
	for (k = 0; k <= FRAME_MAX_ORDER; k++)
		if (check_list(k, cnt[k]))
			return -FRAME_ECORRUPT;
	if (fa.nonempty >> (FRAME_MAX_ORDER + 1))
		return -FRAME_ECORRUPT;
	for (k = 0; k < FRAME_MAX_OWNERS; k++) {
		if (fa.scratch[k] != fa.owner_frames[k])
			return -FRAME_ECORRUPT;
		used += fa.scratch[k];
	}
	if (free != fa.free || fa.owned != fa.nframes - absent ||
	    free + used != fa.owned)
		return -FRAME_ECORRUPT;
	return 0;
}

const char *frame_strerror(int err)
{
	if (err <= -FRAME_NERR || err >= FRAME_NERR)
		return "unknown frame error";
	return frame_errstr[err < 0 ? -err : err];
}
