/* VM exit handling: one handler per normalized exit kind, from a table. */
#include <stdio.h>
#include "guest_cpu.h"
#include "guest_insn.h"
#include "hypercall.h"
#include "stats.h"
#include "vm_exit.h"

#define VEC_UD 6
#define VEC_GP 13
#define VEC_NMI 2
#define CR0_PE (1ULL << 0)
#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define CR4_VMXE (1ULL << 13)
#define CR4_SMXE (1ULL << 14)
#define CR4_OSXSAVE (1ULL << 18)
/* CR4 bits a guest may set: everything architectural up to PKS except VMXE, SMXE, OSXSAVE, CET. */
#define CR4_ALLOWED (0x1ffffffULL & ~(CR4_VMXE | CR4_SMXE | CR4_OSXSAVE | (1ULL << 23) | (1ULL << 19) | \
				       (1ULL << 15)))

typedef enum exit_action (*exit_fn)(struct vm *vm, struct virt_exit *e);

static const struct virt_backend *be(void)
{
	return virt_get();
}

static uint64_t *gpr(struct vm *vm, int r)
{
	return &vm->vcpu->gprs.r[r];
}

static enum exit_action done(struct vm *vm)
{
	be()->advance_rip(vm->vcpu);
	return EXIT_RESUME;
}

static enum exit_action inject(struct vm *vm, uint8_t vector, bool has_error)
{
	be()->inject_exception(vm->vcpu, vector, has_error, 0);
	return EXIT_RESUME;
}

static enum exit_action on_cpuid(struct vm *vm, struct virt_exit *e)
{
	struct cpuid_regs r;

	(void)e;
	guest_cpuid((uint32_t)*gpr(vm, GPR_RAX), (uint32_t)*gpr(vm, GPR_RCX), false, &r);
	*gpr(vm, GPR_RAX) = r.eax;
	*gpr(vm, GPR_RBX) = r.ebx;
	*gpr(vm, GPR_RCX) = r.ecx;
	*gpr(vm, GPR_RDX) = r.edx;
	return done(vm);
}

static enum exit_action on_io(struct vm *vm, struct virt_exit *e)
{
	uint64_t mask = e->io.size == 4 ? 0xffffffffULL : (1ULL << (8 * e->io.size)) - 1;
	uint64_t *rax = gpr(vm, GPR_RAX), val;

	if (e->io.string) {
		vm_stop(vm, VM_STOPPED, "string I/O (INS/OUTS) on port 0x%x is not emulated", e->io.port);
		return EXIT_STOP;
	}
	if (!vuart_claims(e->io.port)) {
		hv_stats.io_unclaimed++;
		val = mask; /* no device answers: the bus reads all ones, writes vanish */
	} else if (e->io.in) {
		val = vuart_read(&vm->uart, e->io.port) | (mask & ~0xffULL);
	} else {
		vuart_write(&vm->uart, e->io.port, (uint8_t)*rax);
		return done(vm);
	}
	if (e->io.in)
		*rax = e->io.size == 4 ? val : (*rax & ~mask) | val; /* a 32-bit IN zero-extends */
	return done(vm);
}

static enum exit_action on_rdmsr(struct vm *vm, struct virt_exit *e)
{
	uint64_t val;

	if (guest_msr_read(vm->vcpu, e->msr.index, &val)) {
		hv_stats.msr_gp++;
		return inject(vm, VEC_GP, true);
	}
	*gpr(vm, GPR_RAX) = (uint32_t)val;
	*gpr(vm, GPR_RDX) = val >> 32;
	return done(vm);
}

static enum exit_action on_wrmsr(struct vm *vm, struct virt_exit *e)
{
	uint64_t val = (uint32_t)*gpr(vm, GPR_RAX) | (*gpr(vm, GPR_RDX) << 32);

	if (guest_msr_write(vm->vcpu, e->msr.index, val)) {
		hv_stats.msr_gp++;
		return inject(vm, VEC_GP, true);
	}
	return done(vm);
}

static enum exit_action on_hlt(struct vm *vm, struct virt_exit *e)
{
	(void)e;
	done(vm);
	return EXIT_YIELD;
}

static const char *access_name(const struct virt_exit *e)
{
	return e->npf.exec ? "fetch" : e->npf.write ? "write" : "read";
}

static enum exit_action on_npf(struct vm *vm, struct virt_exit *e)
{
	uint64_t f2m = vm->mem.faults_2m, f4k = vm->mem.faults_4k;

	if (e->npf.present) {
		vm_stop(vm, VM_STOPPED, "%s at guest-physical 0x%llx denied by its mapping", access_name(e),
			(unsigned long long)e->npf.gpa);
		return EXIT_STOP;
	}
	switch (vm_mem_fault(&vm->mem, e->npf.gpa)) {
	case VM_FAULT_MAPPED:
		e->grew = vm->mem.faults_2m != f2m ? 2 : vm->mem.faults_4k != f4k ? 1 : 0;
		return EXIT_RESUME;
	case VM_FAULT_NOMEM:
		vm->wait_gpa = e->npf.gpa;
		vm->state = VM_WAITING_MEM;
		return EXIT_YIELD;
	case VM_FAULT_OUTSIDE:
		vm_stop(vm, VM_STOPPED, "%s at guest-physical 0x%llx outside its RAM [0, 0x%llx) and devices",
			access_name(e), (unsigned long long)e->npf.gpa, (unsigned long long)vm->mem.max);
		return EXIT_STOP;
	default:
		vm_stop(vm, VM_STOPPED, "%s fault at guest-physical 0x%llx, which is mapped", access_name(e),
			(unsigned long long)e->npf.gpa);
		return EXIT_STOP;
	}
}

static enum exit_action on_hypercall(struct vm *vm, struct virt_exit *e)
{
	uint64_t args[4] = { *gpr(vm, GPR_RDI), *gpr(vm, GPR_RSI), *gpr(vm, GPR_RDX), *gpr(vm, GPR_R10) };
	unsigned cpl = (unsigned)be()->get(vm->vcpu, VREG_CPL);
	int64_t r;

	(void)e;
	be()->advance_rip(vm->vcpu);
	r = hypercall_dispatch(vm, *gpr(vm, GPR_RAX), args, cpl);
	*gpr(vm, GPR_RAX) = (uint64_t)r;
	return vm->state == VM_RUNNING ? EXIT_RESUME : EXIT_STOP;
}

static enum exit_action on_resume(struct vm *vm, struct virt_exit *e)
{
	(void)vm;
	(void)e;
	return EXIT_RESUME;
}

static bool cr0_valid(uint64_t v)
{
	return !(v >> 32) && (v & CR0_PG) && (v & CR0_PE) && !((v & CR0_NW) && !(v & CR0_CD));
}

/* Without the CPU's decoding (e->cr.gpr == CR_GPR_UNKNOWN), read the instruction; 0 or -1. */
static int decode_cr_write(struct vm *vm, struct virt_exit *e, uint64_t *next_rip)
{
	uint64_t rip = be()->get(vm->vcpu, VREG_RIP);
	struct mov_cr m;

	*next_rip = 0;
	if (e->cr.gpr != CR_GPR_UNKNOWN)
		return 0;
	if (guest_decode_mov_cr(vm, rip, be()->get(vm->vcpu, VREG_CR3), &m) || m.cr != e->cr.cr)
		return -1;
	e->cr.gpr = m.gpr;
	e->cr.value = m.gpr == GPR_RSP ? be()->get(vm->vcpu, VREG_RSP) : *gpr(vm, m.gpr);
	*next_rip = rip + m.len;
	return 0;
}

static enum exit_action on_cr_write(struct vm *vm, struct virt_exit *e)
{
	uint64_t v, next_rip;

	if (decode_cr_write(vm, e, &next_rip)) {
		vm_stop(vm, VM_STOPPED, "cannot decode the write to CR%u at RIP 0x%llx", e->cr.cr,
			(unsigned long long)be()->get(vm->vcpu, VREG_RIP));
		return EXIT_STOP;
	}
	v = e->cr.value;

	if (e->cr.cr == 0) {
		if (!cr0_valid(v)) /* paging stays on in long mode; reserved bits stay clear */
			return inject(vm, VEC_GP, true);
		be()->set(vm->vcpu, VREG_CR0, v);
	} else {
		if ((v & ~CR4_ALLOWED) || !(v & CR4_PAE))
			return inject(vm, VEC_GP, true);
		be()->set(vm->vcpu, VREG_CR4, v);
	}
	if (!next_rip)
		return done(vm);
	be()->set(vm->vcpu, VREG_RIP, next_rip);
	return EXIT_RESUME;
}

static enum exit_action on_ud(struct vm *vm, struct virt_exit *e)
{
	(void)e;
	return inject(vm, VEC_UD, false);
}

static enum exit_action on_nop(struct vm *vm, struct virt_exit *e)
{
	(void)e;
	return done(vm);
}

static enum exit_action on_exception(struct vm *vm, struct virt_exit *e)
{
	if (e->exc.vector == VEC_NMI)
		return EXIT_RESUME; /* a host NMI: nothing of the guest's */
	vm_stop(vm, VM_STOPPED, "unexpected exception %u intercepted", e->exc.vector);
	return EXIT_STOP;
}

static enum exit_action on_shutdown(struct vm *vm, struct virt_exit *e)
{
	(void)e;
	vm_stop(vm, VM_STOPPED, "triple fault (the guest shut down) at RIP 0x%llx",
		(unsigned long long)be()->get(vm->vcpu, VREG_RIP));
	return EXIT_STOP;
}

static enum exit_action on_failure(struct vm *vm, struct virt_exit *e)
{
	vm_stop(vm, VM_STOPPED, "%s at RIP 0x%llx", e->why, (unsigned long long)be()->get(vm->vcpu, VREG_RIP));
	return EXIT_STOP;
}

static const exit_fn handlers[VEXIT_NKINDS] = {
	[VEXIT_CPUID] = on_cpuid,	  [VEXIT_IO] = on_io,
	[VEXIT_MSR_READ] = on_rdmsr,	  [VEXIT_MSR_WRITE] = on_wrmsr,
	[VEXIT_HLT] = on_hlt,		  [VEXIT_NPF] = on_npf,
	[VEXIT_HYPERCALL] = on_hypercall, [VEXIT_EXTINT] = on_resume,
	[VEXIT_TIMER] = on_resume,	  [VEXIT_CR_WRITE] = on_cr_write,
	[VEXIT_UD] = on_ud,		  [VEXIT_NOP] = on_nop,
	[VEXIT_EXCEPTION] = on_exception, [VEXIT_SHUTDOWN] = on_shutdown,
	[VEXIT_INVALID] = on_failure,	  [VEXIT_UNHANDLED] = on_failure,
};

enum exit_action vm_handle_exit(struct vm *vm, struct virt_exit *e)
{
	e->grew = 0;
	return handlers[e->kind](vm, e);
}

/* Retry the fault a parked vCPU waits on; true when it may run again. */
bool vm_retry_memory(struct vm *vm)
{
	struct virt_exit e = { .kind = VEXIT_NPF };

	e.npf.gpa = vm->wait_gpa;
	vm->state = VM_RUNNING;
	if (on_npf(vm, &e) == EXIT_RESUME)
		return true;
	return false;
}
