/*
 * A VM's guest-physical RAM. [0, min) is backed at creation (static mode:
 * all of [0, max)); in elastic mode a first touch of [min, max) arrives as a
 * nested-page fault and is served here from the central pool: a 2 MiB frame
 * when the whole aligned block is unbacked and the pool has one, else 4 KiB,
 * always zeroed before it is mapped (pre-zeroed blocks come from
 * mm/zero_cache.c when it has them: whole for 2 MiB faults, split into 4 KiB
 * frames for 4 KiB faults). A run of sequential 4 KiB faults backs the next
 * pages of the block ahead of the guest (fault-around), doubling along the
 * run; what it backed and the guest never touched is counted and taken back
 * by the zero sweep. Frames, tables and the per-page state belong to the
 * VM's owner id, so the pool's accounting shows them per VM.
 */
#include <stdio.h>
#include <string.h>
#include "vm_mem.h"
#include "vm_take.h"
#include "zero_cache.h"
#include "arch/x86_64/cpu.h"

/* A frame from the pool; when it is dry, cached zeroed blocks go back to it first. */
static paddr_t alloc(unsigned order, unsigned owner)
{
	paddr_t pa;

	while ((pa = frame_alloc(order, owner)) == FRAME_NONE && zero_cache_release_one())
		;
	return pa;
}

/* A 4 KiB frame for m (not zeroed): from its spares, refilled in one step, else one by one. */
static paddr_t alloc_4k(struct vm_mem *m)
{
	paddr_t pa;

	if (!m->spare_n) {
		pa = frame_alloc_frames(VM_MEM_SPARE_ORDER, m->owner);
		if (pa == FRAME_NONE)
			return alloc(FRAME_ORDER_4K, m->owner);
		m->spare = pa;
		m->spare_n = 1u << VM_MEM_SPARE_ORDER;
	}
	pa = m->spare;
	m->spare += FRAME_SIZE;
	m->spare_n--;
	return pa;
}

void vm_mem_give_back(struct vm_mem *m, paddr_t pa, unsigned order)
{
	int err = frame_free(pa, order, m->owner);

	if (err) {
		m->free_errors++;
		m->bad_frame = pa;
		m->bad_err = err;
	}
}

/* A pre-zeroed block, split into 512 frames of the VM's (zeroing was done while the CPU idled); false if none. */
static bool zrun_refill(struct vm_mem *m)
{
	paddr_t pa = zero_cache_take(m->owner);

	if (pa == FRAME_NONE)
		return false;
	if (frame_split(pa, FRAME_ORDER_2M, m->owner)) {
		vm_mem_give_back(m, pa, FRAME_ORDER_2M);
		return false;
	}
	m->zrun = pa;
	m->zrun_n = 1u << FRAME_ORDER_2M;
	return true;
}

/* Map up to n pages from gpa with frames of the run in hand, into the page table the last fault used; how many. */
static unsigned zrun_map(struct vm_mem *m, uint64_t gpa, unsigned n)
{
	n = npt_fill_run(&m->npt, gpa, n, m->zrun, NPT_RWX);
	m->zrun += (uint64_t)n * FRAME_SIZE;
	m->zrun_n -= n;
	m->backed += (uint64_t)n * NPT_SIZE_4K;
	return n;
}

paddr_t vm_mem_zeroed_4k(struct vm_mem *m, bool growth)
{
	paddr_t pa;
	uint64_t t0;

	/* growth takes from the run of pre-zeroed frames in hand, or a fresh one */
	if (m->zrun_n || (growth && zrun_refill(m))) {
		pa = m->zrun;
		m->zrun += FRAME_SIZE;
		m->zrun_n--;
		return pa;
	}
	pa = alloc_4k(m);
	if (pa == FRAME_NONE)
		return FRAME_NONE;
	t0 = rdtsc();
	memset((void *)pa, 0, FRAME_SIZE);
	m->zero_tsc += rdtsc() - t0;
	return pa;
}

static paddr_t zeroed_2m(struct vm_mem *m)
{
	paddr_t pa = zero_cache_take(m->owner);
	uint64_t t0;

	if (pa != FRAME_NONE)
		return pa;
	pa = alloc(FRAME_ORDER_2M, m->owner);
	if (pa == FRAME_NONE)
		return FRAME_NONE;
	t0 = rdtsc();
	memset((void *)pa, 0, NPT_SIZE_2M);
	m->zero_tsc += rdtsc() - t0;
	return pa;
}

/* Tables use pre-zeroed frames only when growth already split a block; they never split one themselves. */
static paddr_t table_alloc(void *ctx)
{
	paddr_t pa = vm_mem_zeroed_4k(ctx, false);

	return pa != FRAME_NONE ? pa : vm_take_reserve_get(ctx);
}

/* A page table a change emptied: it may be in a paging-structure cache until the next invalidation. */
static void table_free(void *ctx, paddr_t pa)
{
	if (!vm_take_defer_free(ctx, pa, FRAME_ORDER_4K))
		vm_mem_give_back(ctx, pa, FRAME_ORDER_4K);
}

static void leaf_free(void *ctx, uint64_t gpa, paddr_t pa, unsigned level)
{
	struct vm_mem *m = ctx;

	if (gpa >= m->max) { /* a shared page: its frame is its owner's */
		m->shared -= NPT_SIZE_4K;
		return;
	}
	vm_mem_give_back(m, pa, level == NPT_LEVEL_2M ? FRAME_ORDER_2M : FRAME_ORDER_4K);
	m->backed -= level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
}

/*
 * Back the page at gpa, which is unmapped: with one 2 MiB frame when the
 * walk shows the whole aligned block unmapped, the block lies inside
 * [0, limit) and m may grow by 2 MiB, else with one 4 KiB frame (also when
 * the pool has no 2 MiB block). One walk, shared by creation and faults.
 * The level used, or -NPT_ENOMEM, -NPT_EEXIST (gpa is mapped).
 */
static int back(struct vm_mem *m, uint64_t gpa, uint64_t limit)
{
	uint64_t blk = gpa & ~(NPT_SIZE_2M - 1);
	struct npt_hole h;
	unsigned level;
	paddr_t pa = FRAME_NONE;
	int r = npt_find_hole(&m->npt, gpa, &h);

	if (r)
		return r;
	level = m->grow_2m && h.level >= NPT_LEVEL_2M && blk + NPT_SIZE_2M <= limit ? NPT_LEVEL_2M : NPT_LEVEL_4K;
	if (level == NPT_LEVEL_2M)
		pa = zeroed_2m(m);
	if (pa == FRAME_NONE) {
		level = NPT_LEVEL_4K;
		pa = vm_mem_zeroed_4k(m, limit == m->max);
		if (pa == FRAME_NONE)
			return -NPT_ENOMEM;
	}
	r = npt_fill_hole(&m->npt, &h, pa, level, NPT_RWX);
	if (r) {
		vm_mem_give_back(m, pa, level == NPT_LEVEL_2M ? FRAME_ORDER_2M : FRAME_ORDER_4K);
		return r;
	}
	m->backed += level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
	return (int)level;
}

static int back_range(struct vm_mem *m, uint64_t end)
{
	uint64_t gpa = 0;

	while (gpa < end) {
		int level = back(m, gpa, end);

		if (level < 0)
			return -1;
		gpa += level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
	}
	return 0;
}

/* The per-page state: one byte per 4 KiB page of [0, max), in one block of the VM's frames. */
static int alloc_pages(struct vm_mem *m)
{
	uint64_t frames = (m->max / FRAME_SIZE + FRAME_SIZE - 1) / FRAME_SIZE;
	unsigned order = 0;
	paddr_t pa;

	while ((1ULL << order) < frames)
		order++;
	pa = alloc(order, m->owner);
	if (pa == FRAME_NONE)
		return -1;
	memset((void *)pa, 0, FRAME_SIZE << order);
	m->pages = (uint8_t *)pa;
	m->pages_order = order;
	return 0;
}

int vm_mem_init(struct vm_mem *m, uint8_t owner, uint64_t min, uint64_t max, enum vm_mem_mode mode,
		const struct npt_format *fmt, bool allow_2m, char *why, size_t n)
{
	struct npt_ops ops = { table_alloc, table_free, m };
	uint64_t backed_at_start = mode == VM_MEM_STATIC ? max : min;
	struct frame_stats st;

	memset(m, 0, sizeof(*m));
	m->owner = owner;
	m->mode = mode;
	m->grow_2m = allow_2m;
	m->min = min;
	m->max = max;
	m->ahead_max = VM_MEM_AHEAD_DEFAULT;
	if (alloc_pages(m) || npt_init(&m->npt, fmt, &ops)) {
		vm_mem_release(m);
		snprintf(why, n, "no frames for the nested page table and the page state (%llu KiB)",
			 (unsigned long long)(max / FRAME_SIZE) >> 10);
		return -1;
	}
	if (back_range(m, backed_at_start)) {
		vm_mem_release(m);
		frame_get_stats(&st);
		snprintf(why, n, "the pool cannot back %s (%llu KiB) now: %llu KiB free, %llu KiB more in the zero cache",
			 mode == VM_MEM_STATIC ? "max" : "min", (unsigned long long)(backed_at_start >> 10),
			 (unsigned long long)((st.free * FRAME_SIZE) >> 10),
			 (unsigned long long)(((uint64_t)zero_cache_blocks() * NPT_SIZE_2M) >> 10));
		return -1;
	}
	return 0;
}

/* A page touched again after it was taken back: count it against how it was taken. */
static void note_refault(struct vm_mem *m, uint64_t gpa)
{
	uint8_t *pg = vm_mem_page(m, gpa);
	unsigned how = (*pg & PG_HOW_MASK) >> PG_HOW_SHIFT;

	if (how) {
		m->st.refaults[how]++;
		*pg &= (uint8_t)~PG_HOW_MASK;
	}
}

/*
 * A sequential run of 4 KiB faults: back the next unbacked pages of the same
 * 2 MiB block now, doubling the count along the run up to ahead_max. Stops
 * at the first page already backed, the block's end, max, or a dry pool.
 */
static void fault_around(struct vm_mem *m, uint64_t page)
{
	uint64_t end = (page & ~(NPT_SIZE_2M - 1)) + NPT_SIZE_2M, gpa = page + NPT_SIZE_4K;
	unsigned want, done = 0;

	if (page != m->next_fault || !m->ahead_max) {
		m->run = 0;
		m->next_fault = page + NPT_SIZE_4K;
		return;
	}
	if (!m->zrun_n && !zero_cache_blocks())
		return; /* ahead only with pre-zeroed frames: zeroing pages the guest may never touch costs too much */
	want = m->run < 31 && (1u << m->run) < m->ahead_max ? 1u << m->run : m->ahead_max;
	m->run++;
	if (end > m->max)
		end = m->max;
	if (want > (end - gpa) / NPT_SIZE_4K)
		want = (unsigned)((end - gpa) / NPT_SIZE_4K);
	while (done < want) {
		/* runs of the pre-zeroed frames in hand, into the page table the fault just used */
		unsigned k, n, ask;

		if (!m->zrun_n && !zrun_refill(m))
			break;
		ask = want - done < m->zrun_n ? want - done : m->zrun_n;
		n = zrun_map(m, gpa, ask);
		for (k = 0; k < n; k++, gpa += NPT_SIZE_4K) {
			if (m->st.taken_any)
				note_refault(m, gpa);
			*vm_mem_page(m, gpa) = (uint8_t)((*vm_mem_page(m, gpa) & ~PG_AGE_MASK) | PG_AHEAD);
		}
		done += n;
		if (n < ask)
			break; /* at a page already mapped */
	}
	m->st.ahead += (uint64_t)done * NPT_SIZE_4K;
	m->next_fault = page + ((uint64_t)done + 1) * NPT_SIZE_4K;
}

/* A 4 KiB growth fault mapped page: count it, and back ahead along a sequential run. */
static void grew_4k(struct vm_mem *m, uint64_t page)
{
	m->faults_4k++;
	if (m->st.taken_any)
		note_refault(m, page);
	if (m->ahead_max && !m->far_ops) /* a far share counts every local page: it backs only what is touched */
		fault_around(m, page);
	else
		m->next_fault = page + NPT_SIZE_4K;
}

bool vm_mem_fault_quick(struct vm_mem *m, uint64_t gpa)
{
	uint64_t page = gpa & ~(NPT_SIZE_4K - 1);

	if (gpa >= m->max || !m->zrun_n || m->far_ops || !zrun_map(m, page, 1))
		return false; /* a far share counts every local page: its faults take the long way */
	grew_4k(m, page);
	return true;
}

int vm_mem_map_frame(struct vm_mem *m, uint64_t gpa, paddr_t pa)
{
	struct npt_hole h;
	int r = gpa < m->max ? npt_find_hole(&m->npt, gpa, &h) : -NPT_EINVAL;

	if (!r)
		r = npt_fill_hole(&m->npt, &h, pa, NPT_LEVEL_4K, NPT_RWX);
	if (r) {
		vm_mem_give_back(m, pa, FRAME_ORDER_4K);
		return r;
	}
	m->backed += NPT_SIZE_4K;
	grew_4k(m, gpa & ~(NPT_SIZE_4K - 1));
	return 0;
}

int vm_mem_map_shared(struct vm_mem *m, uint64_t gpa, paddr_t pa, unsigned n)
{
	if (gpa < m->max || (gpa & (NPT_SIZE_4K - 1)))
		return -NPT_EINVAL;
	for (unsigned done = 0; done < n;) {
		/* a pipe's pages come one after another in one page table: the hint's, with no walk */
		uint64_t at = gpa + (uint64_t)done * NPT_SIZE_4K;
		paddr_t frame = pa + (uint64_t)done * NPT_SIZE_4K;
		unsigned k = npt_fill_run(&m->npt, at, n - done, frame, NPT_R | NPT_W);

		if (!k) { /* mapped already, or its page table is not the hint's: the long way */
			int r = npt_map(&m->npt, at, frame, NPT_LEVEL_4K, NPT_R | NPT_W);

			if (r && r != -NPT_EEXIST)
				return r;
			if (!r)
				m->shared += NPT_SIZE_4K;
			done++;
			continue;
		}
		m->shared += (uint64_t)k * NPT_SIZE_4K;
		done += k;
	}
	return 0;
}

enum vm_fault_result vm_mem_fault(struct vm_mem *m, uint64_t gpa)
{
	if (m->far_ops)
		return gpa < m->max ? m->far_ops->fault(m->far_ctx, gpa, true) : VM_FAULT_OUTSIDE;
	return vm_mem_fault_local(m, gpa);
}

enum vm_fault_result vm_mem_fault_local(struct vm_mem *m, uint64_t gpa)
{
	int level;

	if (gpa >= m->max)
		return VM_FAULT_OUTSIDE;
	if (vm_mem_fault_quick(m, gpa))
		return VM_FAULT_MAPPED;
	level = back(m, gpa, m->max);
	if (level == NPT_LEVEL_2M) {
		m->faults_2m++;
		if (m->st.taken_any) /* refaults can only be of pages taken back */
			for (uint64_t p = gpa & ~(NPT_SIZE_2M - 1); p < (gpa & ~(NPT_SIZE_2M - 1)) + NPT_SIZE_2M;
			     p += NPT_SIZE_4K)
				note_refault(m, p);
	} else if (level == NPT_LEVEL_4K) {
		grew_4k(m, gpa & ~(NPT_SIZE_4K - 1));
	} else if (level == -NPT_EEXIST && npt_unprobe(&m->npt, gpa) == 1) {
		m->wss.probe_faults++; /* a working-set probe: the page was accessed */
	} else { /* no frame for the page or a table; or the page was mapped after all */
		return level == -NPT_EEXIST ? VM_FAULT_BROKEN : VM_FAULT_NOMEM;
	}
	return VM_FAULT_MAPPED;
}

void vm_mem_release(struct vm_mem *m)
{
	if (m->npt.root && m->npt.root != FRAME_NONE)
		npt_destroy(&m->npt, leaf_free, m);
	m->npt.root = 0;
	m->backed = 0;
	for (; m->spare_n; m->spare_n--, m->spare += FRAME_SIZE)
		vm_mem_give_back(m, m->spare, FRAME_ORDER_4K);
	for (; m->zrun_n; m->zrun_n--, m->zrun += FRAME_SIZE)
		vm_mem_give_back(m, m->zrun, FRAME_ORDER_4K);
	if (m->pages)
		vm_mem_give_back(m, (paddr_t)m->pages, m->pages_order);
	m->pages = NULL;
}

/* Room in the per-page state for [0, max): a bigger block when max grows, the old state copied. */
static int grow_pages(struct vm_mem *m, uint64_t max)
{
	uint8_t *old = m->pages;
	unsigned old_order = m->pages_order;
	uint64_t old_max = m->max;

	m->max = max;
	if (((uint64_t)FRAME_SIZE << old_order) * FRAME_SIZE >= max)
		return 0;
	if (alloc_pages(m)) {
		m->pages = old;
		m->pages_order = old_order;
		m->max = old_max;
		return -1;
	}
	memcpy(m->pages, old, old_max / FRAME_SIZE);
	vm_mem_give_back(m, (paddr_t)old, old_order);
	return 0;
}

/* Bytes of [gpa, end) not backed. */
static uint64_t unbacked(struct vm_mem *m, uint64_t gpa, uint64_t end)
{
	uint64_t n = 0;

	for (; gpa < end; gpa += NPT_SIZE_4K)
		n += npt_lookup(&m->npt, gpa, NULL, NULL, NULL) != 0;
	return n * NPT_SIZE_4K;
}

int vm_mem_set_bounds(struct vm_mem *m, uint64_t min, uint64_t max, char *why, size_t n)
{
	struct frame_stats st;
	uint64_t need = min > m->min ? unbacked(m, m->min, min) : 0, old_min = m->min;

	frame_get_stats(&st);
	if (need > (st.free + ((uint64_t)zero_cache_blocks() << FRAME_ORDER_2M)) * FRAME_SIZE) {
		snprintf(why, n, "the pool cannot back min now: %llu KiB more needed, %llu KiB free",
			 (unsigned long long)(need >> 10), (unsigned long long)((st.free * FRAME_SIZE) >> 10));
		return -1;
	}
	if (min < m->min) /* first, so that lowering max may take what lay below the old min */
		m->min = min;
	if (max < m->max && vm_take_lower_max(m, max, why, n)) {
		m->min = old_min;
		return -1;
	}
	if (max > m->max && grow_pages(m, max)) {
		snprintf(why, n, "no frames for the page state of a %llu KiB max", (unsigned long long)(max >> 10));
		return -1;
	}
	if (min > m->min && vm_mem_back(m, m->min, min - m->min)) {
		snprintf(why, n, "the pool ran dry while backing min (max is set; min stays %llu KiB)",
			 (unsigned long long)(m->min >> 10));
		return -1;
	}
	m->min = min;
	return 0;
}

int vm_mem_back(struct vm_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len, page;

	if (!vm_mem_in_ram(m, gpa, len))
		return -1;
	for (page = gpa & ~(NPT_SIZE_4K - 1); page < end; page += NPT_SIZE_4K)
		if (npt_lookup(&m->npt, page, NULL, NULL, NULL) && vm_mem_fault(m, page) != VM_FAULT_MAPPED)
			return -1;
	return 0;
}

bool vm_mem_in_ram(const struct vm_mem *m, uint64_t gpa, uint64_t len)
{
	return gpa < m->max && len <= m->max - gpa;
}

uint64_t vm_mem_table_frames(const struct vm_mem *m)
{
	return m->npt.tables;
}

/* Host address of gpa and the bytes left in its leaf; 0 when unbacked. */
static uint64_t locate(const struct vm_mem *m, uint64_t gpa, uint8_t **host)
{
	paddr_t pa;
	unsigned level;
	uint64_t size;

	if (npt_lookup(&m->npt, gpa, &pa, &level, NULL))
		return 0;
	size = level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
	*host = (uint8_t *)(pa + (gpa & (size - 1)));
	return size - (gpa & (size - 1));
}

/*
 * Copy len bytes between buf and guest-physical gpa, leaf by leaf. Unbacked
 * pages read as zero; a write backs them first (like the guest's own first touch).
 */
static int copy(struct vm_mem *m, uint64_t gpa, uint8_t *buf, uint64_t len, bool write)
{
	if (!vm_mem_in_ram(m, gpa, len))
		return -1;
	while (len) {
		uint8_t *host = NULL;
		uint64_t n = locate(m, gpa, &host);

		/* a write backs its page; a far page comes back for a read too (charged to no vCPU) */
		if (!n && (write || (m->far_ops && m->far_ops->is_far(m->far_ctx, gpa)))) {
			if ((m->far_ops ? m->far_ops->fault(m->far_ctx, gpa, false) : vm_mem_fault(m, gpa)) !=
			    VM_FAULT_MAPPED)
				return -1;
			continue;
		}
		if (write) /* no zero sweep may take what the hypervisor wrote: the guest's own write would set D */
			npt_set_dirty(&m->npt, gpa);
		if (!n)
			n = NPT_SIZE_4K - (gpa & (NPT_SIZE_4K - 1));
		n = n < len ? n : len;
		if (write)
			memcpy(host, buf, n);
		else if (host)
			memcpy(buf, host, n);
		else
			memset(buf, 0, n);
		buf += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int vm_mem_read(struct vm_mem *m, void *dst, uint64_t gpa, uint64_t len)
{
	return copy(m, gpa, dst, len, false);
}

int vm_mem_write(struct vm_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	return copy(m, gpa, (uint8_t *)src, len, true);
}

struct verify {
	const struct vm_mem *m;
	uint64_t bytes, frames, bad, shared;
	uint64_t bad_gpa;
	int bad_err;
};

static enum npt_scan_action verify_leaf(void *ctx, const struct npt_leaf *leaf)
{
	struct verify *v = ctx;
	unsigned want = leaf->level == NPT_LEVEL_2M ? FRAME_ORDER_2M : FRAME_ORDER_4K, order, owner;
	int err;

	if (leaf->gpa >= v->m->max) { /* a shared page: its owner (a pipe) accounts for the frame */
		v->shared += NPT_SIZE_4K;
		return NPT_SCAN_KEEP;
	}
	err = frame_block_of(leaf->pa, &order, &owner);
	if (!err && (order != want || owner != v->m->owner))
		err = order != want ? -FRAME_EORDER : -FRAME_EOWNER;
	if (err && !v->bad++) {
		v->bad_gpa = leaf->gpa;
		v->bad_err = err;
	}
	v->bytes += leaf->level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
	v->frames += 1ULL << want;
	return NPT_SCAN_KEEP;
}

/* Needs a frame_check() just before it: frame_counted_frames() is that recount. */
int vm_mem_verify(struct vm_mem *m, char *why, size_t n)
{
	struct verify v = { .m = m };
	uint64_t held = frame_counted_frames(m->owner), expect;
	int len = 0;

	if (npt_scan(&m->npt, 0, NPT_GPA_LIMIT, verify_leaf, &v, NULL)) {
		snprintf(why, n, "its nested tables could not be walked");
		return -1;
	}
	expect = v.frames + m->npt.tables + vm_mem_spare_frames(m) + vm_mem_state_frames(m);
	if (!v.bad && v.bytes == m->backed && v.shared == m->shared && held == expect && !m->free_errors) {
		snprintf(why, n, "%llu frames held = %llu of RAM in its nested tables + %llu tables + %llu spare + "
			 "%llu page state: ok", (unsigned long long)held, (unsigned long long)v.frames,
			 (unsigned long long)m->npt.tables, (unsigned long long)vm_mem_spare_frames(m),
			 (unsigned long long)vm_mem_state_frames(m));
		return 0;
	}
	if (v.bad)
		len += snprintf(why + len, n - len, "%llu leaves map frames that are not its blocks (first at "
				"guest-physical 0x%llx: %s); ", (unsigned long long)v.bad,
				(unsigned long long)v.bad_gpa, frame_strerror(v.bad_err));
	if (v.bytes != m->backed && len < (int)n)
		len += snprintf(why + len, n - len, "%llu KiB mapped but %llu KiB counted as backed; ",
				(unsigned long long)(v.bytes >> 10), (unsigned long long)(m->backed >> 10));
	if (v.shared != m->shared && len < (int)n)
		len += snprintf(why + len, n - len, "%llu KiB shared mapped but %llu KiB counted; ",
				(unsigned long long)(v.shared >> 10), (unsigned long long)(m->shared >> 10));
	if (held != expect && len < (int)n)
		len += snprintf(why + len, n - len, "the pool says it holds %llu frames, its tables account for %llu; ",
				(unsigned long long)held, (unsigned long long)expect);
	if (m->free_errors && len < (int)n)
		snprintf(why + len, n - len, "%llu frames were refused by the pool", (unsigned long long)m->free_errors);
	return -1;
}
