/* _newlib_version.h -- emhv's committed stand-in for the header newlib's
   configure generates from newlib/_newlib_version.hin (see newlib.h here).
   Must match the tarball unpacked by mk/newlib.mk (NEWLIB_VERSION). */
#ifndef _NEWLIB_VERSION_H__
#define _NEWLIB_VERSION_H__ 1

#define _NEWLIB_VERSION "3.3.0"
#define __NEWLIB__ 3
#define __NEWLIB_MINOR__ 3
#define __NEWLIB_PATCHLEVEL__ 0

#endif /* !_NEWLIB_VERSION_H__ */
