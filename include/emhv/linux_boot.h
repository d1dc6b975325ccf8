/*
 * The x86 Linux boot protocol as emhv uses it (the kernel's
 * Documentation/arch/x86/boot.rst and zero-page.rst): the setup header a
 * bzImage carries at 0x1f1, the few fields of the zero page (struct
 * boot_params) a loader fills, and the e820 map.
 */
#ifndef EMHV_LINUX_BOOT_H
#define EMHV_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

#define LINUX_SETUP_HDR_OFFSET 0x1f1
#define LINUX_HDR_MAGIC 0x53726448u  /* "HdrS" */
#define LINUX_BOOT_FLAG 0xaa55
#define LINUX_PROTO_MIN 0x020c	     /* 2.12: xloadflags, the 64-bit entry */
#define LINUX_ENTRY64_OFFSET 0x200   /* the 64-bit entry, from the protected-mode kernel's start */
#define LINUX_LOADER_UNDEFINED 0xff  /* type_of_loader: a boot loader without an assigned ID */
#define LINUX_LOADFLAGS_LOADED_HIGH 0x01
#define LINUX_XLF_KERNEL_64 0x01
#define LINUX_BOOT_CS 0x10	     /* __BOOT_CS and __BOOT_DS of the 64-bit boot protocol */
#define LINUX_BOOT_DS 0x18

/* The setup header (boot.rst, "The Real-Mode Kernel Header"), at 0x1f1 in the file and the zero page. */
struct linux_setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));
_Static_assert(offsetof(struct linux_setup_header, header) == 0x202 - LINUX_SETUP_HDR_OFFSET, "HdrS");
_Static_assert(offsetof(struct linux_setup_header, cmd_line_ptr) == 0x228 - LINUX_SETUP_HDR_OFFSET, "cmdline");
_Static_assert(offsetof(struct linux_setup_header, pref_address) == 0x258 - LINUX_SETUP_HDR_OFFSET, "pref");
_Static_assert(sizeof(struct linux_setup_header) == 0x26c - LINUX_SETUP_HDR_OFFSET, "header size");

/* e820 types (ACPI 6.4, table 15.1). */
enum { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3 };

struct linux_e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct linux_e820_entry) == 20, "e820 entry");

#define LINUX_E820_MAX 128

/* The zero page (zero-page.rst): only what a 64-bit loader writes is named. */
struct linux_boot_params {
	uint8_t pad0[0x70];
	uint64_t acpi_rsdp_addr; /* 0x070 */
	uint8_t pad1[0x0c0 - 0x078];
	uint32_t ext_ramdisk_image; /* 0x0c0 */
	uint32_t ext_ramdisk_size;
	uint32_t ext_cmd_line_ptr;
	uint8_t pad2[0x1e8 - 0x0cc];
	uint8_t e820_entries; /* 0x1e8 */
	uint8_t pad3[LINUX_SETUP_HDR_OFFSET - 0x1e9];
	struct linux_setup_header hdr; /* 0x1f1 */
	uint8_t pad4[0x2d0 - 0x26c];
	struct linux_e820_entry e820[LINUX_E820_MAX]; /* 0x2d0 */
	uint8_t pad5[0x1000 - 0xcd0];
} __attribute__((packed));
_Static_assert(offsetof(struct linux_boot_params, hdr) == LINUX_SETUP_HDR_OFFSET, "hdr");
_Static_assert(offsetof(struct linux_boot_params, e820) == 0x2d0, "e820 table");
_Static_assert(sizeof(struct linux_boot_params) == 0x1000, "one page");

#endif
