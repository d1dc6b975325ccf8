/*
 * The one interface between the arch-neutral core and a virtualization
 * backend (VT-x in vmx/, AMD-V in svm/): probe, enable on a CPU, create a
 * vCPU, run it to its next exit, read and write its registers, inject an
 * event, invalidate translations. Exits come back normalized as struct
 * virt_exit; what to do about each is the core's policy (hv/vm_exit.c), the
 * same for both backends.
 */
#ifndef ARCH_X86_64_VIRT_H
#define ARCH_X86_64_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/npt.h"
#include "vcpu_state.h"

enum virt_exit_kind {
	VEXIT_CPUID,
	VEXIT_IO,
	VEXIT_MSR_READ,
	VEXIT_MSR_WRITE,
	VEXIT_HLT,
	VEXIT_NPF,	 /* nested-page fault: gpa and access */
	VEXIT_HYPERCALL, /* VMCALL / VMMCALL */
	VEXIT_EXTINT,	 /* a host interrupt arrived (the host handles it) */
	VEXIT_NMI,	 /* an NMI arrived while the guest ran (the host's handler has run) */
	VEXIT_MCE,	 /* a machine check while the guest ran (the host's handler has run) */
	VEXIT_TIMER,	 /* the backend's slice timer expired */
	VEXIT_CR_WRITE,	 /* a write to a CR (bits) the host owns */
	VEXIT_CR_READ,	 /* a read of a CR whose real value differs from the guest's */
	VEXIT_INSN,	 /* an intercepted instruction: insn.id says which, the core's table what to do */
	VEXIT_INTR_WINDOW, /* the guest can take an interrupt now */
	VEXIT_SHUTDOWN,	 /* triple fault */
	VEXIT_INVALID,	 /* VM entry failed; why says how */
	VEXIT_UNHANDLED, /* an exit the core has no handler for; why names it */
	VEXIT_NKINDS
};

/* Intercepted instructions the core completes or refuses by one policy (hv/vm_exit.c). */
enum virt_insn {
	VINSN_INVD,
	VINSN_WBINVD,
	VINSN_MONITOR,
	VINSN_MWAIT,
	VINSN_RDPMC,
	VINSN_RDTSCP,
	VINSN_INVPCID,
	VINSN_INVLPGA,
	VINSN_XSETBV,
	VINSN_PAUSE,
	VINSN_VMX,    /* VMXON, VMCLEAR, VMLAUNCH, ... */
	VINSN_SVM,    /* VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT */
	VINSN_GETSEC,
	VINSN_RSM,
	VINSN_ENCLS,
	VINSN_XSAVES, /* XSAVES / XRSTORS */
	VINSN_VMFUNC,
	VINSN_NKINDS
};

/* An event for the guest, as VM-entry injection (VT-x) or EVENTINJ (AMD-V) delivers it. */
enum virt_event_type {
	VEV_NONE,
	VEV_EXTINT,	 /* external interrupt */
	VEV_NMI,
	VEV_HW_EXC,	 /* a fault, trap or abort */
	VEV_SW_INT,	 /* INT n */
	VEV_SW_EXC,	 /* INT3, INTO */
	VEV_PRIV_SW_EXC, /* INT1 */
};

struct virt_event {
	uint8_t type;	  /* enum virt_event_type */
	uint8_t vector;
	uint8_t insn_len; /* software events: the length of the instruction that raised it */
	bool has_error;
	uint32_t error;
};

struct virt_exit {
	enum virt_exit_kind kind;
	uint32_t raw;	  /* the backend's own exit code */
	uint8_t insn_len; /* of the instruction behind the exit; 0: unknown, the core decodes it */
	/* the event whose delivery the exit cut short; it must be delivered again (type VEV_NONE: none) */
	struct virt_event vectoring;
	union {
		struct {
			uint16_t port;
			uint8_t size; /* 1, 2 or 4 */
			bool in, string, rep;
		} io;
		struct {
			uint32_t index;
		} msr;
		struct {
			uint64_t gpa;
			bool read, write, exec;
			bool present; /* the translation existed (a rights violation) */
		} npf;
		struct {
			uint8_t cr;
			uint8_t gpr; /* register number in ModRM order; CR_GPR_UNKNOWN: the core decodes */
			uint64_t value;
		} cr;
		struct {
			enum virt_insn id;
		} insn;
	};
	char why[128]; /* VEXIT_INVALID / VEXIT_UNHANDLED: in words */
	uint8_t grew;  /* set by the core: a growth fault served (1: 4 KiB, 2: 2 MiB), 3: a far page fetched */
};

#define CR_GPR_UNKNOWN 0xff

/* General-purpose registers in ModRM order; rsp is kept by the backend (VREG_RSP). */
struct vcpu_gprs {
	uint64_t r[16];
};
enum { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI, GPR_R8, GPR_R9, GPR_R10 };

enum virt_reg {
	VREG_RSP, VREG_RIP, VREG_RFLAGS, VREG_CR0, VREG_CR3, VREG_CR4, VREG_EFER,
	VREG_FS_BASE, VREG_GS_BASE, VREG_PAT, VREG_SYSENTER_CS, VREG_SYSENTER_ESP,
	VREG_SYSENTER_EIP, VREG_CPL,
	VREG_STAR, VREG_LSTAR, VREG_CSTAR, VREG_SFMASK, VREG_KERNEL_GS_BASE,
	VREG_DR6, VREG_DR7,
	VREG_TPR,	  /* the task priority as CR8 holds it (0..15) */
	/* exit (VEXIT_INTR_WINDOW) once the guest lowers its TPR below this (0..15) without an exit of its
	 * own: VT-x's TPR shadow; never above VREG_TPR at entry. AMD-V: unused, every CR8 write exits */
	VREG_TPR_THRESHOLD,
	VREG_TSC_OFFSET,  /* added to the host TSC for the guest's RDTSC */
	VREG_INTR_SHADOW, /* blocking by STI or MOV SS: non-zero while the next instruction is shadowed */
	VREG_COUNT
};

/* Entry state of a 64-bit vCPU (see include/emhv/guest_boot.h). */
struct vcpu_boot_state {
	uint64_t rip, rsp, rdi, rsi, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base, tr_base;
	uint16_t gdt_limit, tr_limit;
	uint16_t cs, ds, tr;
	/* CR4 bits the guest may change without the core's say (the rest exit, or are refused) */
	uint64_t cr4_guest_owned;
};

/* What the core's quick_npf made of a nested-page fault: not completed (0), or how it completed it. */
enum virt_quick_kind {
	VIRT_QUICK_NONE,
	VIRT_QUICK_GROW,   /* a 4 KiB page of the VM's own RAM backed and mapped */
	VIRT_QUICK_MAPPED, /* a page that exists elsewhere (a device's shared memory) mapped */
	VIRT_QUICK_KINDS
};

/*
 * Nested-page faults a run() completed itself (virt_vcpu.quick_npf) before it returned, by kind;
 * their cost, VM exit to the next VM entry: the sum and the dearest.
 */
struct virt_quick {
	uint32_t n[VIRT_QUICK_KINDS];
	uint64_t tsc[VIRT_QUICK_KINDS], max[VIRT_QUICK_KINDS];
};

/*
 * The world switch is the median of the last VIRT_SWITCH_SAMPLES entries measured: all of them at
 * the first measurement, one at each after (virt_switch_want), so that it follows an emulator
 * whose switch drifts (QEMU's TCG) at the cost of one entry a measurement.
 */
#define VIRT_SWITCH_SAMPLES 7
#define VIRT_SWITCH_TRIES 14 /* entries at most, those a host interrupt ended included */

/* A backend's vCPU: gprs first so the core reaches them without a call. */
struct virt_vcpu {
	struct vcpu_gprs gprs;
	uint64_t cr2;
	/* TSC just before run()'s first VM entry, and just after the exit it returns with */
	uint64_t entry_tsc, exit_tsc;
	uint64_t guest_tsc;   /* TSC ticks in the guest during the last run() */
	uint64_t timer_ticks; /* exit with VEXIT_TIMER after about this many TSC ticks (if the backend can) */
	/*
	 * The core's answer to a not-present nested-page fault (nothing being delivered, no event cut
	 * short) that run() may take without returning, while timer_ticks has not run out: how it
	 * mapped the page (then run() enters the guest again at once), or VIRT_QUICK_NONE. NULL: run()
	 * returns at every fault. Called with interrupts off, between a VM exit and the next entry.
	 */
	enum virt_quick_kind (*quick_npf)(void *ctx, uint64_t gpa);
	void *quick_ctx;
	enum virt_quick_kind quick_kind; /* the last fault's, counted at the exit after its entry */
	struct virt_quick quick; /* the faults the last run() completed that way */
	/*
	 * Nonzero: the guest's TSC is to read this at the next VM entry (the far layer's warp): the
	 * backend sets the TSC offset from it just before entering, and clears it.
	 */
	uint64_t resume_tsc;
	/* Nonzero: the next VM entry happens at this TSC, not before (the far layer's spin): the entry stub waits. */
	uint64_t spin_until;
	/*
	 * The world switch of a nested-page fault as the guest sees it (backend measure_switch): the
	 * median time from a VM entry to the exit of the fault the guest makes again at once, over
	 * the last VIRT_SWITCH_SAMPLES entries measured (switch_win), 0 until measured. A far fault
	 * costs the guest this much beyond the hypervisor's TSC stamps: its access and the exit before
	 * the exit stamp, the entry after the entry stamp (the far layer takes it off the latency it
	 * charges).
	 */
	uint64_t switch_ticks;
	uint64_t switch_win[VIRT_SWITCH_SAMPLES]; /* the last entries measured, oldest at switch_pos once full */
	uint32_t switch_pos, switch_held; /* where the next goes, and how many the window holds */
	uint32_t switch_runs;  /* measurements taken */
	uint64_t switch_spent; /* TSC ticks they took, in all */
	uint16_t tag;		 /* VPID / ASID, non-zero */
	void *priv;   /* the backend's own state */
	struct vcpu_state state; /* FPU, debug registers, MSRs the hardware does not switch */
};

/*
 * The loop both backends' run() share: the guest's time and the cost of each fault completed in
 * run() (counted at the next exit, in that exit's own time), and whether the fault at gpa is one.
 */
/* vc->resume_tsc for the backend's entry stub, which sets the TSC offset from it (0: leave it); cleared. */
static inline uint64_t virt_resume_take(struct virt_vcpu *vc)
{
	uint64_t t = vc->resume_tsc;

	vc->resume_tsc = 0;
	return t;
}

/* vc->spin_until for the backend's entry stub (0: enter at once); cleared. */
static inline uint64_t virt_spin_take(struct virt_vcpu *vc)
{
	uint64_t t = vc->spin_until;

	vc->spin_until = 0;
	return t;
}


/* The TSC a measuring VM entry is to happen at: far enough ahead for the entry stub to be waiting (20 us). */
uint64_t virt_switch_at(void);
/* How many entries a measurement takes: VIRT_SWITCH_SAMPLES the first time, one after. */
static inline unsigned virt_switch_want(const struct virt_vcpu *vc)
{
	return vc->switch_runs ? 1 : VIRT_SWITCH_SAMPLES;
}
/*
 * A measurement begun at start: its samples (entry to exit, 0 < n <= VIRT_SWITCH_SAMPLES) into the
 * window, switch_ticks the window's median.
 */
void virt_switch_done(struct virt_vcpu *vc, const uint64_t *s, unsigned n, uint64_t start);

static inline void virt_run_begin(struct virt_vcpu *vc, uint64_t entry)
{
	vc->entry_tsc = entry;
	vc->guest_tsc = 0;
	vc->quick = (struct virt_quick){ { 0 }, { 0 }, { 0 } };
}

static inline void virt_run_exited(struct virt_vcpu *vc, uint64_t entry, uint64_t quick_exit)
{
	vc->guest_tsc += vc->exit_tsc - entry;
	if (quick_exit) {
		uint64_t cost = entry - quick_exit;
		enum virt_quick_kind k = vc->quick_kind;

		vc->quick.n[k]++;
		vc->quick.tsc[k] += cost;
		if (cost > vc->quick.max[k])
			vc->quick.max[k] = cost;
	}
}

static inline bool virt_run_quick(struct virt_vcpu *vc, uint64_t gpa)
{
	if (!vc->quick_npf || vc->exit_tsc - vc->entry_tsc >= vc->timer_ticks)
		return false;
	vc->quick_kind = vc->quick_npf(vc->quick_ctx, gpa);
	return vc->quick_kind != VIRT_QUICK_NONE;
}

struct virt_backend {
	const char *name; /* "VT-x with EPT" */
	const struct npt_format *npt_format;
	/* 2 MiB nested leaves supported (after probe) */
	bool (*npt_2m)(void);
	/* the hardware sets the nested tables' accessed and dirty bits (after probe) */
	bool (*npt_ad)(void);
	/* Check this CPU (controls, EPT features); 0, or -1 with why. */
	int (*probe)(char *why, size_t n);
	/* Turn virtualization on for the calling CPU. */
	int (*enable_cpu)(char *why, size_t n);
	/* A vCPU with the given nested-table root and entry state; NULL with why. */
	struct virt_vcpu *(*vcpu_create)(paddr_t npt_root, uint16_t tag, const struct vcpu_boot_state *s,
					 char *why, size_t n);
	void (*vcpu_destroy)(struct virt_vcpu *v);
	/* Enter the guest and return at its next exit, normalized. Called with interrupts off. */
	void (*run)(struct virt_vcpu *v, struct virt_exit *e);
	uint64_t (*get)(struct virt_vcpu *v, enum virt_reg r);
	void (*set)(struct virt_vcpu *v, enum virt_reg r, uint64_t val);
	/* Deliver ev at the next VM entry (replacing any event set before it since the last exit). */
	void (*inject)(struct virt_vcpu *v, const struct virt_event *ev);
	/* Exit with VEXIT_INTR_WINDOW as soon as the guest can take an interrupt (or stop asking). */
	void (*intr_window)(struct virt_vcpu *v, bool on);
	/*
	 * Optional (NULL: external interrupts go in through inject, when the guest can take them).
	 * Offer the external interrupt at vector for the CPU to deliver, with no exit, as soon as the
	 * guest can take it (RFLAGS.IF set, no interrupt shadow, the TPR below its class); -1 withdraws
	 * the offer. It is not an interrupt window: the core uses one or the other at an entry.
	 */
	void (*offer_intr)(struct virt_vcpu *v, int vector);
	/* After run(): whether the interrupt offered before it was delivered (or its delivery begun). */
	bool (*offer_taken)(struct virt_vcpu *v);
	/* Drop cached nested translations after a mapping was removed or downgraded. */
	void (*flush_npt)(struct virt_vcpu *v);
	/* Drop the guest's own cached linear translations (its CR4 paging bits changed). */
	void (*flush_guest_tlb)(struct virt_vcpu *v);
	/*
	 * After an exit for a not-present nested-page fault at gpa (nothing cut short), with gpa still
	 * not mapped: enter the guest virt_switch_want() times, each entry at a TSC of its choosing;
	 * the guest makes the same access again and exits at once, and nothing of its state changes.
	 * The times from entry to exit go to virt_switch_done. False, with
	 * nothing measured, when an entry exited for anything else (a host interrupt, a window the
	 * core asked for). The exit's own stamp (v->exit_tsc) stays. Called from exit handling.
	 * flush: each entry invalidates the guest's nested translations first, as the entry after the
	 * fault will when serving it unmaps a page (the far layer's eviction): an emulator's TLB
	 * refills after an invalidation are part of the switch the guest sees (QEMU's TCG: 1.3 us).
	 */
	bool (*measure_switch)(struct virt_vcpu *v, uint64_t gpa, bool flush);
};

extern const struct virt_backend vmx_backend;
extern const struct virt_backend svm_backend;

/* The backend for this CPU, enabled on the boot CPU; NULL with why when there is none. */
const struct virt_backend *virt_init(char *why, size_t n);
/* Why virt_init() found no backend ("" when it did). */
const char *virt_failure(void);
/* The backend virt_init() chose, or NULL. */
const struct virt_backend *virt_get(void);

#endif
