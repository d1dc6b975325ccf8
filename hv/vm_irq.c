/* A VM's local APIC and I/O APIC, wired to its bus, its vCPU and its scheduling state (see vm_irq.h). */
#include <string.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/timer.h"
#include "guest_cpu.h"
#include "vm.h"
#include "vm_irq.h"

static const struct virt_backend *be(void)
{
	return virt_get();
}

uint64_t vm_guest_now(void *ctx)
{
	struct vm *vm = ctx;

	return vm->vcpu ? guest_tsc(vm->vcpu) : rdtsc();
}

static void wake(struct vm *vm)
{
	if (vm->state == VM_IDLE) {
		vm->state = VM_RUNNING;
		vm->irq.wakeups++;
	}
}

/* An interrupt became deliverable. */
static void lapic_kick(void *ctx)
{
	wake(ctx);
}

static void lapic_eoi(void *ctx, uint8_t vector)
{
	struct vm *vm = ctx;

	vioapic_eoi(&vm->irq.ioapic, vector);
}

static void lapic_nmi(void *ctx)
{
	struct vm *vm = ctx;

	vm->ev.nmi = true;
	wake(vm);
}

static void ioapic_deliver(void *ctx, uint8_t dest, bool logical, uint8_t vector, bool level)
{
	struct vm *vm = ctx;

	if (vlapic_match_dest(&vm->irq.lapic, dest, logical))
		vlapic_set_irq(&vm->irq.lapic, vector, level);
}

/* CR8 is the TPR's upper half: the vCPU's copy (it may change CR8 without an exit) wins when they differ. */
static void pull_tpr(struct vm *vm)
{
	uint64_t cr8 = be()->get(vm->vcpu, VREG_TPR);

	if (vlapic_get_cr8(&vm->irq.lapic) != cr8)
		vlapic_set_cr8(&vm->irq.lapic, cr8);
}

/* The APIC page through the bus: the TPR it shows is the vCPU's, and a TPR written there goes back to it. */
static uint64_t lapic_read(void *dev, uint64_t offset, unsigned size)
{
	struct vm *vm = dev;

	pull_tpr(vm);
	return vlapic_ops.read(&vm->irq.lapic, offset, size);
}

static void lapic_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	struct vm *vm = dev;

	pull_tpr(vm);
	vlapic_ops.write(&vm->irq.lapic, offset, size, val);
	be()->set(vm->vcpu, VREG_TPR, vlapic_get_cr8(&vm->irq.lapic));
}

static const struct dev_ops lapic_bus_ops = { "local APIC", lapic_read, lapic_write, NULL };

int vm_irq_init(struct vm *vm, char *why, size_t n)
{
	struct vlapic_host host = { vm_guest_now, lapic_kick, lapic_eoi, lapic_nmi, vm };

	memset(&vm->irq, 0, sizeof(vm->irq));
	vm->irq.offered = -1;
	vlapic_init(&vm->irq.lapic, 0, true, vlapic_tsc_per_tick(tsc_hz()), &host);
	vioapic_init(&vm->irq.ioapic, 1, ioapic_deliver, vm);
	if (devbus_claim(&vm->bus, BUS_MMIO, VLAPIC_BASE, VLAPIC_SIZE, &lapic_bus_ops, vm, why, n) ||
	    devbus_claim(&vm->bus, BUS_MMIO, VIOAPIC_BASE, VIOAPIC_SIZE, &vioapic_ops, &vm->irq.ioapic, why, n))
		return -1;
	return 0;
}

void vm_irq_line(struct vm *vm, unsigned line, bool level)
{
	vioapic_set_irq(&vm->irq.ioapic, line, level);
}

static void fire_timer(struct vm *vm)
{
	struct vlapic *l = &vm->irq.lapic;

	if (l->timer.armed && vm_guest_now(vm) >= l->timer.deadline)
		vlapic_tick(l);
}

int vm_irq_sync(struct vm *vm)
{
	struct vlapic *l = &vm->irq.lapic;
	int vector, requested;
	uint64_t threshold = 0;

	fire_timer(vm);
	if (!(l->irr[0] | l->irr[1] | l->irr[2] | l->irr[3] | l->irr[4] | l->irr[5] | l->irr[6] | l->irr[7]) &&
	    !vm->irq.threshold)
		return -1; /* nothing requested, nothing held back: the common case costs no more */
	requested = vlapic_highest(l->irr); /* whatever its priority */
	pull_tpr(vm);
	vector = vlapic_pending(l);
	/* held back by the TPR alone: exit when the guest lowers it (VT-x changes CR8 without an exit) */
	if (vector < 0 && requested >= 0 && (uint64_t)(requested >> 4) <= vlapic_get_cr8(l))
		threshold = (uint64_t)requested >> 4;
	if (threshold != vm->irq.threshold) {
		be()->set(vm->vcpu, VREG_TPR_THRESHOLD, threshold);
		vm->irq.threshold = threshold;
	}
	return vector;
}

void vm_irq_injected(struct vm *vm, int vector)
{
	vlapic_ack(&vm->irq.lapic, vector);
	vm->irq.injected++;
}

void vm_irq_offer_done(struct vm *vm)
{
	int vector = vm->irq.offered;

	if (be()->offer_taken(vm->vcpu)) {
		if (!vm->irq.offered_acked)
			vm_irq_injected(vm, vector);
	} else if (vm->irq.offered_acked) {
		event_set_irq(&vm->ev, (uint8_t)vector); /* handed over already: it goes in next time */
	}
	be()->offer_intr(vm->vcpu, -1);
	vm->irq.offered = -1;
}

bool vm_irq_halt(struct vm *vm)
{
	if (event_pending(&vm->ev) || vm_irq_sync(vm) >= 0)
		return false;
	vm->state = VM_IDLE;
	return true;
}

bool vm_irq_wake(struct vm *vm)
{
	if (vm->state == VM_IDLE && (event_pending(&vm->ev) || vm_irq_sync(vm) >= 0))
		wake(vm);
	return vm->state == VM_RUNNING;
}

uint64_t vm_irq_timer_ticks(struct vm *vm, uint64_t max)
{
	uint64_t deadline = vlapic_next_deadline(&vm->irq.lapic), now;

	if (deadline == UINT64_MAX)
		return max;
	now = vm_guest_now(vm);
	if (deadline <= now)
		return 1;
	return deadline - now < max ? deadline - now : max;
}

int vm_irq_msr_read(struct vm *vm, uint32_t msr, uint64_t *val)
{
	if (!vlapic_msr_is_ours(msr))
		return 1;
	return vlapic_msr_read(&vm->irq.lapic, msr, val);
}

int vm_irq_msr_write(struct vm *vm, uint32_t msr, uint64_t val)
{
	if (!vlapic_msr_is_ours(msr))
		return 1;
	return vlapic_msr_write(&vm->irq.lapic, msr, val);
}
