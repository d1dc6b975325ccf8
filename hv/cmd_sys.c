/* Monitor commands about the hypervisor itself: help, version, cpu, log, uptime, power. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include <arch/x86_64/virt.h>
#include "console.h"
#include "version.h"
#include <arch/x86_64/cpuinfo.h>
#include <arch/x86_64/timer.h>
#include <arch/x86_64/power.h>
#include <arch/x86_64/cpu.h>

#include "hv.h"

int cmd_help(struct cmd_ctx *ctx, int argc, char **argv)
{
	unsigned i;

	for (i = 0; i < command_count; i++) {
		const struct command *c = &commands[i];
		char usage[48];

		if (argc && strcmp(argv[0], c->name))
			continue;
		snprintf(usage, sizeof(usage), "%s %s", c->name, c->args);
		mprintf("  %-24s %s\n", usage, c->help);
		if (argc)
			return 0;
	}
	if (argc)
		return cmd_error(ctx, "help: unknown command '%s'", argv[0]);
	mprintf("sizes take K, M, G or T suffixes (powers of 1024)\n");
	return 0;
}

int cmd_version(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	mprintf("emhv %s (git %s)\n", EMHV_VERSION, EMHV_GIT);
	return 0;
}

int cmd_cpu(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct virt_backend *b = virt_get();

	(void)ctx, (void)argc, (void)argv;
	cpu_describe(mprintf);
	if (b)
		mprintf("backend in use: %s\n", b->name);
	else
		mprintf("backend in use: none (%s)\n", virt_failure());
	return 0;
}

static void print_piece(const char *s, size_t n)
{
	console_write(s, n);
}

int cmd_log(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	log_for_each(print_piece);
	return 0;
}

int cmd_uptime(struct cmd_ctx *ctx, int argc, char **argv)
{
	uint64_t ticks = rdtsc() - hv_start_tsc, us = tsc_to_us(ticks);

	(void)ctx, (void)argc, (void)argv;
	mprintf("up %llu.%06llu s (%llu TSC ticks at %llu Hz, %llu timer interrupts, "
		"%llu console input bytes dropped)\n",
		(unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
		(unsigned long long)ticks, (unsigned long long)tsc_hz(),
		(unsigned long long)apic_timer_ticks(),
		(unsigned long long)console_input_dropped());
	return 0;
}

int cmd_shutdown(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc, (void)argv;
	mprintf("powering off\n");
	power_off();
	return cmd_error(ctx, "shutdown: the firmware did not power the machine off");
}

int cmd_reboot(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	mprintf("rebooting\n");
	power_reset();
}
