/* Unit tests (cmocka) for the monitor command-line parser, hv/cmdline.c: cmd_split, parse_uint, parse_size, format_size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/cmdline.h"

#define KIB 1024ULL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define TIB (1024 * GIB)

#define MSG_QUOTE "unterminated or misplaced quote"
#define MSG_MANY "too many words (at most 32)"
#define MSG_NAN "not a number"
#define MSG_BIG "number too large"
#define MSG_NOSIZE "not a size"
#define MSG_SIZEBIG "size too large"
#define MSG_SUFFIX "bad size suffix (use K, M, G or T)"

/* ---- cmd_split ---- */

static char line[CMD_LINE_MAX];
static struct cmd_args args;
static const char *why;

/* Split a copy of s (held in line[]); returns cmd_split's result. */
static int split(const char *s)
{
	assert_true(strlen(s) < sizeof(line));
	strcpy(line, s);
	why = NULL;
	memset(&args, 0xa5, sizeof(args));
	return cmd_split(line, &args, &why);
}

/* Check that the words of the last split are exactly the NULL-terminated list. */
static void check_words(const char *const *want)
{
	int i;

	for (i = 0; want[i]; i++) {
		assert_true(i < args.argc);
		assert_non_null(args.argv[i]);
		/* in place: every word lies inside line[] */
		assert_true(args.argv[i] >= line && args.argv[i] < line + sizeof(line));
		assert_string_equal(args.argv[i], want[i]);
	}
	assert_int_equal(args.argc, i);
	assert_null(args.argv[i]);
}

#define SPLIT_OK(s, ...)                                                   \
	do {                                                               \
		static const char *const w_[] = { __VA_ARGS__ };           \
		assert_int_equal(split(s), (int)(sizeof(w_) / sizeof(w_[0])) - 1); \
		check_words(w_);                                           \
	} while (0)

#define SPLIT_FAIL(s, msg)                                \
	do {                                              \
		assert_int_equal(split(s), -1);           \
		assert_non_null(why);                     \
		assert_string_equal(why, msg);            \
	} while (0)

static void test_split_simple(void **state)
{
	(void)state;
	SPLIT_OK("help", "help", NULL);
	SPLIT_OK("mem check 16M", "mem", "check", "16M", NULL);
	SPLIT_OK("help mem", "help", "mem", NULL);
	SPLIT_OK("a b", "a", "b", NULL);
	/* the argv pointers point into the line, which is cut with NULs */
	assert_int_equal(split("mem stat"), 2);
	assert_ptr_equal(args.argv[0], line);
	assert_ptr_equal(args.argv[1], line + 4);
	assert_int_equal(line[3], 0);
}

static void test_split_empty_and_blank(void **state)
{
	(void)state;
	SPLIT_OK("", NULL);
	SPLIT_OK(" ", NULL);
	SPLIT_OK("\t", NULL);
	SPLIT_OK(" \t  \t ", NULL);
	assert_int_equal(split(""), 0);
	assert_int_equal(args.argc, 0);
	assert_null(args.argv[0]);
}

static void test_split_blanks(void **state)
{
	(void)state;
	SPLIT_OK("  mem   check\t\t16M  ", "mem", "check", "16M", NULL);
	SPLIT_OK("\tmem\tstat\t", "mem", "stat", NULL);
	SPLIT_OK("x", "x", NULL);
}

static void test_split_comments(void **state)
{
	(void)state;
	SPLIT_OK("# a comment", NULL);
	SPLIT_OK("#", NULL);
	SPLIT_OK("   # indented comment", NULL);
	SPLIT_OK("mem check 16M # test 16 MiB", "mem", "check", "16M", NULL);
	SPLIT_OK("help #mem", "help", NULL);
	/* '#' inside a word is not a comment */
	SPLIT_OK("a#b c#", "a#b", "c#", NULL);
	/* '#' inside quotes is not a comment */
	SPLIT_OK("echo \"#not a comment\"", "echo", "#not a comment", NULL);
	/* the comment is cut off the line */
	assert_int_equal(split("help # x"), 1);
	assert_int_equal(line[5], 0);
}

static void test_split_quotes(void **state)
{
	(void)state;
	SPLIT_OK("\"a b\"", "a b", NULL);
	SPLIT_OK("echo \"hello  world\" x", "echo", "hello  world", "x", NULL);
	SPLIT_OK("\"\"", "", NULL);
	SPLIT_OK("a \"\" b", "a", "", "b", NULL);
	SPLIT_OK("\"tab\tinside\"", "tab\tinside", NULL);
	SPLIT_OK("\"x\"\t\"y\"", "x", "y", NULL);
	/* a quote inside a word is an ordinary character */
	SPLIT_OK("a\"b", "a\"b", NULL);
	SPLIT_OK("say \"a\" # \"comment", "say", "a", NULL);
}

static void test_split_quote_errors(void **state)
{
	(void)state;
	SPLIT_FAIL("\"", MSG_QUOTE);
	SPLIT_FAIL("\"abc", MSG_QUOTE);
	SPLIT_FAIL("echo \"abc def", MSG_QUOTE);
	SPLIT_FAIL("\"abc\"def", MSG_QUOTE);
	SPLIT_FAIL("\"a\"\"b\"", MSG_QUOTE);
	SPLIT_FAIL("\"a\"#", MSG_QUOTE);
}

static void test_split_nonprintable(void **state)
{
	static const unsigned char bad[] = { 0x01, 0x07, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f, 0x80, 0xc3, 0xff };
	char s[8], msg[64];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad); i++) {
		snprintf(s, sizeof(s), "ab%cc", bad[i]);
		snprintf(msg, sizeof(msg), "non-printable byte 0x%02x in the line", bad[i]);
		SPLIT_FAIL(s, msg);
	}
	/* even inside a comment or a quoted word */
	SPLIT_FAIL("help # \x01", "non-printable byte 0x01 in the line");
	SPLIT_FAIL("\"\x7f\"", "non-printable byte 0x7f in the line");
	/* the first bad byte is reported */
	SPLIT_FAIL("a\x02\x03", "non-printable byte 0x02 in the line");
	/* every printable byte and the tab are fine */
	for (i = 0x20; i < 0x7f; i++) {
		if (i == '"' || i == '#' || i == ' ')
			continue;
		snprintf(s, sizeof(s), "%c", (int)i);
		assert_int_equal(split(s), 1);
	}
	SPLIT_OK("~}|{", "~}|{", NULL);
}

static void test_split_word_limit(void **state)
{
	char s[CMD_LINE_MAX], many[CMD_LINE_MAX];
	int i;

	(void)state;
	/* exactly CMD_MAX_ARGS words: 'vm create' with 16 guest arguments fits */
	_Static_assert(CMD_MAX_ARGS >= 2 + 6 + 16, "vm create NAME + 5 options + 16 guest arguments");
	_Static_assert(CMD_MAX_ARGS == 32, "MSG_MANY and CMD_MAX_ARGS_STR say 32");
	s[0] = 0;
	for (i = 0; i < CMD_MAX_ARGS; i++)
		snprintf(s + strlen(s), sizeof(s) - strlen(s), "%sw%d", i ? " " : "", i);
	assert_int_equal(split(s), CMD_MAX_ARGS);
	assert_int_equal(args.argc, CMD_MAX_ARGS);
	assert_string_equal(args.argv[0], "w0");
	assert_string_equal(args.argv[CMD_MAX_ARGS - 1], "w31");
	assert_null(args.argv[CMD_MAX_ARGS]);

	/* trailing blanks and a comment are still fine */
	strcat(s, "  \t# more words here");
	assert_int_equal(split(s), CMD_MAX_ARGS);

	/* one more fails, however it is written */
	s[0] = 0;
	for (i = 0; i < CMD_MAX_ARGS + 1; i++)
		strcat(s, "x ");
	SPLIT_FAIL(s, MSG_MANY);
	many[0] = 0;
	for (i = 0; i < CMD_MAX_ARGS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%d ", i);
	strcat(many, "\"last\"");
	SPLIT_FAIL(many, MSG_MANY);
}

static void test_split_long_line(void **state)
{
	char s[CMD_LINE_MAX];

	(void)state;
	/* one word of 255 bytes, the longest line there is */
	memset(s, 'a', CMD_LINE_MAX - 1);
	s[CMD_LINE_MAX - 1] = 0;
	assert_int_equal(split(s), 1);
	assert_int_equal(strlen(args.argv[0]), 255);
	/* a quoted one, ending at the last byte */
	s[0] = '"';
	s[CMD_LINE_MAX - 2] = '"';
	assert_int_equal(split(s), 1);
	assert_int_equal(strlen(args.argv[0]), 253);
}

/* ---- parse_uint ---- */

#define UINT_OK(s, v)                                            \
	do {                                                     \
		uint64_t o_ = 0xdeadbeef;                        \
		why = NULL;                                      \
		assert_int_equal(parse_uint(s, &o_, &why), 0);   \
		assert_true(o_ == (uint64_t)(v));                \
		assert_null(why);                                \
	} while (0)

#define UINT_FAIL(s, msg)                                        \
	do {                                                     \
		uint64_t o_ = 0;                                 \
		why = NULL;                                      \
		assert_int_equal(parse_uint(s, &o_, &why), -1);  \
		assert_non_null(why);                            \
		assert_string_equal(why, msg);                   \
	} while (0)

static void test_uint_decimal(void **state)
{
	(void)state;
	UINT_OK("0", 0);
	UINT_OK("1", 1);
	UINT_OK("42", 42);
	UINT_OK("007", 7);
	UINT_OK("4294967296", 4294967296ULL);
	UINT_OK("18446744073709551615", UINT64_MAX);
	UINT_OK("18446744073709551610", UINT64_MAX - 5);
}

static void test_uint_hex(void **state)
{
	(void)state;
	UINT_OK("0x0", 0);
	UINT_OK("0x10", 16);
	UINT_OK("0X10", 16);
	UINT_OK("0xfF", 255);
	UINT_OK("0xdeadBEEF", 0xdeadbeefULL);
	UINT_OK("0x0000000000000000001", 1);
	UINT_OK("0xffffffffffffffff", UINT64_MAX);
	UINT_OK("0x8000000000000000", 1ULL << 63);
}

static void test_uint_errors(void **state)
{
	(void)state;
	UINT_FAIL("", MSG_NAN);
	UINT_FAIL("-1", MSG_NAN);
	UINT_FAIL("+1", MSG_NAN);
	UINT_FAIL(" 1", MSG_NAN);
	UINT_FAIL("1 ", MSG_NAN);
	UINT_FAIL("0x", MSG_NAN);
	UINT_FAIL("0X", MSG_NAN);
	UINT_FAIL("x10", MSG_NAN);
	UINT_FAIL("0x1g", MSG_NAN);
	UINT_FAIL("12ab", MSG_NAN);
	UINT_FAIL("ff", MSG_NAN);
	UINT_FAIL("1K", MSG_NAN);
	UINT_FAIL("1.5", MSG_NAN);
	UINT_FAIL("0b101", MSG_NAN);
	UINT_FAIL("00x10", MSG_NAN);
	UINT_FAIL("18446744073709551616", MSG_BIG);
	UINT_FAIL("18446744073709551620", MSG_BIG);
	UINT_FAIL("99999999999999999999", MSG_BIG);
	UINT_FAIL("0x10000000000000000", MSG_BIG);
	UINT_FAIL("0x1ffffffffffffffff", MSG_BIG);
	/* overflow is reported even with junk after the digits */
	UINT_FAIL("99999999999999999999x", MSG_BIG);
}

/* ---- parse_size ---- */

#define SIZE_OK(s, v)                                            \
	do {                                                     \
		uint64_t o_ = 0xdeadbeef;                        \
		why = NULL;                                      \
		assert_int_equal(parse_size(s, &o_, &why), 0);   \
		assert_true(o_ == (uint64_t)(v));                \
		assert_null(why);                                \
	} while (0)

#define SIZE_FAIL(s, msg)                                        \
	do {                                                     \
		uint64_t o_ = 0;                                 \
		why = NULL;                                      \
		assert_int_equal(parse_size(s, &o_, &why), -1);  \
		assert_non_null(why);                            \
		assert_string_equal(why, msg);                   \
	} while (0)

static void test_size_plain(void **state)
{
	(void)state;
	SIZE_OK("0", 0);
	SIZE_OK("1", 1);
	SIZE_OK("4096", 4096);
	SIZE_OK("0x1000", 4096);
	SIZE_OK("18446744073709551615", UINT64_MAX);
	SIZE_OK("0xffffffffffffffff", UINT64_MAX);
}

static void test_size_suffixes(void **state)
{
	(void)state;
	SIZE_OK("1K", KIB);
	SIZE_OK("16M", 16 * MIB);
	SIZE_OK("1G", GIB);
	SIZE_OK("4T", 4 * TIB);
	SIZE_OK("0K", 0);
	SIZE_OK("0T", 0);
	SIZE_OK("512k", 512 * KIB);
	SIZE_OK("3m", 3 * MIB);
	SIZE_OK("2g", 2 * GIB);
	SIZE_OK("1t", TIB);
	/* hex digits, then the suffix */
	SIZE_OK("0x10M", 16 * MIB);
	SIZE_OK("0xaK", 10 * KIB);
}

static void test_size_byte_suffixes(void **state)
{
	(void)state;
	SIZE_OK("1KiB", KIB);
	SIZE_OK("1kb", KIB);
	SIZE_OK("1KB", KIB);
	SIZE_OK("1Kb", KIB);
	SIZE_OK("1kib", KIB);
	SIZE_OK("1KIB", KIB);
	SIZE_OK("1kIb", KIB);
	SIZE_OK("16MiB", 16 * MIB);
	SIZE_OK("2GB", 2 * GIB);
	SIZE_OK("4TiB", 4 * TIB);
	/* in hex "B" is a digit, not a suffix */
	SIZE_OK("0x1B", 27);
}

static void test_size_limits(void **state)
{
	(void)state;
	/* the largest multiple of each unit that fits */
	SIZE_OK("18014398509481983K", UINT64_MAX & ~(KIB - 1));
	SIZE_OK("17592186044415M", UINT64_MAX & ~(MIB - 1));
	SIZE_OK("17179869183G", UINT64_MAX & ~(GIB - 1));
	SIZE_OK("16777215T", UINT64_MAX & ~(TIB - 1));
	SIZE_OK("16777215TiB", UINT64_MAX & ~(TIB - 1));
	SIZE_OK("0x3fffffffffffffK", UINT64_MAX & ~(KIB - 1));
	/* one more overflows */
	SIZE_FAIL("18014398509481984K", MSG_SIZEBIG);
	SIZE_FAIL("17592186044416M", MSG_SIZEBIG);
	SIZE_FAIL("17179869184G", MSG_SIZEBIG);
	SIZE_FAIL("16777216T", MSG_SIZEBIG);
	SIZE_FAIL("16777216TiB", MSG_SIZEBIG);
	SIZE_FAIL("18446744073709551615K", MSG_SIZEBIG);
	SIZE_FAIL("0x40000000000000K", MSG_SIZEBIG);
	/* the digits alone overflow */
	SIZE_FAIL("18446744073709551616", MSG_SIZEBIG);
	SIZE_FAIL("99999999999999999999K", MSG_SIZEBIG);
	SIZE_FAIL("0x10000000000000000", MSG_SIZEBIG);
}

static void test_size_errors(void **state)
{
	(void)state;
	SIZE_FAIL("", MSG_NOSIZE);
	SIZE_FAIL("K", MSG_NOSIZE);
	SIZE_FAIL("KiB", MSG_NOSIZE);
	SIZE_FAIL("-1", MSG_NOSIZE);
	SIZE_FAIL(" 1", MSG_NOSIZE);
	SIZE_FAIL("+1K", MSG_NOSIZE);
	SIZE_FAIL("0x", MSG_NOSIZE);
	SIZE_FAIL("0xM", MSG_NOSIZE);
	SIZE_FAIL("1Q", MSG_SUFFIX);
	/* P(eta) is not a unit: 16384P is a bad suffix, not an overflow */
	SIZE_FAIL("16384P", MSG_SUFFIX);
	SIZE_FAIL("1P", MSG_SUFFIX);
	SIZE_FAIL("1 ", MSG_SUFFIX);
	SIZE_FAIL("1 K", MSG_SUFFIX);
	SIZE_FAIL("1K ", MSG_SUFFIX);
	SIZE_FAIL("1B", MSG_SUFFIX);
	SIZE_FAIL("1Ki", MSG_SUFFIX);
	SIZE_FAIL("1KiBB", MSG_SUFFIX);
	SIZE_FAIL("1KBB", MSG_SUFFIX);
	SIZE_FAIL("1KK", MSG_SUFFIX);
	SIZE_FAIL("1KM", MSG_SUFFIX);
	SIZE_FAIL("1iB", MSG_SUFFIX);
	SIZE_FAIL("1.5G", MSG_SUFFIX);
	SIZE_FAIL("1-K", MSG_SUFFIX);
	SIZE_FAIL("12x", MSG_SUFFIX);
	SIZE_FAIL("00x10", MSG_SUFFIX);
	/* bytes whose low bits match a unit letter once case-folded */
	SIZE_FAIL("1\xcb", MSG_SUFFIX);
	SIZE_FAIL("1\xeb", MSG_SUFFIX);
	SIZE_FAIL("1+", MSG_SUFFIX);
}

/* Every plain number is a size, with the same value. */
static void test_size_agrees_with_uint(void **state)
{
	static const char *const nums[] = { "0", "1", "65536", "0x1f", "0XABC",
					    "18446744073709551615", "0xffffffffffffffff" };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		uint64_t a = 1, b = 2;

		assert_int_equal(parse_uint(nums[i], &a, &why), 0);
		assert_int_equal(parse_size(nums[i], &b, &why), 0);
		assert_true(a == b);
	}
}

/* ---- format_size ---- */

static void check_format(uint64_t bytes, const char *want)
{
	char buf[32];

	memset(buf, 'Z', sizeof(buf));
	assert_ptr_equal(format_size(buf, sizeof(buf), bytes), buf);
	assert_string_equal(buf, want);
}

static void test_format_exact(void **state)
{
	(void)state;
	check_format(0, "0 bytes");
	check_format(1, "1 bytes");
	check_format(512, "512 bytes");
	check_format(1023, "1023 bytes");
	check_format(KIB, "1 KiB");
	check_format(512 * KIB, "512 KiB");
	check_format(1023 * KIB, "1023 KiB");
	check_format(MIB, "1 MiB");
	check_format(16 * MIB, "16 MiB");
	check_format(GIB, "1 GiB");
	check_format(4 * TIB, "4 TiB");
	check_format(1024 * TIB, "1024 TiB");
	check_format(16384 * TIB, "16384 TiB");
	check_format(UINT64_MAX & ~(TIB - 1), "16777215 TiB");
}

static void test_format_fraction(void **state)
{
	(void)state;
	check_format(1536, "1.5 KiB");
	check_format(KIB + 1, "1.0 KiB");
	check_format(MIB - 1, "1023.9 KiB");
	check_format(MIB + MIB / 10 + 1, "1.1 MiB");
	check_format(3 * GIB / 2, "1.5 GiB");
	check_format(GIB + GIB / 4, "1.2 GiB"); /* truncated, not rounded */
	check_format(2 * TIB - 1, "1.9 TiB");
	check_format(5 * TIB / 2, "2.5 TiB");
	check_format(UINT64_MAX, "16777215.9 TiB");
}

static void test_format_small_buffer(void **state)
{
	char buf[16];

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	assert_string_equal(format_size(buf, 6, 1536), "1.5 K");
	assert_int_equal(buf[6], 'Z');
	assert_string_equal(format_size(buf, 1, 1536), "");
	memset(buf, 'Z', sizeof(buf));
	format_size(buf, 0, 1536);
	assert_int_equal(buf[0], 'Z');
}

/* format_size of an exact multiple, with the blank removed, parses back to the same size. */
static void test_format_parse_roundtrip(void **state)
{
	static const uint64_t sizes[] = { 0, 1, 999, KIB, 3 * KIB, 640 * KIB, MIB, 48 * MIB,
					  GIB, 7 * GIB, TIB, 16777215 * TIB };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char buf[32], *sp;
		uint64_t v = 1;

		format_size(buf, sizeof(buf), sizes[i]);
		sp = strchr(buf, ' ');
		assert_non_null(sp);
		if (!strcmp(sp, " bytes"))
			*sp = 0;
		else
			memmove(sp, sp + 1, strlen(sp));
		assert_int_equal(parse_size(buf, &v, &why), 0);
		assert_true(v == sizes[i]);
	}
}

static void test_is_name(void **state)
{
	(void)state;
	assert_true(is_name("a"));
	assert_true(is_name("memtouch-2_b.v1"));
	assert_true(is_name("touch_tsc"));
	assert_false(is_name(""));
	assert_false(is_name("a b"));
	assert_false(is_name("a/b"));
	assert_false(is_name("x="));
	assert_false(is_name("caf\xc3\xa9"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_simple),
		cmocka_unit_test(test_split_empty_and_blank),
		cmocka_unit_test(test_split_blanks),
		cmocka_unit_test(test_split_comments),
		cmocka_unit_test(test_split_quotes),
		cmocka_unit_test(test_split_quote_errors),
		cmocka_unit_test(test_split_nonprintable),
		cmocka_unit_test(test_split_word_limit),
		cmocka_unit_test(test_split_long_line),
		cmocka_unit_test(test_uint_decimal),
		cmocka_unit_test(test_uint_hex),
		cmocka_unit_test(test_uint_errors),
		cmocka_unit_test(test_size_plain),
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_size_byte_suffixes),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_size_errors),
		cmocka_unit_test(test_is_name),
		cmocka_unit_test(test_size_agrees_with_uint),
		cmocka_unit_test(test_format_exact),
		cmocka_unit_test(test_format_fraction),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_format_parse_roundtrip),
	};

	return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
