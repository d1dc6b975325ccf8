/* VT-x exit decoding: basic exit reasons to normalized virt_exit kinds, qualifications, entry failures in words. */
#include <stdio.h>
#include <string.h>
#include "vmx.h"
#include "vmx_hw.h"
#include "vmx_insn.h"
#include <emhv/x86_regs.h>

struct exit_desc {
	const char *name;
	enum virt_exit_kind kind;
	enum virt_insn insn; /* VEXIT_INSN: which instruction */
	bool insn_exit;	     /* caused by an instruction: the exit's instruction length is valid */
};

#define INSN(name, id) { name, VEXIT_INSN, id, true }

/* Everything not listed is VEXIT_UNHANDLED: the VM stops with the reason's name. */
static const struct exit_desc exits[VMX_EXIT_REASONS] = {
	[VMX_EXIT_EXCEPTION_NMI] = { "exception or NMI", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_EXTINT] = { "external interrupt", VEXIT_EXTINT, 0 },
	[VMX_EXIT_TRIPLE_FAULT] = { "triple fault", VEXIT_SHUTDOWN, 0 },
	[VMX_EXIT_INIT] = { "INIT signal", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_SIPI] = { "SIPI", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_INTR_WINDOW] = { "interrupt window", VEXIT_INTR_WINDOW, 0 },
	[VMX_EXIT_NMI_WINDOW] = { "NMI window", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_TASK_SWITCH] = { "task switch", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_CPUID] = { "CPUID", VEXIT_CPUID, 0, true },
	[VMX_EXIT_GETSEC] = INSN("GETSEC", VINSN_GETSEC),
	[VMX_EXIT_HLT] = { "HLT", VEXIT_HLT, 0, true },
	[VMX_EXIT_INVD] = INSN("INVD", VINSN_INVD),
	[VMX_EXIT_INVLPG] = { "INVLPG", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_RDPMC] = INSN("RDPMC", VINSN_RDPMC),
	[VMX_EXIT_RDTSC] = { "RDTSC", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_RSM] = INSN("RSM", VINSN_RSM),
	[VMX_EXIT_VMCALL] = { "VMCALL", VEXIT_HYPERCALL, 0, true },
	[VMX_EXIT_VMCLEAR] = INSN("VMCLEAR", VINSN_VMX),
	[VMX_EXIT_VMLAUNCH] = INSN("VMLAUNCH", VINSN_VMX),
	[VMX_EXIT_VMPTRLD] = INSN("VMPTRLD", VINSN_VMX),
	[VMX_EXIT_VMPTRST] = INSN("VMPTRST", VINSN_VMX),
	[VMX_EXIT_VMREAD] = INSN("VMREAD", VINSN_VMX),
	[VMX_EXIT_VMRESUME] = INSN("VMRESUME", VINSN_VMX),
	[VMX_EXIT_VMWRITE] = INSN("VMWRITE", VINSN_VMX),
	[VMX_EXIT_VMXOFF] = INSN("VMXOFF", VINSN_VMX),
	[VMX_EXIT_VMXON] = INSN("VMXON", VINSN_VMX),
	[VMX_EXIT_CR_ACCESS] = { "control-register access", VEXIT_CR_WRITE, 0, true },
	[VMX_EXIT_DR_ACCESS] = { "debug-register access", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_IO] = { "I/O instruction", VEXIT_IO, 0, true },
	[VMX_EXIT_RDMSR] = { "RDMSR", VEXIT_MSR_READ, 0, true },
	[VMX_EXIT_WRMSR] = { "WRMSR", VEXIT_MSR_WRITE, 0, true },
	[VMX_EXIT_INVALID_GUEST_STATE] = { "invalid guest state", VEXIT_INVALID, 0 },
	[VMX_EXIT_MSR_LOADING] = { "MSR loading", VEXIT_INVALID, 0 },
	[VMX_EXIT_MWAIT] = INSN("MWAIT", VINSN_MWAIT),
	[VMX_EXIT_MONITOR_TRAP] = { "monitor trap flag", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_MONITOR] = INSN("MONITOR", VINSN_MONITOR),
	[VMX_EXIT_PAUSE] = INSN("PAUSE", VINSN_PAUSE),
	[VMX_EXIT_MACHINE_CHECK] = { "machine check during VM entry", VEXIT_MCE, 0 },
	/* trap-like (the MOV to CR8 is done): the interrupt it held back may go in now */
	[VMX_EXIT_TPR_BELOW_THRESHOLD] = { "TPR below threshold", VEXIT_INTR_WINDOW, 0 },
	[VMX_EXIT_EPT_VIOLATION] = { "EPT violation", VEXIT_NPF, 0 },
	[VMX_EXIT_EPT_MISCONFIG] = { "EPT misconfiguration", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_INVEPT] = INSN("INVEPT", VINSN_VMX),
	[VMX_EXIT_RDTSCP] = INSN("RDTSCP", VINSN_RDTSCP),
	[VMX_EXIT_PREEMPT_TIMER] = { "preemption timer", VEXIT_TIMER, 0 },
	[VMX_EXIT_INVVPID] = INSN("INVVPID", VINSN_VMX),
	[VMX_EXIT_WBINVD] = INSN("WBINVD", VINSN_WBINVD),
	[VMX_EXIT_XSETBV] = INSN("XSETBV", VINSN_XSETBV),
	[VMX_EXIT_RDRAND] = { "RDRAND", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_INVPCID] = INSN("INVPCID", VINSN_INVPCID),
	[VMX_EXIT_VMFUNC] = INSN("VMFUNC", VINSN_VMFUNC),
	[VMX_EXIT_ENCLS] = INSN("ENCLS", VINSN_ENCLS),
	[VMX_EXIT_RDSEED] = { "RDSEED", VEXIT_UNHANDLED, 0 },
	[VMX_EXIT_XSAVES] = INSN("XSAVES", VINSN_XSAVES),
	[VMX_EXIT_XRSTORS] = INSN("XRSTORS", VINSN_XSAVES),
};

/* VM-instruction error numbers (SDM vol. 3C 31.4) that a VM entry can produce. */
static const char *insn_error(uint64_t n)
{
	switch (n) {
	case 4: return "VMLAUNCH with a non-clear VMCS";
	case 5: return "VMRESUME with a non-launched VMCS";
	case 7: return "invalid control field(s)";
	case 8: return "invalid host-state field(s)";
	case 26: return "events blocked by MOV SS";
	default: return "unexpected VM-instruction error";
	}
}

void vmx_decode_entry_failure(int r, struct virt_exit *e)
{
	memset(e, 0, sizeof(*e));
	e->kind = VEXIT_INVALID;
	if (r == 1) {
		snprintf(e->why, sizeof(e->why), "VM entry failed: VMfailInvalid (no current VMCS)");
		return;
	}
	e->raw = (uint32_t)vmread(VMCS_INSN_ERROR);
	snprintf(e->why, sizeof(e->why), "VM entry failed: VM-instruction error %u (%s)", e->raw,
		 insn_error(e->raw));
}

static void decode_io(struct virt_exit *e, uint64_t q)
{
	e->io.port = IO_QUAL_PORT(q);
	e->io.size = (uint8_t)IO_QUAL_SIZE(q);
	e->io.in = q & IO_QUAL_IN;
	e->io.string = q & IO_QUAL_STRING;
	e->io.rep = q & IO_QUAL_REP;
}

static void decode_cr(struct virt_vcpu *vc, struct virt_exit *e, uint64_t q, const char *name)
{
	e->cr.cr = CR_QUAL_CR(q);
	e->cr.gpr = CR_QUAL_GPR(q);
	if (CR_QUAL_TYPE(q) != 0 || (e->cr.cr != 0 && e->cr.cr != 4)) {
		e->kind = VEXIT_UNHANDLED;
		snprintf(e->why, sizeof(e->why), "%s (type %u, CR%u)", name, (unsigned)CR_QUAL_TYPE(q), e->cr.cr);
		return;
	}
	e->cr.value = e->cr.gpr == GPR_RSP ? vmread(VMCS_GUEST_RSP) : vc->gprs.r[e->cr.gpr];
}

/* Exit reason 0: an NMI or a machine check the host has taken (vmx_run), or an exception nobody asked for. */
static void decode_exception(struct virt_exit *e)
{
	uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);

	if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI)
		e->kind = VEXIT_NMI;
	else if ((info & 0xff) == VEC_MC)
		e->kind = VEXIT_MCE;
	else
		snprintf(e->why, sizeof(e->why), "unexpected exception %u intercepted", info & 0xff);
}

/* The event whose delivery the exit interrupted (SDM 28.2.4), for the core to deliver again. */
static void decode_vectoring(struct virt_exit *e)
{
	static const uint8_t type[8] = { VEV_EXTINT, VEV_NONE, VEV_NMI, VEV_HW_EXC, VEV_SW_INT, VEV_PRIV_SW_EXC,
					 VEV_SW_EXC, VEV_NONE };
	uint32_t info = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);

	e->vectoring.type = VEV_NONE;
	if (!(info & INTR_INFO_VALID))
		return;
	e->vectoring.type = type[INTR_TYPE(info)];
	e->vectoring.vector = info & 0xff;
	e->vectoring.insn_len = (uint8_t)vmread(VMCS_EXIT_INSN_LEN);
	e->vectoring.has_error = info & INTR_INFO_ERROR_VALID;
	if (e->vectoring.has_error)
		e->vectoring.error = (uint32_t)vmread(VMCS_IDT_VECTORING_ERROR);
}

void vmx_decode_exit(struct virt_vcpu *vc, struct virt_exit *e, uint32_t reason)
{
	uint32_t basic = reason & 0xffff;
	const struct exit_desc *d = basic < VMX_EXIT_REASONS ? &exits[basic] : NULL;
	uint64_t q;

	e->raw = basic;
	e->kind = d && d->name ? d->kind : VEXIT_UNHANDLED;
	e->why[0] = 0;
	/* defined for instruction exits only (SDM 28.2.5); the core uses it for no other */
	e->insn_len = d && d->insn_exit ? (uint8_t)vmread(VMCS_EXIT_INSN_LEN) : 0;
	decode_vectoring(e);
	if (basic == VMX_EXIT_EXCEPTION_NMI)
		decode_exception(e);
	switch (e->kind) {
	case VEXIT_IO:
		decode_io(e, vmread(VMCS_EXIT_QUALIFICATION));
		break;
	case VEXIT_MSR_READ:
	case VEXIT_MSR_WRITE:
		e->msr.index = (uint32_t)vc->gprs.r[GPR_RCX];
		break;
	case VEXIT_NPF:
		q = vmread(VMCS_EXIT_QUALIFICATION);
		e->npf.gpa = vmread(VMCS_GUEST_PHYS_ADDR);
		e->npf.read = q & EPT_QUAL_READ;
		e->npf.write = q & EPT_QUAL_WRITE;
		e->npf.exec = q & EPT_QUAL_FETCH;
		e->npf.present = q & EPT_QUAL_PRESENT_MASK;
		break;
	case VEXIT_CR_WRITE:
		decode_cr(vc, e, vmread(VMCS_EXIT_QUALIFICATION), d->name);
		break;
	case VEXIT_INSN:
		e->insn.id = d->insn;
		break;
	case VEXIT_INVALID:
		snprintf(e->why, sizeof(e->why), "VM entry failed: %s (qualification %llu)", d->name,
			 (unsigned long long)vmread(VMCS_EXIT_QUALIFICATION));
		break;
	case VEXIT_UNHANDLED:
		if (e->why[0])
			break;
		if (basic == VMX_EXIT_EPT_MISCONFIG)
			snprintf(e->why, sizeof(e->why), "EPT misconfiguration at guest-physical 0x%llx",
				 (unsigned long long)vmread(VMCS_GUEST_PHYS_ADDR));
		else
			snprintf(e->why, sizeof(e->why), "unhandled VM exit %u (%s)", basic,
				 d && d->name ? d->name : "unknown reason");
		break;
	default:
		break;
	}
	if (reason & VMX_EXIT_REASON_ENTRY_FAIL && e->kind != VEXIT_INVALID) {
		e->kind = VEXIT_INVALID;
		snprintf(e->why, sizeof(e->why), "VM entry failed with exit reason %u", basic);
	}
}
