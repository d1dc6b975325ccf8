/*
 * AMD-V exit decoding: exit codes to normalized virt_exit kinds. Without
 * next-RIP saving (QEMU has none) the length of the intercepted instruction
 * comes from this table, or for I/O from EXITINFO2, which holds the next RIP.
 */
#include <stdio.h>
#include <string.h>
#include "svm.h"

struct exit_desc {
	uint32_t code;
	const char *name;
	enum virt_exit_kind kind;
	uint8_t len; /* instruction length when there is no next RIP; 0: not needed */
};

static const struct exit_desc exits[] = {
	{ SVM_EXIT_CR4_WRITE, "CR4 write", VEXIT_CR_WRITE, 0 },
	{ SVM_EXIT_INTR, "physical interrupt", VEXIT_EXTINT, 0 },
	{ SVM_EXIT_NMI, "NMI", VEXIT_EXTINT, 0 },
	{ SVM_EXIT_SMI, "SMI", VEXIT_EXTINT, 0 },
	{ SVM_EXIT_INIT, "INIT", VEXIT_UNHANDLED, 0 },
	{ SVM_EXIT_TASK_SWITCH, "task switch", VEXIT_UNHANDLED, 0 },
	{ SVM_EXIT_CPUID, "CPUID", VEXIT_CPUID, 2 },
	{ SVM_EXIT_INVD, "INVD", VEXIT_NOP, 2 },
	{ SVM_EXIT_HLT, "HLT", VEXIT_HLT, 1 },
	{ SVM_EXIT_IOIO, "I/O instruction", VEXIT_IO, 0 },
	{ SVM_EXIT_MSR, "RDMSR/WRMSR", VEXIT_MSR_READ, 2 },
	{ SVM_EXIT_SHUTDOWN, "shutdown", VEXIT_SHUTDOWN, 0 },
	{ SVM_EXIT_VMRUN, "VMRUN", VEXIT_UD, 0 },
	{ SVM_EXIT_VMMCALL, "VMMCALL", VEXIT_HYPERCALL, 3 },
	{ SVM_EXIT_VMLOAD, "VMLOAD", VEXIT_UD, 0 },
	{ SVM_EXIT_VMSAVE, "VMSAVE", VEXIT_UD, 0 },
	{ SVM_EXIT_STGI, "STGI", VEXIT_UD, 0 },
	{ SVM_EXIT_CLGI, "CLGI", VEXIT_UD, 0 },
	{ SVM_EXIT_SKINIT, "SKINIT", VEXIT_UD, 0 },
	{ SVM_EXIT_MONITOR, "MONITOR", VEXIT_UD, 0 },
	{ SVM_EXIT_MWAIT, "MWAIT", VEXIT_UD, 0 },
	{ SVM_EXIT_MWAIT_COND, "MWAIT", VEXIT_UD, 0 },
	{ SVM_EXIT_XSETBV, "XSETBV", VEXIT_UD, 0 },
	{ SVM_EXIT_NPF, "nested page fault", VEXIT_NPF, 0 },
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
	v->insn_len = (uint8_t)(v->vmcb->control.exit_info2 - v->vmcb->save.rip);
}

/* VMEXIT_INVALID: the consistency checks of APM 15.5.1 that emhv's own state could break, in words. */
static void decode_invalid(struct svm_vcpu *v, struct virt_exit *e)
{
	const struct vmcb_save *g = &v->vmcb->save;
	const char *what = "a VMCB consistency check failed";

	if (!(g->efer & (1ULL << 12)))
		what = "EFER.SVME is clear";
	else if ((g->cr0 & (1ULL << 30)) == 0 && (g->cr0 & (1ULL << 29)))
		what = "CR0.CD is clear while CR0.NW is set";
	else if (g->cr0 >> 32)
		what = "CR0 has reserved bits set";
	else if (v->vmcb->control.asid == 0)
		what = "the ASID is 0";
	else if (!(v->vmcb->control.intercept4 & INTERCEPT_VMRUN))
		what = "VMRUN is not intercepted";
	snprintf(e->why, sizeof(e->why), "VM entry failed: VMEXIT_INVALID (%s)", what);
}

void svm_decode_exit(struct svm_vcpu *v, struct virt_exit *e)
{
	const struct vmcb_control *c = &v->vmcb->control;
	uint32_t code = (uint32_t)c->exit_code;
	const struct exit_desc *d = find(code);

	e->raw = code;
	e->why[0] = 0;
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
	v->insn_len = (svm.features & SVM_FEAT_NRIPS) && c->next_rip ? (uint8_t)(c->next_rip - v->vmcb->save.rip)
								     : d->len;
	switch (e->kind) {
	case VEXIT_IO:
		decode_io(v, e);
		break;
	case VEXIT_MSR_READ:
		e->kind = c->exit_info1 ? VEXIT_MSR_WRITE : VEXIT_MSR_READ;
		e->msr.index = (uint32_t)v->vcpu.gprs.r[GPR_RCX];
		break;
	case VEXIT_CR_WRITE:
		e->cr.cr = 4;
		/* without decode assists the core reads the instruction itself */
		e->cr.gpr = (c->exit_info1 & CR_INFO_VALID) && (svm.features & SVM_FEAT_NRIPS)
				    ? CR_INFO_GPR(c->exit_info1)
				    : CR_GPR_UNKNOWN;
		if (e->cr.gpr != CR_GPR_UNKNOWN)
			e->cr.value = e->cr.gpr == GPR_RSP ? v->vmcb->save.rsp : v->vcpu.gprs.r[e->cr.gpr];
		else
			v->insn_len = 0;
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
