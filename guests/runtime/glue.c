/* glue.c -- exit, abort and assert for newlib; _sbrk and errno come from hv/newlib_glue.c, linked in too. */
#include <assert.h>
#include <stdlib.h>
#include "runtime.h"
#include "internal.h"

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
