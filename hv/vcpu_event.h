/*
 * The one event queue of a vCPU: what is delivered at the next VM entry.
 * An exception raised while another event waits (one being re-injected
 * because an exit cut its delivery short, or one raised before it) merges
 * with it by the SDM's rule (vol. 3A, 6.15, table 6-5): two contributory
 * exceptions, or a page fault followed by a contributory exception or a
 * page fault, become a double fault; any of those after a double fault is
 * a triple fault (shutdown). External interrupts wait beside exceptions
 * and go in only when the guest can take them. Pure logic: no hardware.
 */
#ifndef EMHV_HV_VCPU_EVENT_H
#define EMHV_HV_VCPU_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/virt.h"

struct vcpu_events {
	struct virt_event exc; /* the exception or software event to deliver first (VEV_NONE: none) */
	bool nmi;	       /* an NMI waits */
	uint64_t irr[4];       /* external interrupt vectors waiting, one bit each */
};

enum event_merge {
	EVENT_QUEUED,	    /* the new exception waits (merged where the rule says so) */
	EVENT_DOUBLE_FAULT, /* the two became #DF, which waits */
	EVENT_TRIPLE_FAULT, /* the guest shuts down */
};

/* Is anything waiting? */
static inline bool event_pending(const struct vcpu_events *q)
{
	return q->exc.type != VEV_NONE || q->nmi || (q->irr[0] | q->irr[1] | q->irr[2] | q->irr[3]);
}

/* Empty the queue. */
void event_reset(struct vcpu_events *q);
/* The event an exit cut short goes back at the head of the queue. */
void event_requeue(struct vcpu_events *q, const struct virt_event *ev);
/* Queue a hardware exception, merging with what waits. */
enum event_merge event_raise(struct vcpu_events *q, uint8_t vector, bool has_error, uint32_t error);
/* Merge second, raised while first was being delivered, into *out (table 6-5). */
enum event_merge event_merge(const struct virt_event *first, const struct virt_event *second,
			     struct virt_event *out);
/* An external interrupt vector (32..255) is pending. */
void event_set_irq(struct vcpu_events *q, uint8_t vector);
/* The highest pending external interrupt vector, or -1. */
int event_highest_irq(const struct vcpu_events *q);
/*
 * What to inject at the next entry: the queued exception first, else an
 * NMI or the highest interrupt when can_intr (IF set, no interrupt shadow)
 * says the guest takes one now. The event is taken off the queue. Sets
 * *want_window when an interrupt waits that cannot go in yet.
 */
bool event_next(struct vcpu_events *q, bool can_intr, struct virt_event *out, bool *want_window);

#endif
