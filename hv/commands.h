/* Handlers of the monitor commands, one group per file (hv/cmd_*.c). */
#ifndef HV_COMMANDS_H
#define HV_COMMANDS_H

#include "monitor.h"

int cmd_help(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_version(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_cpu(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_log(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_uptime(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_shutdown(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_reboot(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_stats(struct cmd_ctx *ctx, int argc, char **argv);

/* far memory (hv/cmd_far.c): mem node ..., vm far, and their parts of mem, mem verify and vm info */
struct vm;
int cmd_mem_node_add(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_mem_node_list(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_mem_node_del(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_far(struct cmd_ctx *ctx, int argc, char **argv);
void far_show_vm(const struct vm *vm);
void far_show_nodes(void);
/* The far shares of the VMs there are, summed: a line for 'stats'. */
void far_show_totals(void);
int far_verify_nodes(void); /* the differences found */

/* mem (hv/cmd_mem.c) */
int cmd_mem(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_mem_map(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_mem_check(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_mem_verify(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_mem_zero_cache(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_mem_reclaim(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_mem_policy(struct cmd_ctx *ctx, int argc, char **argv);

/* vm (hv/cmd_vm.c) */
int cmd_vm_create(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_list(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_info(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_start(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_pause(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_resume(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_stop(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_destroy(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_console(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_log(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_send(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm_set(struct cmd_ctx *ctx, int argc, char **argv);

/* vm balloon, and its lines in vm info (hv/cmd_balloon.c) */
struct vm;
int cmd_vm_balloon(struct cmd_ctx *ctx, int argc, char **argv);
void show_balloon(const struct vm *vm);

/* disk (hv/cmd_disk.c) */
int cmd_disk_create(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_disk_list(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_disk_info(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_disk_attach(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_disk_destroy(struct cmd_ctx *ctx, int argc, char **argv);

/* pipe (hv/cmd_pipe.c) */
int cmd_pipe_create(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_pipe_list(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_pipe_info(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_pipe_destroy(struct cmd_ctx *ctx, int argc, char **argv);

#endif
