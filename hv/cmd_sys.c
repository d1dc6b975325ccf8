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

/* One entry: usage and help on one line, or on two when the usage is long. */
static void help_line(const char *prefix, const struct command *c)
{
	char usage[160];

	snprintf(usage, sizeof(usage), "%s%s%s%s%s", prefix, *prefix ? " " : "", c->name, *c->args ? " " : "",
		 c->args);
	if (strlen(usage) <= 24)
		mprintf("  %-24s %s\n", usage, c->help);
	else
		mprintf("  %s\n  %-24s %s\n", usage, "", c->help);
}

int cmd_help(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct command *table = commands, *c = NULL;
	unsigned n = command_count;
	char prefix[48] = "";

	if (!argc) {
		for (unsigned i = 0; i < command_count; i++)
			help_line("", &commands[i]);
		mprintf("sizes take K, M, G or T suffixes (powers of 1024); 'help COMMAND' shows its subcommands\n");
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		if (i) {
			size_t len = strlen(prefix);

			snprintf(prefix + len, sizeof(prefix) - len, "%s%s", len ? " " : "", c->name);
		}
		c = table ? monitor_find(table, n, argv[i]) : NULL;
		if (!c)
			return cmd_error(ctx, "help: unknown command '%s%s%s'", prefix, *prefix ? " " : "", argv[i]);
		table = c->subs;
		n = c->nsubs;
	}
	help_line(prefix, c);
	if (*prefix)
		snprintf(prefix + strlen(prefix), sizeof(prefix) - strlen(prefix), " %s", c->name);
	else
		snprintf(prefix, sizeof(prefix), "%s", c->name);
	for (unsigned i = 0; i < c->nsubs; i++)
		help_line(prefix, &c->subs[i]);
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
	console_flush();
	power_off();
	return cmd_error(ctx, "shutdown: the firmware did not power the machine off");
}

int cmd_reboot(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	mprintf("rebooting\n");
	console_flush();
	power_reset();
}
