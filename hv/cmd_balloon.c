/* Monitor command 'vm balloon' and the balloon's lines in 'vm info' (hv/balloon.c). */
#include <stdio.h>
#include <emhv/x86.h>
#include "arch/x86_64/timer.h"
#include "balloon.h"
#include "cmdline.h"
#include "commands.h"
#include "console.h"
#include "vm.h"

static const char *const stat_names[] = {
	[BALLOON_S_SWAP_IN] = "swap-in", [BALLOON_S_SWAP_OUT] = "swap-out", [BALLOON_S_MAJFLT] = "major-faults",
	[BALLOON_S_MINFLT] = "minor-faults", [BALLOON_S_MEMFREE] = "free", [BALLOON_S_MEMTOT] = "total",
	[BALLOON_S_AVAIL] = "available", [BALLOON_S_CACHES] = "caches",
};

void show_balloon(const struct vm *vm)
{
	const struct balloon *b = balloon_of(vm);
	unsigned shown = 0;

	if (!b)
		return;
	if (vm->start_tsc && b->target_tsc > vm->start_tsc)
		mprintf("balloon target set %llu TSC ticks after start\n",
			(unsigned long long)(b->target_tsc - vm->start_tsc));
	mprintf("balloon: target %llu KiB, the guest says it holds %llu KiB; pages inflated %llu, deflated %llu, "
		"refused %llu%s%s%s\n", (unsigned long long)b->target * 4, (unsigned long long)b->actual * 4,
		(unsigned long long)b->inflated, (unsigned long long)b->deflated, (unsigned long long)b->refused,
		b->last_refused[0] ? " (last: " : "", b->last_refused, b->last_refused[0] ? ")" : "");
	mprintf("reports: %llu free-page reports of %llu KiB; %llu KiB back to the pool from balloon and reports\n",
		(unsigned long long)b->reports, (unsigned long long)(b->reported_bytes >> 10),
		(unsigned long long)b->returned * 4);
	if (b->burst.frames[0] | b->burst.frames[1]) {
		char first[2][24]; /* each source's first buffer, in ticks after start, or "-" */

		for (unsigned k = 0; k < 2; k++)
			if (b->burst.first[k])
				snprintf(first[k], sizeof(first[k]), "%llu",
					 (unsigned long long)(b->burst.first[k] - vm->start_tsc));
			else
				snprintf(first[k], sizeof(first[k]), "-");
		mprintf("last give-back: %llu KiB inflated and %llu KiB reported, from %llu to %llu TSC ticks after "
			"start, %llu ticks handling it; its first inflate buffer %s, its first report %s TSC ticks "
			"after start\n", (unsigned long long)b->burst.frames[0] * 4,
			(unsigned long long)b->burst.frames[1] * 4, (unsigned long long)(b->burst.start - vm->start_tsc),
			(unsigned long long)(b->burst.end - vm->start_tsc), (unsigned long long)b->burst.busy, first[0],
			first[1]);
	}
	if (!b->stats_seen) {
		mprintf("guest stats: none yet\n");
		return;
	}
	mprintf("guest stats (%llu ms old):", (unsigned long long)((rdtsc() - b->stats_tsc) / (tsc_hz() / 1000)));
	for (unsigned t = 0; t < sizeof(stat_names) / sizeof(stat_names[0]); t++) {
		if (!(b->stats_seen & (1u << t)))
			continue;
		if (t == BALLOON_S_MEMFREE || t == BALLOON_S_MEMTOT || t == BALLOON_S_AVAIL || t == BALLOON_S_CACHES ||
		    t == BALLOON_S_SWAP_IN || t == BALLOON_S_SWAP_OUT)
			mprintf("%s %s %llu KiB", shown++ ? "," : "", stat_names[t], (unsigned long long)(b->stats[t] >> 10));
		else
			mprintf("%s %s %llu", shown++ ? "," : "", stat_names[t], (unsigned long long)b->stats[t]);
	}
	mprintf("\n");
}

/* vm balloon VM SIZE: the balloon's target size */
int cmd_vm_balloon(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vm *vm = vm_find(argv[0]);
	struct balloon *b;
	const char *why;
	char err[160];
	uint64_t size;

	(void)argc;
	if (!vm)
		return cmd_error(ctx, "vm balloon: no VM '%s' (see 'vm list')", argv[0]);
	b = balloon_of(vm);
	if (!b)
		return cmd_error(ctx, "vm balloon %s: it has no balloon (create it with balloon=on)", vm->name);
	if (parse_size(argv[1], &size, &why))
		return cmd_error(ctx, "vm balloon %s: '%s': %s", vm->name, argv[1], why);
	if (balloon_set_target(b, size, err, sizeof(err)))
		return cmd_error(ctx, "vm balloon %s: %s", vm->name, err);
	mprintf("vm %s: balloon target %llu KiB\n", vm->name, (unsigned long long)(size >> 10));
	return 0;
}
