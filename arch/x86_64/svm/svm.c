/*
 * The AMD-V backend: EFER.SVME, the host save area, one VMCB per vCPU with
 * nested paging, I/O and MSR permission maps that intercept everything,
 * ASIDs with TLB control, and the virt_backend operations. Exit decoding
 * lives in svm_exit.c.
 */
#include <stdio.h>
#include <string.h>
#include <arch/x86_64/cpu.h>
#include <emhv/x86_msr.h>
#include <emhv/x86_regs.h>
#include "mm/frame.h"
#include "svm.h"

#define IOPM_ORDER 2  /* 12 KiB used of 16 */
#define MSRPM_ORDER 1 /* 8 KiB */

struct svm_caps svm;
static paddr_t hsave = FRAME_NONE, host_state = FRAME_NONE, iopm = FRAME_NONE, msrpm = FRAME_NONE;
/* Which vCPU last ran with each ASID: another one must flush before it runs. */
static struct svm_vcpu *asid_owner[64];

static int svm_probe(char *why, size_t n)
{
	struct cpuid_regs r;

	if (!(cpuid(0x80000001, 0).ecx & (1u << 2))) {
		snprintf(why, n, "the CPU has no AMD-V (CPUID 0x80000001:ECX.SVM = 0)");
		return -1;
	}
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		snprintf(why, n, "the firmware disabled AMD-V (VM_CR.SVMDIS = 1)");
		return -1;
	}
	r = cpuid(0x8000000a, 0);
	svm.features = r.edx;
	svm.asids = r.ebx;
	if (!(svm.features & SVM_FEAT_NP)) {
		snprintf(why, n, "AMD-V lacks nested paging");
		return -1;
	}
	if (svm.asids < 2) {
		snprintf(why, n, "AMD-V offers no ASID for guests");
		return -1;
	}
	return 0;
}

static paddr_t zeroed(unsigned order, uint8_t fill)
{
	paddr_t pa = frame_alloc(order, FRAME_OWNER_HV);

	if (pa != FRAME_NONE)
		memset((void *)pa, fill, FRAME_SIZE << order);
	return pa;
}

/* The host save area, the VMSAVE area for the host, and the permission maps: all or none. */
static int alloc_host_areas(void)
{
	struct {
		paddr_t *pa;
		unsigned order;
		uint8_t fill;
	} areas[] = {
		{ &hsave, 0, 0 },
		{ &host_state, 0, 0 },
		{ &iopm, IOPM_ORDER, 0xff },   /* every port intercepted */
		{ &msrpm, MSRPM_ORDER, 0xff }, /* every MSR intercepted */
	};
	unsigned i;

	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		*areas[i].pa = zeroed(areas[i].order, areas[i].fill);
		if (*areas[i].pa == FRAME_NONE)
			break;
	}
	if (i == sizeof(areas) / sizeof(areas[0]))
		return 0;
	while (i--) {
		frame_free(*areas[i].pa, areas[i].order, FRAME_OWNER_HV);
		*areas[i].pa = FRAME_NONE;
	}
	return -1;
}

static int svm_enable_cpu(char *why, size_t n)
{
	if (hsave == FRAME_NONE && alloc_host_areas()) {
		snprintf(why, n, "no frames for the host save area and permission maps");
		return -1;
	}
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave);
	return 0;
}

static bool svm_has_2m(void)
{
	return true; /* nested paging walks the host's long-mode format: 2 MiB pages always exist */
}

static bool svm_has_ad(void)
{
	return true; /* the nested walk sets A and D like any long-mode page walk (APM 15.25.5) */
}

static uint32_t pick_asid(uint16_t tag)
{
	uint32_t usable = svm.asids - 1 < 64 ? svm.asids - 1 : 63;

	return 1 + (tag - 1u) % usable;
}

/* VMCB segment attributes: type, S, DPL, P in bits 7:0; AVL, L, DB, G in 11:8. */
#define ATTR_CODE64 0xa9b
#define ATTR_DATA 0xc93
#define ATTR_TSS64_BUSY 0x08b

static void set_seg(struct vmcb_seg *s, uint16_t sel, uint16_t attrib, uint32_t limit, uint64_t base)
{
	*s = (struct vmcb_seg){ sel, attrib, limit, base };
}

static void setup_guest(struct vmcb_save *g, const struct vcpu_boot_state *s)
{
	set_seg(&g->cs, s->cs, ATTR_CODE64, 0xffffffff, 0);
	set_seg(&g->ds, s->ds, ATTR_DATA, 0xffffffff, 0);
	g->es = g->ss = g->fs = g->gs = g->ds;
	set_seg(&g->tr, s->tr, ATTR_TSS64_BUSY, s->tr_limit, s->tr_base);
	set_seg(&g->gdtr, 0, 0, s->gdt_limit, s->gdt_base);
	set_seg(&g->idtr, 0, 0, 0, 0);
	set_seg(&g->ldtr, 0, 0, 0, 0);
	g->cpl = 0;
	g->efer = s->efer | EFER_SVME; /* VMRUN requires it; guests read it as clear */
	g->cr0 = s->cr0;
	g->cr3 = s->cr3;
	g->cr4 = s->cr4 | (read_cr4() & CR4_MCE);
	g->dr7 = DR7_RESET;
	g->dr6 = DR6_RESET;
	g->rflags = s->rflags | 2;
	g->rip = s->rip;
	g->rsp = s->rsp;
	g->g_pat = 0x0007040600070406ULL;
}

static struct virt_vcpu *svm_vcpu_create(paddr_t npt_root, uint16_t tag, const struct vcpu_boot_state *s,
					 char *why, size_t n)
{
	paddr_t page = zeroed(0, 0), vmcb = zeroed(0, 0);
	struct svm_vcpu *v = (struct svm_vcpu *)page;
	struct vmcb_control *c;

	_Static_assert(sizeof(struct svm_vcpu) <= FRAME_SIZE, "a vCPU fits one frame");
	if (page == FRAME_NONE || vmcb == FRAME_NONE) {
		if (page != FRAME_NONE)
			frame_free(page, 0, FRAME_OWNER_HV);
		if (vmcb != FRAME_NONE)
			frame_free(vmcb, 0, FRAME_OWNER_HV);
		snprintf(why, n, "no frame for the VMCB");
		return NULL;
	}
	v->vmcb = (struct vmcb *)vmcb;
	v->vcpu.tag = tag;
	v->vcpu.priv = v;
	v->vcpu.gprs.r[GPR_RDI] = s->rdi;
	v->vcpu.gprs.r[GPR_RSI] = s->rsi;
	v->asid = pick_asid(tag);
	v->flush = true;
	vcpu_state_init(&v->vcpu.state, 0); /* DR6 and the SYSCALL MSRs live in the VMCB */
	c = &v->vmcb->control;
	/*
	 * CR4 writes follow the core's policy (every one exits); reads exit too, as the VMCB's CR4 keeps the
	 * host's MCE on (a machine check in guest mode with CR4.MCE clear shuts the CPU down) and the guest
	 * must read what it wrote. CR8 writes are checked for reserved bits.
	 */
	v->cr4 = s->cr4;
	c->cr_intercepts = INTERCEPT_CR_READ(4) | INTERCEPT_CR_WRITE(4) | INTERCEPT_CR_WRITE(8);
	c->exception_intercepts = INTERCEPT_EXCEPTION(VEC_MC); /* a machine check is the host's */
	c->intercept3 = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_SMI | INTERCEPT_INIT | INTERCEPT_CPUID |
			INTERCEPT_INVD | INTERCEPT_HLT | INTERCEPT_IOIO | INTERCEPT_MSR | INTERCEPT_TASK_SWITCH |
			INTERCEPT_SHUTDOWN | INTERCEPT_RDPMC | INTERCEPT_RSM | INTERCEPT_INVLPGA;
	c->intercept4 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD | INTERCEPT_VMSAVE |
			INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT | INTERCEPT_MONITOR |
			INTERCEPT_MWAIT | INTERCEPT_XSETBV | INTERCEPT_RDTSCP | INTERCEPT_WBINVD;
	c->intercept5 = INTERCEPT_INVPCID;
	c->iopm_base_pa = iopm;
	c->msrpm_base_pa = msrpm;
	c->asid = v->asid;
	c->v_intr = V_INTR_MASKING;
	c->np_enable = NP_ENABLE;
	c->n_cr3 = npt_root;
	setup_guest(&v->vmcb->save, s);
	return &v->vcpu;
}

/* Nested and guest translations are both tagged with the ASID: one flush covers them (APM 15.16). */
static void svm_flush_npt(struct virt_vcpu *vc)
{
	((struct svm_vcpu *)vc->priv)->flush = true;
}

static void svm_vcpu_destroy(struct virt_vcpu *vc)
{
	struct svm_vcpu *v = vc->priv;

	vcpu_state_forget(&vc->state);
	/* the next vCPU on this ASID flushes anyway: it is not the owner */
	if (asid_owner[v->asid] == v)
		asid_owner[v->asid] = NULL;
	frame_free((paddr_t)v->vmcb, 0, FRAME_OWNER_HV);
	frame_free((paddr_t)v, 0, FRAME_OWNER_HV);
}

/* The exit is a nested-page fault on a not-present page that cut no event short (APM 15.25.6). */
static bool not_present_npf(const struct vmcb_control *c)
{
	return (uint32_t)c->exit_code == SVM_EXIT_NPF && !(c->exit_info1 & NPF_PRESENT) &&
	       !(c->exit_int_info & EVENTINJ_VALID);
}

/* An exit run() may complete itself: a not-present nested-page fault, no event cut short. */
static bool quick_exit(struct virt_vcpu *vc, const struct vmcb_control *c)
{
	return not_present_npf(c) && virt_run_quick(vc, c->exit_info2);
}

/* The VMRUN TLB control that flushes the vCPU's ASID: by ASID where the CPU can, else all of them. */
static uint8_t flush_control(void)
{
	return (svm.features & SVM_FEAT_FLUSH_BY_ASID) ? TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL;
}

/* The VMCB made ready for VMRUN: its ASID's flush if one is owed, the registers it carries. */
static void enter_prepare(struct virt_vcpu *vc, struct svm_vcpu *v)
{
	struct vmcb *vmcb = v->vmcb;

	if (asid_owner[v->asid] != v) {
		asid_owner[v->asid] = v;
		v->flush = true;
	}
	vmcb->control.tlb_control = v->flush ? flush_control() : TLB_CONTROL_NONE;
	v->flush = false;
	vmcb->control.clean_bits = 0; /* emhv rewrites what it changes; nothing is cached */
	vmcb->save.rax = vc->gprs.r[GPR_RAX];
	vmcb->save.cr2 = vc->cr2;
	vcpu_state_load(&vc->state);
}

/* After the last #VMEXIT: the registers the VMCB carried back, and a machine check handled. */
static void exit_finish(struct virt_vcpu *vc, struct vmcb *vmcb)
{
	vc->gprs.r[GPR_RAX] = vmcb->save.rax;
	vc->cr2 = vmcb->save.cr2;
	/* An NMI that made the exit was taken by the host's handler at STGI; a machine check needs a call. */
	if ((uint32_t)vmcb->control.exit_code == SVM_EXIT_EXCP_MC)
		__asm__ volatile("int $18");
}

static void svm_run(struct virt_vcpu *vc, struct virt_exit *e)
{
	struct svm_vcpu *v = vc->priv;
	struct vmcb *vmcb = v->vmcb;
	uint64_t entry, quick = 0;

	enter_prepare(vc, v);
	virt_run_begin(vc, entry = rdtsc());
	for (;;) {
		svm_enter((uint64_t)vmcb, &vc->gprs, host_state, virt_resume_take(vc), virt_spin_take(vc));
		vc->exit_tsc = svm_exit_tsc - SVM_EXIT_TICKS;
		virt_run_exited(vc, entry, quick);
		vmcb->control.event_inj = 0; /* delivered; what the exit cut short comes back as e->vectoring */
		if (!quick_exit(vc, &vmcb->control))
			break;
		quick = vc->exit_tsc;
		vmcb->control.tlb_control = TLB_CONTROL_NONE; /* a flush asked for is done */
		entry = rdtsc();
	}
	exit_finish(vc, vmcb);
	svm_decode_exit(v, e);
}

/* See virt_backend.measure_switch. The guest's access faults again, and nothing of it changes. */
static bool svm_measure_switch(struct virt_vcpu *vc, uint64_t gpa, bool flush)
{
	struct svm_vcpu *v = vc->priv;
	struct vmcb *vmcb = v->vmcb;
	const struct vmcb_control *c = &vmcb->control;
	uint64_t s[VIRT_SWITCH_SAMPLES], start = rdtsc(), flags = irq_save();
	unsigned n = 0, want = virt_switch_want(vc);

	enter_prepare(vc, v);
	for (unsigned tries = 0; n < want && tries < VIRT_SWITCH_TRIES; tries++) {
		uint64_t at = virt_switch_at();

		if (flush)
			vmcb->control.tlb_control = flush_control();
		svm_enter((uint64_t)vmcb, &vc->gprs, host_state, 0, at);
		vmcb->control.tlb_control = TLB_CONTROL_NONE; /* a flush asked for is done */
		if ((uint32_t)c->exit_code == SVM_EXIT_INTR) { /* the host's interrupt, taken now; no sample */
			irq_restore(flags);
			flags = irq_save();
			continue;
		}
		if (!not_present_npf(c) || c->exit_info2 != gpa)
			break;
		s[n++] = svm_exit_tsc - SVM_EXIT_TICKS - at;
	}
	exit_finish(vc, vmcb);
	irq_restore(flags);
	if (n < want)
		return false;
	virt_switch_done(vc, s, n, start);
	return true;
}

static uint64_t svm_get(struct virt_vcpu *vc, enum virt_reg r)
{
	struct vmcb_save *g = &((struct svm_vcpu *)vc->priv)->vmcb->save;
	struct vmcb_control *c = &((struct svm_vcpu *)vc->priv)->vmcb->control;

	switch (r) {
	case VREG_RSP: return g->rsp;
	case VREG_RIP: return g->rip;
	case VREG_RFLAGS: return g->rflags;
	case VREG_CR0: return g->cr0;
	case VREG_CR3: return g->cr3;
	case VREG_CR4: return ((struct svm_vcpu *)vc->priv)->cr4;
	case VREG_EFER: return g->efer & ~EFER_SVME;
	case VREG_FS_BASE: return g->fs.base;
	case VREG_GS_BASE: return g->gs.base;
	case VREG_PAT: return g->g_pat;
	case VREG_SYSENTER_CS: return g->sysenter_cs;
	case VREG_SYSENTER_ESP: return g->sysenter_esp;
	case VREG_SYSENTER_EIP: return g->sysenter_eip;
	case VREG_CPL: return g->cpl;
	case VREG_STAR: return g->star;
	case VREG_LSTAR: return g->lstar;
	case VREG_CSTAR: return g->cstar;
	case VREG_SFMASK: return g->sfmask;
	case VREG_KERNEL_GS_BASE: return g->kernel_gs_base;
	case VREG_DR6: return g->dr6;
	case VREG_DR7: return g->dr7;
	case VREG_TPR: return c->v_intr & V_TPR_MASK;
	case VREG_TSC_OFFSET: return c->tsc_offset;
	case VREG_INTR_SHADOW: return c->interrupt_shadow & 1;
	default: return 0;
	}
}

static void svm_set(struct virt_vcpu *vc, enum virt_reg r, uint64_t val)
{
	struct vmcb_save *g = &((struct svm_vcpu *)vc->priv)->vmcb->save;
	struct vmcb_control *c = &((struct svm_vcpu *)vc->priv)->vmcb->control;

	switch (r) {
	case VREG_RSP: g->rsp = val; break;
	case VREG_RIP: g->rip = val; break;
	case VREG_RFLAGS: g->rflags = val; break;
	case VREG_CR0: g->cr0 = val; break;
	case VREG_CR3: g->cr3 = val; break;
	case VREG_CR4:
		((struct svm_vcpu *)vc->priv)->cr4 = val;
		g->cr4 = val | (read_cr4() & CR4_MCE);
		break;
	case VREG_EFER: g->efer = val | EFER_SVME; break;
	case VREG_FS_BASE: g->fs.base = val; break;
	case VREG_GS_BASE: g->gs.base = val; break;
	case VREG_PAT: g->g_pat = val; break;
	case VREG_SYSENTER_CS: g->sysenter_cs = val; break;
	case VREG_SYSENTER_ESP: g->sysenter_esp = val; break;
	case VREG_SYSENTER_EIP: g->sysenter_eip = val; break;
	case VREG_STAR: g->star = val; break;
	case VREG_LSTAR: g->lstar = val; break;
	case VREG_CSTAR: g->cstar = val; break;
	case VREG_SFMASK: g->sfmask = val; break;
	case VREG_KERNEL_GS_BASE: g->kernel_gs_base = val; break;
	case VREG_DR6: g->dr6 = val; break;
	case VREG_DR7: g->dr7 = val; break;
	case VREG_TPR: c->v_intr = (c->v_intr & ~V_TPR_MASK) | ((uint32_t)val & V_TPR_MASK); break;
	case VREG_TSC_OFFSET: c->tsc_offset = val; break;
	case VREG_INTR_SHADOW: c->interrupt_shadow = (c->interrupt_shadow & ~1ULL) | (val ? 1 : 0); break;
	default: break;
	}
}

/*
 * EVENTINJ types: INT3 and INTO are exceptions, INT1 too (APM 15.20). A
 * software event is only ever injected with next-RIP (the core re-executes
 * an INT n whose delivery was cut short, see svm_exit.c), so the return
 * address the CPU pushes is right.
 */
static void svm_inject(struct virt_vcpu *vc, const struct virt_event *ev)
{
	static const uint32_t type[] = {
		[VEV_EXTINT] = EVENTINJ_TYPE_INTR,    [VEV_NMI] = EVENTINJ_TYPE_NMI,
		[VEV_HW_EXC] = EVENTINJ_TYPE_EXCEPTION, [VEV_SW_INT] = EVENTINJ_TYPE_SOFT,
		[VEV_SW_EXC] = EVENTINJ_TYPE_EXCEPTION, [VEV_PRIV_SW_EXC] = EVENTINJ_TYPE_EXCEPTION,
	};
	struct vmcb_control *c = &((struct svm_vcpu *)vc->priv)->vmcb->control;

	if (ev->type == VEV_NONE) {
		c->event_inj = 0;
		return;
	}
	c->event_inj = EVENTINJ_VALID | type[ev->type] | ev->vector |
		       (ev->has_error ? EVENTINJ_ERROR_VALID | ((uint64_t)ev->error << 32) : 0);
}

/*
 * A virtual interrupt (APM vol. 2, 15.21.4): the CPU delivers it when the guest can take it, its
 * class above V_TPR, and clears V_IRQ. External interrupts go in so rather than by EVENTINJ, which
 * delivers at VMRUN whatever the guest's state: QEMU's TCG can deliver an injected interrupt a
 * second time at once, on the handler's first instruction with IF clear (its VMRUN leaves the
 * vector pending as an exception), which crashed Linux guests under load.
 */
static void svm_offer_intr(struct virt_vcpu *vc, int vector)
{
	struct vmcb_control *c = &((struct svm_vcpu *)vc->priv)->vmcb->control;

	c->v_intr &= ~V_IRQ_REQUEST;
	if (vector < 0)
		return;
	c->v_intr |= V_IRQ | ((uint32_t)vector >> 4) << V_INTR_PRIO_SHIFT;
	c->v_intr_vector = (uint32_t)vector;
}

static bool svm_offer_taken(struct virt_vcpu *vc)
{
	return !(((struct svm_vcpu *)vc->priv)->vmcb->control.v_intr & V_IRQ);
}

/* A virtual interrupt request with the highest priority makes the VINTR exit as soon as the guest can take it. */
static void svm_intr_window(struct virt_vcpu *vc, bool on)
{
	struct vmcb_control *c = &((struct svm_vcpu *)vc->priv)->vmcb->control;

	if (on) {
		c->v_intr |= V_IRQ_REQUEST;
		c->intercept3 |= INTERCEPT_VINTR;
	} else {
		c->v_intr &= ~V_IRQ_REQUEST;
		c->intercept3 &= ~INTERCEPT_VINTR;
	}
}

const struct virt_backend svm_backend = {
	.name = "AMD-V with NPT",
	.npt_format = &npt_format_npt,
	.npt_2m = svm_has_2m,
	.npt_ad = svm_has_ad,
	.probe = svm_probe,
	.enable_cpu = svm_enable_cpu,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.run = svm_run,
	.get = svm_get,
	.set = svm_set,
	.inject = svm_inject,
	.intr_window = svm_intr_window,
	.offer_intr = svm_offer_intr,
	.offer_taken = svm_offer_taken,
	.flush_npt = svm_flush_npt,
	.flush_guest_tlb = svm_flush_npt,
	.measure_switch = svm_measure_switch,
};
