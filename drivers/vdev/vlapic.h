/*
 * A guest's local APIC, one per vCPU, in xAPIC mode (Intel SDM vol. 3A,
 * chapter 11): its register page at 0xFEE00000, interrupt acceptance and
 * priority, EOI, the timer (one-shot, periodic, TSC-deadline) and the two
 * MSRs that belong to it. A pure device model: the host gives it the
 * guest's TSC and is called back when an interrupt becomes deliverable,
 * when a level-triggered vector is EOIed and (optionally) for a self-NMI.
 *
 * The timer counts "bus clocks": one every tsc_per_tick cycles of the
 * guest's TSC, divided further by the divide configuration register.
 * vlapic_tsc_per_tick() picks the factor that makes the bus clock about
 * 25 MHz, the core crystal clock of Intel's server parts, which is what
 * Linux assumes the APIC timer runs at when CPUID leaf 0x15 names the
 * crystal (native_calibrate_tsc sets lapic_timer_period from it): report
 * CPUID.15H as EAX = 1, EBX = tsc_per_tick, ECX = tsc_hz / tsc_per_tick and
 * everything agrees. Counting in whole TSC cycles keeps every deadline an
 * exact integer, so a periodic timer never drifts.
 */
#ifndef EMHV_DRIVERS_VLAPIC_H
#define EMHV_DRIVERS_VLAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <emhv/x86_msr.h>
#include "hv/devbus.h"

#define VLAPIC_BASE 0xfee00000ULL
#define VLAPIC_SIZE 0x1000
#define VLAPIC_BUS_HZ 25000000ULL /* the bus clock vlapic_tsc_per_tick aims at */

#ifndef MSR_IA32_TSC_DEADLINE
#define MSR_IA32_TSC_DEADLINE 0x6e0
#endif
#define APIC_BASE_BSP (1ULL << 8)
#define APIC_BASE_EXTD (1ULL << 10) /* x2APIC mode: refused, CPUID has no x2APIC */
#define APIC_BASE_EN (1ULL << 11)
#define APIC_BASE_ADDR_MASK 0xfffffffffffff000ULL

/* Register offsets in the page (SDM 3A table 11-1). */
#define APIC_ID 0x020
#define APIC_LVR 0x030
#define APIC_TPR 0x080
#define APIC_APR 0x090
#define APIC_PPR 0x0a0
#define APIC_EOI 0x0b0
#define APIC_RRD 0x0c0
#define APIC_LDR 0x0d0
#define APIC_DFR 0x0e0
#define APIC_SVR 0x0f0
#define APIC_ISR 0x100 /* 8 registers, 0x10 apart, vectors 32 * i .. 32 * i + 31 */
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF 0x340
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0

#define APIC_VERSION 0x00050014 /* version 0x14 (integrated xAPIC), 6 LVT entries (max LVT 5) */
#define APIC_SVR_ENABLE (1u << 8)
#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVT_LEVEL (1u << 15)
#define APIC_LVT_TIMER_MODE (3u << 17)
#define APIC_TIMER_ONESHOT (0u << 17)
#define APIC_TIMER_PERIODIC (1u << 17)
#define APIC_TIMER_TSC_DEADLINE (2u << 17)

/* ESR bits (SDM 3A figure 11-9). */
#define APIC_ESR_SEND_ILLEGAL (1u << 5)
#define APIC_ESR_RECV_ILLEGAL (1u << 6)
#define APIC_ESR_ILLEGAL_REG (1u << 7)

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

/* What the host provides: the guest's TSC and three notifications. */
struct vlapic_host {
	uint64_t (*now)(void *ctx);		/* the guest's TSC now */
	void (*kick)(void *ctx);		/* an interrupt became deliverable (wake the vCPU) */
	void (*eoi)(void *ctx, uint8_t vector); /* EOI of a level-triggered vector (to the I/O APIC); may be NULL */
	void (*nmi)(void *ctx);			/* the guest sent itself an NMI by the ICR; may be NULL */
	void *ctx;
};

struct vlapic_stats {
	uint64_t ipi_self;    /* IPIs delivered to this APIC */
	uint64_t ipi_ignored; /* IPIs to other APICs, or INIT, SIPI, SMI: dropped */
	uint64_t timer_fired; /* timer expiries (masked or not) */
};

struct vlapic {
	struct vlapic_host host;
	uint32_t tsc_per_tick; /* guest TSC cycles per bus clock */
	uint8_t id;
	bool bsp;
	bool hw_enabled; /* IA32_APIC_BASE bit 11 */
	uint32_t tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi;
	uint32_t lvt[LVT_COUNT];
	uint32_t irr[8], isr[8], tmr[8];
	struct {
		uint32_t initial;      /* initial count register */
		uint32_t dcr;	       /* divide configuration register */
		bool armed;	       /* a deadline is set */
		uint64_t deadline;     /* guest TSC of the next expiry, when armed */
		uint64_t tsc_deadline; /* IA32_TSC_DEADLINE as the guest reads it in TSC-deadline mode */
	} timer;
	struct vlapic_stats stats;
};

/* The factor between the guest TSC and a bus clock of about VLAPIC_BUS_HZ (at least 1). */
static inline uint32_t vlapic_tsc_per_tick(uint64_t tsc_hz)
{
	uint64_t f = (tsc_hz + VLAPIC_BUS_HZ / 2) / VLAPIC_BUS_HZ;

	return f ? (f > UINT32_MAX ? UINT32_MAX : (uint32_t)f) : 1;
}

/* Power-up state, globally enabled, software disabled (SDM 3A 11.4.7.1); host is copied. */
void vlapic_init(struct vlapic *l, uint8_t id, bool bsp, uint32_t tsc_per_tick, const struct vlapic_host *host);
/* INIT or reset: the registers to their power-up values; the ID, BSP flag and callbacks stay. */
void vlapic_reset(struct vlapic *l);

/* The page on a VM's device bus (hv/devbus.h), at VLAPIC_BASE, VLAPIC_SIZE bytes. */
extern const struct dev_ops vlapic_ops;
/* An aligned 32-bit register access at offset (a multiple of 16). */
uint32_t vlapic_read(struct vlapic *l, unsigned offset);
void vlapic_write(struct vlapic *l, unsigned offset, uint32_t val);

/* IA32_APIC_BASE and IA32_TSC_DEADLINE: 0, or -1 for #GP (and for any other MSR). */
int vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *val);
int vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val);
static inline bool vlapic_msr_is_ours(uint32_t msr)
{
	return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE;
}

/* A fixed interrupt arrives (from the I/O APIC, say): IRR, and TMR when level-triggered. */
void vlapic_set_irq(struct vlapic *l, uint8_t vector, bool level);
/* The highest vector the APIC would present to the CPU now, or -1. */
int vlapic_pending(const struct vlapic *l);
/* The highest vector set in a 256-bit register (IRR, ISR, TMR), or -1. */
int vlapic_highest(const uint32_t r[8]);
/* The hypervisor injected vector: it moves from IRR to ISR. */
void vlapic_ack(struct vlapic *l, int vector);
/* Does this APIC answer to dest (an xAPIC physical ID or logical destination)? */
bool vlapic_match_dest(const struct vlapic *l, uint8_t dest, bool logical);

/* TPR, which CR8 mirrors: CR8[3:0] = TPR[7:4]. */
uint8_t vlapic_get_tpr(const struct vlapic *l);
void vlapic_set_tpr(struct vlapic *l, uint8_t tpr);
static inline uint64_t vlapic_get_cr8(const struct vlapic *l)
{
	return vlapic_get_tpr(l) >> 4;
}
static inline void vlapic_set_cr8(struct vlapic *l, uint64_t cr8)
{
	vlapic_set_tpr(l, (uint8_t)((cr8 & 0xf) << 4));
}

/* Fire the timer if it is due at now(); call before vlapic_pending when the vCPU may have slept. */
void vlapic_tick(struct vlapic *l);
/* Guest TSC of the next timer interrupt, or UINT64_MAX (disarmed, or masked: no interrupt to wait for). */
uint64_t vlapic_next_deadline(const struct vlapic *l);
/* Globally enabled (IA32_APIC_BASE bit 11)? CPUID.1:EDX.APIC should follow it. */
static inline bool vlapic_enabled(const struct vlapic *l)
{
	return l->hw_enabled;
}

#endif
