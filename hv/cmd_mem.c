/* Monitor command 'mem': memory accounting, the firmware's map, a write/read check, a recount of every frame. */
#include <string.h>
#include "commands.h"
#include "console.h"
#include "cmdline.h"
#include <mm/frame.h>
#include <mm/boot_mem.h>
#include <mm/zero_cache.h>
#include <mm/vm_take.h>
#include "hv.h"
#include "vm.h"
#include "harvest.h"
#include "pipe.h"
#include "disk.h"
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
	char sz[24], sz2[24];

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
	mprintf("zero cache:  %u of %u pre-zeroed 2 MiB blocks for growth faults, and %u zeroed 4 KiB frames of one "
		"split for pipes (counted in hypervisor)\n", zero_cache_blocks(), zero_cache_target(),
		zero_cache_split_frames());
	mprintf("reserve:     %u frames kept for the page tables that taking memory back needs (in hypervisor)\n",
		vm_take_reserve_frames());
	mprintf("watermarks:  low %s, high %s ('mem policy')\n", format_size(sz, sizeof(sz), harvest_policy.low),
		format_size(sz2, sizeof(sz2), harvest_policy.high));
	for (int i = 0; i < VM_MAX; i++) {
		const struct vm *vm = vm_slot(i);

		if (vm->state != VM_FREE)
			mprintf("vm %d %-16s %10llu frames backed, %llu frames of nested tables, %llu spare, %llu page "
				"state\n", vm->id, vm->name, (unsigned long long)(vm->mem.backed / FRAME_SIZE),
				(unsigned long long)vm_mem_table_frames(&vm->mem),
				(unsigned long long)vm_mem_spare_frames(&vm->mem),
				(unsigned long long)vm_mem_state_frames(&vm->mem));
	}
	far_show_nodes();
	for (unsigned i = 0; i < PIPE_MAX; i++) {
		const struct pipe *p = pipe_slot(i);

		if (p->used)
			mprintf("pipe %-15s %10llu frames of shared region (owner %u, counted in vms)\n", p->name,
				(unsigned long long)pipe_frames(p), p->owner);
	}
	for (unsigned i = 0; i < DISK_MAX; i++) {
		const struct disk *d = disk_slot(i);

		if (d->used)
			mprintf("disk %-15s %10llu frames of pages and index (owner %u, counted in vms)%s\n", d->name,
				(unsigned long long)disk_pool_frames(d), d->owner,
				d->node ? "; its pages are the node's" : "");
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
	for (unsigned i = 0; i < PIPE_MAX; i++) {
		const struct pipe *p = pipe_slot(i);

		if (!p->used)
			continue;
		bad += pipe_verify(p, why, sizeof(why)) != 0;
		mprintf("mem verify: pipe %s: %s\n", p->name, why);
	}
	for (unsigned i = 0; i < DISK_MAX; i++) {
		const struct disk *d = disk_slot(i);

		if (!d->used)
			continue;
		bad += disk_verify(d, why, sizeof(why)) != 0;
		mprintf("mem verify: disk %s: %s\n", d->name, why);
	}
	bad += far_verify_nodes();
	if (bad)
		return cmd_error(ctx, "mem verify: %d difference%s found", bad, bad == 1 ? "" : "s");
	mprintf("mem verify: ok\n");
	return 0;
}

/* mem reclaim [VM] [SIZE]: take unpinned volatile and zero pages back now, and say from where. */
int cmd_mem_reclaim(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct harvest_report rep = { 0 };
	struct vm *vm = NULL;
	uint64_t bytes = 0, got, free_before, t0;
	struct frame_stats st;
	const char *why;
	char a[24], b[24], c[24];
	int i = 0;

	if (argc > i && !vm_find(argv[i]) && parse_size(argv[i], &bytes, &why))
		return cmd_error(ctx, "mem reclaim: no VM '%s' (see 'vm list') and not a size: %s", argv[i], why);
	if (argc > i && (vm = vm_find(argv[i])))
		i++;
	if (argc > i && parse_size(argv[i], &bytes, &why))
		return cmd_error(ctx, "mem reclaim: '%s': %s", argv[i], why);
	if (vm && vm->mem.mode == VM_MEM_STATIC)
		return cmd_error(ctx, "mem reclaim: '%s' is static: it keeps all of its max", vm->name);
	if (bytes % FRAME_SIZE)
		return cmd_error(ctx, "mem reclaim: '%s': a multiple of 4 KiB, please", argv[argc - 1]);
	frame_get_stats(&st);
	free_before = st.free;
	t0 = rdtsc();
	got = harvest_run(vm, bytes, true, false, 0, &rep);
	t0 = rdtsc() - t0;
	frame_get_stats(&st);
	mprintf("mem reclaim: %s back (volatile %s, zero %s) from %u VM%s; the pool has %llu more frames free; "
		"%llu TSC ticks\n", format_size(a, sizeof(a), got), format_size(b, sizeof(b), rep.volatile_bytes),
		format_size(c, sizeof(c), rep.zero_bytes), rep.vms, rep.vms == 1 ? "" : "s",
		(unsigned long long)(st.free - free_before), (unsigned long long)t0);
	return 0;
}

/* One settable policy value: its name, where it lives, and how it is read and shown. */
struct policy_key {
	const char *name;
	enum { KEY_SIZE, KEY_COUNT, KEY_BOOL } kind;
	void *at;
	uint64_t lo, hi; /* KEY_COUNT: allowed range */
};

static const struct policy_key policy_keys[] = {
	{ "low", KEY_SIZE, &harvest_policy.low, 0, 0 },
	{ "high", KEY_SIZE, &harvest_policy.high, 0, 0 },
	{ "period", KEY_COUNT, &harvest_policy.period_ms, 0, 600000 },
	{ "window", KEY_COUNT, &harvest_policy.window, 1, PG_AGE_MAX },
	{ "idle", KEY_COUNT, &harvest_policy.idle_age, 1, PG_AGE_MAX },
	{ "ahead", KEY_COUNT, &harvest_policy.ahead, 0, 512 },
	{ "split", KEY_BOOL, &harvest_policy.split, 0, 1 },
	{ "harvest", KEY_BOOL, &harvest_policy.enabled, 0, 1 },
	{ "probe", KEY_BOOL, &harvest_policy.probe, 0, 1 },
};

static void show_policy(void)
{
	const struct harvest_policy *p = &harvest_policy;
	char a[24], b[24];

	mprintf("policy: harvest=%s low=%s high=%s (watermarks: reclaim below low up to high), period=%u ms "
		"between scans, window=%u scans (working set), idle=%u scans, ahead=%u pages (fault-around), "
		"split=%s, probe=%s (working sets from %s)\n", p->enabled ? "on" : "off", format_size(a, sizeof(a), p->low),
		format_size(b, sizeof(b), p->high), p->period_ms, p->window, p->idle_age, p->ahead,
		p->split ? "on" : "off", p->probe ? "on" : "off",
		p->probe ? "faults: each scan takes the access away" : "the nested accessed bits");
}

/* mem policy [KEY=VALUE ...]: every value is checked before any is set. */
int cmd_mem_policy(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct harvest_policy p = harvest_policy;

	for (int i = 0; i < argc; i++) {
		const struct policy_key *k = NULL;
		const char *eq = strchr(argv[i], '='), *why;
		uint64_t v;
		void *at;

		for (unsigned j = 0; eq && j < sizeof(policy_keys) / sizeof(policy_keys[0]); j++)
			if (strlen(policy_keys[j].name) == (size_t)(eq - argv[i]) &&
			    !strncmp(policy_keys[j].name, argv[i], (size_t)(eq - argv[i])))
				k = &policy_keys[j];
		if (!k)
			return cmd_error(ctx, "mem policy: '%s': KEY=VALUE with KEY harvest, low, high, period, window, "
					 "idle, ahead, split or probe", argv[i]);
		at = (char *)&p + ((char *)k->at - (char *)&harvest_policy);
		if (k->kind == KEY_BOOL) {
			if (strcmp(eq + 1, "on") && strcmp(eq + 1, "off"))
				return cmd_error(ctx, "mem policy: %s: on or off", argv[i]);
			*(bool *)at = !strcmp(eq + 1, "on");
			continue;
		}
		if (k->kind == KEY_SIZE ? parse_size(eq + 1, &v, &why) : parse_uint(eq + 1, &v, &why))
			return cmd_error(ctx, "mem policy: %s: %s", argv[i], why);
		if (k->kind == KEY_COUNT && (v < k->lo || v > k->hi))
			return cmd_error(ctx, "mem policy: %s: between %llu and %llu", argv[i],
					 (unsigned long long)k->lo, (unsigned long long)k->hi);
		if (k->kind == KEY_SIZE)
			*(uint64_t *)at = v;
		else
			*(unsigned *)at = (unsigned)v;
	}
	if (!p.probe && harvest_policy.probe && !p.hw_ad)
		return cmd_error(ctx, "mem policy: probe=off: the CPU keeps no accessed bits in its nested page "
				 "tables, faults are the only way to see accesses");
	if (p.low > p.high)
		return cmd_error(ctx, "mem policy: low (%llu KiB) is above high (%llu KiB)",
				 (unsigned long long)(p.low >> 10), (unsigned long long)(p.high >> 10));
	harvest_policy = p;
	for (int i = 0; i < VM_MAX; i++)
		if (vm_slot(i)->state != VM_FREE)
			harvest_apply(vm_slot(i));
	show_policy();
	return 0;
}
