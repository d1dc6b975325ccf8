/*
 * AMD-V exit decoding: exit codes to normalized virt_exit kinds. With
 * next-RIP saving the length of the intercepted instruction comes from
 * the VMCB; without it (QEMU) only I/O exits know it (EXITINFO2 holds the
 * next RIP), and the core decodes the instruction itself.
 */
#include <stdio.h>
#include <string.h>
#include <emhv/x86_regs.h>
#include "svm.h"

struct exit_desc {
	uint32_t code;
	const char *name;
	enum virt_exit_kind kind;
	enum virt_insn insn; /* VEXIT_INSN: which instruction */
};

#define INSN(code, name, id) { code, name, VEXIT_INSN, id }

static const struct exit_desc exits[] = {
	{ SVM_EXIT_CR4_READ, "CR4 read", VEXIT_CR_READ, 0 },
	{ SVM_EXIT_CR4_WRITE, "CR4 write", VEXIT_CR_WRITE, 0 },
	{ SVM_EXIT_CR8_WRITE, "CR8 write", VEXIT_CR_WRITE, 0 },
	{ SVM_EXIT_EXCP_MC, "machine check", VEXIT_MCE, 0 },
	{ SVM_EXIT_INTR, "physical interrupt", VEXIT_EXTINT, 0 },
	{ SVM_EXIT_NMI, "NMI", VEXIT_NMI, 0 },
	{ SVM_EXIT_SMI, "SMI", VEXIT_EXTINT, 0 },
	{ SVM_EXIT_INIT, "INIT", VEXIT_UNHANDLED, 0 },
	{ SVM_EXIT_VINTR, "virtual interrupt", VEXIT_INTR_WINDOW, 0 },
	{ SVM_EXIT_TASK_SWITCH, "task switch", VEXIT_UNHANDLED, 0 },
	{ SVM_EXIT_CPUID, "CPUID", VEXIT_CPUID, 0 },
	{ SVM_EXIT_HLT, "HLT", VEXIT_HLT, 0 },
	{ SVM_EXIT_IOIO, "I/O instruction", VEXIT_IO, 0 },
	{ SVM_EXIT_MSR, "RDMSR/WRMSR", VEXIT_MSR_READ, 0 },
	{ SVM_EXIT_SHUTDOWN, "shutdown", VEXIT_SHUTDOWN, 0 },
	{ SVM_EXIT_VMMCALL, "VMMCALL", VEXIT_HYPERCALL, 0 },
	{ SVM_EXIT_NPF, "nested page fault", VEXIT_NPF, 0 },
	INSN(SVM_EXIT_INVD, "INVD", VINSN_INVD),
	INSN(SVM_EXIT_WBINVD, "WBINVD", VINSN_WBINVD),
	INSN(SVM_EXIT_RDPMC, "RDPMC", VINSN_RDPMC),
	INSN(SVM_EXIT_RDTSCP, "RDTSCP", VINSN_RDTSCP),
	INSN(SVM_EXIT_INVPCID, "INVPCID", VINSN_INVPCID),
	INSN(SVM_EXIT_INVLPGA, "INVLPGA", VINSN_INVLPGA),
	INSN(SVM_EXIT_RSM, "RSM", VINSN_RSM),
	INSN(SVM_EXIT_VMRUN, "VMRUN", VINSN_SVM),
	INSN(SVM_EXIT_VMLOAD, "VMLOAD", VINSN_SVM),
	INSN(SVM_EXIT_VMSAVE, "VMSAVE", VINSN_SVM),
	INSN(SVM_EXIT_STGI, "STGI", VINSN_SVM),
	INSN(SVM_EXIT_CLGI, "CLGI", VINSN_SVM),
	INSN(SVM_EXIT_SKINIT, "SKINIT", VINSN_SVM),
	INSN(SVM_EXIT_MONITOR, "MONITOR", VINSN_MONITOR),
	INSN(SVM_EXIT_MWAIT, "MWAIT", VINSN_MWAIT),
	INSN(SVM_EXIT_MWAIT_COND, "MWAIT", VINSN_MWAIT),
	INSN(SVM_EXIT_XSETBV, "XSETBV", VINSN_XSETBV),
};

static const struct exit_desc *find(uint32_t code)
{
	for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++)
		if (exits[i].code == code)
			return &exits[i];
	return NULL;
}

static void decode_io(struct svm_vcpu *v, struct virt_exit *e)
{
	uint64_t info = v->vmcb->control.exit_info1;

	e->io.port = IOIO_PORT(info);
	e->io.size = (info >> IOIO_SIZE_SHIFT) & 1 ? 1 : (info >> IOIO_SIZE_SHIFT) & 2 ? 2 : 4;
	e->io.in = info & IOIO_IN;
	e->io.string = info & IOIO_STR;
	e->io.rep = info & IOIO_REP;
	e->insn_len = (uint8_t)(v->vmcb->control.exit_info2 - v->vmcb->save.rip);
}

/* VMEXIT_INVALID: the consistency checks of APM 15.5.1 that emhv's own state could break, in words. */
static void decode_invalid(struct svm_vcpu *v, struct virt_exit *e)
{
	const struct vmcb_save *g = &v->vmcb->save;
	const char *what = "a VMCB consistency check failed";

	if (!(g->efer & EFER_SVME))
		what = "EFER.SVME is clear";
	else if ((g->cr0 & CR0_CD) == 0 && (g->cr0 & CR0_NW))
		what = "CR0.CD is clear while CR0.NW is set";
	else if (g->cr0 >> 32)
		what = "CR0 has reserved bits set";
	else if (v->vmcb->control.asid == 0)
		what = "the ASID is 0";
	else if (!(v->vmcb->control.intercept4 & INTERCEPT_VMRUN))
		what = "VMRUN is not intercepted";
	snprintf(e->why, sizeof(e->why), "VM entry failed: VMEXIT_INVALID (%s)", what);
}

/*
 * The event whose delivery the exit cut short (EXITINTINFO), to be
 * delivered again. A software interrupt or exception (INT n, INT3, INTO)
 * is not: RIP still points at its instruction, which simply runs again.
 * Re-injecting it would push that same RIP as the return address without
 * next-RIP, and the guest would take it twice (APM 15.20).
 */
static void decode_vectoring(struct svm_vcpu *v, struct virt_exit *e)
{
	uint64_t info = v->vmcb->control.exit_int_info;
	uint8_t vector = info & 0xff;

	e->vectoring = (struct virt_event){ VEV_NONE, 0, 0, false, 0 };
	if (!(info & EVENTINJ_VALID))
		return;
	switch (EVENTINJ_TYPE(info)) {
	case 0:
		e->vectoring.type = VEV_EXTINT;
		break;
	case 2:
		e->vectoring.type = VEV_NMI;
		break;
	case 3:
		if (vector == VEC_BP || vector == VEC_OF)
			return;
		/* exceptions are vectors 0-31: QEMU's TCG reports a virtual interrupt cut short so */
		e->vectoring.type = vector < 32 ? VEV_HW_EXC : VEV_EXTINT;
		break;
	default:
		return;
	}
	e->vectoring.vector = vector;
	e->vectoring.has_error = info & EVENTINJ_ERROR_VALID;
	e->vectoring.error = (uint32_t)(info >> 32);
}

void svm_decode_exit(struct svm_vcpu *v, struct virt_exit *e)
{
	const struct vmcb_control *c = &v->vmcb->control;
	uint32_t code = (uint32_t)c->exit_code;
	const struct exit_desc *d = find(code);

	e->raw = code;
	e->why[0] = 0;
	e->insn_len = 0;
	decode_vectoring(v, e);
	if (code == SVM_EXIT_INVALID) {
		e->kind = VEXIT_INVALID;
		decode_invalid(v, e);
		return;
	}
	if (!d) {
		e->kind = VEXIT_UNHANDLED;
		snprintf(e->why, sizeof(e->why), "unhandled #VMEXIT 0x%x", code);
		return;
	}
	e->kind = d->kind;
	if ((svm.features & SVM_FEAT_NRIPS) && c->next_rip)
		e->insn_len = (uint8_t)(c->next_rip - v->vmcb->save.rip);
	switch (e->kind) {
	case VEXIT_IO:
		decode_io(v, e);
		break;
	case VEXIT_MSR_READ:
		e->kind = c->exit_info1 ? VEXIT_MSR_WRITE : VEXIT_MSR_READ;
		e->msr.index = (uint32_t)v->vcpu.gprs.r[GPR_RCX];
		break;
	case VEXIT_CR_READ:
	case VEXIT_CR_WRITE:
		e->cr.cr = (uint8_t)(code & 15);
		/* without decode assists the core reads the instruction itself */
		e->cr.gpr = (c->exit_info1 & CR_INFO_VALID) && (svm.features & SVM_FEAT_DECODE_ASSISTS)
				    ? CR_INFO_GPR(c->exit_info1)
				    : CR_GPR_UNKNOWN;
		if (e->cr.gpr != CR_GPR_UNKNOWN)
			e->cr.value = e->cr.gpr == GPR_RSP ? v->vmcb->save.rsp : v->vcpu.gprs.r[e->cr.gpr];
		else
			e->insn_len = 0;
		break;
	case VEXIT_INSN:
		e->insn.id = d->insn;
		break;
	case VEXIT_NPF:
		e->npf.gpa = c->exit_info2;
		e->npf.present = c->exit_info1 & NPF_PRESENT;
		e->npf.write = c->exit_info1 & NPF_WRITE;
		e->npf.exec = c->exit_info1 & NPF_FETCH;
		e->npf.read = !e->npf.write && !e->npf.exec;
		break;
	case VEXIT_UNHANDLED:
		snprintf(e->why, sizeof(e->why), "unhandled #VMEXIT 0x%x (%s)", code, d->name);
		break;
	default:
		break;
	}
}
