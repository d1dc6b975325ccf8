/* Core-wide state set up at boot: the boot info copy and the start time. */
#ifndef HV_HV_H
#define HV_HV_H

#include <stdint.h>
#include <emhv/bootinfo.h>

extern uint64_t hv_start_tsc;

/* The core's copy of the loader's boot info (the original is freed). */
const struct bootinfo *hv_bootinfo(void);
/* A module the loader read from \emhv\, by file name; NULL if absent. */
const struct bootinfo_module *hv_module(const char *name);

#endif
