/* Working-set tracking from the nested accessed bits, or from faults (mm/wss.c). */
#ifndef EMHV_MM_WSS_H
#define EMHV_MM_WSS_H

#include <stdbool.h>
#include "vm_mem.h"

struct wss_params {
	unsigned window;   /* the working set: pages accessed within the last window scans (>= 1) */
	unsigned idle_age; /* idle: not accessed for at least this many scans (>= 1) */
	bool split;	   /* split 2 MiB leaves that were accessed, to see their 4 KiB pages next time */
	/* track by faults: take each leaf's access away (a probe) and count it accessed if the guest
	 * faulted it back since; what a CPU without nested A/D bits needs, and a choice on others */
	bool probe;
};

/* One scan of m: ages, estimate, histogram into m->wss, accessed bits cleared (or leaves probed) and invalidated. */
void wss_scan(struct vm_mem *m, const struct wss_params *p);

#endif
