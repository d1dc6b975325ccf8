/* The emhv version; the build passes EMHV_GIT. */
#ifndef HV_VERSION_H
#define HV_VERSION_H

#define EMHV_VERSION "0.1.0"
#ifndef EMHV_GIT
#define EMHV_GIT "unknown"
#endif

#endif
