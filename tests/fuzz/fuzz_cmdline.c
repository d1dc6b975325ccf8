/* libFuzzer target: console bytes through lineedit_feed, then cmd_split, parse_size, parse_uint and format_size. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/cmdline.h"
#include "hv/lineedit.h"

#include "fuzz_check.h"

static unsigned echo_bytes;

static void echo(const char *s, unsigned n)
{
	unsigned i;
	volatile char sink = 0;

	CHECK(n > 0 && n <= 3);
	for (i = 0; i < n; i++) /* let ASan see that s[0..n) is readable */
		sink ^= s[i];
	(void)sink;
	echo_bytes += n;
}

static const char *const suffixes[] = { "", "K", "M", "G", "T" };
static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };

/* format_size, then check the text against the value it came from. */
static void check_format(uint64_t bytes)
{
	char buf[32], small[8], num[40];
	unsigned long long whole, tenth;
	const char *why;
	char unit[8];
	uint64_t back;
	unsigned u, len;
	int n;

	CHECK(format_size(buf, sizeof(buf), bytes) == buf);
	CHECK(strlen(buf) < sizeof(buf));

	/* "N unit" or "N.D unit", unit one of bytes, KiB, MiB, GiB, TiB */
	if (sscanf(buf, "%llu.%llu %7s", &whole, &tenth, unit) == 3) {
		CHECK(tenth <= 9);
	} else {
		CHECK(sscanf(buf, "%llu %7s", &whole, unit) == 2);
		tenth = 10;
	}
	for (u = 0; u < 5; u++)
		if (!strcmp(unit, units[u]))
			break;
	CHECK(u < 5);
	CHECK(u == 4 || whole < 1024);
	CHECK(u == 0 || whole >= 1);
	CHECK(whole == bytes >> (10 * u));
	if (tenth == 10) {
		/* exact: "N KiB" written "NK" parses back to the same size */
		CHECK(u == 0 || (bytes & ((1ULL << (10 * u)) - 1)) == 0);
		snprintf(num, sizeof(num), "%llu%s", whole, suffixes[u]);
		CHECK(parse_size(num, &back, &why) == 0);
		CHECK(back == bytes);
	} else {
		CHECK(u > 0 && (bytes & ((1ULL << (10 * u)) - 1)) != 0);
	}

	/* a short buffer gets a NUL-terminated prefix of the same text */
	len = 1 + bytes % sizeof(small);
	memset(small, 'Z', sizeof(small));
	format_size(small, len, bytes);
	n = (int)strlen(small);
	CHECK((unsigned)n < len);
	CHECK(!strncmp(small, buf, n));
	CHECK(len == sizeof(small) || small[len] == 'Z');
}

static void check_word(const char *w)
{
	const char *why = NULL;
	uint64_t size = 0, num = 0;
	int rs, ru;

	rs = parse_size(w, &size, &why);
	CHECK(rs == 0 || (rs == -1 && why && *why));
	why = NULL;
	ru = parse_uint(w, &num, &why);
	CHECK(ru == 0 || (ru == -1 && why && *why));
	/* a plain number is also a size, with the same value */
	if (ru == 0)
		CHECK(rs == 0 && size == num);
	if (rs == 0) {
		check_format(size);
		check_format(size + 1);
		check_format(size ^ 0x2aaaaaaaaaaaaaaaULL);
	}
}

static void check_line(const char *buf, unsigned len)
{
	struct cmd_args a;
	const char *why = NULL;
	char *line;
	int n, i;

	/* an exact-size copy, so that ASan sees any read past the NUL */
	line = malloc(len + 1);
	CHECK(line);
	memcpy(line, buf, len + 1);
	n = cmd_split(line, &a, &why);
	if (n < 0) {
		CHECK(n == -1 && why && *why);
		free(line);
		return;
	}
	CHECK(n <= CMD_MAX_ARGS && n == a.argc && !a.argv[n]);
	for (i = 0; i < n; i++) {
		const char *w = a.argv[i];
		size_t k, wl;

		CHECK(w >= line && w <= line + len);
		wl = strlen(w);
		CHECK(w + wl <= line + len);
		for (k = 0; k < wl; k++)
			CHECK(w[k] == '\t' || (w[k] >= 0x20 && w[k] < 0x7f));
		check_word(w);
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lineedit le;
	size_t i;

	memset(&le, 0, sizeof(le));
	le.echo = echo;
	lineedit_reset(&le);
	for (i = 0; i < size; i++) {
		enum lineedit_result r = lineedit_feed(&le, data[i]);

		CHECK(le.len <= CMD_LINE_MAX - 1);
		switch (r) {
		case LE_MORE:
			continue;
		case LE_LINE:
			CHECK(le.buf[le.len] == 0);
			/* the monitor refuses lines with a NUL byte */
			if (strlen(le.buf) == le.len)
				check_line(le.buf, le.len);
			break;
		case LE_TOO_LONG:
		case LE_CANCEL:
			break;
		default:
			CHECK(!"unknown lineedit result");
		}
		lineedit_reset(&le);
	}
	return 0;
}
