/*
 * Taking memory back from a VM (see vm_take.h): one scan of the nested
 * tables that unmaps what a chooser picks, one invalidation per batch, and
 * the frames (and the page tables the unmaps emptied) back in the pool only
 * after it. The sources of memory are choosers over that one step.
 */
#include <stdio.h>
#include <string.h>
#include "vm_take.h"

/* Frames unmapped but perhaps still in a TLB: freed after the next invalidation. One CPU, one batch. */
static struct {
	struct vm_mem *m;
	paddr_t pa[VM_TAKE_BATCH_LEAVES];
	uint8_t order[VM_TAKE_BATCH_LEAVES];
	unsigned n;
	uint64_t bytes;
} batch;

static void flush_batch(void)
{
	struct vm_mem *m = batch.m;

	if (!batch.n)
		return;
	m->flush(m->flush_ctx);
	m->st.flushes++;
	for (unsigned i = 0; i < batch.n; i++)
		vm_mem_give_back(m, batch.pa[i], batch.order[i]);
	batch.n = 0;
	batch.bytes = 0;
}

/* A frame waits for the invalidation; a page table (a structure, not memory the guest had) adds no bytes. */
static void queue(paddr_t pa, unsigned order, bool table)
{
	if (batch.n == VM_TAKE_BATCH_LEAVES || (!table && batch.bytes >= VM_TAKE_BATCH_BYTES))
		flush_batch();
	batch.pa[batch.n] = pa;
	batch.order[batch.n++] = (uint8_t)order;
	if (!table)
		batch.bytes += FRAME_SIZE << order;
}

bool vm_take_defer_free(struct vm_mem *m, paddr_t pa, unsigned order)
{
	if (batch.m != m)
		return false;
	queue(pa, order, true);
	return true;
}

/*
 * Frames kept back for page tables that taking memory needs (a 2 MiB leaf
 * split so that its zero or volatile pages can go) when the pool is dry:
 * else the pool could not get memory back because it has none.
 */
#define RESERVE_FRAMES 32
static paddr_t reserve[RESERVE_FRAMES];
static unsigned reserve_n;

void vm_take_reserve_fill(void)
{
	while (reserve_n < RESERVE_FRAMES) {
		paddr_t pa = frame_alloc(FRAME_ORDER_4K, FRAME_OWNER_HV);

		if (pa == FRAME_NONE)
			return;
		reserve[reserve_n++] = pa;
	}
}

paddr_t vm_take_reserve_get(struct vm_mem *m)
{
	paddr_t pa;

	if (batch.m != m || !reserve_n)
		return FRAME_NONE;
	pa = reserve[--reserve_n];
	if (frame_transfer(pa, FRAME_ORDER_4K, FRAME_OWNER_HV, m->owner)) {
		reserve_n++;
		return FRAME_NONE;
	}
	memset((void *)pa, 0, FRAME_SIZE);
	return pa;
}

unsigned vm_take_reserve_frames(void)
{
	return reserve_n;
}

void vm_take_begin(struct vm_mem *m)
{
	batch.m = m;
	batch.n = 0;
	batch.bytes = 0;
}

void vm_take_end(struct vm_mem *m)
{
	(void)m;
	flush_batch();
	batch.m = NULL;
	vm_take_reserve_fill(); /* from what just came back */
}

/* Nothing below it is ever taken: min, or all of max for a static VM (the baseline keeps what it has). */
static uint64_t floor_of(const struct vm_mem *m)
{
	return m->mode == VM_MEM_STATIC ? m->max : m->min;
}

static uint64_t leaf_size(const struct npt_leaf *leaf)
{
	return leaf->level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
}

struct scan {
	struct vm_mem *m;
	const struct take_req *r;
	struct take_result *res;
	paddr_t split_pa; /* the 2 MiB frame split for the leaf being split, to join back if the split fails */
	bool failed;
};

/* The leaf is gone from the tables: its pages remember how, the VM's and the take's counts. */
static void account_leaf(struct vm_mem *m, const struct take_req *r, struct take_result *res,
			 const struct npt_leaf *leaf)
{
	uint64_t size = leaf_size(leaf);

	/* each page keeps PG_VOLATILE, remembers how it went, and counts if it was backed ahead and never
	 * touched */
	m->st.ahead_unused += vm_mem_pages_set(vm_mem_page(m, leaf->gpa), size / NPT_SIZE_4K, PG_VOLATILE,
					       (uint8_t)(r->how << PG_HOW_SHIFT), PG_AHEAD) * NPT_SIZE_4K;
	if (m->far_ops && !r->far_out) /* the page is gone: a far copy of it is stale */
		m->far_ops->forget(m->far_ctx, leaf->gpa, size);
	m->backed -= size;
	m->st.taken[r->how] += size;
	m->st.taken_any = true;
	if (r->harvest)
		m->st.harvested += size;
	res->bytes += size;
}

/* The leaf goes: accounted, its frame waits for the invalidation. */
static void take_leaf(struct scan *s, const struct npt_leaf *leaf)
{
	account_leaf(s->m, s->r, s->res, leaf);
	queue(leaf->pa, leaf->level == NPT_LEVEL_2M ? FRAME_ORDER_2M : FRAME_ORDER_4K, false);
}

static enum npt_scan_action visit(void *ctx, const struct npt_leaf *leaf)
{
	struct scan *s = ctx;
	struct vm_mem *m = s->m;
	const struct take_req *r = s->r;
	uint64_t size = leaf_size(leaf);
	enum take_choice c;

	if (leaf->gpa + size <= floor_of(m))
		return NPT_SCAN_KEEP; /* the lower bound is a guarantee */
	if ((r->max_leaves && s->res->leaves >= r->max_leaves) || (r->max_bytes && s->res->bytes >= r->max_bytes))
		return NPT_SCAN_STOP;
	s->res->leaves++;
	c = r->choose(m, leaf, r->ctx);
	if (c == TAKE_KEEP || (c == TAKE_SPLIT && leaf->level != NPT_LEVEL_2M))
		return NPT_SCAN_KEEP;
	/* a 2 MiB leaf partly below min or outside the range is taken page by page */
	if (c == TAKE_IT && leaf->level == NPT_LEVEL_2M &&
	    (leaf->gpa < floor_of(m) || leaf->gpa < r->start || leaf->gpa + size > r->end))
		c = TAKE_SPLIT;
	if (c == TAKE_SPLIT) {
		if (frame_split(leaf->pa, FRAME_ORDER_2M, m->owner)) {
			s->failed = true;
			return NPT_SCAN_STOP;
		}
		s->split_pa = leaf->pa;
		m->wss.splits++;
		return NPT_SCAN_SPLIT;
	}
	take_leaf(s, leaf);
	return NPT_SCAN_UNMAP;
}

void vm_take_scan(struct vm_mem *m, const struct take_req *r, struct take_result *res)
{
	struct scan s = { m, r, res, FRAME_NONE, false };
	int err;

	memset(res, 0, sizeof(*res));
	vm_take_begin(m);
	err = npt_scan(&m->npt, r->start, r->end, visit, &s, &res->next);
	if (err == -NPT_ENOMEM && s.split_pa != FRAME_NONE)
		frame_join(s.split_pa, FRAME_ORDER_2M, m->owner); /* the leaf stayed whole */
	vm_take_end(m);
	res->err = err ? err : s.failed ? -NPT_ENOMEM : 0;
	if (!err && res->next > r->end)
		res->next = r->end;
}

/* ---- the far layer's evictions ---- */

struct out {
	bool (*save)(void *ctx, const struct npt_leaf *leaf);
	void *ctx;
	struct npt_leaf leaf; /* the leaf saved */
};

static enum npt_scan_action out_visit(void *ctx, const struct npt_leaf *leaf)
{
	struct out *o = ctx;

	o->leaf = *leaf;
	return o->save(o->ctx, leaf) ? NPT_SCAN_UNMAP : NPT_SCAN_KEEP;
}

int vm_take_out(struct vm_mem *m, uint64_t gpa, bool (*save)(void *ctx, const struct npt_leaf *leaf), void *ctx,
		paddr_t *keep)
{
	const struct take_req r = { .start = gpa, .end = gpa + NPT_SIZE_4K, .how = TAKE_NONE, .far_out = true };
	struct take_result res = { 0 };
	struct out o = { save, ctx, { 0 } };
	int err;

	if (keep)
		*keep = FRAME_NONE;
	/* one leaf, so one walk and no scan: saved, unmapped (the tables it empties queued), accounted */
	vm_take_begin(m);
	err = npt_visit_4k(&m->npt, gpa, out_visit, &o);
	if (err) {
		vm_take_end(m);
		return err < 0 ? 1 : -1;
	}
	account_leaf(m, &r, &res, &o.leaf);
	if (keep)
		*keep = o.leaf.pa;
	else
		queue(o.leaf.pa, FRAME_ORDER_4K, false);
	if (!batch.n) { /* nothing queued to invalidate for: the kept frame needs it all the same */
		m->flush(m->flush_ctx);
		m->st.flushes++;
	}
	vm_take_end(m);
	return 0;
}

/* ---- shared pages (vm_mem_map_shared): unmapped, never freed here ---- */

static enum npt_scan_action unmap_shared(void *ctx, const struct npt_leaf *leaf)
{
	struct vm_mem *m = ctx;

	if (leaf->gpa < m->max || leaf->level != NPT_LEVEL_4K)
		return NPT_SCAN_KEEP; /* never RAM, and shared pages are 4 KiB */
	m->shared -= NPT_SIZE_4K;
	return NPT_SCAN_UNMAP;
}

uint64_t vm_take_shared(struct vm_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t before = m->shared;
	int n = -NPT_EINVAL;

	vm_take_begin(m);
	/* the common case with no walk: pages a pipe passed, in the page table its last map used */
	if (gpa >= m->max && len && !(len & (NPT_SIZE_4K - 1)))
		n = npt_clear_run(&m->npt, gpa, len / NPT_SIZE_4K);
	if (n >= 0)
		m->shared -= (uint64_t)n * NPT_SIZE_4K;
	else
		npt_scan(&m->npt, gpa, gpa + len, unmap_shared, m, NULL);
	if (m->shared != before && !batch.n) { /* the frames are not queued: invalidate for them too */
		m->flush(m->flush_ctx);
		m->st.flushes++;
	}
	vm_take_end(m);
	return (before - m->shared) / NPT_SIZE_4K;
}

/* ---- the guest's release ---- */

static enum take_choice choose_all(struct vm_mem *m, const struct npt_leaf *leaf, void *ctx)
{
	(void)m, (void)leaf, (void)ctx;
	return TAKE_IT;
}

/*
 * Below min: zero the backed pages of [gpa, end) in place (and mark them
 * written, so that no sweep mistakes them), at most *budget pages, each
 * costing a page of stores: where it got to.
 */
static uint64_t zero_below_min(struct vm_mem *m, uint64_t gpa, uint64_t end, unsigned *budget)
{
	for (; gpa < end && *budget; gpa += NPT_SIZE_4K) {
		paddr_t pa;
		unsigned level;

		if (npt_lookup(&m->npt, gpa, &pa, &level, NULL))
			continue;
		memset((void *)(pa + (gpa & (level == NPT_LEVEL_2M ? NPT_SIZE_2M - 1 : 0))), 0, NPT_SIZE_4K);
		npt_set_dirty(&m->npt, gpa);
		(*budget)--;
	}
	return gpa;
}

/* Zeroing in place costs a page of stores; unmapping a leaf far less: so many leaves make one page. */
#define ZERO_PAGE_COST 16

/* Release's work in [gpa, end) up to max_leaves: where it got to, or -1 (no frame to split a leaf). */
static int64_t release_step(struct vm_mem *m, uint64_t gpa, uint64_t end, unsigned max_leaves)
{
	uint64_t pos = gpa;
	unsigned budget = max_leaves;
	struct take_result res;
	struct take_req r = { .choose = choose_all, .how = TAKE_RELEASED };

	if (pos < floor_of(m)) {
		uint64_t floor = end < floor_of(m) ? end : floor_of(m);
		unsigned pages = budget / ZERO_PAGE_COST ? budget / ZERO_PAGE_COST : 1, before = pages;

		pos = zero_below_min(m, pos, floor, &pages);
		if (pos < floor)
			return (int64_t)pos;
		budget = (before - pages) * ZERO_PAGE_COST < budget ? budget - (before - pages) * ZERO_PAGE_COST : 0;
	}
	if (pos >= end || !budget)
		return (int64_t)pos;
	r.start = pos;
	r.end = end;
	r.max_leaves = budget;
	vm_take_scan(m, &r, &res);
	return res.err ? -1 : (int64_t)res.next;
}

int64_t vm_take_release(struct vm_mem *m, uint64_t gpa, uint64_t len, unsigned max_leaves)
{
	int64_t to = release_step(m, gpa, gpa + len, max_leaves);

	if (to < 0)
		return -1;
	if (m->far_ops) /* pages in far memory are released too: a later touch reads zeros */
		m->far_ops->forget(m->far_ctx, gpa, (uint64_t)to - gpa);
	return to - (int64_t)gpa;
}

/* ---- volatile memory (Kawai's weak pointers) ---- */

void vm_take_mark_volatile(struct vm_mem *m, uint64_t gpa, uint64_t len)
{
	for (uint64_t p = gpa; p < gpa + len; p += NPT_SIZE_4K) {
		uint8_t *pg = vm_mem_page(m, p);

		if (!(*pg & PG_VOLATILE))
			m->st.volatile_marked++;
		*pg |= PG_VOLATILE;
	}
}

uint64_t vm_take_pin(struct vm_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t lost = 0;

	for (uint64_t p = gpa; p < gpa + len; p += NPT_SIZE_4K) {
		uint8_t *pg = vm_mem_page(m, p);

		if (*pg & PG_VOLATILE)
			m->st.volatile_marked--;
		if (((*pg & PG_HOW_MASK) >> PG_HOW_SHIFT) == TAKE_VOLATILE) {
			lost++; /* told now: no refault is counted for it */
			*pg &= (uint8_t)~PG_HOW_MASK;
		}
		*pg &= (uint8_t)~PG_VOLATILE;
	}
	return lost;
}

static unsigned count_pages(struct vm_mem *m, const struct npt_leaf *leaf, uint8_t mask, uint8_t want)
{
	unsigned n = 0;

	for (uint64_t p = leaf->gpa; p < leaf->gpa + leaf_size(leaf); p += NPT_SIZE_4K)
		n += (*vm_mem_page(m, p) & mask) == want;
	return n;
}

static enum take_choice choose_volatile(struct vm_mem *m, const struct npt_leaf *leaf, void *ctx)
{
	unsigned n = count_pages(m, leaf, PG_VOLATILE, PG_VOLATILE);

	(void)ctx;
	return !n ? TAKE_KEEP : n == leaf_size(leaf) / NPT_SIZE_4K ? TAKE_IT : TAKE_SPLIT;
}

void vm_take_volatile(struct vm_mem *m, uint64_t max_bytes, unsigned max_leaves, bool harvest, uint64_t from,
		      struct take_result *res)
{
	struct take_req r = { .start = from, .end = m->max, .choose = choose_volatile, .how = TAKE_VOLATILE,
			      .harvest = harvest, .max_bytes = max_bytes, .max_leaves = max_leaves };

	vm_take_scan(m, &r, res);
}

/* ---- zero pages ---- */

struct zero_ctx {
	unsigned idle_age;
	bool ad;   /* the nested D bit is kept by the hardware */
	uint64_t read; /* bytes read to find zero pages */
	uint64_t *work; /* the scan's work count (take_result.leaves): reading pages adds to it */
};

/* Is the page all zero? *words (if set) grows by the words read to find out. */
static bool page_is_zero_count(paddr_t pa, uint64_t *words)
{
	const uint64_t *w = (const uint64_t *)pa;
	unsigned i;

	for (i = 0; i < NPT_SIZE_4K / 8 && !w[i]; i++)
		;
	if (words)
		*words += i < NPT_SIZE_4K / 8 ? i + 1 : i;
	return i == NPT_SIZE_4K / 8;
}

static bool page_is_zero(paddr_t pa)
{
	return page_is_zero_count(pa, NULL);
}

/* Reading this many words costs about as much as taking a leaf: they count as one against the budget. */
#define WORDS_PER_LEAF 256

/* Split a written 2 MiB leaf only when enough of it is zero to pay for the page table it needs. */
#define ZERO_SPLIT_MIN_PAGES 16

static enum take_choice choose_zero(struct vm_mem *m, const struct npt_leaf *leaf, void *ctx)
{
	struct zero_ctx *z = ctx;
	unsigned zero = 0, pages = (unsigned)(leaf_size(leaf) / NPT_SIZE_4K);
	uint64_t words = 0;

	if ((*vm_mem_page(m, leaf->gpa) & PG_AGE_MASK) < z->idle_age)
		return TAKE_KEEP;
	if (z->ad && !leaf->dirty)
		return TAKE_IT; /* backed zeroed and never written since */
	for (unsigned i = 0; i < pages; i++)
		zero += page_is_zero_count(leaf->pa + i * NPT_SIZE_4K, &words);
	z->read += leaf_size(leaf);
	*z->work += words / WORDS_PER_LEAF; /* so that a step's stall stays bounded by its budget */
	if (zero == pages)
		return TAKE_IT;
	return zero >= ZERO_SPLIT_MIN_PAGES ? TAKE_SPLIT : TAKE_KEEP;
}

void vm_take_zero(struct vm_mem *m, unsigned idle_age, uint64_t max_bytes, unsigned max_leaves, bool harvest,
		  uint64_t from, struct take_result *res)
{
	struct zero_ctx z = { idle_age, m->npt_ad, 0, &res->leaves };
	struct take_req r = { .start = from, .end = m->max, .choose = choose_zero, .ctx = &z, .how = TAKE_ZERO,
			      .harvest = harvest, .max_bytes = max_bytes, .max_leaves = max_leaves };

	vm_take_scan(m, &r, res);
}

/* ---- lowering max ---- */

struct data_ctx {
	bool ad;
	uint64_t data; /* bytes that hold something */
};

static enum take_choice choose_if_no_data(struct vm_mem *m, const struct npt_leaf *leaf, void *ctx)
{
	struct data_ctx *d = ctx;

	for (uint64_t p = leaf->gpa; p < leaf->gpa + leaf_size(leaf); p += NPT_SIZE_4K) {
		paddr_t pa = leaf->pa + (p - leaf->gpa);

		if (*vm_mem_page(m, p) & PG_VOLATILE)
			continue;
		if ((d->ad && !leaf->dirty) || page_is_zero(pa))
			continue;
		d->data += NPT_SIZE_4K;
	}
	return TAKE_KEEP;
}

int vm_take_lower_max(struct vm_mem *m, uint64_t new_max, char *why, size_t n)
{
	struct data_ctx d = { m->npt_ad, 0 };
	struct take_req check = { .start = new_max, .end = m->max, .choose = choose_if_no_data, .ctx = &d, .how = TAKE_ZERO };
	struct take_req take = { .start = new_max, .end = m->max, .choose = choose_all, .how = TAKE_ZERO };
	struct take_result res;

	uint64_t old_max = m->max;

	vm_take_scan(m, &check, &res);
	if (d.data) {
		snprintf(why, n, "%llu KiB above the new max hold data the guest has not given back",
			 (unsigned long long)(d.data >> 10));
		return -1;
	}
	m->max = new_max; /* the floor of a static VM moves with it */
	vm_take_scan(m, &take, &res);
	if (res.err || res.next < old_max) {
		m->max = old_max;
		snprintf(why, n, "no frame to split a 2 MiB page at guest-physical 0x%llx",
			 (unsigned long long)res.next);
		return -1;
	}
	return 0;
}
