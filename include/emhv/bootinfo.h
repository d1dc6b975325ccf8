/* Boot-info block: the one structure the UEFI loader hands to the core. */
#ifndef EMHV_BOOTINFO_H
#define EMHV_BOOTINFO_H

#include <stdint.h>

#define BOOTINFO_MAGIC 0x4f4f42564d48454dULL /* "EMHVBOOT" little-endian-ish */
#define BOOTINFO_VERSION 2

#define BOOTINFO_MAX_MMAP 512	 /* firmware memory-map entries kept */
#define BOOTINFO_MAX_MODULES 32	 /* files of \emhv\ besides hv.elf */
#define BOOTINFO_NAME_MAX 48	 /* module name, NUL included */

/* UEFI memory types the core cares about (UEFI spec 2.10, 7.2). */
enum bootinfo_mem_type {
	BI_MEM_RESERVED = 0,
	BI_MEM_LOADER_CODE = 1,
	BI_MEM_LOADER_DATA = 2,
	BI_MEM_BS_CODE = 3,
	BI_MEM_BS_DATA = 4,
	BI_MEM_RT_CODE = 5,
	BI_MEM_RT_DATA = 6,
	BI_MEM_CONVENTIONAL = 7,
	BI_MEM_UNUSABLE = 8,
	BI_MEM_ACPI_RECLAIM = 9,
	BI_MEM_ACPI_NVS = 10,
	BI_MEM_MMIO = 11,
	BI_MEM_MMIO_PORT = 12,
	BI_MEM_PAL_CODE = 13,
	BI_MEM_PERSISTENT = 14,
	BI_MEM_TYPE_COUNT
};

/* One firmware memory-map entry, copied out of EFI_MEMORY_DESCRIPTOR. */
struct bootinfo_mmap_entry {
	uint32_t type;
	uint32_t pad;
	uint64_t phys;
	uint64_t pages; /* 4 KiB pages */
	uint64_t attr;
};
_Static_assert(sizeof(struct bootinfo_mmap_entry) == 32, "mmap entry layout");

/* A file the loader read from \emhv\ and left in memory. */
struct bootinfo_module {
	char name[BOOTINFO_NAME_MAX];
	uint64_t phys;
	uint64_t size;		/* bytes of file content */
	uint64_t alloc_pages;	/* pages the loader allocated for it */
};
_Static_assert(sizeof(struct bootinfo_module) == 72, "module layout");

/* The firmware's wall-clock time (UEFI GetTime, UTC or local as the firmware keeps it), 0s if none. */
struct bootinfo_time {
	uint16_t year;
	uint8_t month, day, hour, minute, second, valid;
	uint64_t tsc; /* rdtsc when it was read */
};
_Static_assert(sizeof(struct bootinfo_time) == 16, "time layout");

struct bootinfo {
	uint64_t magic;
	uint32_t version;
	uint32_t size; /* sizeof(struct bootinfo) */

	uint64_t rsdp;		 /* ACPI RSDP physical address, 0 if none */
	uint64_t efi_runtime;	 /* EFI_RUNTIME_SERVICES * (identity mapped) */

	uint64_t core_phys;	 /* where hv.elf's image was placed */
	uint64_t core_pages;	 /* pages allocated for it */
	uint64_t bootinfo_pages; /* pages of this block (at its own address) */

	uint64_t tsc_loader_entry; /* rdtsc at efi_main */
	uint64_t tsc_exit_bs;	   /* rdtsc right after ExitBootServices */
	uint32_t exit_bs_tries;	   /* ExitBootServices attempts */
	uint32_t mmap_count;
	uint32_t mmap_dropped;	   /* entries beyond BOOTINFO_MAX_MMAP */
	uint32_t module_count;
	struct bootinfo_time time;
	struct bootinfo_mmap_entry mmap[BOOTINFO_MAX_MMAP];
	struct bootinfo_module modules[BOOTINFO_MAX_MODULES];
};

/* Entry point of hv.elf, called with the System V ABI. */
typedef void (*bootinfo_entry_fn)(struct bootinfo *bi);

#endif
