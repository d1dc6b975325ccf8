/* The monitor's command table: one line per command, with its usage and help. */
#include "cmdline.h"
#include "commands.h"

const struct command commands[] = {
	{ "help", "[COMMAND]", "list the commands, or show one", cmd_help, 0, 1 },
	{ "version", "", "show the emhv version", cmd_version, 0, 0 },
	{ "cpu", "", "show the CPU and its virtualization capabilities", cmd_cpu, 0, 0 },
	{ "mem", "[map | check SIZE | zero-cache SIZE]",
	  "show memory accounting; 'map': the firmware's memory map; "
	  "'check SIZE': write and verify SIZE of free memory; "
	  "'zero-cache SIZE': hold SIZE of pre-zeroed 2 MiB blocks for growth faults",
	  cmd_mem, 0, 2 },
	{ "vm", "create|list|info|start|pause|resume|stop|destroy|console|send ...",
	  "VMs: 'vm create NAME image=FILE min=SIZE max=SIZE [mode=elastic|static] [grow=2m|4k] [ARGS...]', "
	  "'vm list', 'vm info VM', 'vm start|pause|resume|stop|destroy VM', 'vm console VM [-f]', "
	  "'vm send VM TEXT'",
	  cmd_vm, 1, CMD_MAX_ARGS - 1 },
	{ "stats", "[reset]", "VM exits by kind with their cost in TSC ticks, growth faults; 'reset' zeroes them",
	  cmd_stats, 0, 1 },
	{ "log", "", "show the hypervisor log (boot messages)", cmd_log, 0, 0 },
	{ "uptime", "", "show the time since the core started", cmd_uptime, 0, 0 },
	{ "shutdown", "", "power the machine off", cmd_shutdown, 0, 0 },
	{ "reboot", "", "reset the machine", cmd_reboot, 0, 0 },
};

const unsigned command_count = sizeof(commands) / sizeof(commands[0]);
