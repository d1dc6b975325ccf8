/* Unit tests (cmocka) for the serial monitor's line editor, hv/lineedit.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/lineedit.h"

#define BS "\x08"
#define DEL "\x7f"
#define CTRL_C "\x03"
#define CTRL_U "\x15"
#define ERASE "\b \b"

/* Everything echoed since the last reset_echo(). */
static char echoed[4096];
static unsigned echoed_len;

static void echo(const char *s, unsigned n)
{
	assert_true(n > 0);
	assert_true(echoed_len + n < sizeof(echoed));
	memcpy(echoed + echoed_len, s, n);
	echoed_len += n;
	echoed[echoed_len] = 0;
}

/* s with \b, \n and other unprintable bytes spelled out, for readable failures. */
static const char *spelled(const char *s, size_t n, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\b')
			o += snprintf(out + o, size - o, "\\b");
		else if (c == '\n')
			o += snprintf(out + o, size - o, "\\n");
		else if (c < 0x20 || c > 0x7e || c == '\\')
			o += snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = 0;
	return out;
}

/* What was echoed is exactly want. */
static void check_echo_at(const char *want, const char *file, int line)
{
	static char a[4 * sizeof(echoed)], b[4 * sizeof(echoed)];

	_assert_string_equal(spelled(echoed, echoed_len, a, sizeof(a)),
			     spelled(want, strlen(want), b, sizeof(b)), file, line);
}
#define check_echo(want) check_echo_at(want, __FILE__, __LINE__)

static void reset_echo(void)
{
	echoed_len = 0;
	echoed[0] = 0;
}

static struct lineedit le;

/* A fresh editor, as the monitor sets it up: zeroed, echo set, then reset. */
static int setup(void **state)
{
	(void)state;
	memset(&le, 0x5a, sizeof(le));
	le.last_cr = 0;
	le.echo = echo;
	lineedit_reset(&le);
	reset_echo();
	return 0;
}

/* Feed n bytes; every byte but the last must give LE_MORE. Returns the last result. */
static enum lineedit_result feed_n(const char *s, size_t n)
{
	enum lineedit_result r = LE_MORE;
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(r, LE_MORE);
		r = lineedit_feed(&le, (unsigned char)s[i]);
	}
	return r;
}

static enum lineedit_result feed(const char *s)
{
	return feed_n(s, strlen(s));
}

/*
 * Feed s as a terminal session would (reset after every result other than
 * LE_MORE) and record the results; returns how many lines ended.
 */
static enum lineedit_result results[64];
static char lines[8][CMD_LINE_MAX];

static int session(const char *s, size_t n)
{
	int count = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		enum lineedit_result r = lineedit_feed(&le, (unsigned char)s[i]);

		if (r == LE_MORE)
			continue;
		assert_true(count < 64);
		if (r == LE_LINE && count < 8)
			strcpy(lines[count], le.buf);
		results[count++] = r;
		lineedit_reset(&le);
	}
	return count;
}

/* The buffer holds want (NUL-terminated only once the line has ended). */
static void check_line_at(const char *want, int ended, const char *file, int line)
{
	_assert_int_equal(le.len, strlen(want), file, line);
	_assert_memory_equal(le.buf, want, le.len, file, line);
	if (ended)
		_assert_int_equal(le.buf[le.len], 0, file, line);
}
#define check_line(want) check_line_at(want, 0, __FILE__, __LINE__)
/* A line has ended: the buffer is want, NUL-terminated. */
#define check_ended(want) check_line_at(want, 1, __FILE__, __LINE__)

static void test_typing(void **state)
{
	(void)state;
	assert_int_equal(feed("mem check 16M"), LE_MORE);
	assert_int_equal(le.len, 13);
	assert_memory_equal(le.buf, "mem check 16M", 13);
	check_echo("mem check 16M");
	assert_int_equal(lineedit_feed(&le, '\r'), LE_LINE);
	check_ended("mem check 16M");
	check_echo("mem check 16M\n");
}

static void test_line_ends(void **state)
{
	(void)state;
	assert_int_equal(feed("help\n"), LE_LINE);
	check_ended("help");
	check_echo("help\n");

	/* an empty line is a line */
	lineedit_reset(&le);
	reset_echo();
	assert_int_equal(feed("\n"), LE_LINE);
	check_ended("");
	check_echo("\n");
}

static void test_crlf_is_one_line(void **state)
{
	(void)state;
	assert_int_equal(session("help\r\n", 6), 1);
	assert_int_equal(results[0], LE_LINE);
	assert_string_equal(lines[0], "help");
	check_echo("help\n");

	/* the \n of the pair gives LE_MORE and echoes nothing */
	reset_echo();
	assert_int_equal(lineedit_feed(&le, 'x'), LE_MORE);
	assert_int_equal(lineedit_feed(&le, '\r'), LE_LINE);
	lineedit_reset(&le);
	reset_echo();
	assert_int_equal(lineedit_feed(&le, '\n'), LE_MORE);
	check_echo("");
	assert_int_equal(le.len, 0);
	/* and a second \n is a new (empty) line */
	assert_int_equal(lineedit_feed(&le, '\n'), LE_LINE);
}

static void test_crlf_sequences(void **state)
{
	static const char in[] = "a\r\nb\r\n\r\nc\nd\r";

	(void)state;
	assert_int_equal(session(in, sizeof(in) - 1), 5);
	assert_string_equal(lines[0], "a");
	assert_string_equal(lines[1], "b");
	assert_string_equal(lines[2], "");
	assert_string_equal(lines[3], "c");
	assert_string_equal(lines[4], "d");
	check_echo("a\nb\n\nc\nd\n");
}

static void test_cr_cr_and_lf_cr(void **state)
{
	(void)state;
	/* two Enter presses on a CR terminal are two lines */
	assert_int_equal(session("\r\r", 2), 2);
	/* \r\r\n: the \n pairs with the second \r only */
	setup(NULL);
	assert_int_equal(session("x\r\r\n", 4), 2);
	assert_string_equal(lines[0], "x");
	assert_string_equal(lines[1], "");
	/* \n\r is not a pair */
	setup(NULL);
	assert_int_equal(session("\n\r", 2), 2);
	/* anything between \r and \n breaks the pair */
	setup(NULL);
	assert_int_equal(session("a\rb\n", 4), 2);
	assert_string_equal(lines[1], "b");
	setup(NULL);
	assert_int_equal(session("a\r" BS "\n", 4), 2);
	assert_string_equal(lines[1], "");
}

static void test_backspace(void **state)
{
	(void)state;
	assert_int_equal(feed("abc" BS), LE_MORE);
	check_line("ab");
	check_echo("abc" ERASE);
	assert_int_equal(feed(DEL), LE_MORE);
	check_line("a");
	check_echo("abc" ERASE ERASE);
	assert_int_equal(feed("xy\r"), LE_LINE);
	check_ended("axy");
}

static void test_backspace_past_empty(void **state)
{
	(void)state;
	assert_int_equal(feed(BS BS DEL), LE_MORE);
	assert_int_equal(le.len, 0);
	check_echo("");

	assert_int_equal(feed("ab" BS BS BS DEL "c\r"), LE_LINE);
	check_ended("c");
	check_echo("ab" ERASE ERASE "c\n");
}

static void test_ctrl_u(void **state)
{
	(void)state;
	assert_int_equal(feed("hello" CTRL_U), LE_MORE);
	assert_int_equal(le.len, 0);
	check_echo("hello" ERASE ERASE ERASE ERASE ERASE);
	reset_echo();
	assert_int_equal(feed("mem\r"), LE_LINE);
	check_ended("mem");
	check_echo("mem\n");

	/* ^U on an empty line does nothing */
	setup(NULL);
	assert_int_equal(feed(CTRL_U CTRL_U), LE_MORE);
	check_echo("");
	assert_int_equal(feed("\r"), LE_LINE);
	check_ended("");
}

static void test_ctrl_c(void **state)
{
	(void)state;
	assert_int_equal(feed("abc" CTRL_C), LE_CANCEL);
	check_echo("abc^C\n");
	lineedit_reset(&le);
	reset_echo();
	assert_int_equal(feed("x\r"), LE_LINE);
	check_ended("x");

	/* ^C on an empty line also cancels */
	setup(NULL);
	assert_int_equal(feed(CTRL_C), LE_CANCEL);
	check_echo("^C\n");

	/* ^C between \r and \n breaks the pair */
	setup(NULL);
	assert_int_equal(session("a\r" CTRL_C "\n", 4), 3);
	assert_int_equal(results[0], LE_LINE);
	assert_int_equal(results[1], LE_CANCEL);
	assert_int_equal(results[2], LE_LINE);
}

/* A line of n bytes 'a'..'z' repeated, in buf (n < sizeof buf). */
static void make_long(char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (char)('a' + i % 26);
	buf[n] = 0;
}

static void test_longest_line(void **state)
{
	char s[CMD_LINE_MAX + 8];

	(void)state;
	make_long(s, CMD_LINE_MAX - 1);
	assert_int_equal(feed(s), LE_MORE);
	assert_int_equal(le.len, 255);
	assert_int_equal(lineedit_feed(&le, '\r'), LE_LINE);
	check_ended(s);
	assert_int_equal(echoed_len, 256);
	assert_memory_equal(echoed, s, 255);
}

static void test_too_long(void **state)
{
	char s[CMD_LINE_MAX + 64];

	(void)state;
	make_long(s, CMD_LINE_MAX);
	assert_int_equal(feed(s), LE_MORE);
	assert_int_equal(le.len, 255);
	assert_int_equal(lineedit_feed(&le, '\n'), LE_TOO_LONG);
	/* the dropped byte is not echoed */
	assert_int_equal(echoed_len, 256);
	assert_memory_equal(echoed, s, 255);
	assert_int_equal(echoed[255], '\n');

	/* much longer, then the next line is fine again */
	setup(NULL);
	make_long(s, CMD_LINE_MAX + 40);
	assert_int_equal(feed(s), LE_MORE);
	assert_int_equal(lineedit_feed(&le, '\r'), LE_TOO_LONG);
	lineedit_reset(&le);
	assert_int_equal(feed("\nok\r"), LE_LINE);
	check_ended("ok");
}

static void test_too_long_then_edit(void **state)
{
	char s[CMD_LINE_MAX + 8];

	(void)state;
	/* backspacing does not bring back the dropped bytes */
	make_long(s, CMD_LINE_MAX);
	feed(s);
	assert_int_equal(feed(BS BS BS "\r"), LE_TOO_LONG);

	/* ^U starts over */
	setup(NULL);
	feed(s);
	assert_int_equal(feed(CTRL_U "mem stat\r"), LE_LINE);
	check_ended("mem stat");

	/* ^C drops it */
	setup(NULL);
	feed(s);
	assert_int_equal(feed(CTRL_C), LE_CANCEL);
	lineedit_reset(&le);
	assert_int_equal(feed("x\r"), LE_LINE);
	check_ended("x");
}

static void test_unprintable_stored_not_echoed(void **state)
{
	static const char in[] = "a\x80\xff\xc3\xa9\x01\tb\x1b[A";

	(void)state;
	assert_int_equal(feed_n(in, sizeof(in) - 1), LE_MORE);
	assert_int_equal(le.len, sizeof(in) - 1);
	assert_memory_equal(le.buf, in, sizeof(in) - 1);
	/* only the printable bytes are echoed */
	check_echo("ab[A");
	assert_int_equal(feed("\r"), LE_LINE);
	assert_memory_equal(le.buf, in, sizeof(in));
}

static void test_nul_byte_ignored(void **state)
{
	(void)state;
	/* NUL is line noise (Bochs's serial port invents one when a read fails) */
	assert_int_equal(feed_n("ab\0c\0\r", 6), LE_LINE);
	assert_int_equal(le.len, 3);
	assert_string_equal(le.buf, "abc");
	check_echo("abc\n");
	/* and it does not count towards the length limit */
	lineedit_reset(&le);
	for (int i = 0; i < 2 * CMD_LINE_MAX; i++)
		assert_int_equal(feed_n("\0", 1), LE_MORE);
	assert_int_equal(feed("x\r"), LE_LINE);
	assert_string_equal(le.buf, "x");
}

/*
 * The terminal must show exactly the printable bytes of the buffer: erasing
 * a byte that was never echoed must not erase a character on the screen.
 */
static void test_backspace_over_unechoed_byte(void **state)
{
	(void)state;
	/* "ab" then a UTF-8 'e acute' (not echoed), then two backspaces to remove it */
	assert_int_equal(feed("ab\xc3\xa9" BS BS), LE_MORE);
	check_line("ab");
	check_echo("ab"); /* the screen still shows "ab" */
}

static void test_ctrl_u_over_unechoed_bytes(void **state)
{
	(void)state;
	assert_int_equal(feed("a\x80\tb" CTRL_U), LE_MORE);
	assert_int_equal(le.len, 0);
	/* two characters on the screen, so two erases */
	check_echo("ab" ERASE ERASE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_typing, setup),
		cmocka_unit_test_setup(test_line_ends, setup),
		cmocka_unit_test_setup(test_crlf_is_one_line, setup),
		cmocka_unit_test_setup(test_crlf_sequences, setup),
		cmocka_unit_test_setup(test_cr_cr_and_lf_cr, setup),
		cmocka_unit_test_setup(test_backspace, setup),
		cmocka_unit_test_setup(test_backspace_past_empty, setup),
		cmocka_unit_test_setup(test_ctrl_u, setup),
		cmocka_unit_test_setup(test_ctrl_c, setup),
		cmocka_unit_test_setup(test_longest_line, setup),
		cmocka_unit_test_setup(test_too_long, setup),
		cmocka_unit_test_setup(test_too_long_then_edit, setup),
		cmocka_unit_test_setup(test_unprintable_stored_not_echoed, setup),
		cmocka_unit_test_setup(test_nul_byte_ignored, setup),
		cmocka_unit_test_setup(test_backspace_over_unechoed_byte, setup),
		cmocka_unit_test_setup(test_ctrl_u_over_unechoed_bytes, setup),
	};

	return cmocka_run_group_tests_name("lineedit", tests, NULL, NULL);
}
