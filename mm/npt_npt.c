/* The AMD NPT format of the nested page-table walker (APM Vol. 2 15.25, entries as in 5.3). */
#include <stdint.h>
#include <stdbool.h>
#include "npt.h"
#include "npt_bits.h"

/*
 * Every access through nested paging is a user access (APM 15.25.5), so
 * U/S is set at every level. Tables point down with P|R/W|U/S and no NX,
 * so that only leaves restrict access. Leaves have PWT = PCD = PAT = 0:
 * write-back, combined with the guest's PAT. A present entry is always
 * readable, so NPT_R is required (rights_need) and R is read back from P;
 * W is R/W and X is the absence of NX (the host's EFER.NXE must be set).
 */

#define NPT_LEAF_RIGHTS (NPTE_WRITE | NPTE_NX)

static uint64_t npt_make_table(paddr_t table)
{
	return (table & NPTE_ADDR_MASK) | NPTE_PRESENT | NPTE_WRITE | NPTE_USER;
}

/* R/W and NX for the rights; P is implied, as every rights include NPT_R. */
static uint64_t npt_rights_bits(unsigned rights)
{
	return (rights & NPT_W ? NPTE_WRITE : 0) | (rights & NPT_X ? 0 : NPTE_NX);
}

static uint64_t npt_make_leaf(paddr_t pa, unsigned rights, unsigned level)
{
	uint64_t e = (pa & NPTE_ADDR_MASK) | NPTE_PRESENT | NPTE_USER | npt_rights_bits(rights);

	if (level == NPT_LEVEL_2M)
		e |= NPTE_PS;
	return e;
}

static paddr_t npt_addr(uint64_t e)
{
	return e & NPTE_ADDR_MASK;
}

static unsigned npt_rights(uint64_t e)
{
	return (e & NPTE_PRESENT ? NPT_R : 0) | (e & NPTE_WRITE ? NPT_W : 0) |
	       (e & NPTE_NX ? 0 : NPT_X);
}

/* P, U/S, PS, A, D and the address stay. */
static uint64_t npt_set_rights(uint64_t e, unsigned rights, unsigned level)
{
	(void)level;
	return (e & ~NPT_LEAF_RIGHTS) | npt_rights_bits(rights);
}

const struct npt_format npt_format_npt = {
	.name = "npt",
	.make_table = npt_make_table,
	.make_leaf = npt_make_leaf,
	.present_bits = NPTE_PRESENT,
	.page_size = NPTE_PS, /* at level 0 bit 7 is PAT, not PS: every PTE is a leaf */
	.addr = npt_addr,
	.addr_mask = 0x000ffffffffff000ULL,
	.rights = npt_rights,
	.set_rights = npt_set_rights,
	.accessed = NPTE_ACCESSED,
	.dirty = NPTE_DIRTY,
	.rights_need = NPT_R,
	.gate = NPTE_PRESENT,
};
