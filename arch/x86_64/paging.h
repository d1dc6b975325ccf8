/* The hypervisor's own page tables: all RAM identity-mapped, the image W^X. */
#ifndef ARCH_X86_64_PAGING_H
#define ARCH_X86_64_PAGING_H

#include <stdint.h>
#include <emhv/bootinfo.h>

/*
 * Build and load page tables that identity-map [0, max(4 GiB, top of the
 * memory map)) with 1 GiB or 2 MiB pages (no-execute except where UEFI
 * runtime code lives) and the hypervisor image with 4 KiB pages: text
 * read-only executable, rodata read-only, data and bss read-write. Returns
 * the end of what is mapped (smaller than asked only if the static table
 * pool ran out).
 */
uint64_t paging_init(const struct bootinfo *bi);

/* Make [phys, phys + len) uncached (for device registers); 0 or -1. */
int paging_set_uncached(uint64_t phys, uint64_t len);

/* Bytes of page-table pool used so far and available. */
void paging_pool_usage(uint64_t *used, uint64_t *total);

#endif
