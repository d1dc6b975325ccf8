/*
 * VM exit handling: one handler per normalized exit kind, from a table, and
 * one policy for both backends: the instructions emhv intercepts are
 * completed or refused from a table, as a real CPU without the feature
 * would; an instruction the hypervisor completes is stepped past with its
 * true length (prefixes included, decoded from guest memory when the CPU
 * does not say) and a single-step trap follows it when the guest asked for
 * one; exceptions go through the vCPU's event queue (hv/vcpu_event.c).
 */
#include <stdio.h>
#include <emhv/x86_regs.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/nmi.h"
#include "arch/x86_64/timer.h"
#include "guest_cpu.h"
#include "harvest.h"
#include "guest_insn.h"
#include "hypercall.h"
#include "mmio.h"
#include "stats.h"
#include "vm_exit.h"

typedef enum exit_action (*exit_fn)(struct vm *vm, struct virt_exit *e);

static const struct virt_backend *be(void)
{
	return virt_get();
}

static uint64_t *gpr(struct vm *vm, int r)
{
	return &vm->vcpu->gprs.r[r];
}

static uint64_t rip(struct vm *vm)
{
	return be()->get(vm->vcpu, VREG_RIP);
}

/* Queue a hardware exception for the guest; a triple fault stops the VM. */
static enum exit_action guest_raise(struct vm *vm, uint8_t vector, bool has_error, uint32_t error)
{
	if (event_raise(&vm->ev, vector, has_error, error) == EVENT_TRIPLE_FAULT) {
		vm_stop(vm, VM_STOPPED, "triple fault (exception %u while delivering a double fault) at RIP 0x%llx",
			vector, (unsigned long long)rip(vm));
		return EXIT_STOP;
	}
	return EXIT_RESUME;
}

/* The opcode bytes (after prefixes) of the instructions whose exits the core completes. */
struct opcode {
	uint8_t map, op, modrm; /* modrm: 0 when any */
};

static const struct opcode exit_opcodes[VEXIT_NKINDS] = {
	[VEXIT_CPUID] = { INSN_MAP_0F, 0xa2, 0 },
	[VEXIT_HLT] = { INSN_MAP_1B, 0xf4, 0 },
	[VEXIT_MSR_READ] = { INSN_MAP_0F, 0x32, 0 },
	[VEXIT_MSR_WRITE] = { INSN_MAP_0F, 0x30, 0 },
	[VEXIT_CR_WRITE] = { INSN_MAP_0F, 0x22, 0 },
	[VEXIT_CR_READ] = { INSN_MAP_0F, 0x20, 0 },
};

/* INVD and WBINVD both complete as no-ops; QEMU 7.2 reports INVD as a WBINVD exit, so either opcode does. */
static const struct opcode insn_opcodes[VINSN_NKINDS] = {
	[VINSN_INVD] = { INSN_MAP_0F, 0x08, 0 },
	[VINSN_WBINVD] = { INSN_MAP_0F, 0x09, 0 },
	[VINSN_PAUSE] = { INSN_MAP_1B, 0x90, 0 },
};

static bool is_hypercall_insn(const struct insn *in)
{
	return in->map == INSN_MAP_0F && in->opcode == 0x01 && (in->modrm == 0xc1 || in->modrm == 0xd9);
}

/* The length of the instruction behind the exit, decoded from guest memory; 0 if it is not the one expected. */
static unsigned decoded_length(struct vm *vm, const struct virt_exit *e)
{
	const struct opcode *want = e->kind == VEXIT_INSN ? &insn_opcodes[e->insn.id] : &exit_opcodes[e->kind];
	uint8_t bytes[INSN_MAX_LEN];
	struct insn in;
	unsigned n;

	if (guest_decode(vm, rip(vm), be()->get(vm->vcpu, VREG_CR3), &in, bytes, &n))
		return 0;
	if (e->kind == VEXIT_HYPERCALL)
		return is_hypercall_insn(&in) ? in.len : 0;
	if (e->kind == VEXIT_INSN && (e->insn.id == VINSN_INVD || e->insn.id == VINSN_WBINVD) &&
	    in.map == INSN_MAP_0F && (in.opcode == 0x08 || in.opcode == 0x09))
		return in.len;
	if (!want->op || in.map != want->map || in.opcode != want->op || (want->modrm && in.modrm != want->modrm))
		return 0;
	return in.len;
}

/*
 * The instruction behind the exit has done its work: step past it, end a
 * STI/MOV SS interrupt shadow and RF, and deliver the single-step trap
 * RFLAGS.TF asks for (SDM vol. 3B 17.3.1.4), as the CPU would have.
 */
enum exit_action vm_exit_complete(struct vm *vm, const struct virt_exit *e)
{
	struct virt_vcpu *v = vm->vcpu;
	unsigned len = e->insn_len ? e->insn_len : decoded_length(vm, e);
	uint64_t rflags;

	if (!len) {
		vm_stop(vm, VM_STOPPED, "cannot decode the instruction at RIP 0x%llx behind a %s exit",
			(unsigned long long)rip(vm), stats_exit_name(e->kind));
		return EXIT_STOP;
	}
	be()->set(v, VREG_RIP, rip(vm) + len);
	if (be()->get(v, VREG_INTR_SHADOW))
		be()->set(v, VREG_INTR_SHADOW, 0);
	rflags = be()->get(v, VREG_RFLAGS);
	if (rflags & RFLAGS_RF)
		be()->set(v, VREG_RFLAGS, rflags & ~RFLAGS_RF);
	if (!(rflags & RFLAGS_TF))
		return EXIT_RESUME;
	be()->set(v, VREG_DR6, be()->get(v, VREG_DR6) | DR6_BS);
	return guest_raise(vm, VEC_DB, false, 0);
}

/*
 * An interrupt is about to be delivered with RIP at a HLT and IF = 1. Right after "sti" that HLT
 * is in the STI shadow and the interrupt must wake it, not come before it (else the guest halts
 * with nothing left to wake it). A CPU never recognises the interrupt there; QEMU's AMD-V can exit
 * in the shadow without saying so. Either way delivering it as the halt's wake-up is a behaviour
 * the CPU could show (the interrupt a moment later): step over the HLT first. CPL 0 only (HLT
 * elsewhere faults) and not while single-stepping.
 */
void vm_exit_halt_before_interrupt(struct vm *vm)
{
	struct virt_vcpu *v = vm->vcpu;
	uint8_t bytes[INSN_MAX_LEN];
	struct insn in;
	unsigned n;

	if (be()->get(v, VREG_CPL) || (be()->get(v, VREG_RFLAGS) & RFLAGS_TF))
		return;
	if (guest_decode(vm, rip(vm), be()->get(v, VREG_CR3), &in, bytes, &n) || in.map != INSN_MAP_1B ||
	    in.opcode != 0xf4)
		return;
	be()->set(v, VREG_RIP, rip(vm) + in.len);
	if (be()->get(v, VREG_INTR_SHADOW))
		be()->set(v, VREG_INTR_SHADOW, 0);
}

static enum exit_action on_cpuid(struct vm *vm, struct virt_exit *e)
{
	struct cpuid_regs r;

	uint32_t leaf = (uint32_t)*gpr(vm, GPR_RAX);

	guest_cpuid(leaf, (uint32_t)*gpr(vm, GPR_RCX), &r);
	/* the APIC feature bit follows IA32_APIC_BASE's enable bit (SDM vol. 3A 11.4.3) */
	if ((leaf == 1 || leaf == 0x80000001) && !vlapic_enabled(&vm->irq.lapic))
		r.edx &= ~(1u << 9);
	*gpr(vm, GPR_RAX) = r.eax;
	*gpr(vm, GPR_RBX) = r.ebx;
	*gpr(vm, GPR_RCX) = r.ecx;
	*gpr(vm, GPR_RDX) = r.edx;
	return vm_exit_complete(vm, e);
}

static enum exit_action on_io(struct vm *vm, struct virt_exit *e)
{
	uint64_t mask = e->io.size == 4 ? 0xffffffffULL : (1ULL << (8 * e->io.size)) - 1;
	uint64_t *rax = gpr(vm, GPR_RAX), val;

	if (e->io.string) {
		vm_stop(vm, VM_STOPPED, "string I/O (INS/OUTS) on port 0x%x is not emulated", e->io.port);
		return EXIT_STOP;
	}
	if (e->io.in) {
		if (!devbus_read(&vm->bus, BUS_PIO, e->io.port, e->io.size, &val)) {
			hv_stats.io_unclaimed++;
			val = mask; /* no device answers: the bus reads all ones */
		}
		val &= mask;
		*rax = e->io.size == 4 ? val : (*rax & ~mask) | val; /* a 32-bit IN zero-extends */
	} else if (!devbus_write(&vm->bus, BUS_PIO, e->io.port, e->io.size, *rax & mask)) {
		hv_stats.io_unclaimed++; /* writes to no device vanish */
	}
	return vm_exit_complete(vm, e);
}

static enum exit_action on_rdmsr(struct vm *vm, struct virt_exit *e)
{
	uint64_t val;

	int r = vm_irq_msr_read(vm, e->msr.index, &val);

	if (r > 0)
		r = guest_msr_read(vm->vcpu, e->msr.index, &val);
	if (r) {
		hv_stats.msr_gp++;
		return guest_raise(vm, VEC_GP, true, 0);
	}
	*gpr(vm, GPR_RAX) = (uint32_t)val;
	*gpr(vm, GPR_RDX) = val >> 32;
	return vm_exit_complete(vm, e);
}

static enum exit_action on_wrmsr(struct vm *vm, struct virt_exit *e)
{
	uint64_t val = (uint32_t)*gpr(vm, GPR_RAX) | (*gpr(vm, GPR_RDX) << 32);

	int r = vm_irq_msr_write(vm, e->msr.index, val);

	if (r > 0)
		r = guest_msr_write(vm->vcpu, e->msr.index, val);
	if (r) {
		hv_stats.msr_gp++;
		return guest_raise(vm, VEC_GP, true, 0);
	}
	return vm_exit_complete(vm, e);
}

/*
 * A halt ends with an interrupt (SDM vol. 2A, HLT): the VM idles until one is deliverable. With
 * interrupts off only an NMI, SMI, INIT or reset would end it: none comes.
 */
static enum exit_action on_hlt(struct vm *vm, struct virt_exit *e)
{
	enum exit_action a = vm_exit_complete(vm, e);

	if (a != EXIT_RESUME)
		return a;
	if (!(be()->get(vm->vcpu, VREG_RFLAGS) & RFLAGS_IF)) {
		vm_stop(vm, VM_HALTED, "halted with interrupts off at RIP 0x%llx (nothing can wake it)",
			(unsigned long long)rip(vm));
		return EXIT_STOP;
	}
	return vm_irq_halt(vm) ? EXIT_YIELD : EXIT_RESUME;
}

static const char *access_name(const struct virt_exit *e)
{
	return e->npf.exec ? "fetch" : e->npf.write ? "write" : "read";
}

/* No frame for the page at gpa yet: the VM parks until reclaim frees some, then faults there again. */
static enum exit_action wait_for_memory(struct vm *vm, uint64_t gpa)
{
	vm->wait_gpa = gpa;
	if (vm->state != VM_WAITING_MEM)
		vm->wait_since = rdtsc();
	vm->state = VM_WAITING_MEM;
	harvest_wake();
	return EXIT_YIELD;
}

/* A fault in a device's window: registers are emulated, shared memory is mapped. */
static enum exit_action device_fault(struct vm *vm, struct virt_exit *e, const struct bus_range *r)
{
	if (!r->ops->fault)
		return mmio_exit(vm, e);
	switch (r->ops->fault(r->dev, e->npf.gpa - r->base)) {
	case DEVBUS_MAPPED:
		return EXIT_RESUME;
	case DEVBUS_NOMEM:
		return wait_for_memory(vm, e->npf.gpa);
	default:
		vm_stop(vm, VM_STOPPED, "%s at guest-physical 0x%llx in the %s window, where no device has memory",
			access_name(e), (unsigned long long)e->npf.gpa, r->ops->name);
		return EXIT_STOP;
	}
}

/*
 * The latency of the far fault just served reaches the guest (mm/far.h): spin has the entry stub
 * wait on the TSC until it has passed since the exit (the hypervisor's own time counts toward
 * it), after the vCPU sat out all but its last FAR_SPIN_IN_PLACE_US (vm->far_until) while other
 * VMs and the monitor ran; warp moves the guest's TSC so that it resumes that long after it left
 * off, and no time passes for it otherwise. Either way the world switch the guest sees beyond the
 * exit and entry stamps (virt_vcpu.switch_ticks, see measure_switch) is taken off, so that the
 * guest sees the latency itself. from_exit: false for a parked vCPU's retry, whose waiting for
 * memory the guest must see.
 */
static void far_latency(struct vm *vm, bool from_exit)
{
	uint64_t ticks = vm->far.pending, sw = vm->vcpu->switch_ticks;

	vm->far.pending = 0;
	vm->far.due = false;
	/* the guest sees the switch besides: its last moments before the exit, its first after the entry */
	if (from_exit)
		ticks = ticks > sw ? ticks - sw : 0;
	if (vm->far.mode == FAR_SPIN) {
		uint64_t in_place = tsc_hz() * FAR_SPIN_IN_PLACE_US / 1000000; /* not rounded down to whole MHz */

		if (!from_exit)
			return;
		vm->vcpu->spin_until = vm->vcpu->exit_tsc + ticks; /* the entry stub waits for it */
		if (ticks > in_place) /* all but the last stretch away from the CPU */
			vm->far_until = vm->vcpu->spin_until - in_place;
		return;
	}
	if (from_exit) /* it resumes `ticks` after it left off: set just before the entry */
		vm->vcpu->resume_tsc = vm->vcpu->exit_tsc + be()->get(vm->vcpu, VREG_TSC_OFFSET) + ticks;
	else
		be()->set(vm->vcpu, VREG_TSC_OFFSET, be()->get(vm->vcpu, VREG_TSC_OFFSET) + ticks);
}

/*
 * The world switch of a far fault as the guest sees it, measured at a VM's first far fault and
 * every FAR_SWITCH_EVERY after (at the next one, when something else ended an entry), before the
 * far page is mapped: the guest is entered again and faults again at once
 * (virt_backend.measure_switch), each entry invalidating first when serving the fault evicts a
 * page, as the entry after it then will. Not when the exit cut an event short, which the next
 * entry must deliver.
 */
static void measure_switch(struct vm *vm, const struct virt_exit *e)
{
	if (vm->mem.far_ops && vm->far.st.faults >= vm->far.switch_next && e->vectoring.type == VEV_NONE &&
	    vm->mem.far_ops->is_far(vm->mem.far_ctx, e->npf.gpa) &&
	    be()->measure_switch(vm->vcpu, e->npf.gpa, vm->mem.far_ops->full(vm->mem.far_ctx)))
		vm->far.switch_next = vm->far.st.faults + FAR_SWITCH_EVERY;
}

static enum exit_action on_npf(struct vm *vm, struct virt_exit *e)
{
	uint64_t f2m = vm->mem.faults_2m, f4k = vm->mem.faults_4k;
	const struct bus_range *r;

	if (e->npf.present) {
		vm_stop(vm, VM_STOPPED, "%s at guest-physical 0x%llx denied by its mapping", access_name(e),
			(unsigned long long)e->npf.gpa);
		return EXIT_STOP;
	}
	/* RAM first: the growth fault is the common case, and no device window lies below max */
	if (e->npf.gpa >= vm->mem.max && (r = devbus_find(&vm->bus, BUS_MMIO, e->npf.gpa, 1)))
		return device_fault(vm, e, r);
	measure_switch(vm, e);
	switch (vm_mem_fault(&vm->mem, e->npf.gpa)) {
	case VM_FAULT_MAPPED:
		e->grew = vm->mem.faults_2m != f2m ? 2 : vm->mem.faults_4k != f4k ? 1 : 0;
		if (vm->far.due) {
			e->grew = 3;
			far_latency(vm, vm->state == VM_RUNNING);
		}
		return EXIT_RESUME;
	case VM_FAULT_FAR_FULL:
		vm_stop(vm, VM_STOPPED, "%s at guest-physical 0x%llx: far node '%s' has no frame left for the page to "
			"move out to keep local=%lluK", access_name(e), (unsigned long long)e->npf.gpa, vm->far.node->name,
			(unsigned long long)(vm->far.local >> 10));
		return EXIT_STOP;
	case VM_FAULT_NOMEM:
		return wait_for_memory(vm, e->npf.gpa);
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
	enum exit_action a = vm_exit_complete(vm, e);

	if (a != EXIT_RESUME)
		return a;
	*gpr(vm, GPR_RAX) = (uint64_t)hypercall_dispatch(vm, *gpr(vm, GPR_RAX), args, cpl);
	return vm->state == VM_RUNNING ? EXIT_RESUME : EXIT_STOP;
}

static enum exit_action on_resume(struct vm *vm, struct virt_exit *e)
{
	(void)vm;
	(void)e;
	return EXIT_RESUME;
}

/* The host's NMI handler ran already (arch/x86_64/nmi.c counted it); the guest goes on. */
static enum exit_action on_nmi(struct vm *vm, struct virt_exit *e)
{
	(void)e;
	nmi_note_guest(vm->id);
	return EXIT_RESUME;
}

/* The host's machine-check handler ran already and logged the banks; the VM's state cannot be trusted. */
static enum exit_action on_mce(struct vm *vm, struct virt_exit *e)
{
	(void)e;
	vm_stop(vm, VM_STOPPED, "machine check while it ran (%s)", mce_last());
	return EXIT_STOP;
}

/* Without the CPU's decoding (e->cr.gpr == CR_GPR_UNKNOWN), read the MOV to or from CRn; 0 or -1. */
static int decode_cr(struct vm *vm, struct virt_exit *e, bool to_cr)
{
	struct mov_cr m;

	if (e->cr.gpr != CR_GPR_UNKNOWN)
		return 0;
	if (guest_decode_mov_cr(vm, rip(vm), be()->get(vm->vcpu, VREG_CR3), &m) || m.to_cr != to_cr ||
	    m.cr != e->cr.cr)
		return -1;
	e->cr.gpr = m.gpr;
	e->cr.value = m.gpr == GPR_RSP ? be()->get(vm->vcpu, VREG_RSP) : *gpr(vm, m.gpr);
	e->insn_len = m.len;
	return 0;
}

static enum exit_action undecodable_cr(struct vm *vm, struct virt_exit *e, const char *what)
{
	vm_stop(vm, VM_STOPPED, "cannot decode the %s CR%u at RIP 0x%llx", what, e->cr.cr,
		(unsigned long long)rip(vm));
	return EXIT_STOP;
}

static enum exit_action on_cr_write(struct vm *vm, struct virt_exit *e)
{
	if (decode_cr(vm, e, true))
		return undecodable_cr(vm, e, "write to");
	if (guest_cr_write(vm->vcpu, e->cr.cr, e->cr.value))
		return guest_raise(vm, VEC_GP, true, 0);
	return vm_exit_complete(vm, e);
}

/* A read of a CR the backend keeps apart from the real one (AMD-V's CR4): the guest's own value. */
static enum exit_action on_cr_read(struct vm *vm, struct virt_exit *e)
{
	uint64_t val;

	if (decode_cr(vm, e, false) || e->cr.cr != 4)
		return undecodable_cr(vm, e, "read of");
	val = be()->get(vm->vcpu, VREG_CR4);
	if (e->cr.gpr == GPR_RSP)
		be()->set(vm->vcpu, VREG_RSP, val);
	else
		*gpr(vm, e->cr.gpr) = val;
	return vm_exit_complete(vm, e);
}

/* Intercepted instructions: what a real CPU without the feature (as emhv's CPUID describes it) does. */
enum insn_action { INSN_NOP, INSN_UD, INSN_GP };

static const struct {
	const char *name;
	enum insn_action act;
} insn_policy[VINSN_NKINDS] = {
	[VINSN_INVD] = { "INVD", INSN_NOP },	     /* caches are coherent: nothing to write back or drop */
	[VINSN_WBINVD] = { "WBINVD", INSN_NOP },
	[VINSN_MONITOR] = { "MONITOR", INSN_UD },    /* CPUID.1:ECX.MONITOR = 0 */
	[VINSN_MWAIT] = { "MWAIT", INSN_UD },
	[VINSN_RDPMC] = { "RDPMC", INSN_GP },	     /* no counters (CPUID leaf 0xA is zero): every ECX is invalid */
	[VINSN_RDTSCP] = { "RDTSCP", INSN_UD },	     /* CPUID.80000001H:EDX.RDTSCP = 0 */
	[VINSN_INVPCID] = { "INVPCID", INSN_UD },    /* CPUID.7:EBX.INVPCID = 0 */
	[VINSN_INVLPGA] = { "INVLPGA", INSN_UD },    /* no SVM for guests */
	[VINSN_XSETBV] = { "XSETBV", INSN_UD },	     /* no XSAVE: CR4.OSXSAVE stays clear */
	[VINSN_PAUSE] = { "PAUSE", INSN_NOP },
	[VINSN_VMX] = { "a VMX instruction", INSN_UD },
	[VINSN_SVM] = { "an SVM instruction", INSN_UD },
	[VINSN_GETSEC] = { "GETSEC", INSN_UD },
	[VINSN_RSM] = { "RSM", INSN_UD },	     /* outside SMM */
	[VINSN_ENCLS] = { "ENCLS", INSN_UD },
	[VINSN_XSAVES] = { "XSAVES/XRSTORS", INSN_UD },
	[VINSN_VMFUNC] = { "VMFUNC", INSN_UD },
};

static enum exit_action on_insn(struct vm *vm, struct virt_exit *e)
{
	hv_stats.insn[e->insn.id]++;
	switch (insn_policy[e->insn.id].act) {
	case INSN_NOP:
		return vm_exit_complete(vm, e);
	case INSN_GP:
		return guest_raise(vm, VEC_GP, true, 0);
	default:
		return guest_raise(vm, VEC_UD, false, 0);
	}
}

const char *vm_exit_insn_name(enum virt_insn id)
{
	return insn_policy[id].name;
}

static enum exit_action on_shutdown(struct vm *vm, struct virt_exit *e)
{
	(void)e;
	vm_stop(vm, VM_STOPPED, "triple fault (the guest shut down) at RIP 0x%llx", (unsigned long long)rip(vm));
	return EXIT_STOP;
}

static enum exit_action on_failure(struct vm *vm, struct virt_exit *e)
{
	vm_stop(vm, VM_STOPPED, "%s at RIP 0x%llx", e->why, (unsigned long long)rip(vm));
	return EXIT_STOP;
}

static const exit_fn handlers[VEXIT_NKINDS] = {
	[VEXIT_CPUID] = on_cpuid,	  [VEXIT_IO] = on_io,
	[VEXIT_MSR_READ] = on_rdmsr,	  [VEXIT_MSR_WRITE] = on_wrmsr,
	[VEXIT_HLT] = on_hlt,		  [VEXIT_NPF] = on_npf,
	[VEXIT_HYPERCALL] = on_hypercall, [VEXIT_EXTINT] = on_resume,
	[VEXIT_NMI] = on_nmi,		  [VEXIT_MCE] = on_mce,
	[VEXIT_TIMER] = on_resume,	  [VEXIT_CR_WRITE] = on_cr_write,
	[VEXIT_CR_READ] = on_cr_read,
	[VEXIT_INSN] = on_insn,		  [VEXIT_INTR_WINDOW] = on_resume,
	[VEXIT_SHUTDOWN] = on_shutdown,	  [VEXIT_INVALID] = on_failure,
	[VEXIT_UNHANDLED] = on_failure,
};

enum exit_action vm_handle_exit(struct vm *vm, struct virt_exit *e)
{
	e->grew = 0;
	if (e->vectoring.type != VEV_NONE)
		event_requeue(&vm->ev, &e->vectoring);
	return handlers[e->kind](vm, e);
}

/* Retry the fault a parked vCPU waits on; true when it may run again. */
bool vm_retry_memory(struct vm *vm)
{
	struct virt_exit e = { .kind = VEXIT_NPF };

	e.npf.gpa = vm->wait_gpa;
	if (on_npf(vm, &e) != EXIT_RESUME)
		return false; /* still waiting (since wait_since), or stopped */
	vm->state = VM_RUNNING;
	vm->wait_tsc += rdtsc() - vm->wait_since;
	return true;
}
