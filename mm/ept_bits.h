/* Intel EPT hardware layout: the bits of a paging-structure entry (SDM Vol. 3C 29.3.2). */
#ifndef EMHV_MM_EPT_BITS_H
#define EMHV_MM_EPT_BITS_H

/*
 * An EPT paging-structure entry (PML4E, PDPTE, PDE, PTE), 4-level walk:
 *
 *   63  62    52 51            12 11  10  9  8  7  6  5 3  2 1 0
 *  +---+--------+----------------+----+---+--+--+--+--+----+-----+
 *  |SVE| ignored| address 51:12  | ig |UX |D |A |PS|IP| MT |X W R|
 *  +---+--------+----------------+----+---+--+--+--+--+----+-----+
 *
 * R/W/X    read, write, (supervisor) execute; an entry with all three clear
 *          is not present. W set with R clear is an EPT misconfiguration,
 *          so is X alone unless the CPU supports execute-only pages.
 * MT, IP   memory type and ignore-PAT, leaves only (reserved in tables).
 * PS       page size: a PDE with PS maps 2 MiB (a PDPTE with PS 1 GiB);
 *          reserved in a PML4E, ignored in a PTE.
 * A, D     accessed (any entry), dirty (leaves only); written by the CPU
 *          only when the EPT pointer enables them (EPTP_AD, vmx_hw.h).
 * UX       user execute with mode-based execute control (not used).
 * SVE      suppress #VE (not used).
 * A 2 MiB leaf's address must be 2 MiB aligned (bits 20:12 reserved).
 */
#define EPT_READ	(1ULL << 0)
#define EPT_WRITE	(1ULL << 1)
#define EPT_EXEC	(1ULL << 2)
#define EPT_RWX		(EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MT_SHIFT	3
#define EPT_MT_MASK	(7ULL << EPT_MT_SHIFT)
#define EPT_IGNORE_PAT	(1ULL << 6)
#define EPT_PAGE_SIZE	(1ULL << 7)
#define EPT_ACCESSED	(1ULL << 8)
#define EPT_DIRTY	(1ULL << 9)
#define EPT_USER_EXEC	(1ULL << 10)
#define EPT_ADDR_MASK	0x000ffffffffff000ULL
#define EPT_SUPPRESS_VE (1ULL << 63)

/* Memory types (EPT_MT of a leaf). */
#define EPT_MT_UC 0ULL
#define EPT_MT_WC 1ULL
#define EPT_MT_WT 4ULL
#define EPT_MT_WP 5ULL
#define EPT_MT_WB 6ULL

/* Entries per table and levels of the walk. */
#define EPT_ENTRIES 512
#define EPT_LEVELS  4

_Static_assert(EPT_RWX == 0x7, "EPT R/W/X are bits 0..2");
_Static_assert(EPT_MT_MASK == 0x38, "EPT memory type is bits 5:3");
_Static_assert((EPT_MT_WB << EPT_MT_SHIFT) == 0x30, "write-back leaf type is 6 << 3");
_Static_assert((EPT_MT_WB << EPT_MT_SHIFT & ~EPT_MT_MASK) == 0, "memory type fits its field");
_Static_assert(EPT_PAGE_SIZE == 0x80 && EPT_ACCESSED == 0x100 && EPT_DIRTY == 0x200,
	       "EPT PS/A/D are bits 7/8/9");
_Static_assert(EPT_ADDR_MASK == (((1ULL << 52) - 1) & ~0xfffULL), "EPT addresses are bits 51:12");
_Static_assert((EPT_ADDR_MASK & (EPT_RWX | EPT_MT_MASK | EPT_IGNORE_PAT | EPT_PAGE_SIZE |
				 EPT_ACCESSED | EPT_DIRTY | EPT_USER_EXEC | EPT_SUPPRESS_VE)) == 0,
	       "EPT address and flag bits do not overlap");
_Static_assert(EPT_ENTRIES * 8 == 4096, "an EPT table is one 4 KiB frame of 8-byte entries");

#endif /* EMHV_MM_EPT_BITS_H */
