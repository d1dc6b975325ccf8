/* The hypervisor's own 4-level page tables, built from a static pool at boot. */
#include <stdbool.h>
#include <string.h>
#include "paging.h"
#include "cpu.h"
#include <emhv/x86_msr.h>
#include <emhv/x86_paging.h>
#include <emhv/x86_regs.h>

#define SZ_4K PAGE_SIZE_4K
#define SZ_2M PAGE_SIZE_2M
#define SZ_1G PAGE_SIZE_1G
#define POOL_PAGES 96

static uint64_t pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned pool_used;
static uint64_t *pml4;
static const struct bootinfo *map_bi;

extern char __image_start[], __text_end[], __rodata_end[], __image_end[];

static uint64_t *table_alloc(void)
{
	if (pool_used == POOL_PAGES)
		return NULL;
	memset(pool[pool_used], 0, sizeof(pool[0]));
	return pool[pool_used++];
}

static bool overlaps(uint64_t lo, uint64_t hi, uint64_t a, uint64_t b)
{
	return lo < b && a < hi;
}

static bool in_image(uint64_t lo, uint64_t hi)
{
	return overlaps(lo, hi, (uint64_t)__image_start, (uint64_t)__image_end);
}

/* Runtime-services code must stay executable so that ResetSystem works. */
static bool has_runtime_code(uint64_t lo, uint64_t hi)
{
	uint32_t i;

	for (i = 0; i < map_bi->mmap_count; i++) {
		const struct bootinfo_mmap_entry *e = &map_bi->mmap[i];

		if (e->type == BI_MEM_RT_CODE &&
		    overlaps(lo, hi, e->phys, e->phys + e->pages * SZ_4K))
			return true;
	}
	return false;
}

static uint64_t leaf_flags(uint64_t lo, uint64_t hi)
{
	uint64_t va = lo;

	if (!in_image(lo, hi))
		return PTE_P | PTE_W | (has_runtime_code(lo, hi) ? 0 : PTE_NX);
	if (va < (uint64_t)__text_end)
		return PTE_P;
	if (va < (uint64_t)__rodata_end)
		return PTE_P | PTE_NX;
	return PTE_P | PTE_W | PTE_NX;
}

/* Return the next-level table under *e, creating it (splitting a leaf) as needed. */
static uint64_t *next_table(uint64_t *e, uint64_t span)
{
	uint64_t *t;
	int i;

	if ((*e & PTE_P) && !(*e & PTE_PS))
		return (uint64_t *)(*e & PTE_ADDR);
	t = table_alloc();
	if (!t)
		return NULL;
	if (*e & PTE_P) /* split a large leaf, keeping its flags */
		for (i = 0; i < 512; i++)
			t[i] = (*e & ~PTE_ADDR & ~(span == SZ_4K ? PTE_PS : 0)) +
			       ((*e & PTE_ADDR) + i * span);
	*e = (uint64_t)t | PTE_P | PTE_W;
	return t;
}

static int map_2m(uint64_t *pde, uint64_t base)
{
	uint64_t *pt;
	int i;

	if (!in_image(base, base + SZ_2M)) {
		*pde = base | PTE_PS | leaf_flags(base, base + SZ_2M);
		return 0;
	}
	pt = table_alloc();
	if (!pt)
		return -1;
	for (i = 0; i < 512; i++) {
		uint64_t a = base + i * SZ_4K;

		pt[i] = a | leaf_flags(a, a + SZ_4K);
	}
	*pde = (uint64_t)pt | PTE_P | PTE_W;
	return 0;
}

static int map_1g(uint64_t *pdpte, uint64_t base, bool gbpages)
{
	uint64_t *pd;
	int i;

	if (gbpages && !in_image(base, base + SZ_1G)) {
		*pdpte = base | PTE_PS | leaf_flags(base, base + SZ_1G);
		return 0;
	}
	pd = table_alloc();
	if (!pd)
		return -1;
	for (i = 0; i < 512; i++)
		if (map_2m(&pd[i], base + i * SZ_2M))
			return -1;
	*pdpte = (uint64_t)pd | PTE_P | PTE_W;
	return 0;
}

static uint64_t map_top(const struct bootinfo *bi)
{
	uint64_t top = 4 * SZ_1G;
	uint32_t i;

	for (i = 0; i < bi->mmap_count; i++) {
		uint64_t end = bi->mmap[i].phys + bi->mmap[i].pages * SZ_4K;

		if (end > top && end <= (1ULL << 46))
			top = end;
	}
	return (top + SZ_1G - 1) & ~(SZ_1G - 1);
}

uint64_t paging_init(const struct bootinfo *bi)
{
	bool gbpages = cpuid(0x80000001, 0).edx & (1u << 26);
	uint64_t top = map_top(bi), base;

	map_bi = bi;
	pml4 = table_alloc();
	for (base = 0; base < top; base += SZ_1G) {
		uint64_t *pdpt = next_table(&pml4[(base >> 39) & 511], 0);

		if (!pdpt || map_1g(&pdpt[(base >> 30) & 511], base, gbpages))
			break;
	}
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | CR0_WP);
	write_cr3((uint64_t)pml4);
	return base;
}

int paging_set_uncached(uint64_t phys, uint64_t len)
{
	uint64_t a;

	for (a = phys & ~(SZ_2M - 1); a < phys + len; a += SZ_2M) {
		uint64_t *pdpt = (uint64_t *)(pml4[(a >> 39) & 511] & PTE_ADDR);
		uint64_t *pd;

		if (!(pml4[(a >> 39) & 511] & PTE_P))
			return -1;
		pd = next_table(&pdpt[(a >> 30) & 511], SZ_2M);
		if (!pd)
			return -1;
		pd[(a >> 21) & 511] |= PTE_PCD | PTE_PWT;
	}
	write_cr3(read_cr3());
	return 0;
}

void paging_pool_usage(uint64_t *used, uint64_t *total)
{
	*used = pool_used * SZ_4K;
	*total = POOL_PAGES * SZ_4K;
}
