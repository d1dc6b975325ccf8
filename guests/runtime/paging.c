/* paging.c -- extend the guest's own identity map (built by the hypervisor) by 2 MiB pages. */
#include "runtime.h"
#include "cpu.h"
#include <emhv/x86_paging.h>

#define PT_POOL	   4 /* new tables for map_2m: enough for a few far-apart addresses */

static uint64_t pt_pool[PT_POOL][PT_ENTRIES] __attribute__((aligned(4096)));
static int pt_used;

/* The table *entry points to, taking a zeroed one from the pool if absent; NULL if none is left. */
static uint64_t *table_at(uint64_t *entry)
{
	if (!(*entry & PTE_P)) {
		if (pt_used == PT_POOL)
			return NULL;
		/* .bss is identity-mapped: the table's address is its guest-physical address. */
		*entry = (uint64_t)pt_pool[pt_used++] | PTE_P | PTE_W;
	}
	return (uint64_t *)(*entry & PTE_ADDR);
}

int map_2m(uint64_t gpa)
{
	uint64_t *pml4 = (uint64_t *)(read_cr3() & PTE_ADDR);
	uint64_t *pdpt, *pd;

	if (gpa >= 1ULL << 47)
		return -1;
	pdpt = table_at(&pml4[(gpa >> 39) % PT_ENTRIES]);
	if (!pdpt)
		return -1;
	if ((pdpt[(gpa >> 30) % PT_ENTRIES] & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS))
		return 0; /* inside a 1 GiB page */
	pd = table_at(&pdpt[(gpa >> 30) % PT_ENTRIES]);
	if (!pd)
		return -1;
	if (!(pd[(gpa >> 21) % PT_ENTRIES] & PTE_P))
		pd[(gpa >> 21) % PT_ENTRIES] = (gpa & ~(2 * MIB - 1)) | PTE_P | PTE_W | PTE_PS;
	invlpg(gpa);
	return 0;
}
