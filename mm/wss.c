/*
 * Working-set tracking without guest help: a scan of a VM's nested leaves
 * reads and clears their accessed bits, ages every page (scans since it
 * was last seen accessed), and sums a working-set estimate (bytes accessed
 * within the last `window` scans), the idle memory above min, and a
 * histogram of idle ages. Cleared accessed bits are only set again by the
 * processor after the VM's cached translations are invalidated: the scan
 * ends with one invalidation. On request, 2 MiB leaves that were accessed
 * are split so that later scans see which 4 KiB pages inside them are cold;
 * a block whose 512 pages are all accessed again is merged back.
 *
 * Where the hardware keeps no accessed bits (or the policy asks for it),
 * the scan probes instead: it takes each leaf's access away (the leaf and
 * its frame stay), and a leaf counts as accessed if the guest faulted it
 * back since the last scan (vm_mem_fault gives it back and counts it).
 */
#include <string.h>
#include "arch/x86_64/cpu.h"
#include "vm_take.h"
#include "wss.h"

#define MERGES_PER_SCAN 8

struct scan {
	struct vm_mem *m;
	const struct wss_params *p;
	struct vm_wss w;
	bool cleared;
	/* the 2 MiB block whose 4 KiB leaves are being visited: merge it back if all are hot and contiguous */
	uint64_t blk;
	paddr_t blk_pa;
	unsigned blk_hot;
	uint64_t merge[MERGES_PER_SCAN];
	unsigned nmerge;
};

static unsigned bucket(unsigned age)
{
	return age == 0 ? 0 : age == 1 ? 1 : age < 4 ? 2 : age < 8 ? 3 : 4;
}

static void note_block(struct scan *s, bool accessed, const struct npt_leaf *leaf)
{
	uint64_t blk = leaf->gpa & ~(NPT_SIZE_2M - 1);

	if (blk != s->blk) {
		s->blk = blk;
		s->blk_pa = leaf->pa - (leaf->gpa - blk);
		s->blk_hot = 0;
	}
	if (accessed && leaf->pa == s->blk_pa + (leaf->gpa - blk) && !(s->blk_pa & (NPT_SIZE_2M - 1)))
		s->blk_hot++;
	if (s->blk_hot == NPT_SIZE_2M / NPT_SIZE_4K && s->nmerge < MERGES_PER_SCAN)
		s->merge[s->nmerge++] = blk;
}

static enum npt_scan_action visit(void *ctx, const struct npt_leaf *leaf)
{
	struct scan *s = ctx;
	struct vm_mem *m = s->m;
	uint64_t size = leaf->level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
	unsigned age = *vm_mem_page(m, leaf->gpa) & PG_AGE_MASK;
	bool accessed = s->p->probe ? !leaf->probed : leaf->accessed;

	if (accessed && s->p->split && leaf->level == NPT_LEVEL_2M && leaf->gpa >= m->min &&
	    frame_split(leaf->pa, FRAME_ORDER_2M, m->owner) == 0) {
		s->w.splits++;
		return NPT_SCAN_SPLIT; /* its 4 KiB leaves come next, with the accessed bit copied */
	}
	age = accessed ? 0 : age < PG_AGE_MAX ? age + 1 : PG_AGE_MAX;
	/* every page of the leaf takes its age; one accessed was not just backed ahead; count those that were */
	s->w.ahead_untouched += vm_mem_pages_set(vm_mem_page(m, leaf->gpa), size / NPT_SIZE_4K,
						 (uint8_t)(~PG_AGE_MASK & ~(accessed ? PG_AHEAD : 0)), (uint8_t)age,
						 accessed ? 0 : PG_AHEAD) * NPT_SIZE_4K;
	s->w.hist[bucket(age)] += size;
	if (age < s->p->window)
		s->w.wss += size;
	if (age >= s->p->idle_age && leaf->gpa >= m->min)
		s->w.idle += size;
	if (leaf->level == NPT_LEVEL_4K && !s->p->split)
		note_block(s, accessed, leaf);
	if (!accessed)
		return NPT_SCAN_KEEP;
	s->cleared = true;
	return s->p->probe ? NPT_SCAN_PROBE : NPT_SCAN_CLEAR_A;
}

/* Merge back the blocks whose 4 KiB pages were all hot; the page table goes after the invalidation. */
static void merge_hot(struct scan *s)
{
	struct vm_mem *m = s->m;

	vm_take_begin(m);
	for (unsigned i = 0; i < s->nmerge; i++) {
		paddr_t pa;

		if (npt_merge(&m->npt, s->merge[i]) || npt_lookup(&m->npt, s->merge[i], &pa, NULL, NULL))
			continue;
		if (frame_join(pa, FRAME_ORDER_2M, m->owner) == 0)
			s->w.merges++;
	}
	vm_take_end(m);
}

void wss_scan(struct vm_mem *m, const struct wss_params *p)
{
	struct scan s = { .m = m, .p = p, .blk = ~0ULL };
	uint64_t t0 = rdtsc();

	s.w = m->wss;
	s.w.wss = s.w.idle = s.w.ahead_untouched = 0;
	memset(s.w.hist, 0, sizeof(s.w.hist));
	if (npt_scan(&m->npt, 0, m->max, visit, &s, NULL) == 0 && s.nmerge)
		merge_hot(&s);
	if (s.cleared) {
		m->flush(m->flush_ctx);
		s.w.flushes++;
	}
	s.w.scans++;
	s.w.tsc = rdtsc() - t0;
	s.w.total_tsc += s.w.tsc;
	m->wss = s.w;
}
