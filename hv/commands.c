/* The monitor's command table: one line per command, with its usage and help. */
#include "commands.h"

const struct command commands[] = {
	{ "help", "[COMMAND]", "list the commands, or show one", cmd_help, 0, 1 },
	{ "version", "", "show the emhv version", cmd_version, 0, 0 },
	{ "cpu", "", "show the CPU and its virtualization capabilities", cmd_cpu, 0, 0 },
	{ "mem", "[map | check SIZE]",
	  "show memory accounting; 'map': the firmware's memory map; "
	  "'check SIZE': write and verify SIZE of free memory",
	  cmd_mem, 0, 2 },
	{ "log", "", "show the hypervisor log (boot messages)", cmd_log, 0, 0 },
	{ "uptime", "", "show the time since the core started", cmd_uptime, 0, 0 },
	{ "shutdown", "", "power the machine off", cmd_shutdown, 0, 0 },
	{ "reboot", "", "reset the machine", cmd_reboot, 0, 0 },
};

const unsigned command_count = sizeof(commands) / sizeof(commands[0]);
