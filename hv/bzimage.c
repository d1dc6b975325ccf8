/* The setup header of a bzImage, checked for the 64-bit boot protocol (Documentation/arch/x86/boot.rst). */
#include <string.h>
#include "bzimage.h"

#define SECTOR 512
#define DEFAULT_SETUP_SECTS 4 /* setup_sects 0 means 4 */
#define DEFAULT_CMDLINE_SIZE 255 /* protocols before 2.06 */
#define BZIMAGE_LOAD_MIN 0x100000 /* a protected-mode kernel loads at 1 MiB or above */
#define BZIMAGE_LOAD_MAX (1ULL << 40) /* and far below any wrap (guests have at most 3 GiB) */

int bzimage_parse(const uint8_t *file, uint64_t size, struct bzimage *img, const char **why)
{
	struct linux_setup_header *h = &img->hdr;
	unsigned sects;

	memset(img, 0, sizeof(*img));
	if (size < LINUX_SETUP_HDR_OFFSET + sizeof(*h)) {
		*why = "not a bzImage (too short for a setup header)";
		return -1;
	}
	memcpy(h, file + LINUX_SETUP_HDR_OFFSET, sizeof(*h));
	if (h->boot_flag != LINUX_BOOT_FLAG || h->header != LINUX_HDR_MAGIC) {
		*why = "not a bzImage (no boot flag 0xAA55 and \"HdrS\" in its setup header)";
		return -1;
	}
	if (h->version < LINUX_PROTO_MIN) {
		*why = "boot protocol older than 2.12 (no 64-bit entry point)";
		return -1;
	}
	if (!(h->xloadflags & LINUX_XLF_KERNEL_64)) {
		*why = "the kernel has no 64-bit entry point (XLF_KERNEL_64 clear)";
		return -1;
	}
	if (!(h->loadflags & LINUX_LOADFLAGS_LOADED_HIGH)) {
		*why = "a zImage (loaded low), not a bzImage";
		return -1;
	}
	sects = h->setup_sects ? h->setup_sects : DEFAULT_SETUP_SECTS;
	img->kernel_offset = (uint64_t)(sects + 1) * SECTOR;
	if (img->kernel_offset >= size) {
		*why = "not a bzImage (no protected-mode kernel after its setup code)";
		return -1;
	}
	img->kernel_size = size - img->kernel_offset;
	img->load_addr = h->relocatable_kernel ? h->pref_address : h->code32_start;
	if (h->relocatable_kernel && h->kernel_alignment && !(h->kernel_alignment & (h->kernel_alignment - 1)) &&
	    img->load_addr <= BZIMAGE_LOAD_MAX)
		img->load_addr = (img->load_addr + h->kernel_alignment - 1) & ~((uint64_t)h->kernel_alignment - 1);
	if (img->load_addr < BZIMAGE_LOAD_MIN || img->load_addr > BZIMAGE_LOAD_MAX ||
	    (h->relocatable_kernel && h->kernel_alignment && (h->kernel_alignment & (h->kernel_alignment - 1)))) {
		*why = "the setup header's load address or alignment is invalid";
		return -1;
	}
	img->init_size = h->init_size > img->kernel_size ? h->init_size : img->kernel_size;
	img->cmdline_max = h->cmdline_size ? h->cmdline_size : DEFAULT_CMDLINE_SIZE;
	if (img->cmdline_max > BZIMAGE_CMDLINE_MAX - 1)
		img->cmdline_max = BZIMAGE_CMDLINE_MAX - 1;
	return 0;
}
