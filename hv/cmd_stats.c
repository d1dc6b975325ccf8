/* Monitor command 'stats': VM exits by kind with their cost in TSC ticks, growth faults by size. */
#include <string.h>
#include "arch/x86_64/cpu.h"
#include "commands.h"
#include "console.h"
#include "stats.h"
#include "vm_exit.h"
#include "arch/x86_64/nmi.h"

static unsigned long long avg(uint64_t sum, uint64_t n)
{
	return n ? (unsigned long long)(sum / n) : 0;
}

int cmd_stats(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const char *const grow_names[STAT_FAR] = { "4k", "2m" };
	const struct hv_stats *s = &hv_stats;

	if (argc == 1) {
		if (strcmp(argv[0], "reset"))
			return cmd_error(ctx, "stats: unknown subcommand '%s' (usage: stats [reset])", argv[0]);
		stats_reset();
		mprintf("stats: counters reset\n");
		return 0;
	}
	mprintf("since reset: %llu TSC ticks\n", (unsigned long long)(rdtsc() - s->start_tsc));
	mprintf("%-16s %12s %16s %12s %12s\n", "exit", "count", "tsc total", "tsc/exit", "tsc max");
	for (int k = 0; k < VEXIT_NKINDS; k++)
		if (s->exits[k])
			mprintf("%-16s %12llu %16llu %12llu %12llu\n", stats_exit_name(k),
				(unsigned long long)s->exits[k], (unsigned long long)s->exit_tsc[k],
				avg(s->exit_tsc[k], s->exits[k]), (unsigned long long)s->exit_tsc_max[k]);
	for (int k = 0; k < STAT_FAR; k++)
		mprintf("growth %s: %llu faults, %llu tsc/fault, %llu tsc/fault without zeroing (VM exit to VM entry)\n", grow_names[k],
			(unsigned long long)s->grow[k], avg(s->grow_tsc[k], s->grow[k]),
			avg(s->grow_tsc[k] - s->grow_zero_tsc[k], s->grow[k]));
	mprintf("far faults: %llu, %llu tsc/fault, %llu tsc at most (VM exit to VM entry: the page copies in, the "
		"latency's wait and warp not)\n", (unsigned long long)s->grow[STAT_FAR], avg(s->grow_tsc[STAT_FAR],
		s->grow[STAT_FAR]), (unsigned long long)s->grow_max[STAT_FAR]);
	far_show_totals();
	mprintf("io to ports without a device: %llu\n", (unsigned long long)s->io_unclaimed);
	mprintf("msr accesses answered with #GP: %llu\n", (unsigned long long)s->msr_gp);
	mprintf("mmio accesses emulated: %llu\n", (unsigned long long)s->mmio);
	mprintf("harvest steps: %llu, %llu tsc in all, %llu tsc at most (between slices)\n",
		(unsigned long long)s->harvest_steps, (unsigned long long)s->harvest_tsc,
		(unsigned long long)s->harvest_tsc_max);
	for (int k = 0; k < VINSN_NKINDS; k++)
		if (s->insn[k])
			mprintf("instruction %s: %llu\n", vm_exit_insn_name(k), (unsigned long long)s->insn[k]);
	mprintf("nmis taken by the host: %llu, machine checks: %llu\n", (unsigned long long)nmi_count(),
		(unsigned long long)mce_count());
	return 0;
}
