/* Turning the firmware's final memory map into the frame allocator at boot. */
#ifndef MM_BOOT_MEM_H
#define MM_BOOT_MEM_H

#include <stdint.h>
#include <emhv/bootinfo.h>

/* What boot-time memory setup found, for the monitor's 'mem'. */
struct boot_mem_info {
	uint64_t usable_frames;	 /* frames the firmware map calls usable */
	uint64_t meta_phys, meta_bytes;
	uint64_t span_lo, span_hi;
};

/* Is this UEFI memory type free for the OS once boot services are gone? */
int boot_mem_usable(uint32_t type);

/*
 * Give every usable frame below mapped_top (except frame 0) to the frame
 * allocator, then reserve the core image, the boot modules and the
 * allocator's own metadata for the hypervisor. 0, or -1 after a message.
 */
int boot_mem_init(const struct bootinfo *bi, uint64_t mapped_top);
const struct boot_mem_info *boot_mem_info(void);

#endif
