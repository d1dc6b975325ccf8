/* newlib.h -- emhv's committed stand-in for the header newlib's configure
   generates from newlib/newlib.hin (the copy inside the newlib tree,
   libc/include/newlib.h, is an empty placeholder).  mk/newlib.mk puts this
   directory first on the include path, for newlib's own sources and for ours.

   It follows newlib 3.3.0's configure.in / configure.host for
   --host=x86_64-elf with gcc 12 (configure itself is never run), with these
   options added:
       --enable-newlib-io-c99-formats   (%zu %jd %td %hhd)
       --enable-newlib-io-long-long     (%lld %llx)
       --enable-newlib-nano-malloc      (small allocator; our _sbrk always fails)
   Everything else is configure's default: no multibyte (_MB_LEN_MAX 1), no
   positional printf args, no long double I/O, full struct _reent.
   Floating point is switched off separately, by -DNO_FLOATING_POINT on the
   compile line (see mk/newlib.mk), not here.
   If you change an option, rebuild newlib (mk/newlib.mk depends on this file). */
#ifndef __NEWLIB_H__
#define __NEWLIB_H__ 1

/* Newlib version */
#include <_newlib_version.h>

/* C99 formats support (such as %a, %zu, ...) in IO functions like
 * printf/scanf enabled */
#define _WANT_IO_C99_FORMATS 1

/* long long type support in IO functions like printf/scanf enabled */
#define _WANT_IO_LONG_LONG 1

/* Verify _REENT_CHECK macros allocate memory successfully (configure default;
   only has an effect with _WANT_REENT_SMALL). */
#define _REENT_CHECK_VERIFY 1

/* Multibyte not supported: MB_LEN_MAX */
#define _MB_LEN_MAX 1

/* Linker supports .preinit_array/.init_array/.fini_array sections. */
#define HAVE_INITFINI_ARRAY 1

/* True if atexit() may dynamically allocate space for cleanup functions. */
#define _ATEXIT_DYNAMIC_ALLOC 1

/* True if long double supported (a compiler property; no long double I/O). */
#define _HAVE_LONG_DOUBLE 1

/* Compiler supports -fno-tree-loop-distribute-patterns: keeps gcc from turning
   newlib's own memset/memmove loops into calls to themselves. */
#define _HAVE_CC_INHIBIT_LOOP_TO_LIBCALL 1

/* Stdio stream options (configure defaults; FILE streams are not built). */
#define _FVWRITE_IN_STREAMIO 1
#define _FSEEK_OPTIMIZATION 1
#define _WIDE_ORIENT 1
#define _UNBUF_STREAM_OPT 1

/* Small-footprint allocator (stdlib/nano-mallocr.c). */
#define _NANO_MALLOC 1

#endif /* !__NEWLIB_H__ */
