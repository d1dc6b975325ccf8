/* Nested page tables: the generic 4-level walker behind EPT and NPT (see npt.h). */
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "npt.h"

/*
 * Four levels of 512-entry tables, 9 bits of the guest-physical address
 * each: level 3 is the root (PML4), level 0 the page table. Leaves live at
 * level 0 (4 KiB) and level 1 (2 MiB); the format (struct npt_format) says
 * how an entry encodes a table pointer or a leaf. An all-zero entry is
 * absent in every format, as tables come zeroed from ops.alloc_table.
 *
 * Tables are reached at their physical address (identity map).
 *
 * Invariant: no table but the root is ever empty. npt_unmap and an unmap
 * by npt_scan free the tables they leave empty, a failed npt_fill_hole (and
 * so npt_map) frees the tables it made, npt_merge frees the page table it
 * replaces, so t->tables counts exactly the root and the tables that hold
 * something. Hence one walk says how much is free around a gpa: stopping
 * at an absent entry of level l, nothing is mapped in the level_size(l)
 * block around it (npt_find_hole).
 *
 * Rights are a non-empty subset of NPT_RWX, and W needs R: W without R is
 * an EPT misconfiguration, so it is refused here (-NPT_EINVAL) for every
 * format. A format may need more (fmt->rights_need): NPT cannot express a
 * present entry that is not readable, so it needs R. Execute-only (X alone,
 * EPT only) needs a CPU capability the caller checks.
 *
 * Entries are changed with plain stores and no barriers. The caller
 * serializes all calls on one struct npt and, after any change to a
 * present entry (unmap, protect, split, merge, an A/D clear), invalidates
 * the TLBs that may hold it (INVEPT, or the NPT ASID flush) before relying
 * on the change. A/D bits the processor sets while a call rewrites the same
 * entry may be lost.
 */

#define NPT_TOP	    (NPT_LEVELS - 1)
#define NPT_ENTRIES 512
#define NPT_BITS    9

/* The entries visited from the root towards one gpa: e[l] is in the level-l table. */
struct npt_path {
	uint64_t *e[NPT_LEVELS];
	unsigned level; /* where the walk stopped: a leaf or an absent entry */
};

static const char *const npt_errstr[NPT_NERR] = {
	[NPT_OK] = "ok",
	[NPT_EINVAL] = "invalid argument",
	[NPT_ENOMEM] = "no frame for a page table",
	[NPT_EEXIST] = "already mapped",
	[NPT_ENOENT] = "not mapped",
	[NPT_ELEVEL] = "mapped with another page size",
	[NPT_EMERGE] = "pages not mergeable",
};

/* ---- small helpers ---- */

static inline uint64_t level_size(unsigned level)
{
	return NPT_SIZE_4K << (NPT_BITS * level);
}

static inline uint64_t *table_ptr(paddr_t table)
{
	return (uint64_t *)(uintptr_t)table;
}

static inline uint64_t *entry_ptr(paddr_t table, uint64_t gpa, unsigned level)
{
	unsigned shift = FRAME_SHIFT + NPT_BITS * level;

	return &table_ptr(table)[(gpa >> shift) & (NPT_ENTRIES - 1)];
}

/*
 * A probed leaf: its gate bits (those whose clearing makes it not present) moved up to
 * PROBE_SAVE and PROBED set. Both formats ignore those bits in a not-present entry
 * (SDM 29.3.2: EPT bits 62:3 when bits 2:0 are 0; APM 5.3: everything but P when P is 0).
 */
#define PROBED	   (1ULL << 62)
#define PROBE_SAVE 52

static inline bool present(const struct npt *t, uint64_t e)
{
	return (e & (t->fmt->present_bits | PROBED)) != 0;
}

/* The entry as it was before any probe (what its rights are read from). */
static inline uint64_t unprobed(const struct npt *t, uint64_t e)
{
	uint64_t gate = t->fmt->gate;

	if (!(e & PROBED))
		return e;
	return (e & ~PROBED & ~(gate << PROBE_SAVE)) | ((e >> PROBE_SAVE) & gate);
}

static inline uint64_t probed(const struct npt *t, uint64_t e)
{
	uint64_t gate = t->fmt->gate;

	if (e & PROBED)
		return e;
	return (e & ~gate & ~t->fmt->accessed) | ((e & gate) << PROBE_SAVE) | PROBED;
}

static inline unsigned rights_of(const struct npt *t, uint64_t e)
{
	return t->fmt->rights(unprobed(t, e));
}

/* What a visitor is shown of leaf entry e (of level, mapping from gpa). */
static struct npt_leaf leaf_of(const struct npt *t, uint64_t e, unsigned level, uint64_t gpa)
{
	return (struct npt_leaf){
		.gpa = gpa,
		.pa = t->fmt->addr(e),
		.level = level,
		.rights = rights_of(t, e),
		.accessed = (e & t->fmt->accessed) != 0,
		.dirty = (e & t->fmt->dirty) != 0,
		.probed = (e & PROBED) != 0,
	};
}

/* Only levels 0 and 1 hold leaves; an entry above is always a table. */
static inline bool is_leaf(const struct npt *t, uint64_t e, unsigned level)
{
	return level == NPT_LEVEL_4K || (level == NPT_LEVEL_2M && (e & t->fmt->page_size));
}

static inline uint64_t ad_mask(const struct npt *t)
{
	return t->fmt->accessed | t->fmt->dirty;
}

static bool npt_ready(const struct npt *t)
{
	return t && t->fmt && t->root != FRAME_NONE;
}

static bool gpa_ok(const struct npt *t, uint64_t gpa)
{
	return npt_ready(t) && gpa < NPT_GPA_LIMIT;
}

static bool rights_ok(const struct npt *t, unsigned rights)
{
	unsigned need = t->fmt->rights_need;

	if (rights == 0 || (rights & ~NPT_RWX) || (rights & need) != need)
		return false;
	return !(rights & NPT_W) || (rights & NPT_R);
}

/* A leaf of `level` at gpa -> pa with these rights is well-formed (not whether there is room). */
static int check_map(const struct npt *t, uint64_t gpa, paddr_t pa, unsigned level, unsigned rights)
{
	uint64_t mask;

	if (!npt_ready(t) || level > NPT_LEVEL_2M || !rights_ok(t, rights))
		return -NPT_EINVAL;
	mask = level_size(level) - 1;
	if ((gpa & mask) || gpa >= NPT_GPA_LIMIT || (pa & mask))
		return -NPT_EINVAL;
	/* pa must fit the format's address field. */
	if (pa & ~t->fmt->addr_mask)
		return -NPT_EINVAL;
	return 0;
}

static bool table_empty(const struct npt *t, paddr_t table)
{
	const uint64_t *tb = table_ptr(table);
	unsigned i;

	for (i = 0; i < NPT_ENTRIES; i++)
		if (present(t, tb[i]))
			return false;
	return true;
}

/*
 * Whether the table holds a present entry besides entry i. Looked for eight entries (a cache line)
 * at a time, from i's own eight upwards and round, so that a removal from a table in use finds a
 * neighbour in a read or two, and a pass removing entries in order finds the next at once and
 * reads the table no more than once in all.
 */
static bool others_present(const struct npt *t, paddr_t table, unsigned i)
{
	const uint64_t *tb = table_ptr(table), mask = t->fmt->present_bits | PROBED;
	unsigned first = i & ~7u, c = first;

	do {
		const uint64_t *x = &tb[c];

		if ((x[0] | x[1] | x[2] | x[3] | x[4] | x[5] | x[6] | x[7]) & mask) {
			if (c != first || !(tb[i] & mask))
				return true;
			for (unsigned j = c; j < c + 8; j++) /* entry i is present itself: the others? */
				if (j != i && (tb[j] & mask))
					return true;
		}
		c = (c + 8) % NPT_ENTRIES;
	} while (c != first);
	return false;
}

static paddr_t table_alloc(struct npt *t)
{
	paddr_t pa = t->ops.alloc_table(t->ops.ctx);

	if (pa != FRAME_NONE)
		t->tables++;
	return pa;
}

/* Unlink it first. The hint goes with its page table (tables above it go only after it). */
static void table_free(struct npt *t, paddr_t table)
{
	if (table == t->hint_pt)
		t->hint_pt = FRAME_NONE;
	t->ops.free_table(t->ops.ctx, table);
	t->tables--;
}

/* ---- walking ---- */

/* Walk towards gpa until a leaf (true) or an absent entry (false); p says where. */
static bool walk(const struct npt *t, uint64_t gpa, struct npt_path *p)
{
	paddr_t table = t->root;
	unsigned l;

	for (l = NPT_TOP;; l--) {
		uint64_t *e = entry_ptr(table, gpa, l);

		p->e[l] = e;
		p->level = l;
		if (!present(t, *e))
			return false;
		if (is_leaf(t, *e, l))
			return true;
		table = *e & t->fmt->addr_mask; /* a table's address is its entry's address bits (page_table_of) */
	}
}

/*
 * The page table holding gpa's entry, or FRAME_NONE if there is none (an absent entry or a 2 MiB
 * leaf on the way): walk's answer to just that, with nothing recorded on the way. Tables are never
 * probed, and in every format a table's address is its entry's address bits.
 */
static paddr_t page_table_of(const struct npt *t, uint64_t gpa)
{
	paddr_t table = t->root;
	unsigned l;

	for (l = NPT_TOP; l > NPT_LEVEL_4K; l--) {
		uint64_t e = *entry_ptr(table, gpa, l);

		if (!(e & t->fmt->present_bits) || (l == NPT_LEVEL_2M && (e & t->fmt->page_size)))
			return FRAME_NONE;
		table = e & t->fmt->addr_mask;
	}
	return table;
}

/* The leaf entry containing gpa (its level in p->level), or NULL. */
static uint64_t *find_leaf(const struct npt *t, uint64_t gpa, struct npt_path *p)
{
	if (!walk(t, gpa, p))
		return NULL;
	return p->e[p->level];
}

/* Free the tables of p's path that are empty, from the level-`from` table up (never the root). */
static void prune(struct npt *t, struct npt_path *p, unsigned from)
{
	unsigned l;

	for (l = from; l < NPT_TOP; l++) {
		paddr_t table = t->fmt->addr(*p->e[l + 1]);

		if (others_present(t, table, (unsigned)(p->e[l] - table_ptr(table))))
			return;
		*p->e[l + 1] = 0;
		table_free(t, table);
	}
}

/* ---- setup and teardown ---- */

int npt_init(struct npt *t, const struct npt_format *fmt, const struct npt_ops *ops)
{
	if (!t)
		return -NPT_EINVAL;
	t->root = FRAME_NONE;
	t->hint_pt = FRAME_NONE;
	t->tables = 0;
	t->mapped = 0;
	t->fmt = NULL;
	if (!fmt || !fmt->make_table || !fmt->make_leaf || !fmt->present_bits || !fmt->page_size ||
	    !fmt->addr || !fmt->rights || !fmt->set_rights || (fmt->rights_need & ~NPT_RWX) ||
	    !fmt->addr_mask || (fmt->addr_mask & 0xfff))
		return -NPT_EINVAL;
	if (!ops || !ops->alloc_table || !ops->free_table)
		return -NPT_EINVAL;
	t->fmt = fmt;
	t->ops = *ops;
	t->root = table_alloc(t);
	return t->root == FRAME_NONE ? -NPT_ENOMEM : 0;
}

/* Free the level-`level` table mapping gpa `base` and everything below it. */
static void destroy_table(struct npt *t, paddr_t table, unsigned level, uint64_t base,
			  npt_leaf_fn fn, void *ctx)
{
	const uint64_t *tb = table_ptr(table);
	unsigned i;

	for (i = 0; i < NPT_ENTRIES; i++) {
		uint64_t e = tb[i], gpa = base + i * level_size(level);

		if (!present(t, e))
			continue;
		if (!is_leaf(t, e, level)) {
			destroy_table(t, t->fmt->addr(e), level - 1, gpa, fn, ctx);
			continue;
		}
		if (fn)
			fn(ctx, gpa, t->fmt->addr(e), level);
		t->mapped -= level_size(level);
	}
	table_free(t, table);
}

void npt_destroy(struct npt *t, npt_leaf_fn fn, void *ctx)
{
	if (!npt_ready(t))
		return;
	destroy_table(t, t->root, NPT_TOP, 0, fn, ctx);
	t->root = FRAME_NONE;
}

/* ---- holes: a map at a fault with one walk ---- */

static inline uint64_t block_of(uint64_t gpa)
{
	return gpa & ~(NPT_SIZE_2M - 1);
}

/* Remember the page table holding pte, gpa's level-0 entry (tables are frames at their address). */
static void hint_set(struct npt *t, uint64_t gpa, const uint64_t *pte)
{
	t->hint_base = block_of(gpa);
	t->hint_pt = (paddr_t)(uintptr_t)pte & ~(paddr_t)(NPT_SIZE_4K - 1);
}

int npt_find_hole(struct npt *t, uint64_t gpa, struct npt_hole *h)
{
	struct npt_path p;
	unsigned l;
	bool leaf;

	if (!gpa_ok(t, gpa) || !h)
		return -NPT_EINVAL;
	h->gpa = gpa;
	for (l = 0; l < NPT_LEVELS; l++)
		h->e[l] = NULL;
	if (t->hint_pt != FRAME_NONE && block_of(gpa) == t->hint_base) {
		h->level = NPT_LEVEL_4K;
		h->e[NPT_LEVEL_4K] = entry_ptr(t->hint_pt, gpa, NPT_LEVEL_4K);
		return present(t, *h->e[NPT_LEVEL_4K]) ? -NPT_EEXIST : 0;
	}
	leaf = walk(t, gpa, &p);
	if (p.level == NPT_LEVEL_4K)
		hint_set(t, gpa, p.e[NPT_LEVEL_4K]);
	if (leaf)
		return -NPT_EEXIST;
	h->level = p.level;
	for (l = p.level; l < NPT_LEVELS; l++)
		h->e[l] = p.e[l];
	return 0;
}

/* What can be checked of h without a walk: a hole of t, still absent, taking a leaf of `level`. */
static int check_hole(const struct npt *t, const struct npt_hole *h, unsigned level)
{
	if (!gpa_ok(t, h->gpa) || h->level >= NPT_LEVELS || !h->e[h->level] || level > h->level)
		return -NPT_EINVAL;
	return present(t, *h->e[h->level]) ? -NPT_EEXIST : 0;
}

/* npt_fill_hole's general case: tables to create below the hole, or a 2 MiB leaf. */
static __attribute__((noinline)) int fill_hole_slow(struct npt *t, const struct npt_hole *h, paddr_t pa,
						     unsigned level, unsigned rights)
{
	paddr_t made[NPT_LEVELS];
	unsigned l, n = 0;
	uint64_t gpa, *e;
	int err;

	gpa = h->gpa & ~(level_size(level) - 1);
	err = check_map(t, gpa, pa, level, rights);
	if (!err)
		err = check_hole(t, h, level);
	if (err)
		return err;
	/* The tables below the hole hang from its entry only: unlinking that undoes them all. */
	e = h->e[h->level];
	for (l = h->level; l > level; l--) {
		paddr_t lower = table_alloc(t);

		if (lower == FRAME_NONE) {
			*h->e[h->level] = 0;
			while (n)
				table_free(t, made[--n]);
			return -NPT_ENOMEM;
		}
		made[n++] = lower;
		*e = t->fmt->make_table(lower);
		e = entry_ptr(lower, gpa, l - 1);
	}
	*e = t->fmt->make_leaf(pa, rights, level);
	t->mapped += level_size(level);
	if (level == NPT_LEVEL_4K)
		hint_set(t, gpa, e);
	return 0;
}

int npt_fill_hole(struct npt *t, const struct npt_hole *h, paddr_t pa, unsigned level, unsigned rights)
{
	uint64_t *e;

	if (!h || level > NPT_LEVEL_2M)
		return -NPT_EINVAL;
	/* the growth fault's common case: a 4 KiB page in a page table that exists (found through the hint) */
	e = h->e[NPT_LEVEL_4K];
	if (level != NPT_LEVEL_4K || h->level != NPT_LEVEL_4K || !e || (pa & (NPT_SIZE_4K - 1)) || !npt_ready(t) ||
	    (pa & ~t->fmt->addr_mask) || !rights_ok(t, rights))
		return fill_hole_slow(t, h, pa, level, rights);
	if (present(t, *e))
		return -NPT_EEXIST;
	*e = t->fmt->make_leaf(pa, rights, NPT_LEVEL_4K);
	t->mapped += NPT_SIZE_4K;
	hint_set(t, h->gpa, e);
	return 0;
}

unsigned npt_fill_run(struct npt *t, uint64_t gpa, unsigned n, paddr_t pa, unsigned rights)
{
	uint64_t *e, leaf;
	unsigned i, room;

	if (!n || !gpa_ok(t, gpa) || (gpa & (NPT_SIZE_4K - 1)) || (pa & (NPT_SIZE_4K - 1)) || !rights_ok(t, rights))
		return 0;
	if (t->hint_pt == FRAME_NONE || block_of(gpa) != t->hint_base) {
		paddr_t pt = page_table_of(t, gpa);

		if (pt == FRAME_NONE)
			return 0;
		t->hint_base = block_of(gpa);
		t->hint_pt = pt;
	}
	room = (unsigned)((NPT_SIZE_2M - (gpa & (NPT_SIZE_2M - 1))) / NPT_SIZE_4K);
	if (n > room)
		n = room;
	if (((pa + (uint64_t)n * NPT_SIZE_4K - 1) & ~t->fmt->addr_mask) & ~(NPT_SIZE_4K - 1))
		return 0;
	e = entry_ptr(t->hint_pt, gpa, NPT_LEVEL_4K);
	/* the frame number sits in the leaf's address bits, above bit 11, in both formats: the next
	 * frame's leaf is this one plus 4 KiB */
	leaf = t->fmt->make_leaf(pa, rights, NPT_LEVEL_4K);
	for (i = 0; i < n && !present(t, e[i]); i++, leaf += NPT_SIZE_4K)
		e[i] = leaf;
	t->mapped += (uint64_t)i * NPT_SIZE_4K;
	return i;
}

int npt_clear_run(struct npt *t, uint64_t gpa, uint64_t n)
{
	uint64_t *e;
	unsigned cleared = 0;

	if (!n || !gpa_ok(t, gpa) || (gpa & (NPT_SIZE_4K - 1)))
		return -NPT_EINVAL;
	if (t->hint_pt == FRAME_NONE || block_of(gpa) != t->hint_base ||
	    n > (NPT_SIZE_2M - (gpa & (NPT_SIZE_2M - 1))) / NPT_SIZE_4K)
		return -NPT_ENOENT;
	e = entry_ptr(t->hint_pt, gpa, NPT_LEVEL_4K);
	for (uint64_t i = 0; i < n; i++)
		if (present(t, e[i])) {
			e[i] = 0;
			cleared++;
		}
	t->mapped -= (uint64_t)cleared * NPT_SIZE_4K;
	if (cleared && table_empty(t, t->hint_pt)) { /* no empty table stays: as npt_unmap's prune */
		struct npt_path p;

		(void)walk(t, gpa, &p); /* stops in the page table, at gpa's absent entry */
		prune(t, &p, NPT_LEVEL_4K);
	}
	return (int)cleared;
}

/* ---- map and unmap ---- */

/* A 2 MiB map where a page table stands (h is a hole in it): the table gives way only if it is
 * empty, which the walker never leaves behind; then *h is the hole at the 2 MiB entry. */
static int drop_page_table(struct npt *t, uint64_t gpa, struct npt_hole *h)
{
	struct npt_path p;
	paddr_t pt;

	(void)walk(t, gpa, &p); /* stops in the page table, as npt_find_hole did */
	pt = t->fmt->addr(*p.e[NPT_LEVEL_2M]);
	if (!table_empty(t, pt))
		return -NPT_EEXIST;
	*p.e[NPT_LEVEL_2M] = 0;
	table_free(t, pt);
	return npt_find_hole(t, gpa, h);
}

int npt_map(struct npt *t, uint64_t gpa, paddr_t pa, unsigned level, unsigned rights)
{
	struct npt_hole h;
	int err = check_map(t, gpa, pa, level, rights);

	if (!err)
		err = npt_find_hole(t, gpa, &h);
	if (!err && h.level < level)
		err = drop_page_table(t, gpa, &h);
	return err ? err : npt_fill_hole(t, &h, pa, level, rights);
}

int npt_unmap(struct npt *t, uint64_t gpa, paddr_t *pa, unsigned *level)
{
	struct npt_path p;
	uint64_t *e;

	if (!gpa_ok(t, gpa))
		return -NPT_EINVAL;
	e = find_leaf(t, gpa, &p);
	if (!e)
		return -NPT_ENOENT;
	if (pa)
		*pa = t->fmt->addr(*e);
	if (level)
		*level = p.level;
	*e = 0;
	t->mapped -= level_size(p.level);
	prune(t, &p, p.level);
	return 0;
}

/* ---- queries ---- */

/* *pa is the leaf's frame (its first byte), not gpa's translation. */
/* The leaf entry mapping gpa into *e; 0 or -error. */
static int leaf_entry(const struct npt *t, uint64_t gpa, struct npt_path *p, uint64_t **e)
{
	if (!gpa_ok(t, gpa))
		return -NPT_EINVAL;
	*e = find_leaf(t, gpa, p);
	return *e ? 0 : -NPT_ENOENT;
}

int npt_lookup(const struct npt *t, uint64_t gpa, paddr_t *pa, unsigned *level, unsigned *rights)
{
	struct npt_path p;
	uint64_t *e;
	int err = leaf_entry(t, gpa, &p, &e);

	if (err)
		return err;
	if (pa)
		*pa = t->fmt->addr(*e);
	if (level)
		*level = p.level;
	if (rights)
		*rights = rights_of(t, *e);
	return 0;
}

int npt_visit_4k(struct npt *t, uint64_t gpa, npt_scan_fn fn, void *ctx)
{
	struct npt_path p;
	struct npt_leaf leaf;
	uint64_t *e;

	if (!gpa_ok(t, gpa) || !fn)
		return -NPT_EINVAL;
	e = find_leaf(t, gpa, &p);
	if (!e || p.level != NPT_LEVEL_4K)
		return -NPT_ENOENT;
	leaf = leaf_of(t, *e, NPT_LEVEL_4K, gpa & ~(NPT_SIZE_4K - 1));
	switch (fn(ctx, &leaf)) {
	case NPT_SCAN_KEEP:
		return 1;
	case NPT_SCAN_UNMAP:
		*e = 0;
		t->mapped -= NPT_SIZE_4K;
		prune(t, &p, NPT_LEVEL_4K);
		return 0;
	default:
		return -NPT_EINVAL;
	}
}

/* Any byte of the range counts; the part at or above NPT_GPA_LIMIT is never mapped. */
bool npt_any_mapped(const struct npt *t, uint64_t gpa, uint64_t size)
{
	struct npt_path p;
	uint64_t end;

	if (!gpa_ok(t, gpa))
		return false;
	end = size > NPT_GPA_LIMIT - gpa ? NPT_GPA_LIMIT : gpa + size;
	while (gpa < end) {
		uint64_t step;

		if (walk(t, gpa, &p))
			return true;
		/* Nothing under the absent entry: skip all it would cover. */
		step = level_size(p.level);
		gpa = (gpa & ~(step - 1)) + step;
	}
	return false;
}

/* Read the leaf's accessed and dirty bits, then clear the accessed bit, and the dirty bit with it if asked. */
static int test_bits(struct npt *t, uint64_t gpa, bool *accessed, bool *dirty, bool clear_a, bool clear_d)
{
	struct npt_path p;
	uint64_t *e;
	int err = leaf_entry(t, gpa, &p, &e);

	if (err)
		return err;
	if (accessed)
		*accessed = (*e & t->fmt->accessed) != 0;
	if (dirty)
		*dirty = (*e & t->fmt->dirty) != 0;
	if (clear_a)
		*e &= ~(clear_d ? ad_mask(t) : t->fmt->accessed);
	return 0;
}

int npt_test_ad(struct npt *t, uint64_t gpa, bool *accessed, bool *dirty, bool clear)
{
	return test_bits(t, gpa, accessed, dirty, clear, clear);
}

int npt_test_clear_a(struct npt *t, uint64_t gpa, bool *accessed)
{
	return test_bits(t, gpa, accessed, NULL, true, false);
}

/* The hypervisor wrote into the leaf's memory itself: set its A and D bits as the guest's write would have. */
int npt_set_dirty(struct npt *t, uint64_t gpa)
{
	struct npt_path p;
	uint64_t *e;
	int err = leaf_entry(t, gpa, &p, &e);

	if (err)
		return err;
	*e |= ad_mask(t);
	return 0;
}

/* ---- changing leaves ---- */

int npt_protect(struct npt *t, uint64_t gpa, unsigned rights)
{
	struct npt_path p;
	uint64_t *e;

	if (!gpa_ok(t, gpa) || !rights_ok(t, rights))
		return -NPT_EINVAL;
	e = find_leaf(t, gpa, &p);
	if (!e)
		return -NPT_ENOENT;
	if (*e & PROBED)
		*e = probed(t, t->fmt->set_rights(unprobed(t, *e), rights, p.level));
	else
		*e = t->fmt->set_rights(*e, rights, p.level);
	return 0;
}

int npt_unprobe(struct npt *t, uint64_t gpa)
{
	struct npt_path p;
	uint64_t *e;
	int err = leaf_entry(t, gpa, &p, &e);

	if (err)
		return err;
	if (!(*e & PROBED))
		return 0;
	*e = unprobed(t, *e);
	return 1;
}

/* Replace the 2 MiB leaf e by a page table of 512 4 KiB leaves: same frames, rights and A/D. */
static int split_leaf(struct npt *t, uint64_t *e)
{
	paddr_t pt = table_alloc(t), pa = t->fmt->addr(*e);
	unsigned i, rights = rights_of(t, *e);
	uint64_t *tb, ad = *e & ad_mask(t);

	if (pt == FRAME_NONE)
		return -NPT_ENOMEM;
	tb = table_ptr(pt);
	for (i = 0; i < NPT_ENTRIES; i++) {
		tb[i] = t->fmt->make_leaf(pa + i * NPT_SIZE_4K, rights, NPT_LEVEL_4K) | ad;
		if (*e & PROBED)
			tb[i] = probed(t, tb[i]);
	}
	*e = t->fmt->make_table(pt);
	return 0;
}

int npt_split(struct npt *t, uint64_t gpa)
{
	struct npt_path p;
	uint64_t *e;

	if (!gpa_ok(t, gpa))
		return -NPT_EINVAL;
	e = find_leaf(t, gpa, &p);
	if (!e)
		return -NPT_ENOENT;
	if (p.level != NPT_LEVEL_2M)
		return -NPT_ELEVEL;
	return split_leaf(t, e);
}

/* The 2 MiB leaf replacing the page table pt, or -NPT_EMERGE if its leaves do not allow one. */
static int merged_leaf(const struct npt *t, paddr_t pt, uint64_t *leaf)
{
	const uint64_t *tb = table_ptr(pt);
	paddr_t pa = t->fmt->addr(tb[0]);
	unsigned i, rights = rights_of(t, tb[0]);
	uint64_t ad = 0;

	if (pa & (NPT_SIZE_2M - 1))
		return -NPT_EMERGE;
	for (i = 0; i < NPT_ENTRIES; i++) {
		uint64_t e = tb[i];

		if (!(e & t->fmt->present_bits) || t->fmt->rights(e) != rights ||
		    t->fmt->addr(e) != pa + i * NPT_SIZE_4K)
			return -NPT_EMERGE;
		ad |= e & ad_mask(t);
	}
	*leaf = t->fmt->make_leaf(pa, rights, NPT_LEVEL_2M) | ad;
	return 0;
}

int npt_merge(struct npt *t, uint64_t gpa)
{
	struct npt_path p;
	uint64_t *pde, leaf;
	paddr_t pt;
	int err;

	if (!gpa_ok(t, gpa))
		return -NPT_EINVAL;
	if (walk(t, gpa, &p) && p.level == NPT_LEVEL_2M)
		return -NPT_ELEVEL;
	if (p.level > NPT_LEVEL_4K)
		return -NPT_ENOENT; /* no page table: nothing mapped in the block */
	pde = p.e[NPT_LEVEL_2M];
	pt = t->fmt->addr(*pde);
	err = merged_leaf(t, pt, &leaf);
	if (err)
		return err;
	*pde = leaf;
	table_free(t, pt);
	return 0;
}

/* ---- one pass over a range of leaves ---- */

struct scan {
	struct npt *t;
	uint64_t start, end; /* end clipped to NPT_GPA_LIMIT */
	npt_scan_fn fn;
	void *ctx;
	uint64_t stopped; /* the leaf where the scan stopped or failed */
};

/* What a visit tells the level above; errors are negative. */
enum scan_result {
	SCAN_GO,      /* go on with the next entry */
	SCAN_GONE,    /* the entry is now absent; from scan_table: the table is empty (free it) */
	SCAN_TABLE,   /* the leaf is now a page table: visit its leaves */
	SCAN_STOPPED, /* the visitor said stop */
};

/* Show the leaf e (level, at gpa) to the visitor and do what it answers. */
static int scan_leaf(struct scan *s, uint64_t *e, unsigned level, uint64_t gpa)
{
	struct npt *t = s->t;
	const struct npt_leaf leaf = leaf_of(t, *e, level, gpa);
	int r = -NPT_EINVAL;

	switch (s->fn(s->ctx, &leaf)) {
	case NPT_SCAN_KEEP:
		return SCAN_GO;
	case NPT_SCAN_CLEAR_A:
		*e &= ~t->fmt->accessed;
		return SCAN_GO;
	case NPT_SCAN_CLEAR_AD:
		*e &= ~ad_mask(t);
		return SCAN_GO;
	case NPT_SCAN_UNMAP:
		*e = 0;
		t->mapped -= level_size(level);
		return SCAN_GONE;
	case NPT_SCAN_SPLIT:
		r = level != NPT_LEVEL_2M ? -NPT_ELEVEL : split_leaf(t, e);
		if (!r)
			return SCAN_TABLE;
		break;
	case NPT_SCAN_STOP:
		r = SCAN_STOPPED;
		break;
	case NPT_SCAN_PROBE:
		if (!t->fmt->gate)
			break;
		*e = probed(t, *e);
		return SCAN_GO;
	}
	s->stopped = gpa;
	return r;
}

/*
 * Visit the leaves under the level-`level` table that maps from gpa base,
 * from the scan's start on. SCAN_GONE when the table was left empty (never
 * the root), SCAN_STOPPED, SCAN_GO, or -error. After each removal the
 * table is looked at for another present entry (others_present), which
 * costs a pass in order no more than one read over the table.
 */
static int scan_table(struct scan *s, paddr_t table, unsigned level, uint64_t base)
{
	struct npt *t = s->t;
	uint64_t *tb = table_ptr(table), size = level_size(level);
	unsigned i = s->start > base ? (unsigned)((s->start - base) / size) : 0;

	for (; i < NPT_ENTRIES && base + i * size < s->end; i++) {
		uint64_t *e = &tb[i], gpa = base + i * size;
		int r = SCAN_TABLE;

		if (!present(t, *e))
			continue;
		if (is_leaf(t, *e, level))
			r = scan_leaf(s, e, level, gpa);
		if (r == SCAN_TABLE) {
			paddr_t lower = t->fmt->addr(*e);

			r = scan_table(s, lower, level - 1, gpa);
			if (r == SCAN_GONE) {
				*e = 0;
				table_free(t, lower);
			}
		}
		if (r != SCAN_GO && r != SCAN_GONE)
			return r;
		if (r == SCAN_GONE && level < NPT_TOP && !others_present(t, table, i))
			return SCAN_GONE;
	}
	return SCAN_GO;
}

int npt_scan(struct npt *t, uint64_t start, uint64_t end, npt_scan_fn fn, void *ctx, uint64_t *next)
{
	struct scan s = {
		.t = t,
		.start = start,
		.end = end < NPT_GPA_LIMIT ? end : NPT_GPA_LIMIT,
		.fn = fn,
		.ctx = ctx,
		.stopped = end,
	};
	int r = 0;

	if (!npt_ready(t) || !fn || start > end) {
		s.stopped = start;
		r = -NPT_EINVAL;
	} else if (start < s.end) {
		r = scan_table(&s, t->root, NPT_TOP, 0);
	}
	if (next)
		*next = s.stopped;
	return r < 0 ? r : 0;
}

const char *npt_strerror(int err)
{
	if (err <= -NPT_NERR || err >= NPT_NERR)
		return "unknown page-table error";
	return npt_errstr[err < 0 ? -err : err];
}
