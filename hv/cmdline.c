/* Monitor command-line parsing, shared by the console, startup.cfg and the host tests. */
#include <stdio.h>
#include <string.h>
#include "cmdline.h"

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Find the first byte that is neither printable ASCII nor a tab. */
static int check_bytes(const char *s, const char **why)
{
	static char msg[48];

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c > 0x7e) {
			snprintf(msg, sizeof(msg), "non-printable byte 0x%02x in the line", c);
			return fail(why, msg);
		}
	}
	return 0;
}

/* Read one quoted word starting after the opening quote; returns the end or NULL. */
static char *read_quoted(char *p, char **word)
{
	*word = p;
	while (*p && *p != '"')
		p++;
	if (!*p)
		return NULL;
	*p++ = 0;
	if (*p && !is_blank(*p))
		return NULL;
	return p;
}

int cmd_split(char *line, struct cmd_args *a, const char **why)
{
	char *p = line;

	a->argc = 0;
	a->argv[0] = NULL;
	if (check_bytes(line, why))
		return -1;
	for (;;) {
		char *word;

		while (is_blank(*p))
			*p++ = 0;
		if (!*p || *p == '#')
			break;
		if (a->argc == CMD_MAX_ARGS)
			return fail(why, "too many words (at most " CMD_MAX_ARGS_STR ")");
		if (*p == '"') {
			p = read_quoted(p + 1, &word);
			if (!p)
				return fail(why, "unterminated or misplaced quote");
		} else {
			word = p;
			while (*p && !is_blank(*p))
				p++;
		}
		a->argv[a->argc++] = word;
		a->argv[a->argc] = NULL;
	}
	*p = 0;
	return a->argc;
}

static int digit_value(char c, unsigned base)
{
	int v = -1;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	return v >= 0 && (unsigned)v < base ? v : -1;
}

/* Parse the leading digits of s; *end points past them. -1: no digits, -2: overflow. */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	unsigned base = 10;
	uint64_t v = 0;
	int d, n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; (d = digit_value(*s, base)) >= 0; s++, n++) {
		if (v > (UINT64_MAX - d) / base)
			return -2;
		v = v * base + d;
	}
	if (n == 0)
		return -1;
	*out = v;
	*end = s;
	return 0;
}

int parse_uint(const char *s, uint64_t *out, const char **why)
{
	const char *end;
	int err = parse_digits(s, out, &end);

	if (err)
		return fail(why, err == -2 ? "number too large" : "not a number");
	if (*end)
		return fail(why, "not a number");
	return 0;
}

static int suffix_shift(const char *s, unsigned *shift)
{
	static const char units[] = "KMGT";
	const char *u;

	*shift = 0;
	if (!*s)
		return 0;
	u = strchr(units, *s & ~0x20);
	if (!u || !*u)
		return -1;
	*shift = 10 * (unsigned)(u - units + 1);
	s++;
	if ((s[0] == 'i' || s[0] == 'I') && (s[1] == 'B' || s[1] == 'b') && !s[2])
		return 0;
	if ((s[0] == 'B' || s[0] == 'b') && !s[1])
		return 0;
	return *s ? -1 : 0;
}

int parse_size(const char *s, uint64_t *out, const char **why)
{
	const char *end;
	unsigned shift;
	uint64_t v;
	int err = parse_digits(s, &v, &end);

	if (err)
		return fail(why, err == -2 ? "size too large" : "not a size");
	if (suffix_shift(end, &shift))
		return fail(why, "bad size suffix (use K, M, G or T)");
	if (shift && v > (UINT64_MAX >> shift))
		return fail(why, "size too large");
	*out = v << shift;
	return 0;
}

char *format_size(char *buf, unsigned len, uint64_t bytes)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	uint64_t scale = 1;

	while (u < 4 && bytes >= scale * 1024) {
		scale *= 1024;
		u++;
	}
	if (u == 0 || bytes % scale == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)(bytes / scale), units[u]);
	else
		snprintf(buf, len, "%llu.%llu %s", (unsigned long long)(bytes / scale),
			 (unsigned long long)((bytes % scale) * 10 / scale), units[u]);
	return buf;
}

int is_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(*s == '_' || *s == '-' || *s == '.' || (*s >= '0' && *s <= '9') ||
		      ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')))
			return 0;
	return 1;
}

int name_index(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}
