/* AMD NPT hardware layout: the long-mode page-table entry bits (APM Vol. 2 5.3, 15.25). */
#ifndef EMHV_MM_NPT_BITS_H
#define EMHV_MM_NPT_BITS_H

/*
 * A nested page table is an ordinary AMD64 long-mode page table walked with
 * the host's paging controls (4 levels: PML4E, PDPE, PDE, PTE):
 *
 *   63  62    52 51            12 11  9  8  7  6  5  4   3   2   1  0
 *  +---+--------+----------------+-----+--+--+--+--+---+---+---+---+--+
 *  |NX | ignored| address 51:12  | AVL |G |PS|D |A |PCD|PWT|U/S|R/W|P |
 *  +---+--------+----------------+-----+--+--+--+--+---+---+---+---+--+
 *
 * P        present; an entry with P clear is not present (nothing else
 *          is looked at), so a present entry is always readable.
 * R/W      writes allowed (at every level on the way).
 * U/S      user access allowed. Every nested walk and every guest access
 *          through nested paging is a user access (APM 15.25.5), so U/S
 *          must be set at every level or the access faults.
 * PWT, PCD with PAT: the memory type, combined with the guest's PAT; all
 *          zero is write-back.
 * A, D     accessed (any entry), dirty (leaves only), set by the CPU.
 * PS       page size: a PDE with PS maps 2 MiB (a PDPE with PS 1 GiB).
 *          In a PTE bit 7 is PAT instead; in a 2 MiB PDE PAT is bit 12 and
 *          bits 20:13 are reserved, so its address is 2 MiB aligned.
 * G        global: ignored by nested paging.
 * NX       no execute; honoured when the host's EFER.NXE is set, reserved
 *          (a fault on use) when it is clear.
 */
#define NPTE_PRESENT   (1ULL << 0)
#define NPTE_WRITE     (1ULL << 1)
#define NPTE_USER      (1ULL << 2)
#define NPTE_PWT       (1ULL << 3)
#define NPTE_PCD       (1ULL << 4)
#define NPTE_ACCESSED  (1ULL << 5)
#define NPTE_DIRTY     (1ULL << 6)
#define NPTE_PS	       (1ULL << 7)
#define NPTE_PTE_PAT   (1ULL << 7) /* in a 4 KiB leaf (PTE) */
#define NPTE_GLOBAL    (1ULL << 8)
#define NPTE_PDE_PAT   (1ULL << 12) /* in a 2 MiB leaf (PDE with PS) */
#define NPTE_ADDR_MASK 0x000ffffffffff000ULL
#define NPTE_NX	       (1ULL << 63)

/* Entries per table and levels of the walk. */
#define NPTE_ENTRIES 512
#define NPTE_LEVELS  4

_Static_assert(NPTE_PRESENT == 0x1 && NPTE_WRITE == 0x2 && NPTE_USER == 0x4,
	       "P, R/W, U/S are bits 0..2");
_Static_assert(NPTE_PWT == 0x8 && NPTE_PCD == 0x10, "PWT, PCD are bits 3, 4");
_Static_assert(NPTE_ACCESSED == 0x20 && NPTE_DIRTY == 0x40 && NPTE_PS == 0x80,
	       "A, D, PS are bits 5, 6, 7");
_Static_assert(NPTE_GLOBAL == 0x100 && NPTE_PDE_PAT == 0x1000, "G is bit 8, a PDE's PAT bit 12");
_Static_assert(NPTE_NX == 0x8000000000000000ULL, "NX is bit 63");
_Static_assert(NPTE_ADDR_MASK == (((1ULL << 52) - 1) & ~0xfffULL), "addresses are bits 51:12");
_Static_assert((NPTE_ADDR_MASK & (NPTE_PRESENT | NPTE_WRITE | NPTE_USER | NPTE_PWT | NPTE_PCD |
				  NPTE_ACCESSED | NPTE_DIRTY | NPTE_PS | NPTE_GLOBAL |
				  NPTE_NX)) == 0,
	       "address and flag bits do not overlap");
_Static_assert(NPTE_ENTRIES * 8 == 4096, "a table is one 4 KiB frame of 8-byte entries");

#endif /* EMHV_MM_NPT_BITS_H */
