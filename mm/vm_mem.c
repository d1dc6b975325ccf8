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

static void table_free(void *ctx, paddr_t pa)
{
	struct vm_mem *m = ctx;

	frame_free(pa, FRAME_ORDER_4K, m->owner);
}

static void leaf_free(void *ctx, uint64_t gpa, paddr_t pa, unsigned level)
{
	struct vm_mem *m = ctx;

	(void)gpa;
	frame_free(pa, level == NPT_LEVEL_2M ? FRAME_ORDER_2M : FRAME_ORDER_4K, m->owner);
	m->backed -= level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
}

/* Back one block at gpa with a zeroed frame: 0, -NPT_ENOMEM (no frame), or npt_map's -error. */
static int back(struct vm_mem *m, uint64_t gpa, unsigned level)
{
	uint64_t size = level == NPT_LEVEL_2M ? NPT_SIZE_2M : NPT_SIZE_4K;
	unsigned order = level == NPT_LEVEL_2M ? FRAME_ORDER_2M : FRAME_ORDER_4K;
	paddr_t pa = level == NPT_LEVEL_2M ? zero_cache_take(m->owner) : FRAME_NONE;
	uint64_t t0;
	int r;

	if (pa == FRAME_NONE) {
		pa = level == NPT_LEVEL_2M ? alloc(order, m->owner) : alloc_4k(m);
		if (pa == FRAME_NONE)
			return -NPT_ENOMEM;
		t0 = rdtsc();
		memset((void *)pa, 0, size);
		m->zero_tsc += rdtsc() - t0;
	}
	r = npt_map(&m->npt, gpa, pa, level, NPT_RWX);
	if (r) {
		frame_free(pa, order, m->owner);
		return r;
	}
	m->backed += size;
	return 0;
}

/* Can the aligned 2 MiB block at blk be served whole? */
static bool whole_block_free(const struct vm_mem *m, uint64_t blk)
{
	return m->grow_2m && blk + NPT_SIZE_2M <= m->max && !npt_any_mapped(&m->npt, blk, NPT_SIZE_2M);
}

static int back_range(struct vm_mem *m, uint64_t end)
{
	uint64_t gpa = 0;

	while (gpa < end) {
		if (!(gpa & (NPT_SIZE_2M - 1)) && gpa + NPT_SIZE_2M <= end && whole_block_free(m, gpa) &&
		    back(m, gpa, NPT_LEVEL_2M) == 0) {
			gpa += NPT_SIZE_2M;
			continue;
		}
		if (back(m, gpa, NPT_LEVEL_4K))
			return -1;
		gpa += NPT_SIZE_4K;
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
		frame_get_stats(&st);
		snprintf(why, n, "the pool cannot back %llu KiB (%llu KiB free)",
			 (unsigned long long)(backed_at_start >> 10),
			 (unsigned long long)((st.free * FRAME_SIZE) >> 10));
		vm_mem_release(m);
		return -1;
	}
	return 0;
}

enum vm_fault_result vm_mem_fault(struct vm_mem *m, uint64_t gpa)
{
	uint64_t page = gpa & ~(NPT_SIZE_4K - 1), blk = gpa & ~(NPT_SIZE_2M - 1);
	int r;

	if (gpa >= m->max)
		return VM_FAULT_OUTSIDE;
	if (whole_block_free(m, blk) && back(m, blk, NPT_LEVEL_2M) == 0) {
		m->faults_2m++;
		return VM_FAULT_MAPPED;
	}
	r = back(m, page, NPT_LEVEL_4K);
	if (r == 0) {
		m->faults_4k++;
		return VM_FAULT_MAPPED;
	}
	/* no frame for the page or a table; or the page was mapped after all */
	return r == -NPT_EEXIST ? VM_FAULT_BROKEN : VM_FAULT_NOMEM;
}

void vm_mem_release(struct vm_mem *m)
{
	if (m->npt.root)
		npt_destroy(&m->npt, leaf_free, m);
	m->npt.root = 0;
	m->backed = 0;
	for (; m->spare_n; m->spare_n--, m->spare += FRAME_SIZE)
		frame_free(m->spare, FRAME_ORDER_4K, m->owner);
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
