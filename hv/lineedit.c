/* Line editing for the serial monitor; pure logic, unit-tested on the host. */
#include "lineedit.h"

#define CTRL_C 0x03
#define CTRL_U 0x15
#define BS 0x08
#define DEL 0x7f

void lineedit_reset(struct lineedit *le)
{
	le->len = 0;
	le->overflow = 0;
	le->buf[0] = 0;
}

/* Remove up to n bytes; rub out on screen only those that were echoed. */
static void erase(struct lineedit *le, unsigned n)
{
	while (n-- && le->len) {
		unsigned char c = (unsigned char)le->buf[--le->len];

		if (c >= 0x20 && c < 0x7f)
			le->echo("\b \b", 3);
	}
}

enum lineedit_result lineedit_feed(struct lineedit *le, unsigned char c)
{
	int after_cr = le->last_cr;

	if (c == 0)
		return LE_MORE; /* line noise: never part of a command */
	le->last_cr = c == '\r';
	if (c == '\n' && after_cr)
		return LE_MORE; /* the \n of a \r\n pair */
	if (c == '\r' || c == '\n') {
		le->echo("\n", 1);
		le->buf[le->len] = 0;
		return le->overflow ? LE_TOO_LONG : LE_LINE;
	}
	if (c == CTRL_C) {
		le->echo("^C\n", 3);
		return LE_CANCEL;
	}
	if (c == CTRL_U) {
		erase(le, le->len);
		le->overflow = 0;
		return LE_MORE;
	}
	if (c == BS || c == DEL) {
		erase(le, 1);
		return LE_MORE;
	}
	if (le->len == CMD_LINE_MAX - 1) {
		le->overflow = 1;
		return LE_MORE;
	}
	le->buf[le->len++] = (char)c;
	if (c >= 0x20 && c < 0x7f)
		le->echo((const char *)&c, 1);
	return LE_MORE;
}
