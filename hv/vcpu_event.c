/* A vCPU's pending events and the SDM's rule for an exception raised while another is delivered. */
#include <string.h>
#include <emhv/x86_regs.h>
#include "vcpu_event.h"

enum exc_class { BENIGN, CONTRIBUTORY, PAGE_FAULT, DOUBLE_FAULT };

/* Table 6-4: #DE, #TS, #NP, #SS, #GP are contributory; #PF has its own class. */
static enum exc_class exc_class(const struct virt_event *ev)
{
	if (ev->type != VEV_HW_EXC)
		return BENIGN;
	switch (ev->vector) {
	case VEC_DE: case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP:
		return CONTRIBUTORY;
	case VEC_PF:
		return PAGE_FAULT;
	case VEC_DF:
		return DOUBLE_FAULT;
	default:
		return BENIGN;
	}
}

void event_reset(struct vcpu_events *q)
{
	memset(q, 0, sizeof(*q));
}

enum event_merge event_merge(const struct virt_event *first, const struct virt_event *second,
			     struct virt_event *out)
{
	enum exc_class a = exc_class(first), b = exc_class(second);

	if (a == DOUBLE_FAULT && b != BENIGN)
		return EVENT_TRIPLE_FAULT;
	if ((a == CONTRIBUTORY && b == CONTRIBUTORY) || (a == PAGE_FAULT && b != BENIGN)) {
		*out = (struct virt_event){ .type = VEV_HW_EXC, .vector = VEC_DF, .has_error = true, .error = 0 };
		return EVENT_DOUBLE_FAULT;
	}
	*out = *second; /* handled serially: the second is delivered */
	return EVENT_QUEUED;
}

/* An interrupted NMI or external interrupt is not lost when an exception goes first. */
static void keep_interrupt(struct vcpu_events *q, const struct virt_event *ev)
{
	if (ev->type == VEV_NMI)
		q->nmi = true;
	else if (ev->type == VEV_EXTINT)
		event_set_irq(q, ev->vector);
}

void event_requeue(struct vcpu_events *q, const struct virt_event *ev)
{
	if (ev->type == VEV_NONE)
		return;
	/* nothing else can wait in exc when an exit reports a cut-short event: it was injected */
	if (q->exc.type != VEV_NONE)
		keep_interrupt(q, &q->exc);
	q->exc = *ev;
}

enum event_merge event_raise(struct vcpu_events *q, uint8_t vector, bool has_error, uint32_t error)
{
	struct virt_event ev = { .type = VEV_HW_EXC, .vector = vector, .has_error = has_error, .error = error };
	enum event_merge r;

	if (q->exc.type == VEV_NONE) {
		q->exc = ev;
		return EVENT_QUEUED;
	}
	keep_interrupt(q, &q->exc);
	r = event_merge(&q->exc, &ev, &q->exc);
	if (r == EVENT_TRIPLE_FAULT)
		q->exc.type = VEV_NONE;
	return r;
}

void event_set_irq(struct vcpu_events *q, uint8_t vector)
{
	q->irr[vector >> 6] |= 1ULL << (vector & 63);
}

int event_highest_irq(const struct vcpu_events *q)
{
	for (int i = 3; i >= 0; i--)
		if (q->irr[i])
			return i * 64 + 63 - __builtin_clzll(q->irr[i]);
	return -1;
}

bool event_next(struct vcpu_events *q, bool can_intr, struct virt_event *out, bool *want_window)
{
	int irq = event_highest_irq(q);

	*want_window = false;
	if (q->exc.type != VEV_NONE) {
		*out = q->exc;
		q->exc.type = VEV_NONE;
		*want_window = q->nmi || irq >= 0;
		return true;
	}
	if (q->nmi && can_intr) {
		q->nmi = false;
		*out = (struct virt_event){ .type = VEV_NMI, .vector = VEC_NMI };
		*want_window = irq >= 0;
		return true;
	}
	if (irq >= 0 && can_intr) {
		q->irr[irq >> 6] &= ~(1ULL << (irq & 63));
		*out = (struct virt_event){ .type = VEV_EXTINT, .vector = (uint8_t)irq };
		*want_window = event_highest_irq(q) >= 0;
		return true;
	}
	*want_window = q->nmi || irq >= 0;
	return false;
}
