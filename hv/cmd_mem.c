/* Monitor command 'mem': memory accounting, the firmware's map, a write/read check, a recount of every frame. */
#include <string.h>
#include "commands.h"
#include "console.h"
#include "cmdline.h"
#include <mm/frame.h>
#include <mm/boot_mem.h>
#include <mm/zero_cache.h>
#include "hv.h"
#include "vm.h"
#include <arch/x86_64/cpu.h>

#define CHECK_MAX_BLOCKS 4096

static const char *const type_names[BI_MEM_TYPE_COUNT] = {
	"reserved", "loader code", "loader data", "boot code", "boot data",
	"runtime code", "runtime data", "conventional", "unusable", "ACPI reclaim",
	"ACPI NVS", "MMIO", "MMIO port", "PAL code", "persistent",
};

static void show_frames(const char *what, uint64_t frames)
{
	char sz[24];

	mprintf("%-12s %10llu frames  %s\n", what, (unsigned long long)frames,
		format_size(sz, sizeof(sz), frames * FRAME_SIZE));
}

static void show_free_blocks(const struct frame_stats *st)
{
	static const char *const unit = "KMG";
	int o;

	mprintf("free blocks:");
	for (o = 0; o <= FRAME_MAX_ORDER; o++) {
		uint64_t kib = 4ULL << o;
		int u = 0;

		while (kib >= 1024 && kib % 1024 == 0 && u < 2) {
			kib /= 1024;
			u++;
		}
		mprintf(" %llu%c:%llu", (unsigned long long)kib, unit[u],
			(unsigned long long)st->free_blocks[o]);
	}
	mprintf("\n");
}

int cmd_mem(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct boot_mem_info *bm = boot_mem_info();
	struct frame_stats st;
	char sz[24];

	(void)ctx, (void)argc, (void)argv;
	frame_get_stats(&st);
	show_frames("owned:", st.owned);
	show_frames("free:", st.free);
	show_frames("hypervisor:", st.hv);
	show_frames("vms:", st.vms);
	mprintf("identity:    free + hypervisor + vms = %llu, owned = %llu (%s; 'mem verify' recounts the frames)\n",
		(unsigned long long)(st.free + st.hv + st.vms), (unsigned long long)st.owned,
		st.free + st.hv + st.vms == st.owned ? "holds" : "BROKEN");
	mprintf("largest free block: %s\n",
		st.largest_free_order < 0
			? "none"
			: format_size(sz, sizeof(sz), FRAME_SIZE << st.largest_free_order));
	show_free_blocks(&st);
	mprintf("zero cache:  %u of %u pre-zeroed 2 MiB blocks for growth faults (counted in hypervisor)\n",
		zero_cache_blocks(), zero_cache_target());
	for (int i = 0; i < VM_MAX; i++) {
		const struct vm *vm = vm_slot(i);

		if (vm->state != VM_FREE)
			mprintf("vm %d %-16s %10llu frames backed, %llu frames of nested tables, %llu spare\n",
				vm->id, vm->name, (unsigned long long)(vm->mem.backed / FRAME_SIZE),
				(unsigned long long)vm_mem_table_frames(&vm->mem),
				(unsigned long long)vm_mem_spare_frames(&vm->mem));
	}
	show_frames("firmware usable:", bm->usable_frames);
	mprintf("frame metadata: %d bytes per 4 KiB frame, %s at 0x%llx\n", FRAME_META_ENTRY_BYTES,
		format_size(sz, sizeof(sz), bm->meta_bytes), (unsigned long long)bm->meta_phys);
	return 0;
}

int cmd_mem_map(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct bootinfo *bi = hv_bootinfo();
	uint32_t i;

	(void)ctx, (void)argc, (void)argv;
	mprintf("%-18s %-18s %10s  %-13s %s\n", "start", "end", "pages", "type", "attributes");
	for (i = 0; i < bi->mmap_count; i++) {
		const struct bootinfo_mmap_entry *e = &bi->mmap[i];

		mprintf("0x%016llx 0x%016llx %10llu  %-13s 0x%llx\n", (unsigned long long)e->phys,
			(unsigned long long)(e->phys + e->pages * FRAME_SIZE - 1),
			(unsigned long long)e->pages,
			e->type < BI_MEM_TYPE_COUNT ? type_names[e->type] : "unknown",
			(unsigned long long)e->attr);
	}
	if (bi->mmap_dropped)
		mprintf("(%u more entries not kept)\n", bi->mmap_dropped);
	return 0;
}

static int floor_order(uint64_t frames)
{
	int o = 0;

	while (o < FRAME_MAX_ORDER && (2ULL << o) <= frames)
		o++;
	return o;
}

/* Take frames from the pool in the largest blocks that fit; returns the block count. */
static int check_take(uint64_t frames, paddr_t *blk, int *ord)
{
	int n = 0;

	while (frames && n < CHECK_MAX_BLOCKS) {
		int o = floor_order(frames);
		paddr_t pa = FRAME_NONE;

		while (o >= 0 && (pa = frame_alloc(o, FRAME_OWNER_HV)) == FRAME_NONE)
			o--;
		if (pa == FRAME_NONE)
			break;
		blk[n] = pa;
		ord[n++] = o;
		frames -= 1ULL << o;
	}
	return frames ? -n - 1 : n;
}

static uint64_t check_pattern(paddr_t pa, int order, int write)
{
	volatile uint64_t *p = (volatile uint64_t *)pa;
	uint64_t i, words = (FRAME_SIZE << order) / 8, bad = 0;

	for (i = 0; i < words; i++) {
		uint64_t v = (pa + i * 8) * 0x9e3779b97f4a7c15ULL;

		if (write)
			p[i] = v;
		else
			bad += p[i] != v;
	}
	return bad;
}

int cmd_mem_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *arg = argv[0];
	static paddr_t blk[CHECK_MAX_BLOCKS];
	static int ord[CHECK_MAX_BLOCKS];
	struct frame_stats st;
	uint64_t bytes, frames, bad = 0;
	const char *why;
	char sz[24];
	int n, i;

	(void)argc;
	if (parse_size(arg, &bytes, &why))
		return cmd_error(ctx, "mem check: '%s': %s", arg, why);
	frames = (bytes + FRAME_SIZE - 1) / FRAME_SIZE;
	frame_get_stats(&st);
	if (frames == 0 || frames > st.free)
		return cmd_error(ctx, "mem check: %s: must be between 1 byte and the %s free",
				 arg, format_size(sz, sizeof(sz), st.free * FRAME_SIZE));
	n = check_take(frames, blk, ord);
	if (n < 0) {
		for (i = 0; i < -n - 1; i++)
			frame_free(blk[i], ord[i], FRAME_OWNER_HV);
		return cmd_error(ctx, "mem check: free memory too fragmented for %s", arg);
	}
	for (i = 0; i < n; i++)
		check_pattern(blk[i], ord[i], 1);
	for (i = 0; i < n; i++) {
		bad += check_pattern(blk[i], ord[i], 0);
		frame_free(blk[i], ord[i], FRAME_OWNER_HV);
	}
	mprintf("mem check: %s in %d blocks written and read back: %llu bad words\n",
		format_size(sz, sizeof(sz), frames * FRAME_SIZE), n, (unsigned long long)bad);
	return bad ? -1 : 0;
}

/* How much pre-zeroed memory to hold for growth faults (a multiple of 2 MiB). */
int cmd_mem_zero_cache(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *arg = argv[0], *why;
	uint64_t bytes;

	(void)argc;
	if (parse_size(arg, &bytes, &why))
		return cmd_error(ctx, "mem zero-cache: '%s': %s", arg, why);
	if (bytes % (2 << 20) || bytes / (2 << 20) > ZERO_CACHE_MAX_BLOCKS)
		return cmd_error(ctx, "mem zero-cache: '%s': must be a multiple of 2 MiB up to %d MiB", arg,
				 ZERO_CACHE_MAX_BLOCKS * 2);
	zero_cache_set_target((unsigned)(bytes / (2 << 20)));
	zero_cache_fill();
	mprintf("zero cache: %u of %u blocks of 2 MiB zeroed\n", zero_cache_blocks(), zero_cache_target());
	return 0;
}

/*
 * Recount every frame from the allocator's metadata (not from its counters,
 * which move in pairs and so always agree), and each VM's RAM and tables
 * from its nested page tables; print every difference. Tests run it after
 * every scenario.
 */
int cmd_mem_verify(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct frame_stats st;
	int err = frame_check(), bad = 0;
	char why[192];

	(void)argc, (void)argv;
	frame_get_stats(&st);
	if (err) {
		mprintf("mem verify: frame metadata: %s\n", frame_strerror(err));
		bad++;
	} else {
		uint64_t vms = 0;

		for (unsigned o = 1; o < FRAME_MAX_OWNERS; o++)
			vms += frame_counted_frames(o);
		mprintf("mem verify: frame metadata: %llu frames owned: %llu free, %llu hypervisor, %llu vms, as "
			"counted\n", (unsigned long long)st.owned, (unsigned long long)st.free,
			(unsigned long long)frame_counted_frames(FRAME_OWNER_HV), (unsigned long long)vms);
	}
	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = vm_slot(i);

		if (vm->state == VM_FREE)
			continue;
		bad += vm_mem_verify(&vm->mem, why, sizeof(why)) != 0;
		mprintf("mem verify: vm %d (%s): %s\n", vm->id, vm->name, why);
	}
	if (bad)
		return cmd_error(ctx, "mem verify: %d difference%s found", bad, bad == 1 ? "" : "s");
	mprintf("mem verify: ok\n");
	return 0;
}
