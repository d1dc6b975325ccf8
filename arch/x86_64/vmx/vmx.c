/*
 * The VT-x backend: VMXON, a VMCS per vCPU whose controls are fixed from the
 * (TRUE) capability MSRs, EPT with write-back memory, VPID, and the
 * virt_backend operations. Exit decoding lives in vmx_exit.c.
 */
#include <string.h>
#include <stdio.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/percpu.h>
#include <arch/x86_64/virt.h>
#include <emhv/x86_msr.h>
#include <emhv/x86_regs.h>
#include "mm/frame.h"
#include "vmx.h"
#include "vmx_hw.h"
#include "vmx_insn.h"

/* The VM-entry interruption types of enum virt_event_type, and back. */
static const uint32_t event_type[] = {
	[VEV_EXTINT] = INTR_TYPE_EXTINT,       [VEV_NMI] = INTR_TYPE_NMI,
	[VEV_HW_EXC] = INTR_TYPE_HW_EXCEPTION, [VEV_SW_INT] = INTR_TYPE_SW_INT,
	[VEV_SW_EXC] = INTR_TYPE_SW_EXCEPTION, [VEV_PRIV_SW_EXC] = INTR_TYPE_PRIV_SW_EXCEPTION,
};

struct vmx_caps vmx;
static paddr_t vmxon_region = FRAME_NONE;
static struct vmx_vcpu *loaded; /* the VMCS current on this CPU */

/* (want | must-be-one) & may-be-one; -1 with why when a wanted bit is not allowed. */
static int fix_controls(const char *what, uint32_t msr, uint32_t want, uint32_t *out, char *why, size_t n)
{
	uint64_t cap = rdmsr(msr);
	uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);

	if (want & ~may) {
		snprintf(why, n, "VT-x lacks required %s controls 0x%x (MSR 0x%x allows 0x%x)", what,
			 want & ~may, msr, may);
		return -1;
	}
	*out = (want | must) & may;
	return 0;
}

static uint32_t optional(uint32_t msr, uint32_t bits)
{
	return (uint32_t)(rdmsr(msr) >> 32) & bits;
}

static int vmx_probe(char *why, size_t n)
{
	uint64_t basic;
	bool true_ctls;
	uint32_t want2;

	if (!(cpuid(1, 0).ecx & (1u << 5))) {
		snprintf(why, n, "the CPU has no VT-x (CPUID.1:ECX.VMX = 0)");
		return -1;
	}
	basic = rdmsr(MSR_IA32_VMX_BASIC);
	true_ctls = basic & VMX_BASIC_TRUE_CTLS;
	vmx.revision = VMX_BASIC_REVISION(basic);
	if (((basic >> 50) & 15) != 6) {
		snprintf(why, n, "VT-x wants VMCS memory type %u, not write-back", (unsigned)((basic >> 50) & 15));
		return -1;
	}
	if (fix_controls("pin-based", true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
			 PIN_EXTINT_EXITING | PIN_NMI_EXITING |
				 optional(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
					  PIN_PREEMPT_TIMER),
			 &vmx.pin, why, n) ||
	    fix_controls("processor-based", true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
						      : MSR_IA32_VMX_PROCBASED_CTLS,
			 PROC_HLT_EXITING | PROC_UNCOND_IO_EXITING | PROC_SECONDARY | PROC_TSC_OFFSETTING |
				 PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | PROC_RDPMC_EXITING | PROC_TPR_SHADOW,
			 &vmx.proc, why, n))
		return -1;
	vmx.intr_window = optional(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS,
				   PROC_INTR_WINDOW_EXITING);
	/* RDTSCP and INVPCID stay disabled: guests see neither in CPUID, so both raise #UD */
	want2 = PROC2_EPT | optional(MSR_IA32_VMX_PROCBASED_CTLS2, PROC2_VPID | PROC2_WBINVD_EXITING);
	if (fix_controls("secondary", MSR_IA32_VMX_PROCBASED_CTLS2, want2, &vmx.proc2, why, n))
		return -1;
	vmx.ept_caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (!(vmx.ept_caps & EPT_CAP_WALK4) || !(vmx.ept_caps & EPT_CAP_WB)) {
		snprintf(why, n, "EPT lacks a 4-level walk or write-back paging structures");
		return -1;
	}
	if (!(vmx.ept_caps & EPT_CAP_INVEPT) ||
	    !(vmx.ept_caps & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		snprintf(why, n, "EPT lacks INVEPT");
		return -1;
	}
	if ((vmx.proc2 & PROC2_VPID) &&
	    (!(vmx.ept_caps & EPT_CAP_INVVPID) ||
	     !(vmx.ept_caps & (EPT_CAP_INVVPID_SINGLE | EPT_CAP_INVVPID_ALL))))
		vmx.proc2 &= ~PROC2_VPID; /* VPIDs are only safe to reuse with INVVPID */
	if (fix_controls("VM-exit", true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
			 EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT |
				 EXIT_SAVE_DEBUG,
			 &vmx.exit, why, n) ||
	    fix_controls("VM-entry", true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS,
			 ENTRY_IA32E_GUEST | ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG, &vmx.entry, why,
			 n))
		return -1;
	vmx.timer_shift = rdmsr(MSR_IA32_VMX_MISC) & 31;
	vmx.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	vmx.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	vmx.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	vmx.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	return 0;
}

static int vmx_enable_cpu(char *why, size_t n)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	uint32_t *rev;

	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		snprintf(why, n, "the firmware locked IA32_FEATURE_CONTROL with VMX disabled");
		return -1;
	}
	write_cr0((read_cr0() | vmx.cr0_fixed0) & vmx.cr0_fixed1);
	write_cr4(((read_cr4() | CR4_OSFXSR | vmx.cr4_fixed0) & vmx.cr4_fixed1) | CR4_VMXE);
	if (vmxon_region == FRAME_NONE) {
		vmxon_region = frame_alloc(FRAME_ORDER_4K, FRAME_OWNER_HV);
		if (vmxon_region == FRAME_NONE) {
			snprintf(why, n, "no frame for the VMXON region");
			return -1;
		}
	}
	memset((void *)vmxon_region, 0, FRAME_SIZE);
	rev = (uint32_t *)vmxon_region;
	*rev = vmx.revision;
	if (vmxon(vmxon_region)) {
		snprintf(why, n, "VMXON failed");
		return -1;
	}
	/* Nothing from an earlier owner of VPIDs or EPT roots may survive. */
	invept(vmx.ept_caps & EPT_CAP_INVEPT_ALL ? INVEPT_ALL : INVEPT_SINGLE, 0);
	if (vmx.proc2 & PROC2_VPID)
		invvpid(vmx.ept_caps & EPT_CAP_INVVPID_ALL ? INVVPID_ALL : INVVPID_SINGLE, 1);
	return 0;
}

static bool vmx_has_2m_ept(void)
{
	return vmx.ept_caps & EPT_CAP_2M;
}

static bool vmx_has_ept_ad(void)
{
	return vmx.ept_caps & EPT_CAP_AD;
}

static void vmx_load(struct vmx_vcpu *v)
{
	if (loaded != v) {
		vmptrld(v->vmcs);
		loaded = v;
	}
}

static void setup_host_state(void)
{
	struct percpu *c = this_cpu();
	struct x86_dtr idtr;

	__asm__ volatile("sidt %0" : "=m"(idtr));
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SEL, GDT_CODE);
	vmwrite(VMCS_HOST_SS_SEL, GDT_DATA);
	vmwrite(VMCS_HOST_DS_SEL, GDT_DATA);
	vmwrite(VMCS_HOST_ES_SEL, GDT_DATA);
	vmwrite(VMCS_HOST_FS_SEL, 0);
	vmwrite(VMCS_HOST_GS_SEL, 0);
	vmwrite(VMCS_HOST_TR_SEL, GDT_TSS);
	vmwrite(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmwrite(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite(VMCS_HOST_TR_BASE, (uint64_t)&c->tss);
	vmwrite(VMCS_HOST_GDTR_BASE, (uint64_t)c->gdt);
	vmwrite(VMCS_HOST_IDTR_BASE, idtr.base);
	vmwrite(VMCS_HOST_SYSENTER_CS, 0);
	vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
	vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
	vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	vmwrite(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
	vmwrite(VMCS_HOST_RIP, (uint64_t)vmx_exit_point);
}

static void setup_segment(enum vmcs_field sel, uint16_t s, uint32_t ar, uint32_t limit, uint64_t base)
{
	/* selector, limit, access rights and base fields are laid out in parallel (appendix B) */
	vmwrite(sel, s);
	vmwrite(VMCS_GUEST_ES_LIMIT + (sel - VMCS_GUEST_ES_SEL), limit);
	vmwrite(VMCS_GUEST_ES_AR + (sel - VMCS_GUEST_ES_SEL), ar);
	vmwrite(VMCS_GUEST_ES_BASE + (sel - VMCS_GUEST_ES_SEL), base);
}

#define AR_CODE64 0xa09b   /* execute/read accessed, S, P, L, G */
#define AR_DATA 0xc093     /* read/write accessed, S, P, D/B, G */
#define AR_TSS64_BUSY 0x8b /* 64-bit busy TSS, P */
#define AR_UNUSABLE 0x10000

static void setup_guest_state(const struct vcpu_boot_state *s)
{
	static const enum vmcs_field data[] = { VMCS_GUEST_ES_SEL, VMCS_GUEST_SS_SEL, VMCS_GUEST_DS_SEL,
						VMCS_GUEST_FS_SEL, VMCS_GUEST_GS_SEL };

	setup_segment(VMCS_GUEST_CS_SEL, s->cs, AR_CODE64, 0xffffffff, 0);
	for (unsigned i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		setup_segment(data[i], s->ds, AR_DATA, 0xffffffff, 0);
	setup_segment(VMCS_GUEST_LDTR_SEL, 0, AR_UNUSABLE, 0, 0);
	setup_segment(VMCS_GUEST_TR_SEL, s->tr, AR_TSS64_BUSY, s->tr_limit, s->tr_base);
	vmwrite(VMCS_GUEST_GDTR_BASE, s->gdt_base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, s->gdt_limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0);
	vmx_set_cr(0, s->cr0);
	vmx_set_cr(4, s->cr4);
	vmwrite(VMCS_GUEST_CR3, s->cr3);
	vmwrite(VMCS_GUEST_EFER, s->efer);
	vmwrite(VMCS_GUEST_PAT, 0x0007040600070406ULL);
	vmwrite(VMCS_GUEST_DR7, DR7_RESET);
	vmwrite(VMCS_GUEST_RSP, s->rsp);
	vmwrite(VMCS_GUEST_RIP, s->rip);
	vmwrite(VMCS_GUEST_RFLAGS, s->rflags | 2);
	vmwrite(VMCS_GUEST_DEBUGCTL, 0);
	vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_ACTIVITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	vmwrite(VMCS_LINK_POINTER, ~0ULL);
}

static void setup_controls(struct vmx_vcpu *v, uint64_t cr4_guest_owned)
{
	vmwrite(VMCS_PIN_CTLS, vmx.pin);
	vmwrite(VMCS_PROC_CTLS, vmx.proc);
	vmwrite(VMCS_PROC2_CTLS, vmx.proc2);
	vmwrite(VMCS_EXIT_CTLS, vmx.exit);
	vmwrite(VMCS_ENTRY_CTLS, vmx.entry);
	vmwrite(VMCS_EXCEPTION_BITMAP, 1u << VEC_MC); /* a machine check is the host's */
	vmwrite(VMCS_PF_ERR_MASK, 0);
	vmwrite(VMCS_PF_ERR_MATCH, 0);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	vmwrite(VMCS_TSC_OFFSET, 0);
	/* The guest owns the CR0 bits VMX does not fix, and the CR4 bits the core's policy allows it. */
	vmwrite(VMCS_CR0_MASK, vmx.cr0_fixed0 | ~vmx.cr0_fixed1);
	vmwrite(VMCS_CR4_MASK, vmx.cr4_fixed0 | ~vmx.cr4_fixed1 | ~cr4_guest_owned);
	vmwrite(VMCS_EPTP, v->eptp);
	/* CR8 reads and writes go to the TPR in the vCPU's own virtual-APIC page, never the real APIC */
	vmwrite(VMCS_VIRTUAL_APIC_PAGE, v->vapic);
	vmwrite(VMCS_TPR_THRESHOLD, 0);
	if (vmx.proc2 & PROC2_VPID)
		vmwrite(VMCS_VPID, v->vcpu.tag);
}

static struct virt_vcpu *vmx_vcpu_create(paddr_t npt_root, uint16_t tag, const struct vcpu_boot_state *s,
					 char *why, size_t n)
{
	paddr_t pages[3];
	struct vmx_vcpu *v;
	paddr_t vmcs;

	_Static_assert(sizeof(struct vmx_vcpu) <= FRAME_SIZE, "a vCPU fits one frame");
	for (unsigned i = 0; i < 3; i++) {
		pages[i] = frame_alloc(FRAME_ORDER_4K, FRAME_OWNER_HV);
		if (pages[i] == FRAME_NONE) {
			while (i--)
				frame_free(pages[i], FRAME_ORDER_4K, FRAME_OWNER_HV);
			snprintf(why, n, "no frames for the VMCS");
			return NULL;
		}
		memset((void *)pages[i], 0, FRAME_SIZE);
	}
	v = (struct vmx_vcpu *)pages[0];
	vmcs = pages[1];
	*(uint32_t *)vmcs = vmx.revision;
	v->vmcs = vmcs;
	v->vapic = pages[2];
	v->vcpu.tag = tag;
	v->vcpu.priv = v;
	vcpu_state_init(&v->vcpu.state, VCPU_SWITCH_DR6 | VCPU_SWITCH_MSRS);
	v->eptp = npt_root | EPTP_WB | EPTP_WALK4 | ((vmx.ept_caps & EPT_CAP_AD) ? EPTP_AD : 0);
	if (vmclear(vmcs) || vmptrld(vmcs)) {
		snprintf(why, n, "VMCLEAR/VMPTRLD of a new VMCS failed");
		for (unsigned i = 0; i < 3; i++)
			frame_free(pages[i], FRAME_ORDER_4K, FRAME_OWNER_HV);
		return NULL;
	}
	loaded = v;
	v->proc = vmx.proc;
	setup_controls(v, s->cr4_guest_owned);
	setup_host_state();
	setup_guest_state(s);
	v->vcpu.gprs.r[GPR_RDI] = s->rdi;
	v->vcpu.gprs.r[GPR_RSI] = s->rsi;
	return &v->vcpu;
}

static void vmx_flush_npt(struct virt_vcpu *vc)
{
	struct vmx_vcpu *v = vc->priv;

	if (vmx.ept_caps & EPT_CAP_INVEPT_SINGLE)
		invept(INVEPT_SINGLE, v->eptp);
	else
		invept(INVEPT_ALL, 0);
}

/* Linear (and combined) translations tagged with the vCPU's VPID; without VPIDs every entry flushes them. */
static void vmx_flush_guest_tlb(struct virt_vcpu *vc)
{
	if (!(vmx.proc2 & PROC2_VPID))
		return;
	if (vmx.ept_caps & EPT_CAP_INVVPID_SINGLE)
		invvpid(INVVPID_SINGLE, vc->tag);
	else
		invvpid(INVVPID_ALL, 0);
}

static void vmx_vcpu_destroy(struct virt_vcpu *vc)
{
	struct vmx_vcpu *v = vc->priv;

	vmx_flush_npt(vc);
	vmx_flush_guest_tlb(vc);
	vcpu_state_forget(&vc->state);
	vmclear(v->vmcs);
	if (loaded == v)
		loaded = NULL;
	frame_free(v->vapic, FRAME_ORDER_4K, FRAME_OWNER_HV);
	frame_free(v->vmcs, FRAME_ORDER_4K, FRAME_OWNER_HV);
	frame_free((paddr_t)v, FRAME_ORDER_4K, FRAME_OWNER_HV);
}

/* Write a control register the way the guest asked, keeping the bits VMX fixes in the real one. */
void vmx_set_cr(int cr, uint64_t val)
{
	if (cr == 0) {
		vmwrite(VMCS_CR0_SHADOW, val);
		vmwrite(VMCS_GUEST_CR0, (val | vmx.cr0_fixed0) & vmx.cr0_fixed1);
	} else {
		/* the host's CR4.MCE stays on in guest mode, or a machine check would shut the CPU down */
		vmwrite(VMCS_CR4_SHADOW, val);
		vmwrite(VMCS_GUEST_CR4, ((val | vmx.cr4_fixed0 | (read_cr4() & CR4_MCE)) & vmx.cr4_fixed1) | CR4_VMXE);
	}
}

static uint64_t guest_cr(enum vmcs_field real, enum vmcs_field mask, enum vmcs_field shadow)
{
	uint64_t m = vmread(mask);

	return (vmread(real) & ~m) | (vmread(shadow) & m);
}

static const enum vmcs_field reg_field[VREG_COUNT] = {
	[VREG_RSP] = VMCS_GUEST_RSP,
	[VREG_RIP] = VMCS_GUEST_RIP,
	[VREG_RFLAGS] = VMCS_GUEST_RFLAGS,
	[VREG_CR3] = VMCS_GUEST_CR3,
	[VREG_EFER] = VMCS_GUEST_EFER,
	[VREG_FS_BASE] = VMCS_GUEST_FS_BASE,
	[VREG_GS_BASE] = VMCS_GUEST_GS_BASE,
	[VREG_PAT] = VMCS_GUEST_PAT,
	[VREG_SYSENTER_CS] = VMCS_GUEST_SYSENTER_CS,
	[VREG_SYSENTER_ESP] = VMCS_GUEST_SYSENTER_ESP,
	[VREG_SYSENTER_EIP] = VMCS_GUEST_SYSENTER_EIP,
	[VREG_DR7] = VMCS_GUEST_DR7,
	[VREG_TSC_OFFSET] = VMCS_TSC_OFFSET,
	[VREG_TPR_THRESHOLD] = VMCS_TPR_THRESHOLD,
};

static uint64_t vmx_get(struct virt_vcpu *vc, enum virt_reg r)
{
	struct vmx_vcpu *v = vc->priv;

	vmx_load(v);
	switch (r) {
	case VREG_CR0:
		return guest_cr(VMCS_GUEST_CR0, VMCS_CR0_MASK, VMCS_CR0_SHADOW);
	case VREG_CR4:
		return guest_cr(VMCS_GUEST_CR4, VMCS_CR4_MASK, VMCS_CR4_SHADOW);
	case VREG_CPL:
		return (vmread(VMCS_GUEST_SS_AR) >> 5) & 3;
	case VREG_STAR ... VREG_KERNEL_GS_BASE:
		return vcpu_state_get_msr(&vc->state, (enum vcpu_msr)(r - VREG_STAR));
	case VREG_DR6:
		return vcpu_state_get_dr(&vc->state, 6);
	case VREG_TPR:
		return ((uint8_t *)v->vapic)[VAPIC_TPR] >> 4;
	case VREG_INTR_SHADOW:
		return vmread(VMCS_GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
	default:
		return vmread(reg_field[r]);
	}
}

static void vmx_set(struct virt_vcpu *vc, enum virt_reg r, uint64_t val)
{
	struct vmx_vcpu *v = vc->priv;

	vmx_load(v);
	switch (r) {
	case VREG_CR0:
		vmx_set_cr(0, val);
		break;
	case VREG_CR4:
		vmx_set_cr(4, val);
		break;
	case VREG_CPL:
		break;
	case VREG_STAR ... VREG_KERNEL_GS_BASE:
		vcpu_state_set_msr(&vc->state, (enum vcpu_msr)(r - VREG_STAR), val);
		break;
	case VREG_DR6:
		vcpu_state_set_dr(&vc->state, 6, val);
		break;
	case VREG_TPR:
		((uint8_t *)v->vapic)[VAPIC_TPR] = (uint8_t)(val << 4);
		break;
	case VREG_INTR_SHADOW:
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			(vmread(VMCS_GUEST_INTERRUPTIBILITY) & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) |
				(val & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)));
		break;
	default:
		vmwrite(reg_field[r], val);
	}
}

static void vmx_inject(struct virt_vcpu *vc, const struct virt_event *ev)
{
	vmx_load(vc->priv);
	if (ev->type == VEV_NONE) {
		vmwrite(VMCS_ENTRY_INTR_INFO, 0);
		return;
	}
	vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | event_type[ev->type] | ev->vector |
					      (ev->has_error ? INTR_INFO_ERROR_VALID : 0));
	if (ev->has_error)
		vmwrite(VMCS_ENTRY_EXC_ERROR, ev->error);
	if (ev->type == VEV_SW_INT || ev->type == VEV_SW_EXC || ev->type == VEV_PRIV_SW_EXC)
		vmwrite(VMCS_ENTRY_INSN_LEN, ev->insn_len);
}

static void vmx_intr_window(struct virt_vcpu *vc, bool on)
{
	struct vmx_vcpu *v = vc->priv;
	uint32_t proc = on ? v->proc | vmx.intr_window : v->proc & ~PROC_INTR_WINDOW_EXITING;

	if (proc == v->proc)
		return;
	vmx_load(v);
	vmwrite(VMCS_PROC_CTLS, proc);
	v->proc = proc;
}

/* The host takes what arrived for it while the guest ran: an NMI or a machine check (SDM 27.1, 28.2.2). */
static inline void host_events(uint32_t reason)
{
	uint32_t info;

	if (reason == VMX_EXIT_MACHINE_CHECK) {
		__asm__ volatile("int $18");
		return;
	}
	if (reason != VMX_EXIT_EXCEPTION_NMI)
		return;
	info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);
	/* NMIs stay blocked after an NMI exit until an IRET: the handler's own IRET ends that */
	if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI)
		__asm__ volatile("int $2");
	else if ((info & 0xff) == VEC_MC)
		__asm__ volatile("int $18");
}

/* The VMX-preemption timer for the next entry: an exit after about this many TSC ticks. */
static void preempt_set(struct vmx_vcpu *v, uint64_t ticks)
{
	uint64_t t = ticks >> vmx.timer_shift;

	if (!(vmx.pin & PIN_PREEMPT_TIMER) || ticks == v->timer_ticks)
		return;
	/* without "save preemption timer" every entry starts it from this value again */
	vmwrite(VMCS_PREEMPT_TIMER, t > 0xffffffffULL ? 0xffffffffULL : t);
	v->timer_ticks = ticks;
}

/* The exit is an EPT violation of a not-present page that cut no event short (SDM 28.2.1). */
static bool not_present_violation(uint32_t reason)
{
	return reason == VMX_EXIT_EPT_VIOLATION && !(vmread(VMCS_EXIT_QUALIFICATION) & EPT_QUAL_PRESENT_MASK) &&
	       !(vmread(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID);
}

/* An exit run() may complete itself: a not-present EPT violation, no event cut short. */
static bool quick_exit(struct virt_vcpu *vc, uint32_t reason)
{
	return not_present_violation(reason) && virt_run_quick(vc, vmread(VMCS_GUEST_PHYS_ADDR));
}

/* What every entry needs first: the vCPU's VMCS current, its state and its CR2 loaded. */
static void enter_prepare(struct virt_vcpu *vc, struct vmx_vcpu *v)
{
	vmx_load(v);
	vcpu_state_load(&vc->state);
	if (read_cr2() != vc->cr2)
		write_cr2(vc->cr2);
}

static void vmx_run(struct virt_vcpu *vc, struct virt_exit *e)
{
	struct vmx_vcpu *v = vc->priv;
	uint64_t entry, quick = 0;
	uint32_t reason;
	int r;

	enter_prepare(vc, v);
	preempt_set(v, vc->timer_ticks);
	virt_run_begin(vc, entry = rdtsc());
	for (;;) {
		r = vmx_enter(&vc->gprs, v->launched, virt_resume_take(vc), virt_spin_take(vc));
		vc->exit_tsc = r ? rdtsc() : vmx_exit_tsc - VMX_EXIT_TICKS;
		virt_run_exited(vc, entry, quick);
		if (r)
			break;
		v->launched = 1;
		reason = (uint32_t)vmread(VMCS_EXIT_REASON);
		if (!quick_exit(vc, reason))
			break;
		/* the guest's timer keeps its deadline: the next entry gets what is left of it */
		quick = vc->exit_tsc;
		entry = rdtsc() - vc->entry_tsc;
		preempt_set(v, entry < vc->timer_ticks ? vc->timer_ticks - entry : 0);
		entry = rdtsc();
	}
	vc->cr2 = read_cr2();
	if (r) {
		vmx_decode_entry_failure(r, e);
		return;
	}
	host_events(reason & 0xffff);
	vmx_decode_exit(vc, e, reason);
}

/* See virt_backend.measure_switch. The guest's access faults again, and nothing of it changes. */
static bool vmx_measure_switch(struct virt_vcpu *vc, uint64_t gpa, bool flush)
{
	struct vmx_vcpu *v = vc->priv;
	uint64_t s[VIRT_SWITCH_SAMPLES], start = rdtsc(), flags = irq_save();
	uint32_t reason = 0;
	unsigned n = 0, want = virt_switch_want(vc);

	enter_prepare(vc, v);
	for (unsigned tries = 0; n < want && tries < VIRT_SWITCH_TRIES; tries++) {
		uint64_t at = virt_switch_at();

		if (flush)
			vmx_flush_npt(vc);
		if (vmx_enter(&vc->gprs, v->launched, 0, at))
			break; /* the next run() meets the failure again and reports it */
		reason = (uint32_t)vmread(VMCS_EXIT_REASON) & 0xffff;
		if (reason == VMX_EXIT_EXTINT || reason == VMX_EXIT_PREEMPT_TIMER) { /* the host's: taken now */
			irq_restore(flags);
			flags = irq_save();
			continue;
		}
		if (!not_present_violation(reason) || vmread(VMCS_GUEST_PHYS_ADDR) != gpa)
			break;
		s[n++] = vmx_exit_tsc - VMX_EXIT_TICKS - at;
	}
	vc->cr2 = read_cr2();
	host_events(reason);
	irq_restore(flags);
	if (n < want)
		return false;
	virt_switch_done(vc, s, n, start);
	return true;
}

const struct virt_backend vmx_backend = {
	.name = "VT-x with EPT",
	.npt_format = &npt_format_ept,
	.probe = vmx_probe,
	.enable_cpu = vmx_enable_cpu,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.run = vmx_run,
	.get = vmx_get,
	.set = vmx_set,
	.inject = vmx_inject,
	.intr_window = vmx_intr_window,
	.flush_npt = vmx_flush_npt,
	.flush_guest_tlb = vmx_flush_guest_tlb,
	.measure_switch = vmx_measure_switch,
	.npt_2m = vmx_has_2m_ept,
	.npt_ad = vmx_has_ept_ad,
};
