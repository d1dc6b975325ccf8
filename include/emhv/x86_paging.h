/* x86-64 page-table entry bits (SDM vol. 3A 4.5), shared by the hypervisor's own tables, guests and guest walks. */
#ifndef EMHV_X86_PAGING_H
#define EMHV_X86_PAGING_H

#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_PWT (1ULL << 3)
#define PTE_PCD (1ULL << 4)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

#define PAGE_SIZE_4K 0x1000ULL
#define PAGE_SIZE_2M 0x200000ULL
#define PAGE_SIZE_1G 0x40000000ULL
#define PT_ENTRIES 512

#endif
