/* Boot-time memory setup: the firmware's final memory map becomes the frame allocator. */
#include <string.h>
#include "boot_mem.h"
#include "frame.h"
#include <hv/console.h>

#define PAGE 4096ULL

static struct boot_mem_info info;

int boot_mem_usable(uint32_t type)
{
	return type == BI_MEM_CONVENTIONAL || type == BI_MEM_BS_CODE || type == BI_MEM_BS_DATA ||
	       type == BI_MEM_LOADER_CODE || type == BI_MEM_LOADER_DATA;
}

/*
 * Clip a map entry to [PAGE, top). Frame 0 stays out of the pool: PC real-mode
 * structures live there, and it leaves room to unmap it later to catch NULL
 * pointers (it is still mapped today).
 */
static int entry_range(const struct bootinfo_mmap_entry *e, uint64_t top, uint64_t *s,
		       uint64_t *t)
{
	*s = e->phys < PAGE ? PAGE : e->phys;
	*t = e->phys + e->pages * PAGE;
	if (*t > top)
		*t = top;
	return boot_mem_usable(e->type) && *s < *t;
}

static int overlaps(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return a < d && c < b;
}

/* Is [s, t) clear of the core image and every module? */
static int clear_of_busy(const struct bootinfo *bi, uint64_t s, uint64_t t)
{
	uint32_t i;

	if (overlaps(s, t, bi->core_phys, bi->core_phys + bi->core_pages * PAGE))
		return 0;
	for (i = 0; i < bi->module_count; i++)
		if (overlaps(s, t, bi->modules[i].phys,
			     bi->modules[i].phys + bi->modules[i].alloc_pages * PAGE))
			return 0;
	return 1;
}

/* Place the metadata at the top of the highest usable entry that holds it. */
static uint64_t place_meta(const struct bootinfo *bi, uint64_t top, uint64_t bytes)
{
	uint64_t best = 0, s, t, at;
	uint32_t i;

	for (i = 0; i < bi->mmap_count; i++) {
		if (!entry_range(&bi->mmap[i], top, &s, &t) || t - s < bytes)
			continue;
		at = (t - bytes) & ~(PAGE - 1);
		if (at >= s && at > best && clear_of_busy(bi, at, at + bytes))
			best = at;
	}
	return best;
}

static int reserve(uint64_t s, uint64_t t, const char *what)
{
	int err = frame_reserve(s, t, FRAME_OWNER_HV);

	if (err)
		kprintf("mm: cannot reserve %s at 0x%llx-0x%llx: %s\n", what,
			(unsigned long long)s, (unsigned long long)t, frame_strerror(err));
	return err;
}

static void span_of_usable(const struct bootinfo *bi, uint64_t top)
{
	uint64_t s, t;
	uint32_t i;

	info.span_lo = UINT64_MAX;
	info.span_hi = 0;
	info.usable_frames = 0;
	for (i = 0; i < bi->mmap_count; i++) {
		if (boot_mem_usable(bi->mmap[i].type))
			info.usable_frames += bi->mmap[i].pages;
		if (!entry_range(&bi->mmap[i], top, &s, &t))
			continue;
		if (s < info.span_lo)
			info.span_lo = s;
		if (t > info.span_hi)
			info.span_hi = t;
	}
}

static void add_usable(const struct bootinfo *bi, uint64_t top)
{
	uint64_t s, t;
	uint32_t i;
	int err;

	for (i = 0; i < bi->mmap_count; i++) {
		if (!entry_range(&bi->mmap[i], top, &s, &t))
			continue;
		err = frame_add_free(s, t);
		if (err)
			kprintf("mm: firmware map entry 0x%llx-0x%llx skipped: %s\n",
				(unsigned long long)s, (unsigned long long)t, frame_strerror(err));
	}
}

int boot_mem_init(const struct bootinfo *bi, uint64_t mapped_top)
{
	uint64_t bytes;
	uint32_t i;
	int err = 0;

	span_of_usable(bi, mapped_top);
	if (info.span_lo >= info.span_hi) {
		kprintf("mm: the firmware map has no usable memory\n");
		return -1;
	}
	bytes = (frame_meta_bytes(info.span_lo, info.span_hi) + PAGE - 1) & ~(PAGE - 1);
	info.meta_phys = place_meta(bi, mapped_top, bytes);
	info.meta_bytes = bytes;
	if (!info.meta_phys) {
		kprintf("mm: no %llu contiguous bytes for frame metadata\n",
			(unsigned long long)bytes);
		return -1;
	}
	err = frame_init(info.span_lo, info.span_hi, (void *)info.meta_phys, bytes);
	if (err) {
		kprintf("mm: frame_init: %s\n", frame_strerror(err));
		return -1;
	}
	add_usable(bi, mapped_top);
	err |= reserve(info.meta_phys, info.meta_phys + bytes, "frame metadata");
	err |= reserve(bi->core_phys, bi->core_phys + bi->core_pages * PAGE, "the core image");
	for (i = 0; i < bi->module_count; i++)
		err |= reserve(bi->modules[i].phys,
			       bi->modules[i].phys + bi->modules[i].alloc_pages * PAGE,
			       bi->modules[i].name);
	return err ? -1 : 0;
}

const struct boot_mem_info *boot_mem_info(void)
{
	return &info;
}
