/* glue.c -- what newlib needs from below (_sbrk, errno), plus exit, abort and assert. */
/*
 * As in hv/newlib_glue.c: newlib's reent/sbrkr.c calls _sbrk() and copies
 * the OS-level `errno` defined here; the errno programs see is newlib's
 * (*__errno()). There is no heap: _sbrk always fails, so malloc returns NULL.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include "runtime.h"
#include "internal.h"

void *_sbrk(ptrdiff_t incr);

#undef errno
int errno;

void *_sbrk(ptrdiff_t incr)
{
	(void)incr;
	errno = ENOMEM;
	return (void *)-1;
}

void exit(int status)
{
	hc_exit(status);
}

void abort(void)
{
	puts("guest: abort");
	hc_exit(RT_EXIT_ABORT);
}

void __assert_func(const char *file, int line, const char *func, const char *expr)
{
	printf("guest: assertion \"%s\" failed: %s:%d (%s)\n", expr, file, line, func ? func : "?");
	hc_exit(RT_EXIT_ABORT);
}
