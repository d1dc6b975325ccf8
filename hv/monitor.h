/* The serial monitor: command table, dispatcher, interactive loop and startup script. */
#ifndef HV_MONITOR_H
#define HV_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

/* Where a command line came from, for error messages. */
struct cmd_ctx {
	const char *origin; /* NULL for the console, else the script's name */
	unsigned line;
};

typedef int (*cmd_fn)(struct cmd_ctx *ctx, int argc, char **argv);

struct command {
	const char *name;
	const char *args; /* usage after the name */
	const char *help; /* one line */
	cmd_fn fn;	  /* NULL when the command has subcommands */
	int min_args, max_args; /* words after the name */
	const struct command *subs; /* subcommands ("vm create", ...): a table like this one */
	unsigned nsubs;
};

#define SUBCOMMANDS(table) table, sizeof(table) / sizeof((table)[0])

/* The command table (hv/commands.c). */
extern const struct command commands[];
extern const unsigned command_count;

/* The entry named name in a command table, or NULL. */
const struct command *monitor_find(const struct command *table, unsigned n, const char *name);
/* Print "error: [origin:line: ]message" on one line; returns -1. */
int cmd_error(struct cmd_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Run one command line; 0, or -1 after printing the error. */
int monitor_exec(struct cmd_ctx *ctx, char *line);
/* Run a script (startup.cfg) line by line; returns the number of failed lines. */
int monitor_run_script(const char *name, const char *text, size_t len);
/* Print the first prompt. */
void monitor_start(void);
/* Take the console input that has arrived and run the complete lines; never blocks. */
void monitor_poll(void);
/*
 * Let a command keep printing after it returns: fn runs at every poll until
 * it returns false or a key arrives; then the prompt comes back.
 */
typedef bool (*monitor_follow_fn)(void *ctx);
void monitor_follow(monitor_follow_fn fn, void *ctx);

#endif
