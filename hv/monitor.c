/* The serial monitor: dispatches lines to the command table; the console loop and scripts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include "monitor.h"
#include "lineedit.h"
#include "console.h"
#include <arch/x86_64/cpu.h>

#define PROMPT "emhv> "

int cmd_error(struct cmd_ctx *ctx, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx->origin) /* scripts run at boot: keep their errors in the log */
		kprintf("error: %s:%u: %s\n", ctx->origin, ctx->line, msg);
	else
		mprintf("error: %s\n", msg);
	return -1;
}

const struct command *monitor_find(const struct command *table, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

/* Run c with the words after its name, descending into subcommands; prefix names the command so far. */
static int exec_command(struct cmd_ctx *ctx, const struct command *c, const char *prefix, int argc, char **argv)
{
	char name[48];
	const struct command *sub;

	snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? " " : "", c->name);
	if (c->subs && argc > 0) {
		sub = monitor_find(c->subs, c->nsubs, argv[0]);
		if (!sub)
			return cmd_error(ctx, "%s: unknown subcommand '%s' (see 'help %s')", name, argv[0], name);
		return exec_command(ctx, sub, name, argc - 1, argv + 1);
	}
	if (argc < c->min_args || argc > c->max_args)
		return cmd_error(ctx, "%s: %s arguments (usage: %s %s)", name, argc < c->min_args ? "missing" : "too many",
				 name, c->args);
	return c->fn(ctx, argc, argv);
}

int monitor_exec(struct cmd_ctx *ctx, char *line)
{
	const struct command *c;
	struct cmd_args a;
	const char *why;
	int n = cmd_split(line, &a, &why);

	if (n < 0)
		return cmd_error(ctx, "%s", why);
	if (n == 0)
		return 0;
	c = monitor_find(commands, command_count, a.argv[0]);
	if (!c)
		return cmd_error(ctx, "unknown command '%s' (type 'help')", a.argv[0]);
	return exec_command(ctx, c, "", n - 1, a.argv + 1);
}

int monitor_run_script(const char *name, const char *text, size_t len)
{
	struct cmd_ctx ctx = { name, 0 };
	char line[CMD_LINE_MAX];
	size_t pos = 0;
	int failed = 0;

	while (pos < len) {
		size_t end = pos, n;

		while (end < len && text[end] != '\n')
			end++;
		n = end - pos;
		if (n && text[pos + n - 1] == '\r')
			n--;
		ctx.line++;
		if (n >= sizeof(line)) {
			failed += cmd_error(&ctx, "line too long (at most %d characters)",
					    CMD_LINE_MAX - 1) < 0;
		} else {
			memcpy(line, text + pos, n);
			line[n] = 0;
			if (memchr(line, 0, n))
				failed += cmd_error(&ctx, "NUL byte in the line") < 0;
			else
				failed += monitor_exec(&ctx, line) < 0;
		}
		pos = end + 1;
	}
	return failed;
}

static void echo(const char *s, unsigned n)
{
	console_write(s, n);
}

static struct lineedit le = { .echo = echo };
static monitor_follow_fn follow_fn;
static void *follow_ctx;

void monitor_start(void)
{
	lineedit_reset(&le);
	mprintf(PROMPT);
}

void monitor_follow(monitor_follow_fn fn, void *ctx)
{
	follow_fn = fn;
	follow_ctx = ctx;
}

/* While a command follows output, any key ends it. */
static bool poll_follow(void)
{
	if (!follow_fn)
		return false;
	if (console_getc() >= 0 || !follow_fn(follow_ctx)) {
		follow_fn = NULL;
		mprintf("\n" PROMPT);
	}
	return true;
}

void monitor_poll(void)
{
	struct cmd_ctx ctx = { NULL, 0 };
	int c;

	if (poll_follow())
		return;
	while ((c = console_getc()) >= 0) {
		switch (lineedit_feed(&le, (unsigned char)c)) {
		case LE_MORE:
			continue;
		case LE_LINE:
			monitor_exec(&ctx, le.buf);
			break;
		case LE_TOO_LONG:
			cmd_error(&ctx, "line too long (at most %d characters)", CMD_LINE_MAX - 1);
			break;
		case LE_CANCEL:
			break;
		}
		lineedit_reset(&le);
		if (follow_fn)
			return; /* the command follows output until a key: no prompt yet */
		mprintf(PROMPT);
	}
}
