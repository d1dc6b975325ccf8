/*
 * A VM's guest-physical RAM. [0, min) is backed at creation (static mode:
 * all of [0, max)); in elastic mode a first touch of [min, max) arrives as a
 * nested-page fault and is served here from the central pool: a 2 MiB frame
 * when the whole aligned block is unbacked and the pool has one, else 4 KiB,
 * always zeroed before it is mapped (2 MiB blocks come pre-zeroed from
 * mm/zero_cache.c when it has one). Frames and tables belong to the VM's
 * owner id, so the pool's accounting shows them per VM.
 */
#include <stdio.h>
#include <string.h>
#include "vm_mem.h"
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

/* A 4 KiB frame for m: from its spares, refilled in one step, else one by one. */
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

static paddr_t table_alloc(void *ctx)
{
	struct vm_mem *m = ctx;
	paddr_t pa = alloc_4k(m);

	if (pa != FRAME_NONE)
		memset((void *)pa, 0, FRAME_SIZE);
	return pa;
}

/* Give a frame of m back to the pool; a refusal (the metadata disagrees) is recorded, never ignored. */
static void give_back(struct vm_mem *m, paddr_t pa, unsigned order)
{
	int err = frame_free(pa, order, m->owner);

	if (err) {
		m->free_errors++;
		m->bad_frame = pa;
		m->bad_err = err;
	}
}

static void table_free(void *ctx, paddr_t pa)
{
	give_back(ctx, pa, FRAME_ORDER_4K);
}

static void leaf_free(void *ctx, uint64_t gpa, paddr_t pa, unsigned level)
{
	struct vm_mem *m = ctx;

	(void)gpa;
	give_back(m, pa, level == NPT_LEVEL_2M ? FRAME_ORDER_2M : FRAME_ORDER_4K);
	m->backed -= level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
}

/* A zeroed frame of m for a leaf of level: a pre-zeroed 2 MiB block if the cache has one, else zeroed here. */
static paddr_t zeroed_frame(struct vm_mem *m, unsigned level)
{
	paddr_t pa = level == NPT_LEVEL_2M ? zero_cache_take(m->owner) : FRAME_NONE;
	uint64_t t0;

	if (pa != FRAME_NONE)
		return pa;
	pa = level == NPT_LEVEL_2M ? alloc(FRAME_ORDER_2M, m->owner) : alloc_4k(m);
	if (pa == FRAME_NONE)
		return FRAME_NONE;
	t0 = rdtsc();
	memset((void *)pa, 0, level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K);
	m->zero_tsc += rdtsc() - t0;
	return pa;
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
		pa = zeroed_frame(m, NPT_LEVEL_2M);
	if (pa == FRAME_NONE) {
		level = NPT_LEVEL_4K;
		pa = zeroed_frame(m, NPT_LEVEL_4K);
		if (pa == FRAME_NONE)
			return -NPT_ENOMEM;
	}
	r = npt_fill_hole(&m->npt, &h, pa, level, NPT_RWX);
	if (r) {
		give_back(m, pa, level == NPT_LEVEL_2M ? FRAME_ORDER_2M : FRAME_ORDER_4K);
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
	if (npt_init(&m->npt, fmt, &ops)) {
		snprintf(why, n, "no frame for the nested page table");
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

enum vm_fault_result vm_mem_fault(struct vm_mem *m, uint64_t gpa)
{
	int level;

	if (gpa >= m->max)
		return VM_FAULT_OUTSIDE;
	level = back(m, gpa, m->max);
	if (level == NPT_LEVEL_2M)
		m->faults_2m++;
	else if (level == NPT_LEVEL_4K)
		m->faults_4k++;
	else /* no frame for the page or a table; or the page was mapped after all */
		return level == -NPT_EEXIST ? VM_FAULT_BROKEN : VM_FAULT_NOMEM;
	return VM_FAULT_MAPPED;
}

void vm_mem_release(struct vm_mem *m)
{
	if (m->npt.root)
		npt_destroy(&m->npt, leaf_free, m);
	m->npt.root = 0;
	m->backed = 0;
	for (; m->spare_n; m->spare_n--, m->spare += FRAME_SIZE)
		give_back(m, m->spare, FRAME_ORDER_4K);
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

		if (!n && write) {
			if (vm_mem_fault(m, gpa) != VM_FAULT_MAPPED)
				return -1;
			continue;
		}
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
	uint64_t bytes, frames, bad;
	uint64_t bad_gpa;
	int bad_err;
};

static enum npt_scan_action verify_leaf(void *ctx, const struct npt_leaf *leaf)
{
	struct verify *v = ctx;
	unsigned want = leaf->level == NPT_LEVEL_2M ? FRAME_ORDER_2M : FRAME_ORDER_4K, order, owner;
	int err = frame_block_of(leaf->pa, &order, &owner);

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
	expect = v.frames + m->npt.tables + m->spare_n;
	if (!v.bad && v.bytes == m->backed && held == expect && !m->free_errors) {
		snprintf(why, n, "%llu frames held = %llu of RAM in its nested tables + %llu tables + %u spare: ok",
			 (unsigned long long)held, (unsigned long long)v.frames, (unsigned long long)m->npt.tables,
			 m->spare_n);
		return 0;
	}
	if (v.bad)
		len += snprintf(why + len, n - len, "%llu leaves map frames that are not its blocks (first at "
				"guest-physical 0x%llx: %s); ", (unsigned long long)v.bad,
				(unsigned long long)v.bad_gpa, frame_strerror(v.bad_err));
	if (v.bytes != m->backed && len < (int)n)
		len += snprintf(why + len, n - len, "%llu KiB mapped but %llu KiB counted as backed; ",
				(unsigned long long)(v.bytes >> 10), (unsigned long long)(m->backed >> 10));
	if (held != expect && len < (int)n)
		len += snprintf(why + len, n - len, "the pool says it holds %llu frames, its tables account for %llu; ",
				(unsigned long long)held, (unsigned long long)expect);
	if (m->free_errors && len < (int)n)
		snprintf(why + len, n - len, "%llu frames were refused by the pool", (unsigned long long)m->free_errors);
	return -1;
}
