/* Line editing for the serial monitor: collects bytes into a line, with backspace and ^C/^U. */
#ifndef HV_LINEEDIT_H
#define HV_LINEEDIT_H

#include "cmdline.h"

enum lineedit_result {
	LE_MORE,     /* keep feeding */
	LE_LINE,     /* a complete line is in le->buf */
	LE_TOO_LONG, /* the line was over CMD_LINE_MAX - 1 bytes and is dropped */
	LE_CANCEL,   /* ^C: the line is dropped */
};

struct lineedit {
	char buf[CMD_LINE_MAX];
	unsigned len;
	int overflow;
	int last_cr;
	void (*echo)(const char *s, unsigned n);
};

void lineedit_reset(struct lineedit *le);
/* Feed one input byte; echoes printable bytes and edits through le->echo; NUL is ignored. */
enum lineedit_result lineedit_feed(struct lineedit *le, unsigned char c);

#endif
