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

static paddr_t far_pa(const struct vm_far *f, uint64_t page)
{
	return (paddr_t)f->where[page] * PAGE;
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

/* ---- the eviction queue ---- */

static void push(struct vm_far *f, uint64_t page)
{
	f->fifo[(f->fifo_head + f->fifo_n++) % f->pages] = (uint32_t)page;
}

const char *const far_mode_names[2] = { "spin", "warp" };
const char *const far_policy_names[FAR_POLICIES] = { "fifo", "random", "clock", "lru" };
const char *const far_prefetch_names[FAR_PREFETCHES] = { "none", "next", "stride" };

/* The save step of an eviction: the page's bytes into its far frame, unless its far copy is still good. */
static bool save(void *ctx, const struct npt_leaf *leaf)
{
	struct vm_far *f = ctx;
	uint64_t page = page_of(leaf->gpa);
	uint8_t *pg = vm_mem_page(f->m, leaf->gpa);
	paddr_t fpa;

	if (*pg & PG_AHEAD) { /* prefetched, and no scan saw it accessed: was it, before it goes? */
		*pg &= (uint8_t)~PG_AHEAD;
		f->st.pf_wasted += !leaf->accessed;
	}

	/* a valid far copy and no write since it came back (without nested A/D bits every page is dirty) */
	if (f->where[page] && f->m->npt_ad && !leaf->dirty) {
		f->st.evict_clean++;
		return true;
	}
	if (!f->where[page]) {
		fpa = far_node_get(f->node);
		if (fpa == FRAME_NONE)
			return false;
		f->where[page] = (uint32_t)(fpa / PAGE);
		f->copies++;
	}
	__builtin_memcpy((void *)(uintptr_t)far_pa(f, page), (const void *)(uintptr_t)leaf->pa, PAGE);
	far_node_transfer(f->node, rdtsc()); /* the write-back uses the link; nobody waits for it */
	f->st.evict_dirty++;
	return true;
}

/* A queue entry: a page number, and CLOCK's mark that a prefetched page had its one extra chance. */
#define CHANCE_GIVEN (1u << 31)
#define ENTRY_PAGE(e) ((uint64_t)((e) & ~CHANCE_GIVEN))

/* Queue entry i from the oldest (i < fifo_n). */
static uint32_t *entry(struct vm_far *f, uint64_t i)
{
	return &f->fifo[(f->fifo_head + i) % f->pages];
}

/* Swap entry i into the oldest place, so that the policy's choice goes out next. */
static void to_front(struct vm_far *f, uint64_t i)
{
	uint32_t t = *entry(f, 0);

	*entry(f, 0) = *entry(f, i);
	*entry(f, i) = t;
}

/*
 * Put the policy's victim at the front of the queue (entries no longer local are found there and
 * skipped by the caller). CLOCK looks at most once round the queue: an accessed page loses its
 * accessed bit (not its dirty bit) and goes to the back.
 */
static void choose_victim(struct vm_far *f)
{
	uint64_t best = 0;
	unsigned best_age = 0;

	switch (f->policy) {
	case FAR_FIFO:
		break;
	case FAR_RANDOM:
		f->rng = f->rng * 6364136223846793005ULL + 1442695040888963407ULL;
		to_front(f, (f->rng >> 33) % f->fifo_n);
		break;
	case FAR_CLOCK:
		for (uint64_t n = 2 * f->fifo_n; n; n--) {
			bool accessed;
			uint32_t e = *entry(f, 0);
			uint64_t gpa = ENTRY_PAGE(e) * PAGE;

			if (npt_test_clear_a(&f->m->npt, gpa, &accessed))
				return; /* not local any more: skipped */
			/* a prefetched page not touched yet has one round to be */
			if (!accessed && (!(*vm_mem_page(f->m, gpa) & PG_AHEAD) || (e & CHANCE_GIVEN)))
				return; /* the victim */
			f->fifo_head = (f->fifo_head + 1) % f->pages; /* a second chance: to the back */
			*entry(f, f->fifo_n - 1) = accessed ? (uint32_t)ENTRY_PAGE(e) : e | CHANCE_GIVEN;
		}
		break;
	case FAR_LRU:
		for (uint64_t i = 0; i < f->fifo_n && i < FAR_LRU_LOOK; i++) {
			uint64_t gpa = ENTRY_PAGE(*entry(f, i)) * PAGE;
			unsigned age = *vm_mem_page(f->m, gpa) & PG_AGE_MASK;

			if (!mapped(f, gpa / PAGE)) {
				best = i; /* not local any more: skipped at once */
				break;
			}
			if (age > best_age || !i) {
				best = i;
				best_age = age;
			}
		}
		to_front(f, best);
		break;
	default:
		break;
	}
}

/* Move the policy's victim out; 0, or -1 when the node has no frame for it. */
static int evict_one(struct vm_far *f)
{
	while (f->fifo_n) {
		uint64_t page;
		int r;

		choose_victim(f);
		page = ENTRY_PAGE(f->fifo[f->fifo_head]);
		f->fifo_head = (f->fifo_head + 1) % f->pages;
		f->fifo_n--;
		r = vm_take_out(f->m, page * PAGE, save, f);
		if (r == 1)
			continue; /* taken back meanwhile (released, dropped): not local any more */
		if (r < 0) { /* back in line, first */
			f->fifo_head = (f->fifo_head + f->pages - 1) % f->pages;
			f->fifo_n++;
			return -1;
		}
		f->st.pages_out++;
		f->far_pages++;
		return 0;
	}
	return -1;
}

/* Evict until one more page fits the local share (and the queue has room for it). */
static int make_room(struct vm_far *f)
{
	while (f->m->backed + PAGE > f->local || f->fifo_n == f->pages)
		if (evict_one(f))
			return -1;
	return 0;
}

/* ---- the hooks vm_mem calls ---- */

static void charge(struct vm_far *f, uint64_t ticks)
{
	unsigned b = 0;
	uint64_t us = ticks / (tsc_hz() / 1000000 ? tsc_hz() / 1000000 : 1);

	for (uint64_t lim = 1; b < 7 && us >= lim; lim *= 4)
		b++;
	f->st.hist[b]++;
	f->st.latency_ticks += ticks;
	f->pending += ticks;
	f->due = true;
}

/* Bring far page c back into a local frame now; false when it cannot (then nothing more is tried). */
static bool fetch_page(struct vm_far *f, uint64_t c)
{
	paddr_t pa;
	unsigned level;

	if (make_room(f) || vm_mem_fault_local(f->m, c * PAGE) != VM_FAULT_MAPPED ||
	    npt_lookup(&f->m->npt, c * PAGE, &pa, &level, NULL) || level != NPT_LEVEL_4K)
		return false;
	push(f, c);
	__builtin_memcpy((void *)(uintptr_t)pa, (const void *)(uintptr_t)far_pa(f, c), PAGE);
	f->far_pages--;
	f->st.pages_in++;
	return true;
}

/* The stride most of the last faults followed (two of the three steps), or 0. */
static int64_t stride_of(const uint64_t *h)
{
	int64_t d1 = (int64_t)(h[0] - h[1]), d2 = (int64_t)(h[1] - h[2]), d3 = (int64_t)(h[2] - h[3]);

	return d1 == d2 || d1 == d3 ? d1 : d2 == d3 ? d2 : 0;
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
		stride = stride_of(f->history);
	for (unsigned k = 1; stride && k <= f->prefetch_n; k++) {
		uint64_t c = page + (uint64_t)(stride * (int64_t)k);

		if (c >= f->pages)
			break;
		if (!f->where[c] || mapped(f, c))
			continue;
		if (!fetch_page(f, c))
			break;
		far_node_transfer(f->node, rdtsc());
		*vm_mem_page(f->m, c * PAGE) |= PG_AHEAD;
		f->st.prefetched++;
	}
}

static enum vm_fault_result far_fault(void *ctx, uint64_t gpa, bool guest)
{
	struct vm_far *f = ctx;
	uint64_t page = page_of(gpa), t0 = rdtsc(), ticks;
	bool fetch = f->where[page] && !mapped(f, page);
	enum vm_fault_result r;

	/* the fetch is the fault's critical path: it takes the link first, the write-backs after it */
	ticks = fetch ? far_node_latency_ticks(f->node) + far_node_transfer(f->node, t0) : 0;
	if (make_room(f))
		return VM_FAULT_FAR_FULL;
	if (!fetch) { /* a page never far: a fresh one, like any growth fault */
		r = vm_mem_fault_local(f->m, gpa);
		if (r == VM_FAULT_MAPPED)
			push(f, page);
		return r;
	}
	/* the far copy into a local frame; it stays valid until the page is written */
	if (!fetch_page(f, page))
		return VM_FAULT_NOMEM;
	if (guest) {
		uint64_t hv = rdtsc() - t0;

		f->st.faults++;
		f->st.hv_ticks += hv;
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

	return f->where[page_of(gpa)] && !mapped(f, page_of(gpa));
}

static void far_forget(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vm_far *f = ctx;
	uint64_t end = page_of(gpa + len) < f->pages ? page_of(gpa + len) : f->pages;

	for (uint64_t page = page_of(gpa); page < end; page++) {
		if (!f->where[page])
			continue;
		if (!mapped(f, page))
			f->far_pages--;
		far_node_put(f->node, far_pa(f, page));
		f->where[page] = 0;
		f->copies--;
	}
}

static const struct vm_mem_far_ops ops = { far_fault, far_is_far, far_forget };

/* ---- attach, detach, resize ---- */

static enum npt_scan_action enqueue(void *ctx, const struct npt_leaf *leaf)
{
	struct vm_far *f = ctx;

	if (leaf->gpa >= f->m->max)
		return NPT_SCAN_KEEP; /* shared pages (pipes) are not the VM's RAM */
	if (leaf->level != NPT_LEVEL_4K)
		return NPT_SCAN_STOP;
	push(f, page_of(leaf->gpa));
	return NPT_SCAN_KEEP;
}

int far_check_local(const struct vm_mem *m, uint64_t local, char *why, size_t n)
{
	if (local >= FAR_LOCAL_MIN && !(local % PAGE) && local <= m->max)
		return 0;
	snprintf(why, n, "local=%llu: a multiple of 4 KiB from 1M up to max", (unsigned long long)local);
	return -1;
}

int far_attach(struct vm_far *f, struct vm_mem *m, struct far_node *nd, uint64_t local, enum far_mode mode,
	       char *why, size_t n)
{
	uint64_t next = 0;

	if (far_check_local(m, local, why, n))
		return -1;
	if (m->grow_2m || m->mode != VM_MEM_ELASTIC) {
		snprintf(why, n, "a far share needs an elastic VM growing in 4 KiB pages (grow=4k)");
		return -1;
	}
	*f = (struct vm_far){ .node = nd, .m = m, .local = local, .mode = mode, .pages = m->max / PAGE,
			      .policy = FAR_FIFO, .prefetch = FAR_PF_NONE, .prefetch_n = 8, .rng = m->owner };
	f->where = table(f->pages, &f->where_order);
	f->fifo = f->where ? table(f->pages, &f->fifo_order) : NULL;
	if (!f->fifo) {
		if (f->where)
			frame_free((paddr_t)(uintptr_t)f->where, f->where_order, FRAME_OWNER_HV);
		snprintf(why, n, "no memory for the remote page map of %llu pages", (unsigned long long)f->pages);
		f->node = NULL;
		return -1;
	}
	if (npt_scan(&m->npt, 0, m->max, enqueue, f, &next) || next < m->max) {
		far_detach(f);
		snprintf(why, n, "a 2 MiB leaf at 0x%llx: a far share works in 4 KiB pages", (unsigned long long)next);
		return -1;
	}
	m->far_ops = &ops;
	m->far_ctx = f;
	nd->users++;
	return 0;
}

void far_detach(struct vm_far *f)
{
	if (!f->node)
		return;
	if (f->where)
		far_forget(f, 0, f->pages * PAGE);
	if (f->m->far_ops == &ops) {
		f->m->far_ops = NULL;
		f->m->far_ctx = NULL;
		f->node->users--;
	}
	frame_free((paddr_t)(uintptr_t)f->where, f->where_order, FRAME_OWNER_HV);
	frame_free((paddr_t)(uintptr_t)f->fifo, f->fifo_order, FRAME_OWNER_HV);
	f->where = f->fifo = NULL;
	f->node = NULL;
}

int far_set_local(struct vm_far *f, uint64_t local, char *why, size_t n)
{
	if (far_check_local(f->m, local, why, n))
		return -1;
	f->local = local;
	while (f->m->backed > f->local)
		if (evict_one(f)) {
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
	return f->node ? f->copies : 0;
}
