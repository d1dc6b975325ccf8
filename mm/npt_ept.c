/* The Intel EPT format of the nested page-table walker (SDM Vol. 3C 29.3.2). */
#include <stdint.h>
#include <stdbool.h>
#include "npt.h"
#include "ept_bits.h"

/*
 * Tables point down with R|W|X set, so that only leaves restrict access.
 * Leaves are write-back (the guest's PAT still applies: ignore-PAT is 0);
 * a 2 MiB leaf sets the page-size bit. npt.c never asks for W without R
 * (an EPT misconfiguration); execute-only (X alone) needs the CPU's
 * execute-only capability, which is the caller's to check.
 */

_Static_assert(EPT_READ == NPT_R && EPT_WRITE == NPT_W && EPT_EXEC == NPT_X,
	       "EPT R/W/X bits are the npt rights, so rights are copied as they are");

static uint64_t ept_make_table(paddr_t table)
{
	return (table & EPT_ADDR_MASK) | EPT_RWX;
}

static uint64_t ept_make_leaf(paddr_t pa, unsigned rights, unsigned level)
{
	uint64_t e = (pa & EPT_ADDR_MASK) | (rights & EPT_RWX) | (EPT_MT_WB << EPT_MT_SHIFT);

	if (level == NPT_LEVEL_2M)
		e |= EPT_PAGE_SIZE;
	return e;
}

static paddr_t ept_addr(uint64_t e)
{
	return e & EPT_ADDR_MASK;
}

static unsigned ept_rights(uint64_t e)
{
	return (unsigned)(e & EPT_RWX);
}

static uint64_t ept_set_rights(uint64_t e, unsigned rights, unsigned level)
{
	(void)level;
	return (e & ~EPT_RWX) | (rights & EPT_RWX);
}

const struct npt_format npt_format_ept = {
	.name = "ept",
	.make_table = ept_make_table,
	.make_leaf = ept_make_leaf,
	.present_bits = EPT_RWX, /* R = W = X = 0: not present (SDM 29.3.2) */
	.page_size = EPT_PAGE_SIZE,
	.addr = ept_addr,
	.addr_mask = 0x000ffffffffff000ULL,
	.rights = ept_rights,
	.set_rights = ept_set_rights,
	.accessed = EPT_ACCESSED,
	.dirty = EPT_DIRTY,
	.gate = EPT_RWX, /* R = W = X = 0: not present (SDM 29.3.2) */
};
