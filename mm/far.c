/*
 * A VM's far share (see far.h): the remote page map, the local pages in
 * eviction order (FIFO), faults that fetch far pages, and evictions that
 * move local pages out through the one place that unmaps (vm_take_out).
 */
#include <stdio.h>
#include <string.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/timer.h"
#include "far.h"
#include "vm_take.h"

#define PAGE 4096ULL

static uint64_t page_of(uint64_t gpa)
{
	return gpa / PAGE;
}

static bool mapped(const struct vm_far *f, uint64_t page)
{
	paddr_t pa;
	unsigned level;

	return !npt_lookup(&f->m->npt, page * PAGE, &pa, &level, NULL);
}

/* An order-sized block of hypervisor frames for n entries of 4 bytes, zeroed; NULL when the pool is dry. */
static uint32_t *table(uint64_t n, unsigned *order)
{
	paddr_t pa;

	for (*order = 0; (PAGE << *order) < n * sizeof(uint32_t); (*order)++)
		;
	pa = frame_alloc(*order, FRAME_OWNER_HV);
	if (pa == FRAME_NONE)
		return NULL;
	memset((void *)(uintptr_t)pa, 0, PAGE << *order);
	return (uint32_t *)(uintptr_t)pa;
}

const char *const far_mode_names[2] = { "spin", "warp" };
const char *const far_policy_names[FAR_POLICIES] = { "fifo", "random", "clock", "lru" };
const char *const far_prefetch_names[FAR_PREFETCHES] = { "none", "next", "stride" };

/* ---- what the policies ask of a page (far_queue_ops) ---- */

static int look(void *ctx, uint64_t page)
{
	struct vm_far *f = ctx;
	bool accessed;

	return npt_test_clear_a(&f->m->npt, page * PAGE, &accessed) ? -1 : accessed;
}

static int age(void *ctx, uint64_t page)
{
	struct vm_far *f = ctx;

	return mapped(f, page) ? (int)(*vm_mem_page(f->m, page * PAGE) & PG_AGE_MASK) : -1;
}

static bool ahead(void *ctx, uint64_t page)
{
	struct vm_far *f = ctx;

	return (*vm_mem_page(f->m, page * PAGE) & PG_AHEAD) != 0;
}

static const struct far_queue_ops queue_ops = { look, age, ahead };

/* ---- evictions ---- */

/* The save step of an eviction: the page's bytes into its far frame, unless its far copy is still good. */
static bool save(void *ctx, const struct npt_leaf *leaf)
{
	struct vm_far *f = ctx;
	uint64_t page = page_of(leaf->gpa);
	uint8_t *pg = vm_mem_page(f->m, leaf->gpa);
	paddr_t fpa;
	uint64_t t;

	if (*pg & PG_AHEAD) { /* prefetched, and no scan saw it accessed: was it, before it goes? */
		*pg &= (uint8_t)~PG_AHEAD;
		f->st.pf_wasted += !leaf->accessed;
	}
	/* a valid far copy and no write since it came back (without nested A/D bits every page is dirty) */
	if (far_map_copy(&f->map, page) && f->m->npt_ad && !leaf->dirty) {
		f->st.evict_clean++;
		return true;
	}
	fpa = far_map_hold(&f->map, f->node, page);
	if (fpa == FRAME_NONE)
		return false;
	t = rdtsc();
	__builtin_memcpy((void *)(uintptr_t)fpa, (const void *)(uintptr_t)leaf->pa, PAGE);
	f->copy_ticks += rdtsc() - t;
	far_node_transfer(f->node, f->link, rdtsc()); /* the write-back uses the link; nobody waits for it */
	f->st.evict_dirty++;
	return true;
}

/*
 * Move the policy's victim out; 0, or -1 when the node has no frame for it. With keep, its frame
 * comes to the caller in *keep (see vm_take_out) instead of going back to the pool.
 */
static int evict_one(struct vm_far *f, paddr_t *keep)
{
	while (f->q.n) {
		uint64_t page;
		int r;

		if (f->policy != FAR_FIFO) /* FIFO's victim is at the front already */
			far_queue_choose(&f->q, f->policy, &queue_ops, f);
		page = far_queue_pop(&f->q);
		r = vm_take_out(f->m, page * PAGE, save, f, keep);
		if (r == 1)
			continue; /* taken back meanwhile (released, dropped): not local any more */
		if (r < 0) {
			far_queue_unpop(&f->q); /* back in line, first */
			return -1;
		}
		far_map_went_far(&f->map, page);
		f->st.pages_out++;
		return 0;
	}
	return -1;
}

/* One more page does not fit the local share (or the queue): taking it in evicts first (far_ops.full). */
static bool far_full(void *ctx)
{
	struct vm_far *f = ctx;

	return f->m->backed + PAGE > f->local || f->q.n == f->q.cap;
}

/*
 * Evict until one more page fits the local share (and the queue has room for it). With keep, the
 * first victim's frame comes to the caller in *keep (FRAME_NONE if none was evicted); on failure
 * it has gone back to the pool.
 */
static int make_room(struct vm_far *f, paddr_t *keep)
{
	if (keep)
		*keep = FRAME_NONE;
	while (far_full(f))
		if (evict_one(f, keep && *keep == FRAME_NONE ? keep : NULL)) {
			if (keep && *keep != FRAME_NONE)
				vm_mem_give_back(f->m, *keep, FRAME_ORDER_4K);
			return -1;
		}
	return 0;
}

/* ---- the hooks vm_mem calls ---- */

static void charge(struct vm_far *f, uint64_t ticks)
{
	uint64_t us = ticks / f->node->us_ticks;
	/* the histogram's bucket: 0 below 1 us, then one for each power of 4 reached (1, 4, 16, ...), up to 7 */
	unsigned b = us ? 1 + (63 - (unsigned)__builtin_clzll(us)) / 2 : 0;

	f->st.hist[b < 7 ? b : 7]++;
	f->st.latency_ticks += ticks;
	f->pending += ticks;
	f->due = true;
}

/*
 * Bring far page c back into a local frame now: the frame of the page it evicts (no trip through
 * the pool), or a fresh one when none had to go. VM_FAULT_MAPPED, VM_FAULT_FAR_FULL (the node has
 * no frame for the victim), or another failure of the local fault.
 */
static enum vm_fault_result fetch_page(struct vm_far *f, uint64_t c)
{
	paddr_t pa;
	unsigned level;
	uint64_t t;

	if (make_room(f, &pa))
		return VM_FAULT_FAR_FULL;
	if (pa != FRAME_NONE) {
		if (vm_mem_map_frame(f->m, c * PAGE, pa))
			return VM_FAULT_NOMEM;
	} else {
		enum vm_fault_result r = vm_mem_fault_local(f->m, c * PAGE);

		if (r != VM_FAULT_MAPPED)
			return r;
		if (npt_lookup(&f->m->npt, c * PAGE, &pa, &level, NULL) || level != NPT_LEVEL_4K)
			return VM_FAULT_BROKEN;
	}
	far_queue_push(&f->q, c);
	t = rdtsc();
	__builtin_memcpy((void *)(uintptr_t)pa, (const void *)(uintptr_t)far_map_copy(&f->map, c), PAGE);
	f->copy_ticks += rdtsc() - t;
	far_map_came_back(&f->map, c);
	f->st.pages_in++;
	return VM_FAULT_MAPPED;
}

/*
 * After the guest's fault on far page `page`: fetch the pages the policy expects next, if they are
 * far, charging only the link (the guest does not wait for them). Each is marked PG_AHEAD until it
 * is seen accessed.
 */
static void prefetch(struct vm_far *f, uint64_t page)
{
	int64_t stride = 0;

	for (unsigned i = FAR_HISTORY - 1; i; i--)
		f->history[i] = f->history[i - 1];
	f->history[0] = page;
	if (f->prefetch == FAR_PF_NEXT)
		stride = 1;
	else if (f->prefetch == FAR_PF_STRIDE && f->st.faults >= FAR_HISTORY)
		stride = far_stride(f->history);
	for (unsigned k = 1; stride && k <= f->prefetch_n; k++) {
		uint64_t c = page + (uint64_t)(stride * (int64_t)k);

		if (c >= f->pages)
			break;
		if (!far_map_is_far(&f->map, c))
			continue;
		if (fetch_page(f, c) != VM_FAULT_MAPPED)
			break;
		far_node_transfer(f->node, f->link, rdtsc());
		*vm_mem_page(f->m, c * PAGE) |= PG_AHEAD;
		f->st.prefetched++;
	}
}

static enum vm_fault_result far_fault(void *ctx, uint64_t gpa, bool guest)
{
	struct vm_far *f = ctx;
	uint64_t page = page_of(gpa), t0 = rdtsc(), ticks;
	enum vm_fault_result r;

	f->copy_ticks = 0;
	if (!far_map_is_far(&f->map, page)) { /* a page never far: a fresh one, like any growth fault */
		if (make_room(f, NULL))
			return VM_FAULT_FAR_FULL;
		r = vm_mem_fault_local(f->m, gpa);
		if (r == VM_FAULT_MAPPED)
			far_queue_push(&f->q, page);
		return r;
	}
	/* the fetch is the fault's critical path: it takes the link first, the write-backs after it */
	ticks = f->node->latency_ticks + far_node_transfer(f->node, f->link, t0);
	/* the far copy into a local frame; it stays valid until the page is written */
	r = fetch_page(f, page);
	if (r != VM_FAULT_MAPPED)
		return r;
	if (guest) {
		uint64_t hv = rdtsc() - t0;

		f->st.faults++;
		f->st.hv_ticks += hv;
		f->st.copy_ticks += f->copy_ticks;
		if (hv > f->st.hv_max)
			f->st.hv_max = hv;
		charge(f, ticks);
		prefetch(f, page);
	}
	return VM_FAULT_MAPPED;
}

static bool far_is_far(void *ctx, uint64_t gpa)
{
	struct vm_far *f = ctx;

	return far_map_is_far(&f->map, page_of(gpa));
}

static void far_forget(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vm_far *f = ctx;

	far_map_drop(&f->map, f->node, page_of(gpa), page_of(gpa + len));
}

static const struct vm_mem_far_ops ops = { far_fault, far_is_far, far_forget, far_full };

/* ---- attach, detach, resize ---- */

static enum npt_scan_action enqueue(void *ctx, const struct npt_leaf *leaf)
{
	struct vm_far *f = ctx;

	if (leaf->gpa >= f->m->max)
		return NPT_SCAN_KEEP; /* shared pages (pipes) are not the VM's RAM */
	if (leaf->level != NPT_LEVEL_4K)
		return NPT_SCAN_STOP;
	far_queue_push(&f->q, page_of(leaf->gpa));
	return NPT_SCAN_KEEP;
}

int far_check_local(const struct vm_mem *m, uint64_t local, char *why, size_t n)
{
	if (local >= FAR_LOCAL_MIN && !(local % PAGE) && local <= m->max)
		return 0;
	snprintf(why, n, "local=%lluK: a multiple of 4 KiB from 1M up to max (%lluK)", (unsigned long long)(local >> 10),
		 (unsigned long long)(m->max >> 10));
	return -1;
}

int far_attach(struct vm_far *f, struct vm_mem *m, struct far_node *nd, uint64_t local, enum far_mode mode,
	       char *why, size_t n)
{
	uint64_t next = 0;
	int link;

	if (far_check_local(m, local, why, n))
		return -1;
	if (m->grow_2m || m->mode != VM_MEM_ELASTIC) {
		snprintf(why, n, "a far share needs an elastic VM growing in 4 KiB pages (grow=4k)");
		return -1;
	}
	*f = (struct vm_far){ .node = nd, .m = m, .local = local, .mode = mode, .pages = m->max / PAGE,
			      .policy = FAR_FIFO, .prefetch = FAR_PF_NONE, .prefetch_n = 8 };
	f->map = (struct far_map){ .e = table(f->pages, &f->map_order), .pages = f->pages };
	f->q = (struct far_queue){ .e = f->map.e ? table(f->pages, &f->q_order) : NULL, .cap = f->pages,
				   .rng = m->owner };
	if (!f->q.e) {
		if (f->map.e)
			frame_free((paddr_t)(uintptr_t)f->map.e, f->map_order, FRAME_OWNER_HV);
		snprintf(why, n, "no memory for the remote page map of %llu pages", (unsigned long long)f->pages);
		f->node = NULL;
		return -1;
	}
	if (npt_scan(&m->npt, 0, m->max, enqueue, f, &next) || next < m->max) {
		far_detach(f);
		snprintf(why, n, "a 2 MiB leaf at 0x%llx: a far share works in 4 KiB pages", (unsigned long long)next);
		return -1;
	}
	link = far_node_join(nd);
	if (link < 0) {
		far_detach(f);
		snprintf(why, n, "node '%s' is shared by %d VMs, as many as its link serves", nd->name, FAR_NODE_USERS);
		return -1;
	}
	f->link = (unsigned)link;
	m->far_ops = &ops;
	m->far_ctx = f;
	return 0;
}

void far_detach(struct vm_far *f)
{
	if (!f->node)
		return;
	far_forget(f, 0, f->pages * PAGE);
	if (f->m->far_ops == &ops) {
		f->m->far_ops = NULL;
		f->m->far_ctx = NULL;
		far_node_leave(f->node, f->link);
	}
	frame_free((paddr_t)(uintptr_t)f->map.e, f->map_order, FRAME_OWNER_HV);
	frame_free((paddr_t)(uintptr_t)f->q.e, f->q_order, FRAME_OWNER_HV);
	f->map.e = f->q.e = NULL;
	f->node = NULL;
}

int far_set_local(struct vm_far *f, uint64_t local, char *why, size_t n)
{
	if (far_check_local(f->m, local, why, n))
		return -1;
	f->local = local;
	while (f->m->backed > f->local)
		if (evict_one(f, NULL)) {
			snprintf(why, n, "node '%s' has no frame left for the pages to move out", f->node->name);
			return -1;
		}
	return 0;
}

uint64_t far_prefetch_pending(const struct vm_far *f)
{
	uint64_t n = 0;

	for (uint64_t page = 0; f->node && page < f->pages; page++)
		n += (f->m->pages[page] & PG_AHEAD) != 0;
	return n;
}

uint64_t far_frames(const struct vm_far *f)
{
	return f->node ? f->map.copies : 0;
}
