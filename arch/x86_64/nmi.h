/*
 * NMIs belong to the host: one arriving in root mode, or while a guest
 * runs (VT-x reflects the NMI exit into the handler, AMD-V takes it at
 * STGI), is counted here and logged later by the core; none is fatal.
 */
#ifndef ARCH_X86_64_NMI_H
#define ARCH_X86_64_NMI_H

#include <stdint.h>
#include "mce.h"

/* Install the NMI and machine-check handlers. */
void nmi_init(void);
/* NMIs taken since boot. */
uint64_t nmi_count(void);
/* The NMI just taken arrived while VM id ran (for the log). */
void nmi_note_guest(int vm_id);
/* One line for the log when NMIs came since the last call (else buf[0] = 0). */
void nmi_report(char *buf, unsigned n);

#endif
