/* Monitor command-line parsing: splitting a line into words and reading numbers and sizes. */
#ifndef HV_CMDLINE_H
#define HV_CMDLINE_H

#include <stdint.h>

#define CMD_LINE_MAX 256 /* bytes of a line, NUL included */
#define CMD_MAX_ARGS 32
#define CMD_MAX_ARGS_STR "32" /* for messages */

struct cmd_args {
	int argc;
	char *argv[CMD_MAX_ARGS + 1];
};

/*
 * Split line in place into words separated by spaces or tabs; "double
 * quotes" group a word; '#' at the start of a word begins a comment.
 * Returns the word count, or -1 with *why set (non-printable byte,
 * unterminated quote, too many words).
 */
int cmd_split(char *line, struct cmd_args *a, const char **why);

/* Parse a non-negative integer: decimal or 0x hex, no sign, no overflow. */
int parse_uint(const char *s, uint64_t *out, const char **why);

/*
 * Parse a size in bytes: an integer with an optional suffix K, M, G or T
 * (powers of 1024, either case, an optional trailing "B" or "iB").
 */
int parse_size(const char *s, uint64_t *out, const char **why);

/* The index of s in names[0, n), or -1 (a word that picks one of a fixed set). */
int name_index(const char *s, const char *const *names, int n);

/* Is s a name: one or more letters, digits, '_', '-' or '.' (VM names, result names)? */
int is_name(const char *s);

/* Format bytes as a short human size ("512 KiB", "1.5 GiB") into buf. */
char *format_size(char *buf, unsigned len, uint64_t bytes);

#endif
