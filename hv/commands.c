/* The monitor's command tables: one line per command or subcommand, with its usage and help. */
#include "cmdline.h"
#include "commands.h"

static const struct command node_cmds[] = {
	{ "add", "NAME size=SIZE latency=TIME bw=SIZE", "SIZE of the pool as far memory (TIME in ns, us, ms; bw per second)", cmd_mem_node_add, 4, 4, NULL, 0 },
	{ "list", "", "every far memory node: frames, free, latency, bandwidth, use", cmd_mem_node_list, 0, 0, NULL, 0 },
	{ "del", "NAME", "give a node's frames back to the pool (no VM may use it)", cmd_mem_node_del, 1, 1, NULL, 0 },
};

static const struct command mem_cmds[] = {
	{ "map", "", "the firmware's memory map", cmd_mem_map, 0, 0, NULL, 0 },
	{ "check", "SIZE", "take SIZE from the pool, write and read back every word, give it back", cmd_mem_check, 1,
	  1, NULL, 0 },
	{ "verify", "", "recount every frame from the metadata and the VMs' nested tables",
	  cmd_mem_verify, 0, 0, NULL, 0 },
	{ "zero-cache", "SIZE", "hold SIZE of pre-zeroed 2 MiB blocks for growth faults", cmd_mem_zero_cache, 1, 1,
	  NULL, 0 },
	{ "reclaim", "[VM] [SIZE]", "take unpinned volatile and zero pages back now (from VM, at most SIZE)",
	  cmd_mem_reclaim, 0, 2, NULL, 0 },
	{ "policy", "[KEY=VALUE ...]", "show/set harvest probe low high period window idle ahead split",
	  cmd_mem_policy, 0, 9, NULL, 0 },
	{ "node", "SUBCOMMAND ...", "far memory nodes: add, list, del ('help mem node')", NULL, 1, 1,
	  SUBCOMMANDS(node_cmds) },
};

static const struct command vm_cmds[] = {
	{ "create", "NAME image=FILE|kernel=FILE min=SIZE max=SIZE [OPTIONS] [ARGS...]",
	  "OPTIONS: mode grow far local inject disk balloon, Linux: initrd cmdline",
	  cmd_vm_create, 1,
	  CMD_MAX_ARGS - 2, NULL, 0 },
	{ "list", "", "every VM: state, bounds, backing, exits, growth faults", cmd_vm_list, 0, 0, NULL, 0 },
	{ "info", "VM", "all about one VM, with why it stopped and its results", cmd_vm_info, 1, 1, NULL, 0 },
	{ "start", "VM", "run a created VM", cmd_vm_start, 1, 1, NULL, 0 },
	{ "pause", "VM", "stop scheduling it", cmd_vm_pause, 1, 1, NULL, 0 },
	{ "resume", "VM", "schedule a paused VM again", cmd_vm_resume, 1, 1, NULL, 0 },
	{ "stop", "VM", "stop it for good (its memory stays until destroy)", cmd_vm_stop, 1, 1, NULL, 0 },
	{ "destroy", "VM", "return every frame of the VM to the pool", cmd_vm_destroy, 1, 1, NULL, 0 },
	{ "console", "VM [-f|-t]", "its serial output; -f follows it, -t: ticks since start per line", cmd_vm_console, 1,
	  2, NULL, 0 },
	{ "log", "VM", "the lines the guest wrote with the log hypercall", cmd_vm_log, 1, 1, NULL, 0 },
	{ "send", "VM TEXT", "type TEXT and Enter into the guest's serial port", cmd_vm_send, 2, 2, NULL, 0 },
	{ "set", "VM [min=SIZE] [max=SIZE]", "change its bounds while it runs (lower max only over free memory)",
	  cmd_vm_set, 2, 3, NULL, 0 },
	{ "balloon", "VM SIZE", "ask the guest's balloon driver to hold SIZE (0 gives it all back)", cmd_vm_balloon, 2,
	  2, NULL, 0 },
	{ "far", "VM [local=SIZE] [inject=spin|warp] [policy=P] [prefetch=F]",
	  "its far share; P: fifo random clock lru, F: none next[:N] stride[:N]", cmd_vm_far, 1, 5, NULL, 0 },
};

static const struct command pipe_cmds[] = {
	{ "create", "NAME A B [max=SIZE] [mode=dynamic|static]",
	  "a pipe from VM A to VM B (both not started) through shared memory", cmd_pipe_create, 3, 5, NULL, 0 },
	{ "list", "", "every pipe: ends, state, memory, utilisation, traffic", cmd_pipe_list, 0, 0, NULL, 0 },
	{ "info", "NAME", "all about one pipe", cmd_pipe_info, 1, 1, NULL, 0 },
	{ "destroy", "NAME", "close both ends and return its memory (its VMs not running)", cmd_pipe_destroy, 1, 1,
	  NULL, 0 },
};

static const struct command disk_cmds[] = {
	{ "create", "NAME size=SIZE [node=NODE]", "a virtio disk backed by the pool (or a far node) on first write",
	  cmd_disk_create, 2, 3, NULL, 0 },
	{ "list", "", "every disk: VM, medium, size, backed, requests, bytes", cmd_disk_list, 0, 0, NULL, 0 },
	{ "info", "NAME", "all about one disk", cmd_disk_info, 1, 1, NULL, 0 },
	{ "attach", "NAME VM", "put the disk in a created VM (before 'vm start')", cmd_disk_attach, 2, 2, NULL, 0 },
	{ "destroy", "NAME", "return its frames (no VM may hold it)", cmd_disk_destroy, 1, 1, NULL, 0 },
};

const struct command commands[] = {
	{ "help", "[COMMAND [SUBCOMMAND ...]]", "list the commands, or show one with its subcommands", cmd_help, 0, 3,
	  NULL, 0 },
	{ "version", "", "show the emhv version", cmd_version, 0, 0, NULL, 0 },
	{ "cpu", "", "show the CPU and its virtualization capabilities", cmd_cpu, 0, 0, NULL, 0 },
	{ "mem", "[SUBCOMMAND ...]", "memory accounting; map, check, verify, zero-cache, reclaim, policy, node", cmd_mem, 0, 0,
	  SUBCOMMANDS(mem_cmds) },
	{ "vm", "SUBCOMMAND ...", "create, inspect and control VMs ('help vm' lists how)", NULL,
	  1, 1, SUBCOMMANDS(vm_cmds) },
	{ "pipe", "SUBCOMMAND ...", "pipes between VMs through shared memory ('help pipe' lists how)", NULL, 1, 1,
	  SUBCOMMANDS(pipe_cmds) },
	{ "disk", "SUBCOMMAND ...", "pool-backed virtio disks ('help disk' lists how)", NULL, 1, 1,
	  SUBCOMMANDS(disk_cmds) },
	{ "stats", "[reset]", "VM exits by kind and their cost in TSC ticks; 'reset' zeroes them",
	  cmd_stats, 0, 1, NULL, 0 },
	{ "log", "", "show the hypervisor log (the boot log, then later messages)", cmd_log, 0, 0, NULL, 0 },
	{ "uptime", "", "show the time since the core started", cmd_uptime, 0, 0, NULL, 0 },
	{ "shutdown", "", "power the machine off", cmd_shutdown, 0, 0, NULL, 0 },
	{ "reboot", "", "reset the machine", cmd_reboot, 0, 0, NULL, 0 },
};

const unsigned command_count = sizeof(commands) / sizeof(commands[0]);
