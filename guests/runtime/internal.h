/* internal.h -- what runtime files share with each other but not with programs. */
#ifndef GUEST_INTERNAL_H
#define GUEST_INTERNAL_H

#include <stdint.h>
#include <emhv/guest_boot.h>

/* Exit statuses the runtime itself uses. */
#define RT_EXIT_ARGS	  2   /* a bad argument */
#define RT_EXIT_SETUP	  127 /* unusable boot parameters */
#define RT_EXIT_ABORT	  134 /* abort(), a failed assert() */
#define RT_EXIT_EXCEPTION 128 /* + the vector of an unexpected exception */

/* Install the IDT for all 256 vectors (idt.c). */
void idt_init(void);
/* If rip is a probe: note vector and error code, return where to resume; else 0 (probe.c). */
uint64_t probe_fixup(uint64_t rip, int vector, uint64_t error);
/* Fill argv (room for max entries, NULL-ended) from the boot params; argc (args.c). */
int args_init(const struct emhv_boot_params *bp, char **argv, int max);

#endif
