/* newlib_glue.c -- OS stubs under emhv's newlib libc subset (mk/newlib.mk): _sbrk (always fails) and errno. */
/*
 * newlib splits its C library from the OS below it: newlib's own
 * reent/sbrkr.c implements _sbrk_r() by calling the OS stub _sbrk() and
 * copying the OS-level global `errno` into the caller's struct _reent.
 * That is all the linked subset needs from below:
 *
 *   - _sbrk: no heap in the hypervisor, so it always fails with ENOMEM.
 *     newlib's malloc (nano-mallocr, pulled in only because vfprintf's
 *     asprintf path references it; snprintf never calls it) therefore
 *     always returns NULL.
 *   - errno: the OS-level errno that sbrkr.c reads.  This is not the errno
 *     our code sees: <errno.h> defines errno as (*__errno()), i.e. the
 *     _errno field of newlib's single global struct _reent (_impure_ptr,
 *     from newlib's reent/impure.c).  strtoul() & co. set that one.
 *
 * _impure_ptr, __errno, _sbrk_r and the malloc lock hooks come from newlib
 * itself; nothing here replaces a newlib function.
 */
#include <errno.h>
#include <stddef.h>

void *_sbrk(ptrdiff_t incr);

/* The OS-level errno newlib's reent/sbrkr.c declares as `extern int errno`. */
#undef errno
int errno;

void *_sbrk(ptrdiff_t incr)
{
	(void)incr;
	errno = ENOMEM;
	return (void *)-1;
}
