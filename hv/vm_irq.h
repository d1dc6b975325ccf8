/*
 * A VM's interrupts: one local APIC (xAPIC, at 0xfee00000) and one I/O APIC
 * (24 lines, at 0xfec00000) on its device bus, their timers on the guest's
 * TSC, and the bridge to the vCPU's event queue: before each entry the
 * APIC's highest deliverable vector is what the queue offers, and a vector
 * that went in moves from the APIC's IRR to its ISR. Devices raise I/O APIC
 * lines; a VM idle in HLT runs again when an interrupt is deliverable.
 */
#ifndef EMHV_HV_VM_IRQ_H
#define EMHV_HV_VM_IRQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/x86_64/virt.h"
#include "drivers/vdev/vioapic.h"
#include "drivers/vdev/vlapic.h"

struct vm;

struct vm_irq {
	struct vlapic lapic;
	struct vioapic ioapic;
	uint64_t injected;  /* external interrupts delivered to the vCPU */
	uint64_t wakeups;   /* halts an interrupt ended */
	uint64_t threshold; /* the TPR threshold the vCPU has */
	/* the external interrupt offered at this entry (virt_backend.offer_intr), -1: none; acked: one
	 * the APIC handed over before (cut short, or held back by an exception) */
	int offered;
	bool offered_acked;
};

/* The guest's TSC (before its vCPU exists, the host's): the clock of its timer devices. ctx: the VM. */
uint64_t vm_guest_now(void *ctx);
/*
 * After the vCPU ran with an interrupt offered (vm_irq.offered): taken, it is the APIC's in-service
 * one (unless it was already); not taken, it waits for the next entry. The offer is withdrawn.
 */
void vm_irq_offer_done(struct vm *vm);
/* Reset both controllers and claim their windows on the VM's bus; 0, or -1 with why. */
int vm_irq_init(struct vm *vm, char *why, size_t n);
/* A device drives I/O APIC line (0..23) high or low. */
void vm_irq_line(struct vm *vm, unsigned line, bool level);
/*
 * Before an entry: the timer fired if due, the guest's TPR into the APIC; the vector the APIC would
 * present now, or -1. It goes in only when nothing in the event queue goes first (exceptions, NMIs,
 * interrupts whose delivery an exit cut short: those were acknowledged already).
 */
int vm_irq_sync(struct vm *vm);
/* vector (from vm_irq_sync) goes in at this entry: it moves from requested to in service. */
void vm_irq_injected(struct vm *vm, int vector);
/* A HLT with interrupts on: true if the VM must wait (nothing deliverable yet), then it is VM_IDLE. */
bool vm_irq_halt(struct vm *vm);
/* A VM_IDLE VM: run it again if an interrupt is deliverable now (its timer fired, a device raised a line). */
bool vm_irq_wake(struct vm *vm);
/* Host TSC ticks until the VM's next timer interrupt, at most max. */
uint64_t vm_irq_timer_ticks(struct vm *vm, uint64_t max);
/* IA32_APIC_BASE and IA32_TSC_DEADLINE: 1 if msr is not one of them, 0 done, -1 for #GP. */
int vm_irq_msr_read(struct vm *vm, uint32_t msr, uint64_t *val);
int vm_irq_msr_write(struct vm *vm, uint32_t msr, uint64_t val);

#endif
