/* A bzImage's setup header, checked for the 64-bit boot protocol (include/emhv/linux_boot.h). */
#ifndef EMHV_HV_BZIMAGE_H
#define EMHV_HV_BZIMAGE_H

#include <stdint.h>
#include <emhv/linux_boot.h>

#define BZIMAGE_CMDLINE_MAX 2048 /* command line bytes emhv passes, NUL included */

/* What the setup header of a bzImage says. */
struct bzimage {
	struct linux_setup_header hdr;
	uint64_t kernel_offset; /* the protected-mode kernel: offset in the file and size */
	uint64_t kernel_size;
	uint64_t load_addr;	/* where it goes: its preferred address (aligned as it asks) */
	uint64_t init_size;	/* memory it needs from load_addr while it decompresses and boots */
	uint32_t cmdline_max;	/* command line bytes it takes, without the NUL */
};

/* Check a bzImage (boot flag, "HdrS", protocol 2.12 or later, 64-bit entry); 0, or -1 with *why. */
int bzimage_parse(const uint8_t *file, uint64_t size, struct bzimage *img, const char **why);

#endif
