/* Place a static ELF64 guest in its VM's memory and build its entry state (include/emhv/guest_boot.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <emhv/elf64.h>
#include "arch/x86_64/timer.h"
#include "hv.h"
#include "vm.h"
#include "vm_load.h"
#include <emhv/x86_paging.h>
#include <emhv/x86_regs.h>

#define GUEST_TSS_GPA (EMHV_GUEST_GDT_GPA + 0x100)
#define GUEST_TSS_LIMIT 103
#define CR0_BOOT (CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE)
#define CR4_BOOT (CR4_OSXMMEXCPT | CR4_OSFXSR | CR4_PAE)
#define EFER_BOOT (EFER_NXE | EFER_LMA | EFER_LME)

/* Identity-map [0, max rounded up to 2 MiB) with 2 MiB pages: PML4 -> PDPT -> one PD per GiB. */
static int build_page_tables(struct vm *vm)
{
	uint64_t pml4e = EMHV_GUEST_PDPT_GPA | PTE_P | PTE_W, pde;
	uint64_t span = (vm->mem.max + 0x1fffff) & ~0x1fffffULL, gpa;

	if (vm_mem_write(&vm->mem, EMHV_GUEST_PML4_GPA, &pml4e, 8))
		return -1;
	for (uint64_t gib = 0; gib * (1ULL << 30) < span; gib++) {
		uint64_t pdpte = (EMHV_GUEST_PD_GPA + gib * 0x1000) | PTE_P | PTE_W;

		if (vm_mem_write(&vm->mem, EMHV_GUEST_PDPT_GPA + gib * 8, &pdpte, 8))
			return -1;
	}
	for (gpa = 0; gpa < span; gpa += 0x200000) {
		pde = gpa | PTE_P | PTE_W | PTE_PS;
		if (vm_mem_write(&vm->mem, EMHV_GUEST_PD_GPA + (gpa >> 21) * 8, &pde, 8))
			return -1;
	}
	return 0;
}

/* GDT: null, 64-bit code at cs, data at ds (the next selector), the TSS after it (16 bytes). */
static int build_gdt(struct vm *vm, uint16_t cs, uint16_t *tr, uint16_t *limit)
{
	uint64_t tss = GUEST_TSS_GPA, gdt[8] = { 0 };
	unsigned c = cs / 8;

	if (c == 0 || c + 4 > 8)
		return -1;
	gdt[c] = 0x00af9b000000ffffULL;
	gdt[c + 1] = 0x00cf93000000ffffULL;
	gdt[c + 2] = GUEST_TSS_LIMIT | ((tss & 0xffffff) << 16) | (0x8bULL << 40) | (((tss >> 24) & 0xff) << 56);
	gdt[c + 3] = tss >> 32;
	*tr = (uint16_t)((c + 2) * 8);
	*limit = (uint16_t)((c + 4) * 8 - 1);
	return vm_mem_write(&vm->mem, EMHV_GUEST_GDT_GPA, gdt, (c + 4) * 8);
}

int vm_load_boot_cpu(struct vm *vm, uint16_t cs, struct vcpu_boot_state *bs)
{
	uint16_t tr, limit;

	if (build_page_tables(vm) || build_gdt(vm, cs, &tr, &limit))
		return -1;
	*bs = (struct vcpu_boot_state){
		.rflags = 2, .cr0 = CR0_BOOT, .cr3 = EMHV_GUEST_PML4_GPA, .cr4 = CR4_BOOT, .efer = EFER_BOOT,
		.gdt_base = EMHV_GUEST_GDT_GPA, .gdt_limit = limit, .tr_base = GUEST_TSS_GPA, .tr_limit = GUEST_TSS_LIMIT,
		.cs = cs, .ds = cs + 8, .tr = tr,
	};
	return 0;
}

static int build_boot_params(struct vm *vm, const struct vm_config *c, uint64_t free_start,
			     uint64_t stack_top, char *why, size_t n)
{
	static struct emhv_boot_params bp;
	size_t used = 0;

	memset(&bp, 0, sizeof(bp));
	bp.magic = EMHV_BOOT_MAGIC;
	bp.abi_version = EMHV_ABI_VERSION;
	bp.vm_id = (uint32_t)vm->id;
	bp.mem_min = vm->mem.min;
	bp.mem_max = vm->mem.max;
	bp.free_start = free_start;
	bp.stack_top = stack_top;
	bp.tsc_khz = tsc_hz() / 1000;
	snprintf(bp.name, sizeof(bp.name), "%s", vm->name);
	if (c->argc > EMHV_BOOT_MAX_ARGS) {
		snprintf(why, n, "too many guest arguments (at most %d)", EMHV_BOOT_MAX_ARGS);
		return -1;
	}
	for (int i = 0; i < c->argc; i++) {
		size_t len = strlen(c->argv[i]) + 1;

		if (used + len > sizeof(bp.args)) {
			snprintf(why, n, "guest arguments longer than %zu bytes", sizeof(bp.args));
			return -1;
		}
		memcpy(bp.args + used, c->argv[i], len);
		bp.argv[i] = EMHV_BOOT_PARAMS_GPA + offsetof(struct emhv_boot_params, args) + used;
		used += len;
	}
	bp.argc = (uint32_t)c->argc;
	return vm_mem_write(&vm->mem, EMHV_BOOT_PARAMS_GPA, &bp, sizeof(bp));
}

static int load_segments(struct vm *vm, const uint8_t *file, const struct elf64_image *img)
{
	for (int i = 0; i < img->nseg; i++) {
		const struct elf64_segment *s = &img->seg[i];

		if (vm_mem_write(&vm->mem, s->vaddr, file + s->offset, s->filesz))
			return -1;
	}
	return 0;
}

int vm_load(struct vm *vm, const struct vm_config *c, const void *file, uint64_t size,
	    struct vcpu_boot_state *bs, char *why, size_t n)
{
	struct elf64_image img;
	const char *reason;
	uint64_t stack_top, free_start;

	if (elf64_parse(file, size, vm->mem.max, &img, &reason)) {
		snprintf(why, n, "image '%s': %s", c->image, reason);
		return -1;
	}
	if (img.type != ELF64_ET_EXEC || img.lo < EMHV_GUEST_IMAGE_BASE) {
		snprintf(why, n, "image '%s': not a static executable linked at or above 0x%llx", c->image,
			 (unsigned long long)EMHV_GUEST_IMAGE_BASE);
		return -1;
	}
	stack_top = img.hi + EMHV_GUEST_STACK_SIZE;
	free_start = stack_top;
	if (free_start > vm->mem.min) {
		snprintf(why, n, "min %llu KiB is too small: image '%s' and its stack need %llu KiB",
			 (unsigned long long)(vm->mem.min >> 10), c->image,
			 (unsigned long long)(free_start >> 10));
		return -1;
	}
	if (img.entry < img.lo || img.entry >= img.hi) {
		snprintf(why, n, "image '%s': entry point outside its segments", c->image);
		return -1;
	}
	_Static_assert(EMHV_GUEST_DS == EMHV_GUEST_CS + 8, "data follows code in the GDT");
	if (load_segments(vm, file, &img) || vm_load_boot_cpu(vm, EMHV_GUEST_CS, bs) ||
	    build_boot_params(vm, c, free_start, stack_top, why, n)) {
		if (!why[0])
			snprintf(why, n, "could not write the guest's boot structures");
		return -1;
	}
	bs->rip = img.entry;
	bs->rsp = stack_top;
	bs->rdi = EMHV_BOOT_PARAMS_GPA;
	return 0;
}

void vm_load_set_bounds(struct vm *vm)
{
	uint64_t bounds[2] = { vm->mem.min, vm->mem.max };

	_Static_assert(offsetof(struct emhv_boot_params, mem_max) ==
			       offsetof(struct emhv_boot_params, mem_min) + sizeof(uint64_t),
		       "mem_min and mem_max are neighbours");
	vm_mem_write(&vm->mem, EMHV_BOOT_PARAMS_GPA + offsetof(struct emhv_boot_params, mem_min), bounds,
		     sizeof(bounds));
}
