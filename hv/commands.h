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
int cmd_mem(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_vm(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_stats(struct cmd_ctx *ctx, int argc, char **argv);

#endif
